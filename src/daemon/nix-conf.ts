export type NixSettingValue = string | number | boolean | string[];

/** Where the daemon's nix.conf lives in its container: a root-only directory (NIX_CONF_DIR points here). */
export const NIX_CONF_DIR = '/etc/nix-runner';
export const POST_BUILD_HOOK = `${NIX_CONF_DIR}/post-build-hook`;

/**
 * The daemon's nix.conf. Builds run as the `nixbld<N>` build users, never as root, so a builder cannot
 * write other store paths, read the daemon's files or outlive its build; nobody connecting through the
 * socket is trusted, so a job cannot change the daemon's settings, add substituters or import unsigned
 * paths. The limits keep one job's build from holding the daemon forever or filling its disk.
 */
export const DEFAULT_NIX_SETTINGS: Record<string, NixSettingValue> = {
  'build-users-group': 'nixbld',
  sandbox: false,
  'build-poll-interval': 1,
  substituters: [],
  'trusted-users': [],
  'allowed-users': ['*'],
  'max-silent-time': 3600,
  timeout: 36000,
  'min-free': 1024 * 1024 * 1024,
  'max-free': 4 * 1024 * 1024 * 1024,
};

/**
 * Settings only nix-runner sets: changing them would undo the trust model (root builds, trusted jobs,
 * no GC roots for builds). The sandbox has a setting of its own because it needs container privileges.
 */
export const PROTECTED_NIX_SETTINGS = ['build-users-group', 'trusted-users', 'post-build-hook', 'sandbox', 'sandbox-fallback'];

/** Settings whose values are secrets: they appear only in the root-only nix.conf, never in output. */
export const SECRET_NIX_SETTINGS = ['access-tokens', 'netrc-file', 'secret-key-files'];

function render(value: NixSettingValue): string {
  if (Array.isArray(value)) return value.join(' ');
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  return String(value);
}

export interface NixConfOptions {
  sandbox?: boolean;
  /** The hook that roots each build's outputs; '' for none (over an image's own setting). */
  postBuildHook?: string;
}

export function renderNixConf(settings: Record<string, NixSettingValue> = {}, { sandbox = false, postBuildHook }: NixConfOptions = {}): string {
  const merged: Record<string, NixSettingValue> = { ...DEFAULT_NIX_SETTINGS, ...settings, sandbox };
  if (sandbox) merged['sandbox-fallback'] = false;
  if (postBuildHook !== undefined) merged['post-build-hook'] = postBuildHook;
  return Object.keys(merged)
    .sort()
    .map((key) => `${key} = ${render(merged[key]!)}`.trimEnd())
    .join('\n')
    .concat('\n');
}
