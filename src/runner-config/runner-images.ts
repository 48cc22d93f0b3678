import { readConfigText } from './file/config-target.js';
import { parseRunnerConfig, runnerName, runnerTables } from './toml/document.js';
import { isTable } from './toml/toml-values.js';

/** The default image (`[runners.docker] image`) of each named runner, config.toml read and parsed once. */
export async function runnerImages(path: string, names: string[]): Promise<{ runner: string; image?: string }[]> {
  const text = await readConfigText(path);
  if (text === undefined) return [];
  const wanted = new Set(names);
  return runnerTables(parseRunnerConfig(text, path).table).flatMap((runner) => {
    const name = runnerName(runner);
    if (name === undefined || !wanted.has(name)) return [];
    const image = isTable(runner.docker) && typeof runner.docker.image === 'string' ? runner.docker.image : undefined;
    return [{ runner: name, ...(image ? { image } : {}) }];
  });
}
