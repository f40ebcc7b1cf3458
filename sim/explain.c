/* The teaching mode's narrator (see the header). In order, for each step: it is opened (the
 * previous one closed first), selected or not by the user's filters, and closed: its changes
 * are found by comparing every domain's state with the shadow kept since the last close, the
 * shadow is brought up to date, the step's words are chosen from what changed, and the step is
 * printed (on the machine's console, in simulated-time order) and kept for the document. */
#include <inttypes.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/event_fifo.h"
#include "models/evtchn_view.h"
#include "models/hypercall.h"
#include "models/ioreq.h"
#include "models/shared_info.h"
#include "sim/explain_int.h"
#include "sim/machine.h"

static void *grow(void *p, size_t *cap, size_t need, size_t size, bool *oom)
{
    if (need <= *cap)
        return p;
    size_t n = *cap ? *cap * 2 : 64;
    while (n < need)
        n *= 2;
    void *q = realloc(p, n * size);
    if (!q) {
        *oom = true;
        return NULL;
    }
    *cap = n;
    return q;
}

static uint64_t now_cycles(const struct explain *ex)
{
    return machine_acting_cycles(ex->m);
}

/* ---- reading the state into a shadow ---- */

static void chan_of(const struct domain *d, uint32_t port, struct ex_chan *c)
{
    const struct evtchn *chn = evtchn_from_port(d, port);

    memset(c, 0, sizeof(*c));
    if (!chn)
        return;
    c->state = chn->state;
    c->xen = chn->xen_consumer;
    c->prio = chn->priority;
    c->vcpu = chn->notify_vcpu_id;
    switch (chn->state) {
    case ECS_UNBOUND:
        c->a = chn->u.unbound.remote_domid;
        break;
    case ECS_INTERDOMAIN:
        c->a = chn->u.interdomain.remote_domid;
        c->b = chn->u.interdomain.remote_port;
        break;
    case ECS_PIRQ:
        c->a = chn->u.pirq;
        break;
    case ECS_VIRQ:
        c->a = chn->u.virq;
        break;
    default:
        break;
    }
}

static void port_read(const struct domain *d, struct ex_dshadow *s, uint32_t p)
{
    struct evtchn_port_view pv;

    evtchn_view_port(d, p, &pv);
    s->pend[p] = pv.pending;
    s->mask[p] = pv.masked;
    s->word[p] = pv.word;
    chan_of(d, p, &s->chan[p]);
}

static void vcpu_read(const struct domain *d, unsigned i, struct ex_vshadow *vs)
{
    for (unsigned id = 0; id < EX_IOREQ_SERVERS; id++)
        vs->ioreq[id] = (int8_t)ioreq_view_slot_state(d, id, i);
    memset(vs->l2, 0, sizeof(vs->l2));
    evtchn_view_vcpu(d->vcpu[i], &vs->v);
    for (unsigned w = 0; w < evtchn_view_l2_words(d) && w < EX_L2_WORDS; w++)
        vs->l2[w] = evtchn_view_l2_word(d->vcpu[i], w);
}

/* The ports a domain's narration covers, fixed for the run so that every change to them is a
 * change of a step (the guest masks ports before Xen has slots for them): max_evtchn_port + 1,
 * at most EX_MAX_PORTS. */
unsigned explain_ports_of(const struct domain *d)
{
    unsigned n = d->max_evtchn_port + 1;

    return n < EX_MAX_PORTS ? n : EX_MAX_PORTS;
}

static int shadow_alloc(struct ex_dshadow *s, unsigned n)
{
    s->pend = calloc(n, 1);
    s->mask = calloc(n, 1);
    s->word = calloc(n, sizeof(*s->word));
    s->chan = calloc(n, sizeof(*s->chan));
    s->flow = malloc(n * sizeof(*s->flow));
    s->flow_step = calloc(n, sizeof(*s->flow_step));
    s->flow_t = calloc(n, sizeof(*s->flow_t));
    if (!s->pend || !s->mask || !s->word || !s->chan || !s->flow || !s->flow_step || !s->flow_t)
        return -1;
    for (unsigned p = 0; p < n; p++)
        s->flow[p] = -1;
    s->nports = n;
    return 0;
}

static void shadow_read_all(struct explain *ex)
{
    for (unsigned di = 0; di < ex->ndom; di++) {
        const struct domain *d = ex->m->dom[di].d;
        struct ex_dshadow *s = &ex->dom[di];
        for (unsigned p = 0; p < s->nports; p++)
            port_read(d, s, p);
        for (unsigned i = 0; i < s->nvc; i++)
            vcpu_read(d, i, &s->vc[i]);
        for (unsigned id = 0; id < EX_IOREQ_SERVERS; id++)
            s->bufq[id] = ioreq_view_ring_queued(d, id);
    }
}

/* ---- finding what changed ---- */

static struct ex_change *change_add(struct explain *ex, enum ex_ck k, unsigned dom, int vcpu,
                                    uint32_t idx, uint64_t from, uint64_t to)
{
    struct ex_change *c = grow(ex->ch, &ex->capch, ex->nch + 1, sizeof(*c), &ex->oom);
    if (!c)
        return NULL;
    ex->ch = c;
    c = &ex->ch[ex->nch++];
    memset(c, 0, sizeof(*c));
    c->k = (uint8_t)k;
    c->dom = (uint16_t)dom;
    c->vcpu = vcpu;
    c->idx = idx;
    c->from = from;
    c->to = to;
    return c;
}

static void diff_port(struct explain *ex, unsigned di, const struct domain *d, uint32_t p)
{
    struct ex_dshadow *s = &ex->dom[di];
    struct evtchn_port_view pv;
    struct ex_chan c;

    evtchn_view_port(d, p, &pv);
    if (d->evtchn_fifo && pv.word != s->word[p])
        change_add(ex, CK_WORD, di, -1, p, s->word[p], pv.word);
    if (!d->evtchn_fifo && pv.pending != s->pend[p])
        change_add(ex, CK_PENDING, di, -1, p, s->pend[p], pv.pending);
    if (!d->evtchn_fifo && pv.masked != s->mask[p])
        change_add(ex, CK_MASKED, di, -1, p, s->mask[p], pv.masked);
    s->pend[p] = pv.pending;
    s->mask[p] = pv.masked;
    s->word[p] = pv.word;
    chan_of(d, p, &c);
    if (memcmp(&c, &s->chan[p], sizeof(c))) {
        struct ex_change *ch = change_add(ex, CK_CHAN, di, -1, p, 0, 0);
        if (ch) {
            ch->cfrom = s->chan[p];
            ch->cto = c;
        }
        s->chan[p] = c;
    }
}

static void diff_bits(struct explain *ex, enum ex_ck k, unsigned di, unsigned vi, unsigned base,
                      uint64_t from, uint64_t to)
{
    for (uint64_t x = from ^ to; x; x &= x - 1) {
        unsigned b = (unsigned)__builtin_ctzll(x);
        change_add(ex, k, di, (int)vi, base + b, (from >> b) & 1u, (to >> b) & 1u);
    }
}

static void diff_vcpu(struct explain *ex, unsigned di, const struct domain *d, unsigned vi)
{
    struct ex_vshadow *s = &ex->dom[di].vc[vi];
    struct ex_vshadow now;

    vcpu_read(d, vi, &now);
    if (now.v.upcall_pending != s->v.upcall_pending)
        change_add(ex, CK_UPCALL_PENDING, di, (int)vi, 0, s->v.upcall_pending,
                   now.v.upcall_pending);
    if (now.v.upcall_mask != s->v.upcall_mask)
        change_add(ex, CK_UPCALL_MASK, di, (int)vi, 0, s->v.upcall_mask, now.v.upcall_mask);
    diff_bits(ex, CK_SEL, di, vi, 0, s->v.sel, now.v.sel);
    for (unsigned w = 0; w < evtchn_view_l2_words(d) && w < EX_L2_WORDS; w++)
        diff_bits(ex, CK_L2, di, vi, w * 64u, s->l2[w], now.l2[w]);
    if (now.v.ready != s->v.ready)
        change_add(ex, CK_READY, di, (int)vi, 0, s->v.ready, now.v.ready);
    for (unsigned q = 0; q < EVTCHN_FIFO_MAX_QUEUES; q++)
        if (now.v.head[q] != s->v.head[q])
            change_add(ex, CK_HEAD, di, (int)vi, q, s->v.head[q], now.v.head[q]);
    for (unsigned id = 0; id < EX_IOREQ_SERVERS; id++)
        if (now.ioreq[id] != s->ioreq[id])
            change_add(ex, CK_IOREQ, di, (int)vi, id, (uint64_t)(int64_t)s->ioreq[id],
                       (uint64_t)(int64_t)now.ioreq[id]);
    memcpy(s->ioreq, now.ioreq, sizeof(s->ioreq));
    s->v = now.v;
    memcpy(s->l2, now.l2, sizeof(s->l2));
}

