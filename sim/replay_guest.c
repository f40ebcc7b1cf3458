/* Replay's guest side of event delivery: see replay_guest.h. One function per ABI behind a
 * table, each a step of the guest runtime's upcall loop made resumable: it hands out one port at
 * a time, because the port's handler (replayed from the recording) runs before the scan goes
 * on, exactly as in the guest. */
#include "sim/replay_guest.h"

#include <stdlib.h>
#include <string.h>

#include "evsim/xen_3l.h"
#include "models/event_3l.h"
#include "models/event_fifo.h"
#include "models/evtchn.h"
#include "sim/evpages.h"
#include "sim/machine.h"
#include "sim/vcpu.h"

#define WORD_BITS 64u
#define PENDING_BIT ((event_word_t)1 << EVTCHN_FIFO_PENDING)
#define MASKED_BIT ((event_word_t)1 << EVTCHN_FIFO_MASKED)
#define LINKED_BIT ((event_word_t)1 << EVTCHN_FIFO_LINKED)

/* ---- priced accesses ------------------------------------------------------------------------ */

/* The event page of sd holding host address p, or -1. */
static int evpage_of(const struct sim_domain *sd, const volatile void *p)
{
    const uint8_t *a = (const uint8_t *)(uintptr_t)p;
    for (unsigned i = sd->nr_evpage; i-- > 0;) {
        const struct sim_event_page *pg = &sd->evpage[i];
        if (!pg->released && !pg->hole && pg->host && a >= pg->host && a < pg->host + XEN_PAGE_SIZE)
            return (int)i;
    }
    return -1;
}

static uint64_t guest_read(struct sim_vcpu *sv, const volatile void *p, unsigned size)
{
    struct sim_domain *sd = sv->sd;
    const uint8_t *a = (const uint8_t *)(uintptr_t)p;
    uint64_t value = 0;
    if (a >= sd->shared_info && a < sd->shared_info + XEN_PAGE_SIZE)
        return sim_shared_info_read(sv, (uint64_t)(a - sd->shared_info), size);
    int page = evpage_of(sd, p);
    if (page >= 0)
        return sim_evpage_read(sv, (unsigned)page, (uint64_t)(a - sd->evpage[page].host), size);
    memcpy(&value, a, size);
    return value;
}

static void guest_write(struct sim_vcpu *sv, volatile void *p, unsigned size, uint64_t value)
{
    struct sim_domain *sd = sv->sd;
    uint8_t *a = (uint8_t *)(uintptr_t)p;
    if (a >= sd->shared_info && a < sd->shared_info + XEN_PAGE_SIZE) {
        sim_shared_info_write(sv, (uint64_t)(a - sd->shared_info), size, value);
        return;
    }
    int page = evpage_of(sd, p);
    if (page >= 0)
        sim_evpage_write(sv, (unsigned)page, (uint64_t)(a - sd->evpage[page].host), size, value);
    else
        memcpy(a, &value, size);
}

/* The engine hands a guest's 8-byte access to device-like memory over as two 4-byte ones, low
 * half first: so does replay, so that each is priced the same. */
uint64_t rp_guest_read(struct sim_vcpu *sv, const volatile void *p, unsigned size)
{
    if (size != 8)
        return guest_read(sv, p, size);
    const volatile uint8_t *b = p;
    uint64_t lo = guest_read(sv, b, 4);
    return lo | guest_read(sv, b + 4, 4) << 32;
}

void rp_guest_write(struct sim_vcpu *sv, volatile void *p, unsigned size, uint64_t value)
{
    if (size != 8) {
        guest_write(sv, p, size, value);
        return;
    }
    volatile uint8_t *b = p;
    guest_write(sv, b, 4, (uint32_t)value);
    guest_write(sv, b + 4, 4, value >> 32);
}

/* A locked read-modify-write as the guest's: a read, then the write (one line transfer each
 * way, as the engine's MMIO path prices it). Returns the old value. */
static uint64_t rmw(struct sim_vcpu *sv, volatile void *p, unsigned size, uint64_t and_mask,
                    uint64_t or_mask)
{
    uint64_t old = rp_guest_read(sv, p, size);
    rp_guest_write(sv, p, size, (old & and_mask) | or_mask);
    return old;
}

