import { UserError } from '../errors.js';
import { attachRunner } from './attach-runner.js';
import { detachRunner } from './detach-runner.js';
import type { RunnerConfigDocument } from './document.js';
import type { ManagedRecord } from './managed-block.js';
import type { ManagedSettings } from './managed-settings.js';
import { describeRunner, runnerName, runnerTables, withoutRunners } from './runners.js';
import { cloneValue, type Table } from './toml-value.js';

/**
 * Attaches the named runners to the daemon. A runner that is not named but still carries a block of
 * the same daemon is detached: the provisioner no longer lists it (and removed when nix-runner wrote it).
 * `declared` marks the runners whose whole entry nix-runner wrote, with their token hash.
 */
export function attachRunners(
  doc: RunnerConfigDocument,
  runners: string[],
  managed: ManagedSettings,
  declared: ReadonlyMap<string, NonNullable<ManagedRecord['declared']>> = new Map(),
): RunnerConfigDocument {
  const table = cloneValue(doc.table);
  const all = runnerTables(table);
  const present = new Set(all.map(runnerName));
  const missing = runners.find((name) => !present.has(name));
  if (missing !== undefined) throw new UserError('usage', `no runner named "${missing}" in ${doc.path}`);
  const wanted = new Set(runners);
  const gone = new Set<Table>();
  for (const runner of all) {
    const where = describeRunner(runner, doc.path);
    const name = runnerName(runner);
    if (name !== undefined && wanted.has(name)) attachRunner(runner, where, managed, declared.get(name));
    else if (detachRunner(runner, where, managed.daemon)?.declared) gone.add(runner);
  }
  return { path: doc.path, table: withoutRunners(table, gone) };
}
