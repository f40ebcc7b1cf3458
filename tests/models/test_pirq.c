/* Physical IRQ lines and their EOI protocol (models/pirq.c, models/physdev.c; Xen 4.22's
 * xen/arch/x86/irq.c and physdev.c): a level line is not fired again before the guest's EOI,
 * the 1 ms timer forces the EOI of a guest that never makes it, an edge line needs none, the
 * EOI bitmap is written at bind time, v1's auto-unmask, unbinding makes the EOI owed, and the
 * legacy IRQ_UNMASK_NOTIFY. The command-by-command error cases are rows of
 * test_conformance_pv.c.
 *
 * The world: d0, privileged, one vcpu; line 20 level-triggered, line 5 edge. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>

#include <cmocka.h>

#include "models/pirq.h"
#include "tests/models/fake_xen.h"

#define LEVEL 20u
#define EDGE 5u
#define MAP_GPA 0x50000u /* the guest's EOI bitmap page */
#define NOW 5000000ull   /* Xen system time when the tests act */

struct world {
    struct fake_xen fx; /* first: fx_teardown */
    struct domain *d;
    struct vcpu *v;
};

static int world_setup(void **state)
{
    struct world *w = test_calloc(1, sizeof(*w));

    fx_init(&w->fx);
    w->fx.now_ns = NOW;
    w->d = fx_domain(&w->fx, 0, true, 1, 0, 0);
    w->v = w->d->vcpu[0];
    assert_int_equal(domain_init_shared_info(w->d), 0);
    assert_int_equal(pirq_set_level(w->d, LEVEL, true), 0);
    *state = w;
    return 0;
}

static uint32_t bind(struct world *w, unsigned pirq)
{
    struct evtchn_bind_pirq b = {.pirq = pirq};

    assert_int_equal(fx_evtchn_op(&w->fx, w->v, EVTCHNOP_bind_pirq, &b, sizeof(b)), 0);
    return b.port;
}

static long close_port(struct world *w, uint32_t port)
{
    struct evtchn_close c = {.port = port};

    return fx_evtchn_op(&w->fx, w->v, EVTCHNOP_close, &c, sizeof(c));
}

static long physdev(struct world *w, unsigned cmd, const void *arg, size_t size)
{
    memcpy(fx_gpa(&w->fx, w->d, FX_ARG_GPA), arg, size);
    return fx_hypercall(w->v, __HYPERVISOR_physdev_op, cmd, FX_ARG_GPA, 0);
}

static void eoi(struct world *w, unsigned pirq)
{
    struct physdev_eoi e = {.irq = pirq};

    assert_int_equal(physdev(w, PHYSDEVOP_eoi, &e, sizeof(e)), 0);
}

static void register_map(struct world *w, unsigned cmd)
{
    struct physdev_pirq_eoi_gmfn m = {.gmfn = MAP_GPA / XEN_PAGE_SIZE};

    assert_int_equal(physdev(w, cmd, &m, sizeof(m)), 0);
}

static bool map_bit(struct world *w, unsigned pirq)
{
    const uint64_t *map = fx_gpa(&w->fx, w->d, MAP_GPA);

    return (map[pirq / 64] >> (pirq % 64)) & 1;
}

/* The guest's upcall took the event: the port is no longer pending. */
static void consume(struct world *w, uint32_t port)
{
    fx_set_pending(w->d, port, false);
}

static const struct pirq_line *L(struct world *w, unsigned pirq)
{
    return &w->d->pirq_line[pirq];
}

static uint64_t timer(struct world *w, unsigned pirq)
{
    return w->fx.pirq_timer[0][pirq];
}

/* Raised again and again before the guest's EOI, a level line stays quiet: the raises are held
 * back, and the EOI lets the line fire again at once. An EOI with nothing raised since just
 * unblocks it. */
