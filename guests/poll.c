/*
 * poll: SCHEDOP_poll, waiting for specific ports without an upcall.
 *
 * struct sched_poll { ports, nr_ports, timeout }: the vcpu sleeps until one
 * of the listed ports is pending, or until the absolute system time
 * `timeout` (0 = no timeout).  It returns 0 either way; look at the pending
 * bits to tell which.  A masked port still wakes its pollers, which is what
 * makes poll useful (Linux uses it for PV spinlocks).
 *
 * One IPI port of vcpu 0, kept masked and without a handler, so nothing
 * is ever delivered through the upcall:
 *   ready    the port is already pending: poll returns at once
 *   errors   nr_ports > 128, and a port that does not exist: -EINVAL
 *   timeout  the port is idle: poll returns after `timeout` ns
 *   wakeup   vcpu 1 sends on the port `delay` ns later, while vcpu 0
 *            polls with no timeout: the send wakes vcpu 0
 * Needs a domain with 2 vcpus.
 *
 * Parameters: timeout=<ns> (default 500000), delay=<ns> (default 1000000)
 */
#include "rt.h"

static evtchn_port_t port;
static uint64_t delay;
static volatile bool fired;

static long poll_ports(evtchn_port_t *ports, unsigned int n, uint64_t timeout)
{
    struct sched_poll p = {.nr_ports = n, .timeout = timeout};
    set_xen_guest_handle(p.ports, ports);
    return HYPERVISOR_sched_op(SCHEDOP_poll, &p);
}

/* vcpu 1: sleep `delay` ns on its own timer, then send on vcpu 0's port. */
static void on_timer(evtchn_port_t p, void *arg)
{
    (void)p;
    (void)arg;
    fired = true;
}

static void vcpu1_main(void *arg)
{
    (void)arg;
    HYPERVISOR_vcpu_op(VCPUOP_stop_periodic_timer, 1, NULL); /* may not exist */
    rt_bind_handler(rt_bind_virq(VIRQ_TIMER, 1), on_timer, NULL);
    rt_check(HYPERVISOR_set_timer_op(rt_now_ns() + delay), "set_timer_op");
    rt_wait(&fired);
    rt_printf("poll: vcpu 1 sends on port %u\n", port);
    rt_send(port);
}

static void expect(long rc, long want, const char *what)
{
    if (rc != want)
        rt_panic("%s: poll returned %ld (%s), expected %ld (%s)", what, rc, rt_strerror(rc), want,
                 rt_strerror(want));
}

int main(void)
{
    uint64_t timeout = rt_arg_u64("timeout", 500000);
    delay = rt_arg_u64("delay", 1000000);

    port = rt_bind_ipi(0); /* masked: rt_bind_handler is never called */
    rt_printf("poll: port %u (IPI to vcpu 0, masked)\n", port);

    /* ready: send to ourselves; masked, so no upcall, only the pending bit */
    rt_send(port);
    uint64_t t0 = rt_now_ns();
    long rc = poll_ports(&port, 1, 0);
    uint64_t t1 = rt_now_ns();
    expect(rc, 0, "ready");
    if (!rt_is_pending(port))
        rt_panic("ready: port %u not pending", port);
    rt_printf("poll: ready   rc=%ld elapsed=%lu ns\n", rc, t1 - t0);

    /* errors (checked while the port is pending, so a poll that wrongly
     * accepts returns at once instead of sleeping forever) */
    static evtchn_port_t many[129];
    for (unsigned int i = 0; i < RT_ARRAY_SIZE(many); i++)
        many[i] = port;
    long rc_many = poll_ports(many, 129, 0);
    evtchn_port_t bad[2] = {EVTCHN_2L_NR_CHANNELS - 1, port}; /* bad one first */
    long rc_bad = poll_ports(bad, 2, 0);
    expect(rc_many, -XEN_EINVAL, "nr_ports=129");
    expect(rc_bad, -XEN_EINVAL, "bad port");
    rt_printf("poll: errors  nr_ports=129 rc=%ld (%s), port %u rc=%ld (%s)\n", rc_many,
              rt_strerror(rc_many), bad[0], rc_bad, rt_strerror(rc_bad));

    /* timeout: nothing pending, so poll sleeps until the deadline */
    rt_clear_pending(port);
    t0 = rt_now_ns();
    rc = poll_ports(&port, 1, t0 + timeout);
    t1 = rt_now_ns();
    expect(rc, 0, "timeout");
    if (rt_is_pending(port))
        rt_panic("timeout: port %u became pending", port);
    if (t1 - t0 < timeout)
        rt_panic("timeout: woke after %lu ns, before the %lu ns timeout", t1 - t0, timeout);
    rt_printf("poll: timeout rc=%ld elapsed=%lu ns (timeout %lu ns)\n", rc, t1 - t0, timeout);

    /* wakeup: vcpu 1 sends on the masked port while we poll without timeout */
    rt_start_vcpu(1, vcpu1_main, NULL);
    t0 = rt_now_ns();
    unsigned int polls = 0;
    do {
        rc = poll_ports(&port, 1, 0);
        expect(rc, 0, "wakeup");
        polls++;
    } while (!rt_is_pending(port));
    t1 = rt_now_ns();
    if (t1 - t0 < delay)
        rt_panic("wakeup: woke after %lu ns, before vcpu 1's %lu ns delay", t1 - t0, delay);
    rt_printf("poll: wakeup  rc=%ld polls=%u elapsed=%lu ns pending=%d masked=%d\n", rc, polls,
              t1 - t0, rt_is_pending(port), rt_is_masked(port));

    rt_printf("poll: ok\n");
    return 0;
}
