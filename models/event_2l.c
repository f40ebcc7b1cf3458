/* The 2-level ABI (xen/common/event_2l.c) on the real shared_info page in guest memory:
 * evtchn_pending[] and evtchn_mask[] bitmaps, and per vcpu a selector word with one bit per
 * bitmap word plus the upcall_pending byte. The word size is the guest's (XSA-342): a 32-bit
 * guest has 32 * 32 ports, and its fields are where Xen's compat layout puts them (mask at
 * 2176, a 32-bit selector at offset 4 of vcpu_info: models/shared_info.h), as Xen reaches them
 * through shared_info(d, field) and vcpu_info(v, field). */
#include "models/evtchn.h"
#include "models/hv_sink.h"
#include "models/shared_info.h"

static unsigned evtchn_2l_max_ports(const struct domain *d)
{
    return evtchn_word_bits(d) * evtchn_word_bits(d);
}

/* const is dropped only to translate the address; nothing is written through it here. */
static volatile uint64_t *evtchn_2l_pending(const struct domain *d)
{
    return shared_info_evtchn_pending((struct domain *)d);
}

static volatile uint64_t *evtchn_2l_mask(const struct domain *d)
{
    return shared_info_evtchn_mask((struct domain *)d);
}

/* Select the bitmap word of `port` in v's selector; true if the bit was already set. */
static bool evtchn_2l_test_and_set_selector(struct vcpu *v, uint32_t port)
{
    struct vcpu_info *vi = vcpu_info_ptr(v);

    if (!vi)
        return true; /* no vcpu_info: nobody to notify */
    return vcpu_info_sel_test_and_set(v->domain, vi, port / evtchn_word_bits(v->domain));
}

/* In strict order, as Xen: pending first, so a guest clearing the selector concurrently
 * always finds the pending bit; then the selector, then the upcall. An already-pending port
 * coalesces and does not even check pollers. A masked port is only marked pending: the edge is
 * raised again by unmask. Pollers of the port wake even when it is masked. */
static bool evtchn_2l_set_pending(struct vcpu *v, struct evtchn *chn)
{
    struct domain *d = v->domain;
    volatile uint64_t *pending = evtchn_2l_pending(d);
    uint32_t port = chn->port;

    if (!pending || port >= evtchn_2l_max_ports(d))
        return false;
    if (guest_test_and_set_bit(d->hv, port, pending))
        return true;
    if (!guest_test_bit(d->hv, port, evtchn_2l_mask(d)) &&
        !evtchn_2l_test_and_set_selector(v, port))
        vcpu_mark_events_pending(v);
    domain_wake_pollers(d, port);
    return false;
}

static void evtchn_2l_clear_pending(struct domain *d, struct evtchn *chn)
{
    volatile uint64_t *pending = evtchn_2l_pending(d);

    if (pending && chn->port < evtchn_2l_max_ports(d))
        guest_test_and_clear_bit(d->hv, chn->port, pending);
}

/* Clearing the mask re-raises an edge that arrived while masked (same order as set_pending,
 * on the port's notify vcpu). */
static void evtchn_2l_unmask(struct domain *d, struct evtchn *chn)
{
    volatile uint64_t *pending = evtchn_2l_pending(d);
    struct vcpu *v = domain_vcpu(d, chn->notify_vcpu_id);
    uint32_t port = chn->port;

    if (!pending || !v || port >= evtchn_2l_max_ports(d))
        return;
    if (guest_test_and_clear_bit(d->hv, port, evtchn_2l_mask(d)) &&
        guest_test_bit(d->hv, port, pending) && !evtchn_2l_test_and_set_selector(v, port))
        vcpu_mark_events_pending(v);
}

static bool evtchn_2l_is_pending(const struct domain *d, const struct evtchn *chn)
{
    const volatile uint64_t *pending = evtchn_2l_pending(d);

    return pending && chn->port < evtchn_2l_max_ports(d) &&
           guest_test_bit(d->hv, chn->port, pending);
}

/* Ports beyond the ABI, or without a shared_info page, count as masked, as in Xen. */
static bool evtchn_2l_is_masked(const struct domain *d, const struct evtchn *chn)
{
    const volatile uint64_t *mask = evtchn_2l_mask(d);

    return !mask || chn->port >= evtchn_2l_max_ports(d) || guest_test_bit(d->hv, chn->port, mask);
}

/* No init, is_busy or set_priority: 2-level ports are never linked, and have no priority
 * (EVTCHNOP_set_priority answers -ENOSYS). */
const struct evtchn_port_ops evtchn_port_ops_2l = {
    .name = "2l",
    .set_pending = evtchn_2l_set_pending,
    .clear_pending = evtchn_2l_clear_pending,
    .unmask = evtchn_2l_unmask,
    .is_pending = evtchn_2l_is_pending,
    .is_masked = evtchn_2l_is_masked,
    .max_ports = evtchn_2l_max_ports,
};
