import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { EngineClient } from '../../../src/engine/engine-client.js';
import { ExitCode } from '../../../src/errors.js';
import { BLOCK_START } from '../../../src/runner-config/managed-block.js';
import { ensureBusyboxImage } from '../../../src/smoke/busybox-image.js';
import { expectOneLineError, runCli, type CliResult } from '../support/cli.js';
import { requireEngine, skipE2E } from '../support/engine.js';
import { failingEngine, silentEngine, stallingLoad, startFakeEngine, stuckEngine, type FakeEngine, type FakeRoute } from '../support/fake-engine.js';
import { RUNNER_FIXTURE, copyRunnerFixture } from '../support/fixtures.js';
import { removeDaemon, scratchDir, uniqueName } from '../support/scratch.js';

// A liveness bound, not a benchmark: with a 2 s limit, a run that hangs would take far longer than this.
const BOUND_MS = 20_000;

async function timed(run: Promise<CliResult>): Promise<CliResult & { ms: number }> {
  const started = Date.now();
  const result = await run;
  return { ...result, ms: Date.now() - started };
}

function expectNoStack(result: CliResult): void {
  expect(result.stderr).not.toMatch(/internal error|\n\s+at /);
}

// A fake engine on a local unix socket: nothing here needs Docker.
describe('an engine that hangs or fails: exit 4 within the limit, one line and a hint', () => {
  const daemon = uniqueName('e2e-fake');
  let scratch: Awaited<ReturnType<typeof scratchDir>>;
  let runnerConfig: string;
  let fake: FakeEngine | undefined;

  const withFake = async (route: FakeRoute) => (fake = await startFakeEngine(route));
  const provision = (dockerHost: string, ...extra: string[]) =>
    timed(runCli(['provision', '--runner-config', runnerConfig, '--daemon', daemon, '--engine-timeout', '2', ...extra], { DOCKER_HOST: dockerHost }));

  beforeAll(async () => {
    scratch = await scratchDir();
    runnerConfig = await copyRunnerFixture(scratch.dir);
  });
  afterEach(async () => {
    await fake?.close();
    fake = undefined;
  });
  afterAll(async () => {
    await scratch?.remove();
  });

  it('(a) accepts connections and never answers: exit 4 at the connect limit', async () => {
    const { dockerHost } = await withFake(silentEngine);
    const result = await provision(dockerHost);
    expectOneLineError(result, ExitCode.engine, /the engine at unix:\/\/.*engine\.sock did not answer `ping` within 2s/);
    expect(result.stderr).toMatch(/hint: .*--engine-connect-timeout/);
    expect(result.ms).toBeLessThan(BOUND_MS);
  });

  it('(a) answers ping, then never answers a call: exit 4 at the call limit, naming the call', async () => {
    const { dockerHost, requests } = await withFake(stuckEngine);
    const result = await provision(dockerHost);
    expectOneLineError(result, ExitCode.engine, /the engine did not answer `[^`]+` within 2s$/);
    expect(result.stderr).toMatch(/hint: the engine at unix:\/\/.* is stuck or overloaded.*--engine-timeout/);
    expect(result.ms).toBeLessThan(BOUND_MS);
    expect(requests.length).toBeGreaterThan(1);
    expect(await readFile(runnerConfig, 'utf8')).toBe(await readFile(RUNNER_FIXTURE, 'utf8'));
  });

  it('(a) the limit from a settings file (engineTimeout), with --json', async () => {
    const { dockerHost } = await withFake(stuckEngine);
    const settings = join(scratch.dir, 'settings.toml');
    await writeFile(settings, `runnerConfig = "${runnerConfig}"\ndaemon = "${daemon}"\nengineTimeout = 1.5\n`);
    const result = await timed(runCli(['provision', '--config', settings, '--docker-host', dockerHost, '--json']));
    expect(result.exitCode).toBe(ExitCode.engine);
    expect(result.json).toMatchObject({ ok: false, error: { code: 'engine', exitCode: ExitCode.engine } });
    expect(String((result.json.error as { message: string }).message)).toMatch(/did not answer `[^`]+` within 1\.5s/);
    expect(result.ms).toBeLessThan(BOUND_MS);
  });

  it('(b) answers ping, then 500 on every call: exit 4, one line naming the call, no stack', async () => {
    const { dockerHost } = await withFake(failingEngine);
    const result = await provision(dockerHost);
    expectOneLineError(result, ExitCode.engine, /the engine failed `[^`]+`: HTTP 500: server error - boom: the fake engine fails every call$/);
    expectNoStack(result);
  });

  it('(c) stalls in the middle of an image load: exit 4 by the idle limit', async () => {
    // an empty engine: the host's nix is built into an image and streamed in; the engine takes 1 MiB, then stalls
    const { dockerHost, requests } = await withFake(stallingLoad(1024 * 1024));
    const result = await provision(dockerHost);
    expect(requests.some((request) => /^POST .*\/images\/load/.test(request))).toBe(true);
    expect(result.exitCode, result.stderr).toBe(ExitCode.engine);
    // progress lines of the load come first (a line per layer off a TTY); the error is the last two lines
    const lines = result.stderr.trimEnd().split('\n');
    expect(lines.at(-2)).toBe('nix-runner: error: the engine made no progress on `load image` for 2s');
    expect(lines.at(-1)).toMatch(/^ {2}hint: the engine at unix:\/\/.* is stuck or overloaded/);
    expect(lines.filter((line) => /error/.test(line))).toHaveLength(1);
    expectNoStack(result);
    expect(result.ms).toBeLessThan(BOUND_MS);
  });

  it('every command that talks to the engine takes --engine-timeout and exits 4', async () => {
    const { dockerHost } = await withFake(stuckEngine);
    const commands = [
      ['gc', '--daemon', daemon],
      ['deprovision', '--runner-config', runnerConfig, '--daemon', daemon],
      ['smoke', '--runner-config', await attachedRunnerConfig()],
      ['image', 'build', '--load'],
      ['demo', '--dir', join(scratch.dir, 'demo'), '--daemon', daemon],
    ];
    for (const command of commands) {
      const result = await timed(runCli([...command, '--engine-timeout', '1'], { DOCKER_HOST: dockerHost }));
      expectOneLineError(result, ExitCode.engine, /the engine did not answer `[^`]+` within 1s$/);
      expect(result.ms, command.join(' ')).toBeLessThan(BOUND_MS);
    }
  });

  /** A config.toml with a runner that looks attached, so that smoke gets as far as the engine. */
  async function attachedRunnerConfig(): Promise<string> {
    const path = join(scratch.dir, 'attached.toml');
    const block = `${BLOCK_START}\\nexport NIX_REMOTE=daemon\\n`;
    await writeFile(path, `[[runners]]\n  name = "attached"\n  executor = "docker"\n  pre_build_script = "${block}"\n  [runners.docker]\n    image = "busybox"\n    volumes_from = ["${daemon}:ro"]\n`, { mode: 0o600 });
    return path;
  }

  it('rejects a limit that is not a positive number of seconds', async () => {
    const result = await runCli(['provision', '--runner-config', runnerConfig, '--engine-timeout', '0']);
    expect(result.exitCode).toBe(ExitCode.usage);
    expect(result.stderr).toMatch(/--engine-timeout.*more than 0/);
  });
});

