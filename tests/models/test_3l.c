/* The 3-level ABI (models/event_3l.c, the project's reconstruction of the 2013 RFC):
 * register_extended (query, phase 1 bitmaps, phase 2 selectors) with every error and the state
 * it leaves; the carry-over of 2-level bits; the pending -> L2 -> L1 -> upcall chain for ports
 * in different selector words; masked edges raised on unmask; events held for a vcpu without a
 * selector and raised at its phase 2; the limits; a guest-side three-level scan; reset back to
 * 2-level. The world: d0 privileged and d1 unprivileged, 2 vcpus each; rows act as d1 vcpu 0. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "models/event_3l.h"
#include "tests/models/fake_xen.h"

#define PAGE XEN_PAGE_SIZE
#define PENDING_GFN (FX_3L_PENDING_GPA / PAGE)
#define MASK_GFN (FX_3L_MASK_GPA / PAGE)
#define L2SEL_GFN (FX_3L_L2SEL_GPA / PAGE)
#define OTHER_GFN (FX_3L_L2SEL_GPA / PAGE + 1) /* a free page after the selectors */
#define BAD_GFN (FX_BAD_GPA / PAGE)
#define WRAPPING_GFN (UINT64_C(1) << 60)

/* ---- small helpers ---- */

static unsigned ports_of(unsigned word_bits)
{
    return word_bits * word_bits * word_bits;
}

/* The 3-level ABI's limit once the port table's capacity is applied (event_3l.c). */
static unsigned table_limit(unsigned word_bits)
{
    return ports_of(word_bits) < EVTCHN_MAX_PORTS ? ports_of(word_bits) : EVTCHN_MAX_PORTS;
}

static bool bit_of(const volatile void *map, unsigned nr)
{
    return guest_test_bit(NULL, nr, (const volatile uint64_t *)map);
}

static unsigned popcount_bytes(const volatile void *p, size_t bytes)
{
    unsigned n = 0;

    for (size_t i = 0; i < bytes / 8; i++)
        n += (unsigned)__builtin_popcountll(((const volatile uint64_t *)p)[i]);
    return n;
}

static long send_port(struct fake_xen *fx, struct vcpu *v, uint32_t port)
{
    struct evtchn_send s = {.port = port};

    return fx_evtchn_op(fx, v, EVTCHNOP_send, &s, sizeof(s));
}

static long unmask_port(struct fake_xen *fx, struct vcpu *v, uint32_t port)
{
    struct evtchn_unmask u = {.port = port};

    return fx_evtchn_op(fx, v, EVTCHNOP_unmask, &u, sizeof(u));
}

static long query(struct fake_xen *fx, struct vcpu *v, uint32_t *abis)
{
    struct evtchn_register_extended r = {.cmd = EVTCHN_EXTENDED_QUERY};
    long rc = fx_evtchn_op(fx, v, EVTCHNOP_register_extended, &r, sizeof(r));

    *abis = r.abis;
    return rc;
}

/* d0 privileged and d1 (word_bits, max_port) unprivileged, 2 vcpus each, every vcpu running. */
static struct domain *world(struct fake_xen *fx, unsigned word_bits, unsigned max_port)
{
    struct domain *d0, *d1;

    fx_init(fx);
    d0 = fx_domain(fx, 0, true, 2, 64, 0);
    d1 = fx_domain(fx, 1, false, 2, word_bits, max_port);
    d0->vcpu[1]->run_state = VCPU_RUNNABLE;
    d1->vcpu[1]->run_state = VCPU_RUNNABLE;
    return d1;
}

static uint64_t l1_of(struct vcpu *v)
{
    return fx_sel(v);
}

/* ---- query ---- */

static void test_query(void **state)
{
    static const unsigned bits[] = {64, 32};

    (void)state;
    for (size_t i = 0; i < 2; i++) {
        struct fake_xen fx;
        struct domain *d1 = world(&fx, bits[i], 0);
        uint32_t abis = 0;

        /* Every domain, privileged or not (the RFC allowed Dom0 only: see event_3l.c). */
        assert_int_equal(query(&fx, fx.hv.domain[0]->vcpu[0], &abis), 0);
        assert_int_equal(abis, EVTCHN_EXTENDED_ABI_L3);
        abis = 0;
        assert_int_equal(query(&fx, d1->vcpu[1], &abis), 0);
        assert_int_equal(abis, EVTCHN_EXTENDED_ABI_L3);
        /* The answer does not depend on the ABI in use, and asks nothing of the domain. */
        fx_3l_init(&fx, d1);
        abis = 0;
        assert_int_equal(query(&fx, d1->vcpu[0], &abis), 0);
        assert_int_equal(abis, EVTCHN_EXTENDED_ABI_L3);
        fx_destroy(&fx);
    }
}

/* ---- register_extended: a conformance table ---- */

enum arg_mode { ARG_OK, ARG_UNMAPPED };

struct reg_row {
    const char *name;
    unsigned word_bits; /* d1's */
    void (*setup)(struct fake_xen *fx, struct domain *d);
    domid_t caller;
    uint32_t cmd;
    /* L3_BITMAPS: nr_pages contiguous pages, one gfn replaced (pending or mask, index) */
    uint32_t nr_pages;
    int bad_pending, bad_mask;
    uint64_t bad_gfn;
    /* L3_L2SEL */
    uint32_t vcpu, offset;
    uint64_t gfn; /* 0: L2SEL_GFN */
    enum arg_mode mode;
    long expect;
    void (*check)(struct fake_xen *fx, struct domain *d, const struct evtchn_register_extended *o);
};

static void phase1(struct fake_xen *fx, struct domain *d)
{
    assert_int_equal(fx_3l_register_bitmaps(fx, d->vcpu[0], evtchn_3l_bitmap_pages(d)), 0);
}

static void phase2_v0(struct fake_xen *fx, struct domain *d)
{
    phase1(fx, d);
    assert_int_equal(fx_3l_register_l2sel(fx, d->vcpu[0], 0), 0);
}

static void check_abis(struct fake_xen *fx, struct domain *d,
                       const struct evtchn_register_extended *o)
{
    (void)fx;
    (void)d;
    assert_int_equal(o->abis, EVTCHN_EXTENDED_ABI_L3);
}

/* On 3-level with contiguous bitmaps: each page announced once per bitmap, with its index. */
static void check_on_3l(struct fake_xen *fx, struct domain *d,
                        const struct evtchn_register_extended *o)
{
    unsigned pages = evtchn_3l_bitmap_pages(d);

    (void)o;
    assert_ptr_equal(d->evtchn_port_ops, &evtchn_port_ops_3l);
    assert_non_null(d->evtchn_3l);
    assert_int_equal(d->evtchn_3l->nr_pages, pages);
    assert_int_equal(d->evtchn_3l->nr_l2sel, 0);
    assert_null(d->vcpu[0]->evtchn_3l);
    assert_int_equal(fx->nr_event_pages, 2 * pages);
    for (unsigned i = 0; i < fx->nr_event_pages; i++) {
        const struct fx_event_page *p = &fx->event_page[i];
        uint64_t base = p->kind == HV_PAGE_3L_PENDING ? FX_3L_PENDING_GPA : FX_3L_MASK_GPA;

        assert_true(p->kind == HV_PAGE_3L_PENDING || p->kind == HV_PAGE_3L_MASK);
        assert_int_equal(p->gpa, base + p->index * (uint64_t)PAGE);
        assert_true(p->index < pages);
    }
    assert_int_equal(evtchn_3l_guest_pages(d), 2 * pages);
    assert_int_equal(domain_max_evtchns(d), d->max_evtchn_port + 1);
}

/* Selector of `vcpu` registered at L2SEL_GFN:offset and announced (after the bitmaps). */
static void check_l2sel(struct fake_xen *fx, struct domain *d, uint32_t vcpu, uint32_t offset)
{
    const struct evtchn_3l_vcpu *l3v = d->vcpu[vcpu]->evtchn_3l;
    const struct fx_event_page *p = &fx->event_page[fx->nr_event_pages - 1];

    assert_non_null(l3v);
    assert_int_equal(l3v->gfn, L2SEL_GFN);
    assert_int_equal(l3v->offset, offset);
    assert_int_equal(l3v->first_bit, (offset % 8) * 8);
    assert_ptr_equal((const volatile unsigned char *)l3v->sel,
                     (unsigned char *)fx_gpa(fx, d, FX_3L_L2SEL_GPA + offset - offset % 8));
    assert_int_equal(p->kind, HV_PAGE_3L_L2SEL);
    assert_int_equal(p->gpa, FX_3L_L2SEL_GPA);
    assert_int_equal(p->index, 0);
    assert_int_equal(fx->nr_event_pages, 2 * evtchn_3l_bitmap_pages(d) + d->evtchn_3l->nr_l2sel);
}

