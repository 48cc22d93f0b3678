import { readConfigText } from './file/config-target.js';
import { parseRunnerConfig, runnerName, runnerTables } from './toml/document.js';
import { isTable } from './toml/toml-values.js';

export interface RunnerImage {
  runner: string;
  /** `[runners.docker] image`: the default job image. */
  image?: string;
  /** `[runners.docker] pull_policy` and `allowed_pull_policies`, as written (see pull-policy.ts). */
  pullPolicy?: unknown;
  allowedPullPolicies?: unknown;
}

/** The default image of each named runner and how it gets it, config.toml read and parsed once. */
export async function runnerImages(path: string, names: string[]): Promise<RunnerImage[]> {
  const text = await readConfigText(path);
  if (text === undefined) return [];
  const wanted = new Set(names);
  return runnerTables(parseRunnerConfig(text, path).table).flatMap((runner) => {
    const name = runnerName(runner);
    if (name === undefined || !wanted.has(name)) return [];
    const docker = isTable(runner.docker) ? runner.docker : {};
    const image = typeof docker.image === 'string' ? docker.image : undefined;
    return [{ runner: name, ...(image ? { image } : {}), pullPolicy: docker.pull_policy, allowedPullPolicies: docker.allowed_pull_policies }];
  });
}
