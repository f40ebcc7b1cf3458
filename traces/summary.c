/* The summary's state machines: runstates per vcpu, the vcpu on each CPU, HVM exit arcs. The
 * order of the checks in runstate_change follows xenalyze's sched_runstate_process, so that
 * odd recordings (a vcpu seen in another state than the record says) are counted alike. */
#include "traces/summary.h"

#include <stdlib.h>
#include <string.h>

static uint32_t sample_cap(const struct xt_summary *s)
{
    return s->opt.sample_cap ? s->opt.sample_cap : XT_SAMPLE_CAP_DEFAULT;
}

static void add_cycles(struct xt_summary *s, struct xt_cycles *c, uint64_t cycles)
{
    if (!xt_cycles_add(c, cycles, sample_cap(s)))
        s->oom = true;
}

/* The entry for key, inserted in order if new; NULL when out of memory. */
static struct xt_keyed *table_get(struct xt_summary *s, struct xt_table *t, uint64_t key)
{
    uint32_t lo = 0, hi = t->n;

    while (lo < hi) {
        uint32_t mid = (lo + hi) / 2;

        if (t->e[mid].key < key)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < t->n && t->e[lo].key == key)
        return &t->e[lo];
    if (t->n == t->cap) {
        uint32_t cap = t->cap ? 2 * t->cap : 8;
        struct xt_keyed *e = realloc(t->e, cap * sizeof(*e));

        if (!e) {
            s->oom = true;
            return NULL;
        }
        t->e = e;
        t->cap = cap;
    }
    memmove(t->e + lo + 1, t->e + lo, (t->n - lo) * sizeof(*t->e));
    memset(t->e + lo, 0, sizeof(*t->e));
    t->e[lo].key = key;
    t->n++;
    return &t->e[lo];
}

static void table_add(struct xt_summary *s, struct xt_table *t, uint64_t key, int kind,
                      uint64_t cycles)
{
    struct xt_keyed *e = table_get(s, t, key);

    if (e)
        add_cycles(s, &e->c[kind], cycles);
}

static struct xt_vcpu *vcpu_find(struct xt_summary *s, uint32_t domid, uint32_t vid)
{
    struct xt_domain *d = xt_idmap_get(&s->dom, domid & 0xffff);
    struct xt_vcpu *v;

    if (!d) {
        if (!(d = calloc(1, sizeof(*d))) || !xt_idmap_set(&s->dom, domid & 0xffff, d)) {
            free(d);
            s->oom = true;
            return NULL;
        }
        d->id = domid & 0xffff;
    }
    if (!(v = xt_idmap_get(&d->vcpus, vid & 0xffff))) {
        if (!(v = calloc(1, sizeof(*v))) || !xt_idmap_set(&d->vcpus, vid & 0xffff, v)) {
            free(v);
            s->oom = true;
            return NULL;
        }
        v->domid = d->id;
        v->vid = vid;
        v->dom = d;
        v->state = XT_INIT;
        v->pcpu = -1;
    }
    return v;
}

/* What the domain's vcpus do together, from how many are in each state (domain_runstate). */
static enum xt_domain_state domain_state(const struct xt_domain *d)
{
    const uint32_t *n = d->in_state;

    if (n[XT_LOST] == d->known)
        return XT_DOM_LOST;
    if (n[XT_RUNNING])
        return n[XT_RUNNABLE]                   ? XT_DOM_CONCURRENCY_HAZARD
               : n[XT_BLOCKED] || n[XT_OFFLINE] ? XT_DOM_PARTIAL_RUN
                                                : XT_DOM_FULL_RUN;
    if (n[XT_RUNNABLE])
        return n[XT_BLOCKED] || n[XT_OFFLINE] ? XT_DOM_PARTIAL_CONTENTION : XT_DOM_FULL_CONTENTION;
    if (n[XT_BLOCKED] || n[XT_OFFLINE])
        return XT_DOM_BLOCKED;
    return XT_DOM_LOST; /* some lost, the rest in no state xenalyze counts */
}

