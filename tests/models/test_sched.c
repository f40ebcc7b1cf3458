/* sched_op (block, poll, yield, shutdown), set_timer_op and the timers' expiry, and vcpu_op. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>

#include <cmocka.h>

#include "tests/models/fake_xen.h"

struct world {
    struct fake_xen fx;
    struct domain *d;
    struct vcpu *v0, *v1;
};

static int world_setup(void **state)
{
    struct world *w = test_calloc(1, sizeof(*w));

    fx_init(&w->fx);
    w->d = fx_domain(&w->fx, 1, false, 2, 0, 4095);
    w->v0 = w->d->vcpu[0];
    w->v1 = w->d->vcpu[1];
    w->v1->run_state = VCPU_RUNNABLE;
    w->fx.now_ns = 1000;
    *state = w;
    return 0;
}

static long sched_op(struct vcpu *v, unsigned cmd, uint64_t arg)
{
    return fx_hypercall(v, __HYPERVISOR_sched_op, cmd, arg, 0);
}

/* The handle holds a guest address, whatever C type the header gives it. */
static void set_ports_handle(struct sched_poll *p, uint64_t gpa)
{
    memcpy(&p->ports, &gpa, sizeof(gpa));
}

static long poll_ports(struct world *w, struct vcpu *v, const uint32_t *ports, unsigned n,
                       uint64_t timeout)
{
    struct sched_poll p = {.nr_ports = n, .timeout = timeout};

    set_ports_handle(&p, FX_BUF_GPA);
    memcpy(fx_gpa(&w->fx, w->d, FX_BUF_GPA), ports, n * sizeof(*ports));
    memcpy(fx_gpa(&w->fx, w->d, FX_ARG_GPA), &p, sizeof(p));
    return sched_op(v, SCHEDOP_poll, FX_ARG_GPA);
}

static void send_port(struct world *w, struct vcpu *v, uint32_t port)
{
    struct evtchn_send s = {.port = port};

    assert_int_equal(fx_evtchn_op(&w->fx, v, EVTCHNOP_send, &s, sizeof(s)), 0);
}

/* block enables delivery first; with an upcall already pending it returns at once. */
static void test_block_with_pending_event_does_not_block(void **state)
{
    struct world *w = *state;

    fx_set_upcall_pending(w->v0, 1);
    fx_set_upcall_mask(w->v0, 1);
    assert_int_equal(sched_op(w->v0, SCHEDOP_block, 0), 0);
    assert_int_equal(fx_upcall_mask(w->v0), 0);
    assert_int_equal(w->v0->run_state, VCPU_RUNNABLE);
    assert_int_equal(w->v0->stats.blocks, 0);
}

static void test_block_then_event_wakes(void **state)
{
    struct world *w = *state;

    fx_bind_ipi(&w->fx, w->v1, 0);
    fx_set_upcall_mask(w->v0, 1);
    assert_int_equal(sched_op(w->v0, SCHEDOP_block, 0), 0);
    assert_int_equal(w->v0->run_state, VCPU_BLOCKED);
    assert_int_equal(w->v0->stats.blocks, 1);
    send_port(w, w->v1, 1);
    assert_int_equal(w->v0->run_state, VCPU_RUNNABLE);
    assert_int_equal(fx_rec(&w->fx, w->v0)->wakes, 1);
}

/* A masked raise sets no upcall, so a blocked vcpu stays blocked. */
static void test_block_masked_event_stays_blocked(void **state)
{
    struct world *w = *state;

    fx_bind_ipi(&w->fx, w->v1, 0);
    fx_set_mask(w->d, 1, true);
    assert_int_equal(sched_op(w->v0, SCHEDOP_block, 0), 0);
    send_port(w, w->v1, 1);
    assert_int_equal(w->v0->run_state, VCPU_BLOCKED);
}

struct poll_row {
    const char *name;
    uint32_t ports[3];
    unsigned nr;
    uint64_t timeout;
    bool port1_pending;
    long expect;
    bool blocked; /* v0 blocked polling after the call */
};

