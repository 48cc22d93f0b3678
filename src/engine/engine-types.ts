export interface ImageInfo {
  id: string;
  repoTags: string[];
  labels: Record<string, string>;
  env: string[];
  entrypoint: string[];
  cmd: string[];
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
  volumesFrom?: string[];
  restartUnlessStopped?: boolean;
  workingDir?: string;
  /** Keep stdin open for one attach, as GitLab Runner does for its build container. */
  stdinOnce?: boolean;
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
}

export interface RunResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}
