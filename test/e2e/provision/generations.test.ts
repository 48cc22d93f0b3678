import { realpath } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ContainerInfo } from '../../../src/engine/engine-types.js';
import { bundleHostNix } from '../../../src/nix-cli/bundle-host-nix.js';
import { findOnPath } from '../../../src/nix-cli/host-nix.js';
import { ensureBusyboxImage } from '../../../src/smoke/busybox-image.js';
import { runCli } from '../support/cli.js';
import { requireEngine, skipE2E } from '../support/engine.js';
import { copyRunnerFixture } from '../support/fixtures.js';
import { removeDaemon, scratchDir, uniqueName } from '../support/scratch.js';
import { createStagedJob, daemonStage, type StagedJob } from '../support/staged-job.js';

const GENERATION = 'org.nix-runner.generation';
const SOCKET_DIR = '/nix/var/nix/daemon-socket';

// GitLab Runner starts one build container per job again for every stage: a job whose container exists
// (stopped) across a swap must find its daemon at its next stage, whatever image comes next.
describe.skipIf(skipE2E)('daemon generations and the jobs that use them, across swaps and a rollback', () => {
  const daemon = uniqueName('e2e-gen');
  const jobImage = 'nix-runner/e2e-busybox:1';
  let scratch: Awaited<ReturnType<typeof scratchDir>>;
  let runnerConfig: string;
  let nixA: string;
  let nixB: string;
  const jobs: StagedJob[] = [];
  const generations: ContainerInfo[] = [];

  const provision = (nix: string) =>
    runCli(['provision', '--runner-config', runnerConfig, '--daemon', daemon, '--runner', 'docker-second', '--image-store-path', nix, '--json']);
  const job = async () => {
    const created = await createStagedJob(requireEngine(), runnerConfig, 'docker-second', jobImage);
    jobs.push(created);
    return created;
  };
  const expectStage = async (staged: StagedJob, tag: string) => {
    const result = await staged.stage(daemonStage(tag));
    expect(result.exitCode, `${result.stderr}${result.stdout}`).toBe(0);
    expect(result.stdout).toMatch(/^stage-ok \/nix\/store\/\S+$/m);
  };
  const socketOf = (container: ContainerInfo) => container.mounts.find((mount) => mount.destination === SOCKET_DIR)!.name!;
  const swapTo = async (nix: string) => {
    const result = await provision(nix);
    expect(result.exitCode, result.stdout + result.stderr).toBe(0);
    const current = (await requireEngine().inspectContainer(daemon))!;
    generations.push(current);
    return { result, current };
  };
  const daemonContainers = async () =>
    (await requireEngine().listContainers({ label: [`org.nix-runner.daemon=${daemon}`] })).filter((c) => c.labels['org.nix-runner.role'] === 'daemon');

  beforeAll(async () => {
    const engine = requireEngine();
    scratch = await scratchDir();
    runnerConfig = await copyRunnerFixture(scratch.dir);
    await ensureBusyboxImage(engine, { ref: jobImage });
    const nixBinary = await realpath((await findOnPath('nix-store'))!);
    nixA = await bundleHostNix({ nixBinary, variant: 'e2e-generation-a' });
    nixB = await bundleHostNix({ nixBinary, variant: 'e2e-generation-b' });
    await swapTo(nixA);
  }, 300_000);

  afterAll(async () => {
    const engine = requireEngine();
    for (const staged of jobs) await staged.remove();
    await removeDaemon(engine, daemon);
    await scratch?.remove();
  });

  it('keeps serving a job created before a swap (stage 1 before it, stage 2 after) and one created but not started', async () => {
    const engine = requireEngine();
    const started = await job();
    await expectStage(started, 'one');
    const notStarted = await job();
    expect((await engine.inspectContainer(notStarted.id))!.status).toBe('created');

    const { result, current } = await swapTo(nixB);
    expect(result.json).toMatchObject({ daemon: { action: 'replaced', nix: nixB } });
    const [first] = generations;
    const retired = (await engine.inspectContainer(first!.id))!;
    expect(retired).toMatchObject({ running: true, name: `${daemon}-retired-${first!.labels[GENERATION]}` });
    expect(current.labels[GENERATION]).not.toBe(first!.labels[GENERATION]);

    await expectStage(started, 'two');
    await expectStage(notStarted, 'one');
    await expectStage(notStarted, 'two');
  });

  it('rolls back to the first image as a new generation with a socket of its own, while every old one serves its jobs', async () => {
    const engine = requireEngine();
    const underB = await job();
    await expectStage(underB, 'one');

    const { result, current } = await swapTo(nixA);
    expect(result.json).toMatchObject({ daemon: { action: 'replaced', nix: nixA } });
    const ids = generations.map((generation) => generation.labels[GENERATION]);
    expect(new Set(ids).size).toBe(3);
    expect(new Set(generations.map(socketOf)).size).toBe(3);
    expect(socketOf(current)).toBe(`${daemon}-socket-${current.labels[GENERATION]}`);
    // Both earlier generations still have job containers (stopped between stages): both keep running.
    for (const old of generations.slice(0, 2)) expect((await engine.inspectContainer(old.id))?.running).toBe(true);

    await expectStage(underB, 'two');
    for (const staged of jobs.slice(0, 2)) await expectStage(staged, 'three');
  });

  it('gc waits for job containers of every generation, and never for the daemon generations themselves', async () => {
    const waiting = await runCli(['gc', '--daemon', daemon, '--drain-timeout', '1', '--json']);
    expect(waiting.exitCode, waiting.stdout).toBe(0);
    expect(String(waiting.json.skipped)).toMatch(/^3 job\(s\) still use/);

    for (const staged of jobs.splice(0)) await staged.remove();
    // The retired generations are still there (no provision since): they are not users.
    expect(await daemonContainers()).toHaveLength(3);
    const gc = await runCli(['gc', '--daemon', daemon, '--drain-timeout', '5', '--json']);
    expect(gc.exitCode, gc.stdout).toBe(0);
    expect(gc.json.skipped).toBeUndefined();
  });

  it('removes every drained generation and its socket volume on the next run, and gc still runs', async () => {
    const engine = requireEngine();
    const result = await provision(nixA);
    expect(result.exitCode, result.stdout).toBe(0);
    expect(result.json, JSON.stringify(result.json.daemon)).toMatchObject({ daemon: { action: 'unchanged' } });
    const left = await daemonContainers();
    expect(left.map((c) => c.name)).toEqual([daemon]);
    const sockets = (await engine.listVolumeNames(`${daemon}-socket-`)).sort();
    expect(sockets).toEqual([socketOf(generations.at(-1)!)]);
    const gc = await runCli(['gc', '--daemon', daemon, '--drain-timeout', '5', '--json']);
    expect(gc.exitCode, gc.stdout).toBe(0);
    expect(gc.json.skipped).toBeUndefined();
  });
});
