import { spawnSync } from 'node:child_process';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { withPidLock } from '../../../src/lock/pid-lock.js';
import { tempDir } from '../../support/temp-dir.js';

// Lets a test make one read of a lock file slow (its content read first): replays two waiters that both
// saw the same dead holder, the second acting on what it saw only after the first took the lock.
const fsControl = vi.hoisted(() => ({ reads: 0, slowRead: 0, delayMs: 0 }));
vi.mock('node:fs/promises', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:fs/promises')>();
  return {
    ...actual,
    readFile: async (...args: Parameters<typeof actual.readFile>) => {
      const content = await actual.readFile(...args);
      if (++fsControl.reads === fsControl.slowRead) await sleep(fsControl.delayMs);
      return content;
    },
  };
});

function deadPid(): number {
  return Number(spawnSync('/bin/sh', ['-c', 'echo $$'], { encoding: 'utf8' }).stdout.trim());
}

describe('withPidLock', () => {
  let dir: string;
  let removeDir: () => Promise<void>;
  beforeEach(async () => {
    ({ dir: dir, remove: removeDir } = await tempDir('nix-runner-pid-lock-'));
  });
  afterEach(async () => {
    await removeDir();
  });

  const onTimeout = (holder: number) => new Error(`held by ${holder}`);

  // Every waiter sees the same dead holder at once; only one may remove its lock, or a later removal
  // would take away the lock another waiter has just taken.
  it('several waiters taking over one stale lock still hold it one at a time', async () => {
    for (let round = 0; round < 20; round++) {
      const lock = join(dir, `round-${round}.lock`);
      await writeFile(lock, String(deadPid()));
      let inside = 0;
      let most = 0;
      const task = async () => {
        inside++;
        most = Math.max(most, inside);
        await sleep(5);
        inside--;
      };
      await Promise.all(Array.from({ length: 6 }, () => withPidLock(lock, { pollMs: 1, onTimeout }, task)));
      expect(most).toBe(1);
    }
    expect(await readdir(dir)).toEqual([]);
  });

  it('a waiter that saw a dead holder late does not remove the lock another waiter has taken since', async () => {
    const lock = join(dir, 'x.lock');
    await writeFile(lock, String(deadPid()));
    Object.assign(fsControl, { reads: 0, slowRead: 2, delayMs: 50 });
    let inside = 0;
    let most = 0;
    const task = async () => {
      inside++;
      most = Math.max(most, inside);
      await sleep(150);
      inside--;
    };
    try {
      await Promise.all([withPidLock(lock, { pollMs: 5, onTimeout }, task), withPidLock(lock, { pollMs: 5, onTimeout }, task)]);
    } finally {
      fsControl.slowRead = 0;
    }
    expect(most).toBe(1);
  });

  it('a takeover guard left by a process that died does not block', async () => {
    const lock = join(dir, 'x.lock');
    await writeFile(lock, String(deadPid()));
    await writeFile(`${lock}.takeover`, String(deadPid()));
    expect(await withPidLock(lock, { timeoutMs: 2_000, pollMs: 5, onTimeout }, async () => 'ran')).toBe('ran');
  });

  it('tells onWait the holder once, and throws onTimeout’s error', async () => {
    const lock = join(dir, 'x.lock');
    await writeFile(lock, String(process.ppid));
    const waits: number[] = [];
    const error = await withPidLock(lock, { timeoutMs: 100, pollMs: 10, onWait: (holder) => waits.push(holder), onTimeout }, async () => 'ran').catch((e: unknown) => e);
    expect((error as Error).message).toBe(`held by ${process.ppid}`);
    expect(waits).toEqual([process.ppid]);
  });
});
