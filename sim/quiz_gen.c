/* `evsim quiz`: running operations through the model and watching what they do, and the
 * seeded generator that picks them. The generator runs each operation as soon as it picks it,
 * so that the next pick sees the real state (which ports are bound, masked, pending, which
 * vcpus are blocked): every operation is valid unless it is meant to fail. */
#include <string.h>

#include "models/evtchn.h"
#include "sim/quiz.h"

/* ---- running one operation ---- */

static struct vcpu *actor(struct quiz_host *h, const struct quiz_op *op)
{
    return qh_vcpu(h, op->dom, op->vcpu);
}

static long run_alloc_unbound(struct quiz_host *h, const struct quiz_op *op, struct quiz_outcome *o)
{
    struct evtchn_alloc_unbound a = {.dom = DOMID_SELF, .remote_dom = op->remote_dom};
    long rc = qh_event_channel_op(h, actor(h, op), EVTCHNOP_alloc_unbound, &a, sizeof(a));

    o->port = a.port;
    return rc;
}

static long run_bind_interdomain(struct quiz_host *h, const struct quiz_op *op,
                                 struct quiz_outcome *o)
{
    struct evtchn_bind_interdomain b = {.remote_dom = op->remote_dom,
                                        .remote_port = op->remote_port};
    long rc = qh_event_channel_op(h, actor(h, op), EVTCHNOP_bind_interdomain, &b, sizeof(b));

    o->port = b.local_port;
    return rc;
}

static long run_bind_ipi(struct quiz_host *h, const struct quiz_op *op, struct quiz_outcome *o)
{
    struct evtchn_bind_ipi b = {.vcpu = op->target_vcpu};
    long rc = qh_event_channel_op(h, actor(h, op), EVTCHNOP_bind_ipi, &b, sizeof(b));

    o->port = b.port;
    return rc;
}

static long run_bind_virq(struct quiz_host *h, const struct quiz_op *op, struct quiz_outcome *o)
{
    struct evtchn_bind_virq b = {.virq = op->virq, .vcpu = op->target_vcpu};
    long rc = qh_event_channel_op(h, actor(h, op), EVTCHNOP_bind_virq, &b, sizeof(b));

    o->port = b.port;
    return rc;
}

static long run_send(struct quiz_host *h, const struct quiz_op *op, struct quiz_outcome *o)
{
    struct evtchn_send s = {.port = op->port};

    (void)o;
    return qh_event_channel_op(h, actor(h, op), EVTCHNOP_send, &s, sizeof(s));
}

static long run_unmask(struct quiz_host *h, const struct quiz_op *op, struct quiz_outcome *o)
{
    struct evtchn_unmask u = {.port = op->port};

    (void)o;
    return qh_event_channel_op(h, actor(h, op), EVTCHNOP_unmask, &u, sizeof(u));
}

static long run_close(struct quiz_host *h, const struct quiz_op *op, struct quiz_outcome *o)
{
    struct evtchn_close c = {.port = op->port};

    (void)o;
    return qh_event_channel_op(h, actor(h, op), EVTCHNOP_close, &c, sizeof(c));
}

static long run_bind_vcpu(struct quiz_host *h, const struct quiz_op *op, struct quiz_outcome *o)
{
    struct evtchn_bind_vcpu b = {.port = op->port, .vcpu = op->target_vcpu};

    (void)o;
    return qh_event_channel_op(h, actor(h, op), EVTCHNOP_bind_vcpu, &b, sizeof(b));
}

static long run_set_priority(struct quiz_host *h, const struct quiz_op *op, struct quiz_outcome *o)
{
    struct evtchn_set_priority p = {.port = op->port, .priority = op->priority};

    (void)o;
    return qh_event_channel_op(h, actor(h, op), EVTCHNOP_set_priority, &p, sizeof(p));
}

static long run_mask(struct quiz_host *h, const struct quiz_op *op, struct quiz_outcome *o)
{
    (void)o;
    qh_guest_mask(h, qh_domain(h, op->dom), op->port);
    return 0;
}

static long run_handle(struct quiz_host *h, const struct quiz_op *op, struct quiz_outcome *o)
{
    o->nr_handled = qh_guest_handle(h, actor(h, op), o->handled, QH_MAX_PORTS);
    return 0;
}

static long run_block(struct quiz_host *h, const struct quiz_op *op, struct quiz_outcome *o)
{
    long rc = qh_sched_block(h, actor(h, op));

    o->blocked_after = actor(h, op)->run_state == VCPU_BLOCKED;
    return rc;
}

