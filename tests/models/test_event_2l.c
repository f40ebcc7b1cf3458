/* The 2-level ABI on the real shared_info layout (native, and compat for 32-bit guests):
 * pending, mask, selector and upcall_pending in the order Xen sets them; masked edges re-raised
 * on unmask; coalescing and delivery counters; the VIRQ sources. Events are raised with
 * EVTCHNOP_send on IPI ports of d1. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>

#include <cmocka.h>

#include "tests/models/fake_xen.h"

struct raise_row {
    const char *name;
    unsigned word_bits;
    uint32_t port; /* IPI port raised (to vcpu 0) */
    bool masked, pending, upcall;
    uint64_t sel; /* state before the raise */
    /* after */
    bool e_pending;
    uint64_t e_sel;
    uint8_t e_upcall;
    unsigned e_kicks;
    uint64_t e_coalesced, e_upcalls;
};

static const struct raise_row raise_rows[] = {
    {"clean", 64, 1, false, false, false, 0, true, 1, 1, 1, 0, 1},
    {"masked_no_upcall", 64, 1, true, false, false, 0, true, 0, 0, 0, 0, 0},
    {"already_pending_coalesces", 64, 1, false, true, false, 0, true, 0, 0, 0, 1, 0},
    {"selector_already_set", 64, 1, false, false, false, 1, true, 1, 0, 0, 0, 0},
    {"upcall_already_pending", 64, 1, false, false, true, 0, true, 1, 1, 0, 0, 0},
    {"second_word_selector_bit1", 64, 70, false, false, false, 0, true, 2, 1, 1, 0, 1},
    {"word63_selector_bit63", 64, 4095, false, false, false, 0, true, 1ull << 63, 1, 1, 0, 1},
    {"32bit_guest_selector_is_port_div_32", 32, 40, false, false, false, 0, true, 2, 1, 1, 0, 1},
};

static void bind_ipis_up_to(struct fake_xen *fx, struct domain *d, uint32_t port)
{
    for (uint32_t p = 1; p <= port; p++)
        assert_int_equal(fx_bind_ipi(fx, d->vcpu[0], 0), p);
}

static long send_port(struct fake_xen *fx, struct vcpu *v, uint32_t port)
{
    struct evtchn_send s = {.port = port};

    return fx_evtchn_op(fx, v, EVTCHNOP_send, &s, sizeof(s));
}

static void test_raise_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(raise_rows) / sizeof(raise_rows[0]); i++) {
        const struct raise_row *r = &raise_rows[i];
        struct fake_xen fx;
        struct domain *d;
        struct vcpu *v;

        print_message("raise %s\n", r->name);
        fx_init(&fx);
        d = fx_domain(&fx, 1, false, 1, r->word_bits, 4095);
        v = d->vcpu[0];
        bind_ipis_up_to(&fx, d, r->port);
        fx_set_mask(d, r->port, r->masked);
        fx_set_pending(d, r->port, r->pending);
        fx_set_upcall_pending(v, r->upcall);
        fx_set_sel(v, r->sel);
        assert_int_equal(send_port(&fx, v, r->port), 0);
        assert_int_equal(fx_pending(d, r->port), r->e_pending);
        assert_int_equal(fx_sel(v), r->e_sel);
        assert_int_equal(fx_upcall_pending(v), r->e_upcall);
        assert_int_equal(fx_rec(&fx, v)->kicks, r->e_kicks);
        assert_int_equal(port_stats(d, r->port)->raised, 1);
        assert_int_equal(port_stats(d, r->port)->coalesced, r->e_coalesced);
        assert_int_equal(port_stats(d, r->port)->upcalls, r->e_upcalls);
        fx_destroy(&fx);
    }
}

struct unmask_row {
    const char *name;
    bool masked, pending;
    uint64_t sel;
    uint8_t upcall;
    uint64_t e_sel;
    uint8_t e_upcall;
    unsigned e_kicks;
};

static const struct unmask_row unmask_rows[] = {
    {"masked_pending_reraised", true, true, 0, 0, 1, 1, 1},
    {"masked_not_pending", true, false, 0, 0, 0, 0, 0},
    {"not_masked_pending_no_edge", false, true, 0, 0, 0, 0, 0},
    {"selector_already_set", true, true, 1, 0, 1, 0, 0},
    {"upcall_already_pending", true, true, 0, 1, 1, 1, 0},
};

