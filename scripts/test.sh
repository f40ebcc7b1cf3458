#!/usr/bin/env bash
# The test suite: the same set-up as run.sh (plus chromium, chromium-driver and python3-selenium
# for the teaching page's browser tests), then every test through ctest (output shown on
# failure), then the same suite again on a second build of the host code with AddressSanitizer
# and UndefinedBehaviorSanitizer (leak checking on; build-sanitize/). Extra arguments go to
# ctest, both times, e.g. scripts/test.sh -R model. EVSIM_SANITIZE=none skips the second run;
# EVSIM_SANITIZE=LIST picks other sanitizers (as for -fsanitize=). Under CI (CI=true) the tests
# labelled long (two memcheck runs of 64 vcpus, minutes each) are left out, to stay well inside
# CI's time; everywhere else they run.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
# The browser tests' packages first: the build's configuration looks for their python3.
evsim_install_packages "${EVSIM_TEST_PACKAGES[@]}"
evsim_setup
evsim_old_unicorn_fixture
skip_long=()
[ "${CI:-}" = true ] && skip_long=(-LE long)
(cd "$EVSIM_BUILD" && ctest --output-on-failure -j "$(nproc)" "${skip_long[@]}" "$@")

sanitize=${EVSIM_SANITIZE:-address,undefined}
[ "$sanitize" = none ] && exit 0
echo "evsim: the suite again with -fsanitize=$sanitize (build-sanitize/)" >&2
evsim_build_sanitized "$sanitize"
cd "$EVSIM_SANITIZE_BUILD"
ctest --output-on-failure -j "$(nproc)" "$@"
