export interface ImageInfo {
  id: string;
  repoTags: string[];
  labels: Record<string, string>;
  env: string[];
  entrypoint: string[];
  cmd: string[];
}

/** An image as the engine lists it. */
export interface ImageSummary {
  id: string;
  /** Empty: a dangling image, no tag names it. */
  repoTags: string[];
  labels: Record<string, string>;
}

export interface VolumeMount {
  volume: string;
  target: string;
  readOnly?: boolean;
}

export interface ContainerSpec {
  name?: string;
  image: string;
  entrypoint?: string[];
  cmd?: string[];
  env?: string[];
  labels?: Record<string, string>;
  mounts?: VolumeMount[];
  /** Host paths mounted into the container (e.g. a file:// binary cache); jobs that take its volumes get them too. */
  binds?: { source: string; target: string; readOnly?: boolean }[];
  volumesFrom?: string[];
  restartUnlessStopped?: boolean;
  /** Resource limits: at most this many processes, this many bytes of memory. */
  pidsLimit?: number;
  memoryBytes?: number;
  /** Extra privileges, e.g. for nix's build sandbox: capabilities to add, security options. */
  capAdd?: string[];
  securityOpt?: string[];
  /** /proc and /sys without the engine's masked and read-only paths (the CLI's systempaths=unconfined). */
  unmaskSystemPaths?: boolean;
  workingDir?: string;
  /** Keep stdin open for one attach, as GitLab Runner does for its build container. */
  stdinOnce?: boolean;
  /** The engine removes the container once it has exited (docker run --rm). */
  autoRemove?: boolean;
}

export interface ContainerInfo {
  id: string;
  name: string;
  imageId: string;
  running: boolean;
  status: string;
  exitCode: number;
  labels: Record<string, string>;
  mounts: { name?: string; destination: string; readOnly: boolean }[];
  hostname: string;
  /** ISO times; startedAt and finishedAt are '0001-01-01T00:00:00Z' while never started or stopped. */
  createdAt: string;
  startedAt: string;
  finishedAt: string;
  /** HostConfig limits; undefined when not set (0 means none). */
  limits: { pids?: number; memoryBytes?: number };
}

/** A container as the engine lists it: no inspect needed. */
export interface ContainerSummary {
  id: string;
  name: string;
  /** created, running, paused, restarting, exited, removing or dead */
  state: string;
  /** The image it was made from (an id: the tag may have moved since). */
  imageId: string;
  labels: Record<string, string>;
  /** Names of the volumes it mounts. */
  volumes: string[];
}

export interface RunResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}
