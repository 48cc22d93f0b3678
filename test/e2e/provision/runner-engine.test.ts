import { readFile, writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseRunnerConfig } from '../../../src/runner-config/toml/document.js';
import { sameEngine, GITLAB_RUNNER_DEFAULT_HOST } from '../../../src/runner-config/runner-engine.js';
import { expectOneLineError, runCli } from '../support/cli.js';
import { requireEngine, skipE2E } from '../support/engine.js';
import { copyRunnerFixture } from '../support/fixtures.js';
import { removeDaemon, scratchDir, uniqueName } from '../support/scratch.js';

type Runner = Record<string, unknown> & { docker?: Record<string, unknown> };

// The daemon and the jobs on one engine: on Docker (GitLab Runner's default socket) nothing is written;
// on Podman without its Docker socket the runners get `host`; a runner's own host elsewhere is refused.
describe.skipIf(skipE2E)("the jobs' engine is the daemon's", () => {
  const daemon = uniqueName('e2e-runner-engine');
  let scratch: Awaited<ReturnType<typeof scratchDir>>;
  let runnerConfig: string;

  beforeAll(async () => {
    scratch = await scratchDir();
    runnerConfig = await copyRunnerFixture(scratch.dir);
  });

  afterAll(async () => {
    await removeDaemon(requireEngine(), daemon);
    await scratch?.remove();
  });

  it("refuses a runner whose host is another engine, before anything is created: exit 7, one line, config.toml as it was", async () => {
    const text = (await readFile(runnerConfig, 'utf8')).replace('    image = "alpine:3.20"\n', '    image = "alpine:3.20"\n    host = "tcp://192.0.2.1:2375"\n');
    await writeFile(runnerConfig, text, { mode: 0o600 });
    const result = await runCli(['provision', '--runner-config', runnerConfig, '--daemon', daemon]);
    expectOneLineError(result, 7, /runner "docker-main" .*host = "tcp:\/\/192\.0\.2\.1:2375", is not the engine nix-runner provisions the daemon on/);
    expect(await readFile(runnerConfig, 'utf8')).toBe(text);
    expect(await requireEngine().listContainerIds({ label: [`org.nix-runner.daemon=${daemon}`] })).toEqual([]);
  });

  it("writes the engine as host only where GitLab Runner's default socket is another engine; a host naming it is kept", async () => {
    const engine = requireEngine();
    const own = engine.address.display;
    const text = (await readFile(runnerConfig, 'utf8')).replace('    host = "tcp://192.0.2.1:2375"\n', `    host = "${own}"\n`);
    await writeFile(runnerConfig, text, { mode: 0o600 });
    const result = await runCli(['provision', '--runner-config', runnerConfig, '--daemon', daemon, '--json']);
    expect(result.exitCode, result.stdout + result.stderr).toBe(0);
    const [main, second] = parseRunnerConfig(await readFile(runnerConfig, 'utf8'), runnerConfig).table.runners as Runner[];
    expect(main!.docker?.host).toBe(own);
    expect(second!.docker?.host).toBe(sameEngine(GITLAB_RUNNER_DEFAULT_HOST, own) ? undefined : own);
    // deprovision takes back what it wrote, and only that
    const removed = await runCli(['deprovision', '--runner-config', runnerConfig, '--daemon', daemon]);
    expect(removed.exitCode, removed.stderr).toBe(0);
    const [mainAfter, secondAfter] = parseRunnerConfig(await readFile(runnerConfig, 'utf8'), runnerConfig).table.runners as Runner[];
    expect(mainAfter!.docker?.host).toBe(own);
    expect(secondAfter!.docker?.host).toBeUndefined();
  });
});
