/* A read-only look at a domain's event-channel state as the guest and Xen share it: for the
 * teaching mode (`evsim run --explain`, `--dump-at`, the step-through page) and tests. Reads go
 * straight to the shared words, never through the guest_* accessors, so that looking changes
 * neither the cost nor the coherence model. */
#ifndef EVSIM_MODELS_EVTCHN_VIEW_H
#define EVSIM_MODELS_EVTCHN_VIEW_H

#include <stdbool.h>
#include <stdint.h>

#include "models/evtchn.h"

/* One port as the ABI holds it. */
struct evtchn_port_view {
    bool pending, masked;
    bool has_word; /* FIFO, with the event array reaching the port */
    uint32_t word; /* FIFO event word: P, M, L, B and LINK */
};

/* One vcpu's side of the ABI. */
struct evtchn_vcpu_view {
    bool has_info; /* a vcpu_info exists (legacy slot or registered) */
    uint8_t upcall_pending, upcall_mask;
    uint64_t sel;   /* evtchn_pending_sel: 2-level selector, 3-level L1 */
    bool has_fifo;  /* FIFO control block registered */
    uint32_t ready; /* FIFO READY bitmap */
    uint32_t head[EVTCHN_FIFO_MAX_QUEUES];
};

void evtchn_view_port(const struct domain *d, uint32_t port, struct evtchn_port_view *out);
void evtchn_view_vcpu(const struct vcpu *v, struct evtchn_vcpu_view *out);
/* Word w of v's 3-level second-level selector (0 without one), and how many words it has. */
uint64_t evtchn_view_l2_word(const struct vcpu *v, unsigned w);
unsigned evtchn_view_l2_words(const struct domain *d);
/* FIFO: the ports linked on v's queue q in queue order (at most max), from the event words
 * (the control block's HEAD may be stale: see evtchn_view.c). */
unsigned evtchn_view_fifo_queue(const struct domain *d, unsigned v, unsigned q, uint32_t *out,
                                unsigned max);
/* The ABI's name: "2l", "3l", "fifo". */
const char *evtchn_view_abi(const struct domain *d);
/* Xen's name of a port state (ECS_*) in lower case: "free", "unbound", "interdomain", ... */
const char *evtchn_state_name(unsigned state);

/* Xen's 'e' debug key for d (domain_dump_evtchn_info), one line at a time without newline,
 * then the ABI's own structures: FIFO queues of each vcpu, 3-level selectors. */
typedef void (*evtchn_dump_line_fn)(void *opaque, const char *line);
void evtchn_dump_domain(const struct domain *d, evtchn_dump_line_fn out, void *opaque);

#endif
