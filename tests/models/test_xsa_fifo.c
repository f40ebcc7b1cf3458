/* Regression tests for the Xen Security Advisories in the FIFO ABI's code paths
 * (the advisories: https://xenbits.xen.org/xsa/). Each test names its advisory and checks the
 * fixed behaviour: the right error, no state left half-built or dangling, no crash. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "models/event_fifo.h"
#include "tests/models/fake_xen.h"

#define BIT(b) (1u << (b))
#define CTL_GFN (FX_FIFO_CONTROL_GPA / XEN_PAGE_SIZE)
#define BAD_GFN (FX_BAD_GPA / XEN_PAGE_SIZE)

struct world {
    struct fake_xen fx; /* first: fx_destroy takes the world */
    struct domain *d;
};

static struct world *world_new(void **state, unsigned max_vcpus, unsigned max_evtchn_port)
{
    struct world *w = calloc(1, sizeof(*w)); /* freed by world_teardown */

    assert_non_null(w);
    *state = w;
    fx_init(&w->fx);
    w->d = fx_domain(&w->fx, 1, false, max_vcpus, 0, max_evtchn_port);
    return w;
}

static int world_teardown(void **state)
{
    if (*state) {
        fx_destroy(*state);
        free(*state);
    }
    return 0;
}

static volatile uint32_t *word_of(struct world *w, uint32_t port)
{
    return fx_fifo_word(&w->fx, w->d, port);
}

static long send(struct world *w, uint32_t port)
{
    struct evtchn_send s = {.port = port};

    return fx_evtchn_op(&w->fx, w->d->vcpu[0], EVTCHNOP_send, &s, sizeof(s));
}

static long unmask(struct world *w, uint32_t port)
{
    struct evtchn_unmask u = {.port = port};

    return fx_evtchn_op(&w->fx, w->d->vcpu[0], EVTCHNOP_unmask, &u, sizeof(u));
}

static long expand(struct world *w, unsigned page)
{
    return fx_fifo_expand(&w->fx, w->d->vcpu[0], page);
}

static void expect_clean_2l(struct domain *d)
{
    assert_ptr_equal(d->evtchn_port_ops, &evtchn_port_ops_2l);
    assert_null(d->evtchn_fifo);
    for (unsigned i = 0; i < d->max_vcpus; i++)
        assert_null(d->vcpu[i]->evtchn_fifo);
}

/* ---- XSA-107: events for a vcpu without a control block ---- */

/* XSA-107: Xen 4.4 dereferenced a missing control block when an event was raised for a vcpu
 * that never made init_control. Fixed: the event stays PENDING, is not linked, and neither the
 * vcpu's (absent) block nor anyone else's READY is touched. */
static void test_xsa107_vcpu_without_control_block(void **state)
{
    struct world *w = world_new(state, 2, 0);
    struct domain *d = w->d;
    uint32_t port;

    assert_int_equal(fx_fifo_init_control(&w->fx, d->vcpu[0], 0, CTL_GFN, 0), 0);
    assert_int_equal(expand(w, 0), 0);
    port = fx_bind_ipi(&w->fx, d->vcpu[0], 1);
    d->vcpu[1]->run_state = VCPU_RUNNABLE;
    assert_int_equal(send(w, port), 0);
    assert_true(*word_of(w, port) & BIT(EVTCHN_FIFO_PENDING));
    assert_false(*word_of(w, port) & BIT(EVTCHN_FIFO_LINKED));
    assert_int_equal(fx_fifo_control(&w->fx, d->vcpu[0])->ready, 0);
    assert_int_equal(fx_upcall_pending(d->vcpu[1]), 0);
    assert_int_equal(fx_rec(&w->fx, d->vcpu[1])->kicks, 0);
    assert_int_equal(evtchn_fifo_stats(d)->no_control_block, 1);
    /* unmask (the guest's way to re-raise) is just as safe */
    assert_int_equal(unmask(w, port), 0);
    assert_int_equal(evtchn_fifo_stats(d)->no_control_block, 2);
    /* once vcpu 1 registers its block, the unmask links the waiting event there */
    assert_int_equal(fx_fifo_init_control(&w->fx, d->vcpu[0], 1, CTL_GFN, 128), 0);
    assert_int_equal(unmask(w, port), 0);
    assert_true(*word_of(w, port) & BIT(EVTCHN_FIFO_LINKED));
    assert_int_equal(fx_fifo_control(&w->fx, d->vcpu[1])->head[EVTCHN_FIFO_PRIORITY_DEFAULT], port);
    assert_int_equal(fx_fifo_control(&w->fx, d->vcpu[1])->ready, BIT(EVTCHN_FIFO_PRIORITY_DEFAULT));
    assert_int_equal(fx_upcall_pending(d->vcpu[1]), 1);
}

