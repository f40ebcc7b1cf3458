/* `evsim bench ioreq`: see ioreq_bench.h. */
#define _XOPEN_SOURCE 700
#include "sim/ioreq_bench.h"
#include "sim/bench_util.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sim/ioreq_rt.h"
#include "sim/machine.h"
#include "sim/plot.h"
#include "sim/profile.h"
#include "sim/scenario.h"

#define ROUNDS_FULL 200u
#define ROUNDS_QUICK 8u
#define DOC_BEGIN "<!-- evsim bench ioreq: begin -->"
#define DOC_END "<!-- evsim bench ioreq: end -->"

enum where { W_XEN, W_GUEST, W_HOST };

/* One configuration: where the device model runs and what surrounds it. */
struct point {
    const char *name;  /* in files */
    const char *label; /* in tables and plots */
    enum where where;
    bool busy, shared_cpu, other_socket, bufioreq, fifo;
    unsigned servers, ranges;
    bool oldest; /* the device's server created first: searched last */
};

/* The comparisons, each against the first guest point (the baseline). */
static const struct point points[] = {
    {"xen", "no device model (Xen's null handler)", W_XEN, 0, 0, 0, 0, 0, 1, 0, 0},
    {"guest", "device model in dom0 (guest), idle", W_GUEST, 0, 0, 0, 0, 0, 1, 0, 0},
    {"host", "device model on the host", W_HOST, 0, 0, 0, 0, 0, 1, 0, 0},
    {"busy", "dom0 device model busy (spinning)", W_GUEST, 1, 0, 0, 0, 0, 1, 0, 0},
    {"shared", "dom0 device model on the guest's CPU", W_GUEST, 0, 1, 0, 0, 0, 1, 0, 0},
    {"socket", "dom0 device model on the other socket", W_GUEST, 0, 0, 1, 0, 0, 1, 0, 0},
    {"buffered", "dom0 device model with a buffered ring", W_GUEST, 0, 0, 0, 1, 0, 1, 0, 0},
    {"servers8", "8 servers (the device's searched first)", W_GUEST, 0, 0, 0, 0, 0, 8, 0, 0},
    {"servers8last", "8 servers of 256 ranges (the device's searched last)", W_GUEST, 0, 0, 0, 0, 0,
     8, 256, 1},
    {"ranges256", "256 ranges in the device's server", W_GUEST, 0, 0, 0, 0, 0, 1, 256, 0},
    {"fifo", "dom0 device model on the FIFO ABI", W_GUEST, 0, 0, 0, 0, 1, 1, 0, 0},
};
#define NR_POINTS (sizeof(points) / sizeof(points[0]))
#define BASELINE 1u

/* What hvmdev measures (TSC cycles per access, the guest's view), what the report has. */
enum access { A_UART, A_BAR, A_MMIO, A_VGA, A_COUNT };
static const char *const access_names[A_COUNT] = {"uart inb", "bar inl", "mmio write", "vga write"};
static const char *const access_files[A_COUNT] = {"uart_inb", "bar_inl", "mmio_write", "vga_write"};

struct result {
    int ok;
    uint64_t guest[A_COUNT]; /* mean cycles as the guest timed them */
    uint64_t rt_mean, rt_p50, rt_p99, rt_max, buf_mean, requests, buffered;
    uint64_t stage[RT_STAGES];
    double host_seconds;
    long peak_rss_kb;
};

/* ---- a point's simulation --------------------------------------------------------------- */

static int point_scenario(struct scenario *sc, const struct point *p, const char *host_dm,
                          unsigned rounds, struct diag *d)
{
    char text[4096];
    int n = snprintf(text, sizeof(text),
                     "[machine]\npcpus = %u\nsockets = %u\nseed = 1\nrun_ms = 500\n\n",
                     p->shared_cpu ? 1u : 2u, p->other_socket ? 2u : 1u);
    if (p->where == W_GUEST)
        n += snprintf(text + n, sizeof(text) - (size_t)n,
                      "[domain dm]\nguest = ioemu\nprivileged = yes\npin = 0\nabi = %s\n"
                      "cmdline = target=1 vga=1 bufioreq=%d busy=%d servers=%u ranges=%u "
                      "oldest=%d\n\n",
                      p->fifo ? "fifo" : "2l", p->bufioreq, p->busy, p->servers, p->ranges,
                      p->oldest);
    else if (p->where == W_HOST)
        n += snprintf(text + n, sizeof(text) - (size_t)n,
                      "[domain dm]\ndevice_model = %s\ndevice_model_args = 1\nprivileged = "
                      "yes\n\n",
                      host_dm);
    snprintf(text + n, sizeof(text) - (size_t)n,
             "[domain hvm]\nguest = hvmdev\ntype = hvm\npin = %u\npaused = %s\n"
             "cmdline = rounds=%u vga=1%s\n",
             p->shared_cpu ? 0u : 1u, p->where == W_XEN ? "no" : "yes", rounds,
             p->where == W_XEN ? " check=0 setup=0" : "");
    return scenario_load_string(sc, p->name, text, d);
}

