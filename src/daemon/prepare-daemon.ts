import { access } from 'node:fs/promises';
import { Readable } from 'node:stream';
import type { EngineClient } from '../engine/engine-client.js';
import type { ContainerInfo } from '../engine/engine-types.js';
import { engineRefused } from '../engine/engine-failure.js';
import { UserError, errorMessage } from '../errors.js';
import { nullLogger, type Logger } from '../log.js';
import { pathsOfRegistration } from '../nix/closure.js';
import { packLayer } from '../image/archive/layer-tar.js';
import { checkDaemon } from './check-daemon.js';
import { daemonFileEntries } from './daemon-files.js';
import { currentRunId } from '../leftovers/run-id.js';
import {
  DAEMON_PROFILE,
  LABEL_DAEMON,
  LABEL_MANAGED,
  LABEL_NIX,
  LABEL_SPEC_HASH,
  candidateName,
  daemonVolumes,
  generationLabels,
  isDaemonGeneration,
  newGenerationId,
} from './daemon-names.js';
import { daemonContainerSpec, daemonNixConf, daemonSpecHash, type DaemonInputs } from './daemon-spec.js';
import { findHookShell } from './hook-shell.js';
import { noSwap, pendingSwap, type PendingSwap } from './daemon-swap.js';
import { planDelivery, registerStorePaths, sendStorePaths, type StoreProbe } from './deliver-store-paths.js';
import { seedStore } from './seed-store.js';
import { waitDaemonReady, type ReadyOptions } from './wait-ready.js';

export type DaemonAction = 'unchanged' | 'started' | 'created' | 'replaced';

export interface DaemonOutcome {
  name: string;
  /** Container id; absent in a dry run that would create one. */
  id?: string;
  image: string;
  nix: string;
  action: DaemonAction;
  seeded: number;
  /** Why a daemon whose spec had not changed was replaced (it failed its check). */
  reason?: string;
  /** Store paths of its nix that had been modified and were restored. */
  repaired?: string[];
  /** Store paths streamed from this host's store into the store volume (store-path daemons), and their tar bytes. */
  delivered?: { paths: number; bytes: number };
  /** Whether each build's outputs are rooted, so that a job's GC cannot delete them (needs a shell in the daemon). */
  rootsBuilds?: boolean;
}

/**
 * Where the store volume gets the daemon's nix from: the image's own store (seed-store.ts), or this
 * host's store, path by path (deliver-store-paths.ts; the image is then the constant base image).
 */
export type StoreSupply = { kind: 'image'; registration: () => Promise<string> } | { kind: 'host'; closure: () => Promise<string[]> };

type Inputs = DaemonInputs & { supply: StoreSupply };

export interface PrepareOptions {
  dryRun?: boolean;
  logger?: Logger;
  ready?: ReadyOptions;
}

export interface PreparedDaemon {
  outcome: DaemonOutcome;
  /** What is left to do once config.toml is ready: see daemon-swap.ts. */
  pending: PendingSwap;
}

/**
 * Gets a daemon running the wanted spec ready without touching the running one: a new generation is
 * started beside it under another name and must answer; the swap waits for config.toml (see
 * provision.ts). A running daemon with the same spec is kept if it passes its check. If anything fails,
 * the old daemon keeps running untouched and the error says why.
 */
