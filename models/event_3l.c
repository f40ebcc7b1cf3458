/* The 3-level event-channel ABI, hypervisor side: THE PROJECT'S RECONSTRUCTION of the 2013 RFC
 * series "Implement 3-level event channel" (Wei Liu, xen-devel, V1-V7, never merged). From the
 * series (V5 cover letter, xen-devel 2013-03): a dedicated query of the extended ABIs, and
 * registration in two phases, first the shared pending and mask bitmaps, then one second-level
 * selector per vcpu. The command number and structs are ours (include/evsim/xen_3l.h).
 *
 * Layout, for a guest of word size W (64 or 32), port p:
 *   pending / mask bit p    bitmaps of W^3 bits in guest pages (8 pages each for W = 64, 1 for 32)
 *   L2 selector bit p / W   per vcpu, W words of W bits at a guest gfn:offset (phase 2)
 *   L1 selector bit p / W^2 the vcpu_info's evtchn_pending_sel (the 2-level selector word)
 * The raise order is 2-level's with one more level: pending, L2, L1, upcall_pending, each step
 * taken only on a 0 -> 1 edge of the previous one.
 *
 * The model's choices where the RFC left room (docs/model.md, "3-level ABI"):
 * - Every domain may query and register (the RFC enabled the ABI for Dom0 only): users study
 *   domUs too. QUERY answers EVTCHN_EXTENDED_ABI_L3 to every domain, whatever its ABI.
 * - An unknown register_extended cmd is -ENOSYS, as Xen answers unknown commands.
 * - The domain switches to 3-level at phase 1. A vcpu without a selector yet (no phase 2) has
 *   its events held: set_pending sets the pending bit (and wakes pollers) but no selector bit.
 *   Phase 2 for that vcpu rescans: every pending, unmasked, bound port notifying it is raised
 *   through L2, L1 and upcall_pending.
 * - Phase 1 carries 2-level state over, after the switch: the 2-level pending words are moved
 *   (exchanged with 0, so a later reset to 2-level starts without stale bits that would swallow
 *   the first raise of a re-bound port, and ORed in, locked, so that a raise meanwhile is kept)
 *   and the mask words copied, for ports below W^2, into page 0 of the new bitmaps. Above W^2 the
 * guest's own initialisation stands (it is expected to set every mask bit and clear every pending
 * bit of its new pages). Each vcpu's L1 selector is cleared: its bits meant 2-level words; phase
 * 2's rescan sets them again with 3-level meaning.
 * - Checks, in order. Phase 1: nr_pages != what the guest's word size needs (8 or 1) -EINVAL;
 *   domain not on 2-level (already 3-level, or FIFO) -EBUSY; any gfn not guest memory -EINVAL,
 *   nothing changed. Phase 2: before phase 1 (this includes a FIFO domain) -EINVAL; no such vcpu
 *   -ENOENT; offset not a multiple of W/8 or the selector crossing the page -EINVAL; selector
 *   already registered for the vcpu -EBUSY; gfn not guest memory -EINVAL. Argument checks come
 *   before state checks and mappings last, the order of Xen's init_control.
 * - Xen zeroes nothing the guest registers: the guest initialises its pages. Two registrations
 *   may share a page (selectors of several vcpus in one page, as the offset allows); nothing
 *   checks that the bitmaps avoid shared_info or each other, as Xen checks no such thing.
 * - The limit is W^3 ports, bounded by the port table's capacity (EVTCHN_MAX_PORTS, Xen's
 *   groups of buckets): the bitmaps address 262,144 ports of a 64-bit guest, the table holds
 *   what EVTCHN_MAX_PORTS says (8 groups: 262,144, where Xen's 4 stop at FIFO's 131,072).
 * - No priorities (EVTCHNOP_set_priority: -ENOSYS), no busy ports, no per-port init.
 * - No compat shim (the RFC had none): the structs are the same for 32- and 64-bit guests. */
#include <stdlib.h>

#include "models/event_3l.h"
#include "models/hv_sink.h"
#include "models/shared_info.h"

#define EVTCHN_3L_WORD_BITS 64u /* the model's bitmap word, whatever the guest's */

/* ---- sizes ---- */

unsigned evtchn_3l_abi_ports(unsigned word_bits)
{
    return word_bits * word_bits * word_bits;
}