struct watch {
    struct result *r;
};

/* hvmdev: "<what> rounds=N mean=M min=... max=... tsc cycles" */
static void watch_line(void *ctx, struct sim_domain *sd, const char *line)
{
    struct watch *w = ctx;
    (void)sd;
    const char *at = strstr(line, "hvmdev: ");
    if (!at)
        return;
    at += 8;
    for (unsigned a = 0; a < A_COUNT; a++) {
        size_t len = strlen(access_names[a]);
        uint64_t rounds, mean;
        if (!strncmp(at, access_names[a], len) &&
            sscanf(at + len, " rounds=%" SCNu64 " mean=%" SCNu64, &rounds, &mean) == 2)
            w->r->guest[a] = mean;
    }
}

/* The server that took the device's requests: the one sent the most. */
static void measure(struct machine *m, struct result *r)
{
    struct sim_domain *hvm = &m->dom[m->nr_dom - 1];
    struct rt_server *best = NULL;
    for (unsigned i = 0; i < MAX_NR_IOREQ_SERVERS; i++) {
        struct rt_server *s = &hvm->ioreq_rt.server[i];
        if (s->used && (!best || s->synchronous > best->synchronous))
            best = s;
    }
    if (!best)
        return;
    struct distribution rt = samples_distribution(&best->round_trip);
    r->rt_mean = rt.mean, r->rt_p50 = rt.p50, r->rt_p99 = rt.p99, r->rt_max = rt.max;
    r->requests = best->synchronous;
    r->buffered = best->buffered;
    r->buf_mean = samples_distribution(&best->buffered_cost).mean;
    for (unsigned k = 0; k < RT_STAGES; k++)
        r->stage[k] = samples_distribution(&best->stage[k]).mean;
}

static void simulate(const struct point *p, const struct ioreq_bench_opts *o, unsigned rounds,
                     struct result *r)
{
    struct scenario *sc = calloc(1, sizeof(*sc));
    struct machine *m = calloc(1, sizeof(*m));
    FILE *out = fopen("/dev/null", "w");
    struct diag d;
    struct watch w = {r};
    if (!sc || !m || !out)
        goto done;
    if (point_scenario(sc, p, o->host_dm, rounds, &d) < 0 ||
        machine_build(m, sc, o->guest_dir, out, &d) < 0) {
        fprintf(stderr, "evsim: bench ioreq: %s: %s\n", p->name, d.msg);
        goto done;
    }
    m->on_line = watch_line;
    m->on_line_ctx = &w;
    machine_run(m);
    measure(m, r);
    r->ok = machine_exit_status(m) == 0 && m->end == END_ALL_STOPPED && r->guest[A_UART] &&
            r->guest[A_BAR] && r->guest[A_MMIO] && r->guest[A_VGA];
done:
    if (m && m->nr_dom)
        machine_free(m);
    if (out)
        fclose(out);
    free(m);
    free(sc);
}

/* The study as bench_points runs it: point i simulated in a child. */
struct study_ctx {
    const struct ioreq_bench_opts *o;
    unsigned rounds;
    int failed;
};

static void simulate_nth(unsigned i, const void *arg, void *out)
{
    const struct study_ctx *c = arg;
    simulate(&points[i], c->o, c->rounds, out);
}

static void describe_nth(unsigned i, const void *arg, char *buf, size_t len)
{
    (void)arg;
    snprintf(buf, len, "%s", points[i].name);
}