/* Port 1 is bound (IPI), port 63 is a free port in bucket 0, 64 and 4000 have no bucket. */
static const struct poll_row poll_rows[] = {
    {"ready_port_returns_at_once", {1}, 1, 0, true, 0, false},
    {"not_ready_blocks", {1}, 1, 0, false, 0, true},
    {"not_ready_with_timeout_blocks", {1}, 1, 5000, false, 0, true},
    {"timeout_already_past_returns", {1}, 1, 999, false, 0, false},
    {"free_port_blocks", {63}, 1, 0, false, 0, true},
    {"unallocated_bucket_einval_xsa221", {4000}, 1, 0, false, -XEN_EINVAL, false},
    {"first_unallocated_port_einval", {1, 64}, 2, 0, false, -XEN_EINVAL, false},
    {"beyond_abi_einval", {1, 70000}, 2, 0, false, -XEN_EINVAL, false},
    {"pending_before_invalid_wins", {1, 4000}, 2, 0, true, 0, false},
    {"zero_ports_blocks", {0}, 0, 0, false, 0, true},
};

static void test_poll_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(poll_rows) / sizeof(poll_rows[0]); i++) {
        const struct poll_row *r = &poll_rows[i];
        void *ws;
        struct world *w;

        print_message("poll %s\n", r->name);
        world_setup(&ws);
        w = ws;
        fx_bind_ipi(&w->fx, w->v0, 0);
        fx_set_pending(w->d, 1, r->port1_pending);
        assert_int_equal(poll_ports(w, w->v0, r->ports, r->nr, r->timeout), r->expect);
        assert_int_equal(w->v0->run_state == VCPU_BLOCKED, r->blocked);
        assert_int_equal(w->v0->polling, r->blocked);
        if (r->blocked && r->timeout) {
            assert_int_equal(fx_rec(&w->fx, w->v0)->timer[HV_TIMER_POLL].deadline, r->timeout);
        } else {
            assert_int_equal(fx_rec(&w->fx, w->v0)->timer[HV_TIMER_POLL].calls, 0);
        }
        fx_teardown(&ws);
    }
}

static void test_poll_too_many_ports(void **state)
{
    struct world *w = *state;
    struct sched_poll p = {.nr_ports = SCHED_POLL_MAX_PORTS + 1};

    set_ports_handle(&p, FX_BUF_GPA);
    memcpy(fx_gpa(&w->fx, w->d, FX_ARG_GPA), &p, sizeof(p));
    assert_int_equal(sched_op(w->v0, SCHEDOP_poll, FX_ARG_GPA), -XEN_EINVAL);
}

static void test_poll_bad_addresses(void **state)
{
    struct world *w = *state;
    struct sched_poll p = {.nr_ports = 2};

    set_ports_handle(&p, FX_BAD_GPA);
    memcpy(fx_gpa(&w->fx, w->d, FX_ARG_GPA), &p, sizeof(p));
    assert_int_equal(sched_op(w->v0, SCHEDOP_poll, FX_ARG_GPA), -XEN_EFAULT);
    assert_int_equal(sched_op(w->v0, SCHEDOP_poll, FX_BAD_GPA), -XEN_EFAULT);
    assert_int_equal(w->v0->run_state, VCPU_RUNNABLE);
}

/* Pollers wake on the port even while it is masked (no upcall is raised for it); the poll
 * timer is cancelled on wake. */
static void test_masked_port_wakes_poller(void **state)
{
    struct world *w = *state;
    const uint32_t port = 1;

    fx_bind_ipi(&w->fx, w->v0, 0);
    fx_set_mask(w->d, 1, true);
    assert_int_equal(poll_ports(w, w->v0, &port, 1, 9000), 0);
    assert_int_equal(w->v0->run_state, VCPU_BLOCKED);
    send_port(w, w->v1, 1);
    assert_int_equal(w->v0->run_state, VCPU_RUNNABLE);
    assert_false(w->v0->polling);
    assert_int_equal(fx_upcall_pending(w->v0), 0);
    assert_int_equal(fx_rec(&w->fx, w->v0)->timer[HV_TIMER_POLL].deadline, 0);
    assert_int_equal(fx_rec(&w->fx, w->v0)->timer[HV_TIMER_POLL].calls, 2);
}

/* A single-port poller ignores other ports; a multi-port poller wakes for any port of its
 * domain, as Xen's poll_evtchn = -1. */
