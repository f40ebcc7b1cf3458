/* The reader and the summary on a real recording (data/rtds-sched.bin, see data/README.md),
 * checked against what Xen's own xenalyze printed for it:
 *
 *     xenalyze --summary rtds-sched.bin
 *
 * with xenalyze built from Xen commit c447b7308b13 (tools/xentrace/xenalyze.c). Every vcpu
 * runstate line it printed gives a count and an average in cycles, and both must be equal here;
 * so must the per-CPU log volume. The whole lines, percentiles included, must read as xenalyze
 * printed them (its self-weighted percentiles depend on the samples' order, which evsim keeps). */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "traces/summary.h"
#include "traces/xentrace.h"

#ifndef EVSIM_RTDS_TRACE
#error "EVSIM_RTDS_TRACE: the path of tests/traces/data/rtds-sched.bin"
#endif

enum line { L_RUNNING, L_RUNNABLE, L_WAKE, L_PREEMPT, L_BLOCKED, NR_LINES };

static const char *const line_name[NR_LINES] = {"running", "runnable", "wake", "preempt",
                                                "blocked"};

struct count_avg {
    uint64_t count, avg; /* avg: cycles / count, as xenalyze divides */
};

struct vcpu_row {
    uint32_t dom, vid;
    struct count_avg l[NR_LINES]; /* {0, 0}: xenalyze printed no such line */
};

/* From xenalyze's output, vcpu by vcpu: running, runnable, wake, preempt, blocked. Domain
 * 32767 is the idle domain. */
static const struct vcpu_row xenalyze_runstates[] = {
    {0, 0, {{37, 774871}, {36, 64275}, {36, 64275}, {0, 0}, {36, 24223511}}},
    {0, 1, {{129, 597837}, {125, 13746}, {58, 22770}, {67, 5934}, {58, 15880565}}},
    {0, 2, {{73, 652933}, {59, 25658}, {45, 31389}, {14, 7239}, {45, 18461409}}},
    {0, 3, {{23, 4151065}, {22, 44104}, {22, 44104}, {0, 0}, {22, 35501523}}},
    {0, 4, {{29, 805363}, {28, 46823}, {28, 46823}, {0, 0}, {28, 30116879}}},
    {0, 5, {{23, 2540983}, {22, 55861}, {22, 55861}, {0, 0}, {22, 40764551}}},
    {0, 6, {{26, 1435020}, {25, 35614}, {25, 35614}, {0, 0}, {25, 33188269}}},
    {0, 7, {{30, 2641199}, {29, 36450}, {29, 36450}, {0, 0}, {29, 31394032}}},
    {2, 0, {{15, 8267185}, {14, 60816707}, {0, 0}, {14, 60816707}, {0, 0}}},
    {2, 1, {{15, 8481137}, {14, 60587619}, {0, 0}, {14, 60587619}, {0, 0}}},
    {2, 2, {{15, 8408577}, {15, 58317149}, {0, 0}, {15, 58317149}, {0, 0}}},
    {2, 3, {{28, 6631067}, {23, 34338075}, {0, 0}, {23, 34338075}, {0, 0}}},
    {32767, 0, {{22, 35544432}, {22, 4314217}, {0, 0}, {22, 4314217}, {0, 0}}},
    {32767, 1, {{76, 11229730}, {75, 743524}, {0, 0}, {75, 743524}, {0, 0}}},
    {32767, 2, {{130, 7128243}, {129, 464455}, {0, 0}, {129, 464455}, {0, 0}}},
    {32767, 3, {{18, 24322751}, {17, 15343092}, {0, 0}, {17, 15343092}, {0, 0}}},
    {32767, 4, {{31, 29659163}, {31, 1417215}, {0, 0}, {31, 1417215}, {0, 0}}},
    {32767, 5, {{29, 31429183}, {29, 2728942}, {0, 0}, {29, 2728942}, {0, 0}}},
    {32767, 6, {{31, 25895737}, {31, 2136200}, {0, 0}, {31, 2136200}, {0, 0}}},
    {32767, 7, {{29, 29121974}, {28, 831370}, {0, 0}, {28, 831370}, {0, 0}}},
};

#define NR_ROWS (sizeof(xenalyze_runstates) / sizeof(xenalyze_runstates[0]))

/* The vcpus xenalyze's deactivate_pcpu set to LOST when their CPU's records ended (its
 * "setting dXvY to state LOST" messages). */
