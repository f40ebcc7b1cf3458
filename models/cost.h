/* The cost profile: every cycle the simulator charges comes from one of these named constants.
 * Profiles are files (sim/profiles/NAME.ini, docs/profiles.md), each constant with its value,
 * unit, source and confidence (C: read in the source, S: quoted by a secondary source, U: from
 * memory, E: an explicit estimate with its reasoning, M: measured on this host). The model only
 * reads them; sim/ parses the files. */
#ifndef EVSIM_MODELS_COST_H
#define EVSIM_MODELS_COST_H

#include <stdint.h>

enum cost_id {
    /* Guest instructions, by class, in cycles per instruction (ahead-of-time block costs). */
    COST_INSN_ALU,    /* simple integer ALU, moves, lea, nop */
    COST_INSN_MUL,    /* integer multiply */
    COST_INSN_DIV,    /* integer divide */
    COST_INSN_LOAD,   /* an instruction that reads memory (L1 hit) */
    COST_INSN_STORE,  /* an instruction that writes memory (a read-modify-write pays both) */
    COST_INSN_LOCKED, /* locked read-modify-write: lock-prefixed, or xchg with memory */
    COST_INSN_BRANCH_NOT_TAKEN, /* conditional branch that falls through (also charged when taken)
                                 */
    COST_INSN_BRANCH_TAKEN, /* jmp, call, ret, and the extra cost of a taken conditional branch */
    COST_INSN_SERIALIZING,  /* rdtsc, rdtscp, cpuid, lfence/mfence and the like */
    /* Entering and leaving Xen. */
    COST_PV_TRAP,  /* PV hypercall: SYSCALL into Xen and back */
    COST_HVM_EXIT, /* HVM hypercall: VM exit and entry round trip */
    /* An HVM I/O exit beyond the VM exit itself: a port access decoded from the exit
     * qualification (handle_pio), or an access Xen must run through its instruction emulator
     * (MMIO from an EPT violation, string port I/O: hvm_emulate_one), up to its handler. */
    COST_HVM_IO_DECODE,
    COST_HVM_IO_EMULATE,
    /* Resuming a vcpu whose ioreq an emulator answered (vcpu_ioreq_handle_completion): the
     * response taken from the slot, and the instruction finished with it (handle_pio's
     * completion, or hvm_emulate_one run again for MMIO and string I/O). */
    COST_IOREQ_COMPLETE,
    COST_HYPERCALL_DISPATCH, /* table dispatch and argument copy */
    COST_EVTCHN_OP,          /* an event-channel operation's handler body */
    /* Xen's side of an event-channel ABI, priced from what it does: a fixed cost per port
     * operation, then every access it makes to memory shared with the guest, by kind (the
     * coherence model adds the line's transfer when another CPU holds it). */
    COST_PORT_OP,    /* one ABI port operation: the ops-table call and its lookups */
    COST_XEN_READ,   /* a plain load from a shared line, L1 hit */
    COST_XEN_WRITE,  /* a plain store to a shared line */
    COST_XEN_LOCKED, /* a locked read-modify-write (test_and_set_bit, cmpxchg, xchg), L1 hit */
    COST_UPCALL_INJECT_PV,  /* building the bounce frame and entering the PV callback */
    COST_UPCALL_INJECT_HVM, /* injecting the upcall vector into an HVM vcpu */
    COST_IRET,              /* HYPERVISOR_iret beyond the trap */
    /* Between CPUs and vcpus. */
    COST_IPI,            /* an interrupt sent to another physical CPU, as it receives it */
    COST_WAKE,           /* waking a blocked vcpu: scheduler work until it runs */
    COST_CONTEXT_SWITCH, /* switching vcpus on one physical CPU */
    /* Caches: a shared line (coherence model). */
    COST_LINE_LOCAL,  /* the line is already in this CPU's cache */
    COST_LINE_SOCKET, /* the line comes from another core of the same socket */
    COST_LINE_REMOTE, /* the line comes from another socket */
    COST_IDS
};

/* The file name of every constant ("insn_alu", "pv_trap", ...), indexed by cost_id. */
extern const char *const cost_names[COST_IDS];

struct cost_entry {
    uint64_t cycles;  /* the value in cycles of the profile's clock (ns are converted) */
    char unit[8];     /* as given in the file: "cycles" or "ns" */
    double value;     /* as given in the file */
    char confidence;  /* 'C', 'S', 'U', 'E' or 'M' */
    char source[512]; /* where the figure comes from, or the estimate's reasoning */
};

struct cost_profile {
    char name[48];    /* the file's base name, e.g. "skylake-sp" */
    char cpu[128];    /* the CPU the figures describe */
    uint64_t cpu_khz; /* clock: converts cycles to ns and drives the TSC */
    char clock_source[256];
    struct cost_entry c[COST_IDS];
};

static inline uint64_t cost_cycles(const struct cost_profile *p, enum cost_id id)
{
    return p->c[id].cycles;
}
/* ns = cycles * 10^6 / kHz, rounded down. */
uint64_t cost_cycles_to_ns(const struct cost_profile *p, uint64_t cycles);
/* Saturating: a time too far ahead for 64-bit cycles is UINT64_MAX ("never"). */
uint64_t cost_ns_to_cycles(const struct cost_profile *p, uint64_t ns);

#endif
