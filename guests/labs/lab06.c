/*
 * Lab 6: SCHEDOP_poll (docs/labs/lab06.md).
 *
 * Wait for one port without an upcall, with a timeout: SCHEDOP_poll blocks the vcpu until one
 * of the listed ports is pending (masked or not) or until the timeout.  Linux waits so in its
 * PV spinlocks.  Write wait_port(): true when the port's event came, false on timeout.
 *
 *   struct sched_poll { ports (set_xen_guest_handle), nr_ports, timeout };
 *   HYPERVISOR_sched_op(SCHEDOP_poll, &poll)
 *
 * Port 1 stays masked all along (no rt_bind_handler).  The partner (dom0) sends on it after a
 * delay, or never.  Check it with: evsim lab check 6 lab06.c
 */
#include "rt.h"

static bool wait_port(evtchn_port_t port, uint64_t timeout_ns)
{
    /* TODO: poll `port` until it is pending or `timeout_ns` have passed; say which. */
    (void)port;
    (void)timeout_ns;
    return false;
}

/* ---- the rest is the lab's test harness: leave it as it is ------------------------------- */

int main(void)
{
    uint64_t timeout = rt_arg_u64("timeout", 1000000);
    evtchn_port_t port = rt_alloc_unbound(0); /* masked: no handler */
    uint64_t t0 = rt_now_ns();
    bool fired = wait_port(port, timeout);
    uint64_t elapsed = rt_now_ns() - t0;
    rt_printf("lab: fired=%d elapsed=%lu pending=%d masked=%d\n", fired, elapsed,
              rt_is_pending(port), rt_is_masked(port));
    return 0;
}
