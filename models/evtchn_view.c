/* Read-only views of the event-channel state, and Xen's 'e' debug key (see the header). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "models/event_3l.h"
#include "models/event_fifo.h"
#include "models/evtchn_view.h"
#include "models/shared_info.h"

#define FIFO_BIT(b) (UINT32_C(1) << (b))

static bool view_bit(const volatile uint64_t *bitmap, uint32_t bit)
{
    return bitmap && (bitmap[bit / 64u] >> (bit % 64u)) & 1u;
}

static void view_port_2l(const struct domain *d, uint32_t port, struct evtchn_port_view *out)
{
    struct domain *w = (struct domain *)(uintptr_t)d; /* only to translate the address */
    unsigned bits = evtchn_word_bits(d);

    if (port >= bits * bits)
        return;
    out->pending = view_bit(shared_info_evtchn_pending(w), port);
    out->masked = view_bit(shared_info_evtchn_mask(w), port);
}

static void view_port_3l(const struct domain *d, uint32_t port, struct evtchn_port_view *out)
{
    const struct evtchn_3l_domain *l3 = d->evtchn_3l;
    unsigned page = port / EVTCHN_3L_PORTS_PER_PAGE;

    if (!l3 || page >= l3->nr_pages) {
        out->masked = true; /* beyond the bitmaps: masked, never pending (event_3l.c) */
        return;
    }
    out->pending = view_bit(l3->pending[page], port % EVTCHN_3L_PORTS_PER_PAGE);
    out->masked = view_bit(l3->mask[page], port % EVTCHN_3L_PORTS_PER_PAGE);
}

static void view_port_fifo(const struct domain *d, uint32_t port, struct evtchn_port_view *out)
{
    const volatile event_word_t *word = evtchn_fifo_word_from_port(d, port);

    if (!word)
        return;
    out->has_word = true;
    out->word = *word;
    out->pending = out->word & FIFO_BIT(EVTCHN_FIFO_PENDING);
    out->masked = out->word & FIFO_BIT(EVTCHN_FIFO_MASKED);
}

void evtchn_view_port(const struct domain *d, uint32_t port, struct evtchn_port_view *out)
{
    memset(out, 0, sizeof(*out));
    if (d->evtchn_fifo)
        view_port_fifo(d, port, out);
    else if (d->evtchn_3l)
        view_port_3l(d, port, out);
    else
        view_port_2l(d, port, out);
}

void evtchn_view_vcpu(const struct vcpu *v, struct evtchn_vcpu_view *out)
{
    const struct vcpu_info *vi = vcpu_info_ptr((struct vcpu *)(uintptr_t)v);
    const struct evtchn_fifo_vcpu *fv = v->evtchn_fifo;

    memset(out, 0, sizeof(*out));
    if (vi) {
        out->has_info = true;
        out->upcall_pending = *vcpu_info_upcall_pending(vi);
        out->upcall_mask = *vcpu_info_upcall_mask(vi);
        out->sel = vcpu_info_sel_peek(v->domain, vi);
    }
    if (fv && fv->control_block) {
        out->has_fifo = true;
        out->ready = fv->control_block->ready;
        for (unsigned q = 0; q < EVTCHN_FIFO_MAX_QUEUES; q++)
            out->head[q] = fv->control_block->head[q];
    }
}

unsigned evtchn_view_l2_words(const struct domain *d)
{
    return d->evtchn_3l ? d->guest_word_bits : 0;
}

uint64_t evtchn_view_l2_word(const struct vcpu *v, unsigned w)
{
    const struct evtchn_3l_vcpu *l3v = v->evtchn_3l;
    unsigned bits = v->domain->guest_word_bits;

    if (!l3v || w >= bits)
        return 0;
    /* Bit b of the selector is bit first_bit + b of the 64-bit words at sel (event_3l.h). */
    uint64_t word = 0;
    for (unsigned b = 0; b < bits; b++)
        if (view_bit(l3v->sel, l3v->first_bit + w * bits + b))
            word |= UINT64_C(1) << b;
    return word;
}

const char *evtchn_view_abi(const struct domain *d)
{
    return d->evtchn_port_ops ? d->evtchn_port_ops->name : "2l";
}

const char *evtchn_state_name(unsigned state)
{
    static const char *const names[] = {"free", "reserved", "unbound", "interdomain",
                                        "pirq", "virq",     "ipi"};
    return state < sizeof(names) / sizeof(names[0]) ? names[state] : "?";
}

/* ---- the 'e' debug key ---- */

struct dump_out {
    evtchn_dump_line_fn fn;
    void *opaque;
};

