import { basename } from 'node:path';
import type { EngineClient } from '../engine/engine-client.js';
import type { ContainerInfo } from '../engine/engine-types.js';
import { UserError } from '../errors.js';
import { nullLogger, type Logger } from '../log.js';
import { readRootsVolume } from '../gc/daemon-roots.js';
import { JOB_IMAGE_PROFILE_PREFIX, LABEL_JOB_IMAGE, LABEL_NIX, ROOTS_DIR, isDaemonGeneration } from '../names/daemon-names.js';
import { importStorePaths, missingFromRunning } from './deliver-store-paths.js';

export interface Delivered {
  paths: number;
  bytes: number;
  /** The paths sent. */
  sent: string[];
}

/** The running daemon `daemon`, or a one-line error that says what to do. */
export async function runningDaemon(engine: EngineClient, daemon: string): Promise<ContainerInfo & { nix: string }> {
  const info = await engine.inspectContainer(daemon);
  const nix = info?.labels[LABEL_NIX];
  if (!info || !isDaemonGeneration(info.labels, daemon) || !nix) throw new UserError('daemon', `no nix-runner daemon named ${daemon}`, 'provision it first (nix-runner provision), or name it with --daemon');
  if (!info.running) throw new UserError('daemon', `daemon ${daemon} is ${info.status}`, 'start it again with nix-runner provision');
  return { ...info, nix };
}

/**
 * Makes `closure` valid in a running daemon's store: the daemon says which paths it lacks, only those
 * are streamed from this host's store and imported by its nix (deliver-store-paths.ts importStorePaths).
 */
export async function deliverToDaemon(engine: EngineClient, daemon: ContainerInfo & { nix: string }, closure: string[], logger: Logger = nullLogger): Promise<Delivered> {
  const missing = await missingFromRunning(engine, daemon.id, daemon.nix, closure);
  if (missing.length === 0) return { paths: 0, bytes: 0, sent: [] };
  const started = logger.start(`sending ${missing.length} store paths into ${daemon.name}`);
  const bytes = await importStorePaths(engine, daemon.id, daemon.nix, missing);
  logger.stop(`sent ${missing.length} store paths (${(bytes / 1e6).toFixed(1)} MB)`, started);
  return { paths: missing.length, bytes, sent: missing };
}

/** A job image's profile name: its tag, with what a file name cannot hold replaced. */
export function jobImageProfile(tag: string): string {
  return `${JOB_IMAGE_PROFILE_PREFIX}${tag.replace(/[^A-Za-z0-9._-]/g, '_')}`;
}

/** Roots `rootsPath` (and so the image's whole closure) in the daemon: no GC, a job's or nix-runner's, removes what the image needs. */
export async function rootJobImage(engine: EngineClient, daemon: ContainerInfo & { nix: string }, tag: string, rootsPath: string): Promise<string> {
  const profile = jobImageProfile(tag);
  const root = await engine.exec(daemon.id, [`${daemon.nix}/bin/nix-env`, '--profile', profile, '--set', rootsPath]);
  if (root.exitCode !== 0) throw new UserError('daemon', `cannot root ${rootsPath} in ${daemon.name}: ${root.stderr.trim().split('\n').at(-1) ?? ''}`, 'check the daemon with nix-runner status');
  return profile;
}

export interface JobImageProfile {
  /** Its path in the daemon, e.g. /nix/var/nix/gcroots/nix-runner/job-image-ci_base_1. */
  profile: string;
  /** The store path its current generation holds. */
  holds?: string;
  current?: number;
  /** Every generation (the current one included), by number: what each roots. */
  generations: { number: number; target: string }[];
}

/** The job-image profiles in the daemon's roots volume, with their generations (read through the engine). */
export async function readJobImageProfiles(engine: EngineClient, containerId: string): Promise<JobImageProfile[]> {
  const prefix = basename(JOB_IMAGE_PROFILE_PREFIX);
  const { links } = await readRootsVolume(engine, containerId);
  const profiles: JobImageProfile[] = [];
  for (const [name, { target }] of links) {
    if (!name.startsWith(prefix) || /-\d+-link$/.test(name)) continue;
    const generations = [...links].flatMap(([other, link]) => {
      const number = other.startsWith(`${name}-`) ? GENERATION_LINK.exec(other.slice(name.length))?.[1] : undefined;
      return number === undefined ? [] : [{ number: Number(number), target: link.target }];
    });
    const current = GENERATION_LINK.exec(target.slice(name.length))?.[1];
    profiles.push({
      profile: `${ROOTS_DIR}/${name}`,
      ...(links.has(target) ? { holds: links.get(target)!.target } : {}),
      ...(current === undefined ? {} : { current: Number(current) }),
      generations,
    });
  }
  return profiles;
}