static void check_l2sel_v0(struct fake_xen *fx, struct domain *d,
                           const struct evtchn_register_extended *o)
{
    (void)o;
    check_l2sel(fx, d, 0, 0);
    assert_int_equal(d->evtchn_3l->nr_l2sel, 1);
    assert_null(d->vcpu[1]->evtchn_3l);
}

static void check_l2sel_v1_last(struct fake_xen *fx, struct domain *d,
                                const struct evtchn_register_extended *o)
{
    (void)o;
    check_l2sel(fx, d, 1, PAGE - evtchn_3l_selector_bytes(d));
}

static void check_l2sel_v1_offset4(struct fake_xen *fx, struct domain *d,
                                   const struct evtchn_register_extended *o)
{
    (void)o;
    check_l2sel(fx, d, 1, 4);
}

#define BITMAPS(n) .cmd = EVTCHN_EXTENDED_L3_BITMAPS, .nr_pages = (n)
#define L2SEL(v, off) .cmd = EVTCHN_EXTENDED_L3_L2SEL, .vcpu = (v), .offset = (off)
#define NO_BAD .bad_pending = -1, .bad_mask = -1

static const struct reg_row reg_rows[] = {
    {"query_domU", 64, NULL, 1, EVTCHN_EXTENDED_QUERY, NO_BAD, .expect = 0, .check = check_abis},
    {"query_dom0", 64, NULL, 0, EVTCHN_EXTENDED_QUERY, NO_BAD, .expect = 0, .check = check_abis},
    {"unknown_cmd", 64, NULL, 1, 3, NO_BAD, .expect = -XEN_ENOSYS},
    {"arg_unmapped", 64, NULL, 1, BITMAPS(8), NO_BAD, .mode = ARG_UNMAPPED, .expect = -XEN_EFAULT},
    {"bitmaps_64bit", 64, NULL, 1, BITMAPS(8), NO_BAD, .expect = 0, .check = check_on_3l},
    {"bitmaps_32bit", 32, NULL, 1, BITMAPS(1), NO_BAD, .expect = 0, .check = check_on_3l},
    {"bitmaps_64bit_one_page", 64, NULL, 1, BITMAPS(1), NO_BAD, .expect = -XEN_EINVAL},
    {"bitmaps_zero_pages", 64, NULL, 1, BITMAPS(0), NO_BAD, .expect = -XEN_EINVAL},
    {"bitmaps_nine_pages", 64, NULL, 1, BITMAPS(9), NO_BAD, .expect = -XEN_EINVAL},
    {"bitmaps_32bit_eight_pages", 32, NULL, 1, BITMAPS(8), NO_BAD, .expect = -XEN_EINVAL},
    {"bitmaps_again", 64, phase1, 1, BITMAPS(8), NO_BAD, .expect = -XEN_EBUSY},
    {"bitmaps_again_after_phase2", 64, phase2_v0, 1, BITMAPS(8), NO_BAD, .expect = -XEN_EBUSY},
    /* argument checks come before state checks */
    {"bitmaps_again_bad_count", 64, phase1, 1, BITMAPS(2), NO_BAD, .expect = -XEN_EINVAL},
    {"bitmaps_last_pending_gfn_bad", 64, NULL, 1, BITMAPS(8), .bad_pending = 7, .bad_mask = -1,
     .bad_gfn = BAD_GFN, .expect = -XEN_EINVAL},
    {"bitmaps_first_mask_gfn_bad", 64, NULL, 1, BITMAPS(8), .bad_pending = -1, .bad_mask = 0,
     .bad_gfn = BAD_GFN, .expect = -XEN_EINVAL},
    {"bitmaps_gfn_wraps", 64, NULL, 1, BITMAPS(8), .bad_pending = 3, .bad_mask = -1,
     .bad_gfn = WRAPPING_GFN, .expect = -XEN_EINVAL},
    {"bitmaps_32bit_mask_gfn_bad", 32, NULL, 1, BITMAPS(1), .bad_pending = -1, .bad_mask = 0,
     .bad_gfn = BAD_GFN, .expect = -XEN_EINVAL},
    {"l2sel_before_phase1", 64, NULL, 1, L2SEL(0, 0), NO_BAD, .expect = -XEN_EINVAL},
    {"l2sel_vcpu0", 64, phase1, 1, L2SEL(0, 0), NO_BAD, .expect = 0, .check = check_l2sel_v0},
    {"l2sel_vcpu1_last_offset", 64, phase2_v0, 1, L2SEL(1, PAGE - 512), NO_BAD, .expect = 0,
     .check = check_l2sel_v1_last},
    {"l2sel_vcpu_out_of_range", 64, phase1, 1, L2SEL(2, 0), NO_BAD, .expect = -XEN_ENOENT},
    {"l2sel_vcpu_huge", 64, phase1, 1, L2SEL(UINT32_MAX, 0), NO_BAD, .expect = -XEN_ENOENT},
    {"l2sel_64bit_offset_4", 64, phase1, 1, L2SEL(0, 4), NO_BAD, .expect = -XEN_EINVAL},
    {"l2sel_crosses_page", 64, phase1, 1, L2SEL(0, PAGE - 504), NO_BAD, .expect = -XEN_EINVAL},
    {"l2sel_offset_page_size", 64, phase1, 1, L2SEL(0, PAGE), NO_BAD, .expect = -XEN_EINVAL},
    {"l2sel_offset_huge", 64, phase1, 1, L2SEL(0, UINT32_MAX - 7), NO_BAD, .expect = -XEN_EINVAL},
    {"l2sel_32bit_offset_4", 32, phase2_v0, 1, L2SEL(1, 4), NO_BAD, .expect = 0,
     .check = check_l2sel_v1_offset4},
    {"l2sel_32bit_last_offset", 32, phase2_v0, 1, L2SEL(1, PAGE - 128), NO_BAD, .expect = 0,
     .check = check_l2sel_v1_last},
    {"l2sel_32bit_offset_2", 32, phase1, 1, L2SEL(0, 2), NO_BAD, .expect = -XEN_EINVAL},
    {"l2sel_32bit_crosses_page", 32, phase1, 1, L2SEL(0, PAGE - 124), NO_BAD,
     .expect = -XEN_EINVAL},
    {"l2sel_bad_gfn", 64, phase1, 1, L2SEL(0, 0), NO_BAD, .gfn = BAD_GFN, .expect = -XEN_EINVAL},
    {"l2sel_wrapping_gfn", 64, phase1, 1, L2SEL(0, 0), NO_BAD, .gfn = WRAPPING_GFN,
     .expect = -XEN_EINVAL},
    {"l2sel_again", 64, phase2_v0, 1, L2SEL(0, 512), NO_BAD, .expect = -XEN_EBUSY},
    /* offset checks come before the already-registered check */
    {"l2sel_again_bad_offset", 64, phase2_v0, 1, L2SEL(0, 4), NO_BAD, .expect = -XEN_EINVAL},
    {"l2sel_again_bad_gfn", 64, phase2_v0, 1, L2SEL(0, 0), NO_BAD, .gfn = BAD_GFN,
     .expect = -XEN_EBUSY},
    {"l2sel_as_other_vcpu", 64, phase1, 1, L2SEL(1, 0), NO_BAD, .expect = 0},
};

static void build_arg(const struct reg_row *r, struct evtchn_register_extended *a)
{
    memset(a, 0, sizeof(*a));
    a->cmd = r->cmd;
    if (r->cmd == EVTCHN_EXTENDED_L3_L2SEL) {
        a->u.l2sel.vcpu = r->vcpu;
        a->u.l2sel.offset = r->offset;
        a->u.l2sel.gfn = r->gfn ? r->gfn : L2SEL_GFN;
        return;
    }
    a->u.bitmaps.nr_pages = r->nr_pages;
    for (unsigned k = 0; k < EVTCHN_3L_MAX_BITMAP_PAGES; k++) {
        a->u.bitmaps.pending_gfn[k] = PENDING_GFN + k;
        a->u.bitmaps.mask_gfn[k] = MASK_GFN + k;
    }
    if (r->bad_pending >= 0)
        a->u.bitmaps.pending_gfn[r->bad_pending] = r->bad_gfn;
    if (r->bad_mask >= 0)
        a->u.bitmaps.mask_gfn[r->bad_mask] = r->bad_gfn;
}

