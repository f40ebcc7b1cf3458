#include "sim/timeline.h"

#include <stdlib.h>
#include <string.h>

int timeline_init(struct timeline *t, unsigned nr_slots)
{
    memset(t, 0, sizeof(*t));
    t->slot = calloc(nr_slots ? nr_slots : 1, sizeof(*t->slot));
    t->nr_slots = nr_slots;
    return t->slot ? 0 : -1;
}

int timeline_add_slot(struct timeline *t)
{
    struct timeline_slot *s = realloc(t->slot, (t->nr_slots + 1) * sizeof(*s));

    if (!s)
        return -1;
    t->slot = s;
    memset(&s[t->nr_slots], 0, sizeof(*s));
    return (int)t->nr_slots++;
}

void timeline_free(struct timeline *t)
{
    free(t->slot);
    free(t->heap);
    memset(t, 0, sizeof(*t));
}

static bool entry_before(const struct timeline_entry *a, const struct timeline_entry *b)
{
    return a->at < b->at || (a->at == b->at && a->slot < b->slot);
}

static void swap(struct timeline_entry *a, struct timeline_entry *b)
{
    struct timeline_entry x = *a;
    *a = *b;
    *b = x;
}

static void sift_up(struct timeline *t, unsigned i)
{
    while (i > 0 && entry_before(&t->heap[i], &t->heap[(i - 1) / 2])) {
        swap(&t->heap[i], &t->heap[(i - 1) / 2]);
        i = (i - 1) / 2;
    }
}

static void sift_down(struct timeline *t, unsigned i)
{
    for (;;) {
        unsigned l = 2 * i + 1, r = l + 1, m = i;
        if (l < t->n && entry_before(&t->heap[l], &t->heap[m]))
            m = l;
        if (r < t->n && entry_before(&t->heap[r], &t->heap[m]))
            m = r;
        if (m == i)
            return;
        swap(&t->heap[i], &t->heap[m]);
        i = m;
    }
}

static bool entry_live(const struct timeline *t, const struct timeline_entry *e)
{
    const struct timeline_slot *s = &t->slot[e->slot];
    return s->armed && s->gen == e->gen;
}

/* Rebuild the heap from the live slots: stale entries that never reach the top (deadlines
 * re-armed earlier, again and again) must not grow it without bound. */
static void compact(struct timeline *t)
{
    t->n = 0;
    for (unsigned i = 0; i < t->nr_slots; i++)
        if (t->slot[i].armed)
            t->heap[t->n++] = (struct timeline_entry){t->slot[i].at, i, t->slot[i].gen};
    for (unsigned i = t->n / 2; i-- > 0;)
        sift_down(t, i);
}

int timeline_arm(struct timeline *t, unsigned slot, uint64_t at)
{
    struct timeline_slot *s = &t->slot[slot];
    s->gen++;
    s->armed = true;
    s->at = at;
    if (t->n == t->cap) {
        if (t->cap >= 4 * t->nr_slots + 16) {
            compact(t);
        } else {
            unsigned cap = t->cap ? 2 * t->cap : 16;
            struct timeline_entry *h = realloc(t->heap, cap * sizeof(*h));
            if (!h)
                return -1;
            t->heap = h;
            t->cap = cap;
        }
    }
    t->heap[t->n] = (struct timeline_entry){at, slot, s->gen};
    sift_up(t, t->n++);
    return 0;
}

void timeline_disarm(struct timeline *t, unsigned slot)
{
    t->slot[slot].armed = false;
    t->slot[slot].gen++;
}

uint64_t timeline_next(struct timeline *t)
{
    while (t->n && !entry_live(t, &t->heap[0])) {
        t->heap[0] = t->heap[--t->n];
        sift_down(t, 0);
    }
    return t->n ? t->heap[0].at : TIMELINE_NONE;
}
