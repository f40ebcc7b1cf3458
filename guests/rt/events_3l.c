/*
 * evsim guest runtime: event channels, 3-level ABI (abi=3l).
 *
 * The 2013 RFC series that Xen never merged, as the project reconstructs it
 * (include/evsim/xen_3l.h, docs/model.md): 64^3 = 262,144 ports for a 64-bit guest.
 *
 *   pending[], mask[]  4096 words each (8 pages each), registered by the
 *                      guest in phase 1 of EVTCHNOP_register_extended;
 *   L1 selector        vcpu_info.evtchn_pending_sel: bit s selects word s of
 *                      the vcpu's L2 selector;
 *   L2 selector        64 words per vcpu (512 bytes), registered in phase 2:
 *                      bit w of word s selects pending word s*64 + w.
 *
 * Xen sets a port pending like 2-level does, one level deeper: set the
 * pending bit; if it was clear and the port is not masked, set the L2 bit,
 * and if that was clear the L1 bit, and if that was clear upcall_pending.
 * So an L2 bit that is set always has its L1 bit set too, except while the
 * guest is between taking the L1 word and taking that L2 word.
 */
#include "events.h"
#include "rt_internal.h"

#include "evsim/xen_3l.h"

#define WORD_BITS RT_WORD_BITS                                       /* 64 */
#define NR_PORTS EVTCHN_3L_NR_PORTS_64                               /* 262,144 */
#define NR_WORDS (NR_PORTS / WORD_BITS)                              /* pending words: 4096 */
#define NR_L2 (NR_WORDS / WORD_BITS)                                 /* L2 selector words: 64 */
#define BITMAP_PAGES (NR_WORDS * sizeof(xen_ulong_t) / RT_PAGE_SIZE) /* 8 */

_Static_assert(NR_PORTS == RT_MAX_PORTS, "the handler table covers every port");
_Static_assert(BITMAP_PAGES == EVTCHN_3L_MAX_BITMAP_PAGES, "8 pages per bitmap");
_Static_assert(NR_L2 == WORD_BITS, "one L1 word selects every L2 word");

static volatile xen_ulong_t *pending, *mask; /* NR_WORDS words each */

/* Per vcpu, in a page allocated at setup (not in .bss, which every ABI
 * would pay to zero at boot). */
static struct l3_vcpu {
    volatile xen_ulong_t *l2sel; /* NR_L2 words, shared with Xen */
    /* Which ports this vcpu handles (as 2-level's vcpu_ports): a pending
     * word can hold ports of several vcpus, and each must only take its own. */
    xen_ulong_t *ports;
    /* Fairness, as 2-level: the next scan starts just after the last port
     * handled. */
    unsigned int word, bit;
} * l3_vcpu;

_Static_assert(RT_MAX_VCPUS * sizeof(struct l3_vcpu) <= RT_PAGE_SIZE, "fits a page");

/* ---- per-port state ----------------------------------------------------- */

static void mask_3l(evtchn_port_t port)
{
    if (port < NR_PORTS)
        rt_sync_set_bit(port, mask);
}

static inline void clear_pending_3l(evtchn_port_t port)
{
    rt_sync_clear_bit(port, pending);
}

static void clear_pending_op_3l(evtchn_port_t port)
{
    if (port < NR_PORTS)
        clear_pending_3l(port);
}

static bool is_pending_3l(evtchn_port_t port)
{
    return port < NR_PORTS && rt_test_bit(port, pending);
}

static bool is_masked_3l(evtchn_port_t port)
{
    return port >= NR_PORTS || rt_test_bit(port, mask);
}

/* Xen clears the mask bit and, if the port is pending, sets the L2 and L1
 * selector bits and raises the upcall, as for 2-level. */
static void unmask_3l(evtchn_port_t port)
{
    struct evtchn_unmask op = {.port = port};
    rt_check(rt_evtchn_op(EVTCHNOP_unmask, &op), "EVTCHNOP_unmask(port %u)", port);
}

