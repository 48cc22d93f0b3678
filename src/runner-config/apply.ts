import type { Logger } from '../log.js';
import { attachRunners } from './attach.js';
import { isTable } from './toml/toml-values.js';
import { declaredForOthers, declaredRecord, declareRunners } from './write-declared-runners.js';
import type { DeclaredRunner } from './read-declarations.js';
import { detachRunners } from './detach.js';
import type { RunnerConfigDocument } from './toml/document.js';
import type { ManagedRecord } from './managed-block.js';
import type { ManagedSettings } from './managed-settings.js';
import { describeRunner, runnerName, runnerTables } from './toml/document.js';
import { selectRunners } from './select-runners.js';
import { updateRunnerConfig, type UpdateConfigOptions } from './file/read-modify-write.js';

type Hooks = Pick<UpdateConfigOptions, 'storeDir' | 'beforeRename' | 'maxAttempts' | 'lockTimeoutMs' | 'diff'>;

export interface ApplyRunnerConfigOptions extends Hooks {
  path: string;
  /** Runner names; empty: every runner whose executor is docker. */
  runners: string[];
  managed: ManagedSettings;
  /** Runners nix-runner writes itself; the ones it wrote earlier and that are not here are removed. */
  declared?: DeclaredRunner[];
  /** When a new token is obtained: its token_obtained_at. */
  now?: () => Date;
  dryRun?: boolean;
  logger?: Logger;
}

export interface ApplyRunnerConfigResult {
  path: string;
  changed: boolean;
  runners: string[];
  diff: string;
}

/**
 * Writes the declared runners, then attaches the runners (the requested ones and the declared ones) to
 * the daemon in config.toml; writes only when that changes its meaning.
 */
export async function applyRunnerConfig(options: ApplyRunnerConfigOptions): Promise<ApplyRunnerConfigResult> {
  const { declared, now = () => new Date() } = options;
  let runners: string[] = [];
  const result = await updateRunnerConfig({ ...options, ifMissing: declared?.length ? 'create' : 'error' }, (doc) => {
    // No declarations given (e.g. a run by hand without --config): the runners declared earlier stay as they are.
    const withDeclared = declared ? declareRunners(doc, declared, now(), options.managed.daemon) : doc;
    const records = declared ? new Map(declared.map((runner) => [runner.name, { token: runner.tokenHash }])) : declaredRecords(withDeclared);
    const names = [...records.keys()];
    if (options.runners.length > 0) runners = selectRunners(withDeclared, [...new Set([...options.runners, ...names])]);
    else {
      // every docker runner, but not those declared for another daemon sharing this config.toml
      const others = declaredForOthers(withDeclared, options.managed.daemon);
      // runners managed through declarations (the NixOS module) may all be gone: then there is nothing to attach
      const docker = declared && !hasDockerRunner(withDeclared) ? [] : selectRunners(withDeclared, []);
      runners = docker.filter((name) => !others.has(name));
    }
    return attachRunners(withDeclared, runners, options.managed, records);
  });
  if (result.changed && !options.dryRun) options.logger?.info(`attached ${listNames(runners)} to ${options.managed.daemon} in ${options.path}`);
  return { ...result, runners };
}

function hasDockerRunner(doc: RunnerConfigDocument): boolean {
  return (Array.isArray(doc.table.runners) ? doc.table.runners : []).some((entry: unknown) => isTable(entry) && entry.executor === 'docker');
}

// A log line stays readable with thousands of runners.
const LISTED = 20;

function listNames(names: string[]): string {
  return names.length > LISTED ? `${names.slice(0, LISTED).join(', ')} and ${names.length - LISTED} more runners` : names.join(', ');
}

/** The runners nix-runner wrote from declarations on an earlier run, with their records. */
function declaredRecords(doc: RunnerConfigDocument): Map<string, NonNullable<ManagedRecord['declared']>> {
  const records = new Map<string, NonNullable<ManagedRecord['declared']>>();
  for (const runner of runnerTables(doc.table)) {
    const name = runnerName(runner);
    const record = declaredRecord(runner, describeRunner(runner, doc.path));
    if (name !== undefined && record) records.set(name, record);
  }
  return records;
}

export interface RemoveFromRunnerConfigOptions extends Hooks {
  path: string;
  /** Only this daemon's entries; undefined: every nix-runner entry. */
  daemon?: string;
  dryRun?: boolean;
  logger?: Logger;
}

/** Removes nix-runner's entries from config.toml; a missing file has nothing to remove. */
export async function removeFromRunnerConfig(options: RemoveFromRunnerConfigOptions): Promise<{ path: string; changed: boolean; diff: string }> {
  const result = await updateRunnerConfig({ ...options, ifMissing: 'skip' }, (doc) => detachRunners(doc, options.daemon));
  if (result.changed && !options.dryRun) options.logger?.info(`removed nix-runner entries from ${options.path}`);
  return result;
}
