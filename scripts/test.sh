#!/usr/bin/env bash
# The test suite: the same set-up as run.sh, then every test through ctest (output shown on
# failure). Extra arguments go to ctest, e.g. scripts/test.sh -R model
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
evsim_setup
evsim_old_unicorn_fixture
cd "$EVSIM_BUILD"
ctest --output-on-failure -j "$(nproc)" "$@"
