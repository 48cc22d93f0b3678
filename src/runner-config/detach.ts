import { detachRunner } from './detach-runner.js';
import type { RunnerConfigDocument } from './document.js';
import { describeRunner, runnerTables, withoutRunners } from './runners.js';
import { cloneValue, type Table } from './toml-value.js';

/**
 * Removes every managed entry of `daemon` (of every daemon when undefined) from every runner; a runner
 * whose whole entry nix-runner wrote (a declared runner) is removed.
 */
export function detachRunners(doc: RunnerConfigDocument, daemon?: string): RunnerConfigDocument {
  const table = cloneValue(doc.table);
  const gone = new Set<Table>();
  for (const runner of runnerTables(table)) {
    if (detachRunner(runner, describeRunner(runner, doc.path), daemon)?.declared) gone.add(runner);
  }
  return { path: doc.path, table: withoutRunners(table, gone) };
}
