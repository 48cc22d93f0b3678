import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBusyboxImage } from '../../../src/smoke/busybox-image.js';
import { findStoreShell } from '../../../src/smoke/find-store-shell.js';
import { runCli } from '../support/cli.js';
import { requireEngine, skipE2E } from '../support/engine.js';
import { copyRunnerFixture } from '../support/fixtures.js';
import { hostnameDerivation, runRunnerJob } from '../support/job.js';
import { removeDaemon, scratchDir, uniqueName } from '../support/scratch.js';

describe.skipIf(skipE2E)('gc: only while no job uses the daemon', () => {
  const daemon = uniqueName('e2e-gc');
  const jobImage = 'nix-runner/e2e-busybox:1';
  let scratch: Awaited<ReturnType<typeof scratchDir>>;
  let runnerConfig: string;
  let nixPath: string;
  let expression: string;
  let out: string;

  const valid = async (path: string) => {
    const result = await requireEngine().exec(daemon, [`${nixPath}/bin/nix-store`, '--check-validity', path]);
    return result.exitCode === 0;
  };

  beforeAll(async () => {
    const engine = requireEngine();
    scratch = await scratchDir();
    runnerConfig = await copyRunnerFixture(scratch.dir);
    await ensureBusyboxImage(engine, { ref: jobImage });
    const provisioned = await runCli(['provision', '--runner-config', runnerConfig, '--daemon', daemon, '--runner', 'docker-second', '--json']);
    expect(provisioned.exitCode, provisioned.stdout).toBe(0);
    const info = (await engine.inspectContainer(daemon))!;
    nixPath = info.labels['org.nix-runner.nix']!;
    expression = hostnameDerivation((await findStoreShell(engine, info.id, nixPath)).storePath, randomBytes(6).toString('hex'));
    const job = await runRunnerJob(engine, runnerConfig, 'docker-second', jobImage, expression, false);
    expect(job.build?.built).toBe(true);
    out = job.build!.out;
  });

  afterAll(async () => {
    await removeDaemon(requireEngine(), daemon);
    await scratch?.remove();
  });

  it('skips while a job container uses the daemon, and deletes nothing', async () => {
    const engine = requireEngine();
    const job = await engine.createContainer({ image: jobImage, cmd: ['sh', '-c', 'sleep 60'], volumesFrom: [`${daemon}:ro`] });
    try {
      await engine.startContainer(job);
      const result = await runCli(['gc', '--daemon', daemon, '--drain-timeout', '1', '--json']);
      expect(result.exitCode, result.stdout).toBe(0);
      expect(result.json).toMatchObject({ ok: true, deleted: 0 });
      expect(String(result.json.skipped)).toMatch(/1 job\(s\) still use/);
      expect(await valid(out)).toBe(true);
    } finally {
      await engine.removeContainer(job);
    }
  });

  it('keeps what the daemon built (it is rooted) and collects what nothing roots, once idle', async () => {
    const added = await requireEngine().exec(daemon, [`${nixPath}/bin/nix-store`, '--add', '/etc/group']);
    expect(added.exitCode, added.stderr).toBe(0);
    const unrooted = added.stdout.trim();
    const result = await runCli(['gc', '--daemon', daemon, '--json']);
    expect(result.exitCode, result.stdout).toBe(0);
    expect(result.json.skipped).toBeUndefined();
    expect(Number(result.json.deleted)).toBeGreaterThanOrEqual(1);
    expect(await valid(unrooted)).toBe(false);
    expect(await valid(out)).toBe(true);
    expect(await valid(nixPath)).toBe(true);
  });

  it('drops build roots past --max-age (never the newest), then collects what they held; jobs still work', async () => {
    const engine = requireEngine();
    const info = (await engine.inspectContainer(daemon))!;
    const newer = hostnameDerivation((await findStoreShell(engine, info.id, nixPath)).storePath, randomBytes(6).toString('hex'));
    const second = await runRunnerJob(engine, runnerConfig, 'docker-second', jobImage, newer, false);
    expect(second.build?.built).toBe(true);

    const result = await runCli(['gc', '--daemon', daemon, '--max-age', '0', '--json']);
    expect(result.exitCode, result.stdout).toBe(0);
    expect(Number(result.json.rootsDropped)).toBeGreaterThanOrEqual(1);
    expect(await valid(out)).toBe(false);
    expect(await valid(second.build!.out)).toBe(true);
    expect(await valid(nixPath)).toBe(true);
    const again = await runRunnerJob(engine, runnerConfig, 'docker-second', jobImage, expression, false);
    expect(again.build).toMatchObject({ out, built: true });
  });

  it('drops the oldest build roots past --max-size', async () => {
    const result = await runCli(['gc', '--daemon', daemon, '--max-size', '64', '--json']);
    expect(result.exitCode, result.stdout).toBe(0);
    expect(Number(result.json.rootsDropped)).toBeGreaterThanOrEqual(1);
    // the newest build (the rebuild of the first expression) stays; the other one goes
    expect(await valid(out)).toBe(true);
  });

  it('names a missing daemon clearly', async () => {
    const result = await runCli(['gc', '--daemon', `${daemon}-missing`]);
    expect(result.exitCode).toBe(6);
    expect(result.stderr).toMatch(/^nix-runner: error: no nix-runner daemon named .*-missing\n {2}hint: /);
  });
});