/* XSA-107, the vcpu 0 variant: only vcpu 1 registered, events for vcpu 0 (VIRQ_TIMER and a
 * port raised at bind time) must not crash either. */
static void test_xsa107_vcpu0_without_control_block(void **state)
{
    struct world *w = world_new(state, 2, 0);
    struct domain *d = w->d;
    uint32_t timer;

    assert_int_equal(fx_fifo_init_control(&w->fx, d->vcpu[0], 1, CTL_GFN, 128), 0);
    assert_int_equal(expand(w, 0), 0);
    timer = fx_bind_virq(&w->fx, d->vcpu[0], VIRQ_TIMER, 0);
    send_guest_vcpu_virq(d->vcpu[0], VIRQ_TIMER);
    assert_true(*word_of(w, timer) & BIT(EVTCHN_FIFO_PENDING));
    assert_false(*word_of(w, timer) & BIT(EVTCHN_FIFO_LINKED));
    assert_null(d->vcpu[0]->evtchn_fifo->control_block);
    assert_int_equal(fx_upcall_pending(d->vcpu[0]), 0);
}

/* XSA-107 with no event array at all: the event is saved on the port, nothing dereferenced. */
static void test_xsa107_no_event_array(void **state)
{
    struct world *w = world_new(state, 1, 0);
    struct domain *d = w->d;
    uint32_t port;

    assert_int_equal(fx_fifo_init_control(&w->fx, d->vcpu[0], 0, CTL_GFN, 0), 0);
    port = fx_bind_ipi(&w->fx, d->vcpu[0], 0);
    assert_int_equal(send(w, port), 0);
    assert_int_equal(unmask(w, port), 0);
    assert_true(evtchn_from_port(d, port)->fifo_pending);
    assert_false(evtchn_is_pending(d, evtchn_from_port(d, port)));
    assert_true(evtchn_is_masked(d, evtchn_from_port(d, port)));
    assert_int_equal(evtchn_port_poll(d, port), 0);
}

/* ---- XSA-188: failed init_control ---- */

/* XSA-188: a failed init_control (bad gfn) freed the FIFO state but left a pointer to it, used
 * by the next init_control or expand_array. Fixed: the domain is cleanly on 2-level, every
 * FIFO hypercall sees it so, and the retry works. */
static void test_xsa188_failed_init_control_leaves_2l(void **state)
{
    struct world *w = world_new(state, 2, 0);
    struct domain *d = w->d;
    struct evtchn_set_priority p = {.port = 1, .priority = 3};
    uint32_t port;

    port = fx_bind_ipi(&w->fx, d->vcpu[0], 0);
    assert_int_equal(fx_fifo_init_control(&w->fx, d->vcpu[0], 0, BAD_GFN, 0), -XEN_EINVAL);
    expect_clean_2l(d);
    assert_int_equal(w->fx.nr_event_pages, 0);
    assert_int_equal(expand(w, 0), -XEN_EOPNOTSUPP);
    assert_int_equal(fx_evtchn_op(&w->fx, d->vcpu[0], EVTCHNOP_set_priority, &p, sizeof(p)),
                     -XEN_ENOSYS);
    /* still a working 2-level domain */
    assert_int_equal(send(w, port), 0);
    assert_true(fx_pending(d, port));
    /* a second failure, then success: no leftovers from either */
    assert_int_equal(fx_fifo_init_control(&w->fx, d->vcpu[0], 1, BAD_GFN, 0), -XEN_EINVAL);
    expect_clean_2l(d);
    fx_fifo_init(&w->fx, d, 1);
    assert_ptr_equal(d->evtchn_port_ops, &evtchn_port_ops_fifo);
    /* the 2-level event made it across */
    assert_true(*word_of(w, port) & BIT(EVTCHN_FIFO_LINKED));
}

/* XSA-188, the mapping failing rather than the gfn being out of range (the page goes away
 * between the checks): the same clean state. */
