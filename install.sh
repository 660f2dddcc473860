#!/bin/sh
# Carapace installer: downloads the carapace binary for this machine (and the Linux ipc binary the
# agent image needs), verifies the signed checksum file and every download, and installs them
# atomically into $CARAPACE_HOME (default ~/.carapace). Nothing is installed unless everything
# verifies; any failure leaves the previous install as it was. Never uses sudo, never evals.
#
#   curl --proto '=https' --tlsv1.2 -fsSL <base>/latest/download/install.sh | sh
#   sh install.sh [--yes] [--dry-run] [--version vX.Y.Z] [--runtime podman|docker|apple]
#                 [--no-modify-path] [--base-url https://mirror] [--allow-downgrade] [--from-source]
#
# Requires curl and OpenSSL 3 (Ed25519 signature check). Threat model: docs/INSTALL_SECURITY.md.
# Exit codes: 0 installed, nothing to do, or cancelled; 1 failure (nothing changed); 2 usage error.
set -eu
umask 077

# The Ed25519 public key that signs releases (base64 SubjectPublicKeyInfo); also in src/release/public-key.ts.
RELEASE_PUBKEY='MCowBQYDK2VwAyEAbY0C3DzljDUAL3evsmeJ92/1K8Oj0uYzslpaG+oG2hQ='
DEFAULT_BASE_URL='https://github.com/carapace-dev/carapace/releases'
PATH_MARK='# added by carapace install.sh'

ASSUME_YES=0
DRY_RUN=0
MODIFY_PATH=1
FROM_SOURCE=0
ALLOW_DOWNGRADE=0
REQUESTED_VERSION=''
RUNTIME=''
BASE_URL="${CARAPACE_INSTALL_BASE_URL:-$DEFAULT_BASE_URL}"

STAGE=''
COMMITTING=0
COMMITTED=0
# What this run changed so far, for the rollback: 1 = replaced (or created) that file / created that dir.
REPLACED_BIN=0
REPLACED_IPC=0
CREATED_HOME=0
CREATED_BIN=0
CREATED_LIB=0

say() { printf '%s\n' "$*"; }
warn() { printf '[INSTALL] Warning: %s\n' "$*" >&2; }
die() {
  printf '[INSTALL] Error: %s. Fix: %s.\n' "$1" "$2" >&2
  exit 1
}
usage_error() {
  printf '[INSTALL] Error: %s. Fix: %s.\n' "$1" "run sh install.sh --help" >&2
  exit 2
}

