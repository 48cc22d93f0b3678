import { readFileSync } from 'node:fs';
import type { Options } from 'execa';
import { UserError } from '../errors.js';

export interface NixTools {
  /** Directory holding nix-store, nix-build, … (absent: found on PATH). */
  binDir?: string;
}

// Running as root on a host without the nixbld group (Debian's nix-bin without nix-setup-systemd),
// nix refuses to build unless told to build as root; a configured group still wins when it exists.
export function rootBuildOptions(uid = process.getuid?.() ?? -1, groupExists = hasNixbldGroup): string[] {
  return uid === 0 && !groupExists() ? ['--option', 'build-users-group', ''] : [];
}

function hasNixbldGroup(): boolean {
  try {
    return /^nixbld:/m.test(readFileSync('/etc/group', 'utf8'));
  } catch {
    return false;
  }
}

/** Runs a nix tool with an argument array; a failure becomes a UserError quoting nix's last error line. */
export async function runNix(name: string, args: string[], tools: NixTools = {}, options: Options = {}): Promise<string> {
  const file = tools.binDir ? `${tools.binDir}/${name}` : name;
  try {
    // loaded on first use: a no-op provision and --help run no nix tool, and execa takes ~0.15 s to load
    const { execa } = await import('execa');
    const result = await execa(file, args, { ...options, stripFinalNewline: true });
    return String(result.stdout);
  } catch (error: unknown) {
    const e = error as { code?: string; stderr?: unknown; shortMessage?: string };
    if (e.code === 'ENOENT') {
      throw new UserError('nix', `${file} not found`, 'install nix (Debian: apt-get install nix-bin) or put it on PATH', { cause: error });
    }
    const lines = String(e.stderr ?? '').trim().split('\n').filter((line) => line && !line.startsWith('warning:'));
    const last = lines.at(-1) ?? e.shortMessage ?? 'failed';
    throw new UserError('nix', `${name} ${args.slice(0, 2).join(' ')}: ${last}`, 'run the same nix command by hand to see its whole output', {
      cause: error,
    });
  }
}
