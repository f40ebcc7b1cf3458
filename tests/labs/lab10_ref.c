/* Lab 10, reference solution: the checker gives it full points (tests/labs/CMakeLists.txt). */
#include "rt.h"

static unsigned int alloc_ports(unsigned int want)
{
    unsigned int got = 0;
    while (got < want) {
        struct evtchn_alloc_unbound op = {.dom = DOMID_SELF, .remote_dom = (domid_t)rt_domid};
        long rc = rt_evtchn_op(EVTCHNOP_alloc_unbound, &op);
        if (rc == -XEN_ENOSPC) /* the table is full: the domain's limit */
            break;
        rt_check(rc, "EVTCHNOP_alloc_unbound");
        got++;
    }
    return got;
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
