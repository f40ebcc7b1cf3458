#include "sim/report.h"
#include "sim/replay.h"
#include "sim/report_json.h"

#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "models/evtchn.h"
#include "models/hvm_io.h"
#include "models/hypercall.h"

/* As xl shows them: a crash shutdown and a crash Xen decided on are both "crashed". */
static const char *domain_status(const struct sim_domain *sd)
{
    static const char *const reasons[] = {
        [SHUTDOWN_poweroff] = "poweroff", [SHUTDOWN_reboot] = "reboot",
        [SHUTDOWN_suspend] = "suspend",   [SHUTDOWN_crash] = "crashed",
        [SHUTDOWN_watchdog] = "watchdog", [SHUTDOWN_soft_reset] = "soft_reset"};
    if (sd->status == SD_RUNNING)
        return "running";
    if (sd->status == SD_CRASHED)
        return "crashed";
    if (sd->shutdown_reason < sizeof(reasons) / sizeof(reasons[0]))
        return reasons[sd->shutdown_reason];
    return "shutdown";
}

static void op_name(unsigned nr, unsigned sub, char *out, size_t len)
{
    const struct hypercall_desc *h = hypercall_lookup(nr);
    if (!h) {
        snprintf(out, len, "hypercall_%u", nr);
        return;
    }
    if (!h->sub_names) {
        snprintf(out, len, "%s", h->name);
        return;
    }
    if (sub < h->nr_sub && h->sub_names[sub])
        snprintf(out, len, "%s/%s", h->name, h->sub_names[sub]);
    else
        snprintf(out, len, "%s/%u", h->name, sub);
}

static bool port_stats_empty(const struct port_stats *s)
{
    return !(s->sends | s->raised | s->coalesced | s->delivered | s->upcalls | s->dropped);
}

struct json_object *distribution_json(const struct machine *m, struct samples *s)
{
    struct distribution d = samples_distribution(s);
    struct json_object *o = json_object_new_object();
    const uint64_t *v[] = {&d.mean, &d.p50, &d.p95, &d.p99, &d.max};
    static const char *const names[] = {"mean", "p50", "p95", "p99", "max"};
    put_u64(o, "count", d.count);
    for (unsigned i = 0; i < 5; i++) {
        char key[16];
        put_u64(o, names[i], *v[i]);
        snprintf(key, sizeof(key), "%s_ns", names[i]);
        put_u64(o, key, cost_cycles_to_ns(m->cost, *v[i]));
    }
    return o;
}

/* The event paths that ended at this port: end-to-end and by stage. */
static struct json_object *path_json(const struct machine *m, struct stage_port *p)
{
    struct json_object *o = json_object_new_object(), *st = json_object_new_object();
    json_object_object_add(o, "send_to_handler", distribution_json(m, &p->e2e));
    for (unsigned k = 0; k < ST_COUNT; k++) {
        struct json_object *sd = distribution_json(m, &p->stage[k]);
        put_u64(sd, "per_event", stage_per_event(p, (enum stage)k));
        json_object_object_add(st, stage_names[k], sd);
    }
    json_object_object_add(o, "stages", st);
    return o;
}

static struct json_object *ports_json(const struct machine *m, struct sim_domain *sd)
{
    struct domain *d = sd->d;
    struct json_object *arr = json_object_new_array();
    evtchn_account_deliveries(d);
    for (unsigned port = 0; port < d->stats.nr_port_stats; port++) {
        const struct port_stats *s = &d->stats.port[port];
        if (port_stats_empty(s))
            continue;
        struct json_object *o = json_object_new_object();
        put_u64(o, "port", port);
        put_u64(o, "sends", s->sends);
        put_u64(o, "raised", s->raised);
        put_u64(o, "delivered", s->delivered);
        put_u64(o, "coalesced", s->coalesced);
        put_u64(o, "pending_at_end", s->outstanding);
        put_u64(o, "dropped", s->dropped);
        put_u64(o, "upcalls", s->upcalls);
        if (port < sd->stages.nr_ports && sd->stages.port[port].e2e.n)
            json_object_object_add(o, "path", path_json(m, &sd->stages.port[port]));
        json_object_array_add(arr, o);
    }
    return arr;
}

