#!/bin/sh
# Checks evsim's recordings against Xen's own analyser: builds xenalyze from Xen's public source
# (outside this repository, never committed), records every bundled scenario with
# `evsim run --record`, and runs `xenalyze --summary` on each. A recording passes when xenalyze
# exits 0 without a FATAL, "Strange" or TSC-skew message, and its per-vcpu and per-domain
# runstate lines, cpu affinity lines, exit-reason lines (count, time, share, mean and
# percentiles), I/O port and MMIO address lines (xenalyze's --with-mmio-enumeration), PV
# hypercall counts and injected vector counts equal `evsim trace summary`'s.
# Each recording is checked again with six runs of records lost (tests/tools/xt_lose, or XT_LOSE).
# Recordings of real hosts given after WORKDIR are checked the same way, and their log volume
# summaries too (REAL_HZ: their TSC frequency, default 2.4 GHz).
#
#   scripts/xenalyze-check.sh [WORKDIR [REAL.xt ...]]   (default WORKDIR: $TMPDIR/evsim-xenalyze)
#
# Needs git and gcc, and network access to fetch Xen (XEN_GIT, XEN_COMMIT override the source);
# without network, XEN_SRC names a Xen git repository (a clone or a bare mirror) to take it from.
# Uses build/ (scripts/run.sh builds it) or EVSIM=path/to/evsim.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
work=${1:-${TMPDIR:-/tmp}/evsim-xenalyze}
[ $# -gt 0 ] && shift
real_hz=${REAL_HZ:-2400000000}
evsim=${EVSIM:-$here/build/sim/evsim}
xt_lose=${XT_LOSE:-$(dirname "$evsim")/../tests/tools/xt_lose}
# every interval in the percentiles, as xenalyze keeps them (up to 32 M; evsim's default is 4096)
whole="--sample-size 16777216"
# evsim enumerates MMIO addresses as xenalyze does with these (it leaves out the VGA range unless
# told otherwise)
xa_opts="--summary --with-mmio-enumeration --mmio-enumeration-skip-vga=0"
XEN_GIT=${XEN_GIT:-https://github.com/xen-project/xen.git}
XEN_COMMIT=${XEN_COMMIT:-c447b7308b1330ec6dcfef37220736c28f41daa0}
[ -x "$evsim" ] || { echo "xenalyze-check: $evsim not built (run scripts/run.sh)" >&2; exit 2; }
mkdir -p "$work"

if [ ! -x "$work/xenalyze" ]; then
    echo "xenalyze-check: building xenalyze from ${XEN_SRC:-$XEN_GIT} at $XEN_COMMIT" >&2
    rm -rf "$work/xen" "$work/inc"
    if [ -n "${XEN_SRC:-}" ]; then
        mkdir -p "$work/xen"
        git --git-dir="$(git -C "$XEN_SRC" rev-parse --absolute-git-dir 2>/dev/null || echo "$XEN_SRC")" \
            archive "$XEN_COMMIT" tools/xentrace xen/include/public tools/include |
            tar -x -C "$work/xen"
    else
        git init -q "$work/xen"
        git -C "$work/xen" fetch -q --depth 1 --filter=blob:none "$XEN_GIT" "$XEN_COMMIT"
        git -C "$work/xen" sparse-checkout set tools/xentrace xen/include/public tools/include
        git -C "$work/xen" checkout -q FETCH_HEAD
    fi
    # Xen's build links xen/include/public as <xen/...>; this is the only shim.
    mkdir -p "$work/inc" && ln -sfn "$work/xen/xen/include/public" "$work/inc/xen"
    (cd "$work/xen/tools/xentrace" &&
        gcc -std=gnu99 -O2 -fno-strict-aliasing -D__XEN_TOOLS__ \
            -D__XEN_INTERFACE_VERSION__=__XEN_LATEST_INTERFACE_VERSION__ \
            -D_FILE_OFFSET_BITS=64 -I. -I"$work/inc" -I"$work/xen/tools/include" \
            -o "$work/xenalyze" xenalyze.c mread.c)
fi

# Per-vcpu runstate lines as "dom vcpu state count mean", from either summary.
runstates() {
    awk '/^\|-- Domain / { dom = $3; v = "" } /^-- v[0-9]+ --/ { v = substr($2, 2) }
         /^ +(running|runnable|blocked|offline|lost|wake|preempt|other): +[0-9]+ / {
             if (v != "") { sub(":", "", $1); print dom, v, $1, $2, $4 } }' "$1" | sort
}

# Per-domain runstate lines (xenalyze's "partial run" and the others) as "dom line".
domruns() {
    awk '/^\|-- Domain / { dom = $3; v = "" } /^-- v[0-9]+ --/ { v = substr($2, 2) }
         /^ +(blocked|partial run|full run|partial contention|concurrency_hazard|full_contention|lost): +[0-9]+ / {
             if (v == "") { l = $0; gsub(/ +/, " ", l); print dom, l } }' "$1"
}

# Per-vcpu cpu affinity lines (all CPUs, then by CPU) as "dom vcpu line".
affinity() {
    awk '/^\|-- Domain / { dom = $3; v = "" } /^-- v[0-9]+ --/ { v = substr($2, 2) }
         /^( cpu affinity|   \[[0-9]+\]): +[0-9]+ +[0-9]+ \{/ {
             if (v != "") { l = $0; gsub(/ +/, " ", l); print dom, v, l } }' "$1"
}

# Per-vcpu exit-reason lines as "dom vcpu REASON count time share mean {p5|p50|p95}".
exits() {
    awk '/^\|-- Domain / { dom = $3; v = "" } /^-- v[0-9]+ --/ { v = substr($2, 2) }
         /^ +[A-Z_]+ +(\[ *[0-9]+\]: +)?[0-9]+ +[0-9.]+s/ {
             if (v != "") { l = $0; sub(/\[ *[0-9]+\]:/, "", l); gsub(/ +/, " ", l); print dom, v, l } }' "$1"
}
# Per-vcpu address lines of the section TITLE ("IO" or "MMIO") as "dom vcpu ADDR:[r|w] count time
# share mean {p5|p50|p95}".
addresses() {
    awk -v title="$1 address summary:" '/^\|-- Domain / { dom = $3; v = "" } /^-- v[0-9]+ --/ { v = substr($2, 2) }
         { l = $0; sub(/^ +/, "", l)
           if (l == title) { in_sec = 1; next }
           if (in_sec && v != "" && $0 ~ /^ *[0-9a-f]+(@ *[0-9a-f]+)?:\[[rw]\] +[0-9]+ /) {
               gsub(/ +/, " ", l); print dom, v, l } else in_sec = 0 }' "$2"
}
ioports() { addresses IO "$1"; }
mmio() { addresses MMIO "$1"; }

# Per-vcpu PV hypercall counts as "dom vcpu NR count" (the names differ: evtchn_op, event_channel_op).
pvcalls() {
    awk '/^\|-- Domain / { dom = $3; v = "" } /^-- v[0-9]+ --/ { v = substr($2, 2) }
         /^ +[a-z_0-9]+ +\[ *[0-9]+\]: +[0-9]+$/ {
             if (v != "") { l = $0; sub(/^[^[]*\[ */, "", l); sub(/\]:/, "", l); split(l, f, " ")
                            print dom, v, f[1], f[2] } }' "$1"
}
# Per-vcpu injected vector counts as "dom vcpu VECTOR count".
vectors() {
    awk '/^\|-- Domain / { dom = $3; v = "" } /^-- v[0-9]+ --/ { v = substr($2, 2) }
         { if ($0 ~ /^ *Guest interrupt counts:$/) { gi = 1; next }
           if (gi && $0 ~ /^ +\* /) next
           if (gi && v != "" && $0 ~ /^ +\[ *[0-9]+\]:? +[0-9]+$/) {
               l = $0; gsub(/[:\[]/, " ", l); sub(/\]/, " ", l); split(l, f, " "); print dom, v, f[1], f[2] } else gi = 0 }' "$1"
}
volume() { sed -n '/^--- Log volume summary ---$/,/^|-- Domain /p' "$1" | grep -v '^|-- Domain '; }

# compare NAME XENALYZE_OUT EVSIM_OUT PARTS: each part's lines equal, or a FAIL line
compare() {
    name=$1 a=$2 b=$3
    shift 3
    said=""
    for part in "$@"; do
        "$part" "$a" >"$work/$name.$part.a"
        "$part" "$b" >"$work/$name.$part.b"
        if ! cmp -s "$work/$name.$part.a" "$work/$name.$part.b"; then
            echo "FAIL $name: $part lines differ (diff $work/$name.$part.a $work/$name.$part.b)"
            fail=1
            return
        fi
        said="$said, $(wc -l <"$work/$name.$part.a") $part lines"
    done
    echo "ok   $name (${said#, } equal)"
}

# check_lost NAME REC HZ: REC with six runs of records lost, as a busy host loses them
check_lost() {
    [ -x "$xt_lose" ] || return 0
    lost="$work/$1-lost.xt"
    "$xt_lose" 1 6 "$2" "$lost" || { echo "FAIL $1-lost: xt_lose"; fail=1; return 0; }
    if ! "$work/xenalyze" $xa_opts --cpu-hz="$3" "$lost" >"$work/$1-lost.xenalyze" \
        2>"$work/$1-lost.xenalyze.err"; then
        # xenalyze stops on some losses it cannot follow (a vcpu first seen after a loss)
        echo "skip $1-lost: xenalyze stops: $(grep -i -m1 'fatal\|strange' "$work/$1-lost.xenalyze.err")"
        return 0
    fi
    "$evsim" trace summary "$lost" --cpu-hz "$3" $whole >"$work/$1-lost.evsim" || { fail=1; return 0; }
    compare "$1-lost" "$work/$1-lost.xenalyze" "$work/$1-lost.evsim" runstates domruns affinity \
        exits ioports mmio pvcalls vectors
}

fail=0
for ini in "$here"/tests/scenarios/*.ini; do
    name=$(basename "$ini" .ini)
    case $name in bad_* | ioreq_hang | ioreq_bad_state) continue ;; esac
    rec="$work/$name.xt"
    if ! "$evsim" run "$ini" --record "$rec" --no-report >/dev/null 2>&1; then
        continue # scenarios that need a device model built elsewhere, or end in a crash
    fi
    hz=$("$evsim" trace summary "$rec" | sed -n 's/.*cpu speed \([0-9.]*\) GHz.*/\1/p')
    hz=$(awk -v g="$hz" 'BEGIN { printf "%.0f", g * 1e9 }')
    if ! "$work/xenalyze" $xa_opts --cpu-hz="$hz" "$rec" >"$work/$name.xenalyze" \
        2>"$work/$name.xenalyze.err" ||
        grep -q -i 'fatal\|strange, d\|skew' "$work/$name.xenalyze.err"; then
        echo "FAIL $name: xenalyze: $(grep -i -m1 'fatal\|strange\|skew' "$work/$name.xenalyze.err")"
        fail=1
        continue
    fi
    "$evsim" trace summary "$rec" $whole >"$work/$name.evsim"
    compare "$name" "$work/$name.xenalyze" "$work/$name.evsim" runstates domruns affinity \
        exits ioports mmio pvcalls vectors
    check_lost "$name" "$rec" "$hz"
done
# evsim's own records are xenalyze's "gen" volume and evsim's "evsim": volumes only for real ones
for rec in "$@"; do
    name=real-$(basename "$rec")
    if ! "$work/xenalyze" $xa_opts --cpu-hz="$real_hz" "$rec" >"$work/$name.xenalyze" \
        2>"$work/$name.xenalyze.err"; then
        echo "FAIL $name: xenalyze: $(grep -i -m1 'fatal' "$work/$name.xenalyze.err")"
        fail=1
        continue
    fi
    "$evsim" trace summary "$rec" --cpu-hz "$real_hz" $whole >"$work/$name.evsim" || { fail=1; continue; }
    compare "$name" "$work/$name.xenalyze" "$work/$name.evsim" runstates domruns affinity \
        exits ioports mmio pvcalls vectors volume
    check_lost "$name" "$rec" "$real_hz"
done
exit $fail