static void test_level_waits_for_eoi(void **state)
{
    struct world *w = *state;
    uint32_t port = bind(w, LEVEL);

    assert_int_equal(pirq_line_raise(w->d, LEVEL), PIRQ_SENT);
    assert_true(fx_pending(w->d, port));
    assert_true(L(w, LEVEL)->masked);
    assert_int_equal(timer(w, LEVEL), NOW + PIRQ_EOI_TIMEOUT_NS);
    consume(w, port);
    assert_int_equal(pirq_line_raise(w->d, LEVEL), PIRQ_HELD);
    assert_int_equal(pirq_line_raise(w->d, LEVEL), PIRQ_HELD);
    assert_false(fx_pending(w->d, port));
    assert_int_equal(L(w, LEVEL)->held_back, 2);
    assert_int_equal(L(w, LEVEL)->delivered, 1);

    w->fx.now_ns = NOW + 300000;
    eoi(w, LEVEL);
    assert_true(fx_pending(w->d, port)); /* the held-back raises, as one */
    assert_true(L(w, LEVEL)->masked);
    assert_int_equal(timer(w, LEVEL), NOW + 300000 + PIRQ_EOI_TIMEOUT_NS);
    assert_int_equal(L(w, LEVEL)->guest_eois, 1);
    assert_int_equal(L(w, LEVEL)->delivered, 2);

    consume(w, port);
    eoi(w, LEVEL);
    assert_false(fx_pending(w->d, port));
    assert_false(L(w, LEVEL)->masked);
    assert_int_equal(timer(w, LEVEL), 0); /* stopped */
    assert_int_equal(L(w, LEVEL)->guest_eois, 2);
    eoi(w, LEVEL); /* nothing owed: nothing happens */
    assert_int_equal(L(w, LEVEL)->guest_eois, 2);
    assert_int_equal(pirq_line_raise(w->d, LEVEL), PIRQ_SENT);
    assert_int_equal(L(w, LEVEL)->forced_eois, 0);
}

/* A guest that never EOIs: the 1 ms timer forces the EOI (without unmasking the port), the line
 * fires again if it was raised meanwhile; an expiry with no EOI owed does nothing. */
static void test_timer_forces_eoi(void **state)
{
    struct world *w = *state;
    uint32_t port = bind(w, LEVEL);

    register_map(w, PHYSDEVOP_pirq_eoi_gmfn_v1); /* even with auto-unmask */
    assert_int_equal(pirq_line_raise(w->d, LEVEL), PIRQ_SENT);
    consume(w, port);
    fx_set_mask(w->d, port, true);
    assert_int_equal(pirq_line_raise(w->d, LEVEL), PIRQ_HELD);

    pirq_eoi_timer_expired(w->d, LEVEL);
    assert_int_equal(L(w, LEVEL)->forced_eois, 1);
    assert_true(L(w, LEVEL)->masked); /* fired again: the held-back raise */
    assert_true(fx_pending(w->d, port));
    assert_true(fx_masked(w->d, port)); /* the timer does not unmask */
    assert_int_equal(timer(w, LEVEL), NOW + PIRQ_EOI_TIMEOUT_NS);

    pirq_eoi_timer_expired(w->d, LEVEL);
    assert_int_equal(L(w, LEVEL)->forced_eois, 2);
    assert_false(L(w, LEVEL)->masked);
    assert_int_equal(timer(w, LEVEL), 0);
    pirq_eoi_timer_expired(w->d, LEVEL); /* nothing in flight */
    assert_int_equal(L(w, LEVEL)->forced_eois, 2);
    eoi(w, LEVEL); /* late: nothing owed */
    assert_int_equal(L(w, LEVEL)->guest_eois, 0);
    assert_int_equal(L(w, LEVEL)->delivered, 2);
}

/* Edge lines (ack type NONE) fire on every raise, with no EOI and no timer. */
static void test_edge_needs_no_eoi(void **state)
{
    struct world *w = *state;
    uint32_t port = bind(w, EDGE);

    assert_int_equal(pirq_line_raise(w->d, EDGE), PIRQ_SENT);
    assert_int_equal(pirq_line_raise(w->d, EDGE), PIRQ_SENT); /* coalesces in the port */
    assert_true(fx_pending(w->d, port));
    assert_false(L(w, EDGE)->masked);
    assert_int_equal(w->fx.pirq_timer_calls, 0);
    assert_int_equal(L(w, EDGE)->delivered, 2);
    assert_int_equal(w->d->stats.port[port].raised, 2);
}

/* Unbound: an edge raise is lost; a level line stays asserted and fires when bound. Out of
 * range: refused. */
static void test_unbound_lines(void **state)
{
    struct world *w = *state;
    uint32_t port;

    assert_int_equal(pirq_line_raise(w->d, EDGE), PIRQ_UNBOUND);
    assert_int_equal(pirq_line_raise(w->d, LEVEL), PIRQ_UNBOUND);
    assert_int_equal(pirq_line_raise(w->d, HV_DEFAULT_NR_PIRQS), PIRQ_BAD);
    assert_int_equal(pirq_set_level(w->d, HV_DEFAULT_NR_PIRQS, true), -XEN_EINVAL);
    port = bind(w, EDGE);
    assert_false(fx_pending(w->d, port));
    port = bind(w, LEVEL);
    assert_true(fx_pending(w->d, port));
    assert_true(L(w, LEVEL)->masked);
}

/* Closing the port makes the EOI owed (pirq_guest_unbind); the line is not fired again while
 * unbound, and a raise meanwhile fires at the next bind. */
