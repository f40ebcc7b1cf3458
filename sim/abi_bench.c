/* evsim bench abi-scaling (see abi_bench.h). The order of the work: build the list of points
 * (the sweeps), simulate each in a child (SystemC runs one simulation per process) which sends
 * back a fixed-size result, then write everything at the end, so a failed sweep leaves no
 * half-written output. */
/* realpath */
#define _XOPEN_SOURCE 700
#include <errno.h>
#include <limits.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sim/abi_bench.h"
#include "sim/bench_points.h"
#include "sim/bench_util.h"
#include "sim/evpages.h"
#include "sim/machine.h"
#include "sim/plot.h"
#include "sim/scenario.h"
#include "sim/stages.h"

#include "models/coherence.h"
#include "models/evtchn.h"

enum sweep { SW_PORTS, SW_DENSITY, SW_VCPUS, SW_DOMAINS, SW_STORM, SW_COUNT };
static const char *const sweep_names[SW_COUNT] = {"ports", "density", "vcpus", "domains", "storm"};

/* The storm role sends on a rare port once every STORM_EVERY storm sends. */
#define STORM_EVERY 16u

/* Ports each ABI can number for a 64-bit guest. */
static const unsigned abi_limit[ABI_COUNT] = {4096, 262144, 131072};

struct point {
    enum sweep sweep;
    enum scenario_abi abi;
    unsigned ports, burst, vcpus, fronts, rounds;
    bool prio;           /* storm: the rare ports at FIFO priority 0 */
    double x;            /* the sweep's x value */
    const char *density; /* density sweep: "one", "1%", "10%", "all" */
};

/* What one simulation measured (plain data: it crosses a pipe). Cycles are the profile's. */
struct result {
    int ok;          /* 1: every event arrived and the run ended cleanly */
    uint64_t events; /* events handled after the marker (e2e samples) */
    uint64_t e2e_p50, e2e_p99, e2e_mean, e2e_max;
    uint64_t setp_p50;          /* hypervisor set_pending cycles */
    double insns_per_event;     /* guest upcall instructions (scan + handler + iret) */
    double transfers_per_event; /* cache-line transfers between CPUs */
    uint64_t guest_pages;       /* pages shared with Xen: shared_info + the ABI's */
    uint64_t model_bytes;       /* the port table and the ABI's state inside the model */
    uint64_t rare_mean, rare_max, rare_events, storm_events; /* storm sweep */
    uint64_t lost_events;
    double host_seconds;
    long peak_rss_kb;
};

/* ---- the points ---- */

struct plan {
    struct point *p;
    unsigned n, cap;
};

static int plan_add(struct plan *pl, struct point pt)
{
    if (pl->n == pl->cap) {
        unsigned cap = pl->cap ? 2 * pl->cap : 64;
        struct point *p = realloc(pl->p, cap * sizeof(*p));
        if (!p)
            return -1;
        pl->p = p;
        pl->cap = cap;
    }
    pl->p[pl->n++] = pt;
    return 0;
}

/* Ports bound by the burst guest: its own plus one to signal the end of a burst, and port 0
 * is reserved: the most a 64-bit guest can bind under the ABI is its limit minus 2. */
static unsigned max_burst_ports(enum scenario_abi abi)
{
    return abi_limit[abi] - 2;
}

static int plan_ports(struct plan *pl, bool quick)
{
    static const unsigned full[] = {64, 256, 1024, 4094, 16384, 65536, 131070, 262142};
    static const unsigned small[] = {64, 1024};
    const unsigned *n = quick ? small : full;
    unsigned count = quick ? 2 : 8;
    for (int abi = 0; abi < ABI_COUNT; abi++)
        for (unsigned i = 0; i < count; i++) {
            unsigned ports = n[i] < max_burst_ports(abi) ? n[i] : max_burst_ports(abi);
            if (i > 0 && n[i - 1] >= max_burst_ports(abi))
                break;
            /* One port pending among all those bound: the density sweep varies the rest. */
            if (plan_add(pl, (struct point){SW_PORTS, abi, ports, 1, 1, 0, quick ? 2 : 5, false,
                                            ports, NULL}) < 0)
                return -1;
        }
    return 0;
}

static int plan_density(struct plan *pl, bool quick)
{
    static const char *const names[] = {"one", "1%", "10%", "all"};
    static const double frac[] = {0, 0.01, 0.10, 1.0};
    unsigned ports = quick ? 256 : max_burst_ports(ABI_2L); /* every ABI can hold these */
    for (int abi = 0; abi < ABI_COUNT; abi++)
        for (unsigned i = 0; i < 4; i++) {
            if (quick && (i == 1 || i == 2))
                continue;
            unsigned burst = i == 0 ? 1 : (unsigned)(ports * frac[i]);
            if (plan_add(pl, (struct point){SW_DENSITY, abi, ports, burst, 1, 0, quick ? 2 : 5,
                                            false, burst, names[i]}) < 0)
                return -1;
        }
    return 0;
}

static int plan_vcpus(struct plan *pl, bool quick)
{
    static const unsigned full[] = {1, 2, 4, 8, 16, 32, 64};
    static const unsigned small[] = {1, 2};
    const unsigned *v = quick ? small : full;
    unsigned count = quick ? 2 : 7;
    for (int abi = 0; abi < ABI_COUNT; abi++)
        for (unsigned i = 0; i < count; i++)
            if (plan_add(pl, (struct point){SW_VCPUS, abi, 1024, 64, v[i], 0, quick ? 2 : 5, false,
                                            v[i], NULL}) < 0)
                return -1;
    return 0;
}

static int plan_domains(struct plan *pl, bool quick)
{
    static const unsigned full[] = {1, 10, 100, 250, 500, 1000, 4096, 16384};
    static const unsigned small[] = {1, 4};
    const unsigned *f = quick ? small : full;
    unsigned count = quick ? 2 : 8;
    /* Four Dom0 ports per frontend: 2-level stops at its limit (1,023 frontends). */
    for (int abi = 0; abi < ABI_COUNT; abi++)
        for (unsigned i = 0; i < count && 4 * f[i] < abi_limit[abi]; i++)
            if (plan_add(pl, (struct point){SW_DOMAINS, abi, 4 * f[i], 0, 1, f[i], 4, false, f[i],
                                            NULL}) < 0)
                return -1;
    return 0;
}