unsigned evtchn_3l_bitmap_pages(const struct domain *d)
{
    return evtchn_3l_abi_ports(d->guest_word_bits) / EVTCHN_3L_PORTS_PER_PAGE;
}

unsigned evtchn_3l_selector_bytes(const struct domain *d)
{
    return d->guest_word_bits * d->guest_word_bits / 8u;
}

/* The ABI limit, bounded by what the port table can hold (see the comment at the top). */
static unsigned evtchn_3l_max_ports(const struct domain *d)
{
    unsigned abi = evtchn_3l_abi_ports(d->guest_word_bits);

    return abi < EVTCHN_MAX_PORTS ? abi : EVTCHN_MAX_PORTS;
}

/* ---- bitmap addressing ---- */

/* Does d have bitmap pages holding `port`? Ports beyond them count as masked, never pending. */
static bool evtchn_3l_covers(const struct domain *d, uint32_t port)
{
    const struct evtchn_3l_domain *l3 = d->evtchn_3l;

    return l3 && port / EVTCHN_3L_PORTS_PER_PAGE < l3->nr_pages;
}

/* The page of `pages` holding port's bit; the bit number inside it is port % ports-per-page. */
static volatile uint64_t *evtchn_3l_page_of(volatile uint64_t *const *pages, uint32_t port)
{
    return pages[port / EVTCHN_3L_PORTS_PER_PAGE];
}

static unsigned evtchn_3l_bit_in_page(uint32_t port)
{
    return port % EVTCHN_3L_PORTS_PER_PAGE;
}

static bool evtchn_3l_test_mask(const struct domain *d, uint32_t port)
{
    return guest_test_bit(d->hv, evtchn_3l_bit_in_page(port),
                          evtchn_3l_page_of(d->evtchn_3l->mask, port));
}

static bool evtchn_3l_test_pending(const struct domain *d, uint32_t port)
{
    return guest_test_bit(d->hv, evtchn_3l_bit_in_page(port),
                          evtchn_3l_page_of(d->evtchn_3l->pending, port));
}

/* ---- the selector chain ---- */

/* Second level, then first level, then the upcall: each only when the level below went 0 -> 1,
 * in this order so that a guest clearing L1 then L2 then reading pending always finds the bits
 * that made it look. A vcpu without a selector (no phase 2 yet) is skipped: its events stay held
 * in the pending bitmap until phase 2 rescans. A vcpu without a vcpu_info (beyond the legacy
 * 32) has no L1 selector: nobody to notify, as in 2-level. */
static void evtchn_3l_select(struct vcpu *v, uint32_t port)
{
    const struct evtchn_3l_vcpu *l3v = v->evtchn_3l;
    struct hv *hv = v->domain->hv;
    unsigned w = v->domain->guest_word_bits;
    struct vcpu_info *vi;

    if (!l3v || guest_test_and_set_bit(hv, l3v->first_bit + port / w, l3v->sel))
        return;
    vi = vcpu_info_ptr(v);
    if (!vi || vcpu_info_sel_test_and_set(v->domain, vi, port / (w * w)))
        return;
    vcpu_mark_events_pending(v);
}

/* ---- port operations ---- */

/* In strict order, as 2-level: pending first (an already-pending port coalesces and stops
 * there, pollers included), then, unless masked, the selector chain on v; pollers of the port
 * wake even when it is masked or held. */
static bool evtchn_3l_set_pending(struct vcpu *v, struct evtchn *chn)
{
    struct domain *d = v->domain;
    uint32_t port = chn->port;

    if (!evtchn_3l_covers(d, port))
        return false;
    if (guest_test_and_set_bit(d->hv, evtchn_3l_bit_in_page(port),
                               evtchn_3l_page_of(d->evtchn_3l->pending, port)))
        return true;
    if (!evtchn_3l_test_mask(d, port))
        evtchn_3l_select(v, port);
    domain_wake_pollers(d, port);
    return false;
}

/* The selectors are left alone, as 2-level leaves its selector: the guest's scan finds nothing
 * under a stale selector bit and moves on. */
static void evtchn_3l_clear_pending(struct domain *d, struct evtchn *chn)
{
    if (evtchn_3l_covers(d, chn->port))
        guest_test_and_clear_bit(d->hv, evtchn_3l_bit_in_page(chn->port),
                                 evtchn_3l_page_of(d->evtchn_3l->pending, chn->port));
}

