/* 64-bit PV conventions around events: CALLBACKOP and set_callbacks
 * (xen/arch/x86/pv/callback.c), the bounce
 * frame of create_bounce_frame (xen/arch/x86/x86_64/entry.S), HYPERVISOR_iret
 * (xen/arch/x86/pv/iret.c) and the time scale of xen/arch/x86/time.c. */
#include <string.h>

#include "models/shared_info.h"
#include "models/hypercall.h"
#include "models/hv_sink.h"
#include "models/pv.h"

static bool pv_canonical(uint64_t addr)
{
    uint64_t top = addr >> 47;

    return top == 0 || top == 0x1ffff;
}

/* ---- CALLBACKOP and set_callbacks ---- */

#define TRAP_NMI 2u                  /* Xen's X86_EXC_NMI: the NMI slot of trap_ctxt */
#define FLAT_COMPAT_KERNEL_CS 0xe019 /* a 32-bit guest's kernel CS (Xen: FLAT_COMPAT_RING1_CS) */

static void vgc_flag_set(struct vcpu *v, uint64_t flag, bool on)
{
    if (on)
        v->callbacks.vgc_flags |= flag;
    else
        v->callbacks.vgc_flags &= ~flag;
}

/* The event callback takes no flags on x86-64: Xen enters it with TBF_INTERRUPT, so events
 * are always masked on entry (event_callback_masks stays true). */
static long register_event(struct vcpu *v, const struct callback_register *r)
{
    v->event_callback = r->address;
    v->event_callback_masks = true;
    return 0;
}

/* Failsafe and syscall keep "disables events" in the vcpu's VGCF_* flags, the same bits
 * VCPUOP_initialise loads; syscall32 and sysenter have booleans of their own. */
static long register_failsafe(struct vcpu *v, const struct callback_register *r)
{
    v->callbacks.failsafe = r->address;
    vgc_flag_set(v, VGCF_failsafe_disables_events, r->flags & CALLBACKF_mask_events);
    return 0;
}

static long register_syscall(struct vcpu *v, const struct callback_register *r)
{
    v->callbacks.syscall = r->address;
    vgc_flag_set(v, VGCF_syscall_disables_events, r->flags & CALLBACKF_mask_events);
    return 0;
}

static long register_syscall32(struct vcpu *v, const struct callback_register *r)
{
    v->callbacks.syscall32 = r->address;
    v->callbacks.syscall32_disables_events = (r->flags & CALLBACKF_mask_events) != 0;
    return 0;
}

static long register_sysenter(struct vcpu *v, const struct callback_register *r)
{
    v->callbacks.sysenter = r->address;
    v->callbacks.sysenter_disables_events = (r->flags & CALLBACKF_mask_events) != 0;
    return 0;
}

/* register_guest_nmi_callback: the NMI slot of the virtual IDT, entered with IF set (flags
 * ignored). Xen re-asserts an NMI a vcpu 0 without a handler may have lost when the platform
 * reports one (arch_get_nmi_reason): the model's platform raises no NMIs, so never. */
static long register_nmi(struct vcpu *v, const struct callback_register *r)
{
    struct trap_info *t = &v->callbacks.nmi;

    if (!pv_canonical(r->address))
        return -XEN_EINVAL;
    memset(t, 0, sizeof(*t));
    t->vector = TRAP_NMI;
    t->cs = v->domain->guest_word_bits == 32 ? FLAT_COMPAT_KERNEL_CS : FLAT_KERNEL_CS;
    t->address = r->address;
    TI_SET_IF(t, 1);
    return 0;
}

typedef long (*callback_register_fn)(struct vcpu *v, const struct callback_register *r);

/* By CALLBACKTYPE_*; a hole (3: the deprecated 32-bit sysenter, 6) is -ENOSYS. */
static const callback_register_fn callback_register_table[] = {
    [CALLBACKTYPE_event] = register_event,       [CALLBACKTYPE_failsafe] = register_failsafe,
    [CALLBACKTYPE_syscall] = register_syscall,   [CALLBACKTYPE_nmi] = register_nmi,
    [CALLBACKTYPE_sysenter] = register_sysenter, [CALLBACKTYPE_syscall32] = register_syscall32,
};
#define CALLBACK_TYPES (sizeof(callback_register_table) / sizeof(callback_register_table[0]))

/* register_guest_callback: the address is checked before the type, so a non-canonical
 * address is -EINVAL whatever the type. Always for the calling vcpu. */
static long register_guest_callback(struct vcpu *v, const struct callback_register *r)
{
    if (!pv_canonical(r->address))
        return -XEN_EINVAL;
    if (r->type >= CALLBACK_TYPES || !callback_register_table[r->type])
        return -XEN_ENOSYS;
    return callback_register_table[r->type](v, r);
}