export async function prepareDaemon(
  engine: EngineClient,
  inputs: Inputs,
  { dryRun = false, logger = nullLogger, ready }: PrepareOptions = {},
): Promise<PreparedDaemon> {
  const hash = daemonSpecHash(inputs);
  let reason: string | undefined;
  let repair: string[] = [];
  const outcome = (action: DaemonAction, id?: string, extra: Partial<DaemonOutcome> = {}): DaemonOutcome => ({
    name: inputs.daemon,
    ...(id ? { id } : {}),
    image: inputs.imageId,
    nix: inputs.nixPath,
    action,
    seeded: 0,
    ...(reason ? { reason } : {}),
    ...extra,
  });
  const unswapped = (result: DaemonOutcome, keep: string[] = []): PreparedDaemon => ({ outcome: result, pending: noSwap(engine, inputs.daemon, keep, logger, dryRun) });
  const current = await engine.inspectContainer(inputs.daemon);
  if (current && current.labels[LABEL_MANAGED] !== 'true') {
    throw new UserError(
      'daemon',
      `a container named ${inputs.daemon} exists and was not made by nix-runner`,
      `nix-runner never removes what it did not create: rename or remove it (docker rm ${inputs.daemon}), or choose another --daemon`,
    );
  }
  if (current && current.labels[LABEL_SPEC_HASH] === hash) {
    if (!current.running) {
      if (dryRun) return unswapped(outcome('started', current.id));
      await engine.startContainer(current.id);
      await waitDaemonReady(engine, current.id, inputs.nixPath, ready);
    }
    const health = await checkDaemon(engine, current.id, inputs.nixPath);
    // Old daemons kept for their running jobs go once those jobs have ended.
    if (health.ok) return unswapped(outcome(current.running ? 'unchanged' : 'started', current.id), [current.id]);
    reason = health.reason;
    repair = health.modified;
    logger.warn(`daemon ${inputs.daemon}: ${reason}; replacing it (the store is kept)`);
  }
  // Before anything is created: a new generation starts under <daemon>-next.
  await candidateSlot(engine, inputs.daemon);
  if (dryRun) return unswapped(outcome(current ? 'replaced' : 'created', current?.id));

  // A new generation: an id of its own, never one an earlier image had (its socket may still be mounted).
  const generation = newGenerationId();
  const volumes = daemonVolumes(inputs.daemon, generation);
  const labels = { [LABEL_MANAGED]: 'true', [LABEL_DAEMON]: inputs.daemon };
  await engine.ensureVolume(volumes.store, labels);
  const freshDb = await engine.ensureVolume(volumes.db, labels);
  await engine.ensureVolume(volumes.roots, labels);
  const filled = await fillStore(engine, inputs, { volumes, repair, current, freshDb }, logger);
  const { id: candidate, rootsBuilds, bytes } = await startCandidate(engine, inputs, generation, filled, logger, ready);
  const extra = {
    seeded: filled.copied.length,
    rootsBuilds,
    ...(filled.local ? { delivered: { paths: filled.copied.length, bytes } } : {}),
    ...(filled.repaired.length > 0 ? { repaired: filled.repaired } : {}),
  };
  return {
    outcome: outcome(current ? 'replaced' : 'created', candidate, extra),
    pending: pendingSwap(engine, { daemon: inputs.daemon, ...(current ? { current } : {}), candidate, candidateSocket: volumes.socket, logger }),
  };
}

interface FilledStore {
  /** The closure the daemon runs. */
  closure: string[];
  /** Paths copied into the store volume: seeded from the image already, or (local) still to send from this host. */
  copied: string[];
  repaired: string[];
  /**
   * The closure is in this host's store (host supply): looked at there, no engine call; `copied` goes
   * into the new daemon's container before it starts and is registered once it runs.
   */
  local: boolean;
}

/** Gets the daemon's closure into the store volume from the image, or plans it from this host's store. */
async function fillStore(
  engine: EngineClient,
  inputs: Inputs,
  { volumes, repair, current, freshDb }: { volumes: ReturnType<typeof daemonVolumes>; repair: string[]; current?: ContainerInfo; freshDb: boolean },
  logger: Logger,
): Promise<FilledStore> {
  if (inputs.supply.kind === 'image') {
    const registration = await inputs.supply.registration();
    const { copied, repaired } = await seedStore(engine, { ...inputs, registration, volumes, repair }, logger);
    return { closure: pathsOfRegistration(registration), copied, repaired, local: false };
  }
  const closure = await inputs.supply.closure();
  const plan = await planDelivery(engine, { daemon: inputs.daemon, imageId: inputs.imageId, nixPath: inputs.nixPath, closure, volumes, repair, ...storeProbe(inputs, current, freshDb) }, logger);
  return { closure, copied: plan.missing, repaired: plan.repaired, local: true };
}

/**
 * Who can tell which paths the store volume holds: the running daemon (an exec), else a helper running
 * the stopped daemon's nix or the new nix, if the volume has it (else every path is sent). A db volume
 * made just now holds nothing.
 */
function storeProbe(inputs: Inputs, current: ContainerInfo | undefined, freshDb: boolean): { probe?: StoreProbe } {
  if (freshDb) return {};
  const currentNix = current?.labels[LABEL_NIX];
  if (current?.running && currentNix) return { probe: { kind: 'exec', containerId: current.id, nixPath: currentNix } };
  return { probe: { kind: 'helper', nixPath: currentNix ?? inputs.nixPath } };
}

/**
 * Creates the daemon container, gives it its users and root-only nix.conf before its first start (so
 * that no image source falls back to root builds), and waits until it answers; its nix is then rooted.
 */
