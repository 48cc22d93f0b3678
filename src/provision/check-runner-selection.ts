import { UserError } from '../errors.js';
import { MISSING_HINT, readConfigText, resolveConfigTarget } from '../runner-config/config-target.js';
import { parseRunnerConfig } from '../runner-config/document.js';
import { selectRunners } from '../runner-config/select-runners.js';

/** Validates config.toml and the requested runners up front; returns the request unchanged for the final write. */
export async function checkRunnerSelection(path: string, requested: string[]): Promise<string[]> {
  const target = await resolveConfigTarget(path);
  const text = target === undefined ? undefined : await readConfigText(target);
  if (text === undefined) throw new UserError('runnerConfig', `no GitLab Runner config at ${path}`, MISSING_HINT);
  selectRunners(parseRunnerConfig(text, path), requested);
  return requested;
}
