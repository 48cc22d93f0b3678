import { UserError } from '../errors.js';
import { rootBuildOptions, runNix, type NixTools } from './nix-tool.js';

// nix ≥ 2.4 keeps `nix build` behind these flags; later versions accept them as they are.
const FEATURES = ['--extra-experimental-features', 'nix-command flakes'];

/** nix's first `error:` line, with the builder's last log line when there is one. */
export function buildFailure(stderr: string): string | undefined {
  const lines = stderr.split('\n').map((line) => line.trim());
  const error = lines.find((line) => line.startsWith('error:'))?.slice('error:'.length).trim().replace(/;$/, '');
  const log = lines.filter((line) => line.startsWith('> ')).at(-1)?.slice(2);
  return error && log ? `${error}: ${log}` : error;
}

/** One result of `nix build --json`: a derivation's outputs, or a plain store path (`{ path }`). */
export interface BuildResult {
  outputs?: Record<string, string>;
  path?: string;
}

/** The results in `nix build --json`'s output; none when it is not such a list. */
export function buildResults(json: string): BuildResult[] {
  try {
    const results = JSON.parse(json) as unknown;
    return Array.isArray(results) ? (results as BuildResult[]) : [];
  } catch {
    return [];
  }
}

/**
 * `nix build INSTALLABLES --json --no-link` (nix 2.8 has no --print-out-paths; --json has been there
 * since 2.4), as root without a nixbld group too; a failure is one line: nix's error and the build's last log line.
 */
export async function nixBuildJson(installables: string[], tools: NixTools = {}): Promise<string> {
  try {
    return await runNix('nix', ['build', ...installables, '--json', '--no-link', ...FEATURES, ...rootBuildOptions()], tools);
  } catch (error: unknown) {
    if (!(error instanceof UserError)) throw error;
    const reason = buildFailure(String((error.cause as { stderr?: unknown } | undefined)?.stderr ?? '')) ?? error.message;
    const what = installables.join(' ');
    throw new UserError('nix', `nix build ${what} failed: ${reason}`, `run \`nix build ${what} --extra-experimental-features 'nix-command flakes'\` to see the whole log`, { cause: error });
  }
}
