/* HVM guests' event delivery: HYPERVISOR_hvm_op's parameters and upcall vectors, and the
 * interrupt Xen injects for events (models/hvm_op.c). sim/ reads the guest's IDTR and
 * segment selectors from the CPU, checks RFLAGS.IF (Xen waits for an interrupt window) and
 * calls hvm_inject_vector. */
#ifndef EVSIM_MODELS_HVM_OP_H
#define EVSIM_MODELS_HVM_OP_H

#include <stdbool.h>
#include <stdint.h>

#include "models/domain.h"

/* HYPERVISOR_hvm_op: HVMOP_set_param, HVMOP_get_param, HVMOP_set_evtchn_upcall_vector;
 * 0 or a negative Xen errno (-ENOSYS for the others). */
long do_hvm_op(struct vcpu *v, uint64_t op, uint64_t arg_gpa);

/* The vector Xen injects into v for its events now, 0 if none (not HVM, no vector chosen, or
 * upcall_pending clear). */
uint8_t hvm_upcall_vector(struct vcpu *v);

/* The guest's IDTR. */
struct hvm_idt {
    uint64_t base;
    uint32_t limit;
};

/* Deliver vector as the CPU does in 64-bit mode: the gate from the guest's IDT (interrupt or
 * trap gate, present), the frame (rip, cs, rflags, rsp, ss) pushed on the current stack
 * aligned to 16 bytes, TF/NT/RF cleared, IF too for an interrupt gate, rip the gate's offset.
 * The gate's selector and IST are not used (the handler runs with the current cs and stack).
 * 0, or -XEN_EFAULT when the gate is missing or the stack not writable (a real CPU would fault
 * on; the simulator crashes the domain). idt NULL (a replay, which has no guest IDT): only the
 * flags an interrupt gate clears, and the count. */
int hvm_inject_vector(struct vcpu *v, struct hv_regs *r, const struct hvm_idt *idt, uint16_t cs,
                      uint16_t ss, uint8_t vector);

/* v executed hlt (a VM exit; Xen's hvm_hlt), with RFLAGS.IF as given. */
void hvm_hlt(struct vcpu *v, bool interrupts_on);

#endif
