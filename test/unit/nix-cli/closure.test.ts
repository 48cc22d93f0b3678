import { describe, expect, it } from 'vitest';
import { dumpRegistration, pathsOfRegistration, queryClosure } from '../../../src/nix-cli/closure.js';
import { fakeBinary, withTempDir } from './fake-bin.js';

const GLIBC = '/nix/store/pvlasshr497hm018y5lgcn126009zj0f-glibc-2.39-52';
const HELLO = '/nix/store/rni9acmz4yg204k20vxnadp6chdz44gb-hello-2.12.1';
const HELLO_DRV = '/nix/store/s86wjkzj41fh77a47jni6102lwy5nglj-hello-2.12.1.drv';

// `nix-store --dump-db` records: path, NAR hash (base16), NAR size, deriver (may be empty), reference count, references.
const REGISTRATION = [
  GLIBC,
  'a1c3b7e0f4d2a1c3b7e0f4d2a1c3b7e0f4d2a1c3b7e0f4d2a1c3b7e0f4d2a1c3',
  '30462616',
  '',
  '0',
  HELLO,
  'b2d4c8f1a5e3b2d4c8f1a5e3b2d4c8f1a5e3b2d4c8f1a5e3b2d4c8f1a5e3b2d4',
  '274520',
  HELLO_DRV,
  '2',
  GLIBC,
  HELLO,
  '',
].join('\n');

describe('pathsOfRegistration', () => {
  it('lists the path of each record, skipping hash, size, deriver and references', () => {
    expect(pathsOfRegistration(REGISTRATION)).toEqual([GLIBC, HELLO]);
  });

  it('reads a record with one reference followed by one with none', () => {
    const text = [HELLO, 'ff', '1', '', '1', GLIBC, GLIBC, 'ee', '2', '', '0', ''].join('\n');
    expect(pathsOfRegistration(text)).toEqual([HELLO, GLIBC]);
  });

  it('reads a text without a final newline', () => {
    expect(pathsOfRegistration(REGISTRATION.trimEnd())).toEqual([GLIBC, HELLO]);
  });

  it('is empty for an empty registration', () => {
    expect(pathsOfRegistration('')).toEqual([]);
    expect(pathsOfRegistration('\n')).toEqual([]);
  });
});

describe('queryClosure and dumpRegistration (fake nix-store)', () => {
  it('asks nix-store --query --requisites and returns its lines', async () => {
    await withTempDir(async (dir) => {
      await fakeBinary(dir, 'nix-store', `[ "$1 $2 $3" = "--query --requisites ${HELLO}" ] || exit 9\nprintf '%s\\n' ${GLIBC} ${HELLO}`);
      expect(await queryClosure([HELLO], { binDir: dir })).toEqual([GLIBC, HELLO]);
    });
  });

  it('returns --dump-db output ending in exactly one newline, readable by pathsOfRegistration', async () => {
    await withTempDir(async (dir) => {
      await fakeBinary(dir, 'nix-store', `[ "$1" = --dump-db ] || exit 9\nprintf '%s\\n' ${REGISTRATION.trimEnd().split('\n').map((line) => `'${line}'`).join(' ')}`);
      const text = await dumpRegistration([GLIBC, HELLO], { binDir: dir });
      expect(text).toBe(REGISTRATION);
      expect(pathsOfRegistration(text)).toEqual([GLIBC, HELLO]);
    });
  });
});
