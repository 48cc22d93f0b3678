import { randomUUID } from 'node:crypto';
import { link, readFile, rm, writeFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';

export interface PidLockOptions {
  timeoutMs?: number;
  pollMs?: number;
  /** Told once, when the lock is held by another process (its pid; 0 when unknown). */
  onWait?: (holder: number) => void;
  /** The error to throw when the lock is still held after `timeoutMs`. */
  onTimeout: (holder: number) => Error;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error: unknown) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
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

async function holderOf(path: string): Promise<number> {
  return Number(await readFile(path, 'utf8').catch(() => '0')) || 0;
}

/**
 * Removes a lock whose holder died. Takeovers run one at a time (under `<path>.takeover`) and re-check the
 * holder first: two waiters that saw the same dead holder must not both remove the lock, or the second
 * would remove the one the first has just taken.
 */
async function takeOver(path: string, dead: number): Promise<boolean> {
  const guard = `${path}.takeover`;
  if (!(await tryLock(guard))) {
    const holder = await holderOf(guard);
    // A takeover lasts microseconds; a guard left by a process killed during one is stale.
    if (holder > 0 && !alive(holder)) await rm(guard, { force: true });
    return false;
  }
  try {
    if ((await holderOf(path)) === dead) await rm(path, { force: true });
    return true;
  } finally {
    await rm(guard, { force: true });
  }
}

/**
 * Runs `fn` while holding the lock file `path` (created holding this process's pid, removed afterwards).
 * A lock left by a process that died is taken over.
 */
export async function withPidLock<T>(path: string, { timeoutMs = 120_000, pollMs = 200, onWait, onTimeout }: PidLockOptions, fn: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let waiting = false;
  while (!(await tryLock(path))) {
    const holder = await holderOf(path);
    if (holder > 0 && !alive(holder) && (await takeOver(path, holder))) continue;
    if (Date.now() > deadline) throw onTimeout(holder);
    if (!waiting) onWait?.(holder);
    waiting = true;
    await sleep(pollMs);
  }
  try {
    return await fn();
  } finally {
    await rm(path, { force: true });
  }
}
