/* HYPERVISOR_vcpu_op (xen/common/domain.c do_vcpu_op, x86 arch_initialise_vcpu): bringing
 * secondary vcpus up and down, and the single-shot timer Linux programs through it. */
#include <string.h>

#include "models/evtchn.h"
#include "models/hypercall.h"
#include "models/hv_sink.h"
#include "models/shared_info.h"

/* x86-64 with 48-bit virtual addresses: bits 63..47 all equal. */
static bool is_canonical_address(uint64_t addr)
{
    uint64_t top = addr >> 47;

    return top == 0 || top == 0x1ffff;
}

static bool vcpu_context_canonical(const struct vcpu_guest_context *c)
{
    return is_canonical_address(c->user_regs.rip) && is_canonical_address(c->event_callback_eip) &&
           is_canonical_address(c->failsafe_callback_eip) &&
           is_canonical_address(c->syscall_callback_eip);
}

/* arch_set_info_guest, reduced to the registers and the callbacks: a PV guest always runs with
 * IF set and keeps IOPL out of its flags. The context's VGCF_* flags replace the vcpu's (the
 * failsafe and syscall "disables events" bits among them) and its virtual IDT's NMI slot
 * becomes the NMI callback. */
static void vcpu_load_context(struct vcpu *v, const struct vcpu_guest_context *c)
{
    const struct cpu_user_regs *u = &c->user_regs;
    struct hv_regs *r = &v->initial_regs;

    r->rax = u->rax;
    r->rbx = u->rbx;
    r->rcx = u->rcx;
    r->rdx = u->rdx;
    r->rsi = u->rsi;
    r->rdi = u->rdi;
    r->rbp = u->rbp;
    r->rsp = u->rsp;
    r->r8 = u->r8;
    r->r9 = u->r9;
    r->r10 = u->r10;
    r->r11 = u->r11;
    r->r12 = u->r12;
    r->r13 = u->r13;
    r->r14 = u->r14;
    r->r15 = u->r15;
    r->rip = u->rip;
    r->rflags = (u->rflags & ~(uint64_t)0x3000) | 0x200; /* clear IOPL, set IF */
    v->event_callback = c->event_callback_eip;
    v->callbacks.failsafe = c->failsafe_callback_eip;
    v->callbacks.syscall = c->syscall_callback_eip;
    v->callbacks.vgc_flags = c->flags;
    v->callbacks.nmi = c->trap_ctxt[2]; /* TRAP_nmi */
    v->initialised = true;
    v->context_pending = true;
}

#define X86_EFLAGS_ALL 0x003f7fd5u /* the flags a context may set (Xen's X86_EFLAGS_ALL) */
#define X86_EFLAGS_MBS 0x00000002u /* must be set */
#define X86_CR0_PG 0x80000000u
#define X86_CR4_PAE 0x00000020u
#define EFER_LME 0x00000100u

static bool hvm_canonical(uint64_t addr)
{
    uint64_t top = addr >> 47;
    return top == 0 || top == 0x1ffff;
}

/* An HVM vcpu's first context (Xen's arch_set_info_hvm_guest), in 64-bit mode: the checks on
 * rip, CR0.PG, CR4.PAE and EFER.LME, then the registers (flat 64-bit segments, as evsim's
 * vcpus always have). A 32-bit context is not modelled (evsim runs 64-bit guests only). */
