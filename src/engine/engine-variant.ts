import { engineStatus } from './engine-failure.js';
import type { EngineKind } from './engine-kind.js';

/**
 * Where Podman's Docker-compatible API (4.3 measured) answers differently from Docker's, and what the
 * engine client does about it. Nothing else differs: every other call is the same on both.
 */
export interface EngineVariant {
  kind: EngineKind;
  /** HostConfig keys that give a container /proc and /sys without masked or read-only paths (systempaths=unconfined). */
  unmaskedSystemPaths(securityOpt: string[] | undefined): { MaskedPaths: string[]; ReadonlyPaths: string[]; SecurityOpt?: string[] };
  /** A failed container start as Docker would answer it. */
  startFailure(error: unknown): unknown;
  /** Whether an image load may leave out the layer tars the engine already has. */
  loadsPartialArchives: boolean;
  /** Whether a copy into a directory reaches the volumes mounted below it, whatever the container's state. */
  copiesIntoMountsBelow: boolean;
  /** Whether a wait for a container's removal (AutoRemove) answers with its exit code. */
  reportsExitOfRemoved: boolean;
}

const docker: EngineVariant = {
  kind: 'docker',
  unmaskedSystemPaths: () => ({ MaskedPaths: [], ReadonlyPaths: [] }),
  startFailure: (error) => error,
  // Docker (20.10 measured) looks a layer up by chain id before it opens the layer's tar.
  loadsPartialArchives: true,
  copiesIntoMountsBelow: true,
  reportsExitOfRemoved: true,
};

// Podman's answer when a container's command does not exist; Docker's is a 400 ("executable file not found").
const COMMAND_NOT_FOUND = /OCI runtime attempted to invoke a command that was not found|executable file not found/;

const podman: EngineVariant = {
  kind: 'podman',
  // Podman ignores empty MaskedPaths/ReadonlyPaths; it unmasks with the security option `unmask=ALL`,
  // which Docker refuses ("invalid --security-opt"): so only here.
  unmaskedSystemPaths: (securityOpt) => ({ MaskedPaths: [], ReadonlyPaths: [], SecurityOpt: [...(securityOpt ?? []), 'unmask=ALL'] }),
  // Podman answers a start whose command is missing with 500, Docker with 400: the image is at fault, not
  // the engine's health, so it is a refusal (4xx) on both.
  startFailure: (error) =>
    engineStatus(error) === 500 && error instanceof Error && COMMAND_NOT_FOUND.test(error.message) ? Object.assign(new Error(error.message, { cause: error }), { statusCode: 400 }) : error,
  // Podman refuses a docker-archive whose manifest names layer tars it does not hold ("partial archive").
  loadsPartialArchives: false,
  // Podman copies into a container that is not running without its volumes: a tar put at / whose entries
  // lie under a mounted volume writes them into the container's own filesystem, hidden by the volume (or
  // copied into it only by the copy-up of a still empty volume at the first start). A tar put at the
  // volume's own path reaches the volume.
  copiesIntoMountsBelow: false,
  // Podman answers a wait for the removal of a container that exited 3 with StatusCode 0: a failed helper
  // would pass. So no AutoRemove there: the helper's exit is waited for, then it is removed (a killed run's
  // helper is a labelled leftover that the next run removes).
  reportsExitOfRemoved: false,
};

export function engineVariant(kind: EngineKind): EngineVariant {
  return kind === 'podman' ? podman : docker;
}
