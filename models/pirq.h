/* Physical IRQs routed to a domain as Xen 4.22 handles them for a PV guest
 * (xen/arch/x86/irq.c: pirq_guest_bind, do_IRQ_guest, pirq_guest_eoi, the eoi timer;
 * xen/arch/x86/physdev.c: PHYSDEVOP_eoi, irq_status_query, pirq_eoi_gmfn_v1/v2,
 * IRQ_UNMASK_NOTIFY). One guest per line: Xen's in_flight is then the line's `masked`. */
#ifndef EVSIM_MODELS_PIRQ_H
#define EVSIM_MODELS_PIRQ_H

#include <stdbool.h>

#include "models/domain.h"

#define PIRQ_EOI_TIMEOUT_NS 1000000ull /* Xen's eoi_timer: MILLISECS(1) */

/* The platform's configuration of the line (its IO-APIC pin): level-triggered lines need the
 * guest's EOI (ack type EOI), edge ones none. 0, or -XEN_EINVAL for a pirq out of range. */
int pirq_set_level(struct domain *d, unsigned pirq, bool level);

enum pirq_raise_result {
    PIRQ_SENT,    /* the line fired: the event was sent to the bound port */
    PIRQ_HELD,    /* level line blocked awaiting the guest's EOI: it fires after the EOI */
    PIRQ_UNBOUND, /* no port bound (edge: lost; level: fires when a port is bound) */
    PIRQ_BAD,     /* pirq out of range */
};
/* The device raises the line (the simulator's [pirq] sources call this). */
enum pirq_raise_result pirq_line_raise(struct domain *d, unsigned pirq);
/* The timer armed through sink->pirq_timer expired (irq_guest_eoi_timer_fn): the EOI is forced
 * if the guest has not made it, without unmasking the port. */
void pirq_eoi_timer_expired(struct domain *d, unsigned pirq);

/* Xen's pirq_guest_bind / pirq_guest_unbind for every line whose binding changed since the
 * last look (EVTCHNOP_bind_pirq, close, reset: the port table does not call into this file).
 * Binding writes the line's bit in the EOI bitmap, if registered: set for a level line, clear
 * for an edge one; an asserted level line fires at once. Unbinding a line blocked awaiting the
 * EOI makes the EOI. Every entry point of this file looks at its own line first. */
void pirq_sync_bindings(struct domain *d);

/* PHYSDEVOP_eoi for pirq, as the calling domain: auto_unmask, then the EOI. */
void pirq_guest_eoi(struct domain *d, unsigned pirq);
/* PHYSDEVOP_IRQ_UNMASK_NOTIFY (pirq_guest_unmask): EOI every line awaiting it whose port is
 * not masked. */
void pirq_guest_unmask(struct domain *d);

#endif
