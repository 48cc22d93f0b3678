import { UserError } from '../errors.js';
import { detachRunner } from './detach-runner.js';
import { joinScript, renderBlock, splitScript, type CreatedKey, type ManagedRecord } from './managed-block.js';
import type { ManagedSettings } from './managed-settings.js';
import { runnerHost } from './runner-engine.js';
import { missingFrom } from './string-list.js';
import { isStringList, isTable, type Table } from './toml-value.js';

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
  const record: ManagedRecord = { daemon: managed.daemon, volumes_from: addedVolumes, environment: addedEnvironment, created, ...(declared ? { declared } : {}) };
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
