#!/usr/bin/env bash
# Every output a page shows is what evsim prints: a fenced block right after a line
#   <!-- evsim-output: ARGS -->
# must match the output of `evsim ARGS` (stdout, run from the repository's root), line by line
# in order; the block may leave lines out, and a line "..." stands for any number of them. A
# block after <!-- file-quote: PATH --> must likewise be lines of that file of the repository
# (a recorded result). The page's numbers are then checked, not remembered.
# Usage: check_outputs.sh EVSIM PAGE.md...
set -euo pipefail
evsim=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
shift
pages=()
for page in "$@"; do pages+=("$(cd "$(dirname "$page")" && pwd)/$(basename "$page")"); done
set -- "${pages[@]}"
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for page in "$@"; do
  n=0
  # Each marked block to its own file, with its arguments.
  awk -v dir="$tmp" '
    /^<!-- evsim-output: .* -->$/ { args = $0; sub(/^<!-- evsim-output: /, "", args); sub(/ -->$/, "", args); want = 1; next }
    /^<!-- file-quote: .* -->$/ { args = $0; sub(/^<!-- file-quote: /, "@", args); sub(/ -->$/, "", args); want = 1; next }
    want && /^```/ { if (inblock) { inblock = 0; want = 0; close(file) } else { inblock = 1; n++; file = dir "/block" n; print args > (dir "/args" n) } ; next }
    inblock { print > file }
  ' "$page"
  for args in "$tmp"/args*; do
    [ -e "$args" ] || continue
    n=$((n + 1))
    k=${args##*/args}
    read -r -a argv <"$args"
    if [ "${argv[0]:0:1}" = @ ]; then
      cp "${argv[0]:1}" "$tmp/actual$k" 2>/dev/null || : >"$tmp/actual$k"
    else
      "$evsim" "${argv[@]}" >"$tmp/actual$k" 2>/dev/null || true
    fi
    # Each expected line must come, in order, in the actual output ("..." skips any).
    if ! awk -v actual="$tmp/actual$k" '
        BEGIN { while ((getline l < actual) > 0) got[++m] = l; i = 1 }
        $0 == "..." { next }
        { while (i <= m && got[i] != $0) i++
          if (i > m) { print "  not in the output (or out of order): " $0; bad = 1; exit }
          i++ }
        END { exit bad }' "$tmp/block$k"; then
      echo "$page: the block after <!-- ... $(cat "$args") --> is not what it shows" >&2
      fail=1
    fi
    rm -f "$args"
  done
  rm -f "$tmp"/block* "$tmp"/actual*
done
exit $fail