static int plan_storm(struct plan *pl, bool quick)
{
    for (int abi = 0; abi < ABI_COUNT; abi++)
        for (int prio = 0; prio <= (abi == ABI_FIFO); prio++)
            if (plan_add(pl, (struct point){SW_STORM, abi, 64, 0, 2, 0, quick ? 400 : 4000,
                                            prio != 0, abi, NULL}) < 0)
                return -1;
    return 0;
}

static int plan_build(struct plan *pl, bool quick)
{
    int (*const sweeps[SW_COUNT])(struct plan *, bool) = {plan_ports, plan_density, plan_vcpus,
                                                          plan_domains, plan_storm};
    for (unsigned s = 0; s < SW_COUNT; s++)
        if (sweeps[s](pl, quick) < 0)
            return -1;
    return 0;
}

/* ---- one simulation ---- */

static void add_guest(struct scenario *sc, const struct point *pt, const char *cmdline,
                      unsigned vcpus, unsigned memory_mb, struct diag *d, int *rc)
{
    if (*rc == 0 && scenario_add_guest(sc, "abiscale", cmdline, d) < 0)
        *rc = -1;
    if (*rc == 0) {
        struct scenario_domain *dom = &sc->dom[sc->nr_dom - 1];
        dom->vcpus = vcpus;
        dom->abi = pt->abi;
        dom->memory_bytes = (uint64_t)memory_mb << 20;
        dom->max_evtchn_port = abi_limit[pt->abi] - 1;
    }
}

static int point_scenario(struct scenario *sc, const struct point *pt, struct diag *d)
{
    char cmd[256];
    int rc = 0;
    scenario_defaults(sc);
    snprintf(sc->source, sizeof(sc->source), "bench abi-scaling");
    sc->run_ns = 2000000000ull; /* an upper bound: the guests power off when done */
    switch (pt->sweep) {
    case SW_STORM:
        snprintf(cmd, sizeof(cmd), "role=storm ports=%u vcpus=2 rounds=%u every=%u prio=%d",
                 pt->ports, pt->rounds, STORM_EVERY, pt->prio);
        sc->pcpus = 2;
        add_guest(sc, pt, cmd, 2, 8, d, &rc);
        break;
    case SW_DOMAINS:
        snprintf(cmd, sizeof(cmd), "role=back fronts=%u rounds=%u", pt->fronts, pt->rounds);
        sc->pcpus = 2;
        add_guest(sc, pt, cmd, 1, 8, d, &rc);
        sc->dom[0].privileged = true;
        /* Requests spread over an interval that grows with the frontends (40 us of Dom0 work
         * each), so the sweep measures Dom0's event path with many ports, not a queue. */
        snprintf(cmd, sizeof(cmd), "role=front rounds=%u interval=%u", pt->rounds,
                 200000u + 40000u * pt->fronts);
        /* Past 12,000 frontends the rounds outlast the default bound. */
        sc->run_ns += (uint64_t)pt->rounds * (200000u + 40000u * pt->fronts);
        for (unsigned i = 0; i < pt->fronts; i++)
            add_guest(sc, pt, cmd, 1, 2, d, &rc);
        break;
    default:
        snprintf(cmd, sizeof(cmd), "ports=%u burst=%u vcpus=%u rounds=%u", pt->ports, pt->burst,
                 pt->vcpus, pt->rounds);
        sc->pcpus = pt->vcpus;
        add_guest(sc, pt, cmd, pt->vcpus, 16, d, &rc);
        break;
    }
    return rc;
}

/* The domains sweep's last FIFO point with at most `fronts` frontends (quick: its last). */
static int domains_fifo_scenario(struct scenario *sc, bool quick, unsigned fronts, struct diag *d)
{
    struct plan pl = {0};
    const struct point *last = NULL;
    int rc;
    if (plan_domains(&pl, quick) < 0) {
        free(pl.p);
        return diag_set(d, "out of memory");
    }
    for (unsigned i = 0; i < pl.n; i++)
        if (pl.p[i].abi == ABI_FIFO && (quick || pl.p[i].fronts <= fronts))
            last = &pl.p[i];
    rc = point_scenario(sc, last, d);
    free(pl.p);
    return rc;
}

int abi_bench_trace_scenario(struct scenario *sc, bool quick, struct diag *d)
{
    return domains_fifo_scenario(sc, quick, ABI_BENCH_TRACE_FRONTENDS, d);
}

int abi_bench_largest_scenario(struct scenario *sc, bool quick, struct diag *d)
{
    return domains_fifo_scenario(sc, quick, UINT32_MAX, d);
}

/* Counters at the "abiscale: measuring" line, so set-up work is not counted. */
struct watch {
    struct machine *m;
    bool marked;
    uint64_t transfers, upcall_insns;
    /* Samples per port of domain 0 at the marker (end to end, then each stage): only later
     * ones are measured. */
    size_t *at;
    uint32_t nr_at;
};

#define SAMPLE_KINDS (ST_COUNT + 1) /* the stages, then end to end at index ST_COUNT */

static const struct samples *port_samples(const struct stage_domain *sd, uint32_t p, int k)
{
    return k == ST_COUNT ? &sd->port[p].e2e : &sd->port[p].stage[k];
}

static void snapshot_samples(struct watch *w, const struct stage_domain *sd)
{
    w->at = calloc((size_t)sd->nr_ports * SAMPLE_KINDS + 1, sizeof(*w->at));
    if (!w->at)
        return;
    w->nr_at = sd->nr_ports;
    for (uint32_t p = 0; p < sd->nr_ports; p++)
        for (int k = 0; k < SAMPLE_KINDS; k++)
            w->at[(size_t)p * SAMPLE_KINDS + k] = port_samples(sd, p, k)->n;
}

