#!/usr/bin/env bash
# The fast checks, in order. Every step runs; the script fails if any step found anything.
#   1 lockfile   bun install --frozen-lockfile
#   2 biome      lint + format check (biome ci)
#   3 tsc        strict type check
#   4 shellcheck every shell script
#   5 rules      structural security rules (ast-grep)
#   6 layers     imports run down the layers, no cycles (build/check/layers.ts)
#   7 audit      dependency advisories + lockfile integrity
#   8 secrets    no secret-shaped value in the tree (build/check/secrets/, allowlist.txt for fake keys)
# Each step prints one header line and one result line; a failing step's output is shown.
# Usage: bash build/check/all.sh [step...]    (e.g. `all.sh biome tsc` runs only those)
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT" || exit 1

STEPS=(lockfile biome tsc shellcheck rules layers audit secrets)

step_command() {
  case "$1" in
    lockfile) bun install --frozen-lockfile ;;
    biome) node_modules/.bin/biome ci --error-on-warnings --colors=off . ;;
    tsc) bunx tsc --noEmit -p . ;;
    shellcheck) bash build/check/shellcheck.sh ;;
    rules) bash build/check/rules.sh ;;
    layers) bun build/check/layers.ts ;;
    audit) bash build/check/audit.sh ;;
    secrets) bun build/check/secrets/scan.ts ;;
    *) printf '[CHECK] Error: unknown step %s. Fix: use one of: %s\n' "$1" "${STEPS[*]}" >&2; return 2 ;;
  esac
}

selected=("$@")
[ "${#selected[@]}" -gt 0 ] || selected=("${STEPS[@]}")

failed=()
log="$(mktemp)"
trap 'rm -f "$log"' EXIT

for step in "${selected[@]}"; do
  printf '[CHECK] %s ...\n' "$step"
  started=$SECONDS
  if step_command "$step" >"$log" 2>&1; then
    printf '[CHECK] %s: ok (%ss)\n' "$step" "$((SECONDS - started))"
    # Keep the one-line verdicts of our own scripts (e.g. "[AUDIT] UNAVAILABLE ...") visible.
    grep -E '^\[(AUDIT|LOCKFILE)\] ' "$log" || true
  else
    cat "$log"
    printf '[CHECK] %s: FAILED (%ss)\n' "$step" "$((SECONDS - started))"
    failed+=("$step")
  fi
done

if [ "${#failed[@]}" -gt 0 ]; then
  printf '[CHECK] Error: %s of %s checks failed: %s. Fix: see the output of each failed step above.\n' \
    "${#failed[@]}" "${#selected[@]}" "${failed[*]}" >&2
  exit 1
fi
printf '[CHECK] all %s checks passed\n' "${#selected[@]}"
