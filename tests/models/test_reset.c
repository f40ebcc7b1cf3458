/* EVTCHNOP_reset as Xen 4.22's evtchn_reset: ports closed with the guest's rights (Xen-attached
 * ports stay), the loop ends once no guest port remains, and a step ends after a port that is
 * a multiple of 64 only when hypercall_preempt_check() holds for the caller (an event upcall
 * pending and not masked); the guest then re-issues EVTCHNOP_reset_cont (XSA-344). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>

#include <cmocka.h>

#include "tests/models/fake_xen.h"

static unsigned bound_ports(struct domain *d)
{
    unsigned n = 0;

    for (uint32_t p = 1; p < d->valid_evtchns; p++)
        n += evtchn_from_port(d, p)->state != ECS_FREE;
    return n;
}

/* The caller has an event to take (or not): upcall_pending and upcall_mask. */
static void set_caller_event(struct vcpu *v, uint8_t pending, uint8_t mask)
{
    fx_set_upcall_pending(v, pending);
    fx_set_upcall_mask(v, mask);
}

/* Events keep arriving for the caller while Xen works: every access Xen makes to guest memory
 * marks an upcall pending on the vcpu in touch_opaque. */
static void event_arrives(struct fake_xen *fx, volatile void *addr, size_t len, enum guest_access k)
{
    (void)addr;
    (void)len;
    (void)k;
    fx_set_upcall_pending(fx->touch_opaque, 1);
}

/* Issue the reset as the guest's stub would, re-executing while the model asks for a
 * continuation; between the steps the guest takes its pending event (the simulator delivers
 * the upcall before the re-issued call, and the handler clears upcall_pending). Returns the
 * final rax; *steps counts the executions. */
static long reset_until_done(struct fake_xen *fx, struct vcpu *v, domid_t dom, unsigned *steps)
{
    struct evtchn_reset r = {.dom = dom};
    struct hv_regs regs = {
        .rax = __HYPERVISOR_event_channel_op, .rdi = EVTCHNOP_reset, .rsi = FX_ARG_GPA};
    struct domain *d = domain_lookup(&fx->hv, v->domain, dom);

    memcpy(fx_gpa(fx, v->domain, FX_ARG_GPA), &r, sizeof(r));
    for (*steps = 1;; (*steps)++) {
        unsigned before = bound_ports(d);

        hypercall_dispatch(v, &regs);
        if (!v->hcall_continuation)
            return (long)regs.rax;
        /* In these tests the caller's event is there from a step's first port on, so a
         * preempted step stopped at the first multiple of 64 it reached. */
        assert_true(before - bound_ports(d) <= 64);
        assert_int_equal(regs.rax, __HYPERVISOR_event_channel_op);
        assert_int_equal(regs.rdi, EVTCHNOP_reset_cont);
        assert_int_equal(regs.rsi, FX_ARG_GPA);
        /* the step stopped after a multiple of 64, which the next one starts at */
        assert_int_equal(d->reset_next_port % 64, 0);
        assert_true(d->reset_next_port != 0);
        assert_true(vcpu_local_events_need_delivery(v));
        fx_set_upcall_pending(v, 0);
    }
}

static void expect_reset_done(struct domain *d)
{
    assert_int_equal(bound_ports(d), 0);
    assert_int_equal(d->active_evtchns, 0);
    assert_int_equal(evtchn_from_port(d, 0)->state, ECS_RESERVED);
    assert_int_equal(d->reset_next_port, 0);
}

/* Preemption follows the caller's events: a full table of 4095 ports is reset in one call
 * unless the caller has an upcall pending and unmasked after a port that is a multiple of 64.
 * An event pending at the start preempts once; events arriving all along preempt every 64
 * ports. */
struct preempt_row {
    const char *name;
    uint8_t upcall_pending, upcall_mask;
    bool events_keep_arriving;
    unsigned e_steps;
};

static const struct preempt_row preempt_rows[] = {
    {"no_event", 0, 0, false, 1},
    {"event_pending", 1, 0, false, 2},
    {"event_pending_masked", 1, 1, false, 1},
    {"masked_no_event", 0, 1, false, 1},
    {"events_keep_arriving", 0, 0, true, 4096 / 64},
    {"events_keep_arriving_masked", 0, 1, true, 1},
};

static void test_reset_preempts_only_for_caller_events(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(preempt_rows) / sizeof(preempt_rows[0]); i++) {
        const struct preempt_row *r = &preempt_rows[i];
        struct fake_xen fx;
        struct domain *d;
        unsigned steps;

        print_message("preempt %s\n", r->name);
        fx_init(&fx);
        d = fx_domain(&fx, 1, false, 1, 0, 4095);
        assert_int_equal(fx_fill_table(&fx, d->vcpu[0]), 4095);
        set_caller_event(d->vcpu[0], r->upcall_pending, r->upcall_mask);
        fx.touch_hook = r->events_keep_arriving ? event_arrives : NULL;
        fx.touch_opaque = d->vcpu[0];
        assert_int_equal(reset_until_done(&fx, d->vcpu[0], DOMID_SELF, &steps), 0);
        fx.touch_hook = NULL;
        assert_int_equal(steps, r->e_steps);
        expect_reset_done(d);
        /* the table is usable again from port 1 */
        assert_int_equal(fx_bind_ipi(&fx, d->vcpu[0], 0), 1);
        fx_destroy(&fx);
    }
}