static long callback_register(struct vcpu *v, uint64_t arg_gpa)
{
    struct callback_register reg;

    if (copy_from_guest(v->domain, &reg, arg_gpa, sizeof(reg)))
        return -XEN_EFAULT;
    return register_guest_callback(v, &reg);
}

/* Only the NMI callback can be unregistered; the others can only be replaced. */
static long callback_unregister(struct vcpu *v, uint64_t arg_gpa)
{
    struct callback_unregister unreg;

    if (copy_from_guest(v->domain, &unreg, arg_gpa, sizeof(unreg)))
        return -XEN_EFAULT;
    switch (unreg.type) {
    case CALLBACKTYPE_event:
    case CALLBACKTYPE_failsafe:
    case CALLBACKTYPE_syscall:
    case CALLBACKTYPE_syscall32:
    case CALLBACKTYPE_sysenter:
        return -XEN_EINVAL;
    case CALLBACKTYPE_nmi:
        memset(&v->callbacks.nmi, 0, sizeof(v->callbacks.nmi));
        return 0;
    default:
        return -XEN_ENOSYS;
    }
}

#define CALLBACK_OPS(X)                                                                            \
    X(register, callback_register)                                                                 \
    X(unregister, callback_unregister)

static long (*const callback_op_table[])(struct vcpu *, uint64_t) = {
#define CALLBACK_OP_ENTRY(cmd_, fn_) [CALLBACKOP_##cmd_] = fn_,
    CALLBACK_OPS(CALLBACK_OP_ENTRY)};

#define CALLBACK_OP_NAME(cmd_, fn_) [CALLBACKOP_##cmd_] = #cmd_,
const char *const callback_op_names[] = {CALLBACK_OPS(CALLBACK_OP_NAME) NULL};

long do_callback_op(struct vcpu *v, unsigned cmd, uint64_t arg_gpa)
{
    if (cmd >= sizeof(callback_op_table) / sizeof(callback_op_table[0]))
        return -XEN_ENOSYS;
    return callback_op_table[cmd](v, arg_gpa);
}

/* The pre-CALLBACKOP interface: the three x86-64 callbacks with flags 0 (so both "disables
 * events" flags are cleared); a non-canonical address is skipped without a word, and the
 * result is always 0. */
long do_set_callbacks(struct vcpu *v, uint64_t event, uint64_t failsafe, uint64_t syscall)
{
    const struct callback_register regs[] = {
        {.type = CALLBACKTYPE_event, .address = event},
        {.type = CALLBACKTYPE_failsafe, .address = failsafe},
        {.type = CALLBACKTYPE_syscall, .address = syscall},
    };

    for (size_t i = 0; i < sizeof(regs) / sizeof(regs[0]); i++)
        (void)register_guest_callback(v, &regs[i]);
    return 0;
}

/* ---- event delivery ---- */

/* The frame, lowest address first (= the guest's rsp in the callback). */
enum bounce_slot { BF_RCX, BF_R11, BF_RIP, BF_CS, BF_RFLAGS, BF_RSP, BF_SS, BF_SLOTS };

/* create_bounce_frame for a guest already in kernel mode: the frame goes below its own rsp,
 * rounded down to 16 bytes. CS carries RPL 0 ("kernel context") and the saved upcall mask
 * in bits 32-39; the saved RFLAGS.IF is the inverse of that mask and IOPL reads 0. */
static void pv_fill_bounce_frame(uint64_t f[BF_SLOTS], const struct hv_regs *regs,
                                 uint8_t saved_mask)
{
    f[BF_RCX] = regs->rcx;
    f[BF_R11] = regs->r11;
    f[BF_RIP] = regs->rip;
    f[BF_CS] = (FLAT_KERNEL_CS & ~3ull) | ((uint64_t)saved_mask << 32);
    f[BF_RFLAGS] = (regs->rflags & ~(uint64_t)(X86_EFLAGS_IF | X86_EFLAGS_IOPL)) |
                   (saved_mask ? 0 : X86_EFLAGS_IF);
    f[BF_RSP] = regs->rsp;
    f[BF_SS] = FLAT_KERNEL_SS;
}

/* create_bounce_frame's order: the frame goes on the stack and the upcall mask is set before
 * the callback address is looked at, so a PV domain without one crashes with both done. */