static const uint32_t lost_at_end[][2] = {{32767, 0}, {32767, 7}, {32767, 6}, {32767, 4},
                                          {32767, 5}, {0, 1},     {0, 2},     {2, 2}};

/* xenalyze's "Log volume summary": bytes of records per CPU, all of the scheduler class. */
static const uint64_t sched_bytes[8] = {10556, 19148, 35248, 16568, 9148, 9740, 8732, 8116};
static const char xenalyze_volume[] = "--- Log volume summary ---\n"
                                      " - cpu 0 -\n sched :      10556\n"
                                      " - cpu 1 -\n sched :      19148\n"
                                      " - cpu 2 -\n sched :      35248\n"
                                      " - cpu 3 -\n sched :      16568\n"
                                      " - cpu 4 -\n sched :       9148\n"
                                      " - cpu 5 -\n sched :       9740\n"
                                      " - cpu 6 -\n sched :       8732\n"
                                      " - cpu 7 -\n sched :       8116\n";

struct rtds {
    struct xt_source src;
    struct xt_reader *r;
    struct xt_summary s;
    char *text; /* xt_summary_print's output */
    size_t len;
};

static int rtds_setup(void **state)
{
    struct rtds *t = calloc(1, sizeof(*t));
    struct xt_error err;
    struct xt_rec rec;
    FILE *out;
    int got;

    if (!t || xt_source_file(&t->src, EVSIM_RTDS_TRACE, &err) < 0 ||
        xt_open(&t->r, &t->src, NULL, &err) < 0 || xt_summary_init(&t->s, NULL) < 0) {
        fprintf(stderr, "%s: %s\n", EVSIM_RTDS_TRACE, t ? err.msg : "out of memory");
        return -1;
    }
    while ((got = xt_next(t->r, &rec, &err)) == 1)
        xt_summary_add(&t->s, &rec);
    if (got < 0 || t->s.oom) {
        fprintf(stderr, "%s: %s\n", EVSIM_RTDS_TRACE, got < 0 ? err.msg : "out of memory");
        return -1;
    }
    out = open_memstream(&t->text, &t->len);
    if (!out)
        return -1;
    xt_summary_print(out, &t->s, xt_stats(t->r));
    fclose(out);
    *state = t;
    return 0;
}

static int rtds_teardown(void **state)
{
    struct rtds *t = *state;

    free(t->text);
    xt_summary_free(&t->s);
    xt_close(t->r);
    xt_source_file_close(&t->src);
    free(t);
    return 0;
}

static const struct xt_cycles *line_cycles(const struct xt_vcpu *v, enum line l)
{
    switch (l) {
    case L_RUNNING:
        return &v->runstate[XT_RUNNING];
    case L_RUNNABLE:
        return &v->runstate[XT_RUNNABLE];
    case L_WAKE:
        return &v->runnable[XT_WAKE];
    case L_PREEMPT:
        return &v->runnable[XT_PREEMPT];
    default:
        return &v->runstate[XT_BLOCKED];
    }
}

static const struct xt_vcpu *find_vcpu(const struct xt_summary *s, uint32_t dom, uint32_t vid)
{
    const struct xt_domain *d = xt_summary_domain(s, dom);

    return xt_domain_vcpu(d, vid);
}

static const struct vcpu_row *find_row(uint32_t dom, uint32_t vid)
{
    for (size_t i = 0; i < NR_ROWS; i++)
        if (xenalyze_runstates[i].dom == dom && xenalyze_runstates[i].vid == vid)
            return &xenalyze_runstates[i];
    return NULL;
}

static bool lost(uint32_t dom, uint32_t vid)
{
    for (size_t i = 0; i < sizeof(lost_at_end) / sizeof(lost_at_end[0]); i++)
        if (lost_at_end[i][0] == dom && lost_at_end[i][1] == vid)
            return true;
    return false;
}

static void check_vcpu(const struct vcpu_row *row, const struct xt_vcpu *v)
{
    for (enum line l = 0; l < NR_LINES; l++) {
        const struct xt_cycles *c = line_cycles(v, l);
        uint64_t avg = c->count ? c->cycles / c->count : 0;

        if (c->count != row->l[l].count || avg != row->l[l].avg)
            fail_msg("d%uv%u %s: %" PRIu64 " intervals, avg %" PRIu64 "; xenalyze: %" PRIu64
                     ", %" PRIu64,
                     row->dom, row->vid, line_name[l], c->count, avg, row->l[l].count,
                     row->l[l].avg);
    }
    /* xenalyze printed no offline, lost or "other" runnable line for any vcpu */
    assert_int_equal(v->runstate[XT_OFFLINE].count, 0);
    assert_int_equal(v->runstate[XT_LOST].count, 0);
    assert_int_equal(v->runnable[XT_OTHER].count, 0);
    if ((v->state == XT_LOST) != lost(row->dom, row->vid))
        fail_msg("d%uv%u ends in state %d; xenalyze: %s", row->dom, row->vid, v->state,
                 lost(row->dom, row->vid) ? "lost" : "not lost");
}