static uint64_t coherence_transfers(const struct machine *m)
{
    const struct coh_stats *s = coherence_stats(m->coh);
    return s->from[COH_SOCKET] + s->from[COH_REMOTE];
}

static uint64_t domain_upcall_insns(const struct sim_domain *sd)
{
    uint64_t n = 0;
    for (unsigned i = 0; i < sd->nr_vcpus; i++)
        n += sd->vcpu[i].upcall_insns;
    return n;
}

static void watch_line(void *ctx, struct sim_domain *sd, const char *line)
{
    struct watch *w = ctx;
    if (w->marked || sd != &w->m->dom[0] || strcmp(line, "abiscale: measuring") != 0)
        return;
    w->marked = true;
    w->transfers = coherence_transfers(w->m);
    w->upcall_insns = domain_upcall_insns(sd);
    snapshot_samples(w, &sd->stages);
}

/* The samples taken since the marker of a stage (or end to end, k = ST_COUNT) over the ports of
 * domain 0, optionally only one port (only >= 0) or all but one (skip >= 0). */
static void gather(const struct stage_domain *sd, const struct watch *w, int k, int64_t only,
                   int64_t skip, struct samples *out)
{
    for (uint32_t p = 0; p < sd->nr_ports; p++) {
        if ((only >= 0 && p != only) || (skip >= 0 && p == skip))
            continue;
        const struct samples *s = port_samples(sd, p, k);
        size_t from = p < w->nr_at ? w->at[(size_t)p * SAMPLE_KINDS + k] : 0;
        for (size_t i = from; i < s->n; i++)
            samples_add(out, s->v[i]);
    }
}

static uint64_t port_table_bytes(const struct domain *d)
{
    uint64_t buckets = (d->valid_evtchns + EVTCHNS_PER_BUCKET - 1) / EVTCHNS_PER_BUCKET;
    uint64_t groups = 0;
    for (unsigned g = 0; g < NR_EVTCHN_GROUPS; g++)
        groups += d->evtchn_group[g] != NULL;
    return buckets * EVTCHNS_PER_BUCKET * sizeof(struct evtchn) +
           groups * BUCKETS_PER_GROUP * sizeof(struct evtchn *);
}

static uint64_t abi_guest_pages(const struct sim_domain *sd)
{
    uint64_t n = 1; /* shared_info */
    for (unsigned i = 0; i < sd->nr_evpage; i++)
        n += !sd->evpage[i].released;
    return n;
}

/* The port numbers of the abiscale guest (it binds in this order, lowest free port first): in
 * the burst role port 1 only signals the end of a burst; in the storm role port 1 is the storm
 * and the rest are the rare ports; the backend's ports are all requests. */
static int64_t signal_port(const struct point *pt)
{
    return pt->sweep == SW_STORM || pt->sweep == SW_DOMAINS ? -1 : 1;
}

static void measure_storm(const struct stage_domain *sd, const struct watch *w, struct result *r)
{
    struct samples rare = {0}, storm = {0};
    gather(sd, w, ST_COUNT, -1, 1, &rare);
    gather(sd, w, ST_COUNT, 1, -1, &storm);
    struct distribution dr = samples_distribution(&rare);
    r->rare_mean = dr.mean, r->rare_max = dr.max, r->rare_events = dr.count;
    r->storm_events = storm.n;
    samples_free(&rare);
    samples_free(&storm);
}

/* Per-event figures divide by every event domain 0 handled after the marker. Cache-line
 * transfers are the whole machine's: in the domains sweep they include the frontends taking
 * the responses, so there they are per request and response. */
static void measure(struct machine *m, const struct point *pt, const struct watch *w,
                    struct result *r)
{
    struct sim_domain *sd = &m->dom[0];
    struct samples e2e = {0}, setp = {0};
    gather(&sd->stages, w, ST_COUNT, -1, signal_port(pt), &e2e);
    gather(&sd->stages, w, ST_SET_PENDING, -1, signal_port(pt), &setp);
    struct distribution de = samples_distribution(&e2e), ds = samples_distribution(&setp);
    r->events = de.count;
    r->e2e_p50 = de.p50, r->e2e_p99 = de.p99, r->e2e_mean = de.mean, r->e2e_max = de.max;
    r->setp_p50 = ds.p50;
    if (de.count) {
        r->insns_per_event = (double)(domain_upcall_insns(sd) - w->upcall_insns) / de.count;
        r->transfers_per_event = (double)(coherence_transfers(m) - w->transfers) / de.count;
    }
    r->guest_pages = abi_guest_pages(sd);
    r->model_bytes = port_table_bytes(sd->d) + evtchn_abi_model_bytes(sd->d);
    r->lost_events = evtchn_abi_lost_events(sd->d);
    if (pt->sweep == SW_STORM)
        measure_storm(&sd->stages, w, r);
    samples_free(&e2e);
    samples_free(&setp);
}

static void simulate(const struct point *pt, const char *guest_dir, struct result *r)
{
    struct scenario *sc = calloc(1, sizeof(*sc));
    struct machine *m = calloc(1, sizeof(*m));
    FILE *out = fopen("/dev/null", "w");
    struct diag d;
    struct watch w = {.m = m};
    if (!sc || !m || !out)
        goto done;
    if (point_scenario(sc, pt, &d) < 0 || machine_build(m, sc, guest_dir, out, &d) < 0) {
        fprintf(stderr, "evsim: bench abi-scaling: %s\n", d.msg);
        goto done;
    }
    m->on_line = watch_line;
    m->on_line_ctx = &w;
    machine_run(m);
    r->ok = w.marked && machine_exit_status(m) == 0 && m->end == END_ALL_STOPPED;
    measure(m, pt, &w, r);
    /* Every rare send of the storm must have been handled (they never coalesce: one in flight). */
    if (pt->sweep == SW_STORM && r->rare_events != pt->rounds / STORM_EVERY)
        r->ok = 0;
    free(w.at);
done:
    if (m)
        machine_free(m);
    if (out)
        fclose(out);
    free(m);
    free(sc);
}

