/*
 * timer: the one-shot Xen timer and VIRQ_TIMER.
 *
 *   HYPERVISOR_set_timer_op(deadline) arms this vcpu's timer for an absolute
 *   Xen system time; when it expires Xen raises VIRQ_TIMER, which we bound
 *   to an event channel port.  The handler re-arms for the next period.
 *
 * mode=periodic uses Xen's periodic timer instead (VCPUOP_set_periodic_timer:
 * Xen re-arms it itself), and mode=default keeps the 100 Hz ticker every PV
 * vcpu starts with (period is then 10 ms whatever is asked).  Xen runs the
 * periodic timer only while the vcpu holds its CPU: schedule() stops it for
 * a vcpu that blocks.  So these modes wait by spinning, not by blocking (a
 * blocked vcpu would never get a periodic tick, which is why Linux uses the
 * one-shot timer when idle).
 *
 * Parameters: mode=oneshot|periodic|default (default oneshot),
 *             period=<ns> (default 1000000), ticks=<n> (default 10).
 */
#include "rt.h"

static uint64_t period, ticks;
static bool oneshot, default_tick;
static uint64_t deadline, start, last;
static uint64_t tick, min_interval = UINT64_MAX, max_interval;
static volatile bool done;

static void on_timer(evtchn_port_t port, void *arg)
{
    (void)port;
    (void)arg;
    uint64_t now = rt_now_ns();
    if (default_tick && tick == 0)
        deadline = now; /* Xen's 100 Hz phase is its own: measure from the first */
    if (oneshot && now < deadline) {
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
    rt_printf("timer: tick %lu at %lu ns, interval %lu ns, late by %lu ns\n", tick, now, interval,
              now - deadline);

    if (tick == ticks) {
        done = true;
        return;
    }
    deadline += period; /* periodic, without drift */
    if (oneshot)
        rt_check(HYPERVISOR_set_timer_op(deadline), "set_timer_op");
}

int main(void)
{
    period = rt_arg_u64("period", 1000000);
    ticks = rt_arg_u64("ticks", 10);
    default_tick = rt_arg_is("mode", "default");
    oneshot = !rt_arg_is("mode", "periodic") && !default_tick;

    /* Xen gives every PV vcpu a 10 ms periodic timer on VIRQ_TIMER. Linux
     * turns it off and uses the one-shot timer, and so does oneshot mode. */
    if (rt_arg_is("mode", "default")) {
        period = 10000000;
    } else {
        rt_check(HYPERVISOR_vcpu_op(VCPUOP_stop_periodic_timer, 0, NULL),
                 "VCPUOP_stop_periodic_timer");
    }

    evtchn_port_t port = rt_bind_virq(VIRQ_TIMER, 0);
    rt_bind_handler(port, on_timer, NULL);

    start = last = rt_now_ns();
    deadline = start + period;
    rt_printf("timer: VIRQ_TIMER on port %u, %s, period %lu ns, %lu ticks, start %lu ns\n", port,
              rt_arg_str("mode", "oneshot"), period, ticks, start);
    if (oneshot) {
        rt_check(HYPERVISOR_set_timer_op(deadline), "set_timer_op");
    } else if (rt_arg_is("mode", "periodic")) {
        struct vcpu_set_periodic_timer set = {.period_ns = period};
        rt_check(HYPERVISOR_vcpu_op(VCPUOP_set_periodic_timer, 0, &set),
                 "VCPUOP_set_periodic_timer");
    }

    if (ticks > 0 && oneshot)
        rt_wait(&done);
    while (ticks > 0 && !done)
        rt_barrier(); /* spin: the periodic timer needs us on the CPU */

    uint64_t total = last - start;
    rt_printf("timer: done ticks=%lu total=%lu ns mean=%lu ns min=%lu ns max=%lu ns\n", tick, total,
              tick ? total / tick : 0, tick ? min_interval : 0, max_interval);
    return 0;
}
