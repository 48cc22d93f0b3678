import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, readFile, realpath, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleHostNix } from '../../../src/nix-cli/bundle-host-nix.js';
import { findOnPath } from '../../../src/nix-cli/host-nix.js';
import { ensureBusyboxImage } from '../../../src/smoke/busybox-image.js';
import { findStoreShell } from '../../../src/smoke/find-store-shell.js';
import { runCli } from '../support/cli.js';
import { requireEngine, skipE2E } from '../support/engine.js';
import { RUNNER_FIXTURE } from '../support/fixtures.js';
import { hostnameDerivation, runRunnerJob } from '../support/job.js';
import { removeDaemon, scratchDir, uniqueName } from '../support/scratch.js';

// A failure after the new daemon is ready must leave the old daemon under its name and config.toml as it
// was: config.toml here lives on a tiny file system that is full when the new daemon is to take over.
describe.skipIf(skipE2E)('a failure at the swap leaves the old daemon and config.toml as they were', () => {
  const daemon = uniqueName('e2e-failclosed');
  const jobImage = 'nix-runner/e2e-busybox:1';
  let scratch: Awaited<ReturnType<typeof scratchDir>>;
  let mountPoint: string;
  let runnerConfig: string;
  let nixA: string;
  let nixB: string;

  const provision = (nix: string) =>
    runCli(['provision', '--runner-config', runnerConfig, '--daemon', daemon, '--runner', 'docker-second', '--image-store-path', nix, '--json']);

  beforeAll(async () => {
    const engine = requireEngine();
    scratch = await scratchDir();
    mountPoint = join(scratch.dir, 'small');
    await mkdir(mountPoint);
    await execa('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', mountPoint]);
    runnerConfig = join(mountPoint, 'config.toml');
    await copyFile(RUNNER_FIXTURE, runnerConfig);
    await ensureBusyboxImage(engine, { ref: jobImage });
    const nixBinary = await realpath((await findOnPath('nix-store'))!);
    nixA = await bundleHostNix({ nixBinary, variant: 'e2e-failclosed-a' });
    nixB = await bundleHostNix({ nixBinary, variant: 'e2e-failclosed-b' });
    const first = await provision(nixA);
    expect(first.exitCode, first.stdout).toBe(0);
  }, 300_000);

  afterAll(async () => {
    await removeDaemon(requireEngine(), daemon);
    if (mountPoint) await execa('umount', [mountPoint], { reject: false });
    await scratch?.remove();
  });

  it('config.toml cannot be written (full disk): exit 7, the old daemon keeps its name and serves jobs, nothing is left behind', async () => {
    const engine = requireEngine();
    const before = (await engine.inspectContainer(daemon))!;
    const text = await readFile(runnerConfig, 'utf8');
    const filler = join(mountPoint, 'filler');
    await writeFile(filler, Buffer.alloc(1024 * 1024)).catch((error: unknown) => expect((error as NodeJS.ErrnoException).code).toBe('ENOSPC'));

    const failed = await provision(nixB);
    expect(failed.exitCode, failed.stdout).toBe(7);
    expect(failed.json.error).toMatchObject({ code: 'runnerConfig' });
    expect(JSON.stringify(failed.json.error)).toMatch(/ENOSPC/);

    const after = (await engine.inspectContainer(daemon))!;
    expect(after.id).toBe(before.id);
    expect(after.running).toBe(true);
    expect(await readFile(runnerConfig, 'utf8')).toBe(text);
    expect(await engine.inspectContainer(`${daemon}-next`)).toBeUndefined();
    const generations = await engine.listContainers({ label: [`org.nix-runner.daemon=${daemon}`] });
    expect(generations.map((c) => c.id)).toEqual([before.id]);

    const nix = before.labels['org.nix-runner.nix']!;
    const expression = hostnameDerivation((await findStoreShell(engine, before.id, nix)).storePath, randomBytes(6).toString('hex'));
    const job = await runRunnerJob(engine, runnerConfig, 'docker-second', jobImage, expression, false);
    expect(job.build?.built, job.script.stderr).toBe(true);

    await rm(filler);
    const retried = await provision(nixB);
    expect(retried.exitCode, retried.stdout).toBe(0);
    expect(retried.json.daemon).toMatchObject({ action: 'replaced', nix: nixB });
    expect(await readFile(runnerConfig, 'utf8')).toContain(`${nixB}/bin`);
  });
});
