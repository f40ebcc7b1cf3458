/* Lab 9, known wrong: raises every port, the urgent one included, to the same priority. */
#include "rt.h"

static void set_priorities(evtchn_port_t urgent, unsigned int bulk)
{
    for (evtchn_port_t p = 1; p <= urgent; p++) { /* WRONG: all equal, nothing gained */
        struct evtchn_set_priority op = {.port = p, .priority = 0};
        rt_check(rt_evtchn_op(EVTCHNOP_set_priority, &op), "EVTCHNOP_set_priority");
    }
    (void)bulk;
}

/* ---- the rest is the lab's test harness: leave it as it is ------------------------------- */

static uint64_t work;
static volatile uint64_t bulks, urgents;
static volatile bool done;

static void on_bulk(evtchn_port_t port, void *arg)
{
    (void)port;
    (void)arg;
    uint64_t until = rt_now_ns() + work; /* a slow handler: the bulk queue fills meanwhile */
    while (rt_now_ns() < until)
        rt_barrier();
    bulks++;
}

static void on_urgent(evtchn_port_t port, void *arg)
{
    (void)port;
    (void)arg;
    urgents++;
}

static void on_done(evtchn_port_t port, void *arg)
{
    (void)port;
    (void)arg;
    done = true;
}

int main(void)
{
    unsigned int bulk = (unsigned int)rt_arg_u64("bulk", 8);
    work = rt_arg_u64("work", 2000);
    if (strcmp(rt_evtchn_abi(), "fifo") != 0)
        rt_panic("lab 9 runs on the FIFO ABI: put abi=fifo on the command line");
    /* ports 1..bulk, bulk+1 urgent, bulk+2 done: the partner binds them in this order */
    for (unsigned int i = 1; i <= bulk + 2; i++)
        if (rt_alloc_unbound(0) != i)
            rt_panic("alloc_unbound: expected port %u", i);
    evtchn_port_t urgent = bulk + 1;
    set_priorities(urgent, bulk);
    for (unsigned int i = 1; i <= bulk; i++)
        rt_bind_handler(i, on_bulk, NULL);
    rt_bind_handler(urgent, on_urgent, NULL);
    rt_bind_handler(urgent + 1, on_done, NULL);
    rt_wait(&done);
    rt_printf("lab: bulks=%lu urgents=%lu\n", bulks, urgents);
    return 0;
}
