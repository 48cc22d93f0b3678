import { createReadStream } from 'node:fs';
import { access, realpath } from 'node:fs/promises';
import { cacheDir, fileIdentityKey, readCache, writeCache } from '../cache/run-cache.js';
import type { EngineClient } from '../engine/engine-client.js';
import { UserError, errorMessage, isUserError } from '../errors.js';
import { nullLogger, type Logger } from '../log.js';
import { readArchiveManifest, type ArchiveManifest } from './archive/read-archive-manifest.js';
import type { ResolvedImage } from './resolved-image.js';

/**
 * The image id and tags of an archive. manifest.json and the config often come last (docker save, and
 * nix-runner's own archives), so reading them means reading the whole file: the answer is cached by the
 * file's identity, and a no-op provision reads none of it.
 */
async function archiveIdentity(file: string): Promise<Pick<ArchiveManifest, 'configDigest' | 'repoTags'>> {
  const dir = cacheDir('archive-manifest');
  const key = await fileIdentityKey([await realpath(file)], { version: 1 }).catch(() => undefined);
  const cached = key && parseCached(await readCache(dir, key));
  if (cached) return cached;
  const { configDigest, repoTags } = await readArchiveManifest(createReadStream(file));
  if (key) await writeCache(dir, key, JSON.stringify({ configDigest, repoTags })).catch(() => undefined);
  return { configDigest, repoTags };
}

function parseCached(text: string | undefined): Pick<ArchiveManifest, 'configDigest' | 'repoTags'> | undefined {
  try {
    const value = JSON.parse(text ?? '') as { configDigest?: unknown; repoTags?: unknown };
    const tags = Array.isArray(value.repoTags) && value.repoTags.every((tag) => typeof tag === 'string') ? (value.repoTags as string[]) : undefined;
    return typeof value.configDigest === 'string' && /^sha256:[0-9a-f]{64}$/.test(value.configDigest) && tags ? { configDigest: value.configDigest, repoTags: tags } : undefined;
  } catch {
    return undefined;
  }
}

/** A docker-archive file (docker save, gzip too); its config digest is read first, so a present image is not loaded again. */
export async function ensureArchiveImage(engine: EngineClient, file: string, { dryRun = false, logger = nullLogger } = {}): Promise<ResolvedImage> {
  await access(file).catch((error: unknown) => {
    throw new UserError('image', `cannot read image archive ${file}: ${errorMessage(error)}`, 'give the path of a `docker save` archive', { cause: error });
  });
  const manifest = await archiveIdentity(file);
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