static long vcpu_initialise_hvm(struct vcpu *v, uint64_t arg_gpa)
{
    struct vcpu_hvm_context c;
    const struct vcpu_hvm_x86_64 *r = &c.cpu_regs.x86_64;

    if (copy_from_guest(v->domain, &c, arg_gpa, sizeof(c)))
        return -XEN_EFAULT;
    if (v->initialised)
        return -XEN_EEXIST;
    if (c.pad != 0)
        return -XEN_EINVAL;
    if (c.mode == VCPU_HVM_MODE_32B)
        return -XEN_EOPNOTSUPP;
    if (c.mode != VCPU_HVM_MODE_64B || !hvm_canonical(r->rip) || !(r->cr0 & X86_CR0_PG) ||
        !(r->cr4 & X86_CR4_PAE) || !(r->efer & EFER_LME))
        return -XEN_EINVAL;
    v->initial_regs = (struct hv_regs){.rax = r->rax,
                                       .rcx = r->rcx,
                                       .rdx = r->rdx,
                                       .rbx = r->rbx,
                                       .rsp = r->rsp,
                                       .rbp = r->rbp,
                                       .rsi = r->rsi,
                                       .rdi = r->rdi,
                                       .rip = r->rip,
                                       .rflags = (r->rflags & X86_EFLAGS_ALL) | X86_EFLAGS_MBS};
    v->initialised = true;
    v->context_pending = true;
    return 0;
}

static long vcpu_initialise(struct vcpu *caller, struct vcpu *v, uint64_t arg_gpa)
{
    struct vcpu_guest_context ctxt;

    (void)caller;
    if (!vcpu_info_ptr(v))
        return -XEN_EINVAL; /* no vcpu_info (Xen: still the dummy one) */
    if (v->domain->hvm)
        return vcpu_initialise_hvm(v, arg_gpa);
    if (copy_from_guest(v->domain, &ctxt, arg_gpa, sizeof(ctxt)))
        return -XEN_EFAULT;
    if (v->initialised)
        return -XEN_EEXIST;
    if (!vcpu_context_canonical(&ctxt))
        return -XEN_EINVAL;
    vcpu_load_context(v, &ctxt);
    return 0;
}

static long vcpu_up(struct vcpu *caller, struct vcpu *v, uint64_t arg_gpa)
{
    (void)caller;
    (void)arg_gpa;
    if (!v->initialised)
        return -XEN_EINVAL;
    if (v->run_state != VCPU_DOWN)
        return 0;
    /* Xen only clears _VPF_down: a vcpu downed while blocked stays blocked unless an event
     * arrived meanwhile, and a vcpu taken down resumes where it stopped. */
    bool still_blocked = v->down_blocked && !vcpu_local_events_need_delivery(v);
    v->down_blocked = false;
    v->run_state = still_blocked ? VCPU_BLOCKED : VCPU_RUNNABLE;
    if (!still_blocked)
        sink_vcpu_up(v);
    return 0;
}

static bool domain_has_other_vcpu_up(const struct domain *d, const struct vcpu *v)
{
    for (unsigned i = 0; i < d->max_vcpus; i++)
        if (d->vcpu[i] != v && d->vcpu[i]->run_state != VCPU_DOWN)
            return true;
    return false;
}

/* Taking the last vcpu down powers the domain off, as in Xen. */
static long vcpu_down(struct vcpu *caller, struct vcpu *v, uint64_t arg_gpa)
{
    (void)caller;
    (void)arg_gpa;
    if (!domain_has_other_vcpu_up(v->domain, v)) {
        domain_shutdown(v->domain, SHUTDOWN_poweroff);
        return 0;
    }
    if (v->run_state == VCPU_DOWN)
        return 0;
    /* A poll ends (as if it returned); a plain block is remembered for VCPUOP_up. */
    v->down_blocked = v->run_state == VCPU_BLOCKED && !v->polling;
    if (v->polling) {
        v->polling = false;
        v->nr_poll_ports = 0;
        sink_timer(v, HV_TIMER_POLL, 0);
    }
    v->run_state = VCPU_DOWN;
    sink_vcpu_down(v);
    return 0;
}

static long vcpu_is_up(struct vcpu *caller, struct vcpu *v, uint64_t arg_gpa)
{
    (void)caller;
    (void)arg_gpa;
    return v->run_state != VCPU_DOWN;
}

/* Xen refuses periods below 1 ms (and beyond STIME_DELTA_MAX, unreachable with 64-bit ns here
 * but checked as Xen does). */
#define PERIODIC_MIN_NS 1000000ull
#define STIME_DELTA_MAX ((uint64_t)INT64_MAX)

