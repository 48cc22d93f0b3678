import { spawnSync } from 'node:child_process';
import { copyFile, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { UserError } from '../../../src/errors.js';
import { applyRunnerConfig } from '../../../src/runner-config/apply.js';
import { configLockPath } from '../../../src/runner-config/file/config-lock.js';
import { parseRunnerConfig } from '../../../src/runner-config/toml/document.js';
import { FIXTURE, managedSettings, withTempDir } from './helpers.js';

async function volumesFrom(path: string): Promise<Record<string, string[]>> {
  const runners = parseRunnerConfig(await readFile(path, 'utf8'), path).table.runners as Array<Record<string, any>>;
  return Object.fromEntries(runners.map((runner) => [runner.name, runner.docker?.volumes_from ?? []]));
}

async function copyFixture(dir: string): Promise<string> {
  const path = join(dir, 'config.toml');
  await copyFile(FIXTURE, path);
  return path;
}

function deadPid(): number {
  return Number(spawnSync('/bin/sh', ['-c', 'echo $$'], { encoding: 'utf8' }).stdout.trim());
}

describe('one writer of a config.toml at a time', () => {
  it('a second writer reads the file only once the first has replaced it: both attachments survive', async () => {
    await withTempDir(async (dir) => {
      const path = await copyFixture(dir);
      const events: string[] = [];
      let second: Promise<unknown> | undefined;
      await applyRunnerConfig({
        path,
        runners: ['docker-main'],
        managed: managedSettings({ daemon: 'daemon-a' }),
        beforeRename: async () => {
          second = applyRunnerConfig({
            path,
            runners: ['docker-second'],
            managed: managedSettings({ daemon: 'daemon-b' }),
            beforeRename: () => {
              events.push('b about to rename');
            },
          });
          await sleep(300);
          events.push('a about to rename');
        },
      });
      events.push('a done');
      await second;
      expect(events).toEqual(['a about to rename', 'a done', 'b about to rename']);
      expect(await volumesFrom(path)).toMatchObject({ 'docker-main': ['cache-helper:ro', 'daemon-a:ro'], 'docker-second': ['daemon-b:ro'] });
      expect(await readdir(dir)).toEqual(['config.toml']);
    });
  });

  it('many concurrent writers for different daemons: no update lost', async () => {
    await withTempDir(async (dir) => {
      const path = join(dir, 'config.toml');
      const names = Array.from({ length: 8 }, (_, i) => `r${i}`);
      await writeFile(path, names.map((name) => `[[runners]]\nname = "${name}"\nexecutor = "docker"\n`).join(''));
      await Promise.all(names.map((name) => applyRunnerConfig({ path, runners: [name], managed: managedSettings({ daemon: `d-${name}` }) })));
      expect(await volumesFrom(path)).toEqual(Object.fromEntries(names.map((name) => [name, [`d-${name}:ro`]])));
    });
  });

  it('a dry run, and a run with nothing to change, do not wait for the lock', async () => {
    await withTempDir(async (dir) => {
      const path = await copyFixture(dir);
      await writeFile(configLockPath(path), String(process.ppid));
      const started = Date.now();
      const dry = await applyRunnerConfig({ path, runners: [], managed: managedSettings(), dryRun: true, lockTimeoutMs: 10_000 });
      expect(dry.changed).toBe(true);
      expect(Date.now() - started).toBeLessThan(2_000);
    });
    await withTempDir(async (dir) => {
      const path = await copyFixture(dir);
      await applyRunnerConfig({ path, runners: [], managed: managedSettings() });
      await writeFile(configLockPath(path), String(process.ppid));
      const started = Date.now();
      expect((await applyRunnerConfig({ path, runners: [], managed: managedSettings(), lockTimeoutMs: 10_000 })).changed).toBe(false);
      expect(Date.now() - started).toBeLessThan(2_000);
    });
  });

  it('a lock held by a live process: a one-line error after the timeout, the file as it was', async () => {
    await withTempDir(async (dir) => {
      const path = await copyFixture(dir);
      const text = await readFile(path, 'utf8');
      const lock = configLockPath(path);
      await writeFile(lock, String(process.ppid));
      const error = await applyRunnerConfig({ path, runners: [], managed: managedSettings(), lockTimeoutMs: 300 }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(UserError);
      expect((error as UserError).code).toBe('runnerConfig');
      expect((error as UserError).message).toBe(`another nix-runner (pid ${process.ppid}) is writing ${path}`);
      expect((error as UserError).hint).toContain(lock);
      expect(await readFile(path, 'utf8')).toBe(text);
    });
  });

  it('a lock left by a process that died is taken over', async () => {
    await withTempDir(async (dir) => {
      const path = await copyFixture(dir);
      await writeFile(configLockPath(path), String(deadPid()));
      expect((await applyRunnerConfig({ path, runners: [], managed: managedSettings(), lockTimeoutMs: 2_000 })).changed).toBe(true);
      expect(await readdir(dir)).toEqual(['config.toml']);
    });
  });

  it('is keyed by the real file: a symlink to it waits on the same lock', async () => {
    await withTempDir(async (dir) => {
      const path = await copyFixture(dir);
      const link = join(dir, 'link.toml');
      await symlink(path, link);
      await writeFile(configLockPath(path), String(process.ppid));
      const error = await applyRunnerConfig({ path: link, runners: [], managed: managedSettings(), lockTimeoutMs: 200 }).catch((e: unknown) => e);
      expect((error as UserError).message).toMatch(/is writing .*link\.toml$/);
    });
  });
});
