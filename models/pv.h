/* The 64-bit PV guest conventions around events: the bounce frame Xen builds to enter the event
 * callback, HYPERVISOR_iret, and the time info guests read. Pure functions over registers and
 * guest memory, so the conventions are unit-tested without an engine. */
#ifndef EVSIM_MODELS_PV_H
#define EVSIM_MODELS_PV_H

#include <stdbool.h>

#include "models/domain.h"

/* Would Xen enter the event callback before v's next instruction? (upcall_pending && !mask,
 * and a callback is registered). */
bool pv_upcall_deliverable(struct vcpu *v);
/* Build the bounce frame { rcx, r11, rip, cs, rflags, rsp, ss } below regs->rsp (16-byte
 * aligned), set upcall_mask if the callback asked for it, and point regs->rip at the callback.
 * The saved rflags.IF mirrors !upcall_mask. 0, or -XEN_EFAULT if the stack is not guest memory
 * (the caller crashes the domain, as Xen does). */
int pv_inject_upcall(struct vcpu *v, struct hv_regs *regs);

/* Xen's time scale for a TSC at cpu_khz (vcpu_time_info tsc_to_system_mul and tsc_shift). */
void pv_time_scale(uint64_t cpu_khz, uint32_t *mul, int8_t *shift);
/* Publish system_time/tsc_timestamp in v's vcpu_info with the version protocol. */
void pv_update_vcpu_time(struct vcpu *v, uint64_t tsc, uint64_t system_time_ns, uint64_t cpu_khz);

#endif
