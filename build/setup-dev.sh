#!/usr/bin/env bash
# Sets up a fresh Debian machine with Node + npm for building and testing Carapace:
# Bun from the npm registry, the project's packages, and the Debian packages the tests use.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v bun >/dev/null 2>&1 || [ "$(bun --version 2>/dev/null)" != "1.4.5" ]; then
  npm install -g bun@1.4.5 >/dev/null
  # npm may block bun's postinstall; run it so `bun` is the real binary, not the placeholder.
  node "$(npm root -g)/bun/install.js" >/dev/null 2>&1 || true
fi

if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  need=()
  command -v shellcheck >/dev/null 2>&1 || need+=(shellcheck)
  /usr/bin/python3 -c 'import zmq' >/dev/null 2>&1 || need+=(python3-zmq)
  command -v podman >/dev/null 2>&1 || need+=(podman runc)
  command -v debootstrap >/dev/null 2>&1 || need+=(debootstrap)
  command -v curl >/dev/null 2>&1 || need+=(curl)
  command -v openssl >/dev/null 2>&1 || need+=(openssl)
  command -v setpriv >/dev/null 2>&1 || need+=(util-linux)
  command -v script >/dev/null 2>&1 || need+=(bsdutils)
  # Plugins run only inside a bubblewrap sandbox on Linux.
  command -v bwrap >/dev/null 2>&1 || need+=(bubblewrap)
  # `carapace service` tests check the unit with systemd-analyze verify.
  command -v systemd-analyze >/dev/null 2>&1 || need+=(systemd)
  # The development compose file (compose.yaml) is tried with Debian's podman-compose.
  command -v podman-compose >/dev/null 2>&1 || need+=(podman-compose)
  # The Docker suites start their own dockerd (tests/container/docker-env.ts); only the binaries are needed.
  docker=()
  command -v dockerd >/dev/null 2>&1 || docker+=(docker.io)
  if [ "${#need[@]}" -gt 0 ] || [ "${#docker[@]}" -gt 0 ]; then
    apt-get update -qq
  fi
  if [ "${#need[@]}" -gt 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  fi
  if [ "${#docker[@]}" -gt 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${docker[@]}" >/dev/null
  fi
fi

bun install --frozen-lockfile
bun run build