/* ---- 2-level and 3-level: bitmaps under selectors -------------------------------------------- */

static bool visit_add(struct rp_guest *g, uint32_t word, uint64_t keep)
{
    if (g->nr_visit == g->cap_visit) {
        unsigned cap = g->cap_visit ? 2 * g->cap_visit : 64;
        struct rp_word *v = realloc(g->visit, cap * sizeof(*v));
        if (!v)
            return false;
        g->visit = v;
        g->cap_visit = cap;
    }
    g->visit[g->nr_visit++] = (struct rp_word){word, keep};
    return true;
}

/* The selected words (ascending in g->words) in the runtime's order: the resume word from the
 * resume bit up, the words after it, those before it, the resume word's bits below. */
static void visit_in_order(struct rp_guest *g)
{
    unsigned w0 = g->resume_word, b0 = g->resume_bit, n = g->nr_words;
    const uint32_t *words = g->words;
    bool first = false;
    g->nr_visit = g->next_visit = 0;
    for (unsigned i = 0; i < n; i++)
        first |= words[i] == w0;
    if (first)
        visit_add(g, w0, ~(uint64_t)0 << b0);
    for (unsigned i = 0; i < n; i++)
        if (words[i] > w0)
            visit_add(g, words[i], ~(uint64_t)0);
    for (unsigned i = 0; i < n; i++)
        if (words[i] < w0)
            visit_add(g, words[i], ~(uint64_t)0);
    if (first && b0)
        visit_add(g, w0, ((uint64_t)1 << b0) - 1);
}

static bool word_add(struct rp_guest *g, uint32_t w)
{
    if (g->nr_words == g->cap_words) {
        unsigned cap = g->cap_words ? 2 * g->cap_words : 64;
        uint32_t *p = realloc(g->words, cap * sizeof(*p));
        if (!p)
            return false;
        g->words = p;
        g->cap_words = cap;
    }
    g->words[g->nr_words++] = w;
    return true;
}

static volatile uint64_t *pending_word(struct domain *d, bool l3, uint32_t w)
{
    if (!l3) {
        struct sim_domain *sd = d->sim;
        return (volatile uint64_t *)((struct shared_info *)(void *)sd->shared_info)
                   ->evtchn_pending +
               w;
    }
    const struct evtchn_3l_domain *p = d->evtchn_3l;
    unsigned per_page = XEN_PAGE_SIZE / 8, page = w / per_page;
    return p && page < p->nr_pages && p->pending[page] ? p->pending[page] + w % per_page : NULL;
}

static volatile uint64_t *mask_word(struct domain *d, bool l3, uint32_t w)
{
    if (!l3) {
        struct sim_domain *sd = d->sim;
        return (volatile uint64_t *)((struct shared_info *)(void *)sd->shared_info)->evtchn_mask +
               w;
    }
    const struct evtchn_3l_domain *p = d->evtchn_3l;
    unsigned per_page = XEN_PAGE_SIZE / 8, page = w / per_page;
    return p && page < p->nr_pages && p->mask[page] ? p->mask[page] + w % per_page : NULL;
}

static volatile uint64_t *l1_sel(struct sim_vcpu *sv)
{
    struct vcpu_info *vi = vcpu_info_ptr(sv->v);
    return vi ? (volatile uint64_t *)&vi->evtchn_pending_sel : NULL;
}

static volatile uint64_t *l2_sel(struct sim_vcpu *sv, unsigned s)
{
    const struct evtchn_3l_vcpu *l3 = sv->v->evtchn_3l;
    return l3 && l3->sel ? l3->sel + s : NULL;
}

static bool owned_by(struct sim_vcpu *sv, uint32_t port)
{
    const struct evtchn *chn = evtchn_from_port(sv->sd->d, port);
    return chn && chn->notify_vcpu_id == sv->v->vcpu_id;
}

