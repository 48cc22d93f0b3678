import { parse, stringify, TomlError } from 'smol-toml';
import { UserError } from '../../errors.js';
import { redactSecrets } from '../file/redact-secrets.js';
import { isTable, type Table } from './toml-values.js';

/** A parsed config.toml and the path it came from (for messages). */
export interface RunnerConfigDocument {
  readonly path: string;
  readonly table: Table;
}

const PARSE_HINT = 'fix the file by hand; GitLab Runner keeps its previous configuration while this one does not parse';

// Integers as bigint and numbers written as floats: without both, `1.0` would come back as the integer `1`.
export function parseRunnerConfig(text: string, path: string): RunnerConfigDocument {
  try {
    return { path, table: parse(text, { integersAsBigInt: true, useLegacyDate: true }) };
  } catch (error: unknown) {
    if (!(error instanceof TomlError)) throw error;
    const what = (error.message.split('\n')[0] ?? '').replace(/^Invalid TOML document: /, '');
    const quoted = quoteLine(text, error.line);
    // Not kept as the cause: smol-toml's message quotes the file's lines as they are, secrets included.
    throw new UserError('runnerConfig', `${path}:${error.line}:${error.column}: ${what}${quoted ? `: ${quoted}` : ''}`, PARSE_HINT);
  }
}

const QUOTE_MAX = 100;

/** Line `line` (1-based) as an error message may show it: secrets redacted (a multi-line one too), one line, cut short. */
function quoteLine(text: string, line: number): string {
  // Redacted as a whole: the line may lie inside a multi-line secret value.
  const shown = (redactSecrets(text).split('\n')[line - 1] ?? '').trim();
  return shown.length > QUOTE_MAX ? `${shown.slice(0, QUOTE_MAX)}…` : shown;
}

export function serializeRunnerConfig(doc: RunnerConfigDocument): string {
  return stringify(doc.table, { numbersAsFloat: true });
}

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
