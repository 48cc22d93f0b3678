import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { UserError } from '../../../src/errors.js';
import { applyRunnerConfig, removeFromRunnerConfig } from '../../../src/runner-config/apply.js';
import { declareRunners } from '../../../src/runner-config/write-declared-runners.js';
import { tokenHash, type DeclaredRunner } from '../../../src/runner-config/read-declarations.js';
import { parseRunnerConfig, type RunnerConfigDocument } from '../../../src/runner-config/toml/document.js';
import { sameMeaning } from '../../../src/runner-config/toml/toml-values.js';
import { fixtureDoc, fixtureText, managedSettings, runner, withTempDir } from './helpers.js';

const managed = managedSettings();
const T0 = new Date('2025-01-02T03:04:05.678Z');
const T1 = new Date('2025-02-02T00:00:00Z');

function declared(name: string, token = `glrt-${name}`, extra: Partial<DeclaredRunner> = {}): DeclaredRunner {
  return { name, url: 'https://gitlab.example.com', token, tokenHash: tokenHash(token), docker: {}, ...extra };
}

function names(doc: RunnerConfigDocument): string[] {
  return (doc.table.runners as Array<Record<string, unknown>>).map((entry) => String(entry.name));
}

async function apply(path: string, runners: DeclaredRunner[], now = T0) {
  return applyRunnerConfig({ path, runners: [], managed, declared: runners, now: () => now });
}

async function read(path: string): Promise<RunnerConfigDocument> {
  return parseRunnerConfig(await readFile(path, 'utf8'), path);
}