/* Everything a refused registration must leave as it was. */
struct reg_snapshot {
    const struct evtchn_port_ops *ops;
    struct evtchn_3l_domain l3;
    bool has_l3;
    const struct evtchn_3l_vcpu *l3v[2];
    unsigned nr_event_pages;
    unsigned char *mem;
};

static void snapshot(struct fake_xen *fx, struct domain *d, struct reg_snapshot *s)
{
    s->ops = d->evtchn_port_ops;
    s->has_l3 = d->evtchn_3l != NULL;
    if (s->has_l3)
        s->l3 = *d->evtchn_3l;
    for (unsigned i = 0; i < 2; i++)
        s->l3v[i] = d->vcpu[i]->evtchn_3l;
    s->nr_event_pages = fx->nr_event_pages;
    s->mem = malloc(FX_MEM_SIZE);
    assert_non_null(s->mem);
    memcpy(s->mem, fx->mem[d->domid], FX_MEM_SIZE);
}

/* The argument page is the guest's scratch space: every other byte must be unchanged. */
static void assert_unchanged(struct fake_xen *fx, struct domain *d, const struct reg_snapshot *s)
{
    assert_ptr_equal(d->evtchn_port_ops, s->ops);
    assert_int_equal(d->evtchn_3l != NULL, s->has_l3);
    if (s->has_l3)
        assert_memory_equal(d->evtchn_3l, &s->l3, sizeof(s->l3));
    for (unsigned i = 0; i < 2; i++)
        assert_ptr_equal(d->vcpu[i]->evtchn_3l, s->l3v[i]);
    assert_int_equal(fx->nr_event_pages, s->nr_event_pages);
    assert_memory_equal(fx->mem[d->domid], s->mem, FX_ARG_GPA);
    assert_memory_equal(fx->mem[d->domid] + FX_ARG_GPA + PAGE, s->mem + FX_ARG_GPA + PAGE,
                        FX_MEM_SIZE - FX_ARG_GPA - PAGE);
}

static long call_row(struct fake_xen *fx, struct vcpu *v, const struct reg_row *r,
                     struct evtchn_register_extended *a)
{
    if (r->mode == ARG_UNMAPPED)
        return fx_hypercall(v, __HYPERVISOR_event_channel_op, EVTCHNOP_register_extended,
                            FX_BAD_GPA, 0);
    return fx_evtchn_op(fx, v, EVTCHNOP_register_extended, a, sizeof(*a));
}

static void test_register_rows(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(reg_rows) / sizeof(reg_rows[0]); i++) {
        const struct reg_row *r = &reg_rows[i];
        struct fake_xen fx;
        struct domain *d1 = world(&fx, r->word_bits, 4095);
        struct domain *dc = fx.hv.domain[r->caller];
        struct evtchn_register_extended a;
        struct reg_snapshot s;
        long rc;

        print_message("register_extended %s\n", r->name);
        if (r->setup)
            r->setup(&fx, d1);
        /* Guest-initialised pages: the guest sets every mask bit of its new bitmaps. */
        memset(fx_gpa(&fx, d1, FX_3L_MASK_GPA), 0xff, 8 * PAGE);
        memset(fx_gpa(&fx, dc, FX_3L_MASK_GPA), 0xff, 8 * PAGE);
        build_arg(r, &a);
        snapshot(&fx, dc, &s);
        rc = call_row(&fx, dc->vcpu[0], r, &a);
        assert_int_equal(rc, r->expect);
        if (rc < 0)
            assert_unchanged(&fx, dc, &s);
        if (r->check)
            r->check(&fx, dc, &a);
        free(s.mem);
        fx_destroy(&fx);
    }
}

/* A FIFO domain refuses phase 1 (-EBUSY) and phase 2 (-EINVAL: no phase 1). Skipped only
 * while the FIFO ABI is not built in (init_control answers -EOPNOTSUPP). */
static void test_register_on_fifo(void **state)
{
    struct fake_xen fx;
    struct domain *d1;
    long rc;

    (void)state;
    d1 = world(&fx, 64, 0);
    rc = fx_fifo_init_control(&fx, d1->vcpu[0], 0, FX_FIFO_CONTROL_GPA / PAGE, 0);
    assert_int_equal(rc, 0);
    assert_int_equal(fx_3l_register_bitmaps(&fx, d1->vcpu[0], 8), -XEN_EBUSY);
    assert_int_equal(fx_3l_register_l2sel(&fx, d1->vcpu[0], 0), -XEN_EINVAL);
    assert_null(d1->evtchn_3l);
    assert_null(d1->vcpu[0]->evtchn_3l);
    assert_ptr_not_equal(d1->evtchn_port_ops, &evtchn_port_ops_3l);
    fx_destroy(&fx);
}

/* The other direction: a 3-level domain refuses FIFO's init_control (-EBUSY, the FIFO model's
 * rule: one extended ABI at a time) and stays on 3-level. */
static void test_fifo_refused_on_3l(void **state)
{
    struct fake_xen fx;
    struct domain *d1;
    long rc;

    (void)state;
    d1 = world(&fx, 64, 0);
    fx_3l_init(&fx, d1);
    rc = fx_fifo_init_control(&fx, d1->vcpu[0], 0, FX_FIFO_CONTROL_GPA / PAGE, 0);
    assert_int_equal(rc, -XEN_EBUSY);
    assert_ptr_equal(d1->evtchn_port_ops, &evtchn_port_ops_3l);
    assert_null(d1->evtchn_fifo);
    assert_non_null(d1->vcpu[0]->evtchn_3l);
    fx_destroy(&fx);
}

/* A refused phase 1 or phase 2 leaves nothing behind that a retry could trip over (the lesson
 * of XSA-188 for FIFO): the same calls with good frames then succeed. */
static void test_retry_after_failure(void **state)
{
    struct fake_xen fx;
    struct domain *d;
    struct evtchn_register_extended r = {.cmd = EVTCHN_EXTENDED_L3_BITMAPS};

    (void)state;
    d = world(&fx, 64, 0);
    r.u.bitmaps.nr_pages = 8;
    for (unsigned k = 0; k < 8; k++) {
        r.u.bitmaps.pending_gfn[k] = PENDING_GFN + k;
        r.u.bitmaps.mask_gfn[k] = k == 7 ? BAD_GFN : MASK_GFN + k;
    }
    assert_int_equal(fx_evtchn_op(&fx, d->vcpu[0], EVTCHNOP_register_extended, &r, sizeof(r)),
                     -XEN_EINVAL);
    assert_ptr_equal(d->evtchn_port_ops, &evtchn_port_ops_2l);
    assert_null(d->evtchn_3l);
    assert_int_equal(fx.nr_event_pages, 0);
    assert_int_equal(fx_3l_register_bitmaps(&fx, d->vcpu[0], 8), 0);
    r.cmd = EVTCHN_EXTENDED_L3_L2SEL;
    memset(&r.u, 0, sizeof(r.u));
    r.u.l2sel.vcpu = 1;
    r.u.l2sel.gfn = BAD_GFN;
    assert_int_equal(fx_evtchn_op(&fx, d->vcpu[0], EVTCHNOP_register_extended, &r, sizeof(r)),
                     -XEN_EINVAL);
    assert_null(d->vcpu[1]->evtchn_3l);
    assert_int_equal(d->evtchn_3l->nr_l2sel, 0);
    assert_int_equal(fx_3l_register_l2sel(&fx, d->vcpu[0], 1), 0);
    assert_int_equal(d->evtchn_3l->nr_l2sel, 1);
    fx_destroy(&fx);
}

/* ---- carry-over of 2-level state at phase 1 ---- */

struct carry_row {
    const char *name;
    unsigned word_bits;
};

static const struct carry_row carry_rows[] = {{"64bit", 64}, {"32bit", 32}};

