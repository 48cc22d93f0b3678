export const LABEL_MANAGED = 'org.nix-runner.managed';
export const LABEL_SPEC_HASH = 'org.nix-runner.spec-hash';
export const LABEL_NIX = 'org.nix-runner.nix';
export const LABEL_DAEMON = 'org.nix-runner.daemon';

export const STORE_DIR = '/nix/store';
export const DB_DIR = '/nix/var/nix/db';
export const SOCKET_DIR = '/nix/var/nix/daemon-socket';

/** The named volumes of a daemon. The socket volume belongs to one container generation (see daemon-spec.ts). */
export function daemonVolumes(daemon: string, specHash: string) {
  return {
    store: `${daemon}-store`,
    db: `${daemon}-db`,
    socket: `${daemon}-socket-${specHash.slice(0, 12)}`,
  };
}

export function candidateName(daemon: string): string {
  return `${daemon}-next`;
}

export function retiredName(daemon: string, id: string): string {
  return `${daemon}-retired-${id.slice(0, 12)}`;
}
