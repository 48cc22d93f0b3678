import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { basename } from 'node:path';
import type { EngineClient } from '../engine/engine-client.js';
import type { VolumeMount } from '../engine/engine-types.js';
import { errorMessage } from '../errors.js';
import { nullLogger, type Logger } from '../log.js';
import { dumpRegistration } from '../nix/closure.js';
import type { NixTools } from '../nix/nix-tool.js';
import { packLayer } from '../image/archive/layer-tar.js';
import { currentRunId } from '../leftovers/run-id.js';
import { DB_DIR, STORE_DIR, helperLabels } from './daemon-names.js';
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

export interface Delivered {
  /** Store paths streamed into the store volume and registered there. */
  paths: string[];
  /** Tar bytes streamed for them. */
  bytes: number;
  repaired: string[];
}

/**
 * Makes `closure` valid in the store volume by streaming only the paths it lacks from this host's store
 * (the engine's archive API: no image, no layer, any engine address) and registering them with the
 * delivered nix's own `nix-store --load-db`. Bytes moved are proportional to what changed: a new nix
 * that shares most of its closure with the running one costs its few new paths.
 */
export async function deliverStorePaths(engine: EngineClient, input: DeliveryInput, logger: Logger = nullLogger): Promise<Delivered> {
  const missing = await invalidPaths(engine, input, logger);
  const repair = (input.repair ?? []).filter((path) => !missing.includes(path));
  if (repair.length > 0) await repairFromHost(engine, input, repair, logger);
  if (missing.length === 0) return { paths: [], bytes: 0, repaired: repair };

  const started = logger.start(`delivering ${missing.length} store paths into ${input.volumes.store}`);
  const registration = await dumpRegistration(missing, input.tools);
  const bytes = await copyAndRegister(engine, input, { store: input.volumes.store, db: input.volumes.db }, missing, registration);
  logger.stop(`delivered ${missing.length} store paths (${(bytes / 1e6).toFixed(1)} MB) into ${input.volumes.store}`, started);
  return { paths: missing, bytes, repaired: repair };
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

/** Streams `paths` from this host's store into the store volume `target`, then registers them there; returns the bytes sent. */
async function copyAndRegister(engine: EngineClient, input: DeliveryInput, target: { store: string; db: string }, paths: string[], registration: string): Promise<number> {
  const nixStore = `${input.nixPath}/bin/nix-store`;
  // Created, not started, while the paths go in: the nix it runs arrives with them.
  const helper = await engine.createContainer({
    image: input.imageId,
    labels: helperLabels(currentRunId(), input.daemon),
    entrypoint: [nixStore],
    cmd: ['--load-db'],
    mounts: storeMounts(target),
    stdinOnce: true,
  });
  let bytes = 0;
  try {
    const tar = packLayer({ kind: 'store', storeDir: input.storeDir ?? STORE_DIR, names: paths.map((path) => basename(path)) });
    const counted = Readable.from(
      (async function* () {
        for await (const chunk of tar as AsyncIterable<Buffer>) {
          bytes += chunk.length;
          yield chunk;
        }
      })(),
    );
    // A path left half-copied by an interrupted run is not registered yet, so it is sent again here.
    await engine.copyIn(helper, '/', counted);
    const load = await engine.runWithInput(helper, registration);
    if (load.exitCode !== 0) throw seedError('registering the delivered paths', load.stderr);
  } finally {
    await engine.removeContainer(helper);
  }
  return bytes;
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
    await copyAndRegister(engine, input, scratch, input.closure, await dumpRegistration(input.closure, input.tools));
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
