# The nix-daemon image: a script that streams a docker-archive (dockerTools.streamLayeredImage),
# one layer per store path. What `nix-runner provision` needs of an image it did not build: the
# label org.nix-runner.nix (the store path holding bin/nix-daemon) and the registration of the
# closure, here both as /nix-runner/registration (`nix-store --load-db` format, from closureInfo)
# and, where nixpkgs has it, as a registered db (includeNixDB). The provisioner runs
# <nix>/bin/nix-daemon itself, with nix.conf settings in NIX_CONFIG; the entrypoint is the same,
# for `docker run` by hand.
{
  lib,
  dockerTools,
  closureInfo,
  writeText,
  nix,
  cacert,
  bashInteractive,
  coreutils,
  name ? "nix-runner-daemon",
  tag ? null,
}:
let
  nixConf = writeText "nix.conf" (import ./daemon-nix-conf.nix);

  contents = [
    nix
    cacert
    bashInteractive
    coreutils
  ];

  # What a seeder needs to copy this image's closure into an older store volume and register it.
  closure = closureInfo { rootPaths = contents; };

  # includeNixDB registers the closure of `contents` in /nix/var/nix/db (added to
  # streamLayeredImage by NixOS/nixpkgs#308822, 2024), so a first daemon on empty volumes gets a
  # valid store; /nix-runner/registration does the same through the seed step on older nixpkgs.
  nixDb = lib.optionalAttrs (lib.functionArgs dockerTools.streamLayeredImage ? includeNixDB) {
    includeNixDB = true;
  };
in
dockerTools.streamLayeredImage (
  {
    inherit name tag contents;
    # Real files, not links into the store: the store is a volume that a new image only finds
    # filled after seeding. The gc root lives in the image layer (gcroots is no volume), so a
    # collection in this daemon keeps its own nix.
    extraCommands = ''
      mkdir -p -m 1777 tmp
      mkdir -p etc/nix root var/empty nix/var/nix/gcroots nix/var/nix/profiles nix/var/nix/daemon-socket nix-runner
      ln -sfn ${nix} nix/var/nix/gcroots/nix-runner-daemon-nix
      rm -f etc/nix/nix.conf etc/passwd etc/group etc/nsswitch.conf
      cp ${nixConf} etc/nix/nix.conf
      # root, nobody and the build users every build runs as (src/daemon/build-users.ts: the same accounts)
      printf '%s\n' 'root:x:0:0:root:/root:/bin/sh' 'nobody:x:65534:65534:nobody:/var/empty:/bin/false' > etc/passwd
      members=
      for i in $(seq 1 32); do
        echo "nixbld$i:x:$((30000 + i)):30000:nix build user $i:/var/empty:/bin/false" >> etc/passwd
        members="$members''${members:+,}nixbld$i"
      done
      printf '%s\n' 'root:x:0:' 'nogroup:x:65534:' "nixbld:x:30000:$members" > etc/group
      printf '%s\n' 'hosts: files dns' > etc/nsswitch.conf
      chmod 644 etc/nix/nix.conf etc/passwd etc/group etc/nsswitch.conf
      cp ${closure}/registration nix-runner/registration
      cp ${closure}/store-paths nix-runner/store-paths
    '';
    config = {
      Entrypoint = [ "${nix}/bin/nix-daemon" ];
      Env = [
        "PATH=/bin:${nix}/bin"
        "HOME=/root"
        "USER=root"
        "NIX_SSL_CERT_FILE=${cacert}/etc/ssl/certs/ca-bundle.crt"
      ];
      Labels = {
        "org.nix-runner.nix" = "${nix}";
      };
    };
  }
  // nixDb
)
