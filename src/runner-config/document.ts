import { parse, stringify, TomlError } from 'smol-toml';
import { UserError } from '../errors.js';
import type { Table } from './toml-value.js';

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
    throw new UserError('runnerConfig', `${path}:${error.line}:${error.column}: ${what}`, PARSE_HINT, { cause: error });
  }
}

export function serializeRunnerConfig(doc: RunnerConfigDocument): string {
  return stringify(doc.table, { numbersAsFloat: true });
}