/* 2-level: ports 1..4 bound to vcpu 0, and the last 2-level port. 1 pending, 2 pending and
 * masked, 3 masked, 4 neither, last pending; stale selector bits on both vcpus. */
static uint32_t carry_setup(struct fake_xen *fx, struct domain *d)
{
    uint32_t last = d->guest_word_bits * d->guest_word_bits - 1;

    for (uint32_t p = 1; p <= 4; p++)
        assert_int_equal(fx_bind_ipi(fx, d->vcpu[0], 0), p);
    fx_3l_claim_ipi(d, last, 0);
    fx_set_pending(d, 1, true);
    fx_set_pending(d, 2, true);
    fx_set_mask(d, 2, true);
    fx_set_mask(d, 3, true);
    fx_set_pending(d, last, true);
    fx_set_sel(d->vcpu[0], 0x5);
    fx_set_sel(d->vcpu[1], 0x8);
    return last;
}

static void test_carry_over(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(carry_rows) / sizeof(carry_rows[0]); i++) {
        const struct carry_row *r = &carry_rows[i];
        struct fake_xen fx;
        struct domain *d = world(&fx, r->word_bits, 4095);
        struct vcpu *v0 = d->vcpu[0];
        unsigned w = r->word_bits;
        uint32_t last;

        print_message("carry-over %s\n", r->name);
        last = carry_setup(&fx, d);
        assert_int_equal(fx_3l_register_bitmaps(&fx, v0, evtchn_3l_bitmap_pages(d)), 0);
        /* pending moved, mask copied, for the 2-level ports only */
        for (uint32_t p = 0; p <= last; p++) {
            assert_int_equal(fx_3l_pending(&fx, d, p), p == 1 || p == 2 || p == last);
            assert_int_equal(fx_3l_masked(&fx, d, p), p == 2 || p == 3);
            assert_false(fx_pending(d, p));
        }
        assert_true(fx_masked(d, 2) && fx_masked(d, 3) && !fx_masked(d, 1));
        /* above the 2-level range the guest's own initialisation stands */
        assert_true(fx_3l_masked(&fx, d, last + 1));
        assert_false(fx_3l_pending(&fx, d, last + 1));
        assert_true(fx_3l_masked(&fx, d, ports_of(w) - 1));
        /* stale 2-level selectors cleared; nothing raised yet (no selector registered) */
        assert_int_equal(l1_of(v0), 0);
        assert_int_equal(l1_of(d->vcpu[1]), 0);
        assert_int_equal(fx_upcall_pending(v0), 0);
        /* the model reads the carried bits as the ports' state */
        assert_true(evtchn_is_pending(d, evtchn_from_port(d, 1)));
        assert_true(evtchn_is_masked(d, evtchn_from_port(d, 2)));
        /* phase 2 raises the carried events that are not masked: 1 and last */
        assert_int_equal(fx_3l_register_l2sel(&fx, v0, 0), 0);
        assert_true(bit_of(fx_3l_l2sel(&fx, v0), 0));
        assert_true(bit_of(fx_3l_l2sel(&fx, v0), last / w));
        assert_int_equal(popcount_bytes(fx_3l_l2sel(&fx, v0), w * w / 8), last / w ? 2 : 1);
        assert_int_equal(l1_of(v0), 1);
        assert_int_equal(fx_upcall_pending(v0), 1);
        assert_int_equal(fx_rec(&fx, v0)->kicks, 1);
        fx_destroy(&fx);
    }
}

/* ---- the raise chain, through the ABI's set_pending ---- */

struct raise_row {
    const char *name;
    unsigned word_bits;
    uint32_t port;
    bool masked, pending, l2, l1, upcall; /* before */
    bool e_l2, e_l1;                      /* after: bits port / W and port / W^2 */
    uint8_t e_upcall;
    unsigned e_kicks;
};

#define CLEAN false, false, false, false, false
static const struct raise_row raise_rows[] = {
    {"64_port0", 64, 0, CLEAN, true, true, 1, 1},
    {"64_port63_last_of_word0", 64, 63, CLEAN, true, true, 1, 1},
    {"64_port64_l2_bit1", 64, 64, CLEAN, true, true, 1, 1},
    {"64_port4095_l2_bit63", 64, 4095, CLEAN, true, true, 1, 1},
    {"64_port4096_l1_bit1", 64, 4096, CLEAN, true, true, 1, 1},
    {"64_port32768_page1", 64, 32768, CLEAN, true, true, 1, 1},
    {"64_port262143_last", 64, 262143, CLEAN, true, true, 1, 1},
    {"32_port0", 32, 0, CLEAN, true, true, 1, 1},
    {"32_port31", 32, 31, CLEAN, true, true, 1, 1},
    {"32_port32_l2_bit1", 32, 32, CLEAN, true, true, 1, 1},
    {"32_port1023", 32, 1023, CLEAN, true, true, 1, 1},
    {"32_port1024_l1_bit1", 32, 1024, CLEAN, true, true, 1, 1},
    {"32_port32767_last", 32, 32767, CLEAN, true, true, 1, 1},
    {"masked_pending_only", 64, 4096, true, false, false, false, false, false, false, 0, 0},
    {"already_pending_coalesces", 64, 4096, false, true, false, false, false, false, false, 0, 0},
    {"l2_already_set_stops", 64, 4096, false, false, true, false, false, true, false, 0, 0},
    {"l1_already_set_no_upcall", 64, 4096, false, false, false, true, false, true, true, 0, 0},
    {"upcall_already_pending", 64, 4096, false, false, false, false, true, true, true, 1, 0},
};

static void set_bit_in(volatile void *map, unsigned nr, bool on)
{
    if (on)
        guest_test_and_set_bit(NULL, nr, (volatile uint64_t *)map);
}

/* Ports up to 262143 through the ABI directly: the bitmaps address them whatever the port
 * table holds. */
static void test_raise_chain(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(raise_rows) / sizeof(raise_rows[0]); i++) {
        const struct raise_row *r = &raise_rows[i];
        struct fake_xen fx;
        struct domain *d = world(&fx, r->word_bits, 0);
        struct vcpu *v = d->vcpu[0];
        unsigned w = r->word_bits;
        struct evtchn chn = {.port = r->port, .state = ECS_IPI, .notify_vcpu_id = 0};
        volatile uint64_t *l2;

        print_message("raise %s\n", r->name);
        fx_3l_init(&fx, d);
        l2 = fx_3l_l2sel(&fx, v);
        fx_3l_set_mask(&fx, d, r->port, r->masked);
        fx_3l_set_pending(&fx, d, r->port, r->pending);
        set_bit_in(l2, r->port / w, r->l2);
        if (r->l1)
            fx_sel_set_bit(v, r->port / (w * w));
        fx_set_upcall_pending(v, r->upcall);
        evtchn_port_ops_3l.set_pending(v, &chn);
        assert_true(fx_3l_pending(&fx, d, r->port));
        assert_int_equal(popcount_bytes(fx_3l_pending_map(&fx, d), ports_of(w) / 8), 1);
        assert_int_equal(bit_of(l2, r->port / w), r->e_l2);
        assert_int_equal(popcount_bytes(l2, w * w / 8), r->e_l2);
        assert_int_equal(l1_of(v), r->e_l1 ? UINT64_C(1) << (r->port / (w * w)) : 0);
        assert_int_equal(fx_upcall_pending(v), r->e_upcall);
        assert_int_equal(fx_rec(&fx, v)->kicks, r->e_kicks);
        /* nothing on the other vcpu, nothing in the 2-level bitmaps */
        assert_int_equal(l1_of(d->vcpu[1]), 0);
        assert_int_equal(popcount_bytes(fx_3l_l2sel(&fx, d->vcpu[1]), w * w / 8), 0);
        assert_false(fx_pending(d, r->port % (w * w)));
        fx_destroy(&fx);
    }
}

