#!/usr/bin/env bash
# Shared set-up for scripts/run.sh and scripts/test.sh: install whatever Debian packages are
# missing, make Unicorn 2.1.1 available, then configure and build evsim into $EVSIM_BUILD
# (default: build/ in the repository). Sourced, not run: it defines evsim_setup.
#
# Unicorn: evsim needs 2.1.1 or later (Debian 13's). Debian 12's 2.0.1 ignores guest paging and
# sends every guest store down a slow path. On Debian 13 and later the system package is used; on
# Debian 12 Debian 13's libunicorn2t64 and libunicorn-dev (they need only libc6 >= 2.34) are
# fetched from the Debian mirror this machine already uses, through a private apt configuration
# kept in $EVSIM_BUILD/deps/ (the system's apt set-up is not touched), and unpacked there; evsim
# is built against them with an rpath. EVSIM_UNICORN=system or EVSIM_UNICORN=debian13 forces one
# way (Debian unstable's 2.1.4 has slow stores again: use debian13 there).
set -euo pipefail

EVSIM_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
EVSIM_BUILD=${EVSIM_BUILD:-$EVSIM_ROOT/build}
EVSIM_DEPS=$EVSIM_BUILD/deps
EVSIM_UNICORN_SUITE=trixie  # Debian 13
EVSIM_UNICORN_DEBS=(libunicorn2t64 libunicorn-dev)
# A library evsim must refuse (Debian 12's 2.0.1): the test suite checks that it does.
EVSIM_OLD_UNICORN_SUITE=bookworm
EVSIM_OLD_UNICORN_DEBS=(libunicorn2)

# The toolchain and every library evsim builds against, from the system's Debian release.
# gcc-12 builds evsim's C code, the guests included: a guest's cycle counts are those of the
# instructions its compiler chose, and the golden outputs were recorded with GCC 12 (Debian 12's
# gcc; Debian 13 ships it as gcc-12 beside its default gcc 14, which gives other counts).
# clang and libclang-rt-dev build the fuzzing harnesses (libFuzzer); coreutils' timeout and awk
# are in every Debian.
EVSIM_CC=gcc-12
EVSIM_PACKAGES=(
  build-essential cmake pkg-config git gcc-12 clang libclang-rt-dev
  libsystemc-dev libcapstone-dev libcmocka-dev libxen-dev
  libinih-dev libjson-c-dev gnuplot-nox valgrind
)

# What only the test suite needs (scripts/test.sh installs them, run.sh does without): headless
# Chromium, its WebDriver and Selenium, which the teaching page's browser tests drive
# (tests/browser), and GNU parallel, which runs a study's job list (bench.parallel); where they
# are missing those tests are skipped.
EVSIM_TEST_PACKAGES=(chromium chromium-driver python3-selenium parallel)

evsim_sudo() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

evsim_debian_version() {
  local id="" version=""
  if [ -r /etc/os-release ]; then
    id=$(. /etc/os-release && echo "${ID:-}")
    version=$(. /etc/os-release && echo "${VERSION_ID:-}")
  fi
  if [ "$id" = debian ]; then echo "${version%%.*}"; fi
}

# system: Debian's own libunicorn-dev; debian13: Debian 13's, fetched into the build folder.
evsim_unicorn_way() {
  case "${EVSIM_UNICORN:-}" in
  system | debian13) echo "$EVSIM_UNICORN"; return ;;
  "") ;;
  *) echo "evsim: EVSIM_UNICORN must be 'system' or 'debian13', not '$EVSIM_UNICORN'" >&2; return 2 ;;
  esac
  local v
  v=$(evsim_debian_version)
  if [ -n "$v" ] && [ "$v" -lt 13 ]; then echo debian13; else echo system; fi
}

evsim_missing_packages() {
  local p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || echo "$p"
  done
}

evsim_install_packages() {
  local missing
  missing=$(evsim_missing_packages "$@" | tr '\n' ' ')
  [ -z "${missing// /}" ] && return 0
  echo "evsim: installing missing packages: $missing" >&2
  export DEBIAN_FRONTEND=noninteractive
  evsim_sudo apt-get update -q >&2
  # shellcheck disable=SC2086
  evsim_sudo apt-get install -y -q --no-install-recommends $missing >&2
}