static void test_poll_port_selectivity(void **state)
{
    struct world *w = *state;
    const uint32_t one = 1, two[2] = {1, 3};

    fx_bind_ipi(&w->fx, w->v0, 0);
    fx_bind_ipi(&w->fx, w->v0, 0);
    fx_set_mask(w->d, 2, true);
    assert_int_equal(poll_ports(w, w->v0, &one, 1, 0), 0);
    send_port(w, w->v1, 2);
    assert_int_equal(w->v0->run_state, VCPU_BLOCKED);
    send_port(w, w->v1, 1);
    assert_int_equal(w->v0->run_state, VCPU_RUNNABLE);
    fx_set_pending(w->d, 1, false);
    fx_set_pending(w->d, 2, false);
    fx_set_upcall_pending(w->v0, 0); /* the guest took the upcall */
    assert_int_equal(poll_ports(w, w->v0, two, 2, 0), 0);
    assert_int_equal(w->v0->run_state, VCPU_BLOCKED);
    send_port(w, w->v1, 2);
    assert_int_equal(w->v0->run_state, VCPU_RUNNABLE);
}

static void test_poll_timeout_expiry(void **state)
{
    struct world *w = *state;
    const uint32_t port = 1;

    fx_bind_ipi(&w->fx, w->v0, 0);
    assert_int_equal(poll_ports(w, w->v0, &port, 1, 5000), 0);
    vcpu_timer_expired(w->v0, HV_TIMER_POLL);
    assert_int_equal(w->v0->run_state, VCPU_RUNNABLE);
    assert_false(w->v0->polling);
    assert_int_equal(fx_rec(&w->fx, w->v0)->wakes, 1);
    vcpu_timer_expired(w->v0, HV_TIMER_POLL); /* stale: nothing */
    assert_int_equal(fx_rec(&w->fx, w->v0)->wakes, 1);
}

/* A vcpu with a deliverable upcall does not poll at all. */
static void test_poll_with_deliverable_upcall(void **state)
{
    struct world *w = *state;
    const uint32_t port = 4000;

    fx_set_upcall_pending(w->v0, 1);
    assert_int_equal(poll_ports(w, w->v0, &port, 1, 0), 0);
    assert_int_equal(w->v0->run_state, VCPU_RUNNABLE);
}

struct timer_row {
    const char *name;
    uint64_t timeout;
    bool fires_now;
    uint64_t armed; /* deadline given to the sink, 0 = stopped or not armed */
};

static const struct timer_row timer_rows[] = {
    {"stop", 0, false, 0},
    {"future", 5000, false, 5000},
    {"now_fires", 1000, true, 0},
    {"past_fires", 10, true, 0},
    {"negative_is_100ms", 1ull << 63, false, 1000 + 100000000ull},
    {"beyond_2_50_is_100ms", 1000 + (1ull << 51), false, 1000 + 100000000ull},
};

static void test_set_timer_op_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(timer_rows) / sizeof(timer_rows[0]); i++) {
        const struct timer_row *r = &timer_rows[i];
        void *ws;
        struct world *w;
        struct fx_timer *t;

        print_message("set_timer_op %s\n", r->name);
        world_setup(&ws);
        w = ws;
        assert_int_equal(fx_bind_virq(&w->fx, w->v0, VIRQ_TIMER, 0), 1);
        assert_int_equal(fx_hypercall(w->v0, __HYPERVISOR_set_timer_op, r->timeout, 0, 0), 0);
        t = &fx_rec(&w->fx, w->v0)->timer[HV_TIMER_SINGLESHOT];
        assert_int_equal(fx_pending(w->d, 1), r->fires_now);
        assert_int_equal(w->v0->singleshot_deadline, r->armed);
        if (r->armed)
            assert_int_equal(t->deadline, r->armed);
        if (r->timeout == 0)
            assert_int_equal(t->calls, 1);
        fx_teardown(&ws);
    }
}

/* VCPUOP_set_periodic_timer: Xen's limits, and the timer armed one period after now. */
struct periodic_row {
    const char *name;
    uint64_t period_ns;
    long rc;
    uint64_t armed_at; /* 0: not armed */
};