/* Each change of one of its vcpus ends an interval of the domain's state (charged as xenalyze
 * charges it: if it began before now), and may start another. */
static void domain_update(struct xt_summary *s, struct xt_domain *d, uint64_t tsc)
{
    if (d->state_tsc && d->state_tsc < tsc)
        add_cycles(s, &d->runstate[d->state], tsc - d->state_tsc);
    d->state = domain_state(d);
    d->state_tsc = tsc;
}

/* Charges the interval that ends now to the state it was spent in, then enters `state`. An
 * interval is charged only if its start is known and before now. */
static void runstate_update(struct xt_summary *s, struct xt_vcpu *v, enum xt_vcpu_state state,
                            uint64_t tsc, bool timed)
{
    if (timed && v->state != XT_INIT && v->state_tsc < tsc) {
        add_cycles(s, &v->runstate[v->state], tsc - v->state_tsc);
        if (v->state == XT_RUNNABLE)
            add_cycles(s, &v->runnable[v->runnable_kind], tsc - v->state_tsc);
    }
    if (state == XT_RUNNABLE)
        v->runnable_kind = v->state == XT_RUNNING                             ? XT_PREEMPT
                           : v->state == XT_BLOCKED || v->state == XT_OFFLINE ? XT_WAKE
                                                                              : XT_OTHER;
    if (v->state == XT_INIT)
        v->dom->known++;
    else
        v->dom->in_state[v->state]--;
    v->dom->in_state[state]++;
    v->state = state;
    v->state_tsc = tsc;
    domain_update(s, v->dom, tsc);
}

static void exit_commit(struct xt_summary *s, struct xt_vcpu *v)
{
    table_add(s, &v->exits, (uint64_t)v->exit_svm << 32 | v->exit_reason, 0, v->arc);
    v->exit_total += v->arc;
    /* xenalyze enumerates an MMIO access only if its record carried the data */
    if (v->io == 1 || (v->io == 2 && v->mmio_data))
        table_add(s, v->io == 1 ? &v->pio : &v->mmio, v->io_addr[v->io], v->io_write, v->arc);
    if (v->hypercall >= 0)
        table_add(s, &v->hypercalls, (uint64_t)v->hypercall, 0, v->arc);
    v->exit_open = false;
}

/* v's exit in flight ends now, and is counted with its arc: at the next entry or exit, when v
 * is lost, or when v is runnable again (xenalyze's hvm_close_vmexit: waiting for the device
 * model or in a blocking hypercall is not the exit's work). What the vcpu's records say after
 * that, before its next exit, belongs to no exit. */
static void exit_end(struct xt_summary *s, struct xt_vcpu *v, uint64_t tsc)
{
    if (!v->exit_open)
        return;
    v->arc = tsc > v->exit_tsc ? tsc - v->exit_tsc : 0;
    exit_commit(s, v);
}

/* v's records may have been lost: its state is unknown from now, and its exit in flight, if
 * any, is not counted (xenalyze's lose_vcpu). */
static void lose_vcpu(struct xt_summary *s, struct xt_vcpu *v, uint64_t tsc)
{
    v->exit_open = false;
    runstate_update(s, v, XT_LOST, tsc, true);
}

/* v stops running on CPU p (xenalyze's vcpu_prev_update). */
static void vcpu_stops(struct xt_summary *s, struct xt_pcpu *p, struct xt_vcpu *v,
                       enum xt_vcpu_state state, uint64_t tsc)
{
    bool timed = p && p == s->pcpu + v->pcpu && p->current == v && v->state == XT_RUNNING;

    if (p)
        p->current = NULL;
    runstate_update(s, v, state, tsc, timed);
}

