import { access } from 'node:fs/promises';
import { Readable } from 'node:stream';
import type { EngineClient } from '../engine/engine-client.js';
import { engineRefused } from '../engine/engine-failure.js';
import { UserError, errorMessage } from '../errors.js';
import { nullLogger, type Logger } from '../log.js';
import { packLayer } from '../image/archive/layer-tar.js';
import { currentRunId } from '../leftovers/run-id.js';
import { daemonFileEntries } from './daemon-files.js';
import { DAEMON_PROFILE, candidateName, daemonVolumes, generationLabels } from '../names/daemon-names.js';
import type { PreparedDaemon } from './daemon-outcome.js';
import { daemonContainerSpec, daemonNixConf, type DaemonInputs } from './daemon-spec.js';
import { pendingSwap } from './daemon-swap.js';
import { modifiedPaths, presentPaths, registerStorePaths, repairFromHost, sendStorePaths } from './deliver-store-paths.js';
import type { FilledStore } from './fill-store.js';
import { findHookShell } from './hook-shell.js';
import { startPushCommand } from './push-script.js';
import type { NewGeneration } from './plan-daemon.js';
import { candidateSlot } from './plan-daemon.js';
import { waitDaemonReady, type ReadyOptions } from './wait-ready.js';

/**
 * The daemon step's new generation: started beside the running daemon under another name, it must
 * answer; the swap waits for config.toml (see provision.ts). If anything fails, it is removed and the
 * old daemon keeps running untouched; the error says why.
 */
export async function startGeneration(
  engine: EngineClient,
  inputs: DaemonInputs,
  plan: NewGeneration,
  { generation, filled, socketVolume }: { generation: string; filled: FilledStore; socketVolume: string },
  { logger = nullLogger, ready }: { logger?: Logger; ready?: ReadyOptions } = {},
): Promise<PreparedDaemon> {
  const { id, rootsBuilds, bytes, restored } = await startCandidate(engine, inputs, generation, filled, logger, ready);
  const repaired = [...filled.repaired, ...restored];
  const extra = {
    seeded: filled.copied.length,
    rootsBuilds,
    ...(filled.local ? { delivered: { paths: filled.copied.length, bytes } } : {}),
    ...(repaired.length > 0 ? { repaired } : {}),
  };
  return {
    outcome: plan.outcome(plan.current ? 'replaced' : 'created', id, extra),
    pending: pendingSwap(engine, { daemon: inputs.daemon, ...(plan.current ? { current: plan.current } : {}), candidate: id, candidateSocket: socketVolume, logger }),
  };
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
): Promise<{ id: string; rootsBuilds: boolean; bytes: number; restored: string[] }> {
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
  let modified: string[] = [];
  try {
    // no daemon ran to import them (the first provision, or a daemon removed by hand): sent before its start
    const send = filled.local && !filled.imported && filled.copied.length > 0;
    // what is at a path before it arrives stays beside it: checked once the daemon runs
    const present = send && !filled.freshStore ? await presentPaths(engine, id, filled.copied) : [];
    if (send) {
      const sending = logger.start(`sending ${filled.copied.length} store paths into ${name}`);
      bytes = await sendStorePaths(engine, id, filled.copied);
      logger.stop(`sent ${filled.copied.length} store paths (${(bytes / 1e6).toFixed(1)} MB)`, sending);
    }
    const exists = filled.local ? existsOnHost : (path: string) => engine.pathExists(id, path);
    // the base image of a host-store daemon has no shell of its own
    shell = await findHookShell(filled.closure, exists, { imageShell: !filled.local });
    if (!shell) logger.warn(`no shell in ${inputs.nixPath}'s closure or the image: builds are not rooted, so a job's GC can remove them`);
    const files = daemonFileEntries({ nixConf: daemonNixConf(inputs, shell !== undefined), nixPath: inputs.nixPath, ...(shell ? { shell } : {}), ...(inputs.cache ? { cache: inputs.cache } : {}) });
    await engine.copyIn(id, '/', Readable.from(packLayer({ kind: 'fixed', entries: files }) as AsyncIterable<Buffer>));
    await engine.startContainer(id);
    if (send) await registerStorePaths(engine, id, inputs.nixPath, filled.copied).catch(async (error: unknown) => stoppedOr(engine, id, inputs.nixPath, error));
    await waitDaemonReady(engine, id, inputs.nixPath, ready, filled.local ? filled.copied : []);
    modified = await modifiedPaths(engine, id, inputs.nixPath, present);
    if (modified.length > 0) {
      logger.warn(`${modified.length} delivered store paths held files that were there before (a killed run, or a build user): restoring ${modified.join(' ')}`);
      await repairFromHost(engine, { daemon: inputs.daemon, imageId: inputs.imageId, nixPath: inputs.nixPath, closure: filled.closure, volumes: daemonVolumes(inputs.daemon, generation) }, modified, logger);
    }
    await rootDaemonNix(engine, id, inputs.nixPath);
    if (inputs.cache?.push) {
      if (shell) await resumePushes(engine, id, shell);
      else logger.warn(`no shell in ${inputs.nixPath}'s closure or the image: nothing is uploaded to ${inputs.cache.url}`);
    }
  } catch (error: unknown) {
    await discardCandidate(engine, id, socket);
    // an engine that refused to start it (an image whose nix-daemon cannot run) is about the daemon, not the engine
    if (error instanceof UserError && !engineRefused(error)) throw error;
    throw new UserError('daemon', `the new nix-daemon container did not start: ${errorMessage(error)}`, 'the old daemon keeps running; check the image and its nix store path', {
      cause: error,
    });
  }
  logger.stop(`new nix-daemon answers`, started);
  return { id, rootsBuilds: shell !== undefined, bytes: filled.imported ? filled.bytes : bytes, restored: modified };
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

/** Uploads left over (the cache was down, the daemon restarted) start again with the new generation, in the background. */
async function resumePushes(engine: EngineClient, id: string, shell: string[]): Promise<void> {
  const started = await engine.exec(id, [...shell, '-c', startPushCommand()]);
  if (started.exitCode !== 0) throw new Error(`cannot start the cache uploader: ${started.stderr.trim().split('\n').at(-1) ?? ''}`);
}

/** The daemon's own nix must survive any GC, a job's included, while a daemon generation runs it. */
async function rootDaemonNix(engine: EngineClient, id: string, nixPath: string): Promise<void> {
  const root = await engine.exec(id, [`${nixPath}/bin/nix-env`, '--profile', DAEMON_PROFILE, '--set', nixPath]);
  if (root.exitCode !== 0) throw new Error(`cannot root the daemon's nix: ${root.stderr.trim().split('\n').at(-1) ?? ''}`);
}

async function discardCandidate(engine: EngineClient, id: string, socketVolume: string): Promise<void> {
  await engine.removeContainer(id);
  await engine.removeVolume(socketVolume);
}
