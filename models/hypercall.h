/* Hypercall dispatch: one table indexed by hypercall number, each entry naming its handler and,
 * for multiplexed hypercalls, its sub-command names (for the report). */
#ifndef EVSIM_MODELS_HYPERCALL_H
#define EVSIM_MODELS_HYPERCALL_H

#include "models/domain.h"

typedef long (*hypercall_fn)(struct vcpu *v, struct hv_regs *regs);

struct hypercall_desc {
    const char *name;
    hypercall_fn fn;
    const char *const *sub_names; /* NULL-terminated names of sub-commands, or NULL */
    unsigned nr_sub;
};

/* Handle the hypercall in regs->rax with arguments rdi, rsi, rdx, r10, r8, r9; the result goes
 * to regs->rax unless the handler changed the frame itself (iret). Unknown numbers: -ENOSYS.
 * Charges the trap and dispatch costs to v->hcall_cycles (which it resets first). */
void hypercall_dispatch(struct vcpu *v, struct hv_regs *regs);
const struct hypercall_desc *hypercall_lookup(unsigned nr); /* NULL if none */

/* The individual hypercalls (sched.c, vcpu.c, pv.c, console.c, version.c). */
long do_sched_op(struct vcpu *v, unsigned cmd, uint64_t arg_gpa);
long do_set_timer_op(struct vcpu *v, uint64_t timeout_ns);
long do_vcpu_op(struct vcpu *v, unsigned cmd, unsigned vcpuid, uint64_t arg_gpa);
long do_callback_op(struct vcpu *v, unsigned cmd, uint64_t arg_gpa);
long do_console_io(struct vcpu *v, unsigned cmd, unsigned count, uint64_t buf_gpa);
long do_xen_version(struct vcpu *v, unsigned cmd, uint64_t arg_gpa);
long do_iret(struct vcpu *v, struct hv_regs *regs);

/* A timer armed through the sink expired (sim/ calls this at the deadline). */
void vcpu_timer_expired(struct vcpu *v, enum hv_timer_kind kind);

#endif