usage() {
  cat <<'EOF'
Install Carapace: the carapace binary into $CARAPACE_HOME/bin, ipc-linux-<arch> into $CARAPACE_HOME/lib.

Options:
  -y, --yes              answer yes to every question (also implied when piped into sh)
  --dry-run              show what would happen; change nothing
  --version vX.Y.Z       install this release instead of the latest
  --allow-downgrade      allow installing an older release than the one installed
  --runtime NAME         set runtime.engine to podman, docker or apple after installing
  --no-modify-path       do not add $CARAPACE_HOME/bin to PATH in your shell's rc file
  --base-url URL         download from this https:// mirror (or set CARAPACE_INSTALL_BASE_URL)
  --from-source          build both binaries from this checkout (needs bun) and install them
  -h, --help             show this help

Environment: CARAPACE_HOME (default ~/.carapace); https_proxy/HTTPS_PROXY/no_proxy are honoured
by curl, and CURL_CA_BUNDLE names extra trusted CAs (e.g. a corporate proxy's).
Exit codes: 0 installed, nothing to do, or cancelled; 1 failure (nothing changed); 2 usage error.
EOF
}

# ---------------------------------------------------------------- cleanup and rollback

restore() {
  if [ -f "$1.carapace-old" ] && cmp -s "$1.carapace-old" "$1"; then
    # Its rename never happened: the old file is still in place and the backup is only a copy.
    rm -f "$1.carapace-old"
  elif [ -f "$1.carapace-old" ]; then
    mv -f "$1.carapace-old" "$1" 2>/dev/null || warn "could not restore $1 from $1.carapace-old"
  else
    rm -f "$1"
  fi
}

rollback() {
  if [ "$REPLACED_BIN" -eq 1 ]; then restore "$BIN_TARGET"; fi
  if [ "$REPLACED_IPC" -eq 1 ]; then restore "$IPC_TARGET"; fi
  if [ "$CREATED_LIB" -eq 1 ]; then rmdir "$LIB_DIR" 2>/dev/null || true; fi
  if [ "$CREATED_BIN" -eq 1 ]; then rmdir "$BIN_DIR" 2>/dev/null || true; fi
  if [ "$CREATED_HOME" -eq 1 ]; then rmdir "$CARAPACE_HOME" 2>/dev/null || true; fi
}

cleanup() {
  status=$?
  if [ "$status" -ne 0 ] && [ "$COMMITTED" -eq 0 ]; then
    rollback
    if [ "$COMMITTING" -eq 1 ]; then printf '[INSTALL] rolled back: the previous install is unchanged\n' >&2; fi
  fi
  if [ -n "${BIN_DIR:-}" ]; then rm -f "$BIN_DIR/.carapace.new.$$" "$BIN_DIR/.carapace-write-test.$$"; fi
  if [ -n "${LIB_DIR:-}" ]; then rm -f "$LIB_DIR/.ipc.new.$$" "$LIB_DIR/.carapace-write-test.$$"; fi
  if [ -n "$STAGE" ]; then rm -rf "$STAGE"; fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# ---------------------------------------------------------------- arguments

while [ "$#" -gt 0 ]; do
  case "$1" in
    -y | --yes) ASSUME_YES=1 ;;
    --dry-run) DRY_RUN=1 ;;
    --no-modify-path) MODIFY_PATH=0 ;;
    --from-source) FROM_SOURCE=1 ;;
    --allow-downgrade) ALLOW_DOWNGRADE=1 ;;
    --version)
      [ "$#" -ge 2 ] || usage_error "--version needs a value such as v0.2.0"
      REQUESTED_VERSION="$2"
      shift
      ;;
    --version=*) REQUESTED_VERSION="${1#--version=}" ;;
    --runtime)
      [ "$#" -ge 2 ] || usage_error "--runtime needs podman, docker or apple"
      RUNTIME="$2"
      shift
      ;;
    --runtime=*) RUNTIME="${1#--runtime=}" ;;
    --base-url)
      [ "$#" -ge 2 ] || usage_error "--base-url needs an https:// URL"
      BASE_URL="$2"
      shift
      ;;
    --base-url=*) BASE_URL="${1#--base-url=}" ;;
    -h | --help)
      usage
      exit 0
      ;;
    *) usage_error "unknown option $1" ;;
  esac
  shift
done

case "$BASE_URL" in
  https://*) BASE_URL="${BASE_URL%/}" ;;
  *) usage_error "the base URL $BASE_URL is not https:// (releases are never fetched in the clear)" ;;
esac
case "$RUNTIME" in
  '' | podman | docker | apple) ;;
  *) usage_error "--runtime must be podman, docker or apple, not $RUNTIME" ;;
esac
if [ -n "$REQUESTED_VERSION" ]; then
  REQUESTED_VERSION="${REQUESTED_VERSION#v}"
  if ! printf '%s\n' "$REQUESTED_VERSION" | grep -Eq '^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$'; then
    usage_error "--version must look like v1.2.3"
  fi
fi

# Piped into sh (stdin is not a terminal) means nobody can answer: run non-interactively.
INTERACTIVE=0
if [ "$ASSUME_YES" -eq 0 ] && [ -t 0 ]; then INTERACTIVE=1; fi

# ---------------------------------------------------------------- platform and paths

