import { execFileSync } from 'node:child_process';
import { chmod, copyFile, mkdir, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { UserError } from '../../../src/errors.js';
import type { Logger } from '../../../src/log.js';
import { applyRunnerConfig, removeFromRunnerConfig } from '../../../src/runner-config/apply.js';
import { parseRunnerConfig } from '../../../src/runner-config/toml/document.js';
import { sameMeaning } from '../../../src/runner-config/toml/toml-values.js';
import { FIXTURE, managedSettings, withTempDir } from './helpers.js';

const managed = managedSettings();
const isRoot = process.getuid?.() === 0;

async function copyFixture(dir: string): Promise<string> {
  const path = join(dir, 'config.toml');
  await copyFile(FIXTURE, path);
  await chmod(path, 0o600);
  return path;
}

async function meaning(path: string) {
  return parseRunnerConfig(await readFile(path, 'utf8'), path).table;
}

function capturingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    info: (text) => lines.push(text),
    warn: (text) => lines.push(`warning: ${text}`),
    debug: (text) => lines.push(`debug: ${text}`),
    start: () => 0,
    stop: () => {},
  };
}

async function rejection(promise: Promise<unknown>): Promise<UserError> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  if (!(error instanceof UserError)) throw new Error(`expected a UserError, got ${String(error)}`);
  return error;
}

