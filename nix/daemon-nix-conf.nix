# The daemon image's nix.conf: the text renderNixConf() in src/daemon/nix-conf.ts gives without
# extra settings (test/nix/daemon-nix-conf.test.ts compares them). Builds run as the nixbld build
# users, never as root; waiters re-poll every second; offline unless substituters are configured;
# nobody is trusted through the socket: job containers connect as uid 0, so `trusted-users = root`
# would trust every job; build time and free-space defaults. `nix-runner provision` writes its own
# root-only nix.conf into every daemon container (these settings plus the module's `settings`, the
# build users, the post-build hook), which includes this file first and overrides it.
''
  allowed-users = *
  build-poll-interval = 1
  build-users-group = nixbld
  max-free = 4294967296
  max-silent-time = 3600
  min-free = 1073741824
  sandbox = false
  substituters =
  timeout = 36000
  trusted-users =
''