detect_platform() {
  case "$(uname -s)" in
    Linux) OS=linux ;;
    Darwin) OS=darwin ;;
    *) die "no Carapace release is built for $(uname -s)" "use Linux or macOS, or build from source with --from-source" ;;
  esac
  case "$(uname -m)" in
    x86_64 | amd64) ARCH=x64 ;;
    aarch64 | arm64) ARCH=arm64 ;;
    *) die "no Carapace release is built for the $(uname -m) architecture" "use an x86_64 or arm64 machine" ;;
  esac
  # An x64 shell under Rosetta on Apple silicon: install the native arm64 build.
  if [ "$OS" = darwin ] && [ "$ARCH" = x64 ] && [ "$(sysctl -n sysctl.proc_translated 2>/dev/null || true)" = 1 ]; then
    ARCH=arm64
  fi
}

detect_platform
[ -n "${HOME:-}" ] || die "HOME is not set" "set HOME to your home directory"
CARAPACE_HOME="${CARAPACE_HOME:-$HOME/.carapace}"
case "$CARAPACE_HOME" in
  /*) ;;
  *) die "CARAPACE_HOME ($CARAPACE_HOME) is not an absolute path" "set it to an absolute path" ;;
esac
BIN_DIR="$CARAPACE_HOME/bin"
LIB_DIR="$CARAPACE_HOME/lib"
BIN_TARGET="$BIN_DIR/carapace"
IPC_NAME="ipc-linux-$ARCH"
IPC_TARGET="$LIB_DIR/$IPC_NAME"
ARTIFACT="carapace-$OS-$ARCH"

if [ "$(id -u)" -eq 0 ]; then warn "running as root: Carapace is meant to be installed and run as your own user"; fi

# ---------------------------------------------------------------- tools

need() {
  command -v "$1" >/dev/null 2>&1 || die "$1 is not installed" "$2"
}

# OpenSSL 3 verifies Ed25519 signatures (-rawin); macOS's LibreSSL does not, Homebrew's openssl@3 does.
find_openssl() {
  for candidate in openssl /opt/homebrew/opt/openssl@3/bin/openssl /usr/local/opt/openssl@3/bin/openssl; do
    if command -v "$candidate" >/dev/null 2>&1 && "$candidate" version 2>/dev/null | grep -Eq '^OpenSSL ([3-9]|[1-9][0-9])\.'; then
      OPENSSL="$candidate"
      return 0
    fi
  done
  die "OpenSSL 3 was not found; it is needed to check the release signature (there is no way to skip it)" \
    "install it (Debian/Ubuntu: apt-get install openssl; Fedora: dnf install openssl; macOS: brew install openssl@3) and run the installer again"
}

# OpenSSL is needed anyway, and hashes several times faster than coreutils' sha256sum.
sha256_of() {
  "$OPENSSL" dgst -sha256 -r "$1" | cut -d ' ' -f 1
}

# ---------------------------------------------------------------- versions

version_field() { printf '%s\n' "$1" | sed 's/-.*//' | cut -d . -f "$2"; }

# Prints -1, 0 or 1 for $1 compared with $2 (X.Y.Z; a pre-release sorts before its release).
compare_versions() {
  for field in 1 2 3; do
    a=$(version_field "$1" "$field")
    b=$(version_field "$2" "$field")
    if [ "$a" -lt "$b" ]; then
      echo -1
      return 0
    fi
    if [ "$a" -gt "$b" ]; then
      echo 1
      return 0
    fi
  done
  pre_a=''
  pre_b=''
  case "$1" in *-*) pre_a="${1#*-}" ;; esac
  case "$2" in *-*) pre_b="${2#*-}" ;; esac
  if [ "$pre_a" = "$pre_b" ]; then
    echo 0
  elif [ -z "$pre_a" ]; then
    echo 1
  elif [ -z "$pre_b" ]; then
    echo -1
  elif [ "$(printf '%s\n%s\n' "$pre_a" "$pre_b" | LC_ALL=C sort | head -n 1)" = "$pre_a" ]; then
    echo -1
  else
    echo 1
  fi
}

installed_version() {
  if [ -x "$BIN_TARGET" ]; then
    "$BIN_TARGET" --version 2>/dev/null | head -n 1 || true
  fi
}

# ---------------------------------------------------------------- download and verify

release_url() {
  if [ -n "$REQUESTED_VERSION" ]; then
    printf '%s/download/v%s/%s\n' "$BASE_URL" "$REQUESTED_VERSION" "$1"
  else
    printf '%s/latest/download/%s\n' "$BASE_URL" "$1"
  fi
}