static struct json_object *hypercalls_json(const struct domain *d, uint64_t *total)
{
    struct json_object *arr = json_object_new_array();
    for (unsigned nr = 0; nr < HC_STATS_NR; nr++) {
        for (unsigned sub = 0; sub < HC_STATS_SUB; sub++) {
            const struct hc_counter *c = &d->stats.hc[nr][sub];
            if (!c->calls)
                continue;
            char name[96];
            op_name(nr, sub, name, sizeof(name));
            struct json_object *o = json_object_new_object();
            put_str(o, "op", name);
            put_u64(o, "calls", c->calls);
            put_u64(o, "errors", c->errors);
            json_object_array_add(arr, o);
            *total += c->calls;
        }
    }
    return arr;
}

static bool vcpu_has_callbacks(const struct vcpu *v)
{
    const struct pv_callbacks *c = &v->callbacks;
    return v->event_callback || c->failsafe || c->syscall || c->syscall32 || c->sysenter ||
           c->nmi.address || c->vgc_flags || c->syscall32_disables_events ||
           c->sysenter_disables_events;
}

/* The PV callbacks each vcpu left registered (CALLBACKOP, set_callbacks, VCPUOP_initialise);
 * vcpus with none are left out. JSON only: the text report would grow a line per vcpu. */
static struct json_object *callbacks_json(const struct sim_domain *sd)
{
    struct json_object *arr = json_object_new_array();
    for (unsigned i = 0; i < sd->nr_vcpus; i++) {
        const struct vcpu *v = sd->vcpu[i].v;
        const struct pv_callbacks *c = &v->callbacks;
        if (!vcpu_has_callbacks(v))
            continue;
        struct json_object *o = json_object_new_object();
        put_u64(o, "vcpu", v->vcpu_id);
        put_u64(o, "event", v->event_callback);
        put_u64(o, "failsafe", c->failsafe);
        put_u64(o, "syscall", c->syscall);
        put_u64(o, "syscall32", c->syscall32);
        put_u64(o, "sysenter", c->sysenter);
        put_u64(o, "nmi", c->nmi.address);
        put_u64(o, "failsafe_disables_events", (c->vgc_flags & VGCF_failsafe_disables_events) != 0);
        put_u64(o, "syscall_disables_events", (c->vgc_flags & VGCF_syscall_disables_events) != 0);
        put_u64(o, "syscall32_disables_events", c->syscall32_disables_events);
        put_u64(o, "sysenter_disables_events", c->sysenter_disables_events);
        json_object_array_add(arr, o);
    }
    return arr;
}

/* What the domain ran into: its port table full, no event-array page left, console lines held
 * back by Xen's rate limit or log level, or past the run's console_lines. */
static struct json_object *limits_json(const struct domain *d)
{
    const struct limit_stats *l = &d->stats.limits;
    struct json_object *o = json_object_new_object();
    put_u64(o, "ports_full", l->ports_full);
    put_u64(o, "event_pages_full", l->pages_full);
    put_u64(o, "console_lines", l->console_lines);
    put_u64(o, "console_suppressed", l->console_suppressed);
    put_u64(o, "console_discarded", l->console_discarded);
    put_u64(o, "console_dropped", l->console_dropped);
    return o;
}

/* An HVM domain's intercepted I/O (models/hvm_io.c): the exits taken, and every access by kind,
 * direction and who completed it (internal handler, Xen's null handler, an ioreq server). */