static void runstates_match_xenalyze(void **state)
{
    struct rtds *t = *state;
    unsigned seen = 0;

    for (size_t i = 0; i < NR_ROWS; i++) {
        const struct vcpu_row *row = &xenalyze_runstates[i];
        const struct xt_vcpu *v = find_vcpu(&t->s, row->dom, row->vid);

        if (!v)
            fail_msg("d%uv%u: not in the summary", row->dom, row->vid);
        check_vcpu(row, v);
    }
    /* and no vcpu beyond xenalyze's */
    for (uint32_t dom = 0; dom < 65536; dom++) {
        const struct xt_domain *d = xt_summary_domain(&t->s, dom);

        for (uint32_t vid = 0; d && vid < 65536; vid++) {
            if (!xt_domain_vcpu(d, vid))
                continue;
            if (!find_row(dom, vid))
                fail_msg("d%uv%u: in the summary, not in xenalyze's", dom, vid);
            seen++;
        }
    }
    assert_int_equal(seen, NR_ROWS);
}

/* The vcpu's part of the printed summary: from its "-- vN --" line to the next vcpu or
 * domain. */
static const char *vcpu_section(const char *text, uint32_t dom, uint32_t vid, size_t *len)
{
    char head[48];
    const char *p, *q, *end;

    snprintf(head, sizeof(head), "|-- Domain %u --|\n", dom);
    p = strstr(text, head);
    assert_non_null(p);
    snprintf(head, sizeof(head), "\n-- v%u --\n", vid);
    p = strstr(p, head);
    assert_non_null(p);
    p += strlen(head);
    end = p + strlen(p);
    for (unsigned i = 0; i < 2; i++) {
        q = strstr(p, i ? "\n|-- Domain" : "\n-- v"); /* the next vcpu or domain */
        if (q && q < end)
            end = q + 1;
    }
    *len = (size_t)(end - p);
    return p;
}

/* The line of the section that starts with prefix, copied into line; false if none. */
static bool find_line(const char *sec, size_t len, const char *prefix, char *line, size_t size)
{
    const char *p = sec, *end = sec + len;

    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);

        if (strncmp(p, prefix, strlen(prefix)) == 0 && n < size) {
            memcpy(line, p, n);
            line[n] = 0;
            return true;
        }
        p += n + 1;
    }
    return false;
}

/* The printed runstate lines read as xenalyze's: "  %8s: %7d %5.2lfs %6lld {" with the same
 * count and average (wake and preempt indented by two more). */
static void printed_like_xenalyze(void **state)
{
    struct rtds *t = *state;

    for (size_t i = 0; i < NR_ROWS; i++) {
        const struct vcpu_row *row = &xenalyze_runstates[i];
        size_t len;
        const char *sec = vcpu_section(t->text, row->dom, row->vid, &len);

        for (enum line l = 0; l < NR_LINES; l++) {
            const char *indent = l == L_WAKE || l == L_PREEMPT ? "    " : "  ";
            char prefix[64], tail[32], line[160];

            snprintf(prefix, sizeof(prefix), "%s%8s: %7" PRIu64 " ", indent, line_name[l],
                     row->l[l].count);
            snprintf(tail, sizeof(tail), "s %6" PRIu64 " {", row->l[l].avg);
            if (!row->l[l].count) {
                snprintf(prefix, sizeof(prefix), "%s%8s:", indent, line_name[l]);
                if (find_line(sec, len, prefix, line, sizeof(line)))
                    fail_msg("d%uv%u: \"%s\"; xenalyze printed no %s line", row->dom, row->vid,
                             line, line_name[l]);
                continue;
            }
            if (!find_line(sec, len, prefix, line, sizeof(line)) || !strstr(line, tail))
                fail_msg("d%uv%u: no line \"%s...%s\" in:\n%.*s", row->dom, row->vid, prefix, tail,
                         (int)len, sec);
        }
    }
}

