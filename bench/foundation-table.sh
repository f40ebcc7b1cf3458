#!/usr/bin/env bash
# Prints the Markdown table of docs/benchmarks.md from recorded foundation results (JSON files
# written by bench/foundation.sh), one pair of rows per file. foundation.sh rewrites the table in
# the document with it, and ctest checks that the document still matches the files.
# Usage: bench/foundation-table.sh [RESULT.json...]         print the table (default: every
#                                    bench/results/foundation*.json, the linked library first)
#        bench/foundation-table.sh --doc DOC RESULT.json...  replace the table in DOC (between
#                                    its <!-- foundation-table --> and <!-- /foundation-table -->)
#        bench/foundation-table.sh --check DOC RESULT.json... exit 1 if DOC's table differs
set -euo pipefail
mode=print doc=
if [ "${1:-}" = --doc ] || [ "${1:-}" = --check ]; then
  mode=${1#--} doc=$2
  shift 2
fi
field() { sed -n "s/.*\"$1\": \"\{0,1\}\([^\",]*\)\"\{0,1\}.*/\1/p" "$2" | head -1; }
table() {
echo "| Unicorn | benchmark | evsim | plain Unicorn | plain + empty block hook | evsim against plain |"
echo "|---|---|---|---|---|---|"
for f in "$@"; do
  u=$(field unicorn "$f")
  awk -v u="$u" -v es="$(field evsim_ns_per_hypercall "$f")" \
    -v ps="$(field plain_unicorn_ns_per_hypercall "$f")" \
    -v hs="$(field plain_with_empty_block_hook_ns "$f")" \
    -v em="$(field evsim_mips "$f")" -v pm="$(field plain_unicorn_mips "$f")" \
    -v hm="$(field plain_with_empty_block_hook_mips "$f")" 'BEGIN {
      printf "| %s | host time per EVTCHNOP_send | %.1f ns | %.1f ns | %.1f ns | %.2fx (evsim adds %.1f ns) |\n", u, es, ps, hs, es / ps, es - ps
      printf "| %s | guest instructions per second (integer loop) | %.0f M/s | %.0f M/s | %.0f M/s | %.0f%% of plain |\n", u, em, pm, hm, 100 * em / pm
    }'
done
}

# DOC with its table block replaced by the table on stdin.
splice() {
  awk -v tablefile="$1" '
    /<!-- foundation-table -->/ { print; while ((getline l < tablefile) > 0) print l; skip = 1; next }
    /<!-- \/foundation-table -->/ { skip = 0 }
    !skip { print }' "$doc"
}

# Default: the linked library's results, then the comparison libraries'.
if [ $# -eq 0 ]; then
  results=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/results
  set -- "$results/foundation.json"
  for f in "$results"/foundation-unicorn-*.json; do [ -f "$f" ] && set -- "$@" "$f"; done
fi

case $mode in
print) table "$@" ;;
doc | check)
  tmp=$(mktemp)
  trap 'rm -f "$tmp" "$tmp.doc"' EXIT
  table "$@" >"$tmp"
  grep -q '<!-- foundation-table -->' "$doc" || { echo "$doc: no <!-- foundation-table --> marker" >&2; exit 2; }
  splice "$tmp" >"$tmp.doc"
  if [ "$mode" = doc ]; then
    cat "$tmp.doc" >"$doc"
  elif ! cmp -s "$tmp.doc" "$doc"; then
    echo "$doc: its foundation table differs from the recorded results; run bench/foundation-table.sh --doc $doc" >&2
    diff "$doc" "$tmp.doc" >&2 || true
    exit 1
  fi
  ;;
esac