static struct json_object *hvm_io_json(const struct sim_domain *sd)
{
    const struct hvm_io_stats *st = &sd->d->stats.hvm_io;
    struct json_object *o = json_object_new_object(), *arr = json_object_new_array();
    uint64_t exits = 0, total[HVM_IO_OUTCOMES] = {0};
    for (unsigned i = 0; i < sd->nr_vcpus; i++)
        exits += sd->vcpu[i].hvm_io.exits;
    for (unsigned k = 0; k < HVM_IO_KINDS; k++)
        for (unsigned dir = 0; dir < 2; dir++) {
            struct json_object *a = json_object_new_object();
            put_str(a, "kind", hvm_io_kind_names[k]);
            put_str(a, "dir", hvm_io_dir_names[dir]);
            for (unsigned out = 0; out < HVM_IO_OUTCOMES; out++) {
                put_u64(a, hvm_io_outcome_names[out], st->n[k][dir][out]);
                total[out] += st->n[k][dir][out];
            }
            json_object_array_add(arr, a);
        }
    put_u64(o, "exits", exits);
    for (unsigned out = 0; out < HVM_IO_OUTCOMES; out++)
        put_u64(o, hvm_io_outcome_names[out], total[out]);
    json_object_object_add(o, "accesses", arr);
    return o;
}

static struct json_object *domain_json(struct sim_domain *sd)
{
    struct json_object *o = json_object_new_object();
    uint64_t insns = 0, upcalls = 0, hypercalls = 0;
    for (unsigned i = 0; i < sd->nr_vcpus; i++) {
        insns += sd->vcpu[i].insns;
        upcalls += sd->vcpu[i].v->stats.upcalls_injected;
    }
    put_u64(o, "domid", sd->d->domid);
    put_str(o, "name", sd->cfg->name);
    put_str(o, "guest", sd->cfg->guest[0] ? sd->cfg->guest : sd->cfg->device_model);
    put_str(o, "status", domain_status(sd));
    if (sd->crash_reason[0])
        put_str(o, "crash", sd->crash_reason);
    put_u64(o, "vcpus", sd->nr_vcpus);
    /* The ABI the guest set up (every domain starts on 2-level). */
    put_str(o, "abi", sd->d->evtchn_port_ops->name);
    put_u64(o, "abi_model_bytes", evtchn_abi_model_bytes(sd->d));
    put_u64(o, "abi_lost_events", evtchn_abi_lost_events(sd->d));
    put_u64(o, "guest_instructions", insns);
    put_u64(o, "upcalls", upcalls);
    json_object_object_add(o, "callbacks", callbacks_json(sd));
    json_object_object_add(o, "ports", ports_json(sd->m, sd));
    json_object_object_add(o, "hypercall_ops", hypercalls_json(sd->d, &hypercalls));
    put_u64(o, "hypercalls", hypercalls);
    json_object_object_add(o, "limits", limits_json(sd->d));
    json_object_object_add(o, "hvm_io", hvm_io_json(sd));
    json_object_object_add(o, "ioreq", report_ioreq_json(sd));
    return o;
}

static struct json_object *pcpus_json(const struct machine *m)
{
    struct json_object *arr = json_object_new_array();
    for (unsigned i = 0; i < m->nr_pcpus; i++) {
        const struct sim_pcpu *p = &m->pcpu[i];
        struct json_object *o = json_object_new_object();
        put_u64(o, "pcpu", i);
        put_u64(o, "busy_cycles", p->busy_cycles);
        put_u64(o, "ipis", p->ipis_received);
        put_u64(o, "switches", p->switches);
        put_u64(o, "preemptions", p->preemptions);
        put_u64(o, "steals", p->steals);
        json_object_array_add(arr, o);
    }
    return arr;
}