static const struct periodic_row periodic_rows[] = {
    {"below 1 ms", 999999, -XEN_EINVAL, 0},
    {"zero", 0, -XEN_EINVAL, 0},
    {"1 ms", 1000000, 0, 1000000 + 5000},
    {"10 ms", 10000000, 0, 10000000 + 5000},
    {"beyond STIME_DELTA_MAX", UINT64_C(1) << 63, -XEN_EINVAL, 0},
};

static void test_set_periodic_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(periodic_rows) / sizeof(periodic_rows[0]); i++) {
        const struct periodic_row *r = &periodic_rows[i];
        void *ws;
        struct world *w;

        print_message("set_periodic_timer %s\n", r->name);
        world_setup(&ws);
        w = ws;
        w->fx.now_ns = 5000;
        struct vcpu_set_periodic_timer set = {.period_ns = r->period_ns};
        memcpy(fx_gpa(&w->fx, w->d, FX_ARG_GPA), &set, sizeof(set));
        assert_int_equal(
            fx_hypercall(w->v0, __HYPERVISOR_vcpu_op, VCPUOP_set_periodic_timer, 0, FX_ARG_GPA),
            r->rc);
        struct fx_timer *t = &fx_rec(&w->fx, w->v0)->timer[HV_TIMER_PERIODIC];
        if (r->armed_at) {
            assert_int_equal(w->v0->periodic_period, r->period_ns);
            assert_int_equal(t->deadline, r->armed_at);
        } else {
            assert_int_equal(w->v0->periodic_period, PV_DEFAULT_PERIODIC_NS);
        }
        fx_teardown(&ws);
    }
}

/* PV vcpus start with a 100 Hz tick that runs only while the vcpu is on a CPU: a tick that fell
 * due while it was off raises VIRQ_TIMER when it is switched in; stopping disarms it. */
static void test_periodic_default_tick(void **state)
{
    struct world *w = *state;
    struct fx_timer *t = &fx_rec(&w->fx, w->v0)->timer[HV_TIMER_PERIODIC];

    assert_int_equal(w->v0->periodic_period, PV_DEFAULT_PERIODIC_NS);
    assert_int_equal(fx_bind_virq(&w->fx, w->v0, VIRQ_TIMER, 0), 1);
    vcpu_periodic_timer_work(w->v0); /* switched in at 0: not due yet */
    assert_false(fx_pending(w->d, 1));
    assert_int_equal(t->deadline, PV_DEFAULT_PERIODIC_NS);
    w->fx.now_ns = 25000000;
    vcpu_periodic_timer_work(w->v0); /* back after 25 ms off the CPU: one tick, now */
    assert_true(fx_pending(w->d, 1));
    assert_int_equal(t->deadline, 35000000);
    fx_set_pending(w->d, 1, false);
    w->fx.now_ns = 35000000;
    vcpu_timer_expired(w->v0, HV_TIMER_PERIODIC);
    assert_true(fx_pending(w->d, 1));
    assert_int_equal(t->deadline, 45000000);
    vcpu_periodic_timer_stop(w->v0);
    assert_int_equal(t->deadline, 0);
    assert_int_equal(fx_hypercall(w->v0, __HYPERVISOR_vcpu_op, VCPUOP_stop_periodic_timer, 0, 0),
                     0);
    assert_int_equal(w->v0->periodic_period, 0);
    fx_set_pending(w->d, 1, false);
    vcpu_timer_expired(w->v0, HV_TIMER_PERIODIC); /* stale expiry after the stop */
    assert_false(fx_pending(w->d, 1));
}

static void test_singleshot_expiry_raises_timer_virq(void **state)
{
    struct world *w = *state;

    fx_bind_virq(&w->fx, w->v0, VIRQ_TIMER, 0);
    assert_int_equal(fx_hypercall(w->v0, __HYPERVISOR_set_timer_op, 5000, 0, 0), 0);
    w->fx.now_ns = 5000;
    vcpu_timer_expired(w->v0, HV_TIMER_SINGLESHOT);
    assert_true(fx_pending(w->d, 1));
    assert_int_equal(fx_upcall_pending(w->v0), 1);
    assert_int_equal(w->v0->singleshot_deadline, 0);
}

