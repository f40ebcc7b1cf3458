/* HYPERVISOR_hvm_op for an HVM guest's event delivery (Xen 4.22's xen/arch/x86/hvm/hvm.c):
 * HVMOP_set_param / get_param (HVM_PARAM_CALLBACK_IRQ is the one with an effect here) and
 * HVMOP_set_evtchn_upcall_vector; and the delivery itself: the vector Xen injects
 * (hvm_vcpu_has_pending_irq) and the interrupt frame the CPU builds from the guest's IDT. */
#include "models/hvm_op.h"

#include <string.h>

#include "models/hv_sink.h"
#include "models/hypercall.h"
#include "models/shared_info.h"

/* The first vector that is not an exception (Xen's check on an upcall vector). */
#define FIRST_EXTERNAL_VECTOR 0x10u

/* hvm_set_callback_via: the vector type makes every vcpu's upcall that vector; other types
 * (a GSI, a PCI INTx line) need the emulated interrupt controllers, which are not modelled:
 * no upcall is delivered through them. */
static void hvm_set_callback_via(struct domain *d, uint64_t via)
{
    unsigned type = (unsigned)(via >> 56);

    d->callback_vector = via && type == HVM_PARAM_CALLBACK_TYPE_VECTOR ? (uint8_t)via : 0;
    for (unsigned i = 0; d->callback_vector && i < d->max_vcpus; i++)
        if (d->vcpu[i] && hvm_upcall_vector(d->vcpu[i]))
            sink_kick(d->vcpu[i]);
}

/* hvm_allow_set_param: a guest may set only the parameters meant for it (the callback among
 * them); the others are its toolstack's. */
static bool guest_may_set(uint32_t index)
{
    switch (index) {
    case HVM_PARAM_CALLBACK_IRQ:
    case HVM_PARAM_STORE_EVTCHN:
    case HVM_PARAM_CONSOLE_EVTCHN:
    case HVM_PARAM_X87_FIP_WIDTH:
        return true;
    default:
        return false;
    }
}

static long hvmop_param(struct vcpu *v, uint64_t arg_gpa, bool set)
{
    struct domain *caller = v->domain, *d;
    struct xen_hvm_param a;

    if (copy_from_guest(caller, &a, arg_gpa, sizeof(a)))
        return -XEN_EFAULT;
    d = domain_lookup(caller->hv, caller, a.domid); /* rcu_lock_domain_by_any_id */
    if (!d)
        return -XEN_ESRCH;
    if (!d->hvm)
        return -XEN_EINVAL;
    if (d != caller && !caller->privileged && !(caller->has_target && caller->target == d->domid))
        return -XEN_EPERM; /* XSM_TARGET */
    if (a.index >= HVM_NR_PARAMS)
        return -XEN_EINVAL;
    if (!set) {
        a.value = d->hvm_param[a.index];
        return copy_to_guest(caller, arg_gpa, &a, sizeof(a)) ? -XEN_EFAULT : 0;
    }
    if (d == caller && !guest_may_set(a.index))
        return -XEN_EPERM;
    if (a.index == HVM_PARAM_CALLBACK_IRQ)
        hvm_set_callback_via(d, a.value);
    d->hvm_param[a.index] = a.value;
    return 0;
}

static long hvmop_set_evtchn_upcall_vector(struct vcpu *v, uint64_t arg_gpa)
{
    struct domain *d = v->domain;
    struct xen_hvm_evtchn_upcall_vector op;
    struct vcpu *target;

    if (!d->hvm)
        return -XEN_EINVAL;
    if (copy_from_guest(d, &op, arg_gpa, sizeof(op)))
        return -XEN_EFAULT;
    if (op.vector < FIRST_EXTERNAL_VECTOR)
        return -XEN_EINVAL;
    target = op.vcpu < d->max_vcpus ? d->vcpu[op.vcpu] : NULL;
    if (!target)
        return -XEN_ENOENT;
    target->upcall_vector = op.vector;
    if (hvm_upcall_vector(target)) /* hvm_assert_evtchn_irq */
        sink_kick(target);
    return 0;
}

long do_hvm_op(struct vcpu *v, uint64_t op, uint64_t arg_gpa)
{
    switch (op) {
    case HVMOP_set_param:
        return hvmop_param(v, arg_gpa, true);
    case HVMOP_get_param:
        return hvmop_param(v, arg_gpa, false);
    case HVMOP_set_evtchn_upcall_vector:
        return hvmop_set_evtchn_upcall_vector(v, arg_gpa);
    default:
        return -XEN_ENOSYS;
    }
}