static long run_upcall_mask(struct quiz_host *h, const struct quiz_op *op, struct quiz_outcome *o)
{
    (void)o;
    qh_guest_set_upcall_mask(h, actor(h, op), true);
    return 0;
}

static long run_upcall_unmask(struct quiz_host *h, const struct quiz_op *op, struct quiz_outcome *o)
{
    (void)o;
    qh_guest_set_upcall_mask(h, actor(h, op), false);
    return 0;
}

static long run_raise_virq(struct quiz_host *h, const struct quiz_op *op, struct quiz_outcome *o)
{
    (void)o;
    qh_raise_vcpu_virq(h, qh_vcpu(h, op->dom, op->target_vcpu), op->virq);
    return 0;
}

typedef long (*quiz_run_fn)(struct quiz_host *, const struct quiz_op *, struct quiz_outcome *);

static const quiz_run_fn quiz_runners[QK_KINDS] = {
    [QK_ALLOC_UNBOUND] = run_alloc_unbound,
    [QK_BIND_INTERDOMAIN] = run_bind_interdomain,
    [QK_BIND_IPI] = run_bind_ipi,
    [QK_BIND_VIRQ] = run_bind_virq,
    [QK_SEND] = run_send,
    [QK_UNMASK] = run_unmask,
    [QK_CLOSE] = run_close,
    [QK_BIND_VCPU] = run_bind_vcpu,
    [QK_SET_PRIORITY] = run_set_priority,
    [QK_MASK] = run_mask,
    [QK_HANDLE] = run_handle,
    [QK_BLOCK] = run_block,
    [QK_UPCALL_MASK] = run_upcall_mask,
    [QK_UPCALL_UNMASK] = run_upcall_unmask,
    [QK_RAISE_VIRQ] = run_raise_virq,
};

/* The port an operation's event goes to, as the state stands before it runs. */
static bool find_target(struct quiz_host *h, const struct quiz_op *op, domid_t *dom, uint32_t *port)
{
    struct domain *d = qh_domain(h, op->dom);
    const struct evtchn *chn = evtchn_from_port(d, op->port);

    switch (op->kind) {
    case QK_SEND:
        if (chn && chn->state == ECS_INTERDOMAIN) {
            *dom = chn->u.interdomain.remote_domid;
            *port = chn->u.interdomain.remote_port;
            return true;
        }
        *dom = op->dom;
        *port = op->port;
        return chn && chn->state == ECS_IPI;
    case QK_UNMASK:
        *dom = op->dom;
        *port = op->port;
        return chn && evtchn_usable(chn);
    case QK_RAISE_VIRQ:
        *dom = op->dom;
        *port = qh_vcpu(h, op->dom, op->target_vcpu)->virq_to_evtchn[op->virq];
        return *port != 0;
    default:
        return false;
    }
}

/* What the guest and Xen had before the operation, for the answer's reason. */
static void observe_before(struct quiz_host *h, const struct quiz_op *op, struct quiz_outcome *o)
{
    struct vcpu *v = op->kind == QK_BLOCK ? actor(h, op) : NULL;

    o->has_target = find_target(h, op, &o->target_dom, &o->target_port);
    if (o->has_target) {
        struct domain *td = qh_domain(h, o->target_dom);

        o->target_vcpu = evtchn_from_port(td, o->target_port)->notify_vcpu_id;
        o->was_pending = qh_port_pending(h, td, o->target_port);
        o->was_masked = qh_port_masked(h, td, o->target_port);
        v = domain_vcpu(td, o->target_vcpu);
    }
    if (v) {
        o->upcall_was_pending = qh_upcall_pending(v);
        o->upcall_was_masked = qh_upcall_masked(v);
        o->was_blocked = v->run_state == VCPU_BLOCKED;
    }
}

static void note_upcall(struct quiz_outcome *o, domid_t dom, unsigned vcpu, bool woke)
{
    if (o->nr_upcalls < QUIZ_MAX_SEEN)
        o->upcall[o->nr_upcalls++] = (struct quiz_upcall){.dom = dom, .vcpu = vcpu, .woke = woke};
    o->nr_wakes += woke;
}

/* bind_interdomain raises the new port at once (Xen: events sent while the remote port was
 * unbound may have been lost); it had no port before, so its facts are taken now: it was not
 * pending (a free port has nothing pending: close cleared it), its mask is what the guest
 * left there. */
static void observe_bound_port(struct quiz_host *h, const struct quiz_op *op,
                               struct quiz_outcome *o, const bool *upcall_before)
{
    struct domain *d = qh_domain(h, op->dom);