static void test_yield_shutdown_unknown(void **state)
{
    struct world *w = *state;
    struct sched_shutdown s = {.reason = SHUTDOWN_reboot};

    assert_int_equal(sched_op(w->v0, SCHEDOP_yield, 0), 0);
    assert_true(w->v0->yield_requested);
    memcpy(fx_gpa(&w->fx, w->d, FX_ARG_GPA), &s, sizeof(s));
    assert_int_equal(sched_op(w->v0, SCHEDOP_shutdown, FX_BAD_GPA), -XEN_EFAULT);
    assert_int_equal(sched_op(w->v0, SCHEDOP_shutdown, FX_ARG_GPA), 0);
    assert_int_equal(w->d->shutdown_reason, SHUTDOWN_reboot);
    assert_int_equal(w->fx.shutdown_reason[1], SHUTDOWN_reboot);
    assert_int_equal(sched_op(w->v0, SCHEDOP_remote_shutdown, FX_ARG_GPA), -XEN_ENOSYS);
    assert_int_equal(sched_op(w->v0, 1000, 0), -XEN_ENOSYS);
}

/* ---- vcpu_op ---- */

static long vcpu_op(struct vcpu *v, unsigned cmd, unsigned id, uint64_t arg)
{
    return fx_hypercall(v, __HYPERVISOR_vcpu_op, cmd, id, arg);
}

static void put_context(struct world *w, uint64_t rip)
{
    struct vcpu_guest_context *c = fx_gpa(&w->fx, w->d, FX_BUF_GPA);

    memset(c, 0, sizeof(*c));
    c->user_regs.rip = rip;
    c->user_regs.rsp = 0x8000;
    c->user_regs.rdi = 42;
    c->user_regs.rflags = 0x3002; /* IOPL 3, IF clear */
    c->event_callback_eip = 0x5000;
    c->failsafe_callback_eip = 0x5100;
    c->syscall_callback_eip = 0x5200;
    c->flags = VGCF_failsafe_disables_events | VGCF_in_kernel;
    c->trap_ctxt[2] =
        (struct trap_info){.vector = 2, .flags = 4, .cs = FLAT_KERNEL_CS, .address = 0x5300};
}

static void test_vcpu_bring_up(void **state)
{
    struct world *w = *state;
    struct vcpu *v1 = w->v1;

    v1->run_state = VCPU_DOWN;
    put_context(w, 0x6000);
    assert_int_equal(vcpu_op(w->v0, VCPUOP_up, 1, 0), -XEN_EINVAL);
    assert_int_equal(vcpu_op(w->v0, VCPUOP_is_up, 1, 0), 0);
    assert_int_equal(vcpu_op(w->v0, VCPUOP_initialise, 2, FX_BUF_GPA), -XEN_ENOENT);
    assert_int_equal(vcpu_op(w->v0, VCPUOP_initialise, 1, FX_BAD_GPA), -XEN_EFAULT);
    assert_int_equal(vcpu_op(w->v0, VCPUOP_initialise, 1, FX_BUF_GPA), 0);
    assert_int_equal(v1->initial_regs.rip, 0x6000);
    assert_int_equal(v1->initial_regs.rsp, 0x8000);
    assert_int_equal(v1->initial_regs.rdi, 42);
    assert_int_equal(v1->initial_regs.rflags, 0x202);
    assert_int_equal(v1->event_callback, 0x5000);
    /* arch_set_info_guest: the other callbacks, the VGCF_* flags, the NMI slot of trap_ctxt */
    assert_int_equal(v1->callbacks.failsafe, 0x5100);
    assert_int_equal(v1->callbacks.syscall, 0x5200);
    assert_int_equal(v1->callbacks.vgc_flags, VGCF_failsafe_disables_events | VGCF_in_kernel);
    assert_int_equal(v1->callbacks.nmi.address, 0x5300);
    assert_int_equal(v1->callbacks.nmi.cs, FLAT_KERNEL_CS);
    assert_int_equal(vcpu_op(w->v0, VCPUOP_initialise, 1, FX_BUF_GPA), -XEN_EEXIST);
    assert_int_equal(vcpu_op(w->v0, VCPUOP_initialise, 0, FX_BUF_GPA), -XEN_EEXIST);
    assert_int_equal(vcpu_op(w->v0, VCPUOP_up, 1, 0), 0);
    assert_int_equal(v1->run_state, VCPU_RUNNABLE);
    assert_int_equal(fx_rec(&w->fx, v1)->ups, 1);
    assert_int_equal(vcpu_op(w->v0, VCPUOP_up, 1, 0), 0); /* already up: no second start */
    assert_int_equal(fx_rec(&w->fx, v1)->ups, 1);
    assert_int_equal(vcpu_op(w->v0, VCPUOP_is_up, 1, 0), 1);
    assert_int_equal(vcpu_op(w->v0, VCPUOP_down, 1, 0), 0);
    assert_int_equal(v1->run_state, VCPU_DOWN);
    assert_int_equal(fx_rec(&w->fx, v1)->downs, 1);
    assert_int_equal(w->d->shutdown_reason, -1);
    /* the last vcpu going down powers the domain off */
    assert_int_equal(vcpu_op(w->v0, VCPUOP_down, 0, 0), 0);
    assert_int_equal(w->d->shutdown_reason, SHUTDOWN_poweroff);
}

