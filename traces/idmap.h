/* Domain ids (16 bits) to pointers, in 256 pages of 256 entries allocated on first use: a
 * recording of a few domains costs a few KiB, not the 512 KiB of a flat table, and a walk over
 * the domains skips empty pages. */
#ifndef EVSIM_TRACES_IDMAP_H
#define EVSIM_TRACES_IDMAP_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#define XT_IDMAP_PAGE 256u

struct xt_idmap {
    void **page[XT_IDMAP_PAGE];
};

static inline void *xt_idmap_get(const struct xt_idmap *m, uint32_t id)
{
    void **p = m->page[(id >> 8) & 0xff];

    return p ? p[id & 0xff] : NULL;
}

/* false when out of memory */
static inline bool xt_idmap_set(struct xt_idmap *m, uint32_t id, void *value)
{
    void ***p = &m->page[(id >> 8) & 0xff];

    if (!*p && !(*p = calloc(XT_IDMAP_PAGE, sizeof(**p))))
        return false;
    (*p)[id & 0xff] = value;
    return true;
}

/* The first id >= *id with a value, in *id; false when there is none. */
static inline bool xt_idmap_next(const struct xt_idmap *m, uint32_t *id)
{
    for (uint32_t i = *id; i < XT_IDMAP_PAGE * XT_IDMAP_PAGE; i++) {
        if (!m->page[i >> 8]) {
            i |= 0xff;
            continue;
        }
        if (m->page[i >> 8][i & 0xff]) {
            *id = i;
            return true;
        }
    }
    return false;
}

/* Frees the pages (not the values). */
static inline void xt_idmap_free(struct xt_idmap *m)
{
    for (uint32_t i = 0; i < XT_IDMAP_PAGE; i++) {
        free(m->page[i]);
        m->page[i] = NULL;
    }
}

#endif
