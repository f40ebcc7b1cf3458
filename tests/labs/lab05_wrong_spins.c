/* Lab 5, known wrong: waits by spinning on the clock instead of blocking. */
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

static uint64_t deadline;

int main(void)
{
    period = rt_arg_u64("period", 1000000);
    ticks = rt_arg_u64("ticks", 5);
    start = rt_now_ns();
    rt_printf("lab: start=%lu period=%lu ticks=%lu\n", start, period, ticks);

    rt_check(HYPERVISOR_vcpu_op(VCPUOP_stop_periodic_timer, 0, NULL), "VCPUOP_stop_periodic_timer");
    deadline = start + period;
    while (!done) { /* WRONG: the vcpu burns its CPU instead of blocking */
        while (rt_now_ns() < deadline)
            rt_barrier();
        tick();
        deadline += period;
    }

    rt_printf("lab: done ticks=%lu\n", count);
    return 0;
}
