import { access } from 'node:fs/promises';
import { PassThrough } from 'node:stream';
import type { EngineClient } from '../engine/engine-client.js';
import { nullLogger, type Logger } from '../log.js';
import { dumpRegistration, queryClosure } from '../nix/closure.js';
import { renderNixConf } from '../daemon/nix-conf.js';
import { writeDaemonImageArchive } from './archive/daemon-image-archive.js';
import { storePathImageTag } from './image-tag.js';
import type { ResolvedImage } from './resolved-image.js';

export interface StorePathImageOptions {
  maxLayers?: number;
  dryRun?: boolean;
  logger?: Logger;
}

// nix's default build hook is a path of the nix it was compiled as; a bundled nix has its own.
async function imageNixSettings(nixPath: string): Promise<Record<string, string>> {
  const hook = `${nixPath}/bin/build-remote`;
  return (await access(hook).then(() => true, () => false)) ? { 'build-hook': hook } : {};
}

/** The daemon image of a store path's closure, streamed into the engine unless an image of that content is there. */
export async function ensureStorePathImage(
  engine: EngineClient,
  nixPath: string,
  { maxLayers = 100, dryRun = false, logger = nullLogger }: StorePathImageOptions = {},
): Promise<ResolvedImage> {
  const closure = await queryClosure([nixPath]);
  const nixConf = renderNixConf(await imageNixSettings(nixPath));
  const tag = storePathImageTag(closure, nixConf, maxLayers);
  const present = await engine.inspectImage(tag);
  if (present) return { ref: tag, id: present.id, nixPath, action: 'present' };
  if (dryRun) return { ref: tag, nixPath, action: 'built' };

  const started = logger.start(`building ${tag} from ${closure.length} store paths`);
  const registration = await dumpRegistration(closure);
  const archive = new PassThrough();
  const [written] = await Promise.all([
    writeDaemonImageArchive({ nixPath, closure, registration, nixConf, repoTag: tag, maxLayers }, archive),
    engine.loadImage(archive),
  ]);
  logger.stop(`loaded ${tag} (${written.layers.length} layers)`, started);
  return { ref: tag, id: written.imageId, nixPath, registration, action: 'built' };
}