/* hvm_vcpu_has_pending_irq for events: the per-vcpu upcall vector (through the vLAPIC, which
 * is not modelled: injected while upcall_pending is set, no EOI needed), else the domain's
 * callback vector, each while the vcpu's upcall_pending is set. upcall_mask plays no part in
 * an HVM guest's delivery: it masks with RFLAGS.IF, which the caller checks. */
uint8_t hvm_upcall_vector(struct vcpu *v)
{
    const struct vcpu_info *vi = vcpu_info_ptr(v);
    uint8_t vector = v->upcall_vector ? v->upcall_vector : v->domain->callback_vector;

    if (!v->domain->hvm || !vector || !vi || !*vcpu_info_upcall_pending(vi))
        return 0;
    return vector;
}

/* An IDT gate, 16 bytes in 64-bit mode. */
struct idt_gate64 {
    uint16_t offset_lo, selector;
    uint8_t ist, type_attr;
    uint16_t offset_mid;
    uint32_t offset_hi, reserved;
};
_Static_assert(sizeof(struct idt_gate64) == 16, "64-bit IDT gate");

#define GATE_PRESENT 0x80u
#define GATE_TYPE(a) ((a)&0x0fu)
#define GATE_INTERRUPT 0x0eu
#define GATE_TRAP 0x0fu
#define RFLAGS_CLEARED_BY_INTERRUPT (X86_EFLAGS_TF | X86_EFLAGS_NT | X86_EFLAGS_RF | X86_EFLAGS_VM)

int hvm_inject_vector(struct vcpu *v, struct hv_regs *r, const struct hvm_idt *idt, uint16_t cs,
                      uint16_t ss, uint8_t vector)
{
    struct idt_gate64 g;
    uint64_t frame[5], sp = (r->rsp & ~15ull) - sizeof(frame);

    if (!idt) { /* replayed: the guest's gate was taken in the recording (an interrupt gate) */
        r->rflags &= ~(uint64_t)(RFLAGS_CLEARED_BY_INTERRUPT | X86_EFLAGS_IF);
        v->stats.upcalls_injected++;
        return 0;
    }
    if ((uint32_t)vector * sizeof(g) + sizeof(g) - 1 > idt->limit ||
        copy_from_guest(v->domain, &g, idt->base + (uint64_t)vector * sizeof(g), sizeof(g)))
        return -XEN_EFAULT;
    if (!(g.type_attr & GATE_PRESENT) ||
        (GATE_TYPE(g.type_attr) != GATE_INTERRUPT && GATE_TYPE(g.type_attr) != GATE_TRAP))
        return -XEN_EFAULT;
    /* The frame the CPU pushes for an interrupt in 64-bit mode, lowest address first. */
    frame[0] = r->rip;
    frame[1] = cs;
    frame[2] = r->rflags;
    frame[3] = r->rsp;
    frame[4] = ss;
    if (copy_to_guest(v->domain, sp, frame, sizeof(frame)))
        return -XEN_EFAULT;
    r->rflags &= ~(uint64_t)RFLAGS_CLEARED_BY_INTERRUPT;
    if (GATE_TYPE(g.type_attr) == GATE_INTERRUPT)
        r->rflags &= ~(uint64_t)X86_EFLAGS_IF;
    r->rsp = sp;
    r->rip = (uint64_t)g.offset_lo | (uint64_t)g.offset_mid << 16 | (uint64_t)g.offset_hi << 32;
    v->stats.upcalls_injected++;
    return 0;
}

/* hvm_hlt: a vcpu that halts with interrupts on blocks until an event is due (not at all if one
 * is); with interrupts off it can never wake, and Xen takes it down (hvm_vcpu_down), powering
 * the domain off when it was the last one up. */
void hvm_hlt(struct vcpu *v, bool interrupts_on)
{
    struct domain *d = v->domain;

    if (interrupts_on) {
        if (hvm_upcall_vector(v))
            return;
        v->run_state = VCPU_BLOCKED;
        v->stats.blocks++;
        return;
    }
    for (unsigned i = 0; i < d->max_vcpus; i++)
        if (d->vcpu[i] && d->vcpu[i] != v && d->vcpu[i]->run_state != VCPU_DOWN) {
            v->run_state = VCPU_DOWN;
            sink_vcpu_down(v);
            return;
        }
    domain_shutdown(d, SHUTDOWN_poweroff); /* "All CPUs offline -- powering off." */
}