static void dump_line(const struct dump_out *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void dump_line(const struct dump_out *o, const char *fmt, ...)
{
    char line[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    o->fn(o->opaque, line);
}

/* Xen's %*pbl: "0-2,5". */
static void polling_list(const struct domain *d, char *buf, size_t len)
{
    size_t n = 0;
    unsigned i = 0;

    buf[0] = '\0';
    while (i < d->max_vcpus) {
        if (!d->vcpu[i] || !d->vcpu[i]->polling) {
            i++;
            continue;
        }
        unsigned j = i;
        while (j + 1 < d->max_vcpus && d->vcpu[j + 1] && d->vcpu[j + 1]->polling)
            j++;
        n += (size_t)snprintf(buf + n, n < len ? len - n : 0, j > i ? "%s%u-%u" : "%s%u",
                              n ? "," : "", i, j);
        i = j + 1;
    }
}

/* The ABI's print_state column: 2-level the selector bit of the notify vcpu, FIFO the BUSY flag
 * and LINK (or "-" unlinked), "?" for a port the event array does not reach. */
static void abi_state(const struct domain *d, const struct evtchn *chn, char *buf, size_t len)
{
    struct evtchn_port_view pv;

    evtchn_view_port(d, chn->port, &pv);
    if (d->evtchn_fifo) {
        if (!pv.has_word)
            snprintf(buf, len, "?     ");
        else if (pv.word & FIFO_BIT(EVTCHN_FIFO_LINKED))
            snprintf(buf, len, "%c %-4u", pv.word & FIFO_BIT(EVTCHN_FIFO_BUSY) ? 'B' : ' ',
                     pv.word & EVTCHN_FIFO_LINK_MASK);
        else
            snprintf(buf, len, "%c -   ", pv.word & FIFO_BIT(EVTCHN_FIFO_BUSY) ? 'B' : ' ');
        return;
    }
    struct evtchn_vcpu_view vv = {0};
    const struct vcpu *v = chn->notify_vcpu_id < d->max_vcpus ? d->vcpu[chn->notify_vcpu_id] : NULL;
    unsigned level = d->evtchn_3l ? d->guest_word_bits * d->guest_word_bits : evtchn_word_bits(d);

    if (v)
        evtchn_view_vcpu(v, &vv);
    snprintf(buf, len, "%d", (int)((vv.sel >> (chn->port / level % 64u)) & 1u));
}

static void dump_port(const struct dump_out *o, const struct domain *d, const struct evtchn *chn)
{
    struct evtchn_port_view pv;
    char abi[16], tail[64] = "";

    evtchn_view_port(d, chn->port, &pv);
    abi_state(d, chn, abi, sizeof(abi));
    switch (chn->state) {
    case ECS_UNBOUND:
        snprintf(tail, sizeof(tail), " d=%u", chn->u.unbound.remote_domid);
        break;
    case ECS_INTERDOMAIN:
        snprintf(tail, sizeof(tail), " d=%u p=%u", chn->u.interdomain.remote_domid,
                 chn->u.interdomain.remote_port);
        break;
    case ECS_PIRQ:
        snprintf(tail, sizeof(tail), " p=%u", chn->u.pirq);
        break;
    case ECS_VIRQ:
        snprintf(tail, sizeof(tail), " v=%u", chn->u.virq);
        break;
    default:
        break;
    }
    /* pri= is evsim's: Xen's key leaves the FIFO priority out. */
    char pri[16] = "";
    if (d->evtchn_fifo)
        snprintf(pri, sizeof(pri), " pri=%u", chn->priority);
    dump_line(o, "    %4u [%d/%d/%s]: s=%u n=%u x=%d%s%s", chn->port, pv.pending, pv.masked, abi,
              chn->state, chn->notify_vcpu_id, chn->xen_consumer, tail, pri);
}

/* Is port's word LINKED on v's queue q (Xen records where it linked a port: last_vcpu_id,
 * last_priority)? */
static bool linked_on(const struct domain *d, uint32_t port, unsigned v, unsigned q, uint32_t *link)
{
    const struct evtchn *chn = evtchn_from_port(d, port);
    struct evtchn_port_view pv;

    if (!chn || chn->last_vcpu_id != v || chn->last_priority != q)
        return false;
    evtchn_view_port(d, port, &pv);
    *link = pv.word & EVTCHN_FIFO_LINK_MASK;
    return pv.has_word && (pv.word & FIFO_BIT(EVTCHN_FIFO_LINKED));
}

/* The queue from its words alone: the guest walks its own copy of HEAD and unlinks each word
 * it takes (clearing LINK), and Xen writes HEAD only when it links into an empty queue, so the
 * control block's HEAD may be stale. The queue is the LINKED words of the queue, from the one
 * no other links to, along LINK (bounded: a guest may corrupt a chain). */
unsigned evtchn_view_fifo_queue(const struct domain *d, unsigned v, unsigned q, uint32_t *out,
                                unsigned max)
{
    uint32_t head = 0, link;
    unsigned n = 0;

    for (uint32_t p = 1; p < d->valid_evtchns && !head; p++) {
        if (!linked_on(d, p, v, q, &link))
            continue;
        bool pointed = false;
        for (uint32_t r = 1; r < d->valid_evtchns && !pointed; r++) {
            uint32_t l;
            pointed = r != p && linked_on(d, r, v, q, &l) && l == p;
        }
        if (!pointed)
            head = p;
    }
    for (uint32_t p = head; p && n < max && linked_on(d, p, v, q, &link); p = link)
        out[n++] = p;
    return n;
}

/* Each vcpu's queues as they stand, with the control block's HEAD beside them. */
static void dump_fifo_queues(const struct dump_out *o, const struct domain *d)
{
    uint32_t chain[32];

    for (unsigned i = 0; i < d->max_vcpus; i++) {
        struct evtchn_vcpu_view vv;
        if (!d->vcpu[i])
            continue;
        evtchn_view_vcpu(d->vcpu[i], &vv);
        if (!vv.has_fifo) {
            dump_line(o, "FIFO d%uv%u: no control block", d->domid, i);
            continue;
        }
        dump_line(o, "FIFO d%uv%u: READY %#x", d->domid, i, vv.ready);
        for (unsigned q = 0; q < EVTCHN_FIFO_MAX_QUEUES; q++) {
            char line[512];
            unsigned n = evtchn_view_fifo_queue(d, i, q, chain, 32);
            size_t len = (size_t)snprintf(line, sizeof(line), "    queue %2u:", q);
            for (unsigned k = 0; k < n && len < sizeof(line) - 16; k++)
                len += (size_t)snprintf(line + len, sizeof(line) - len, k ? " -> %u" : " %u",
                                        chain[k]);
            if (n == 32)
                len += (size_t)snprintf(line + len, sizeof(line) - len, " -> ...");
            if (n || vv.ready & FIFO_BIT(q))
                dump_line(o, "%s%s (control block HEAD %u)", line, n ? "" : " empty", vv.head[q]);
        }
    }
}

static void dump_3l_selectors(const struct dump_out *o, const struct domain *d)
{
    for (unsigned i = 0; i < d->max_vcpus; i++) {
        struct evtchn_vcpu_view vv;
        char line[512];
        size_t n;
        if (!d->vcpu[i])
            continue;
        evtchn_view_vcpu(d->vcpu[i], &vv);
        n = (size_t)snprintf(line, sizeof(line), "3-level d%uv%u: L1 %#llx L2", d->domid, i,
                             (unsigned long long)vv.sel);
        bool any = false;
        for (unsigned w = 0; w < evtchn_view_l2_words(d) && n < sizeof(line) - 32; w++) {
            uint64_t word = evtchn_view_l2_word(d->vcpu[i], w);
            if (word) {
                n += (size_t)snprintf(line + n, sizeof(line) - n, " [%u]=%#llx", w,
                                      (unsigned long long)word);
                any = true;
            }
        }
        dump_line(o, "%s%s", line, any ? "" : " 0");
    }
}

/* One 3-level bitmap as the words worth showing: those that differ from `plain` (0 for pending:
 * words with a pending port; all ones for mask: words with an unmasked port, since a guest
 * masks every port of its new pages). At most `max` words, then how many more. */
static void dump_3l_bitmap(const struct dump_out *o, const struct domain *d, const char *name,
                           volatile uint64_t *const *pages, uint64_t plain)
{
    const unsigned per_page = EVTCHN_3L_PORTS_PER_PAGE / 64u, max = 8;
    char line[512];
    size_t n = (size_t)snprintf(line, sizeof(line), "3-level d%u %s words", d->domid, name);
    unsigned shown = 0, more = 0;

    for (unsigned pg = 0; pg < d->evtchn_3l->nr_pages; pg++)
        for (unsigned w = 0; w < per_page; w++) {
            uint64_t word = pages[pg][w];
            if (word == plain)
                continue;
            if (shown++ >= max) {
                more++;
                continue;
            }
            n += (size_t)snprintf(line + n, n < sizeof(line) ? sizeof(line) - n : 0, " [%u]=%#llx",
                                  pg * per_page + w, (unsigned long long)word);
        }
    if (!shown)
        dump_line(o, "%s: none %s", line, plain ? "unmasked" : "pending");
    else if (more)
        dump_line(o, "%s ... and %u more", line, more);
    else
        dump_line(o, "%s", line);
}

void evtchn_dump_domain(const struct domain *d, evtchn_dump_line_fn fn, void *opaque)
{
    const struct dump_out o = {fn, opaque};
    char polling[128];

    polling_list(d, polling, sizeof(polling));
    dump_line(&o, "Event channel information for domain %u:", d->domid);
    dump_line(&o, "Polling vCPUs: {%s}", polling);
    dump_line(&o, "    port [p/m/s]");
    for (uint32_t port = 1; port_is_valid(d, port); port++) {
        const struct evtchn *chn = evtchn_from_port(d, port);
        if (chn && chn->state != ECS_FREE)
            dump_port(&o, d, chn);
    }
    if (d->evtchn_fifo)
        dump_fifo_queues(&o, d);
    else if (d->evtchn_3l) {
        dump_3l_bitmap(&o, d, "pending", d->evtchn_3l->pending, 0);
        dump_3l_bitmap(&o, d, "mask", d->evtchn_3l->mask, ~UINT64_C(0));
        dump_3l_selectors(&o, d);
    }
}
