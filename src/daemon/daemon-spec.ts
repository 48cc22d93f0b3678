import { createHash } from 'node:crypto';
import type { ContainerSpec } from '../engine/engine-types.js';
import { DB_DIR, LABEL_DAEMON, LABEL_MANAGED, LABEL_NIX, LABEL_SPEC_HASH, SOCKET_DIR, STORE_DIR, daemonVolumes } from './daemon-names.js';

export interface DaemonInputs {
  daemon: string;
  imageId: string;
  nixPath: string;
  /** nix.conf text, given as NIX_CONFIG: it applies to any image and overrides the image's own nix.conf. */
  nixConf: string;
}

/**
 * Everything that shapes the daemon container, hashed: the same hash means the running container is
 * already what is wanted. Each generation gets its own socket volume, so a new daemon never takes over
 * the socket that jobs of the old one use until it has proved it answers.
 */
export function daemonSpecHash({ daemon, imageId, nixPath, nixConf }: DaemonInputs): string {
  const identity = { version: 1, daemon, imageId, nixPath, nixConf };
  return createHash('sha256').update(JSON.stringify(identity)).digest('hex');
}

export function daemonContainerSpec(inputs: DaemonInputs, name: string): ContainerSpec {
  const hash = daemonSpecHash(inputs);
  const volumes = daemonVolumes(inputs.daemon, hash);
  return {
    name,
    image: inputs.imageId,
    entrypoint: [`${inputs.nixPath}/bin/nix-daemon`],
    cmd: [],
    env: [`PATH=${inputs.nixPath}/bin:/bin`, `NIX_CONFIG=${inputs.nixConf}`],
    labels: {
      [LABEL_MANAGED]: 'true',
      [LABEL_DAEMON]: inputs.daemon,
      [LABEL_SPEC_HASH]: hash,
      [LABEL_NIX]: inputs.nixPath,
    },
    mounts: [
      { volume: volumes.store, target: STORE_DIR },
      { volume: volumes.db, target: DB_DIR },
      { volume: volumes.socket, target: SOCKET_DIR },
    ],
    restartUnlessStopped: true,
  };
}