/* The same chain through EVTCHNOP_send on bound ports, as far as the port table holds. */
static void test_send_bound_ports(void **state)
{
    static const uint32_t ports[] = {1, 63, 64, 4095, 4096, 32768, 70000, 131071};
    struct fake_xen fx;
    struct domain *d;
    struct vcpu *v;

    (void)state;
    d = world(&fx, 64, 262143);
    v = d->vcpu[0];
    fx_3l_init(&fx, d);
    for (size_t i = 0; i < sizeof(ports) / sizeof(ports[0]); i++) {
        uint32_t p = ports[i];

        if (p >= domain_max_evtchns(d))
            continue;
        fx_3l_claim_ipi(d, p, 0);
        fx_3l_set_mask(&fx, d, p, false);
        assert_int_equal(send_port(&fx, v, p), 0);
        assert_true(fx_3l_pending(&fx, d, p));
        assert_true(bit_of(fx_3l_l2sel(&fx, v), p / 64));
        assert_true(l1_of(v) & (UINT64_C(1) << (p / 4096)));
        assert_int_equal(port_stats(d, p)->raised, 1);
        assert_int_equal(evtchn_port_poll(d, p), 1);
    }
    assert_int_equal(fx_upcall_pending(v), 1);
    assert_int_equal(fx_rec(&fx, v)->kicks, 1);
    fx_destroy(&fx);
}

/* ---- masks ---- */

static void test_masked_raises_on_unmask(void **state)
{
    struct fake_xen fx;
    struct domain *d;
    struct vcpu *v1;

    (void)state;
    d = world(&fx, 64, 8191);
    v1 = d->vcpu[1];
    fx_3l_init(&fx, d);
    fx_3l_claim_ipi(d, 4100, 1); /* mask left set, as the guest initialised it */
    fx_3l_claim_ipi(d, 4101, 1);
    assert_int_equal(send_port(&fx, d->vcpu[0], 4100), 0);
    assert_true(fx_3l_pending(&fx, d, 4100));
    assert_int_equal(popcount_bytes(fx_3l_l2sel(&fx, v1), 512), 0);
    assert_int_equal(l1_of(v1), 0);
    assert_int_equal(fx_upcall_pending(v1), 0);
    /* unmasking a port that is not pending raises nothing */
    assert_int_equal(unmask_port(&fx, d->vcpu[0], 4101), 0);
    assert_false(fx_3l_masked(&fx, d, 4101));
    assert_int_equal(fx_upcall_pending(v1), 0);
    /* unmasking the pending one raises it on its notify vcpu, not on the caller */
    assert_int_equal(unmask_port(&fx, d->vcpu[0], 4100), 0);
    assert_false(fx_3l_masked(&fx, d, 4100));
    assert_true(bit_of(fx_3l_l2sel(&fx, v1), 4100 / 64));
    assert_int_equal(l1_of(v1), 2);
    assert_int_equal(fx_upcall_pending(v1), 1);
    assert_int_equal(fx_rec(&fx, v1)->kicks, 1);
    assert_int_equal(fx_upcall_pending(d->vcpu[0]), 0);
    /* a second unmask finds the mask clear: no second edge */
    fx_set_upcall_pending(v1, 0);
    assert_int_equal(unmask_port(&fx, d->vcpu[0], 4100), 0);
    assert_int_equal(fx_upcall_pending(v1), 0);
    fx_destroy(&fx);
}

/* ---- events held for a vcpu without a selector ---- */

static void test_held_until_phase2(void **state)
{
    struct fake_xen fx;
    struct domain *d;
    struct vcpu *v0, *v1;
    uint32_t a, b, c;

    (void)state;
    d = world(&fx, 64, 8191);
    v0 = d->vcpu[0];
    v1 = d->vcpu[1];
    assert_int_equal(fx_3l_register_bitmaps(&fx, v0, 8), 0);
    assert_int_equal(fx_3l_register_l2sel(&fx, v0, 0), 0);
    a = fx_bind_ipi(&fx, v0, 1);
    b = fx_bind_ipi(&fx, v0, 1);
    fx_3l_claim_ipi(d, 5000, 0);
    c = 5000;
    fx_3l_set_mask(&fx, d, a, false);
    fx_3l_set_mask(&fx, d, c, false);
    /* v1 polls a: the raise wakes it although v1 has no selector */
    v1->run_state = VCPU_BLOCKED;
    v1->polling = true;
    v1->nr_poll_ports = 1;
    v1->poll_ports[0] = a;
    assert_int_equal(send_port(&fx, v0, a), 0);
    assert_int_equal(send_port(&fx, v0, b), 0);
    assert_int_equal(send_port(&fx, v0, c), 0);
    assert_int_equal(v1->run_state, VCPU_RUNNABLE);
    assert_int_equal(fx_rec(&fx, v1)->wakes, 1);
    /* held: pending bits only */
    assert_true(fx_3l_pending(&fx, d, a) && fx_3l_pending(&fx, d, b));
    assert_int_equal(l1_of(v1), 0);
    assert_int_equal(fx_upcall_pending(v1), 0);
    /* v0's port went the normal way */
    assert_true(bit_of(fx_3l_l2sel(&fx, v0), c / 64));
    assert_int_equal(l1_of(v0), 2);
    assert_int_equal(fx_upcall_pending(v0), 1);
    /* unmasking b while v1 has no selector keeps it held too */
    assert_int_equal(unmask_port(&fx, v0, b), 0);
    assert_int_equal(l1_of(v1), 0);
    /* phase 2 for v1 raises a and b (the same L2 word), nothing for v0's port */
    fx_set_upcall_pending(v0, 0);
    fx_set_sel(v0, 0);
    assert_int_equal(fx_3l_register_l2sel(&fx, v0, 1), 0);
    assert_true(bit_of(fx_3l_l2sel(&fx, v1), a / 64));
    assert_int_equal(popcount_bytes(fx_3l_l2sel(&fx, v1), 512), 1);
    assert_int_equal(l1_of(v1), 1);
    assert_int_equal(fx_upcall_pending(v1), 1);
    assert_int_equal(fx_rec(&fx, v1)->kicks, 1);
    assert_int_equal(fx_upcall_pending(v0), 0);
    assert_int_equal(l1_of(v0), 0);
    fx_destroy(&fx);
}

/* A masked held port stays held at phase 2 and is raised by its unmask. */
static void test_held_masked_raised_on_unmask(void **state)
{
    struct fake_xen fx;
    struct domain *d;
    struct vcpu *v1;
    uint32_t a;

    (void)state;
    d = world(&fx, 32, 0);
    v1 = d->vcpu[1];
    assert_int_equal(fx_3l_register_bitmaps(&fx, d->vcpu[0], 1), 0);
    a = fx_bind_ipi(&fx, d->vcpu[0], 1);
    fx_3l_set_mask(&fx, d, a, true); /* carried over unmasked from 2-level: mask it */
    assert_int_equal(send_port(&fx, d->vcpu[0], a), 0);
    assert_int_equal(fx_3l_register_l2sel(&fx, d->vcpu[0], 1), 0);
    assert_int_equal(fx_upcall_pending(v1), 0);
    assert_int_equal(unmask_port(&fx, d->vcpu[0], a), 0);
    assert_true(bit_of(fx_3l_l2sel(&fx, v1), a / 32));
    assert_int_equal(l1_of(v1), 1);
    assert_int_equal(fx_upcall_pending(v1), 1);
    fx_destroy(&fx);
}

/* ---- limits ---- */

static void test_limits(void **state)
{
    struct fake_xen fx;
    struct domain *d;
    struct evtchn_bind_ipi bi = {.vcpu = 0};
    unsigned lim;

    (void)state;
    /* 32-bit: 1024 ports on 2-level, 32768 on 3-level (max_evtchn_port allowing more) */
    d = world(&fx, 32, 40000);
    assert_int_equal(domain_max_evtchns(d), 1024);
    assert_int_equal(evtchn_allocate_port(d, 1024), -XEN_ENOSPC);
    fx_3l_init(&fx, d);
    assert_int_equal(evtchn_3l_abi_ports(32), EVTCHN_3L_NR_PORTS_32);
    assert_int_equal(domain_max_evtchns(d), EVTCHN_3L_NR_PORTS_32);
    assert_int_equal(evtchn_allocate_port(d, 32768), -XEN_ENOSPC);
    assert_int_equal(evtchn_allocate_port(d, 40000), -XEN_ENOSPC);
    for (uint32_t p = 1; p < 32768; p++)
        fx_3l_claim_ipi(d, p, 0);
    assert_int_equal(fx_evtchn_op(&fx, d->vcpu[0], EVTCHNOP_bind_ipi, &bi, sizeof(bi)),
                     -XEN_ENOSPC);
    assert_int_equal(d->valid_evtchns, 32768);
    fx_destroy(&fx);

    /* 64-bit: the ABI addresses 262,144 ports; the table holds EVTCHN_MAX_PORTS of them */
    d = world(&fx, 64, 300000);
    assert_int_equal(domain_max_evtchns(d), 4096);
    fx_3l_init(&fx, d);
    assert_int_equal(evtchn_3l_abi_ports(64), EVTCHN_3L_NR_PORTS_64);
    lim = table_limit(64);
    assert_int_equal(domain_max_evtchns(d), lim);
    assert_int_equal(evtchn_allocate_port(d, lim - 1), 0);
    assert_int_equal(evtchn_allocate_port(d, lim), -XEN_ENOSPC);
    /* the domain's own limit still applies */
    fx_destroy(&fx);
    d = world(&fx, 64, 4999);
    fx_3l_init(&fx, d);
    assert_int_equal(domain_max_evtchns(d), 5000);
    assert_int_equal(evtchn_allocate_port(d, 5000), -XEN_ENOSPC);
    fx_destroy(&fx);
}

