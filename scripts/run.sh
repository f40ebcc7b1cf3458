#!/usr/bin/env bash
# The main job: install what is missing, build, and run evsim on the embedded default scenario
# (dom0 and a domU playing ping-pong over an event channel, plus a periodic-timer domain).
# Extra arguments go to `evsim run`, e.g. scripts/run.sh --json report.json
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
evsim_setup
exec "$EVSIM_BUILD/sim/evsim" run "$@"
