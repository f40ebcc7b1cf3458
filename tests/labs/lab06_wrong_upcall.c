/* Lab 6, known wrong: unmasks the port and takes an upcall instead of polling. */
#include "rt.h"

static volatile bool came;

static void on_port(evtchn_port_t port, void *arg)
{
    (void)port;
    (void)arg;
    came = true;
}

static bool wait_port(evtchn_port_t port, uint64_t timeout_ns)
{
    rt_bind_handler(port, on_port, NULL); /* WRONG: an upcall, and the pending bit is consumed */
    uint64_t deadline = rt_now_ns() + timeout_ns;
    while (!came && rt_now_ns() < deadline)
        rt_sleep_ns(10000);
    return came;
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