/* Ports beyond the registered bitmaps count as masked and never pending; raising one is
 * harmless. Only reachable through the ABI directly. */
static void test_beyond_bitmaps(void **state)
{
    struct fake_xen fx;
    struct domain *d;
    struct evtchn far = {.port = 40000, .state = ECS_IPI};

    (void)state;
    d = world(&fx, 32, 0);
    fx_3l_init(&fx, d);
    assert_true(evtchn_port_ops_3l.is_masked(d, &far));
    assert_false(evtchn_port_ops_3l.is_pending(d, &far));
    evtchn_port_ops_3l.set_pending(d->vcpu[0], &far);
    evtchn_port_ops_3l.unmask(d, &far);
    evtchn_port_ops_3l.clear_pending(d, &far);
    assert_int_equal(fx_upcall_pending(d->vcpu[0]), 0);
    assert_int_equal(popcount_bytes(fx_3l_pending_map(&fx, d), PAGE), 0);
    fx_destroy(&fx);
}

/* A 32-bit guest's first-level selector is its vcpu_info's evtchn_pending_sel in Xen's compat
 * layout: a 32-bit word at offset 4, whose bit p / 32^2 is set; the 64-bit field's place
 * (offset 8, the compat arch.cr2) is left alone. Phase 1 clears the word there too. */
static void test_compat_l1_selector(void **state)
{
    struct fake_xen fx;
    struct domain *d;
    struct vcpu *v;
    struct evtchn chn = {.port = 2 * 1024 + 5, .state = ECS_IPI};
    unsigned char *vi;
    uint32_t sel;
    uint64_t native;

    (void)state;
    d = world(&fx, 32, 0);
    v = d->vcpu[0];
    vi = (unsigned char *)vcpu_info_ptr(v);
    memset(vi + 4, 0xff, 4); /* stale 2-level selector bits */
    fx_3l_init(&fx, d);
    memcpy(&sel, vi + 4, 4);
    assert_int_equal(sel, 0);
    fx_3l_set_mask(&fx, d, chn.port, false);
    evtchn_port_ops_3l.set_pending(v, &chn);
    memcpy(&sel, vi + 4, 4);
    memcpy(&native, vi + 8, 8);
    assert_int_equal(sel, 1u << 2);
    assert_int_equal(native, 0);
    assert_int_equal(fx_upcall_pending(v), 1);
    fx_destroy(&fx);
}

/* ---- a guest's three-level scan ---- */

/* The guest side: W-bit words of its bitmaps (little-endian, so word i of a W-bit view is bits
 * i*W .. i*W+W-1 of the bitmap), read and exchanged as a guest would. */
struct guest3 {
    struct fake_xen *fx;
    struct vcpu *v;
    unsigned w;
    uint32_t nports;
    uint32_t last; /* last port handled: the next scan starts after it */
};

static uint64_t g_read(const struct guest3 *g, const volatile void *map, unsigned i)
{
    if (g->w == 32)
        return __atomic_load_n(&((const volatile uint32_t *)map)[i], __ATOMIC_SEQ_CST);
    return __atomic_load_n(&((const volatile uint64_t *)map)[i], __ATOMIC_SEQ_CST);
}

static uint64_t g_take(const struct guest3 *g, volatile void *map, unsigned i)
{
    if (g->w == 32)
        return __atomic_exchange_n(&((volatile uint32_t *)map)[i], 0, __ATOMIC_SEQ_CST);
    return __atomic_exchange_n(&((volatile uint64_t *)map)[i], 0, __ATOMIC_SEQ_CST);
}

/* L1 exchanged with 0, then each selected L2 word exchanged with 0, then each selected
 * pending word read with the mask applied: the ports that may be handled. */
static unsigned g_collect(struct guest3 *g, uint32_t *cand, unsigned cap)
{
    struct domain *d = g->v->domain;
    volatile uint64_t *pending = fx_3l_pending_map(g->fx, d), *mask = fx_3l_mask_map(g->fx, d);
    uint64_t l1 = g_take(g, fx_sel_ptr(g->v), 0);
    unsigned n = 0;

    for (; l1; l1 &= l1 - 1) {
        unsigned i = (unsigned)__builtin_ctzll(l1);
        uint64_t l2 = g_take(g, fx_3l_l2sel(g->fx, g->v), i);

        for (; l2; l2 &= l2 - 1) {
            unsigned word = i * g->w + (unsigned)__builtin_ctzll(l2);
            uint64_t ready = g_read(g, pending, word) & ~g_read(g, mask, word);

            for (; ready; ready &= ready - 1) {
                assert_true(n < cap);
                cand[n++] = word * g->w + (uint32_t)__builtin_ctzll(ready);
            }
        }
    }
    return n;
}

/* Distance after the last handled port, wrapping: the scan's fairness order. */
static uint32_t g_after_last(const struct guest3 *g, uint32_t port)
{
    return (port + g->nports - g->last - 1) % g->nports;
}

/* Insertion sort by distance after the last handled port (a few ports per round). */
static void g_sort(const struct guest3 *g, uint32_t *cand, unsigned n)
{
    for (unsigned i = 1; i < n; i++) {
        uint32_t port = cand[i];
        unsigned j = i;

        for (; j > 0 && g_after_last(g, cand[j - 1]) > g_after_last(g, port); j--)
            cand[j] = cand[j - 1];
        cand[j] = port;
    }
}

/* Left for the next round: the guest sets its selectors again, as Xen would have. */
static void g_requeue(struct guest3 *g, uint32_t port)
{
    struct vcpu_info *vi = vcpu_info_ptr(g->v);

    guest_test_and_set_bit(NULL, port / g->w, fx_3l_l2sel(g->fx, g->v));
    fx_sel_set_bit(g->v, port / (g->w * g->w));
    vi->evtchn_upcall_pending = 1;
}

/* One upcall round: clear upcall_pending, collect, handle up to `budget` ports in order after
 * the last one handled (clearing each pending bit: a port is handled once per raise), requeue
 * the rest. Returns how many were handled, appended to out. */
static unsigned g_round(struct guest3 *g, unsigned budget, uint32_t *out, unsigned cap)
{
    uint32_t *cand = malloc(4096 * sizeof(*cand));
    volatile uint64_t *pending = fx_3l_pending_map(g->fx, g->v->domain);
    unsigned n, handled = 0;

    assert_non_null(cand);
    vcpu_info_ptr(g->v)->evtchn_upcall_pending = 0;
    n = g_collect(g, cand, 4096);
    g_sort(g, cand, n);
    for (unsigned i = 0; i < n; i++) {
        if (handled == budget) {
            g_requeue(g, cand[i]);
            continue;
        }
        if (!guest_test_and_clear_bit(NULL, cand[i], pending))
            continue;
        assert_true(handled < cap);
        out[handled++] = cand[i];
        g->last = cand[i];
    }
    free(cand);
    return handled;
}

/* Rounds while upcall_pending is set, no budget. */
static unsigned g_upcall(struct guest3 *g, uint32_t *out, unsigned cap)
{
    unsigned n = 0;

    while (vcpu_info_ptr(g->v)->evtchn_upcall_pending)
        n += g_round(g, UINT32_MAX, out + n, cap - n);
    return n;
}

struct scan_row {
    const char *name;
    unsigned word_bits;
    uint32_t ports[16];
    unsigned nr;
};