// The real engine: limits far below the default still let long operations run, as long as they move.
describe.skipIf(skipE2E)('short limits on the real engine', () => {
  const daemon = uniqueName('e2e-limits');
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

  it('provision, smoke jobs and deprovision work with a 3 s limit per call', async () => {
    const limit = ['--engine-timeout', '3'];
    const provisioned = await runCli(['provision', '--runner-config', runnerConfig, '--daemon', daemon, '--json', ...limit]);
    expect(provisioned.exitCode, provisioned.stdout + provisioned.stderr).toBe(0);
    expect(provisioned.json).toMatchObject({ ok: true, daemon: { name: daemon } });
    const smoked = await runCli(['smoke', '--runner-config', runnerConfig, '--runner', 'docker-second', '--json', ...limit]);
    expect(smoked.exitCode, smoked.stdout + smoked.stderr).toBe(0);
    const removed = await runCli(['deprovision', '--runner-config', runnerConfig, '--daemon', daemon, '--purge', '--json', ...limit]);
    expect(removed.exitCode, removed.stdout + removed.stderr).toBe(0);
  });

  it('a job and an exec that run longer than the call limit are not cut', async () => {
    const engine = await EngineClient.connect(undefined, undefined, { connectMs: 5000, callMs: 1000 });
    const image = await ensureBusyboxImage(requireEngine());
    const labels = { 'org.nix-runner.test': daemon };
    const job = await engine.createContainer({ image, entrypoint: ['/bin/sh'], labels, stdinOnce: true });
    const sleeper = await engine.createContainer({ image, entrypoint: ['/bin/sh', '-c', 'sleep 60'], labels });
    try {
      const started = Date.now();
      const result = await engine.runWithInput(job, 'sleep 3; echo job done\n');
      expect(result).toMatchObject({ exitCode: 0, stdout: 'job done\n' });
      expect(Date.now() - started).toBeGreaterThan(3000);
      await engine.startContainer(sleeper);
      const exec = await engine.exec(sleeper, ['/bin/sh', '-c', 'sleep 3; echo exec done']);
      expect(exec).toMatchObject({ exitCode: 0, stdout: 'exec done\n' });
    } finally {
      await engine.removeContainer(job);
      await engine.removeContainer(sleeper);
    }
  });
});
