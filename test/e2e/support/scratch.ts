import { tempDir } from '../../support/temp-dir.js';
import type { EngineClient } from '../../../src/engine/engine-client.js';

/** A unique name per test file run, so test files never share daemons or volumes. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${process.pid}-${Math.random().toString(36).slice(2, 7)}`;
}

export function scratchDir(prefix = 'nix-runner-e2e-'): Promise<{ dir: string; remove: () => Promise<void> }> {
  return tempDir(prefix);
}

/** Removes a daemon's containers (any generation) and volumes. */
export async function removeDaemon(engine: EngineClient, daemon: string): Promise<void> {
  for (const id of await engine.listContainerIds({ label: [`org.nix-runner.daemon=${daemon}`] })) await engine.removeContainer(id);
  for (const name of [daemon, `${daemon}-next`]) {
    const container = await engine.inspectContainer(name);
    if (container) await engine.removeContainer(container.id);
  }
  for (const volume of await engine.listVolumeNames(daemon)) await engine.removeVolume(volume);
}
