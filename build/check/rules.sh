#!/usr/bin/env bash
# Structural security rules (ast-grep, rules/*.yml, sgconfig.yml):
#   1. the rules' own valid/invalid cases (tests/rules/*-test.yml) still hold,
#   2. no finding in src/ plugins/ examples/,
#   3. every inline suppression names its rule and gives a reason:
#        // ast-grep-ignore: <rule-id> -- <reason>
# Exit 0 when clean, 1 on any finding.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"

fail() { printf '[RULES] Error: %s. Fix: %s\n' "$1" "$2" >&2; exit 1; }

# The npm wrapper prints a postinstall warning on every call; use the platform binary when present.
resolve_ast_grep() {
  local candidate
  for candidate in node_modules/@ast-grep/cli-*/ast-grep node_modules/.bin/ast-grep; do
    if [ -x "$candidate" ] && "$candidate" --version >/dev/null 2>&1; then
      printf '%s\n' "$candidate"
      return 0
    fi
  done
  return 1
}

AST_GREP="$(resolve_ast_grep)" || fail "ast-grep not found in node_modules" "run bun install"

"$AST_GREP" test --skip-snapshot-tests >/dev/null 2>&1 \
  || { "$AST_GREP" test --skip-snapshot-tests >&2 || true; fail "a rule no longer matches its own test cases" "fix rules/ or tests/rules/*-test.yml"; }

targets=()
for dir in src plugins examples; do
  [ -d "$dir" ] && targets+=("$dir")
done
[ "${#targets[@]}" -gt 0 ] || fail "none of src/ plugins/ examples/ exists" "run from a Carapace checkout"

"$AST_GREP" scan --report-style medium "${targets[@]}" \
  || fail "security rule findings above" "fix the code, or silence a reviewed false positive with // ast-grep-ignore: <rule-id> -- <reason>"

# A suppression without a rule id silences everything; one without a reason cannot be reviewed.
bad_suppressions="$(grep -rnE --include='*.ts' --include='*.tsx' --include='*.js' --include='*.mjs' 'ast-grep-ignore' "${targets[@]}" \
  | grep -vE 'ast-grep-ignore: [a-z0-9-]+(, *[a-z0-9-]+)* -- [^[:space:]]' || true)"
if [ -n "$bad_suppressions" ]; then
  printf '%s\n' "$bad_suppressions" >&2
  fail "suppression without a rule id or reason" "write it as // ast-grep-ignore: <rule-id> -- <reason>"
fi

printf '[RULES] ok: %s rules, no findings in %s\n' "$(find rules -name '*.yml' | wc -l | tr -d ' ')" "${targets[*]}"
