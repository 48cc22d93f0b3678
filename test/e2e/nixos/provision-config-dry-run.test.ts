import { readFile, realpath, stat } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleHostNix } from '../../../src/nix-cli/bundle-host-nix.js';
import { ensureStorePathImage } from '../../../src/image/store-path-image.js';
import { findOnPath, resolveHostNix } from '../../../src/nix-cli/host-nix.js';
import { nixTool } from '../../nix/nix-eval.js';
import { runCli } from '../support/cli.js';
import { requireEngine, skipE2E } from '../support/engine.js';
import { scratchDir, uniqueName } from '../support/scratch.js';
import { RUNNER_NAMES, copyNixosRunnerFixture, provisionConfigs, writeProvisionConfig, type ProvisionConfig } from './module-config.js';

// What the NixOS module generates (nix/provision-config.nix, evaluated by the nix on PATH) must be a
// config `nix-runner provision` takes: checked with --dry-run against the real engine and nix, on a
// config.toml laid out as nixpkgs' gitlab-runner module writes it.
describe.skipIf(skipE2E || nixTool.skip)(`provision --dry-run --config <output of nix/provision-config.nix>${nixTool.note}`, () => {
  const daemon = uniqueName('e2e-nixcfg');
  let scratch: Awaited<ReturnType<typeof scratchDir>>;
  let runnerConfig: string;
  let bundledNix: string;
  let hostNix: string;

  beforeAll(async () => {
    scratch = await scratchDir();
    runnerConfig = await copyNixosRunnerFixture(scratch.dir);
    const nixStore = await findOnPath('nix-store');
    if (!nixStore) throw new Error('no nix-store on PATH');
    bundledNix = await bundleHostNix({ nixBinary: await realpath(nixStore), variant: 'a' });
    hostNix = (await resolveHostNix()).nixPath;
    // With the images in the engine a dry run knows the daemon's nix, so it shows the whole config.toml diff.
    for (const nixPath of [hostNix, bundledNix]) await ensureStorePathImage(requireEngine(), nixPath);
  });

  afterAll(async () => {
    await scratch?.remove();
  });

  async function dryRun(config: ProvisionConfig) {
    const file = await writeProvisionConfig(scratch.dir, config);
    const before = await stat(runnerConfig);
    const text = await readFile(runnerConfig, 'utf8');
    const result = await runCli(['provision', '--dry-run', '--json', '--config', file]);
    // A dry run writes nothing, whatever it would change.
    expect((await stat(runnerConfig)).mtimeMs).toBe(before.mtimeMs);
    expect(await readFile(runnerConfig, 'utf8')).toBe(text);
    return result;
  }

  it('accepts the defaults: every docker runner, the image from the host nix', async () => {
    const configs = await provisionConfigs({ runnerConfigFile: runnerConfig, daemons: { [daemon]: {} } });
    const result = await dryRun(configs[daemon]!);

    expect(result.exitCode, result.stdout + result.stderr).toBe(0);
    expect(result.json).toMatchObject({
      ok: true,
      dryRun: true,
      changed: true,
      daemon: { name: daemon, action: 'created', nix: hostNix },
      runners: [RUNNER_NAMES.nix, RUNNER_NAMES.docs],
      runnerConfig: { path: runnerConfig, changed: true },
    });
    expect((result.json.runnerConfig as { diff: string }).diff).toContain(`"${daemon}:ro"`);
  });

  it('accepts named runners, typed nix.conf settings and a store-path image', async () => {
    const configs = await provisionConfigs({
      runnerConfigFile: runnerConfig,
      daemons: {
        [daemon]: {
          runners: ['nix'],
          image: { ref: null, archive: null, storePath: bundledNix, flake: null },
          // As pkgs.formats.keyValue { listToValue = …; } hands them over: every value a list.
          settings: {
            substituters: ['https://cache.nixos.org', 'https://nix-community.cachix.org'],
            'trusted-public-keys': ['cache.nixos.org-1:6NCHdD59X431o0gWypbMrAURkbJ16ZPMQFGspcDShjY='],
            'max-jobs': [4],
            'keep-outputs': [true],
            'netrc-file': [null],
          },
        },
      },
    });
    expect(configs[daemon]).toMatchObject({ imageStorePath: bundledNix, runners: [RUNNER_NAMES.nix] });
    const result = await dryRun(configs[daemon]!);

    expect(result.exitCode, result.stdout + result.stderr).toBe(0);
    expect(result.json).toMatchObject({
      ok: true,
      daemon: { name: daemon, nix: bundledNix },
      runners: [RUNNER_NAMES.nix],
    });
    const diff = (result.json.runnerConfig as { diff: string }).diff;
    expect(diff).toContain(`"${daemon}:ro"`);
    expect(diff).toContain('NIX_REMOTE=daemon');
  });

  it('accepts a flake image given as a store path, as the module passes its default image', async () => {
    const configs = await provisionConfigs({ runnerConfigFile: runnerConfig, daemons: { [daemon]: { runners: ['docs'], image: { flake: bundledNix } } } });
    expect(configs[daemon]).toMatchObject({ imageFlake: bundledNix });
    const result = await dryRun(configs[daemon]!);

    expect(result.exitCode, result.stdout + result.stderr).toBe(0);
    expect(result.json).toMatchObject({ ok: true, dryRun: true, daemon: { name: daemon } });
  });

  it('accepts each config of a module with two daemons', async () => {
    const other = `${daemon}-docs`;
    const configs = await provisionConfigs({
      runnerConfigFile: runnerConfig,
      daemons: { [daemon]: { runners: ['nix'] }, [other]: { runners: ['docs'], settings: { 'max-jobs': [8] } } },
    });

    for (const [name, runner] of [[daemon, RUNNER_NAMES.nix], [other, RUNNER_NAMES.docs]] as const) {
      const result = await dryRun(configs[name]!);
      expect(result.exitCode, result.stdout + result.stderr).toBe(0);
      expect(result.json).toMatchObject({ ok: true, daemon: { name }, runners: [runner] });
    }
  });

  it('refuses a runner name that config.toml does not hold, and says which names it has', async () => {
    const configs = await provisionConfigs({ runnerConfigFile: runnerConfig, runnerNames: {}, daemons: { [daemon]: { runners: ['nix'] } } });
    const result = await dryRun(configs[daemon]!);

    expect(result.exitCode).not.toBe(0);
    expect(result.json).toMatchObject({ ok: false });
    expect(JSON.stringify(result.json)).toContain('no runner named \\"nix\\"');
    expect(JSON.stringify(result.json)).toContain(RUNNER_NAMES.nix);
  });
});
