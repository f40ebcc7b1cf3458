/* Replay under another event-channel ABI than the recorded guests set up (evsim replay --abi).
 *
 * The recorded guest set its ABI up (FIFO's control blocks and event array, 3-level's bitmaps
 * and selectors, nothing for 2-level) and touched that ABI's pages. Under another ABI, the
 * recorded set-up calls are not made; the replay sets its own ABI up as the guest runtime would
 * (at the domain's first step, in pages it takes from the top of the domain's RAM), grows a FIFO
 * event array as ports are bound, and turns each recorded access to an ABI page into what it
 * meant for its ports (mask, unmask, clear pending, look), made on the replay's ABI. The
 * upcall's own code is the replay's already (replay_guest.c). */
#include <string.h>

#include "evsim/xen_3l.h"
#include "models/evtchn.h"
#include "models/event_fifo.h"
#include "models/xen_public.h"
#include "sim/machine.h"
#include "sim/replay_int.h"
#include "sim/scenario.h"

#define FIFO_WORDS_PER_PAGE (XEN_PAGE_SIZE / sizeof(event_word_t))
#define L3_PORTS_PER_PAGE (XEN_PAGE_SIZE * 8u)

bool rp_abi_changed(const struct sim_vcpu *sv)
{
    const struct rp_domain *d = sv->rp->dom;
    return d && d->abi != d->recorded_abi;
}

/* A page of the domain's RAM for the replay's ABI, from the top down, zeroed; 0 if none left. */
uint64_t rp_take_page(struct sim_vcpu *sv, struct rp_domain *d)
{
    struct sim_domain *sd = sv->sd;
    if (!d->top)
        d->top = sd->ram_size & ~(uint64_t)(XEN_PAGE_SIZE - 1);
    if (d->top < 64 * XEN_PAGE_SIZE)
        return 0;
    d->top -= XEN_PAGE_SIZE;
    memset(sd->ram + d->top, 0, XEN_PAGE_SIZE);
    return d->top;
}

int64_t rp_call(struct sim_vcpu *sv, struct rp_domain *d, unsigned nr, unsigned cmd, void *arg,
                size_t len)
{
    if (!d->arg_page && !(d->arg_page = rp_take_page(sv, d)))
        return -XEN_ENOMEM;
    memcpy(sv->sd->ram + d->arg_page, arg, len);
    struct hv_regs r = sv->rp->regs;
    r.rax = nr;
    r.rdi = cmd;
    r.rsi = d->arg_page;
    replay_issue(sv, &r);
    memcpy(arg, sv->sd->ram + d->arg_page, len); /* the call's outputs (a bound port) */
    return (int64_t)r.rax;
}

int64_t rp_evtchn_call(struct sim_vcpu *sv, struct rp_domain *d, unsigned cmd, void *arg,
                       size_t len)
{
    return rp_call(sv, d, __HYPERVISOR_event_channel_op, cmd, arg, len);
}

static void setup_fifo(struct sim_vcpu *sv, struct rp_domain *d)
{
    struct sim_domain *sd = sv->sd;
    for (unsigned k = 0; k < sd->nr_vcpus; k++) {
        struct evtchn_init_control op = {.control_gfn = rp_take_page(sv, d) / XEN_PAGE_SIZE,
                                         .vcpu = k};
        if (op.control_gfn)
            rp_evtchn_call(sv, d, EVTCHNOP_init_control, &op, sizeof(op));
    }
    rp_abi_grow(sv);
}

static void setup_3l(struct sim_vcpu *sv, struct rp_domain *d)
{
    struct sim_domain *sd = sv->sd;
    struct evtchn_register_extended op = {.cmd = EVTCHN_EXTENDED_L3_BITMAPS};
    op.u.bitmaps.nr_pages = EVTCHN_3L_MAX_BITMAP_PAGES;
    for (unsigned i = 0; i < EVTCHN_3L_MAX_BITMAP_PAGES; i++) {
        op.u.bitmaps.pending_gfn[i] = rp_take_page(sv, d) / XEN_PAGE_SIZE;
        op.u.bitmaps.mask_gfn[i] = rp_take_page(sv, d) / XEN_PAGE_SIZE;
    }
    if (rp_evtchn_call(sv, d, EVTCHNOP_register_extended, &op, sizeof(op)) < 0)
        return;
    for (unsigned k = 0; k < sd->nr_vcpus; k++) {
        struct evtchn_register_extended sel = {.cmd = EVTCHN_EXTENDED_L3_L2SEL};
        sel.u.l2sel.vcpu = k;
        sel.u.l2sel.gfn = rp_take_page(sv, d) / XEN_PAGE_SIZE;
        if (sel.u.l2sel.gfn)
            rp_evtchn_call(sv, d, EVTCHNOP_register_extended, &sel, sizeof(sel));
    }
}

void rp_abi_setup(struct sim_vcpu *sv)
{
    struct rp_domain *d = sv->rp->dom;
    if (!d || d->abi == d->recorded_abi || d->abi_ready)
        return;
    d->abi_ready = true;
    if (d->abi == ABI_FIFO)
        setup_fifo(sv, d);
    else if (d->abi == ABI_3L)
        setup_3l(sv, d);
}

