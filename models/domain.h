/* The hypervisor context, domains and vcpus: the state Xen keeps per guest, without any notion of
 * how guests execute (sim/ owns that through the opaque `sim` pointers). No global state: every
 * function reaches the context through its arguments. */
#ifndef EVSIM_MODELS_DOMAIN_H
#define EVSIM_MODELS_DOMAIN_H

#include <stdbool.h>
#include <stdint.h>

#include "models/cost.h"
#include "models/guest_mem.h"
#include "models/sink.h"
#include "models/stats.h"
#include "models/xen_public.h"

struct evtchn;
struct evtchn_port_ops;
struct evtchn_fifo_domain; /* models/event_fifo.h */
struct evtchn_fifo_vcpu;
struct evtchn_3l_domain; /* models/event_3l.h */
struct evtchn_3l_vcpu;
struct ioreq_domain; /* models/ioreq.h */
struct foreign_map;  /* models/physmap.h */

#define HV_MAX_DOMAINS 32752u            /* Xen DOMID_FIRST_RESERVED: every ordinary domid */
#define HV_DEFAULT_MAX_EVTCHN_PORT 1023u /* toolstack default max_event_channels */
#define HV_DEFAULT_NR_PIRQS 256u
#define SCHED_POLL_MAX_PORTS 128u
#define HV_MAX_VCPUS 8192u /* Xen x86 MAX_VIRT_CPUS */

/* RFLAGS bits Xen looks at or changes (an upcall, an iret, an injected interrupt). */
#define X86_EFLAGS_TF 0x00000100u
#define X86_EFLAGS_IF 0x00000200u
#define X86_EFLAGS_IOPL 0x00003000u
#define X86_EFLAGS_NT 0x00004000u
#define X86_EFLAGS_RF 0x00010000u
#define X86_EFLAGS_VM 0x00020000u
#define X86_EFLAGS_AC 0x00040000u

/* General-purpose registers and the few others the PV conventions touch. */
struct hv_regs {
    uint64_t rax, rbx, rcx, rdx, rsi, rdi, rbp, rsp;
    uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
    uint64_t rip, rflags;
};

enum vcpu_run_state {
    VCPU_DOWN,     /* not initialised, or VCPUOP_down */
    VCPU_RUNNABLE, /* may run; sim/ decides when */
    VCPU_BLOCKED,  /* SCHEDOP_block or SCHEDOP_poll: waits for an event or a timeout */
};

/* The PV callbacks other than the event callback (Xen's arch.pv fields), as CALLBACKOP_register,
 * HYPERVISOR_set_callbacks and VCPUOP_initialise leave them. The model enters only the event
 * callback: evsim's guests run no user mode, and take no faults Xen would bounce and no NMIs. */
struct pv_callbacks {
    uint64_t failsafe, syscall, syscall32, sysenter;
    uint64_t vgc_flags; /* VGCF_failsafe_disables_events, VGCF_syscall_disables_events, ... */
    bool syscall32_disables_events, sysenter_disables_events;
    struct trap_info nmi; /* trap_ctxt[TRAP_nmi]; zeroed by CALLBACKOP_unregister */
};

struct vcpu {
    struct domain *domain;
    unsigned vcpu_id;
    enum vcpu_run_state run_state;
    bool initialised;        /* VCPUOP_initialise done (vcpu 0: by the domain builder) */
    bool context_pending;    /* initial_regs not loaded yet: the next VCPUOP_up starts there */
    bool down_blocked;       /* VCPUOP_down while blocked: VCPUOP_up leaves it blocked */
    bool yield_requested;    /* SCHEDOP_yield: sim/ reschedules at the end of the hypercall */
    bool hcall_continuation; /* the hypercall must be re-executed (preempted, Xen's -ERESTART) */
    /* Xen's _VPF_blocked_in_xen: v sent a synchronous ioreq and waits for its emulator
     * (models/ioreq.h). Not a run state: only the emulator's notification on v's ioreq port
     * clears it (sink->xen_wait), and v must not run meanwhile. */
    bool blocked_in_xen;

