#!/usr/bin/env bash
# Shared set-up for scripts/run.sh and scripts/test.sh: install whatever Debian packages are
# missing, then configure and build evsim into $EVSIM_BUILD (default: build/ in the repository).
# Sourced, not run: it defines evsim_setup.
set -euo pipefail

EVSIM_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
EVSIM_BUILD=${EVSIM_BUILD:-$EVSIM_ROOT/build}

# The toolchain and every library evsim builds against, all from Debian 12.
EVSIM_PACKAGES=(
  build-essential cmake pkg-config git
  libsystemc-dev libunicorn-dev libcapstone-dev libcmocka-dev libxen-dev
  libinih-dev libjson-c-dev gnuplot-nox valgrind
)

evsim_missing_packages() {
  local p
  for p in "${EVSIM_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || echo "$p"
  done
}

evsim_install_packages() {
  local missing
  missing=$(evsim_missing_packages | tr '\n' ' ')
  [ -z "${missing// /}" ] && return 0
  echo "evsim: installing missing packages: $missing" >&2
  local sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -q >&2
  # shellcheck disable=SC2086
  "${sudo[@]}" apt-get install -y -q --no-install-recommends $missing >&2
}

evsim_build() {
  local type=${EVSIM_BUILD_TYPE:-RelWithDebInfo}
  cmake -S "$EVSIM_ROOT" -B "$EVSIM_BUILD" -DCMAKE_BUILD_TYPE="$type" >&2
  cmake --build "$EVSIM_BUILD" -j "$(nproc)" >&2
}

evsim_setup() {
  evsim_install_packages
  evsim_build
}
