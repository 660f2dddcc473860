#!/bin/bash
# Agent container entrypoint (stdin protocol of seed task ENG-23, as settled in DESIGN.md §10).
# The host writes exactly two lines on stdin and closes it:
#   1. a credential name from the allowlist below
#   2. its value: the per-session token of the egress proxy (never a real API key)
# The value is exported only into claude's environment (not in `inspect`, not on disk). The prompt is
# read from a read-only mounted file, never from argv or env. `exec` makes claude the main process.
# When the session directory holds the host's egress proxy socket, `ipc forward` relays Claude Code's API
# traffic from 127.0.0.1:$CARAPACE_FORWARD_PORT to it (the container has no network but lo).
# Bash builtins only: the image has no other programs (docs/CONTAINER_IMAGE.md).
set -eu

CLAUDE_BIN="${CARAPACE_CLAUDE_BIN:-/usr/local/bin/claude}"
PROMPT_FILE="${CARAPACE_PROMPT_FILE:-/carapace/prompt.md}"
MAX_VALUE_BYTES=4096
EGRESS_SOCKET="${CARAPACE_EGRESS_SOCKET:-/run/carapace/egress.sock}"
FORWARD_PORT="${CARAPACE_FORWARD_PORT:-8787}"
# Returns at the "listening" line; the bound is for a first start from a cold page cache on a slow disk.
FORWARD_WAIT_SECONDS=20

fail() {
  printf '[ENTRYPOINT] Error: %s. Fix: %s.\n' "$1" "$2" >&2
  exit 64
}

name=""
value=""
IFS= read -r name || fail "stdin ended before the credential name" "write two lines (name, value) to the container's stdin"
IFS= read -r value || [ -n "$value" ] || fail "stdin ended before the credential value" "write the value as the second line"

case "$name" in
  ANTHROPIC_API_KEY | ANTHROPIC_AUTH_TOKEN | CLAUDE_CODE_OAUTH_TOKEN) ;;
  *) fail "credential name '$name' is not allowed" "use ANTHROPIC_API_KEY, ANTHROPIC_AUTH_TOKEN or CLAUDE_CODE_OAUTH_TOKEN" ;;
esac
[ -n "$value" ] || fail "the value for $name is empty" "send the per-session token as the second line"
[ "${#value}" -le "$MAX_VALUE_BYTES" ] || fail "the value for $name is longer than $MAX_VALUE_BYTES bytes" "send the per-session token"
case "$value" in
  *[!A-Za-z0-9._~+/=:-]*) fail "the value for $name contains characters a token cannot have" "send the per-session token unchanged" ;;
esac

for arg in "$@"; do
  case "$arg" in
    --dangerously-skip-permissions* | --allow-dangerously-skip-permissions* | --permission-mode*)
      fail "argument '$arg' would bypass the permission lockdown" "remove it from the container command" ;;
  esac
done

if [ ! -f "$PROMPT_FILE" ] || [ ! -r "$PROMPT_FILE" ]; then
  fail "prompt file $PROMPT_FILE is missing or unreadable" "mount the session's prompt file read-only at $PROMPT_FILE"
fi

# /tmp is read-only; Claude Code makes its scratch directory $TMPDIR in the writable Claude state itself.

# Starts the forwarder in the background and waits (bounded, bash's read -t) for its "listening" line,
# read from a pipe: no FIFO, no polling, no network tool.
start_forwarder() {
  case "$FORWARD_PORT" in
    '' | *[!0-9]*) fail "CARAPACE_FORWARD_PORT '$FORWARD_PORT' is not a port number" "set it to a free port such as 8787" ;;
  esac
  local ready="" ready_fd
  exec {ready_fd}< <(exec ipc forward --listen "127.0.0.1:$FORWARD_PORT" --socket "$EGRESS_SOCKET" </dev/null)
  IFS= read -r -t "$FORWARD_WAIT_SECONDS" -u "$ready_fd" ready || true
  exec {ready_fd}<&-
  case "$ready" in
    "ipc forward: listening on "*) ;;
    *) fail "the API forwarder (ipc forward) did not start within ${FORWARD_WAIT_SECONDS}s" "check the ipc binary in the image and that port $FORWARD_PORT is free" ;;
  esac
  export ANTHROPIC_BASE_URL="http://127.0.0.1:$FORWARD_PORT"
}

if [ -S "$EGRESS_SOCKET" ]; then start_forwarder; fi

export "$name=$value"
unset value
# stdin now comes from the prompt file: the host's pipe is closed and claude -p reads the prompt.
exec "$CLAUDE_BIN" "$@" <"$PROMPT_FILE"
