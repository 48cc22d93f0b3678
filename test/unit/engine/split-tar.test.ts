import { describe, expect, it } from 'vitest';
import { pack, type Header } from 'tar-stream';
import { entryTarget, putSplitByMounts } from '../../../src/engine/split-tar.js';
import { readTar } from '../../../src/tar/read-tar.js';

const MOUNTS = ['/nix/store', '/nix/var/nix/db'];

function tarOf(entries: (Partial<Header> & { name: string; body?: string })[]): NodeJS.ReadableStream {
  const p = pack();
  for (const { body, ...header } of entries) {
    if (body === undefined) p.entry(header);
    else p.entry(header, body);
  }
  p.finalize();
  return p as unknown as NodeJS.ReadableStream;
}

describe('a tar split by the mounts below its directory (Podman copies into a stopped container without its volumes)', () => {
  it('names each entry relative to the deepest mount that holds it, the mount itself as ./', () => {
    expect(entryTarget('/', 'nix/store/abc-x/bin/sh', MOUNTS)).toEqual({ dir: '/nix/store', name: 'abc-x/bin/sh' });
    expect(entryTarget('/', 'nix/store/', MOUNTS)).toEqual({ dir: '/nix/store', name: './' });
    expect(entryTarget('/', 'nix/', MOUNTS)).toEqual({ dir: '/', name: 'nix/' });
    expect(entryTarget('/nix', 'var/nix/db/db.sqlite', MOUNTS)).toEqual({ dir: '/nix/var/nix/db', name: 'db.sqlite' });
    expect(entryTarget('/', 'nix/storage/x', MOUNTS)).toEqual({ dir: '/', name: 'nix/storage/x' });
  });

  it('puts consecutive runs one after another, with their contents, hard links renamed', async () => {
    const puts: { dir: string; entries: [string, string, string?][] }[] = [];
    const tar = tarOf([
      { name: 'nix/', type: 'directory' },
      { name: 'nix/store/', type: 'directory' },
      { name: 'nix/store/abc-x/f', body: 'one' },
      { name: 'nix/store/abc-x/g', type: 'link', linkname: 'nix/store/abc-x/f' },
      { name: 'nix/var/nix/db/reg', body: 'two' },
      { name: 'etc/passwd', body: 'root' },
    ]);
    await putSplitByMounts(tar, '/', MOUNTS, async (dir, part) => {
      const entries: [string, string, string?][] = [];
      await readTar(part, (header, content) => entries.push(header.type === 'link' ? [header.name, 'link', header.linkname ?? ''] : [header.name, content.toString()]));
      puts.push({ dir, entries });
    });
    expect(puts).toEqual([
      { dir: '/', entries: [['nix/', '']] },
      { dir: '/nix/store', entries: [['./', ''], ['abc-x/f', 'one'], ['abc-x/g', 'link', 'abc-x/f']] },
      { dir: '/nix/var/nix/db', entries: [['reg', 'two']] },
      { dir: '/', entries: [['etc/passwd', 'root']] },
    ]);
  });

  it('fails when a put fails, also one that reads nothing before a large entry', async () => {
    const small = tarOf([{ name: 'nix/store/abc-x/f', body: 'one' }]);
    await expect(putSplitByMounts(small, '/', MOUNTS, () => Promise.reject(new Error('refused')))).rejects.toThrow('refused');
    const large = tarOf([{ name: 'nix/store/abc-x/f', body: 'x'.repeat(8 * 1024 * 1024) }]);
    await expect(putSplitByMounts(large, '/', MOUNTS, () => Promise.reject(new Error('refused')))).rejects.toThrow('refused');
  });
});
