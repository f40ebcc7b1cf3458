/* The deadlines of the kernel's timed callbacks (vcpu timers, PIRQ sources): a running CPU must
 * not run past the next one, since the callback may act on any vcpu. SystemC knows when its next
 * activity is, but not whether it is such a callback or another CPU resuming, which may act only
 * a lookahead later (docs/timing.md): hence this list of its own.
 *
 * A slot is one callback's deadline, armed or not; a binary min-heap holds the deadlines, with
 * entries that a re-arm or a disarm made stale dropped when they reach the top. */
#ifndef EVSIM_SIM_TIMELINE_H
#define EVSIM_SIM_TIMELINE_H

#include <stdbool.h>
#include <stdint.h>

#define TIMELINE_NONE UINT64_MAX

struct timeline_slot {
    uint64_t at;
    uint32_t gen; /* bumped by every arm and disarm: older heap entries are stale */
    bool armed;
};

struct timeline_entry {
    uint64_t at;
    uint32_t slot, gen;
};

struct timeline {
    struct timeline_slot *slot;
    unsigned nr_slots;
    struct timeline_entry *heap;
    unsigned n, cap;
};

/* 0, or -1 when out of memory. */
int timeline_init(struct timeline *t, unsigned nr_slots);
void timeline_free(struct timeline *t);
/* One more slot (after timeline_init): its number, or -1 when out of memory. */
int timeline_add_slot(struct timeline *t);
/* Arm (or re-arm) slot for cycle `at`. 0, or -1 when out of memory. */
int timeline_arm(struct timeline *t, unsigned slot, uint64_t at);
void timeline_disarm(struct timeline *t, unsigned slot);
/* The earliest armed deadline, or TIMELINE_NONE. */
uint64_t timeline_next(struct timeline *t);

#endif
