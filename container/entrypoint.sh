#!/bin/bash
# Agent container entrypoint (stdin protocol of seed task ENG-23, as settled in DESIGN.md §10).
# The host writes exactly two lines on stdin and closes it:
#   1. a credential name from the allowlist below
#   2. its value: the per-session token of the egress proxy (never a real API key)
# The value is exported only into claude's environment (not in `inspect`, not on disk). The prompt is
# read from a read-only mounted file, never from argv or env. `exec` makes claude the main process.
# When the session directory holds the host's egress proxy socket, `ipc forward` relays Claude Code's API
# traffic from 127.0.0.1:$CARAPACE_FORWARD_PORT to it (the container has no network but lo).
#
# A pre-started container (CARAPACE_PRESTARTED=1, set by the host) starts `ipc forward` and Claude Code
# before any session exists, Claude reading stream-json from a pipe this script holds and with no
# credential at all. The same two lines arrive at the claim: the token goes into a file on the
# container's own tmpfs, where Claude Code's apiKeyHelper (api-key-helper.sh) reads it; the prompt file,
# written by the host at the claim, holds the session's one stream-json user message, which goes down the
# pipe; this script then waits for Claude and exits with its code.
# Bash builtins only: the image has no other programs (docs/CONTAINER_IMAGE.md).
set -eu

CLAUDE_BIN="${CARAPACE_CLAUDE_BIN:-/usr/local/bin/claude}"
PROMPT_FILE="${CARAPACE_PROMPT_FILE:-/carapace/prompt.md}"
MAX_VALUE_BYTES=4096
EGRESS_SOCKET="${CARAPACE_EGRESS_SOCKET:-/run/carapace/egress.sock}"
FORWARD_PORT="${CARAPACE_FORWARD_PORT:-8787}"
# Returns at the "listening" line; the bound is for a first start from a cold page cache on a slow disk.
FORWARD_WAIT_SECONDS=20
TOKEN_DIR="${CARAPACE_TOKEN_DIR:-/run/carapace-token}"
API_KEY_HELPER="${CARAPACE_API_KEY_HELPER:-/usr/local/lib/carapace/api-key-helper}"
# How often a waiting pre-started container checks that its Claude Code is still running.
LIVENESS_SECONDS=10

fail() {
  printf '[ENTRYPOINT] Error: %s. Fix: %s.\n' "$1" "$2" >&2
  exit 64
}

check_credential() {
  case "$name" in
    ANTHROPIC_API_KEY | ANTHROPIC_AUTH_TOKEN | CLAUDE_CODE_OAUTH_TOKEN) ;;
    *) fail "credential name '$name' is not allowed" "use ANTHROPIC_API_KEY, ANTHROPIC_AUTH_TOKEN or CLAUDE_CODE_OAUTH_TOKEN" ;;
  esac
  [ -n "$value" ] || fail "the value for $name is empty" "send the per-session token as the second line"
  [ "${#value}" -le "$MAX_VALUE_BYTES" ] || fail "the value for $name is longer than $MAX_VALUE_BYTES bytes" "send the per-session token"
  case "$value" in
    *[!A-Za-z0-9._~+/=:-]*) fail "the value for $name contains characters a token cannot have" "send the per-session token unchanged" ;;
  esac
}

check_args() {
  local arg
  for arg in "$@"; do
    case "$arg" in
      --dangerously-skip-permissions* | --allow-dangerously-skip-permissions* | --permission-mode*)
        fail "argument '$arg' would bypass the permission lockdown" "remove it from the container command" ;;
    esac
  done
}

check_prompt_file() {
  if [ ! -f "$PROMPT_FILE" ] || [ ! -r "$PROMPT_FILE" ]; then
    fail "prompt file $PROMPT_FILE is missing or unreadable" "mount the session's prompt file read-only at $PROMPT_FILE"
  fi
}

# /tmp is read-only; Claude Code makes its scratch directory $TMPDIR in the writable Claude state itself.

check_port() {
  case "$FORWARD_PORT" in
    '' | *[!0-9]*) fail "CARAPACE_FORWARD_PORT '$FORWARD_PORT' is not a port number" "set it to a free port such as 8787" ;;
  esac
}