/* The edge is raised on the port's notify vcpu (here vcpu 1, via bind_vcpu of an unbound
 * port), not on the caller. */
static void test_unmask_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(unmask_rows) / sizeof(unmask_rows[0]); i++) {
        const struct unmask_row *r = &unmask_rows[i];
        struct fake_xen fx;
        struct domain *d;
        struct vcpu *v1;
        struct evtchn_unmask u = {.port = 1};
        struct evtchn_bind_vcpu bv = {.port = 1, .vcpu = 1};

        print_message("unmask %s\n", r->name);
        fx_init(&fx);
        d = fx_domain(&fx, 1, false, 2, 0, 0);
        v1 = d->vcpu[1];
        fx_alloc_unbound(&fx, d->vcpu[0], DOMID_SELF, 0);
        assert_int_equal(fx_evtchn_op(&fx, d->vcpu[0], EVTCHNOP_bind_vcpu, &bv, sizeof(bv)), 0);
        v1->run_state = VCPU_RUNNABLE;
        fx_set_mask(d, 1, r->masked);
        fx_set_pending(d, 1, r->pending);
        fx_set_sel(v1, r->sel);
        fx_set_upcall_pending(v1, r->upcall);
        assert_int_equal(fx_evtchn_op(&fx, d->vcpu[0], EVTCHNOP_unmask, &u, sizeof(u)), 0);
        assert_false(fx_masked(d, 1));
        assert_int_equal(fx_sel(v1), r->e_sel);
        assert_int_equal(fx_upcall_pending(v1), r->e_upcall);
        assert_int_equal(fx_rec(&fx, v1)->kicks, r->e_kicks);
        assert_int_equal(fx_upcall_pending(d->vcpu[0]), 0);
        fx_destroy(&fx);
    }
}

/* A raise while masked is remembered by the pending bit alone; unmask raises it. */
static void test_masked_edge_reraised(void **state)
{
    struct fake_xen fx;
    struct domain *d;
    struct vcpu *v;
    struct evtchn_unmask u = {.port = 1};

    (void)state;
    fx_init(&fx);
    d = fx_domain(&fx, 1, false, 1, 0, 0);
    v = d->vcpu[0];
    fx_bind_ipi(&fx, v, 0);
    fx_set_mask(d, 1, true);
    assert_int_equal(send_port(&fx, v, 1), 0);
    assert_true(fx_pending(d, 1));
    assert_int_equal(fx_upcall_pending(v), 0);
    assert_int_equal(fx_evtchn_op(&fx, v, EVTCHNOP_unmask, &u, sizeof(u)), 0);
    assert_int_equal(fx_sel(v), 1);
    assert_int_equal(fx_upcall_pending(v), 1);
    assert_int_equal(fx_rec(&fx, v)->kicks, 1);
    fx_destroy(&fx);
}

/* delivered counts raises the guest consumed: checked at the next raise and on demand. */
static void test_delivered_accounting(void **state)
{
    struct fake_xen fx;
    struct domain *d;
    struct vcpu *v;
    struct port_stats *ps;

    (void)state;
    fx_init(&fx);
    d = fx_domain(&fx, 1, false, 1, 0, 0);
    v = d->vcpu[0];
    fx_bind_ipi(&fx, v, 0);
    ps = port_stats(d, 1);
    send_port(&fx, v, 1);
    send_port(&fx, v, 1); /* coalesced: still one outstanding */
    evtchn_account_deliveries(d);
    assert_int_equal(ps->delivered, 0);
    fx_set_pending(d, 1, false); /* the guest handles it */
    send_port(&fx, v, 1);        /* seen consumed before this raise */
    assert_int_equal(ps->delivered, 1);
    fx_set_pending(d, 1, false);
    evtchn_account_deliveries(d);
    evtchn_account_deliveries(d);
    assert_int_equal(ps->delivered, 2);
    assert_int_equal(ps->raised, 3);
    assert_int_equal(ps->coalesced, 1);
    /* a close clears pending without a delivery */
    send_port(&fx, v, 1);
    {
        struct evtchn_close c = {.port = 1};

        fx_evtchn_op(&fx, v, EVTCHNOP_close, &c, sizeof(c));
    }
    evtchn_account_deliveries(d);
    assert_int_equal(ps->delivered, 2);
    fx_destroy(&fx);
}

