import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Readable, Transform } from 'node:stream';
import { basename } from 'node:path';
import type { EngineClient } from '../engine/engine-client.js';
import type { VolumeMount } from '../engine/engine-types.js';
import { UserError, errorMessage } from '../errors.js';
import { nullLogger, type Logger } from '../log.js';
import { dumpRegistration } from '../nix-cli/closure.js';
import type { NixTools } from '../nix-cli/nix-tool.js';
import { packLayer } from '../image/archive/layer-tar.js';
import { currentRunId } from '../leftovers/run-id.js';
import { DB_DIR, STORE_DIR, helperLabels } from '../names/daemon-names.js';
import { repairFromStore, seedError, seedMounts } from './seed-store.js';

export interface DeliveryInput {
  /** The daemon whose volumes these are: its helpers are labelled with it. */
  daemon: string;
  /** The base image (image/base-image.ts): helpers run from it, with the store volume as their store. */
  imageId: string;
  nixPath: string;
  /** Store paths that must be valid in the store volume, dependencies first (`nix-store -qR`). */
  closure: string[];
  volumes: { store: string; db: string };
  /** How to learn which paths the store volume holds; none: the store holds nothing we know of. */
  probe?: StoreProbe;
  /** Valid paths whose contents were modified: restored from this host's store. */
  repair?: string[];
  /** This host's store (default /nix/store) and the nix tools that know it. */
  storeDir?: string;
  tools?: NixTools;
}

/**
 * A nix that can read the store volume's db: a running container that mounts it (an exec, no new
 * container), or a nix known to be valid in it (a helper container of the base image).
 */
export type StoreProbe = { kind: 'exec'; containerId: string; nixPath: string } | { kind: 'helper'; nixPath: string };

export interface DeliveryPlan {
  /** Store paths to stream into the store volume and register there: those it does not hold as valid. */
  missing: string[];
  repaired: string[];
}

/**
 * What a daemon of this closure needs in the store volume: the paths it lacks, asked through a nix that
 * can read its db (the running daemon, in the common case). Modified paths are repaired here; the
 * missing ones travel into the new daemon's container before its first start (sendStorePaths), and
 * are registered once it runs (registerStorePaths): no helper container on the update path.
 */
export async function planDelivery(engine: EngineClient, input: DeliveryInput, logger: Logger = nullLogger): Promise<DeliveryPlan> {
  const missing = await invalidPaths(engine, input, logger);
  const repaired = (input.repair ?? []).filter((path) => !missing.includes(path));
  if (repaired.length > 0) await repairFromHost(engine, input, repaired, logger);
  return { missing, repaired };
}

/**
 * Streams `paths` from this host's store into /nix/store of a (created or running) container that
 * mounts the store volume there: the engine's archive API, so any engine address works, and nothing but
 * these paths travels. Returns the tar bytes sent. A path left half-copied by an interrupted run is not
 * registered, so it is sent again.
 */
export async function sendStorePaths(engine: EngineClient, containerId: string, paths: string[], storeDir = STORE_DIR): Promise<number> {
  if (paths.length === 0) return 0;
  let bytes = 0;
  const tar = packLayer({ kind: 'store', storeDir, names: paths.map((path) => basename(path)) });
  const counted = Readable.from(
    (async function* () {
      for await (const chunk of tar as AsyncIterable<Buffer>) {
        bytes += chunk.length;
        yield chunk;
      }
    })(),
  );
  await engine.copyIn(containerId, '/', counted);
  return bytes;
}

/**
 * Imports `paths` from this host's store into a running container's store with nix's own import:
 * `nix-store --export` here, piped into `nix-store --import` there (as root, on its local store). nix
 * deletes whatever is at a path that is not valid before it writes it, and registers each path with its
 * references: a build user that made a directory where a path was about to arrive (the store is
 * writable by the build group without the sandbox) keeps nothing of it. Returns the bytes sent.
 */
