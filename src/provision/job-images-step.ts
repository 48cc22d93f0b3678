import type { ProvisionSettings } from '../config/schema.js';
import { deliverToDaemon, jobImageProfile, rootJobImage, tidyJobImageRoots, type Delivered, type TidiedJobImages } from '../daemon/job-image-roots.js';
import type { EngineClient } from '../engine/engine-client.js';
import { UserError } from '../errors.js';
import { planJobImages } from '../image/job-image.js';
import { placeJobImage, type PlacedJobImage } from '../image/place-job-image.js';
import type { Logger } from '../log.js';
import { LABEL_JOB_IMAGE } from '../names/daemon-names.js';
import { pullPolicyProblem } from '../runner-config/pull-policy.js';
import type { RunnerImage } from '../runner-config/runner-images.js';

export interface JobImageOutcome {
  tag: string;
  id: string;
  /** loaded: new content; tagged: the engine had the content, the tag now names it; present: unchanged. */
  action: PlacedJobImage['action'];
  /** The image the tag named before, when it named another. */
  previous?: string;
  /** The image's whole size (its docker-archive), and the closure it stands for, in the daemon's store. */
  imageBytes: number;
  closurePaths: number;
  closureBytes: number;
  /** How many paths of its closure the daemon's store lacked (sent with the others, once). */
  delivered: { paths: number };
}

export interface JobImagesResult {
  images: JobImageOutcome[];
  /** What the declared images' closures needed sent into the daemon's store (all images at once). */
  delivered: Omit<Delivered, 'sent'>;
  /** Profiles of job images no longer declared: their closures are no longer rooted. */
  released: string[];
  /** Old roots dropped and unused images removed, once config.toml was written (see tidyJobImageRoots). */
  dropped: number;
  removedImages: string[];
}

type Daemon = { id: string; nix: string; name: string };

/**
 * The job-images step, against the daemon that is about to serve (it shares the store volume with every
 * generation), before config.toml is written: every installable of every declared image is resolved at
 * once (nix builds what changed, in dependency order); the closures the daemon's store lacks are sent and
 * each image's profile set to its roots; then an image whose content changed is loaded (or, when the
 * engine has that content already, tagged). Releasing comes after config.toml: see releaseJobImages.
 */
export async function syncJobImages(engine: EngineClient, daemon: Daemon, declared: NonNullable<ProvisionSettings['jobImages']>, logger: Logger): Promise<Omit<JobImagesResult, 'released' | 'dropped' | 'removedImages'>> {
  const container = await engine.inspectContainer(daemon.id);
  if (!container?.running) throw new UserError('daemon', `daemon ${daemon.name} does not run: job images need its store`, 'see nix-runner status');
  const target = { ...container, nix: daemon.nix };
  const planned = await planJobImages(declared);
  // closures first: a job that starts on a tag the moment it moves finds everything it links to
  // one closure for all: one question to the daemon, one stream; -qR order kept (a path's references come first)
  const closure = [...new Set(planned.flatMap(({ plan }) => plan.closure))];
  const { sent, ...delivered } = await deliverToDaemon(engine, target, closure, logger);
  for (const { tag, plan } of planned) await rootJobImage(engine, target, tag, plan.rootsPath);
  const placed: (PlacedJobImage & { tag: string })[] = [];
  for (const { tag, plan } of planned) {
    const image = await placeJobImage(engine, plan, tag);
    if (image.action !== 'present') logger.info(`job image ${tag}: ${image.action} (${image.bytes} bytes)`);
    placed.push({ ...image, tag });
  }
  const sentPaths = new Set(sent);
  const images = placed.map(({ tag, id, action, previous, bytes }, index): JobImageOutcome => {
    const { closure, closureBytes } = planned[index]!.plan;
    return { tag, id, action, ...(previous ? { previous } : {}), imageBytes: bytes, closurePaths: closure.length, closureBytes, delivered: { paths: closure.filter((path) => sentPaths.has(path)).length } };
  });
  return { images, delivered };
}

/**
 * After config.toml is written (a failed write leaves every earlier image rooted): profiles of images no
 * longer declared are released, older roots and images no container uses go (tidyJobImageRoots).
 */
export function releaseJobImages(engine: EngineClient, daemon: Daemon, declared: NonNullable<ProvisionSettings['jobImages']>, logger: Logger): Promise<TidiedJobImages> {
  return tidyJobImageRoots(engine, daemon, { declared: new Set(declared.map(({ tag }) => jobImageProfile(tag))), logger });
}

/**
 * A job image works only where the daemon's store holds its closure, and only on a runner that takes the
 * engine's copy before it pulls: for each attached runner whose default image is a job image (its label
 * names the store path that roots it), a warning when this daemon's store lacks that closure (e.g. the
 * image was made for another daemon) or when the runner's pull policies would pull it.
 */
export async function jobImageWarnings(engine: EngineClient, daemon: Daemon, runnerImages: RunnerImage[]): Promise<string[]> {
  const warnings: string[] = [];
  // one look per image, however many runners use it
  const byImage = new Map<string, RunnerImage[]>();
  for (const runner of runnerImages) if (runner.image) byImage.set(runner.image, [...(byImage.get(runner.image) ?? []), runner]);
  for (const [image, runners] of byImage) {
    const roots = (await engine.inspectImage(image))?.labels[LABEL_JOB_IMAGE];
    if (!roots) continue;
    const check = await engine.exec(daemon.id, [`${daemon.nix}/bin/nix-store`, '--check-validity', roots]);
    if (check.exitCode !== 0) {
      warnings.push(`${runners.map(({ runner }) => runner).join(', ')}: default image ${image} is a job image whose closure is not in ${daemon.name}'s store, so its jobs fail; declare it in jobImages or run nix-runner image job --load --daemon ${daemon.name}`);
    }
    for (const { runner, pullPolicy, allowedPullPolicies } of runners) {
      const problem = pullPolicyProblem(pullPolicy, allowedPullPolicies);
      if (problem) warnings.push(`${runner}: default image ${image} is a job image, in no registry, but ${problem}`);
    }
  }
  return warnings;
}
