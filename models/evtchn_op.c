/* HYPERVISOR_event_channel_op: the EVTCHNOP handlers of xen/common/event_channel.c, with the
 * same checks in the same order (the order decides which error a guest sees), dispatched
 * through one table of {command, name, argument size, handler, copy-out}. */
#include <string.h>

#include "models/evtchn.h"
#include "models/hypercall.h"
#include "evsim/xen_3l.h"
#include "models/hv_sink.h"

/* XSM dummy policy, XSM_TARGET: a domain may act on itself; a privileged one on anyone. */
static bool evtchn_may_target(const struct domain *src, const struct domain *target)
{
    return src == target || src->privileged;
}

static long evtchn_alloc_unbound(struct vcpu *v, void *arg)
{
    struct evtchn_alloc_unbound *a = arg;
    struct domain *d = domain_lookup(v->domain->hv, v->domain, a->dom);
    struct evtchn *chn;
    int port;

    if (!d)
        return -XEN_ESRCH;
    /* Xen allocates before the permission check; a refused port simply stays FREE. */
    port = evtchn_get_free_port(d);
    if (port < 0)
        return port;
    if (!evtchn_may_target(v->domain, d))
        return -XEN_EPERM;
    chn = evtchn_from_port(d, (uint32_t)port);
    evtchn_claim(d, chn, ECS_UNBOUND, chn->notify_vcpu_id);
    chn->u.unbound.remote_domid = a->remote_dom == DOMID_SELF ? v->domain->domid : a->remote_dom;
    a->port = (evtchn_port_t)port;
    return 0;
}

/* The remote end must be UNBOUND and reserved for us; binding to our own unbound port
 * (loopback) is allowed. */
static struct evtchn *evtchn_bindable_remote(struct domain *ld, struct domain *rd, uint32_t rport)
{
    struct evtchn *rchn = evtchn_from_port(rd, rport);

    if (!rchn || rchn->state != ECS_UNBOUND || rchn->u.unbound.remote_domid != ld->domid)
        return NULL;
    return rchn;
}

static long evtchn_bind_interdomain(struct vcpu *v, void *arg)
{
    struct evtchn_bind_interdomain *b = arg;
    struct domain *ld = v->domain, *rd = domain_lookup(ld->hv, ld, b->remote_dom);
    struct evtchn *lchn, *rchn;
    int lport;

    if (!rd)
        return -XEN_ESRCH;
    lport = evtchn_get_free_port(ld);
    if (lport < 0)
        return lport;
    rchn = evtchn_bindable_remote(ld, rd, b->remote_port);
    if (!rchn)
        return -XEN_EINVAL;
    lchn = evtchn_from_port(ld, (uint32_t)lport);
    evtchn_claim(ld, lchn, ECS_INTERDOMAIN, lchn->notify_vcpu_id);
    lchn->u.interdomain.remote_domid = rd->domid;
    lchn->u.interdomain.remote_port = b->remote_port;
    rchn->state = ECS_INTERDOMAIN;
    rchn->u.interdomain.remote_domid = ld->domid;
    rchn->u.interdomain.remote_port = (uint32_t)lport;
    /* Sends to the remote end while it was unbound were dropped: conservatively raise the
     * new local port so the binder looks at the channel once. */
    evtchn_port_set_pending(ld, lchn->notify_vcpu_id, lchn);
    b->local_port = (evtchn_port_t)lport;
    return 0;
}

