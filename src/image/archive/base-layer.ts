import { daemonAccounts } from '../../daemon/build-users.js';
import type { LayerEntry } from './layer-tar.js';

export interface BaseLayerInput {
  /** /etc/nix/nix.conf; none in the base image of store-path daemons (see image/base-image.ts). */
  nixConf?: string;
  /** The db registration to load at start; none when the store volume gets the closure another way. */
  registration?: string;
}

/** The small last layer: users (root and the build users), nix.conf, the empty nix state dirs and the db registration to load at start. Depth-first, names in byte order. */
export function baseLayerEntries({ nixConf, registration }: BaseLayerInput = {}): LayerEntry[] {
  const dir = (name: string, mode = 0o755): LayerEntry => ({ type: 'directory', name, mode });
  const file = (name: string, content: string): LayerEntry => ({ type: 'file', name, mode: 0o644, content });
  const { passwd, group } = daemonAccounts();
  return [
    dir('etc'),
    file('etc/group', group),
    dir('etc/nix'),
    ...(nixConf === undefined ? [] : [file('etc/nix/nix.conf', nixConf)]),
    file('etc/passwd', passwd),
    dir('nix'),
    dir('nix/var'),
    dir('nix/var/nix'),
    dir('nix/var/nix/daemon-socket'),
    dir('nix/var/nix/db'),
    dir('nix/var/nix/gcroots'),
    dir('nix/var/nix/profiles'),
    dir('nix/var/nix/temproots'),
    ...(registration === undefined ? [] : [dir('nix-runner'), file('nix-runner/registration', registration)]),
    // nix looks up root's home for its cache and config dirs
    dir('root', 0o700),
    dir('tmp', 0o1777),
  ];
}
