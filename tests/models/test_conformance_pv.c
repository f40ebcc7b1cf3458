/* Conformance of the x86 PV hypercalls beside EVTCHNOP (test_conformance.c has those): one row
 * per (hypercall, arguments, prior state), each checked for the return value Xen 4.22 gives and
 * the state it leaves. CALLBACKOP and HYPERVISOR_set_callbacks (xen/arch/x86/pv/callback.c);
 * PHYSDEVOP's interrupt commands (xen/arch/x86/physdev.c; their protocol is test_pirq.c's).
 * The world: d0 privileged and d1 unprivileged, 2 vcpus each; rows call as d1 vcpu 0 unless
 * they say otherwise. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "models/pirq.h"
#include "tests/models/fake_xen.h"

#define CB 0x5000ull                  /* a callback address */
#define CB_OLD 0x6000ull              /* one registered by a row's set-up */
#define CB_HIGH 0xffff800000001000ull /* canonical, upper half */
#define NONCANON 0x0000800000000000ull
#define BOTH_VGC (VGCF_failsafe_disables_events | VGCF_syscall_disables_events)

union pv_arg {
    struct callback_register reg;
    struct callback_unregister unreg;
    struct physdev_eoi eoi;
    struct physdev_irq_status_query status;
    struct physdev_pirq_eoi_gmfn gmfn;
    unsigned char raw[32];
};

enum arg_mode { ARG_OK, ARG_UNMAPPED, ARG_COPY_OUT_FAILS };
#define ARG UINT64_MAX /* as a1..a3: the address of the row's argument */

struct row {
    const char *name;
    void (*setup)(struct fake_xen *fx);
    unsigned vcpu; /* the caller: d1's vcpu */
    unsigned nr;   /* __HYPERVISOR_* */
    uint64_t a1, a2, a3;
    union pv_arg arg;
    enum arg_mode mode;
    long expect;
    void (*check)(struct fake_xen *fx);
};

#define D(n) (fx->hv.domain[n])
#define V(n, i) (D(n)->vcpu[i])
#define CBS(i) (&V(1, i)->callbacks)

/* ---- set-ups: d1 vcpu 0 with callbacks registered as a guest would ---- */

static void reg(struct fake_xen *fx, unsigned type, uint64_t addr, unsigned flags)
{
    struct callback_register r = {
        .type = (uint16_t)type, .flags = (uint16_t)flags, .address = addr};

    memcpy(fx_gpa(fx, D(1), FX_BUF_GPA), &r, sizeof(r));
    assert_int_equal(
        fx_hypercall(V(1, 0), __HYPERVISOR_callback_op, CALLBACKOP_register, FX_BUF_GPA, 0), 0);
}

static void all_registered_masking(struct fake_xen *fx)
{
    reg(fx, CALLBACKTYPE_event, CB_OLD, CALLBACKF_mask_events);
    reg(fx, CALLBACKTYPE_failsafe, CB_OLD, CALLBACKF_mask_events);
    reg(fx, CALLBACKTYPE_syscall, CB_OLD, CALLBACKF_mask_events);
    reg(fx, CALLBACKTYPE_syscall32, CB_OLD, CALLBACKF_mask_events);
    reg(fx, CALLBACKTYPE_sysenter, CB_OLD, CALLBACKF_mask_events);
    reg(fx, CALLBACKTYPE_nmi, CB_OLD, 0);
}

#define MAP_GFN 0x50u /* an EOI bitmap page */
#define LEVEL 20u

static void map_v2(struct fake_xen *fx)
{
    struct physdev_pirq_eoi_gmfn m = {.gmfn = MAP_GFN};

    memcpy(fx_gpa(fx, D(1), FX_BUF_GPA), &m, sizeof(m));
    assert_int_equal(
        fx_hypercall(V(1, 0), __HYPERVISOR_physdev_op, PHYSDEVOP_pirq_eoi_gmfn_v2, FX_BUF_GPA, 0),
        0);
}

