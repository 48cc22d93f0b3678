import { randomBytes } from 'node:crypto';
import type { EngineClient } from '../engine/engine-client.js';
import type { VolumeMount } from '../engine/engine-types.js';
import { UserError } from '../errors.js';
import { nullLogger, type Logger } from '../log.js';
import { pathsOfRegistration } from '../nix-cli/closure.js';
import { storeBaseName } from '../nix-cli/store-path.js';
import { currentRunId } from '../leftovers/run-id.js';
import { helperLabels } from '../names/daemon-names.js';

const SEED_ROOT = '/nix-runner/seed';

export interface SeedInput {
  /** The daemon whose volumes these are: its helpers are labelled with it (leftovers of killed runs go). */
  daemon: string;
  imageId: string;
  nixPath: string;
  /** `nix-store --dump-db` text of the image's closure. */
  registration: string;
  volumes: { store: string; db: string };
  /** Valid paths whose contents were modified: restored from the image. */
  repair?: string[];
}

/**
 * Docker copies image content only into an EMPTY named volume, so a new image on old volumes would not
 * find its own nix. Copies the image's closure paths that the volume's db does not know as valid, then
 * registers them. Runs in throwaway containers of the image itself with the volumes mounted under a
 * chroot store (/nix-runner/seed), so the image needs nothing but its nix, not even a shell.
 */
export async function seedStore(engine: EngineClient, input: SeedInput, logger: Logger = nullLogger): Promise<{ copied: string[]; repaired: string[] }> {
  const closure = pathsOfRegistration(input.registration);
  const labels = helperLabels(currentRunId(), input.daemon);
  const base = {
    image: input.imageId,
    labels,
    env: ['NIX_CONFIG=build-users-group =\nsandbox = false'],
    mounts: seedMounts(input.volumes),
  };
  const nixStore = `${input.nixPath}/bin/nix-store`;
  const check = await engine.runOnce({ ...base, entrypoint: [nixStore], cmd: ['--store', SEED_ROOT, '--check-validity', '--print-invalid', ...closure] });
  if (check.exitCode !== 0) throw seedError('checking the store volume', check.stderr);
  const invalid = check.stdout.split('\n').filter(Boolean);
  const repair = (input.repair ?? []).filter((path) => !invalid.includes(path));
  if (repair.length > 0) await repairStorePaths(engine, { ...input, base, nixStore }, repair, logger);
  if (invalid.length === 0) return { copied: [], repaired: repair };

  const started = logger.start(`seeding ${invalid.length} store paths into ${input.volumes.store}`);
  // Two holders: the engine locks a container for the whole of an archive request, so reading from
  // and writing to the same one at once would wait forever.
  const source = await engine.createContainer({ image: input.imageId, labels, entrypoint: [nixStore], cmd: ['--version'] });
  const target = await engine.createContainer({ ...base, entrypoint: [nixStore], cmd: ['--version'] });
  try {
    for (const path of invalid) {
      // A path left half-copied by an interrupted run is not registered yet, so it is copied again here.
      await engine.copyBetween(source, `/nix/store/${storeBaseName(path)}`, target, `${SEED_ROOT}/nix/store`);
    }
  } finally {
    await Promise.all([engine.removeContainer(source), engine.removeContainer(target)]);
  }
  const load = await engine.runOnce({ ...base, entrypoint: [nixStore], cmd: ['--store', SEED_ROOT, '--load-db'] }, input.registration);
  if (load.exitCode !== 0) throw seedError('registering the copied paths', load.stderr);
  // --load-db exits 0 on input it could not use (measured: junk on stdin): what it registered is checked.
  const after = await engine.runOnce({ ...base, entrypoint: [nixStore], cmd: ['--store', SEED_ROOT, '--check-validity', '--print-invalid', ...invalid] });
  const still = after.stdout.split('\n').filter(Boolean);
  if (after.exitCode !== 0 || still.length > 0) throw seedError('registering the copied paths', still.length > 0 ? `still not valid: ${still.join(' ')}` : after.stderr);
  logger.stop(`seeded ${invalid.length} store paths into ${input.volumes.store}`, started);
  return { copied: invalid, repaired: repair };
}

/**
 * Restores valid paths whose contents changed, with nix's own repair: the image's store is the
 * substituter (its db registered first in a scratch volume), and nix swaps each path atomically, so
 * files added to a path go too.
 */
async function repairStorePaths(
  engine: EngineClient,
  { imageId, registration, volumes, base, nixStore }: SeedInput & { base: { image: string; labels: Record<string, string>; env: string[]; mounts: VolumeMount[] }; nixStore: string },
  paths: string[],
  logger: Logger,
): Promise<void> {
  const started = logger.start(`repairing ${paths.length} modified store paths in ${volumes.store}`);
  const scratch = `${volumes.store}-repair-${randomBytes(4).toString('hex')}`;
  await engine.ensureVolume(scratch, base.labels);
  try {
    const withDb = { ...base, mounts: [...base.mounts, { volume: scratch, target: '/nix/var/nix/db' }] };
    const load = await engine.runOnce({ ...withDb, image: imageId, entrypoint: [nixStore], cmd: ['--load-db'] }, registration);
    if (load.exitCode !== 0) throw seedError('registering the image\'s own paths for a repair', load.stderr);
    await repairFromStore(engine, { image: imageId, labels: base.labels, env: base.env, mounts: withDb.mounts, nixStore, paths });
  } finally {
    await engine.removeVolume(scratch);
  }
  logger.stop(`repaired ${paths.join(' ')}`, started);
}

export interface RepairFrom {
  /** A helper whose own store (/nix/store with its db) holds good copies of `paths`, and whose mounts put the store volumes under SEED_ROOT. */
  image: string;
  labels: Record<string, string>;
  env?: string[];
  mounts: VolumeMount[];
  nixStore: string;
  paths: string[];
}

/** `--repair-path` of the store under SEED_ROOT, with the helper's own store as the only substituter. */
export async function repairFromStore(engine: EngineClient, { image, labels, env = [], mounts, nixStore, paths }: RepairFrom): Promise<void> {
  const options = ['--option', 'substituters', 'local', '--option', 'require-sigs', 'false'];
  const repair = await engine.runOnce({ image, labels, env, mounts, entrypoint: [nixStore], cmd: ['--store', SEED_ROOT, ...options, '--repair-path', ...paths] });
  if (repair.exitCode !== 0) throw seedError('repairing modified store paths', repair.stderr);
}

/** The store volumes under SEED_ROOT: a helper's nix reaches them as a chroot store (`--store SEED_ROOT`). */
export function seedMounts(volumes: { store: string; db: string }): VolumeMount[] {
  return [
    { volume: volumes.store, target: `${SEED_ROOT}/nix/store` },
    { volume: volumes.db, target: `${SEED_ROOT}/nix/var/nix/db` },
  ];
}

export function seedError(step: string, stderr: string): UserError {
  const last = stderr.trim().split('\n').filter((line) => !line.startsWith('warning:')).at(-1) ?? 'no output';
  return new UserError('daemon', `seeding the store failed while ${step}: ${last}`, 'check the image with `docker run --rm --entrypoint <nix>/bin/nix-store IMAGE --version`');
}