static long evtchn_bind_virq(struct vcpu *v, void *arg)
{
    struct evtchn_bind_virq *b = arg;
    struct domain *d = v->domain;
    enum virq_type type;
    struct vcpu *target;
    int port;

    if (b->virq >= NR_VIRQS)
        return -XEN_EINVAL;
    type = virq_type(b->virq);
    if (type != VIRQ_VCPU && b->vcpu != 0)
        return -XEN_EINVAL;
    target = domain_vcpu(d, b->vcpu);
    if (!target)
        return -XEN_ENOENT;
    /* Xen 4.21+: only the handler may bind a global VIRQ; a per-domain one needs no handler. */
    if (type == VIRQ_GLOBAL && d->hv->global_virq_handler[b->virq] != d->domid)
        return -XEN_EBUSY;
    if (target->virq_to_evtchn[b->virq] != 0)
        return -XEN_EEXIST;
    /* Xen 4.21+ sets up the domain-state bitmap before it looks for a port, so a bind that then
     * finds no port must tear it down again, and only then: up to 4.21.1 Xen tore it down on
     * every failed allocation, so any domain with a full table could free the handler's bitmap
     * with any VIRQ it may bind (XSA-496, fixed in 4.21.2 and 4.22.0 by testing the VIRQ). */
    if (b->virq == VIRQ_DOM_EXC)
        domain_init_states(d->hv);
    port = evtchn_get_free_port(d);
    if (port < 0) {
        if (b->virq == VIRQ_DOM_EXC)
            domain_deinit_states(d->hv);
        return port;
    }
    evtchn_claim(d, evtchn_from_port(d, (uint32_t)port), ECS_VIRQ, target->vcpu_id);
    evtchn_from_port(d, (uint32_t)port)->u.virq = b->virq;
    /* Published last: a VIRQ raised from now on finds a complete port. */
    target->virq_to_evtchn[b->virq] = (uint16_t)port;
    b->port = (evtchn_port_t)port;
    return 0;
}

static long evtchn_bind_ipi(struct vcpu *v, void *arg)
{
    struct evtchn_bind_ipi *b = arg;
    struct domain *d = v->domain;
    int port;

    if (!domain_vcpu(d, b->vcpu))
        return -XEN_ENOENT;
    port = evtchn_get_free_port(d);
    if (port < 0)
        return port;
    evtchn_claim(d, evtchn_from_port(d, (uint32_t)port), ECS_IPI, b->vcpu);
    b->port = (evtchn_port_t)port;
    return 0;
}

/* Every pirq below nr_pirqs is routed to the domain by the scenario, so the access check
 * Xen makes (pirq_access_permitted, -EPERM) always passes in the model. */
static long evtchn_bind_pirq(struct vcpu *v, void *arg)
{
    struct evtchn_bind_pirq *b = arg;
    struct domain *d = v->domain;
    int port;

    if (b->pirq >= d->nr_pirqs)
        return -XEN_EINVAL;
    if (d->pirq_to_evtchn[b->pirq] != 0)
        return -XEN_EEXIST;
    port = evtchn_get_free_port(d);
    if (port < 0)
        return port;
    evtchn_claim(d, evtchn_from_port(d, (uint32_t)port), ECS_PIRQ, 0);
    evtchn_from_port(d, (uint32_t)port)->u.pirq = b->pirq;
    d->pirq_to_evtchn[b->pirq] = (uint32_t)port;
    b->port = (evtchn_port_t)port;
    return 0;
}

static long evtchn_close_op(struct vcpu *v, void *arg)
{
    const struct evtchn_close *c = arg;

    return evtchn_close(v->domain, c->port, true);
}

/* A send is counted on the sending port only when Xen accepts it (it returns 0, including a
 * send to an unbound end, which Xen drops silently); a refused send is only the hypercall
 * error the dispatcher counts. The handlers run after the count. */
typedef void (*evtchn_send_fn)(struct domain *ld, struct evtchn *lchn, struct port_stats *ps);

/* Xen's default_xen_notification_fn, the only consumer Xen attaches (ioreq servers): the
 * notification only matters to a vcpu blocked in Xen waiting for it, which may run again. */
void evtchn_xen_consumer_notify(struct domain *rd, struct evtchn *rchn)
{
    struct vcpu *v = domain_vcpu(rd, rchn->notify_vcpu_id);

    sink_step(HV_STEP_XEN_CONSUMER, rd, rchn->port, v, 0);
    if (v && v->blocked_in_xen) {
        v->blocked_in_xen = false;
        v->stats.wakes++;
        sink_xen_wait(v, false);
    }
}

