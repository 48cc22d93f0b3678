import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLayerCache, defaultLayerCacheDir, layerCacheKey } from '../../../../src/image/archive/layer-cache.js';
import { tempDir } from '../../../support/temp-dir.js';

let dir: string;

let removeDir: () => Promise<void>;
beforeAll(async () => {
  ({ dir: dir, remove: removeDir } = await tempDir('nix-runner-layer-cache-'));
});
afterAll(async () => {
  await removeDir();
});

const entry = { diffId: `sha256:${'a'.repeat(64)}`, size: 10240 };

describe('layer cache', () => {
  it('keys a layer by its sorted store path names', () => {
    expect(layerCacheKey(['b', 'a'])).toBe(layerCacheKey(['a', 'b']));
    expect(layerCacheKey(['a'])).not.toBe(layerCacheKey(['a', 'b']));
    expect(layerCacheKey(['a'])).toMatch(/^[0-9a-f]{64}$/);
  });

  it('stores, reads and deletes entries, creating its directory', async () => {
    const cache = createLayerCache(join(dir, 'nested', 'layers'));
    expect(await cache.get('k')).toBeUndefined();
    await cache.set('k', entry);
    expect(await cache.get('k')).toEqual(entry);
    await cache.delete('k');
    expect(await cache.get('k')).toBeUndefined();
    await cache.delete('k');
  });

  it('treats a broken entry as a miss', async () => {
    const cache = createLayerCache(dir);
    await writeFile(join(dir, 'bad.json'), '{"diffId": 3');
    expect(await cache.get('bad')).toBeUndefined();
    await writeFile(join(dir, 'bad.json'), JSON.stringify({ diffId: 'sha256:xyz', size: 10240 }));
    expect(await cache.get('bad')).toBeUndefined();
  });

  it('lives under XDG_CACHE_HOME, else ~/.cache', () => {
    expect(defaultLayerCacheDir({ XDG_CACHE_HOME: '/xdg' }, '/home/u')).toBe('/xdg/nix-runner/layers');
    expect(defaultLayerCacheDir({}, '/home/u')).toBe('/home/u/.cache/nix-runner/layers');
  });
});
