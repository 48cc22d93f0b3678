// The derivation that turns a bundled nix runtime (ld.so, libraries, the real binary, a static busybox for the shebangs)
// into a store path with ordinary nix commands. Wrappers need absolute paths (a shebang), hence a
// derivation: nix records the runtime as its reference, so the closure is complete.
export const WRAPPERS_NIX = `{ runtime, variant ? "" }:
derivation {
  name = "nix-runner-host-nix";
  system = builtins.currentSystem;
  builder = "\${runtime}/bin/busybox";
  inherit variant;
  args = [ "sh" "-ec" ''
    mkdir -p $out/bin
    for n in nix nix-build nix-channel nix-collect-garbage nix-copy-closure nix-daemon nix-env \\
             nix-hash nix-instantiate nix-prefetch-url nix-shell nix-store build-remote; do
      printf '#!%s/bin/busybox sh\\nexec %s/lib/ld.so --library-path %s/lib --argv0 %s %s/libexec/nix "$@"\\n' \\
        \${runtime} \${runtime} \${runtime} $n \${runtime} > $out/bin/$n
      chmod 555 $out/bin/$n
    done
  '' ];
}
`;
