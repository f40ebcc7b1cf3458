/*
 * Lab 5: VIRQ_TIMER, blocking and set_timer_op (docs/labs/lab05.md).
 *
 * Tick `ticks` times, every `period` ns, on Xen's one-shot timer, sleeping in between:
 *
 *   - Xen starts every PV vcpu with a 100 Hz periodic timer on VIRQ_TIMER: stop it
 *     (VCPUOP_stop_periodic_timer), as Linux does;
 *   - bind VIRQ_TIMER on vcpu 0 (EVTCHNOP_bind_virq, rt_bind_virq) and give it a handler;
 *   - arm the timer with HYPERVISOR_set_timer_op(deadline): when Xen's system time reaches
 *     `deadline`, VIRQ_TIMER is raised once;
 *   - in the handler, call tick() and arm the next deadline, `period` after the previous one;
 *   - wait with the vcpu blocked, not spinning: rt_wait() (SCHEDOP_block).
 *
 * Check it with: evsim lab check 5 lab05.c
 */
#include "rt.h"

static uint64_t period, ticks, start, count;
static volatile bool done;

/* Call once per timer event that is a tick: prints the line the checker reads. */
static void tick(void)
{
    count++;
    rt_printf("lab: tick=%lu at=%lu\n", count, rt_now_ns());
    if (count == ticks)
        done = true;
}

/* TODO: a handler for VIRQ_TIMER that calls tick() and arms the next deadline (unless that
 * was the last tick). */

int main(void)
{
    period = rt_arg_u64("period", 1000000);
    ticks = rt_arg_u64("ticks", 5);
    start = rt_now_ns();
    rt_printf("lab: start=%lu period=%lu ticks=%lu\n", start, period, ticks);

    /* TODO: stop the periodic timer, bind VIRQ_TIMER with your handler, arm the first
     * deadline (start + period) and wait until the last tick. */
    (void)tick;

    rt_printf("lab: done ticks=%lu\n", count);
    return 0;
}
