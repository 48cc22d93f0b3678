# services.nix-runner: a shared, persistent Nix store for the docker runners of
# services.gitlab-runner. `nix-runner provision` runs as an ExecStartPre (and ExecReload) of
# gitlab-runner.service, after nixpkgs' own configure step, once per daemon.
{
  config,
  lib,
  pkgs,
  ...
}:
let
  inherit (lib)
    literalExpression
    mkAfter
    mkDefault
    mkEnableOption
    mkIf
    mkOption
    mkPackageOption
    types
    ;

  cfg = config.services.nix-runner;
  gitlab = config.services.gitlab-runner;

  # nix.conf: key = value, a list is written space-separated.
  nixConfFormat = pkgs.formats.keyValue {
    listToValue = lib.concatMapStringsSep " " toString;
  };

  engineUnit = if cfg.engine == "docker" then "docker.service" else "podman.socket";
  # Socket activated: podman.socket is there before gitlab-runner starts; podman.service only orders.
  engineAfter = if cfg.engine == "docker" then [ "docker.service" ] else [ "podman.socket" "podman.service" ];
  engineEnabled =
    if cfg.engine == "docker" then config.virtualisation.docker.enable else config.virtualisation.podman.enable;

  # Where nixpkgs' services.gitlab-runner keeps config.toml: "$HOME"/.gitlab-runner/config.toml
  # with HOME = /var/lib/gitlab-runner (a DynamicUser StateDirectory).
  defaultRunnerConfig = "/var/lib/gitlab-runner/.gitlab-runner/config.toml";

  # nixpkgs registers services.gitlab-runner.services.<name> under a name with a hash of its
  # settings; that is the `name` config.toml holds and the provisioner matches on.
  registeredName =
    name: service:
    let
      hash = builtins.substring 0 12 (
        builtins.hashString "md5" (builtins.unsafeDiscardStringContext (builtins.toJSON service))
      );
    in
    if service ? description && service.description != null then
      "${hash} ${service.description}"
    else
      "${name}_${config.networking.hostName}_${hash}";

  # With services.gitlab-runner.configFile the runners are the ones in that file, named as written.
  runnerNames = if gitlab.configFile == null then lib.mapAttrs registeredName gitlab.services else { };

  provisionConfigs = import ./provision-config.nix {
    inherit (cfg) engine engineTimeout runnerConfigFile;
    inherit runnerNames;
    declaredRunners = lib.mapAttrs (_: runner: {
      inherit (runner)
        daemon
        url
        tokenFile
        image
        limit
        requestConcurrency
        docker
        ;
    }) cfg.runners;
    daemons = lib.mapAttrs (_: daemon: {
      inherit (daemon)
        image
        runners
        settings
        sandbox
        pidsLimit
        memoryLimit
        cache
        jobImages
        ;
    }) cfg.daemons;
  };

  configFiles = lib.mapAttrs (
    name: settings: pkgs.writeText "nix-runner-${name}.json" (builtins.toJSON settings)
  ) provisionConfigs;

  provisionCommands = lib.mapAttrsToList (
    _: file: "!${cfg.package}/bin/nix-runner provision --config ${file}"
  ) configFiles;

  gcCommands = map (
    name:
    "${cfg.package}/bin/nix-runner gc --daemon ${name}"
    + " --max-age ${toString cfg.gc.maxAge}"
    + lib.optionalString (cfg.gc.maxSize != null) " --max-size ${cfg.gc.maxSize}"
    + lib.optionalString (cfg.gc.maxFreed != null) " --max-freed ${toString cfg.gc.maxFreed}"
  ) (builtins.attrNames cfg.daemons);

  inStore = value: value != null && lib.hasPrefix "${builtins.storeDir}/" (toString value);

  containerName = "[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}";
  settingName = "[a-z][a-z0-9-]*";

  # nix.conf settings that hold a secret, or the path of one.
  inlineSecrets = [
    "access-tokens"
    "extra-access-tokens"
  ];
  secretFiles = [
    "netrc-file"
    "secret-key-files"
    "extra-secret-key-files"
  ];

  daemonList = lib.mapAttrsToList (name: daemon: daemon // { inherit name; }) cfg.daemons;
  attachedRunners = lib.concatMap (daemon: daemon.runners) daemonList;
  imageSources =
    daemon: builtins.filter (key: daemon.image.${key} != null) [ "ref" "archive" "storePath" "flake" ];

  imageOptions = {
    options = {
      ref = mkOption {
        type = types.nullOr types.str;
        default = null;
        example = "registry.example.com/nix-daemon:2.24";
        description = "An image already present in the engine.";
      };
      archive = mkOption {
        type = types.nullOr types.path;
        default = null;
        example = literalExpression ''pkgs.dockerTools.buildLayeredImage { name = "nix-daemon"; contents = [ pkgs.nix ]; }'';
        description = "A docker-archive file (`docker save` format), streamed into the engine.";
      };
      storePath = mkOption {
        type = types.nullOr (types.either types.package types.str);
        default = null;
        example = literalExpression "pkgs.nixVersions.latest";
        description = ''
          A Nix package holding `bin/nix-daemon`; the provisioner builds the image from its
          closure (`nix-store -qR`).
          Must be a whole `/nix/store/<hash>-<name>` path.
        '';
      };
      flake = mkOption {
        type = types.nullOr (types.either types.package types.str);
        default = null;
        example = "github:owner/repo#nix-daemon-image";
        description = ''
          Anything `nix build` accepts: a flake reference, or a derivation such as a
          `dockerTools.streamLayeredImage` script (its output is streamed into the engine) or a
          `buildLayeredImage` tarball (loaded as is).
        '';
      };
    };
  };

  runnerOptions = {
    options = {
      daemon = mkOption {
        type = types.str;
        default = "nix-daemon";
        description = "The daemon (a name in {option}`services.nix-runner.daemons`) whose shared store this runner's jobs use.";
      };
      url = mkOption {
        type = types.str;
        example = "https://gitlab.example.com";
        description = "The GitLab instance the runner takes jobs from.";
      };
      tokenFile = mkOption {
        type = types.str;
        example = "/run/secrets/gitlab-runner-ci";
        description = ''
          A file outside the Nix store holding the runner authentication token (`glrt-…`, from
          GitLab's "New runner" page). Read by the provisioner at each start; never copied into the store.
        '';
      };
      image = mkOption {
        type = types.nullOr types.str;
        default = null;
        example = "alpine:3.20";
        description = "The default job image (`[runners.docker] image`).";
      };
      limit = mkOption {
        type = types.nullOr types.ints.unsigned;
        default = null;
        description = "At most this many jobs of this runner at once (`limit`; 0: no limit).";
      };
      requestConcurrency = mkOption {
        type = types.nullOr types.ints.positive;
        default = null;
        description = "Concurrent job requests to GitLab (`request_concurrency`).";
      };
      docker = mkOption {
        type = types.attrsOf types.anything;
        default = { };
        example = {
          privileged = false;
          shm_size = 0;
        };
        description = "Other `[runners.docker]` keys, as GitLab Runner names them.";
      };
    };
  };

  cacheOptions = {
    options = {
      url = mkOption {
        type = types.str;
        example = "s3://ci-cache?region=eu-west-1";
        description = "Any Nix store URL: `https://…`, `s3://bucket?…`, `file:///dir` (a host directory).";
      };
      publicKeys = mkOption {
        type = types.listOf types.str;
        default = [ ];
        description = "Keys whose signatures the daemon trusts (`name:base64`, from `nix-store --generate-binary-cache-key`).";
      };
      secretKeyFile = mkOption {
        type = types.nullOr types.str;
        default = null;
        description = "Signs what this daemon builds; outside the Nix store. The daemon gets a root-only copy.";
      };
      credentialsFile = mkOption {
        type = types.nullOr types.str;
        default = null;
        description = "AWS credentials for an `s3://` cache; outside the Nix store. The daemon gets a root-only copy.";
      };
      push = mkOption {
        type = types.bool;
        default = false;
        description = "Upload each path this daemon builds, signed (needs `secretKeyFile`).";
      };
    };
  };

  daemonOptions = {
    options = {
      image = mkOption {
        type = types.submodule imageOptions;
        default = {
          storePath = config.nix.package;
        };
        defaultText = literalExpression "{ storePath = config.nix.package; }";
        example = literalExpression "{ flake = config.services.nix-runner.package.daemonImage; }";
        description = ''
          Where the daemon's nix comes from; give at most one of `ref`, `archive`, `storePath` and `flake`.
          Default: the host's own nix package as a store path, the fast path: the daemon runs a
          constant base image and only the store paths its store volume lacks are copied into it,
          so a flake update that changes nix builds and loads no image. `flake` (e.g. this flake's
          `packages.<system>.nix-daemon-image`), `archive` and `ref` run an image that holds its nix.
        '';
      };
      runners = mkOption {
        type = types.listOf types.str;
        default = [ ];
        example = [ "nix" ];
        description = ''
          Runners that get this daemon: names of {option}`services.gitlab-runner.services`
          (translated to the names nixpkgs registers them under), or, with
          {option}`services.gitlab-runner.configFile`, the `name` of a runner in that file.
          Empty: every runner with a docker executor.
        '';
      };
      settings = mkOption {
        type = nixConfFormat.type;
        default = { };
        example = {
          substituters = [ "https://cache.nixos.org" ];
          trusted-public-keys = [ "cache.nixos.org-1:6NCHdD59X431o0gWypbMrAURkbJ16ZPMQFGspcDShjY=" ];
          max-jobs = 4;
        };
        description = ''
          Extra nix.conf settings of the daemon, on top of nix-runner's (builds as the `nixbld`
          build users, no substituters, nobody trusted through the socket, build time limits);
          the provisioner writes them to a root-only nix.conf inside the daemon container.
          `build-users-group`, `trusted-users`, `post-build-hook` and `sandbox` are nix-runner's
          own. These values end up in the Nix store: put no secret here.
        '';
      };
      jobImages = mkOption {
        type = types.nullOr (
          types.listOf (
            types.submodule {
              options = {
                tag = mkOption {
                  type = types.str;
                  example = "ci/base:1";
                  description = "The image reference jobs name in `image:`.";
                };
                paths = mkOption {
                  type = types.listOf (types.either types.package types.str);
                  example = literalExpression "[ pkgs.bashInteractive pkgs.coreutils pkgs.git ]";
                  description = "Packages (or store paths, or flake installables) the image stands for: its /bin, /etc, /lib, /share, … are symlinks into them (the first that has a name wins).";
                };
              };
            }
          )
        );
        default = null;
        description = ''
          Job images whose content lives in this daemon's shared store: a few KB each (symlinks into
          the packages). Each provision builds what changed (nix decides, in dependency order), loads
          only the images whose content changed, sends the closure paths the store lacks and roots
          them; one removed from the list is released, and an older image a job container still uses
          stays rooted until that container is gone. Runners whose default image is one take the
          engine's copy first (`pull_policy` gets `if-not-present` in front). `null`: job images made
          by hand are left as they are.
        '';
      };
      cache = mkOption {
        type = types.nullOr (types.submodule cacheOptions);
        default = null;
        example = literalExpression ''
          {
            url = "https://cache.example.com";
            publicKeys = [ "ci-cache-1:..." ];
            secretKeyFile = "/run/secrets/ci-cache.sk";
            push = true;
          }
        '';
        description = ''
          A binary cache shared by a fleet of runner hosts: the daemon substitutes from it (signatures
          checked against `publicKeys`); with `push`, it signs what it builds with `secretKeyFile`
          and uploads it in the background. Jobs can neither add substituters nor upload.
        '';
      };
      sandbox = mkOption {
        type = types.bool;
        default = false;
        description = ''
          Run builds in Nix's build sandbox: a builder then sees only its inputs, /build, /dev,
          /proc and /tmp. The daemon container needs more privilege for it: CAP_SYS_ADMIN and
          unconfined seccomp, AppArmor and system paths.
        '';
      };
      pidsLimit = mkOption {
        type = types.nullOr types.ints.positive;
        default = null;
        example = 4096;
        description = "At most this many processes in the daemon container, builds included; null: nix-runner's default (16384).";
      };
      memoryLimit = mkOption {
        type = types.nullOr (types.either types.ints.positive types.str);
        default = null;
        example = "16g";
        description = "Memory of the daemon container, builds included (bytes, or k/m/g/t); null: half the host's memory.";
      };
    };
  };