/* An event for a port attached to Xen goes to its consumer, not to the guest. */
static void evtchn_send_interdomain(struct domain *ld, struct evtchn *lchn, struct port_stats *ps)
{
    struct domain *rd = domain_lookup(ld->hv, ld, lchn->u.interdomain.remote_domid);
    struct evtchn *rchn = rd ? evtchn_from_port(rd, lchn->u.interdomain.remote_port) : NULL;

    (void)ps;
    if (!rchn)
        return;
    if (rchn->xen_consumer)
        evtchn_xen_consumer_notify(rd, rchn);
    else
        evtchn_port_set_pending(rd, rchn->notify_vcpu_id, rchn);
}

/* Xen's notify_via_xen_event_channel: Xen raises the other end of one of its own ports, once
 * someone bound it (an unbound port drops the event). */
void evtchn_notify_via_xen(struct domain *ld, uint32_t lport)
{
    struct evtchn *lchn = evtchn_from_port(ld, lport);
    struct domain *rd;
    struct evtchn *rchn;

    if (!lchn || lchn->state != ECS_INTERDOMAIN)
        return;
    rd = domain_lookup(ld->hv, ld, lchn->u.interdomain.remote_domid);
    rchn = rd ? evtchn_from_port(rd, lchn->u.interdomain.remote_port) : NULL;
    sink_step(HV_STEP_NOTIFY_XEN, ld, lport, NULL, 0);
    if (rchn)
        evtchn_port_set_pending(rd, rchn->notify_vcpu_id, rchn);
}

/* ps is lchn's: the raise need not look it up again. */
static void evtchn_send_ipi(struct domain *ld, struct evtchn *lchn, struct port_stats *ps)
{
    evtchn_port_raise(ld, lchn->notify_vcpu_id, lchn, ps);
}

/* Nobody bound the other end yet: silently dropped. */
static void evtchn_send_unbound(struct domain *ld, struct evtchn *lchn, struct port_stats *ps)
{
    (void)ld;
    (void)lchn;
    ps->dropped++;
}

/* Only these states can send; FREE, RESERVED, PIRQ and VIRQ ports answer -EINVAL. */
static const evtchn_send_fn evtchn_send_by_state[] = {
    [ECS_UNBOUND] = evtchn_send_unbound,
    [ECS_INTERDOMAIN] = evtchn_send_interdomain,
    [ECS_IPI] = evtchn_send_ipi,
};

int evtchn_send(struct domain *ld, uint32_t lport)
{
    struct evtchn *lchn = evtchn_from_port(ld, lport);
    struct port_stats *ps;
    evtchn_send_fn send;

    if (!lchn || lchn->xen_consumer)
        return -XEN_EINVAL;
    send = lchn->state < sizeof(evtchn_send_by_state) / sizeof(evtchn_send_by_state[0])
               ? evtchn_send_by_state[lchn->state]
               : NULL;
    if (!send)
        return -XEN_EINVAL;
    sink_step(HV_STEP_SEND, ld, lport, ld->hv->current, lchn->state);
    ps = port_stats(ld, lport);
    ps->sends++;
    send(ld, lchn, ps);
    return 0;
}

static long evtchn_send_op(struct vcpu *v, void *arg)
{
    const struct evtchn_send *s = arg;

    return evtchn_send(v->domain, s->port);
}

