# What moved between two timing goldens (lines "N: text" from timing_split.awk): prints one
# summary line, "NAME: K of M timing figures moved (median +x%), largest: <where> A -> B (+y%)",
# or that nothing moved. Usage: awk -v name=NAME -f timing_moved.awk OLD NEW
function numbers(s, arr,    n) {
    n = 0
    while (match(s, /[0-9]+(\.[0-9]+)?/)) {
        arr[++n] = substr(s, RSTART, RLENGTH) + 0
        s = substr(s, RSTART + RLENGTH)
    }
    return n
}
{ file = FILENAME == ARGV[1] ? 1 : 2 }
{
    key = $1; line = $0; sub(/^[0-9]+: /, "", line)
    if (file == 1) old[key] = line; else new[key] = line
}
END {
    total = moved = 0; best = -1
    for (key in new) {
        nn = numbers(new[key], b)
        no = (key in old) ? numbers(old[key], a) : 0
        for (i = 1; i <= nn; i++) {
            total++
            if (i > no || a[i] == b[i]) continue
            moved++
            rel = a[i] ? (b[i] - a[i]) / a[i] : 1
            rels[moved] = rel
            mag = rel < 0 ? -rel : rel
            if (mag > best) { best = mag; where = new[key]; from = a[i]; to = b[i]; brel = rel }
        }
    }
    for (key in old) if (!(key in new)) gone++
    if (!moved && !gone) { printf "%s: timing unchanged (%d figures)\n", name, total; exit }
    # median relative change (insertion sort: these lists are short)
    for (i = 2; i <= moved; i++) for (k = i; k > 1 && rels[k - 1] > rels[k]; k--) { t = rels[k]; rels[k] = rels[k - 1]; rels[k - 1] = t }
    gsub(/ +/, " ", where)
    printf "%s: %d of %d timing figures moved (median %+.2f%%)", name, moved, total, moved ? 100 * rels[int((moved + 1) / 2)] : 0
    if (moved) printf ", largest %s -> %s (%+.2f%%) in \"%s\"", from, to, 100 * brel, substr(where, 1, 60)
    if (gone) printf ", %d timing lines gone", gone
    printf "\n"
}
