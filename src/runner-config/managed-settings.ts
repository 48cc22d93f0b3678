/** What nix-runner adds to each attached runner of GitLab Runner's config.toml. */
export interface ManagedSettings {
  /** Daemon container name, e.g. `nix-daemon`. */
  daemon: string;
  /** `[runners.docker] volumes_from` entries, e.g. `['nix-daemon:ro']`. */
  volumesFrom: string[];
  /** `[[runners]] environment` entries (`KEY=value`), e.g. `NIX_REMOTE=daemon` and a PATH with nix's bin dir. */
  environment: string[];
  /** Body lines of the managed block in `[[runners]] pre_build_script`. */
  preBuildScript: string[];
  /**
   * The engine the daemon runs on (e.g. unix:///run/podman/podman.sock): a runner without `[runners.docker]
   * host` gets it when GitLab Runner's default is another engine; a runner whose host names another
   * engine is refused. Undefined: not checked.
   */
  engineHost?: string;
  /**
   * Tags of nix-runner job images: a runner whose default image is one gets `pull_policy =
   * ["if-not-present"]` when it has none (such an image is in no registry; "always" would fail).
   */
  jobImageTags?: string[];
}