/* Level line 20 bound to d1 port 1 and fired: blocked, awaiting the EOI. */
static void level_line_fired(struct fake_xen *fx)
{
    struct evtchn_bind_pirq b = {.pirq = LEVEL};

    assert_int_equal(pirq_set_level(D(1), LEVEL, true), 0);
    assert_int_equal(fx_evtchn_op(fx, V(1, 0), EVTCHNOP_bind_pirq, &b, sizeof(b)), 0);
    assert_int_equal(pirq_line_raise(D(1), LEVEL), PIRQ_SENT);
    assert_true(D(1)->pirq_line[LEVEL].masked);
}

/* ---- checks ---- */

static void line_eoied(struct fake_xen *fx)
{
    assert_false(D(1)->pirq_line[LEVEL].masked);
    assert_int_equal(D(1)->pirq_line[LEVEL].guest_eois, 1);
}
static void line_still_blocked(struct fake_xen *fx)
{
    assert_true(D(1)->pirq_line[LEVEL].masked);
    assert_int_equal(D(1)->pirq_line[LEVEL].guest_eois, 0);
}
static void status_needs_eoi(struct fake_xen *fx)
{
    const struct physdev_irq_status_query *q = fx_gpa(fx, D(1), FX_ARG_GPA);

    assert_int_equal(q->flags, XENIRQSTAT_needs_eoi); /* never XENIRQSTAT_shared */
}
static void status_untouched(struct fake_xen *fx)
{
    const struct physdev_irq_status_query *q = fx_gpa(fx, D(1), FX_ARG_GPA);

    assert_int_equal(q->flags, 0xdead);
}
static void map_v2_registered(struct fake_xen *fx)
{
    assert_ptr_equal((void *)D(1)->pirq_eoi_map, fx_gpa(fx, D(1), MAP_GFN * XEN_PAGE_SIZE));
    assert_int_equal(D(1)->pirq_eoi_map_gfn, MAP_GFN);
    assert_false(D(1)->auto_unmask);
    assert_null(D(0)->pirq_eoi_map);
}
static void map_v1_registered(struct fake_xen *fx)
{
    assert_ptr_equal((void *)D(1)->pirq_eoi_map, fx_gpa(fx, D(1), MAP_GFN * XEN_PAGE_SIZE));
    assert_true(D(1)->auto_unmask);
}
static void no_map(struct fake_xen *fx)
{
    assert_null(D(1)->pirq_eoi_map);
    assert_false(D(1)->auto_unmask);
}

static void nothing_registered(struct fake_xen *fx)
{
    static const struct pv_callbacks none;

    for (unsigned i = 0; i < 2; i++) {
        assert_int_equal(V(1, i)->event_callback, 0);
        assert_memory_equal(CBS(i), &none, sizeof(none));
    }
}

/* The set-up's registrations, untouched. */
static void all_old(struct fake_xen *fx)
{
    assert_int_equal(V(1, 0)->event_callback, CB_OLD);
    assert_int_equal(CBS(0)->failsafe, CB_OLD);
    assert_int_equal(CBS(0)->syscall, CB_OLD);
    assert_int_equal(CBS(0)->syscall32, CB_OLD);
    assert_int_equal(CBS(0)->sysenter, CB_OLD);
    assert_int_equal(CBS(0)->nmi.address, CB_OLD);
    assert_int_equal(CBS(0)->vgc_flags, BOTH_VGC);
    assert_true(CBS(0)->syscall32_disables_events && CBS(0)->sysenter_disables_events);
}