static void test_unbind_makes_eoi(void **state)
{
    struct world *w = *state;
    uint32_t port = bind(w, LEVEL);

    assert_int_equal(pirq_line_raise(w->d, LEVEL), PIRQ_SENT);
    assert_int_equal(pirq_line_raise(w->d, LEVEL), PIRQ_HELD);
    assert_int_equal(close_port(w, port), 0);
    assert_false(L(w, LEVEL)->masked);
    assert_int_equal(L(w, LEVEL)->bound_to, 0);
    assert_int_equal(timer(w, LEVEL), 0);
    assert_int_equal(L(w, LEVEL)->delivered, 1);
    port = bind(w, LEVEL);
    assert_true(fx_pending(w->d, port)); /* the raise held back before the close */
    assert_int_equal(L(w, LEVEL)->delivered, 2);
}

/* The bitmap bit is written when a line is bound, once the map is registered: set for a level
 * line, cleared for an edge one; lines bound before the registration get nothing. */
static void test_eoi_bitmap_at_bind(void **state)
{
    struct world *w = *state;
    uint64_t *map = fx_gpa(&w->fx, w->d, MAP_GPA);

    assert_int_equal(pirq_set_level(w->d, 30, true), 0);
    bind(w, 30); /* before the registration */
    map[0] = 1ull << EDGE;
    register_map(w, PHYSDEVOP_pirq_eoi_gmfn_v2);
    assert_false(map_bit(w, 30));
    bind(w, LEVEL);
    bind(w, EDGE);
    assert_true(map_bit(w, LEVEL));
    assert_false(map_bit(w, EDGE));
    assert_int_equal(map[0], 1ull << LEVEL);
    assert_false(w->d->auto_unmask);
    assert_int_equal(w->d->pirq_eoi_map_gfn, MAP_GPA / XEN_PAGE_SIZE);
}

/* v1: PHYSDEVOP_eoi unmasks the line's port first (re-raising it if pending); v2 does not. */
static void test_v1_auto_unmask(void **state)
{
    static const unsigned cmds[] = {PHYSDEVOP_pirq_eoi_gmfn_v1, PHYSDEVOP_pirq_eoi_gmfn_v2};

    (void)state;
    for (unsigned k = 0; k < 2; k++) {
        void *ws;
        struct world *w;
        uint32_t port;

        world_setup(&ws);
        w = ws;
        register_map(w, cmds[k]);
        port = bind(w, LEVEL);
        fx_set_mask(w->d, port, true);
        fx_set_upcall_mask(w->v, 0);
        assert_int_equal(pirq_line_raise(w->d, LEVEL), PIRQ_SENT);
        assert_true(fx_pending(w->d, port));
        assert_int_equal(fx_upcall_pending(w->v), 0); /* masked port: no upcall */
        eoi(w, LEVEL);
        assert_false(L(w, LEVEL)->masked);
        assert_int_equal(fx_masked(w->d, port), k == 1);
        assert_int_equal(fx_upcall_pending(w->v), k == 0);
        assert_int_equal(w->d->auto_unmask, k == 0);
        fx_teardown(&ws);
    }
}

/* PHYSDEVOP_IRQ_UNMASK_NOTIFY: EOI for every line owed one whose port is not masked. */
static void test_irq_unmask_notify(void **state)
{
    struct world *w = *state;
    uint32_t p20 = bind(w, LEVEL), p21;

    assert_int_equal(pirq_set_level(w->d, 21, true), 0);
    p21 = bind(w, 21);
    assert_int_equal(pirq_line_raise(w->d, LEVEL), PIRQ_SENT);
    assert_int_equal(pirq_line_raise(w->d, 21), PIRQ_SENT);
    fx_set_mask(w->d, p21, true);
    assert_int_equal(physdev(w, PHYSDEVOP_IRQ_UNMASK_NOTIFY, "", 1), 0);
    assert_false(L(w, LEVEL)->masked);
    assert_true(L(w, 21)->masked);
    assert_int_equal(L(w, LEVEL)->guest_eois, 1);
    assert_int_equal(L(w, 21)->guest_eois, 0);
    (void)p20;
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, world_setup, fx_teardown)
    const struct CMUnitTest tests[] = {
        T(test_level_waits_for_eoi),
        T(test_timer_forces_eoi),
        T(test_edge_needs_no_eoi),
        T(test_unbound_lines),
        T(test_unbind_makes_eoi),
        T(test_eoi_bitmap_at_bind),
        cmocka_unit_test(test_v1_auto_unmask),
        T(test_irq_unmask_notify),
    };
    return cmocka_run_group_tests_name("pirq", tests, NULL, NULL);
}