static void point_finished(unsigned i, void *result, double seconds, long rss_kb, void *ud)
{
    struct study_ctx *c = ud;
    struct result *r = result;
    r->host_seconds = seconds;
    r->peak_rss_kb = rss_kb;
    if (c->o->progress)
        fprintf(stderr, "[%2u/%zu] %-10s uart inb %" PRIu64 " cycles  %.1f s%s\n", i + 1, NR_POINTS,
                points[i].name, r->guest[A_UART], r->host_seconds, r->ok ? "" : "  FAILED");
    c->failed |= !r->ok;
}

/* ---- output ------------------------------------------------------------------------------ */

static FILE *open_out(const char *dir, const char *name)
{
    return bench_open_out("bench ioreq", dir, name);
}

static int write_data(const char *dir, const struct result *r, unsigned n)
{
    FILE *f = open_out(dir, "points.dat");
    if (!f)
        return -1;
    fprintf(f, "# point uart_inb bar_inl mmio_write vga_write rt_mean rt_p50 rt_p99 buf_mean");
    for (unsigned k = 0; k < RT_STAGES; k++)
        fprintf(f, " %s", rt_stage_names[k]);
    fprintf(f, "  (cycles)\n");
    for (unsigned i = 0; i < n; i++) {
        fprintf(f, "%s", points[i].name);
        for (unsigned a = 0; a < A_COUNT; a++)
            fprintf(f, " %" PRIu64, r[i].guest[a]);
        fprintf(f, " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64, r[i].rt_mean, r[i].rt_p50,
                r[i].rt_p99, r[i].buf_mean);
        for (unsigned k = 0; k < RT_STAGES; k++)
            fprintf(f, " %" PRIu64, r[i].stage[k]);
        fprintf(f, "\n");
    }
    return fclose(f) == 0 ? 0 : -1;
}

static int write_json(const char *dir, const struct result *r, unsigned n, bool partial,
                      const char *cpu)
{
    FILE *f = open_out(dir, "results.json");
    if (!f)
        return -1;
    fprintf(f,
            "{\n  \"benchmark\": \"ioreq\",\n  \"profile\": \"%s\",\n  \"partial\": %s,\n"
            "  \"unit\": \"cycles\",\n  \"points\": [\n",
            cpu, partial ? "true" : "false");
    for (unsigned i = 0; i < n; i++) {
        fprintf(f, "    {\"name\": \"%s\", \"label\": \"%s\", \"ok\": %s", points[i].name,
                points[i].label, r[i].ok ? "true" : "false");
        for (unsigned a = 0; a < A_COUNT; a++)
            fprintf(f, ", \"%s\": %" PRIu64, access_files[a], r[i].guest[a]);
        fprintf(f,
                ", \"round_trip\": {\"mean\": %" PRIu64 ", \"p50\": %" PRIu64 ", \"p99\": %" PRIu64
                ", \"max\": %" PRIu64 ", \"requests\": %" PRIu64 "}, \"buffered\": %" PRIu64
                ", \"buffered_cost\": %" PRIu64 ", \"stages\": {",
                r[i].rt_mean, r[i].rt_p50, r[i].rt_p99, r[i].rt_max, r[i].requests, r[i].buffered,
                r[i].buf_mean);
        for (unsigned k = 0; k < RT_STAGES; k++)
            fprintf(f, "%s\"%s\": %" PRIu64, k ? ", " : "", rt_stage_names[k], r[i].stage[k]);
        fprintf(f, "}}%s\n", i + 1 < n ? "," : "");
    }
    fprintf(f, "  ]\n}\n");
    return fclose(f) == 0 ? 0 : -1;
}

/* Two plots, each as PNG and SVG: the guest's view of each access per configuration, and the
 * round trip's stages per configuration (where a device model answered). */
