export type NixSettingValue = string | number | boolean | string[];

/**
 * The daemon's nix.conf. Builds run as root in the daemon container without a sandbox (both need
 * privileges the container does not have); nobody connecting through the socket is trusted, so a
 * job cannot change the daemon's settings, add substituters or import unsigned paths.
 */
export const DEFAULT_NIX_SETTINGS: Record<string, NixSettingValue> = {
  'build-users-group': '',
  sandbox: false,
  'build-poll-interval': 1,
  substituters: [],
  'trusted-users': [],
  'allowed-users': ['*'],
};

function render(value: NixSettingValue): string {
  if (Array.isArray(value)) return value.join(' ');
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  return String(value);
}

export function renderNixConf(settings: Record<string, NixSettingValue> = {}): string {
  const merged = { ...DEFAULT_NIX_SETTINGS, ...settings };
  return Object.keys(merged)
    .sort()
    .map((key) => `${key} = ${render(merged[key]!)}`.trimEnd())
    .join('\n')
    .concat('\n');
}