/* The study as bench_points runs it: point i of the plan, simulated in a child. */
struct study_ctx {
    const struct plan *pl;
    const char *guest_dir;
    const struct abi_bench_opts *o;
    long peak;
    int failed;
    double point_seconds; /* the points' own host time, summed */
};

static void simulate_nth(unsigned i, const void *arg, void *out)
{
    const struct study_ctx *c = arg;
    simulate(&c->pl->p[i], c->guest_dir, out);
}

/* ---- output ---- */

/* Output files: a failure is reported on stderr (the run's results are lost either way). */
static FILE *open_out(const char *dir, const char *name)
{
    return bench_open_out("bench abi-scaling", dir, name);
}

static const char *const data_columns =
    "# x ports burst vcpus fronts events e2e_p50 e2e_p99 e2e_mean e2e_max set_pending_p50 "
    "insns_per_event transfers_per_event guest_pages model_bytes ok";

static void write_row(FILE *f, const struct point *p, const struct result *r)
{
    fprintf(f,
            "%g %u %u %u %u %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64
            " %.1f %.2f %" PRIu64 " %" PRIu64 " %d\n",
            p->x, p->ports, p->burst, p->vcpus, p->fronts, r->events, r->e2e_p50, r->e2e_p99,
            r->e2e_mean, r->e2e_max, r->setp_p50, r->insns_per_event, r->transfers_per_event,
            r->guest_pages, r->model_bytes, r->ok);
}

/* One data file per sweep; one gnuplot index (block) per ABI. */
static int write_sweep_data(const char *dir, enum sweep s, const struct plan *pl,
                            const struct result *res)
{
    char name[64];
    snprintf(name, sizeof(name), "%s.dat", sweep_names[s]);
    FILE *f = open_out(dir, name);
    if (!f)
        return -1;
    fprintf(f, "# evsim bench abi-scaling: the %s sweep (cycles of the profile)\n%s\n",
            sweep_names[s], data_columns);
    for (int abi = 0; abi < ABI_COUNT; abi++) {
        fprintf(f, "%s# abi %s\n", abi ? "\n\n" : "", scenario_abi_names[abi]);
        for (unsigned i = 0; i < pl->n; i++)
            if (pl->p[i].sweep == s && pl->p[i].abi == (enum scenario_abi)abi && !pl->p[i].prio)
                write_row(f, &pl->p[i], &res[i]);
    }
    return fclose(f) == 0 ? 0 : -1;
}

static int write_storm_data(const char *dir, const struct plan *pl, const struct result *res)
{
    FILE *f = open_out(dir, "storm.dat");
    if (!f)
        return -1;
    fprintf(f, "# evsim bench abi-scaling: rare ports under a one-port storm (cycles)\n"
               "# case rare_mean rare_max rare_events storm_events\n");
    for (unsigned i = 0; i < pl->n; i++) {
        const struct point *p = &pl->p[i];
        if (p->sweep != SW_STORM)
            continue;
        fprintf(f, "\"%s%s\" %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 "\n",
                scenario_abi_names[p->abi], p->prio ? " prio 0" : "", res[i].rare_mean,
                res[i].rare_max, res[i].rare_events, res[i].storm_events);
    }
    return fclose(f) == 0 ? 0 : -1;
}

static void json_point(FILE *f, const struct point *p, const struct result *r, bool last)
{
    fprintf(f,
            "    {\"sweep\": \"%s\", \"abi\": \"%s\", \"ports\": %u, \"burst\": %u, \"vcpus\": %u, "
            "\"fronts\": %u, \"rounds\": %u, \"prio\": %s, \"ok\": %s, \"events\": %" PRIu64
            ", \"e2e_cycles\": {\"p50\": %" PRIu64 ", \"p99\": %" PRIu64 ", \"mean\": %" PRIu64
            ", \"max\": %" PRIu64 "}, \"set_pending_p50\": %" PRIu64
            ", \"insns_per_event\": %.1f, \"transfers_per_event\": %.2f, \"guest_pages\": %" PRIu64
            ", \"model_bytes\": %" PRIu64 ", \"lost_events\": %" PRIu64
            ", \"rare\": {\"mean\": %" PRIu64 ", \"max\": %" PRIu64 ", \"events\": %" PRIu64
            "}, \"storm_events\": %" PRIu64 "}%s\n",
            sweep_names[p->sweep], scenario_abi_names[p->abi], p->ports, p->burst, p->vcpus,
            p->fronts, p->rounds, p->prio ? "true" : "false", r->ok ? "true" : "false", r->events,
            r->e2e_p50, r->e2e_p99, r->e2e_mean, r->e2e_max, r->setp_p50, r->insns_per_event,
            r->transfers_per_event, r->guest_pages, r->model_bytes, r->lost_events, r->rare_mean,
            r->rare_max, r->rare_events, r->storm_events, last ? "" : ",");
}

static int write_json(const char *dir, const struct plan *pl, const struct result *res,
                      bool partial)
{
    FILE *f = open_out(dir, "results.json");
    if (!f)
        return -1;
    fprintf(f, "{\n  \"benchmark\": \"abi-scaling\",\n%s  \"points\": [\n",
            partial ? "  \"partial\": true,\n" : "");
    for (unsigned i = 0; i < pl->n; i++)
        json_point(f, &pl->p[i], &res[i], i + 1 == pl->n);
    fprintf(f, "  ]\n}\n");
    return fclose(f) == 0 ? 0 : -1;
}

