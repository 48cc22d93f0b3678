import { readFile, stat, realpath } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleHostNix } from '../../../src/nix-cli/bundle-host-nix.js';
import { resolveHostNix, findOnPath } from '../../../src/nix-cli/host-nix.js';
import { ensureBusyboxImage } from '../../../src/smoke/busybox-image.js';
import { findStoreShell } from '../../../src/smoke/find-store-shell.js';
import { parseRunnerConfig } from '../../../src/runner-config/toml/document.js';
import { runCli } from '../support/cli.js';
import { requireEngine, skipE2E } from '../support/engine.js';
import { copyRunnerFixture } from '../support/fixtures.js';
import { hostnameDerivation, runRunnerJob } from '../support/job.js';
import { removeDaemon, scratchDir, uniqueName } from '../support/scratch.js';

// One daemon through its life: first provision, jobs through the shared store, a no-op provision,
// removal by hand, and an upgrade to a nix with another store path.
describe.skipIf(skipE2E)('provision lifecycle on the real engine and nix', () => {
  const daemon = uniqueName('e2e-life');
  const cacheHelper = 'cache-helper';
  const jobImage = 'nix-runner/e2e-busybox:1';
  const secondImage = 'nix-runner/e2e-busybox-alt:1';
  let scratch: Awaited<ReturnType<typeof scratchDir>>;
  let runnerConfig: string;
  let expression: string;
  let firstOut: string;
  let daemonId: string;

  const provision = (...extra: string[]) => runCli(['provision', '--runner-config', runnerConfig, '--daemon', daemon, '--json', ...extra]);

  beforeAll(async () => {
    const engine = requireEngine();
    scratch = await scratchDir();
    runnerConfig = await copyRunnerFixture(scratch.dir);
    await ensureBusyboxImage(engine, { ref: jobImage });
    // A second image laid out like kaniko's debug image: its only shell is /busybox/sh, on its own PATH.
    await ensureBusyboxImage(engine, { ref: secondImage, shellDir: 'busybox', path: '/usr/local/bin:/busybox' });
    // The fixture's docker-main mounts volumes from "cache-helper", as real setups do; it must exist.
    const stale = await engine.inspectContainer(cacheHelper);
    if (stale) await engine.removeContainer(stale.id);
    await engine.createContainer({ name: cacheHelper, image: jobImage, cmd: ['true'], mounts: [{ volume: `${daemon}-cache`, target: '/cache-data' }] });
  });

  afterAll(async () => {
    const engine = requireEngine();
    const helper = await engine.inspectContainer(cacheHelper);
    if (helper) await engine.removeContainer(helper.id);
    await removeDaemon(engine, daemon);
    await scratch?.remove();
  });

  it('with --dry-run says what would change, with a diff of config.toml, and changes nothing', async () => {
    const text = await readFile(runnerConfig, 'utf8');
    const result = await provision('--dry-run');
    expect(result.exitCode, result.stdout).toBe(0);
    expect(result.json).toMatchObject({ ok: true, changed: true, dryRun: true, daemon: { action: 'created' } });
    expect((result.json.runnerConfig as { diff: string }).diff).toMatch(new RegExp(`^\\+.*${daemon}:ro`, 'm'));
    expect(await readFile(runnerConfig, 'utf8')).toBe(text);
    expect(await requireEngine().inspectContainer(daemon)).toBeUndefined();
    expect((await requireEngine().listVolumeNames(daemon)).filter((name) => !name.endsWith('-cache'))).toEqual([]);
  });

  it('provisions a daemon and attaches both docker runners', async () => {
    const result = await provision();
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
    expect(result.json).toMatchObject({ ok: true, changed: true, runners: ['docker-main', 'docker-second'], daemon: { name: daemon } });
    // without --sandbox, provision says what that leaves open, every time
    expect(result.json.warnings).toEqual([expect.stringMatching(/^builds run without the sandbox: /)]);
    const info = await requireEngine().inspectContainer(daemon);
    expect(info?.running).toBe(true);
    daemonId = info!.id;
    expect((result.json.daemon as { id: string }).id).toBe(daemonId);
  });

  it('runs a job from a busybox-only image that builds in the daemon, with nix in after_script too', async () => {
    const engine = requireEngine();
    const info = (await engine.inspectContainer(daemon))!;
    const shell = await findStoreShell(engine, info.id, info.labels['org.nix-runner.nix']!);
    expression = hostnameDerivation(shell.storePath, randomBytes(6).toString('hex'));
    const job = await runRunnerJob(engine, runnerConfig, 'docker-main', jobImage, expression);
    expect(job.script.exitCode, job.script.stderr).toBe(0);
    expect(job.build).toMatchObject({ built: true, content: `built-on-${info.hostname}` });
    expect(job.after).toMatchObject({ out: job.build!.out, built: false });
    firstOut = job.build!.out;
  });

  it('gives a job from a second image the same output without a rebuild', async () => {
    const job = await runRunnerJob(requireEngine(), runnerConfig, 'docker-second', secondImage, expression, false);
    expect(job.script.exitCode, job.script.stderr).toBe(0);
    expect(job.build).toMatchObject({ out: firstOut, built: false });
  });

  it('changes nothing when run again: same container, config.toml not written', async () => {
    const before = await stat(runnerConfig);
    const text = await readFile(runnerConfig, 'utf8');
    const result = await provision();
    expect(result.exitCode).toBe(0);
    expect(result.json).toMatchObject({ ok: true, changed: false, daemon: { id: daemonId, action: 'unchanged' } });
    expect((await stat(runnerConfig)).mtimeMs).toBe(before.mtimeMs);
    expect(await readFile(runnerConfig, 'utf8')).toBe(text);
  });

  it('brings a daemon removed by hand back, with the store content still there', async () => {
    const engine = requireEngine();
    await engine.removeContainer(daemonId);
    const result = await provision();
    expect(result.exitCode).toBe(0);
    expect(result.json).toMatchObject({ ok: true, changed: true, daemon: { action: 'created' } });
    const job = await runRunnerJob(engine, runnerConfig, 'docker-main', jobImage, expression, false);
    expect(job.build).toMatchObject({ out: firstOut, built: false });
    daemonId = (result.json.daemon as { id: string }).id;
  });

  it('upgrades to a daemon image with another nix store path and keeps the cache', async () => {
    const engine = requireEngine();
    const host = await resolveHostNix();
    const nixBinary = await realpath((await findOnPath('nix-store'))!);
    const upgraded = host.bundled ? await bundleHostNix({ nixBinary, variant: `e2e-upgrade` }) : host.nixPath;
    expect(upgraded).not.toBe(host.nixPath);
    const result = await provision('--image-store-path', upgraded);
    expect(result.exitCode, result.stdout).toBe(0);
    expect(result.json).toMatchObject({ ok: true, changed: true, daemon: { action: 'replaced', nix: upgraded } });
    expect((result.json.daemon as { id: string }).id).not.toBe(daemonId);
    expect(await engine.inspectContainer(daemonId)).toBeUndefined();

    const doc = parseRunnerConfig(await readFile(runnerConfig, 'utf8'), runnerConfig);
    const runners = doc.table.runners as { environment: string[] }[];
    for (const runner of runners.slice(0, 2)) expect(runner.environment).toContain(`NIX_RUNNER_BIN=${upgraded}/bin`);
    const job = await runRunnerJob(engine, runnerConfig, 'docker-second', secondImage, expression);
    expect(job.script.exitCode, job.script.stderr).toBe(0);
    expect(job.build).toMatchObject({ out: firstOut, built: false });
    expect(job.after).toMatchObject({ out: firstOut, built: false });
  });

  it('passes the smoke command on the provisioned runners', async () => {
    const result = await runCli(['smoke', '--runner-config', runnerConfig, '--runner', 'docker-second', '--json']);
    expect(result.exitCode, result.stdout + result.stderr).toBe(0);
    expect(result.json).toMatchObject({ ok: true, builtByDaemon: true, cacheHit: true, afterScript: true });
  });
});
