#!/usr/bin/env bash
# Re-baselines the scenario goldens and prints what moved, one line per scenario.
#   scripts/rebaseline.sh timing   timing only, where behaviour is unchanged (a cost change)
#   scripts/rebaseline.sh all      behaviour too (an intended change: review `git diff` after)
# Extra arguments go to ctest, e.g. scripts/rebaseline.sh timing -R pingpong
set -euo pipefail
mode=${1:-}
case $mode in
timing | all) shift ;;
*) echo "usage: scripts/rebaseline.sh timing|all [ctest arguments]" >&2; exit 2 ;;
esac
build=${EVSIM_BUILD:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/build}
cd "$build"
# Summaries are the golden script's status lines; failures (behaviour changed under "timing")
# show in ctest's own summary.
EVSIM_UPDATE_GOLDEN=$mode ctest -R '^scenario\.' -V "$@" | sed -n 's/^[0-9]*: -- \(.*\(moved\|unchanged\|gone\).*\)/\1/p' | sort