/* A line plot of one column against x for every ABI. */
static void gp_lines(FILE *f, unsigned term, const char *name, const char *title,
                     const char *xlabel, const char *ylabel, bool logx, bool logy, const char *data,
                     const char *ycol)
{
    plot_begin(f, term, name);
    fprintf(f, "set title '%s'\nset xlabel '%s'\nset ylabel '%s'\nset grid\nset key top left\n",
            title, xlabel, ylabel);
    if (logx)
        fprintf(f, "set logscale x 2\n");
    if (logy)
        fprintf(f, "set logscale y 10\n");
    fprintf(f, "plot ");
    for (int abi = 0; abi < ABI_COUNT; abi++)
        fprintf(f, "%s'%s' index %d using 1:%s with linespoints lw 2 title '%s'",
                abi ? ", \\\n     " : "", data, abi, ycol, scenario_abi_names[abi]);
    fprintf(f, "\n");
}

struct plot_def {
    const char *name, *title, *xlabel, *ylabel, *data, *ycol;
    bool logx, logy;
};

static const struct plot_def plot_defs[] = {
    {"ports_latency", "Send to handler p50, one port pending", "ports bound", "cycles", "ports.dat",
     "7", true, false},
    {"ports_latency_p99", "Send to handler p99, one port pending", "ports bound", "cycles",
     "ports.dat", "8", true, false},
    {"ports_scan", "Guest upcall instructions per delivered event", "ports bound", "instructions",
     "ports.dat", "12", true, false},
    {"ports_transfers", "Cache-line transfers per delivered event", "ports bound", "lines",
     "ports.dat", "13", true, false},
    {"ports_set_pending", "Hypervisor set_pending, p50", "ports bound", "cycles", "ports.dat", "11",
     true, false},
    {"ports_memory", "Model memory per domain (port table and ABI state)", "ports bound", "bytes",
     "ports.dat", "15", true, true},
    {"ports_guest_pages", "Guest pages shared with Xen", "ports bound", "pages", "ports.dat", "14",
     true, false},
    {"density_latency", "Send to handler p50 by events pending per burst (4094 ports)",
     "events per burst", "cycles", "density.dat", "7", true, false},
    {"density_scan", "Upcall instructions per event by events pending per burst",
     "events per burst", "instructions", "density.dat", "12", true, false},
    {"vcpus_latency", "Send to handler p50 by vcpus (1024 ports, 64 per burst)", "vcpus", "cycles",
     "vcpus.dat", "7", true, false},
    {"vcpus_transfers", "Cache-line transfers per event by vcpus", "vcpus", "lines", "vcpus.dat",
     "13", true, false},
    {"domains_latency", "Dom0 send to handler p50, four ports per frontend", "frontends", "cycles",
     "domains.dat", "7", true, false},
    {"domains_scan", "Dom0 upcall instructions per event", "frontends", "instructions",
     "domains.dat", "12", true, false},
};
#define NR_PLOTS (sizeof(plot_defs) / sizeof(plot_defs[0]))

static void gp_storm(FILE *f, unsigned term)
{
    plot_begin(f, term, "storm");
    fprintf(f, "set title 'Rare ports under a one-port storm: wait from send to handler'\n"
               "set ylabel 'cycles'\nset yrange [0:*]\nset style data histograms\n"
               "set style histogram cluster\n"
               "set style fill solid 0.8 border -1\nset grid ytics\nset key top left\n"
               "plot 'storm.dat' using 2:xtic(1) title 'mean', '' using 3 title 'worst'\n");
}

static int write_plots(const char *dir)
{
    FILE *f = open_out(dir, "plots.gp");
    if (!f)
        return -1;
    /* No path: the folder may be a checkout others clone elsewhere. */
    fprintf(f, "# Written by evsim bench abi-scaling; redraw with `gnuplot plots.gp` in this "
               "folder\n");
    for (unsigned t = 0; t < PLOT_TERMS; t++) {
        for (unsigned i = 0; i < NR_PLOTS; i++) {
            const struct plot_def *p = &plot_defs[i];
            gp_lines(f, t, p->name, p->title, p->xlabel, p->ylabel, p->logx, p->logy, p->data,
                     p->ycol);
        }
        gp_storm(f, t);
    }
    if (fclose(f) != 0)
        return -1;
    struct diag d;
    if (plot_run_gnuplot(dir, &d) < 0) {
        fprintf(stderr, "evsim: bench abi-scaling: %s\n", d.msg);
        return -1;
    }
    return 0;
}

/* ---- docs/abi-scaling.md: every number below comes from the results of this run ---- */

static const struct result *find(const struct point *p, const struct result *r, unsigned n,
                                 enum sweep s, enum scenario_abi abi, double x, bool prio)
{
    for (unsigned i = 0; i < n; i++)
        if (p[i].sweep == s && p[i].abi == abi && p[i].x == x && p[i].prio == prio)
            return &r[i];
    return NULL;
}

/* The last point of a sweep for an ABI (its largest). */
static const struct point *last_point(const struct point *p, unsigned n, enum sweep s,
                                      enum scenario_abi abi, const struct result *r,
                                      const struct result **out)
{
    const struct point *best = NULL;
    for (unsigned i = 0; i < n; i++)
        if (p[i].sweep == s && p[i].abi == abi && r[i].ok) {
            best = &p[i];
            *out = &r[i];
        }
    return best;
}

static void doc_table(FILE *f, const struct point *p, const struct result *r, unsigned n,
                      enum sweep s, const char *xname)
{
    fprintf(f,
            "| ABI | %s | events | p50 | p99 | set_pending p50 | insns/event | "
            "lines/event | guest pages | model bytes |\n"
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
            xname);
    for (unsigned i = 0; i < n; i++) {
        if (p[i].sweep != s)
            continue;
        char x[32];
        if (p[i].density)
            snprintf(x, sizeof(x), "%s (%u)", p[i].density, p[i].burst);
        else
            snprintf(x, sizeof(x), "%g", p[i].x);
        fprintf(f,
                "| %s | %s | %" PRIu64 " | %" PRIu64 " | %" PRIu64 " | %" PRIu64
                " | %.1f | %.2f | %" PRIu64 " | %" PRIu64 " |%s\n",
                scenario_abi_names[p[i].abi], x, r[i].events, r[i].e2e_p50, r[i].e2e_p99,
                r[i].setp_p50, r[i].insns_per_event, r[i].transfers_per_event, r[i].guest_pages,
                r[i].model_bytes, r[i].ok ? "" : " failed |");
    }
    fprintf(f, "\n");
}

