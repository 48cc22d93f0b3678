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
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
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

/** The file's text, or undefined when it does not exist (any more). */
export async function readConfigText(target: string): Promise<string | undefined> {
  try {
    return await readFile(target, 'utf8');
  } catch (error: unknown) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    if (code === 'EACCES') throw new UserError('runnerConfig', `cannot read ${target}: EACCES`, 'run nix-runner as the user that owns it (usually root)', { cause: error });
    throw error;
  }
}
