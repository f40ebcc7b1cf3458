/* A guest that leaves Xen nowhere to deliver its events, for the crash tests: it replaces the
 * event callback the runtime registered at boot by address 0 (the only way to drop the event
 * callback: CALLBACKOP_unregister refuses it, CALLBACKOP_register accepts 0), then sends itself
 * an IPI with events enabled. On the way back from the send Xen finds upcall_pending set and
 * the mask clear, builds the bounce frame, finds no callback address and crashes the domain
 * (create_bounce_frame -> asm_domain_crash_synchronous). Kept apart from fault.c so that the
 * other crash goldens keep their addresses. */
#include "rt.h"

int main(void)
{
    struct callback_register cb = {.type = CALLBACKTYPE_event, .address = 0};
    rt_check(HYPERVISOR_callback_op(CALLBACKOP_register, &cb), "CALLBACKOP_register(event, 0)");
    evtchn_port_t port = rt_bind_ipi(0);
    rt_unmask(port);
    rt_printf("nocb: event callback 0, sending port %u to myself\n", port);
    rt_send(port);
    rt_printf("nocb: still running after the send\n"); /* never: Xen crashed the domain */
    return 0;
}
