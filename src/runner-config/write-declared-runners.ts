import { TomlDate } from 'smol-toml';
import { UserError } from '../errors.js';
import type { DeclaredRunner } from './read-declarations.js';
import type { RunnerConfigDocument } from './toml/document.js';
import { findBlocks, splitScript, type ManagedRecord } from './managed-block.js';
import { describeRunner, runnerName } from './toml/document.js';
import { cloneValue, isTable, type Table } from './toml/toml-values.js';

// What GitLab Runner itself writes for a token that does not expire.
const NEVER = '0001-01-01T00:00:00Z';

/** The `declared` record of a runner whose whole entry nix-runner wrote; undefined for any other runner. */
export function declaredRecord(runner: Table, where: string): ManagedRecord['declared'] {
  return declaringRecord(runner, where)?.declared;
}

/** Names of the runners nix-runner wrote for another daemon than `daemon`: theirs, never attached to this one. */
export function declaredForOthers(doc: RunnerConfigDocument, daemon: string): Set<string> {
  const names = new Set<string>();
  for (const entry of (Array.isArray(doc.table.runners) ? doc.table.runners : []) as unknown[]) {
    if (!isTable(entry)) continue;
    const owner = declaringRecord(entry, describeRunner(entry, doc.path))?.daemon;
    const name = runnerName(entry);
    if (owner !== undefined && owner !== daemon && name !== undefined) names.add(name);
  }
  return names;
}

/** The managed record (its daemon included) of a runner whose whole entry nix-runner wrote. */
function declaringRecord(runner: Table, where: string): ManagedRecord | undefined {
  if (typeof runner.pre_build_script !== 'string') return undefined;
  return findBlocks(splitScript(runner.pre_build_script), where).find((block) => block.record.declared)?.record;
}

/**
 * Writes the declared runners of `daemon` as complete [[runners]] entries (in place of their earlier
 * ones, new ones last) and removes the entries nix-runner wrote earlier for `daemon` that are no longer
 * declared. A runner it did not write, or wrote for another daemon (several daemons share a config.toml),
 * is never changed or removed here: a declared runner of the same name is an error.
 */
export function declareRunners(doc: RunnerConfigDocument, declared: DeclaredRunner[], now: Date, daemon: string): RunnerConfigDocument {
  if (doc.table.runners !== undefined && !Array.isArray(doc.table.runners)) throw new UserError('runnerConfig', `${doc.path}: runners is not an array of tables`, 'fix the file by hand');
  const existing = (doc.table.runners ?? []) as unknown[];
  // The common case, nothing declared now or before: the document as it is, not even copied.
  if (declared.length === 0 && !existing.some((entry) => isTable(entry) && declaringRecord(entry, describeRunner(entry, doc.path))?.daemon === daemon)) return doc;
  const table = cloneValue(doc.table);
  const entries = (table.runners ?? []) as unknown[];
  if (Object.keys(table).length === 0) Object.assign(table, { concurrent: 1n, check_interval: 0n });

  const wanted = new Map(declared.map((runner) => [runner.name, runner]));
  const written = new Set<string>();
  const runners: unknown[] = [];
  for (const entry of entries) {
    if (!isTable(entry)) {
      runners.push(entry);
      continue;
    }
    const where = describeRunner(entry, doc.path);
    const name = runnerName(entry);
    const owner = declaringRecord(entry, where);
    const record = owner?.declared;
    const runner = name === undefined ? undefined : wanted.get(name);
    if (owner !== undefined && owner.daemon !== daemon) {
      if (runner) {
        throw new UserError('config', `declared runner "${runner.name}" is already declared in ${doc.path} for daemon ${owner.daemon}`, 'declare each runner for one daemon only');
      }
      runners.push(entry);
    } else if (record === undefined) {
      if (runner) {
        throw new UserError(
          'config',
          `declared runner "${runner.name}" would replace a runner in ${doc.path} that nix-runner did not write`,
          `rename the declared runner, or unregister the other one first (gitlab-runner unregister --name "${runner.name}")`,
        );
      }
      runners.push(entry);
    } else if (runner && !written.has(runner.name)) {
      runners.push(runnerEntry(runner, entry, record, now));
      written.add(runner.name);
    }
  }
  for (const runner of declared) if (!written.has(runner.name)) runners.push(runnerEntry(runner, undefined, undefined, now));
  table.runners = runners;
  return { path: doc.path, table };
}

/**
 * The complete entry of a declared runner. Its token dates stay as they were while the token does; a
 * token that GitLab Runner rotated (the token file unchanged since nix-runner wrote it) is kept.
 */
function runnerEntry(runner: DeclaredRunner, previous: Table | undefined, record: ManagedRecord['declared'], now: Date): Table {
  let credentials: Table = { token: runner.token, token_obtained_at: new TomlDate(now.toISOString().replace(/\.\d+Z$/, 'Z')), token_expires_at: new TomlDate(NEVER) };
  if (previous && typeof previous.token === 'string' && previous.token !== '') {
    const rotated = record?.token === runner.tokenHash && previous.token !== runner.token;
    if (previous.token === runner.token || rotated) {
      credentials = {
        token: previous.token,
        token_obtained_at: previous.token_obtained_at ?? credentials.token_obtained_at,
        token_expires_at: previous.token_expires_at ?? credentials.token_expires_at,
      };
    }
  }
  const docker: Table = { ...(runner.image !== undefined ? { image: runner.image } : {}), ...cloneValue(runner.docker) };
  return {
    name: runner.name,
    url: runner.url,
    ...(typeof previous?.id === 'bigint' ? { id: previous.id } : {}),
    ...credentials,
    executor: 'docker',
    ...(runner.limit !== undefined ? { limit: runner.limit } : {}),
    ...(runner.requestConcurrency !== undefined ? { request_concurrency: runner.requestConcurrency } : {}),
    ...(Object.keys(docker).length > 0 ? { docker } : {}),
  };
}