describe('applyRunnerConfig', () => {
  it('attaches every docker runner and reports a diff', async () => {
    await withTempDir(async (dir) => {
      const path = await copyFixture(dir);
      const result = await applyRunnerConfig({ path, runners: [], managed });
      expect(result).toMatchObject({ path, changed: true, runners: ['docker-main', 'docker-second'] });
      expect(result.diff).toMatch(/^--- \/.*config\.toml\n\+\+\+ \/.*config\.toml\n/);
      expect(result.diff).toContain('+volumes_from = [ "cache-helper:ro", "nix-daemon:ro" ]');
      const written = await readFile(path, 'utf8');
      expect(written).toContain('token = "glrt-abcdefghijklmnopqrst"');
      expect(written).toContain('token_obtained_at = 2024-05-01T10:00:00.000Z');
    });
  });

  it('writes nothing the second time: mtime unchanged', async () => {
    await withTempDir(async (dir) => {
      const path = await copyFixture(dir);
      await applyRunnerConfig({ path, runners: [], managed });
      const before = await stat(path);
      const again = await applyRunnerConfig({ path, runners: [], managed });
      expect(again).toEqual({ path, changed: false, runners: ['docker-main', 'docker-second'], diff: '' });
      const after = await stat(path);
      expect(after.mtimeMs).toBe(before.mtimeMs);
      expect(after.ino).toBe(before.ino);
    });
  });

  it('writes nothing when only the formatting would change', async () => {
    await withTempDir(async (dir) => {
      const path = await copyFixture(dir);
      await applyRunnerConfig({ path, runners: [], managed });
      const reformatted = (await readFile(path, 'utf8')).replace(/^(\w+) = /gm, '  $1   =   ');
      await writeFile(path, reformatted);
      const before = await stat(path);
      expect((await applyRunnerConfig({ path, runners: [], managed })).changed).toBe(false);
      expect((await stat(path)).mtimeMs).toBe(before.mtimeMs);
      expect(await readFile(path, 'utf8')).toBe(reformatted);
    });
  });

  it('dry run: returns the diff, writes nothing', async () => {
    await withTempDir(async (dir) => {
      const path = await copyFixture(dir);
      const original = await readFile(path, 'utf8');
      const before = await stat(path);
      const result = await applyRunnerConfig({ path, runners: ['docker-second'], managed, dryRun: true });
      expect(result.changed).toBe(true);
      expect(result.diff).toContain('+volumes_from = [ "nix-daemon:ro" ]');
      expect(await readFile(path, 'utf8')).toBe(original);
      expect((await stat(path)).mtimeMs).toBe(before.mtimeMs);
    });
  });

  it('diff: false (a check, as provision makes first): changed, no diff, nothing written', async () => {
    await withTempDir(async (dir) => {
      const path = await copyFixture(dir);
      const original = await readFile(path, 'utf8');
      expect(await applyRunnerConfig({ path, runners: [], managed, dryRun: true, diff: false })).toMatchObject({ changed: true, diff: '' });
      expect(await readFile(path, 'utf8')).toBe(original);
      expect(await applyRunnerConfig({ path, runners: [], managed, diff: false })).toMatchObject({ changed: true, diff: '' });
      expect(await readFile(path, 'utf8')).not.toBe(original);
    });
  });

  it('logs at most 20 attached runner names', async () => {
    await withTempDir(async (dir) => {
      const path = join(dir, 'config.toml');
      await writeFile(path, Array.from({ length: 25 }, (_, i) => `[[runners]]\nname = "r${i}"\nexecutor = "docker"\n`).join(''));
      const logger = capturingLogger();
      await applyRunnerConfig({ path, runners: [], managed, logger });
      expect(logger.lines).toEqual([`attached ${Array.from({ length: 20 }, (_, i) => `r${i}`).join(', ')} and 5 more runners to nix-daemon in ${path}`]);
    });
  });

  it('keeps mode 0600', async () => {
    await withTempDir(async (dir) => {
      const path = await copyFixture(dir);
      await applyRunnerConfig({ path, runners: [], managed });
      expect((await stat(path)).mode & 0o7777).toBe(0o600);
    });
  });

  it('missing file: a UserError with the registration hint', async () => {
    await withTempDir(async (dir) => {
      const error = await rejection(applyRunnerConfig({ path: join(dir, 'config.toml'), runners: [], managed }));
      expect(error.code).toBe('runnerConfig');
      expect(error.message).toMatch(/config\.toml does not exist$/);
      expect(error.hint).toBe('register a runner first (gitlab-runner register) or pass --runner-config');
    });
  });

  it('parse error: line and column, file untouched', async () => {
    await withTempDir(async (dir) => {
      const path = join(dir, 'config.toml');
      await writeFile(path, 'concurrent = 1\n\n[[runners]\nname = "a"\n');
      const error = await rejection(applyRunnerConfig({ path, runners: [], managed }));
      expect(error.message).toMatch(new RegExp(`^${path}:3:\\d+: `));
      expect(await readFile(path, 'utf8')).toBe('concurrent = 1\n\n[[runners]\nname = "a"\n');
    });
  });

  it('unknown runner: a usage error naming the runners there', async () => {
    await withTempDir(async (dir) => {
      const path = await copyFixture(dir);
      const error = await rejection(applyRunnerConfig({ path, runners: ['x'], managed }));
      expect(error.code).toBe('usage');
      expect(error.message).toBe(`no runner named "x" in ${path}`);
      expect(error.hint).toContain('docker-main, docker-second, shell-runner');
    });
  });

  it('a concurrent writer (token rotation) between read and rename: both changes survive', async () => {
    await withTempDir(async (dir) => {
      const path = await copyFixture(dir);
      const logger = capturingLogger();
      let calls = 0;
      const result = await applyRunnerConfig({
        path,
        runners: [],
        managed,
        logger,
        beforeRename: async () => {
          calls++;
          if (calls === 1) {
            const text = await readFile(path, 'utf8');
            await writeFile(path, text.replace('glrt-abcdefghijklmnopqrst', 'glrt-rotated').replace('2024-05-01T10:00:00Z', '2024-06-01T10:00:00Z'));
          }
        },
      });
      expect(calls).toBe(2);
      expect(result.changed).toBe(true);
      const table = await meaning(path);
      const main = (table.runners as Array<Record<string, any>>)[0]!;
      expect(main.token).toBe('glrt-rotated');
      expect(main.token_obtained_at.toISOString()).toBe('2024-06-01T10:00:00.000Z');
      expect(main.docker.volumes_from).toEqual(['cache-helper:ro', 'nix-daemon:ro']);
      expect(logger.lines.some((line) => line.includes('changed while nix-runner was writing it'))).toBe(true);
    });
  });

  it('gives up after a bounded number of attempts, leaving the other writer’s file', async () => {
    await withTempDir(async (dir) => {
      const path = await copyFixture(dir);
      let n = 0;
      const error = await rejection(
        applyRunnerConfig({ path, runners: [], managed, maxAttempts: 3, beforeRename: async () => writeFile(path, `concurrent = ${++n}\n[[runners]]\nname = "a"\nexecutor = "docker"\n`) }),
      );
      expect(error.message).toMatch(/kept changing .* \(3 attempts\)/);
      expect(await readFile(path, 'utf8')).toBe('concurrent = 3\n[[runners]]\nname = "a"\nexecutor = "docker"\n');
    });
  });

  it('a symlink into the store: refused, with a hint', async () => {
    await withTempDir(async (dir) => {
      const store = join(dir, 'nix', 'store');
      await mkdir(store, { recursive: true });
      const inStore = join(store, 'aaaa-config.toml');
      await copyFile(FIXTURE, inStore);
      const path = join(dir, 'config.toml');
      await symlink(inStore, path);
      const error = await rejection(applyRunnerConfig({ path, runners: [], managed, storeDir: store }));
      expect(error.code).toBe('runnerConfig');
      expect(error.message).toContain('read-only Nix store');
      expect(error.hint).toMatch(/let nix-runner manage a writable/);
    });
  });

  it('a symlink to a writable file: the target is replaced, the link kept', async () => {
    await withTempDir(async (dir) => {
      const target = await copyFixture(dir);
      const path = join(dir, 'link.toml');
      await symlink(target, path);
      expect((await applyRunnerConfig({ path, runners: [], managed })).changed).toBe(true);
      expect((await stat(path)).isFile()).toBe(true);
      expect(await readFile(target, 'utf8')).toContain('nix-daemon:ro');
      expect((await applyRunnerConfig({ path, runners: [], managed })).changed).toBe(false);
    });
  });

  it('a read-only directory: a clear UserError, original untouched', async ({ skip }) => {
    await withTempDir(async (dir) => {
      const sub = join(dir, 'etc');
      await mkdir(sub);
      const path = await copyFixture(sub);
      const original = await readFile(path, 'utf8');
      if (!makeReadOnly(sub)) skip('root without chattr: cannot make a directory read-only');
      try {
        const error = await rejection(applyRunnerConfig({ path, runners: [], managed }));
        expect(error.code).toBe('runnerConfig');
        expect(error.message).toMatch(/^cannot write .*config\.toml: E(ACCES|PERM|ROFS)$/);
        expect(error.hint).toMatch(/run nix-runner as the user that owns the file/);
      } finally {
        makeWritable(sub);
      }
      expect(await readFile(path, 'utf8')).toBe(original);
    });
  });

  it('warns that comments are dropped when it rewrites a file that has some', async () => {
    await withTempDir(async (dir) => {
      const path = join(dir, 'config.toml');
      await writeFile(path, 'concurrent = 1 # jobs\n[[runners]]\nname = "a"\nexecutor = "docker"\n');
      const logger = capturingLogger();
      await applyRunnerConfig({ path, runners: [], managed, logger });
      expect(logger.lines).toContain(`warning: ${path}:1: comments are not kept when nix-runner rewrites this file`);
    });
  });
});

