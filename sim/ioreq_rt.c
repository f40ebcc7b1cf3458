/* Ioreq round trips by stage: see ioreq_rt.h. */
#include "sim/ioreq_rt.h"

#include <stdlib.h>
#include <string.h>

const char *const rt_stage_names[RT_STAGES] = {
    [RT_EXIT] = "exit",           [RT_DECODE] = "decode",
    [RT_SEND] = "send",           [RT_EMULATOR_WAKE] = "emulator_wake",
    [RT_HANDLE] = "handle",       [RT_RESPOND] = "respond",
    [RT_VCPU_WAKE] = "vcpu_wake", [RT_COMPLETE] = "complete",
    [RT_ENTRY] = "entry",
};

/* The range of s that holds key (a port, an address, or for PCI an SBDF), as stored now. */
static const struct ioreq_rangeset *rangeset_of(const struct ioreq_server *s, uint32_t type)
{
    return type < NR_IO_RANGE_TYPES ? &s->range[type] : NULL;
}

static struct rt_range *range_slot(struct rt_server *rs, uint32_t type, uint64_t start,
                                   uint64_t end)
{
    for (unsigned i = 0; i < rs->nr_range; i++)
        if (rs->range[i].type == type && rs->range[i].start == start && rs->range[i].end == end)
            return &rs->range[i];
    if (rs->nr_range == rs->cap_range) {
        unsigned cap = rs->cap_range ? 2 * rs->cap_range : 8;
        struct rt_range *grown = realloc(rs->range, cap * sizeof(*grown));
        if (!grown)
            return NULL; /* the per-range count is lost, the server's totals are not */
        rs->range = grown;
        rs->cap_range = cap;
    }
    rs->range[rs->nr_range] = (struct rt_range){.type = type, .start = start, .end = end};
    return &rs->range[rs->nr_range++];
}

void rt_count(struct rt_domain *rd, const struct ioreq_server *s, uint32_t type, uint64_t addr,
              uint8_t dir, bool buffered)
{
    if (!s || s->id >= MAX_NR_IOREQ_SERVERS || type >= NR_IO_RANGE_TYPES)
        return;
    struct rt_server *rs = &rd->server[s->id];
    rs->used = true;
    rs->emulator = s->emulator;
    rs->n[type][dir ? IOREQ_READ : IOREQ_WRITE]++;
    if (buffered)
        rs->buffered++;
    else
        rs->synchronous++;
    const struct ioreq_rangeset *set = rangeset_of(s, type);
    uint64_t key = type == XEN_DMOP_IO_RANGE_PCI ? addr >> 32 : addr;
    for (unsigned i = 0; set && i < set->nr; i++)
        if (key >= set->r[i].s && key <= set->r[i].e) {
            struct rt_range *r = range_slot(rs, type, set->r[i].s, set->r[i].e);
            if (r)
                r->requests++;
            return;
        }
}

void rt_mark(struct rt_flight *f, enum rt_stage k, uint64_t now)
{
    if (!f->active || f->seen[k])
        return;
    f->t[k] = now;
    f->seen[k] = true;
}

void rt_finish(struct rt_domain *rd, struct rt_flight *f, uint64_t now)
{
    if (!f->active)
        return;
    f->t[RT_STAGES] = now;
    f->seen[RT_STAGES] = true;
    /* A moment seen on another CPU's clock may come out a little before the one it follows
     * (the CPUs are up to a lookahead apart): it is taken as that one, the stage between them
     * as zero, and the earlier stages keep their own CPU's times. */
    uint64_t last = f->t[RT_EXIT];
    for (unsigned k = 1; k <= RT_STAGES; k++)
        if (f->seen[k]) {
            if (f->t[k] < last)
                f->t[k] = last;
            last = f->t[k];
        }
    /* An unseen moment is where the next seen one is: its stage adds nothing. */
    for (int k = RT_STAGES - 1; k >= 0; k--)
        if (!f->seen[k])
            f->t[k] = f->t[k + 1];
    if (f->server < MAX_NR_IOREQ_SERVERS) {
        struct rt_server *rs = &rd->server[f->server];
        samples_add(&rs->round_trip, f->t[RT_STAGES] - f->t[RT_EXIT]);
        for (unsigned k = 0; k < RT_STAGES; k++)
            samples_add(&rs->stage[k], f->t[k + 1] - f->t[k]);
    }
    memset(f, 0, sizeof(*f));
}

void rt_domain_free(struct rt_domain *rd)
{
    for (unsigned i = 0; i < MAX_NR_IOREQ_SERVERS; i++) {
        struct rt_server *rs = &rd->server[i];
        samples_free(&rs->round_trip);
        samples_free(&rs->buffered_cost);
        for (unsigned k = 0; k < RT_STAGES; k++)
            samples_free(&rs->stage[k]);
        free(rs->range);
    }
    memset(rd, 0, sizeof(*rd));
}