# HTTPS only, redirects included; a short or failed transfer is an error (curl -f, exit 18 on a cut).
# The large files show a progress bar on a terminal; off one the download stays silent.
download() {
  url=$(release_url "$1")
  quiet=--silent
  case "$1" in
    carapace-* | ipc-*) if [ -t 2 ]; then quiet=--progress-bar; fi ;;
  esac
  if ! curl --proto '=https' --proto-redir '=https' --tlsv1.2 --fail "$quiet" --show-error --location \
    --retry 2 --connect-timeout 20 --output "$STAGE/$1" "$url"; then
    rm -f "$STAGE/$1"
    die "downloading $url failed" "check the network, https_proxy and the version; nothing was changed"
  fi
}

verify_signature() {
  printf '%s\n%s\n%s\n' '-----BEGIN PUBLIC KEY-----' "$RELEASE_PUBKEY" '-----END PUBLIC KEY-----' >"$STAGE/release.pub"
  if ! "$OPENSSL" pkeyutl -verify -pubin -inkey "$STAGE/release.pub" -rawin \
    -in "$STAGE/SHA256SUMS" -sigfile "$STAGE/SHA256SUMS.sig" >/dev/null 2>&1; then
    die "the signature over SHA256SUMS does not verify with the Carapace release key; the release was altered or signed by someone else" \
      "do not use this download; try again later or from another mirror, and report it"
  fi
}

# Every line must be "<64 hex> <space or *><name>"; anything else rejects the whole file.
check_checksum_file() {
  if grep -Evq '^[0-9a-f]{64} [ *][A-Za-z0-9][A-Za-z0-9._-]*$' "$STAGE/SHA256SUMS"; then
    die "SHA256SUMS is malformed" "download the release again"
  fi
}

verify_file() {
  expected=$(awk -v name="$1" '$2 == name || $2 == "*" name { print $1 }' "$STAGE/SHA256SUMS")
  count=$(printf '%s' "$expected" | grep -c . || true)
  [ "$count" -eq 1 ] || die "SHA256SUMS does not list $1 exactly once" "check the version and platform, or use another mirror"
  actual=$(sha256_of "$STAGE/$1")
  if [ "$actual" != "$expected" ]; then
    die "checksum mismatch for $1 (expected $expected, got $actual): the download was corrupted or tampered with" \
      "try again later or from another mirror, and report it if it persists; nothing was changed"
  fi
}

fetch_release_index() {
  download SHA256SUMS
  download SHA256SUMS.sig
  download VERSION
  verify_signature
  check_checksum_file
  verify_file VERSION
  RELEASE_VERSION=$(head -n 1 "$STAGE/VERSION")
  RELEASE_VERSION="${RELEASE_VERSION#v}"
  printf '%s\n' "$RELEASE_VERSION" | grep -Eq '^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$' \
    || die "the signed VERSION file does not hold a version" "report this release"
  if [ -n "$REQUESTED_VERSION" ] && [ "$REQUESTED_VERSION" != "$RELEASE_VERSION" ]; then
    die "asked for v$REQUESTED_VERSION but the signed release is v$RELEASE_VERSION" "check the version, or use another mirror"
  fi
}

fetch_artifacts() {
  download "$ARTIFACT"
  verify_file "$ARTIFACT"
  download "$IPC_NAME"
  verify_file "$IPC_NAME"
}

# ---------------------------------------------------------------- from source

