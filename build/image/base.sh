#!/usr/bin/env bash
# Makes the local Debian base image for the agent image without any image registry:
# debootstrap a minimal bookworm from the configured apt mirror, then `podman import` it.
# Also prepares Podman for this kind of host: runc instead of crun, and default
# ulimits the machine can grant. Idempotent: every step is skipped when already done.
#
# Usage: bash build/image/base.sh [IMAGE]      (default IMAGE: localhost/carapace-base:bookworm)
# Env:   CARAPACE_BASE_MIRROR   apt mirror to debootstrap from (default: first URIs: line of
#                               /etc/apt/sources.list.d/debian.sources, else deb.debian.org)
#        CARAPACE_BASE_SUITE    Debian suite (default: bookworm)
set -euo pipefail

IMAGE="${1:-localhost/carapace-base:bookworm}"
SUITE="${CARAPACE_BASE_SUITE:-bookworm}"
CONTAINERS_CONF=/etc/containers/containers.conf

log() { printf '[IMAGE] %s\n' "$*" >&2; }
fail() { printf '[IMAGE] Error: %s. Fix: %s\n' "$1" "$2" >&2; exit 1; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

install_packages() {
  local missing=()
  command -v podman >/dev/null 2>&1 || missing+=(podman)
  command -v runc >/dev/null 2>&1 || missing+=(runc)
  command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
  if [ "${#missing[@]}" -eq 0 ]; then
    log "podman, runc and debootstrap already installed"
    return
  fi
  command -v apt-get >/dev/null 2>&1 ||
    fail "missing ${missing[*]} and no apt-get" "install ${missing[*]} with your package manager"
  log "installing ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

# crun fails on hybrid-cgroup kernels and the default ulimits exceed what such hosts allow.
configure_podman() {
  if [ -e "$CONTAINERS_CONF" ]; then
    log "$CONTAINERS_CONF exists; leaving it as it is"
    return
  fi
  local nofile nproc
  nofile="$(ulimit -Hn)"
  nproc="$(ulimit -Hu)"
  [ "$nofile" = unlimited ] || [ "$nofile" -ge 1024 ] || fail "hard nofile limit $nofile < 1024" "raise it (ulimit -Hn)"
  [ "$nproc" = unlimited ] || [ "$nproc" -ge 1024 ] || fail "hard nproc limit $nproc < 1024" "raise it (ulimit -Hu)"
  log "writing $CONTAINERS_CONF (runtime runc, ulimits nofile/nproc 1024)"
  as_root mkdir -p "$(dirname "$CONTAINERS_CONF")"
  as_root tee "$CONTAINERS_CONF" >/dev/null <<'EOF'
# Written by carapace build/image/base.sh: crun fails on hybrid-cgroup kernels, and podman's
# default ulimits exceed what such hosts grant.
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]

[engine]
runtime = "runc"
EOF
}

apt_mirror() {
  if [ -n "${CARAPACE_BASE_MIRROR:-}" ]; then
    printf '%s\n' "$CARAPACE_BASE_MIRROR"
    return
  fi
  local sources=/etc/apt/sources.list.d/debian.sources uri=""
  if [ -r "$sources" ]; then
    uri="$(awk '/^URIs:/ { print $2; exit }' "$sources")"
  fi
  printf '%s\n' "${uri:-http://deb.debian.org/debian}"
}

build_base_image() {
  if podman image exists "$IMAGE"; then
    log "$IMAGE already exists; nothing to do"
    return
  fi
  local mirror rootfs
  mirror="$(apt_mirror)"
  rootfs="$(mktemp -d "${TMPDIR:-/tmp}/carapace-base.XXXXXX")"
  # shellcheck disable=SC2064 # expand now: the trap must remove this very directory
  trap "as_root rm -rf '$rootfs'" EXIT
  log "debootstrap --variant=minbase $SUITE from $mirror (about 30 s)"
  as_root debootstrap --variant=minbase "$SUITE" "$rootfs" "$mirror" >/dev/null ||
    fail "debootstrap of $SUITE from $mirror failed" "check that $mirror is reachable or set CARAPACE_BASE_MIRROR"
  as_root rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  log "importing the root filesystem as $IMAGE"
  as_root tar -C "$rootfs" -c . | podman import --quiet - "$IMAGE" >/dev/null
  log "made $IMAGE"
}

install_packages
configure_podman
build_base_image