static void set_owner_3l(evtchn_port_t port, unsigned int cpu)
{
    if (l3_vcpu[cpu].ports == NULL)
        rt_panic("rt: 3-level: vcpu %u has no L2 selector", cpu);
    for (unsigned int v = 0; v < RT_MAX_VCPUS; v++)
        if (l3_vcpu[v].ports != NULL)
            rt_sync_clear_bit(port, l3_vcpu[v].ports);
    rt_sync_set_bit(port, l3_vcpu[cpu].ports);
}

/* ---- the upcall --------------------------------------------------------- */

/* Handle the pending, unmasked ports of this vcpu in pending word w, those
 * among `which` (a mask of bit positions). */
static void scan_word(unsigned int cpu, unsigned int w, xen_ulong_t which)
{
    xen_ulong_t bits = pending[w] & ~mask[w] & l3_vcpu[cpu].ports[w] & which;
    while (bits != 0) {
        unsigned int b = (unsigned int)__builtin_ctzl(bits);
        bits &= bits - 1;
        evtchn_port_t port = (evtchn_port_t)(w * WORD_BITS + b);
        clear_pending_3l(port); /* first, so a new send while we run is kept */
        rt_run_handler(port);
        /* next time, start just after this port */
        l3_vcpu[cpu].word = b + 1 < WORD_BITS ? w : (w + 1) % NR_WORDS;
        l3_vcpu[cpu].bit = (b + 1) % WORD_BITS;
    }
}

static inline bool selected(xen_ulong_t l1, const xen_ulong_t *l2, unsigned int w)
{
    unsigned int s = w / WORD_BITS;
    return ((l1 >> s) & 1) && ((l2[s] >> (w % WORD_BITS)) & 1);
}

/* Scan every whole selected word in [lo, hi), in order. */
static void scan_words(unsigned int cpu, xen_ulong_t l1, const xen_ulong_t *l2, unsigned int lo,
                       unsigned int hi)
{
    if (lo >= hi)
        return;
    unsigned int s_lo = lo / WORD_BITS, s_hi = (hi - 1) / WORD_BITS; /* L2 words, inclusive */
    xen_ulong_t l1_range = l1 & (~(xen_ulong_t)0 << s_lo);
    if (s_hi + 1 < WORD_BITS)
        l1_range &= ((xen_ulong_t)1 << (s_hi + 1)) - 1;
    while (l1_range != 0) {
        unsigned int s = (unsigned int)__builtin_ctzl(l1_range);
        l1_range &= l1_range - 1;
        xen_ulong_t sel = l2[s];
        if (s == s_lo)
            sel &= ~(xen_ulong_t)0 << (lo % WORD_BITS);
        if (s == s_hi && hi % WORD_BITS != 0)
            sel &= ((xen_ulong_t)1 << (hi % WORD_BITS)) - 1;
        while (sel != 0) {
            unsigned int b = (unsigned int)__builtin_ctzl(sel);
            sel &= sel - 1;
            scan_word(cpu, s * WORD_BITS + b, ~(xen_ulong_t)0);
        }
    }
}

/*
 * Handle every pending, unmasked port of this vcpu in the words selected by
 * l1/l2, going round once from the resume point: the resume word from the
 * resume bit up, the words after it, the words before it, and last the
 * resume word's bits below the resume bit.  Every selected word is visited,
 * so no selector bit taken with xchg is dropped.
 */
static void scan_ports(unsigned int cpu, xen_ulong_t l1, const xen_ulong_t *l2)
{
    unsigned int w0 = l3_vcpu[cpu].word, b0 = l3_vcpu[cpu].bit;
    bool w0_selected = selected(l1, l2, w0);

    if (w0_selected)
        scan_word(cpu, w0, ~(xen_ulong_t)0 << b0); /* resume bit and up */
    scan_words(cpu, l1, l2, w0 + 1, NR_WORDS);
    scan_words(cpu, l1, l2, 0, w0);
    if (w0_selected && b0 != 0)
        scan_word(cpu, w0, ((xen_ulong_t)1 << b0) - 1); /* the rest of it */
}

