import { detachRunner } from './detach-runner.js';
import type { RunnerConfigDocument } from './document.js';
import { describeRunner, runnerTables } from './runners.js';
import { cloneValue } from './toml-value.js';

/** Removes every managed entry of `daemon` (of every daemon when undefined) from every runner. */
export function detachRunners(doc: RunnerConfigDocument, daemon?: string): RunnerConfigDocument {
  const table = cloneValue(doc.table);
  for (const runner of runnerTables(table)) detachRunner(runner, describeRunner(runner, doc.path), daemon);
  return { path: doc.path, table };
}