static int write_plots(const char *dir)
{
    FILE *f = open_out(dir, "plots.gp");
    if (!f)
        return -1;
    fprintf(f, "# Written by evsim bench ioreq; redraw with `gnuplot plots.gp` in this folder\n");
    for (unsigned t = 0; t < PLOT_TERMS; t++) {
        plot_begin(f, t, "access");
        fprintf(f, "set title 'One access, as the HVM guest times it'\nset ylabel 'cycles'\n"
                   "set yrange [0:*]\nset style data histograms\nset style histogram cluster\n"
                   "set style fill solid 0.8 border -1\nset grid ytics\nset key top left\n"
                   "set xtics rotate by -30\n"
                   "plot 'points.dat' using 2:xtic(1) title 'uart inb', '' using 3 title "
                   "'bar inl', '' using 4 title 'mmio write', '' using 5 title 'vga write'\n");
        plot_begin(f, t, "stages");
        fprintf(f, "set title 'Round trip by stage (mean cycles)'\nset ylabel 'cycles'\n"
                   "set yrange [0:*]\nset style data histograms\n"
                   "set style histogram rowstacked\nset style fill solid 0.8 border -1\n"
                   "set grid ytics\nset key outside right\nset xtics rotate by -30\nplot ");
        for (unsigned k = 0; k < RT_STAGES; k++)
            fprintf(f, "%s'points.dat' using %u%s title '%s'", k ? ", " : "", 10 + k,
                    k ? "" : ":xtic(1)", rt_stage_names[k]);
        fprintf(f, "\n");
    }
    if (fclose(f) != 0)
        return -1;
    struct diag d;
    if (plot_run_gnuplot(dir, &d) < 0) {
        fprintf(stderr, "evsim: bench ioreq: %s\n", d.msg);
        return -1;
    }
    return 0;
}

/* ---- the study section of docs/ioreq.md: every number comes from this run ---------------- */

static const struct result *by_name(const struct result *r, const char *name)
{
    for (unsigned i = 0; i < NR_POINTS; i++)
        if (!strcmp(points[i].name, name))
            return &r[i];
    return NULL;
}

/* b against a, in percent. */
static long pct(uint64_t a, uint64_t b)
{
    return a ? (long)((((double)b - (double)a) * 100.0 / (double)a) + (b >= a ? 0.5 : -0.5)) : 0;
}

static void doc_table(FILE *f, const struct result *r, unsigned n, const struct cost_profile *c)
{
    fprintf(f, "| configuration | uart inb | bar inl | mmio write | vga write | round trip mean "
               "(p99) | buffered |\n|---|---|---|---|---|---|---|\n");
    for (unsigned i = 0; i < n; i++) {
        fprintf(f, "| %s |", points[i].label);
        for (unsigned a = 0; a < A_COUNT; a++)
            fprintf(f, " %" PRIu64 " (%" PRIu64 " ns) |", r[i].guest[a],
                    cost_cycles_to_ns(c, r[i].guest[a]));
        if (r[i].requests)
            fprintf(f, " %" PRIu64 " (%" PRIu64 ") |", r[i].rt_mean, r[i].rt_p99);
        else
            fprintf(f, " - |");
        fprintf(f, " %" PRIu64 " |\n", r[i].buffered);
    }
}

static void doc_stages(FILE *f, const struct result *r, unsigned n)
{
    fprintf(f, "\nMean cycles of each stage ([the stages](#the-round-trip-step-by-step)):\n\n"
               "| configuration |");
    for (unsigned k = 0; k < RT_STAGES; k++)
        fprintf(f, " %s |", rt_stage_names[k]);
    fprintf(f, "\n|---|");
    for (unsigned k = 0; k < RT_STAGES; k++)
        fprintf(f, "---|");
    fprintf(f, "\n");
    for (unsigned i = 0; i < n; i++) {
        if (!r[i].requests)
            continue;
        fprintf(f, "| %s |", points[i].label);
        for (unsigned k = 0; k < RT_STAGES; k++)
            fprintf(f, " %" PRIu64 " |", r[i].stage[k]);
        fprintf(f, "\n");
    }
}