static struct json_object *pirqs_json(const struct machine *m)
{
    struct json_object *arr = json_object_new_array();
    for (unsigned i = 0; i < m->sc->nr_pirq; i++) {
        const struct sim_pirq_source *src = &m->pirq[i];
        struct json_object *o = json_object_new_object();
        put_u64(o, "domid", m->dom[src->cfg->domain].d->domid);
        put_u64(o, "line", src->cfg->line);
        const struct pirq_line *l = &m->dom[src->cfg->domain].d->pirq_line[src->cfg->line];
        put_str(o, "trigger", src->cfg->level ? "level" : "edge");
        put_u64(o, "raised", src->raised);
        put_u64(o, "unbound", src->unbound);
        put_u64(o, "held_back", src->held_back);
        /* per line, whichever source raised it */
        put_u64(o, "guest_eois", l->guest_eois);
        put_u64(o, "forced_eois", l->forced_eois);
        json_object_array_add(arr, o);
    }
    return arr;
}

static struct json_object *coherence_json(const struct machine *m)
{
    const struct coh_stats *s = coherence_stats(m->coh);
    struct json_object *o = json_object_new_object();
    put_u64(o, "sockets", m->sc->sockets);
    put_u64(o, "reads", s->accesses[COH_READ]);
    put_u64(o, "writes", s->accesses[COH_WRITE]);
    put_u64(o, "locked", s->accesses[COH_LOCKED]);
    put_u64(o, "hits", s->from[COH_HIT]);
    put_u64(o, "socket_transfers", s->from[COH_SOCKET]);
    put_u64(o, "remote_transfers", s->from[COH_REMOTE]);
    put_u64(o, "transfer_cycles", s->transfer_cycles);
    put_u64(o, "lines", coherence_lines(m->coh));
    return o;
}

struct json_object *report_build(struct machine *m)
{
    struct json_object *r = json_object_new_object();
    put_str(r, "scenario", m->sc->source);
    put_str(r, "profile", m->cost->name);
    put_str(r, "cpu", m->cost->cpu);
    put_u64(r, "cpu_khz", m->cost->cpu_khz);
    put_u64(r, "seed", m->sc->seed);
    put_u64(r, "pcpus", m->nr_pcpus);
    static const char *const end_names[] = {
        [END_RUNNING] = "running",
        [END_ALL_STOPPED] = "every domain stopped",
        [END_RUN_LENGTH] = "run length reached",
        [END_STARVED] = "nothing left to run (every vcpu blocked, no timer armed)",
        [END_INTERRUPTED] = "interrupted by the user (a signal): the report covers the run so far"};
    put_str(r, "end", end_names[m->end]);
    /* A partial report: counters as they stood, events still on their way not delivered. */
    json_object_object_add(r, "partial", json_object_new_boolean(m->end == END_INTERRUPTED));
    put_u64(r, "simulated_cycles", m->end_cycles);
    put_u64(r, "simulated_ns", cost_cycles_to_ns(m->cost, m->end_cycles));
    uint64_t insns = 0;
    struct json_object *doms = json_object_new_array();
    for (unsigned i = 0; i < m->nr_dom; i++) {
        struct json_object *d = domain_json(&m->dom[i]);
        insns += get_u64(d, "guest_instructions");
        json_object_array_add(doms, d);
    }
    put_u64(r, "guest_instructions", insns);
    put_u64(r, "exit_status", (uint64_t)machine_exit_status(m));
    /* Cross-CPU effects that arrived after their target had run past their time: 0 unless the
     * lookahead that keeps them exact was broken (docs/timing.md). */
    put_u64(r, "late_cross_cpu_effects", m->late_effects);
    json_object_object_add(r, "domains", doms);
    json_object_object_add(r, "pirqs", pirqs_json(m));
    json_object_object_add(r, "cache_lines", coherence_json(m));
    json_object_object_add(r, "pcpu_stats", pcpus_json(m));
    if (m->replay)
        json_object_object_add(r, "replay", replay_report(m));
    return r;
}