static void doc_plot(FILE *f, const char *rel, const char *name, const char *alt)
{
    fprintf(f, "![%s](%s/%s.png) ([SVG](%s/%s.svg))\n\n", alt, rel, name, rel, name);
}

static void doc_findings(FILE *f, const struct point *p, const struct result *r, unsigned n)
{
    fprintf(f, "## What the numbers say\n\n");
    fprintf(f, "**Largest configuration.** The biggest port count each ABI bound and delivered "
               "events on in this run:");
    for (int abi = 0; abi < ABI_COUNT; abi++) {
        const struct result *lr = NULL;
        const struct point *lp = last_point(p, n, SW_PORTS, abi, r, &lr);
        fprintf(f, "%s %s %u ports", abi ? (abi + 1 == ABI_COUNT ? " and" : ",") : "",
                scenario_abi_names[abi], lp ? lp->ports : 0);
        if (lp && lr)
            fprintf(f,
                    " (p50 %" PRIu64 " cycles, %.1f upcall instructions per event, %" PRIu64
                    " guest pages, %" PRIu64 " model bytes)",
                    lr->e2e_p50, lr->insns_per_event, lr->guest_pages, lr->model_bytes);
    }
    fprintf(f, ". The limits are the ABIs' own (4,096, 262,144 and 131,072 port numbers for a "
               "64-bit guest), less port 0 and the benchmark's own signalling port.\n\n");

    double common = 0;
    for (unsigned i = 0; i < n; i++)
        if (p[i].sweep == SW_PORTS && p[i].abi == ABI_2L && r[i].ok && p[i].x > common)
            common = p[i].x;
    const struct result *a = find(p, r, n, SW_PORTS, ABI_2L, common, false);
    const struct result *b = find(p, r, n, SW_PORTS, ABI_3L, common, false);
    const struct result *c = find(p, r, n, SW_PORTS, ABI_FIFO, common, false);
    if (a && b && c)
        fprintf(f,
                "**Same ports, three ABIs.** At %g ports (2-level's largest) with one "
                "pending, send to handler p50 is %" PRIu64 " cycles on 2-level, %" PRIu64
                " on 3-level and %" PRIu64 " on FIFO; the guest's upcall runs %.1f, %.1f and "
                "%.1f instructions per event and moves %.2f, %.2f and %.2f cache lines per "
                "event between CPUs.\n\n",
                common, a->e2e_p50, b->e2e_p50, c->e2e_p50, a->insns_per_event, b->insns_per_event,
                c->insns_per_event, a->transfers_per_event, b->transfers_per_event,
                c->transfers_per_event);

    const struct result *sr[ABI_COUNT], *prio = find(p, r, n, SW_STORM, ABI_FIFO, ABI_FIFO, true);
    for (int abi = 0; abi < ABI_COUNT; abi++)
        sr[abi] = find(p, r, n, SW_STORM, abi, abi, false);
    if (sr[0] && sr[1] && sr[2]) {
        fprintf(f,
                "**Fairness under a storm.** With one port firing continuously and 63 rare "
                "ports firing once every %u storm sends, a rare port waits %" PRIu64
                " cycles on average (worst %" PRIu64 ") on 2-level, %" PRIu64 " (worst %" PRIu64
                ") on 3-level and %" PRIu64 " (worst %" PRIu64 ") on FIFO.",
                STORM_EVERY, sr[0]->rare_mean, sr[0]->rare_max, sr[1]->rare_mean, sr[1]->rare_max,
                sr[2]->rare_mean, sr[2]->rare_max);
        if (prio)
            fprintf(f,
                    " Giving the rare ports FIFO priority 0 (the storm keeps 7) makes it %" PRIu64
                    " on average, worst %" PRIu64 ".",
                    prio->rare_mean, prio->rare_max);
        fprintf(f, "\n\n");
    }

    double most = 0, most2 = 0;
    for (unsigned i = 0; i < n; i++)
        if (p[i].sweep == SW_DOMAINS && r[i].ok) {
            most = p[i].x > most ? p[i].x : most;
            most2 = p[i].abi == ABI_2L && p[i].x > most2 ? p[i].x : most2;
        }
    const struct result *d2 = find(p, r, n, SW_DOMAINS, ABI_2L, most2, false);
    const struct result *d23 = find(p, r, n, SW_DOMAINS, ABI_3L, most2, false);
    const struct result *d2f = find(p, r, n, SW_DOMAINS, ABI_FIFO, most2, false);
    const struct result *d3 = find(p, r, n, SW_DOMAINS, ABI_3L, most, false);
    const struct result *df = find(p, r, n, SW_DOMAINS, ABI_FIFO, most, false);
    if (d2 && d23 && d2f) {
        fprintf(f,
                "**The Dom0 problem.** With %g frontends holding four ports each to Dom0 "
                "(%g Dom0 ports), Dom0's send-to-handler p50 is %" PRIu64 " cycles on "
                "2-level, %" PRIu64 " on 3-level and %" PRIu64 " on FIFO. 2-level stops there: "
                "a 64-bit Dom0 has 4,096 ports, 1,023 such guests.",
                most2, 4 * most2, d2->e2e_p50, d23->e2e_p50, d2f->e2e_p50);
        if (d3 && df && most > most2)
            fprintf(f,
                    " 3-level and FIFO go on (to 65,535 and 32,767 such guests): measured with "
                    "%g frontends (%g Dom0 ports) in one run, the p50 is %" PRIu64
                    " cycles on 3-level and %" PRIu64 " on FIFO.",
                    most, 4 * most, d3->e2e_p50, df->e2e_p50);
        fprintf(f, "\n\n");
    }

    const struct result *s3 = find(p, r, n, SW_PORTS, ABI_3L, 64, false);
    const struct result *sf = find(p, r, n, SW_PORTS, ABI_FIFO, 64, false);
    const struct result *lf = NULL;
    const struct point *lfp = last_point(p, n, SW_PORTS, ABI_FIFO, r, &lf);
    const struct result *v3 = NULL, *vf = NULL;
    const struct point *v3p = last_point(p, n, SW_VCPUS, ABI_3L, r, &v3);
    const struct point *vfp = last_point(p, n, SW_VCPUS, ABI_FIFO, r, &vf);
    fprintf(f,
            "**Why FIFO won (xen-devel, 2013).** 3-level reaches more ports, but its cost is "
            "paid up front: with only 64 ports bound a 3-level domain shares %" PRIu64
            " guest pages with Xen where a FIFO one shares %" PRIu64,
            s3 ? s3->guest_pages : 0, sf ? sf->guest_pages : 0);
    if (v3p && vfp)
        fprintf(f, " (%" PRIu64 " and %" PRIu64 " at %u vcpus)", v3->guest_pages, vf->guest_pages,
                v3p->vcpus);
    if (lfp)
        fprintf(f, "; FIFO grows with the ports it uses, to %" PRIu64 " pages at %u ports",
                lf->guest_pages, lfp->ports);
    fprintf(f, ". 3-level keeps 2-level's bit-scan order; FIFO delivers in arrival order within "
               "a priority and has priorities");
    if (sr[2] && prio && sr[2]->rare_mean)
        fprintf(f, ", which cut the rare ports' mean wait under the storm by %.0f%%",
                100.0 * ((double)sr[2]->rare_mean - (double)prio->rare_mean) /
                    (double)sr[2]->rare_mean);
    fprintf(f, ". Xen 4.4 took FIFO.\n\n");
}

