import { isTable, type Table } from './toml-value.js';

/** The `[[runners]]` entries of a config.toml table (the live objects, not copies). */
export function runnerTables(table: Table): Table[] {
  return Array.isArray(table.runners) ? table.runners.filter(isTable) : [];
}

export function runnerName(runner: Table): string | undefined {
  return typeof runner.name === 'string' ? runner.name : undefined;
}

export function describeRunner(runner: Table, path: string): string {
  return `runner "${runnerName(runner) ?? '(no name)'}" in ${path}`;
}

/** The table without the given [[runners]] entries (in place; the same table when there are none). */
export function withoutRunners(table: Table, gone: ReadonlySet<Table>): Table {
  if (gone.size > 0 && Array.isArray(table.runners)) table.runners = table.runners.filter((runner: unknown) => !gone.has(runner as Table));
  return table;
}
