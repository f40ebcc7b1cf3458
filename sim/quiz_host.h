/* A small host for the model without an engine (no Unicorn, no SystemC): `evsim quiz` runs
 * its scripts through it. Each domain gets a plain buffer as guest memory, with the ABI's pages
 * where the guest would put them, and the sink records what Xen asked the simulator to do (kick,
 * wake) so that the quiz can say what happened. Every operation goes through the model's own
 * entry points: hypercalls through hypercall_dispatch with their arguments in guest memory, VIRQs
 * through send_guest_vcpu_virq; what the guest does by itself (masking a port, taking its
 * upcall) is done on guest memory, as the guest's code would. */
#ifndef EVSIM_SIM_QUIZ_HOST_H
#define EVSIM_SIM_QUIZ_HOST_H

#include <stdbool.h>
#include <stdint.h>

#include "models/evtchn.h"
#include "models/hypercall.h"

#define QH_MAX_DOMAINS 3u
#define QH_MAX_VCPUS 4u
#define QH_MAX_PORTS 64u /* ports the quiz ever looks at: all in bitmap word 0 */
#define QH_MAX_EVENTS 32u

enum qh_abi { QH_ABI_2L, QH_ABI_3L, QH_ABI_FIFO, QH_ABIS };

/* What the sink saw during one operation. */
enum qh_event_kind { QH_KICK, QH_WAKE, QH_RAISE };
struct qh_event {
    enum qh_event_kind kind;
    domid_t domid;
    unsigned vcpu;
    uint32_t port;      /* QH_RAISE */
    bool newly_pending; /* QH_RAISE: the port went pending */
};

struct quiz_host {
    struct hv hv;
    enum qh_abi abi;
    unsigned nr_domains;
    unsigned char *mem[QH_MAX_DOMAINS];
    struct cost_profile cost;
    struct qh_event event[QH_MAX_EVENTS];
    unsigned nr_events;
};

/* Names as --abi takes them ("2l", "3l", "fifo"); -1 for an unknown one. */
int qh_abi_parse(const char *name);
const char *qh_abi_name(enum qh_abi abi);

/* Domains 0 .. nr_domains-1 (dom0 privileged) with vcpus[i] vcpus each, every vcpu up with
 * event delivery enabled (evtchn_upcall_mask 0), on `abi` (set up through its hypercalls). 0,
 * or -1 with *why set. */
int qh_init(struct quiz_host *h, enum qh_abi abi, unsigned nr_domains, const unsigned *vcpus,
            const char **why);
void qh_destroy(struct quiz_host *h);

struct domain *qh_domain(struct quiz_host *h, domid_t domid);
struct vcpu *qh_vcpu(struct quiz_host *h, domid_t domid, unsigned vcpu);

/* Forget the events recorded so far (before each operation). */
void qh_clear_events(struct quiz_host *h);

/* HYPERVISOR_event_channel_op(cmd, arg) issued by v: *arg (size bytes) copied to the guest's
 * argument area, the result copied back. Returns rax. */
long qh_event_channel_op(struct quiz_host *h, struct vcpu *v, unsigned cmd, void *arg, size_t size);
/* HYPERVISOR_sched_op(SCHEDOP_block) issued by v. */
long qh_sched_block(struct quiz_host *h, struct vcpu *v);
/* Xen raises a per-vcpu VIRQ on v (a timer expiring, a debug key). */
void qh_raise_vcpu_virq(struct quiz_host *h, struct vcpu *v, unsigned virq);

/* The guest's own writes. */
void qh_guest_mask(struct quiz_host *h, struct domain *d, uint32_t port);
void qh_guest_set_upcall_mask(struct quiz_host *h, struct vcpu *v, bool on);
/* v's upcall handler runs, as a guest's: it clears evtchn_upcall_pending, takes its selectors
 * (FIFO: READY bits and queues) and clears the pending bit of every unmasked pending port it
 * finds notifying v. The ports it handled go to handled[] (at most max); returns how many. */
unsigned qh_guest_handle(struct quiz_host *h, struct vcpu *v, uint32_t *handled, unsigned max);

/* What the guest sees in its memory. */
bool qh_port_pending(struct quiz_host *h, struct domain *d, uint32_t port);
bool qh_port_masked(struct quiz_host *h, struct domain *d, uint32_t port);
bool qh_upcall_pending(struct vcpu *v);
bool qh_upcall_masked(struct vcpu *v);

#endif
