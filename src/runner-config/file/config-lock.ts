import { basename, dirname, join } from 'node:path';
import { UserError } from '../../errors.js';
import { withPidLock } from '../../lock/pid-lock.js';
import type { Logger } from '../../log.js';
import { writeError } from './write-error.js';

/**
 * The lock of one config.toml, in its own directory: every writer can create it there (it renames into
 * that directory anyway), whatever its /tmp or /run, and every path to the same file finds the same lock.
 */
export function configLockPath(target: string): string {
  return join(dirname(target), `.${basename(target)}.nix-runner.lock`);
}

export interface ConfigLockOptions {
  timeoutMs?: number;
  /** Shown in messages: the path the user gave. */
  path?: string;
}

/**
 * Runs `fn` while no other nix-runner writes the config.toml at `target` (its real path): two provisions of
 * different daemons read, merge and replace the same file, and without this one of the two updates is lost.
 */
export async function withConfigLock<T>(target: string, logger: Logger, fn: () => Promise<T>, { timeoutMs = 120_000, path = target }: ConfigLockOptions = {}): Promise<T> {
  const lock = configLockPath(target);
  let locked = false;
  try {
    return await withPidLock(
      lock,
      {
        timeoutMs,
        // Held for a read, a merge and a rename: poll often.
        pollMs: 20,
        onWait: (holder) => logger.debug(`waiting for another nix-runner (pid ${holder}) writing ${path}`),
        onTimeout: (holder) => new UserError('runnerConfig', `another nix-runner (pid ${holder}) is writing ${path}`, `wait for it, or remove ${lock} if no such process runs`),
      },
      () => {
        locked = true;
        return fn();
      },
    );
  } catch (error: unknown) {
    // Taking the lock writes beside config.toml: a read-only or full directory says so as a write of the file would.
    throw locked ? error : writeError(error, target);
  }
}
