#!/usr/bin/env bash
# ShellCheck on every shell script in the repository: *.sh / *.bash files and any file whose
# shebang names sh, bash or dash (e.g. .ci/run, install.sh), tracked or present but not ignored.
# Any finding at any severity (error, warning, info, style) fails. Exit 0 clean, 1 findings.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"

fail() { printf '[SHELLCHECK] Error: %s. Fix: %s\n' "$1" "$2" >&2; exit 1; }

ensure_shellcheck() {
  command -v shellcheck >/dev/null 2>&1 && return 0
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    printf '[SHELLCHECK] installing shellcheck with apt-get\n' >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq shellcheck >/dev/null 2>&1 \
      || { apt-get update -qq >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq shellcheck >/dev/null 2>&1; } \
      || true
  fi
  command -v shellcheck >/dev/null 2>&1 || fail "shellcheck is not installed" "apt-get install shellcheck"
}

# Files git knows about or would add (respects .gitignore); plain find outside a git work tree.
candidate_files() {
  if git -C "$ROOT" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    git -C "$ROOT" ls-files -z --cached --others --exclude-standard
  else
    find . -type d \( -name node_modules -o -name .git -o -name dist -o -name coverage \) -prune \
      -o -type f -print0 | sed -z 's|^\./||'
  fi
}

is_shell_script() {
  local file="$1" first_line
  [ -f "$file" ] || return 1
  case "$file" in
    *.sh | *.bash) return 0 ;;
  esac
  IFS= read -r first_line <"$file" 2>/dev/null || [ -n "${first_line:-}" ] || return 1
  [[ "$first_line" =~ ^#!.*[/[:space:]](ba|da)?sh([[:space:]]|$) ]]
}

ensure_shellcheck

scripts=()
while IFS= read -r -d '' file; do
  is_shell_script "$file" && scripts+=("$file")
done < <(candidate_files)

if [ "${#scripts[@]}" -eq 0 ]; then
  printf '[SHELLCHECK] ok: no shell scripts found\n'
  exit 0
fi

shellcheck --external-sources --severity=style --format=gcc "${scripts[@]}" \
  || fail "shellcheck findings above" "fix them, or silence one with a reasoned '# shellcheck disable=SCxxxx # reason' on the line above"

printf '[SHELLCHECK] ok: %s scripts clean: %s\n' "${#scripts[@]}" "${scripts[*]}"
