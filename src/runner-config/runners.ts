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
