import { createHash } from 'node:crypto';
import type { ContainerSpec } from '../engine/engine-types.js';
import type { DaemonCache } from './binary-cache.js';
import { DB_DIR, LABEL_CACHE, LABEL_CACHE_PUSH, LABEL_NIX, LABEL_SPEC_HASH, ROOTS_DIR, SOCKET_DIR, STORE_DIR, daemonVolumes, generationLabels } from '../names/daemon-names.js';
import { daemonFileEntries } from './daemon-files.js';
import { NIX_CONF_DIR, POST_BUILD_HOOK, renderNixConf, type NixSettingValue } from './nix-conf.js';

export interface DaemonLimits {
  /** At most this many processes in the daemon container (its builds included). */
  pids: number;
  /** At most this many bytes of memory for the daemon container (its builds included). */
  memoryBytes: number;
}

export interface DaemonInputs {
  daemon: string;
  imageId: string;
  nixPath: string;
  /** The operator's nix.conf settings, over nix-runner's defaults. */
  nixSettings: Record<string, NixSettingValue>;
  /** Nix's build sandbox: more privilege for the daemon container, much less for every builder. */
  sandbox: boolean;
  limits: DaemonLimits;
  /** A binary cache shared with other hosts (binary-cache.ts); its url and keys are also in nixSettings. */
  cache?: DaemonCache;
}

// What nix's build sandbox needs in a container (measured with Docker 20.10): mount namespaces and /proc.
const SANDBOX_CAPS = ['SYS_ADMIN'];
const SANDBOX_SECURITY = ['seccomp=unconfined', 'apparmor=unconfined'];

/**
 * Everything that shapes the daemon container, hashed: the same hash means the running container is
 * already what is wanted. Version 2: builds as build users, nix.conf in a root-only file, GC roots.
 */
export function daemonSpecHash({ daemon, imageId, nixPath, nixSettings, sandbox, limits, cache }: DaemonInputs): string {
  // The files it gets before its first start count too: a new hook or new build users mean a new daemon.
  // The cache's secrets only by their digest, so that no secret goes into the hash's input as such.
  const publicCache = cache && { url: cache.url, publicKeys: cache.publicKeys, push: cache.push, secretsDigest: cache.secretsDigest, directory: cache.directory };
  const files = daemonFileEntries({ nixConf: daemonNixConf({ nixSettings, sandbox }, true), nixPath, shell: ['sh'], ...(cache ? { cache: { ...cache, secrets: [] } } : {}) });
  const identity = { version: 2, daemon, imageId, nixPath, nixSettings, sandbox, limits, files, ...(publicCache ? { cache: publicCache } : {}) };
  return createHash('sha256').update(JSON.stringify(identity)).digest('hex');
}

/**
 * The daemon's nix.conf: the image's own first (e.g. a bundled nix's build-hook), then nix-runner's
 * settings, which win. `hook`: whether the container has a shell to run the post-build hook.
 */
export function daemonNixConf(inputs: Pick<DaemonInputs, 'nixSettings' | 'sandbox'>, hook: boolean): string {
  return `!include /etc/nix/nix.conf\n${renderNixConf(inputs.nixSettings, { sandbox: inputs.sandbox, postBuildHook: hook ? POST_BUILD_HOOK : '' })}`;
}

/**
 * The container of one daemon generation: `generation` is its own id (its socket volume is named after
 * it), `run` the nix-runner run that makes it (a killed run's candidate is a leftover).
 */
export function daemonContainerSpec(inputs: DaemonInputs, name: string, { generation, run }: { generation: string; run: string }): ContainerSpec {
  const hash = daemonSpecHash(inputs);
  const volumes = daemonVolumes(inputs.daemon, generation);
  return {
    name,
    image: inputs.imageId,
    entrypoint: [`${inputs.nixPath}/bin/nix-daemon`],
    cmd: [],
    // nix.conf is a file only root can read (see daemon-files.ts): an environment variable would be
    // readable by every builder through /proc and by anyone who can inspect the container.
    env: [`PATH=${inputs.nixPath}/bin:/bin`, `NIX_CONF_DIR=${NIX_CONF_DIR}`],
    labels: {
      ...generationLabels(inputs.daemon, generation, run),
      [LABEL_SPEC_HASH]: hash,
      [LABEL_NIX]: inputs.nixPath,
      ...(inputs.cache ? { [LABEL_CACHE]: inputs.cache.url, [LABEL_CACHE_PUSH]: String(inputs.cache.push) } : {}),
    },
    mounts: [
      { volume: volumes.store, target: STORE_DIR },
      { volume: volumes.db, target: DB_DIR },
      { volume: volumes.roots, target: ROOTS_DIR },
      { volume: volumes.socket, target: SOCKET_DIR },
    ],
    // a file:// cache is a host directory (shared with other daemons), at the same path
    ...(inputs.cache?.directory ? { binds: [{ source: inputs.cache.directory, target: inputs.cache.directory }] } : {}),
    restartUnlessStopped: true,
    pidsLimit: inputs.limits.pids,
    memoryBytes: inputs.limits.memoryBytes,
    ...(inputs.sandbox ? { capAdd: SANDBOX_CAPS, securityOpt: SANDBOX_SECURITY, unmaskSystemPaths: true } : {}),
  };
}
