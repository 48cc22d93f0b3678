import { chmod, chown, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { atomicWrite } from '../../../src/runner-config/file/atomic-write.js';
import { withTempDir } from './helpers.js';

const isRoot = process.getuid?.() === 0;

describe('atomicWrite', () => {
  it('creates a new file with mode 0600 whatever the umask', async () => {
    await withTempDir(async (dir) => {
      const path = join(dir, 'config.toml');
      const umask = process.umask(0o000);
      try {
        await atomicWrite(path, 'a = 1\n');
      } finally {
        process.umask(umask);
      }
      expect(await readFile(path, 'utf8')).toBe('a = 1\n');
      expect((await stat(path)).mode & 0o7777).toBe(0o600);
    });
  });

  it('keeps the mode of an existing file and leaves no temp file', async () => {
    await withTempDir(async (dir) => {
      const path = join(dir, 'config.toml');
      await writeFile(path, 'old\n');
      await chmod(path, 0o640);
      await atomicWrite(path, 'new\n');
      expect((await stat(path)).mode & 0o7777).toBe(0o640);
      expect(await readdir(dir)).toEqual(['config.toml']);
    });
  });

  it.skipIf(!isRoot)('keeps the owner of an existing file', async () => {
    await withTempDir(async (dir) => {
      const path = join(dir, 'config.toml');
      await writeFile(path, 'old\n');
      await chown(path, 65534, 65534);
      await atomicWrite(path, 'new\n');
      const info = await stat(path);
      expect([info.uid, info.gid]).toEqual([65534, 65534]);
    });
  });

  it('leaves the original untouched and removes the temp file when aborted before the rename', async () => {
    await withTempDir(async (dir) => {
      const path = join(dir, 'config.toml');
      await writeFile(path, 'old\n');
      const abort = new Error('abort');
      await expect(atomicWrite(path, 'new\n', { beforeRename: async () => Promise.reject(abort) })).rejects.toBe(abort);
      expect(await readFile(path, 'utf8')).toBe('old\n');
      expect(await readdir(dir)).toEqual(['config.toml']);
    });
  });
});
