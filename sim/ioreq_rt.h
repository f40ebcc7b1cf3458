/* Ioreq round trips, stage by stage: an HVM vcpu's access that Xen hands to an emulator, from
 * the VM exit to the guest running again with the answer (ARCHITECTURE.md, "the path of one
 * ioreq"). The simulator reports the moments; this module keeps, per server, the requests by
 * kind, the round-trip samples and each stage's.
 *
 *   exit            the VM exit (half of hvm_exit; the entry pays the other half)   t0 .. t1
 *   decode          decoding it, Xen's handlers, server selection                    t1 .. t2
 *   send            writing the slot and notifying the emulator's port               t2 .. t3
 *   emulator_wake   until the emulator reads the slot as READY (its upcall)          t3 .. t4
 *   handle          the emulator's handling, until it writes IORESP_READY            t4 .. t5
 *   respond         until its notification reaches Xen (EVTCHNOP_send)               t5 .. t6
 *   vcpu_wake       until the vcpu runs again (scheduler)                            t6 .. t7
 *   complete        vcpu_ioreq_handle_completion (ioreq_complete)                    t7 .. t8
 *   entry           the VM entry                                                     t8 .. t9
 *
 * A moment the simulator does not see (an emulator that never reads the slot through its
 * mapping) makes its stage zero and the next one longer. */
#ifndef EVSIM_SIM_IOREQ_RT_H
#define EVSIM_SIM_IOREQ_RT_H

#include <stdbool.h>
#include <stdint.h>

#include "models/ioreq.h"
#include "sim/stages.h"

enum rt_stage {
    RT_EXIT,
    RT_DECODE,
    RT_SEND,
    RT_EMULATOR_WAKE,
    RT_HANDLE,
    RT_RESPOND,
    RT_VCPU_WAKE,
    RT_COMPLETE,
    RT_ENTRY,
    RT_STAGES
};
extern const char *const rt_stage_names[RT_STAGES];

/* The synchronous request a vcpu waits for (one at most: it does not run meanwhile). */
struct rt_flight {
    bool active;
    unsigned server;
    uint64_t t[RT_STAGES + 1]; /* t[k]: stage k starts; t[RT_STAGES]: the guest runs again */
    bool seen[RT_STAGES + 1];  /* which moments were observed */
};

/* Requests that hit one range of a server (as the range was when they hit it). */
struct rt_range {
    uint32_t type; /* XEN_DMOP_IO_RANGE_* */
    uint64_t start, end;
    uint64_t requests;
};

struct rt_server {
    bool used;
    domid_t emulator;
    uint64_t n[NR_IO_RANGE_TYPES][2]; /* by range type and direction (IOREQ_WRITE, IOREQ_READ) */
    uint64_t synchronous, buffered;
    uint64_t ring_full; /* buffered requests the ring could not take: sent synchronously */
    uint64_t bad_state; /* requests Xen could not hand over (the emulator left a bad slot) */
    struct samples round_trip;
    struct samples stage[RT_STAGES];
    struct samples buffered_cost; /* a buffered write: from its exit to the guest going on */
    struct rt_range *range;
    unsigned nr_range, cap_range;
};

struct rt_domain {
    struct rt_server server[MAX_NR_IOREQ_SERVERS];
};

/* A request of type `type` (XEN_DMOP_IO_RANGE_*) and direction to server s went out. */
void rt_count(struct rt_domain *rd, const struct ioreq_server *s, uint32_t type, uint64_t addr,
              uint8_t dir, bool buffered);
/* Moments of f, in cycles; a moment already seen is kept (the first one counts). */
void rt_mark(struct rt_flight *f, enum rt_stage k, uint64_t now);
/* The guest runs again at `now`: f's samples go to its server. */
void rt_finish(struct rt_domain *rd, struct rt_flight *f, uint64_t now);
void rt_domain_free(struct rt_domain *rd);

#endif