async function startCandidate(
  engine: EngineClient,
  inputs: DaemonInputs,
  generation: string,
  filled: FilledStore,
  logger: Logger,
  ready?: ReadyOptions,
): Promise<{ id: string; rootsBuilds: boolean; bytes: number }> {
  const name = candidateName(inputs.daemon);
  const run = currentRunId();
  const spec = daemonContainerSpec(inputs, name, { generation, run });
  const socket = daemonVolumes(inputs.daemon, generation).socket;
  const stale = await candidateSlot(engine, inputs.daemon);
  if (stale) await engine.removeContainer(stale);
  await engine.ensureVolume(socket, generationLabels(inputs.daemon, generation, run));
  const started = logger.start(`starting ${name}`);
  const id = await engine.createContainer(spec);
  let shell: string[] | undefined;
  let bytes = 0;
  try {
    if (filled.local && filled.copied.length > 0) {
      const sending = logger.start(`sending ${filled.copied.length} store paths into ${name}`);
      bytes = await sendStorePaths(engine, id, filled.copied);
      logger.stop(`sent ${filled.copied.length} store paths (${(bytes / 1e6).toFixed(1)} MB)`, sending);
    }
    const exists = filled.local ? existsOnHost : (path: string) => engine.pathExists(id, path);
    // the base image of a host-store daemon has no shell of its own
    shell = await findHookShell(filled.closure, exists, { imageShell: !filled.local });
    if (!shell) logger.warn(`no shell in ${inputs.nixPath}'s closure or the image: builds are not rooted, so a job's GC can remove them`);
    const files = daemonFileEntries({ nixConf: daemonNixConf(inputs, shell !== undefined), nixPath: inputs.nixPath, ...(shell ? { shell } : {}) });
    await engine.copyIn(id, '/', Readable.from(packLayer({ kind: 'fixed', entries: files }) as AsyncIterable<Buffer>));
    await engine.startContainer(id);
    if (filled.local) await registerStorePaths(engine, id, inputs.nixPath, filled.copied).catch(async (error: unknown) => stoppedOr(engine, id, inputs.nixPath, error));
    await waitDaemonReady(engine, id, inputs.nixPath, ready, filled.local ? filled.copied : []);
    await rootDaemonNix(engine, id, inputs.nixPath);
  } catch (error: unknown) {
    await discardCandidate(engine, id, socket);
    // an engine that refused to start it (an image whose nix-daemon cannot run) is about the daemon, not the engine
    if (error instanceof UserError && !engineRefused(error)) throw error;
    throw new UserError('daemon', `the new nix-daemon container did not start: ${errorMessage(error)}`, 'the old daemon keeps running; check the image and its nix store path', {
      cause: error,
    });
  }
  logger.stop(`new nix-daemon answers`, started);
  return { id, rootsBuilds: shell !== undefined, bytes };
}

async function existsOnHost(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

/** A daemon that stopped says why (its log), rather than the exec that found it gone. */
async function stoppedOr(engine: EngineClient, id: string, nixPath: string, error: unknown): Promise<never> {
  if (!(await engine.inspectContainer(id))?.running) await waitDaemonReady(engine, id, nixPath);
  throw error;
}

/** The daemon's own nix must survive any GC, a job's included, while a daemon generation runs it. */
async function rootDaemonNix(engine: EngineClient, id: string, nixPath: string): Promise<void> {
  const root = await engine.exec(id, [`${nixPath}/bin/nix-env`, '--profile', DAEMON_PROFILE, '--set', nixPath]);
  if (root.exitCode !== 0) throw new Error(`cannot root the daemon's nix: ${root.stderr.trim().split('\n').at(-1) ?? ''}`);
}

/**
 * The container under the candidate name, if nix-runner made it (a leftover: removeLeftovers takes a
 * killed run's first). One nix-runner did not make is never removed: an error says so.
 */
async function candidateSlot(engine: EngineClient, daemon: string): Promise<string | undefined> {
  const name = candidateName(daemon);
  const stale = await engine.inspectContainer(name);
  if (!stale) return undefined;
  if (isDaemonGeneration(stale.labels, daemon)) return stale.id;
  throw new UserError(
    'daemon',
    `a container named ${name} exists and was not made by nix-runner`,
    `nix-runner never removes what it did not create, and starts each new daemon generation under that name: rename or remove it (docker rm ${name}), or choose another --daemon`,
  );
}

async function discardCandidate(engine: EngineClient, id: string, socketVolume: string): Promise<void> {
  await engine.removeContainer(id);
  await engine.removeVolume(socketVolume);
}
