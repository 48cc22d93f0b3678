# The daemon image's nix.conf: the text renderNixConf() in src/daemon/nix-conf.ts gives without
# extra settings (test/nix/daemon-nix-conf.test.ts compares them). Builds run as root without build
# users or a sandbox (the container is not privileged); waiters re-poll every second; offline unless
# substituters are configured; nobody is trusted through the socket: job containers connect as
# uid 0, so `trusted-users = root` would trust every job. `nix-runner provision` passes the same
# settings, plus the module's `settings`, to the daemon as NIX_CONFIG, which overrides this file.
''
  allowed-users = *
  build-poll-interval = 1
  build-users-group =
  sandbox = false
  substituters =
  trusted-users =
''
