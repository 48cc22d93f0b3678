import { realpath } from 'node:fs/promises';
import { UserError } from '../errors.js';
import { buildFailure } from './build-failure.js';
import { rootBuildOptions, runNix, type NixTools } from './nix-tool.js';
import { storePathOf } from './store-path.js';

// nix ≥ 2.4 keeps `nix build` behind these flags; later versions accept them as they are.
const FEATURES = ['--extra-experimental-features', 'nix-command flakes'];

/** The output paths in `nix build --json` (nix 2.8 has no --print-out-paths): every output of every result. */
export function outputsOfBuildJson(json: string): string[] {
  let results: unknown;
  try {
    results = JSON.parse(json);
  } catch {
    return [];
  }
  if (!Array.isArray(results)) return [];
  return results.flatMap((result: { outputs?: Record<string, string>; path?: string }) => (result.outputs ? Object.values(result.outputs) : result.path ? [result.path] : []));
}

/** A store path (or a path inside one, or a link to one), else undefined: an installable nix must build. */
async function asStorePath(installable: string): Promise<string | undefined> {
  const resolved = installable.startsWith('/') ? await realpath(installable).catch(() => installable) : installable;
  return storePathOf(resolved);
}

async function nixBuild(installables: string[], tools: NixTools): Promise<string> {
  try {
    return await runNix('nix', ['build', ...installables, '--json', '--no-link', ...FEATURES, ...rootBuildOptions()], tools);
  } catch (error: unknown) {
    if (!(error instanceof UserError)) throw error;
    const reason = buildFailure(String((error.cause as { stderr?: unknown } | undefined)?.stderr ?? '')) ?? error.message;
    throw new UserError('nix', `nix build ${installables.join(' ')} failed: ${reason}`, 'run the same nix build by hand to see its whole log', { cause: error });
  }
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
  const all = await nixBuild(toBuild, tools);
  for (const installable of toBuild) {
    const outputs = outputsOfBuildJson(toBuild.length === 1 ? all : await nixBuild([installable], tools));
    if (outputs.length === 0) throw new UserError('nix', `nix build ${installable} gave no store path`, 'give a store path or an installable that builds a package');
    resolved.set(installable, outputs);
  }
  return resolved;
}
