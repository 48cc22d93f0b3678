import { UserError } from '../errors.js';
import { attachRunner } from './attach-runner.js';
import { detachRunner } from './detach-runner.js';
import type { RunnerConfigDocument } from './document.js';
import type { ManagedSettings } from './managed-settings.js';
import { describeRunner, runnerName, runnerTables } from './runners.js';
import { cloneValue } from './toml-value.js';

/**
 * Attaches the named runners to the daemon. A runner that is not named but still carries a block of
 * the same daemon is detached: the provisioner no longer lists it.
 */
export function attachRunners(doc: RunnerConfigDocument, runners: string[], managed: ManagedSettings): RunnerConfigDocument {
  const table = cloneValue(doc.table);
  const all = runnerTables(table);
  const missing = runners.filter((name) => !all.some((runner) => runnerName(runner) === name));
  if (missing.length > 0) throw new UserError('usage', `no runner named "${missing[0]}" in ${doc.path}`);
  for (const runner of all) {
    const where = describeRunner(runner, doc.path);
    const name = runnerName(runner);
    if (name !== undefined && runners.includes(name)) attachRunner(runner, where, managed);
    else detachRunner(runner, where, managed.daemon);
  }
  return { path: doc.path, table };
}