    uint64_t event_callback; /* CALLBACKOP_register(CALLBACKTYPE_event) */
    uint8_t upcall_vector;   /* HVM: HVMOP_set_evtchn_upcall_vector (0: none) */
    /* Entering the callback sets upcall_mask. Always true: 64-bit Xen enters the event
     * callback with TBF_INTERRUPT whatever flags CALLBACKOP_register carried. */
    bool event_callback_masks;
    struct pv_callbacks callbacks;
    struct hv_regs initial_regs; /* VCPUOP_initialise */

    uint16_t virq_to_evtchn[NR_VIRQS];

    /* SCHEDOP_poll: ports being polled (copied in), the absolute timeout (0 = none). */
    uint32_t poll_ports[SCHED_POLL_MAX_PORTS];
    unsigned nr_poll_ports;
    bool polling;
    uint64_t singleshot_deadline; /* set_timer_op; 0 = stopped */
    uint64_t periodic_period;     /* ns; 0 = off. PV vcpus start with 10 ms (a 100 Hz tick) */
    uint64_t periodic_last_event; /* when the periodic timer last raised VIRQ_TIMER */

    /* VCPUOP_register_vcpu_info: the guest's own copy of v's vcpu_info (Xen's vcpu_info_mfn and
     * mapping), NULL while v uses its legacy slot in shared_info or, beyond
     * XEN_LEGACY_MAX_VCPUS, has none (Xen's dummy_vcpu_info). Set once, never moved. */
    uint64_t vcpu_info_gpa; /* guest-physical address of the registered vcpu_info */
    struct vcpu_info *vcpu_info_reg;

    struct evtchn_fifo_vcpu
        *evtchn_fifo;                 /* FIFO queues and control block, NULL until init_control */
    struct evtchn_3l_vcpu *evtchn_3l; /* 3-level second-level selector, NULL until phase 2 */

    uint64_t hcall_cycles; /* cycles charged to the hypercall being handled */
    /* upcall_pending's 0 -> 1 edges, as vcpu_mark_events_pending makes them (nothing else sets
     * it): a raise tells by them whether it made one, without reading vcpu_info first. */
    uint64_t upcall_edges;
    struct vcpu_stats stats;
    void *sim; /* the simulator's vcpu */
};

/* A physical IRQ line routed to a domain (one guest per line): Xen's struct pirq and the guest
 * action of the line's irq_desc (models/pirq.c). Edge lines (ack type NONE) are sent and
 * forgotten; a level-triggered IO-APIC line (ack type EOI) stays blocked from delivery until
 * the guest's PHYSDEVOP_eoi or, failing that, Xen's 1 ms timer. */
struct pirq_line {
    bool level;           /* ack type EOI (level-triggered), else NONE (edge) */
    bool asserted;        /* level: the device raised the line and was not yet serviced */
    bool masked;          /* Xen's pirq->masked: delivered, blocked until the EOI */
    uint32_t bound_to;    /* the port pirq_guest_bind last saw, 0 = unbound */
    uint64_t delivered;   /* sends to the guest (the line fired into Xen) */
    uint64_t held_back;   /* raises that found the line blocked awaiting the EOI */
    uint64_t guest_eois;  /* PHYSDEVOP_eoi (or IRQ_UNMASK_NOTIFY) that unblocked it */
    uint64_t forced_eois; /* EOIs the 1 ms timer forced */
};

struct domain {
    struct hv *hv;
    domid_t domid;
    bool privileged;
    bool hvm;                 /* HVM guest (hypercalls are VM exits) or PV */
    unsigned guest_word_bits; /* 64 or 32: bounds the 2-level ABI (XSA-342) */
    bool paused; /* Xen's controller_pause_count != 0: a foreign EVTCHNOP_reset needs it, and
                  * the domain's vcpus do not run */
    unsigned controller_pause_count; /* XEN_DOMCTL_pausedomain minus unpausedomain */
    bool is_dying;
    int shutdown_reason;   /* -1 while running, else SHUTDOWN_* */
    const char *crash_why; /* set when Xen itself crashed the domain (domain_crash) */

    struct vcpu **vcpu;
    unsigned max_vcpus;