/* A blocked vcpu is woken (not kicked) by a new upcall; a down vcpu is left alone. */
static void test_upcall_wakes_blocked_vcpu(void **state)
{
    struct fake_xen fx;
    struct domain *d;
    struct vcpu *v1;

    (void)state;
    fx_init(&fx);
    d = fx_domain(&fx, 1, false, 2, 0, 0);
    v1 = d->vcpu[1];
    fx_bind_ipi(&fx, d->vcpu[0], 1);
    assert_int_equal(send_port(&fx, d->vcpu[0], 1), 0); /* v1 is down */
    assert_int_equal(fx_rec(&fx, v1)->kicks + fx_rec(&fx, v1)->wakes, 0);
    fx_set_pending(d, 1, false);
    fx_set_upcall_pending(v1, 0);
    fx_set_sel(v1, 0);
    v1->run_state = VCPU_BLOCKED;
    assert_int_equal(send_port(&fx, d->vcpu[0], 1), 0);
    assert_int_equal(v1->run_state, VCPU_RUNNABLE);
    assert_int_equal(fx_rec(&fx, v1)->wakes, 1);
    assert_int_equal(fx_rec(&fx, v1)->kicks, 0);
    assert_int_equal(v1->stats.wakes, 1);
    fx_destroy(&fx);
}

/* The sender pays trap, dispatch and the handler, then set_pending priced from what Xen does
 * to shared_info: a fresh, unmasked event is test_and_set on the pending word, a read of the
 * mask, test_and_set on the selector and on upcall_pending (three locked, one read); a second
 * send finds the port pending and stops after the first locked access; a masked port reads
 * its mask and stops there. */
struct send_cost_case {
    const char *what;
    bool masked;
    unsigned sends;
    unsigned reads, writes, locked; /* Xen's accesses in the last send */
};

static const struct send_cost_case send_cost_cases[] = {
    {"fresh", false, 1, 1, 0, 3},
    {"coalesced", false, 2, 0, 0, 1},
    {"masked", true, 1, 1, 0, 1},
};

static void test_send_cycles(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(send_cost_cases) / sizeof(send_cost_cases[0]); i++) {
        const struct send_cost_case *t = &send_cost_cases[i];
        struct fake_xen fx;
        fx_init(&fx);
        const struct cost_profile *c = &fx.profile;
        struct domain *d = fx_domain(&fx, 1, false, 1, 0, 0);
        struct vcpu *v = d->vcpu[0];
        fx_bind_ipi(&fx, v, 0);
        if (t->masked)
            shared_info_ptr(d)->evtchn_mask[0] |= 1u << 1;
        for (unsigned s = 0; s < t->sends; s++) {
            memset(fx.touches, 0, sizeof(fx.touches));
            send_port(&fx, v, 1);
        }
        if (fx.touches[GUEST_READ] != t->reads || fx.touches[GUEST_WRITE] != t->writes ||
            fx.touches[GUEST_LOCKED] != t->locked)
            fail_msg("%s: %u reads, %u writes, %u locked", t->what, fx.touches[GUEST_READ],
                     fx.touches[GUEST_WRITE], fx.touches[GUEST_LOCKED]);
        assert_int_equal(v->hcall_cycles, cost_cycles(c, COST_PV_TRAP) +
                                              cost_cycles(c, COST_HYPERCALL_DISPATCH) +
                                              cost_cycles(c, COST_EVTCHN_OP) +
                                              cost_cycles(c, COST_PORT_OP) + fx_touch_cycles(&fx));
        assert_null(fx.hv.current);
        fx_destroy(&fx);
    }
}

/* hypercall_event_channel_send, the simulator's send fast path, against hypercall_dispatch of
 * the same send on a twin: the result, every charge and counter, the shared page. Sends to a
 * bound port (clean, then coalesced), an unbound port and a port beyond the table. */
struct fast_send_row {
    const char *what;
    uint32_t port;
    long rc;
};

static const struct fast_send_row fast_send_rows[] = {
    {"bound", 1, 0},
    {"unbound", 2, 0},
    {"beyond_the_table", 4000, -XEN_EINVAL},
};

