import type { EngineClient } from '../engine/engine-client.js';
import type { ContainerInfo } from '../engine/engine-types.js';
import { PUSH_STATE } from '../daemon/push-script.js';
import { basename } from 'node:path';
import { readRootsVolume } from '../gc/daemon-roots.js';
import { BUILDS_PROFILE, LABEL_CACHE, LABEL_CACHE_PUSH } from '../names/daemon-names.js';

export interface CacheStatus {
  url: string;
  push: boolean;
  /** Builds whose outputs are not uploaded yet (the cache refused them or was down): they go with the next build or provision. */
  waiting?: number;
}

/**
 * The binary cache a daemon uses, from its labels; for a daemon that uploads, how many builds wait,
 * from its roots volume (the builds profile's generations past the uploader's state), read through
 * the engine: the daemon may have no shell.
 */
export async function cacheStatus(engine: EngineClient, daemon: ContainerInfo): Promise<CacheStatus | undefined> {
  const url = daemon.labels[LABEL_CACHE];
  if (!url) return undefined;
  const push = daemon.labels[LABEL_CACHE_PUSH] === 'true';
  if (!push) return { url, push };
  const { links, files } = await readRootsVolume(engine, daemon.id);
  const builds = new RegExp(`^${basename(BUILDS_PROFILE)}-(\\d+)-link$`);
  const generations = [...links.keys()].flatMap((name) => builds.exec(name)?.[1] ?? []).map(Number);
  const pushed = Number(files.get(basename(PUSH_STATE))?.trim()) || 0;
  return { url, push, waiting: generations.filter((generation) => generation > pushed).length };
}
