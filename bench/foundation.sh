#!/usr/bin/env bash
# Records the foundation benchmarks of the simulator itself (see docs/benchmarks.md):
#   host time per hypercall and guest instructions per second, each against plain Unicorn on
#   the same guest loop in the same process. Runs each RUNS times (default 5) and keeps the
#   median, because a shared 2-core machine is noisy. Writes bench/results/foundation.json, or
#   $OUT. The Unicorn is the one evbench links, unless LD_LIBRARY_PATH names another: Debian
#   12's 2.0.1, which test.sh unpacks, is measured for comparison with
#     LD_LIBRARY_PATH=build/deps/unicorn-bookworm/usr/lib/x86_64-linux-gnu \
#       OUT=bench/results/foundation-unicorn-2.0.1.json bench/foundation.sh
# Usage: bench/foundation.sh [BUILD_DIR]   (default: build)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${1:-$root/build}
runs=${RUNS:-5}
out=${OUT:-$root/bench/results/foundation.json}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
field() { sed -n "s/.*\"$1\": \([0-9.]*\).*/\1/p" "$2"; }

for what in hypercall ips; do
  for i in $(seq "$runs"); do
    [ -t 2 ] && printf '\r%s run %d/%d' "$what" "$i" "$runs" >&2
    "$build/bench/evbench" "$what" --json "$tmp/$what.$i.json" >/dev/null 2>"$tmp/stderr" ||
      { cat "$tmp/stderr" >&2; exit 1; }
  done
done
[ -t 2 ] && printf '\r%40s\r' '' >&2

pick() { for f in "$tmp"/$1.*.json; do field "$2" "$f"; done | median; }
cat > "$out.tmp" <<JSON
{
  "command": "bench/foundation.sh (RUNS=$runs; medians of bench/evbench hypercall and bench/evbench ips)${LD_LIBRARY_PATH:+ with LD_LIBRARY_PATH naming another Unicorn}",
  "machine": "$(nproc) cores, $(uname -m), $(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -1)",
  "unicorn": "$(sed -n 's/.*"unicorn": "\([^"]*\)".*/\1/p' "$tmp/hypercall.1.json")",
  "hypercall": {
    "n": $(pick hypercall n),
    "evsim_ns_per_hypercall": $(pick hypercall evsim_ns_per_hypercall),
    "plain_unicorn_ns_per_hypercall": $(pick hypercall plain_unicorn_ns_per_hypercall),
    "plain_with_empty_block_hook_ns": $(pick hypercall plain_with_empty_block_hook_ns),
    "ratio_evsim_over_plain": $(pick hypercall ratio_evsim_over_plain)
  },
  "ips": {
    "guest_instructions": $(pick ips guest_instructions),
    "evsim_mips": $(pick ips evsim_mips),
    "plain_unicorn_mips": $(pick ips plain_unicorn_mips),
    "plain_with_empty_block_hook_mips": $(pick ips plain_with_empty_block_hook_mips),
    "ratio_evsim_over_plain": $(pick ips ratio_evsim_over_plain)
  }
}
JSON
mv "$out.tmp" "$out"
cat "$out"
"$root/bench/foundation-table.sh" --doc "$root/docs/benchmarks.md"