/* Clearing the mask re-raises an edge that arrived while masked, on the port's notify vcpu
 * (held, like a raise, if that vcpu has no selector yet). */
static void evtchn_3l_unmask(struct domain *d, struct evtchn *chn)
{
    struct vcpu *v = domain_vcpu(d, chn->notify_vcpu_id);
    uint32_t port = chn->port;

    if (!v || !evtchn_3l_covers(d, port))
        return;
    if (guest_test_and_clear_bit(d->hv, evtchn_3l_bit_in_page(port),
                                 evtchn_3l_page_of(d->evtchn_3l->mask, port)) &&
        evtchn_3l_test_pending(d, port))
        evtchn_3l_select(v, port);
}

static bool evtchn_3l_is_pending(const struct domain *d, const struct evtchn *chn)
{
    return evtchn_3l_covers(d, chn->port) && evtchn_3l_test_pending(d, chn->port);
}

static bool evtchn_3l_is_masked(const struct domain *d, const struct evtchn *chn)
{
    return !evtchn_3l_covers(d, chn->port) || evtchn_3l_test_mask(d, chn->port);
}

/* No init, is_busy or set_priority (EVTCHNOP_set_priority answers -ENOSYS). */
const struct evtchn_port_ops evtchn_port_ops_3l = {
    .name = "3l",
    .set_pending = evtchn_3l_set_pending,
    .clear_pending = evtchn_3l_clear_pending,
    .unmask = evtchn_3l_unmask,
    .is_pending = evtchn_3l_is_pending,
    .is_masked = evtchn_3l_is_masked,
    .max_ports = evtchn_3l_max_ports,
};

/* ---- guest words read and written as Xen's plain accesses ---- */

static uint64_t evtchn_3l_read_word(struct hv *hv, const volatile uint64_t *p)
{
    guest_touch(hv, p, sizeof(*p), GUEST_READ);
    return __atomic_load_n(p, __ATOMIC_SEQ_CST);
}

static void evtchn_3l_write_word(struct hv *hv, volatile uint64_t *p, uint64_t value)
{
    guest_touch(hv, p, sizeof(*p), GUEST_WRITE);
    __atomic_store_n(p, value, __ATOMIC_SEQ_CST);
}

/* ---- phase 1: the bitmaps ---- */

/* Xen's view of guest frame gfn, or NULL when it is not (entirely) guest memory. A gfn whose
 * address does not fit 64 bits is refused before it can wrap. */
static volatile uint64_t *evtchn_3l_map_gfn(struct domain *d, uint64_t gfn)
{
    return guest_frame_ptr(d, gfn, NULL);
}

/* Map every page into `out` without touching d: a failure leaves nothing to undo. */
static long evtchn_3l_map_bitmaps(struct domain *d, const struct evtchn_3l_bitmaps *b,
                                  struct evtchn_3l_domain *out)
{
    out->nr_pages = b->nr_pages;
    for (unsigned i = 0; i < b->nr_pages; i++) {
        out->pending_gfn[i] = b->pending_gfn[i];
        out->mask_gfn[i] = b->mask_gfn[i];
        out->pending[i] = evtchn_3l_map_gfn(d, b->pending_gfn[i]);
        out->mask[i] = evtchn_3l_map_gfn(d, b->mask_gfn[i]);
        if (!out->pending[i] || !out->mask[i])
            return -XEN_EINVAL;
    }
    return 0;
}

/* 2-level pending words move (exchanged with 0) and mask words are copied into page 0 of the
 * new bitmaps, for the W^2 ports 2-level addresses (W^2 / 64 model words: 64 or 16). */
static void evtchn_3l_carry_over(struct domain *d, struct evtchn_3l_domain *l3)
{
    volatile uint64_t *pending2 = shared_info_evtchn_pending(d);
    const volatile uint64_t *mask2 = shared_info_evtchn_mask(d);
    unsigned words = d->guest_word_bits * d->guest_word_bits / EVTCHN_3L_WORD_BITS;

    if (!pending2)
        return;
    for (unsigned i = 0; i < words; i++) {
        uint64_t moved = guest_xchg64(d->hv, &pending2[i], 0);

        /* Merged, not written: the domain is on 3-level already and a raise on another CPU
         * may have set a bit of this word meanwhile. */
        if (moved)
            guest_or64(d->hv, &l3->pending[0][i], moved);
        evtchn_3l_write_word(d->hv, &l3->mask[0][i], evtchn_3l_read_word(d->hv, &mask2[i]));
    }
}

