/* The timeline export (chrome.h). Tracks are Chrome "threads": pid 0 holds one per physical
 * CPU; domain d is pid d + 1, where vcpu v has three threads: 3v its runstates, 3v + 1 its
 * exits and the ioreqs sent in them (nested), 3v + 2 its upcalls. Upcalls have a track of their
 * own because Xen injects them before the entry that ends an exit: on one track the two would
 * overlap without nesting, which the format forbids. Flows are written only once both ends are
 * known (a send whose event is never delivered has no arrow), so every "s" has its "f". */
#include "traces/chrome.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "traces/idmap.h"
#include "traces/json_out.h"
#include "traces/summary.h"

#define IDLE_DOMID 0x7fffu
#define MAX_PENDING 64u /* flows waiting for one vcpu's upcall */

struct flow_start {
    uint64_t tsc;
    uint32_t pid, tid; /* the track it starts on */
    uint32_t port;
};

struct cvcpu {
    uint32_t domid, vid;
    int state; /* RUNSTATE_*, -1 unknown */
    uint64_t state_tsc;
    bool exit_open, upcall_open, ioreq_open;
    uint64_t exit_tsc, upcall_tsc, ioreq_tsc;
    uint32_t exit_event, exit_reason, upcall_vector;
    uint64_t ioreq_addr;
    uint32_t ioreq_kind;
    struct flow_start pending[MAX_PENDING];
    unsigned nr_pending;
};

struct cdomain {
    struct xt_idmap vcpus; /* struct cvcpu by vcpu id */
};

enum vcpu_track { TRACK_RUNSTATE, TRACK_EXITS, TRACK_UPCALLS, TRACKS_PER_VCPU };

static uint32_t tid_of(const struct cvcpu *v, enum vcpu_track t)
{
    return TRACKS_PER_VCPU * v->vid + t;
}

struct ccpu {
    uint32_t dv; /* the vcpu running, IDLE when none known */
    uint64_t since;
    bool running, named;
    bool send_open; /* a send on this CPU waits for its set_pending */
    struct flow_start send;
};

struct xt_chrome {
    uint64_t hz, base;
    bool have_base, fixed_hz;
    struct json_object *events;
    struct xt_idmap dom; /* struct cdomain by domain id */
    struct ccpu *cpu;
    uint32_t nr_cpus;
    uint64_t next_flow, undelivered, dropped;
    bool cpus_named;
};

static double usec(const struct xt_chrome *c, uint64_t tsc)
{
    uint64_t hz = c->hz ? c->hz : XT_CPU_HZ_DEFAULT;

    return tsc > c->base ? (double)(tsc - c->base) * 1e6 / (double)hz : 0.0;
}

static struct json_object *event(struct xt_chrome *c, const char *ph, const char *name,
                                 uint32_t pid, uint32_t tid, uint64_t tsc)
{
    struct json_object *e = json_object_new_object();

    json_object_object_add(e, "ph", json_object_new_string(ph));
    json_object_object_add(e, "name", json_object_new_string(name));
    json_object_object_add(e, "pid", json_object_new_int64(pid));
    json_object_object_add(e, "tid", json_object_new_int64(tid));
    json_object_object_add(e, "ts", json_object_new_double(usec(c, tsc)));
    json_object_array_add(c->events, e);
    return e;
}

static void span(struct xt_chrome *c, const char *cat, const char *name, uint32_t pid, uint32_t tid,
                 uint64_t from, uint64_t to)
{
    struct json_object *e = event(c, "X", name, pid, tid, from);
    double d = usec(c, to) - usec(c, from);

    json_object_object_add(e, "cat", json_object_new_string(cat));
    json_object_object_add(e, "dur", json_object_new_double(d > 0 ? d : 0));
}

