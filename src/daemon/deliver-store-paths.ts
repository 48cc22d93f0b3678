import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { basename } from 'node:path';
import type { EngineClient } from '../engine/engine-client.js';
import type { VolumeMount } from '../engine/engine-types.js';
import { errorMessage } from '../errors.js';
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
  const cmd = [`${probe.nixPath}/bin/nix-store`, '--check-validity', '--print-invalid', ...closure];
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
async function repairFromHost(engine: EngineClient, input: DeliveryInput, paths: string[], logger: Logger): Promise<void> {
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
