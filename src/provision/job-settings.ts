import type { ManagedSettings } from '../runner-config/managed-settings.js';

/**
 * What every attached job gets: the daemon's volumes read-only, nix talking to the daemon, nix on PATH.
 *
 * PATH is not set in `environment`: a runner's environment replaces the image's PATH (Docker's env
 * merge, and GitLab Runner does not expand $PATH against the image), which would hide e.g. cargo in
 * rust images or /busybox in kaniko's. Instead pre_build_script prepends nix to PATH for the job's
 * shell, and links nix's commands into /usr/local/bin, which after_script (a second shell in the same
 * container, without pre_build_script) finds on the image's own PATH. It also creates what a bare image
 * lacks: nix needs /tmp, nix-env a profiles dir. An unprivileged job user may not create these; its
 * after_script can still `export PATH="$NIX_RUNNER_BIN:$PATH"`.
 */
export function jobSettings(daemon: string, nixPath: string, { cache = false }: { cache?: boolean } = {}): ManagedSettings {
  return {
    daemon,
    volumesFrom: [`${daemon}:ro`],
    // With a binary cache, a cache that is down must not fail the job's build. nix 2.8 takes `fallback`
    // from the client (every client's wopSetOptions sets it in the daemon), so the job's nix says it.
    environment: ['NIX_REMOTE=daemon', `NIX_RUNNER_BIN=${nixPath}/bin`, ...(cache ? ['NIX_CONFIG=fallback = true'] : [])],
    preBuildScript: [
      'mkdir -p /tmp /nix/var/nix/profiles /usr/local/bin 2>/dev/null || true',
      'export PATH="$NIX_RUNNER_BIN:$PATH"',
      'for f in "$NIX_RUNNER_BIN"/*; do [ -e "/usr/local/bin/${f##*/}" ] || ln -s "$f" /usr/local/bin/ 2>/dev/null || true; done',
    ],
  };
}
