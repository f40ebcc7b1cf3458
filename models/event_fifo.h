/* The FIFO event-channel ABI, Xen's side (xen/common/event_fifo.c): the per-domain event array
 * (guest pages of 32-bit event words, added one at a time by EVTCHNOP_expand_array) and, per
 * vcpu, the control block the guest registered with EVTCHNOP_init_control plus the state Xen
 * keeps for each of its 16 priority queues. Private to models/ (and its tests): the rest of the
 * simulator only sees the ops table and the counters below. */
#ifndef EVSIM_MODELS_EVENT_FIFO_H
#define EVSIM_MODELS_EVENT_FIFO_H

#include <stdint.h>

#include "models/evtchn.h"

/* 1024 event words per page; 128 pages reach the last port. */
#define EVTCHN_FIFO_WORDS_PER_PAGE (XEN_PAGE_SIZE / sizeof(event_word_t))
#define EVTCHN_FIFO_MAX_ARRAY_PAGES (EVTCHN_FIFO_NR_CHANNELS / EVTCHN_FIFO_WORDS_PER_PAGE)

_Static_assert(EVTCHN_FIFO_NR_CHANNELS <= EVTCHN_MAX_PORTS, "the port table holds every port");
_Static_assert(sizeof(struct evtchn_fifo_control_block) == 72, "control block is 72 bytes");

/* One queue: the events of one vcpu at one priority, linked through the LINK fields of their
 * event words. HEAD lives in the guest's control block; Xen only writes it when the queue was
 * empty. The tail is Xen's alone: where the next event is linked. */
struct evtchn_fifo_queue {
    volatile uint32_t *head; /* &control_block->head[priority]; NULL until the block is mapped */
    uint32_t tail;           /* the port linked last; 0: none (the queue is empty) */
    uint8_t priority;
};

struct evtchn_fifo_vcpu {
    /* Published last, after every queue's head (XSA-358): a vcpu whose control_block is set has
     * usable queues. NULL until init_control for this vcpu. */
    volatile struct evtchn_fifo_control_block *control_block;
    uint64_t control_gpa; /* where the guest put it (page + offset) */
    struct evtchn_fifo_queue queue[EVTCHN_FIFO_MAX_QUEUES];
};

/* What happened inside Xen that the guest cannot see, for the report. */
struct evtchn_fifo_stats {
    /* Events Xen gave up linking (its "port not linked" / "lost event" warnings): the tail
     * word kept changing under the cmpxchg beyond the retry bound. The port is LINKED but
     * unreachable from its queue. */
    uint64_t lost_events;
    uint64_t busy_links;       /* links that had to set BUSY on the tail word to finish */
    uint64_t no_control_block; /* raised for a vcpu without a control block: pending, unlinked */
    uint64_t deferred;         /* raised beyond the event array: saved until the page is added */
};

struct evtchn_fifo_domain {
    /* Page n holds the event words of ports n * 1024 .. n * 1024 + 1023. */
    volatile event_word_t *event_array[EVTCHN_FIFO_MAX_ARRAY_PAGES];
    uint64_t array_gpa[EVTCHN_FIFO_MAX_ARRAY_PAGES];
    unsigned num_evtchns; /* ports backed by the array; raised only once the page is in */
    struct evtchn_fifo_stats stats;
};

/* The event word of `port`, or NULL when d is not on FIFO or the array does not reach it. */
volatile event_word_t *evtchn_fifo_word_from_port(const struct domain *d, uint32_t port);
/* Event-array pages d has added (0 when not on FIFO). */
unsigned evtchn_fifo_array_pages(const struct domain *d);
/* d's counters, NULL when d is not on FIFO. They go with the FIFO state (reset clears them). */
const struct evtchn_fifo_stats *evtchn_fifo_stats(const struct domain *d);
/* Events lost while linking (0 when d is not on FIFO). */
uint64_t evtchn_fifo_lost_events(const struct domain *d);
/* Memory the FIFO state of d takes inside Xen (domain and per-vcpu structs; the event array
 * and control blocks are guest pages and not counted). 0 when d is not on FIFO. */
uint64_t evtchn_fifo_model_bytes(const struct domain *d);

#endif
