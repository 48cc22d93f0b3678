import { readFile, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBusyboxImage } from '../../../src/smoke/busybox-image.js';
import { runCli } from '../support/cli.js';
import { requireEngine, skipE2E } from '../support/engine.js';
import { copyRunnerFixture } from '../support/fixtures.js';
import { removeDaemon, scratchDir, uniqueName } from '../support/scratch.js';
import { createStagedJob, type StagedJob } from '../support/staged-job.js';

interface Problem {
  code: string;
  message: string;
  hint: string;
}
interface DaemonJson {
  name: string;
  state: string;
  generation: string;
  nix: string;
  answers: boolean;
  store: { paths: number; narBytes: number };
  freeBytes: number;
  limits: { pids?: number; memoryBytes?: number };
  generations: { name: string; role: string; generation: string; users: { id: string; state: string }[] }[];
  draining: string[];
  runners: { name: string; nix: string; nixInStore: boolean }[];
  lastGc?: { at: string; skipped?: string; deleted: number };
  leftovers: { containers: { name: string }[]; volumes: { name: string }[] };
  problems: Problem[];
}

describe.skipIf(skipE2E)('status: what each daemon does, and --check', () => {
  const daemon = uniqueName('e2e-status');
  const jobImage = 'nix-runner/e2e-busybox:1';
  let scratch: Awaited<ReturnType<typeof scratchDir>>;
  let runnerConfig: string;
  let env: Record<string, string>;
  let job: StagedJob | undefined;

  const provision = (...extra: string[]) => runCli(['provision', '--runner-config', runnerConfig, '--daemon', daemon, '--runner', 'docker-second', '--json', ...extra], env);
  const status = async (...extra: string[]) => {
    const result = await runCli(['status', '--runner-config', runnerConfig, '--daemon', daemon, '--json', ...extra], env);
    return { ...result, daemon: (result.json.daemons as DaemonJson[] | undefined)?.[0] };
  };

  beforeAll(async () => {
    scratch = await scratchDir();
    runnerConfig = await copyRunnerFixture(scratch.dir);
    env = { NIX_RUNNER_STATE_DIR: scratch.dir };
    await ensureBusyboxImage(requireEngine(), { ref: jobImage });
    const first = await provision();
    expect(first.exitCode, first.stdout).toBe(0);
  });

  afterAll(async () => {
    await job?.remove();
    await removeDaemon(requireEngine(), daemon);
    await scratch?.remove();
  });

  it('shows the generation, nix, socket round trip, store, limits, attached runners and job containers in any state', async () => {
    job = await createStagedJob(requireEngine(), runnerConfig, 'docker-second', jobImage);
    const { exitCode, daemon: d, stdout } = await status('--check');
    expect(exitCode, stdout).toBe(0);
    expect(d).toMatchObject({ name: daemon, state: 'running', answers: true, draining: [], problems: [] });
    expect(d!.generation).toMatch(/^[0-9a-f]{12}$/);
    expect(d!.store.paths).toBeGreaterThan(0);
    expect(d!.store.narBytes).toBeGreaterThan(0);
    expect(d!.freeBytes).toBeGreaterThan(0);
    expect(d!.limits.pids).toBeGreaterThan(0);
    expect(d!.runners).toEqual([{ name: 'docker-second', nix: d!.nix, nixInStore: true }]);
    expect(d!.generations).toEqual([
      expect.objectContaining({ name: daemon, role: 'current', generation: d!.generation, users: [expect.objectContaining({ id: job.id, state: 'created' })] }),
    ]);
    expect(d!.lastGc).toBeUndefined();
  });

  it('shows a retired generation draining while a job between stages still uses it, and the last gc', async () => {
    const stage = await job!.stage(['nix-store --query --hash "${NIX_RUNNER_BIN%/bin}"']);
    expect(stage.exitCode, stage.stderr).toBe(0);
    const swap = await provision('--nix-setting', 'max-jobs=3');
    expect(swap.json, swap.stdout + swap.stderr).toMatchObject({ daemon: { action: 'replaced' } });
    const gc = await runCli(['gc', '--daemon', daemon, '--drain-timeout', '1', '--json'], env);
    expect(gc.json.skipped, gc.stdout).toBeDefined();

    const { daemon: d } = await status();
    expect(d!.generations.map((g) => g.role)).toEqual(['current', 'retired']);
    const retired = d!.generations[1]!;
    expect(retired.name).toBe(`${daemon}-retired-${retired.generation}`);
    expect(retired.users).toEqual([expect.objectContaining({ id: job!.id, state: 'exited' })]);
    expect(d!.draining).toEqual([retired.name]);
    expect(d!.lastGc).toMatchObject({ skipped: expect.stringMatching(/job\(s\) still use/), deleted: 0 });

    await job!.remove();
    job = undefined;
    const again = await provision('--nix-setting', 'max-jobs=3');
    expect(again.exitCode, again.stdout).toBe(0);
    expect((await status()).daemon!.generations.map((g) => g.role)).toEqual(['current']);
  });

  it('--check: a stopped daemon is a problem (exit 6) with a hint, until provision starts it again', async () => {
    const engine = requireEngine();
    await engine.stopContainer(daemon);
    const stopped = await status('--check');
    expect(stopped.exitCode).toBe(6);
    expect(stopped.json.ok).toBe(false);
    expect(stopped.daemon!.problems).toEqual([expect.objectContaining({ code: 'daemon', message: `daemon ${daemon} is exited`, hint: expect.stringMatching(/nix-runner provision/) })]);
    // Without --check the same report exits 0.
    expect((await status()).exitCode).toBe(0);
    const human = await runCli(['status', '--runner-config', runnerConfig, '--daemon', daemon, '--check'], env);
    expect(human.exitCode).toBe(6);
    expect(human.stdout).toMatch(new RegExp(`✗ daemon ${daemon} is exited\\n {4}hint: `));
    expect((await provision('--nix-setting', 'max-jobs=3')).exitCode).toBe(0);
    expect((await status('--check')).exitCode).toBe(0);
  });

  it('--check: config.toml pointing at a nix the store does not have is a config.toml problem (exit 7)', async () => {
    const text = await readFile(runnerConfig, 'utf8');
    const fake = '/nix/store/00000000000000000000000000000000-nix-not-there';
    await writeFile(runnerConfig, text.replace(/NIX_RUNNER_BIN=\/nix\/store\/[^/"]+/, `NIX_RUNNER_BIN=${fake}`));
    try {
      const result = await status('--check');
      expect(result.exitCode, result.stdout).toBe(7);
      expect(result.daemon!.runners).toEqual([{ name: 'docker-second', nix: fake, nixInStore: false }]);
      expect(result.daemon!.problems[0]).toMatchObject({ code: 'runnerConfig', message: expect.stringContaining(`jobs run nix ${fake}, which the store of ${daemon} does not have`) });
    } finally {
      await writeFile(runnerConfig, text);
    }
  });

  it('--check: what a killed run left behind is a problem until the next provision removes it', async () => {
    const engine = requireEngine();
    // A helper of a run that is gone: this host, this boot, a pid no process has.
    const boot = (await readFile('/proc/sys/kernel/random/boot_id', 'utf8')).trim().replace(/-/g, '').slice(0, 12);
    const labels = { 'org.nix-runner.managed': 'true', 'org.nix-runner.role': 'helper', 'org.nix-runner.daemon': daemon, 'org.nix-runner.run': `${hostname()}/${boot}/999999999/1` };
    const leftover = await engine.createContainer({ image: jobImage, cmd: ['true'], labels, mounts: [{ volume: `${daemon}-store`, target: '/seed' }] });
    const found = await status('--check');
    expect(found.exitCode).toBe(6);
    expect(found.daemon!.leftovers.containers).toEqual([expect.objectContaining({ name: (await engine.inspectContainer(leftover))!.name })]);
    const cleaned = await provision('--nix-setting', 'max-jobs=3');
    expect(cleaned.json.leftovers).toHaveLength(1);
    expect(await engine.inspectContainer(leftover)).toBeUndefined();
    expect((await status('--check')).exitCode).toBe(0);
  });

  it('--check: a daemon that does not exist is a problem', async () => {
    const result = await runCli(['status', '--runner-config', runnerConfig, '--daemon', `${daemon}-missing`, '--check', '--json'], env);
    expect(result.exitCode).toBe(6);
    expect((result.json.problems as Problem[])[0]).toMatchObject({ message: `daemon ${daemon}-missing does not exist` });
  });
});
