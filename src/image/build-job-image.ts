import { Readable } from 'node:stream';
import { runningDaemon, deliverToDaemon, rootJobImage, type Delivered } from '../daemon/job-image-roots.js';
import { EngineClient } from '../engine/engine-client.js';
import type { EngineTimeouts } from '../engine/engine-timeouts.js';
import { UserError } from '../errors.js';
import { nullLogger, type Logger } from '../log.js';
import { jobImageArchive, planJobImage } from './job-image.js';
import { writeFileAtomically } from './write-archive-file.js';

export interface JobImageOptions {
  tag: string;
  /** Write the docker-archive here … */
  output?: string;
  /** … or load it into the engine, and deliver and root its closure in `daemon`'s store. */
  load?: boolean;
  daemon: string;
  dockerHost?: string;
  timeouts?: EngineTimeouts;
  logger?: Logger;
}

export interface JobImageResult {
  ok: true;
  ref: string;
  id: string;
  /** present: the engine had this very image under the tag already. */
  action: 'written' | 'loaded' | 'present';
  file?: string;
  /** Size of the image's docker-archive: its whole content. */
  imageBytes: number;
  roots: string[];
  /** The closure the image stands for, in the daemon's store (never in the image). */
  closurePaths: number;
  /** What was sent into the daemon's store (--load). */
  delivered?: Delivered;
  daemon?: string;
  /** The GC root that keeps the closure in the daemon's store. */
  profile?: string;
}

/** `nix-runner image job`: a job image of symlinks into store paths whose closure lives in the daemon's store. */
export async function buildJobImage(installables: string[], { tag, output, load, daemon, dockerHost, timeouts, logger = nullLogger }: JobImageOptions): Promise<JobImageResult> {
  if (output && load) throw new UserError('usage', 'give -o FILE or --load, not both', 'nix-runner image job PATH… --tag REF --load');
  if (!output && !load) throw new UserError('usage', 'say where the image goes: -o FILE or --load', '--load also puts its closure into the daemon’s store');
  if (!/^[a-z0-9][a-z0-9._/-]*(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?$/.test(tag)) throw new UserError('usage', `--tag ${tag} is not an image reference`, 'e.g. --tag ci/base:1');
  // connected (and the daemon found) before anything is built: a wrong --daemon fails at once
  const engine = load ? await EngineClient.connect(dockerHost, logger, timeouts) : undefined;
  const target = engine ? await runningDaemon(engine, daemon) : undefined;
  const plan = await planJobImage(installables);
  const image = await jobImageArchive(plan, tag);
  const base = { ok: true as const, ref: tag, id: image.imageId, imageBytes: image.bytes.length, roots: plan.roots, closurePaths: plan.closure.length };
  if (!engine || !target) {
    await writeFileAtomically(output!, async (out) => {
      out.end(image.bytes);
    });
    return { ...base, action: 'written', file: output! };
  }
  const present = (await engine.inspectImage(tag))?.id === image.imageId;
  if (!present) await engine.loadImage(Readable.from([image.bytes]));
  const delivered = await deliverToDaemon(engine, target, plan.closure, logger);
  const profile = await rootJobImage(engine, target, tag, plan.rootsPath);
  return { ...base, action: present ? 'present' : 'loaded', delivered, daemon, profile };
}
