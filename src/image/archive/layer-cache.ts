import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** Bump when the bytes of a layer tar change for the same store paths (entry order, headers, parents). */
export const LAYER_FORMAT_VERSION = 1;

export interface LayerCacheEntry {
  diffId: string;
  size: number;
}

/** Digest and size of layers already packed once. Store paths never change, so an entry never goes stale. */
export interface LayerCache {
  get(key: string): Promise<LayerCacheEntry | undefined>;
  set(key: string, entry: LayerCacheEntry): Promise<void>;
  delete(key: string): Promise<void>;
}

export function layerCacheKey(storePathNames: string[]): string {
  const names = [...storePathNames].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  return createHash('sha256').update(`nix-runner-layer-v${LAYER_FORMAT_VERSION}\0${names.join('\0')}`).digest('hex');
}

export function defaultLayerCacheDir(env: NodeJS.ProcessEnv = process.env, home: string = homedir()): string {
  return join(env.XDG_CACHE_HOME || join(home, '.cache'), 'nix-runner', 'layers');
}

/** One JSON file per layer key in `dir`. A broken or unreadable entry is a miss: the layer is just packed again. */
export function createLayerCache(dir: string = defaultLayerCacheDir()): LayerCache {
  const file = (key: string) => join(dir, `${key}.json`);
  return {
    async get(key) {
      let text: string;
      try {
        text = await readFile(file(key), 'utf8');
      } catch {
        return undefined;
      }
      return parseEntry(text);
    },
    async set(key, entry) {
      await mkdir(dir, { recursive: true });
      const temporary = `${file(key)}.${process.pid}.tmp`;
      await writeFile(temporary, `${JSON.stringify({ diffId: entry.diffId, size: entry.size })}\n`);
      await rename(temporary, file(key));
    },
    async delete(key) {
      await rm(file(key), { force: true });
    },
  };
}

function parseEntry(text: string): LayerCacheEntry | undefined {
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value !== 'object' || value === null) return undefined;
    const { diffId, size } = value as Record<string, unknown>;
    if (typeof diffId !== 'string' || !/^sha256:[0-9a-f]{64}$/.test(diffId)) return undefined;
    if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 1024) return undefined;
    return { diffId, size };
  } catch {
    return undefined;
  }
}
