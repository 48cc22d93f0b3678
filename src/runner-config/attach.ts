import { UserError } from '../errors.js';
import { detachRunner } from './detach.js';
import type { RunnerConfigDocument } from './toml/document.js';
import type { ManagedSettings } from './managed-settings.js';
import { describeRunner, runnerName, runnerTables, withoutRunners } from './toml/document.js';
import { cloneValue, type Table, missingFrom, isStringList, isTable } from './toml/toml-values.js';
import { joinScript, renderBlock, splitScript, type CreatedKey, type ManagedRecord } from './managed-block.js';
import { localFirst, pullPolicies, usesLocalFirst } from './pull-policy.js';
import { runnerHost } from './runner-engine.js';

/**
 * Attaches the named runners to the daemon. A runner that is not named but still carries a block of
 * the same daemon is detached: the provisioner no longer lists it (and removed when nix-runner wrote it).
 * `declared` marks the runners whose whole entry nix-runner wrote, with their token hash.
 */
export function attachRunners(
  doc: RunnerConfigDocument,
  runners: string[],
  managed: ManagedSettings,
  declared: ReadonlyMap<string, NonNullable<ManagedRecord['declared']>> = new Map(),
): RunnerConfigDocument {
  const table = cloneValue(doc.table);
  const all = runnerTables(table);
  const present = new Set(all.map(runnerName));
  const missing = runners.find((name) => !present.has(name));
  if (missing !== undefined) throw new UserError('usage', `no runner named "${missing}" in ${doc.path}`);
  const wanted = new Set(runners);
  const gone = new Set<Table>();
  for (const runner of all) {
    const where = describeRunner(runner, doc.path);
    const name = runnerName(runner);
    if (name !== undefined && wanted.has(name)) attachRunner(runner, where, managed, declared.get(name));
    else if (detachRunner(runner, where, managed.daemon)?.declared) gone.add(runner);
  }
  return { path: doc.path, table: withoutRunners(table, gone) };
}

/**
 * Attaches one runner in place; a previous managed block (of any daemon) is replaced where it was.
 * `declared`: nix-runner wrote the whole entry, and its block records so.
 */
export function attachRunner(runner: Table, where: string, managed: ManagedSettings, declared?: ManagedRecord['declared']): void {
  const position = detachRunner(runner, where)?.start ?? 0;
  const created: CreatedKey[] = [];

  if (runner.docker === undefined) {
    runner.docker = {};
    created.push('docker');
  }
  const docker = runner.docker;
  if (!isTable(docker)) throw new UserError('runnerConfig', `${where}: [runners.docker] is not a table`);

  const host = managed.engineHost === undefined ? undefined : runnerHost(where, docker.host, managed.engineHost);
  if (host !== undefined) {
    docker.host = host;
    created.push('host');
  }

  // a job image of the shared store is in no registry: the engine's copy must be taken before any pull
  let pullPolicyWas: ManagedRecord['pull_policy_was'];
  if (typeof docker.image === 'string' && managed.jobImageTags?.includes(docker.image)) {
    const policies = pullPolicies(docker.pull_policy);
    if (policies === undefined) throw new UserError('runnerConfig', `${where}: [runners.docker] pull_policy is not a string or a list of strings`);
    if (docker.pull_policy === undefined) created.push('pull_policy');
    else if (!usesLocalFirst(policies)) pullPolicyWas = docker.pull_policy as string | string[];
    if (!usesLocalFirst(policies)) docker.pull_policy = localFirst(policies);
  }

  const volumesFrom = ownList(docker, 'volumes_from', `${where}: [runners.docker] volumes_from`, created);
  const addedVolumes = missingFrom(volumesFrom, managed.volumesFrom);
  docker.volumes_from = [...volumesFrom, ...addedVolumes];

  const environment = ownList(runner, 'environment', `${where}: environment`, created);
  const addedEnvironment = missingFrom(environment, managed.environment);
  runner.environment = [...environment, ...addedEnvironment];

  if (runner.pre_build_script === undefined) {
    runner.pre_build_script = '';
    created.push('pre_build_script');
  }
  if (typeof runner.pre_build_script !== 'string') throw new UserError('runnerConfig', `${where}: pre_build_script is not a string`);
  const record: ManagedRecord = {
    daemon: managed.daemon,
    volumes_from: addedVolumes,
    environment: addedEnvironment,
    created,
    ...(pullPolicyWas !== undefined ? { pull_policy_was: pullPolicyWas } : {}),
    ...(declared ? { declared } : {}),
  };
  const lines = splitScript(runner.pre_build_script);
  lines.splice(position, 0, ...renderBlock(record, managed.preBuildScript));
  runner.pre_build_script = joinScript(lines);
}

function ownList(table: Table, key: 'volumes_from' | 'environment', what: string, created: CreatedKey[]): string[] {
  const value = table[key];
  if (value === undefined) {
    created.push(key);
    return [];
  }
  if (!isStringList(value)) throw new UserError('runnerConfig', `${what} is not a list of strings`);
  return value;
}
