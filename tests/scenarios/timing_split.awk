# Splits evsim's stdout into its behaviour and its timing, so that golden files can hold them
# apart (golden.cmake). Prints the input with every timing figure replaced by "~" (the
# functional golden); writes each line that had timing figures, verbatim and prefixed with its
# line number, to the file named by -v timing=FILE (the timing golden).
#
# Timing figures are:
# - in guest console lines (d<dom>v<vcpu> ...): a number followed by a time unit (ns, us,
#   cycles), or right after "cycles=": the bundled guests print every measured time so;
# - the same in the narration's step lines ("[explain #N ...]") and the debug key's heading;
# - in the report: simulated time, instruction counts (they depend on the compiler), every
#   figure of the event-path tables but the event count, the physical CPUs' table (busy time
#   and scheduling counts follow from timing), the shared cache lines' counters, and the ioreq
#   round trips' cycles (their tables' request counts stay behaviour).
# - in the limits hit, the count of console lines past console_lines: how many a guest printing
#   without end gets out in the run follows from how fast it runs.
# Counts of sends, deliveries, upcalls, hypercalls, IRQs, statuses and messages are behaviour.

function mask_all(s) { gsub(/[0-9]+(\.[0-9]+)?%?/, "~", s); return s }

# Mask fields first..last (0: to the end) of a table row. The columns are padded to the
# figures' widths, so a masked row is written with single spaces: how wide a timing figure is
# must not show in the behaviour.
function mask_fields(s, first, last,    out, i, k, n, tok, f) {
    n = split(s, f, / +/)
    out = ""
    k = 0
    for (i = 1; i <= n; i++) {
        if (f[i] == "")
            continue
        tok = f[i]
        if (++k >= first && (!last || k <= last))
            tok = mask_all(tok)
        out = out " " tok
    }
    return out
}

function mask_console(s,    out, pre, num) {
    out = ""
    while (match(s, /[0-9]+(\.[0-9]+)? ?(ns|us|cycles)([^A-Za-z0-9_]|$)|cycles=[0-9]+/)) {
        pre = substr(s, 1, RSTART - 1)
        num = substr(s, RSTART, RLENGTH)
        out = out pre mask_all(num)
        s = substr(s, RSTART + RLENGTH)
    }
    return out s
}

function emit(orig, masked) {
    if (masked != orig)
        print NR ": " orig > timing
    print masked
}

/^$/ { section = ""; print; next }
/^d[0-9]+v[0-9]+ / { emit($0, mask_console($0)); next }
/^\[explain #/ || /^\(XEN\) 'e' pressed/ { emit($0, mask_console($0)); next }
/^simulated time / || /^instructions / { emit($0, mask_all($0)); next }
/^domains$/ || /^physical CPUs$/ || /^shared cache lines/ { section = $0; header = 1; print; next }
/^event paths: send to handler/ { section = "paths"; header = 1; print; next }
/^event paths: cycles per event/ { section = "stages"; header = 1; print; next }
/^ioreq servers: round trips in cycles/ { section = "ioreq trips"; header = 1; print; next }
/^ioreq round trips: mean cycles by stage/ { section = "ioreq stages"; header = 1; print; next }
/^[a-z]/ && !/^  / { section = "" }
section != "" && header { header = 0; print; next }
section == "domains" && /^  [0-9]/ { emit($0, mask_fields($0, 7, 7)); next }
section == "paths" && /^  [0-9]/ { emit($0, mask_fields($0, 4, 0)); next }
section == "stages" && /^  [0-9]/ { emit($0, mask_fields($0, 3, 0)); next }
section == "physical CPUs" && /^  [0-9]/ { emit($0, mask_fields($0, 2, 0)); next }
section == "ioreq trips" && /^  [0-9]/ { emit($0, mask_fields($0, 7, 0)); next }
section == "ioreq stages" && /^  [0-9]/ { emit($0, mask_fields($0, 3, 0)); next }
section ~ /^shared cache lines/ && /^ +[0-9]/ { emit($0, mask_fields($0, 1, 0)); next }
/^  dom [0-9]+ +[0-9]+ console lines not printed/ { emit($0, mask_fields($0, 3, 3)); next }
{ print }