static const struct scan_row scan_rows[] = {
    {"64bit",
     64,
     {1, 63, 64, 65, 127, 4095, 4096, 4097, 8191, 32767, 32768, 65535, 70000, 131071},
     14},
    {"32bit", 32, {1, 31, 32, 33, 1023, 1024, 1025, 2047, 16384, 32767}, 10},
};

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

    return (x > y) - (x < y);
}

/* Every raised port is found exactly once, masked ones only after their unmask. */
static void test_guest_scan_finds_each_once(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(scan_rows) / sizeof(scan_rows[0]); i++) {
        const struct scan_row *r = &scan_rows[i];
        struct fake_xen fx;
        struct domain *d = world(&fx, r->word_bits, ports_of(r->word_bits) - 1);
        struct guest3 g = {&fx, d->vcpu[0], r->word_bits, ports_of(r->word_bits),
                           ports_of(r->word_bits) - 1};
        uint32_t found[64], expect[16];
        unsigned n, nr = 0;

        print_message("scan %s\n", r->name);
        fx_3l_init(&fx, d);
        for (unsigned k = 0; k < r->nr; k++) {
            if (r->ports[k] >= domain_max_evtchns(d))
                continue;
            fx_3l_claim_ipi(d, r->ports[k], 0);
            fx_3l_set_mask(&fx, d, r->ports[k], k == 3); /* the fourth stays masked */
            assert_int_equal(send_port(&fx, d->vcpu[0], r->ports[k]), 0);
            assert_int_equal(send_port(&fx, d->vcpu[0], r->ports[k]), 0); /* coalesces */
            if (k != 3)
                expect[nr++] = r->ports[k];
        }
        n = g_upcall(&g, found, 64);
        assert_int_equal(n, nr);
        assert_memory_equal(found, expect, nr * sizeof(*found)); /* ascending from port 0 */
        assert_int_equal(g_upcall(&g, found, 64), 0);
        /* the masked one arrives on unmask, once */
        assert_int_equal(unmask_port(&fx, d->vcpu[0], r->ports[3]), 0);
        assert_int_equal(g_upcall(&g, found, 64), 1);
        assert_int_equal(found[0], r->ports[3]);
        assert_int_equal(popcount_bytes(fx_3l_pending_map(&fx, d), ports_of(r->word_bits) / 8), 0);
        /* raised again, found again, once each */
        for (unsigned k = 0; k < nr; k++)
            assert_int_equal(send_port(&fx, d->vcpu[0], expect[k]), 0);
        n = g_upcall(&g, found, 64);
        assert_int_equal(n, nr);
        qsort(found, n, sizeof(*found), cmp_u32);
        assert_memory_equal(found, expect, nr * sizeof(*found));
        fx_destroy(&fx);
    }
}

/* With a budget per round, the next round resumes after the last port handled, so a port
 * raised again at a low number waits for the others (bit-scan order would starve them). */
static void test_guest_scan_resumes_after_last(void **state)
{
    static const uint32_t ports[] = {1, 2, 3, 4096, 70000};
    struct fake_xen fx;
    struct domain *d;
    struct guest3 g;
    uint32_t out[8];

    (void)state;
    d = world(&fx, 64, 262143);
    fx_3l_init(&fx, d);
    g = (struct guest3){&fx, d->vcpu[0], 64, table_limit(64), table_limit(64) - 1};
    for (size_t k = 0; k < 5; k++) {
        fx_3l_claim_ipi(d, ports[k], 0);
        fx_3l_set_mask(&fx, d, ports[k], false);
        assert_int_equal(send_port(&fx, d->vcpu[0], ports[k]), 0);
    }
    assert_int_equal(g_round(&g, 2, out, 8), 2);
    assert_int_equal(out[0], 1);
    assert_int_equal(out[1], 2);
    assert_int_equal(send_port(&fx, d->vcpu[0], 1), 0); /* port 1 again */
    assert_int_equal(fx_upcall_pending(d->vcpu[0]), 1);
    assert_int_equal(g_round(&g, 2, out, 8), 2);
    assert_int_equal(out[0], 3);
    assert_int_equal(out[1], 4096);
    assert_int_equal(g_round(&g, 2, out, 8), 2);
    assert_int_equal(out[0], 70000);
    assert_int_equal(out[1], 1);
    assert_int_equal(g_upcall(&g, out, 8), 0);
    fx_destroy(&fx);
}

/* ---- other operations on a 3-level domain ---- */

static void test_close_poll_priority(void **state)
{
    struct fake_xen fx;
    struct domain *d;
    struct evtchn_close c = {.port = 5000};
    struct evtchn_set_priority sp = {.port = 5000, .priority = 3};

    (void)state;
    d = world(&fx, 64, 8191);
    fx_3l_init(&fx, d);
    fx_3l_claim_ipi(d, 5000, 0);
    assert_int_equal(evtchn_port_poll(d, 5000), 0);
    assert_int_equal(send_port(&fx, d->vcpu[0], 5000), 0);
    assert_int_equal(evtchn_port_poll(d, 5000), 1);
    assert_int_equal(fx_evtchn_op(&fx, d->vcpu[0], EVTCHNOP_set_priority, &sp, sizeof(sp)),
                     -XEN_ENOSYS);
    assert_int_equal(fx_evtchn_op(&fx, d->vcpu[0], EVTCHNOP_close, &c, sizeof(c)), 0);
    assert_false(fx_3l_pending(&fx, d, 5000));
    assert_true(fx_3l_masked(&fx, d, 5000)); /* freeing leaves the mask alone */
    assert_int_equal(evtchn_port_poll(d, 5000), 0);
    fx_destroy(&fx);
}

/* A 2-level domain sends to a 3-level one: the receiver's ABI decides. */
static void test_interdomain_into_3l(void **state)
{
    struct fake_xen fx;
    struct domain *d1, *d0;
    uint32_t p1, p0;

    (void)state;
    d1 = world(&fx, 64, 0);
    d0 = fx.hv.domain[0];
    fx_3l_init(&fx, d1);
    p1 = fx_alloc_unbound(&fx, d1->vcpu[0], DOMID_SELF, 0);
    fx_3l_set_mask(&fx, d1, p1, false);
    p0 = fx_bind_interdomain(&fx, d0->vcpu[0], 1, p1);
    assert_true(fx_pending(d0, p0)); /* the binder's own 2-level port */
    assert_int_equal(send_port(&fx, d0->vcpu[0], p0), 0);
    assert_true(fx_3l_pending(&fx, d1, p1));
    assert_false(fx_pending(d1, p1));
    assert_int_equal(l1_of(d1->vcpu[0]), 1);
    assert_int_equal(fx_upcall_pending(d1->vcpu[0]), 1);
    fx_destroy(&fx);
}

/* The sender pays trap, dispatch, handler and one port operation, and for set_pending one
 * shared-memory access more than on 2-level. */
static void test_send_cycles(void **state)
{
    struct fake_xen fx;
    struct domain *d;
    struct vcpu *v;
    const struct cost_profile *c = &fx.profile;
    uint32_t p;

    (void)state;
    d = world(&fx, 64, 0);
    v = d->vcpu[0];
    fx_3l_init(&fx, d);
    p = fx_bind_ipi(&fx, v, 0);
    memset(fx.touches, 0, sizeof(fx.touches));
    assert_int_equal(send_port(&fx, v, p), 0);
    /* 2-level's work plus one level: pending, mask, L2 selector, L1 selector, upcall. */
    assert_int_equal(fx.touches[GUEST_READ], 1);
    assert_int_equal(fx.touches[GUEST_LOCKED], 4);
    assert_int_equal(v->hcall_cycles, cost_cycles(c, COST_PV_TRAP) +
                                          cost_cycles(c, COST_HYPERCALL_DISPATCH) +
                                          cost_cycles(c, COST_EVTCHN_OP) +
                                          cost_cycles(c, COST_PORT_OP) + fx_touch_cycles(&fx));
    fx_destroy(&fx);
}

