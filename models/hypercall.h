/* Hypercall dispatch: one table indexed by hypercall number, each entry naming its handler and,
 * for multiplexed hypercalls, its sub-command names (for the report). */
#ifndef EVSIM_MODELS_HYPERCALL_H
#define EVSIM_MODELS_HYPERCALL_H

#include "models/domain.h"

typedef long (*hypercall_fn)(struct vcpu *v, struct hv_regs *regs);

struct hypercall_desc {
    const char *name;
    hypercall_fn fn;
    const char *const *sub_names; /* names of sub-commands indexed by command, or NULL */
    unsigned nr_sub;
    /* The handler rewrites the guest frame itself (iret): its result is the restored rax,
     * never an error code, and is not counted as one. */
    bool returns_frame;
    /* Optional: the stats column of a sub-command (default: the command itself, commands
     * beyond the table sharing the last column). */
    unsigned (*sub_column)(uint64_t cmd);
    /* Which guests Xen's hypercall tables offer it to (hypercall-defs.c); the others get
     * -ENOSYS. */
    bool pv, hvm;
    /* Its handler reads or rewrites more than rdi and rsi: see HYPERCALL_WIDE_MASK. */
    bool wide;
};

/* Handle the hypercall in regs->rax with arguments rdi, rsi, rdx, r10, r8, r9; the result goes
 * to regs->rax (for iret: the restored rax). Unknown numbers: -ENOSYS. Charges the trap and
 * dispatch costs to v->hcall_cycles (which it resets first), sets hv->current for the call,
 * and counts it in d->stats.hc[nr][sub-command] and v->stats.hypercalls.
 * Preemption: when v->hcall_continuation is set on return, rax still holds the hypercall
 * number and the argument registers hold the continuation (EVTCHNOP_reset_cont in rdi): sim/
 * rewinds rip to the trap instruction so the guest issues it again. */
void hypercall_dispatch(struct vcpu *v, struct hv_regs *regs);
/* hypercall_dispatch of event_channel_op(EVTCHNOP_send, gpa), the busiest hypercall, without the
 * table walk, its argument copied from guest memory at gpa already (to *arg: the caller knows
 * the guest's memory; an argument it cannot copy goes to hypercall_dispatch, which fails it):
 * the same charges, counters and effects. Returns the result for rax. */
long hypercall_event_channel_send(struct vcpu *v, struct evtchn_send *arg);
const struct hypercall_desc *hypercall_lookup(unsigned nr); /* NULL if none */
/* The hypercalls whose handlers read or rewrite argument registers beyond rdi and rsi (rdx,
 * r10, r8, r9), or the whole frame (iret): sim/ loads those registers from the engine for these
 * only, every other handler sees them as 0. Numbers beyond the mask count as such. Keep it in
 * step with the table's .wide in hypercall.c (test_pv checks that they agree). */
#define HYPERCALL_WIDE_MASK                                                                        \
    ((1ull << __HYPERVISOR_set_callbacks) | (1ull << __HYPERVISOR_console_io) |                    \
     (1ull << __HYPERVISOR_iret) | (1ull << __HYPERVISOR_vcpu_op) | (1ull << __HYPERVISOR_dm_op))
static inline bool hypercall_wide(uint64_t nr)
{
    return nr >= 64 || ((HYPERCALL_WIDE_MASK >> nr) & 1);
}
/* hypercall_dispatch of nr(a1, a2, a3) as a guest without an engine issues it (tests, the
 * quiz): its result. */
long hypercall_issue(struct vcpu *v, unsigned nr, uint64_t a1, uint64_t a2, uint64_t a3);
/* Xen's hypercall_preempt_check() for the calling vcpu: should a long hypercall stop here and
 * continue later? See hypercall.c. */
bool hypercall_preempt_check(struct vcpu *curr);

