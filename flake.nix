{
  description = "nix-runner: one shared, persistent Nix store for GitLab Runner docker jobs, served by a nix-daemon container";

  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-unstable";

  outputs =
    { self, nixpkgs }:
    let
      inherit (nixpkgs) lib;
      systems = [
        "x86_64-linux"
        "aarch64-linux"
      ];
      forAllSystems = f: lib.genAttrs systems (system: f nixpkgs.legacyPackages.${system});
    in
    {
      packages = forAllSystems (
        pkgs:
        let
          nix-runner = pkgs.callPackage ./nix/package.nix { };
        in
        {
          inherit nix-runner;
          default = nix-runner;
          nix-daemon-image = nix-runner.daemonImage;
        }
      );

      overlays.default = final: _prev: {
        nix-runner = final.callPackage ./nix/package.nix { };
      };

      # The module with this flake's package (and so its daemon image) as defaults; without the
      # flake, import nix/module.nix and add overlays.default instead.
      nixosModules.default =
        { lib, pkgs, ... }:
        {
          imports = [ ./nix/module.nix ];
          services.nix-runner.package =
            lib.mkDefault
              self.packages.${pkgs.stdenv.hostPlatform.system}.default;
        };
      nixosModules.nix-runner = self.nixosModules.default;

      devShells = forAllSystems (pkgs: {
        default = pkgs.mkShell {
          packages = [
            pkgs.nodejs
            pkgs.nix
            pkgs.docker-client
          ];
        };
      });

      checks = forAllSystems (pkgs: {
        package = self.packages.${pkgs.stdenv.hostPlatform.system}.default;
        nix-daemon-image = self.packages.${pkgs.stdenv.hostPlatform.system}.nix-daemon-image;
        # A NixOS VM: needs a builder with KVM (system-features = kvm nixos-test).
        vm-test = import ./nix/vm-test.nix {
          inherit pkgs;
          nixosModule = self.nixosModules.default;
        };
      });
    };
}