describe('removeFromRunnerConfig', () => {
  it('restores the original meaning, then writes nothing', async () => {
    await withTempDir(async (dir) => {
      const path = await copyFixture(dir);
      const original = await meaning(path);
      await applyRunnerConfig({ path, runners: [], managed });
      const removed = await removeFromRunnerConfig({ path });
      expect(removed.changed).toBe(true);
      expect(removed.diff).toContain('-volumes_from = [ "cache-helper:ro", "nix-daemon:ro" ]');
      expect(await meaning(path)).toEqual(original);
      const before = await stat(path);
      expect(await removeFromRunnerConfig({ path })).toEqual({ path, changed: false, diff: '' });
      expect((await stat(path)).mtimeMs).toBe(before.mtimeMs);
    });
  });

  it('removes one daemon only, dry run writes nothing', async () => {
    await withTempDir(async (dir) => {
      const path = await copyFixture(dir);
      await applyRunnerConfig({ path, runners: ['docker-main'], managed });
      const attached = await meaning(path);
      expect((await removeFromRunnerConfig({ path, daemon: 'other' })).changed).toBe(false);
      const dry = await removeFromRunnerConfig({ path, daemon: 'nix-daemon', dryRun: true });
      expect(dry.changed).toBe(true);
      expect(sameMeaning(await meaning(path), attached)).toBe(true);
    });
  });

  it('a missing file has nothing to remove', async () => {
    await withTempDir(async (dir) => {
      const path = join(dir, 'config.toml');
      expect(await removeFromRunnerConfig({ path })).toEqual({ path, changed: false, diff: '' });
    });
  });
});

// Root ignores permission bits: there, the immutable attribute makes a directory read-only.
function makeReadOnly(dir: string): boolean {
  if (!isRoot) {
    execFileSync('chmod', ['0555', dir]);
    return true;
  }
  try {
    execFileSync('chattr', ['+i', dir], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function makeWritable(dir: string): void {
  if (isRoot) execFileSync('chattr', ['-i', dir], { stdio: 'ignore' });
  else execFileSync('chmod', ['0755', dir]);
}