    o->has_target = true;
    o->target_dom = op->dom;
    o->target_port = o->port;
    o->target_vcpu = evtchn_from_port(d, o->port)->notify_vcpu_id;
    o->was_masked = qh_port_masked(h, d, o->port);
    o->upcall_was_pending = upcall_before[op->dom * QH_MAX_VCPUS + o->target_vcpu];
    o->upcall_was_masked = qh_upcall_masked(d->vcpu[o->target_vcpu]);
    o->raised = false;
    for (unsigned i = 0; i < h->nr_events; i++)
        if (h->event[i].kind == QH_RAISE && h->event[i].port == o->port &&
            h->event[i].domid == op->dom)
            o->raised = true;
}

/* What the sink saw: every 0 -> 1 edge of evtchn_upcall_pending reaches it as a kick (the vcpu
 * runs) or a wake (it was blocked); raises say whether the target port went pending. */
static void observe_after(struct quiz_host *h, const struct quiz_op *op, struct quiz_outcome *o,
                          const bool *upcall_before)
{
    for (unsigned i = 0; i < h->nr_events; i++) {
        const struct qh_event *e = &h->event[i];

        if (e->kind == QH_KICK || e->kind == QH_WAKE)
            note_upcall(o, e->domid, e->vcpu, e->kind == QH_WAKE);
        else if (o->has_target && e->domid == o->target_dom && e->port == o->target_port) {
            o->raised = true;
            o->newly_pending |= e->newly_pending;
        }
    }
    if (op->kind == QK_BIND_INTERDOMAIN && o->rc == 0)
        observe_bound_port(h, op, o, upcall_before);
    if (o->has_target)
        o->now_pending = qh_port_pending(h, qh_domain(h, o->target_dom), o->target_port);
    /* Only a send that found its remote end bound reaches a port. */
    o->target_bound = o->has_target;
    if (op->kind == QK_BIND_INTERDOMAIN || op->kind == QK_ALLOC_UNBOUND ||
        op->kind == QK_BIND_IPI || op->kind == QK_BIND_VIRQ) {
        const struct evtchn *chn = evtchn_from_port(qh_domain(h, op->dom), o->port);

        o->notify_vcpu = o->rc == 0 && chn ? chn->notify_vcpu_id : 0;
    }
}

static void final_state(struct quiz *q, struct quiz_host *h)
{
    for (unsigned id = 0; id < q->nr_domains; id++) {
        struct domain *d = qh_domain(h, (domid_t)id);
        struct quiz_final *f = &q->final[id];

        memset(f, 0, sizeof(*f));
        for (uint32_t p = 1; p < QH_MAX_PORTS; p++) {
            const struct evtchn *chn = evtchn_from_port(d, p);
            uint64_t bit = UINT64_C(1) << p;

            if (qh_port_pending(h, d, p))
                f->pending |= bit;
            if (qh_port_masked(h, d, p))
                f->masked |= bit;
            if (chn && chn->state > ECS_RESERVED)
                f->bound |= bit;
        }
    }
}

static void run_op(struct quiz *q, struct quiz_host *h, const struct quiz_op *op)
{
    struct quiz_step *s = &q->step[q->nr_steps++];

    bool upcall_before[QH_MAX_DOMAINS * QH_MAX_VCPUS] = {false};

    memset(s, 0, sizeof(*s));
    s->op = *op;
    for (domid_t d = 0; d < q->nr_domains; d++)
        for (unsigned i = 0; i < q->vcpus[d]; i++)
            upcall_before[d * QH_MAX_VCPUS + i] = qh_upcall_pending(qh_vcpu(h, d, i));
    observe_before(h, op, &s->out);
    qh_clear_events(h);
    s->out.rc = quiz_runners[op->kind](h, op, &s->out);
    observe_after(h, op, &s->out, upcall_before);
}

static int quiz_start(struct quiz *q, struct quiz_host *h, enum qh_abi abi, unsigned nr_domains,
                      const unsigned *vcpus, const char **why)
{
    memset(q, 0, sizeof(*q));
    q->cfg.abi = abi;
    q->nr_domains = nr_domains;
    for (unsigned i = 0; i < nr_domains; i++)
        q->vcpus[i] = vcpus[i];
    if (qh_init(h, abi, nr_domains, vcpus, why) != 0) {
        qh_destroy(h);
        return -1;
    }
    return 0;
}