/* The individual hypercalls (sched.c, vcpu.c, pv.c, console.c, version.c). */
long do_sched_op(struct vcpu *v, unsigned cmd, uint64_t arg_gpa);
long do_set_timer_op(struct vcpu *v, uint64_t timeout_ns);
long do_vcpu_op(struct vcpu *v, unsigned cmd, unsigned vcpuid, uint64_t arg_gpa);
long do_callback_op(struct vcpu *v, unsigned cmd, uint64_t arg_gpa);
long do_physdev_op(struct vcpu *v, unsigned cmd, uint64_t arg_gpa);
/* physdev_op's stats column of a command (its place in physdev_op_names; others: the last). */
unsigned physdev_op_column(uint64_t cmd);
long do_set_callbacks(struct vcpu *v, uint64_t event, uint64_t failsafe, uint64_t syscall);
/* count and buf_gpa are left at what remains to write when the call is preempted. */
long do_console_io(struct vcpu *v, unsigned cmd, unsigned *count, uint64_t *buf_gpa);
#define CONSOLE_CHUNK 127u /* guest_console_write's kbuf[128], less its terminator */
/* Xen's guest_loglvl for every domain's console lines (models/loglvl.h); printk's rate limit
 * starts afresh. */
void console_set_loglvl(struct hv *hv, int lower, int upper);
long do_xen_version(struct vcpu *v, unsigned cmd, uint64_t arg_gpa);
long do_iret(struct vcpu *v, struct hv_regs *regs);
/* HYPERVISOR_dm_op(domid, nr_bufs, bufs) (models/dm_op.c): bufs_gpa holds nr_bufs struct
 * xen_dm_op_buf, whose handles are guest-physical addresses in the model. */
long do_dm_op(struct vcpu *v, domid_t domid, unsigned nr_bufs, uint64_t bufs_gpa);
/* HYPERVISOR_memory_op(cmd, arg) (models/memory_op.c): XENMEM_acquire_resource,
 * XENMEM_add_to_physmap, XENMEM_add_to_physmap_batch and XENMEM_remove_from_physmap. */
long do_memory_op(struct vcpu *v, uint64_t cmd, uint64_t arg_gpa);
/* HYPERVISOR_domctl (models/domctl.c): pause and unpause only. */
long do_domctl(struct vcpu *v, uint64_t arg_gpa);

/* A timer armed through the sink expired (sim/ calls this at the deadline). */
void vcpu_timer_expired(struct vcpu *v, enum hv_timer_kind kind);

/* The single-shot timer as set_timer_op and VCPUOP_set_singleshot_timer use it: a deadline
 * already passed raises VIRQ_TIMER at once. */
void vcpu_set_singleshot_timer(struct vcpu *v, uint64_t deadline_ns);
void vcpu_stop_singleshot_timer(struct vcpu *v);
/* The periodic timer as Xen runs it: only while the vcpu is on a CPU. The simulator calls
 * vcpu_periodic_timer_work when it switches a vcpu in (a tick that fell due meanwhile is raised
 * at once) and vcpu_periodic_timer_stop when the vcpu leaves its CPU. */
#define PV_DEFAULT_PERIODIC_NS 10000000ull
void vcpu_set_periodic_timer(struct vcpu *v, uint64_t period_ns);
void vcpu_periodic_timer_work(struct vcpu *v);
void vcpu_periodic_timer_stop(struct vcpu *v);

/* Sub-command names of the multiplexed hypercalls, indexed by command, NULL-terminated (a
 * NULL inside marks a command the model does not implement). */
extern const char *const sched_op_names[SCHEDOP_poll + 2];
extern const char *const vcpu_op_names[VCPUOP_register_vcpu_info + 2];
extern const char *const callback_op_names[CALLBACKOP_unregister + 2];
extern const char *const console_io_names[CONSOLEIO_read + 2];
extern const char *const xen_version_names[XENVER_pagesize + 2];
extern const char *const physdev_op_names[6]; /* by column, see physdev_op_column */

#endif
