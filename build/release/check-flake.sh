#!/bin/sh
# Evaluates flake.nix offline: parses it, then runs `nix flake show` with nixpkgs replaced by the
# stand-in in build/release/nix-stub (trivial derivations), so every output must evaluate. It does
# not build anything (that needs the network). Needs Debian's nix-bin. Exit 0 ok, 1 failure.
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
command -v nix >/dev/null 2>&1 || { echo "[FLAKE] Error: nix is not installed. Fix: apt-get install nix-bin." >&2; exit 1; }
NIX="nix --extra-experimental-features nix-command --extra-experimental-features flakes"
nix-instantiate --parse "$ROOT/flake.nix" >/dev/null
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
# A path: flake (not the git tree) so untracked work is seen and no flake.lock is written here.
cp -R "$ROOT/flake.nix" "$ROOT/package.json" "$ROOT/bun.lock" "$ROOT/container" "$ROOT/build" "$ROOT/src" "$WORK/"
cp -R "$ROOT/build/release/nix-stub" "$WORK/nix-stub"
$NIX flake show --no-write-lock-file --override-input nixpkgs "path:$WORK/nix-stub" "path:$WORK"
$NIX eval --no-write-lock-file --override-input nixpkgs "path:$WORK/nix-stub" --raw \
  "path:$WORK#packages.x86_64-linux.container-image.drvPath" >/dev/null
echo "[FLAKE] ok: flake.nix parses and every output evaluates against the stand-in nixpkgs"