/* Every per-vcpu runstate line xenalyze printed, in its order (xenalyze --summary, as above). */
static const char *const xenalyze_lines[] = {
    "   running:      37  0.01s 774871 {253355|5529044|6228766}",
    "  runnable:      36  0.00s  64275 { 56126|109582|143480}",
    "        wake:      36  0.00s  64275 { 56126|109582|143480}",
    "   blocked:      36  0.36s 24223511 {13282712|67679446|244121245}",
    "   running:     129  0.03s 597837 {436300|17959707|17959707}",
    "  runnable:     125  0.00s  13746 {  5917| 36227|109556}",
    "        wake:      58  0.00s  22770 {  8081| 38719|109556}",
    "     preempt:      67  0.00s   5934 {  4358|  6186|  7963}",
    "   blocked:      58  0.38s 15880565 {40239306|181722283|181722283}",
    "   running:      73  0.02s 652933 {299778|5608622|20557067}",
    "  runnable:      59  0.00s  25658 {  7026| 70839|133824}",
    "        wake:      45  0.00s  31389 { 28735| 70839|133824}",
    "     preempt:      14  0.00s   7239 {  6839|  7426|  8302}",
    "   blocked:      45  0.35s 18461409 {33365034|214896843|214896843}",
    "   running:      23  0.04s 4151065 {8005738|54709073|54709073}",
    "  runnable:      22  0.00s  44104 { 55326| 69836|159445}",
    "        wake:      22  0.00s  44104 { 55326| 69836|159445}",
    "   blocked:      22  0.33s 35501523 {32958981|53906551|258616611}",
    "   running:      29  0.01s 805363 {137969|3919027|5730527}",
    "  runnable:      28  0.00s  46823 { 48714|133688|139808}",
    "        wake:      28  0.00s  46823 { 48714|133688|139808}",
    "   blocked:      28  0.35s 30116879 {27682881|130297948|220935461}",
    "   running:      23  0.02s 2540983 {2865241|13812620|13830574}",
    "  runnable:      22  0.00s  55861 { 47882| 83351|141508}",
    "        wake:      22  0.00s  55861 { 47882| 83351|141508}",
    "   blocked:      22  0.37s 40764551 {18893218|193620171|193620171}",
    "   running:      26  0.02s 1435020 {1078437|25857544|25857544}",
    "  runnable:      25  0.00s  35614 { 51153| 58599|124332}",
    "        wake:      25  0.00s  35614 { 51153| 58599|124332}",
    "   blocked:      25  0.35s 33188269 {24138229|338985066|338985066}",
    "   running:      30  0.03s 2641199 {2983158|21088934|31244130}",
    "  runnable:      29  0.00s  36450 { 47427| 62084| 92077}",
    "        wake:      29  0.00s  36450 { 47427| 62084| 92077}",
    "   blocked:      29  0.38s 31394032 {13324745|87000635|222600391}",
    "   running:      15  0.05s 8267185 {8478059|8480796|8497365}",
    "  runnable:      14  0.35s 60816707 {25451209|382848885|382848885}",
    "     preempt:      14  0.35s 60816707 {25451209|382848885|382848885}",
    "   running:      15  0.05s 8481137 {8477910|8480756|8495512}",
    "  runnable:      14  0.35s 60587619 {25445156|382855435|382855435}",
    "     preempt:      14  0.35s 60587619 {25445156|382855435|382855435}",
    "   running:      15  0.05s 8408577 {8478210|8478485|8485550}",
    "  runnable:      15  0.36s 58317149 {25455518|382873873|382873873}",
    "     preempt:      15  0.36s 58317149 {25455518|382873873|382873873}",
    "   running:      28  0.08s 6631067 {7770172|7810020|8631198}",
    "  runnable:      23  0.33s 34338075 {25435917|29540170|199292037}",
    "     preempt:      23  0.33s 34338075 {25435917|29540170|199292037}",
    "   running:      22  0.33s 35544432 {33011466|53912384|258726144}",
    "  runnable:      22  0.04s 4314217 {8006441|54712154|54712154}",
    "     preempt:      22  0.04s 4314217 {8006441|54712154|54712154}",
    "   running:      76  0.36s 11229730 {36912401|215006092|215006092}",
    "  runnable:      75  0.02s 743524 {210374|5609320|20559884}",
    "     preempt:      75  0.02s 743524 {210374|5609320|20559884}",
    "   running:     130  0.39s 7128243 {12602631|65267059|181727409}",
    "  runnable:     129  0.02s 464455 {210729|6994205|17960940}",
    "     preempt:     129  0.02s 464455 {210729|6994205|17960940}",
    "   running:      18  0.18s 24322751 {29510424|29555959|147377495}",
    "  runnable:      17  0.11s 15343092 {7802823|33274729|33274729}",
    "     preempt:      17  0.11s 15343092 {7802823|33274729|33274729}",
    "   running:      31  0.38s 29659163 {13413138|67682792|193731411}",
    "  runnable:      31  0.02s 1417215 {5299056|5778895|7962636}",
    "     preempt:      31  0.02s 1417215 {5299056|5778895|7962636}",
    "   running:      29  0.38s 31429183 {13329930|87004108|222645918}",
    "  runnable:      29  0.03s 2728942 {1132580|21092392|31248703}",
    "     preempt:      29  0.03s 2728942 {1132580|21092392|31248703}",
    "   running:      31  0.33s 25895737 {13207725|253211213|253211213}",
    "  runnable:      31  0.03s 2136200 {573818|25861607|25861607}",
    "     preempt:      31  0.03s 2136200 {573818|25861607|25861607}",
    "   running:      29  0.35s 29121974 {9866834|119946321|221072964}",
    "  runnable:      28  0.01s 831370 {146421|3922461|5731252}",
    "     preempt:      28  0.01s 831370 {146421|3922461|5731252}",
};

