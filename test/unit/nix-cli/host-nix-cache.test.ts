import { utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cachedHostNix, hostNixBundleKey, rememberHostNix } from '../../../src/nix-cli/host-nix-cache.js';
import { tempDir } from '../../support/temp-dir.js';

describe('host nix bundle cache', () => {
  let dir: string;
  let removeDir: () => Promise<void>;
  let nix: string;
  let busybox: string;

  beforeEach(async () => {
    ({ dir: dir, remove: removeDir } = await tempDir('nix-runner-host-nix-cache-'));
    nix = join(dir, 'nix');
    busybox = join(dir, 'busybox');
    await writeFile(nix, 'nix binary');
    await writeFile(busybox, 'busybox binary');
  });

  afterEach(async () => {
    await removeDir();
  });

  it('keys a bundle by what goes into it: the same files give the same key', async () => {
    expect(await hostNixBundleKey(nix, busybox, '')).toBe(await hostNixBundleKey(nix, busybox, ''));
  });

  it('gives another key for another variant, a changed nix binary or another busybox', async () => {
    const key = await hostNixBundleKey(nix, busybox, '');
    expect(await hostNixBundleKey(nix, busybox, 'v2')).not.toBe(key);
    expect(await hostNixBundleKey(busybox, busybox, '')).not.toBe(key);
    await writeFile(nix, 'nix binary, upgraded');
    await utimes(nix, new Date(), new Date(Date.now() + 5000));
    expect(await hostNixBundleKey(nix, busybox, '')).not.toBe(key);
  });

  it('fails for a binary that is not there (the bundle then says why)', async () => {
    await expect(hostNixBundleKey(join(dir, 'missing'), busybox, '')).rejects.toThrow();
  });

  it('misses when nothing was remembered, when the entry is not a store path, or when the path is gone from the store', async () => {
    const cache = join(dir, 'cache');
    expect(await cachedHostNix('k', cache)).toBeUndefined();
    await rememberHostNix('k', '/tmp/not-a-store-path', cache);
    expect(await cachedHostNix('k', cache)).toBeUndefined();
    await rememberHostNix('k', '/nix/store/00000000000000000000000000000000-nix-runner-host-nix-gone', cache);
    expect(await cachedHostNix('k', cache)).toBeUndefined();
  });
});
