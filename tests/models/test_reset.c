/* EVTCHNOP_reset of a large table is preempted every 64 ports and completes through
 * EVTCHNOP_reset_cont re-issued by the guest (XSA-344). */
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

/* Issue the reset as the guest's stub would, re-executing while the model asks for a
 * continuation. Returns the final rax; *steps counts the executions. */
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
        assert_true(before - bound_ports(d) <= 64); /* bounded work per step */
        if (!v->hcall_continuation)
            return (long)regs.rax;
        assert_int_equal(regs.rax, __HYPERVISOR_event_channel_op);
        assert_int_equal(regs.rdi, EVTCHNOP_reset_cont);
        assert_int_equal(regs.rsi, FX_ARG_GPA);
        assert_true(d->reset_in_progress);
    }
}

static void test_reset_preempts_every_64_ports(void **state)
{
    struct fake_xen fx;
    struct domain *d;
    unsigned steps;

    (void)state;
    fx_init(&fx);
    d = fx_domain(&fx, 1, false, 1, 0, 4095);
    assert_int_equal(fx_fill_table(&fx, d->vcpu[0]), 4095);
    assert_int_equal(reset_until_done(&fx, d->vcpu[0], DOMID_SELF, &steps), 0);
    assert_int_equal(steps, 4096 / 64);
    assert_int_equal(bound_ports(d), 0);
    assert_int_equal(d->active_evtchns, 0);
    assert_int_equal(evtchn_from_port(d, 0)->state, ECS_RESERVED);
    assert_false(d->reset_in_progress);
    assert_int_equal(d->reset_next_port, 0);
    /* the table is usable again from port 1 */
    assert_int_equal(fx_bind_ipi(&fx, d->vcpu[0], 0), 1);
    fx_destroy(&fx);
}

/* While a reset is between steps, a new reset is refused; ports opened meanwhile below the
 * reset's position keep it from succeeding (-EAGAIN), as Xen's reset refuses to complete with
 * ports still open. */
static void test_reset_interleaved(void **state)
{
    struct fake_xen fx;
    struct domain *d;
    struct hv_regs regs = {
        .rax = __HYPERVISOR_event_channel_op, .rdi = EVTCHNOP_reset, .rsi = FX_ARG_GPA};
    struct evtchn_reset r = {.dom = DOMID_SELF};
    unsigned steps;

    (void)state;
    fx_init(&fx);
    d = fx_domain(&fx, 1, false, 2, 0, 1023);
    fx_fill_table(&fx, d->vcpu[0]);
    memcpy(fx_gpa(&fx, d, FX_ARG_GPA), &r, sizeof(r));
    hypercall_dispatch(d->vcpu[0], &regs);
    assert_true(d->vcpu[0]->hcall_continuation);
    assert_int_equal(d->reset_next_port, 64);
    {
        struct evtchn_reset again = {.dom = DOMID_SELF};

        assert_int_equal(fx_evtchn_op(&fx, d->vcpu[1], EVTCHNOP_reset, &again, sizeof(again)),
                         -XEN_EBUSY);
    }
    assert_int_equal(fx_bind_ipi(&fx, d->vcpu[1], 1), 1); /* reopened behind the reset */
    memcpy(fx_gpa(&fx, d, FX_ARG_GPA), &r, sizeof(r));
    for (steps = 1; d->vcpu[0]->hcall_continuation; steps++)
        hypercall_dispatch(d->vcpu[0], &regs);
    assert_int_equal((long)regs.rax, -XEN_EAGAIN);
    assert_int_equal(bound_ports(d), 1);
    assert_false(d->reset_in_progress);
    fx_destroy(&fx);
}

/* A privileged domain resets a paused guest, preempted the same way. */
static void test_foreign_reset(void **state)
{
    struct fake_xen fx;
    struct domain *d0, *d1;
    unsigned steps;

    (void)state;
    fx_init(&fx);
    d0 = fx_domain(&fx, 0, true, 1, 0, 0);
    d1 = fx_domain(&fx, 1, false, 1, 0, 0);
    fx_fill_table(&fx, d1->vcpu[0]);
    d1->paused = true;
    assert_int_equal(reset_until_done(&fx, d0->vcpu[0], 1, &steps), 0);
    assert_int_equal(steps, 1024 / 64);
    assert_int_equal(bound_ports(d1), 0);
    fx_destroy(&fx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reset_preempts_every_64_ports),
        cmocka_unit_test(test_reset_interleaved),
        cmocka_unit_test(test_foreign_reset),
    };
    return cmocka_run_group_tests_name("reset", tests, NULL, NULL);
}
