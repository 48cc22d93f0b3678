import { UserError, errorMessage } from '../errors.js';
import { readConfigText } from '../runner-config/file/config-target.js';
import { parseRunnerConfig, runnerName, runnerTables } from '../runner-config/toml/document.js';
import { isStringList, isTable } from '../runner-config/toml/toml-values.js';

/** A runner of config.toml as far as nix-runner is concerned: which daemons it mounts, which nix its jobs run. */
export interface AttachedRunner {
  name: string;
  /** Containers in its volumes_from (without `:ro`). */
  volumesFrom: string[];
  /** The nix store path its jobs put on PATH (NIX_RUNNER_BIN without /bin), if nix-runner attached it. */
  nix?: string;
}

/** The runners of config.toml; undefined when there is no such file. */
export async function readAttachedRunners(path: string): Promise<AttachedRunner[] | undefined> {
  // As provision reads it: a fifo is not waited on, a directory or device is refused in one line.
  let text: string | undefined;
  try {
    text = await readConfigText(path);
  } catch (error: unknown) {
    if (error instanceof UserError) throw error;
    throw new UserError('runnerConfig', `cannot read ${path}: ${errorMessage(error)}`, 'run as the user that owns it (root), or pass --runner-config');
  }
  if (text === undefined) return undefined;
  return runnerTables(parseRunnerConfig(text, path).table).map((runner) => {
    const docker = isTable(runner.docker) ? runner.docker : {};
    const environment = isStringList(runner.environment) ? runner.environment : [];
    const bin = environment.find((entry) => entry.startsWith('NIX_RUNNER_BIN='))?.slice('NIX_RUNNER_BIN='.length);
    return {
      name: runnerName(runner) ?? '',
      volumesFrom: (isStringList(docker.volumes_from) ? docker.volumes_from : []).map((entry) => entry.replace(/:(ro|rw)$/, '')),
      ...(bin ? { nix: bin.replace(/\/bin$/, '') } : {}),
    };
  });
}