static void metadata(struct xt_chrome *c, const char *what, uint32_t pid, uint32_t tid,
                     const char *name)
{
    struct json_object *e = json_object_new_object(), *args = json_object_new_object();

    json_object_object_add(e, "ph", json_object_new_string("M"));
    json_object_object_add(e, "name", json_object_new_string(what));
    json_object_object_add(e, "pid", json_object_new_int64(pid));
    json_object_object_add(e, "tid", json_object_new_int64(tid));
    json_object_object_add(args, "name", json_object_new_string(name));
    json_object_object_add(e, "args", args);
    json_object_array_add(c->events, e);
}

static uint32_t pid_of(uint32_t domid)
{
    return domid + 1;
}

static struct ccpu *cpu_of(struct xt_chrome *c, uint32_t cpu)
{
    char name[32];

    if (cpu >= c->nr_cpus) {
        struct ccpu *n = realloc(c->cpu, (cpu + 1) * sizeof(*n));

        if (!n)
            return NULL;
        memset(n + c->nr_cpus, 0, (cpu + 1 - c->nr_cpus) * sizeof(*n));
        c->cpu = n;
        c->nr_cpus = cpu + 1;
    }
    if (!c->cpu[cpu].named) {
        if (!c->cpus_named)
            metadata(c, "process_name", 0, 0, "Physical CPUs");
        c->cpus_named = true;
        snprintf(name, sizeof(name), "CPU %u", cpu);
        metadata(c, "thread_name", 0, cpu, name);
        c->cpu[cpu].named = true;
    }
    return &c->cpu[cpu];
}

static struct cvcpu *vcpu_of(struct xt_chrome *c, uint32_t dv)
{
    uint32_t domid = dv >> 16, vid = dv & 0xffff;
    struct cdomain *d = xt_idmap_get(&c->dom, domid);
    struct cvcpu *v;
    char name[48];

    if (!d) {
        if (!(d = calloc(1, sizeof(*d))) || !xt_idmap_set(&c->dom, domid, d)) {
            free(d);
            return NULL;
        }
        snprintf(name, sizeof(name), domid == IDLE_DOMID ? "Idle" : "Domain %u", domid);
        metadata(c, "process_name", pid_of(domid), 0, name);
    }
    if (!(v = xt_idmap_get(&d->vcpus, vid))) {
        static const char *const track_names[TRACKS_PER_VCPU] = {"runstate", "exits", "upcalls"};

        if (!(v = calloc(1, sizeof(*v))) || !xt_idmap_set(&d->vcpus, vid, v)) {
            free(v);
            return NULL;
        }
        v->domid = domid;
        v->vid = vid;
        v->state = -1;
        for (unsigned t = 0; t < TRACKS_PER_VCPU; t++) {
            snprintf(name, sizeof(name), "v%u %s", vid, track_names[t]);
            metadata(c, "thread_name", pid_of(domid), tid_of(v, t), name);
        }
    }
    return v;
}

/* ---- runstates and CPUs ----------------------------------------------------------------- */

static void cpu_stop(struct xt_chrome *c, struct ccpu *p, uint32_t cpu, uint64_t tsc)
{
    char name[32];

    if (!p->running)
        return;
    if (p->dv >> 16 != IDLE_DOMID) {
        snprintf(name, sizeof(name), "d%uv%u", p->dv >> 16, p->dv & 0xffff);
        span(c, "cpu", name, 0, cpu, p->since, tsc);
    }
    p->running = false;
}

static void runstate_change(struct xt_chrome *c, const struct xt_rec *r)
{
    unsigned to = (r->event >> 4) & 3;
    struct cvcpu *v = vcpu_of(c, r->d[0]);
    struct ccpu *p = cpu_of(c, r->cpu);

    if (!v || !p)
        return;
    if (v->state >= 0 && v->domid != IDLE_DOMID)
        span(c, "runstate", xt_runstate_name((unsigned)v->state), pid_of(v->domid),
             tid_of(v, TRACK_RUNSTATE), v->state_tsc, r->tsc);
    v->state = (int)to;
    v->state_tsc = r->tsc;
    if (to == 0) {
        cpu_stop(c, p, r->cpu, r->tsc);
        p->dv = r->d[0];
        p->since = r->tsc;
        p->running = true;
    } else if (p->running && p->dv == r->d[0]) {
        cpu_stop(c, p, r->cpu, r->tsc);
    }
}

