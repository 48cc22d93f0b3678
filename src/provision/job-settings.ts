import type { ManagedSettings } from '../runner-config/managed-settings.js';

// A runner's `environment` PATH replaces the image's PATH (Docker's env merge), so the usual
// directories follow nix's own: the job keeps finding the image's tools.
const STANDARD_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/**
 * What every attached job gets: the daemon's volumes read-only, nix on PATH, nix talking to the daemon.
 * The pre_build_script creates what a bare image lacks: nix needs a /tmp, nix-env a profiles dir. A job
 * image running as an unprivileged user may not create them, and then does not need them made.
 */
export function jobSettings(daemon: string, nixPath: string): ManagedSettings {
  return {
    daemon,
    volumesFrom: [`${daemon}:ro`],
    environment: ['NIX_REMOTE=daemon', `PATH=${nixPath}/bin:${STANDARD_PATH}`],
    preBuildScript: ['mkdir -p /tmp /nix/var/nix/profiles 2>/dev/null || true'],
  };
}
