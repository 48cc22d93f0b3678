import { UserError, errorMessage } from '../errors.js';
import { readConfigText } from '../runner-config/file/config-target.js';
import { parseRunnerConfig, runnerName, runnerTables } from '../runner-config/toml/document.js';
import { BLOCK_START } from '../runner-config/managed-block.js';
import { isStringList, isTable } from '../runner-config/toml/toml-values.js';

/** What GitLab Runner's docker executor takes from one [[runners]] entry to build a job container. */
export interface RunnerJobConfig {
  name: string;
  image?: string;
  environment: string[];
  volumesFrom: string[];
  preBuildScript: string;
}

/** A runner of config.toml: the named one, else the first that nix-runner attached. */
export async function readRunnerJobConfig(path: string, name?: string): Promise<RunnerJobConfig> {
  // As provision reads it: a fifo is not waited on, a directory or device is refused in one line.
  let text: string | undefined;
  try {
    text = await readConfigText(path);
  } catch (error: unknown) {
    if (error instanceof UserError) throw error;
    throw new UserError('runnerConfig', `cannot read ${path}: ${errorMessage(error)}`, 'run `nix-runner provision` first, or pass --runner-config');
  }
  if (text === undefined) throw new UserError('runnerConfig', `cannot read ${path}: ENOENT`, 'run `nix-runner provision` first, or pass --runner-config');
  const runners = runnerTables(parseRunnerConfig(text, path).table);
  const runner = name
    ? runners.find((r) => runnerName(r) === name)
    : runners.find((r) => typeof r.pre_build_script === 'string' && r.pre_build_script.includes(BLOCK_START));
  if (!runner) {
    const names = runners.map(runnerName).filter(Boolean).join(', ') || 'none';
    throw new UserError(
      'usage',
      name ? `no runner named "${name}" in ${path}` : `no runner in ${path} is attached to a nix daemon`,
      name ? `runners there: ${names}` : 'run `nix-runner provision` first',
    );
  }
  const docker = isTable(runner.docker) ? runner.docker : {};
  return {
    name: runnerName(runner) ?? '',
    ...(typeof docker.image === 'string' ? { image: docker.image } : {}),
    environment: isStringList(runner.environment) ? runner.environment : [],
    volumesFrom: isStringList(docker.volumes_from) ? docker.volumes_from : [],
    preBuildScript: typeof runner.pre_build_script === 'string' ? runner.pre_build_script : '',
  };
}