/* ---- event paths -------------------------------------------------------------------------- */

static struct cvcpu *running_on(struct xt_chrome *c, uint32_t cpu)
{
    struct ccpu *p = cpu < c->nr_cpus ? &c->cpu[cpu] : NULL;

    return p && p->running && p->dv >> 16 != IDLE_DOMID ? vcpu_of(c, p->dv) : NULL;
}

static void flow(struct xt_chrome *c, const struct flow_start *s, uint32_t pid, uint32_t tid,
                 uint64_t tsc)
{
    char name[32];
    uint64_t id = ++c->next_flow;
    struct json_object *a, *b;

    snprintf(name, sizeof(name), "port %u", s->port);
    /* a short slice at the start for the arrow to leave from */
    span(c, "evtchn", name, s->pid, s->tid, s->tsc, s->tsc);
    a = event(c, "s", "event", s->pid, s->tid, s->tsc);
    json_object_object_add(a, "cat", json_object_new_string("evtchn"));
    json_object_object_add(a, "id", json_object_new_int64((int64_t)id));
    b = event(c, "f", "event", pid, tid, tsc);
    json_object_object_add(b, "cat", json_object_new_string("evtchn"));
    json_object_object_add(b, "id", json_object_new_int64((int64_t)id));
    json_object_object_add(b, "bp", json_object_new_string("e"));
}

static void on_send(struct xt_chrome *c, const struct xt_rec *r)
{
    struct ccpu *p = cpu_of(c, r->cpu);
    struct cvcpu *v = vcpu_of(c, r->d[0]);

    if (!p || !v)
        return;
    p->send_open = true;
    p->send = (struct flow_start){r->tsc, pid_of(v->domid), tid_of(v, TRACK_EXITS), r->d[1]};
}

/* The event goes pending for a vcpu: its arrow starts at the send that raised it, else on the
 * CPU that raised it (a timer, a VIRQ, an ioreq's notification). */
static void on_set_pending(struct xt_chrome *c, const struct xt_rec *r)
{
    struct ccpu *p = cpu_of(c, r->cpu);
    struct cvcpu *v = vcpu_of(c, r->d[0]);
    struct flow_start s = {r->tsc, 0, r->cpu, r->d[1]};

    if (!p || !v)
        return;
    if (p->send_open) {
        s = p->send;
        p->send_open = false;
    }
    if (r->d[3] == 0)
        return; /* coalesced or masked: no delivery of its own */
    if (v->nr_pending == MAX_PENDING) {
        c->dropped++; /* an arrow fewer; the event itself may still be delivered */
        return;
    }
    v->pending[v->nr_pending++] = s;
}

static void on_upcall(struct xt_chrome *c, const struct xt_rec *r)
{
    struct cvcpu *v = vcpu_of(c, r->d[0]);

    if (!v)
        return;
    v->upcall_open = true;
    v->upcall_tsc = r->tsc;
    v->upcall_vector = r->d[1];
    for (unsigned i = 0; i < v->nr_pending; i++)
        flow(c, &v->pending[i], pid_of(v->domid), tid_of(v, TRACK_UPCALLS), r->tsc);
    v->nr_pending = 0;
}

static void on_iret(struct xt_chrome *c, const struct xt_rec *r)
{
    struct cvcpu *v = vcpu_of(c, r->d[0]);

    if (!v || !v->upcall_open)
        return;
    span(c, "evtchn", "upcall", pid_of(v->domid), tid_of(v, TRACK_UPCALLS), v->upcall_tsc, r->tsc);
    v->upcall_open = false;
}