# The Debian archive this machine's apt already uses (its first source for the release's own
# suite), as "URI KEYRING"; deb.debian.org when none is found.
evsim_debian_mirror() {
  local codename
  codename=$(. /etc/os-release 2>/dev/null && echo "${VERSION_CODENAME:-}")
  local found files=() f
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
    if [ -f "$f" ]; then files+=("$f"); fi
  done
  [ ${#files[@]} -gt 0 ] || files=(/dev/null)
  found=$(awk -v want="$codename" '
    function flush() { if (uris != "" && index(" " suites " ", " " want " ")) { print uris, (key == "" ? "-" : key); done = 1 } uris = suites = key = "" }
    done { exit }
    FNR == 1 { flush() }
    # one-line format: deb [signed-by=K ...] URI SUITE COMPONENTS
    FILENAME ~ /\.list$/ && $1 == "deb" {
      k = ""; i = 2
      if ($2 ~ /^\[/) {
        for (; i <= NF; i++) {
          if ($i ~ /signed-by=/) { k = $i; sub(/.*signed-by=/, "", k); sub(/\]$/, "", k) }
          if ($i ~ /\]$/) { i++; break }
        }
      }
      if ($(i + 1) == want) { uris = $i; suites = want; key = k; flush() }
      next
    }
    # deb822 format: stanzas of URIs/Suites/Signed-By separated by blank lines
    FILENAME ~ /\.sources$/ {
      if ($0 ~ /^[ \t]*$/) { flush(); next }
      if ($1 == "URIs:") uris = $2
      if ($1 == "Suites:") { $1 = ""; suites = $0 }
      if ($1 == "Signed-By:") key = $2
    }
    END { if (!done) flush() }
  ' "${files[@]}" 2>/dev/null || true)
  if [ -n "$found" ]; then echo "$found"; else echo "http://deb.debian.org/debian -"; fi
}

# Download PACKAGES of Debian SUITE with apt, configured privately under $EVSIM_DEPS/apt-SUITE,
# and unpack them into DEST. Leaves DEST complete or absent.
evsim_fetch_debs() {
  local suite=$1 dest=$2
  shift 2
  local apt=$EVSIM_DEPS/apt-$suite mirror uri key
  mirror=$(evsim_debian_mirror)
  uri=${mirror% *}
  key=${mirror#* }
  mkdir -p "$apt"/{lists/partial,cache/archives/partial,parts,prefs,debs}
  local signed=""
  if [ "$key" != - ] && [ -r "$key" ]; then signed="[signed-by=$key] "; fi
  echo "deb ${signed}$uri $suite main" >"$apt/sources.list"
  local opts=(
    -q -o "Dir::Etc::SourceList=$apt/sources.list" -o "Dir::Etc::SourceParts=$apt/parts"
    -o "Dir::Etc::Preferences=$apt/prefs/none" -o "Dir::Etc::PreferencesParts=$apt/prefs"
    -o "Dir::State::Lists=$apt/lists" -o "Dir::Cache=$apt/cache" -o "APT::Default-Release="
  )
  if [ "$(id -u)" -eq 0 ]; then opts+=(-o "APT::Sandbox::User=root"); fi
  local have=1 p
  for p in "$@"; do compgen -G "$apt/debs/${p}_*.deb" >/dev/null || have=0; done
  if [ $have -eq 0 ]; then
    echo "evsim: fetching $* from $uri ($suite) into $apt" >&2
    if ! apt-get "${opts[@]}" update >"$apt/update.log" 2>&1 ||
      ! (cd "$apt/debs" && apt-get "${opts[@]}" download "$@" >"$apt/download.log" 2>&1); then
      echo "evsim: could not fetch $* from $uri ($suite):" >&2
      cat "$apt/update.log" "$apt/download.log" 2>/dev/null | grep -E '^(E|W|Err):' >&2 || true
      return 1
    fi
  fi
  rm -rf "$dest.tmp"
  mkdir -p "$dest.tmp"
  for p in "$@"; do
    local deb
    deb=$(compgen -G "$apt/debs/${p}_*.deb" | sort -V | tail -1)
    dpkg-deb -x "$deb" "$dest.tmp"
  done
  rm -rf "$dest"
  mv "$dest.tmp" "$dest"
}

# The unpacked library's unicorn.pc names /usr: point it at the unpacked tree instead.
evsim_relocate_pc() {
  local root=$1 pc
  pc=$(find "$root" -name unicorn.pc -path '*/pkgconfig/*' | head -1)
  [ -n "$pc" ] || return 1
  local libdir
  libdir=$(dirname "$(dirname "$pc")")
  sed -i -e "s|^libdir=.*|libdir=$libdir|" -e "s|^includedir=.*|includedir=$root/usr/include|" "$pc"
  dirname "$pc"
}

evsim_unicorn_missing_help() {
  cat >&2 <<EOF
evsim: needs Unicorn 2.1.1 or later (Debian 13's libunicorn-dev); this is Debian $(evsim_debian_version),
whose Unicorn 2.0.1 ignores guest paging and sends every guest store down a slow path.
Without network access to the Debian mirror, copy Debian 13's libunicorn2t64 and libunicorn-dev
.deb files into $EVSIM_DEPS/apt-$EVSIM_UNICORN_SUITE/debs/ and run this command again.
EOF
}

# Prints the pkg-config folder of Debian 13's Unicorn, fetching it on first use.
evsim_unicorn_debian13() {
  local dest=$EVSIM_DEPS/unicorn-$EVSIM_UNICORN_SUITE pcdir
  if [ ! -f "$dest/.relocated" ]; then
    if ! evsim_fetch_debs "$EVSIM_UNICORN_SUITE" "$dest" "${EVSIM_UNICORN_DEBS[@]}"; then
      evsim_unicorn_missing_help
      return 1
    fi
    evsim_relocate_pc "$dest" >"$dest/.relocated"
  fi
  pcdir=$(cat "$dest/.relocated")
  [ -n "$pcdir" ] || { echo "evsim: no unicorn.pc in $dest" >&2; return 1; }
  echo "$pcdir"
}

# Debian 12's Unicorn 2.0.1, unpacked for the test that evsim refuses it. Best effort: the test
# says what is missing when it could not be fetched.
evsim_old_unicorn_fixture() {
  local dest=$EVSIM_DEPS/unicorn-$EVSIM_OLD_UNICORN_SUITE
  [ -d "$dest" ] && return 0
  evsim_fetch_debs "$EVSIM_OLD_UNICORN_SUITE" "$dest" "${EVSIM_OLD_UNICORN_DEBS[@]}" ||
    echo "evsim: the test that evsim refuses Unicorn 2.0.1 will fail: it could not be fetched" >&2
}

evsim_build() {
  local type=${EVSIM_BUILD_TYPE:-RelWithDebInfo} args=()
  local way
  way=$(evsim_unicorn_way)
  if [ "$way" = debian13 ]; then
    local pcdir
    pcdir=$(evsim_unicorn_debian13) || return 1
    args+=(-DEVSIM_UNICORN_PKG_CONFIG_DIR="$pcdir")
  else
    args+=(-DEVSIM_UNICORN_PKG_CONFIG_DIR=)
  fi
  # The compiler is chosen once, when the build folder is first configured.
  if [ ! -f "$EVSIM_BUILD/CMakeCache.txt" ]; then args+=(-DCMAKE_C_COMPILER="$EVSIM_CC"); fi
  cmake -S "$EVSIM_ROOT" -B "$EVSIM_BUILD" -DCMAKE_BUILD_TYPE="$type" "${args[@]}" >&2
  cmake --build "$EVSIM_BUILD" -j "$(nproc)" >&2
}

# A second build of the same tree with the host code instrumented by sanitizers (LIST as for
# -fsanitize=), into $EVSIM_SANITIZE_BUILD, against the same Unicorn as the main build.
EVSIM_SANITIZE_BUILD=${EVSIM_SANITIZE_BUILD:-$EVSIM_ROOT/build-sanitize}
evsim_build_sanitized() {
  local list=$1 pcdir=""
  pcdir=$(sed -n 's/^EVSIM_UNICORN_PKG_CONFIG_DIR:PATH=//p' "$EVSIM_BUILD/CMakeCache.txt")
  local args=(-DEVSIM_SANITIZE="$list" -DEVSIM_UNICORN_PKG_CONFIG_DIR="$pcdir"
    -DEVSIM_OLD_UNICORN_DIR="$EVSIM_DEPS/unicorn-$EVSIM_OLD_UNICORN_SUITE/usr/lib/x86_64-linux-gnu")
  if [ ! -f "$EVSIM_SANITIZE_BUILD/CMakeCache.txt" ]; then args+=(-DCMAKE_C_COMPILER="$EVSIM_CC"); fi
  cmake -S "$EVSIM_ROOT" -B "$EVSIM_SANITIZE_BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo "${args[@]}" >&2
  cmake --build "$EVSIM_SANITIZE_BUILD" -j "$(nproc)" >&2
}

evsim_setup() {
  local packages=("${EVSIM_PACKAGES[@]}")
  if [ "$(evsim_unicorn_way)" = system ]; then packages+=(libunicorn-dev); fi
  evsim_install_packages "${packages[@]}"
  evsim_build
}
