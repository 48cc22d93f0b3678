import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cacheDir, fileIdentityKey, readCache, writeCache } from '../../../src/cache/run-cache.js';
import { tempDir } from '../../support/temp-dir.js';

describe('the run cache', () => {
  let dir: string;
  let removeDir: () => Promise<void>;

  beforeEach(async () => {
    ({ dir: dir, remove: removeDir } = await tempDir('nix-runner-run-cache-'));
  });

  afterEach(async () => {
    await removeDir();
  });

  it('lives under XDG_CACHE_HOME, else ~/.cache', () => {
    expect(cacheDir('archive-manifest', { XDG_CACHE_HOME: '/x' }, '/home/u')).toBe('/x/nix-runner/archive-manifest');
    expect(cacheDir('host-nix', {}, '/home/u')).toBe('/home/u/.cache/nix-runner/host-nix');
  });

  it('keys a file by its identity: a rewrite of the same file (same size) gives another key', async () => {
    const file = join(dir, 'image.tar');
    await writeFile(file, 'archive one');
    const key = await fileIdentityKey([file], { version: 1 });
    expect(await fileIdentityKey([file], { version: 1 })).toBe(key);
    expect(await fileIdentityKey([file], { version: 2 })).not.toBe(key);
    await new Promise((resolve) => setTimeout(resolve, 20));
    await writeFile(file, 'archive two');
    expect(await fileIdentityKey([file], { version: 1 })).not.toBe(key);
  });

  it('reads back what it wrote, and nothing for a key it never saw', async () => {
    const cache = join(dir, 'cache', 'kind');
    expect(await readCache(cache, 'k')).toBeUndefined();
    await writeCache(cache, 'k', 'value');
    expect(await readCache(cache, 'k')).toBe('value');
  });
});
