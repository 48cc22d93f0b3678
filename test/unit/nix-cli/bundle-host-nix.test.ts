import { describe, expect, it } from 'vitest';
import { parseLdd } from '../../../src/nix-cli/bundle-host-nix.js';

// Abridged `ldd /usr/bin/nix` on Debian 12 (nix-bin 2.8): the loader appears in the middle, without `=>`.
const LDD_NIX = [
  '\tlinux-vdso.so.1 (0x00007f97f0fd9000)',
  '\tlibnixexpr.so => /usr/lib/nix/libnixexpr.so (0x00007f97f0800000)',
  '\tlibnixstore.so => /usr/lib/nix/libnixstore.so (0x00007f97f0200000)',
  '\tlibstdc++.so.6 => /lib/x86_64-linux-gnu/libstdc++.so.6 (0x00007f97efe00000)',
  '\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f97f001e000)',
  '\t/lib64/ld-linux-x86-64.so.2 (0x00007f97f0fdb000)',
  '\tlibboost_context.so.1.74.0 => /lib/x86_64-linux-gnu/libboost_context.so.1.74.0 (0x00007f97f0f3a000)',
  '',
].join('\n');

describe('parseLdd', () => {
  it('lists each library with its resolved path and finds the loader; the vdso is not a library', () => {
    expect(parseLdd(LDD_NIX)).toEqual({
      libraries: [
        { name: 'libnixexpr.so', path: '/usr/lib/nix/libnixexpr.so' },
        { name: 'libnixstore.so', path: '/usr/lib/nix/libnixstore.so' },
        { name: 'libstdc++.so.6', path: '/lib/x86_64-linux-gnu/libstdc++.so.6' },
        { name: 'libc.so.6', path: '/lib/x86_64-linux-gnu/libc.so.6' },
        { name: 'libboost_context.so.1.74.0', path: '/lib/x86_64-linux-gnu/libboost_context.so.1.74.0' },
      ],
      interpreter: '/lib64/ld-linux-x86-64.so.2',
    });
  });

  it('finds the aarch64 loader', () => {
    const output = '\tlinux-vdso.so.1 (0x0000ffff8d5c5000)\n\tlibc.so.6 => /lib/aarch64-linux-gnu/libc.so.6 (0x0000ffff8d3c0000)\n\t/lib/ld-linux-aarch64.so.1 (0x0000ffff8d588000)\n';
    expect(parseLdd(output).interpreter).toBe('/lib/ld-linux-aarch64.so.1');
  });

  it('skips libraries ldd could not find', () => {
    const output = '\tlibmissing.so.1 => not found\n\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f0000000000)\n';
    expect(parseLdd(output).libraries).toEqual([{ name: 'libc.so.6', path: '/lib/x86_64-linux-gnu/libc.so.6' }]);
  });

  it('has no interpreter (and no interpreter key) for a static binary', () => {
    expect(parseLdd('\tnot a dynamic executable\n')).toEqual({ libraries: [] });
  });
});