static void doc_findings(FILE *f, const struct result *r)
{
    const struct result *xen = by_name(r, "xen"), *g = by_name(r, "guest"), *h = by_name(r, "host"),
                        *busy = by_name(r, "busy"), *sh = by_name(r, "shared"),
                        *so = by_name(r, "socket"), *buf = by_name(r, "buffered"),
                        *s8 = by_name(r, "servers8"), *s8l = by_name(r, "servers8last"),
                        *r256 = by_name(r, "ranges256"), *fifo = by_name(r, "fifo");
    uint64_t u = g->guest[A_UART];
    fprintf(f,
            "\nWhat the numbers say (UART `inb`, the guest's view, against the idle dom0 "
            "device model's %" PRIu64 " cycles):\n\n",
            u);
    fprintf(f,
            "- **Where the device model runs.** Xen's own handling (no device model: the null "
            "handler) takes %" PRIu64 " cycles, %ld%% of the round trip to dom0; a device "
            "model on the host, %" PRIu64 " (%+ld%%): its wake-up and handling are the "
            "scenario's `dm_wake_ns` and `dm_handle_ns`, not its own code.\n",
            xen->guest[A_UART], xen->guest[A_UART] * 100 / (u ? u : 1), h->guest[A_UART],
            pct(u, h->guest[A_UART]));
    fprintf(f,
            "- **A busy device model** (its vcpu spinning, so the request interrupts it "
            "instead of waking it) answers in %" PRIu64 " cycles (%+ld%%); one **sharing the "
            "guest's CPU**, in %" PRIu64 " (%+ld%%): the guest's vcpu blocks, the device "
            "model's is switched in, and back.\n",
            busy->guest[A_UART], pct(u, busy->guest[A_UART]), sh->guest[A_UART],
            pct(u, sh->guest[A_UART]));
    fprintf(f,
            "- **The other socket** costs %" PRIu64 " cycles (%+ld%%): the slot's and the "
            "event channel's cache lines cross sockets each way.\n",
            so->guest[A_UART], pct(u, so->guest[A_UART]));
    fprintf(f,
            "- **Buffered writes**: a VGA write through the ring costs the guest %" PRIu64
            " cycles, against %" PRIu64 " synchronously (%ld%%); the device model takes "
            "them later, in a batch.\n",
            buf->guest[A_VGA], g->guest[A_VGA],
            g->guest[A_VGA] ? (long)(buf->guest[A_VGA] * 100 / g->guest[A_VGA]) : 0);
    fprintf(f,
            "- **Servers and ranges**: Xen looks at the newest server first and walks each "
            "one's sorted list of ranges until a range starts beyond the address (a load per "
            "node, `xen_read`). With 8 servers the device's, the newest, is found first: "
            "%" PRIu64 " cycles (%+ld%%). Searched last, after 7 servers of 256 ranges each, "
            "the UART's ports (before every range) cost %" PRIu64 " (%+ld%%) and BAR0's (after "
            "them all) %" PRIu64 " against %" PRIu64 " (%+ld%%). With 256 ranges in its own "
            "server the UART costs %" PRIu64 " (%+ld%%) and BAR0 %" PRIu64 " (%+ld%%).\n",
            s8->guest[A_UART], pct(u, s8->guest[A_UART]), s8l->guest[A_UART],
            pct(u, s8l->guest[A_UART]), s8l->guest[A_BAR], g->guest[A_BAR],
            pct(g->guest[A_BAR], s8l->guest[A_BAR]), r256->guest[A_UART],
            pct(u, r256->guest[A_UART]), r256->guest[A_BAR],
            pct(g->guest[A_BAR], r256->guest[A_BAR]));
    fprintf(f,
            "- **The device model's ABI**: FIFO instead of 2-level gives %" PRIu64
            " cycles (%+ld%%).\n",
            fifo->guest[A_UART], pct(u, fifo->guest[A_UART]));
}

