import type { EngineClient } from '../engine/engine-client.js';
import { UserError } from '../errors.js';
import { nullLogger, type Logger } from '../log.js';
import { ensureArchiveImage } from './archive-image.js';
import { ensureFlakeImage } from './flake-image.js';
import { findImageNix } from './image-nix.js';
import type { LoadProgress } from './load-progress.js';
import type { ResolvedImage } from './resolved-image.js';
import { sourceNixPath, type ImageSource } from './image-source.js';
import { statStorePath } from './archive/layer-tar.js';
import { ensureBaseImage } from './base-image.js';

/**
 * A nix in this host's store needs no image of its own: the daemon runs the constant base image, and its
 * nix is delivered into the store volume path by path (daemon/deliver-store-paths.ts).
 */
async function hostStoreDaemonImage(engine: EngineClient, nixPath: string, options: { dryRun: boolean; logger: Logger }): Promise<ResolvedImage> {
  await statStorePath(nixPath, '/nix/store');
  await statStorePath(`${nixPath}/bin/nix-daemon`, '/nix/store').catch((error: unknown) => {
    throw new UserError('image', `${nixPath} has no bin/nix-daemon`, 'pass the store path of a nix package', { cause: error });
  });
  return { ...(await ensureBaseImage(engine, options)), nixPath, nixFrom: 'host-store' };
}

/** The daemon image in the engine (loaded or built when missing), with its id and its nix store path. */
export async function resolveDaemonImage(
  engine: EngineClient,
  source: ImageSource,
  {
    dryRun = false,
    logger = nullLogger,
    progress,
    daemon,
  }: { dryRun?: boolean; logger?: Logger; progress?: LoadProgress; /** whose provision this is: labels its helpers */ daemon?: string } = {},
): Promise<ResolvedImage> {
  let image: ResolvedImage;
  switch (source.kind) {
    case 'ref': {
      const info = await engine.inspectImage(source.ref);
      if (!info) throw new UserError('image', `no image ${source.ref} in the engine`, 'load it first (docker load), or use --image-archive or --image-store-path');
      image = { ref: source.ref, id: info.id, action: 'present' };
      break;
    }
    case 'archive':
      image = await ensureArchiveImage(engine, source.file, { dryRun, logger });
      break;
    case 'flake':
      image = await ensureFlakeImage(engine, source.ref, { dryRun, logger });
      break;
    case 'store-path':
    case 'host-nix':
      return hostStoreDaemonImage(engine, await sourceNixPath(source, logger), { dryRun, logger });
  }
  if (image.nixPath || !image.id) return image;
  const info = await engine.inspectImage(image.id);
  if (!info) throw new UserError('image', `image ${image.ref} is not in the engine`, 'load it again');
  return { ...image, nixPath: await findImageNix(engine, image.ref, info, daemon) };
}
