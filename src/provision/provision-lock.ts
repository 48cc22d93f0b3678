import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UserError } from '../errors.js';
import { withPidLock } from '../lock/pid-lock.js';
import type { Logger } from '../log.js';

// /run rather than /tmp for root: a systemd unit's PrivateTmp would hide a /tmp lock from runs by hand.
function defaultLockDir(): string {
  return process.getuid?.() === 0 ? '/run' : tmpdir();
}

/**
 * One provision per daemon at a time: a run by hand and the one systemd starts would otherwise
 * start candidates under the same name. A lock left by a process that died is taken over.
 */
export async function withProvisionLock<T>(daemon: string, logger: Logger, fn: () => Promise<T>, { dir = defaultLockDir(), timeoutMs = 120_000 } = {}): Promise<T> {
  const path = join(dir, `nix-runner-${daemon}.lock`);
  return withPidLock(
    path,
    {
      timeoutMs,
      onWait: (holder) => logger.info(`waiting for another nix-runner (pid ${holder}) provisioning ${daemon}`),
      onTimeout: (holder) => new UserError('daemon', `another nix-runner (pid ${holder}) is provisioning ${daemon}`, `wait for it, or remove ${path} if no such process runs`),
    },
    fn,
  );
}
