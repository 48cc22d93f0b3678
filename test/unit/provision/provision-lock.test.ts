import { spawnSync } from 'node:child_process';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { UserError } from '../../../src/errors.js';
import { nullLogger, type Logger } from '../../../src/log.js';
import { withProvisionLock } from '../../../src/provision/provision-lock.js';
import { tempDir } from '../../support/temp-dir.js';

// Lets a test delay the next fs link() to replay an interleaving of two lock attempts deterministically.
const fsControl = vi.hoisted(() => ({ delayNextLinkMs: 0 }));
vi.mock('node:fs/promises', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:fs/promises')>();
  return {
    ...actual,
    link: async (existing: string, newPath: string) => {
      const delay = fsControl.delayNextLinkMs;
      fsControl.delayNextLinkMs = 0;
      if (delay > 0) await sleep(delay);
      return actual.link(existing, newPath);
    },
  };
});

function recordingLogger(lines: string[]): Logger {
  return { ...nullLogger, info: (text) => lines.push(text) };
}

// The pid of a process that has exited: nobody holds a lock with it.
function deadPid(): number {
  const child = spawnSync('/bin/sh', ['-c', 'echo $$'], { encoding: 'utf8' });
  return Number(child.stdout.trim());
}

describe('withProvisionLock', () => {
  let dir: string;
  let removeDir: () => Promise<void>;
  beforeEach(async () => {
    ({ dir: dir, remove: removeDir } = await tempDir('nix-runner-lock-'));
  });
  afterEach(async () => {
    await removeDir();
  });

  it('returns what fn returns and removes the lock afterwards', async () => {
    expect(await withProvisionLock('d', nullLogger, async () => 42, { dir })).toBe(42);
    expect(await readdir(dir)).toEqual([]);
  });

  it('removes the lock when fn throws', async () => {
    await expect(withProvisionLock('d', nullLogger, () => Promise.reject(new Error('boom')), { dir })).rejects.toThrow('boom');
    expect(await readdir(dir)).toEqual([]);
  });

  it('runs two concurrent calls for the same daemon one after the other', async () => {
    const events: string[] = [];
    const logged: string[] = [];
    const task = (name: string) => async () => {
      events.push(`enter ${name}`);
      await sleep(100);
      events.push(`exit ${name}`);
      return name;
    };
    const results = await Promise.all([
      withProvisionLock('d', recordingLogger(logged), task('a'), { dir, timeoutMs: 5_000 }),
      withProvisionLock('d', recordingLogger(logged), task('b'), { dir, timeoutMs: 5_000 }),
    ]);
    expect(results).toEqual(['a', 'b']);
    const first = events[0] === 'enter a' ? 'a' : 'b';
    const second = first === 'a' ? 'b' : 'a';
    expect(events).toEqual([`enter ${first}`, `exit ${first}`, `enter ${second}`, `exit ${second}`]);
    expect(logged).toEqual([`waiting for another nix-runner (pid ${process.pid}) provisioning d`]);
    expect(await readdir(dir)).toEqual([]);
  });

  it('does not make calls for different daemons wait for each other', async () => {
    const events: string[] = [];
    const task = (name: string) => async () => {
      events.push(`enter ${name}`);
      await sleep(50);
      events.push(`exit ${name}`);
    };
    await Promise.all([withProvisionLock('a', nullLogger, task('a'), { dir }), withProvisionLock('b', nullLogger, task('b'), { dir })]);
    expect(events.slice(0, 2).sort()).toEqual(['enter a', 'enter b']);
  });

  it('takes over a lock left by a process that died', async () => {
    const pid = deadPid();
    await writeFile(join(dir, 'nix-runner-d.lock'), String(pid));
    const logged: string[] = [];
    expect(await withProvisionLock('d', recordingLogger(logged), async () => 'ran', { dir, timeoutMs: 1_000 })).toBe('ran');
    expect(logged).toEqual([]);
  });

  it('takes over a lock holding pid 999999 (no such process)', async () => {
    await writeFile(join(dir, 'nix-runner-d.lock'), '999999');
    expect(await withProvisionLock('d', nullLogger, async () => 'ran', { dir, timeoutMs: 1_000 })).toBe('ran');
  });

  it('gives up after the timeout with a UserError naming the holder and the lock file', async () => {
    const lock = join(dir, 'nix-runner-d.lock');
    await writeFile(lock, String(process.ppid));
    let ran = false;
    const error = await withProvisionLock('d', nullLogger, async () => {
      ran = true;
    }, { dir, timeoutMs: 300 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UserError);
    expect((error as UserError).code).toBe('daemon');
    expect((error as UserError).message).toBe(`another nix-runner (pid ${process.ppid}) is provisioning d`);
    expect((error as UserError).hint).toContain(lock);
    expect(ran).toBe(false);
    expect(await readdir(dir)).toEqual(['nix-runner-d.lock']);
  });

  // Each attempt writes its own aside file: were it shared per pid, one call's cleanup could remove it
  // under another call's late link() (ENOENT instead of waiting).
  it('lets a second concurrent call in the same process wait even when its link() comes late', async () => {
    fsControl.delayNextLinkMs = 50;
    const events: string[] = [];
    const task = (name: string) => async () => {
      events.push(`enter ${name}`);
      await sleep(20);
      events.push(`exit ${name}`);
    };
    await Promise.all([
      withProvisionLock('d', nullLogger, task('a'), { dir, timeoutMs: 2_000 }),
      withProvisionLock('d', nullLogger, task('b'), { dir, timeoutMs: 2_000 }),
    ]);
    expect(events).toHaveLength(4);
  });
});
