/* Replay's guest side of event delivery: what a guest's upcall handler does with the pages it
 * shares with Xen, for each ABI, so that a replayed handler takes the events that are pending in
 * the new timing (not the ones the recording's handler found). Each access goes through the same
 * priced paths as a guest's (the coherence model, the event paths' stages). The order is the
 * evsim guest runtime's (guests/rt/events_*.c), which is Linux's: 2-level and 3-level go round
 * from just after the last port handled; FIFO takes the ready queues by priority. */
#ifndef EVSIM_SIM_REPLAY_GUEST_H
#define EVSIM_SIM_REPLAY_GUEST_H

#include <stdbool.h>
#include <stdint.h>

#include "models/xen_public.h"

struct sim_vcpu;

/* A vcpu's guest-side event state, kept across upcalls. */
struct rp_guest {
    unsigned resume_word, resume_bit;           /* 2-level, 3-level: where the next scan starts */
    uint32_t fifo_head[EVTCHN_FIFO_MAX_QUEUES]; /* FIFO: where each queue goes on */
    /* the upcall in progress */
    int state;       /* where its loop is (replay_guest.c) */
    bool started;    /* a round has begun: the next one first looks at upcall_pending */
    uint64_t sel;    /* 3-level: L1 selector bits whose L2 words are still to take */
    uint32_t *words; /* 2-level, 3-level: the selected pending words, ascending */
    unsigned nr_words, cap_words;
    struct rp_word {
        uint32_t word;
        uint64_t keep; /* bits of the word this visit may take */
    } * visit;         /* ... in the order they are visited */
    unsigned nr_visit, next_visit, cap_visit;
    uint32_t word;  /* the word being taken ... */
    uint64_t bits;  /* ... and its ports still to handle */
    uint32_t ready; /* FIFO: queues with events */
    unsigned queue; /* FIFO: the queue being taken ... */
    uint32_t port;  /* ... and the event at its head */
};

/* The guest's upcall code goes one action at a time (so that the guest cycles the recording
 * had before each run first): how many accesses the next action makes (0: the handler is done,
 * it returns), then the action: a port the guest took (its PENDING bit cleared, as the guest
 * does before it runs the port's handler), or -1. */
unsigned rp_guest_plan(struct sim_vcpu *sv, struct rp_guest *g);
int64_t rp_guest_act(struct sim_vcpu *sv, struct rp_guest *g);
bool rp_guest_done(const struct rp_guest *g);
/* The upcall is over: the next one starts from the top of the loop. */
void rp_guest_upcall_done(struct rp_guest *g);
void rp_guest_free(struct rp_guest *g);

/* What a guest's own code does to one port's bits (outside the upcall's scan): set or clear
 * its mask, clear its PENDING bit, or look at its word. In the ABI the domain has now. */
enum rp_port_op { RP_OP_MASK, RP_OP_UNMASK, RP_OP_CLEAR, RP_OP_LOOK };
void rp_guest_port_op(struct sim_vcpu *sv, uint32_t port, enum rp_port_op op);

/* A guest access to memory it shares with Xen, at host address p of sv's domain: priced as the
 * guest's (shared_info, an event page), else plain memory. */
uint64_t rp_guest_read(struct sim_vcpu *sv, const volatile void *p, unsigned size);
void rp_guest_write(struct sim_vcpu *sv, volatile void *p, unsigned size, uint64_t value);

#endif
