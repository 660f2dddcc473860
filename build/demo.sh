#!/usr/bin/env bash
# The main job today: start the core from the compiled binary, open a session, make real ipc calls
# against it, show the audit trail, stop. Uses a temporary CARAPACE_HOME so it never touches yours.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x dist/carapace ] || [ ! -x dist/ipc ]; then bun run build; fi
CARAPACE_HOME="$(mktemp -d /tmp/carapace-demo-XXXXXX)"
export CARAPACE_HOME
trap 'dist/carapace stop >/dev/null 2>&1 || true; rm -rf "$CARAPACE_HOME"' EXIT

dist/carapace start 2>"$CARAPACE_HOME/core.log" &
for _ in $(seq 1 100); do dist/carapace status >/dev/null 2>&1 && break; sleep 0.05; done
dist/carapace status

session="$(dist/carapace session open --group demo --json)"
socket="$(printf '%s' "$session" | sed -n 's/.*"socket": "\([^"]*\)".*/\1/p')"
export CARAPACE_SOCKET="$socket"

echo "\$ ipc hello.echo '{\"message\":\"hi\"}'"
dist/ipc hello.echo '{"message":"hi"}'
echo "\$ ipc hello.greet '{\"name\":\"newcomer\"}'"
dist/ipc hello.greet '{"name":"newcomer"}'
echo "\$ ipc hello.echo '{\"message\":\"hi\",\"group\":\"admin\"}'   # a forged field is rejected"
dist/ipc hello.echo '{"message":"hi","group":"admin"}' || echo "(exit $?)"
echo
echo "Audit trail of group demo:"
dist/carapace audit tail --group demo
dist/carapace audit verify

# The main job: a real agent session in the locked-down container, driven by the built-in scripted
# model (no API key needed). Needs Podman and the agent image (built here from a local Debian base).
dist/carapace stop >/dev/null 2>&1 || true
if command -v podman >/dev/null 2>&1; then
  if ! podman image exists "localhost/carapace-agent:$(node -p 'require("./package.json").version')"; then
    bash build/image/base.sh
    bun build/image/agent.ts --ipc dist/ipc
  fi
  echo
  dist/carapace demo
else
  echo "[DEMO] Podman is not installed: skipping the agent session. Fix: run bash build/setup-dev.sh as root."
fi