static void print_domains(struct json_object *doms, FILE *out)
{
    fprintf(out, "\ndomains\n  %-4s %-10s %-10s %-9s %5s %-4s %14s %8s %10s\n", "dom", "name",
            "guest", "status", "vcpus", "abi", "instructions", "upcalls", "hypercalls");
    for (size_t i = 0; i < json_object_array_length(doms); i++) {
        struct json_object *d = json_object_array_get_idx(doms, i);
        const char *guest = get_str(d, "guest"), *slash = strrchr(guest, '/');
        fprintf(out,
                "  %-4" PRIu64 " %-10s %-10s %-9s %5" PRIu64 " %-4s %14" PRIu64 " %8" PRIu64
                " %10" PRIu64 "\n",
                get_u64(d, "domid"), get_str(d, "name"), slash ? slash + 1 : guest,
                get_str(d, "status"), get_u64(d, "vcpus"), get_str(d, "abi"),
                get_u64(d, "guest_instructions"), get_u64(d, "upcalls"), get_u64(d, "hypercalls"));
        if (get_str(d, "crash")[0])
            fprintf(out, "       crash: %s\n", get_str(d, "crash"));
        if (get_u64(d, "abi_lost_events"))
            fprintf(out,
                    "       FIFO events lost while requeueing (Xen's retry bound): %" PRIu64 "\n",
                    get_u64(d, "abi_lost_events"));
    }
}

static void print_ports(struct json_object *doms, FILE *out)
{
    static const char *const cols[] = {"sends",   "raised",         "delivered", "coalesced",
                                       "dropped", "pending_at_end", "upcalls"};
    fprintf(out, "\nevent channels\n  %-4s %-6s", "dom", "port");
    for (size_t c = 0; c < sizeof(cols) / sizeof(cols[0]); c++)
        fprintf(out, " %*s", c == 5 ? 14 : 10, cols[c]);
    fputc('\n', out);
    for (size_t i = 0; i < json_object_array_length(doms); i++) {
        struct json_object *d = json_object_array_get_idx(doms, i);
        struct json_object *ports = get_arr(d, "ports");
        for (size_t k = 0; ports && k < json_object_array_length(ports); k++) {
            struct json_object *p = json_object_array_get_idx(ports, k);
            fprintf(out, "  %-4" PRIu64 " %-6" PRIu64, get_u64(d, "domid"), get_u64(p, "port"));
            for (size_t c = 0; c < sizeof(cols) / sizeof(cols[0]); c++)
                fprintf(out, " %*" PRIu64, c == 5 ? 14 : 10, get_u64(p, cols[c]));
            fputc('\n', out);
        }
    }
}

#define TEXT_MAX_CHANNELS 16

/* Visit the ports that have a path, in order, at most TEXT_MAX_CHANNELS; returns how many
 * there were in all. */
static unsigned each_path(struct json_object *doms, FILE *out,
                          void (*fn)(FILE *, uint64_t, struct json_object *, struct json_object *))
{
    unsigned n = 0;
    for (size_t i = 0; i < json_object_array_length(doms); i++) {
        struct json_object *d = json_object_array_get_idx(doms, i), *ports = get_arr(d, "ports");
        for (size_t k = 0; ports && k < json_object_array_length(ports); k++) {
            struct json_object *p = json_object_array_get_idx(ports, k), *path;
            if (json_object_object_get_ex(p, "path", &path) && n++ < TEXT_MAX_CHANNELS)
                fn(out, get_u64(d, "domid"), p, path);
        }
    }
    return n;
}

static void print_e2e_row(FILE *out, uint64_t domid, struct json_object *p,
                          struct json_object *path)
{
    struct json_object *e = get_arr(path, "send_to_handler");
    fprintf(out, "  %-4" PRIu64 " %-6" PRIu64, domid, get_u64(p, "port"));
    static const char *const cols[] = {"count", "mean", "p50", "p95", "p99", "max"};
    for (unsigned c = 0; c < 6; c++)
        fprintf(out, " %9" PRIu64, get_u64(e, cols[c]));
    fprintf(out, " %9" PRIu64 " %9" PRIu64 "\n", get_u64(e, "mean_ns"), get_u64(e, "p99_ns"));
}