static long send_one(struct fake_xen *fx, struct vcpu *v, const struct fast_send_row *t, bool fast)
{
    struct evtchn_send s = {.port = t->port};

    if (fast)
        return hypercall_event_channel_send(v, &s);
    memcpy(fx_gpa(fx, v->domain, FX_ARG_GPA), &s, sizeof(s));
    return fx_hypercall(v, __HYPERVISOR_event_channel_op, EVTCHNOP_send, FX_ARG_GPA, 0);
}

static void fast_send_twin(struct fake_xen *fx, const struct fast_send_row *t, bool fast,
                           long rc[2])
{
    fx_init(fx);
    struct domain *d = fx_domain(fx, 1, false, 1, 0, 0);
    struct vcpu *v = d->vcpu[0];
    fx_bind_ipi(fx, v, 0);
    fx_alloc_unbound(fx, v, DOMID_SELF, 0);
    for (unsigned i = 0; i < 2; i++)
        rc[i] = send_one(fx, v, t, fast);
}

static void test_send_fast_path_matches_dispatch(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(fast_send_rows) / sizeof(fast_send_rows[0]); i++) {
        const struct fast_send_row *t = &fast_send_rows[i];
        struct fake_xen slow, fast;
        long rc_slow[2], rc_fast[2];
        fast_send_twin(&slow, t, false, rc_slow);
        fast_send_twin(&fast, t, true, rc_fast);
        struct domain *ds = slow.hv.domain[1], *df = fast.hv.domain[1];
        for (unsigned k = 0; k < 2; k++)
            if (rc_slow[k] != t->rc || rc_fast[k] != t->rc)
                fail_msg("%s: send %u returned %ld (dispatch) and %ld (fast path), not %ld",
                         t->what, k, rc_slow[k], rc_fast[k], t->rc);
        assert_int_equal(df->vcpu[0]->hcall_cycles, ds->vcpu[0]->hcall_cycles);
        assert_memory_equal(&df->vcpu[0]->stats, &ds->vcpu[0]->stats, sizeof(ds->vcpu[0]->stats));
        assert_memory_equal(df->stats.hc, ds->stats.hc, sizeof(ds->stats.hc));
        assert_memory_equal(df->stats.port, ds->stats.port,
                            ds->stats.nr_port_stats * sizeof(ds->stats.port[0]));
        assert_memory_equal(shared_info_ptr(df), shared_info_ptr(ds), XEN_PAGE_SIZE);
        assert_null(fast.hv.current);
        fx_destroy(&slow);
        fx_destroy(&fast);
    }
}

/* ---- the guest's layout, at the byte offsets of Xen's public headers ---- */

/* Offsets in shared_info (vcpu 0's legacy vcpu_info at 0): the native layout, and the compat
 * one a 32-bit guest sees (xen/include/compat: 32 words of 32 bits per bitmap, the selector a
 * 32-bit word at offset 4 of vcpu_info). Written out as numbers on purpose: they are the ABI. */
#define NATIVE_PENDING 2048u
#define NATIVE_MASK 2560u
#define NATIVE_SEL 8u
#define COMPAT_PENDING 2048u
#define COMPAT_MASK 2176u
#define COMPAT_SEL 4u

static unsigned char *shinfo_bytes(struct domain *d)
{
    return (unsigned char *)shared_info_ptr(d);
}

static uint64_t word_at(struct domain *d, size_t off, unsigned bytes)
{
    uint64_t w = 0;

    memcpy(&w, shinfo_bytes(d) + off, bytes); /* little-endian, as the guest reads it */
    return w;
}

static void set_word_bit(struct domain *d, size_t off, unsigned bytes, unsigned bit)
{
    uint64_t w = word_at(d, off, bytes) | UINT64_C(1) << bit;

    memcpy(shinfo_bytes(d) + off, &w, bytes);
}

struct layout_row {
    const char *name;
    unsigned word_bits;
    uint32_t port;           /* IPI port of vcpu 0, raised with EVTCHNOP_send */
    size_t mask_at;          /* 0, or the bitmap whose bit for the port is set before the send */
    bool e_masked;           /* the port counted as masked: no selector bit, no upcall */
    size_t e_pending, e_sel; /* where the guest finds the pending bit and the selector */
};