static void evtchn_fill_status(const struct evtchn *chn, struct evtchn_status *s)
{
    static const uint32_t status_of_state[] = {
        [ECS_FREE] = EVTCHNSTAT_closed,     [ECS_RESERVED] = EVTCHNSTAT_closed,
        [ECS_UNBOUND] = EVTCHNSTAT_unbound, [ECS_INTERDOMAIN] = EVTCHNSTAT_interdomain,
        [ECS_PIRQ] = EVTCHNSTAT_pirq,       [ECS_VIRQ] = EVTCHNSTAT_virq,
        [ECS_IPI] = EVTCHNSTAT_ipi,
    };

    s->status = status_of_state[chn->state];
    switch (chn->state) {
    case ECS_UNBOUND:
        s->u.unbound.dom = chn->u.unbound.remote_domid;
        break;
    case ECS_INTERDOMAIN:
        s->u.interdomain.dom = chn->u.interdomain.remote_domid;
        s->u.interdomain.port = chn->u.interdomain.remote_port;
        break;
    case ECS_PIRQ:
        s->u.pirq = chn->u.pirq;
        break;
    case ECS_VIRQ:
        s->u.virq = chn->u.virq;
        break;
    default:
        break;
    }
    s->vcpu = chn->notify_vcpu_id;
}

static long evtchn_status(struct vcpu *v, void *arg)
{
    struct evtchn_status *s = arg;
    struct domain *d = domain_lookup(v->domain->hv, v->domain, s->dom);
    const struct evtchn *chn;

    if (!d)
        return -XEN_ESRCH;
    chn = evtchn_from_port(d, s->port);
    if (!chn)
        return -XEN_EINVAL;
    if (!evtchn_may_target(v->domain, d))
        return -XEN_EPERM;
    evtchn_fill_status(chn, s);
    return 0;
}

/* Only channels whose vcpu is the guest's choice move: per-vcpu VIRQs and IPIs are tied to
 * their vcpu (per-domain and global VIRQs move). */
static long evtchn_bind_vcpu(struct vcpu *v, void *arg)
{
    const struct evtchn_bind_vcpu *b = arg;
    struct domain *d = v->domain;
    struct evtchn *chn;

    if (!domain_vcpu(d, b->vcpu))
        return -XEN_ENOENT;
    chn = evtchn_from_port(d, b->port);
    if (!chn || chn->xen_consumer)
        return -XEN_EINVAL;
    switch (chn->state) {
    case ECS_VIRQ:
        if (virq_type(chn->u.virq) == VIRQ_VCPU)
            return -XEN_EINVAL;
        break;
    case ECS_UNBOUND:
    case ECS_INTERDOMAIN:
    case ECS_PIRQ:
        break;
    default:
        return -XEN_EINVAL;
    }
    chn->notify_vcpu_id = (uint16_t)b->vcpu;
    return 0;
}

static long evtchn_unmask(struct vcpu *v, void *arg)
{
    const struct evtchn_unmask *u = arg;
    struct evtchn *chn = evtchn_from_port(v->domain, u->port);

    if (!chn)
        return -XEN_EINVAL;
    evtchn_port_unmask(v->domain, chn);
    return 0;
}

/* Guest ports remain open: more active ports than Xen-attached ones (Xen's
 * has_active_evtchns). */
static bool domain_has_guest_evtchns(const struct domain *d)
{
    return d->active_evtchns > d->xen_evtchns;
}

/* Where a reset starts (Xen's evtchn_reset entry): a new reset at port 1, marking one as
 * running; a continuation where the running one stopped. 0: refused, a new reset while one
 * runs, or a continuation with none running. */
static uint32_t evtchn_reset_start(struct domain *d, bool resuming)
{
    uint32_t i = resuming ? d->reset_next_port : !d->reset_next_port;

    if (i > d->reset_next_port)
        d->reset_next_port = i;
    return i;
}

/* Xen's evtchn_reset(d, resuming): every port closed as the guest would close it (Xen-attached
 * ports refuse and stay), stopping as soon as only those remain. After each port that is a
 * multiple of 64, the step ends if the caller has an event to take (hypercall_preempt_check):
 * the port is recorded and the guest re-issues the call as EVTCHNOP_reset_cont (XSA-344),
 * which closes it again (a no-op) and goes on. Ports bound behind the reset between its steps
 * keep it from completing (-EAGAIN); only a complete reset returns the domain to 2-level. */
