import { runningDaemon, deliverToDaemon, rootJobImage, tidyJobImageRoots, type Delivered } from '../daemon/job-image-roots.js';
import { EngineClient } from '../engine/engine-client.js';
import type { EngineTimeouts } from '../engine/engine-timeouts.js';
import { UserError } from '../errors.js';
import { nullLogger, type Logger } from '../log.js';
import { jobImageArchive, planJobImages } from './job-image.js';
import { placeJobImage, type PlacedJobImage } from './place-job-image.js';
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
  /** present: the engine had this very image under the tag already; tagged: it had the content under another tag. */
  action: 'written' | PlacedJobImage['action'];
  /** The image the tag named before (--load), when it named another. */
  previous?: string;
  file?: string;
  /** Size of the image's docker-archive: its whole content. */
  imageBytes: number;
  roots: string[];
  /** The closure the image stands for, in the daemon's store (never in the image). */
  closurePaths: number;
  /** What that closure weighs in the store (NAR sizes). */
  closureBytes: number;
  /** What was sent into the daemon's store (--load). */
  delivered?: Delivered;
  daemon?: string;
  /** The GC root that keeps the closure in the daemon's store. */
  profile?: string;
  /** Older roots dropped, and job images no tag names and no container uses removed (tidyJobImageRoots). */
  dropped?: number;
  removedImages?: string[];
}

/** `nix-runner image job`: a job image of symlinks into store paths whose closure lives in the daemon's store. */
export async function buildJobImage(installables: string[], { tag, output, load, daemon, dockerHost, timeouts, logger = nullLogger }: JobImageOptions): Promise<JobImageResult> {
  if (output && load) throw new UserError('usage', 'give -o FILE or --load, not both', 'nix-runner image job PATH… --tag REF --load');
  if (!output && !load) throw new UserError('usage', 'say where the image goes: -o FILE or --load', '--load also puts its closure into the daemon’s store');
  if (!/^[a-z0-9][a-z0-9._/-]*(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?$/.test(tag)) throw new UserError('usage', `--tag ${tag} is not an image reference`, 'e.g. --tag ci/base:1');
  // connected (and the daemon found) before anything is built: a wrong --daemon fails at once
  const engine = load ? await EngineClient.connect(dockerHost, logger, timeouts) : undefined;
  const target = engine ? await runningDaemon(engine, daemon) : undefined;
  const { plan } = (await planJobImages([{ paths: installables }]))[0]!;
  const base = { ok: true as const, ref: tag, roots: plan.roots, closurePaths: plan.closure.length, closureBytes: plan.closureBytes };
  if (!engine || !target) {
    const image = await jobImageArchive(plan, tag);
    await writeFileAtomically(output!, async (out) => {
      out.end(image.bytes);
    });
    return { ...base, id: image.imageId, imageBytes: image.bytes.length, action: 'written', file: output! };
  }
  // the closure before the tag: a job that starts on it the moment it moves finds everything it links to
  const delivered = await deliverToDaemon(engine, target, plan.closure, logger);
  const profile = await rootJobImage(engine, target, tag, plan.rootsPath);
  const placed = await placeJobImage(engine, plan, tag);
  // the closure of what the tag named before stays rooted only while a container uses that image
  const tidied = await tidyJobImageRoots(engine, { id: target.id, nix: target.nix, name: daemon }, { logger });
  return {
    ...base,
    id: placed.id,
    imageBytes: placed.bytes,
    action: placed.action,
    ...(placed.previous ? { previous: placed.previous } : {}),
    delivered,
    daemon,
    profile,
    dropped: tidied.dropped,
    removedImages: tidied.removedImages,
  };
}