export async function importStorePaths(engine: EngineClient, containerId: string, nixPath: string, paths: string[], tools: NixTools = {}): Promise<number> {
  if (paths.length === 0) return 0;
  const exported = exportStorePaths(paths, tools);
  const result = await engine.exec(containerId, [`${nixPath}/bin/nix-store`, '--import'], [], exported.stream).catch((error: unknown) => {
    exported.stop();
    throw error;
  });
  // an import that gave up leaves the export nobody to write to; one that took all of it lets it exit
  if (result.exitCode !== 0) exported.stop();
  // an export that failed on its own is the cause of an import that got half a stream
  const failed = await exported.failure;
  if (failed) throw deliveryError('exporting them from this host', failed);
  if (result.exitCode !== 0) throw deliveryError('importing them', result.stderr);
  return exported.bytes();
}

/** `nix-store --export paths` as a stream, its bytes counted; `failure`: its stderr, when it failed other than by stop(). */
export function exportStorePaths(paths: string[], tools: NixTools): { stream: NodeJS.ReadableStream; bytes: () => number; failure: Promise<string | undefined>; stop: () => void } {
  const child = spawn(tools.binDir ? `${tools.binDir}/nix-store` : 'nix-store', ['--export', ...paths], { stdio: ['ignore', 'pipe', 'pipe'] });
  let bytes = 0;
  let stderr = '';
  let stopped = false;
  // Piped at once: node drops what a child wrote to a pipe nobody reads when it exits (a small export
  // is done before the exec that reads it has started); the pass-through holds it, and holds back the child.
  const stream = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      bytes += chunk.length;
      done(null, chunk);
    },
  });
  child.stdout.on('error', (error) => stream.destroy(error));
  child.stdout.pipe(stream);
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const failure = new Promise<string | undefined>((resolve) => {
    child.on('error', (error) => resolve(errorMessage(error)));
    child.on('close', (code) => resolve(code === 0 || stopped ? undefined : stderr || `nix-store --export: exit code ${code}`));
  });
  const stop = () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    stopped = true;
    child.kill();
  };
  return { stream, bytes: () => bytes, failure, stop };
}

function deliveryError(step: string, stderr: string): UserError {
  const last = stderr.trim().split('\n').filter((line) => !line.startsWith('warning:')).at(-1) ?? 'no output';
  return new UserError('daemon', `delivering store paths failed while ${step}: ${last}`, 'run the command again: a path not registered is sent again');
}

/**
 * Of the paths about to be sent into a created container's store, those that something is at already:
 * left half-copied by a killed run, or made by a build user (without the sandbox the build group may
 * create entries in /nix/store). Extracting over them keeps what else they hold (see verifyDelivered).
 */
export async function presentPaths(engine: EngineClient, containerId: string, paths: string[]): Promise<string[]> {
  const present: string[] = [];
  for (const path of paths) if (await engine.pathExists(containerId, path)) present.push(path);
  return present;
}

/** Of delivered paths, those whose contents do not hash to what was registered (a planted file in them, say). */
export async function modifiedPaths(engine: EngineClient, containerId: string, nixPath: string, paths: string[]): Promise<string[]> {
  if (paths.length === 0) return [];
  const verify = await engine.exec(containerId, [`${nixPath}/bin/nix-store`, '--verify-path', ...paths]);
  if (verify.exitCode === 0) return [];
  const modified = [...verify.stderr.matchAll(/path '([^']+)' was modified/g)].map((match) => match[1]!);
  if (modified.length === 0) throw deliveryError('verifying them', verify.stderr);
  return modified;
}

/**
 * Registers sent paths with the container's nix (`nix-store --load-db`, this host's registration of
 * them). It exits 0 on input it could not use (measured): the caller checks that they are valid (the
 * daemon's first round trip asks, see wait-ready.ts).
 */
export async function registerStorePaths(engine: EngineClient, containerId: string, nixPath: string, paths: string[], tools?: NixTools): Promise<void> {
  if (paths.length === 0) return;
  const nixStore = `${nixPath}/bin/nix-store`;
  const load = await engine.exec(containerId, [nixStore, '--load-db'], [], await dumpRegistration(paths, tools));
  if (load.exitCode !== 0) throw seedError('registering the delivered paths', load.stderr);
}

/**
 * The closure's paths the store volume does not hold as valid. Without a nix that can tell, every path
 * is sent: extracting a path over an identical copy is harmless, and no daemon serves this store then.
 */
