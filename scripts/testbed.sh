#!/usr/bin/env bash
# Test bed for the end-to-end tests: a real Docker engine, a real Nix and a static busybox.
# Installs what is missing (Debian) and starts dockerd when none answers; idempotent. Without root it
# can do neither: it says what is missing, and fails only when NIX_RUNNER_E2E=1 requires the e2e tests.
# With NIX_RUNNER_ENGINE=podman (or --podman) it also readies rootful Podman: the package, the
# default rlimits its containers need here, and its API service on /run/podman/podman.sock.
set -euo pipefail

engine="${NIX_RUNNER_ENGINE:-docker}"
[ "${1:-}" = --podman ] && engine=podman
case "$engine" in docker | podman) ;; *) echo "testbed: NIX_RUNNER_ENGINE is docker or podman, not $engine" >&2; exit 2 ;; esac
PODMAN_SOCKET=/run/podman/podman.sock

cannot() {
  echo "testbed: $1" >&2
  if [ "${NIX_RUNNER_E2E:-}" = 1 ]; then exit 1; fi
  echo "testbed: the end-to-end tests will be skipped" >&2
  exit 0
}

missing=()
command -v dockerd >/dev/null || [ -x /usr/sbin/dockerd ] || missing+=(docker.io)
command -v nix-store >/dev/null || missing+=(nix-bin)
# ldd fails on a static binary, which is what is wanted here
[ -x /bin/busybox ] && [[ "$(ldd /bin/busybox 2>&1 || true)" == *"not a dynamic"* ]] || missing+=(busybox-static)
# the docker CLI too: the tests call it, pointed at Podman through DOCKER_HOST
[ "$engine" = podman ] && ! command -v podman >/dev/null && missing+=(podman)
if [ ${#missing[@]} -gt 0 ]; then
  [ "$(id -u)" = 0 ] || cannot "missing ${missing[*]}; run as root (or install them) to get them"
  echo "testbed: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! docker info >/dev/null 2>&1; then
  [ "$(id -u)" = 0 ] || cannot "no Docker engine answers; start dockerd (as root) first"
  echo "testbed: starting dockerd"
  nohup dockerd >/var/log/nix-runner-dockerd.log 2>&1 &
  for _ in $(seq 120); do docker info >/dev/null 2>&1 && break; sleep 0.5; done
  docker info >/dev/null 2>&1 || { echo "testbed: dockerd did not answer; see /var/log/nix-runner-dockerd.log" >&2; exit 1; }
fi
podman_answers() {
  timeout 10 podman --remote --url "unix://$PODMAN_SOCKET" version >/dev/null 2>&1
}

# Podman's default rlimits (nofile 1048576) exceed this machine kind's hard limits: without lower ones
# every container fails with "error setting rlimit type 7: operation not permitted". A drop-in (read
# by podman 4.3 too), written only when no configuration of the operator's sets them.
podman_ulimits() {
  local dropin=/etc/containers/containers.conf.d/50-nix-runner-testbed.conf
  [ -f "$dropin" ] && return 0
  if grep -qs '^[[:space:]]*default_ulimits' /etc/containers/containers.conf /etc/containers/containers.conf.d/*.conf /usr/share/containers/containers.conf; then
    echo "testbed: podman: default_ulimits already set in /etc/containers; left as it is"
    return 0
  fi
  mkdir -p "$(dirname "$dropin")"
  printf '# written by nix-runner scripts/testbed.sh: rlimits that fit the hard limits here\n[containers]\ndefault_ulimits = ["nofile=8192:8192", "nproc=8192:8192"]\n' >"$dropin"
  echo "testbed: podman: wrote $dropin"
}

if [ "$engine" = podman ] && [ "$(id -u)" = 0 ]; then podman_ulimits; fi
if [ "$engine" = podman ] && ! podman_answers; then
  [ "$(id -u)" = 0 ] || cannot "no Podman service answers at $PODMAN_SOCKET; start \`podman system service --time=0 unix://$PODMAN_SOCKET\` (as root) first"
  echo "testbed: starting podman system service"
  mkdir -p "$(dirname "$PODMAN_SOCKET")"
  # a socket file left by a service that is gone would make the new one fail to bind
  rm -f "$PODMAN_SOCKET"
  nohup podman system service --time=0 "unix://$PODMAN_SOCKET" >/var/log/nix-runner-podman.log 2>&1 &
  for _ in $(seq 120); do podman_answers && break; sleep 0.5; done
  podman_answers || { echo "testbed: podman did not answer; see /var/log/nix-runner-podman.log" >&2; exit 1; }
fi

echo "testbed: docker $(docker version --format '{{.Server.Version}}'), $(nix-store --version 2>/dev/null), busybox $(busybox | head -1 | cut -d' ' -f2)"
if [ "$engine" = podman ]; then echo "testbed: podman $(podman --remote --url "unix://$PODMAN_SOCKET" version --format '{{.Server.Version}}') at unix://$PODMAN_SOCKET"; fi