static void diff_all(struct explain *ex)
{
    for (unsigned di = 0; di < ex->ndom; di++) {
        const struct domain *d = ex->m->dom[di].d;
        for (unsigned p = 0; p < ex->dom[di].nports; p++)
            diff_port(ex, di, d, p);
        for (unsigned i = 0; i < ex->dom[di].nvc; i++)
            diff_vcpu(ex, di, d, i);
        for (unsigned id = 0; id < EX_IOREQ_SERVERS; id++) {
            int64_t q = ioreq_view_ring_queued(d, id);
            if (q != ex->dom[di].bufq[id])
                change_add(ex, CK_BUFQ, di, -1, id, (uint64_t)ex->dom[di].bufq[id], (uint64_t)q);
            ex->dom[di].bufq[id] = q;
        }
    }
}

/* ---- words ---- */

static void say(struct ex_step *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void say(struct ex_step *s, const char *fmt, ...)
{
    size_t n = strlen(s->text);
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(s->text + n, sizeof(s->text) - n, fmt, ap);
    va_end(ap);
}

static void name_fn(struct ex_step *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void name_fn(struct ex_step *s, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(s->fnbuf, sizeof(s->fnbuf), fmt, ap);
    va_end(ap);
    s->fn = NULL; /* the name is in fnbuf: the step may be copied */
}

static const struct ex_change *step_changes(const struct explain *ex, const struct ex_step *s)
{
    return ex->ch + s->ch0;
}

static const struct ex_change *find_vcpu_change(const struct explain *ex, const struct ex_step *s,
                                                enum ex_ck k)
{
    const struct ex_change *c = step_changes(ex, s);
    for (size_t i = 0; i < s->nch; i++)
        if (c[i].k == k && (int)c[i].dom == s->dom && c[i].vcpu == s->vcpu)
            return &c[i];
    return NULL;
}

/* Did the step set (to 1) or clear (to 0) port's PENDING, whatever the ABI? */
static bool port_pending_went(const struct ex_change *c, uint64_t to)
{
    if (c->k == CK_PENDING)
        return c->to == to;
    if (c->k == CK_WORD) {
        bool f = c->from & FIFO_BIT(EVTCHN_FIFO_PENDING), t = c->to & FIFO_BIT(EVTCHN_FIFO_PENDING);
        return f != t && t == (to != 0);
    }
    return false;
}

static const char *abi_of(const struct explain *ex, int dom)
{
    return evtchn_view_abi(ex->m->dom[dom].d);
}

static const char *const virq_names[] = {"VIRQ_TIMER",      "VIRQ_DEBUG",     "VIRQ_CONSOLE",
                                         "VIRQ_DOM_EXC",    "VIRQ_TBUF",      "?",
                                         "VIRQ_DEBUGGER",   "VIRQ_XENOPROF",  "VIRQ_CON_RING",
                                         "VIRQ_PCPU_STATE", "VIRQ_MEM_EVENT", "VIRQ_ARGO",
                                         "VIRQ_ENOMEM",     "VIRQ_XENPMU"};

static const char *virq_name(uint32_t virq)
{
    return virq < sizeof(virq_names) / sizeof(virq_names[0]) ? virq_names[virq] : "VIRQ_ARCH";
}

static unsigned fifo_queue_of(const struct explain *ex, const struct ex_step *s)
{
    const struct ex_dshadow *d = &ex->dom[s->dom];
    return s->port >= 0 && (uint64_t)s->port < d->nports ? d->chan[s->port].prio : 7;
}

/* A new event gets a flow id: the step that raised it, the send before it, and the guest's
 * write that consumes it share the id (the page's arrows). */
static void flow_start(struct explain *ex, struct ex_step *s)
{
    struct ex_dshadow *d = &ex->dom[s->dom];

    if (s->port < 0 || (uint64_t)s->port >= d->nports)
        return;
    s->flow = ex->next_flow++;
    d->flow[s->port] = s->flow;
    d->flow_step[s->port] = ex->o.keep ? ex->nsteps : ex->narrated;
    d->flow_t[s->port] = s->t;
    if (ex->send_step >= 0 && ex->o.keep)
        ex->steps[ex->send_step].flow = s->flow;
    say(s, " (event e%" PRId64 ")", s->flow);
}

/* A raise that set no pending bit: the port was pending already (the events coalesce), or the
 * FIFO event array does not reach it yet (Xen keeps the event and raises it when the page is
 * added), or the ABI dropped it. */
static void describe_not_raised(struct explain *ex, struct ex_step *s)
{
    const struct domain *d = ex->m->dom[s->dom].d;

    if (d->evtchn_fifo && !evtchn_fifo_word_from_port(d, (uint32_t)s->port))
        say(s,
            "d%d's event array does not reach port %" PRId64 " yet: Xen holds the event and "
            "raises it when EVTCHNOP_expand_array adds the page",
            s->dom, s->port);
    else if ((uint64_t)s->port < ex->dom[s->dom].nports && ex->dom[s->dom].pend[s->port])
        say(s, "d%d port %" PRId64 " is already pending: coalesced, no new event", s->dom, s->port);
    else
        say(s, "d%d port %" PRId64 " does not go pending: the ABI drops the event", s->dom,
            s->port);
}

static void describe_set_pending(struct explain *ex, struct ex_step *s)
{
    const struct ex_change *p = NULL;
    const struct ex_change *c = step_changes(ex, s);
    bool fifo = ex->m->dom[s->dom].d->evtchn_fifo != NULL;

    name_fn(s, "evtchn_%s_set_pending", abi_of(ex, s->dom));
    for (size_t i = 0; i < s->nch; i++)
        if (c[i].idx == s->port && (int)c[i].dom == s->dom && c[i].vcpu < 0 &&
            port_pending_went(&c[i], 1))
            p = &c[i];
    if (!p) {
        describe_not_raised(ex, s);
        return;
    }
    say(s, "evtchn_port_set_pending hands it to the ABI: d%d port %" PRId64 " goes pending for v%d",
        s->dom, s->port, s->vcpu);
    const struct ex_change *sel = find_vcpu_change(ex, s, CK_SEL);
    bool masked =
        fifo ? (p->to & FIFO_BIT(EVTCHN_FIFO_MASKED)) != 0 : ex->dom[s->dom].mask[s->port];
    if (masked)
        say(s, "; it is masked: no upcall until unmasked");
    else if (fifo) {
        unsigned q = fifo_queue_of(ex, s);
        if (p->to & FIFO_BIT(EVTCHN_FIFO_LINKED) && !(p->from & FIFO_BIT(EVTCHN_FIFO_LINKED)))
            say(s, "; linked into queue %u", q);
        if (find_vcpu_change(ex, s, CK_HEAD))
            say(s, " (it was empty: HEAD = %" PRId64 ")", s->port);
        if (find_vcpu_change(ex, s, CK_READY))
            say(s, "; READY bit %u set", q);
    } else if (find_vcpu_change(ex, s, CK_L2) || sel)
        say(s, "; selector bit set");
    else
        say(s, "; its selector bit was already set");
    flow_start(ex, s);
}

static void describe_mark(struct explain *ex, struct ex_step *s)
{
    s->fn = "vcpu_mark_events_pending";
    if (find_vcpu_change(ex, s, CK_UPCALL_PENDING))
        say(s, "evtchn_upcall_pending 0 -> 1: d%dv%d must be told", s->dom, s->vcpu);
    else
        say(s, "evtchn_upcall_pending is already 1: d%dv%d will find this event in its scan",
            s->dom, s->vcpu);
}

static void describe_send(struct explain *ex, struct ex_step *s)
{
    const struct ex_chan *c = &ex->dom[s->dom].chan[s->port];

    s->fn = "evtchn_send";
    switch (c->state) {
    case ECS_INTERDOMAIN:
        say(s, "d%d port %" PRId64 " is interdomain: the event goes to d%u port %u", s->dom,
            s->port, c->a, c->b);
        break;
    case ECS_IPI:
        say(s, "d%d port %" PRId64 " is an IPI port: the event goes to its own vcpu %u", s->dom,
            s->port, c->vcpu);
        break;
    case ECS_UNBOUND:
        say(s, "d%d port %" PRId64 " is unbound: nobody listens, the event is dropped", s->dom,
            s->port);
        break;
    default:
        say(s, "d%d port %" PRId64 " (%s)", s->dom, s->port, evtchn_state_name(c->state));
        break;
    }
    if (ex->o.keep)
        ex->send_step = (int64_t)ex->nsteps;
}

static void describe_unmask(struct explain *ex, struct ex_step *s)
{
    name_fn(s, "evtchn_%s_unmask", abi_of(ex, s->dom));
    say(s, "evtchn_port_unmask hands it to the ABI: d%d port %" PRId64 " is unmasked", s->dom,
        s->port);
    if (ex->dom[s->dom].pend[s->port])
        say(s, "; it went pending while masked: raised now");
}

static void describe_bind(struct explain *ex, struct ex_step *s)
{
    static const char *const fns[] = {[ECS_UNBOUND] = "evtchn_alloc_unbound",
                                      [ECS_INTERDOMAIN] = "evtchn_bind_interdomain",
                                      [ECS_PIRQ] = "evtchn_bind_pirq",
                                      [ECS_VIRQ] = "evtchn_bind_virq",
                                      [ECS_IPI] = "evtchn_bind_ipi"};
    const struct ex_chan *c = &ex->dom[s->dom].chan[s->port];

    s->fn = s->arg < sizeof(fns) / sizeof(fns[0]) && fns[s->arg] ? fns[s->arg] : "evtchn_claim";
    say(s, "d%d port %" PRId64 " is now %s, notifying v%u", s->dom, s->port,
        evtchn_state_name(c->state), c->vcpu);
    if (c->state == ECS_INTERDOMAIN)
        say(s, ", other end d%u port %u", c->a, c->b);
    else if (c->state == ECS_UNBOUND)
        say(s, ", offered to d%u", c->a);
    else if (c->state == ECS_VIRQ)
        say(s, ", %s", virq_name(c->a));
    else if (c->state == ECS_PIRQ)
        say(s, ", PIRQ %u", c->a);
    if (c->xen)
        say(s, " (consumed inside Xen)");
}

static void describe_close(struct explain *ex, struct ex_step *s)
{
    s->fn = "evtchn_close";
    say(s, "d%d port %" PRId64 " (%s) is closed", s->dom, s->port, evtchn_state_name(s->arg));
    (void)ex;
}

static void describe_virq(struct explain *ex, struct ex_step *s)
{
    s->fn = s->vcpu >= 0 ? "send_guest_vcpu_virq" : "send_guest_global_virq";
    say(s, "%s (%u) for d%d", virq_name(s->arg), s->arg, s->dom);
    if (s->vcpu >= 0)
        say(s, "v%d", s->vcpu);
    if (s->port > 0)
        say(s, ": raise its port %" PRId64, s->port);
    else
        say(s, ": not bound, nothing happens");
    (void)ex;
}

static void describe_pirq(struct explain *ex, struct ex_step *s)
{
    s->fn = "send_guest_pirq";
    say(s, "PIRQ %u fires for d%d", s->arg, s->dom);
    if (s->port > 0)
        say(s, ": raise its port %" PRId64, s->port);
    else
        say(s, ": no port bound, nothing happens");
    (void)ex;
}

static void describe_notify(struct explain *ex, struct ex_step *s)
{
    s->fn = "notify_via_xen_event_channel";
    say(s, "Xen notifies the other end of d%d port %" PRId64, s->dom, s->port);
    (void)ex;
}

static void describe_xen_consumer(struct explain *ex, struct ex_step *s)
{
    s->fn = "ioreq_server notify";
    say(s, "d%d port %" PRId64 " is consumed inside Xen: ", s->dom, s->port);
    if (s->vcpu >= 0)
        say(s, "d%dv%d, waiting for its device model, may run again", s->dom, s->vcpu);
    (void)ex;
}

static const char *ioreq_state_name(int64_t st)
{
    static const char *const names[] = {"NONE", "READY", "INPROCESS", "IORESP_READY"};
    return st >= 0 && st < 4 ? names[st] : st < 0 ? "no page" : "?";
}

static unsigned ioreq_emulator(const struct explain *ex, const struct ex_step *s)
{
    const struct ioreq_server *srv = ioreq_server_get(ex->m->dom[s->dom].d, s->arg);
    return srv ? srv->emulator : 0;
}

static void describe_ioreq_send(struct explain *ex, struct ex_step *s)
{
    s->fn = "ioreq_send";
    say(s,
        "d%dv%d's access goes to ioreq server %u (emulator d%u): its slot READY, port %" PRId64
        " notified; d%dv%d waits in Xen",
        s->dom, s->vcpu, s->arg, ioreq_emulator(ex, s), s->port, s->dom, s->vcpu);
}

static void describe_ioreq_buffered(struct explain *ex, struct ex_step *s)
{
    s->fn = "ioreq_send_buffered";
    say(s,
        "d%d's write goes into the buffered ring of ioreq server %u (emulator d%u), port %" PRId64
        " notified; the vcpu goes on",
        s->dom, s->arg, ioreq_emulator(ex, s), s->port);
}

static void describe_ioreq_complete(struct explain *ex, struct ex_step *s)
{
    s->fn = "vcpu_ioreq_handle_completion";
    say(s, "d%dv%d's access to ioreq server %u is answered: Xen completes it", s->dom, s->vcpu,
        s->arg);
    (void)ex;
}

static void describe_poll_wake(struct explain *ex, struct ex_step *s)
{
    s->fn = "evtchn_check_pollers";
    say(s, "d%dv%d polls d%d port %" PRId64 " (SCHEDOP_poll), which went pending: the poll ends",
        s->dom, s->vcpu, s->dom, s->port);
    (void)ex;
}

static void describe_poll_timeout(struct explain *ex, struct ex_step *s)
{
    s->fn = "poll_timer_fn";
    say(s, "d%dv%d's SCHEDOP_poll timed out: the poll ends with none of its ports pending", s->dom,
        s->vcpu);
    (void)ex;
}

typedef void (*describe_fn)(struct explain *ex, struct ex_step *s);

static const struct {
    const char *kind;
    describe_fn describe;
} model_steps[HV_STEP_KINDS] = {
    [HV_STEP_SEND] = {"send", describe_send},
    [HV_STEP_SET_PENDING] = {"set_pending", describe_set_pending},
    [HV_STEP_MARK] = {"mark_pending", describe_mark},
    [HV_STEP_UNMASK] = {"unmask", describe_unmask},
    [HV_STEP_BIND] = {"bind", describe_bind},
    [HV_STEP_CLOSE] = {"close", describe_close},
    [HV_STEP_VIRQ] = {"virq", describe_virq},
    [HV_STEP_PIRQ] = {"pirq", describe_pirq},
    [HV_STEP_NOTIFY_XEN] = {"notify", describe_notify},
    [HV_STEP_XEN_CONSUMER] = {"xen_consumer", describe_xen_consumer},
    [HV_STEP_IOREQ_SEND] = {"ioreq_send", describe_ioreq_send},
    [HV_STEP_IOREQ_BUFFERED] = {"ioreq_buffered", describe_ioreq_buffered},
    [HV_STEP_IOREQ_COMPLETE] = {"ioreq_complete", describe_ioreq_complete},
    [HV_STEP_POLL_WAKE] = {"poll", describe_poll_wake},
    [HV_STEP_POLL_TIMEOUT] = {"poll", describe_poll_timeout},
};

static const char *sub_prefix(uint64_t nr)
{
    switch (nr) {
    case __HYPERVISOR_event_channel_op:
        return "EVTCHNOP_";
    case __HYPERVISOR_sched_op:
        return "SCHEDOP_";
    case __HYPERVISOR_vcpu_op:
        return "VCPUOP_";
    case __HYPERVISOR_xen_version:
        return "XENVER_";
    case __HYPERVISOR_console_io:
        return "CONSOLEIO_";
    case __HYPERVISOR_physdev_op:
        return "PHYSDEVOP_";
    default:
        return "";
    }
}

static void describe_hypercall(struct explain *ex, struct ex_step *s)
{
    const struct hypercall_desc *h = hypercall_lookup((unsigned)s->nr);
    /* Sub-commands are named by their stats column (physdev_op's are not numbered densely). */
    uint64_t col = h && h->sub_column ? h->sub_column(s->cmd) : s->cmd;
    const char *sub = h && h->sub_names && col < h->nr_sub ? h->sub_names[col] : NULL;

    s->kind = s->nr == __HYPERVISOR_iret ? "iret" : "hypercall";
    name_fn(s, "do_%s", h ? h->name : "ni_hypercall");
    say(s, "d%dv%d traps into Xen: HYPERVISOR_%s", s->dom, s->vcpu, h ? h->name : "?");
    if (sub)
        say(s, "(%s%s)", sub_prefix(s->nr), sub);
    if (s->nr == __HYPERVISOR_iret)
        say(s, ": leaves the event callback, events enabled again as the frame says");
    else if (s->nr == __HYPERVISOR_sched_op && s->cmd == SCHEDOP_block)
        say(s, ": enables event delivery and blocks until an event arrives");
    else if (s->nr == __HYPERVISOR_sched_op && s->cmd == SCHEDOP_poll)
        say(s, ": waits for one of its ports");
    (void)ex;
}

static void describe_return(struct explain *ex, struct ex_step *s)
{
    s->kind = "return";
    s->fn = "hypercall return";
    say(s, "d%dv%d: the hypercall fails with %" PRId64, s->dom, s->vcpu, s->rax);
    (void)ex;
}

static void describe_kick(struct explain *ex, struct ex_step *s)
{
    struct sim_vcpu *sv = &ex->m->dom[s->dom].vcpu[s->vcpu];

    s->kind = "kick";
    s->fn = "vcpu_kick";
    if (s->arg)
        say(s, "d%dv%d runs on pcpu %u: Xen sends it an event-check IPI", s->dom, s->vcpu,
            sv->pcpu->id);
    else if (sv->state == SV_RUNNING)
        say(s, "d%dv%d runs here: Xen delivers on its way back to the guest", s->dom, s->vcpu);
    else
        say(s, "d%dv%d is not running: it sees the event when it next runs", s->dom, s->vcpu);
}

static void describe_wake(struct explain *ex, struct ex_step *s)
{
    s->kind = "wake";
    s->fn = "vcpu_unblock";
    say(s, "d%dv%d was blocked: it becomes runnable on pcpu %u", s->dom, s->vcpu,
        ex->m->dom[s->dom].vcpu[s->vcpu].pcpu->id);
}

static void describe_upcall(struct explain *ex, struct ex_step *s)
{
    s->kind = "upcall";
    if (s->arg) {
        s->fn = "hvm_inject_event";
        say(s, "vector %#x is injected into d%dv%d through its IDT", s->arg, s->dom, s->vcpu);
    } else {
        s->fn = "create_bounce_frame";
        say(s, "Xen enters d%dv%d's event callback", s->dom, s->vcpu);
        if (find_vcpu_change(ex, s, CK_UPCALL_MASK))
            say(s, " with events masked (evtchn_upcall_mask 0 -> 1)");
    }
}

/* arg of an I/O exit: size | dir << 8 | type << 16 (ioreq_t's fields). */
/* An I/O exit's step: arg holds size, dir << 8, type << 16, and for a data_is_ptr batch these
 * flags; cmd then holds the buffer's guest-physical address (below 2^52, x86's widest) with
 * the element count less one above it (at most 4095: Xen's batches reach 4096). */
#define IO_EXIT_PTR (1u << 24)
#define IO_EXIT_DF (1u << 25)
#define IO_EXIT_COUNT_SHIFT 52
#define IO_EXIT_GPA_MASK ((1ull << IO_EXIT_COUNT_SHIFT) - 1)

static void describe_io_exit(struct explain *ex, struct ex_step *s)
{
    unsigned size = s->arg & 0xff, dir = (s->arg >> 8) & 0xff, type = s->arg >> 16;
    bool write = dir == IOREQ_WRITE;

    s->kind = "io_exit";
    if (type == IOREQ_TYPE_COPY) {
        s->fn = "hvm_emulate_one";
        say(s, "d%dv%d exits to Xen on an MMIO %s of %u bytes at %#" PRIx64, s->dom, s->vcpu,
            write ? "write" : "read", size, s->nr);
    } else if (type == IOREQ_TYPE_PCI_CONFIG) {
        s->fn = "handle_pio";
        say(s,
            "d%dv%d exits to Xen on a PCI config %s (0xcfc, %02" PRIx64 ":%02" PRIx64 ".%" PRIx64
            " register %#" PRIx64 ")",
            s->dom, s->vcpu, write ? "write" : "read", (s->nr >> 40) & 0xff, (s->nr >> 35) & 0x1f,
            (s->nr >> 32) & 7, s->nr & 0xfff);
    } else if (s->arg & IO_EXIT_PTR) {
        uint64_t count = (s->cmd >> IO_EXIT_COUNT_SHIFT) + 1, gpa = s->cmd & IO_EXIT_GPA_MASK;
        s->fn = write ? "hvmemul_rep_outs" : "hvmemul_rep_ins";
        say(s,
            "d%dv%d exits to Xen: rep %s port %#" PRIx64 ", %" PRIu64 " element%s of %u byte%s "
            "%s guest memory at %#" PRIx64 "%s (one data_is_ptr request)",
            s->dom, s->vcpu, write ? "out to" : "in from", s->nr, count, count == 1 ? "" : "s",
            size, size == 1 ? "" : "s", write ? "from" : "into", gpa,
            s->arg & IO_EXIT_DF ? " downwards" : "");
        return;
    } else {
        s->fn = "handle_pio";
        say(s, "d%dv%d exits to Xen: %s port %#" PRIx64 " (%u byte%s)", s->dom, s->vcpu,
            write ? "out to" : "in from", s->nr, size, size == 1 ? "" : "s");
    }
    if (write)
        say(s, ", data %#" PRIx64, s->cmd);
    (void)ex;
}

static void describe_hvm_iret(struct explain *ex, struct ex_step *s)
{
    s->kind = "iret";
    s->fn = "iretq";
    say(s, "d%dv%d leaves its upcall vector's handler", s->dom, s->vcpu);
    (void)ex;
}

/* The 2-level / 3-level selector bit, L2 bit and port of the walk that reached port. */
static void set_walk(struct explain *ex, struct ex_step *s, uint32_t port)
{
    const struct domain *d = ex->m->dom[s->dom].d;
    unsigned w = evtchn_word_bits(d);

    s->walk_port = port;
    if (d->evtchn_fifo)
        return;
    if (d->evtchn_3l) {
        s->walk_sel = port / (w * w);
        s->walk_l2 = port / w;
    } else {
        s->walk_sel = port / w;
    }
}

static void describe_consume(struct explain *ex, struct ex_step *s, const struct ex_change *c)
{
    struct ex_dshadow *d = &ex->dom[s->dom];
    bool fifo = ex->m->dom[s->dom].d->evtchn_fifo != NULL;

    s->kind = "consume";
    s->fn = fifo ? "consume_one_event" : "clear_evtchn";
    s->port = c->idx;
    set_walk(ex, s, c->idx);
    bool masked =
        c->idx < d->nports &&
        (fifo ? (d->word[c->idx] & FIFO_BIT(EVTCHN_FIFO_MASKED)) != 0 : d->mask[c->idx] != 0);
    if (masked) /* no upcall comes for a masked port: the guest took it itself (a poll) */
        say(s,
            "d%dv%d clears the pending bit of port %u, which is masked: it takes the event "
            "itself (after SCHEDOP_poll), no upcall handler",
            s->dom, s->vcpu, c->idx);
    else
        say(s, "d%dv%d clears the pending bit of port %u: its handler runs", s->dom, s->vcpu,
            c->idx);
    if (c->idx < d->nports && d->flow[c->idx] >= 0) {
        s->flow = d->flow[c->idx];
        say(s, " (event e%" PRId64 ", raised at #%" PRIu64 ", %" PRIu64 " cycles before)", s->flow,
            d->flow_step[c->idx], s->t - d->flow_t[c->idx]);
        d->flow[c->idx] = -1;
    }
}

static void describe_guest_bits(struct explain *ex, struct ex_step *s, const struct ex_change *c)
{
    const char *abi = abi_of(ex, s->dom);

    switch (c->k) {
    case CK_SEL:
        s->kind = "scan";
        name_fn(s, "evtchn_%s_handle_events", abi);
        s->walk_sel = c->idx;
        if (ex->m->dom[s->dom].d->evtchn_3l)
            say(s, "d%dv%d takes its L1 selector (xchg with 0): L2 word %u has events", s->dom,
                s->vcpu, c->idx);
        else
            say(s, "d%dv%d takes its selector (xchg with 0): word %u has events", s->dom, s->vcpu,
                c->idx);
        break;
    case CK_L2:
        s->kind = "scan";
        name_fn(s, "evtchn_%s_handle_events", abi);
        s->walk_l2 = c->idx;
        say(s, "d%dv%d clears bit %u of its L2 selector", s->dom, s->vcpu, c->idx);
        break;
    case CK_HEAD:
        s->kind = "scan";
        s->fn = "consume_one_event";
        say(s, "d%dv%d moves HEAD of queue %u: %" PRIu64 " -> %" PRIu64, s->dom, s->vcpu, c->idx,
            c->from, c->to);
        break;
    case CK_READY:
        s->kind = "scan";
        s->fn = "__evtchn_fifo_handle_events";
        say(s, "d%dv%d clears READY: %#" PRIx64 " -> %#" PRIx64, s->dom, s->vcpu, c->from, c->to);
        break;
    case CK_UPCALL_PENDING:
        s->kind = "ack";
        s->fn = "xen_evtchn_do_upcall";
        say(s, "d%dv%d sets evtchn_upcall_pending %" PRIu64 " -> %" PRIu64, s->dom, s->vcpu,
            c->from, c->to);
        break;
    case CK_UPCALL_MASK:
        s->kind = c->to ? "mask" : "unmask";
        s->fn = c->to ? "xen_irq_disable" : "xen_irq_enable";
        say(s, "d%dv%d %s events on this vcpu (evtchn_upcall_mask %" PRIu64 " -> %" PRIu64 ")",
            s->dom, s->vcpu, c->to ? "disables" : "enables", c->from, c->to);
        break;
    default:
        break;
    }
}

/* Pick what a guest write did, most telling first: a consumed event, a scan, a mask. */
static void describe_guest(struct explain *ex, struct ex_step *s)
{
    const struct ex_change *c = step_changes(ex, s);
    static const uint8_t order[] = {CK_SEL,        CK_L2, CK_HEAD, CK_READY, CK_UPCALL_PENDING,
                                    CK_UPCALL_MASK};

    s->kind = "guest";
    s->fn = "guest write";
    for (size_t i = 0; i < s->nch; i++)
        if (c[i].vcpu < 0 && port_pending_went(&c[i], 0)) {
            describe_consume(ex, s, &c[i]);
            return;
        }
    for (size_t i = 0; i < s->nch; i++) {
        bool m_to = c[i].k == CK_MASKED ? c[i].to : (c[i].to & FIFO_BIT(EVTCHN_FIFO_MASKED)) != 0;
        bool m_from =
            c[i].k == CK_MASKED ? c[i].from : (c[i].from & FIFO_BIT(EVTCHN_FIFO_MASKED)) != 0;
        if ((c[i].k == CK_MASKED || c[i].k == CK_WORD) && m_to != m_from) {
            size_t n = 0;
            for (size_t j = i; j < s->nch; j++)
                n += c[j].k == c[i].k && c[j].vcpu < 0;
            s->kind = m_to ? "mask" : "unmask";
            s->fn = m_to ? "mask_evtchn" : "unmask_evtchn";
            s->port = n == 1 ? (int64_t)c[i].idx : -1;
            say(s, "d%dv%d %s port %u", s->dom, s->vcpu, m_to ? "masks" : "clears the mask of",
                c[i].idx);
            if (n > 1)
                say(s, " and %zu more (one store)", n - 1);
            return;
        }
        if (c[i].k == CK_WORD && (c[i].from & FIFO_BIT(EVTCHN_FIFO_LINKED)) &&
            !(c[i].to & FIFO_BIT(EVTCHN_FIFO_LINKED))) {
            s->kind = "scan";
            s->fn = "clear_linked";
            s->port = c[i].idx;
            say(s, "d%dv%d unlinks port %u from its queue", s->dom, s->vcpu, c[i].idx);
            return;
        }
    }
    for (size_t i = 0; i < s->nch; i++) {
        if (c[i].k == CK_IOREQ) {
            s->kind = "ioreq";
            s->fn = "cpu_handle_ioreq";
            say(s, "d%dv%d (the emulator) sets d%uv%d's ioreq slot in server %u: %s -> %s", s->dom,
                s->vcpu, c[i].dom, c[i].vcpu, c[i].idx, ioreq_state_name((int64_t)c[i].from),
                ioreq_state_name((int64_t)c[i].to));
            return;
        }
        if (c[i].k == CK_BUFQ) {
            s->kind = "ioreq";
            s->fn = "handle_buffered_iopage";
            say(s,
                "d%dv%d (the emulator) takes buffered requests of d%u's server %u: %" PRId64
                " -> %" PRId64 " waiting",
                s->dom, s->vcpu, c[i].dom, c[i].idx, (int64_t)c[i].from, (int64_t)c[i].to);
            return;
        }
    }
    for (size_t k = 0; k < sizeof(order); k++)
        for (size_t i = 0; i < s->nch; i++)
            if (c[i].k == order[k]) {
                describe_guest_bits(ex, s, &c[i]);
                return;
            }
    say(s, "d%dv%d writes its shared event memory", s->dom, s->vcpu);
}

/* ---- printing ---- */

static void port_state(const struct explain *ex, unsigned dom, uint32_t p, uint8_t pend,
                       uint8_t mask, uint32_t word, char *buf, size_t len)
{
    if (ex->m->dom[dom].d->evtchn_fifo)
        snprintf(buf, len, "[P=%u M=%u L=%u B=%u LINK=%u]",
                 !!(word & FIFO_BIT(EVTCHN_FIFO_PENDING)), !!(word & FIFO_BIT(EVTCHN_FIFO_MASKED)),
                 !!(word & FIFO_BIT(EVTCHN_FIFO_LINKED)), !!(word & FIFO_BIT(EVTCHN_FIFO_BUSY)),
                 word & EVTCHN_FIFO_LINK_MASK);
    else
        snprintf(buf, len, "[pending=%u masked=%u]", pend, mask);
    (void)p;
}

/* A port's state after the step, and before it (the step's changes undone). */
static void port_before_after(const struct explain *ex, const struct ex_step *s, unsigned dom,
                              uint32_t p, char *before, char *after, size_t len)
{
    const struct ex_dshadow *d = &ex->dom[dom];
    uint8_t pend = d->pend[p], mask = d->mask[p];
    uint32_t word = d->word[p];
    const struct ex_change *c = step_changes(ex, s);

    port_state(ex, dom, p, pend, mask, word, after, len);
    for (size_t i = s->nch; i-- > 0;)
        if (c[i].dom == dom && c[i].vcpu < 0 && c[i].idx == p) {
            pend = c[i].k == CK_PENDING ? (uint8_t)c[i].from : pend;
            mask = c[i].k == CK_MASKED ? (uint8_t)c[i].from : mask;
            word = c[i].k == CK_WORD ? (uint32_t)c[i].from : word;
        }
    port_state(ex, dom, p, pend, mask, word, before, len);
}

/* Ports that changed alike in a row (a guest masking a whole word at boot) print as one range.
 * Returns the change after the run. */
static size_t print_ports(const struct explain *ex, const struct ex_step *s, size_t i)
{
    const struct ex_change *c = step_changes(ex, s);
    char before[96], after[96], b2[96], a2[96];
    unsigned dom = c[i].dom;
    uint32_t first = c[i].idx, last = first;
    size_t j = i + 1;

    port_before_after(ex, s, dom, first, before, after, sizeof(before));
    for (; j < s->nch; j++) {
        if (c[j].vcpu >= 0 || c[j].k == CK_CHAN || c[j].k == CK_BUFQ ||
            (c[j].dom == dom && c[j].idx == last))
            continue;
        if (c[j].dom != dom)
            break;
        if (c[j].idx != last + 1)
            break;
        port_before_after(ex, s, dom, c[j].idx, b2, a2, sizeof(b2));
        if (strcmp(b2, before) || strcmp(a2, after))
            break;
        last = c[j].idx;
    }
    if (strcmp(before, after)) {
        if (last > first)
            console_printf(&ex->m->console, s->t, "        d%u ports %u-%u %s -> %s", dom, first,
                           last, before, after);
        else
            console_printf(&ex->m->console, s->t, "        d%u port %-5u %s -> %s", dom, first,
                           before, after);
    }
    return j;
}

static void vcpu_state(const struct explain *ex, unsigned dom, const struct evtchn_vcpu_view *v,
                       char *buf, size_t len)
{
    const struct domain *d = ex->m->dom[dom].d;
    size_t n = (size_t)snprintf(buf, len, "[upcall_pending=%u upcall_mask=%u", v->upcall_pending,
                                v->upcall_mask);
    if (d->evtchn_fifo) {
        n += (size_t)snprintf(buf + n, len - n, " READY=%#x", v->ready);
        for (unsigned q = 0; q < EVTCHN_FIFO_MAX_QUEUES && n < len; q++)
            if (v->head[q])
                n += (size_t)snprintf(buf + n, len - n, " HEAD%u=%u", q, v->head[q]);
    } else {
        n += (size_t)snprintf(buf + n, len - n, " %s=%#" PRIx64, d->evtchn_3l ? "L1" : "sel",
                              v->sel);
    }
    if (n < len)
        snprintf(buf + n, len - n, "]");
}

static void print_vcpu(const struct explain *ex, const struct ex_step *s, unsigned dom, int vi)
{
    struct evtchn_vcpu_view after = ex->dom[dom].vc[vi].v, before = after;
    const struct ex_change *c = step_changes(ex, s);
    char b[160], a[160], l2[128] = "";

    for (size_t i = s->nch; i-- > 0;) {
        if (c[i].dom != dom || c[i].vcpu != vi)
            continue;
        switch (c[i].k) {
        case CK_UPCALL_PENDING:
            before.upcall_pending = (uint8_t)c[i].from;
            break;
        case CK_UPCALL_MASK:
            before.upcall_mask = (uint8_t)c[i].from;
            break;
        case CK_SEL:
            before.sel = (before.sel & ~(UINT64_C(1) << c[i].idx)) | (c[i].from << c[i].idx);
            break;
        case CK_READY:
            before.ready = (uint32_t)c[i].from;
            break;
        case CK_HEAD:
            before.head[c[i].idx] = (uint32_t)c[i].from;
            break;
        case CK_L2: {
            size_t n = strlen(l2);
            snprintf(l2 + n, sizeof(l2) - n, " L2 bit %u %" PRIu64 "->%" PRIu64, c[i].idx,
                     c[i].from, c[i].to);
            break;
        }
        case CK_IOREQ: {
            size_t n = strlen(l2);
            snprintf(l2 + n, sizeof(l2) - n, " ioreq slot (server %u) %s->%s", c[i].idx,
                     ioreq_state_name((int64_t)c[i].from), ioreq_state_name((int64_t)c[i].to));
            break;
        }
        default:
            break;
        }
    }
    vcpu_state(ex, dom, &before, b, sizeof(b));
    vcpu_state(ex, dom, &after, a, sizeof(a));
    console_printf(&ex->m->console, s->t, "        d%uv%-8d %s -> %s%s", dom, vi, b, a, l2);
}

/* A FIFO queue as it stands after the step, from its words (evtchn_view_fifo_queue). */
static void print_queue(const struct explain *ex, const struct ex_step *s, unsigned dom, unsigned v,
                        unsigned q)
{
    uint32_t chain[16];
    unsigned n = evtchn_view_fifo_queue(ex->m->dom[dom].d, v, q, chain, 16);
    char line[256];
    size_t len = (size_t)snprintf(line, sizeof(line), "        d%uv%-8u queue %u:", dom, v, q);

    for (unsigned k = 0; k < n && len < sizeof(line) - 16; k++)
        len += (size_t)snprintf(line + len, sizeof(line) - len, k ? " -> %u" : " %u", chain[k]);
    console_printf(&ex->m->console, s->t, "%s%s", line, n == 16 ? " -> ..." : n ? "" : " empty");
}

/* The queues this step may have changed, after it: those of a vcpu whose HEAD or READY
 * changed, and that of every port whose event word changed (its notify vcpu, its priority). */
static void print_fifo_queues(const struct explain *ex, const struct ex_step *s)
{
    const struct ex_change *c = step_changes(ex, s);
    uint64_t shown[64] = {0}; /* dom * vcpus * queues, for small machines: bit per queue */
    unsigned n = 0;
    struct {
        unsigned dom, v, q;
    } list[32];

    for (size_t i = 0; i < s->nch && n < 32; i++) {
        unsigned dom = c[i].dom, v, q;
        if (!ex->m->dom[dom].d->evtchn_fifo)
            continue;
        if (c[i].k == CK_HEAD) {
            v = (unsigned)c[i].vcpu;
            q = c[i].idx;
        } else if (c[i].k == CK_WORD && c[i].idx < ex->dom[dom].nports) {
            const struct ex_chan *ch = &ex->dom[dom].chan[c[i].idx];
            v = ch->vcpu;
            q = ch->prio;
        } else {
            continue;
        }
        if (v >= ex->dom[dom].nvc || q >= EVTCHN_FIFO_MAX_QUEUES)
            continue;
        uint64_t key = ((uint64_t)dom * 64u + v) * EVTCHN_FIFO_MAX_QUEUES + q;
        if (key < 64 * 64 && (shown[key / 64] >> (key % 64)) & 1u)
            continue;
        if (key < 64 * 64)
            shown[key / 64] |= UINT64_C(1) << (key % 64);
        list[n].dom = dom;
        list[n].v = v;
        list[n++].q = q;
    }
    for (unsigned i = 0; i < n; i++)
        print_queue(ex, s, list[i].dom, list[i].v, list[i].q);
}

/* Did an earlier change of the step touch the same object (port, or vcpu)? */
static bool changed_before(const struct ex_change *c, size_t i)
{
    for (size_t j = 0; j < i; j++)
        if (c[j].dom == c[i].dom && c[j].vcpu == c[i].vcpu &&
            (c[i].vcpu >= 0 || (c[j].idx == c[i].idx && c[j].k != CK_CHAN && c[j].k != CK_BUFQ)))
            return true;
    return false;
}

static void print_step(struct explain *ex, const struct ex_step *s, uint64_t index)
{
    const struct ex_change *c = step_changes(ex, s);
    uint64_t ns = cost_cycles_to_ns(ex->m->cost, s->t);
    char who[24];

    if (s->vcpu >= 0)
        snprintf(who, sizeof(who), "d%dv%d", s->dom, s->vcpu);
    else
        snprintf(who, sizeof(who), "d%d", s->dom);
    console_printf(&ex->m->console, s->t,
                   "[explain #%" PRIu64 " %" PRIu64 " cycles %" PRIu64 " ns] %-7s %-5s %s: %s",
                   index, s->t, ns, who, explain_who_names[s->who], explain_step_fn(s), s->text);
    /* Ports first (runs of alike ports as one line), then vcpus, each object once. */
    for (size_t i = 0; i < s->nch;) {
        if (c[i].vcpu < 0 && c[i].k != CK_CHAN && c[i].k != CK_BUFQ && !changed_before(c, i))
            i = print_ports(ex, s, i);
        else
            i++;
    }
    for (size_t i = 0; i < s->nch; i++)
        if (c[i].vcpu >= 0 && !changed_before(c, i))
            print_vcpu(ex, s, c[i].dom, c[i].vcpu);
    for (size_t i = 0; i < s->nch; i++)
        if (c[i].k == CK_BUFQ)
            console_printf(&ex->m->console, s->t,
                           "        d%u ioreq server %u buffered ring: %" PRId64 " -> %" PRId64
                           " waiting",
                           c[i].dom, c[i].idx, (int64_t)c[i].from, (int64_t)c[i].to);
    print_fifo_queues(ex, s);
}

/* ---- opening and closing ---- */

static bool vcpu_followed(const struct explain *ex, int dom, int vcpu)
{
    return vcpu >= 0 && (unsigned)vcpu < ex->dom[dom].nvc && ex->dom[dom].vc[vcpu].follow;
}

/* The step is on a path the user asked for (--domain, --port). A send is on its target's path
 * too, and a vcpu's own steps (mark, kick, upcall, its scan) follow a selected event to it. */
static bool step_selected(const struct explain *ex, const struct ex_step *s, int rdom,
                          int64_t rport)
{
    bool dom_ok = ex->o.domain < 0 || s->dom == ex->o.domain || rdom == ex->o.domain;
    bool port_ok = ex->o.port < 0 ||
                   (s->port == ex->o.port && (ex->o.domain < 0 || s->dom == ex->o.domain)) ||
                   (rport == ex->o.port && (ex->o.domain < 0 || rdom == ex->o.domain));

    if (ex->o.domain < 0 && ex->o.port < 0)
        return true;
    if (s->src == SRC_HYPERCALL) /* kept for what Xen does in it (open_step), or an iret */
        return s->nr == __HYPERVISOR_iret && vcpu_followed(ex, s->dom, s->vcpu);
    if (dom_ok && port_ok)
        return true;
    return s->port < 0 && vcpu_followed(ex, s->dom, s->vcpu);
}

static void start_if_due(struct explain *ex, uint64_t t)
{
    if (ex->started || t < ex->o.from_cycles)
        return;
    ex->started = true;
    shadow_read_all(ex);
    if (ex->o.keep)
        ex->initial = explain_state_json(ex);
}

static void keep_step(struct explain *ex, const struct ex_step *s)
{
    struct ex_step *p = grow(ex->steps, &ex->capsteps, ex->nsteps + 1, sizeof(*p), &ex->oom);
    if (!p)
        return;
    ex->steps = p;
    ex->steps[ex->nsteps++] = *s;
}

static void describe_model(struct explain *ex, struct ex_step *s)
{
    s->kind = model_steps[s->hkind].kind;
    model_steps[s->hkind].describe(ex, s);
}

/* How each source of steps puts its steps into words. */
static const describe_fn step_describers[] = {
    [SRC_MODEL] = describe_model,       [SRC_HYPERCALL] = describe_hypercall,
    [SRC_RETURN] = describe_return,     [SRC_KICK] = describe_kick,
    [SRC_WAKE] = describe_wake,         [SRC_UPCALL] = describe_upcall,
    [SRC_HVM_IRET] = describe_hvm_iret, [SRC_GUEST_WRITE] = describe_guest,
    [SRC_IO_EXIT] = describe_io_exit,
};

void explain_close(struct explain *ex)
{
    if (!ex || !ex->open)
        return;
    struct ex_step *s = &ex->cur;
    ex->open = false;
    s->ch0 = ex->nch;
    diff_all(ex);
    s->nch = ex->nch - s->ch0;
    if (!s->selected || (s->src == SRC_GUEST_WRITE && s->nch == 0)) {
        /* Left out: for the document its changes still happened; the next kept step carries
         * them, marked quiet, so the state stays whole. */
        if (ex->o.keep && s->nch) {
            if (!ex->nquiet)
                ex->quiet0 = s->ch0;
            ex->nquiet += s->nch;
        } else if (!ex->nquiet) {
            ex->nch = s->ch0;
        }
        return;
    }
    s->q0 = ex->quiet0;
    s->nq = ex->nquiet;
    ex->nquiet = 0;
    step_describers[s->src](ex, s);
    if (s->src == SRC_MODEL && s->hkind == HV_STEP_SET_PENDING && s->flow >= 0 && s->vcpu >= 0 &&
        (ex->o.domain >= 0 || ex->o.port >= 0))
        ex->dom[s->dom].vc[s->vcpu].follow = true;
    if ((s->src == SRC_HVM_IRET || (s->src == SRC_HYPERCALL && s->nr == __HYPERVISOR_iret)) &&
        s->vcpu >= 0)
        ex->dom[s->dom].vc[s->vcpu].follow = false;
    uint64_t index = ex->o.keep ? ex->nsteps : ex->narrated;
    if (ex->o.text)
        print_step(ex, s, index);
    if (ex->o.keep)
        keep_step(ex, s);
    else
        ex->nch = 0;
    ex->narrated++;
    if (ex->o.limit && ex->narrated >= ex->o.limit) {
        ex->done = true;
        if (ex->o.text)
            console_printf(&ex->m->console, s->t,
                           "[explain] --limit %" PRIu64 " reached: the narration stops here",
                           ex->o.limit);
    }
}

static void open_step(struct explain *ex, uint8_t src, int dom, int vcpu, int64_t port, uint8_t who,
                      int rdom, int64_t rport)
{
    struct ex_step next = {.dom = dom, .vcpu = vcpu, .port = port, .src = src, .who = who};
    bool selected = step_selected(ex, &next, rdom, rport);

    /* A hypercall's trap is kept when what Xen does in it is: its port is only known then. */
    if (ex->open && ex->cur.src == SRC_HYPERCALL && !ex->cur.selected && src == SRC_MODEL &&
        selected && ex->cur.dom == dom)
        ex->cur.selected = true;
    explain_close(ex);
    uint64_t t = now_cycles(ex);
    start_if_due(ex, t);
    if (!ex->started || ex->done)
        return;
    struct ex_step *s = &ex->cur;
    *s = next;
    /* CPUs run apart within a lookahead (docs/timing.md): in the order the simulator takes the
     * steps, a CPU behind may act after one ahead. The narration's time never goes back, so a
     * cause is never told after its effect; the CPU's own clock is kept beside it. */
    s->cpu_t = t;
    s->t = t > ex->last_t ? t : ex->last_t;
    ex->last_t = s->t;
    s->flow = s->walk_sel = s->walk_l2 = s->walk_port = -1;
    /* Again, now the step before has closed: it may have set a vcpu to follow. */
    s->selected = step_selected(ex, s, rdom, rport);
    ex->open = true;
}

static int vcpu_id_of(const struct vcpu *v)
{
    return v ? (int)v->vcpu_id : -1;
}

void explain_model_step(struct explain *ex, enum hv_step_kind kind, struct domain *d, uint32_t port,
                        struct vcpu *v, uint32_t arg)
{
    int rdom = -1;
    int64_t rport = -1;

    if (!ex || kind >= HV_STEP_KINDS)
        return;
    if (kind == HV_STEP_SEND) {
        const struct evtchn *chn = evtchn_from_port(d, port);
        if (chn && chn->state == ECS_INTERDOMAIN) {
            rdom = chn->u.interdomain.remote_domid;
            rport = chn->u.interdomain.remote_port;
        }
    }
    bool vcpu_step = kind == HV_STEP_MARK;
    open_step(ex, SRC_MODEL, d->domid, vcpu_id_of(v), vcpu_step ? -1 : (int64_t)port, WHO_XEN, rdom,
              rport);
    if (!ex->open)
        return;
    ex->cur.hkind = (uint8_t)kind;
    ex->cur.arg = arg;
    if ((kind == HV_STEP_VIRQ || kind == HV_STEP_PIRQ || kind == HV_STEP_POLL_TIMEOUT) && port == 0)
        ex->cur.port = -1;
}

void explain_hypercall(struct explain *ex, struct sim_vcpu *sv, const struct hv_regs *r)
{
    if (!ex)
        return;
    ex->send_step = -1;
    open_step(ex, SRC_HYPERCALL, sv->sd->d->domid, (int)sv->v->vcpu_id, -1, WHO_GUEST, -1, -1);
    if (ex->open) {
        ex->cur.nr = r->rax;
        ex->cur.cmd = r->rdi;
        ex->cur.selected = step_selected(ex, &ex->cur, -1, -1); /* an iret follows its event */
    }
}

void explain_hypercall_done(struct explain *ex, struct sim_vcpu *sv, uint64_t nr, int64_t rax)
{
    if (!ex)
        return;
    explain_close(ex);
    ex->send_step = -1;
    if (nr == __HYPERVISOR_iret || rax >= 0 || rax < -4095)
        return;
    open_step(ex, SRC_RETURN, sv->sd->d->domid, (int)sv->v->vcpu_id, -1, WHO_XEN, -1, -1);
    if (ex->open)
        ex->cur.rax = rax;
    explain_close(ex);
}

void explain_kick(struct explain *ex, struct sim_vcpu *target, bool ipi)
{
    if (!ex)
        return;
    open_step(ex, SRC_KICK, target->sd->d->domid, (int)target->v->vcpu_id, -1, WHO_XEN, -1, -1);
    if (ex->open)
        ex->cur.arg = ipi;
    explain_close(ex);
}

void explain_wake(struct explain *ex, struct sim_vcpu *target)
{
    if (!ex)
        return;
    open_step(ex, SRC_WAKE, target->sd->d->domid, (int)target->v->vcpu_id, -1, WHO_XEN, -1, -1);
    explain_close(ex);
}

void explain_upcall_begin(struct explain *ex, struct sim_vcpu *sv, unsigned vector)
{
    if (!ex)
        return;
    open_step(ex, SRC_UPCALL, sv->sd->d->domid, (int)sv->v->vcpu_id, -1, WHO_XEN, -1, -1);
    if (ex->open)
        ex->cur.arg = vector;
}

void explain_hvm_iret(struct explain *ex, struct sim_vcpu *sv)
{
    if (!ex)
        return;
    open_step(ex, SRC_HVM_IRET, sv->sd->d->domid, (int)sv->v->vcpu_id, -1, WHO_GUEST, -1, -1);
    explain_close(ex);
}

void explain_io_exit(struct explain *ex, struct sim_vcpu *sv, const struct ioreq *p)
{
    if (!ex)
        return;
    open_step(ex, SRC_IO_EXIT, sv->sd->d->domid, (int)sv->v->vcpu_id, -1, WHO_HW, -1, -1);
    if (ex->open) {
        ex->cur.nr = p->addr;
        ex->cur.cmd = p->data;
        ex->cur.arg = (uint32_t)p->size | (uint32_t)p->dir << 8 | (uint32_t)p->type << 16;
        if (p->data_is_ptr) { /* a batch: its buffer's address and how many elements */
            ex->cur.cmd = (p->data & IO_EXIT_GPA_MASK) | (uint64_t)(p->count - 1)
                                                             << IO_EXIT_COUNT_SHIFT;
            ex->cur.arg |= IO_EXIT_PTR | (p->df ? IO_EXIT_DF : 0);
        }
    }
    explain_close(ex);
}

void explain_guest_write(struct explain *ex, struct sim_vcpu *sv)
{
    if (!ex)
        return;
    open_step(ex, SRC_GUEST_WRITE, sv->sd->d->domid, (int)sv->v->vcpu_id, -1, WHO_GUEST, -1, -1);
}

/* ---- runstates ---- */

static uint8_t run_state_of(const struct sim_vcpu *sv)
{
    if (sv->sd->status != SD_RUNNING || sv->v->run_state == VCPU_DOWN)
        return RUN_OFFLINE;
    if (sv->state == SV_RUNNING)
        return RUN_RUNNING;
    if (sv->state == SV_QUEUED || sv->state == SV_WAKING)
        return RUN_RUNNABLE;
    if (sv->v->blocked_in_xen)
        return RUN_BLOCKED_IN_XEN;
    return sv->v->run_state == VCPU_BLOCKED ? RUN_BLOCKED : RUN_OFFLINE;
}

void explain_runstate(struct explain *ex, struct sim_vcpu *sv)
{
    if (!ex || !ex->o.keep)
        return;
    unsigned di = (unsigned)(sv->sd - ex->m->dom), vi = (unsigned)(sv - sv->sd->vcpu);
    struct ex_vshadow *vs = &ex->dom[di].vc[vi];
    uint8_t st = run_state_of(sv);
    uint64_t t = now_cycles(ex);
    if (st == vs->run)
        return;
    /* CPUs run apart within the lookahead: a change made from a CPU behind this vcpu's own
     * lands at its last change, never before it (as the recording does, sim/record.c). */
    if (vs->nspan && t < vs->span[vs->nspan - 1].from)
        t = vs->span[vs->nspan - 1].from;
    if (vs->nspan && vs->span[vs->nspan - 1].to == UINT64_MAX)
        vs->span[vs->nspan - 1].to = t;
    vs->run = st;
    struct ex_span *p = grow(vs->span, &vs->capspan, vs->nspan + 1, sizeof(*p), &ex->oom);
    if (!p)
        return;
    vs->span = p;
    vs->span[vs->nspan++] = (struct ex_span){t, UINT64_MAX, st, (uint16_t)sv->pcpu->id};
}

/* ---- life cycle ---- */

struct explain *explain_new(struct machine *m, const struct explain_options *o)
{
    struct explain *ex = calloc(1, sizeof(*ex));

    if (!ex)
        return NULL;
    ex->m = m;
    ex->o = *o;
    ex->ndom = m->nr_dom;
    ex->send_step = -1;
    ex->dom = calloc(ex->ndom, sizeof(*ex->dom));
    if (!ex->dom) {
        free(ex);
        return NULL;
    }
    for (unsigned di = 0; di < ex->ndom; di++) {
        ex->dom[di].nvc = m->dom[di].nr_vcpus;
        ex->dom[di].vc = calloc(ex->dom[di].nvc ? ex->dom[di].nvc : 1, sizeof(struct ex_vshadow));
        if (!ex->dom[di].vc || shadow_alloc(&ex->dom[di], explain_ports_of(m->dom[di].d)) < 0) {
            explain_free(ex);
            return NULL;
        }
        for (unsigned i = 0; i < ex->dom[di].nvc; i++)
            ex->dom[di].vc[i].run = RUN_NONE;
        for (unsigned id = 0; id < EX_IOREQ_SERVERS; id++)
            ex->dom[di].bufq[id] = -1;
    }
    return ex;
}

void explain_free(struct explain *ex)
{
    if (!ex)
        return;
    for (unsigned di = 0; di < ex->ndom && ex->dom; di++) {
        struct ex_dshadow *s = &ex->dom[di];
        free(s->pend);
        free(s->mask);
        free(s->word);
        free(s->chan);
        free(s->flow);
        free(s->flow_step);
        free(s->flow_t);
        for (unsigned i = 0; i < s->nvc && s->vc; i++)
            free(s->vc[i].span);
        free(s->vc);
    }
    free(ex->dom);
    free(ex->steps);
    free(ex->ch);
    json_object_put(ex->initial);
    free(ex);
}