static long vcpu_set_periodic(struct vcpu *caller, struct vcpu *v, uint64_t arg_gpa)
{
    struct vcpu_set_periodic_timer set;

    (void)caller;
    if (copy_from_guest(v->domain, &set, arg_gpa, sizeof(set)))
        return -XEN_EFAULT;
    if (set.period_ns < PERIODIC_MIN_NS || set.period_ns > STIME_DELTA_MAX)
        return -XEN_EINVAL;
    vcpu_set_periodic_timer(v, set.period_ns);
    return 0;
}

static long vcpu_stop_periodic(struct vcpu *caller, struct vcpu *v, uint64_t arg_gpa)
{
    (void)caller;
    (void)arg_gpa;
    vcpu_set_periodic_timer(v, 0);
    return 0;
}

static long vcpu_set_singleshot(struct vcpu *caller, struct vcpu *v, uint64_t arg_gpa)
{
    struct vcpu_set_singleshot_timer set;

    if (v != caller)
        return -XEN_EINVAL;
    if (copy_from_guest(v->domain, &set, arg_gpa, sizeof(set)))
        return -XEN_EFAULT;
    if (set.timeout_abs_ns < vcpu_now_ns(v) && (set.flags & VCPU_SSHOTTMR_future))
        return -XEN_ETIME;
    vcpu_set_singleshot_timer(v, set.timeout_abs_ns);
    return 0;
}

static long vcpu_stop_singleshot(struct vcpu *caller, struct vcpu *v, uint64_t arg_gpa)
{
    (void)arg_gpa;
    if (v != caller)
        return -XEN_EINVAL;
    vcpu_stop_singleshot_timer(v);
    return 0;
}

/* Xen 4.22's common_vcpu_op (VCPUOP_register_vcpu_info) and map_guest_area, in their order.
 * The address first: mfn << PAGE_SHIFT plus the offset must neither be all ones nor land
 * outside the frame named (an offset of a page or more, or an mfn that shifts out). */
static long vcpu_info_gaddr(const struct vcpu_register_vcpu_info *info, uint64_t *gaddr)
{
    *gaddr = (info->mfn << 12) + info->offset;
    if (*gaddr == ~0ull || *gaddr >> 12 != info->mfn)
        return -XEN_EINVAL;
    return 0;
}

/* The area must lie in one page and be aligned to the guest's xen_ulong_t (compat_ulong_t for
 * a 32-bit guest), else -ENXIO; the frame must be guest memory (check_get_page_from_gfn's
 * -EINVAL). Xen's -EACCES for a page that cannot take a writable type (a PV page table or
 * descriptor table) has no counterpart: evsim's guests have no such pages. */
static long vcpu_info_map(struct vcpu *v, uint64_t gaddr, struct vcpu_info **out,
                          uint64_t *page_gpa)
{
    unsigned align = v->domain->guest_word_bits / 8;
    uint8_t *page;

    if (gaddr >> 12 != (gaddr + sizeof(struct vcpu_info) - 1) >> 12)
        return -XEN_ENXIO;
    if (gaddr % align)
        return -XEN_ENXIO;
    page = guest_frame_ptr(v->domain, gaddr >> 12, page_gpa);
    if (!page)
        return -XEN_EINVAL;
    *out = (struct vcpu_info *)(page + gaddr % XEN_PAGE_SIZE);
    return 0;
}

/* Xen's vcpu_info_populate: a copy of the current vcpu_info (the legacy slot), or zeroed with
 * upcalls masked for a vcpu that had none (Xen's dummy_vcpu_info). */
static void vcpu_info_populate(struct vcpu *v, struct vcpu_info *new_info)
{
    struct vcpu_info *old_info = vcpu_info_ptr(v);
    struct hv *hv = v->domain->hv;

    guest_touch(hv, new_info, sizeof(*new_info), GUEST_WRITE);
    if (old_info) {
        guest_touch(hv, old_info, sizeof(*old_info), GUEST_READ);
        memmove(new_info, old_info, sizeof(*new_info)); /* the guest may name the same place */
    } else {
        memset(new_info, 0, sizeof(*new_info));
        new_info->evtchn_upcall_mask = 1;
    }
}

