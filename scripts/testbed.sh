#!/usr/bin/env bash
# Test bed for the end-to-end tests: a real Docker engine, a real Nix and a static busybox.
# Installs what is missing (Debian), starts dockerd when none answers. Idempotent; needs root.
set -euo pipefail

missing=()
command -v dockerd >/dev/null || missing+=(docker.io)
[ -x /usr/bin/nix-store ] || command -v nix-store >/dev/null || missing+=(nix-bin)
[ -x /bin/busybox ] && /bin/busybox --list 2>/dev/null | grep -qx sh && ldd /bin/busybox 2>&1 | grep -q 'not a dynamic' ||
  missing+=(busybox-static)
if [ ${#missing[@]} -gt 0 ]; then
  echo "testbed: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! docker info >/dev/null 2>&1; then
  echo "testbed: starting dockerd"
  nohup dockerd >/var/log/nix-runner-dockerd.log 2>&1 &
  for _ in $(seq 120); do docker info >/dev/null 2>&1 && break; sleep 0.5; done
  docker info >/dev/null 2>&1 || { echo "testbed: dockerd did not answer; see /var/log/nix-runner-dockerd.log" >&2; exit 1; }
fi
echo "testbed: docker $(docker version --format '{{.Server.Version}}'), $(nix-store --version), busybox $(busybox | head -1 | cut -d' ' -f2)"