int pv_inject_upcall(struct vcpu *v, struct hv_regs *regs)
{
    struct vcpu_info *vi = vcpu_info_ptr(v);
    uint64_t frame[BF_SLOTS];
    uint64_t sp = (regs->rsp & ~15ull) - sizeof(frame);

    if (!vi)
        return -XEN_EINVAL; /* never deliverable: nowhere to find upcall_pending */
    pv_fill_bounce_frame(frame, regs, *vcpu_info_upcall_mask(vi));
    if (copy_to_guest(v->domain, sp, frame, sizeof(frame)))
        return -XEN_EFAULT;
    if (v->event_callback_masks) {
        guest_touch(v->domain->hv, vcpu_info_upcall_mask(vi), 1, GUEST_WRITE);
        *vcpu_info_upcall_mask(vi) = 1;
    }
    if (v->event_callback == 0)
        return -XEN_EINVAL; /* create_bounce_frame_bad_bounce_ip */
    regs->rflags &=
        ~(uint64_t)(X86_EFLAGS_AC | X86_EFLAGS_VM | X86_EFLAGS_RF | X86_EFLAGS_NT | X86_EFLAGS_TF);
    regs->rsp = sp;
    regs->rip = v->event_callback;
    v->stats.upcalls_injected++;
    return 0;
}

/* ---- HYPERVISOR_iret ---- */

/* Restore the frame the guest's iret stub pushed (struct iret_context at rsp). The result is
 * the saved rax, which dispatch writes back as the "return value". With VGCF_in_syscall the
 * frame's r11/rcx are not restored (the registers keep what SYSCALL left). The upcall mask
 * follows the restored IF. An unreadable frame crashes the domain here, as Xen does, and
 * answers -EFAULT. */
long do_iret(struct vcpu *v, struct hv_regs *regs)
{
    struct iret_context c;
    struct vcpu_info *vi;

    vcpu_charge(v, COST_IRET);
    if (copy_from_guest(v->domain, &c, regs->rsp, sizeof(c))) {
        domain_crash(v->domain, "HYPERVISOR_iret: the iret frame at rsp is not guest memory");
        return -XEN_EFAULT;
    }
    regs->rip = c.rip;
    regs->rflags = (c.rflags & ~(uint64_t)(X86_EFLAGS_IOPL | X86_EFLAGS_VM)) | X86_EFLAGS_IF;
    regs->rsp = c.rsp;
    if (!(c.flags & VGCF_in_syscall)) {
        regs->r11 = c.r11;
        regs->rcx = c.rcx;
    }
    vi = vcpu_info_ptr(v);
    if (vi) {
        guest_touch(v->domain->hv, vcpu_info_upcall_mask(vi), 1, GUEST_WRITE);
        *vcpu_info_upcall_mask(vi) = !(c.rflags & X86_EFLAGS_IF);
    }
    return (long)c.rax;
}

/* ---- time ---- */

/* Xen's set_time_scale: normalise the tick rate into (1e9, 2e9] by halving or doubling,
 * counting the shift, then mul = 2^32 * 1e9 / rate. The guest computes
 * ns = ((tsc_delta << shift, or >> -shift) * mul) >> 32. */
void pv_time_scale(uint64_t cpu_khz, uint32_t *mul, int8_t *shift)
{
    const uint64_t ns_per_s = 1000000000ull;
    uint64_t tps64 = cpu_khz * 1000u;
    uint32_t tps32;
    int s = 0;

    if (tps64 == 0)
        tps64 = 1;
    while (tps64 > ns_per_s * 2) {
        tps64 >>= 1;
        s--;
    }
    tps32 = (uint32_t)tps64;
    while (tps32 <= (uint32_t)ns_per_s) {
        tps32 <<= 1;
        s++;
    }
    *mul = (uint32_t)((ns_per_s << 32) / tps32);
    *shift = (int8_t)s;
}

/* The version is odd while the fields change, so a guest reading it twice with the same
 * even value knows it saw a consistent record (Xen's version_update_begin/end). */
void pv_update_vcpu_time(struct vcpu *v, uint64_t tsc, uint64_t system_time_ns, uint64_t cpu_khz)
{
    struct vcpu_info *vi = vcpu_info_ptr(v);
    uint32_t mul, version;
    int8_t shift;

    if (!vi)
        return;
    pv_time_scale(cpu_khz, &mul, &shift);
    version = (vcpu_info_time_version(vi) + 1) | 1;
#define TIME_STORE(field, value)                                                                   \
    vcpu_info_time_store(vi, offsetof(struct vcpu_time_info, field), &(value), sizeof(value))
    TIME_STORE(version, version);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    TIME_STORE(tsc_timestamp, tsc);
    TIME_STORE(system_time, system_time_ns);
    TIME_STORE(tsc_to_system_mul, mul);
    TIME_STORE(tsc_shift, shift);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    version++;
    TIME_STORE(version, version);
#undef TIME_STORE
}
