import type { LayerEntry } from '../image/archive/layer-tar.js';
import { daemonAccounts } from './build-users.js';
import { BUILDS_PROFILE } from '../names/daemon-names.js';
import { NIX_CONF_DIR, POST_BUILD_HOOK } from './nix-conf.js';
import type { DaemonCache } from './binary-cache.js';
import { PUSH_SCRIPT, pushScript, startPushCommand } from './push-script.js';

export interface DaemonFilesInput {
  /** The binary cache: its secrets (root-only), and the uploader when this daemon pushes. */
  cache?: Pick<DaemonCache, 'url' | 'push' | 'secrets'>;
  /** The daemon's nix.conf; it may hold secrets (access-tokens), so only root can read it. */
  nixConf: string;
  nixPath: string;
  /** A shell to run the post-build hook with, as a shebang's interpreter and argument; none: no hook. */
  shell?: string[];
}

/**
 * The post-build hook: the daemon runs it as root after each build, and it roots every output in the
 * builds profile, so a job's `nix-store --gc` cannot delete what another job built. It uses nothing but
 * shell built-ins and nix-env, because a nix closure's only shell may be a minimal busybox.
 */
export function postBuildHookScript(shell: string[], nixPath: string, push = false): string {
  return [
    `#!${shell.join(' ')}`,
    // a store path's name may hold `?`: no globbing of the unquoted list
    'set -f',
    // nix 2.8 leaves OUT_PATHS empty (measured): the derivation's outputs are what was just built.
    `for path in \${OUT_PATHS:-$(${nixPath}/bin/nix-store --query --outputs "$DRV_PATH")}; do`,
    `  ${nixPath}/bin/nix-env --profile ${BUILDS_PROFILE} --set "$path" >/dev/null 2>&1 || echo "nix-runner: cannot root $path" >&2`,
    'done',
    // signed by nix already (secret-key-files); uploaded in the background: a build never waits for the cache
    ...(push ? [startPushCommand()] : []),
    '',
  ].join('\n');
}

/**
 * Files every daemon container gets before it first starts, whatever its image: the build users, and
 * nix.conf with the hook in a root-only directory that builders (nixbld users) cannot read. Depth-first,
 * names in byte order, to be extracted at /.
 */
export function daemonFileEntries({ nixConf, nixPath, shell, cache }: DaemonFilesInput): LayerEntry[] {
  const { passwd, group } = daemonAccounts();
  const confDir = NIX_CONF_DIR.slice(1);
  const push = cache?.push === true && shell !== undefined;
  const confFiles: LayerEntry[] = [
    ...(push ? [{ type: 'file' as const, name: PUSH_SCRIPT.slice(1), mode: 0o700, content: pushScript(shell, nixPath, cache.url) }] : []),
    ...(cache?.secrets ?? []).filter((entry) => entry.name.startsWith(`${confDir}/`)),
    { type: 'file', name: `${confDir}/nix.conf`, mode: 0o600, content: nixConf },
    ...(shell ? [{ type: 'file' as const, name: POST_BUILD_HOOK.slice(1), mode: 0o700, content: postBuildHookScript(shell, nixPath, push) }] : []),
  ];
  const rootFiles = (cache?.secrets ?? []).filter((entry) => entry.name.startsWith('root/'));
  return [
    { type: 'directory', name: 'etc', mode: 0o755 },
    { type: 'file', name: 'etc/group', mode: 0o644, content: group },
    { type: 'directory', name: confDir, mode: 0o700 },
    ...confFiles.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
    { type: 'file', name: 'etc/passwd', mode: 0o644, content: passwd },
    ...(rootFiles.length > 0 ? [{ type: 'directory' as const, name: 'root', mode: 0o700 }, ...rootFiles] : []),
  ];
}