static const struct layout_row layout_rows[] = {
    {"compat_port_40", 32, 40, 0, false, COMPAT_PENDING, COMPAT_SEL},
    {"compat_port_1023", 32, 1023, 0, false, COMPAT_PENDING, COMPAT_SEL},
    {"compat_mask_at_2176", 32, 40, COMPAT_MASK, true, COMPAT_PENDING, COMPAT_SEL},
    {"compat_native_mask_place_ignored", 32, 40, NATIVE_MASK, false, COMPAT_PENDING, COMPAT_SEL},
    {"native_port_1023", 64, 1023, 0, false, NATIVE_PENDING, NATIVE_SEL},
    {"native_port_4095", 64, 4095, 0, false, NATIVE_PENDING, NATIVE_SEL},
    {"native_mask_at_2560", 64, 40, NATIVE_MASK, true, NATIVE_PENDING, NATIVE_SEL},
};

/* Port k sets bit k % W of the W-bit word k / W of the pending array and, unless masked, bit
 * k / W of the W-bit selector, W being the guest's word; nothing lands in the other layout's
 * selector (for a 32-bit guest: arch.cr2 and the padding after the compat selector). */
static void test_guest_layout(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(layout_rows) / sizeof(layout_rows[0]); i++) {
        const struct layout_row *r = &layout_rows[i];
        unsigned w = r->word_bits, bytes = w / 8;
        size_t other_sel = r->e_sel == COMPAT_SEL ? NATIVE_SEL : COMPAT_SEL;
        struct fake_xen fx;
        struct domain *d;
        struct vcpu *v;

        print_message("layout %s\n", r->name);
        fx_init(&fx);
        d = fx_domain(&fx, 1, false, 1, w, 4095);
        v = d->vcpu[0];
        bind_ipis_up_to(&fx, d, r->port);
        if (r->mask_at)
            set_word_bit(d, r->mask_at + bytes * (r->port / w), bytes, r->port % w);
        assert_int_equal(evtchn_is_masked(d, evtchn_from_port(d, r->port)), r->e_masked);
        assert_int_equal(send_port(&fx, v, r->port), 0);
        assert_int_equal(word_at(d, r->e_pending + bytes * (r->port / w), bytes),
                         UINT64_C(1) << (r->port % w));
        assert_int_equal(word_at(d, r->e_sel, bytes),
                         r->e_masked ? 0 : UINT64_C(1) << (r->port / w));
        if (w == 32)
            assert_int_equal(word_at(d, NATIVE_SEL, 8), 0);
        else
            assert_int_equal(word_at(d, other_sel, 4), 0);
        assert_int_equal(word_at(d, 0, 1), r->e_masked ? 0 : 1); /* upcall_pending */
        assert_true(evtchn_is_pending(d, evtchn_from_port(d, r->port)));
        fx_destroy(&fx);
    }
}

/* A 32-bit guest's unmask clears the bit at 2176 and raises the selector at offset 4. */
static void test_compat_unmask(void **state)
{
    struct fake_xen fx;
    struct domain *d;
    struct vcpu *v;
    struct evtchn_unmask u = {.port = 70};

    (void)state;
    fx_init(&fx);
    d = fx_domain(&fx, 1, false, 1, 32, 0);
    v = d->vcpu[0];
    bind_ipis_up_to(&fx, d, 70);
    set_word_bit(d, COMPAT_MASK + 4 * 2, 4, 6);
    set_word_bit(d, COMPAT_PENDING + 4 * 2, 4, 6);
    assert_int_equal(fx_evtchn_op(&fx, v, EVTCHNOP_unmask, &u, sizeof(u)), 0);
    assert_int_equal(word_at(d, COMPAT_MASK + 4 * 2, 4), 0);
    assert_int_equal(word_at(d, COMPAT_SEL, 4), 1u << 2);
    assert_int_equal(word_at(d, NATIVE_SEL, 8), 0);
    assert_int_equal(word_at(d, 0, 1), 1);
    fx_destroy(&fx);
}

/* A per-domain VIRQ (VIRQ_ARGO) is raised for its domain on the port's notify vcpu; it is not a
 * global VIRQ, so the global path never sends it, whichever domain handles global VIRQs. */
