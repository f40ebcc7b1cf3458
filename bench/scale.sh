#!/usr/bin/env bash
# Records what the ABI study's largest points cost the host (see docs/memory.md): wall time and
# peak memory of `evsim bench abi-scaling --point K` for the Dom0 points (1,000, 4,096 and 16,384
# frontends with four ports each to Dom0, FIFO and 3-level), each under /usr/bin/time, and the
# whole study with --jobs 2. Points are found by what they are (`--list`), not by number. Writes
# bench/results/scale.json (or $OUT) and the table of docs/memory.md from it.
# Usage: bench/scale.sh [BUILD_DIR]        measure (default build dir: build; about 3 minutes)
#        bench/scale.sh --table [JSON]     print the table from recorded results
#        bench/scale.sh --check DOC [JSON] exit 1 if DOC's table differs from the results
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
results=$root/bench/results/scale.json

# One JSON row per line: "name": value pairs, read back with field.
field() {
  local v
  v=$(sed -n "s/.*\"$1\": \"\([^\"]*\)\".*/\1/p" <<<"$2" | head -1)
  [ -n "$v" ] || v=$(sed -n "s/.*\"$1\": \([0-9.]*\).*/\1/p" <<<"$2" | head -1)
  echo "$v"
}

table() {
  local json=$1
  echo "| what | command | wall time | peak memory | goal |"
  echo "|---|---|---|---|---|"
  grep '"what"' "$json" | while IFS= read -r row; do
    awk -v what="$(field what "$row")" -v cmd="$(field command "$row")" \
      -v s="$(field seconds "$row")" -v kb="$(field peak_rss_kb "$row")" \
      -v gs="$(field goal_seconds "$row")" -v gkb="$(field goal_rss_kb "$row")" 'BEGIN {
        mem = kb >= 1048576 ? sprintf("%.2f GiB", kb / 1048576) : sprintf("%.0f MiB", kb / 1024)
        goal = gkb > 0 ? sprintf("%g s, %g GiB", gs, gkb / 1048576) : sprintf("%g s", gs)
        ok = s <= gs && (gkb == 0 || kb <= gkb) ? "met" : "NOT met"
        printf "| %s | `%s` | %.1f s | %s | %s: %s |\n", what, cmd, s, mem, goal, ok
      }'
  done
}

splice() { # DOC with its table block replaced by the file $2
  awk -v tablefile="$2" '
    /<!-- scale-table -->/ { print; while ((getline l < tablefile) > 0) print l; skip = 1; next }
    /<!-- \/scale-table -->/ { skip = 0 }
    !skip { print }' "$1"
}

case ${1:-} in
--table)
  table "${2:-$results}"
  exit 0
  ;;
--check)
  doc=$2
  tmp=$(mktemp)
  trap 'rm -f "$tmp" "$tmp.doc"' EXIT
  table "${3:-$results}" >"$tmp"
  splice "$doc" "$tmp" >"$tmp.doc"
  if ! cmp -s "$tmp.doc" "$doc"; then
    echo "$doc: its scale table differs from the recorded results; run bench/scale.sh" >&2
    diff "$doc" "$tmp.doc" >&2 || true
    exit 1
  fi
  exit 0
  ;;
esac

build=${1:-$root/build}
evsim=$build/sim/evsim
out=${OUT:-$results}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
[ -x "$evsim" ] || { echo "bench/scale.sh: $evsim is not built" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "bench/scale.sh: needs /usr/bin/time (Debian's time package)" >&2; exit 2; }

"$evsim" bench abi-scaling --list >"$tmp/list"
point_of() { # ABI FRONTS -> the point's number
  awk -F'\t' -v abi="$1" -v f="fronts=$2" \
    '{ split($2, w, / +/); if (w[1] == "domains" && w[2] == abi && w[6] == f) print $1 }' "$tmp/list"
}

commas() { sed ':a; s/\B[0-9]\{3\}\>/,&/; ta' <<<"$1"; }

rows=()
measure() { # WHAT GOAL_SECONDS GOAL_RSS_KB COMMAND...
  local what=$1 gs=$2 gkb=$3
  shift 3
  [ -t 2 ] && printf '%s ...\n' "$what" >&2
  /usr/bin/time -f '%e %M' -o "$tmp/time" "$@" >"$tmp/out" 2>&1 ||
    { cat "$tmp/out" >&2; echo "bench/scale.sh: $what failed" >&2; exit 1; }
  read -r s kb <"$tmp/time"
  local shown=${*#"$evsim"}
  shown="evsim${shown% --out *}"
  rows+=("    {\"what\": \"$what\", \"command\": \"$shown\", \"seconds\": $s, \"peak_rss_kb\": $kb, \"goal_seconds\": $gs, \"goal_rss_kb\": $gkb}")
}

point() { # ABI FRONTS GOAL_SECONDS GOAL_RSS_KB
  local k
  k=$(point_of "$1" "$2")
  [ -n "$k" ] || { echo "bench/scale.sh: no $1 point with $2 frontends in the plan" >&2; exit 1; }
  measure "$(commas "$2") frontends, $(commas $((4 * $2))) Dom0 ports, $1" "$3" "$4" \
    "$evsim" bench abi-scaling --no-progress --point "$k" --out "$tmp/points"
}

point fifo 1000 15 1572864
point 3l 1000 15 1572864
point fifo 4096 600 8388608
point 3l 4096 600 8388608
point fifo 16384 600 8388608
point 3l 16384 600 8388608
measure "the whole study, 2 jobs" 180 0 \
  "$evsim" bench abi-scaling --no-progress --jobs 2 --doc - --out "$tmp/study"

{
  echo "{"
  echo "  \"command\": \"bench/scale.sh\","
  echo "  \"machine\": \"$(nproc) cores, $(free -g | awk '/^Mem:/ {print $2}') GB, $(uname -m), $(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -1)\","
  echo "  \"unicorn\": \"$("$evsim" engine 2>/dev/null | sed -n 's/^unicorn *\([0-9.]*\).*/\1/p')\","
  echo "  \"rows\": ["
  for i in "${!rows[@]}"; do
    sep=,
    [ "$i" -eq $((${#rows[@]} - 1)) ] && sep=
    echo "${rows[$i]}$sep"
  done
  echo "  ]"
  echo "}"
} >"$out.tmp"
mv "$out.tmp" "$out"
cat "$out"
if [ "$out" = "$results" ]; then
  table "$out" >"$tmp/table"
  splice "$root/docs/memory.md" "$tmp/table" >"$tmp/doc"
  cat "$tmp/doc" >"$root/docs/memory.md"
fi
