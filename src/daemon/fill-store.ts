import type { EngineClient } from '../engine/engine-client.js';
import type { ContainerInfo } from '../engine/engine-types.js';
import { nullLogger, type Logger } from '../log.js';
import { pathsOfRegistration } from '../nix-cli/closure.js';
import { LABEL_NIX } from '../names/daemon-names.js';
import type { DaemonInputs } from './daemon-spec.js';
import { importStorePaths, planDelivery, type StoreProbe } from './deliver-store-paths.js';
import type { DaemonVolumes } from './ensure-volumes.js';
import { seedStore } from './seed-store.js';

/**
 * Where the store volume gets the daemon's nix from: the image's own store (seed-store.ts), or this
 * host's store, path by path (deliver-store-paths.ts; the image is then the constant base image).
 */
export type StoreSupply = { kind: 'image'; registration: () => Promise<string> } | { kind: 'host'; closure: () => Promise<string[]> };

export interface FilledStore {
  /** The closure the daemon runs. */
  closure: string[];
  /** Paths copied into the store volume: seeded from the image already, or (local) still to send from this host. */
  copied: string[];
  repaired: string[];
  /**
   * The closure is in this host's store (host supply): looked at there, no engine call; `copied` goes
   * into the new daemon's container before it starts and is registered once it runs, unless imported.
   */
  local: boolean;
  /** `copied` is in the store already: imported by the running daemon's nix (local only). */
  imported: boolean;
  /** Bytes streamed from this host (local only). */
  bytes: number;
  /** The store volume was made just now: nothing can be at a path before it is sent. */
  freshStore: boolean;
}

export interface FillInput {
  volumes: DaemonVolumes;
  /** Valid paths whose contents were modified (the running daemon failed its check): restored. */
  repair: string[];
  /** The running daemon, if any: it knows what its store holds. */
  current?: ContainerInfo;
  freshDb: boolean;
  freshStore: boolean;
}

/** The seed step: the daemon's closure into the store volume from the image, or planned from this host's store. */
export async function fillStore(engine: EngineClient, inputs: DaemonInputs & { supply: StoreSupply }, { volumes, repair, current, freshDb, freshStore }: FillInput, logger: Logger = nullLogger): Promise<FilledStore> {
  if (inputs.supply.kind === 'image') {
    const registration = await inputs.supply.registration();
    const { copied, repaired } = await seedStore(engine, { ...inputs, registration, volumes, repair }, logger);
    return { closure: pathsOfRegistration(registration), copied, repaired, local: false, imported: false, bytes: 0, freshStore };
  }
  const closure = await inputs.supply.closure();
  const probe = storeProbe(inputs, current, freshDb);
  const plan = await planDelivery(engine, { daemon: inputs.daemon, imageId: inputs.imageId, nixPath: inputs.nixPath, closure, volumes, repair, ...probe }, logger);
  const importer = repair.length === 0 && probe.probe?.kind === 'exec' ? probe.probe : undefined;
  if (!importer || plan.missing.length === 0) return { closure, copied: plan.missing, repaired: plan.repaired, local: true, imported: false, bytes: 0, freshStore };
  // A daemon runs (and passed its check): its nix imports them, deleting whatever a build user planted where they go.
  const started = logger.start(`importing ${plan.missing.length} store paths through ${current!.name}`);
  const bytes = await importStorePaths(engine, importer.containerId, importer.nixPath, plan.missing);
  logger.stop(`imported ${plan.missing.length} store paths (${(bytes / 1e6).toFixed(1)} MB)`, started);
  return { closure, copied: plan.missing, repaired: plan.repaired, local: true, imported: true, bytes, freshStore };
}

/**
 * Who can tell which paths the store volume holds: the running daemon (an exec), else a helper running
 * the stopped daemon's nix or the new nix, if the volume has it (else every path is sent). A db volume
 * made just now holds nothing.
 */
function storeProbe(inputs: DaemonInputs, current: ContainerInfo | undefined, freshDb: boolean): { probe?: StoreProbe } {
  if (freshDb) return {};
  const currentNix = current?.labels[LABEL_NIX];
  if (current?.running && currentNix) return { probe: { kind: 'exec', containerId: current.id, nixPath: currentNix } };
  return { probe: { kind: 'helper', nixPath: currentNix ?? inputs.nixPath } };
}
