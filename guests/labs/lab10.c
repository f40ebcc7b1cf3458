/*
 * Lab 10: the port limit and the 3-level ABI (docs/labs/lab10.md).
 *
 * Allocate as many ports as you are asked for, or as many as this domain may have, whichever
 * is fewer.  How many that is depends on the event-channel ABI the guest runs on (abi=2l, 3l
 * or fifo on its command line: the checker tries each) and on the toolstack's limit for the
 * domain (max_evtchn_port in the scenario).  Xen answers EVTCHNOP_alloc_unbound with -ENOSPC
 * when no port is left: that is an answer, not a failure.
 *
 * Write alloc_ports(): allocate ports with EVTCHNOP_alloc_unbound (dom = DOMID_SELF,
 * remote_dom = rt_domid: the harness binds the last one to itself) until `want` or -ENOSPC,
 * and return how many you got.  rt_evtchn_op() returns the hypercall's result (0 or
 * -XEN_Exxx).
 *
 * Check it with: evsim lab check 10 lab10.c
 */
#include "rt.h"

static unsigned int alloc_ports(unsigned int want)
{
    /* TODO */
    (void)want;
    return 0;
}

/* ---- the rest is the lab's test harness: leave it as it is ------------------------------- */

static volatile bool came;

static void on_last(evtchn_port_t port, void *arg)
{
    (void)port;
    (void)arg;
    came = true;
}

int main(void)
{
    unsigned int want = (unsigned int)rt_arg_u64("want", 5000);
    unsigned int got = alloc_ports(want);
    rt_printf("lab: abi=%s want=%u got=%u\n", rt_evtchn_abi(), want, got);
    if (got < 2)
        return 0;
    /* The last port got: the allocator hands out the lowest free port, so it is port `got`.
     * Free port 1 to bind to it (the table may be full), then send through it. */
    evtchn_port_t last = got;
    rt_bind_handler(last, on_last, NULL);
    rt_close(1);
    evtchn_port_t near = rt_bind_interdomain((domid_t)rt_domid, last);
    rt_clear_pending(near);
    rt_send(near);
    rt_wait(&came);
    rt_printf("lab: last=%u reached=%d\n", last, came);
    return 0;
}
