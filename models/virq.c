/* Event sources inside Xen: virtual IRQs (per vcpu, per domain or global) and physical IRQs
 * routed to a domain (xen/common/event_channel.c send_guest_*). */
#include <string.h>

#include "models/evtchn.h"
#include "models/hv_sink.h"

/* Xen's get_virq_type (xen/common/event_channel.c, 4.21 on): VIRQ_ARGO became per-domain, so
 * any domain binds it (on vcpu 0) without being a handler; the x86 arch VIRQs are global. */
enum virq_type virq_type(unsigned virq)
{
    switch (virq) {
    case VIRQ_TIMER:
    case VIRQ_DEBUG:
    case VIRQ_XENOPROF:
    case VIRQ_XENPMU:
        return VIRQ_VCPU;
    case VIRQ_ARGO:
        return VIRQ_DOMAIN;
    default:
        return VIRQ_GLOBAL;
    }
}

/* Every domain that exists counts as changed: the handler learns of them all on its first
 * XEN_DOMCTL_get_domain_state. Xen also marks a domain when it is created, shuts down or dies
 * (domain_changed_state); evsim has no domctl to read the marks, so only the bitmap's life
 * cycle, the part XSA-496 is about, is kept. Xen asserts the bitmap is not set up twice: only
 * the handler can bind VIRQ_DOM_EXC, once (-EEXIST after), and it cannot be reassigned while
 * bound, so a second set-up cannot happen. */
void domain_init_states(struct hv *hv)
{
    memset(hv->dom_state_changed, 0, sizeof(hv->dom_state_changed));
    for (unsigned id = 0; id < HV_MAX_DOMAINS; id++)
        if (hv->domain[id])
            hv->dom_state_changed[id / 64] |= UINT64_C(1) << (id % 64);
    hv->dom_states_live = true;
}

void domain_deinit_states(struct hv *hv)
{
    memset(hv->dom_state_changed, 0, sizeof(hv->dom_state_changed));
    hv->dom_states_live = false;
}

void send_guest_vcpu_virq(struct vcpu *v, unsigned virq)
{
    struct domain *d = v->domain;
    uint32_t port;

    if (virq >= NR_VIRQS || virq_type(virq) != VIRQ_VCPU)
        return;
    port = v->virq_to_evtchn[virq];
    sink_step(HV_STEP_VIRQ, d, port, v, virq);
    if (port == 0)
        return;
    evtchn_port_set_pending(d, v->vcpu_id, evtchn_from_port(d, port));
}

/* Recorded on vcpu 0, delivered to the notify vcpu of the port, which bind_vcpu may have moved
 * off vcpu 0. */
void send_guest_domain_virq(struct domain *d, unsigned virq)
{
    struct evtchn *chn;
    uint32_t port;

    if (!d || d->max_vcpus == 0 || virq >= NR_VIRQS || virq_type(virq) == VIRQ_VCPU)
        return;
    port = d->vcpu[0]->virq_to_evtchn[virq];
    sink_step(HV_STEP_VIRQ, d, port, NULL, virq);
    if (port == 0)
        return;
    chn = evtchn_from_port(d, port);
    evtchn_port_set_pending(d, chn->notify_vcpu_id, chn);
}

void send_guest_global_virq(struct hv *hv, unsigned virq)
{
    if (virq >= NR_VIRQS || virq_type(virq) != VIRQ_GLOBAL)
        return;
    send_guest_domain_virq(domain_lookup(hv, NULL, hv->global_virq_handler[virq]), virq);
}

int pirq_raise(struct domain *d, unsigned pirq)
{
    struct evtchn *chn;

    if (pirq >= d->nr_pirqs)
        return -XEN_EINVAL;
    sink_step(HV_STEP_PIRQ, d, d->pirq_to_evtchn[pirq], NULL, pirq);
    if (d->pirq_to_evtchn[pirq] == 0)
        return -XEN_ENOENT;
    chn = evtchn_from_port(d, d->pirq_to_evtchn[pirq]);
    evtchn_port_set_pending(d, chn->notify_vcpu_id, chn);
    return 0;
}