describe('declareRunners (pure)', () => {
  it('appends a complete docker entry with GitLab Runner types, keeping the other runners as they were', async () => {
    const doc = await fixtureDoc();
    const next = declareRunners(doc, [declared('nix-a', 'glrt-a', { image: 'alpine:3.20', limit: 2n, requestConcurrency: 3n, docker: { privileged: false, shm_size: 0n } })], T0, 'nix-daemon');
    expect(names(next)).toEqual(['docker-main', 'docker-second', 'shell-runner', 'nix-a']);
    const entry = runner(next, 'nix-a');
    expect({ ...entry, docker: { ...entry.docker } }).toEqual({
      name: 'nix-a',
      url: 'https://gitlab.example.com',
      token: 'glrt-a',
      token_obtained_at: expect.any(Date),
      token_expires_at: expect.any(Date),
      executor: 'docker',
      limit: 2n,
      request_concurrency: 3n,
      docker: { image: 'alpine:3.20', privileged: false, shm_size: 0n },
    });
    expect(entry.token_obtained_at.toISOString()).toBe('2025-01-02T03:04:05.000Z');
    expect(entry.token_expires_at.toISOString()).toBe('0001-01-01T00:00:00.000Z');
    expect(next.table.runners).not.toBe(doc.table.runners);
    expect((next.table.runners as unknown[]).slice(0, 3)).toEqual(doc.table.runners);
  });

  it('refuses a declared name that a runner it did not write already has', async () => {
    const error = (() => {
      try {
        declareRunners(parseRunnerConfig('[[runners]]\nname = "docker-main"\nexecutor = "docker"\n', 'c.toml'), [declared('docker-main')], T0, 'nix-daemon');
      } catch (e: unknown) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(UserError);
    expect((error as UserError).message).toBe('declared runner "docker-main" would replace a runner in c.toml that nix-runner did not write');
    expect((error as UserError).hint).toMatch(/gitlab-runner unregister --name "docker-main"/);
  });

  it('an empty document gets the global keys gitlab-runner register writes', () => {
    const next = declareRunners({ path: 'c.toml', table: {} }, [declared('nix-a')], T0, 'nix-daemon');
    expect(next.table.concurrent).toBe(1n);
    expect(next.table.check_interval).toBe(0n);
  });

  it('without declared runners it leaves a document without any unchanged', async () => {
    const doc = await fixtureDoc();
    expect(sameMeaning(declareRunners(doc, [], T0, 'nix-daemon').table, doc.table)).toBe(true);
    expect(declareRunners({ path: 'c.toml', table: { concurrent: 1n } }, [], T0, 'nix-daemon').table).toEqual({ concurrent: 1n });
  });
});

describe('declared runners of two daemons in one config.toml', () => {
  const applyFor = (path: string, daemon: string, runners: DeclaredRunner[]) =>
    applyRunnerConfig({ path, runners: [], managed: managedSettings({ daemon }), declared: runners, now: () => T0 });

  it("each daemon's provision keeps the other's declared runners, and removes only its own that are no longer declared", async () => {
    await withTempDir(async (dir) => {
      const path = join(dir, 'config.toml');
      await applyFor(path, 'daemon-a', [declared('nix-a'), declared('nix-a2')]);
      await applyFor(path, 'daemon-b', [declared('nix-b')]);
      expect(names(await read(path))).toEqual(['nix-a', 'nix-a2', 'nix-b']);
      await applyFor(path, 'daemon-a', [declared('nix-a')]);
      expect(names(await read(path))).toEqual(['nix-a', 'nix-b']);
      expect(runner(await read(path), 'nix-b').docker.volumes_from).toEqual(['daemon-b:ro']);
      await applyFor(path, 'daemon-b', []);
      expect(names(await read(path))).toEqual(['nix-a']);
    });
  });

  it('refuses a runner declared for another daemon already', async () => {
    await withTempDir(async (dir) => {
      const path = join(dir, 'config.toml');
      await applyFor(path, 'daemon-a', [declared('nix-a')]);
      await expect(applyFor(path, 'daemon-b', [declared('nix-a')])).rejects.toThrow('declared runner "nix-a" is already declared in');
    });
  });
});

describe('declared runners through applyRunnerConfig', () => {
  it('creates a missing config.toml (mode 0600) and attaches the declared runner', async () => {
    await withTempDir(async (dir) => {
      const path = join(dir, 'config.toml');
      const result = await apply(path, [declared('nix-a')]);
      expect(result).toMatchObject({ changed: true, runners: ['nix-a'] });
      expect((await stat(path)).mode & 0o7777).toBe(0o600);
      const entry = runner(await read(path), 'nix-a');
      expect(entry.docker.volumes_from).toEqual(['nix-daemon:ro']);
      expect(entry.pre_build_script).toContain(`"declared":{"token":"${tokenHash('glrt-nix-a')}"}`);
    });
  });

  it('a second run (later, same token) writes nothing: token dates stay', async () => {
    await withTempDir(async (dir) => {
      const path = join(dir, 'config.toml');
      await writeFile(path, await fixtureText(), { mode: 0o600 });
      await apply(path, [declared('nix-a')], T0);
      const before = await stat(path);
      expect((await apply(path, [declared('nix-a')], T1)).changed).toBe(false);
      expect((await stat(path)).mtimeMs).toBe(before.mtimeMs);
      expect(runner(await read(path), 'nix-a').token_obtained_at.toISOString()).toBe('2025-01-02T03:04:05.000Z');
    });
  });

  it('a new token in the token file: written, with a new token_obtained_at', async () => {
    await withTempDir(async (dir) => {
      const path = join(dir, 'config.toml');
      await apply(path, [declared('nix-a', 'glrt-old')], T0);
      await apply(path, [declared('nix-a', 'glrt-new')], T1);
      const entry = runner(await read(path), 'nix-a');
      expect(entry.token).toBe('glrt-new');
      expect(entry.token_obtained_at.toISOString()).toBe('2025-02-02T00:00:00.000Z');
      expect(entry.pre_build_script).toContain(tokenHash('glrt-new'));
    });
  });

  it('a token GitLab Runner rotated (the token file unchanged) is kept, with its dates', async () => {
    await withTempDir(async (dir) => {
      const path = join(dir, 'config.toml');
      await apply(path, [declared('nix-a', 'glrt-file')], T0);
      const text = await readFile(path, 'utf8');
      const rotated = text.replace('token = "glrt-file"', 'token = "glrt-rotated"').replace('token_expires_at = 0001-01-01T00:00:00.000Z', 'token_expires_at = 2025-03-01T00:00:00Z');
      await writeFile(path, rotated);
      expect((await apply(path, [declared('nix-a', 'glrt-file')], T1)).changed).toBe(false);
      const entry = runner(await read(path), 'nix-a');
      expect(entry.token).toBe('glrt-rotated');
      expect(entry.token_expires_at.toISOString()).toBe('2025-03-01T00:00:00.000Z');
    });
  });

  it('rewrites hand edits of a declared entry (it is nix-runner\'s), keeps its id', async () => {
    await withTempDir(async (dir) => {
      const path = join(dir, 'config.toml');
      await apply(path, [declared('nix-a', 'glrt-a', { image: 'alpine' })], T0);
      const text = await readFile(path, 'utf8');
      await writeFile(path, text.replace('image = "alpine"', 'image = "hand-edited"').replace('executor = "docker"', 'id = 7\nexecutor = "docker"'));
      await apply(path, [declared('nix-a', 'glrt-a', { image: 'alpine' })], T1);
      const entry = runner(await read(path), 'nix-a');
      expect(entry.docker.image).toBe('alpine');
      expect(entry.id).toBe(7n);
    });
  });

  it('removes the runners it wrote that are no longer declared, never one it did not write', async () => {
    await withTempDir(async (dir) => {
      const path = join(dir, 'config.toml');
      await writeFile(path, await fixtureText(), { mode: 0o600 });
      const original = await read(path);
      await apply(path, [declared('nix-a'), declared('nix-b')]);
      expect(names(await read(path))).toEqual(['docker-main', 'docker-second', 'shell-runner', 'nix-a', 'nix-b']);
      await apply(path, [declared('nix-b')]);
      expect(names(await read(path))).toEqual(['docker-main', 'docker-second', 'shell-runner', 'nix-b']);
      const after = await applyRunnerConfig({ path, runners: [], managed, declared: [] });
      expect(after.runners).toEqual(['docker-main', 'docker-second']);
      expect(names(await read(path))).toEqual(['docker-main', 'docker-second', 'shell-runner']);
      expect(sameMeaning((await removeFromRunnerConfig({ path }), await read(path)).table, original.table)).toBe(true);
    });
  });

  it('a run without declarations (by hand, no --config) keeps the runners declared earlier, attached and still marked', async () => {
    await withTempDir(async (dir) => {
      const path = join(dir, 'config.toml');
      await writeFile(path, await fixtureText(), { mode: 0o600 });
      await apply(path, [declared('nix-a')], T0);
      for (const runners of [[], ['docker-second']]) {
        const result = await applyRunnerConfig({ path, runners, managed });
        expect(result.runners).toContain('nix-a');
      }
      expect(names(await read(path))).toContain('nix-a');
      expect(runner(await read(path), 'nix-a').token).toBe('glrt-nix-a');
      // Still nix-runner's: declaring it again changes nothing, no longer declaring it removes it.
      expect((await apply(path, [declared('nix-a')], T1)).runners).toContain('nix-a');
      await apply(path, [], T1);
      expect(names(await read(path))).not.toContain('nix-a');
    });
  });

  it('with named --runner entries, the declared runners are attached too', async () => {
    await withTempDir(async (dir) => {
      const path = join(dir, 'config.toml');
      await writeFile(path, await fixtureText(), { mode: 0o600 });
      const result = await applyRunnerConfig({ path, runners: ['docker-second'], managed, declared: [declared('nix-a')], now: () => T0 });
      expect(result.runners).toEqual(['docker-second', 'nix-a']);
      expect(runner(await read(path), 'docker-main').pre_build_script).not.toContain('nix-runner managed block');
    });
  });

  it('deprovision (removeFromRunnerConfig) removes declared runners entirely', async () => {
    await withTempDir(async (dir) => {
      const path = join(dir, 'config.toml');
      await writeFile(path, await fixtureText(), { mode: 0o600 });
      const original = await read(path);
      await apply(path, [declared('nix-a')]);
      const removed = await removeFromRunnerConfig({ path, daemon: 'nix-daemon' });
      expect(removed.diff).toContain('-name = "nix-a"');
      expect((await read(path)).table).toEqual(original.table);
    });
  });

  it('a collision with a registered runner: an error, the file untouched', async () => {
    await withTempDir(async (dir) => {
      const path = join(dir, 'config.toml');
      const text = await fixtureText();
      await writeFile(path, text, { mode: 0o600 });
      await expect(apply(path, [declared('docker-main')])).rejects.toThrow(/would replace a runner .* that nix-runner did not write/);
      expect(await readFile(path, 'utf8')).toBe(text);
    });
  });
});
