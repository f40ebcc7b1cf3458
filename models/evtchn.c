/* The port table of xen/common/event_channel.c: buckets of 64 ports allocated on demand behind
 * groups of 512 bucket pointers, bucket 0 inline; allocation, freeing, closing, and the ABI
 * wrappers with the per-port counters. */
#include <stdlib.h>
#include <string.h>

#include "models/shared_info.h"
#include "models/evtchn.h"
#include "models/event_3l.h"
#include "models/event_fifo.h"
#include "models/hv_sink.h"

#define PORTS_PER_GROUP (EVTCHNS_PER_BUCKET * BUCKETS_PER_GROUP)

static struct evtchn *alloc_evtchn_bucket(uint32_t first_port)
{
    struct evtchn *bucket = calloc(EVTCHNS_PER_BUCKET, sizeof(*bucket));

    if (!bucket)
        return NULL;
    for (unsigned i = 0; i < EVTCHNS_PER_BUCKET; i++) {
        bucket[i].port = first_port + i;
        bucket[i].priority = EVTCHN_FIFO_PRIORITY_DEFAULT;
    }
    return bucket;
}

/* Per-port counters follow the table; they are never shrunk or cleared. Their storage grows
 * by doubling: the table grows a bucket at a time, and growing the counters as finely would
 * copy them once per bucket (quadratic in the ports). */
static int port_stats_grow(struct domain *d, unsigned nr)
{
    struct domain_stats *st = &d->stats;
    struct port_stats *p;
    unsigned cap = st->cap_port_stats ? st->cap_port_stats : EVTCHNS_PER_BUCKET;

    if (nr <= st->nr_port_stats)
        return 0;
    while (cap < nr)
        cap *= 2;
    if (cap != st->cap_port_stats) {
        p = realloc(st->port, (size_t)cap * sizeof(*p));
        if (!p)
            return -XEN_ENOMEM;
        st->port = p;
        st->cap_port_stats = cap;
    }
    memset(st->port + st->nr_port_stats, 0, (nr - st->nr_port_stats) * sizeof(*st->port));
    st->nr_port_stats = nr;
    return 0;
}

/* Add the bucket at valid_evtchns. Everything behind the new ports (group, bucket,
 * counters) exists before valid_evtchns is raised to include them (XSA-340). */
static int evtchn_grow_one_bucket(struct domain *d)
{
    uint32_t port = d->valid_evtchns;
    struct evtchn ***grp = &d->evtchn_group[port / PORTS_PER_GROUP];
    struct evtchn *bucket;

    if (port_stats_grow(d, port + EVTCHNS_PER_BUCKET))
        return -XEN_ENOMEM;
    if (!*grp) {
        *grp = calloc(BUCKETS_PER_GROUP, sizeof(**grp));
        if (!*grp)
            return -XEN_ENOMEM;
    }
    bucket = alloc_evtchn_bucket(port);
    if (!bucket)
        return -XEN_ENOMEM;
    (*grp)[(port / EVTCHNS_PER_BUCKET) % BUCKETS_PER_GROUP] = bucket;
    __atomic_store_n(&d->valid_evtchns, port + EVTCHNS_PER_BUCKET, __ATOMIC_RELEASE);
    return 0;
}

static unsigned evtchn_abi_max_ports(const struct domain *d)
{
    return d->evtchn_port_ops->max_ports(d);
}

unsigned domain_max_evtchns(const struct domain *d)
{
    unsigned abi = evtchn_abi_max_ports(d);

    return d->max_evtchn_port < abi ? d->max_evtchn_port + 1 : abi;
}

bool evtchn_usable(const struct evtchn *chn)
{
    return !chn->xen_consumer && chn->state > ECS_RESERVED;
}

static bool evtchn_is_busy(const struct domain *d, const struct evtchn *chn)
{
    return d->evtchn_port_ops->is_busy && d->evtchn_port_ops->is_busy(d, chn);
}

int evtchn_allocate_port(struct domain *d, uint32_t port)
{
    const struct evtchn *chn;

    if (port > d->max_evtchn_port || port >= evtchn_abi_max_ports(d)) {
        d->stats.limits.ports_full++;
        return -XEN_ENOSPC;
    }
    while (!port_is_valid(d, port)) {
        int rc = evtchn_grow_one_bucket(d);

        if (rc)
            return rc;
    }
    chn = evtchn_from_port(d, port);
    if (chn->state != ECS_FREE || evtchn_is_busy(d, chn))
        return -XEN_EBUSY;
    return 0;
}