build_from_source() {
  SOURCE_DIR=$(dirname -- "$0")
  if [ ! -f "$SOURCE_DIR/src/main.ts" ]; then SOURCE_DIR=.; fi
  if [ ! -f "$SOURCE_DIR/src/main.ts" ] || [ ! -f "$SOURCE_DIR/package.json" ]; then
    die "--from-source needs a Carapace checkout, and $(pwd) is not one" "run ./install.sh --from-source inside the checkout"
  fi
  SOURCE_DIR=$(cd -- "$SOURCE_DIR" && pwd)
  need bun "install Bun 1.4 (npm i -g bun@1) and run bun install in the checkout"
  RELEASE_VERSION=$(cd "$SOURCE_DIR" && bun -e 'console.log(require("./package.json").version)')
  if [ "$DRY_RUN" -eq 1 ]; then return 0; fi
  say "building carapace and ipc in $SOURCE_DIR (bun run build)"
  (cd "$SOURCE_DIR" && bun run build) >&2 || die "the build failed" "fix what it reports above (bun run typecheck), then run again"
  cp "$SOURCE_DIR/dist/carapace" "$STAGE/$ARTIFACT"
  chmod 755 "$STAGE/$ARTIFACT"
  if [ "$OS" = linux ]; then
    cp "$SOURCE_DIR/dist/ipc" "$STAGE/$IPC_NAME"
    chmod 755 "$STAGE/$IPC_NAME"
  else
    warn "a source build on macOS makes a macOS ipc; the agent image needs $IPC_NAME from a release"
    IPC_NAME=''
  fi
}

# ---------------------------------------------------------------- install

# Creates $1 with mode $2 unless it exists; returns 0 if it was created here.
make_dir() {
  if [ -d "$1" ]; then return 1; fi
  mkdir -p "$1" 2>/dev/null || die "cannot create $1" "make $(dirname "$1") writable by $(id -un) (never install with sudo), or set CARAPACE_HOME to a directory you own"
  chmod "$2" "$1" 2>/dev/null || true
  return 0
}

check_writable() {
  if ! : >"$1/.carapace-write-test.$$" 2>/dev/null; then
    die "cannot write to $1" "make it writable by $(id -un) (never install with sudo), or set CARAPACE_HOME to a directory you own"
  fi
  rm -f "$1/.carapace-write-test.$$"
}

# Copies a verified file next to its target, then renames it over the target (atomic on one file
# system). The old file is kept as *.carapace-old until everything is in place.
stage_next_to() {
  cp "$STAGE/$1" "$2" 2>/dev/null || die "cannot write $2" "free some disk space or fix the permissions of $(dirname "$2")"
  chmod 755 "$2"
}

backup() {
  rm -f "$1.carapace-old"
  if [ -f "$1" ]; then
    cp -p "$1" "$1.carapace-old" 2>/dev/null || die "cannot back up $1" "free some disk space or fix the permissions of $(dirname "$1")"
  fi
}

swap_in() {
  mv -f "$1" "$2" 2>/dev/null || die "cannot move the new file into $2" "fix the permissions of $(dirname "$2")"
}

install_files() {
  if make_dir "$CARAPACE_HOME" 700; then CREATED_HOME=1; fi
  if make_dir "$BIN_DIR" 755; then CREATED_BIN=1; fi
  check_writable "$BIN_DIR"
  if [ -n "$IPC_NAME" ]; then
    if make_dir "$LIB_DIR" 755; then CREATED_LIB=1; fi
    check_writable "$LIB_DIR"
  fi
  stage_next_to "$ARTIFACT" "$BIN_DIR/.carapace.new.$$"
  # Run it where it will live ($TMPDIR may be noexec): it must start and name the signed version.
  ran=$("$BIN_DIR/.carapace.new.$$" --version 2>/dev/null | head -n 1 || true)
  [ "$ran" = "$RELEASE_VERSION" ] || die "the new $ARTIFACT does not run here or reports '$ran' instead of $RELEASE_VERSION" \
    "check that this machine matches $OS/$ARCH, and report it; nothing was changed"
  if [ -n "$IPC_NAME" ]; then stage_next_to "$IPC_NAME" "$LIB_DIR/.ipc.new.$$"; fi
  COMMITTING=1
  if [ -n "$IPC_NAME" ]; then
    backup "$IPC_TARGET"
    REPLACED_IPC=1
    swap_in "$LIB_DIR/.ipc.new.$$" "$IPC_TARGET"
  fi
  backup "$BIN_TARGET"
  REPLACED_BIN=1
  swap_in "$BIN_DIR/.carapace.new.$$" "$BIN_TARGET"
  COMMITTED=1
  rm -f "$BIN_TARGET.carapace-old" "$IPC_TARGET.carapace-old"
}

