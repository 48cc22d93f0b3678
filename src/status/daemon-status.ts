import { statfs } from 'node:fs/promises';
import { LABEL_DAEMON, LABEL_MANAGED, LABEL_NIX, candidateName, generationOf, isDaemonGeneration, storeVolume } from '../names/daemon-names.js';
import { generationUsers, splitStaleUsers } from '../daemon/daemon-users.js';
import type { EngineClient } from '../engine/engine-client.js';
import type { ContainerInfo, ContainerSummary } from '../engine/engine-types.js';
import { errorMessage } from '../errors.js';
import { readGcRecord, type GcRecord } from '../gc/gc-record.js';
import { findLeftovers, type Leftovers } from '../leftovers/leftovers.js';
import type { AttachedRunner } from './attached-runners.js';
import { cacheStatus, type CacheStatus } from './cache-status.js';

export interface JobContainer {
  id: string;
  name: string;
  state: string;
}

export interface GenerationStatus {
  name: string;
  id: string;
  generation?: string;
  /** current: holds the daemon's name; retired: serves its jobs until they are gone; candidate: starting. */
  role: 'current' | 'retired' | 'candidate';
  state: string;
  image: string;
  nix?: string;
  /** Containers in any state that mount this generation's socket (jobs, between stages too). */
  users: JobContainer[];
}

export interface DaemonStatus {
  name: string;
  /** The daemon container's state, or 'missing'. */
  state: string;
  id?: string;
  generation?: string;
  image?: string;
  nix?: string;
  /** A client round trip through the socket (the hash of its nix) worked. */
  answers: boolean;
  answerError?: string;
  /** Valid store paths and the sum of their NAR sizes (about what the store holds on disk). */
  store?: { paths: number; narBytes: number };
  /** Free space where the engine keeps the store volume, when this process can see it (a local engine, root). */
  freeBytes?: number;
  /** The container's HostConfig limits (PidsLimit, Memory); absent ones are not set. */
  limits?: { pids?: number; memoryBytes?: number };
  generations: GenerationStatus[];
  /** Retired generations that still have users, so they keep running. */
  draining: string[];
  /** Runners of config.toml mounting this daemon, the nix their jobs run, and whether the store has it. */
  runners: { name: string; nix?: string; nixInStore?: boolean }[];
  lastGc?: GcRecord;
  /** The binary cache it uses, and for one that uploads, how many builds wait. */
  cache?: CacheStatus;
  leftovers: Leftovers;
  /** Users stopped (or never started) for longer than the stale time: left behind, they hold generations and gc. */
  staleUsers: JobContainer[];
}

export interface StatusOptions {
  runners: AttachedRunner[];
  staleAfterMs: number;
}

/** Daemons nix-runner made (any generation), and those config.toml's attached runners mount. */
export async function knownDaemons(engine: EngineClient, runners: AttachedRunner[]): Promise<string[]> {
  const names = new Set<string>();
  for (const container of await engine.listContainers({ label: [`${LABEL_MANAGED}=true`] })) {
    if (isDaemonGeneration(container.labels) && container.labels[LABEL_DAEMON]) names.add(container.labels[LABEL_DAEMON]);
  }
  for (const runner of runners.filter((r) => r.nix)) {
    for (const entry of runner.volumesFrom) {
      const container = await engine.inspectContainer(entry);
      if (!container || isDaemonGeneration(container.labels)) names.add(container?.labels[LABEL_DAEMON] ?? entry);
    }
  }
  return [...names].sort();
}

function job(container: ContainerSummary): JobContainer {
  return { id: container.id, name: container.name, state: container.state };
}

function roleOf(daemon: string, container: ContainerInfo): GenerationStatus['role'] {
  if (container.name === daemon) return 'current';
  return container.name === candidateName(daemon) ? 'candidate' : 'retired';
}