static void on_exit(struct xt_chrome *c, const struct xt_rec *r)
{
    struct cvcpu *v = running_on(c, r->cpu);

    if (!v)
        return;
    v->exit_open = true;
    v->exit_tsc = r->tsc;
    v->exit_event = r->event;
    v->exit_reason = r->d[0];
}

static void on_entry(struct xt_chrome *c, const struct xt_rec *r)
{
    struct cvcpu *v = running_on(c, r->cpu);
    char name[64];

    if (!v || !v->exit_open)
        return;
    snprintf(name, sizeof(name), "exit %s", xt_exit_reason_name(v->exit_event, v->exit_reason));
    span(c, "hvm", name, pid_of(v->domid), tid_of(v, TRACK_EXITS), v->exit_tsc, r->tsc);
    v->exit_open = false;
}

static void on_ioreq(struct xt_chrome *c, const struct xt_rec *r, bool done)
{
    struct cvcpu *v = vcpu_of(c, r->d[0]);
    char name[64];

    if (!v)
        return;
    if (!done) {
        v->ioreq_open = true;
        v->ioreq_tsc = r->tsc;
        v->ioreq_kind = r->d[2];
        v->ioreq_addr = r->d[3] | (uint64_t)r->d[4] << 32;
        return;
    }
    if (!v->ioreq_open)
        return;
    snprintf(name, sizeof(name), "ioreq %s 0x%llx", (v->ioreq_kind >> 8) & 1 ? "read" : "write",
             (unsigned long long)v->ioreq_addr);
    span(c, "ioreq", name, pid_of(v->domid), tid_of(v, TRACK_EXITS), v->ioreq_tsc, r->tsc);
    v->ioreq_open = false;
}

struct handler {
    uint32_t event;
    void (*fn)(struct xt_chrome *c, const struct xt_rec *r);
    uint32_t min_words;
};

static void on_ioreq_send(struct xt_chrome *c, const struct xt_rec *r)
{
    on_ioreq(c, r, false);
}

static void on_ioreq_done(struct xt_chrome *c, const struct xt_rec *r)
{
    on_ioreq(c, r, true);
}

static const struct handler handlers[] = {
    {TRC_EVSIM_SEND, on_send, 2},
    {TRC_EVSIM_SET_PENDING, on_set_pending, 4},
    {TRC_EVSIM_UPCALL, on_upcall, 2},
    {TRC_EVSIM_IRET, on_iret, 1},
    {TRC_EVSIM_IOREQ_SEND, on_ioreq_send, 5},
    {TRC_EVSIM_IOREQ_DONE, on_ioreq_done, 2},
    {TRC_HVM_VMX_EXIT, on_exit, 1},
    {TRC_HVM_VMX_EXIT64, on_exit, 1},
    {TRC_HVM_SVM_EXIT, on_exit, 1},
    {TRC_HVM_SVM_EXIT64, on_exit, 1},
    {TRC_HVM_VMENTRY, on_entry, 0},
};

/* Records between a send and its set_pending on the same CPU (all within one hypercall): any
 * other record there means the send raised nothing, and the CPU's next event is not its. */
static bool keeps_send_open(uint32_t event)
{
    return event == TRC_EVSIM_SEND || event == TRC_EVSIM_SET_PENDING ||
           event == TRC_EVSIM_FIFO_LINK || event == TRC_SCHED_WAKE ||
           (event & 0xfffff00fu) == TRC_SCHED_RUNSTATE_CHANGE;
}

void xt_chrome_add(struct xt_chrome *c, const struct xt_rec *r)
{
    uint64_t hz;

    if (r->event == TRC_EVSIM_CPU_HZ && r->n >= 2) {
        hz = r->d[0] | (uint64_t)r->d[1] << 32;
        if (!c->fixed_hz && !c->hz && xt_cpu_hz_plausible(hz))
            c->hz = hz;
        return;
    }
    if (r->cpu < c->nr_cpus && !keeps_send_open(r->event))
        c->cpu[r->cpu].send_open = false;
    if (r->has_tsc && !c->have_base) {
        c->base = r->tsc;
        c->have_base = true;
    }
    if ((r->event & 0xfffff00fu) == TRC_SCHED_RUNSTATE_CHANGE && r->n >= 1) {
        runstate_change(c, r);
        return;
    }
    for (size_t i = 0; i < sizeof(handlers) / sizeof(handlers[0]); i++)
        if (handlers[i].event == r->event && r->n >= handlers[i].min_words)
            handlers[i].fn(c, r);
}

