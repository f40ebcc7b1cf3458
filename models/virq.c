/* Event sources inside Xen: virtual IRQs (per vcpu or global) and physical IRQs routed to a
 * domain (xen/common/event_channel.c send_guest_*). */
#include "models/evtchn.h"

/* Per-vcpu VIRQs are bound on (and delivered to) one vcpu; every other VIRQ, the x86 arch
 * VIRQs included, is global: bound on vcpu 0 of the handling domain only. */
bool virq_is_global(unsigned virq)
{
    switch (virq) {
    case VIRQ_TIMER:
    case VIRQ_DEBUG:
    case VIRQ_XENOPROF:
    case VIRQ_XENPMU:
        return false;
    default:
        return true;
    }
}

void send_guest_vcpu_virq(struct vcpu *v, unsigned virq)
{
    struct domain *d = v->domain;
    uint32_t port;

    if (virq >= NR_VIRQS || virq_is_global(virq))
        return;
    port = v->virq_to_evtchn[virq];
    if (port == 0)
        return;
    evtchn_port_set_pending(d, v->vcpu_id, evtchn_from_port(d, port));
}

/* Delivered to the notify vcpu of the port, which bind_vcpu may have moved off vcpu 0. */
void send_guest_global_virq(struct hv *hv, unsigned virq)
{
    struct domain *d;
    struct evtchn *chn;
    uint32_t port;

    if (virq >= NR_VIRQS || !virq_is_global(virq))
        return;
    d = domain_lookup(hv, NULL, hv->global_virq_handler[virq]);
    if (!d || d->max_vcpus == 0)
        return;
    port = d->vcpu[0]->virq_to_evtchn[virq];
    if (port == 0)
        return;
    chn = evtchn_from_port(d, port);
    evtchn_port_set_pending(d, chn->notify_vcpu_id, chn);
}

int pirq_raise(struct domain *d, unsigned pirq)
{
    struct evtchn *chn;

    if (pirq >= d->nr_pirqs)
        return -XEN_EINVAL;
    if (d->pirq_to_evtchn[pirq] == 0)
        return -XEN_ENOENT;
    chn = evtchn_from_port(d, d->pirq_to_evtchn[pirq]);
    evtchn_port_set_pending(d, chn->notify_vcpu_id, chn);
    return 0;
}