/** Everything `nix-runner status` says about one daemon; cheap: a few engine calls and execs in the daemon. */
export async function daemonStatus(engine: EngineClient, daemon: string, { runners, staleAfterMs }: StatusOptions): Promise<DaemonStatus> {
  const named = await engine.inspectContainer(daemon);
  const current = named && isDaemonGeneration(named.labels) ? named : undefined;
  const generations: GenerationStatus[] = [];
  const users: ContainerSummary[] = [];
  for (const listed of await engine.listContainers({ label: [`${LABEL_DAEMON}=${daemon}`] })) {
    if (!isDaemonGeneration(listed.labels, daemon)) continue;
    const info = await engine.inspectContainer(listed.id);
    if (!info) continue;
    const own = await generationUsers(engine, info);
    users.push(...own);
    const generation = generationOf(daemon, info);
    generations.push({
      name: info.name,
      id: info.id,
      ...(generation ? { generation } : {}),
      role: roleOf(daemon, info),
      state: info.status,
      image: info.imageId,
      ...(info.labels[LABEL_NIX] ? { nix: info.labels[LABEL_NIX] } : {}),
      users: own.map(job),
    });
  }
  generations.sort((a, b) => ['current', 'candidate', 'retired'].indexOf(a.role) - ['current', 'candidate', 'retired'].indexOf(b.role) || a.name.localeCompare(b.name));

  const nix = current?.labels[LABEL_NIX];
  const probe = current?.running && nix ? await answers(engine, current.id, nix) : { ok: false, error: current ? `the container is ${current.status}` : 'no such container' };
  const attached = runners.filter((runner) => runner.volumesFrom.includes(daemon));
  const valid = probe.ok && nix ? await validPaths(engine, current!.id, nix, attached.flatMap((runner) => (runner.nix ? [runner.nix] : []))) : undefined;
  const { stale } = await splitStaleUsers(engine, users, staleAfterMs);
  const store = probe.ok && nix ? await storeSize(engine, current!.id, nix) : undefined;
  const freeBytes = current ? await freeSpace(engine, storeVolume(daemon)) : undefined;
  const lastGc = await readGcRecord(daemon);
  const cache = current ? await cacheStatus(engine, current).catch(() => undefined) : undefined;

  return {
    name: daemon,
    state: current?.status ?? (named ? 'not made by nix-runner' : 'missing'),
    ...(current ? { id: current.id, image: current.imageId, limits: current.limits } : {}),
    ...(current && generationOf(daemon, current) ? { generation: generationOf(daemon, current)! } : {}),
    ...(nix ? { nix } : {}),
    answers: probe.ok,
    ...(probe.ok ? {} : { answerError: probe.error }),
    ...(store ? { store } : {}),
    ...(freeBytes !== undefined ? { freeBytes } : {}),
    generations,
    draining: generations.filter((g) => g.role === 'retired' && g.users.length > 0).map((g) => g.name),
    runners: attached.map((runner) => ({
      name: runner.name,
      ...(runner.nix ? { nix: runner.nix } : {}),
      ...(runner.nix && valid ? { nixInStore: valid.has(runner.nix) } : {}),
    })),
    ...(lastGc ? { lastGc } : {}),
    ...(cache ? { cache } : {}),
    leftovers: await findLeftovers(engine, daemon, { locked: false }),
    staleUsers: stale.map(job),
  };
}

async function answers(engine: EngineClient, id: string, nix: string): Promise<{ ok: boolean; error?: string }> {
  const probe = await engine
    .exec(id, [`${nix}/bin/nix-store`, '--query', '--hash', nix], ['NIX_REMOTE=daemon'])
    .catch((error: unknown) => ({ exitCode: -1, stdout: '', stderr: errorMessage(error) }));
  return probe.exitCode === 0 ? { ok: true } : { ok: false, error: lastLine(probe.stderr) };
}

/** Which of `paths` are valid in the daemon's store. */
async function validPaths(engine: EngineClient, id: string, nix: string, paths: string[]): Promise<Set<string>> {
  const unique = [...new Set(paths)];
  if (unique.length === 0) return new Set();
  const check = await engine.exec(id, [`${nix}/bin/nix-store`, '--check-validity', '--print-invalid', ...unique]);
  const invalid = new Set(check.stdout.split('\n').filter(Boolean));
  // Not a store path at all fails the whole check: then none counts as valid.
  return new Set(check.exitCode === 0 ? unique.filter((path) => !invalid.has(path)) : []);
}

async function storeSize(engine: EngineClient, id: string, nix: string): Promise<{ paths: number; narBytes: number } | undefined> {
  const info = await engine.exec(id, [`${nix}/bin/nix`, '--extra-experimental-features', 'nix-command', 'path-info', '--all', '--json']).catch(() => undefined);
  if (!info || info.exitCode !== 0) return undefined;
  try {
    const parsed = JSON.parse(info.stdout) as { narSize?: number }[] | Record<string, { narSize?: number } | null>;
    // nix 2.8 prints a list; newer ones an object keyed by path.
    const entries = (Array.isArray(parsed) ? parsed : Object.values(parsed)).filter((entry) => entry !== null);
    return { paths: entries.length, narBytes: entries.reduce((sum, entry) => sum + (entry?.narSize ?? 0), 0) };
  } catch {
    return undefined;
  }
}

async function freeSpace(engine: EngineClient, volume: string): Promise<number | undefined> {
  const info = await engine.inspectVolume(volume);
  if (!info?.mountpoint) return undefined;
  try {
    const stats = await statfs(info.mountpoint);
    return stats.bavail * stats.bsize;
  } catch {
    // a remote engine, or not root: the volume's directory is not visible from here
    return undefined;
  }
}

function lastLine(text: string): string {
  return text.trim().split('\n').filter((line) => !line.startsWith('warning:')).at(-1) ?? 'no output';
}
