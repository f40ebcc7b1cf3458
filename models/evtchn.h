/* Event channels: the port table and the operations of xen/common/event_channel.c, with the ABI
 * (2-level, later 3-level and FIFO) behind a const ops table, one file per ABI. */
#ifndef EVSIM_MODELS_EVTCHN_H
#define EVSIM_MODELS_EVTCHN_H

#include <stdbool.h>
#include <stdint.h>

#include "models/domain.h"

enum evtchn_state {
    ECS_FREE = 0,
    ECS_RESERVED = 1,
    ECS_UNBOUND = 2,
    ECS_INTERDOMAIN = 3,
    ECS_PIRQ = 4,
    ECS_VIRQ = 5,
    ECS_IPI = 6,
};

#define EVTCHNS_PER_BUCKET 64u
#define BUCKETS_PER_GROUP 512u
/* Xen sizes the groups for its largest ABI: FIFO's 131,072 ports need 4. The 3-level
 * reconstruction numbers 262,144 ports for 64-bit guests, so this model keeps 8. */
#define NR_EVTCHN_GROUPS 8u
#define EVTCHN_MAX_PORTS (EVTCHNS_PER_BUCKET * BUCKETS_PER_GROUP * NR_EVTCHN_GROUPS)

struct evtchn {
    uint32_t port;
    uint8_t state;     /* enum evtchn_state */
    bool xen_consumer; /* attached to a consumer inside Xen: guests may not close/send */
    uint16_t notify_vcpu_id;
    uint8_t priority; /* FIFO priority (default 7) */
    uint8_t last_priority;
    uint16_t last_vcpu_id;
    bool fifo_pending; /* FIFO saved pending state across a requeue */
    union {
        struct {
            domid_t remote_domid;
        } unbound;
        struct {
            uint32_t remote_port;
            domid_t remote_domid;
        } interdomain;
        uint32_t pirq;
        uint32_t virq;
    } u;
};

/* One ABI. Every hook receives the domain that owns the port. */
struct evtchn_port_ops {
    const char *name; /* "2l", "3l", "fifo" */
    void (*init)(struct domain *d, struct evtchn *chn);
    /* Raise the port on v. Returns whether it was pending already, as is_pending would have
     * said just before (the ABI's own test of the pending bit tells, at no extra access). */
    bool (*set_pending)(struct vcpu *v, struct evtchn *chn);
    void (*clear_pending)(struct domain *d, struct evtchn *chn);
    void (*unmask)(struct domain *d, struct evtchn *chn);
    bool (*is_pending)(const struct domain *d, const struct evtchn *chn);
    bool (*is_masked)(const struct domain *d, const struct evtchn *chn);
    bool (*is_busy)(const struct domain *d, const struct evtchn *chn); /* may not be reused yet */
    int (*set_priority)(struct domain *d, struct evtchn *chn, unsigned priority);
    unsigned (*max_ports)(const struct domain *d); /* ABI limit on port numbers for d */
};

extern const struct evtchn_port_ops evtchn_port_ops_2l;
extern const struct evtchn_port_ops evtchn_port_ops_fifo;
extern const struct evtchn_port_ops evtchn_port_ops_3l;

/* FIFO's set_priority through the ABI (-ENOSYS where the ABI has no priorities), priced as a
 * port operation. */
int evtchn_port_set_priority(struct domain *d, struct evtchn *chn, unsigned priority);
/* Run one of an ABI's own commands (init_control, expand_array, register_extended) with its
 * accesses to shared memory priced. */
long evtchn_abi_command(struct vcpu *v, void *arg, long (*fn)(struct vcpu *v, void *arg));

/* The EVTCHNOP handlers of the FIFO ABI (models/event_fifo.c): arg is the copied-in
 * evtchn_init_control / evtchn_expand_array. */
long evtchn_fifo_init_control(struct vcpu *v, void *arg);
long evtchn_fifo_expand_array(struct vcpu *v, void *arg);
/* Free d's FIFO state (queues, mappings); the caller switches d back to 2-level. */
void evtchn_fifo_destroy(struct domain *d);
/* EVTCHNOP_register_extended (models/event_3l.c, include/evsim/xen_3l.h): arg is the copied-in
 * struct evtchn_register_extended. */
