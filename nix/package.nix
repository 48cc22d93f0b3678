# nix-runner, built from package.json + package-lock.json at the top of the repository.
# importNpmLock fetches each package by the integrity hash in the lock file, so there is no
# npmDepsHash to update when the lock file changes.
{
  lib,
  buildNpmPackage,
  importNpmLock,
  callPackage,
}:
let
  root = ../.;
  packageJson = lib.importJSON (root + "/package.json");
in
buildNpmPackage {
  pname = packageJson.name;
  inherit (packageJson) version;

  src = lib.fileset.toSource {
    inherit root;
    fileset = lib.fileset.unions [
      (root + "/package.json")
      (root + "/package-lock.json")
      (root + "/tsconfig.json")
      (root + "/tsconfig.build.json")
      (root + "/src")
    ];
  };

  npmDeps = importNpmLock {
    npmRoot = root;
    packageLock = import ./npm-lock.nix { lock = lib.importJSON (root + "/package-lock.json"); };
  };
  npmConfigHook = importNpmLock.npmConfigHook;

  # Install scripts only build optional native add-ons (ssh2's crypto binding, cpu-features);
  # dockerode works without them, and skipping them keeps the build offline and portable.
  npmRebuildFlags = [ "--ignore-scripts" ];

  # `npm run build` (tsc) writes dist/; the install hook keeps what package.json `files` lists
  # and wraps the `bin` entry with node.

  passthru = {
    # The image the NixOS module runs by default: built from the same nixpkgs as the CLI.
    daemonImage = callPackage ./image.nix { };
  };

  meta = {
    description = packageJson.description;
    license = lib.licenses.mit;
    mainProgram = "nix-runner";
    platforms = lib.platforms.linux;
  };
}