# Starts the forwarder in the background and waits (bounded, bash's read -t) for its "listening" line,
# read from a pipe: no FIFO, no polling, no network tool.
start_forwarder() {
  check_port
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

# Reads one line from stdin into the variable $1 while the pre-started Claude Code ($claude_pid) waits,
# waking every LIVENESS_SECONDS to check it still runs: one that died ends this container, so the pool
# drops it and the session runs cold. Input cut by a wake-up is kept (read -t keeps what it read).
read_while_waiting() {
  local acc="" part rc
  while :; do
    part=""
    if IFS= read -r -t "$LIVENESS_SECONDS" part; then
      printf -v "$1" '%s' "$acc$part"
      return 0
    else
      rc=$?
    fi
    acc+=$part
    if [ "$rc" -le 128 ]; then
      printf -v "$1" '%s' "$acc"
      return 1
    fi
    kill -0 "$claude_pid" 2>/dev/null ||
      fail "Claude Code exited before a session claimed this pre-started container" "see its error above; the next session runs cold"
  done
}

# Refuses to put the token anywhere but an empty tmpfs mounted at TOKEN_DIR: never on the host's disk.
check_token_dir() {
  local line fields mounted=""
  while IFS= read -r line; do
    read -r -a fields <<<"$line"
    if [ "${fields[4]:-}" = "$TOKEN_DIR" ]; then
      case "$line" in *" - tmpfs "*) mounted=tmpfs ;; *) mounted=other ;; esac
    fi
  done </proc/self/mountinfo
  [ "$mounted" = tmpfs ] || fail "$TOKEN_DIR is not a tmpfs of this container" "start pre-started containers with the tmpfs the host's run specification declares"
  if [ ! -d "$TOKEN_DIR" ] || [ ! -w "$TOKEN_DIR" ]; then
    fail "$TOKEN_DIR is not a writable directory" "mount it owned by the agent user"
  fi
  [ ! -e "$TOKEN_DIR/token" ] || fail "$TOKEN_DIR already holds a token" "give every pre-started container a fresh tmpfs"
}

prestarted() {
  local arg claude_in claude_pid message code
  check_args "$@"
  for arg in "$@"; do
    case "$arg" in
      --input-format* | --settings*) fail "argument '$arg' is the entrypoint's own in a pre-started container" "remove it from the container command" ;;
    esac
  done
  check_prompt_file
  check_token_dir
  # Before the claim: it connects to the egress socket per request, and that socket exists only after it.
  start_forwarder
  # The claim's signal to the apiKeyHelper: a reader of this pipe blocks until the coprocess reads its
  # line and exits, then sees end-of-file, as does every reader after it.
  coproc CLAIM_GATE { IFS= read -r _ || :; }
  export CARAPACE_CLAIM_GATE="/proc/$$/fd/${CLAIM_GATE[0]}"
  # The same command a cold session runs, reading its one message from this pipe.
  exec {claude_in}> >(exec "$CLAUDE_BIN" "$@" --input-format stream-json --settings "{\"apiKeyHelper\":\"$API_KEY_HELPER\"}")
  claude_pid=$!
  # Bash as PID 1 gets no default signal handling: a stop is passed on to Claude Code.
  trap 'kill -TERM "$claude_pid" 2>/dev/null || :' TERM INT

  name=""
  value=""
  read_while_waiting name || fail "stdin ended before the credential name" "write two lines (name, value) to the container's stdin"
  read_while_waiting value || [ -n "$value" ] || fail "stdin ended before the credential value" "write the value as the second line"
  check_credential
  [ "$name" = ANTHROPIC_API_KEY ] ||
    fail "credential $name cannot reach a Claude Code that is already running" "run the session cold (the host does so for an OAuth credential)"
  kill -0 "$claude_pid" 2>/dev/null ||
    fail "Claude Code exited before the session claimed this pre-started container" "run the session again; it runs cold"
  (umask 077 && printf '%s\n' "$value" >"$TOKEN_DIR/token")
  unset value
  printf '\n' >&"${CLAIM_GATE[1]}"

  message=""
  IFS= read -r -d '' message <"$PROMPT_FILE" || :
  message=${message%$'\n'}
  case "$message" in
    *$'\n'* | *$'\r'*) fail "the session message in $PROMPT_FILE is not one line" "write one stream-json user message" ;;
    '{"type":"user",'*'}') ;;
    *) fail "the session message in $PROMPT_FILE is not a stream-json user message" "write one stream-json user message" ;;
  esac
  printf '%s\n' "$message" >&"$claude_in"
  exec {claude_in}>&-
  unset message

  set +e
  while :; do
    wait "$claude_pid"
    code=$?
    # A wait cut short by a trapped signal: Claude Code got it and is ending; wait for that.
    kill -0 "$claude_pid" 2>/dev/null || exit "$code"
  done
}

if [ "${CARAPACE_PRESTARTED:-}" = 1 ]; then prestarted "$@"; fi

name=""
value=""
IFS= read -r name || fail "stdin ended before the credential name" "write two lines (name, value) to the container's stdin"
IFS= read -r value || [ -n "$value" ] || fail "stdin ended before the credential value" "write the value as the second line"
check_credential
check_args "$@"
check_prompt_file

if [ -S "$EGRESS_SOCKET" ]; then start_forwarder; fi

export "$name=$value"
unset value
# stdin now comes from the prompt file: the host's pipe is closed and claude -p reads the prompt.
exec "$CLAUDE_BIN" "$@" <"$PROMPT_FILE"