static void event_cb(struct fake_xen *fx)
{
    assert_int_equal(V(1, 0)->event_callback, CB);
    assert_true(V(1, 0)->event_callback_masks); /* flags or not: TBF_INTERRUPT */
    assert_int_equal(V(1, 1)->event_callback, 0);
}
static void event_cb_high(struct fake_xen *fx)
{
    assert_int_equal(V(1, 0)->event_callback, CB_HIGH);
}
static void event_cb_zero(struct fake_xen *fx)
{
    assert_int_equal(V(1, 0)->event_callback, 0);
    assert_int_equal(CBS(0)->failsafe, CB_OLD);
}
static void failsafe_masking(struct fake_xen *fx)
{
    assert_int_equal(CBS(0)->failsafe, CB);
    assert_int_equal(CBS(0)->vgc_flags, VGCF_failsafe_disables_events);
}
static void failsafe_cleared_flag(struct fake_xen *fx)
{
    assert_int_equal(CBS(0)->failsafe, CB);
    assert_int_equal(CBS(0)->vgc_flags, VGCF_syscall_disables_events);
}
static void syscall_masking(struct fake_xen *fx)
{
    assert_int_equal(CBS(0)->syscall, CB);
    assert_int_equal(CBS(0)->vgc_flags, VGCF_syscall_disables_events);
}
static void syscall_cleared_flag(struct fake_xen *fx)
{
    assert_int_equal(CBS(0)->syscall, CB);
    assert_int_equal(CBS(0)->vgc_flags, VGCF_failsafe_disables_events);
}
static void syscall32_masking(struct fake_xen *fx)
{
    assert_int_equal(CBS(0)->syscall32, CB);
    assert_true(CBS(0)->syscall32_disables_events);
    assert_int_equal(CBS(0)->vgc_flags, 0);
}
static void syscall32_not_masking(struct fake_xen *fx)
{
    assert_int_equal(CBS(0)->syscall32, CB);
    assert_false(CBS(0)->syscall32_disables_events);
    assert_true(CBS(0)->sysenter_disables_events);
}
static void sysenter_masking(struct fake_xen *fx)
{
    assert_int_equal(CBS(0)->sysenter, CB);
    assert_true(CBS(0)->sysenter_disables_events);
    assert_false(CBS(0)->syscall32_disables_events);
}
static void sysenter_not_masking(struct fake_xen *fx)
{
    assert_int_equal(CBS(0)->sysenter, CB);
    assert_false(CBS(0)->sysenter_disables_events);
    assert_true(CBS(0)->syscall32_disables_events);
}
/* trap_ctxt[TRAP_nmi]: vector 2, the kernel's flat CS, IF set (flags bit 2). */
static void nmi_trap(struct fake_xen *fx)
{
    const struct trap_info *t = &CBS(0)->nmi;

    assert_int_equal(t->vector, 2);
    assert_int_equal(t->flags, 4);
    assert_int_equal(t->cs, FLAT_KERNEL_CS);
    assert_int_equal(t->address, CB);
    assert_int_equal(CBS(1)->nmi.address, 0);
}
static void nmi_cleared(struct fake_xen *fx)
{
    static const struct trap_info none;

    assert_memory_equal(&CBS(0)->nmi, &none, sizeof(none));
    assert_int_equal(CBS(0)->failsafe, CB_OLD); /* only the NMI slot goes */
    assert_int_equal(V(1, 0)->event_callback, CB_OLD);
}
static void only_vcpu1(struct fake_xen *fx)
{
    assert_int_equal(V(1, 1)->event_callback, CB);
    assert_int_equal(V(1, 0)->event_callback, 0);
    assert_int_equal(V(0, 1)->event_callback, 0);
}
static void only_vcpu1_failsafe(struct fake_xen *fx)
{
    assert_int_equal(CBS(1)->failsafe, CB);
    assert_int_equal(CBS(1)->vgc_flags, VGCF_failsafe_disables_events);
    assert_int_equal(CBS(0)->failsafe, 0);
}
/* set_callbacks: the three with flags 0, so both VGCF bits cleared; the rest untouched. */
static void set_three(struct fake_xen *fx)
{
    assert_int_equal(V(1, 0)->event_callback, CB);
    assert_int_equal(CBS(0)->failsafe, CB + 0x100);
    assert_int_equal(CBS(0)->syscall, CB + 0x200);
    assert_int_equal(CBS(0)->vgc_flags, 0);
    assert_int_equal(CBS(0)->syscall32, CB_OLD);
    assert_true(CBS(0)->syscall32_disables_events && CBS(0)->sysenter_disables_events);
    assert_int_equal(CBS(0)->nmi.address, CB_OLD);
}
/* A non-canonical failsafe is skipped, flag and all; the other two go through. */
static void set_skips_failsafe(struct fake_xen *fx)
{
    assert_int_equal(V(1, 0)->event_callback, CB);
    assert_int_equal(CBS(0)->failsafe, CB_OLD);
    assert_int_equal(CBS(0)->syscall, CB + 0x200);
    assert_int_equal(CBS(0)->vgc_flags, VGCF_failsafe_disables_events);
}