static void print_stage_row(FILE *out, uint64_t domid, struct json_object *p,
                            struct json_object *path)
{
    struct json_object *st = get_arr(path, "stages");
    fprintf(out, "  %-4" PRIu64 " %-6" PRIu64, domid, get_u64(p, "port"));
    for (unsigned k = 0; k < ST_COUNT; k++)
        fprintf(out, " %11" PRIu64, get_u64(get_arr(st, stage_names[k]), "per_event"));
    fputc('\n', out);
}

/* Send-to-handler latency per channel, then the mean of every stage. */
static void print_paths(struct json_object *doms, FILE *out, uint64_t khz)
{
    fprintf(out, "\nevent paths: send to handler, in cycles (ns at %" PRIu64 " MHz)\n", khz / 1000);
    fprintf(out, "  %-4s %-6s %9s %9s %9s %9s %9s %9s %9s %9s\n", "dom", "port", "events", "mean",
            "p50", "p95", "p99", "max", "mean ns", "p99 ns");
    unsigned n = each_path(doms, out, print_e2e_row);
    fprintf(out, "\nevent paths: cycles per event, by stage\n  %-4s %-6s", "dom", "port");
    for (unsigned k = 0; k < ST_COUNT; k++)
        fprintf(out, " %11s", stage_names[k]);
    fputc('\n', out);
    each_path(doms, out, print_stage_row);
    if (n > TEXT_MAX_CHANNELS)
        fprintf(out, "  (%u more channels: every channel and percentile is in --json)\n",
                n - TEXT_MAX_CHANNELS);
}

static void print_hypercalls(struct json_object *doms, FILE *out)
{
    fprintf(out, "\nhypercalls\n  %-4s %-36s %10s %10s\n", "dom", "operation", "calls", "errors");
    for (size_t i = 0; i < json_object_array_length(doms); i++) {
        struct json_object *d = json_object_array_get_idx(doms, i);
        struct json_object *ops = get_arr(d, "hypercall_ops");
        for (size_t k = 0; ops && k < json_object_array_length(ops); k++) {
            struct json_object *op = json_object_array_get_idx(ops, k);
            fprintf(out, "  %-4" PRIu64 " %-36s %10" PRIu64 " %10" PRIu64 "\n", get_u64(d, "domid"),
                    get_str(op, "op"), get_u64(op, "calls"), get_u64(op, "errors"));
        }
    }
}

static void print_pirqs(struct json_object *pirqs, FILE *out)
{
    if (!pirqs || json_object_array_length(pirqs) == 0)
        return;
    fprintf(out, "\nphysical IRQs\n  %-4s %-6s %-7s %10s %10s %10s %10s %10s\n", "dom", "line",
            "trigger", "raised", "unbound", "held_back", "guest_eoi", "forced_eoi");
    for (size_t i = 0; i < json_object_array_length(pirqs); i++) {
        struct json_object *q = json_object_array_get_idx(pirqs, i);
        fprintf(out,
                "  %-4" PRIu64 " %-6" PRIu64 " %-7s %10" PRIu64 " %10" PRIu64 " %10" PRIu64
                " %10" PRIu64 " %10" PRIu64 "\n",
                get_u64(q, "domid"), get_u64(q, "line"), get_str(q, "trigger"),
                get_u64(q, "raised"), get_u64(q, "unbound"), get_u64(q, "held_back"),
                get_u64(q, "guest_eois"), get_u64(q, "forced_eois"));
    }
}