/* A stretch of v's on one CPU ends; it is counted under `cpu`. */
static void affinity_add(struct xt_summary *s, struct xt_vcpu *v, uint32_t cpu, uint64_t cycles)
{
    if (cpu >= v->affinity_cpus) {
        struct xt_cycles *a = realloc(v->affinity_cpu, (cpu + 1) * sizeof(*a));
        if (!a) {
            s->oom = true;
            return;
        }
        memset(a + v->affinity_cpus, 0, (cpu + 1 - v->affinity_cpus) * sizeof(*a));
        v->affinity_cpu = a;
        v->affinity_cpus = cpu + 1;
    }
    add_cycles(s, &v->affinity, cycles);
    add_cycles(s, &v->affinity_cpu[cpu], cycles);
}

/* v scheduled on CPU `cpu`: a move ends its stretch on the CPU before (vcpu_next_update). */
static void affinity_schedule(struct xt_summary *s, struct xt_vcpu *v, uint32_t cpu, uint64_t tsc)
{
    if (!v->activated) {
        v->activated = true;
        v->pcpu_tsc = tsc;
    } else if (v->pcpu != (int)cpu) {
        if (v->pcpu_tsc)
            affinity_add(s, v, cpu, tsc - v->pcpu_tsc);
        v->pcpu_tsc = tsc;
    }
}

/* v starts running on CPU p (vcpu_next_update). */
static void vcpu_runs(struct xt_summary *s, struct xt_pcpu *p, struct xt_vcpu *v, uint64_t tsc)
{
    bool timed = v->state != XT_RUNNING;

    if (p->current && p->current != v) {
        runstate_update(s, p->current, XT_LOST, tsc, true);
        p->current = NULL;
    }
    affinity_schedule(s, v, (uint32_t)(p - s->pcpu), tsc);
    runstate_update(s, v, XT_RUNNING, tsc, timed);
    v->pcpu = (int)(p - s->pcpu);
    p->current = v;
}

/* A vcpu's first record: it is counted from the first time it runs (vcpu_start). */
static void vcpu_start(struct xt_summary *s, struct xt_pcpu *p, struct xt_vcpu *v, unsigned old,
                       unsigned new, uint64_t tsc)
{
    if (old == XT_RUNNING)
        p->current = NULL;
    if (new != XT_RUNNING)
        return;
    /* running -> running: it ran since the CPU's first record */
    runstate_update(s, v, XT_RUNNING, old == XT_RUNNING ? p->first_tsc : tsc, false);
    v->pcpu = (int)(p - s->pcpu);
    p->current = v;
}

static void runstate_change(struct xt_summary *s, struct xt_pcpu *p, const struct xt_rec *r)
{
    bool cont = (r->event & 0xf) == 2;
    unsigned old = cont ? XT_RUNNING : (r->event >> 8) & 0xf;
    unsigned new = cont ? XT_RUNNING : (r->event >> 4) & 0xf;
    struct xt_vcpu *v;

    if (r->n < 1 || old >= XT_RUNSTATES || new >= XT_RUNSTATES ||
        !(v = vcpu_find(s, r->d[0] >> 16, r->d[0] & 0xffff)))
        return;
    if (v->state == XT_INIT) {
        vcpu_start(s, p, v, old, new, r->tsc);
        return;
    }
    if (new == XT_RUNNABLE && v->hvm)
        exit_end(s, v, r->tsc);
    if (v->state != old) {
        if (v->state == XT_LOST && new != XT_RUNNING)
            return;
        if (v->state == XT_RUNNING)
            return; /* xenalyze: "possible tsc skew", not updated */
    }
    if (cont && v->state == XT_LOST) {
        /* it runs here after all: whatever was thought to run here is lost instead */
        if (p->current)
            vcpu_stops(s, p, p->current, XT_LOST, r->tsc);
        vcpu_runs(s, p, v, r->tsc);
    } else if (cont)
        runstate_update(s, v, XT_RUNNING, r->tsc, true);
    else if (old == XT_RUNNING || v->state == XT_RUNNING) {
        vcpu_stops(s, old == XT_RUNNING ? p : (v->pcpu >= 0 ? s->pcpu + v->pcpu : NULL), v, new,
                   r->tsc);
        /* while a CPU is dark, a vcpu that stops may run there unseen */
        if (s->lost_cpus && v->domid != XT_IDLE_DOMAIN)
            lose_vcpu(s, v, r->tsc);
    } else if (new == XT_RUNNING)
        vcpu_runs(s, p, v, r->tsc);
    else
        runstate_update(s, v, new, r->tsc, true);
}

