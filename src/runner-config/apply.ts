import type { Logger } from '../log.js';
import { attachRunners } from './attach.js';
import { detachRunners } from './detach.js';
import type { ManagedSettings } from './managed-settings.js';
import { selectRunners } from './select-runners.js';
import { updateRunnerConfig, type UpdateConfigOptions } from './update-config.js';

type Hooks = Pick<UpdateConfigOptions, 'storeDir' | 'beforeRename' | 'maxAttempts'>;

export interface ApplyRunnerConfigOptions extends Hooks {
  path: string;
  /** Runner names; empty: every runner whose executor is docker. */
  runners: string[];
  managed: ManagedSettings;
  dryRun?: boolean;
  logger?: Logger;
}

export interface ApplyRunnerConfigResult {
  path: string;
  changed: boolean;
  runners: string[];
  diff: string;
}

/** Attaches the runners to the daemon in config.toml; writes only when that changes its meaning. */
export async function applyRunnerConfig(options: ApplyRunnerConfigOptions): Promise<ApplyRunnerConfigResult> {
  let runners: string[] = [];
  const result = await updateRunnerConfig({ ...options, ifMissing: 'error' }, (doc) => {
    runners = selectRunners(doc, options.runners);
    return attachRunners(doc, runners, options.managed);
  });
  if (result.changed && !options.dryRun) options.logger?.info(`attached ${runners.join(', ')} to ${options.managed.daemon} in ${options.path}`);
  return { ...result, runners };
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
