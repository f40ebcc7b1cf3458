/* Lab 1, known wrong: sends on a, the end whose handler should see the events. */
#include "rt.h"

static volatile uint64_t received;
static volatile bool seen;

static void on_a(evtchn_port_t port, void *arg)
{
    (void)port;
    (void)arg;
    received++;
    seen = true;
}

int main(void)
{
    uint64_t rounds = rt_arg_u64("rounds", 5), skip = rt_arg_u64("skip", 1);
    for (uint64_t i = 0; i < skip; i++)
        rt_bind_ipi(0);

    struct evtchn_alloc_unbound alloc = {.dom = DOMID_SELF, .remote_dom = (domid_t)rt_domid};
    rt_check(rt_evtchn_op(EVTCHNOP_alloc_unbound, &alloc), "alloc_unbound");
    evtchn_port_t a = alloc.port;
    struct evtchn_bind_interdomain bind = {.remote_dom = (domid_t)rt_domid, .remote_port = a};
    rt_check(rt_evtchn_op(EVTCHNOP_bind_interdomain, &bind), "bind_interdomain");
    evtchn_port_t b = bind.local_port;

    rt_bind_handler(a, on_a, NULL);

    for (uint64_t i = 0; i < rounds; i++) {
        seen = false;
        struct evtchn_send send = {.port = a}; /* WRONG: raises b */
        rt_check(rt_evtchn_op(EVTCHNOP_send, &send), "send");
        rt_wait(&seen);
    }

    rt_printf("lab: a=%u b=%u rounds=%lu received=%lu\n", a, b, rounds, received);
    return 0;
}
