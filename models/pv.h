/* The 64-bit PV guest conventions around events: the bounce frame Xen builds to enter the event
 * callback, HYPERVISOR_iret, and the time info guests read. Pure functions over registers and
 * guest memory, so the conventions are unit-tested without an engine. */
#ifndef EVSIM_MODELS_PV_H
#define EVSIM_MODELS_PV_H

#include <stdbool.h>

#include "models/domain.h"
#include "models/shared_info.h"

/* Would Xen enter the event callback before v's next instruction? upcall_pending && !mask,
 * callback or not: a PV domain with none crashes in pv_inject_upcall, as in Xen. (An HVM
 * guest without a callback is simply not interrupted.) Inline: the simulator asks after every
 * hypercall.
 * Xen's test_guest_events looks at upcall_pending and upcall_mask only: whether a callback is
 * registered is found out in create_bounce_frame, too late to back off (a PV domain crashes).
 * An HVM guest's upcall is an interrupt vector it chose, none if it chose none. */
static inline bool pv_upcall_deliverable(struct vcpu *v)
{
    if (v->domain->hvm && v->event_callback == 0)
        return false;
    return vcpu_events_need_delivery(v);
}
/* Build the bounce frame { rcx, r11, rip, cs, rflags, rsp, ss } (rcx lowest) ending at
 * regs->rsp rounded down to 16 bytes, as create_bounce_frame does: new rsp = (rsp & ~15) - 56.
 * cs is FLAT_KERNEL_CS with RPL 0 and the saved upcall_mask in bits 32-39; the saved rflags.IF
 * is !upcall_mask and IOPL 0. Then set upcall_mask (event_callback_masks), clear TF/AC/NT/RF/VM
 * in regs->rflags and jump to the callback. Counts vcpu stats.upcalls_injected. 0, -XEN_EFAULT
 * if the stack is not guest memory (nothing written), -XEN_EINVAL without a vcpu_info, or
 * without a callback: then the frame is written and upcall_mask set but regs are left alone
 * (Xen's create_bounce_frame finds the address 0 last). On an error the caller crashes the
 * domain (asm_domain_crash_synchronous), as Xen does. */
int pv_inject_upcall(struct vcpu *v, struct hv_regs *regs);

/* Xen's time scale for a TSC at cpu_khz (vcpu_time_info tsc_to_system_mul and tsc_shift). */
void pv_time_scale(uint64_t cpu_khz, uint32_t *mul, int8_t *shift);
/* Publish system_time/tsc_timestamp in v's vcpu_info with the version protocol. */
void pv_update_vcpu_time(struct vcpu *v, uint64_t tsc, uint64_t system_time_ns, uint64_t cpu_khz);

#endif