/* Xen's get_free_port: the lowest port that allocates; busy and used ports are skipped. */
int evtchn_get_free_port(struct domain *d)
{
    if (d->is_dying)
        return -XEN_EINVAL;
    for (uint32_t port = d->evtchn_free_hint; port <= d->max_evtchn_port; port++) {
        int rc = evtchn_allocate_port(d, port);

        if (rc == 0)
            return (int)port;
        if (rc != -XEN_EBUSY)
            return rc;
        /* A FREE port can be busy (still LINKED in a FIFO queue) and come free without a
         * close: the hint never passes one. */
        if (port == d->evtchn_free_hint && evtchn_from_port(d, port)->state != ECS_FREE)
            d->evtchn_free_hint = port + 1;
    }
    d->stats.limits.ports_full++;
    return -XEN_ENOSPC;
}

/* A port operation of the domain's ABI, priced from what it does (docs/model.md): a fixed cost
 * for the call, then each access to shared memory it makes (guest_touch). */
static void abi_op_begin(struct hv *hv)
{
    hv_charge_current(hv, COST_PORT_OP);
    hv->abi_depth++;
}

static void abi_op_end(struct hv *hv)
{
    hv->abi_depth--;
}

void evtchn_claim(struct domain *d, struct evtchn *chn, enum evtchn_state state,
                  unsigned notify_vcpu_id)
{
    /* Announced first: the step's change is all the binding does, remote end included. */
    sink_step(HV_STEP_BIND, d, chn->port, domain_vcpu(d, notify_vcpu_id), state);
    chn->state = (uint8_t)state;
    chn->notify_vcpu_id = (uint16_t)notify_vcpu_id;
    d->active_evtchns++;
    if (d->evtchn_port_ops->init) {
        abi_op_begin(d->hv);
        d->evtchn_port_ops->init(d, chn);
        abi_op_end(d->hv);
    }
}

int evtchn_alloc_unbound_xen(struct domain *ld, unsigned lvcpu, domid_t remote_domid)
{
    int port = evtchn_get_free_port(ld);
    struct evtchn *chn;

    if (port < 0)
        return port;
    chn = evtchn_from_port(ld, (uint32_t)port);
    evtchn_claim(ld, chn, ECS_UNBOUND, lvcpu);
    chn->xen_consumer = true;
    chn->u.unbound.remote_domid = remote_domid;
    ld->xen_evtchns++;
    return port;
}

static void port_account_delivery(struct domain *d, struct evtchn *chn, struct port_stats *ps);

/* Xen's evtchn_free: clear pending so a re-bind starts clean, return the port to vcpu 0.
 * The mask bit is the guest's and stays as it is. */
void evtchn_free(struct domain *d, struct evtchn *chn)
{
    struct port_stats *ps = port_stats(d, chn->port);

    /* An event the guest consumed before the close (a handler closing its own port) was
     * delivered; only one still pending is cleared by Xen unseen. */
    if (ps)
        port_account_delivery(d, chn, ps);
    abi_op_begin(d->hv);
    d->evtchn_port_ops->clear_pending(d, chn);
    abi_op_end(d->hv);
    if (ps)
        ps->outstanding = 0; /* cleared by Xen, not consumed by the guest */
    if (chn->xen_consumer)
        d->xen_evtchns--;
    d->active_evtchns--;
    chn->state = ECS_FREE;
    if (chn->port < d->evtchn_free_hint)
        d->evtchn_free_hint = chn->port;
    chn->notify_vcpu_id = 0;
    chn->xen_consumer = false;
    memset(&chn->u, 0, sizeof(chn->u));
}

/* ---- ABI wrappers (xen/include/xen/event.h) ---- */

void evtchn_port_unmask(struct domain *d, struct evtchn *chn)
{
    if (!evtchn_usable(chn))
        return;
    sink_step(HV_STEP_UNMASK, d, chn->port, domain_vcpu(d, chn->notify_vcpu_id), 0);
    abi_op_begin(d->hv);
    d->evtchn_port_ops->unmask(d, chn);
    abi_op_end(d->hv);
}

/* A question to the ABI about a usable port, priced as a port operation. */
static bool abi_query(const struct domain *d, const struct evtchn *chn,
                      bool (*op)(const struct domain *d, const struct evtchn *chn))
{
    abi_op_begin(d->hv);
    bool answer = op(d, chn);
    abi_op_end(d->hv);
    return answer;
}

bool evtchn_is_pending(const struct domain *d, const struct evtchn *chn)
{
    return evtchn_usable(chn) && abi_query(d, chn, d->evtchn_port_ops->is_pending);
}

bool evtchn_is_masked(const struct domain *d, const struct evtchn *chn)
{
    return !evtchn_usable(chn) || abi_query(d, chn, d->evtchn_port_ops->is_masked);
}