/* Rewrite the study section of the page (between its markers), keeping the rest. */
static int write_doc(const char *path, const struct result *r, unsigned n, const char *out_dir,
                     const struct cost_profile *c, double seconds)
{
    FILE *in = fopen(path, "r");
    char *page = NULL;
    size_t len = 0;
    if (in) {
        fseek(in, 0, SEEK_END);
        long sz = ftell(in);
        fseek(in, 0, SEEK_SET);
        page = calloc(1, (size_t)(sz > 0 ? sz : 0) + 1);
        if (page)
            len = fread(page, 1, (size_t)(sz > 0 ? sz : 0), in);
        fclose(in);
    }
    char *begin = page ? strstr(page, DOC_BEGIN) : NULL;
    char *end = begin ? strstr(begin, DOC_END) : NULL;
    char tmp[4096];
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f) {
        fprintf(stderr, "evsim: bench ioreq: %s: cannot write: %s\n", tmp, strerror(errno));
        free(page);
        return -1;
    }
    if (begin && end)
        fwrite(page, 1, (size_t)(begin - page), f);
    else if (page)
        fwrite(page, 1, len, f);
    /* The plots' folder as the page links it: relative to docs/. */
    const char *rel =
        strstr(out_dir, "bench/results/") ? strstr(out_dir, "bench/results/") : out_dir;
    fprintf(f, "%s\n## The study: `evsim bench ioreq`\n\n", DOC_BEGIN);
    fprintf(f,
            "Written by `evsim bench ioreq` (profile %s, %u configurations in %.0f s); "
            "every number below comes from that run. Each configuration runs "
            "`guests/hvmdev.c` against one device model: the UART and PCI function of "
            "`guests/devices.c`, in dom0 (`guests/ioemu.c`) or on the host "
            "(`bench/dm/xendm.c`). Cycles are the guest's TSC cycles per access (its own "
            "`rdtsc` before and after), ns at the profile's clock. Data, plots and "
            "`results.json` are in `%s`.\n\n",
            c->name, n, seconds, rel);
    doc_table(f, r, n, c);
    doc_stages(f, r, n);
    doc_findings(f, r);
    fprintf(f, "\n![accesses](../%s/access.svg)\n\n![stages](../%s/stages.svg)\n\n%s\n", rel, rel,
            DOC_END);
    if (begin && end)
        fputs(end + strlen(DOC_END) + (end[strlen(DOC_END)] == '\n'), f);
    free(page);
    if (fclose(f) != 0 || rename(tmp, path) != 0) {
        fprintf(stderr, "evsim: bench ioreq: %s: cannot write: %s\n", path, strerror(errno));
        return -1;
    }
    return 0;
}

/* ---- the run --------------------------------------------------------------------------- */

int ioreq_bench_run(const struct ioreq_bench_opts *o)
{
    unsigned rounds = o->quick ? ROUNDS_QUICK : ROUNDS_FULL, n = NR_POINTS;
    struct result r[NR_POINTS];
    struct cost_profile profile;
    struct diag d;
    if (!o->points.plan && !o->points.list && !o->points.merge && o->points.point < 0 &&
        bench_make_dir(o->out_dir) < 0) {
        fprintf(stderr, "evsim: bench ioreq: cannot create %s: %s\n", o->out_dir, strerror(errno));
        return 2;
    }
    if (access(o->host_dm, X_OK) != 0) {
        fprintf(stderr, "evsim: bench ioreq: the host device model %s is not built\n", o->host_dm);
        return 2;
    }
    if (profile_load(&profile, "sandy-bridge-en", ".", &d) < 0) {
        fprintf(stderr, "evsim: bench ioreq: %s\n", d.msg);
        return 2;
    }
    double t0 = bench_seconds_now();
    struct study_ctx c = {.o = o, .rounds = rounds};
    const struct bench_study study = {.name = "ioreq",
                                      .quick = o->quick,
                                      .n = NR_POINTS,
                                      .result_size = sizeof(r[0]),
                                      .simulate = simulate_nth,
                                      .describe = describe_nth,
                                      .ctx = &c,
                                      .finished = point_finished,
                                      .ud = &c,
                                      .interrupt = o->interrupt};
    enum bench_points_outcome outcome = bench_points_run(&study, &o->points, o->out_dir, r, &n);
    if (outcome != BENCH_POINTS_RESULTS)
        return outcome == BENCH_POINTS_FAILED ? 2 : c.failed;
    if (o->points.merge && bench_make_dir(o->out_dir) < 0) {
        fprintf(stderr, "evsim: bench ioreq: cannot create %s: %s\n", o->out_dir, strerror(errno));
        return 2;
    }
    int failed = c.failed;
    bool partial = n < NR_POINTS;
    double seconds = bench_seconds_now() - t0;
    int rc = write_data(o->out_dir, r, n);
    if (rc == 0)
        rc = write_json(o->out_dir, r, n, partial, profile.name);
    if (rc == 0 && !partial)
        rc = write_plots(o->out_dir);
    if (rc == 0 && o->doc && !partial && !failed)
        rc = write_doc(o->doc, r, n, o->out_dir, &profile, seconds);
    fprintf(stderr, "evsim: bench ioreq: %u configurations in %.1f s%s%s\n", n, seconds,
            failed ? " (some FAILED: the page is left as it was)" : "",
            partial ? " (interrupted: the data and results.json hold what finished)" : "");
    if (rc < 0)
        return 2;
    return partial ? 128 + *o->interrupt : failed ? 1 : 0;
}
