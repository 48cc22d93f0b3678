import { readFileSync } from 'node:fs';
import { execFile } from 'node:child_process';
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
export async function runNix(name: string, args: string[], tools: NixTools = {}): Promise<string> {
  const file = tools.binDir ? `${tools.binDir}/${name}` : name;
  try {
    // node's own execFile: it costs nothing to load, and a provision runs nix-store twice (execa: ~0.1 s to import)
    return await new Promise<string>((resolve, reject) => {
      execFile(file, args, { maxBuffer: 1024 ** 3, encoding: 'utf8' }, (error, stdout, stderr) => {
        if (error) reject(Object.assign(error, { stderr }));
        else resolve(stdout.replace(/\n$/, ''));
      });
    });
  } catch (error: unknown) {
    const e = error as { code?: string | number; signal?: string | null; stderr?: unknown };
    if (e.code === 'ENOENT') {
      throw new UserError('nix', `${file} not found`, 'install nix (Debian: apt-get install nix-bin) or put it on PATH', { cause: error });
    }
    const lines = String(e.stderr ?? '').trim().split('\n').filter((line) => line && !line.startsWith('warning:'));
    const last = lines.at(-1) ?? (typeof e.code === 'number' ? `failed with exit code ${e.code}` : e.signal ? `killed by ${e.signal}` : 'failed');
    throw new UserError('nix', `${name} ${args.slice(0, 2).join(' ')}: ${last}`, 'run the same nix command by hand to see its whole output', {
      cause: error,
    });
  }
}
