#!/usr/bin/env bash
# Test bed for the end-to-end tests: a real Docker engine, a real Nix and a static busybox.
# Installs what is missing (Debian) and starts dockerd when none answers; idempotent. Without root it
# can do neither: it says what is missing, and fails only when NIX_RUNNER_E2E=1 requires the e2e tests.
set -euo pipefail

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
echo "testbed: docker $(docker version --format '{{.Server.Version}}'), $(nix-store --version 2>/dev/null), busybox $(busybox | head -1 | cut -d' ' -f2)"
