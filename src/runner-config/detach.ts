import type { RunnerConfigDocument } from './toml/document.js';
import { describeRunner, runnerTables, withoutRunners } from './toml/document.js';
import { cloneValue, type Table, removeEach, isStringList, isTable, sameMeaning } from './toml/toml-values.js';
import { localFirst, pullPolicies } from './pull-policy.js';
import { UserError } from '../errors.js';
import { findBlocks, joinScript, splitScript, type ManagedRecord } from './managed-block.js';

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

export interface Detached {
  /** Line where the first removed block started. */
  start: number;
  /** A removed block says nix-runner wrote the whole entry (a declared runner): the caller removes it. */
  declared: boolean;
}

/**
 * Removes, in place, the managed blocks of `daemon` (all when undefined) from one runner, with the
 * entries each block records. Undefined when there was none.
 */
export function detachRunner(runner: Table, where: string, daemon?: string): Detached | undefined {
  const script = runner.pre_build_script;
  if (script === undefined) return undefined;
  if (typeof script !== 'string') throw new UserError('runnerConfig', `${where}: pre_build_script is not a string`);
  const lines = splitScript(script);
  const blocks = findBlocks(lines, where).filter((block) => daemon === undefined || block.record.daemon === daemon);
  for (const block of [...blocks].reverse()) {
    lines.splice(block.start, block.end - block.start + 1);
    removeRecorded(runner, block.record);
  }
  const first = blocks[0];
  if (first === undefined) return undefined;
  const created = blocks.some((block) => block.record.created.includes('pre_build_script'));
  if (created && lines.length === 1 && lines[0] === '') delete runner.pre_build_script;
  else runner.pre_build_script = joinScript(lines);
  return { start: first.start, declared: blocks.some((block) => block.record.declared !== undefined) };
}

function removeRecorded(runner: Table, record: ManagedRecord): void {
  if (isStringList(runner.environment)) {
    const environment = removeEach(runner.environment, record.environment);
    runner.environment = environment;
    if (record.created.includes('environment') && environment.length === 0) delete runner.environment;
  }
  const docker = runner.docker;
  if (!isTable(docker)) return;
  if (isStringList(docker.volumes_from)) {
    const volumesFrom = removeEach(docker.volumes_from, record.volumes_from);
    docker.volumes_from = volumesFrom;
    if (record.created.includes('volumes_from') && volumesFrom.length === 0) delete docker.volumes_from;
  }
  if (record.created.includes('host')) delete docker.host;
  if (record.created.includes('pull_policy')) delete docker.pull_policy;
  // taken back only while it is what nix-runner made of it: an edit by hand since is the operator's
  if (record.pull_policy_was !== undefined && sameMeaning(docker.pull_policy, localFirst(pullPolicies(record.pull_policy_was) ?? []))) docker.pull_policy = record.pull_policy_was;
  if (record.created.includes('docker') && Object.keys(docker).length === 0) delete runner.docker;
}