struct xt_chrome *xt_chrome_new(uint64_t cpu_hz)
{
    struct xt_chrome *c = calloc(1, sizeof(*c));

    if (!c)
        return NULL;
    c->hz = cpu_hz;
    c->fixed_hz = cpu_hz != 0;
    c->events = json_object_new_array();
    if (!c->events) {
        xt_chrome_free(c);
        return NULL;
    }
    return c;
}

/* Spans still open at the end close at the last time seen. */
static void close_open(struct xt_chrome *c, uint64_t end)
{
    for (uint32_t i = 0; i < c->nr_cpus; i++)
        cpu_stop(c, &c->cpu[i], i, end);
    for (uint32_t id = 0; xt_idmap_next(&c->dom, &id); id++) {
        struct cdomain *d = xt_idmap_get(&c->dom, id);

        for (uint32_t k = 0; xt_idmap_next(&d->vcpus, &k); k++) {
            struct cvcpu *v = xt_idmap_get(&d->vcpus, k);

            if (v->state >= 0 && v->domid != IDLE_DOMID)
                span(c, "runstate", xt_runstate_name((unsigned)v->state), pid_of(v->domid),
                     tid_of(v, TRACK_RUNSTATE), v->state_tsc, end);
            c->undelivered += v->nr_pending;
        }
    }
}

int xt_chrome_write(struct xt_chrome *c, const char *path)
{
    struct json_object *root = json_object_new_object(), *other = json_object_new_object();
    uint64_t end = c->base;
    int rc;

    for (uint32_t i = 0; i < c->nr_cpus; i++)
        if (c->cpu[i].since > end)
            end = c->cpu[i].since;
    for (uint32_t id = 0; xt_idmap_next(&c->dom, &id); id++) {
        const struct cdomain *d = xt_idmap_get(&c->dom, id);

        for (uint32_t k = 0; xt_idmap_next(&d->vcpus, &k); k++) {
            const struct cvcpu *v = xt_idmap_get(&d->vcpus, k);

            if (v->state_tsc > end)
                end = v->state_tsc;
        }
    }
    close_open(c, end);
    json_object_object_add(root, "traceEvents", json_object_get(c->events));
    json_object_object_add(root, "displayTimeUnit", json_object_new_string("ns"));
    json_object_object_add(other, "generator", json_object_new_string("evsim trace export"));
    json_object_object_add(other, "cpu_hz",
                           json_object_new_int64((int64_t)(c->hz ? c->hz : XT_CPU_HZ_DEFAULT)));
    json_object_object_add(other, "undelivered_events",
                           json_object_new_int64((int64_t)c->undelivered));
    json_object_object_add(other, "arrows_dropped", json_object_new_int64((int64_t)c->dropped));
    json_object_object_add(root, "otherData", other);
    rc = xt_json_write(path, root, JSON_C_TO_STRING_PLAIN);
    json_object_put(root);
    return rc;
}

void xt_chrome_free(struct xt_chrome *c)
{
    if (!c)
        return;
    for (uint32_t id = 0; xt_idmap_next(&c->dom, &id); id++) {
        struct cdomain *d = xt_idmap_get(&c->dom, id);

        for (uint32_t k = 0; xt_idmap_next(&d->vcpus, &k); k++)
            free(xt_idmap_get(&d->vcpus, k));
        xt_idmap_free(&d->vcpus);
        free(d);
    }
    xt_idmap_free(&c->dom);
    free(c->cpu);
    json_object_put(c->events);
    free(c);
}
