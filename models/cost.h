/* The cost profile: every cycle the simulator charges comes from one of these named constants.
 * Each constant carries its source and confidence in cost.c (C: read in the source, S: quoted by a
 * secondary source, U: from memory, E: an explicit estimate with its reasoning). */
#ifndef EVSIM_MODELS_COST_H
#define EVSIM_MODELS_COST_H

#include <stdint.h>

struct cost_entry {
    const char *name; /* key, e.g. "hypercall_trap" */
    uint64_t cycles;
    const char *source; /* where the figure comes from */
    char confidence;    /* 'C', 'S', 'U' or 'E' */
};

enum cost_id {
    COST_HYPERCALL_TRAP,     /* PV hypercall: SYSCALL into Xen and return to the guest */
    COST_HYPERCALL_DISPATCH, /* table dispatch + argument copy in Xen */
    COST_EVTCHN_OP,          /* an event-channel operation's handler body */
    COST_SET_PENDING,        /* one ABI set_pending (bit ops on shared lines) */
    COST_GUEST_INSN,         /* one guest instruction (issue 3 replaces this with block costs) */
    COST_IPI,                /* kick of a vcpu running on another physical CPU */
    COST_WAKE,               /* wake-up and scheduling of a blocked vcpu */
    COST_CONTEXT_SWITCH,     /* switching vcpus on one physical CPU */
    COST_UPCALL_INJECT,      /* building the bounce frame and entering the callback */
    COST_IRET,               /* HYPERVISOR_iret beyond the trap itself */
    COST_IDS
};

struct cost_profile {
    const char *name;
    const char *cpu;  /* CPU model the figures describe */
    uint64_t cpu_khz; /* clock: converts cycles to ns and drives the TSC */
    struct cost_entry c[COST_IDS];
};

const struct cost_profile *cost_profile_default(void);
static inline uint64_t cost_cycles(const struct cost_profile *p, enum cost_id id)
{
    return p->c[id].cycles;
}
/* ns = cycles * 10^6 / kHz, rounded down. */
uint64_t cost_cycles_to_ns(const struct cost_profile *p, uint64_t cycles);
uint64_t cost_ns_to_cycles(const struct cost_profile *p, uint64_t ns);

#endif
