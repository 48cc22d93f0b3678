import { randomUUID } from 'node:crypto';
import { link, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { UserError } from '../errors.js';
import type { Logger } from '../log.js';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error: unknown) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

// /run rather than /tmp for root: a systemd unit's PrivateTmp would hide a /tmp lock from runs by hand.
function defaultLockDir(): string {
  return process.getuid?.() === 0 ? '/run' : tmpdir();
}

async function tryLock(path: string): Promise<boolean> {
  // Written aside, then linked into place: the lock never exists without its holder's pid.
  const mine = `${path}.${process.pid}.${randomUUID()}`;
  await writeFile(mine, String(process.pid));
  try {
    await link(mine, path);
    return true;
  } catch (error: unknown) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    await rm(mine, { force: true });
  }
}

/**
 * One provision per daemon at a time: a run by hand and the one systemd starts would otherwise
 * start candidates under the same name. A lock left by a process that died is taken over.
 */
export async function withProvisionLock<T>(daemon: string, logger: Logger, fn: () => Promise<T>, { dir = defaultLockDir(), timeoutMs = 120_000 } = {}): Promise<T> {
  const path = join(dir, `nix-runner-${daemon}.lock`);
  const deadline = Date.now() + timeoutMs;
  let waiting = false;
  while (!(await tryLock(path))) {
    const holder = Number(await readFile(path, 'utf8').catch(() => '0'));
    if (holder > 0 && !alive(holder)) {
      await rm(path, { force: true });
      continue;
    }
    if (Date.now() > deadline) {
      throw new UserError('daemon', `another nix-runner (pid ${holder}) is provisioning ${daemon}`, `wait for it, or remove ${path} if no such process runs`);
    }
    if (!waiting) logger.info(`waiting for another nix-runner (pid ${holder}) provisioning ${daemon}`);
    waiting = true;
    await sleep(200);
  }
  try {
    return await fn();
  } finally {
    await rm(path, { force: true });
  }
}