/* The guest's upcall loop, one action at a time. The accesses each action makes, which
 * rp_guest_plan counts, are the guest runtime's as the engine sees them (an 8-byte access is
 * two; a locked read-modify-write a read and a write of each half). */
enum rp_guest_state {
    G_ROUND,       /* at the top of the loop: upcall_pending read (after the first round) ... */
    G_CLEAR_FLAG,  /* ... and cleared */
    G_TAKE,        /* the selector taken (xchg) */
    G_TAKE_L2,     /* 3-level: each selected L2 word taken (xchg) */
    G_VISIT,       /* a selected pending word read, with its mask */
    G_CLEAR,       /* a port's PENDING bit cleared (lock btr): the port is the guest's now */
    G_FIFO_READY,  /* FIFO: READY taken (xchg) */
    G_FIFO_HEAD,   /* FIFO: the queue's head read from the control block */
    G_FIFO_UNLINK, /* FIFO: the head's word read, LINKED and the link cleared (cmpxchg) */
    G_FIFO_CHECK,  /* FIFO: the word read again: pending and not masked? */
    G_FIFO_TAKE,   /* FIFO: PENDING cleared (lock and); READY taken again */
    G_DONE,
};

static bool is_fifo(const struct sim_vcpu *sv)
{
    const struct domain *d = sv->sd->d;
    return d->evtchn_port_ops && d->evtchn_port_ops->name[0] == 'f';
}

static bool is_3l(const struct sim_vcpu *sv)
{
    const struct domain *d = sv->sd->d;
    return d->evtchn_port_ops && d->evtchn_port_ops->name[0] == '3';
}

/* Where the bitmap scan goes once the word being taken has no more ports. */
static enum rp_guest_state after_word(const struct rp_guest *g)
{
    return g->next_visit < g->nr_visit ? G_VISIT : G_ROUND;
}

unsigned rp_guest_plan(struct sim_vcpu *sv, struct rp_guest *g)
{
    static const unsigned accesses[] = {
        [G_ROUND] = 1,       [G_CLEAR_FLAG] = 1, [G_TAKE] = 4,       [G_TAKE_L2] = 4,
        [G_VISIT] = 4,       [G_CLEAR] = 4,      [G_FIFO_READY] = 2, [G_FIFO_HEAD] = 1,
        [G_FIFO_UNLINK] = 3, [G_FIFO_CHECK] = 1, [G_FIFO_TAKE] = 2,  [G_DONE] = 0,
    };
    if (g->state == G_ROUND && !g->started)
        g->state = G_CLEAR_FLAG; /* the first round does not look */
    (void)sv;
    return accesses[g->state];
}

static int64_t act_round(struct sim_vcpu *sv, struct rp_guest *g)
{
    struct vcpu_info *vi = vcpu_info_ptr(sv->v);
    g->state = vi && rp_guest_read(sv, &vi->evtchn_upcall_pending, 1) ? G_CLEAR_FLAG : G_DONE;
    return -1;
}

static int64_t act_clear_flag(struct sim_vcpu *sv, struct rp_guest *g)
{
    struct vcpu_info *vi = vcpu_info_ptr(sv->v);
    g->started = true;
    if (!vi) {
        g->state = G_DONE;
        return -1;
    }
    rp_guest_write(sv, &vi->evtchn_upcall_pending, 1, 0);
    g->state = is_fifo(sv) ? G_FIFO_READY : G_TAKE;
    return -1;
}

static int64_t act_take(struct sim_vcpu *sv, struct rp_guest *g)
{
    volatile uint64_t *l1 = l1_sel(sv);
    bool l3 = is_3l(sv);
    g->nr_words = 0;
    g->sel = l1 && (!l3 || l2_sel(sv, 0)) ? rmw(sv, l1, 8, 0, 0) : 0;
    if (!l3) {
        for (uint64_t sel = g->sel; sel; sel &= sel - 1)
            word_add(g, (uint32_t)__builtin_ctzll(sel));
        visit_in_order(g);
        g->state = after_word(g);
    } else {
        g->state = g->sel ? G_TAKE_L2 : G_ROUND;
    }
    return -1;
}

