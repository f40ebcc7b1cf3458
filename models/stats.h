/* Counters the report is built from. Port counters outlive close (they are kept per port number),
 * so a report after the run still shows channels that were torn down. */
#ifndef EVSIM_MODELS_STATS_H
#define EVSIM_MODELS_STATS_H

#include <stdint.h>

/* Hypercalls are counted per operation: hypercall number and, for multiplexed hypercalls
 * (event_channel_op, sched_op, vcpu_op, ...), the sub-command. */
#define HC_STATS_NR 64u
#define HC_STATS_SUB 17u

struct hc_counter {
    uint64_t calls;
    uint64_t errors;
};

struct port_stats {
    uint64_t sends;      /* EVTCHNOP_send issued on this (local) port */
    uint64_t raised;     /* set_pending attempts on this port (from any source) */
    uint64_t coalesced;  /* ... that found the port already pending */
    uint64_t delivered;  /* pending 1 -> 0 transitions observed (the guest consumed it) */
    uint64_t upcalls;    /* set_pending that newly raised the vcpu's upcall_pending */
    uint64_t dropped;    /* sends to an unbound remote end (silently dropped, as Xen does) */
    uint8_t outstanding; /* internal: a raise that has not been seen consumed yet */
};

struct vcpu_stats {
    uint64_t upcalls_injected;
    uint64_t hypercalls;
    uint64_t blocks;
    uint64_t wakes;
};

/* Limits the domain ran into, and what became of its console output (models/console.c). */
struct limit_stats {
    uint64_t ports_full;         /* a port asked for beyond the table's limit (-ENOSPC) */
    uint64_t pages_full;         /* an event-array page beyond the ABI's last one (-ENOSPC) */
    uint64_t console_lines;      /* lines Xen printed for the domain */
    uint64_t console_suppressed; /* lines printk's rate limit held back */
    uint64_t console_discarded;  /* lines below guest_loglvl, never printed */
    uint64_t console_dropped;    /* lines past the run's console_lines cap (the simulator's) */
};

/* An HVM domain's intercepted I/O accesses (models/hvm_io.c), one per element of a string
 * access: by how Xen routes them, direction (indexed by Xen's IOREQ_WRITE 0 / IOREQ_READ 1) and
 * who completed them. */
enum hvm_io_kind { HVM_IO_PIO, HVM_IO_MMIO, HVM_IO_PCI_CONFIG, HVM_IO_KINDS };
enum hvm_io_outcome {
    HVM_IO_INTERNAL,  /* one of Xen's own handlers */
    HVM_IO_UNCLAIMED, /* no handler and no ioreq server: Xen's null handler */
    HVM_IO_FORWARDED, /* sent to an ioreq server */
    HVM_IO_OUTCOMES
};
struct hvm_io_stats {
    uint64_t n[HVM_IO_KINDS][2][HVM_IO_OUTCOMES];
};

struct domain_stats {
    struct hc_counter hc[HC_STATS_NR][HC_STATS_SUB];
    struct limit_stats limits;
    struct hvm_io_stats hvm_io;
    /* per port number; grown with the port table, never shrunk */
    struct port_stats *port;
    unsigned nr_port_stats, cap_port_stats; /* in use (one per valid port), allocated */
};

#endif