/* One section per sweep: its plots, then its table. */
struct doc_section {
    const char *heading;
    enum sweep sweep;
    const char *xname;
    const char *plots[4][2]; /* {plot name, alt text}, up to 4 */
};

static const struct doc_section doc_sections[] = {
    {"Ports bound (one of them pending at a time)",
     SW_PORTS,
     "ports",
     {{"ports_latency", "send to handler p50 by ports"},
      {"ports_scan", "upcall instructions per event by ports"},
      {"ports_memory", "model memory by ports"},
      {"ports_guest_pages", "guest pages by ports"}}},
    {"Pending density",
     SW_DENSITY,
     "pending",
     {{"density_latency", "p50 by density"},
      {"density_scan", "instructions per event by density"}}},
    {"Vcpus per domain",
     SW_VCPUS,
     "vcpus",
     {{"vcpus_latency", "p50 by vcpus"}, {"vcpus_transfers", "line transfers by vcpus"}}},
    {"Domains with four ports each to a Dom0 backend",
     SW_DOMAINS,
     "frontends",
     {{"domains_latency", "Dom0 p50 by frontends"},
      {"domains_scan", "Dom0 instructions per event by frontends"}}},
};

static void doc_section(FILE *f, const char *rel, const struct doc_section *sec,
                        const struct point *p, const struct result *r, unsigned n)
{
    fprintf(f, "## %s\n\n", sec->heading);
    for (unsigned k = 0; k < 4 && sec->plots[k][0]; k++)
        doc_plot(f, rel, sec->plots[k][0], sec->plots[k][1]);
    doc_table(f, p, r, n, sec->sweep, sec->xname);
}

static int abi_bench_write_doc(const char *path, const struct point *p, const struct result *r,
                               unsigned n, const char *out_dir, double seconds, long peak_kb)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "evsim: bench abi-scaling: cannot write %s: %s\n", path, strerror(errno));
        return -1;
    }
    /* Next to each other in the source tree the links are relative, so they work on a forge. */
    char abs[4096];
    const char *rel = "../bench/results/abi-scaling";
    if (!strstr(out_dir, "/bench/results/abi-scaling") || !strstr(path, "/docs/abi-scaling.md"))
        rel = realpath(out_dir, abs) ? abs : out_dir;
    fprintf(f,
            "# The event-channel ABIs as they scale\n\n"
            "<!-- Written by `evsim bench abi-scaling`; do not edit: rerun it. -->\n\n"
            "How do the 2-level, 3-level and FIFO event-channel ABIs behave as ports, vcpus "
            "and domains grow, and why did Xen take FIFO over 3-level? Every number here comes "
            "from `bench/results/abi-scaling/` (data files, `results.json`, gnuplot script), "
            "written together with this page by one command:\n\n"
            "    build/sim/evsim bench abi-scaling\n\n"
            "The run took %.0f s on this machine; the largest point used %ld MiB. Each point "
            "is a simulation of the `abiscale` guest (guests/abiscale.c) under the default "
            "profile: real guest code binds the ports, the model of Xen raises the events, and "
            "the guest's own upcall code (guests/rt/) scans for them. Cycles are send-to-handler "
            "cycles of the profile's CPU: from the sender's trap to the moment the receiver's "
            "upcall code clears the port's pending bit. `insns/event` counts guest instructions "
            "from the event callback to HYPERVISOR_iret per delivered event; `lines/event` the "
            "cache-line transfers between CPUs the coherence model charged, per event (the "
            "whole machine's: in the domains sweep they include the frontends taking the "
            "responses). Only what happens after the guest prints `abiscale: measuring` counts, "
            "not binding the ports; the burst role's own signalling port is left out. "
            "`set_pending p50` is Xen's side of raising one event, priced from what the ABI's "
            "code does: the profile's `port_op` for the operation, then `xen_read`, `xen_write` "
            "or `xen_locked` for every access it makes to the pages it shares with the guest "
            "(the pending bit, the mask, the selectors, FIFO's event words, LINK, HEAD and "
            "READY), plus the coherence model's line transfer where another CPU holds the line "
            "(docs/timing.md).\n\n",
            seconds, peak_kb / 1024);
    doc_findings(f, p, r, n);
    for (size_t i = 0; i < sizeof(doc_sections) / sizeof(doc_sections[0]); i++)
        doc_section(f, rel, &doc_sections[i], p, r, n);
    fprintf(f, "## Fairness and priorities under a storm\n\n");
    doc_plot(f, rel, "storm", "rare-port waits under a storm");
    fprintf(f, "| case | rare mean | rare worst | rare events | storm events | lost |\n"
               "|---|---:|---:|---:|---:|---:|\n");
    for (unsigned i = 0; i < n; i++)
        if (p[i].sweep == SW_STORM)
            fprintf(f,
                    "| %s%s | %" PRIu64 " | %" PRIu64 " | %" PRIu64 " | %" PRIu64 " | %" PRIu64
                    " |\n",
                    scenario_abi_names[p[i].abi], p[i].prio ? ", rare ports at priority 0" : "",
                    r[i].rare_mean, r[i].rare_max, r[i].rare_events, r[i].storm_events,
                    r[i].lost_events);
    fprintf(f, "\n");
    return fclose(f) == 0 ? 0 : -1;
}

