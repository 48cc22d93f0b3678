import type { EngineClient } from '../engine/engine-client.js';
import { LABEL_DAEMON, LABEL_MANAGED, daemonVolumes } from '../names/daemon-names.js';

export type DaemonVolumes = ReturnType<typeof daemonVolumes>;

/**
 * The volumes every generation of the daemon shares (store, db, roots), made if missing. `freshDb`: the
 * db volume was made just now, so the store holds nothing valid; `freshStore`: the store volume was,
 * so it holds nothing at all (no build ever ran on it). The generation's own socket volume is made with
 * its container (start-generation.ts).
 */
export async function ensureDaemonVolumes(engine: EngineClient, daemon: string, generation: string): Promise<{ volumes: DaemonVolumes; freshDb: boolean; freshStore: boolean }> {
  const volumes = daemonVolumes(daemon, generation);
  const labels = { [LABEL_MANAGED]: 'true', [LABEL_DAEMON]: daemon };
  const freshStore = await engine.ensureVolume(volumes.store, labels);
  const freshDb = await engine.ensureVolume(volumes.db, labels);
  await engine.ensureVolume(volumes.roots, labels);
  return { volumes, freshDb, freshStore };
}