    uint64_t shared_info_gpa;        /* guest-physical address of the shared_info page */
    struct shared_info *shared_info; /* its host mapping, once translated */
    /* HVM: the frame XENMEM_add_to_physmap last put shared_info at (the simulator keeps it at
     * shared_info_gpa too). */
    uint64_t shared_info_gfn;
    bool shared_info_gfn_mapped;
    /* Frames of other domains mapped in its physmap (models/physmap.h), by gfn. */
    struct foreign_map *foreign;
    unsigned nr_foreign, cap_foreign;
    /* HVM: the PCI config address last written to port 0xCF8 (Xen's d->arch.hvm.pci_cf8), which
     * routes accesses to 0xCFC-0xCFF (models/hvm_io.c). */
    uint32_t pci_cf8;

    /* Port table: bucket 0 inline, further buckets through groups of bucket pointers, grown on
     * demand as in Xen. valid_evtchns is only raised once the bucket behind it exists (XSA-340). */
    struct evtchn *evtchn;           /* bucket 0 */
    struct evtchn **evtchn_group[8]; /* NR_EVTCHN_GROUPS */
    unsigned valid_evtchns;
    unsigned max_evtchn_port; /* per-domain limit (toolstack max_event_channels) */
    unsigned active_evtchns;
    /* Of the active ports, those attached to a consumer inside Xen (Xen's xen_evtchns): a
     * reset leaves them, and stops once only they remain. */
    unsigned xen_evtchns;
    /* Every port below it is bound (not FREE): the lowest-free search starts here, so binding
     * n ports costs O(n), not O(n^2). Lowered by every free. */
    unsigned evtchn_free_hint;
    const struct evtchn_port_ops *evtchn_port_ops;
    struct evtchn_fifo_domain *evtchn_fifo; /* event array, NULL unless on FIFO */
    struct evtchn_3l_domain *evtchn_3l;     /* bitmap pages, NULL unless on 3-level */

    /* EVTCHNOP_reset (Xen's next_evtchn): 0 while no reset runs, else the port the running
     * reset resumes at (EVTCHNOP_reset_cont). */
    unsigned reset_next_port;

    /* Physical IRQs routed to this domain (bind_pirq). */
    unsigned nr_pirqs;
    uint32_t *pirq_to_evtchn;    /* 0 = unbound */
    struct pirq_line *pirq_line; /* nr_pirqs of them */
    /* PHYSDEVOP_pirq_eoi_gmfn_v1/v2: the guest's bitmap of pirqs needing PHYSDEVOP_eoi (Xen's
     * pirq_eoi_map), once registered; v1 also unmasks the port on EOI (auto_unmask). */
    volatile uint64_t *pirq_eoi_map;
    uint64_t pirq_eoi_map_gfn;
    bool auto_unmask;

    /* guest_console_write's line buffer (Xen's struct domain_console): a domain other than the
     * hardware domain has its text gathered here until a newline, or until it is full. */
    struct {
        unsigned idx;
        char buf[256];
    } console;

    /* Ioreq servers emulating this domain's I/O (models/ioreq.h), NULL until the first is
     * created. */
    struct ioreq_domain *ioreq;
    /* HVM: HVMOP_set_param values (Xen's d->arch.hvm.params); the callback vector for every
     * vcpu when HVM_PARAM_CALLBACK_IRQ has the vector type (0: none). */
    uint64_t hvm_param[HVM_NR_PARAMS];
    uint8_t callback_vector;
    /* Xen's d->target (XEN_DOMCTL_set_target): the domain this one is the device model of, if
     * has_target. The XSM dummy policy lets it use dm_op and acquire_resource on that domain
     * as the control domain may on any. */
    bool has_target;
    domid_t target;

    struct domain_stats stats;
    void *sim;
};

/* Xen's log levels for guest messages (guest_loglvl=LOWER[/UPPER]) and printk's rate limit:
 * a message of level L is printed if L < lower, printed if the rate limit lets it through if
 * L < upper, and discarded otherwise. Guest console lines are XENLOG_DEBUG (3). A debug
 * Xen, which evsim models by default, prints everything (lower = upper = 4). */
struct hv_console {
    int lower, upper;
    uint64_t toks, last_ms; /* __printk_ratelimit's token bucket, in ms */
    unsigned missed;
};

struct coherence; /* models/coherence.h */