/* Xen records the port it stopped after (next_evtchn = i), so the continuation starts by
 * closing it again (a no-op) and checks for preemption there first: re-issued while the caller
 * still has its event, it stops again at the same port having closed nothing. Progress needs
 * the guest to take its events, as it does before re-issuing the call. */
static void test_reset_cont_starts_at_the_recorded_port(void **state)
{
    struct fake_xen fx;
    struct domain *d;
    struct hv_regs regs = {
        .rax = __HYPERVISOR_event_channel_op, .rdi = EVTCHNOP_reset, .rsi = FX_ARG_GPA};
    struct evtchn_reset r = {.dom = DOMID_SELF};

    (void)state;
    fx_init(&fx);
    d = fx_domain(&fx, 1, false, 1, 0, 1023);
    fx_fill_table(&fx, d->vcpu[0]);
    set_caller_event(d->vcpu[0], 1, 0);
    memcpy(fx_gpa(&fx, d, FX_ARG_GPA), &r, sizeof(r));
    hypercall_dispatch(d->vcpu[0], &regs);
    assert_true(d->vcpu[0]->hcall_continuation);
    assert_int_equal(d->reset_next_port, 64);
    assert_int_equal(bound_ports(d), 1023 - 64); /* ports 1-64 */
    hypercall_dispatch(d->vcpu[0], &regs);       /* EVTCHNOP_reset_cont, the event still pending */
    assert_true(d->vcpu[0]->hcall_continuation);
    assert_int_equal(d->reset_next_port, 64);
    assert_int_equal(bound_ports(d), 1023 - 64);
    fx_set_upcall_pending(d->vcpu[0], 0); /* the guest takes it */
    hypercall_dispatch(d->vcpu[0], &regs);
    assert_false(d->vcpu[0]->hcall_continuation);
    assert_int_equal((long)regs.rax, 0);
    expect_reset_done(d);
    fx_destroy(&fx);
}

/* 1024 valid ports, only 1-5 bound: the loop stops after port 5, so even a caller with an
 * event pending is never preempted. */
static void test_reset_stops_when_no_guest_port_remains(void **state)
{
    struct fake_xen fx;
    struct domain *d;
    unsigned steps;

    (void)state;
    fx_init(&fx);
    d = fx_domain(&fx, 1, false, 1, 0, 1023);
    assert_int_equal(fx_fill_table(&fx, d->vcpu[0]), 1023);
    for (uint32_t p = 6; p < 1024; p++)
        assert_int_equal(evtchn_close(d, p, true), 0);
    assert_int_equal(d->valid_evtchns, 1024);
    assert_int_equal(d->active_evtchns, 5);
    set_caller_event(d->vcpu[0], 1, 0);
    assert_int_equal(reset_until_done(&fx, d->vcpu[0], DOMID_SELF, &steps), 0);
    assert_int_equal(steps, 1);
    expect_reset_done(d);
    fx_destroy(&fx);
}

/* Ports attached to a consumer inside Xen survive (closed with the guest's rights they refuse)
 * and do not keep the reset from completing: it returns 0 and the domain goes back to 2-level,
 * the Xen port still unbound for its remote domain. */
static void test_reset_keeps_xen_ports(void **state)
{
    struct fake_xen fx;
    struct domain *d;
    unsigned steps;
    int xport;

    (void)state;
    fx_init(&fx);
    fx_domain(&fx, 0, true, 1, 0, 0);
    d = fx_domain(&fx, 1, false, 1, 0, 1023);
    fx_fifo_init(&fx, d, 1);
    xport = evtchn_alloc_unbound_xen(d, 0, 0);
    assert_int_equal(xport, 1);
    for (unsigned i = 0; i < 200; i++)
        fx_bind_ipi(&fx, d->vcpu[0], 0);
    assert_int_equal(d->active_evtchns, 201);
    assert_int_equal(d->xen_evtchns, 1);
    set_caller_event(d->vcpu[0], 1, 0);
    assert_int_equal(reset_until_done(&fx, d->vcpu[0], DOMID_SELF, &steps), 0);
    assert_int_equal(steps, 2); /* preempted once after port 64; the guest takes its event */
    assert_int_equal(evtchn_from_port(d, 1)->state, ECS_UNBOUND);
    assert_true(evtchn_from_port(d, 1)->xen_consumer);
    assert_int_equal(evtchn_from_port(d, 1)->u.unbound.remote_domid, 0);
    assert_int_equal(d->active_evtchns, 1);
    assert_int_equal(d->xen_evtchns, 1);
    assert_int_equal(bound_ports(d), 1);
    assert_ptr_equal(d->evtchn_port_ops, &evtchn_port_ops_2l);
    assert_int_equal(d->reset_next_port, 0);
    /* a domain with only Xen ports resets at once */
    assert_int_equal(reset_until_done(&fx, d->vcpu[0], DOMID_SELF, &steps), 0);
    assert_int_equal(steps, 1);
    /* Xen itself frees its port (free_xen_event_channel): both counts drop */
    assert_int_equal(evtchn_close(d, 1, false), 0);
    assert_int_equal(d->active_evtchns, 0);
    assert_int_equal(d->xen_evtchns, 0);
    fx_destroy(&fx);
}

