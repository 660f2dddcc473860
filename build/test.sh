#!/usr/bin/env bash
# Sets up a fresh machine (Debian with Node + npm) and runs every test: Bun and packages, the Debian
# packages, both binaries, the agent image (local Debian base, pinned Claude Code), then the whole
# suite with coverage gates. The last lines of `bun test` say how many passed and failed.
set -euo pipefail
cd "$(dirname "$0")/.."
bash build/setup-dev.sh
if command -v podman >/dev/null 2>&1; then
  bash build/image/base.sh
  # Tests run the image tagged with this recipe's digest (tests/container/agent-image.ts); the release tag
  # points at the same image for the suites that check a default configuration.
  recipe_tag="$(bun build/image/agent.ts --print-recipe-tag --ipc dist/ipc)"
  bun build/image/agent.ts --ipc dist/ipc --tag "$recipe_tag"
  podman tag "$recipe_tag" "${recipe_tag%-*}"
  # The images are built: a real-runtime suite that would skip now fails instead.
  export CARAPACE_TEST_REQUIRE_RUNTIME=1
  # The Docker suites run the same images on the run's own dockerd (started and stopped by the tests).
  if command -v dockerd >/dev/null 2>&1 && [ "$(id -u)" = "0" ]; then
    export CARAPACE_TEST_REQUIRE_DOCKER=1
  else
    echo "[TEST] dockerd is not installed or the tests do not run as root: the Docker suites will skip."
  fi
else
  echo "[TEST] Podman is not installed: container and agent suites will skip."
fi
bun run test:coverage