static void test_vcpu_op_errors(void **state)
{
    struct world *w = *state;

    put_context(w, 0x0000800000000000ull); /* non-canonical */
    w->v1->initialised = false;
    assert_int_equal(vcpu_op(w->v0, VCPUOP_initialise, 1, FX_BUF_GPA), -XEN_EINVAL);
    assert_int_equal(vcpu_op(w->v0, VCPUOP_get_runstate_info, 0, FX_BUF_GPA), -XEN_ENOSYS);
    assert_int_equal(vcpu_op(w->v0, 99, 0, 0), -XEN_ENOSYS);
    assert_int_equal(vcpu_op(w->v0, 99, 9, 0), -XEN_ENOENT); /* the vcpu is checked first */
}

static void test_vcpu_singleshot_timer(void **state)
{
    struct world *w = *state;
    struct vcpu_set_singleshot_timer t = {.timeout_abs_ns = 10, .flags = VCPU_SSHOTTMR_future};

    fx_bind_virq(&w->fx, w->v0, VIRQ_TIMER, 0);
    memcpy(fx_gpa(&w->fx, w->d, FX_ARG_GPA), &t, sizeof(t));
    assert_int_equal(vcpu_op(w->v0, VCPUOP_set_singleshot_timer, 1, FX_ARG_GPA), -XEN_EINVAL);
    assert_int_equal(vcpu_op(w->v0, VCPUOP_set_singleshot_timer, 0, FX_ARG_GPA), -XEN_ETIME);
    assert_false(fx_pending(w->d, 1));
    t.flags = 0;
    memcpy(fx_gpa(&w->fx, w->d, FX_ARG_GPA), &t, sizeof(t));
    assert_int_equal(vcpu_op(w->v0, VCPUOP_set_singleshot_timer, 0, FX_ARG_GPA), 0);
    assert_true(fx_pending(w->d, 1));
    t.timeout_abs_ns = 7000;
    memcpy(fx_gpa(&w->fx, w->d, FX_ARG_GPA), &t, sizeof(t));
    assert_int_equal(vcpu_op(w->v0, VCPUOP_set_singleshot_timer, 0, FX_ARG_GPA), 0);
    assert_int_equal(w->v0->singleshot_deadline, 7000);
    assert_int_equal(vcpu_op(w->v0, VCPUOP_stop_singleshot_timer, 0, 0), 0);
    assert_int_equal(w->v0->singleshot_deadline, 0);
}

#define T(f) cmocka_unit_test_setup_teardown(f, world_setup, fx_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_block_with_pending_event_does_not_block),
        T(test_block_then_event_wakes),
        T(test_block_masked_event_stays_blocked),
        cmocka_unit_test(test_poll_table),
        T(test_poll_too_many_ports),
        T(test_poll_bad_addresses),
        T(test_masked_port_wakes_poller),
        T(test_poll_port_selectivity),
        T(test_poll_timeout_expiry),
        T(test_poll_with_deliverable_upcall),
        cmocka_unit_test(test_set_timer_op_table),
        T(test_singleshot_expiry_raises_timer_virq),
        cmocka_unit_test(test_set_periodic_table),
        T(test_periodic_default_tick),
        T(test_yield_shutdown_unknown),
        T(test_vcpu_bring_up),
        T(test_vcpu_op_errors),
        T(test_vcpu_singleshot_timer),
    };
    return cmocka_run_group_tests_name("sched", tests, NULL, NULL);
}