# ---------------------------------------------------------------- PATH

# The rc file the login shell reads, per shell and OS (macOS Terminal starts bash as a login shell).
rc_file() {
  case "$(basename "${SHELL:-sh}")" in
    zsh) printf '%s\n' "${ZDOTDIR:-$HOME}/.zshrc" ;;
    bash) if [ "$OS" = darwin ]; then printf '%s\n' "$HOME/.bash_profile"; else printf '%s\n' "$HOME/.bashrc"; fi ;;
    fish) printf '%s\n' "${XDG_CONFIG_HOME:-$HOME/.config}/fish/conf.d/carapace.fish" ;;
    *) printf '%s\n' "$HOME/.profile" ;;
  esac
}

path_line() {
  case "$1" in
    *.fish) printf "contains -- '%s' \$PATH; or set -gx PATH '%s' \$PATH %s\n" "$BIN_DIR" "$BIN_DIR" "$PATH_MARK" ;;
    *) printf "export PATH='%s':\"\$PATH\" %s\n" "$BIN_DIR" "$PATH_MARK" ;;
  esac
}

PATH_NOTE=''
setup_path() {
  RC=$(rc_file)
  if [ "$MODIFY_PATH" -eq 0 ]; then
    PATH_NOTE="PATH not changed (--no-modify-path): add $BIN_DIR to PATH yourself"
    return 0
  fi
  case "$BIN_DIR" in
    *"'"*)
      PATH_NOTE="PATH not changed: $BIN_DIR contains a quote; add it to PATH yourself"
      return 0
      ;;
  esac
  if [ -f "$RC" ] && grep -Fq "$PATH_MARK" "$RC" && grep -Fq "'$BIN_DIR'" "$RC"; then
    PATH_NOTE="PATH already set in $RC"
    return 0
  fi
  if [ "$DRY_RUN" -eq 1 ]; then
    PATH_NOTE="would add to $RC: $(path_line "$RC")"
    return 0
  fi
  if mkdir -p "$(dirname "$RC")" 2>/dev/null && printf '\n%s\n' "$(path_line "$RC")" >>"$RC" 2>/dev/null; then
    PATH_NOTE="added $BIN_DIR to PATH in $RC"
  else
    warn "could not write $RC"
    PATH_NOTE="PATH not changed: add this line to your shell's rc file: $(path_line "$RC")"
  fi
}

# ---------------------------------------------------------------- questions and summary

confirm() {
  # $1 question, $2 default answer (y or n)
  if [ "$INTERACTIVE" -eq 0 ]; then return 0; fi
  printf '%s ' "$1" >&2
  answer=''
  read -r answer || answer=''
  [ -n "$answer" ] || answer="$2"
  case "$answer" in
    y | Y | yes | YES) return 0 ;;
    *) return 1 ;;
  esac
}

# Prints its arguments in a box; empty arguments are left out, a single space is a blank row.
box() {
  printf '%s\n' "$@" | awk '
    length($0) > 0 { lines[n++] = $0; if (length($0) > w) w = length($0) }
    END {
      border = ""; for (i = 0; i < w + 2; i++) border = border "-"
      print "+" border "+"
      for (i = 0; i < n; i++) printf "| %-" w "s |\n", lines[i]
      print "+" border "+"
    }'
}

# ---------------------------------------------------------------- main

STAGE=$(mktemp -d "${TMPDIR:-/tmp}/carapace-install.XXXXXX") || die "cannot create a temporary directory" "check TMPDIR"

if [ "$FROM_SOURCE" -eq 1 ]; then
  build_from_source
  SOURCE_LABEL="built from $SOURCE_DIR"
else
  need curl "install curl (Debian/Ubuntu: apt-get install curl; macOS ships it)"
  find_openssl
  fetch_release_index
  SOURCE_LABEL="from $BASE_URL (signature and checksums verified)"
fi