int evtchn_port_set_priority(struct domain *d, struct evtchn *chn, unsigned priority)
{
    if (!d->evtchn_port_ops->set_priority)
        return -XEN_ENOSYS;
    abi_op_begin(d->hv);
    int rc = d->evtchn_port_ops->set_priority(d, chn, priority);
    abi_op_end(d->hv);
    return rc;
}

long evtchn_abi_command(struct vcpu *v, void *arg, long (*fn)(struct vcpu *v, void *arg))
{
    struct hv *hv = v->domain->hv;
    hv->abi_depth++;
    long rc = fn(v, arg);
    hv->abi_depth--;
    return rc;
}

int evtchn_port_poll(struct domain *d, uint32_t port)
{
    const struct evtchn *chn;

    if (!port_is_valid(d, port))
        return -XEN_EINVAL;
    chn = evtchn_from_port(d, port);
    return evtchn_is_pending(d, chn) ? 1 : 0;
}

/* Is the port pending, read for the counters (not Xen's work: not priced). */
/* The event still waits for the guest: pending in the ABI, or (FIFO) saved on the port until its
 * event-array page is added. */
static bool port_pending_quietly(struct domain *d, struct evtchn *chn)
{
    d->hv->accounting = true;
    bool pending = chn->fifo_pending || d->evtchn_port_ops->is_pending(d, chn);
    d->hv->accounting = false;
    return pending;
}

/* A raise whose pending bit the guest has since cleared was delivered (pending: the port's
 * state now, as port_pending_quietly reads it). */
static void port_account_seen(struct port_stats *ps, bool pending)
{
    if (ps->outstanding && !pending) {
        ps->delivered++;
        ps->outstanding = 0;
    }
}

static void port_account_delivery(struct domain *d, struct evtchn *chn, struct port_stats *ps)
{
    if (ps->outstanding)
        port_account_seen(ps, port_pending_quietly(d, chn));
}

static bool vcpu_upcall_pending(struct vcpu *v)
{
    const struct vcpu_info *vi = vcpu_info_ptr(v);

    return vi && *vcpu_info_upcall_pending(vi);
}

/* The ABI does the work; the counters are kept here, ABI-independent: `coalesced` when the
 * port was already pending, `upcalls` when this raise turned the vcpu's upcall_pending on. */
void evtchn_port_set_pending(struct domain *d, unsigned vcpu_id, struct evtchn *chn)
{
    evtchn_port_raise(d, vcpu_id, chn, port_stats(d, chn->port));
}

void evtchn_port_raise(struct domain *d, unsigned vcpu_id, struct evtchn *chn,
                       struct port_stats *ps)
{
    struct vcpu *v = domain_vcpu(d, vcpu_id);
    bool was_pending;

    if (!v || !ps || !evtchn_usable(chn))
        return;
    sink_step(HV_STEP_SET_PENDING, d, chn->port, v, 0);
    uint64_t edges = v->upcall_edges;
    ps->raised++;
    struct vcpu *cur = d->hv->current;
    uint64_t before = cur ? cur->hcall_cycles : 0;
    /* Whether the port was pending (as port_pending_quietly would have read it just before),
     * from the ABI's own test of its pending bit: one look serves both the delivery of the
     * last raise and this one's coalescing, and costs no read of its own. */
    bool held = chn->fifo_pending;
    abi_op_begin(d->hv);
    bool found = d->evtchn_port_ops->set_pending(v, chn);
    abi_op_end(d->hv);
    was_pending = held || found;
    port_account_seen(ps, was_pending);
    /* Only a raise that found the port idle can make it newly pending: a coalesced one (the
     * common case of a busy port) need not look again. */
    bool newly_pending = !was_pending && port_pending_quietly(d, chn);
    if (was_pending)
        ps->coalesced++;
    else if (newly_pending)
        ps->outstanding = 1;
    /* upcall_pending was clear and is set now: this raise set it (only an edge does; nothing
     * sets it in between), and nothing cleared it since (a host device model reads its events
     * when kicked, and clears it then). */
    if (v->upcall_edges != edges && vcpu_upcall_pending(v))
        ps->upcalls++;
    /* The simulator times the event from here: the raise and what it cost the caller. */
    if (newly_pending || d->hv->raises_coalesced)
        sink_raise(d, chn->port, v, before, cur ? cur->hcall_cycles : 0, newly_pending);
}

void evtchn_account_deliveries(struct domain *d)
{
    for (uint32_t port = 0; port < d->valid_evtchns; port++) {
        struct evtchn *chn = evtchn_from_port(d, port);

        port_account_delivery(d, chn, &d->stats.port[port]);
    }
}

/* ---- close ---- */

