/*
 * evsim guest runtime: the hook for replacing the 2-level upcall consumer.
 *
 * The lab course (docs/labs/) has students write the consumer themselves: the loop that Xen's
 * event callback runs to find pending ports and call their handlers (Linux:
 * drivers/xen/events/events_2l.c, evtchn_2l_handle_events).  The runtime's own consumer,
 * rt_upcall_2l in events_2l.c, is a weak symbol, so a program that defines
 *
 *     void rt_upcall_2l(void) { ... }
 *
 * replaces it: head.S's hypervisor_callback_2l calls the program's instead, with events masked
 * (evtchn_upcall_mask set by Xen, CALLBACKF_mask_events), on the interrupted stack, and
 * returns to the interrupted code through HYPERVISOR_iret when it returns.  Nothing else
 * changes: binding, masking and unmasking (rt_bind_handler, rt_mask, rt_unmask) are the
 * runtime's.  Only under abi=2l (the default): the 3-level and FIFO consumers are not
 * replaceable.  Programs that do not define it keep the runtime's consumer, unchanged.
 *
 * What a replacement needs, besides rt.h: rt_shared->evtchn_pending[] and evtchn_mask[] (the
 * shared_info bitmaps), rt_vcpu_info() (evtchn_upcall_pending, evtchn_pending_sel), the
 * atomic bit operations below, and rt_call_handler(port) to run the handler that
 * rt_bind_handler recorded for the port.  The runtime's consumer also filters the ports by the
 * vcpu that bound them; a replacement for a one-vcpu program need not.
 */
#ifndef EVGUEST_RT_HOOKS_H
#define EVGUEST_RT_HOOKS_H

#include "events.h"

/* The 2-level consumer: define it to replace the runtime's (weak) one. */
void rt_upcall_2l(void);

/* Run the handler rt_bind_handler recorded for `port`, if any. It does not clear the port's
 * pending bit: the caller clears it first (rt_sync_clear_bit), as the runtime's consumer does. */
static inline void rt_call_handler(evtchn_port_t port)
{
    rt_run_handler(port);
}

#endif