static void hvm_exit(struct xt_summary *s, struct xt_vcpu *v, const struct xt_rec *r)
{
    exit_end(s, v, r->tsc); /* no VMENTRY came: the arc ends here */
    v->exit_open = true;
    v->exit_reason = r->d[0];
    v->exit_svm = r->event == TRC_HVM_SVM_EXIT || r->event == TRC_HVM_SVM_EXIT64;
    v->exit_tsc = r->tsc;
    v->arc = 0;
    v->io = 0;
    v->mmio_data = false;
    v->hypercall = -1;
}

/* An emulated access, counted with its exit's arc as xenalyze counts it: the exit's first access
 * says port or MMIO and the direction, the last of that kind the address. A port read that Xen
 * completes after the vcpu waited for its device model comes after its exit ended, and
 * xenalyze leaves it out, as does a recording that starts mid-exit: so is it here. */
static void hvm_io(struct xt_summary *s, struct xt_vcpu *v, const struct xt_rec *r, int kind)
{
    uint64_t addr = r->d[0];

    if (kind == 2 && (r->event & TRC_64_FLAG) && r->n >= 2)
        addr |= (uint64_t)r->d[1] << 32;
    if (!v->exit_open) {
        table_add(s, kind == 1 ? &v->late_pio : &v->late_mmio, addr, (r->event & 0x200) != 0, 0);
        s->outside_exit++;
        return;
    }
    if (!v->io) {
        v->io = kind;
        v->io_write = (r->event & 0x200) != 0;
    }
    v->io_addr[kind] = addr;
    if (kind == 2 && r->n == ((r->event & TRC_64_FLAG) ? 4u : 2u))
        v->mmio_data = true; /* Xen's record: the address, then the data unless it was a batch */
}

/* A LOST_RECORDS record's first delivery, at its first lost record: what ran on the CPU, and
 * every vcpu not seen running anywhere (it may run on the dark CPU), are lost from then on
 * (xenalyze's process_lost_records). */
static void lost_records_start(struct xt_summary *s, struct xt_pcpu *p, const struct xt_rec *r)
{
    uint64_t first = r->d[2] | (uint64_t)r->d[3] << 32;

    if (p->current) {
        p->current->exit_open = false;
        vcpu_stops(s, p, p->current, XT_LOST, first);
    }
    if (!p->lost_active)
        s->lost_cpus++;
    p->lost_active = true;
    p->lost_tsc = first;
    for (uint32_t dk = 0; xt_idmap_next(&s->dom, &dk); dk++) {
        struct xt_domain *d = xt_idmap_get(&s->dom, dk);

        if (d->id == XT_DEFAULT_DOMAIN)
            continue;
        for (uint32_t k = 0; xt_idmap_next(&d->vcpus, &k); k++) {
            struct xt_vcpu *v = xt_idmap_get(&d->vcpus, k);

            if (v->state != XT_RUNNING)
                lose_vcpu(s, v, first);
        }
    }
    p->lost_valid = true;
    p->lost_did = r->d[1] & 0xffff;
    p->lost_vid = r->d[1] >> 16;
}

/* Its second, at its own TSC: the CPU's trace is back, with the vcpu the record names running
 * (lost_records_end). */
static void lost_records_end(struct xt_summary *s, struct xt_pcpu *p, const struct xt_rec *r)
{
    struct xt_vcpu *v;

    if (!p->lost_active || r->tsc <= p->lost_tsc)
        return;
    if (p->lost_valid && !p->current && (v = vcpu_find(s, p->lost_did, p->lost_vid)))
        vcpu_runs(s, p, v, r->tsc);
    p->lost_valid = false;
    p->lost_active = false;
    s->lost_cpus--;
}

