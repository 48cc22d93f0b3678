import { createReadStream } from 'node:fs';
import { access } from 'node:fs/promises';
import type { EngineClient } from '../engine/engine-client.js';
import { UserError, errorMessage, isUserError } from '../errors.js';
import { nullLogger, type Logger } from '../log.js';
import { readArchiveManifest } from './archive/read-archive-manifest.js';
import type { ResolvedImage } from './resolved-image.js';

/** A docker-archive file (docker save, gzip too); its config digest is read first, so a present image is not loaded again. */
export async function ensureArchiveImage(engine: EngineClient, file: string, { dryRun = false, logger = nullLogger } = {}): Promise<ResolvedImage> {
  await access(file).catch((error: unknown) => {
    throw new UserError('image', `cannot read image archive ${file}: ${errorMessage(error)}`, 'give the path of a `docker save` archive', { cause: error });
  });
  const manifest = await readArchiveManifest(createReadStream(file));
  const id = manifest.configDigest;
  const ref = manifest.repoTags[0] ?? id;
  if (await engine.inspectImage(id)) return { ref: id, id, action: 'present' };
  if (dryRun) return { ref, id, action: 'loaded' };
  const started = logger.start(`loading ${file}`);
  try {
    await engine.loadImage(createReadStream(file));
  } catch (error: unknown) {
    if (isUserError(error)) throw error; // the engine stalled or went away
    throw new UserError('image', `the engine refused ${file}: ${errorMessage(error).split('\n')[0]}`, 'check the file with `docker load -i`', { cause: error });
  }
  if (!(await engine.inspectImage(id))) throw new UserError('image', `loading ${file} did not produce image ${id}`, 'check the file with `docker load -i`');
  logger.stop(`loaded ${ref}`, started);
  return { ref: id, id, action: 'loaded' };
}
