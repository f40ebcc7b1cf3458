#include "sim/stages.h"

#include <stdlib.h>
#include <string.h>

const char *const stage_names[ST_COUNT] = {
    [ST_TRAP] = "trap", [ST_DISPATCH] = "dispatch", [ST_SET_PENDING] = "set_pending",
    [ST_KICK] = "kick", [ST_WAKE] = "wake",         [ST_INJECT] = "inject",
    [ST_SCAN] = "scan", [ST_HANDLER] = "handler",   [ST_RETURN] = "return",
};

void samples_add(struct samples *s, uint64_t cycles)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 16;
        s->v = realloc(s->v, s->cap * sizeof(*s->v));
    }
    s->v[s->n++] = cycles;
}

void samples_free(struct samples *s)
{
    free(s->v);
    memset(s, 0, sizeof(*s));
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* Nearest rank: the smallest sample with at least p% of the samples at or below it. */
static uint64_t percentile(const struct samples *s, unsigned p)
{
    size_t rank = (s->n * p + 99) / 100;
    return s->v[rank ? rank - 1 : 0];
}

struct distribution samples_distribution(struct samples *s)
{
    struct distribution d = {0};
    if (!s->n)
        return d;
    qsort(s->v, s->n, sizeof(*s->v), cmp_u64);
    unsigned __int128 sum = 0;
    for (size_t i = 0; i < s->n; i++)
        sum += s->v[i];
    d.count = s->n;
    d.mean = (uint64_t)(sum / s->n);
    d.p50 = percentile(s, 50);
    d.p95 = percentile(s, 95);
    d.p99 = percentile(s, 99);
    d.max = s->v[s->n - 1];
    return d;
}

uint64_t stage_per_event(const struct stage_port *p, enum stage k)
{
    unsigned __int128 sum = 0;
    for (size_t i = 0; i < p->stage[k].n; i++)
        sum += p->stage[k].v[i];
    return p->e2e.n ? (uint64_t)(sum / p->e2e.n) : 0;
}

static struct stage_port *port_of(struct stage_domain *sd, uint32_t port)
{
    if (port >= sd->nr_ports) {
        uint32_t n = sd->nr_ports ? sd->nr_ports : 64;
        while (n <= port)
            n *= 2;
        sd->port = realloc(sd->port, n * sizeof(*sd->port));
        memset(sd->port + sd->nr_ports, 0, (n - sd->nr_ports) * sizeof(*sd->port));
        sd->nr_ports = n;
    }
    return &sd->port[port];
}

static void waiting_add(struct stage_vcpu *v, uint32_t port)
{
    if (v->nr_waiting == v->cap_waiting) {
        v->cap_waiting = v->cap_waiting ? 2 * v->cap_waiting : 8;
        v->waiting = realloc(v->waiting, v->cap_waiting * sizeof(*v->waiting));
    }
    v->waiting[v->nr_waiting++] = port;
}

void stages_raise(struct stage_domain *sd, struct stage_vcpu *target, uint32_t port, unsigned vcpu,
                  bool from_hypercall, uint64_t t0, uint64_t trap_end, uint64_t set_pending_start,
                  uint64_t set_pending_end, bool target_blocked)
{
    struct stage_port *p = port_of(sd, port);
    /* A newer raise of a port whose last event was never seen consumed starts over. */
    p->f = (struct stage_flight){.active = true,
                                 .vcpu = vcpu,
                                 .from_hypercall = from_hypercall,
                                 .blocked_target = target_blocked,
                                 .t = {t0, trap_end, set_pending_start, set_pending_end}};
    waiting_add(target, port);
}

void stages_inject(struct stage_domain *sd, struct stage_vcpu *v, uint64_t start, uint64_t end)
{
    for (size_t i = 0; i < v->nr_waiting; i++) {
        struct stage_port *p = port_of(sd, v->waiting[i]);
        if (!p->f.active || p->f.injected)
            continue;
        p->f.injected = true;
        p->f.t[4] = start;
        p->f.t[5] = end;
    }
    v->nr_waiting = 0;
}

static uint64_t span(uint64_t from, uint64_t to)
{
    return to > from ? to - from : 0;
}

/* Up to the handler: the sender's stages, the delivery, and the end-to-end latency. */
static void record_delivery(struct stage_port *p, uint64_t now)
{
    const uint64_t *t = p->f.t;
    p->f.t[6] = now;
    if (p->f.from_hypercall) {
        samples_add(&p->stage[ST_TRAP], span(t[0], t[1]));
        samples_add(&p->stage[ST_DISPATCH], span(t[1], t[2]));
    }
    samples_add(&p->stage[ST_SET_PENDING], span(t[2], t[3]));
    if (p->f.injected) {
        samples_add(&p->stage[p->f.blocked_target ? ST_WAKE : ST_KICK], span(t[3], t[4]));
        samples_add(&p->stage[ST_INJECT], span(t[4], t[5]));
        samples_add(&p->stage[ST_SCAN], span(t[5], now));
    }
    samples_add(&p->e2e, span(t[0], now));
}

/* The handler of the port being handled ends (the next port's clear, or the iret). */
static void end_handler(struct stage_domain *sd, struct stage_vcpu *v, uint64_t now)
{
    if (v->handling < 0)
        return;
    struct stage_port *p = port_of(sd, (uint32_t)v->handling);
    p->f.t[7] = now;
    samples_add(&p->stage[ST_HANDLER], span(p->f.t[6], now));
    v->handling = -1;
}

void stages_cleared(struct stage_domain *sd, struct stage_vcpu *v, uint32_t port, uint64_t now)
{
    if (port >= sd->nr_ports || !sd->port[port].f.active)
        return;
    struct stage_port *p = &sd->port[port];
    end_handler(sd, v, now);
    record_delivery(p, now);
    p->f.active = false;
    if (p->f.injected)
        v->handling = port;
}

void stages_iret(struct stage_domain *sd, struct stage_vcpu *v, uint64_t start, uint64_t end)
{
    if (v->handling < 0)
        return;
    struct stage_port *p = port_of(sd, (uint32_t)v->handling);
    end_handler(sd, v, start);
    samples_add(&p->stage[ST_RETURN], span(start, end));
}

void stages_domain_free(struct stage_domain *sd)
{
    for (uint32_t i = 0; i < sd->nr_ports; i++) {
        for (unsigned k = 0; k < ST_COUNT; k++)
            samples_free(&sd->port[i].stage[k]);
        samples_free(&sd->port[i].e2e);
    }
    free(sd->port);
    memset(sd, 0, sizeof(*sd));
}

void stages_vcpu_free(struct stage_vcpu *sv)
{
    free(sv->waiting);
    memset(sv, 0, sizeof(*sv));
}