/* ---- the run ---- */

static void point_words(const struct point *p, char *buf, size_t len)
{
    snprintf(buf, len, "%-7s %-4s ports=%-6u burst=%-5u vcpus=%-2u fronts=%-5u%s",
             sweep_names[p->sweep], scenario_abi_names[p->abi], p->ports, p->burst, p->vcpus,
             p->fronts, p->prio ? " prio" : "");
    for (size_t n = strlen(buf); n > 0 && buf[n - 1] == ' '; n--)
        buf[n - 1] = '\0'; /* the columns' padding */
}

static void describe_nth(unsigned i, const void *arg, char *buf, size_t len)
{
    const struct study_ctx *c = arg;
    point_words(&c->pl->p[i], buf, len);
}

static void progress_line(const struct abi_bench_opts *o, unsigned i, unsigned n,
                          const struct point *p, const struct result *r)
{
    char what[160];
    if (!o->progress)
        return;
    point_words(p, what, sizeof(what));
    fprintf(stderr, "[%3u/%u] %s  p50=%" PRIu64 " cycles  %.1f s%s\n", i + 1, n, what, r->e2e_p50,
            r->host_seconds, r->ok ? "" : "  FAILED");
}

static void point_finished(unsigned i, void *result, double seconds, long rss_kb, void *ud)
{
    struct study_ctx *c = ud;
    struct result *r = result;
    r->host_seconds = seconds;
    r->peak_rss_kb = rss_kb;
    progress_line(c->o, i, c->pl->n, &c->pl->p[i], r);
    c->peak = rss_kb > c->peak ? rss_kb : c->peak;
    c->point_seconds += seconds;
    c->failed |= !r->ok;
}

int abi_bench_run(const struct abi_bench_opts *o)
{
    struct plan pl = {0};
    if (!o->points.plan && !o->points.list && !o->points.merge && o->points.point < 0 &&
        bench_make_dir(o->out_dir) < 0) {
        fprintf(stderr, "evsim: bench abi-scaling: cannot create %s: %s\n", o->out_dir,
                strerror(errno));
        return 2;
    }
    if (plan_build(&pl, o->quick) < 0) {
        fprintf(stderr, "evsim: bench abi-scaling: out of memory\n");
        return 1;
    }
    struct result *res = calloc(pl.n, sizeof(*res));
    if (!res) {
        free(pl.p);
        return 1;
    }
    double t0 = bench_seconds_now();
    unsigned planned = pl.n, done = 0;
    struct study_ctx c = {.pl = &pl, .guest_dir = o->guest_dir, .o = o};
    const struct bench_study study = {.name = "abi-scaling",
                                      .quick = o->quick,
                                      .n = pl.n,
                                      .result_size = sizeof(*res),
                                      .simulate = simulate_nth,
                                      .describe = describe_nth,
                                      .ctx = &c,
                                      .finished = point_finished,
                                      .ud = &c,
                                      .interrupt = o->interrupt};
    enum bench_points_outcome outcome =
        bench_points_run(&study, &o->points, o->out_dir, res, &done);
    if (outcome != BENCH_POINTS_RESULTS) {
        free(res);
        free(pl.p);
        return outcome == BENCH_POINTS_FAILED ? 2 : c.failed;
    }
    if (o->points.merge && bench_make_dir(o->out_dir) < 0) {
        fprintf(stderr, "evsim: bench abi-scaling: cannot create %s: %s\n", o->out_dir,
                strerror(errno));
        free(res);
        free(pl.p);
        return 2;
    }
    pl.n = done;
    long peak = c.peak;
    int failed = c.failed;
    bool partial = pl.n < planned;
    /* Merged from points run elsewhere: the time is theirs, summed. */
    double seconds = o->points.merge ? c.point_seconds : bench_seconds_now() - t0;
    int rc = 0;
    for (unsigned s = 0; s < SW_COUNT && rc == 0; s++)
        rc = s == SW_STORM ? write_storm_data(o->out_dir, &pl, res)
                           : write_sweep_data(o->out_dir, s, &pl, res);
    if (rc == 0)
        rc = write_json(o->out_dir, &pl, res, partial);
    /* The plots and the page describe the whole study: a partial one leaves them as they were. */
    if (rc == 0 && !partial)
        rc = write_plots(o->out_dir);
    if (rc == 0 && o->doc && !partial)
        rc = abi_bench_write_doc(o->doc, pl.p, res, pl.n, o->out_dir, seconds, peak);
    fprintf(stderr,
            "evsim: bench abi-scaling: %u points in %.1f s, peak memory of a point %ld MiB%s%s\n",
            pl.n, seconds, peak / 1024, failed ? " (some points FAILED)" : "",
            partial ? " (interrupted: the data and results.json hold the points that finished)"
                    : "");
    free(res);
    free(pl.p);
    if (rc < 0)
        return 2;
    return partial ? 128 + *o->interrupt : failed ? 1 : 0;
}
