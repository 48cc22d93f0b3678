import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { execa } from 'execa';
import type { EngineClient } from '../engine/engine-client.js';
import { UserError, errorMessage } from '../errors.js';
import { nullLogger, type Logger } from '../log.js';
import { runNix } from '../nix/nix-tool.js';
import { IMAGE_REPO } from './image-tag.js';
import type { ResolvedImage } from './resolved-image.js';

const FLAKE_FEATURES = ['--extra-experimental-features', 'nix-command flakes'];

/**
 * `nix build` of a flake output: a dockerTools.streamLayeredImage script is run and its stdout piped
 * into the engine; a tarball (buildLayeredImage) is streamed as is. The image is tagged with a hash of
 * the result's store path, so the same result is never loaded twice.
 */
export async function ensureFlakeImage(engine: EngineClient, flakeRef: string, { dryRun = false, logger = nullLogger } = {}): Promise<ResolvedImage> {
  const started = logger.start(`nix build ${flakeRef}`);
  const out = await runNix('nix', [...FLAKE_FEATURES, 'build', flakeRef, '--no-link', '--print-out-paths']);
  const result = out.split('\n').filter(Boolean).at(-1);
  if (!result) throw new UserError('image', `nix build ${flakeRef} printed no output path`, 'does the flake output build a docker image?');
  const tag = `${IMAGE_REPO}:flake-${createHash('sha256').update(result).digest('hex').slice(0, 20)}`;
  const present = await engine.inspectImage(tag);
  if (present) return { ref: tag, id: present.id, action: 'present' };
  if (dryRun) return { ref: tag, action: 'loaded' };

  const info = await stat(result);
  const isScript = info.isFile() && (info.mode & 0o111) !== 0;
  let loaded: string[];
  if (isScript) {
    const child = execa(result, [], { stdout: 'pipe', stderr: 'pipe', buffer: { stdout: false } });
    [loaded] = await Promise.all([engine.loadImage(child.stdout!), child]).catch((error: unknown) => {
      throw new UserError('image', `streaming ${result} into the engine failed: ${errorMessage(error)}`, 'run the script by hand: it must print a docker-archive', { cause: error });
    });
  } else {
    loaded = await engine.loadImage(createReadStream(result));
  }
  const loadedRef = loaded.map((line) => /^Loaded image(?: ID)?: (\S+)/.exec(line)?.[1]).find(Boolean);
  if (!loadedRef) throw new UserError('image', `the engine did not say which image ${result} holds`, 'check it with `docker load`');
  const image = await engine.inspectImage(loadedRef);
  if (!image) throw new UserError('image', `image ${loadedRef} vanished after loading`, 'try again');
  const [repo, tagName] = [tag.slice(0, tag.lastIndexOf(':')), tag.slice(tag.lastIndexOf(':') + 1)];
  await engine.tagImage(image.id, repo, tagName);
  logger.stop(`loaded ${loadedRef} from ${flakeRef}`, started);
  return { ref: tag, id: image.id, action: 'loaded' };
}