static void evtchn_unbind_virq(struct domain *d, struct evtchn *chn)
{
    /* A global or per-domain VIRQ is always recorded on vcpu 0, whatever bind_vcpu did since. */
    unsigned vcpu_id = virq_type(chn->u.virq) != VIRQ_VCPU ? 0 : chn->notify_vcpu_id;
    struct vcpu *v = domain_vcpu(d, vcpu_id);

    /* Xen's evtchn_close: the end of the VIRQ_DOM_EXC binding ends the domain-state bitmap. */
    if (chn->u.virq == VIRQ_DOM_EXC)
        domain_deinit_states(d->hv);
    if (v && v->virq_to_evtchn[chn->u.virq] == chn->port)
        v->virq_to_evtchn[chn->u.virq] = 0;
}

static void evtchn_unbind_pirq(struct domain *d, struct evtchn *chn)
{
    if (chn->u.pirq < d->nr_pirqs && d->pirq_to_evtchn[chn->u.pirq] == chn->port)
        d->pirq_to_evtchn[chn->u.pirq] = 0;
}

/* The other end goes back to UNBOUND, reserved for the closer, so it can be re-bound. */
static void evtchn_unbind_interdomain(struct domain *d1, struct evtchn *chn1)
{
    struct domain *d2 = domain_lookup(d1->hv, d1, chn1->u.interdomain.remote_domid);
    struct evtchn *chn2 = d2 ? evtchn_from_port(d2, chn1->u.interdomain.remote_port) : NULL;

    if (!chn2 || chn2->state != ECS_INTERDOMAIN)
        return;
    chn2->state = ECS_UNBOUND;
    memset(&chn2->u, 0, sizeof(chn2->u));
    chn2->u.unbound.remote_domid = d1->domid;
}

int evtchn_close(struct domain *d, uint32_t port, bool guest)
{
    struct evtchn *chn = evtchn_from_port(d, port);

    if (!chn || (chn->xen_consumer && guest))
        return -XEN_EINVAL;
    switch (chn->state) {
    case ECS_FREE:
    case ECS_RESERVED:
        return -XEN_EINVAL;
    default:
        break;
    }
    sink_step(HV_STEP_CLOSE, d, port, domain_vcpu(d, chn->notify_vcpu_id), chn->state);
    switch (chn->state) {
    case ECS_VIRQ:
        evtchn_unbind_virq(d, chn);
        break;
    case ECS_PIRQ:
        evtchn_unbind_pirq(d, chn);
        break;
    case ECS_INTERDOMAIN:
        evtchn_unbind_interdomain(d, chn);
        break;
    default: /* UNBOUND, IPI: nothing refers to the port */
        break;
    }
    evtchn_free(d, chn);
    return 0;
}

/* ---- life cycle ---- */

int evtchn_init(struct domain *d)
{
    int rc;

    d->evtchn_port_ops = &evtchn_port_ops_2l;
    d->evtchn = alloc_evtchn_bucket(0);
    if (!d->evtchn || port_stats_grow(d, EVTCHNS_PER_BUCKET))
        return -XEN_ENOMEM;
    d->valid_evtchns = EVTCHNS_PER_BUCKET;
    rc = evtchn_get_free_port(d);
    if (rc != 0)
        return rc < 0 ? rc : -XEN_EINVAL;
    /* Port 0 is never handed out: guests use 0 as "no port". */
    d->evtchn[0].state = ECS_RESERVED;
    return 0;
}

size_t evtchn_abi_model_bytes(const struct domain *d)
{
    return evtchn_3l_model_bytes(d) + evtchn_fifo_model_bytes(d);
}

uint64_t evtchn_abi_lost_events(const struct domain *d)
{
    return evtchn_fifo_lost_events(d);
}

void evtchn_abi_reset_to_2l(struct domain *d)
{
    bool extended = d->evtchn_fifo || d->evtchn_3l;

    evtchn_fifo_destroy(d);
    evtchn_3l_destroy(d);
    d->evtchn_port_ops = &evtchn_port_ops_2l;
    if (extended)
        sink_event_pages_released(d);
}

void evtchn_destroy(struct domain *d)
{
    for (uint32_t port = 1; port_is_valid(d, port); port++)
        (void)evtchn_close(d, port, false);
    evtchn_abi_reset_to_2l(d);
    for (unsigned g = 0; g < NR_EVTCHN_GROUPS; g++) {
        if (!d->evtchn_group[g])
            continue;
        for (unsigned b = 0; b < BUCKETS_PER_GROUP; b++)
            free(d->evtchn_group[g][b]);
        free(d->evtchn_group[g]);
        d->evtchn_group[g] = NULL;
    }
    free(d->evtchn);
    d->evtchn = NULL;
    d->valid_evtchns = 0;
    d->evtchn_free_hint = 0;
}
