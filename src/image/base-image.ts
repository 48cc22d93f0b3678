import { Readable } from 'node:stream';
import type { EngineClient } from '../engine/engine-client.js';
import { nullLogger, type Logger } from '../log.js';
import { LABEL_BASE } from '../names/daemon-names.js';
import { baseLayerEntries } from './archive/base-layer.js';
import { smallImageArchive } from './archive/small-image.js';
import type { ResolvedImage } from './resolved-image.js';

export const BASE_IMAGE_REPO = 'nix-runner/base';

export interface BaseImageArchive {
  /** A docker-archive of one small layer: a few kilobytes, held in memory. */
  bytes: Buffer;
  imageId: string;
  /** Names the content, so that the engine is asked for it before anything is sent. */
  tag: string;
}

/**
 * The image every store-path daemon runs from, whatever its nix: /etc with root and the build users,
 * /tmp, root's home and nix's state dirs, and no store content (the store volume brings nix, see
 * daemon/deliver-store-paths.ts). Deterministic: the same bytes, hence the same image id, on every host
 * and for every nix version, so a new nix never needs a new image.
 */
export async function baseImageArchive(): Promise<BaseImageArchive> {
  const { bytes, imageId, tag } = await smallImageArchive(
    baseLayerEntries(),
    { labels: { [LABEL_BASE]: 'true' }, history: 'nix-runner: /etc with the build users, /tmp, nix state dirs' },
    (configHex) => `${BASE_IMAGE_REPO}:${configHex.slice(0, 20)}`,
  );
  return { bytes, imageId, tag };
}

/** The base image in the engine: loaded (a few kilobytes) when it is not there yet. */
export async function ensureBaseImage(engine: EngineClient, { dryRun = false, logger = nullLogger }: { dryRun?: boolean; logger?: Logger } = {}): Promise<ResolvedImage> {
  const { bytes, imageId, tag } = await baseImageArchive();
  const present = await engine.inspectImage(tag);
  if (present) return { ref: tag, id: present.id, action: 'present' };
  if (dryRun) return { ref: tag, id: imageId, action: 'loaded' };
  await engine.loadImage(Readable.from([bytes]));
  logger.debug(`loaded ${tag} (${bytes.length} bytes)`);
  return { ref: tag, id: imageId, action: 'loaded' };
}
