import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseRunnerConfig } from '../../../src/runner-config/toml/document.js';
import { runCli } from '../support/cli.js';
import { requireEngine, skipE2E } from '../support/engine.js';
import { removeDaemon, scratchDir, uniqueName } from '../support/scratch.js';

const RUNNERS = 30_000;

// Like the runners `gitlab-runner register` writes (as bench/runner-config-bench.ts): one in ten a shell runner.
function runner(i: number): string {
  return `
[[runners]]
  name = "runner-${i}"
  url = "https://gitlab.example.com"
  id = ${1000 + i}
  token = "glrt-${i.toString(36).padStart(20, 'x')}"
  token_obtained_at = 2024-05-01T10:00:00Z
  token_expires_at = 0001-01-01T00:00:00Z
  executor = "${i % 10 === 9 ? 'shell' : 'docker'}"
  environment = ["GIT_DEPTH=10"]
  [runners.cache]
    MaxUploadedArchiveSize = 0
  [runners.docker]
    image = "alpine:3.20"
    volumes = ["/cache"]
`;
}

const seconds = (started: number) => `${((Date.now() - started) / 1000).toFixed(1)} s`;

describe.skipIf(skipE2E)(`a config.toml with ${RUNNERS.toLocaleString('en')} runners`, () => {
  const daemon = uniqueName('e2e-large');
  let scratch: Awaited<ReturnType<typeof scratchDir>>;
  let runnerConfig: string;

  beforeAll(async () => {
    scratch = await scratchDir();
    runnerConfig = join(scratch.dir, 'config.toml');
    await writeFile(runnerConfig, `concurrent = 100\ncheck_interval = 0\n${Array.from({ length: RUNNERS }, (_, i) => runner(i)).join('')}`, { mode: 0o600 });
  });

  afterAll(async () => {
    await removeDaemon(requireEngine(), daemon);
    await scratch?.remove();
  });

  it('provision --dry-run --json: a diff of every line (hundreds of thousands), no token in it', async () => {
    const started = Date.now();
    const result = await runCli(['provision', '--runner-config', runnerConfig, '--daemon', daemon, '--dry-run', '--json']);
    console.log(`dry run with diff: ${seconds(started)}`);
    expect(result.exitCode, result.stderr).toBe(0);
    const diff = (result.json as unknown as { runnerConfig: { diff: string } }).runnerConfig.diff;
    expect(diff.split('\n').length).toBeGreaterThan(200_000);
    expect(diff).toContain(`+volumes_from = [ "${daemon}:ro" ]`);
    for (const i of [0, 12_345, RUNNERS - 1]) expect(result.stdout).not.toContain(`glrt-${i.toString(36).padStart(20, 'x')}`);
  }, 300_000);

  it('provision attaches every docker runner; a second run writes nothing', async () => {
    let started = Date.now();
    const first = await runCli(['provision', '--runner-config', runnerConfig, '--daemon', daemon]);
    console.log(`provision (daemon created, ${RUNNERS} runners merged and written): ${seconds(started)}`);
    expect(first.exitCode, first.stderr).toBe(0);
    const runners = parseRunnerConfig(await readFile(runnerConfig, 'utf8'), runnerConfig).table.runners as Array<Record<string, any>>;
    const docker = runners.filter((entry) => entry.executor === 'docker');
    expect(docker).toHaveLength(RUNNERS - RUNNERS / 10);
    expect(docker.filter((entry) => entry.docker.volumes_from?.includes(`${daemon}:ro`) && entry.environment.includes('NIX_REMOTE=daemon'))).toHaveLength(docker.length);

    const mtime = (await stat(runnerConfig)).mtimeMs;
    started = Date.now();
    const again = await runCli(['provision', '--runner-config', runnerConfig, '--daemon', daemon, '--json']);
    console.log(`provision with nothing to change: ${seconds(started)} (config.toml ${((await stat(runnerConfig)).size / 1024 / 1024).toFixed(1)} MiB)`);
    expect(again.json).toMatchObject({ ok: true, changed: false, runnerConfig: { changed: false } });
    expect((await stat(runnerConfig)).mtimeMs).toBe(mtime);
  }, 300_000);
});
