/* Lab 6, known wrong: takes poll's return value for 'the event came'. */
#include "rt.h"

static bool wait_port(evtchn_port_t port, uint64_t timeout_ns)
{
    struct sched_poll poll = {.nr_ports = 1, .timeout = rt_now_ns() + timeout_ns};
    set_xen_guest_handle(poll.ports, &port);
    return HYPERVISOR_sched_op(SCHEDOP_poll, &poll) == 0; /* WRONG: 0 on a timeout too */
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