/* Records that belong to the vcpu running on the CPU, as xenalyze charges them: not to the idle
 * vcpu, and not PV records to a vcpu that had HVM ones or the other way round (its first says
 * which it is). */
static void vcpu_record(struct xt_summary *s, struct xt_pcpu *p, const struct xt_rec *r, bool pv)
{
    struct xt_vcpu *v = p->current;
    uint32_t ev = r->event;

    if (!v || v->domid == XT_IDLE_DOMAIN || (pv ? v->hvm : v->pv)) {
        s->unattributed++;
        return;
    }
    if (pv) {
        uint32_t nr;
        v->pv = true;
        if (xt_pv_hypercall_nr(r, &nr))
            table_add(s, &v->hypercalls, nr, 0, 0);
        return;
    }
    v->hvm = true;
    if (xt_is_vmexit(ev) && r->n >= 1)
        hvm_exit(s, v, r);
    else if (ev == TRC_HVM_VMENTRY)
        exit_end(s, v, r->tsc);
    else if ((ev & ~0x200u) == TRC_HVM_IOPORT_READ)
        hvm_io(s, v, r, 1);
    else if ((ev & ~(0x200u | TRC_64_FLAG)) == TRC_HVM_IOMEM_READ)
        hvm_io(s, v, r, 2);
    else if (ev == TRC_HVM_VMMCALL && r->n >= 1) {
        if (v->exit_open)
            v->hypercall = r->d[0];
        else
            s->outside_exit++;
    } else if (ev == TRC_HVM_INJ_VIRQ && r->n >= 1)
        table_add(s, &v->vectors, r->d[0], 0, 0);
}

/* Has the event id a name (xt_event_name), through the summary's cache. */
static bool known_event(struct xt_summary *s, uint32_t event)
{
    const size_t n = sizeof(s->names) / sizeof(s->names[0]);
    struct xt_name_cache *c = &s->names[(event ^ event >> 8 ^ event >> 16) % n];
    if (!c->filled || c->event != event)
        *c = (struct xt_name_cache){event, true, xt_event_name(event) != NULL};
    return c->known;
}

void xt_summary_add(struct xt_summary *s, const struct xt_rec *r)
{
    struct xt_pcpu *p;
    bool pv = xt_class_of(r->event) == XT_CLS_PV; /* every PV record says the vcpu is PV */

    if (r->cpu >= s->nr_pcpus) {
        struct xt_pcpu *np = realloc(s->pcpu, (r->cpu + 1) * sizeof(*np));

        if (!np) {
            s->oom = true;
            return;
        }
        memset(np + s->nr_pcpus, 0, (r->cpu + 1 - s->nr_pcpus) * sizeof(*np));
        s->pcpu = np;
        s->nr_pcpus = r->cpu + 1;
    }
    p = s->pcpu + r->cpu;
    s->records++;
    if (r->has_tsc) {
        if (!s->first_tsc || r->tsc < s->first_tsc)
            s->first_tsc = r->tsc;
        if (r->tsc > s->last_tsc)
            s->last_tsc = r->tsc;
        if (!p->first_tsc)
            p->first_tsc = r->tsc;
        p->last_tsc = r->tsc;
    }
    if (!known_event(s, r->event))
        s->unknown++;
    if (r->event == TRC_EVSIM_CPU_HZ && r->n >= 2) {
        uint64_t hz = r->d[0] | (uint64_t)r->d[1] << 32;

        if (!s->file_cpu_hz && xt_cpu_hz_plausible(hz))
            s->file_cpu_hz = hz;
    } else if (r->event == TRC_LOST_RECORDS && r->n >= 4) {
        if (r->lost_end)
            lost_records_end(s, p, r);
        else
            lost_records_start(s, p, r);
    } else if ((r->event & 0xfffff00fu) == TRC_SCHED_RUNSTATE_CHANGE ||
               r->event == TRC_SCHED_CONTINUE_RUNNING)
        runstate_change(s, p, r);
    else if (pv || xt_is_vcpu_record(r->event))
        vcpu_record(s, p, r, pv);
    if (r->cpu_last)
        xt_summary_cpu_done(s, r->cpu);
}