struct hv {
    struct domain *domain[HV_MAX_DOMAINS]; /* indexed by domid */
    unsigned nr_domains;
    const struct hv_mem_ops *mem;
    void *mem_opaque;
    const struct hv_sink_ops *sink;
    void *sink_opaque;
    /* Someone listens to the model's steps (sink->step): a send makes two, and most runs
     * narrate none, so the call is skipped unless this is set. hv_init sets it whenever the
     * sink has the hook; a sink that narrates only sometimes turns it off and on (hv_set_steps). */
    bool steps;
    /* The sink hears of raises that did not make the port pending (coalesced, or dropped) too,
     * not only of those that did (hv_init's default): a simulator that times only new events
     * skips a call on every send to a busy port. */
    bool raises_coalesced;
    const struct cost_profile *cost;
    /* The profile's cycles in one dense row, copied at hv_init (all zero without a profile):
     * the profile keeps each figure beside its provenance, over 500 bytes apart, so a lookup
     * there touches a cache line of its own, and every send makes several. A profile does not
     * change once the hypervisor using it is set up. */
    uint64_t cycles[COST_IDS];
    /* Which domain receives each global VIRQ (Xen: the hardware domain unless reassigned). */
    domid_t global_virq_handler[NR_VIRQS];
    /* Xen's dom_state_changed (4.21 on), the bitmap of domains whose state changed that
     * XEN_DOMCTL_get_domain_state hands to the VIRQ_DOM_EXC handler. It exists only while
     * VIRQ_DOM_EXC is bound: binding it sets it up, closing the port tears it down, and a bind
     * that fails tears down only what it set up itself (XSA-496). Xen allocates it; here it is
     * embedded and dom_states_live says whether Xen would have it (models/virq.c). */
    bool dom_states_live;
    uint64_t dom_state_changed[HV_MAX_DOMAINS / 64];
    /* The vcpu whose hypercall is being handled (Xen's `current`), NULL outside hypercalls:
     * work done on behalf of the caller (set_pending on another domain's port) is charged
     * to it. Set and cleared by hypercall_dispatch. */
    struct vcpu *current;
    /* Set while the model reads guest memory for its own counters, not as Xen's work: such
     * reads are not reported to the coherence model. */
    bool accounting;
    /* Inside an event-channel ABI's work (a port operation, or one of its own commands): each
     * access Xen makes to shared memory is priced (xen_read/xen_write/xen_locked). Nested. */
    unsigned abi_depth;
    /* The coherence model Xen's accesses go to, when the simulator hands it over
     * (hv_set_coherence): what mem->touch would ask it, asked here, without two calls through
     * the simulator on every access. pcpu is where the simulator keeps the acting CPU's id. */
    struct coherence *coh;
    const unsigned *coh_pcpu;
    struct hv_console console;
};

struct domain_config {
    domid_t domid;
    bool privileged;
    bool hvm;    /* an HVM guest: hypercalls are VM exits (else PV: SYSCALL into Xen) */
    bool paused; /* created paused (as by `xl create -p`): runs once unpaused (domctl) */
    unsigned max_vcpus;
    unsigned guest_word_bits; /* 0 means 64 */
    unsigned max_evtchn_port; /* 0 means HV_DEFAULT_MAX_EVTCHN_PORT */
    unsigned nr_pirqs;        /* 0 means HV_DEFAULT_NR_PIRQS */
    uint64_t shared_info_gpa;
};

void hv_init(struct hv *hv, const struct hv_mem_ops *mem, void *mem_opaque,
             const struct hv_sink_ops *sink, void *sink_opaque, const struct cost_profile *cost);
void hv_destroy(struct hv *hv);
/* Price Xen's accesses with coh for the CPU whose id *pcpu holds, as a mem->touch that returns
 * what coherence_access says beyond a local hit (line_local) would: instead of that hook. */
static inline void hv_set_coherence(struct hv *hv, struct coherence *coh, const unsigned *pcpu)
{
    hv->coh = coh;
    hv->coh_pcpu = pcpu;
}
/* Whether the sink's step hook is called (see struct hv's steps). */
static inline void hv_set_steps(struct hv *hv, bool on)
{
    hv->steps = on && hv->sink && hv->sink->step;
}