/* The L1 selector bits meant 2-level words; from now on they mean L2 selector words. */
static void evtchn_3l_clear_l1_selectors(struct domain *d)
{
    for (unsigned i = 0; i < d->max_vcpus; i++) {
        struct vcpu_info *vi = vcpu_info_ptr(d->vcpu[i]);

        if (vi)
            vcpu_info_sel_xchg(d, vi, 0);
    }
}

static void evtchn_3l_announce_bitmaps(struct domain *d, const struct evtchn_3l_domain *l3)
{
    for (unsigned i = 0; i < l3->nr_pages; i++) {
        sink_event_page(d, guest_frame_gpa(d, l3->pending_gfn[i]), HV_PAGE_3L_PENDING, i);
        sink_event_page(d, guest_frame_gpa(d, l3->mask_gfn[i]), HV_PAGE_3L_MASK, i);
    }
}

static bool evtchn_3l_on_2l(const struct domain *d)
{
    return d->evtchn_port_ops == &evtchn_port_ops_2l && !d->evtchn_3l && !d->evtchn_fifo;
}

/* The bitmaps are mapped before the ops table switches, so a raise never sees 3-level ops
 * without 3-level state; the 2-level bits are carried over after the switch (as Xen's FIFO
 * init_control saves them after its own), so an event raised on another CPU meanwhile lands
 * in the 3-level bitmap and is kept, where moving first would leave it in a 2-level word
 * already moved. The L1 selectors are cleared last: before phase 2 no raise sets them.
 * Registration itself is serialised with the other commands (Xen's event_lock). */
static long evtchn_3l_register_bitmaps(struct domain *d, const struct evtchn_3l_bitmaps *b)
{
    struct evtchn_3l_domain staged = {0};
    struct evtchn_3l_domain *l3;
    long rc;

    if (b->nr_pages != evtchn_3l_bitmap_pages(d))
        return -XEN_EINVAL;
    if (!evtchn_3l_on_2l(d))
        return -XEN_EBUSY;
    rc = evtchn_3l_map_bitmaps(d, b, &staged);
    if (rc)
        return rc;
    l3 = malloc(sizeof(*l3));
    if (!l3)
        return -XEN_ENOMEM;
    *l3 = staged;
    d->evtchn_3l = l3;
    __atomic_store_n(&d->evtchn_port_ops, &evtchn_port_ops_3l, __ATOMIC_RELEASE);
    evtchn_3l_carry_over(d, l3);
    evtchn_3l_clear_l1_selectors(d);
    evtchn_3l_announce_bitmaps(d, l3);
    return 0;
}

/* ---- phase 2: one vcpu's second-level selector ---- */

static bool evtchn_3l_selector_fits(const struct domain *d, uint32_t offset)
{
    unsigned word_bytes = d->guest_word_bits / 8u;

    return offset % word_bytes == 0 && offset <= XEN_PAGE_SIZE - evtchn_3l_selector_bytes(d);
}

/* Raise what was held for v before it had a selector: every bound, usable port notifying v
 * that is pending and not masked. Only ports below valid_evtchns can be bound, so the scan
 * stops there; it reads the bitmaps a 64-bit word at a time, as Xen's find_next_bit would. */
static void evtchn_3l_raise_held(struct vcpu *v)
{
    struct domain *d = v->domain;
    const struct evtchn_3l_domain *l3 = d->evtchn_3l;
    uint32_t end = d->valid_evtchns;

    for (uint32_t first = 0; first < end && evtchn_3l_covers(d, first);
         first += EVTCHN_3L_WORD_BITS) {
        unsigned word = evtchn_3l_bit_in_page(first) / EVTCHN_3L_WORD_BITS;
        uint64_t ready = evtchn_3l_read_word(d->hv, &evtchn_3l_page_of(l3->pending, first)[word]) &
                         ~evtchn_3l_read_word(d->hv, &evtchn_3l_page_of(l3->mask, first)[word]);

        for (; ready; ready &= ready - 1) {
            uint32_t port = first + (uint32_t)__builtin_ctzll(ready);
            const struct evtchn *chn = evtchn_from_port(d, port);

            if (chn && evtchn_usable(chn) && chn->notify_vcpu_id == v->vcpu_id)
                evtchn_3l_select(v, port);
        }
    }
}

