import { execFileSync } from 'node:child_process';
import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseRunnerConfig } from '../../../src/runner-config/toml/document.js';
import { runCli } from '../support/cli.js';
import { requireEngine, skipE2E } from '../support/engine.js';
import { copyRunnerFixture } from '../support/fixtures.js';
import { removeDaemon, scratchDir, uniqueName } from '../support/scratch.js';

type Runner = Record<string, any>;

describe.skipIf(skipE2E)('provision --dry-run prints a unified diff of config.toml; declared runners', () => {
  const daemon = uniqueName('e2e-declared');
  let scratch: Awaited<ReturnType<typeof scratchDir>>;
  let runnerConfig: string;
  let tokenFile: string;

  const runners = async (): Promise<Runner[]> => parseRunnerConfig(await readFile(runnerConfig, 'utf8'), runnerConfig).table.runners as Runner[];
  const settingsFile = async (declared: string[], file = tokenFile): Promise<string> => {
    const path = join(scratch.dir, `settings-${declared.join('-') || 'none'}.toml`);
    const entries = declared.map((name) => `[[declaredRunners]]\nname = "${name}"\nurl = "https://gitlab.example.com"\ntokenFile = "${file}"\nimage = "alpine:3.20"\nlimit = 2\n[declaredRunners.docker]\nshm_size = 0\n`);
    // An empty list says "none declared" (its runners are removed); a file without the key leaves them alone.
    const none = declared.length === 0 ? 'declaredRunners = []\n' : '';
    await writeFile(path, `runnerConfig = "${runnerConfig}"\ndaemon = "${daemon}"\n${none}${entries.join('')}`);
    return path;
  };

  beforeAll(async () => {
    scratch = await scratchDir();
    runnerConfig = await copyRunnerFixture(scratch.dir);
    tokenFile = join(scratch.dir, 'token');
    await writeFile(tokenFile, 'glrt-e2e-declared\n', { mode: 0o600 });
  });

  afterAll(async () => {
    await removeDaemon(requireEngine(), daemon);
    await scratch?.remove();
  });

  it('--dry-run: the diff of config.toml, and nothing changed', async () => {
    const text = await readFile(runnerConfig, 'utf8');
    const result = await runCli(['provision', '--runner-config', runnerConfig, '--daemon', daemon, '--dry-run']);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toContain(`--- ${runnerConfig}\n+++ ${runnerConfig}\n@@ `);
    expect(result.stdout).toContain(`+volumes_from = [ "cache-helper:ro", "${daemon}:ro" ]`);
    expect(result.stdout).toMatch(/^\+environment = \[ "GIT_DEPTH=10", "NIX_REMOTE=daemon", "NIX_RUNNER_BIN=\/nix\/store\/[^"]+\/bin" \]$/m);
    expect(await readFile(runnerConfig, 'utf8')).toBe(text);
    expect(await requireEngine().inspectContainer(daemon)).toBeUndefined();
  });

  it('--dry-run with a daemon image not built yet: still a diff, with the nix it will have', async () => {
    const dir = join(scratch.dir, 'fake-nix', 'bin');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'nix-daemon'), `#!/bin/sh\n# ${daemon}\n`, { mode: 0o755 });
    const storePath = execFileSync('nix-store', ['--add', join(scratch.dir, 'fake-nix')], { encoding: 'utf8' }).trim();
    const result = await runCli(['provision', '--runner-config', runnerConfig, '--daemon', daemon, '--image-store-path', storePath, '--dry-run']);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toContain(`+volumes_from = [ "${daemon}:ro" ]`);
    expect(result.stdout).toContain(`NIX_RUNNER_BIN=${storePath}/bin`);
  });

  it('writes a declared runner completely, with the token from its file, attached to the daemon', async () => {
    const result = await runCli(['provision', '--config', await settingsFile(['nix-declared']), '--json']);
    expect(result.exitCode, result.stdout + result.stderr).toBe(0);
    expect(result.json).toMatchObject({ ok: true, runners: ['docker-main', 'docker-second', 'nix-declared'] });
    const entry = (await runners()).find((runner) => runner.name === 'nix-declared')!;
    expect(entry).toMatchObject({ url: 'https://gitlab.example.com', token: 'glrt-e2e-declared', executor: 'docker', limit: 2n });
    expect(entry.docker).toMatchObject({ image: 'alpine:3.20', shm_size: 0n, volumes_from: [`${daemon}:ro`] });
    expect(entry.token_obtained_at).toBeInstanceOf(Date);
    expect(entry.environment).toContain('NIX_REMOTE=daemon');
  });

  it('a second run writes nothing (token dates stable)', async () => {
    const mtime = (await stat(runnerConfig)).mtimeMs;
    const result = await runCli(['provision', '--config', await settingsFile(['nix-declared']), '--json']);
    expect(result.json).toMatchObject({ ok: true, changed: false, runnerConfig: { changed: false } });
    expect((await stat(runnerConfig)).mtimeMs).toBe(mtime);
  });

  it('a world-readable token file: a warning on stderr', async () => {
    await chmod(tokenFile, 0o644);
    try {
      const result = await runCli(['provision', '--config', await settingsFile(['nix-declared'])]);
      expect(result.exitCode).toBe(0);
      expect(result.stderr).toMatch(/^warning: the token file of declared runner "nix-declared" is readable by every user/m);
    } finally {
      await chmod(tokenFile, 0o600);
    }
  });

  it('a token file in /nix/store: a one-line error, exit 3, config.toml untouched', async () => {
    const inStore = execFileSync('nix-store', ['--add', tokenFile], { encoding: 'utf8' }).trim();
    const text = await readFile(runnerConfig, 'utf8');
    const result = await runCli(['provision', '--config', await settingsFile(['nix-declared'], inStore)]);
    expect(result.exitCode).toBe(3);
    expect(result.stderr).toMatch(/^nix-runner: error: the token file of declared runner "nix-declared" is in the Nix store .*\n {2}hint: .*agenix or sops-nix\)$/);
    expect(await readFile(runnerConfig, 'utf8')).toBe(text);
  });

  it('a runner no longer declared is removed; the registered ones stay', async () => {
    const result = await runCli(['provision', '--config', await settingsFile([]), '--json']);
    expect(result.json).toMatchObject({ ok: true, runners: ['docker-main', 'docker-second'] });
    expect((await runners()).map((runner) => runner.name)).toEqual(['docker-main', 'docker-second', 'shell-runner']);
  });
});