/* Called by hypervisor_callback_3l (head.S), with events masked. */
void rt_upcall_3l(void)
{
    unsigned int cpu = rt_vcpu_id();
    struct vcpu_info *vi = rt_vcpu_info_of(cpu);
    volatile uint8_t *upcall_pending = &vi->evtchn_upcall_pending;
    volatile xen_ulong_t *l2sel = l3_vcpu[cpu].l2sel;
    xen_ulong_t l2[NR_L2];

    if (l2sel == NULL) { /* no selector registered: nothing can be ours */
        *upcall_pending = 0;
        return;
    }
    do {
        *upcall_pending = 0; /* clear first: a later event sets it again */
        xen_ulong_t l1 = __atomic_exchange_n(&vi->evtchn_pending_sel, 0, __ATOMIC_SEQ_CST);
        /* Take every selected L2 word now; scan_ports visits all of them. */
        for (xen_ulong_t s_bits = l1; s_bits != 0; s_bits &= s_bits - 1) {
            unsigned int s = (unsigned int)__builtin_ctzl(s_bits);
            l2[s] = __atomic_exchange_n(&l2sel[s], 0, __ATOMIC_SEQ_CST);
        }
        scan_ports(cpu, l1, l2);
    } while (*upcall_pending);
}

/* ---- setup ------------------------------------------------------------- */

/* Boot, on vcpu 0: check that Xen offers the ABI, then phase 1, the bitmaps. */
static void setup_3l(void)
{
    struct evtchn_register_extended q = {.cmd = EVTCHN_EXTENDED_QUERY};
    rt_check(rt_evtchn_op(EVTCHNOP_register_extended, &q), "EVTCHNOP_register_extended(query)");
    if (!(q.abis & EVTCHN_EXTENDED_ABI_L3))
        rt_panic("rt: Xen does not offer the 3-level ABI (register_extended query: abis 0x%x)",
                 q.abis);

    l3_vcpu = rt_alloc_pages(1);
    xen_ulong_t *p = rt_alloc_pages(BITMAP_PAGES); /* zeroed: nothing pending */
    xen_ulong_t *m = rt_alloc_pages(BITMAP_PAGES);
    rt_fill64(m, ~(uint64_t)0, NR_WORDS); /* every port masked; Xen carries 2-level bits over */

    struct evtchn_register_extended r = {.cmd = EVTCHN_EXTENDED_L3_BITMAPS};
    r.u.bitmaps.nr_pages = BITMAP_PAGES;
    for (unsigned int i = 0; i < BITMAP_PAGES; i++) {
        r.u.bitmaps.pending_gfn[i] = (uintptr_t)p / RT_PAGE_SIZE + i;
        r.u.bitmaps.mask_gfn[i] = (uintptr_t)m / RT_PAGE_SIZE + i;
    }
    pending = p;
    mask = m;
    rt_check(rt_evtchn_op(EVTCHNOP_register_extended, &r),
             "EVTCHNOP_register_extended(3-level bitmaps)");
}

/* Phase 2: the vcpu's L2 selector, alone in its page at offset 0. */
static void setup_vcpu_3l(unsigned int vcpu)
{
    xen_ulong_t *l2sel = rt_alloc_pages(1);
    l3_vcpu[vcpu].ports = rt_alloc_pages(BITMAP_PAGES);
    struct evtchn_register_extended r = {.cmd = EVTCHN_EXTENDED_L3_L2SEL};
    r.u.l2sel.vcpu = vcpu;
    r.u.l2sel.offset = 0;
    r.u.l2sel.gfn = (uintptr_t)l2sel / RT_PAGE_SIZE;
    rt_check(rt_evtchn_op(EVTCHNOP_register_extended, &r),
             "EVTCHNOP_register_extended(3-level L2 selector of vcpu %u)", vcpu);
    __atomic_store_n(&l3_vcpu[vcpu].l2sel, l2sel, __ATOMIC_RELEASE);
}

const struct rt_evtchn_ops rt_evtchn_ops_3l = {
    .name = "3l",
    .nr_ports = NR_PORTS,
    .entry = hypervisor_callback_3l,
    .hvm_entry = hvm_callback_3l,
    .upcall = rt_upcall_3l,
    .setup = setup_3l,
    .setup_vcpu = setup_vcpu_3l,
    .ensure_port = NULL, /* the bitmaps cover every port */
    .set_owner = set_owner_3l,
    .mask = mask_3l,
    .unmask = unmask_3l,
    .clear_pending = clear_pending_op_3l,
    .is_pending = is_pending_3l,
    .is_masked = is_masked_3l,
};