int quiz_run_script(struct quiz *q, enum qh_abi abi, unsigned nr_domains, const unsigned *vcpus,
                    const struct quiz_op *ops, unsigned nr_ops, const char **why)
{
    struct quiz_host h;

    if (nr_ops > QUIZ_MAX_OPS) {
        *why = "too many operations";
        return -1;
    }
    if (quiz_start(q, &h, abi, nr_domains, vcpus, why) != 0)
        return -1;
    for (unsigned i = 0; i < nr_ops; i++)
        run_op(q, &h, &ops[i]);
    final_state(q, &h);
    qh_destroy(&h);
    return 0;
}

/* ---- the generator ---- */

struct gen {
    struct quiz *q;
    struct quiz_host *h;
    uint64_t rng;
};

/* splitmix64: small, and the same sequence on every machine. */
static uint64_t gen_next(struct gen *g)
{
    uint64_t z = (g->rng += UINT64_C(0x9e3779b97f4a7c15));

    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

static unsigned gen_below(struct gen *g, unsigned n)
{
    return n ? (unsigned)(gen_next(g) % n) : 0;
}

static bool gen_room(const struct gen *g)
{
    return g->q->nr_steps < g->q->cfg.ops;
}

/* Run op if the script has room for it; false when it is full. */
static bool gen_emit(struct gen *g, struct quiz_op op)
{
    if (!gen_room(g))
        return false;
    run_op(g->q, g->h, &op);
    return true;
}

/* The vcpu that runs the domain's code next: its first vcpu that is not blocked, or -1. */
static int gen_actor(struct gen *g, domid_t dom)
{
    struct domain *d = qh_domain(g->h, dom);

    for (unsigned i = 0; i < d->max_vcpus; i++)
        if (d->vcpu[i]->run_state == VCPU_RUNNABLE)
            return (int)i;
    return -1;
}

static const struct evtchn *gen_chn(struct gen *g, domid_t dom, uint32_t port)
{
    return evtchn_from_port(qh_domain(g->h, dom), port);
}

/* A port a domain that can act may send on, whose event reaches a port: an interdomain port
 * (the other end's) or an IPI port (itself). `want` filters the target further. Picked at
 * random among those that qualify; false if none. */
struct gen_send {
    domid_t dom;
    int actor;
    uint32_t port;
    domid_t tdom;
    uint32_t tport;
    unsigned tvcpu;
};

typedef bool (*gen_want_fn)(struct gen *g, const struct gen_send *s);

static bool gen_send_target(struct gen *g, domid_t dom, uint32_t port, struct gen_send *s)
{
    const struct evtchn *chn = gen_chn(g, dom, port);

    if (!chn || (chn->state != ECS_INTERDOMAIN && chn->state != ECS_IPI))
        return false;
    s->dom = dom;
    s->port = port;
    s->actor = gen_actor(g, dom);
    s->tdom = chn->state == ECS_IPI ? dom : chn->u.interdomain.remote_domid;
    s->tport = chn->state == ECS_IPI ? port : chn->u.interdomain.remote_port;
    s->tvcpu = gen_chn(g, s->tdom, s->tport)->notify_vcpu_id;
    return s->actor >= 0;
}

static bool gen_pick_send(struct gen *g, gen_want_fn want, struct gen_send *out)
{
    struct gen_send all[QH_MAX_DOMAINS * QH_MAX_PORTS];
    unsigned n = 0;

    for (domid_t dom = 0; dom < g->q->nr_domains; dom++)
        for (uint32_t p = 1; p < QH_MAX_PORTS; p++)
            if (gen_send_target(g, dom, p, &all[n]) && (!want || want(g, &all[n])))
                n++;
    if (!n)
        return false;
    *out = all[gen_below(g, n)];
    return true;
}

static bool gen_send(struct gen *g, const struct gen_send *s)
{
    int a = gen_actor(g, s->dom);

    return a >= 0 &&
           gen_emit(g, (struct quiz_op){
                           .kind = QK_SEND, .dom = s->dom, .vcpu = (unsigned)a, .port = s->port});
}

/* The target's domain can act (mask, unmask, close, rebind its port). */
static bool want_target_acts(struct gen *g, const struct gen_send *s)
{
    return gen_actor(g, s->tdom) >= 0;
}

static bool want_target_idle(struct gen *g, const struct gen_send *s)
{
    struct domain *td = qh_domain(g->h, s->tdom);

    return want_target_acts(g, s) && !qh_port_pending(g->h, td, s->tport) &&
           !qh_port_masked(g->h, td, s->tport);
}

static bool want_interdomain_target(struct gen *g, const struct gen_send *s)
{
    return s->tdom != s->dom && want_target_acts(g, s);
}

static bool want_movable(struct gen *g, const struct gen_send *s)
{
    return want_interdomain_target(g, s) && g->q->vcpus[s->tdom] > 1 &&
           !qh_port_pending(g->h, qh_domain(g->h, s->tdom), s->tport);
}

/* The target's notify vcpu can block and the sender can still act afterwards. */
static bool want_blockable(struct gen *g, const struct gen_send *s)
{
    struct vcpu *tv = qh_vcpu(g->h, s->tdom, s->tvcpu);

    if (tv->run_state != VCPU_RUNNABLE || qh_port_pending(g->h, tv->domain, s->tport))
        return false;
    if (s->dom != s->tdom)
        return true;
    for (unsigned i = 0; i < g->q->vcpus[s->dom]; i++)
        if (i != s->tvcpu && qh_vcpu(g->h, s->dom, i)->run_state == VCPU_RUNNABLE)
            return true;
    return false;
}

static unsigned gen_count_state(struct gen *g, enum evtchn_state state)
{
    unsigned n = 0;

    for (domid_t dom = 0; dom < g->q->nr_domains; dom++)
        for (uint32_t p = 1; p < QH_MAX_PORTS; p++) {
            const struct evtchn *chn = gen_chn(g, dom, p);
            n += chn && chn->state == state;
        }
    return n;
}

/* ---- stories: a few operations that make one case happen ---- */

/* A new interdomain channel: one domain offers a port, the other binds it. */
static bool story_channel(struct gen *g)
{
    domid_t a = (domid_t)gen_below(g, g->q->nr_domains);
    domid_t b = (domid_t)((a + 1 + gen_below(g, g->q->nr_domains - 1)) % g->q->nr_domains);
    int va = gen_actor(g, a), vb = gen_actor(g, b);

    if (va < 0 || vb < 0)
        return false;
    if (!gen_emit(g,
                  (struct quiz_op){
                      .kind = QK_ALLOC_UNBOUND, .dom = a, .vcpu = (unsigned)va, .remote_dom = b}))
        return true;
    uint32_t offered = g->q->step[g->q->nr_steps - 1].out.port;
    if (!gen_emit(g, (struct quiz_op){.kind = QK_BIND_INTERDOMAIN,
                                      .dom = b,
                                      .vcpu = (unsigned)vb,
                                      .remote_dom = a,
                                      .remote_port = offered}) ||
        gen_below(g, 3) == 0)
        return true;
    /* Usually the new port's vcpu takes the event the bind raised before the story goes on. */
    const struct quiz_step *bound = &g->q->step[g->q->nr_steps - 1];
    struct vcpu *nv = qh_vcpu(g->h, b, bound->out.notify_vcpu);
    if (nv->run_state == VCPU_RUNNABLE && qh_upcall_pending(nv))
        gen_emit(g, (struct quiz_op){.kind = QK_HANDLE, .dom = b, .vcpu = nv->vcpu_id});
    return true;
}

static bool story_ipi(struct gen *g)
{
    domid_t dom = (domid_t)gen_below(g, g->q->nr_domains);
    int a = gen_actor(g, dom);
    struct gen_send s;

    if (a < 0)
        return false;
    if (!gen_emit(g, (struct quiz_op){.kind = QK_BIND_IPI,
                                      .dom = dom,
                                      .vcpu = (unsigned)a,
                                      .target_vcpu = gen_below(g, g->q->vcpus[dom])}))
        return true;
    if (gen_send_target(g, dom, g->q->step[g->q->nr_steps - 1].out.port, &s))
        gen_send(g, &s);
    return true;
}

/* VIRQ_TIMER on a vcpu: bound first if it is not, then raised by Xen. */
static bool story_virq(struct gen *g)
{
    domid_t dom = (domid_t)gen_below(g, g->q->nr_domains);
    unsigned t = gen_below(g, g->q->vcpus[dom]);
    int a = gen_actor(g, dom);

    if (!qh_vcpu(g->h, dom, t)->virq_to_evtchn[VIRQ_TIMER]) {
        if (a < 0 || !gen_emit(g, (struct quiz_op){.kind = QK_BIND_VIRQ,
                                                   .dom = dom,
                                                   .vcpu = (unsigned)a,
                                                   .virq = VIRQ_TIMER,
                                                   .target_vcpu = t}))
            return a >= 0;
    }
    gen_emit(g, (struct quiz_op){
                    .kind = QK_RAISE_VIRQ, .dom = dom, .target_vcpu = t, .virq = VIRQ_TIMER});
    return true;
}

/* The guest masks the target port, an event arrives, and (usually) the guest unmasks it: the
 * unmask re-raises what arrived meanwhile. */
static bool story_masked_send(struct gen *g)
{
    struct gen_send s;

    if (!gen_pick_send(g, want_target_idle, &s))
        return false;
    if (!gen_emit(g, (struct quiz_op){.kind = QK_MASK,
                                      .dom = s.tdom,
                                      .vcpu = (unsigned)gen_actor(g, s.tdom),
                                      .port = s.tport}) ||
        !gen_send(g, &s) || gen_below(g, 3) == 0)
        return true;
    int a = gen_actor(g, s.tdom);
    if (a >= 0)
        gen_emit(g, (struct quiz_op){
                        .kind = QK_UNMASK, .dom = s.tdom, .vcpu = (unsigned)a, .port = s.tport});
    return true;
}

/* Two sends in a row: the second finds the port pending and coalesces. */
static bool story_coalesce(struct gen *g)
{
    struct gen_send s;

    if (!gen_pick_send(g, want_target_idle, &s))
        return false;
    if (gen_send(g, &s))
        gen_send(g, &s);
    return true;
}

/* The target's notify vcpu blocks, then an event arrives for it. */
static bool story_wake(struct gen *g)
{
    struct gen_send s;

    if (!gen_pick_send(g, want_blockable, &s))
        return false;
    if (gen_emit(g, (struct quiz_op){.kind = QK_BLOCK, .dom = s.tdom, .vcpu = s.tvcpu}))
        gen_send(g, &s);
    return true;
}

/* bind_vcpu moves the target's notifications to another vcpu; the next event goes there. */
static bool story_move(struct gen *g)
{
    struct gen_send s;

    if (!gen_pick_send(g, want_movable, &s))
        return false;
    unsigned to = (s.tvcpu + 1 + gen_below(g, g->q->vcpus[s.tdom] - 1)) % g->q->vcpus[s.tdom];
    if (gen_emit(g, (struct quiz_op){.kind = QK_BIND_VCPU,
                                     .dom = s.tdom,
                                     .vcpu = (unsigned)gen_actor(g, s.tdom),
                                     .port = s.tport,
                                     .target_vcpu = to}))
        gen_send(g, &s);
    return true;
}

/* The target vcpu disables event delivery (evtchn_upcall_mask), an event arrives, then it
 * enables delivery again. */
static bool story_upcall_mask(struct gen *g)
{
    struct gen_send s;

    if (!gen_pick_send(g, want_blockable, &s))
        return false;
    if (gen_emit(g, (struct quiz_op){.kind = QK_UPCALL_MASK, .dom = s.tdom, .vcpu = s.tvcpu}) &&
        gen_send(g, &s))
        gen_emit(g, (struct quiz_op){.kind = QK_UPCALL_UNMASK, .dom = s.tdom, .vcpu = s.tvcpu});
    return true;
}

/* An event is left pending and the receiver closes the port; sometimes the sender sends
 * again on its now unbound end. */
static bool story_close_pending(struct gen *g)
{
    struct gen_send s;

    if (!gen_pick_send(g, want_interdomain_target, &s) || !gen_send(g, &s))
        return false;
    int a = gen_actor(g, s.tdom);
    if (a >= 0 &&
        gen_emit(g,
                 (struct quiz_op){
                     .kind = QK_CLOSE, .dom = s.tdom, .vcpu = (unsigned)a, .port = s.tport}) &&
        gen_below(g, 2))
        gen_send(g, &s);
    return true;
}

/* A vcpu with an upcall pending runs its handler. */
static bool story_handle(struct gen *g)
{
    struct vcpu *cand[QH_MAX_DOMAINS * QH_MAX_VCPUS];
    unsigned n = 0;

    for (domid_t dom = 0; dom < g->q->nr_domains; dom++)
        for (unsigned i = 0; i < g->q->vcpus[dom]; i++) {
            struct vcpu *v = qh_vcpu(g->h, dom, i);
            if (v->run_state == VCPU_RUNNABLE && qh_upcall_pending(v) && !qh_upcall_masked(v))
                cand[n++] = v;
        }
    if (!n)
        return false;
    struct vcpu *v = cand[gen_below(g, n)];
    gen_emit(g, (struct quiz_op){.kind = QK_HANDLE, .dom = v->domain->domid, .vcpu = v->vcpu_id});
    return true;
}

/* Unmask a port the guest masked earlier. */
static bool story_unmask(struct gen *g)
{
    domid_t dom[QH_MAX_DOMAINS * QH_MAX_PORTS];
    uint32_t port[QH_MAX_DOMAINS * QH_MAX_PORTS];
    unsigned n = 0;

    for (domid_t d = 0; d < g->q->nr_domains; d++)
        for (uint32_t p = 1; p < QH_MAX_PORTS; p++) {
            const struct evtchn *chn = gen_chn(g, d, p);
            if (gen_actor(g, d) >= 0 && chn && evtchn_usable(chn) &&
                qh_port_masked(g->h, qh_domain(g->h, d), p)) {
                dom[n] = d;
                port[n++] = p;
            }
        }
    if (!n)
        return false;
    unsigned k = gen_below(g, n);
    gen_emit(g, (struct quiz_op){.kind = QK_UNMASK,
                                 .dom = dom[k],
                                 .vcpu = (unsigned)gen_actor(g, dom[k]),
                                 .port = port[k]});
    return true;
}

/* FIFO: the target port moves to another priority queue, then an event arrives. */
static bool story_priority(struct gen *g)
{
    struct gen_send s;

    if (g->q->cfg.abi != QH_ABI_FIFO || !gen_pick_send(g, want_target_acts, &s))
        return false;
    if (gen_emit(g, (struct quiz_op){.kind = QK_SET_PRIORITY,
                                     .dom = s.tdom,
                                     .vcpu = (unsigned)gen_actor(g, s.tdom),
                                     .port = s.tport,
                                     .priority = gen_below(g, EVTCHN_FIFO_PRIORITY_MIN + 1)}))
        gen_send(g, &s);
    return true;
}

/* ---- operations meant to fail ---- */

/* Each fills op (dom and vcpu already set to an actor) or returns false if it cannot apply. */
typedef bool (*gen_invalid_fn)(struct gen *g, struct quiz_op *op);

static uint32_t gen_free_port(struct gen *g, domid_t dom)
{
    for (uint32_t p = 1; p < QH_MAX_PORTS; p++) {
        const struct evtchn *chn = gen_chn(g, dom, p);
        if (!chn || chn->state == ECS_FREE)
            return p;
    }
    return 0;
}

static uint32_t gen_port_in_state(struct gen *g, domid_t dom, enum evtchn_state state)
{
    uint32_t found[QH_MAX_PORTS];
    unsigned n = 0;

    for (uint32_t p = 1; p < QH_MAX_PORTS; p++) {
        const struct evtchn *chn = gen_chn(g, dom, p);
        if (chn && chn->state == state)
            found[n++] = p;
    }
    return n ? found[gen_below(g, n)] : 0;
}

static bool invalid_send_free(struct gen *g, struct quiz_op *op)
{
    op->kind = QK_SEND;
    op->port = gen_free_port(g, op->dom);
    op->invalid_why = "the port is not bound (ECS_FREE): evtchn_send accepts only unbound, "
                      "interdomain and IPI ports";
    return op->port != 0;
}

static bool invalid_bind_vcpu_ipi(struct gen *g, struct quiz_op *op)
{
    op->kind = QK_BIND_VCPU;
    op->port = gen_port_in_state(g, op->dom, ECS_IPI);
    op->target_vcpu = 0;
    op->invalid_why = "an IPI port notifies the vcpu bind_ipi named, for good: "
                      "evtchn_bind_vcpu refuses IPI ports";
    return op->port != 0;
}

static bool invalid_bind_vcpu_nonexistent(struct gen *g, struct quiz_op *op)
{
    op->kind = QK_BIND_VCPU;
    op->port = gen_port_in_state(g, op->dom, ECS_INTERDOMAIN);
    op->target_vcpu = g->q->vcpus[op->dom];
    op->invalid_why = "the domain has no such vcpu: evtchn_bind_vcpu checks the vcpu first";
    return op->port != 0;
}

/* Binding a port that is not offered to us: an interdomain port of another domain that is
 * already connected. */
static bool invalid_bind_taken(struct gen *g, struct quiz_op *op)
{
    op->kind = QK_BIND_INTERDOMAIN;
    op->remote_dom =
        (domid_t)((op->dom + 1 + gen_below(g, g->q->nr_domains - 1)) % g->q->nr_domains);
    op->remote_port = gen_port_in_state(g, op->remote_dom, ECS_INTERDOMAIN);
    op->invalid_why = "the remote port is not an unbound port offered to this domain (it is "
                      "already connected): bind_interdomain needs ECS_UNBOUND with "
                      "remote_dom = us";
    return op->remote_port != 0;
}

static bool invalid_bind_virq_twice(struct gen *g, struct quiz_op *op)
{
    for (unsigned t = 0; t < g->q->vcpus[op->dom]; t++)
        if (qh_vcpu(g->h, op->dom, t)->virq_to_evtchn[VIRQ_TIMER]) {
            op->kind = QK_BIND_VIRQ;
            op->virq = VIRQ_TIMER;
            op->target_vcpu = t;
            op->invalid_why = "VIRQ_TIMER is already bound on that vcpu: a VIRQ has one port "
                              "per vcpu";
            return true;
        }
    return false;
}

static bool invalid_set_priority(struct gen *g, struct quiz_op *op)
{
    op->kind = QK_SET_PRIORITY;
    op->port = gen_port_in_state(g, op->dom, ECS_INTERDOMAIN);
    if (g->q->cfg.abi == QH_ABI_FIFO) {
        op->priority = EVTCHN_FIFO_PRIORITY_MIN + 1;
        op->invalid_why = "FIFO priorities go from 0 (highest) to 15 (lowest)";
    } else {
        op->priority = EVTCHN_FIFO_PRIORITY_DEFAULT;
        op->invalid_why = "only the FIFO ABI has priorities: the others have no set_priority";
    }
    return op->port != 0;
}

static const gen_invalid_fn gen_invalids[] = {
    invalid_send_free,  invalid_bind_vcpu_ipi,   invalid_bind_vcpu_nonexistent,
    invalid_bind_taken, invalid_bind_virq_twice, invalid_set_priority,
};
#define NR_INVALIDS (sizeof(gen_invalids) / sizeof(gen_invalids[0]))

static bool story_invalid(struct gen *g)
{
    domid_t dom = (domid_t)gen_below(g, g->q->nr_domains);
    int a = gen_actor(g, dom);
    unsigned first = gen_below(g, NR_INVALIDS);

    if (a < 0)
        return false;
    for (unsigned i = 0; i < NR_INVALIDS; i++) {
        struct quiz_op op = {.dom = dom, .vcpu = (unsigned)a};

        if (gen_invalids[(first + i) % NR_INVALIDS](g, &op)) {
            gen_emit(g, op);
            return true;
        }
    }
    return false;
}

/* The stories and how often each is picked: the interesting cases (masked sends, wakes,
 * coalescing, moves) come often; a channel is made while few exist. */
struct story {
    bool (*run)(struct gen *g);
    unsigned weight;
};

static const struct story stories[] = {
    {story_channel, 0 /* story_weight */},
    {story_ipi, 2},
    {story_virq, 3},
    {story_masked_send, 7},
    {story_coalesce, 4},
    {story_wake, 6},
    {story_move, 4},
    {story_upcall_mask, 3},
    {story_close_pending, 2},
    {story_handle, 4},
    {story_unmask, 2},
    {story_priority, 3},
    {story_invalid, 3},
};
#define NR_STORIES (sizeof(stories) / sizeof(stories[0]))

static unsigned story_weight(struct gen *g, unsigned i)
{
    if (stories[i].run == story_channel) {
        static const unsigned by_channels[] = {12, 2, 1};
        unsigned channels = gen_count_state(g, ECS_INTERDOMAIN) / 2;
        return channels < 3 ? by_channels[channels] : 0;
    }
    return stories[i].weight;
}

/* Pick a story by weight; one that cannot apply now is skipped and another drawn. */
static void gen_story(struct gen *g)
{
    unsigned total = 0;

    for (unsigned i = 0; i < NR_STORIES; i++)
        total += story_weight(g, i);
    for (unsigned tries = 0; tries < 4 * NR_STORIES; tries++) {
        unsigned r = gen_below(g, total);
        for (unsigned i = 0; i < NR_STORIES; i++) {
            unsigned w = story_weight(g, i);
            if (r < w) {
                if (stories[i].run(g))
                    return;
                break;
            }
            r -= w;
        }
    }
    /* Nothing applied (every vcpu blocked, say): Xen's timer wakes someone. */
    story_virq(g);
}

int quiz_generate(struct quiz *q, const struct quiz_config *cfg, const char **why)
{
    struct quiz_host h;
    struct gen g = {.q = q, .h = &h, .rng = cfg->seed};
    unsigned nr_domains, vcpus[QH_MAX_DOMAINS];

    nr_domains = 2 + gen_below(&g, 2);
    for (unsigned i = 0; i < nr_domains; i++)
        vcpus[i] = 1 + gen_below(&g, cfg->max_vcpus);
    if (quiz_start(q, &h, cfg->abi, nr_domains, vcpus, why) != 0)
        return -1;
    q->cfg = *cfg;
    story_channel(&g);
    for (unsigned guard = 0; gen_room(&g) && guard < 8 * QUIZ_MAX_OPS; guard++)
        gen_story(&g);
    final_state(q, &h);
    qh_destroy(&h);
    return 0;
}
