import { isUtf8 } from 'node:buffer';
import { constants, type Stats } from 'node:fs';
import { lstat, open, realpath, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { UserError } from '../../errors.js';

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

/** Far beyond any real config.toml (30,000 runners take about 35 MiB), and within what parse, merge and diff handle. */
export const MAX_CONFIG_BYTES = 64 * 1024 * 1024;

const FILE_HINT = "point --runner-config at GitLab Runner's config.toml, a regular file (e.g. /etc/gitlab-runner/config.toml)";

/**
 * The file's text, or undefined when it does not exist (any more). Refused: anything but a regular file
 * (a directory, a device, a fifo), a file over MAX_CONFIG_BYTES, and text that is not UTF-8 (TOML must be).
 */
export async function readConfigText(target: string): Promise<string | undefined> {
  let handle: FileHandle;
  try {
    // Non-blocking: opening a fifo must not wait for a writer (it is refused below).
    handle = await open(target, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (error: unknown) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    if (code === 'EACCES') throw new UserError('runnerConfig', `cannot read ${target}: EACCES`, 'run nix-runner as the user that owns it (usually root)', { cause: error });
    if (code === 'ENXIO' || code === 'ENODEV') throw new UserError('runnerConfig', `${target} is not a regular file`, FILE_HINT, { cause: error });
    throw error;
  }
  try {
    refuseUnreadable(await handle.stat(), target);
    const bytes = await handle.readFile();
    if (bytes.length > MAX_CONFIG_BYTES) throw tooLarge(target, bytes.length);
    return decodeUtf8(bytes, target);
  } finally {
    await handle.close();
  }
}

function refuseUnreadable(info: Stats, target: string): void {
  if (info.isDirectory()) throw new UserError('runnerConfig', `${target} is a directory, not a config.toml`, `pass the file itself, e.g. --runner-config ${join(target, 'config.toml')}`);
  if (!info.isFile()) throw new UserError('runnerConfig', `${target} is ${fileKind(info)}, not a regular file`, FILE_HINT);
  if (info.size > MAX_CONFIG_BYTES) throw tooLarge(target, info.size);
}

function fileKind(info: Stats): string {
  if (info.isCharacterDevice()) return 'a character device';
  if (info.isBlockDevice()) return 'a block device';
  if (info.isFIFO()) return 'a fifo';
  if (info.isSocket()) return 'a socket';
  return 'a special file';
}

function tooLarge(target: string, bytes: number): UserError {
  const mib = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MiB`;
  return new UserError(
    'runnerConfig',
    `${target} is ${mib(bytes)}, more than the ${mib(MAX_CONFIG_BYTES)} nix-runner reads`,
    "GitLab Runner's config.toml takes about 1 KiB per runner: check that --runner-config names the right file",
  );
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