/* ---- the table ---- */

#define REG(type_, addr_, flags_)                                                                  \
    {                                                                                              \
        .reg = {.type = (type_), .flags = (flags_), .address = (addr_) }                           \
    }
#define UNREG(type_)                                                                               \
    {                                                                                              \
        .unreg = {.type = (type_) }                                                                \
    }
#define CBOP(name_, setup_, cmd_, arg_, mode_, expect_, check_)                                    \
    {                                                                                              \
#name_, setup_, 0, __HYPERVISOR_callback_op, CALLBACKOP_##cmd_, ARG, 0, arg_, mode_,       \
            expect_, check_                                                                        \
    }
#define SETCB(name_, setup_, ev_, fs_, sc_, check_)                                                \
    {                                                                                              \
#name_, setup_, 0, __HYPERVISOR_set_callbacks, ev_, fs_, sc_,                              \
            {.raw = {0 } }, ARG_OK, 0, check_                                                      \
    }

#define PHYS(name_, setup_, cmd_, arg_, mode_, expect_, check_)                                    \
    {                                                                                              \
#name_, setup_, 0, __HYPERVISOR_physdev_op, PHYSDEVOP_##cmd_, ARG, 0, arg_, mode_,         \
            expect_, check_                                                                        \
    }
#define EOI(irq_)                                                                                  \
    {                                                                                              \
        .eoi = {.irq = (irq_) }                                                                    \
    }
#define STATUS(irq_)                                                                               \
    {                                                                                              \
        .status = {.irq = (irq_), .flags = 0xdead }                                                \
    }
#define GMFN(gfn_)                                                                                 \
    {                                                                                              \
        .gmfn = {.gmfn = (gfn_) }                                                                  \
    }