/* The printed summary holds xenalyze's lines verbatim, in the same order. */
static void lines_equal_xenalyze(void **state)
{
    struct rtds *t = *state;
    const char *at = t->text;

    for (size_t i = 0; i < sizeof(xenalyze_lines) / sizeof(xenalyze_lines[0]); i++) {
        const char *hit = strstr(at, xenalyze_lines[i]);

        if (!hit)
            fail_msg("line %zu of xenalyze's runstates not printed (in order): \"%s\"", i,
                     xenalyze_lines[i]);
        at = hit + strlen(xenalyze_lines[i]);
    }
}

static void log_volume(void **state)
{
    struct rtds *t = *state;
    const struct xt_stats *st = xt_stats(t->r);

    assert_int_equal(st->nr_cpus, 8);
    for (uint32_t cpu = 0; cpu < 8; cpu++) {
        const struct xt_cpu_stats *c = &st->cpu[cpu];

        assert_true(c->present);
        for (unsigned k = 0; k < XT_CLASSES; k++)
            if (c->class_bytes[k] != (k == XT_CLS_SCHED ? sched_bytes[cpu] : 0))
                fail_msg("CPU %u %s: %" PRIu64 " bytes; xenalyze: %" PRIu64, cpu, xt_class_name(k),
                         c->class_bytes[k], k == XT_CLS_SCHED ? sched_bytes[cpu] : 0);
        assert_int_equal(c->bytes, sched_bytes[cpu]);
    }
    if (!strstr(t->text, xenalyze_volume))
        fail_msg("the log volume differs from xenalyze's:\n%s", t->text);
}

/* The file as a whole: 24 windows and 5706 records besides their CPU_CHANGE headers, counted
 * by a separate walk of the file; no lost records, no TSC going back, nothing cut; the span
 * xenalyze reports as "Total time: 0.42 seconds" (1,004,700,342 cycles at 2.4 GHz). */
static void whole_file(void **state)
{
    static const uint64_t records[8] = {544, 938, 1746, 695, 454, 491, 433, 405};
    struct rtds *t = *state;
    const struct xt_stats *st = xt_stats(t->r);

    assert_int_equal(st->windows, 24);
    assert_int_equal(st->records, 5706);
    assert_int_equal(st->wraps, 0);
    assert_int_equal(st->truncated_at, 0);
    for (uint32_t cpu = 0; cpu < 8; cpu++) {
        assert_int_equal(st->cpu[cpu].records, records[cpu]);
        assert_int_equal(st->cpu[cpu].lost_events, 0);
        assert_int_equal(st->cpu[cpu].out_of_order, 0);
    }
    assert_int_equal(t->s.first_tsc, 9981338238898ull);
    assert_int_equal(t->s.last_tsc, 9982342939240ull);
    assert_int_equal(t->s.records, 5706);
    assert_non_null(strstr(t->text, "Total time: 0.42 seconds (using cpu speed 2.40 GHz"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(runstates_match_xenalyze),
        cmocka_unit_test(printed_like_xenalyze),
        cmocka_unit_test(lines_equal_xenalyze),
        cmocka_unit_test(log_volume),
        cmocka_unit_test(whole_file),
    };
    return cmocka_run_group_tests(tests, rtds_setup, rtds_teardown);
}