static void test_per_domain_virq_source(void **state)
{
    struct fake_xen fx;
    struct domain *d0, *d1;
    struct evtchn_bind_vcpu bv = {.port = 1, .vcpu = 1};

    (void)state;
    fx_init(&fx);
    d0 = fx_domain(&fx, 0, true, 1, 0, 0);
    d1 = fx_domain(&fx, 1, false, 2, 0, 0);
    assert_int_equal(fx_bind_virq(&fx, d0->vcpu[0], VIRQ_ARGO, 0), 1);
    assert_int_equal(fx_bind_virq(&fx, d1->vcpu[0], VIRQ_ARGO, 0), 1);
    assert_int_equal(fx_evtchn_op(&fx, d1->vcpu[0], EVTCHNOP_bind_vcpu, &bv, sizeof(bv)), 0);
    send_guest_global_virq(&fx.hv, VIRQ_ARGO);
    assert_false(fx_pending(d0, 1));
    assert_false(fx_pending(d1, 1));
    send_guest_domain_virq(d1, VIRQ_ARGO);
    assert_true(fx_pending(d1, 1));
    assert_int_equal(fx_sel(d1->vcpu[1]), 1);
    assert_int_equal(fx_sel(d1->vcpu[0]), 0);
    assert_false(fx_pending(d0, 1));
    send_guest_domain_virq(d0, VIRQ_TIMER); /* a per-vcpu VIRQ: not through this path */
    fx_destroy(&fx);
}

/* VIRQ and PIRQ sources reach their ports' notify vcpus. */
static void test_virq_and_pirq_sources(void **state)
{
    struct fake_xen fx;
    struct domain *d0;
    struct evtchn_bind_pirq bp = {.pirq = 9};
    struct evtchn_bind_vcpu bv = {.port = 2, .vcpu = 1};

    (void)state;
    fx_init(&fx);
    d0 = fx_domain(&fx, 0, true, 2, 0, 0);
    d0->vcpu[1]->run_state = VCPU_RUNNABLE;
    assert_int_equal(fx_bind_virq(&fx, d0->vcpu[0], VIRQ_TIMER, 1), 1);
    assert_int_equal(fx_bind_virq(&fx, d0->vcpu[0], VIRQ_DOM_EXC, 0), 2);
    assert_int_equal(fx_evtchn_op(&fx, d0->vcpu[0], EVTCHNOP_bind_vcpu, &bv, sizeof(bv)), 0);
    assert_int_equal(fx_evtchn_op(&fx, d0->vcpu[0], EVTCHNOP_bind_pirq, &bp, sizeof(bp)), 0);
    send_guest_vcpu_virq(d0->vcpu[0], VIRQ_TIMER); /* not bound on vcpu 0 */
    assert_false(fx_pending(d0, 1));
    send_guest_vcpu_virq(d0->vcpu[1], VIRQ_TIMER);
    assert_true(fx_pending(d0, 1));
    send_guest_global_virq(&fx.hv, VIRQ_DOM_EXC);
    assert_true(fx_pending(d0, 2));
    assert_int_equal(fx_sel(d0->vcpu[1]), 1);
    assert_int_equal(pirq_raise(d0, 9), 0);
    assert_true(fx_pending(d0, bp.port));
    assert_int_equal(pirq_raise(d0, 10), -XEN_ENOENT);
    assert_int_equal(pirq_raise(d0, HV_DEFAULT_NR_PIRQS), -XEN_EINVAL);
    assert_int_equal(virq_type(VIRQ_ARCH_0), VIRQ_GLOBAL);
    assert_int_equal(virq_type(VIRQ_XENOPROF), VIRQ_VCPU);
    assert_int_equal(virq_type(VIRQ_ARGO), VIRQ_DOMAIN);
    fx_destroy(&fx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_raise_table),
        cmocka_unit_test(test_unmask_table),
        cmocka_unit_test(test_masked_edge_reraised),
        cmocka_unit_test(test_delivered_accounting),
        cmocka_unit_test(test_upcall_wakes_blocked_vcpu),
        cmocka_unit_test(test_send_cycles),
        cmocka_unit_test(test_send_fast_path_matches_dispatch),
        cmocka_unit_test(test_virq_and_pirq_sources),
        cmocka_unit_test(test_guest_layout),
        cmocka_unit_test(test_compat_unmask),
        cmocka_unit_test(test_per_domain_virq_source),
    };
    return cmocka_run_group_tests_name("event_2l", tests, NULL, NULL);
}