async function invalidPaths(engine: EngineClient, { daemon, imageId, closure, volumes, probe }: DeliveryInput, logger: Logger): Promise<string[]> {
  if (!probe) return closure;
  const cmd = validityQuery(probe.nixPath, closure);
  const result =
    probe.kind === 'exec'
      ? await engine.exec(probe.containerId, cmd).catch((error: unknown) => ({ exitCode: -1, stdout: '', stderr: errorMessage(error) }))
      : await engine
          .runOnce({ image: imageId, labels: helperLabels(currentRunId(), daemon), entrypoint: [cmd[0]!], cmd: cmd.slice(1), mounts: storeMounts(volumes) })
          .catch((error: unknown) => ({ exitCode: -1, stdout: '', stderr: errorMessage(error) }));
  if (result.exitCode !== 0) {
    logger.debug(`cannot ask the store volume which paths it holds (${result.stderr.trim().split('\n').at(-1) ?? ''}): sending all ${closure.length}`);
    return closure;
  }
  return result.stdout.split('\n').filter(Boolean);
}

function validityQuery(nixPath: string, paths: string[]): string[] {
  return [`${nixPath}/bin/nix-store`, '--check-validity', '--print-invalid', ...paths];
}

/** The paths of `closure` a running container's store does not hold as valid, asked with its nix. */
export async function missingFromRunning(engine: EngineClient, containerId: string, nixPath: string, closure: string[]): Promise<string[]> {
  if (closure.length === 0) return [];
  const result = await engine.exec(containerId, validityQuery(nixPath, closure));
  if (result.exitCode !== 0) throw deliveryError('asking the daemon which paths it lacks', result.stderr);
  return result.stdout.split('\n').filter(Boolean);
}

/** A helper (base image) with `target` as its own store gets `paths` from this host and registers them. */
async function copyAndRegister(engine: EngineClient, input: DeliveryInput, target: { store: string; db: string }, paths: string[]): Promise<void> {
  const helper = await engine.createContainer({
    image: input.imageId,
    labels: helperLabels(currentRunId(), input.daemon),
    entrypoint: [`${input.nixPath}/bin/nix-store`],
    cmd: ['--load-db'],
    mounts: storeMounts(target),
    stdinOnce: true,
  });
  try {
    // Created, not started, while the paths go in: the nix it runs arrives with them.
    await sendStorePaths(engine, helper, paths, input.storeDir);
    const load = await engine.runWithInput(helper, await dumpRegistration(paths, input.tools));
    if (load.exitCode !== 0) throw seedError('registering the paths of a repair', load.stderr);
  } finally {
    await engine.removeContainer(helper);
  }
}

/**
 * Restores valid paths whose contents changed, with nix's own `--repair-path`: a scratch store gets the
 * closure from this host (its nix runs the repair), and is the substituter; nix swaps each path
 * atomically, so files added to a path go too.
 */
export async function repairFromHost(engine: EngineClient, input: DeliveryInput, paths: string[], logger: Logger): Promise<void> {
  const started = logger.start(`repairing ${paths.length} modified store paths in ${input.volumes.store}`);
  const labels = helperLabels(currentRunId(), input.daemon);
  const suffix = randomBytes(4).toString('hex');
  const scratch = { store: `${input.volumes.store}-repair-${suffix}`, db: `${input.volumes.db}-repair-${suffix}` };
  await engine.ensureVolume(scratch.store, labels);
  await engine.ensureVolume(scratch.db, labels);
  try {
    await copyAndRegister(engine, input, scratch, input.closure);
    await repairFromStore(engine, {
      image: input.imageId,
      labels,
      mounts: [...storeMounts(scratch), ...seedMounts(input.volumes)],
      nixStore: `${input.nixPath}/bin/nix-store`,
      paths,
    });
  } finally {
    await engine.removeVolume(scratch.store);
    await engine.removeVolume(scratch.db);
  }
  logger.stop(`repaired ${paths.join(' ')}`, started);
}

/** The volumes as a helper's own store: its nix runs from them. */
function storeMounts(volumes: { store: string; db: string }): VolumeMount[] {
  return [
    { volume: volumes.store, target: STORE_DIR },
    { volume: volumes.db, target: DB_DIR },
  ];
}
