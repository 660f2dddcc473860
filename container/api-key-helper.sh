#!/bin/bash
# Claude Code's apiKeyHelper in a pre-started container (the entrypoint passes it with --settings). Claude
# Code runs it once as it starts, before any session exists, and waits for what it prints before its first
# API request: so until the claim this blocks on the entrypoint's claim gate (a pipe that reaches
# end-of-file at the claim), then prints the session token the entrypoint wrote on the container's tmpfs.
# Later runs (Claude Code refreshes the key every few minutes) find the file and print it at once.
# Bash builtins only: the image has no other programs (docs/CONTAINER_IMAGE.md).
set -u
token_file="${CARAPACE_TOKEN_DIR:-/run/carapace-token}/token"
if [ ! -f "$token_file" ] && [ -n "${CARAPACE_CLAIM_GATE:-}" ]; then
  # Fails to open once the claim is done and the gate gone: then the file is there.
  { IFS= read -r _ <"$CARAPACE_CLAIM_GATE"; } 2>/dev/null || :
fi
token=""
{ IFS= read -r token <"$token_file"; } 2>/dev/null || :
if [ -z "$token" ]; then
  printf '[ENTRYPOINT] Error: no session token in %s. Fix: the container was never claimed by a session; end it.\n' "$token_file" >&2
  exit 1
fi
printf '%s' "$token"