void xt_summary_finish(struct xt_summary *s)
{
    for (uint32_t dk = 0; xt_idmap_next(&s->dom, &dk); dk++) {
        struct xt_domain *d = xt_idmap_get(&s->dom, dk);

        for (uint32_t k = 0; xt_idmap_next(&d->vcpus, &k); k++) {
            struct xt_vcpu *v = xt_idmap_get(&d->vcpus, k);

            if (v->pcpu_tsc && v->pcpu >= 0)
                affinity_add(s, v, (uint32_t)v->pcpu, s->last_tsc - v->pcpu_tsc);
            v->pcpu_tsc = 0;
        }
    }
}

void xt_summary_cpu_done(struct xt_summary *s, uint32_t cpu)
{
    struct xt_pcpu *p;

    if (cpu >= s->nr_pcpus)
        return;
    p = s->pcpu + cpu;
    if (p->current) {
        lose_vcpu(s, p->current, p->last_tsc);
        p->current = NULL;
    }
}

uint64_t xt_summary_cpu_hz(const struct xt_summary *s)
{
    if (s->opt.cpu_hz)
        return s->opt.cpu_hz;
    return s->file_cpu_hz ? s->file_cpu_hz : XT_CPU_HZ_DEFAULT;
}

int xt_summary_init(struct xt_summary *s, const struct xt_summary_options *opt)
{
    memset(s, 0, sizeof(*s));
    if (opt)
        s->opt = *opt;
    return 0;
}

static void table_free(struct xt_table *t)
{
    for (uint32_t i = 0; i < t->n; i++) {
        xt_cycles_free(&t->e[i].c[0]);
        xt_cycles_free(&t->e[i].c[1]);
    }
    free(t->e);
}

static void vcpu_free(struct xt_vcpu *v)
{
    for (unsigned i = 0; i < XT_STATES; i++)
        xt_cycles_free(&v->runstate[i]);
    for (unsigned i = 0; i < XT_RUNNABLE_KINDS; i++)
        xt_cycles_free(&v->runnable[i]);
    table_free(&v->exits);
    table_free(&v->hypercalls);
    table_free(&v->pio);
    table_free(&v->mmio);
    table_free(&v->late_pio);
    table_free(&v->late_mmio);
    xt_cycles_free(&v->affinity);
    for (uint32_t i = 0; i < v->affinity_cpus; i++)
        xt_cycles_free(&v->affinity_cpu[i]);
    free(v->affinity_cpu);
    table_free(&v->vectors);
    free(v);
}

const struct xt_vcpu *xt_domain_vcpu(const struct xt_domain *d, uint32_t vid)
{
    return d ? xt_idmap_get(&d->vcpus, vid & 0xffff) : NULL;
}

const struct xt_domain *xt_summary_domain(const struct xt_summary *s, uint32_t domid)
{
    return xt_idmap_get(&s->dom, domid & 0xffff);
}

void xt_summary_free(struct xt_summary *s)
{
    for (uint32_t id = 0; xt_idmap_next(&s->dom, &id); id++) {
        struct xt_domain *d = xt_idmap_get(&s->dom, id);

        for (uint32_t vid = 0; xt_idmap_next(&d->vcpus, &vid); vid++)
            vcpu_free(xt_idmap_get(&d->vcpus, vid));
        for (unsigned i = 0; i < XT_DOM_STATES; i++)
            xt_cycles_free(&d->runstate[i]);
        xt_idmap_free(&d->vcpus);
        free(d);
    }
    xt_idmap_free(&s->dom);
    free(s->pcpu);
    memset(s, 0, sizeof(*s));
}
