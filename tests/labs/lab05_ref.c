/* Lab 5, reference solution: the checker gives it full points (tests/labs/CMakeLists.txt). */
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

static void on_timer(evtchn_port_t port, void *arg)
{
    (void)port;
    (void)arg;
    if (rt_now_ns() < deadline) { /* early or spurious: arm again */
        rt_check(HYPERVISOR_set_timer_op(deadline), "set_timer_op");
        return;
    }
    tick();
    if (!done) {
        deadline += period; /* from the previous deadline: no drift */
        rt_check(HYPERVISOR_set_timer_op(deadline), "set_timer_op");
    }
}

int main(void)
{
    period = rt_arg_u64("period", 1000000);
    ticks = rt_arg_u64("ticks", 5);
    start = rt_now_ns();
    rt_printf("lab: start=%lu period=%lu ticks=%lu\n", start, period, ticks);

    rt_check(HYPERVISOR_vcpu_op(VCPUOP_stop_periodic_timer, 0, NULL), "VCPUOP_stop_periodic_timer");
    rt_bind_handler(rt_bind_virq(VIRQ_TIMER, 0), on_timer, NULL);
    deadline = start + period;
    rt_check(HYPERVISOR_set_timer_op(deadline), "set_timer_op");
    rt_wait(&done);

    rt_printf("lab: done ticks=%lu\n", count);
    return 0;
}