/* While a reset is between steps, a new reset is refused; ports opened meanwhile below the
 * reset's position keep it from succeeding (-EAGAIN), as Xen's reset refuses to complete with
 * guest ports still open; the domain then stays on its ABI. */
static void test_reset_interleaved(void **state)
{
    struct fake_xen fx;
    struct domain *d;
    struct hv_regs regs = {
        .rax = __HYPERVISOR_event_channel_op, .rdi = EVTCHNOP_reset, .rsi = FX_ARG_GPA};
    struct evtchn_reset r = {.dom = DOMID_SELF};
    struct evtchn_reset again = {.dom = DOMID_SELF};

    (void)state;
    fx_init(&fx);
    d = fx_domain(&fx, 1, false, 2, 0, 1023);
    fx_fill_table(&fx, d->vcpu[0]);
    set_caller_event(d->vcpu[0], 1, 0);
    fx_3l_init(&fx, d);
    memcpy(fx_gpa(&fx, d, FX_ARG_GPA), &r, sizeof(r));
    hypercall_dispatch(d->vcpu[0], &regs);
    assert_true(d->vcpu[0]->hcall_continuation);
    assert_int_equal(d->reset_next_port, 64);
    assert_int_equal(fx_evtchn_op(&fx, d->vcpu[1], EVTCHNOP_reset, &again, sizeof(again)),
                     -XEN_EBUSY);
    assert_int_equal(d->reset_next_port, 64);
    assert_int_equal(fx_bind_ipi(&fx, d->vcpu[1], 1), 1); /* reopened behind the reset */
    memcpy(fx_gpa(&fx, d, FX_ARG_GPA), &r, sizeof(r));
    fx_set_upcall_pending(d->vcpu[0], 0); /* vcpu 0 takes its event, then re-issues */
    while (d->vcpu[0]->hcall_continuation)
        hypercall_dispatch(d->vcpu[0], &regs);
    assert_int_equal((long)regs.rax, -XEN_EAGAIN);
    assert_int_equal(bound_ports(d), 1);
    assert_int_equal(d->reset_next_port, 0);
    assert_ptr_equal(d->evtchn_port_ops, &evtchn_port_ops_3l); /* only success goes to 2l */
    fx_destroy(&fx);
}

/* A privileged domain resets a paused guest: the caller's events decide preemption, not the
 * target's. */
struct foreign_row {
    const char *name;
    uint8_t caller_event, target_event;
    unsigned e_steps;
};

static const struct foreign_row foreign_rows[] = {
    {"caller_event", 1, 0, 2},
    {"target_event_only", 0, 1, 1},
};

static void test_foreign_reset(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(foreign_rows) / sizeof(foreign_rows[0]); i++) {
        const struct foreign_row *r = &foreign_rows[i];
        struct fake_xen fx;
        struct domain *d0, *d1;
        unsigned steps;

        print_message("foreign %s\n", r->name);
        fx_init(&fx);
        d0 = fx_domain(&fx, 0, true, 1, 0, 0);
        d1 = fx_domain(&fx, 1, false, 1, 0, 0);
        fx_fill_table(&fx, d1->vcpu[0]);
        d1->paused = true;
        set_caller_event(d0->vcpu[0], r->caller_event, 0);
        set_caller_event(d1->vcpu[0], r->target_event, 0);
        assert_int_equal(reset_until_done(&fx, d0->vcpu[0], 1, &steps), 0);
        assert_int_equal(steps, r->e_steps);
        expect_reset_done(d1);
        fx_destroy(&fx);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reset_preempts_only_for_caller_events),
        cmocka_unit_test(test_reset_cont_starts_at_the_recorded_port),
        cmocka_unit_test(test_reset_stops_when_no_guest_port_remains),
        cmocka_unit_test(test_reset_keeps_xen_ports),
        cmocka_unit_test(test_reset_interleaved),
        cmocka_unit_test(test_foreign_reset),
    };
    return cmocka_run_group_tests_name("reset", tests, NULL, NULL);
}