void rp_abi_grow(struct sim_vcpu *sv)
{
    struct rp_domain *d = sv->rp->dom;
    const struct domain *dom = sv->sd->d;
    if (!d || d->abi != ABI_FIFO || d->abi == d->recorded_abi)
        return;
    while (evtchn_fifo_array_pages(dom) * FIFO_WORDS_PER_PAGE < dom->valid_evtchns &&
           evtchn_fifo_array_pages(dom) < EVTCHN_FIFO_MAX_ARRAY_PAGES) {
        unsigned before = evtchn_fifo_array_pages(dom);
        struct evtchn_expand_array op = {.array_gfn = rp_take_page(sv, d) / XEN_PAGE_SIZE};
        if (!op.array_gfn || rp_evtchn_call(sv, d, EVTCHNOP_expand_array, &op, sizeof(op)) < 0 ||
            evtchn_fifo_array_pages(dom) == before)
            return;
    }
}

bool rp_abi_setup_call(const struct sim_vcpu *sv, const struct rp_step *s)
{
    const struct sim_replay *rp = sv->sd->m->replay;
    const struct rp_domain *d = sv->rp->dom;
    if (!d || d->abi == d->recorded_abi || s->kind != RP_HCALL ||
        s->arg != __HYPERVISOR_event_channel_op)
        return false;
    uint64_t cmd = rp_hcall_of(rp, s)->args[0];
    return cmd == EVTCHNOP_init_control || cmd == EVTCHNOP_expand_array ||
           cmd == EVTCHNOP_register_extended ||
           (cmd == EVTCHNOP_set_priority && d->abi != ABI_FIFO);
}

/* ---- a recorded access, as what it did to ports ------------------------------------------- */

struct ops {
    struct rp_port_ref *out;
    int n, max;
};

static void add(struct ops *o, uint32_t port, enum rp_port_op op)
{
    if (o->n < o->max)
        o->out[o->n++] = (struct rp_port_ref){port, op};
}

/* Bits of a bitmap word (first port `base`): cleared pending bits, or set and cleared mask
 * bits; a read looks at the word. */
static void bitmap_ops(struct ops *o, const struct rp_write *w, uint32_t base, bool mask)
{
    if (!w) { /* a read */
        add(o, base, RP_OP_LOOK);
        return;
    }
    for (uint64_t c = w->clear; c; c &= c - 1)
        add(o, base + (uint32_t)__builtin_ctzll(c), mask ? RP_OP_UNMASK : RP_OP_CLEAR);
    for (uint64_t b = w->set; mask && b; b &= b - 1)
        add(o, base + (uint32_t)__builtin_ctzll(b), RP_OP_MASK);
}

/* FIFO event words (4 bytes each, the port is the word's index): MASKED set or cleared,
 * PENDING cleared; LINKED and the link are the queue's, which the replay's ABI keeps itself. */
static void fifo_ops(struct ops *o, const struct rp_step *s, const struct rp_write *w,
                     uint32_t first_port)
{
    for (unsigned lane = 0; lane * 4 < s->size; lane++) {
        uint32_t port = first_port + lane;
        if (!w) { /* a read */
            add(o, port, RP_OP_LOOK);
            continue;
        }
        uint32_t clr = (uint32_t)(w->clear >> (32 * lane)), set = (uint32_t)(w->set >> (32 * lane));
        if (set & (1u << EVTCHN_FIFO_MASKED))
            add(o, port, RP_OP_MASK);
        if (clr & (1u << EVTCHN_FIFO_MASKED))
            add(o, port, RP_OP_UNMASK);
        if (clr & (1u << EVTCHN_FIFO_PENDING))
            add(o, port, RP_OP_CLEAR);
    }
}

int rp_abi_decode(struct sim_vcpu *sv, const struct rp_step *s, struct rp_port_ref *out, int max)
{
    const struct rp_domain *d = sv->rp->dom;
    const uint32_t pend = offsetof(struct shared_info, evtchn_pending),
                   mask = offsetof(struct shared_info, evtchn_mask),
                   end = mask + sizeof(((struct shared_info *)0)->evtchn_mask);
    const struct rp_write *w = rp_write_of(sv->sd->m->replay, s);
    struct ops o = {out, 0, max};
    if (!d || (s->kind != RP_READ && s->kind != RP_WRITE))
        return -1;
    unsigned kind = s->slot == 0 ? HV_PAGE_SHARED_INFO : d->pages.kind[s->slot];
    uint32_t index = s->slot == 0 ? 0 : d->pages.index[s->slot];
    switch (kind) {
    case HV_PAGE_SHARED_INFO:
        if (d->recorded_abi != ABI_2L || s->arg < pend || s->arg >= end)
            return -1;
        bitmap_ops(&o, w, (s->arg - (s->arg < mask ? pend : mask)) * 8, s->arg >= mask);
        return o.n;
    case HV_PAGE_FIFO_ARRAY:
        fifo_ops(&o, s, w, index * (uint32_t)FIFO_WORDS_PER_PAGE + s->arg / 4);
        return o.n;
    case HV_PAGE_3L_PENDING:
    case HV_PAGE_3L_MASK:
        bitmap_ops(&o, w, index * L3_PORTS_PER_PAGE + s->arg * 8, kind == HV_PAGE_3L_MASK);
        return o.n;
    case HV_PAGE_FIFO_CONTROL:
    case HV_PAGE_3L_L2SEL:
        return 0; /* the recorded ABI's own bookkeeping */
    default:
        return -1;
    }
}
