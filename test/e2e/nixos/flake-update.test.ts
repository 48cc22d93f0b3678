import { randomBytes } from 'node:crypto';
import { readFile, realpath, stat } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleHostNix } from '../../../src/nix-cli/bundle-host-nix.js';
import { findOnPath } from '../../../src/nix-cli/host-nix.js';
import { ensureBusyboxImage } from '../../../src/smoke/busybox-image.js';
import { findStoreShell } from '../../../src/smoke/find-store-shell.js';
import { nixTool } from '../../nix/nix-eval.js';
import { runCli } from '../support/cli.js';
import { requireEngine, skipE2E } from '../support/engine.js';
import { hostnameDerivation, runRunnerJob } from '../support/job.js';
import { removeDaemon, scratchDir, uniqueName } from '../support/scratch.js';
import { RUNNER_NAMES, copyNixosRunnerFixture, provisionConfigs, writeProvisionConfig, type ProvisionConfig } from './module-config.js';

interface DaemonJson {
  id: string;
  nix: string;
  action: string;
}

// A flake update as the NixOS module sees it: the daemon's image path changes, so
// nix/provision-config.nix gives another config, and `nix-runner provision --config` (gitlab-runner's
// ExecStartPre/ExecReload) replaces the daemon on the same store volume. Real engine, real nix.
describe.skipIf(skipE2E || nixTool.skip)(`a flake update: new image path, new config, re-provision that keeps the store${nixTool.note}`, () => {
  const daemon = uniqueName('e2e-flake');
  const jobImage = 'nix-runner/e2e-busybox:1';
  let scratch: Awaited<ReturnType<typeof scratchDir>>;
  let runnerConfig: string;
  let nixA: string;
  let nixB: string;
  let configA: ProvisionConfig;
  let configB: ProvisionConfig;
  let fileA: string;
  let fileB: string;
  let first: DaemonJson;
  let expression: string;
  let built: string;

  // The module's options for this daemon, with the image of one flake revision.
  const moduleOptions = (storePath: string) => ({
    runnerConfigFile: runnerConfig,
    daemons: { [daemon]: { runners: ['nix'], image: { storePath }, settings: { 'max-jobs': [2] } } },
  });
  const provision = (file: string) => runCli(['provision', '--json', '--config', file]);

  beforeAll(async () => {
    const engine = requireEngine();
    scratch = await scratchDir();
    runnerConfig = await copyNixosRunnerFixture(scratch.dir);
    const nixStore = await findOnPath('nix-store');
    if (!nixStore) throw new Error('no nix-store on PATH');
    const nixBinary = await realpath(nixStore);
    // Two builds of the same nix with different store paths stand in for two revisions of the flake.
    nixA = await bundleHostNix({ nixBinary, variant: 'a' });
    nixB = await bundleHostNix({ nixBinary, variant: 'b' });
    await ensureBusyboxImage(engine, { ref: jobImage });
  });

  afterAll(async () => {
    await removeDaemon(requireEngine(), daemon);
    await scratch?.remove();
  });

  it('gives a different provisioner config for a new image path, and the same one for the same path', async () => {
    configA = (await provisionConfigs(moduleOptions(nixA)))[daemon]!;
    configB = (await provisionConfigs(moduleOptions(nixB)))[daemon]!;
    const again = (await provisionConfigs(moduleOptions(nixA)))[daemon]!;

    expect(nixB).not.toBe(nixA);
    expect(configA).toMatchObject({ daemon, imageStorePath: nixA, runners: [RUNNER_NAMES.nix], nixSettings: { 'max-jobs': 2 } });
    expect(configB).toEqual({ ...configA, imageStorePath: nixB });
    expect(JSON.stringify(again)).toBe(JSON.stringify(configA));
    fileA = await writeProvisionConfig(scratch.dir, configA, '-a');
    fileB = await writeProvisionConfig(scratch.dir, configB, '-b');
  });

  it('provisions the daemon from the first config', async () => {
    const result = await provision(fileA);

    expect(result.exitCode, result.stdout + result.stderr).toBe(0);
    expect(result.json).toMatchObject({ ok: true, changed: true, daemon: { name: daemon, action: 'created', nix: nixA }, runners: [RUNNER_NAMES.nix] });
    first = result.json.daemon as DaemonJson;
    const info = await requireEngine().inspectContainer(daemon);
    expect(info).toMatchObject({ id: first.id, running: true, labels: { 'org.nix-runner.nix': nixA } });
    const text = await readFile(runnerConfig, 'utf8');
    expect(text).toContain(`"${daemon}:ro"`);
    expect(text).toContain('glrt-nix-0123456789');
  });

  it('changes nothing when provisioned again with the same config (a rebuild without update)', async () => {
    const before = await stat(runnerConfig);
    const result = await provision(fileA);

    expect(result.exitCode, result.stdout + result.stderr).toBe(0);
    expect(result.json).toMatchObject({ ok: true, changed: false, daemon: { id: first.id, action: 'unchanged' } });
    expect((await stat(runnerConfig)).mtimeMs).toBe(before.mtimeMs);
  });

  it('builds into the shared store from a job of the attached runner', async () => {
    const engine = requireEngine();
    const shell = await findStoreShell(engine, first.id, nixA);
    expression = hostnameDerivation(shell.storePath, randomBytes(6).toString('hex'));
    const job = await runRunnerJob(engine, runnerConfig, RUNNER_NAMES.nix, jobImage, expression, false);

    expect(job.script.exitCode, job.script.stderr).toBe(0);
    expect(job.build).toMatchObject({ built: true });
    built = job.build!.out;
  });

  it('replaces the daemon for the second config and keeps what was built', async () => {
    const engine = requireEngine();
    const result = await provision(fileB);

    expect(result.exitCode, result.stdout + result.stderr).toBe(0);
    expect(result.json).toMatchObject({ ok: true, changed: true, daemon: { name: daemon, action: 'replaced', nix: nixB } });
    const second = result.json.daemon as DaemonJson;
    expect(second.id).not.toBe(first.id);
    expect(await engine.inspectContainer(first.id)).toBeUndefined();
    const info = await engine.inspectContainer(daemon);
    expect(info).toMatchObject({ id: second.id, running: true, labels: { 'org.nix-runner.nix': nixB } });
    expect(await readFile(runnerConfig, 'utf8')).toContain(`${nixB}/bin`);

    const valid = await engine.exec(second.id, [`${nixB}/bin/nix-store`, '--check-validity', built], ['NIX_REMOTE=daemon']);
    expect(valid.exitCode, valid.stderr).toBe(0);
    const job = await runRunnerJob(engine, runnerConfig, RUNNER_NAMES.nix, jobImage, expression, false);
    expect(job.script.exitCode, job.script.stderr).toBe(0);
    expect(job.build).toMatchObject({ out: built, built: false });
  });
});