/* The selector is published before the rescan, so raises from then on take the normal path;
 * the rescan's test-and-sets make a port raised both ways select only once. */
static long evtchn_3l_register_l2sel(struct domain *d, const struct evtchn_3l_l2sel *r)
{
    struct vcpu *v;
    volatile uint64_t *page;
    struct evtchn_3l_vcpu *l3v;

    if (!d->evtchn_3l)
        return -XEN_EINVAL;
    v = domain_vcpu(d, r->vcpu);
    if (!v)
        return -XEN_ENOENT;
    if (!evtchn_3l_selector_fits(d, r->offset))
        return -XEN_EINVAL;
    if (v->evtchn_3l)
        return -XEN_EBUSY;
    page = evtchn_3l_map_gfn(d, r->gfn);
    if (!page)
        return -XEN_EINVAL;
    l3v = malloc(sizeof(*l3v));
    if (!l3v)
        return -XEN_ENOMEM;
    l3v->gfn = r->gfn;
    l3v->offset = r->offset;
    l3v->sel = &page[r->offset / 8u];
    l3v->first_bit = (r->offset % 8u) * 8u;
    v->evtchn_3l = l3v;
    d->evtchn_3l->nr_l2sel++;
    sink_event_page(d, guest_frame_gpa(d, r->gfn), HV_PAGE_3L_L2SEL, 0);
    evtchn_3l_raise_held(v);
    return 0;
}

/* ---- EVTCHNOP_register_extended, reset ---- */

/* Acts on the caller's domain only (the struct names no domain). */
long evtchn_3l_register_extended(struct vcpu *v, void *arg)
{
    struct evtchn_register_extended *r = arg;

    switch (r->cmd) {
    case EVTCHN_EXTENDED_QUERY:
        r->abis = EVTCHN_EXTENDED_ABI_L3;
        return 0;
    case EVTCHN_EXTENDED_L3_BITMAPS:
        return evtchn_3l_register_bitmaps(v->domain, &r->u.bitmaps);
    case EVTCHN_EXTENDED_L3_L2SEL:
        return evtchn_3l_register_l2sel(v->domain, &r->u.l2sel);
    default:
        return -XEN_ENOSYS;
    }
}

/* Free every selector and the bitmaps; the caller (evtchn_abi_reset_to_2l) switches the ops
 * back to 2-level and tells the simulator the pages are ordinary memory again. Safe on a
 * domain that never registered, and on one whose vcpus are only partly built. */
void evtchn_3l_destroy(struct domain *d)
{
    if (d->vcpu)
        for (unsigned i = 0; i < d->max_vcpus; i++) {
            if (!d->vcpu[i])
                continue;
            free(d->vcpu[i]->evtchn_3l);
            d->vcpu[i]->evtchn_3l = NULL;
        }
    free(d->evtchn_3l);
    d->evtchn_3l = NULL;
}

/* ---- report ---- */

size_t evtchn_3l_model_bytes(const struct domain *d)
{
    if (!d->evtchn_3l)
        return 0;
    return sizeof(*d->evtchn_3l) + d->evtchn_3l->nr_l2sel * sizeof(struct evtchn_3l_vcpu);
}

/* Is vcpu i's selector the first one found in its page? (Quadratic in vcpus: report only.) */
static bool evtchn_3l_first_in_page(const struct domain *d, unsigned i)
{
    for (unsigned j = 0; j < i; j++)
        if (d->vcpu[j]->evtchn_3l && d->vcpu[j]->evtchn_3l->gfn == d->vcpu[i]->evtchn_3l->gfn)
            return false;
    return true;
}

unsigned evtchn_3l_guest_pages(const struct domain *d)
{
    unsigned pages;

    if (!d->evtchn_3l)
        return 0;
    pages = 2u * d->evtchn_3l->nr_pages;
    for (unsigned i = 0; i < d->max_vcpus; i++)
        if (d->vcpu[i]->evtchn_3l && evtchn_3l_first_in_page(d, i))
            pages++;
    return pages;
}
