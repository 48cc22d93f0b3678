import type { EngineClient } from '../engine/engine-client.js';
import type { ContainerInfo } from '../engine/engine-types.js';
import { PUSH_STATE } from '../daemon/push-script.js';
import { BUILDS_PROFILE, LABEL_CACHE, LABEL_CACHE_PUSH, ROOTS_DIR } from '../names/daemon-names.js';
import { readTar } from '../tar/read-tar.js';

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
  const builds = `${BUILDS_PROFILE.slice(ROOTS_DIR.length + 1)}-`;
  const state = PUSH_STATE.slice(ROOTS_DIR.length + 1);
  const generations: number[] = [];
  let pushed = 0;
  await readTar(await engine.copyOut(daemon.id, ROOTS_DIR), (header, content) => {
    const name = header.name.replace(/^[^/]+\//, '');
    const match = new RegExp(`^${builds}(\\d+)-link$`).exec(name);
    if (match && header.type === 'symlink') generations.push(Number(match[1]));
    if (name === state && header.type === 'file') pushed = Number(content.toString('utf8').trim()) || 0;
  });
  return { url, push, waiting: generations.filter((generation) => generation > pushed).length };
}