static const struct row rows[] = {
    /* CALLBACKOP_register */
    CBOP(register_event, NULL, register, REG(CALLBACKTYPE_event, CB, 0), ARG_OK, 0, event_cb),
    CBOP(register_event_mask_flag_ignored, NULL, register,
         REG(CALLBACKTYPE_event, CB, CALLBACKF_mask_events), ARG_OK, 0, event_cb),
    CBOP(register_event_upper_half, NULL, register, REG(CALLBACKTYPE_event, CB_HIGH, 0), ARG_OK, 0,
         event_cb_high),
    CBOP(register_event_address_0, all_registered_masking, register, REG(CALLBACKTYPE_event, 0, 0),
         ARG_OK, 0, event_cb_zero),
    CBOP(register_event_noncanonical, NULL, register, REG(CALLBACKTYPE_event, NONCANON, 0), ARG_OK,
         -XEN_EINVAL, nothing_registered),
    CBOP(register_failsafe_masking, NULL, register,
         REG(CALLBACKTYPE_failsafe, CB, CALLBACKF_mask_events), ARG_OK, 0, failsafe_masking),
    CBOP(register_failsafe_clears_flag, all_registered_masking, register,
         REG(CALLBACKTYPE_failsafe, CB, 0), ARG_OK, 0, failsafe_cleared_flag),
    CBOP(register_failsafe_noncanonical, all_registered_masking, register,
         REG(CALLBACKTYPE_failsafe, NONCANON, 0), ARG_OK, -XEN_EINVAL, all_old),
    CBOP(register_syscall_masking, NULL, register,
         REG(CALLBACKTYPE_syscall, CB, CALLBACKF_mask_events), ARG_OK, 0, syscall_masking),
    CBOP(register_syscall_clears_flag, all_registered_masking, register,
         REG(CALLBACKTYPE_syscall, CB, 0), ARG_OK, 0, syscall_cleared_flag),
    CBOP(register_syscall32_masking, NULL, register,
         REG(CALLBACKTYPE_syscall32, CB, CALLBACKF_mask_events), ARG_OK, 0, syscall32_masking),
    CBOP(register_syscall32_not_masking, all_registered_masking, register,
         REG(CALLBACKTYPE_syscall32, CB, 0), ARG_OK, 0, syscall32_not_masking),
    CBOP(register_sysenter_masking, NULL, register, REG(CALLBACKTYPE_sysenter, CB, 0xffff), ARG_OK,
         0, sysenter_masking),
    CBOP(register_sysenter_not_masking, all_registered_masking, register,
         REG(CALLBACKTYPE_sysenter, CB, 0xfffe), ARG_OK, 0, sysenter_not_masking),
    CBOP(register_nmi, NULL, register, REG(CALLBACKTYPE_nmi, CB, CALLBACKF_mask_events), ARG_OK, 0,
         nmi_trap),
    CBOP(register_nmi_noncanonical, NULL, register, REG(CALLBACKTYPE_nmi, NONCANON, 0), ARG_OK,
         -XEN_EINVAL, nothing_registered),
    CBOP(register_sysenter_deprecated_type3, NULL, register, REG(3, CB, 0), ARG_OK, -XEN_ENOSYS,
         nothing_registered),
    CBOP(register_unknown_type6, NULL, register, REG(6, CB, 0), ARG_OK, -XEN_ENOSYS,
         nothing_registered),
    CBOP(register_unknown_type_max, NULL, register, REG(0xffff, CB, 0), ARG_OK, -XEN_ENOSYS,
         nothing_registered),
    CBOP(register_noncanonical_wins_over_type, NULL, register, REG(6, NONCANON, 0), ARG_OK,
         -XEN_EINVAL, nothing_registered),
    CBOP(register_bad_arg, NULL, register, REG(CALLBACKTYPE_event, CB, 0), ARG_UNMAPPED,
         -XEN_EFAULT, nothing_registered),
    {"register_acts_on_caller_vcpu1", NULL, 1, __HYPERVISOR_callback_op, CALLBACKOP_register, ARG,
     0, REG(CALLBACKTYPE_event, CB, 0), ARG_OK, 0, only_vcpu1},
    {"register_failsafe_on_vcpu1", NULL, 1, __HYPERVISOR_callback_op, CALLBACKOP_register, ARG, 0,
     REG(CALLBACKTYPE_failsafe, CB, CALLBACKF_mask_events), ARG_OK, 0, only_vcpu1_failsafe},
    /* CALLBACKOP_unregister: only the NMI callback goes */
    CBOP(unregister_event, all_registered_masking, unregister, UNREG(CALLBACKTYPE_event), ARG_OK,
         -XEN_EINVAL, all_old),
    CBOP(unregister_failsafe, all_registered_masking, unregister, UNREG(CALLBACKTYPE_failsafe),
         ARG_OK, -XEN_EINVAL, all_old),
    CBOP(unregister_syscall, all_registered_masking, unregister, UNREG(CALLBACKTYPE_syscall),
         ARG_OK, -XEN_EINVAL, all_old),
    CBOP(unregister_syscall32, all_registered_masking, unregister, UNREG(CALLBACKTYPE_syscall32),
         ARG_OK, -XEN_EINVAL, all_old),
    CBOP(unregister_sysenter, all_registered_masking, unregister, UNREG(CALLBACKTYPE_sysenter),
         ARG_OK, -XEN_EINVAL, all_old),
    CBOP(unregister_nmi, all_registered_masking, unregister, UNREG(CALLBACKTYPE_nmi), ARG_OK, 0,
         nmi_cleared),
    CBOP(unregister_nmi_none_registered, NULL, unregister, UNREG(CALLBACKTYPE_nmi), ARG_OK, 0,
         nothing_registered),
    CBOP(unregister_type3, all_registered_masking, unregister, UNREG(3), ARG_OK, -XEN_ENOSYS,
         all_old),
    CBOP(unregister_type6, all_registered_masking, unregister, UNREG(6), ARG_OK, -XEN_ENOSYS,
         all_old),
    CBOP(unregister_bad_arg, all_registered_masking, unregister, UNREG(CALLBACKTYPE_nmi),
         ARG_UNMAPPED, -XEN_EFAULT, all_old),
    /* unknown commands */
    {"callback_op_unknown_cmd", NULL, 0, __HYPERVISOR_callback_op, 2, ARG, 0,
     REG(CALLBACKTYPE_event, CB, 0), ARG_OK, -XEN_ENOSYS, nothing_registered},
    {"callback_op_huge_cmd", NULL, 0, __HYPERVISOR_callback_op, 0x80000000u, ARG, 0,
     REG(CALLBACKTYPE_event, CB, 0), ARG_OK, -XEN_ENOSYS, nothing_registered},
    /* HYPERVISOR_set_callbacks(event, failsafe, syscall) */
    SETCB(set_callbacks, all_registered_masking, CB, CB + 0x100, CB + 0x200, set_three),
    SETCB(set_callbacks_skips_noncanonical, all_registered_masking, CB, NONCANON, CB + 0x200,
          set_skips_failsafe),
    SETCB(set_callbacks_all_noncanonical, all_registered_masking, NONCANON, NONCANON, NONCANON,
          all_old),
    /* PHYSDEVOP_eoi: every line below nr_pirqs is mapped, bound or not */
    PHYS(eoi_unblocks_line, level_line_fired, eoi, EOI(LEVEL), ARG_OK, 0, line_eoied),
    PHYS(eoi_unbound_line, NULL, eoi, EOI(5), ARG_OK, 0, NULL),
    PHYS(eoi_other_line, level_line_fired, eoi, EOI(21), ARG_OK, 0, line_still_blocked),
    PHYS(eoi_last_line, NULL, eoi, EOI(HV_DEFAULT_NR_PIRQS - 1), ARG_OK, 0, NULL),
    PHYS(eoi_out_of_range, level_line_fired, eoi, EOI(HV_DEFAULT_NR_PIRQS), ARG_OK, -XEN_EINVAL,
         line_still_blocked),
    PHYS(eoi_irq_all_ones, NULL, eoi, EOI(UINT32_MAX), ARG_OK, -XEN_EINVAL, NULL),
    PHYS(eoi_bad_arg, level_line_fired, eoi, EOI(LEVEL), ARG_UNMAPPED, -XEN_EFAULT,
         line_still_blocked),
    /* PHYSDEVOP_irq_status_query */
    PHYS(irq_status_query_bound, level_line_fired, irq_status_query, STATUS(LEVEL), ARG_OK, 0,
         status_needs_eoi),
    PHYS(irq_status_query_unbound_edge, NULL, irq_status_query, STATUS(5), ARG_OK, 0,
         status_needs_eoi),
    PHYS(irq_status_query_out_of_range, NULL, irq_status_query, STATUS(HV_DEFAULT_NR_PIRQS), ARG_OK,
         -XEN_EINVAL, status_untouched),
    PHYS(irq_status_query_negative, NULL, irq_status_query, STATUS(0x80000000u), ARG_OK,
         -XEN_EINVAL, status_untouched),
    PHYS(irq_status_query_bad_arg, NULL, irq_status_query, STATUS(5), ARG_UNMAPPED, -XEN_EFAULT,
         NULL),
    PHYS(irq_status_query_copy_out_fails, NULL, irq_status_query, STATUS(5), ARG_COPY_OUT_FAILS,
         -XEN_EFAULT, NULL),
    /* PHYSDEVOP_pirq_eoi_gmfn_v1/v2: page first (-EINVAL), then one registration (-EBUSY) */
    PHYS(pirq_eoi_gmfn_v2, NULL, pirq_eoi_gmfn_v2, GMFN(MAP_GFN), ARG_OK, 0, map_v2_registered),
    PHYS(pirq_eoi_gmfn_v1, NULL, pirq_eoi_gmfn_v1, GMFN(MAP_GFN), ARG_OK, 0, map_v1_registered),
    PHYS(pirq_eoi_gmfn_not_guest_memory, NULL, pirq_eoi_gmfn_v2, GMFN(FX_BAD_GPA / XEN_PAGE_SIZE),
         ARG_OK, -XEN_EINVAL, no_map),
    PHYS(pirq_eoi_gmfn_past_memory, NULL, pirq_eoi_gmfn_v1, GMFN(FX_MEM_SIZE / XEN_PAGE_SIZE),
         ARG_OK, -XEN_EINVAL, no_map),
    PHYS(pirq_eoi_gmfn_address_wraps, NULL, pirq_eoi_gmfn_v1, GMFN(1ull << 52), ARG_OK, -XEN_EINVAL,
         no_map),
    PHYS(pirq_eoi_gmfn_v1_after_v2, map_v2, pirq_eoi_gmfn_v1, GMFN(MAP_GFN + 1), ARG_OK, -XEN_EBUSY,
         map_v2_registered),
    PHYS(pirq_eoi_gmfn_v2_again, map_v2, pirq_eoi_gmfn_v2, GMFN(MAP_GFN), ARG_OK, -XEN_EBUSY,
         map_v2_registered),
    PHYS(pirq_eoi_gmfn_bad_page_wins_over_busy, map_v2, pirq_eoi_gmfn_v1,
         GMFN(FX_BAD_GPA / XEN_PAGE_SIZE), ARG_OK, -XEN_EINVAL, map_v2_registered),
    PHYS(pirq_eoi_gmfn_bad_arg, NULL, pirq_eoi_gmfn_v2, GMFN(MAP_GFN), ARG_UNMAPPED, -XEN_EFAULT,
         no_map),
    /* the legacy PHYSDEVOP_IRQ_UNMASK_NOTIFY, and what is not modelled */
    PHYS(irq_unmask_notify, level_line_fired, IRQ_UNMASK_NOTIFY, {.raw = {0}}, ARG_OK, 0,
         line_eoied),
    PHYS(map_pirq_not_modelled, NULL, map_pirq, {.raw = {0}}, ARG_OK, -XEN_ENOSYS, NULL),
    {"physdev_op_huge_cmd",
     NULL,
     0,
     __HYPERVISOR_physdev_op,
     0x80000000u,
     ARG,
     0,
     {.raw = {0}},
     ARG_OK,
     -XEN_ENOSYS,
     NULL},
};
#define NR_ROWS (sizeof(rows) / sizeof(rows[0]))