long evtchn_3l_register_extended(struct vcpu *v, void *arg);
void evtchn_3l_destroy(struct domain *d);
/* The bytes the model keeps for d's ABI beyond the port table (0 on 2-level), and the events the
 * ABI lost (FIFO requeues beyond Xen's retry bound; 0 for the others). For reports. */
size_t evtchn_abi_model_bytes(const struct domain *d);
uint64_t evtchn_abi_lost_events(const struct domain *d);
/* Back to the 2-level ABI: every extended ABI's state freed, the simulator told. */
void evtchn_abi_reset_to_2l(struct domain *d);

/* Port table. */
static inline bool port_is_valid(const struct domain *d, uint32_t port)
{
    return port < d->valid_evtchns;
}
/* The port's entry, NULL for an invalid port. Inline: every send starts here. */
static inline struct evtchn *evtchn_from_port(const struct domain *d, uint32_t port)
{
    const uint32_t per_group = EVTCHNS_PER_BUCKET * BUCKETS_PER_GROUP;

    if (!port_is_valid(d, port))
        return NULL;
    if (port < EVTCHNS_PER_BUCKET)
        return &d->evtchn[port];
    return &d->evtchn_group[port / per_group][(port / EVTCHNS_PER_BUCKET) % BUCKETS_PER_GROUP]
                           [port % EVTCHNS_PER_BUCKET];
}
/* Lowest free port, allocating buckets on demand: port >= 0, -XEN_ENOSPC, -XEN_ENOMEM, or
 * -XEN_EINVAL for a dying domain. The port stays FREE until evtchn_claim. */
int evtchn_get_free_port(struct domain *d);
/* Allocate a specific port, growing the table up to it: 0, -XEN_ENOSPC (beyond
 * max_evtchn_port or the ABI limit), -XEN_EBUSY (in use, or busy in the ABI) or -XEN_ENOMEM,
 * as Xen's evtchn_allocate_port. The port stays FREE until a bind claims it. */
int evtchn_allocate_port(struct domain *d, uint32_t port);
void evtchn_free(struct domain *d, struct evtchn *chn);
unsigned domain_max_evtchns(const struct domain *d); /* min(ABI limit, max_evtchn_port + 1) */
int evtchn_init(struct domain *d); /* port table with port 0 reserved, 2-level ABI */
void evtchn_destroy(struct domain *d);

/* Raise an event on a port of d (ABI set_pending on the port's notify vcpu, with stats). */
void evtchn_port_set_pending(struct domain *d, unsigned vcpu_id, struct evtchn *chn);
/* The same with the port's stats (port_stats(d, chn->port)) looked up by the caller already:
 * a send has them, and raises on every call. */
void evtchn_port_raise(struct domain *d, unsigned vcpu_id, struct evtchn *chn,
                       struct port_stats *ps);

/* ABI wrappers as Xen's xen/event.h: a free, reserved or Xen-attached port is not usable and
 * the ABI is not asked about it. */
bool evtchn_usable(const struct evtchn *chn);
void evtchn_port_unmask(struct domain *d, struct evtchn *chn);
bool evtchn_is_pending(const struct domain *d, const struct evtchn *chn);
bool evtchn_is_masked(const struct domain *d, const struct evtchn *chn);
/* SCHEDOP_poll's look at one port (Xen's evtchn_port_poll, safe for ports whose bucket was
 * never allocated, XSA-221): 1 pending, 0 not pending (or not usable), -XEN_EINVAL invalid. */
int evtchn_port_poll(struct domain *d, uint32_t port);
/* Close a port of d. `guest`: the guest asked, EVTCHNOP_close or EVTCHNOP_reset (Xen-attached
 * ports refuse with -EINVAL); destruction and Xen's own consumers pass false. 0 or -XEN_EINVAL
 * (invalid, free or reserved port). */
int evtchn_close(struct domain *d, uint32_t port, bool guest);
/* Xen's evtchn_send from domain ld's port lport (what EVTCHNOP_send does). */
int evtchn_send(struct domain *ld, uint32_t lport);
/* Xen's alloc_unbound_xen_event_channel: an UNBOUND port of ld, offered to remote_domid, whose
 * events go to a consumer inside Xen (notifying lvcpu). The guest may not close, send on or
 * rebind it, and EVTCHNOP_reset leaves it; evtchn_close(ld, port, false) frees it (Xen's
 * free_xen_event_channel). Port >= 0, or an error of evtchn_get_free_port. Ioreq servers
 * (models/ioreq.c) create them, one per target vcpu and one for the buffered ring. */
