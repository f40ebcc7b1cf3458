/* The path of every event, stage by stage (ARCHITECTURE.md, "the path of one event"): from the
 * sender's trap to the guest's handler and its return, every cycle in one stage. The simulator
 * reports the moments; this module keeps, per receiving channel, the samples of every stage and
 * of the end-to-end latency, and their distributions.
 *
 *   trap        the sender's hypercall entry (pv_trap or hvm_exit)      t0 .. t1
 *   dispatch    dispatch and the handler up to set_pending                t1 .. t2
 *   set_pending the ABI's set_pending, with its cache lines               t2 .. t3
 *   kick        until a running target takes the interrupt                 t3 .. t4
 *   wake        until a blocked or waiting target runs (scheduler)          t3 .. t4
 *   inject      entering the event callback                                 t4 .. t5
 *   scan        the guest's upcall code until it clears this port          t5 .. t6
 *   handler     from the clear to the next port's clear or the iret        t6 .. t7
 *   return      HYPERVISOR_iret                                             t7 .. t8
 *
 * End to end: t0 .. t6, send to handler. Events raised by timers and interrupts start at t3
 * (no trap). Events consumed without an upcall (SCHEDOP_poll) have no kick..scan samples. */
#ifndef EVSIM_SIM_STAGES_H
#define EVSIM_SIM_STAGES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum stage {
    ST_TRAP,
    ST_DISPATCH,
    ST_SET_PENDING,
    ST_KICK,
    ST_WAKE,
    ST_INJECT,
    ST_SCAN,
    ST_HANDLER,
    ST_RETURN,
    ST_COUNT
};
extern const char *const stage_names[ST_COUNT];

struct samples {
    uint64_t *v; /* cycles */
    size_t n, cap;
};

/* A distribution, computed once at the end (nearest-rank percentiles). */
struct distribution {
    uint64_t count, mean, p50, p95, p99, max;
};
void samples_add(struct samples *s, uint64_t cycles);
void samples_free(struct samples *s);
/* Sorts s in place. */
struct distribution samples_distribution(struct samples *s);

/* The event in flight on one port... */
struct stage_flight {
    bool active, injected, blocked_target, from_hypercall;
    unsigned vcpu; /* the vcpu notified */
    uint64_t t[9]; /* t0..t8 */
};

/* ... and the samples of the channel. */
struct stage_port {
    struct stage_flight f;
    struct samples stage[ST_COUNT];
    struct samples e2e;
};

/* The cycles a stage adds to an average event of the channel: its total over the channel's
 * events (a stage that only some events pass through counts for what it adds to all). */
uint64_t stage_per_event(const struct stage_port *p, enum stage k);

/* Per domain: ports by number, grown on demand. */
struct stage_domain {
    struct stage_port *port;
    uint32_t nr_ports;
};

/* Per vcpu: ports raised for it and not yet delivered, and the one being handled. */
struct stage_vcpu {
    uint32_t *waiting;
    size_t nr_waiting, cap_waiting;
    int64_t handling; /* port whose handler runs, or -1 */
};

void stages_domain_free(struct stage_domain *sd);
void stages_vcpu_free(struct stage_vcpu *sv);

/* The moments, as the simulator sees them (times in cycles). */
void stages_raise(struct stage_domain *sd, struct stage_vcpu *target, uint32_t port, unsigned vcpu,
                  bool from_hypercall, uint64_t t0, uint64_t trap_end, uint64_t set_pending_start,
                  uint64_t set_pending_end, bool target_blocked);
void stages_inject(struct stage_domain *sd, struct stage_vcpu *v, uint64_t start, uint64_t end);
void stages_cleared(struct stage_domain *sd, struct stage_vcpu *v, uint32_t port, uint64_t now);
void stages_iret(struct stage_domain *sd, struct stage_vcpu *v, uint64_t start, uint64_t end);

#endif