static void test_xsa188_mapping_fails(void **state)
{
    struct world *w = world_new(state, 1, 0);

    w->fx.fail_gpa = FX_FIFO_CONTROL_GPA;
    w->fx.fail_at = 1;
    w->fx.seen = 0;
    assert_int_equal(fx_fifo_init_control(&w->fx, w->d->vcpu[0], 0, CTL_GFN, 0), -XEN_EINVAL);
    w->fx.fail_at = 0;
    expect_clean_2l(w->d);
    assert_int_equal(fx_fifo_init_control(&w->fx, w->d->vcpu[0], 0, CTL_GFN, 0), 0);
    assert_int_equal(expand(w, 0), 0);
}

/* ---- XSA-338: port validity across reset ---- */

/* XSA-338: port_is_valid depended on the ABI's limit, which shrinks when a reset takes a FIFO
 * domain back to 2-level (131072 -> 4096), so ports above 4096 became invalid while still in
 * use. Fixed: validity is the storage allocated, which never shrinks; reset from FIFO with high
 * ports open and linked completes, and every port stays safe to name. */
static void test_xsa338_reset_with_high_ports(void **state)
{
    struct world *w = world_new(state, 1, 8191);
    struct domain *d = w->d;
    unsigned valid;
    uint32_t high = 5000;

    fx_fifo_init(&w->fx, d, 8);
    for (uint32_t p = 4090; p <= high; p += 10) {
        assert_int_equal(evtchn_allocate_port(d, p), 0);
        evtchn_claim(d, evtchn_from_port(d, p), ECS_IPI, 0);
        assert_int_equal(send(w, p), 0);
    }
    assert_int_equal(fx_bind_ipi(&w->fx, d->vcpu[0], 0), 1);
    valid = d->valid_evtchns;
    assert_true(valid > high);
    assert_int_equal(fx_reset_until_done(&w->fx, d->vcpu[0], DOMID_SELF), 0);
    expect_clean_2l(d);
    assert_int_equal(d->valid_evtchns, valid); /* storage kept */
    assert_int_equal(d->active_evtchns, 0);
    assert_true(port_is_valid(d, high));
    assert_int_equal(evtchn_from_port(d, high)->state, ECS_FREE);
    /* naming a high port is safe: closed, not pending, refused where a bound port is needed */
    assert_int_equal(send(w, high), -XEN_EINVAL);
    assert_int_equal(unmask(w, high), 0);
    assert_int_equal(evtchn_port_poll(d, high), 0);
    assert_false(evtchn_is_pending(d, evtchn_from_port(d, high)));
    /* 2-level cannot allocate it any more, but allocates low ports */
    assert_int_equal(evtchn_allocate_port(d, high), -XEN_ENOSPC);
    assert_int_equal(fx_bind_ipi(&w->fx, d->vcpu[0], 0), 1);
}

/* XSA-338, the other direction: a port made valid under FIFO keeps its storage through a reset
 * while another vcpu polls it (polling validates against storage, not the ABI). */
static void test_xsa338_poll_high_port_after_reset(void **state)
{
    struct world *w = world_new(state, 1, 8191);
    struct domain *d = w->d;

    fx_fifo_init(&w->fx, d, 5);
    assert_int_equal(evtchn_allocate_port(d, 4500), 0);
    evtchn_claim(d, evtchn_from_port(d, 4500), ECS_IPI, 0);
    assert_int_equal(fx_reset_until_done(&w->fx, d->vcpu[0], DOMID_SELF), 0);
    assert_int_equal(evtchn_port_poll(d, 4500), 0);
    assert_int_equal(evtchn_port_poll(d, d->valid_evtchns), -XEN_EINVAL);
}

/* ---- XSA-358: queues usable as soon as visible ---- */

/* XSA-358: the control block was published before the queue heads pointed into it, so an
 * event raised on another CPU in between used a NULL head. Fixed: every queue is complete when
 * init_control returns (and before control_block is set): events of all 16 priorities raised
 * right away each become the HEAD of their queue. */
