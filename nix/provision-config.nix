# The option values of services.nix-runner -> one provisioner config per daemon, in the shape of
# provisionSettingsSchema (src/config/schema.ts). Pure on purpose: it needs neither nixpkgs nor a
# store, so `nix-instantiate --eval --strict --json` checks it anywhere. String context (the store
# paths of images) is kept, so the generated file depends on what it names.
{
  # <name> = { image ? { }, runners ? [ ], settings ? { }, sandbox ? false, pidsLimit ? null, memoryLimit ? null, cache ? null };
  # cache = { url, publicKeys ? [ ], secretKeyFile ? null, credentialsFile ? null, push ? false }
  # jobImages = [ { tag, paths = [ package or store path or installable … ] } ]
  # image = { ref | archive | storePath | flake }
  daemons ? {
    nix-daemon = { };
  },
  engine ? "docker",
  # Seconds per engine call; null: nix-runner's default.
  engineTimeout ? null,
  runnerConfigFile ? "/var/lib/gitlab-runner/.gitlab-runner/config.toml",
  # Runner names as given in `runners` -> the `name` GitLab Runner keeps in config.toml.
  runnerNames ? { },
  # <name> = { daemon, url, tokenFile, image ? null, limit ? null, requestConcurrency ? null, docker ? { } }:
  # runners nix-runner writes into config.toml itself (no `gitlab-runner register`).
  declaredRunners ? { },
}:
let
  inherit (builtins)
    attrNames
    concatStringsSep
    filter
    head
    isBool
    isList
    isPath
    length
    listToAttrs
    mapAttrs
    removeAttrs
    ;

  engineHosts = {
    docker = null; # DOCKER_HOST, else /var/run/docker.sock
    podman = "unix:///run/podman/podman.sock";
  };

  imageKeys = {
    ref = "imageRef";
    archive = "imageArchive";
    storePath = "imageStorePath";
    flake = "imageFlake";
  };

  imageSource =
    daemon: image:
    let
      given = filter (key: (image.${key} or null) != null) (attrNames imageKeys);
    in
    if length given > 1 then
      throw "services.nix-runner.daemons.${daemon}.image: give one of ref, archive, storePath and flake, not ${concatStringsSep " and " given}"
    else
      listToAttrs (
        map (key: {
          name = imageKeys.${key};
          value = toString image.${key};
        }) given
      );

  atomString =
    value:
    if isBool value then
      (if value then "true" else "false")
    else
      toString value;

  # pkgs.formats.keyValue with listToValue hands every value over as a list: one element is the
  # value itself, several are a nix.conf list; null means "not set".
  settingValue =
    value:
    if isList value then
      let
        present = filter (item: item != null) value;
      in
      if present == [ ] then
        null
      else if length present == 1 then
        settingValue (head present)
      else
        map atomString present
    else if isPath value then
      toString value
    else
      value;

  nixSettings =
    settings:
    let
      values = mapAttrs (_: settingValue) settings;
    in
    removeAttrs values (filter (name: values.${name} == null) (attrNames values));

  dockerHost =
    if engineHosts ? ${engine} then
      engineHosts.${engine}
    else
      throw "services.nix-runner.engine: expected docker or podman, got ${engine}";

  # Only the keys that are set: the schema (declaredRunnerSchema) takes no nulls.
  declaredRunner =
    name: runner:
    {
      inherit name;
      inherit (runner) url;
      tokenFile = toString runner.tokenFile;
      docker = runner.docker or { };
    }
    // builtins.listToAttrs (
      map (key: {
        name = key;
        value = runner.${key};
      }) (filter (key: (runner.${key} or null) != null) [ "image" "limit" "requestConcurrency" ])
    );

  declaredFor =
    daemon:
    map (name: declaredRunner name declaredRunners.${name}) (
      filter (name: (declaredRunners.${name}.daemon or "nix-daemon") == daemon) (attrNames declaredRunners)
    );

  unknownDaemons = filter (name: !(daemons ? ${declaredRunners.${name}.daemon or "nix-daemon"})) (attrNames declaredRunners);

  # The binary cache as the schema takes it (binaryCacheSchema): no nulls, file paths as strings.
  cacheConfig =
    cache:
    {
      inherit (cache) url;
      publicKeys = cache.publicKeys or [ ];
      push = cache.push or false;
    }
    // (if (cache.secretKeyFile or null) == null then { } else { secretKeyFile = toString cache.secretKeyFile; })
    // (if (cache.credentialsFile or null) == null then { } else { credentialsFile = toString cache.credentialsFile; });

  daemonConfig =
    name: daemon:
    {
      runnerConfig = toString runnerConfigFile;
      runners = map (runner: runnerNames.${runner} or runner) (daemon.runners or [ ]);
      daemon = name;
      nixSettings = nixSettings (daemon.settings or { });
      sandbox = daemon.sandbox or false;
      # always given: the runners declared earlier for this daemon and no longer declared are removed
      declaredRunners = declaredFor name;
    }
    // (if (daemon.pidsLimit or null) == null then { } else { inherit (daemon) pidsLimit; })
    // (if (daemon.memoryLimit or null) == null then { } else { inherit (daemon) memoryLimit; })
    // (if (daemon.cache or null) == null then { } else { cache = cacheConfig daemon.cache; })
    // (
      if (daemon.jobImages or null) == null then
        { }
      else
        {
          jobImages = map (job: {
            inherit (job) tag;
            paths = map toString job.paths;
          }) daemon.jobImages;
        }
    )
    // imageSource name (daemon.image or { })
    // (if dockerHost == null then { } else { inherit dockerHost; })
    // (if engineTimeout == null then { } else { inherit engineTimeout; });
in
if unknownDaemons != [ ] then
  throw "services.nix-runner.runners: ${concatStringsSep ", " unknownDaemons} name a daemon that services.nix-runner.daemons does not have"
else
  mapAttrs daemonConfig daemons
