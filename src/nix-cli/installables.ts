import { realpath } from 'node:fs/promises';
import { UserError } from '../errors.js';
import { buildResults, nixBuildJson } from './nix-build.js';
import type { NixTools } from './nix-tool.js';
import { storePathOf } from './store-path.js';

/** The output paths in `nix build --json`: every output of every result. */
export function outputsOfBuildJson(json: string): string[] {
  return buildResults(json).flatMap((result) => (result.outputs ? Object.values(result.outputs) : result.path ? [result.path] : []));
}

/** A store path (or a path inside one, or a link to one), else undefined: an installable nix must build. */
async function asStorePath(installable: string): Promise<string | undefined> {
  const resolved = installable.startsWith('/') ? await realpath(installable).catch(() => installable) : installable;
  return storePathOf(resolved);
}

/**
 * The store paths each installable stands for (a store path stands for itself; a flake installable for
 * the outputs `nix build` makes of it). Everything to build goes to one `nix build`: nix orders the
 * builds by their dependencies and runs what it can in parallel. nix sorts its --json results, so with
 * more than one installable each is then asked on its own (evaluation only: everything is built).
 */
export async function resolveInstallables(installables: string[], tools: NixTools = {}): Promise<Map<string, string[]>> {
  const resolved = new Map<string, string[]>();
  const toBuild: string[] = [];
  for (const installable of new Set(installables)) {
    const path = await asStorePath(installable);
    if (path) resolved.set(installable, [path]);
    else toBuild.push(installable);
  }
  if (toBuild.length === 0) return resolved;
  const all = await nixBuildJson(toBuild, tools);
  for (const installable of toBuild) {
    const outputs = outputsOfBuildJson(toBuild.length === 1 ? all : await nixBuildJson([installable], tools));
    if (outputs.length === 0) throw new UserError('nix', `nix build ${installable} gave no store path`, 'give a store path or an installable that builds a package');
    resolved.set(installable, outputs);
  }
  return resolved;
}
