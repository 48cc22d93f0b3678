// The one owner of what nix-runner calls things in the engine: labels, container and volume names, and
// the daemon's fixed paths. Below image/ and daemon/, so both name things the same way.
import { randomBytes } from 'node:crypto';

export const LABEL_MANAGED = 'org.nix-runner.managed';
export const LABEL_SPEC_HASH = 'org.nix-runner.spec-hash';
/** The store path of the nix a daemon container (or a daemon image) runs. */
export const LABEL_NIX = 'org.nix-runner.nix';
/** The binary cache a daemon substitutes from (its URL), and whether it uploads what it builds there. */
export const LABEL_CACHE = 'org.nix-runner.cache';
export const LABEL_CACHE_PUSH = 'org.nix-runner.cache-push';
/** A job image's store path that references its closure roots (image/job-image.ts): what the daemon roots for it. */
export const LABEL_JOB_IMAGE = 'org.nix-runner.job-image';
/** The closure roots a job image stands for, separated by spaces: what `docker inspect` tells a reader. */
export const LABEL_JOB_IMAGE_ROOTS = 'org.nix-runner.job-image.roots';
/** GC roots of job images: one profile each, named with this prefix, in the roots volume. */
export const JOB_IMAGE_PROFILE_PREFIX = '/nix/var/nix/gcroots/nix-runner/job-image-';
/** Marks nix-runner's base image (image/base-image.ts), so that nothing takes it for an image with a nix of its own. */
export const LABEL_BASE = 'org.nix-runner.base';
export const LABEL_DAEMON = 'org.nix-runner.daemon';
/** The generation id of a daemon container (and of its socket volume): random, never reused. */
export const LABEL_GENERATION = 'org.nix-runner.generation';
/** What a labelled container is: a daemon generation, or a helper nix-runner runs for a moment. */
export const LABEL_ROLE = 'org.nix-runner.role';
/** The nix-runner process that made it (see leftovers/run-id.ts): a dead run's helpers are leftovers. */
export const LABEL_RUN = 'org.nix-runner.run';

export type Role = 'daemon' | 'helper';

export const STORE_DIR = '/nix/store';
export const DB_DIR = '/nix/var/nix/db';
export const SOCKET_DIR = '/nix/var/nix/daemon-socket';
/** GC roots kept by the daemon itself (a volume, so they outlive daemon generations). */
export const ROOTS_DIR = '/nix/var/nix/gcroots/nix-runner';
/** A profile whose generations root each output built in the daemon (its post-build hook adds them). */
export const BUILDS_PROFILE = `${ROOTS_DIR}/builds`;
/** A profile whose generations root the nix of each daemon generation. */
export const DAEMON_PROFILE = `${ROOTS_DIR}/daemon`;

const GENERATION_ID = /^[0-9a-f]{12}$/;

/**
 * A new daemon generation's id. Random, so going back to an earlier image is a new generation with a
 * socket volume of its own, never one that jobs of another generation still mount.
 */
export function newGenerationId(): string {
  return randomBytes(6).toString('hex');
}

/**
 * The named volumes of a daemon: store, db and roots are shared by its generations, the socket volume
 * belongs to one generation. Its users are that generation's users (they mount it through volumes_from).
 */
export function daemonVolumes(daemon: string, generation: string) {
  return {
    store: storeVolume(daemon),
    db: `${daemon}-db`,
    roots: `${daemon}-roots`,
    socket: `${daemon}-socket-${generation}`,
  };
}

/** The store volume, shared by every generation of `daemon`: its users are the jobs of all of them. */
export function storeVolume(daemon: string): string {
  return `${daemon}-store`;
}

export type DaemonVolume = { kind: 'store' | 'db' | 'roots' } | { kind: 'socket'; generation: string };

/** Which of the daemon's volumes `name` is, if it is one: <daemon>-store, -db, -roots, -socket-<generation>. */
export function parseDaemonVolume(daemon: string, name: string): DaemonVolume | undefined {
  if (!name.startsWith(`${daemon}-`)) return undefined;
  const rest = name.slice(daemon.length + 1);
  if (rest === 'store' || rest === 'db' || rest === 'roots') return { kind: rest };
  const generation = /^socket-(.*)$/.exec(rest)?.[1];
  return generation !== undefined && GENERATION_ID.test(generation) ? { kind: 'socket', generation } : undefined;
}

export function isDaemonVolume(daemon: string, name: string): boolean {
  return parseDaemonVolume(daemon, name) !== undefined;
}

/** The name a new generation starts under, until it answers and takes the daemon's name. */
export function candidateName(daemon: string): string {
  return `${daemon}-next`;
}

/** The name of a replaced generation that keeps serving its jobs until they have ended. */
export function retiredName(daemon: string, generation: string): string {
  return `${daemon}-retired-${generation}`;
}

/** The generation id in a retired generation's name, if `name` is one. */
export function parseRetiredName(daemon: string, name: string): string | undefined {
  const prefix = `${daemon}-retired-`;
  const generation = name.startsWith(prefix) ? name.slice(prefix.length) : undefined;
  return generation !== undefined && GENERATION_ID.test(generation) ? generation : undefined;
}

/** Labels of a daemon generation's container and socket volume. */
export function generationLabels(daemon: string, generation: string, run: string): Record<string, string> {
  return { [LABEL_MANAGED]: 'true', [LABEL_ROLE]: 'daemon', [LABEL_DAEMON]: daemon, [LABEL_GENERATION]: generation, [LABEL_RUN]: run };
}

/**
 * Labels of a helper container (seed copies, image probes, registration dumps, smoke jobs). `daemon`
 * only for helpers made under that daemon's provision lock: another run's are then leftovers.
 */
export function helperLabels(run: string, daemon?: string): Record<string, string> {
  return { [LABEL_MANAGED]: 'true', [LABEL_ROLE]: 'helper', [LABEL_RUN]: run, ...(daemon ? { [LABEL_DAEMON]: daemon } : {}) };
}

/** A daemon generation of `daemon` (any version of nix-runner made it: older ones have no role label). */
export function isDaemonGeneration(labels: Record<string, string>, daemon?: string): boolean {
  if (labels[LABEL_MANAGED] !== 'true' || (daemon !== undefined && labels[LABEL_DAEMON] !== daemon)) return false;
  return labels[LABEL_ROLE] === 'daemon' || (labels[LABEL_ROLE] === undefined && labels[LABEL_SPEC_HASH] !== undefined);
}

export function isHelper(labels: Record<string, string>): boolean {
  return labels[LABEL_MANAGED] === 'true' && labels[LABEL_ROLE] === 'helper';
}

/** A generation's id: its label, else (made by an older nix-runner) its socket volume's suffix. */
export function generationOf(daemon: string, container: { labels: Record<string, string>; mounts: { name?: string; destination: string }[] }): string | undefined {
  const labelled = container.labels[LABEL_GENERATION];
  if (labelled) return labelled;
  const socket = container.mounts.find((mount) => mount.destination === SOCKET_DIR)?.name;
  const parsed = socket ? parseDaemonVolume(daemon, socket) : undefined;
  return parsed?.kind === 'socket' ? parsed.generation : undefined;
}
