import { isUtf8 } from 'node:buffer';
import { lstat, readFile, realpath } from 'node:fs/promises';
import { UserError } from '../errors.js';

export const MISSING_HINT = 'register a runner first (gitlab-runner register) or pass --runner-config';

/**
 * The file to read and replace for `path`: itself, or what its symlink points to (the link stays).
 * Undefined when it does not exist. A file in the Nix store is read-only: refused.
 */
export async function resolveConfigTarget(path: string, storeDir = '/nix/store'): Promise<string | undefined> {
  let target: string;
  try {
    target = (await lstat(path)).isSymbolicLink() ? await realpath(path) : path;
  } catch (error: unknown) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    if (code === 'EACCES') throw new UserError('runnerConfig', `cannot read ${path}: EACCES`, 'run nix-runner as the user that owns it (usually root)', { cause: error });
    throw error;
  }
  const store = storeDir.endsWith('/') ? storeDir : `${storeDir}/`;
  const real = await realpath(target).catch(() => target);
  if (real.startsWith(store)) {
    throw new UserError(
      'runnerConfig',
      `${path} is in the read-only Nix store (${real})`,
      'let nix-runner manage a writable file: point --runner-config at a writable config.toml (not a store path or a symlink into the store)',
    );
  }
  return target;
}

/** The file's text, or undefined when it does not exist (any more). Not UTF-8 (TOML must be): refused. */
export async function readConfigText(target: string): Promise<string | undefined> {
  try {
    return decodeUtf8(await readFile(target), target);
  } catch (error: unknown) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    if (code === 'EACCES') throw new UserError('runnerConfig', `cannot read ${target}: EACCES`, 'run nix-runner as the user that owns it (usually root)', { cause: error });
    throw error;
  }
}

// A lossy decode would turn each bad byte into U+FFFD, and a later write would keep that.
function decodeUtf8(bytes: Buffer, path: string): string {
  if (isUtf8(bytes)) return bytes.toString('utf8');
  let line = 1;
  for (let start = 0; start <= bytes.length; line++) {
    const end = bytes.indexOf(0x0a, start) < 0 ? bytes.length : bytes.indexOf(0x0a, start);
    const part = bytes.subarray(start, end);
    if (!isUtf8(part)) break;
    start = end + 1;
  }
  throw new UserError('runnerConfig', `${path}:${line}: not valid UTF-8`, 'fix the file by hand (TOML files are UTF-8); GitLab Runner keeps its previous configuration while this one does not parse');
}
