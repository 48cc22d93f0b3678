import { access, realpath } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { UserError } from '../errors.js';
import { DEFAULT_BUSYBOX, bundleHostNix } from './bundle-host-nix.js';
import { cachedHostNix, hostNixBundleKey, rememberHostNix } from './host-nix-cache.js';
import { storePathOf } from './store-path.js';

export interface HostNix {
  /** Store path whose bin/ holds nix-daemon and friends. */
  nixPath: string;
  /** The host nix lived outside /nix/store and was bundled into it. */
  bundled: boolean;
}

export async function findOnPath(name: string, path = process.env.PATH ?? ''): Promise<string | undefined> {
  for (const dir of path.split(delimiter).filter(Boolean)) {
    const candidate = join(dir, name);
    try {
      await access(candidate);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

/** The host's own nix as a store path: itself on NixOS, a bundle of the distro binary elsewhere. */
export async function resolveHostNix(options: { variant?: string } = {}): Promise<HostNix> {
  const nixStore = await findOnPath('nix-store');
  if (!nixStore) throw new UserError('nix', 'no nix-store on PATH', 'install nix (Debian: apt-get install nix-bin), or give --image-ref/--image-archive');
  const binary = await realpath(nixStore);
  const inStore = storePathOf(binary);
  if (inStore) return { nixPath: inStore, bundled: false };
  const key = await hostNixBundleKey(binary, DEFAULT_BUSYBOX, options.variant ?? '').catch(() => undefined);
  const cached = key && (await cachedHostNix(key));
  if (cached) return { nixPath: cached, bundled: true };
  const nixPath = await bundleHostNix({ nixBinary: binary, busybox: DEFAULT_BUSYBOX, ...options });
  if (key) await rememberHostNix(key, nixPath).catch(() => undefined);
  return { nixPath, bundled: true };
}