/* One registration per vcpu (-EBUSY after it, wherever the new one would go). Another vcpu,
 * running or not, is paused for the switch in Xen (4.17 refused it): in the model the
 * hypercall is atomic, so there is nothing to wait for. After the switch everything is marked
 * pending so that no event raised meanwhile is lost: every selector bit of the guest's word
 * size, and upcall_pending (kicking or waking v as any raise would); then the time is
 * published in the new place (force_update_vcpu_system_time). Xen keeps the page whatever the
 * ABI; the simulator prices the guest's accesses to it like shared_info's. */
static long vcpu_register_vcpu_info(struct vcpu *caller, struct vcpu *v, uint64_t arg_gpa)
{
    struct vcpu_register_vcpu_info info;
    struct vcpu_info *new_info = NULL;
    uint64_t gaddr, page_gpa = 0;
    long rc;

    (void)caller;
    if (copy_from_guest(v->domain, &info, arg_gpa, sizeof(info)))
        return -XEN_EFAULT;
    rc = vcpu_info_gaddr(&info, &gaddr);
    if (rc)
        return rc;
    if (v->vcpu_info_reg)
        return -XEN_EBUSY;
    rc = vcpu_info_map(v, gaddr, &new_info, &page_gpa);
    if (rc)
        return rc;
    vcpu_info_populate(v, new_info);
    v->vcpu_info_reg = new_info;
    v->vcpu_info_gpa = page_gpa + gaddr % XEN_PAGE_SIZE;
    vcpu_info_sel_xchg(v->domain, new_info, ~0ull); /* in the guest's width and place */
    vcpu_mark_events_pending(v);
    sink_update_time(v);
    sink_event_page(v->domain, page_gpa, HV_PAGE_VCPU_INFO, v->vcpu_id);
    return 0;
}

/* X(command, handler); NULL: not modelled, -ENOSYS (named for the report). */
#define VCPU_OPS(X)                                                                                \
    X(initialise, vcpu_initialise)                                                                 \
    X(up, vcpu_up)                                                                                 \
    X(down, vcpu_down)                                                                             \
    X(is_up, vcpu_is_up)                                                                           \
    X(get_runstate_info, NULL)                                                                     \
    X(register_runstate_memory_area, NULL)                                                         \
    X(set_periodic_timer, vcpu_set_periodic)                                                       \
    X(stop_periodic_timer, vcpu_stop_periodic)                                                     \
    X(set_singleshot_timer, vcpu_set_singleshot)                                                   \
    X(stop_singleshot_timer, vcpu_stop_singleshot)                                                 \
    X(register_vcpu_info, vcpu_register_vcpu_info)

struct vcpu_op_desc {
    unsigned cmd;
    const char *name;
    long (*handler)(struct vcpu *caller, struct vcpu *v, uint64_t arg_gpa);
};

#define VCPU_OP_ENTRY(cmd_, fn_) [VCPUOP_##cmd_] = {VCPUOP_##cmd_, #cmd_, fn_},
static const struct vcpu_op_desc vcpu_op_table[] = {VCPU_OPS(VCPU_OP_ENTRY)};
#define VCPU_OP_NR (sizeof(vcpu_op_table) / sizeof(vcpu_op_table[0]))

#define VCPU_OP_NAME(cmd_, fn_) [VCPUOP_##cmd_] = #cmd_,
const char *const vcpu_op_names[] = {VCPU_OPS(VCPU_OP_NAME) NULL};

/* The target vcpu is checked before the command, so a bad id wins over an unknown op. */
long do_vcpu_op(struct vcpu *v, unsigned cmd, unsigned vcpuid, uint64_t arg_gpa)
{
    struct vcpu *target = domain_vcpu(v->domain, vcpuid);

    if (!target)
        return -XEN_ENOENT;
    if (cmd >= VCPU_OP_NR || !vcpu_op_table[cmd].handler)
        return -XEN_ENOSYS;
    return vcpu_op_table[cmd].handler(v, target, arg_gpa);
}
