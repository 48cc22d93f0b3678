import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseRunnerConfig } from '../../../src/runner-config/toml/document.js';
import { nixTool } from '../../nix/nix-eval.js';
import { runCli } from '../support/cli.js';
import { requireEngine, skipE2E } from '../support/engine.js';
import { removeDaemon, scratchDir, uniqueName } from '../support/scratch.js';
import { provisionConfigs, writeProvisionConfig } from './module-config.js';

type Runner = { name: string; url: string; token: string; executor: string; limit?: bigint; docker: Record<string, unknown>; environment?: string[] };

// services.nix-runner.runners, as nix/provision-config.nix hands them to `provision --config`: a NixOS
// host gets complete [[runners]] entries without `gitlab-runner register`, on the real engine and nix.
describe.skipIf(skipE2E || nixTool.skip)(`runners declared through the module${nixTool.note}`, () => {
  const daemon = uniqueName('e2e-declared');
  let scratch: Awaited<ReturnType<typeof scratchDir>>;
  let runnerConfig: string;
  let tokenFile: string;

  const runners = async () => parseRunnerConfig(await readFile(runnerConfig, 'utf8'), runnerConfig).table.runners as Runner[];
  const provision = async (declaredRunners: object) => {
    const configs = await provisionConfigs({ runnerConfigFile: runnerConfig, daemons: { [daemon]: {} }, declaredRunners });
    const result = await runCli(['provision', '--json', '--config', await writeProvisionConfig(scratch.dir, configs[daemon]!)]);
    expect(result.exitCode, result.stdout + result.stderr).toBe(0);
    return result;
  };

  beforeAll(async () => {
    scratch = await scratchDir();
    // a host with no runner registered at all: GitLab Runner has not even written config.toml yet
    runnerConfig = join(scratch.dir, 'config.toml');
    tokenFile = join(scratch.dir, 'ci-token');
    await writeFile(tokenFile, 'glrt-e2e-declared-token\n', { mode: 0o600 });
  });

  afterAll(async () => {
    await removeDaemon(requireEngine(), daemon);
    await scratch?.remove();
  });

  it('writes a complete [[runners]] entry attached to the daemon, its token read from the file', async () => {
    const result = await provision({ ci: { daemon, url: 'https://gitlab.example.com', tokenFile, image: 'alpine:3.20', limit: 2, docker: { privileged: false } } });
    expect(result.json).toMatchObject({ ok: true, runners: ['ci'], daemon: { name: daemon } });
    expect(result.stdout).not.toContain('glrt-e2e-declared-token');
    const [ci, ...others] = await runners();
    expect(others).toEqual([]);
    expect(ci).toMatchObject({ name: 'ci', url: 'https://gitlab.example.com', token: 'glrt-e2e-declared-token', executor: 'docker', limit: 2n });
    expect(ci!.docker).toMatchObject({ image: 'alpine:3.20', privileged: false, volumes_from: [`${daemon}:ro`] });
    expect(ci!.environment).toContain('NIX_REMOTE=daemon');
  });

  it('removes the entry once the runner is no longer declared', async () => {
    await provision({});
    expect((await runners()) ?? []).toEqual([]);
  });
});
