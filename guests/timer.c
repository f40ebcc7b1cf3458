/*
 * timer: the one-shot Xen timer and VIRQ_TIMER.
 *
 *   HYPERVISOR_set_timer_op(deadline) arms this vcpu's timer for an absolute
 *   Xen system time; when it expires Xen raises VIRQ_TIMER, which we bound
 *   to an event channel port.  The handler re-arms for the next period.
 *
 * Parameters: period=<ns> (default 1000000), ticks=<n> (default 10).
 */
#include "rt.h"

static uint64_t period, ticks;
static uint64_t deadline, start, last;
static uint64_t tick, min_interval = UINT64_MAX, max_interval;
static volatile bool done;

static void on_timer(evtchn_port_t port, void *arg)
{
    (void)port;
    (void)arg;
    uint64_t now = rt_now_ns();
    if (now < deadline) {
        /* Early or spurious (e.g. Xen's periodic timer): arm ours again;
         * a deadline already in the past fires at once. */
        rt_check(HYPERVISOR_set_timer_op(deadline), "set_timer_op");
        return;
    }

    uint64_t interval = now - last;
    last = now;
    tick++;
    if (interval < min_interval)
        min_interval = interval;
    if (interval > max_interval)
        max_interval = interval;
    rt_printf("timer: tick %lu at %lu ns, interval %lu ns, late by %lu ns\n",
              tick, now, interval, now - deadline);

    if (tick == ticks) {
        done = true;
        return;
    }
    deadline += period;         /* periodic, without drift */
    rt_check(HYPERVISOR_set_timer_op(deadline), "set_timer_op");
}

int main(void)
{
    period = rt_arg_u64("period", 1000000);
    ticks = rt_arg_u64("ticks", 10);

    /* Xen also gives PV vcpus a 10 ms periodic timer on the same VIRQ;
     * Linux turns it off, so do we (it may not exist: ignore errors). */
    HYPERVISOR_vcpu_op(VCPUOP_stop_periodic_timer, 0, NULL);

    evtchn_port_t port = rt_bind_virq(VIRQ_TIMER, 0);
    rt_bind_handler(port, on_timer, NULL);

    start = last = rt_now_ns();
    deadline = start + period;
    rt_printf("timer: VIRQ_TIMER on port %u, period %lu ns, %lu ticks, start %lu ns\n",
              port, period, ticks, start);
    rt_check(HYPERVISOR_set_timer_op(deadline), "set_timer_op");

    if (ticks > 0)
        rt_wait(&done);

    uint64_t total = last - start;
    rt_printf("timer: done ticks=%lu total=%lu ns mean=%lu ns min=%lu ns max=%lu ns\n",
              tick, total, tick ? total / tick : 0, tick ? min_interval : 0, max_interval);
    return 0;
}
