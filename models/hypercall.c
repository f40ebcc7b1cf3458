/* Hypercall dispatch: one table indexed by __HYPERVISOR_* number. Each wrapper unpacks the
 * argument registers (rdi, rsi, rdx, r10, r8, r9) for its handler; dispatch charges the trap
 * and the table walk, counts the call per (hypercall, sub-command), and writes the result to
 * rax, except for a preempted call, which is left to be re-executed. */
#include <string.h>

#include "models/evtchn.h"
#include "models/hypercall.h"
#include "models/hvm_op.h"
#include "models/pirq.h"

/* Xen's evtchn_bind_pirq and evtchn_close call pirq_guest_bind and pirq_guest_unbind; the
 * model's port table knows nothing of the EOI protocol, so the changed bindings are applied
 * here, once the operation is done (models/pirq.c checks its own line again wherever it acts,
 * which covers ports closed by a reset of another domain). */
static bool evtchn_op_may_change_pirq(unsigned cmd)
{
    return cmd == EVTCHNOP_bind_pirq || cmd == EVTCHNOP_close || cmd == EVTCHNOP_reset ||
           cmd == EVTCHNOP_reset_cont;
}

static long hc_event_channel_op(struct vcpu *v, struct hv_regs *regs)
{
    long rc = do_event_channel_op(v, (unsigned)regs->rdi, regs->rsi);

    if (evtchn_op_may_change_pirq((unsigned)regs->rdi))
        pirq_sync_bindings(v->domain);

    /* Only reset preempts; the guest re-executes the call as its continuation
     * (Xen's hypercall_create_continuation(..., EVTCHNOP_reset_cont, arg)). */
    if (v->hcall_continuation)
        regs->rdi = EVTCHNOP_reset_cont;
    return rc;
}

static long hc_sched_op(struct vcpu *v, struct hv_regs *regs)
{
    return do_sched_op(v, (unsigned)regs->rdi, regs->rsi);
}

static long hc_set_timer_op(struct vcpu *v, struct hv_regs *regs)
{
    return do_set_timer_op(v, regs->rdi);
}

/* A preempted write continues with what is left: the count and buffer registers move on
 * (Xen's hypercall_create_continuation(__HYPERVISOR_console_io, "iih", ...)). */
static long hc_console_io(struct vcpu *v, struct hv_regs *regs)
{
    unsigned count = (unsigned)regs->rsi;
    uint64_t buf = regs->rdx;
    long rc = do_console_io(v, (unsigned)regs->rdi, &count, &buf);

    if (v->hcall_continuation) {
        regs->rsi = count;
        regs->rdx = buf;
    }
    return rc;
}

static long hc_xen_version(struct vcpu *v, struct hv_regs *regs)
{
    return do_xen_version(v, (unsigned)regs->rdi, regs->rsi);
}

static long hc_vcpu_op(struct vcpu *v, struct hv_regs *regs)
{
    return do_vcpu_op(v, (unsigned)regs->rdi, (unsigned)regs->rsi, regs->rdx);
}

static long hc_callback_op(struct vcpu *v, struct hv_regs *regs)
{
    return do_callback_op(v, (unsigned)regs->rdi, regs->rsi);
}

static long hc_physdev_op(struct vcpu *v, struct hv_regs *regs)
{
    return do_physdev_op(v, (unsigned)regs->rdi, regs->rsi);
}

static long hc_set_callbacks(struct vcpu *v, struct hv_regs *regs)
{
    return do_set_callbacks(v, regs->rdi, regs->rsi, regs->rdx);
}

static long hc_iret(struct vcpu *v, struct hv_regs *regs)
{
    return do_iret(v, regs);
}

/* The operation is in guest memory (buffer 0), not a register: counted as one column. */
static long hc_dm_op(struct vcpu *v, struct hv_regs *regs)
{
    return do_dm_op(v, (domid_t)regs->rdi, (unsigned)regs->rsi, regs->rdx);
}

static long hc_memory_op(struct vcpu *v, struct hv_regs *regs)
{
    return do_memory_op(v, regs->rdi, regs->rsi);
}

static long hc_hvm_op(struct vcpu *v, struct hv_regs *regs)
{
    return do_hvm_op(v, regs->rdi, regs->rsi);
}

static long hc_domctl(struct vcpu *v, struct hv_regs *regs)
{
    return do_domctl(v, regs->rdi);
}

#define NAMES(a) a, (sizeof(a) / sizeof((a)[0]) - 1)

