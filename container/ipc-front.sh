#!/bin/sh
# The agent image's `ipc`: the real client (/usr/local/lib/carapace/ipc) is a compiled Bun executable, and
# Bun acts on some variables before any of the client's code runs: BUN_BE_BUN makes it the `bun` CLI (it
# runs any script), BUN_OPTIONS adds flags such as --preload. Bun has no build-time switch for either, so
# every BUN_*, NODE_* and LD_* variable is removed here and the client starts without them.
set -f
names=$(export -p | while IFS= read -r line; do
  case "$line" in
    "export "*) name=${line#export } ;;
    "declare -x "*) name=${line#declare -x } ;;
    *) continue ;;
  esac
  name=${name%%=*}
  case "$name" in *[!A-Za-z0-9_]*) continue ;; BUN_* | NODE_* | LD_*) printf '%s\n' "$name" ;; esac
done)
for name in $names; do unset "$name" 2>/dev/null || true; done
exec /usr/local/lib/carapace/ipc "$@"