static void test_xsa358_queues_ready_when_visible(void **state)
{
    struct world *w = world_new(state, 1, 0);
    struct domain *d = w->d;
    volatile struct evtchn_fifo_control_block *cb = fx_fifo_control(&w->fx, d->vcpu[0]);
    struct evtchn_set_priority p;

    assert_int_equal(fx_fifo_init_control(&w->fx, d->vcpu[0], 0, CTL_GFN, 0), 0);
    for (unsigned q = 0; q < EVTCHN_FIFO_MAX_QUEUES; q++) {
        assert_ptr_equal(d->vcpu[0]->evtchn_fifo->queue[q].head, &cb->head[q]);
        assert_int_equal(d->vcpu[0]->evtchn_fifo->queue[q].priority, q);
    }
    assert_int_equal(expand(w, 0), 0);
    for (unsigned q = 0; q < EVTCHN_FIFO_MAX_QUEUES; q++) {
        uint32_t port = fx_bind_ipi(&w->fx, d->vcpu[0], 0);

        p = (struct evtchn_set_priority){.port = port, .priority = q};
        assert_int_equal(fx_evtchn_op(&w->fx, d->vcpu[0], EVTCHNOP_set_priority, &p, sizeof(p)), 0);
        assert_int_equal(send(w, port), 0);
        assert_int_equal(cb->head[q], port);
    }
    assert_int_equal(cb->ready, 0xffffu);
}

/* ---- XSA-505: expand_array racing reset ---- */

/* XSA-505: expand_array checked for FIFO state outside the event lock, so a reset on another
 * vcpu could free it in between. Fixed in the model by checking and using it in one step:
 * expand_array between the steps of a preempted reset adds a page to the still-live state,
 * the reset then frees it all, and expand_array after it is refused; FIFO set up again starts
 * from page 0. */
static void test_xsa505_expand_array_interleaved_with_reset(void **state)
{
    struct world *w = world_new(state, 2, 4095);
    struct domain *d = w->d;
    /* the reset's argument away from FX_ARG_GPA, which vcpu 1's hypercalls use meanwhile */
    struct hv_regs regs = {
        .rax = __HYPERVISOR_event_channel_op, .rdi = EVTCHNOP_reset, .rsi = FX_BUF_GPA};
    struct evtchn_reset r = {.dom = DOMID_SELF};
    struct vcpu *v0 = d->vcpu[0], *v1 = d->vcpu[1];

    fx_fifo_init(&w->fx, d, 1);
    for (unsigned i = 0; i < 200; i++)
        fx_bind_ipi(&w->fx, v0, 0);
    /* vcpu 0 has an event to take, so its reset is preempted after 64 ports */
    fx_set_upcall_pending(v0, 1);
    fx_set_upcall_mask(v0, 0);
    memcpy(fx_gpa(&w->fx, d, FX_BUF_GPA), &r, sizeof(r));
    hypercall_dispatch(v0, &regs);
    assert_true(v0->hcall_continuation);
    assert_int_equal(d->reset_next_port, 64);
    /* vcpu 1 expands meanwhile */
    assert_int_equal(fx_fifo_expand(&w->fx, v1, 1), 0);
    assert_int_equal(evtchn_fifo_array_pages(d), 2);
    /* vcpu 0 takes its event; the reset completes */
    fx_set_upcall_pending(v0, 0);
    while (v0->hcall_continuation) {
        hypercall_dispatch(v0, &regs);
        if (v0->hcall_continuation)
            assert_int_equal(fx_fifo_expand(&w->fx, v1, evtchn_fifo_array_pages(d)), 0);
    }
    assert_int_equal((long)regs.rax, 0);
    expect_clean_2l(d);
    assert_int_equal(w->fx.event_pages_released, 1);
    assert_int_equal(fx_fifo_expand(&w->fx, v1, 2), -XEN_EOPNOTSUPP);
    assert_int_equal(evtchn_fifo_array_pages(d), 0);
    /* FIFO again: a fresh array */
    memset(fx_gpa(&w->fx, d, FX_FIFO_CONTROL_GPA), 0, XEN_PAGE_SIZE);
    fx_fifo_init(&w->fx, d, 1);
    assert_int_equal(evtchn_fifo_array_pages(d), 1);
    assert_int_equal(w->fx.event_page[w->fx.nr_event_pages - 1].index, 0);
}

#define T(fn) cmocka_unit_test_teardown(fn, world_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_xsa107_vcpu_without_control_block),
        T(test_xsa107_vcpu0_without_control_block),
        T(test_xsa107_no_event_array),
        T(test_xsa188_failed_init_control_leaves_2l),
        T(test_xsa188_mapping_fails),
        T(test_xsa338_reset_with_high_ports),
        T(test_xsa338_poll_high_port_after_reset),
        T(test_xsa358_queues_ready_when_visible),
        T(test_xsa505_expand_array_interleaved_with_reset),
    };

    return cmocka_run_group_tests_name("xsa_fifo", tests, NULL, NULL);
}