// <profile>-<n>-link, the name nix-env gives a profile's generation n
const GENERATION_LINK = /^-(\d+)-link$/;

/**
 * The engine's job images as they stand: dangling ones (no tag) that no container uses, and the roots
 * paths (LABEL_JOB_IMAGE) of those a container, in any state, was made from.
 */
async function jobImagesInEngine(engine: EngineClient): Promise<{ unused: string[]; rootsInUse: Set<string> }> {
  const images = await engine.listImages({ label: [LABEL_JOB_IMAGE] });
  if (images.length === 0) return { unused: [], rootsInUse: new Set() };
  const used = new Set((await engine.listContainers({})).map((container) => container.imageId));
  return {
    unused: images.filter((image) => image.repoTags.length === 0 && !used.has(image.id)).map((image) => image.id),
    rootsInUse: new Set(images.filter((image) => used.has(image.id)).map((image) => image.labels[LABEL_JOB_IMAGE]!)),
  };
}

export interface TidiedJobImages {
  /** Profiles pointed back at the daemon's nix: nothing of their image is rooted any more. */
  released: string[];
  /** Older generations dropped: closures of images no tag names and no container uses. */
  dropped: number;
  /** Job images no tag names (a tag moved to newer content) and no container uses: removed from the engine. */
  removedImages: string[];
}

/**
 * Keeps rooted exactly what job images need: each job-image profile keeps its current generation, and
 * older ones only while a container (in any state: a job between two stages) uses the image they
 * root; dangling job images no container uses are removed from the engine. With `declared` (the
 * profiles of the declared job images), every other profile is released: pointed back at the daemon's
 * own nix (rooted anyway; nix-env cannot remove a profile's current generation).
 */
export async function tidyJobImageRoots(engine: EngineClient, daemon: { id: string; nix: string; name: string }, { declared, logger = nullLogger }: { declared?: Set<string>; logger?: Logger } = {}): Promise<TidiedJobImages> {
  const { unused, rootsInUse: inUse } = await jobImagesInEngine(engine);
  const removedImages: string[] = [];
  // the engine refuses (false) for a container made since the listing
  for (const id of unused) if (await engine.removeUnusedImage(id)) removedImages.push(id);
  const nixEnv = (profile: string, ...args: string[]) => run(engine, daemon, [`${daemon.nix}/bin/nix-env`, '--profile', profile, ...args], `cannot change ${profile}`);
  const released: string[] = [];
  let dropped = 0;
  for (const { profile, holds, current, generations } of await readJobImageProfiles(engine, daemon.id)) {
    let keep = current;
    if (declared && !declared.has(profile) && holds !== daemon.nix) {
      await nixEnv(profile, '--set', daemon.nix);
      released.push(profile);
      keep = undefined;
    }
    const unused = generations.filter(({ number, target }) => number !== keep && !inUse.has(target)).map(({ number }) => number);
    // a released profile's new generation (the daemon's nix) is its current one: nix-env keeps it
    if (unused.length > 0) await nixEnv(profile, '--delete-generations', ...unused.map(String));
    dropped += unused.length;
  }
  if (released.length + dropped + removedImages.length > 0) logger.info(`job images: ${released.length} released, ${dropped} old roots dropped, ${removedImages.length} unused images removed`);
  return { released, dropped, removedImages };
}

async function run(engine: EngineClient, daemon: { id: string; name: string }, cmd: string[], what: string): Promise<void> {
  const result = await engine.exec(daemon.id, cmd);
  if (result.exitCode !== 0) throw new UserError('daemon', `${what} in ${daemon.name}: ${result.stderr.trim().split('\n').at(-1) ?? ''}`, 'check the daemon with nix-runner status');
}