static const struct hypercall_desc hypercall_table[] = {
    [__HYPERVISOR_set_callbacks] = {"set_callbacks", hc_set_callbacks, NULL, 0, false, .pv = true,
                                    .wide = true},
    [__HYPERVISOR_set_timer_op] = {"set_timer_op", hc_set_timer_op, NULL, 0, false, .pv = true,
                                   .hvm = true},
    [__HYPERVISOR_xen_version] = {"xen_version", hc_xen_version, NAMES(xen_version_names), false,
                                  .pv = true, .hvm = true},
    [__HYPERVISOR_console_io] = {"console_io", hc_console_io, NAMES(console_io_names), false,
                                 .pv = true, .hvm = true, .wide = true},
    [__HYPERVISOR_iret] = {"iret", hc_iret, NULL, 0, true, .pv = true, .wide = true},
    [__HYPERVISOR_memory_op] = {"memory_op", hc_memory_op, NULL, 0, false, .pv = true, .hvm = true},
    [__HYPERVISOR_dm_op] = {"dm_op", hc_dm_op, NULL, 0, false, .pv = true, .hvm = true,
                            .wide = true},
    [__HYPERVISOR_domctl] = {"domctl", hc_domctl, NULL, 0, false, .pv = true, .hvm = true},
    [__HYPERVISOR_hvm_op] = {"hvm_op", hc_hvm_op, NULL, 0, false, .pv = true, .hvm = true},
    [__HYPERVISOR_vcpu_op] = {"vcpu_op", hc_vcpu_op, NAMES(vcpu_op_names), false, .pv = true,
                              .hvm = true, .wide = true},
    [__HYPERVISOR_sched_op] = {"sched_op", hc_sched_op, NAMES(sched_op_names), false, .pv = true,
                               .hvm = true},
    [__HYPERVISOR_callback_op] = {"callback_op", hc_callback_op, NAMES(callback_op_names), false,
                                  .pv = true},
    [__HYPERVISOR_physdev_op] = {"physdev_op", hc_physdev_op, NAMES(physdev_op_names), false,
                                 physdev_op_column, .pv = true, .hvm = true},
    [__HYPERVISOR_event_channel_op] = {"event_channel_op", hc_event_channel_op,
                                       NAMES(evtchn_op_names), false, evtchn_op_column, .pv = true,
                                       .hvm = true},
};
#define HYPERCALL_NR (sizeof(hypercall_table) / sizeof(hypercall_table[0]))

_Static_assert(HYPERCALL_NR <= HC_STATS_NR, "every hypercall has a stats row");

const struct hypercall_desc *hypercall_lookup(unsigned nr)
{
    if (nr >= HYPERCALL_NR || !hypercall_table[nr].fn)
        return NULL;
    return &hypercall_table[nr];
}

/* x86 Xen preempts when a softirq is pending on the CPU or local_events_need_delivery() holds
 * for the caller. The model has no softirqs (timers and scheduling belong to the simulator and
 * never interrupt a hypercall), so what remains is the second half: the caller has an event
 * upcall pending and not masked, which the guest handles before re-issuing the call. */
bool hypercall_preempt_check(struct vcpu *curr)
{
    return vcpu_local_events_need_delivery(curr);
}

/* Sub-commands beyond the stats table share its last column ("other"). */
static struct hc_counter *hypercall_counter(struct domain *d, unsigned nr,
                                            const struct hypercall_desc *desc,
                                            const struct hv_regs *regs)
{
    uint64_t sub = desc && desc->sub_names ? regs->rdi : 0;

    if (nr >= HC_STATS_NR)
        return NULL;
    if (desc && desc->sub_column)
        sub = desc->sub_column(sub);
    return &d->stats.hc[nr][sub < HC_STATS_SUB ? sub : HC_STATS_SUB - 1];
}

static void hypercall_count(struct vcpu *v, struct hc_counter *c, const struct hypercall_desc *desc,
                            long rc)
{
    v->stats.hypercalls++;
    if (!c)
        return;
    c->calls++;
    if (rc < 0 && !(desc && desc->returns_frame))
        c->errors++;
}

/* The trap into Xen and its table walk, charged before any handler runs. */
static void hypercall_enter(struct vcpu *v)
{
    v->hcall_cycles = 0;
    v->hcall_continuation = false;
    vcpu_charge(v, v->domain->hvm ? COST_HVM_EXIT : COST_PV_TRAP);
    vcpu_charge(v, COST_HYPERCALL_DISPATCH);
}

void hypercall_dispatch(struct vcpu *v, struct hv_regs *regs)
{
    struct hv *hv = v->domain->hv;
    unsigned nr = regs->rax < HC_STATS_NR ? (unsigned)regs->rax : HC_STATS_NR;
    const struct hypercall_desc *desc = hypercall_lookup(nr);
    struct hc_counter *counter;
    long rc;

    hypercall_enter(v);
    /* Counted before the handler runs: the sub-command register may be rewritten by it. */
    counter = hypercall_counter(v->domain, nr, desc, regs);
    hv->current = v;
    rc = desc && (v->domain->hvm ? desc->hvm : desc->pv) ? desc->fn(v, regs) : -XEN_ENOSYS;
    hv->current = NULL;
    hypercall_count(v, counter, desc, rc);
    /* A preempted call leaves rax holding the hypercall number: sim/ rewinds rip to the
     * trap instruction and the guest issues the (rewritten) call again. */
    if (!v->hcall_continuation)
        regs->rax = (uint64_t)rc;
}

/* What hypercall_dispatch does for event_channel_op(EVTCHNOP_send): offered to PV and HVM
 * alike, counted in the send's own column, no pirq binding to sync, never preempted. */
_Static_assert(EVTCHNOP_send < HC_STATS_SUB - 1, "send has its own stats column");

long hypercall_event_channel_send(struct vcpu *v, struct evtchn_send *arg)
{
    struct hv *hv = v->domain->hv;
    struct hc_counter *counter = &v->domain->stats.hc[__HYPERVISOR_event_channel_op][EVTCHNOP_send];
    long rc;

    hypercall_enter(v);
    hv->current = v;
    rc = do_event_channel_send(v, arg);
    hv->current = NULL;
    hypercall_count(v, counter, &hypercall_table[__HYPERVISOR_event_channel_op], rc);
    return rc;
}

long hypercall_issue(struct vcpu *v, unsigned nr, uint64_t a1, uint64_t a2, uint64_t a3)
{
    struct hv_regs regs = {.rax = nr, .rdi = a1, .rsi = a2, .rdx = a3};

    hypercall_dispatch(v, &regs);
    return (long)regs.rax;
}
