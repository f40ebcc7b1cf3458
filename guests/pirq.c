/*
 * pirq: a physical interrupt line routed to an event channel.
 *
 *   EVTCHNOP_bind_pirq(pirq) -> port: Xen delivers every raise of that
 *   physical IRQ line (here raised by the scenario's [pirq] section) as an
 *   event on the port.  Raises that arrive while the port is still pending
 *   coalesce, as for any event channel.
 *
 * Parameters: line=<pirq> (default 5), count=<n> events to wait for
 *             (default 10).
 */
#include "rt.h"

static uint64_t count, seen, first, last;
static volatile bool done;

static void on_irq(evtchn_port_t port, void *arg)
{
    (void)port;
    (void)arg;
    last = rt_now_ns();
    if (seen++ == 0)
        first = last;
    if (seen == count)
        done = true;
}

int main(void)
{
    uint32_t line = (uint32_t)rt_arg_u64("line", 5);
    count = rt_arg_u64("count", 10);

    struct evtchn_bind_pirq bind = {.pirq = line, .flags = 0};
    rt_check(rt_evtchn_op(EVTCHNOP_bind_pirq, &bind), "EVTCHNOP_bind_pirq(%u)", line);
    rt_bind_handler(bind.port, on_irq, NULL);
    rt_printf("pirq: line %u on port %u, waiting for %lu events\n", line, bind.port, count);

    /* Binding the same line twice is refused. */
    struct evtchn_bind_pirq again = {.pirq = line, .flags = 0};
    long rc = rt_evtchn_op(EVTCHNOP_bind_pirq, &again);
    rt_printf("pirq: second bind of line %u: %ld (%s)\n", line, rc, rt_strerror(rc));

    if (count > 0)
        rt_wait(&done);
    rt_printf("pirq: done events=%lu first=%lu ns last=%lu ns\n", seen, first, last);
    return 0;
}