in
{
  options.services.nix-runner = {
    enable = mkEnableOption "nix-runner, a shared persistent Nix store for GitLab Runner docker jobs";

    package = mkPackageOption pkgs "nix-runner" { };

    engine = mkOption {
      type = types.enum [
        "docker"
        "podman"
      ];
      default = "docker";
      description = "The container engine the docker executor of GitLab Runner uses.";
    };

    engineTimeout = mkOption {
      type = types.nullOr types.ints.positive;
      default = null;
      example = 120;
      description = ''
        Seconds each engine call may take (`--engine-timeout`); an image load fails only after this long
        without progress. null: nix-runner's default (60). A hung engine then fails the provision
        (exit 4) instead of holding gitlab-runner.service's start.
      '';
    };

    runnerConfigFile = mkOption {
      type = types.path;
      default = defaultRunnerConfig;
      description = ''
        GitLab Runner's config.toml, rewritten in place (it holds the runner tokens). The default
        is where {option}`services.gitlab-runner` keeps it.
      '';
    };

    runners = mkOption {
      type = types.attrsOf (types.submodule runnerOptions);
      default = { };
      example = literalExpression ''
        {
          ci = {
            url = "https://gitlab.example.com";
            tokenFile = "/run/secrets/gitlab-runner-ci";
            image = "alpine:3.20";
            limit = 4;
          };
        }
      '';
      description = ''
        Runners nix-runner writes into config.toml itself, by name: complete `[[runners]]` entries with
        the docker executor, attached to their daemon. No `gitlab-runner register` and no
        {option}`services.gitlab-runner.services` needed; a runner removed here is removed from
        config.toml at the next start. Runners of `services.gitlab-runner.services` are attached as before.
      '';
    };

    daemons = mkOption {
      type = types.attrsOf (types.submodule daemonOptions);
      default = {
        nix-daemon = { };
      };
      example = literalExpression ''
        {
          nix-daemon.runners = [ "nix" ];
          nix-daemon-big = {
            runners = [ "nix-big" ];
            settings.max-jobs = 8;
          };
        }
      '';
      description = ''
        Daemon containers, by container name (which also prefixes their volumes
        `<name>-store`, `<name>-db`, `<name>-roots`, and `<name>-socket-<generation>` per daemon generation).
      '';
    };

    gc = {
      enable = mkOption {
        type = types.bool;
        default = false;
        description = ''
          Whether to collect garbage in each daemon's store at {option}`services.nix-runner.gc.dates`,
          with `nix-runner gc`: it waits for running jobs to end (up to 5 minutes), and skips the run
          when they do not.
        '';
      };

      dates = mkOption {
        type = types.str;
        default = "weekly";
        example = "Sun 03:00";
        description = "When to collect garbage, as a systemd calendar event (systemd.time(7)).";
      };

      maxAge = mkOption {
        type = types.ints.unsigned;
        default = 30;
        description = "Drop the roots the daemon keeps for builds older than this many days, then collect.";
      };

      maxSize = mkOption {
        type = types.nullOr types.str;
        default = null;
        example = "200g";
        description = "Then drop the oldest build roots until what the rest hold weighs at most this; null: no size limit.";
      };

      maxFreed = mkOption {
        type = types.nullOr types.ints.unsigned;
        default = null;
        example = 50 * 1024 * 1024 * 1024;
        description = "Stop after freeing this many bytes; null: collect all garbage.";
      };
    };
  };

  config = mkIf cfg.enable {
    assertions = [
      {
        assertion = gitlab.enable;
        message = "services.nix-runner provisions from gitlab-runner.service: set services.gitlab-runner.enable = true.";
      }
      {
        assertion = engineEnabled;
        message =
          if cfg.engine == "docker" then
            "services.nix-runner.engine = \"docker\" needs virtualisation.docker.enable = true."
          else
            "services.nix-runner.engine = \"podman\" needs virtualisation.podman.enable = true.";
      }
      {
        # Jobs reach the engine through GitLab Runner's default /var/run/docker.sock: with Podman, only
        # its Docker socket makes that Podman (nix-runner refuses a runner whose engine is not the daemon's).
        assertion = cfg.engine != "podman" || config.virtualisation.podman.dockerSocket.enable;
        message = "services.nix-runner.engine = \"podman\" needs virtualisation.podman.dockerSocket.enable = true: the jobs of GitLab Runner's docker executor reach Podman through /run/docker.sock.";
      }
      {
        assertion = builtins.all (daemon: daemon.cache == null || (!inStore daemon.cache.secretKeyFile && !inStore daemon.cache.credentialsFile)) daemonList;
        message = "services.nix-runner.daemons.<name>.cache: secretKeyFile and credentialsFile must be outside the Nix store (it is world-readable).";
      }
      {
        assertion = builtins.all (daemon: daemon.cache == null || !daemon.cache.push || daemon.cache.secretKeyFile != null) daemonList;
        message = "services.nix-runner.daemons.<name>.cache.push needs secretKeyFile: only signed paths go to the cache.";
      }
      {
        assertion = builtins.all (runner: !inStore runner.tokenFile) (builtins.attrValues cfg.runners);
        message = "services.nix-runner.runners: a tokenFile must be outside the Nix store (it is world-readable there): ${
          toString (builtins.filter (name: inStore cfg.runners.${name}.tokenFile) (builtins.attrNames cfg.runners))
        }.";
      }
      {
        assertion = builtins.all (runner: cfg.daemons ? ${runner.daemon}) (builtins.attrValues cfg.runners);
        message = "services.nix-runner.runners: each runner's daemon must be one of services.nix-runner.daemons (${toString (builtins.attrNames cfg.daemons)}).";
      }
      {
        assertion = !inStore cfg.runnerConfigFile;
        message = "services.nix-runner.runnerConfigFile must be the writable config.toml GitLab Runner reads, not a file in the Nix store (default: ${defaultRunnerConfig}).";
      }
      {
        assertion = builtins.length daemonList < 2 || builtins.all (daemon: daemon.runners != [ ]) daemonList;
        message = "services.nix-runner.daemons: with several daemons, give each its runners (an empty list means every docker runner).";
      }
      {
        assertion = lib.length (lib.unique attachedRunners) == lib.length attachedRunners;
        message = "services.nix-runner.daemons: a runner can use one daemon only; attached twice: ${
          toString (lib.unique (builtins.filter (r: lib.count (x: x == r) attachedRunners > 1) attachedRunners))
        }.";
      }
    ]
    ++ lib.concatMap (
      daemon:
      [
        {
          assertion = builtins.match containerName daemon.name != null;
          message = "services.nix-runner.daemons.${daemon.name}: a daemon name is a container name: letters, digits, '_', '.', '-', at most 63.";
        }
        {
          assertion = builtins.length (imageSources daemon) <= 1;
          message = "services.nix-runner.daemons.${daemon.name}.image: give one of ref, archive, storePath and flake, not ${lib.concatStringsSep " and " (imageSources daemon)}.";
        }
      ]
      ++ map (setting: {
        assertion = builtins.match settingName setting != null;
        message = "services.nix-runner.daemons.${daemon.name}.settings.${setting}: not a nix.conf setting name.";
      }) (builtins.attrNames daemon.settings)
      ++ lib.optionals (gitlab.configFile == null) (
        map (runner: {
          assertion = gitlab.services ? ${runner};
          message = "services.nix-runner.daemons.${daemon.name}.runners: ${runner} is not declared in services.gitlab-runner.services (declared: ${lib.concatStringsSep ", " (builtins.attrNames gitlab.services)}).";
        }) daemon.runners
      )
    ) daemonList;

    warnings = lib.concatMap (
      daemon:
      map (
        setting:
        "services.nix-runner.daemons.${daemon.name}.settings.${setting} is a secret, and the settings are world-readable in the Nix store."
      ) (builtins.filter (setting: daemon.settings ? ${setting}) inlineSecrets)
      ++ map (
        setting:
        "services.nix-runner.daemons.${daemon.name}.settings.${setting} points into the Nix store, which is world-readable: use a path outside it."
      ) (builtins.filter (setting: builtins.any inStore (lib.toList (daemon.settings.${setting} or [ ]))) secretFiles)
      ++ map (
        runner:
        "services.nix-runner.daemons.${daemon.name}.runners: ${runner} uses the ${gitlab.services.${runner}.executor} executor; nix-runner only attaches docker runners."
      ) (
        builtins.filter (
          runner:
          gitlab.configFile == null
          && gitlab.services ? ${runner}
          && !lib.hasPrefix "docker" gitlab.services.${runner}.executor
        ) daemon.runners
      )
    ) daemonList;

    environment.systemPackages = [ cfg.package ];

    virtualisation.podman.dockerSocket.enable = mkIf (cfg.engine == "podman") (mkDefault true);

    systemd.services.gitlab-runner = {
      after = engineAfter;
      requires = [ engineUnit ];
      # nix-store / nix build for the image sources; the provisioner talks to the host's store.
      path = [ config.nix.package ];
      # gitlab-runner.service has reloadIfChanged: a switch reloads it, so ExecReload provisions too.
      restartTriggers = builtins.attrValues configFiles ++ [ cfg.package ];
      serviceConfig = {
        ExecStartPre = mkAfter provisionCommands;
        ExecReload = mkAfter provisionCommands;
        # The first provision loads the image and fills the store volume.
        TimeoutStartSec = mkDefault "10min";
      };
    };

    systemd.services.nix-runner-gc = mkIf cfg.gc.enable {
      description = "Garbage-collect the stores of the nix-runner daemons";
      after = engineAfter;
      requires = [ engineUnit ];
      environment = lib.optionalAttrs (cfg.engine == "podman") {
        DOCKER_HOST = "unix:///run/podman/podman.sock";
      };
      serviceConfig = {
        Type = "oneshot";
        ExecStart = gcCommands;
      };
    };

    systemd.timers.nix-runner-gc = mkIf cfg.gc.enable {
      description = "Garbage-collect the stores of the nix-runner daemons";
      wantedBy = [ "timers.target" ];
      timerConfig = {
        OnCalendar = cfg.gc.dates;
        Persistent = true;
        RandomizedDelaySec = "15min";
      };
    };
  };
}