static int64_t act_take_l2(struct sim_vcpu *sv, struct rp_guest *g)
{
    unsigned s = (unsigned)__builtin_ctzll(g->sel);
    g->sel &= g->sel - 1;
    for (uint64_t l2 = rmw(sv, l2_sel(sv, s), 8, 0, 0); l2; l2 &= l2 - 1)
        word_add(g, s * WORD_BITS + (uint32_t)__builtin_ctzll(l2));
    if (!g->sel) {
        visit_in_order(g);
        g->state = after_word(g);
    }
    return -1;
}

static int64_t act_visit(struct sim_vcpu *sv, struct rp_guest *g)
{
    struct domain *d = sv->sd->d;
    bool l3 = is_3l(sv);
    const struct rp_word *v = &g->visit[g->next_visit++];
    volatile uint64_t *pend = pending_word(d, l3, v->word), *mask = mask_word(d, l3, v->word);
    uint64_t bits = 0;
    if (pend && mask)
        bits = rp_guest_read(sv, pend, 8) & ~rp_guest_read(sv, mask, 8) & v->keep;
    g->word = v->word;
    g->bits = 0;
    for (; bits; bits &= bits - 1) {
        unsigned bit = (unsigned)__builtin_ctzll(bits);
        if (owned_by(sv, v->word * WORD_BITS + bit))
            g->bits |= (uint64_t)1 << bit;
    }
    g->state = g->bits ? G_CLEAR : after_word(g);
    return -1;
}

static int64_t act_clear(struct sim_vcpu *sv, struct rp_guest *g)
{
    unsigned bit = (unsigned)__builtin_ctzll(g->bits), words = is_3l(sv) ? 4096u : 64u;
    uint32_t port = g->word * WORD_BITS + bit;
    g->bits &= g->bits - 1;
    rmw(sv, pending_word(sv->sd->d, is_3l(sv), g->word), 8, ~((uint64_t)1 << bit), 0);
    g->resume_word = bit + 1 < WORD_BITS ? g->word : (g->word + 1) % words;
    g->resume_bit = (bit + 1) % WORD_BITS;
    g->state = g->bits ? G_CLEAR : after_word(g);
    return port;
}

/* ---- FIFO: queues by priority --------------------------------------------------------------- */

static volatile struct evtchn_fifo_control_block *control_block(struct sim_vcpu *sv)
{
    const struct evtchn_fifo_vcpu *fv = sv->v->evtchn_fifo;
    return fv ? fv->control_block : NULL;
}

static int64_t act_fifo_ready(struct sim_vcpu *sv, struct rp_guest *g)
{
    volatile struct evtchn_fifo_control_block *cb = control_block(sv);
    g->ready |= cb ? (uint32_t)rmw(sv, &cb->ready, 4, 0, 0) : 0;
    if (!g->ready) {
        g->state = G_ROUND;
        return -1;
    }
    g->queue = (unsigned)__builtin_ctz(g->ready);
    g->state = g->fifo_head[g->queue] ? G_FIFO_UNLINK : G_FIFO_HEAD;
    return -1;
}

static int64_t act_fifo_head(struct sim_vcpu *sv, struct rp_guest *g)
{
    volatile struct evtchn_fifo_control_block *cb = control_block(sv);
    g->fifo_head[g->queue] = cb ? (uint32_t)rp_guest_read(sv, &cb->head[g->queue], 4) : 0;
    g->state = G_FIFO_UNLINK;
    return -1;
}

static int64_t act_fifo_unlink(struct sim_vcpu *sv, struct rp_guest *g)
{
    unsigned q = g->queue;
    g->port = g->fifo_head[q];
    volatile event_word_t *word = evtchn_fifo_word_from_port(sv->sd->d, g->port);
    if (!word) {
        g->ready &= ~(1u << q);
        g->fifo_head[q] = 0;
        g->state = G_FIFO_READY;
        return -1;
    }
    rp_guest_read(sv, word, 4);
    uint32_t w = (uint32_t)rmw(sv, word, 4, ~(uint64_t)(LINKED_BIT | EVTCHN_FIFO_LINK_MASK), 0);
    uint32_t link = w & EVTCHN_FIFO_LINK_MASK;
    if (link == 0)
        g->ready &= ~(1u << q);
    g->fifo_head[q] = link;
    g->state = G_FIFO_CHECK;
    return -1;
}