INSTALLED=$(installed_version)
ACTION=install
if [ -n "$INSTALLED" ]; then
  if ! printf '%s\n' "$INSTALLED" | grep -Eq '^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$'; then
    warn "the installed carapace does not report a version; replacing it"
    ACTION=reinstall
  else
    case $(compare_versions "$RELEASE_VERSION" "$INSTALLED") in
      1) ACTION=upgrade ;;
      0) ACTION=reinstall ;;
      -1)
        ACTION=downgrade
        if [ "$ALLOW_DOWNGRADE" -eq 0 ]; then
          die "v$RELEASE_VERSION is older than the installed v$INSTALLED; downgrades are refused" \
            "pass --allow-downgrade if you really mean to go back"
        fi
        ;;
    esac
  fi
fi

case "$ACTION" in
  install) QUESTION="Install carapace v$RELEASE_VERSION into $BIN_DIR? [Y/n]" DEFAULT=y ;;
  upgrade) QUESTION="carapace v$INSTALLED is installed. Upgrade to v$RELEASE_VERSION? [Y/n]" DEFAULT=y ;;
  reinstall) QUESTION="carapace v$RELEASE_VERSION is already installed. Reinstall it? [y/N]" DEFAULT=n ;;
  *) QUESTION="carapace v$INSTALLED is installed. Downgrade to v$RELEASE_VERSION? [y/N]" DEFAULT=n ;;
esac

if [ "$DRY_RUN" -eq 1 ]; then
  setup_path
  box "Dry run: nothing was changed" \
    "would $ACTION carapace v$RELEASE_VERSION ($OS/$ARCH) $SOURCE_LABEL" \
    "carapace -> $BIN_TARGET" \
    "${IPC_NAME:+$IPC_NAME -> $IPC_TARGET}" \
    "$PATH_NOTE" \
    "${RUNTIME:+would set runtime.engine = $RUNTIME}"
  exit 0
fi

if ! confirm "$QUESTION" "$DEFAULT"; then
  say "Cancelled: nothing was changed."
  exit 0
fi

if [ "$FROM_SOURCE" -eq 0 ]; then fetch_artifacts; fi
install_files
setup_path

RUNTIME_NOTE=''
if [ -n "$RUNTIME" ]; then
  if "$BIN_TARGET" config set runtime.engine "$RUNTIME" >/dev/null 2>&1; then
    RUNTIME_NOTE="runtime.engine = $RUNTIME"
  else
    warn "could not set runtime.engine; run: carapace config set runtime.engine $RUNTIME"
  fi
fi
if ! command -v podman >/dev/null 2>&1 && ! command -v docker >/dev/null 2>&1 && ! command -v container >/dev/null 2>&1; then
  RUNTIME_NOTE="${RUNTIME_NOTE:+$RUNTIME_NOTE; }no container runtime found: install Podman (recommended) or Docker"
fi

# The install-time smoke test: a short probe in a locked-down agent container (no network, read-only
# root, only ipc reaches the core). Before the agent image is built it says so and `carapace setup` runs it.
say "Container probe (carapace doctor --probe):"
if ! "$BIN_TARGET" doctor --probe; then
  warn "the container probe failed: run no agent sessions until \`carapace doctor --probe\` passes"
fi

case "$ACTION" in
  install) DONE="installed" ;;
  upgrade) DONE="upgraded from v$INSTALLED to" ;;
  reinstall) DONE="reinstalled" ;;
  *) DONE="downgraded from v$INSTALLED to" ;;
esac
case ":${PATH:-}:" in
  *":$BIN_DIR:"*) RUN_HINT="carapace setup" ;;
  *) RUN_HINT="$BIN_TARGET setup   (or open a new shell, then: carapace setup)" ;;
esac

box "Carapace $DONE v$RELEASE_VERSION ($OS/$ARCH)" \
  "$SOURCE_LABEL" \
  "carapace: $BIN_TARGET" \
  "${IPC_NAME:+ipc:      $IPC_TARGET}" \
  "$PATH_NOTE" \
  "${RUNTIME_NOTE:-}" \
  " " \
  "Next steps:" \
  "  1. $RUN_HINT" \
  "  2. carapace doctor" \
  "  3. carapace start"
