import { chmod, copyFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { evalJson } from '../../nix/nix-eval.js';

export const NIXOS_RUNNER_FIXTURE = fileURLToPath(new URL('./fixtures/config.toml', import.meta.url));

/** How nixpkgs registered services.gitlab-runner.services.{nix,docs} in the fixture; the module passes this map. */
export const RUNNER_NAMES = { nix: 'nix_ci-host_0123456789ab', docs: 'docs_ci-host_ba9876543210' };

export type ProvisionConfig = Record<string, unknown> & { daemon: string };

/**
 * nix/provision-config.nix evaluated by the plain nix on PATH, as the module calls it: daemon options
 * (image, runners, settings as pkgs.formats.keyValue hands them over), engine, config.toml, runner names.
 */
export function provisionConfigs(options: object): Promise<Record<string, ProvisionConfig>> {
  return evalJson<Record<string, ProvisionConfig>>({
    expr: '{ options }: import ./nix/provision-config.nix (builtins.fromJSON options)',
    argstr: { options: JSON.stringify({ runnerNames: RUNNER_NAMES, ...options }) },
  });
}

/** Writes a config as the module does (nix-runner-<daemon>.json) and returns its path. */
export async function writeProvisionConfig(dir: string, config: ProvisionConfig, suffix = ''): Promise<string> {
  const file = join(dir, `nix-runner-${config.daemon}${suffix}.json`);
  await writeFile(file, `${JSON.stringify(config)}\n`);
  return file;
}

/** A copy of the NixOS-style config.toml, mode 0600 as gitlab-runner writes it. */
export async function copyNixosRunnerFixture(dir: string): Promise<string> {
  const path = join(dir, 'config.toml');
  await copyFile(NIXOS_RUNNER_FIXTURE, path);
  await chmod(path, 0o600);
  return path;
}