int evtchn_alloc_unbound_xen(struct domain *ld, unsigned lvcpu, domid_t remote_domid);
/* Xen's notify_via_xen_event_channel: raise the remote end of ld's Xen-attached port lport
 * (nothing while it is unbound). */
void evtchn_notify_via_xen(struct domain *ld, uint32_t lport);
/* The consumer inside Xen of rd's Xen-attached port rchn, which the other end sent on: the
 * notify vcpu, if blocked in Xen (v->blocked_in_xen, an ioreq), may run again. */
void evtchn_xen_consumer_notify(struct domain *rd, struct evtchn *rchn);
/* Mark a FREE port bound (state, notify vcpu) and count it active. */
void evtchn_claim(struct domain *d, struct evtchn *chn, enum evtchn_state state,
                  unsigned notify_vcpu_id);

/* How a VIRQ is bound and raised (Xen 4.21+'s get_virq_type). */
enum virq_type {
    VIRQ_VCPU,   /* per vcpu: bound on any vcpu, raised on that vcpu */
    VIRQ_DOMAIN, /* per domain (VIRQ_ARGO): bound on vcpu 0 by any domain, raised for it */
    VIRQ_GLOBAL, /* one handler domain (Dom0 unless reassigned): only it may bind, on vcpu 0 */
};
enum virq_type virq_type(unsigned virq);

/* Xen's domain_init_states / domain_deinit_states: the bitmap behind
 * XEN_DOMCTL_get_domain_state (hv->dom_state_changed), set up with a bit for every existing
 * domain when VIRQ_DOM_EXC is bound, torn down when that binding ends or fails. */
void domain_init_states(struct hv *hv);
void domain_deinit_states(struct hv *hv);

/* Guest-side sources of events: a per-vcpu VIRQ on v, a per-domain or global VIRQ on d (to the
 * port's notify vcpu), a global VIRQ to its handler domain. A VIRQ of another type is ignored
 * (Xen asserts). */
void send_guest_vcpu_virq(struct vcpu *v, unsigned virq);
void send_guest_domain_virq(struct domain *d, unsigned virq);
void send_guest_global_virq(struct hv *hv, unsigned virq);
/* A physical IRQ line raised by the scenario: delivered to the port bound to it, if any.
 * Returns 0, or -XEN_EINVAL for a pirq out of range, -XEN_ENOENT if unbound. */
int pirq_raise(struct domain *d, unsigned pirq);

/* HYPERVISOR_event_channel_op(cmd, arg): copies the argument in and out through guest memory;
 * 0 or a negative Xen errno. May set v->hcall_continuation (reset preemption). */
long do_event_channel_op(struct vcpu *v, unsigned cmd, uint64_t arg_gpa);
/* do_event_channel_op(v, EVTCHNOP_send, gpa) once its argument is copied in from guest memory
 * (to *arg), without looking the command up: the send fast path's
 * (hypercall_event_channel_send). */
long do_event_channel_send(struct vcpu *v, struct evtchn_send *arg);
/* Sub-command names indexed by EVTCHNOP_* (NULL-terminated, for the report). */
#define EVTCHNOP_NR 15u
/* ... and register_extended (include/evsim/xen_3l.h) after them, in the stats column EVTCHNOP_NR.
 */
extern const char *const evtchn_op_names[EVTCHNOP_NR + 2];
/* The stats column of a sub-command: its number, EVTCHNOP_NR for register_extended, else the
 * last column ("other"). */
unsigned evtchn_op_column(uint64_t cmd);

/* Port counters (grown with the table), NULL beyond them. */
static inline struct port_stats *port_stats(struct domain *d, uint32_t port)
{
    return port < d->stats.nr_port_stats ? &d->stats.port[port] : NULL;
}
/* Credit deliveries for outstanding raises whose pending bit the guest has cleared; call before
 * reading the counters (the report does, at the end of a run). */
void evtchn_account_deliveries(struct domain *d);

#endif