static int64_t act_fifo_check(struct sim_vcpu *sv, struct rp_guest *g)
{
    volatile event_word_t *word = evtchn_fifo_word_from_port(sv->sd->d, g->port);
    bool take = word && (rp_guest_read(sv, word, 4) & (PENDING_BIT | MASKED_BIT)) == PENDING_BIT;
    g->state = take ? G_FIFO_TAKE : G_FIFO_READY;
    return -1;
}

static int64_t act_fifo_take(struct sim_vcpu *sv, struct rp_guest *g)
{
    volatile event_word_t *word = evtchn_fifo_word_from_port(sv->sd->d, g->port);
    if (word)
        rmw(sv, word, 4, ~(uint64_t)PENDING_BIT, 0);
    g->state = G_FIFO_READY;
    return g->port;
}

static int64_t act_done(struct sim_vcpu *sv, struct rp_guest *g)
{
    (void)sv, (void)g;
    return -1;
}

int64_t rp_guest_act(struct sim_vcpu *sv, struct rp_guest *g)
{
    static int64_t (*const acts[])(struct sim_vcpu * sv, struct rp_guest * g) = {
        [G_ROUND] = act_round,
        [G_CLEAR_FLAG] = act_clear_flag,
        [G_TAKE] = act_take,
        [G_TAKE_L2] = act_take_l2,
        [G_VISIT] = act_visit,
        [G_CLEAR] = act_clear,
        [G_FIFO_READY] = act_fifo_ready,
        [G_FIFO_HEAD] = act_fifo_head,
        [G_FIFO_UNLINK] = act_fifo_unlink,
        [G_FIFO_CHECK] = act_fifo_check,
        [G_FIFO_TAKE] = act_fifo_take,
        [G_DONE] = act_done,
    };
    return acts[g->state](sv, g);
}

bool rp_guest_done(const struct rp_guest *g)
{
    return g->state == G_DONE;
}

void rp_guest_upcall_done(struct rp_guest *g)
{
    g->started = false;
    g->state = G_ROUND;
    g->nr_visit = g->next_visit = 0;
    g->bits = 0;
    g->ready = 0;
}

void rp_guest_free(struct rp_guest *g)
{
    free(g->visit);
    free(g->words);
    g->visit = NULL;
    g->words = NULL;
    g->cap_visit = g->cap_words = 0;
}

/* ---- one port, as the guest's own code touches it ----------------------------------------- */

static void bit_op(struct sim_vcpu *sv, volatile uint64_t *w, unsigned bit, enum rp_port_op op)
{
    uint64_t m = (uint64_t)1 << bit;
    if (!w)
        return;
    if (op == RP_OP_LOOK)
        rp_guest_read(sv, w, 8);
    else if (op == RP_OP_MASK)
        rmw(sv, w, 8, ~(uint64_t)0, m);
    else
        rmw(sv, w, 8, ~m, 0);
}

void rp_guest_port_op(struct sim_vcpu *sv, uint32_t port, enum rp_port_op op)
{
    struct domain *d = sv->sd->d;
    if (is_fifo(sv)) {
        volatile event_word_t *w = evtchn_fifo_word_from_port(d, port);
        uint64_t bit = op == RP_OP_CLEAR ? PENDING_BIT : MASKED_BIT;
        if (!w)
            return;
        if (op == RP_OP_LOOK)
            rp_guest_read(sv, w, 4);
        else
            rmw(sv, w, 4, op == RP_OP_MASK ? ~(uint64_t)0 : ~bit, op == RP_OP_MASK ? bit : 0);
        return;
    }
    bool l3 = is_3l(sv);
    uint32_t word = port / WORD_BITS;
    bool mask = op == RP_OP_MASK || op == RP_OP_UNMASK;
    bit_op(sv, mask ? mask_word(d, l3, word) : pending_word(d, l3, word), port % WORD_BITS, op);
}