static void print_pcpus(struct json_object *pcpus, uint64_t total, FILE *out)
{
    fprintf(out, "\nphysical CPUs\n  %-5s %7s %10s %12s %7s %6s\n", "pcpu", "busy", "switches",
            "preemptions", "steals", "ipis");
    for (size_t i = 0; pcpus && i < json_object_array_length(pcpus); i++) {
        struct json_object *p = json_object_array_get_idx(pcpus, i);
        uint64_t busy = get_u64(p, "busy_cycles");
        uint64_t permille = total ? (busy > total ? 1000 : busy * 1000 / total) : 0;
        fprintf(out,
                "  %-5" PRIu64 " %5" PRIu64 ".%" PRIu64 "%% %10" PRIu64 " %12" PRIu64 " %7" PRIu64
                " %6" PRIu64 "\n",
                get_u64(p, "pcpu"), permille / 10, permille % 10, get_u64(p, "switches"),
                get_u64(p, "preemptions"), get_u64(p, "steals"), get_u64(p, "ipis"));
    }
}

static void print_cache_lines(struct json_object *c, FILE *out)
{
    if (!c)
        return;
    fprintf(out,
            "\nshared cache lines (%" PRIu64 " lines, %" PRIu64 " socket(s))\n"
            "  %10s %10s %10s %10s %10s %10s %16s\n"
            "  %10" PRIu64 " %10" PRIu64 " %10" PRIu64 " %10" PRIu64 " %10" PRIu64 " %10" PRIu64
            " %16" PRIu64 "\n",
            get_u64(c, "lines"), get_u64(c, "sockets"), "reads", "writes", "locked", "hits",
            "socket", "remote", "transfer cycles", get_u64(c, "reads"), get_u64(c, "writes"),
            get_u64(c, "locked"), get_u64(c, "hits"), get_u64(c, "socket_transfers"),
            get_u64(c, "remote_transfers"), get_u64(c, "transfer_cycles"));
}

/* Only what was hit, and only when something was: a run within every limit prints nothing. */
static void print_limits(struct json_object *doms, FILE *out)
{
    static const struct {
        const char *key, *what;
    } hits[] = {
        {"ports_full", "port requests refused: the port table is full (-ENOSPC)"},
        {"event_pages_full", "event-array pages refused: the ABI has no more (-ENOSPC)"},
        {"console_suppressed", "console lines held back by Xen's printk rate limit"},
        {"console_discarded", "console lines discarded by guest_loglvl"},
        {"console_dropped", "console lines not printed: past console_lines"},
    };
    bool header = false; /* (the run length has its own line: "ended") */
    for (size_t i = 0; i < json_object_array_length(doms); i++) {
        struct json_object *d = json_object_array_get_idx(doms, i), *l;
        if (!json_object_object_get_ex(d, "limits", &l))
            continue;
        for (size_t k = 0; k < sizeof(hits) / sizeof(hits[0]); k++) {
            uint64_t n = get_u64(l, hits[k].key);
            if (!n)
                continue;
            if (!header)
                fprintf(out, "\nlimits hit\n");
            header = true;
            fprintf(out, "  dom %-3" PRIu64 " %8" PRIu64 " %s\n", get_u64(d, "domid"), n,
                    hits[k].what);
        }
    }
}

/* HVM I/O, only for domains that took I/O exits (a run without any prints nothing). A domain's
 * first row carries its exits: one per access, or per rep string instruction within a page. */
static void print_hvm_io(struct json_object *doms, FILE *out)
{
    bool header = false;
    for (size_t i = 0; i < json_object_array_length(doms); i++) {
        struct json_object *d = json_object_array_get_idx(doms, i), *io, *arr;
        if (!json_object_object_get_ex(d, "hvm_io", &io) || !get_u64(io, "exits"))
            continue;
        if (!header)
            fprintf(out, "\nHVM I/O accesses (unclaimed: Xen's null handler answered)\n"
                         "  dom     exits  kind       dir     internal  unclaimed  forwarded\n");
        header = true;
        bool first = true;
        arr = get_arr(io, "accesses");
        for (size_t k = 0; k < json_object_array_length(arr); k++) {
            struct json_object *a = json_object_array_get_idx(arr, k);
            uint64_t in = get_u64(a, "internal"), un = get_u64(a, "unclaimed"),
                     fw = get_u64(a, "forwarded");
            if (!in && !un && !fw)
                continue;
            if (first)
                fprintf(out, "  %-3" PRIu64 " %9" PRIu64, get_u64(d, "domid"),
                        get_u64(io, "exits"));
            else
                fprintf(out, "  %13s", "");
            first = false;
            fprintf(out, "  %-10s %-5s %10" PRIu64 " %10" PRIu64 " %10" PRIu64 "\n",
                    get_str(a, "kind"), get_str(a, "dir"), in, un, fw);
        }
    }
}