/* 0, -XEN_EEXIST (domid taken), -XEN_EINVAL (bad config) or -XEN_ENOMEM. vcpu 0 starts
 * initialised and RUNNABLE; the others start DOWN. The domain starts on the 2-level ABI with
 * port 0 reserved. */
int domain_create(struct hv *hv, const struct domain_config *cfg, struct domain **out);
void domain_destroy(struct domain *d);
/* DOMID_SELF resolves to `self`; NULL if no such domain. */
struct domain *domain_lookup(struct hv *hv, struct domain *self, domid_t domid);
/* NULL if out of range. Inline: every raise looks its target up. */
static inline struct vcpu *domain_vcpu(struct domain *d, unsigned vcpu_id)
{
    if (!d || vcpu_id >= d->max_vcpus)
        return NULL;
    return d->vcpu[vcpu_id];
}

/* Charge cycles to the current hypercall of v. */
static inline void vcpu_charge(struct vcpu *v, enum cost_id id)
{
    v->hcall_cycles += v->domain->hv->cycles[id];
}

/* Xen maps shared_info once, when the domain is built; the model translates it on first use
 * (shared_info_map) and keeps the pointer (guest RAM never moves), which keeps every
 * set_pending cheap: the kept pointer is read inline. */
struct shared_info *shared_info_map(struct domain *d);
static inline struct shared_info *shared_info_ptr(struct domain *d)
{
    return d->shared_info ? d->shared_info : shared_info_map(d);
}

/* v's vcpu_info: where VCPUOP_register_vcpu_info put it, else its legacy slot in shared_info
 * (vcpu_id < XEN_LEGACY_MAX_VCPUS), else NULL (no vcpu_info yet: events wait in the ABI's
 * pending state, and registration marks everything pending). For a 32-bit guest it points at
 * the compat vcpu_info, whose upcall bytes and time are where struct vcpu_info has them but
 * whose evtchn_pending_sel is not: use vcpu_info_sel_* (models/shared_info.h) for that. */
struct vcpu_info *vcpu_info_unmapped(struct vcpu *v);
static inline struct vcpu_info *vcpu_info_ptr(struct vcpu *v)
{
    struct shared_info *s = v->domain->shared_info;

    if (v->vcpu_info_reg)
        return v->vcpu_info_reg;
    if (v->vcpu_id < XEN_LEGACY_MAX_VCPUS && s)
        return &s->vcpu_info[v->vcpu_id];
    return vcpu_info_unmapped(v); /* out of line: the rare cases, where NULL is an answer */
}

/* Mark v's upcall pending (Xen's vcpu_mark_events_pending + vcpu_kick). Only a 0 -> 1 edge
 * notifies: a BLOCKED vcpu is woken (sink->wake), a RUNNABLE one kicked (sink->kick), a DOWN
 * one left alone. */
void vcpu_mark_events_pending(struct vcpu *v);
/* Unblock v if it is blocked (SCHEDOP_block) or polling `port` (or any port when port < 0). */
void vcpu_wake_for_event(struct vcpu *v, int port);
/* Wake every vcpu of d that polls `port` (Xen's evtchn_check_pollers). */
void domain_wake_pollers(struct domain *d, uint32_t port);

/* Xen's local_events_need_delivery(): upcall_pending set and upcall_mask clear in v's
 * vcpu_info (whether or not a callback is registered). */
bool vcpu_local_events_need_delivery(struct vcpu *v);
/* Xen system time as seen by v (sink->now_ns), 0 without a sink. */
uint64_t vcpu_now_ns(struct vcpu *v);
/* domain_shutdown: record SHUTDOWN_* once and tell the sink; later calls are ignored, as in
 * Xen once a domain is shutting down. domain_crash is domain_shutdown(d, SHUTDOWN_crash). */
void domain_shutdown(struct domain *d, unsigned reason);
/* Xen decided the domain must die (domain_crash): why is a static string for the report. */
void domain_crash(struct domain *d, const char *why);
/* The domain builder's shared_info set-up (libxc shared_info_x86_64, dom0_construct_pv):
 * zero the page and set evtchn_upcall_mask in every legacy vcpu_info. sim/ calls it once the
 * page is mapped. 0 or -XEN_EFAULT. */
int domain_init_shared_info(struct domain *d);

#endif
