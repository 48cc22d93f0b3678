import { basename } from 'node:path';
import { Readable } from 'node:stream';
import type { ProvisionSettings } from '../config/schema.js';
import { deliverToDaemon, jobImageProfile, rootJobImage, type Delivered } from '../daemon/job-image-roots.js';
import type { EngineClient } from '../engine/engine-client.js';
import { UserError } from '../errors.js';
import { jobImageArchive, planJobImage } from '../image/job-image.js';
import type { Logger } from '../log.js';
import { JOB_IMAGE_PROFILE_PREFIX, LABEL_JOB_IMAGE, ROOTS_DIR } from '../names/daemon-names.js';
import { readRootsVolume } from '../gc/daemon-roots.js';

export interface JobImageOutcome {
  tag: string;
  id: string;
  /** present: the engine had this very image under its tag. */
  action: 'loaded' | 'present';
  delivered: Delivered;
}

export interface JobImagesResult {
  images: JobImageOutcome[];
  /** Profiles of job images no longer declared: their closures are no longer rooted. */
  released: string[];
}

/** The job-image profiles in the daemon's roots volume and the store path each holds. */
async function jobImageProfiles(engine: EngineClient, containerId: string): Promise<{ profile: string; holds?: string }[]> {
  const prefix = basename(JOB_IMAGE_PROFILE_PREFIX);
  const { links } = await readRootsVolume(engine, containerId);
  return [...links.keys()]
    .filter((name) => name.startsWith(prefix) && !/-\d+-link$/.test(name))
    .map((name) => {
      const generation = links.get(name)!.target;
      return { profile: `${ROOTS_DIR}/${name}`, ...(links.has(generation) ? { holds: links.get(generation)!.target } : {}) };
    });
}

/**
 * The job-images step, against the daemon that is about to serve (it shares the store volume with every
 * generation): each declared image is built (the same paths give the same image id: nothing happens),
 * loaded when the engine lacks it, its closure delivered and rooted; a profile of an image no longer
 * declared is pointed back at the daemon's own nix, so its closure can go with the next GC.
 */
export async function syncJobImages(
  engine: EngineClient,
  daemon: { id: string; nix: string; name: string },
  declared: NonNullable<ProvisionSettings['jobImages']>,
  logger: Logger,
): Promise<JobImagesResult> {
  const container = await engine.inspectContainer(daemon.id);
  if (!container?.running) throw new UserError('daemon', `daemon ${daemon.name} does not run: job images need its store`, 'see nix-runner status');
  const target = { ...container, nix: daemon.nix };
  const images: JobImageOutcome[] = [];
  for (const { tag, paths } of declared) {
    const plan = await planJobImage(paths);
    const image = await jobImageArchive(plan, tag);
    const present = (await engine.inspectImage(tag))?.id === image.imageId;
    if (!present) await engine.loadImage(Readable.from([image.bytes]));
    const delivered = await deliverToDaemon(engine, target, plan.closure, logger);
    await rootJobImage(engine, target, tag, plan.rootsPath);
    if (!present) logger.info(`job image ${tag}: loaded (${image.bytes.length} bytes), ${delivered.paths} store paths sent`);
    images.push({ tag, id: image.imageId, action: present ? 'present' : 'loaded', delivered });
  }
  const wanted = new Set(declared.map(({ tag }) => jobImageProfile(tag)));
  const released: string[] = [];
  for (const { profile, holds } of await jobImageProfiles(engine, daemon.id)) {
    // released already: it holds the daemon's own nix
    if (wanted.has(profile) || holds === daemon.nix) continue;
    const release = await engine.exec(daemon.id, [`${daemon.nix}/bin/nix-env`, '--profile', profile, '--set', daemon.nix]);
    const drop = release.exitCode === 0 ? await engine.exec(daemon.id, [`${daemon.nix}/bin/nix-env`, '--profile', profile, '--delete-generations', 'old']) : release;
    if (drop.exitCode !== 0) throw new UserError('daemon', `cannot release ${profile}: ${drop.stderr.trim().split('\n').at(-1) ?? ''}`, 'see nix-runner status');
    // the profile stays, holding the daemon's nix (rooted anyway): nothing of the image is held any more
    released.push(profile);
  }
  return { images, released };
}

/**
 * A job image works only where the daemon's store holds its closure: for each attached runner whose
 * default image is a job image (its label names the store path that roots it), a warning when this
 * daemon's store lacks it (e.g. the image was made for another daemon).
 */
export async function jobImageWarnings(engine: EngineClient, daemon: { id: string; nix: string; name: string }, runnerImages: { runner: string; image?: string }[]): Promise<string[]> {
  // one look per image, however many runners use it
  const byImage = new Map<string, string[]>();
  for (const { runner, image } of runnerImages) if (image) byImage.set(image, [...(byImage.get(image) ?? []), runner]);
  const warnings: string[] = [];
  for (const [image, runners] of byImage) {
    const roots = (await engine.inspectImage(image))?.labels[LABEL_JOB_IMAGE];
    if (!roots) continue;
    const check = await engine.exec(daemon.id, [`${daemon.nix}/bin/nix-store`, '--check-validity', roots]);
    if (check.exitCode !== 0) {
      warnings.push(`${runners.join(', ')}: default image ${image} is a job image whose closure is not in ${daemon.name}'s store, so its jobs fail; declare it in jobImages or run nix-runner image job --load --daemon ${daemon.name}`);
    }
  }
  return warnings;
}