static long evtchn_reset_domain(struct vcpu *v, struct domain *d, bool resuming)
{
    uint32_t i;

    if (d != v->domain && !d->paused)
        return -XEN_EINVAL;
    i = evtchn_reset_start(d, resuming);
    if (!i)
        return -XEN_EBUSY;
    for (; port_is_valid(d, i) && domain_has_guest_evtchns(d); i++) {
        (void)evtchn_close(d, i, true);
        if (!(i & 0x3f) && hypercall_preempt_check(v)) {
            d->reset_next_port = i;
            v->hcall_continuation = true;
            return 0;
        }
    }
    d->reset_next_port = 0;
    if (domain_has_guest_evtchns(d))
        return -XEN_EAGAIN;
    evtchn_abi_reset_to_2l(d);
    return 0;
}

static long evtchn_reset_common(struct vcpu *v, const struct evtchn_reset *r, bool resuming)
{
    struct domain *d = domain_lookup(v->domain->hv, v->domain, r->dom);

    if (!d)
        return -XEN_ESRCH;
    if (!evtchn_may_target(v->domain, d))
        return -XEN_EPERM;
    return evtchn_reset_domain(v, d, resuming);
}

static long evtchn_reset(struct vcpu *v, void *arg)
{
    return evtchn_reset_common(v, arg, false);
}

static long evtchn_reset_cont(struct vcpu *v, void *arg)
{
    return evtchn_reset_common(v, arg, true);
}

static long evtchn_set_priority(struct vcpu *v, void *arg)
{
    const struct evtchn_set_priority *p = arg;
    struct domain *d = v->domain;
    struct evtchn *chn = evtchn_from_port(d, p->port);

    if (!chn)
        return -XEN_EINVAL;
    return evtchn_port_set_priority(d, chn, p->priority);
}

/* The ABIs' own commands: what they do to the pages they share is priced access by access. */
static long evtchn_init_control_op(struct vcpu *v, void *arg)
{
    return evtchn_abi_command(v, arg, evtchn_fifo_init_control);
}

static long evtchn_expand_array_op(struct vcpu *v, void *arg)
{
    return evtchn_abi_command(v, arg, evtchn_fifo_expand_array);
}

static long evtchn_register_extended_op(struct vcpu *v, void *arg)
{
    return evtchn_abi_command(v, arg, evtchn_3l_register_extended);
}

/* ---- dispatch ---- */

/* X(command, argument struct, handler, copy the argument back on success) */
#define EVTCHN_OPS(X)                                                                              \
    X(bind_interdomain, evtchn_bind_interdomain, evtchn_bind_interdomain, true)                    \
    X(bind_virq, evtchn_bind_virq, evtchn_bind_virq, true)                                         \
    X(bind_pirq, evtchn_bind_pirq, evtchn_bind_pirq, true)                                         \
    X(close, evtchn_close, evtchn_close_op, false)                                                 \
    X(send, evtchn_send, evtchn_send_op, false)                                                    \
    X(status, evtchn_status, evtchn_status, true)                                                  \
    X(alloc_unbound, evtchn_alloc_unbound, evtchn_alloc_unbound, true)                             \
    X(bind_ipi, evtchn_bind_ipi, evtchn_bind_ipi, true)                                            \
    X(bind_vcpu, evtchn_bind_vcpu, evtchn_bind_vcpu, false)                                        \
    X(unmask, evtchn_unmask, evtchn_unmask, false)                                                 \
    X(reset, evtchn_reset, evtchn_reset, false)                                                    \
    X(init_control, evtchn_init_control, evtchn_init_control_op, true)                             \
    X(expand_array, evtchn_expand_array, evtchn_expand_array_op, false)                            \
    X(set_priority, evtchn_set_priority, evtchn_set_priority, false)                               \
    X(reset_cont, evtchn_reset, evtchn_reset_cont, false)

struct evtchn_op_desc {
    unsigned cmd;
    const char *name;
    size_t arg_size;
    long (*handler)(struct vcpu *v, void *arg);
    bool copy_out;
};

