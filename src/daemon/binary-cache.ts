import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { BinaryCacheSettings } from '../config/schema.js';
import { NIX_CONF_DIR, type NixSettingValue } from './nix-conf.js';
import { UserError, errorMessage } from '../errors.js';
import type { LayerEntry } from '../image/archive/layer-tar.js';

/** Where the daemon's root-only copies of the cache's secrets live (never in an image, a volume or the environment). */
export const CACHE_SECRET_KEY = `${NIX_CONF_DIR}/cache-secret-key`;
/** nix's S3 store reads the AWS SDK's default credentials file of the user it runs as: root. */
export const CACHE_CREDENTIALS = '/root/.aws/credentials';

/** What a daemon needs of the binary cache settings: nix.conf, its identity (spec hash), its secret files, a mount for file:// caches. */
export interface DaemonCache {
  url: string;
  publicKeys: string[];
  push: boolean;
  /** sha256 of the secret files' contents: a new key or new credentials make a new daemon generation. */
  secretsDigest: string;
  /** The secret files, as root-only entries for the daemon's filesystem. */
  secrets: LayerEntry[];
  /** For a file:// cache: the host directory, mounted at the same path. */
  directory?: string;
}

function listOf(value: NixSettingValue | undefined): string[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : String(value).split(/\s+/).filter(Boolean);
}

/**
 * nix.conf settings for the cache, merged with the operator's: the cache is one more substituter whose
 * keys are trusted (require-sigs stays on), and with a secret key nix signs every path this daemon builds.
 * A cache that is down must not fail builds: nix 2.8 fails a build whose substituter query fails
 * (measured, "unable to download … Couldn't connect"), unless `fallback` builds it instead; a host
 * that drops packets would hold each query for curl's 300 s without a connect timeout.
 */
export function cacheNixSettings(cache: Pick<DaemonCache, 'url' | 'publicKeys' | 'secrets'>, settings: Record<string, NixSettingValue>): Record<string, NixSettingValue> {
  const signs = cache.secrets.some((entry) => `/${entry.name}` === CACHE_SECRET_KEY);
  return {
    fallback: true,
    'connect-timeout': 5,
    ...settings,
    substituters: [...new Set([cache.url, ...listOf(settings.substituters)])],
    'trusted-public-keys': [...new Set([...cache.publicKeys, ...listOf(settings['trusted-public-keys'])])],
    ...(signs ? { 'secret-key-files': [...new Set([CACHE_SECRET_KEY, ...listOf(settings['secret-key-files'])])] } : {}),
  };
}

async function readSecret(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error: unknown) {
    // the path is not secret, the content is: never printed
    throw new UserError('config', `cannot read the cache's ${what} ${path}: ${errorMessage(error)}`, 'give a file root can read, outside /nix/store', { cause: error });
  }
}

/** The cache settings as the daemon gets them: the secret files read from this host, root-only. */
export async function daemonCache(cache: BinaryCacheSettings): Promise<DaemonCache> {
  const secrets: LayerEntry[] = [];
  if (cache.secretKeyFile) secrets.push({ type: 'file', name: CACHE_SECRET_KEY.slice(1), mode: 0o600, content: (await readSecret(cache.secretKeyFile, 'secretKeyFile')).trim() });
  if (cache.credentialsFile) {
    secrets.push({ type: 'directory', name: 'root/.aws', mode: 0o700 }, { type: 'file', name: CACHE_CREDENTIALS.slice(1), mode: 0o600, content: await readSecret(cache.credentialsFile, 'credentialsFile') });
  }
  const digest = createHash('sha256');
  for (const entry of secrets) if (entry.type === 'file') digest.update(`${entry.name}\0${entry.content}\0`);
  return {
    url: cache.url,
    publicKeys: cache.publicKeys,
    push: cache.push,
    secretsDigest: digest.digest('hex'),
    secrets,
    ...(cache.url.startsWith('file://') ? { directory: cache.url.slice('file://'.length).replace(/\?.*$/, '') } : {}),
  };
}
