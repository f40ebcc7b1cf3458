/*
 * pirq: a physical interrupt line routed to an event channel, taken with
 * the EOI protocol a Linux PV guest follows (drivers/xen/events/
 * events_base.c).
 *
 *   At boot, a zeroed page is registered as the EOI bitmap
 *   (PHYSDEVOP_pirq_eoi_gmfn_v2): Xen sets a line's bit when the line is
 *   bound if the line needs an EOI (level-triggered), clears it if not.
 *   EVTCHNOP_bind_pirq(pirq) -> port, then PHYSDEVOP_irq_status_query
 *   (XENIRQSTAT_needs_eoi, for guests without the bitmap).  After each
 *   event is handled: PHYSDEVOP_eoi if the line's bit is set (Linux's
 *   eoi_pirq), so that Xen lets the line fire again.  Raises of a level
 *   line wait in Xen until then; those of an edge line that arrive while
 *   the port is still pending coalesce, as for any event channel.
 *
 * Parameters: line=<pirq> (default 5), count=<n> events to wait for
 *             (default 10), eoi=v2|v1|query|never (default v2):
 *               v2     bitmap registered with pirq_eoi_gmfn_v2, EOI when
 *                      the line's bit is set
 *               v1     the same with pirq_eoi_gmfn_v1 (Xen also unmasks the
 *                      port at the EOI)
 *               query  no bitmap: EOI when irq_status_query said
 *                      needs_eoi (Xen always says so)
 *               never  no EOI at all: Xen's 1 ms timer forces it
 */
#include "rt.h"

static uint64_t count, seen, first, last, eois;
static volatile bool done;
static uint32_t line;
static bool needs_eoi_flag;           /* XENIRQSTAT_needs_eoi at bind */
static bool eoi_never;                /* eoi=never: a guest that does not follow the protocol */
static volatile xen_ulong_t *eoi_map; /* the registered bitmap, or NULL */

/* Linux's pirq_eoi_gmfn registration, v2 or v1: Xen's bitmap of lines needing an EOI, in a
 * zeroed page (rt_alloc_pages zeroes it). */
static void register_eoi_map(int cmd)
{
    eoi_map = rt_alloc_pages(1);
    struct physdev_pirq_eoi_gmfn map = {.gmfn = (uintptr_t)eoi_map / 4096};
    rt_check(HYPERVISOR_physdev_op(cmd, &map), "PHYSDEVOP_pirq_eoi_gmfn");
}

/* pirq_needs_eoi: the bitmap when there is one, else what the status query said. */
static bool needs_eoi(void)
{
    if (eoi_never)
        return false;
    if (eoi_map != NULL)
        return (eoi_map[line / 64] >> (line % 64)) & 1;
    return needs_eoi_flag;
}

static void on_irq(evtchn_port_t port, void *arg)
{
    (void)port;
    (void)arg;
    last = rt_now_ns();
    if (seen++ == 0)
        first = last;
    if (needs_eoi()) {
        struct physdev_eoi eoi = {.irq = line};
        rt_check(HYPERVISOR_physdev_op(PHYSDEVOP_eoi, &eoi), "PHYSDEVOP_eoi(%u)", line);
        eois++;
    }
    if (seen == count)
        done = true;
}

int main(void)
{
    line = (uint32_t)rt_arg_u64("line", 5);
    count = rt_arg_u64("count", 10);
    eoi_never = rt_arg_is("eoi", "never");
    if (rt_arg_is("eoi", "v1"))
        register_eoi_map(PHYSDEVOP_pirq_eoi_gmfn_v1);
    else if (!rt_arg_is("eoi", "query") && !eoi_never)
        register_eoi_map(PHYSDEVOP_pirq_eoi_gmfn_v2);

    struct evtchn_bind_pirq bind = {.pirq = line, .flags = 0};
    rt_check(rt_evtchn_op(EVTCHNOP_bind_pirq, &bind), "EVTCHNOP_bind_pirq(%u)", line);
    struct physdev_irq_status_query status = {.irq = line};
    rt_check(HYPERVISOR_physdev_op(PHYSDEVOP_irq_status_query, &status),
             "PHYSDEVOP_irq_status_query(%u)", line);
    needs_eoi_flag = (status.flags & XENIRQSTAT_needs_eoi) != 0;
    rt_bind_handler(bind.port, on_irq, NULL);
    rt_printf("pirq: line %u on port %u, waiting for %lu events, eoi=%s, needs eoi: %s\n", line,
              bind.port, count, rt_arg_str("eoi", "v2"), needs_eoi() ? "yes" : "no");

    /* Binding the same line twice is refused. */
    struct evtchn_bind_pirq again = {.pirq = line, .flags = 0};
    long rc = rt_evtchn_op(EVTCHNOP_bind_pirq, &again);
    rt_printf("pirq: second bind of line %u: %ld (%s)\n", line, rc, rt_strerror(rc));

    if (count > 0)
        rt_wait(&done);
    rt_printf("pirq: done events=%lu eois=%lu first=%lu ns last=%lu ns\n", seen, eois, first, last);
    return 0;
}
