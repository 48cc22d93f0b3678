import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { cacheDir, fileIdentityKey, readCache, writeCache } from '../cache/run-cache.js';
import { WRAPPERS_NIX } from './wrappers.nix.js';

/**
 * Bundling a distro nix costs ldd, `nix-store --add` and a nix-build on every run (about 0.5 s here), for
 * the same store path each time. The key is the identity of what goes in: the nix binary and busybox
 * files (path, size, mtime, inode), the wrappers' expression and the variant.
 */
export async function hostNixBundleKey(nixBinary: string, busybox: string, variant: string): Promise<string> {
  return fileIdentityKey([nixBinary, busybox], { version: 2, wrappers: WRAPPERS_NIX, variant });
}

export function defaultHostNixCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return cacheDir('host-nix', env);
}

/** The store path bundled for this key earlier, if it is still in the store (a host GC may have taken it). */
export async function cachedHostNix(key: string, dir = defaultHostNixCacheDir()): Promise<string | undefined> {
  const path = (await readCache(dir, key))?.trim() ?? '';
  if (!/^\/nix\/store\/[^/]+$/.test(path)) return undefined;
  return (await access(join(path, 'bin', 'nix-daemon')).then(() => true, () => false)) ? path : undefined;
}

/** Remembers the bundle; a cache that cannot be written only costs the next run a bundle. */
export async function rememberHostNix(key: string, storePath: string, dir = defaultHostNixCacheDir()): Promise<void> {
  await writeCache(dir, key, `${storePath}\n`);
}
