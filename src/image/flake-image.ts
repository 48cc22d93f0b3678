import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import type { EngineClient } from '../engine/engine-client.js';
import { UserError, errorMessage, isUserError } from '../errors.js';
import { nullLogger, type Logger } from '../log.js';
import { buildResults, nixBuildJson } from '../nix-cli/nix-build.js';
import { IMAGE_REPO } from './image-tag.js';
import type { ResolvedImage } from './resolved-image.js';

/** The `out` path of `nix build <ref>`. */
export async function buildFlake(flakeRef: string): Promise<string> {
  const out = parseBuildJson(await nixBuildJson([flakeRef]));
  if (!out) throw new UserError('image', `nix build ${flakeRef} gave no output path`, 'the flake output must be a derivation that builds a docker image');
  return out;
}

export function parseBuildJson(json: string): string | undefined {
  // A derivation gives { outputs: { out } }; a plain store path (the NixOS module passes the image's) gives { path }.
  const last = buildResults(json).at(-1);
  const outputs = last?.outputs ?? {};
  return outputs.out ?? Object.values(outputs)[0] ?? last?.path;
}

/** A streamLayeredImage result is a script that prints the archive; anything else is the archive itself. */
export async function openFlakeResult(result: string): Promise<{ stream: NodeJS.ReadableStream; finished: Promise<unknown> }> {
  const info = await stat(result);
  if (info.isFile() && (info.mode & 0o111) !== 0) {
    const { execa } = await import('execa');
    const child = execa(result, [], { stdout: 'pipe', stderr: 'pipe', buffer: { stdout: false } });
    const finished = Promise.resolve(child).catch((error: unknown) => {
      throw new UserError('image', `${result} failed: ${errorMessage(error).split('\n')[0]}`, 'run the script by hand: it must print a docker-archive', { cause: error });
    });
    finished.catch(() => {});
    return { stream: child.stdout!, finished };
  }
  return { stream: createReadStream(result), finished: Promise.resolve() };
}

/**
 * `nix build` of a flake output: a dockerTools.streamLayeredImage script is run and its stdout piped
 * into the engine; a tarball (buildLayeredImage) is streamed as is. The image is tagged with a hash of
 * the result's store path, so the same result is never loaded twice.
 */
export async function ensureFlakeImage(engine: EngineClient, flakeRef: string, { dryRun = false, logger = nullLogger } = {}): Promise<ResolvedImage> {
  const started = logger.start(`nix build ${flakeRef}`);
  const result = await buildFlake(flakeRef);
  const tag = `${IMAGE_REPO}:flake-${createHash('sha256').update(result).digest('hex').slice(0, 20)}`;
  const present = await engine.inspectImage(tag);
  if (present) return { ref: tag, id: present.id, action: 'present' };
  if (dryRun) return { ref: tag, action: 'loaded' };

  const { stream, finished } = await openFlakeResult(result);
  const [load, produced] = await Promise.allSettled([engine.loadImage(stream), finished]);
  // An engine that stalled or went away (an engine UserError) also ends the script early: that is the news.
  if (load.status === 'rejected' && isUserError(load.reason)) throw load.reason;
  if (produced.status === 'rejected') throw produced.reason;
  if (load.status === 'rejected') {
    throw new UserError('image', `the engine refused the image ${result}: ${errorMessage(load.reason).split('\n')[0]}`, 'the flake output must be a docker-archive or a script printing one', { cause: load.reason });
  }
  const loadedRef = load.value.map((line) => /^Loaded image(?: ID)?: (\S+)/.exec(line)?.[1]).find(Boolean);
  if (!loadedRef) throw new UserError('image', `the engine did not say which image ${result} holds`, 'check it with `docker load`');
  const image = await engine.inspectImage(loadedRef);
  if (!image) throw new UserError('image', `image ${loadedRef} vanished after loading`, 'try again');
  await engine.tagImage(image.id, tag);
  logger.stop(`loaded ${loadedRef} from ${flakeRef}`, started);
  return { ref: tag, id: image.id, action: 'loaded' };
}