/* Bitmap page k is the k-th gfn the guest listed, whatever its place in memory. */
static void test_pages_in_given_order(void **state)
{
    struct fake_xen fx;
    struct domain *d;
    struct evtchn_register_extended r = {.cmd = EVTCHN_EXTENDED_L3_BITMAPS};

    (void)state;
    d = world(&fx, 64, 0);
    r.u.bitmaps.nr_pages = 8;
    for (unsigned k = 0; k < 8; k++) {
        r.u.bitmaps.pending_gfn[k] = PENDING_GFN + 7 - k;
        r.u.bitmaps.mask_gfn[k] = MASK_GFN + 7 - k;
    }
    memset(fx_gpa(&fx, d, FX_3L_MASK_GPA), 0xff, 8 * PAGE);
    assert_int_equal(fx_evtchn_op(&fx, d->vcpu[0], EVTCHNOP_register_extended, &r, sizeof(r)), 0);
    assert_int_equal(fx_3l_register_l2sel(&fx, d->vcpu[0], 0), 0);
    for (unsigned k = 0; k < 8; k++) {
        struct evtchn chn = {.port = k * EVTCHN_3L_PORTS_PER_PAGE + 5, .state = ECS_IPI};
        const unsigned char *pg = fx_gpa(&fx, d, FX_3L_PENDING_GPA + (7 - k) * PAGE);
        unsigned char *mk = fx_gpa(&fx, d, FX_3L_MASK_GPA + (7 - k) * PAGE);

        mk[0] &= (unsigned char)~(1u << 5); /* the guest unmasks it in page 7 - k */
        evtchn_port_ops_3l.set_pending(d->vcpu[0], &chn);
        assert_int_equal(pg[0], 1u << 5);
        assert_true(bit_of(fx_3l_l2sel(&fx, d->vcpu[0]), chn.port / 64));
    }
    assert_int_equal(l1_of(d->vcpu[0]), 0x0101010101010101ull);
    for (unsigned i = 0; i < 16; i++) {
        const struct fx_event_page *p = &fx.event_page[i];
        uint64_t base = p->kind == HV_PAGE_3L_PENDING ? FX_3L_PENDING_GPA : FX_3L_MASK_GPA;

        assert_int_equal(p->gpa, base + (7 - p->index) * (uint64_t)PAGE);
    }
    fx_destroy(&fx);
}

/* ---- the report's figures ---- */

static void test_model_bytes_and_pages(void **state)
{
    struct fake_xen fx;
    struct domain *d;
    struct evtchn_register_extended r = {.cmd = EVTCHN_EXTENDED_L3_L2SEL};

    (void)state;
    d = world(&fx, 64, 0);
    assert_int_equal(evtchn_3l_model_bytes(d), 0);
    assert_int_equal(evtchn_3l_guest_pages(d), 0);
    assert_int_equal(evtchn_3l_selector_bytes(d), 512);
    assert_int_equal(evtchn_3l_bitmap_pages(d), 8);
    assert_int_equal(fx_3l_register_bitmaps(&fx, d->vcpu[0], 8), 0);
    assert_int_equal(evtchn_3l_model_bytes(d), sizeof(struct evtchn_3l_domain));
    assert_int_equal(evtchn_3l_guest_pages(d), 16);
    assert_int_equal(fx_3l_register_l2sel(&fx, d->vcpu[0], 0), 0);
    assert_int_equal(evtchn_3l_guest_pages(d), 17);
    /* vcpu 1's selector in another page */
    r.u.l2sel.vcpu = 1;
    r.u.l2sel.gfn = OTHER_GFN;
    assert_int_equal(fx_evtchn_op(&fx, d->vcpu[0], EVTCHNOP_register_extended, &r, sizeof(r)), 0);
    assert_int_equal(evtchn_3l_guest_pages(d), 18);
    assert_int_equal(evtchn_3l_model_bytes(d),
                     sizeof(struct evtchn_3l_domain) + 2 * sizeof(struct evtchn_3l_vcpu));
    fx_destroy(&fx);

    d = world(&fx, 32, 0);
    assert_int_equal(evtchn_3l_selector_bytes(d), 128);
    assert_int_equal(evtchn_3l_bitmap_pages(d), 1);
    fx_3l_init(&fx, d); /* both selectors in one page */
    assert_int_equal(evtchn_3l_guest_pages(d), 3);
    fx_destroy(&fx);
}

/* ---- reset ---- */

static void test_reset_back_to_2l(void **state)
{
    struct fake_xen fx;
    struct domain *d;
    struct vcpu *v;
    uint32_t abis = 0, p;

    (void)state;
    d = world(&fx, 64, 8191);
    v = d->vcpu[0];
    /* a pending 2-level port, moved to the 3-level bitmap at phase 1 */
    p = fx_bind_ipi(&fx, v, 0);
    assert_int_equal(send_port(&fx, v, p), 0);
    assert_true(fx_pending(d, p));
    fx_3l_init(&fx, d);
    assert_true(fx_3l_pending(&fx, d, p));
    assert_false(fx_pending(d, p));
    fx_3l_claim_ipi(d, 6000, 1);
    assert_int_equal(send_port(&fx, v, 6000), 0);
    assert_int_equal(fx_reset_until_done(&fx, v, DOMID_SELF), 0);
    assert_null(d->evtchn_3l);
    assert_null(d->vcpu[0]->evtchn_3l);
    assert_null(d->vcpu[1]->evtchn_3l);
    assert_ptr_equal(d->evtchn_port_ops, &evtchn_port_ops_2l);
    assert_int_equal(fx.event_pages_released, 1);
    assert_int_equal(evtchn_3l_model_bytes(d), 0);
    assert_int_equal(evtchn_3l_guest_pages(d), 0);
    assert_int_equal(domain_max_evtchns(d), 4096);
    assert_int_equal(query(&fx, v, &abis), 0);
    assert_int_equal(abis, EVTCHN_EXTENDED_ABI_L3);
    /* 2-level again: a new port raises through shared_info (no stale 2-level bits: phase 1
     * moved them) and the 3-level pages are left alone */
    fx_set_upcall_pending(v, 0);
    fx_set_sel(v, 0);
    memset(fx_gpa(&fx, d, FX_3L_PENDING_GPA), 0, 8 * PAGE);
    assert_int_equal(fx_bind_ipi(&fx, v, 0), p);
    assert_int_equal(send_port(&fx, v, p), 0);
    assert_true(fx_pending(d, p));
    assert_int_equal(port_stats(d, p)->upcalls, 2);
    assert_int_equal(fx_sel(v), 1);
    assert_int_equal(fx_upcall_pending(v), 1);
    assert_false(fx_3l_pending(&fx, d, p));
    /* and may register again */
    assert_int_equal(fx_3l_register_bitmaps(&fx, v, 8), 0);
    assert_true(fx_3l_pending(&fx, d, p));
    assert_int_equal(fx_3l_register_l2sel(&fx, v, 0), 0);
    fx_destroy(&fx);
}

/* Destroying a domain in the middle of registration frees everything (run under a leak
 * checker to see it). */
static void test_destroy_mid_registration(void **state)
{
    struct fake_xen fx;
    struct domain *d;

    (void)state;
    d = world(&fx, 64, 0);
    assert_int_equal(fx_3l_register_bitmaps(&fx, d->vcpu[0], 8), 0);
    assert_int_equal(fx_3l_register_l2sel(&fx, d->vcpu[0], 1), 0);
    domain_destroy(d);
    assert_null(fx.hv.domain[1]);
    fx_destroy(&fx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_query),
        cmocka_unit_test(test_register_rows),
        cmocka_unit_test(test_register_on_fifo),
        cmocka_unit_test(test_fifo_refused_on_3l),
        cmocka_unit_test(test_retry_after_failure),
        cmocka_unit_test(test_carry_over),
        cmocka_unit_test(test_raise_chain),
        cmocka_unit_test(test_send_bound_ports),
        cmocka_unit_test(test_masked_raises_on_unmask),
        cmocka_unit_test(test_held_until_phase2),
        cmocka_unit_test(test_held_masked_raised_on_unmask),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_beyond_bitmaps),
        cmocka_unit_test(test_compat_l1_selector),
        cmocka_unit_test(test_guest_scan_finds_each_once),
        cmocka_unit_test(test_guest_scan_resumes_after_last),
        cmocka_unit_test(test_close_poll_priority),
        cmocka_unit_test(test_interdomain_into_3l),
        cmocka_unit_test(test_send_cycles),
        cmocka_unit_test(test_pages_in_given_order),
        cmocka_unit_test(test_model_bytes_and_pages),
        cmocka_unit_test(test_reset_back_to_2l),
        cmocka_unit_test(test_destroy_mid_registration),
    };
    return cmocka_run_group_tests_name("event_3l", tests, NULL, NULL);
}
