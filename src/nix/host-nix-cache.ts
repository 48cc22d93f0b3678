import { createHash } from 'node:crypto';
import { access, mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { WRAPPERS_NIX } from './wrappers.nix.js';

/**
 * Bundling a distro nix costs ldd, `nix-store --add` and a nix-build on every run (about 0.5 s here), for
 * the same store path each time. The key is the identity of what goes in: the nix binary and busybox
 * files (path, size, mtime, inode), the wrappers' expression and the variant.
 */
export async function hostNixBundleKey(nixBinary: string, busybox: string, variant: string): Promise<string> {
  const identity = async (path: string) => {
    const info = await stat(path);
    return [path, info.size, info.mtimeMs, info.ino];
  };
  const parts = { version: 1, nix: await identity(nixBinary), busybox: await identity(busybox), wrappers: WRAPPERS_NIX, variant };
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex');
}

export function defaultHostNixCacheDir(env: NodeJS.ProcessEnv = process.env, home: string = homedir()): string {
  return join(env.XDG_CACHE_HOME || join(home, '.cache'), 'nix-runner', 'host-nix');
}

/** The store path bundled for this key earlier, if it is still in the store (a host GC may have taken it). */
export async function cachedHostNix(key: string, dir = defaultHostNixCacheDir()): Promise<string | undefined> {
  const path = (await readFile(join(dir, key), 'utf8').catch(() => '')).trim();
  if (!/^\/nix\/store\/[^/]+$/.test(path)) return undefined;
  return (await access(join(path, 'bin', 'nix-daemon')).then(() => true, () => false)) ? path : undefined;
}

/** Remembers the bundle; a cache that cannot be written only costs the next run a bundle. */
export async function rememberHostNix(key: string, storePath: string, dir = defaultHostNixCacheDir()): Promise<void> {
  const file = join(dir, key);
  const temp = `${file}.${process.pid}.tmp`;
  await mkdir(dirname(file), { recursive: true });
  await writeFile(temp, `${storePath}\n`);
  await rename(temp, file);
}