#define EVTCHN_OP_ENTRY(cmd_, type_, fn_, out_)                                                    \
    [EVTCHNOP_##cmd_] = {EVTCHNOP_##cmd_, #cmd_, sizeof(struct type_), fn_, out_},
static const struct evtchn_op_desc evtchn_op_table[EVTCHNOP_NR] = {EVTCHN_OPS(EVTCHN_OP_ENTRY)};

#define EVTCHN_OP_NAME(cmd_, type_, fn_, out_) [EVTCHNOP_##cmd_] = #cmd_,
const char *const evtchn_op_names[EVTCHNOP_NR + 2] = {EVTCHN_OPS(EVTCHN_OP_NAME)[EVTCHNOP_NR] =
                                                          "register_extended"};

unsigned evtchn_op_column(uint64_t cmd)
{
    if (cmd < EVTCHNOP_NR)
        return (unsigned)cmd;
    return cmd == EVTCHNOP_register_extended ? EVTCHNOP_NR : HC_STATS_SUB - 1;
}
_Static_assert(EVTCHNOP_NR < HC_STATS_SUB - 1, "register_extended has its own column");

/* The 3-level ABI's command lives outside Xen's numbering (include/evsim/xen_3l.h). */
static const struct evtchn_op_desc evtchn_op_register_extended = {
    EVTCHNOP_register_extended, "register_extended", sizeof(struct evtchn_register_extended),
    evtchn_register_extended_op, true};

static const struct evtchn_op_desc *evtchn_op_lookup(unsigned cmd)
{
    if (cmd < EVTCHNOP_NR && evtchn_op_table[cmd].handler)
        return &evtchn_op_table[cmd];
    if (cmd == EVTCHNOP_register_extended)
        return &evtchn_op_register_extended;
    return NULL;
}

/* Room for the largest argument (evtchn_register_extended, 144 bytes). */
#define EVTCHN_OP_ARG_MAX 160u
_Static_assert(sizeof(struct evtchn_register_extended) <= EVTCHN_OP_ARG_MAX, "fits");
#define EVTCHN_OP_FITS(cmd_, type_, fn_, out_)                                                     \
    _Static_assert(sizeof(struct type_) <= EVTCHN_OP_ARG_MAX, #type_ " fits the arg buffer");
EVTCHN_OPS(EVTCHN_OP_FITS)

/* One operation on its argument, copied in already: charged, handled, copied back to arg_gpa if
 * it says so. Inline in both callers: the send's constant descriptor folds into a direct call. */
static inline __attribute__((always_inline)) long
evtchn_op_handle(struct vcpu *v, const struct evtchn_op_desc *op, void *arg, uint64_t arg_gpa)
{
    long rc;

    vcpu_charge(v, COST_EVTCHN_OP);
    rc = op->handler(v, arg);
    /* A failed copy-out after success is reported but not undone (Xen: "a mess"). */
    if (rc == 0 && op->copy_out && !v->hcall_continuation &&
        copy_to_guest(v->domain, arg_gpa, arg, op->arg_size))
        rc = -XEN_EFAULT;
    return rc;
}

long do_event_channel_op(struct vcpu *v, unsigned cmd, uint64_t arg_gpa)
{
    _Alignas(8) unsigned char arg[EVTCHN_OP_ARG_MAX];
    const struct evtchn_op_desc *op = evtchn_op_lookup(cmd);

    if (!op)
        return -XEN_ENOSYS;
    if (copy_from_guest(v->domain, arg, arg_gpa, op->arg_size))
        return -XEN_EFAULT;
    return evtchn_op_handle(v, op, arg, arg_gpa);
}

/* A send copies nothing back (no copy_out): it needs no address. */
long do_event_channel_send(struct vcpu *v, struct evtchn_send *arg)
{
    return evtchn_op_handle(v, &evtchn_op_table[EVTCHNOP_send], arg, 0);
}