void report_print_text(struct json_object *r, FILE *out)
{
    uint64_t ns = get_u64(r, "simulated_ns");
    fprintf(out, "\n== evsim report ==\n");
    fprintf(out, "scenario       %s (seed %" PRIu64 ")\n", get_str(r, "scenario"),
            get_u64(r, "seed"));
    fprintf(out, "cost profile   %s: %s\n", get_str(r, "profile"), get_str(r, "cpu"));
    fprintf(out, "machine        %" PRIu64 " physical CPUs\n", get_u64(r, "pcpus"));
    fprintf(out, "simulated time %" PRIu64 " cycles = %" PRIu64 ".%03" PRIu64 " us\n",
            get_u64(r, "simulated_cycles"), ns / 1000, ns % 1000);
    fprintf(out, "instructions   %" PRIu64 " guest instructions\n",
            get_u64(r, "guest_instructions"));
    fprintf(out, "ended          %s\n", get_str(r, "end"));
    struct json_object *doms = get_arr(r, "domains");
    print_domains(doms, out);
    print_ports(doms, out);
    print_paths(doms, out, get_u64(r, "cpu_khz"));
    print_hypercalls(doms, out);
    print_pirqs(get_arr(r, "pirqs"), out);
    print_pcpus(get_arr(r, "pcpu_stats"), get_u64(r, "simulated_cycles"), out);
    print_cache_lines(get_arr(r, "cache_lines"), out);
    print_hvm_io(doms, out);
    report_ioreq_print(doms, out);
    print_limits(doms, out);
    replay_print_text(r, out);
    fprintf(out, "\nexit status    %" PRIu64 "\n", get_u64(r, "exit_status"));
}

int text_file_write(const char *text, const char *path, const char *flag, struct diag *d)
{
    size_t n = strlen(path) + 16;
    char *tmp = malloc(n);
    if (!tmp)
        return diag_set(d, "%s %s: out of memory", flag, path);
    snprintf(tmp, n, "%s.tmp.XXXXXX", path);
    int fd = mkstemp(tmp);
    if (fd >= 0)
        fchmod(fd, 0644); /* mkstemp makes it private; a report is not */
    if (fd < 0) {
        diag_set(d, "%s %s: cannot create the file: %s", flag, path, strerror(errno));
        free(tmp);
        return -1;
    }
    bool ok = true;
    for (size_t off = 0, len = strlen(text); ok && off < len;) {
        ssize_t k = write(fd, text + off, len - off);
        ok = k > 0;
        off += ok ? (size_t)k : 0;
    }
    ok = (close(fd) == 0) && ok;
    if (!ok || rename(tmp, path) != 0) {
        diag_set(d, "%s %s: cannot write the file: %s", flag, path, strerror(errno));
        unlink(tmp);
        free(tmp);
        return -1;
    }
    free(tmp);
    return 0;
}

int json_file_write(struct json_object *r, const char *path, const char *flag, struct diag *d)
{
    const char *text =
        json_object_to_json_string_ext(r, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);
    size_t len = strlen(text);
    char *with_newline = malloc(len + 2);
    if (!with_newline)
        return diag_set(d, "%s %s: out of memory", flag, path);
    memcpy(with_newline, text, len);
    memcpy(with_newline + len, "\n", 2);
    int rc = text_file_write(with_newline, path, flag, d);
    free(with_newline);
    return rc;
}

int report_write_json(struct json_object *r, const char *path, struct diag *d)
{
    return json_file_write(r, path, "--json", d);
}