/* fx first: fx_teardown frees the whole context. */
struct ctx {
    struct fake_xen fx;
    const struct row *row;
};

static int world_setup(void **state)
{
    struct ctx *c = test_calloc(1, sizeof(*c));

    assert_non_null(c);
    c->row = *state;
    fx_init(&c->fx);
    fx_domain(&c->fx, 0, true, 2, 0, 0);
    fx_domain(&c->fx, 1, false, 2, 0, 0);
    assert_int_equal(domain_init_shared_info(c->fx.hv.domain[1]), 0);
    *state = c;
    return 0;
}

static uint64_t row_value(struct fake_xen *fx, const struct row *r, uint64_t a)
{
    if (a != ARG)
        return a;
    return fx_arg_gpa(fx, r->mode == ARG_UNMAPPED, r->mode == ARG_COPY_OUT_FAILS);
}

static void run_row(void **state)
{
    struct ctx *c = *state;
    struct fake_xen *fx = &c->fx;
    const struct row *r = c->row;
    struct vcpu *v;
    long rc;

    if (r->setup)
        r->setup(fx);
    v = V(1, r->vcpu);
    memcpy(fx_gpa(fx, v->domain, FX_ARG_GPA), &r->arg, sizeof(r->arg));
    rc = fx_hypercall(v, r->nr, row_value(fx, r, r->a1), row_value(fx, r, r->a2),
                      row_value(fx, r, r->a3));
    fx->fail_at = 0;
    assert_int_equal(rc, r->expect);
    if (r->check)
        r->check(fx);
}

int main(void)
{
    struct CMUnitTest tests[NR_ROWS];

    for (size_t i = 0; i < NR_ROWS; i++)
        tests[i] =
            (struct CMUnitTest){rows[i].name, run_row, world_setup, fx_teardown, (void *)&rows[i]};
    return _cmocka_run_group_tests("pv_conformance", tests, NR_ROWS, NULL, NULL);
}
