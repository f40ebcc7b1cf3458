/* 64-bit PV conventions: the bounce frame, HYPERVISOR_iret, the time scale, console_io,
 * xen_version, and the dispatch table itself (costs, counters, unknown numbers). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>

#include <cmocka.h>

#include "models/pv.h"
#include "tests/models/fake_xen.h"

#define CALLBACK 0x5000u

struct world {
    struct fake_xen fx;
    struct domain *d;
    struct vcpu *v;
};

static int world_setup(void **state)
{
    struct world *w = test_calloc(1, sizeof(*w));

    fx_init(&w->fx);
    w->d = fx_domain(&w->fx, 1, false, 1, 0, 0);
    w->v = w->d->vcpu[0];
    *state = w;
    return 0;
}

static long register_callback(struct world *w, unsigned type, uint64_t addr, unsigned flags)
{
    struct callback_register r = {
        .type = (uint16_t)type, .flags = (uint16_t)flags, .address = addr};

    memcpy(fx_gpa(&w->fx, w->d, FX_ARG_GPA), &r, sizeof(r));
    return fx_hypercall(w->v, __HYPERVISOR_callback_op, CALLBACKOP_register, FX_ARG_GPA, 0);
}

struct frame_row {
    const char *name;
    uint64_t rsp;
    uint8_t mask_before;
};

static const struct frame_row frame_rows[] = {
    {"aligned_stack_unmasked", FX_STACK_GPA, 0},
    {"unaligned_stack_unmasked", FX_STACK_GPA - 3, 0},
    {"unaligned_by_8_masked", FX_STACK_GPA - 8, 1},
};

/* { rcx, r11, rip, cs, rflags, rsp, ss } from the new rsp upwards, the top 16-byte aligned. */
static void test_bounce_frame_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(frame_rows) / sizeof(frame_rows[0]); i++) {
        const struct frame_row *r = &frame_rows[i];
        void *ws;
        struct world *w;
        struct hv_regs regs = {.rcx = 0x11,
                               .r11 = 0x22,
                               .rip = 0x7000,
                               .rsp = r->rsp,
                               .rflags = 0x40202 | 0x3000 | 0x100};
        const uint64_t *f;
        uint64_t sp = (r->rsp & ~15ull) - 56;

        print_message("bounce frame %s\n", r->name);
        world_setup(&ws);
        w = ws;
        assert_int_equal(register_callback(w, CALLBACKTYPE_event, CALLBACK, 0), 0);
        fx_set_upcall_mask(w->v, r->mask_before);
        assert_int_equal(pv_inject_upcall(w->v, &regs), 0);
        f = fx_gpa(&w->fx, w->d, sp);
        assert_int_equal(regs.rsp, sp);
        assert_int_equal(regs.rip, CALLBACK);
        assert_int_equal(f[0], 0x11);
        assert_int_equal(f[1], 0x22);
        assert_int_equal(f[2], 0x7000);
        assert_int_equal(f[3], (FLAT_KERNEL_CS & ~3ull) | ((uint64_t)r->mask_before << 32));
        assert_int_equal(f[4], (0x40002 | 0x100) | (r->mask_before ? 0 : 0x200));
        assert_int_equal(f[5], r->rsp);
        assert_int_equal(f[6], FLAT_KERNEL_SS);
        /* events are masked in the callback; TF and AC are cleared for it */
        assert_int_equal(fx_upcall_mask(w->v), 1);
        assert_int_equal(regs.rflags & 0x40100, 0);
        assert_int_equal(w->v->stats.upcalls_injected, 1);
        fx_teardown(&ws);
    }
}

/* Xen's create_bounce_frame looks at the callback address last: without one the frame is on
 * the stack and events are masked when it gives up (the caller crashes the domain); the
 * registers are left as they were. */
static void test_inject_without_callback(void **state)
{
    struct world *w = *state;
    struct hv_regs regs = {.rip = 0x7000, .rsp = FX_STACK_GPA, .rflags = 0x202};
    struct hv_regs before = regs;
    const uint64_t *f = fx_gpa(&w->fx, w->d, FX_STACK_GPA - 56);

    fx_set_upcall_pending(w->v, 1);
    fx_set_upcall_mask(w->v, 0);
    assert_int_equal(pv_inject_upcall(w->v, &regs), -XEN_EINVAL);
    assert_memory_equal(&regs, &before, sizeof(regs));
    assert_int_equal(f[2], 0x7000);
    assert_int_equal(f[6], FLAT_KERNEL_SS);
    assert_int_equal(fx_upcall_mask(w->v), 1);
    assert_int_equal(w->v->stats.upcalls_injected, 0);
}

static void test_inject_failures(void **state)
{
    struct world *w = *state;
    struct hv_regs regs = {.rsp = FX_STACK_GPA};

    assert_int_equal(pv_inject_upcall(w->v, &regs), -XEN_EINVAL); /* no callback */
    assert_int_equal(register_callback(w, CALLBACKTYPE_event, CALLBACK, 0), 0);
    regs.rsp = FX_BAD_GPA;
    assert_int_equal(pv_inject_upcall(w->v, &regs), -XEN_EFAULT);
    assert_int_equal(regs.rsp, FX_BAD_GPA);
    assert_int_equal(w->v->stats.upcalls_injected, 0);
}

struct deliver_row {
    const char *name;
    bool callback, hvm;
    uint8_t pending, mask;
    bool expect;
};

/* Xen's test_guest_events: pending and not masked, whether or not a callback is registered
 * (a PV guest without one is crashed when Xen tries); an HVM guest without a callback vector
 * is just not interrupted. */
static const struct deliver_row deliver_rows[] = {
    {"pending_unmasked", true, false, 1, 0, true},
    {"pending_masked", true, false, 1, 1, false},
    {"nothing_pending", true, false, 0, 0, false},
    {"no_callback_pv", false, false, 1, 0, true},
    {"no_callback_pv_masked", false, false, 1, 1, false},
    {"no_callback_hvm", false, true, 1, 0, false},
    {"callback_hvm", true, true, 1, 0, true},
};

static void test_upcall_deliverable_table(void **state)
{
    struct world *w = *state;

    for (size_t i = 0; i < sizeof(deliver_rows) / sizeof(deliver_rows[0]); i++) {
        const struct deliver_row *r = &deliver_rows[i];

        w->v->event_callback = r->callback ? CALLBACK : 0;
        w->d->hvm = r->hvm;
        fx_set_upcall_pending(w->v, r->pending);
        fx_set_upcall_mask(w->v, r->mask);
        assert_int_equal(pv_upcall_deliverable(w->v), r->expect);
    }
}

/* The callback returns through the iret stub: the restored rax is the "result", IF decides
 * the upcall mask, and the frame's rcx/r11 come back unless VGCF_in_syscall. */
struct iret_row {
    const char *name;
    uint64_t flags, rflags;
    uint8_t e_mask;
    bool rcx_from_frame;
};

static const struct iret_row iret_rows[] = {
    {"if_set_unmasks", 0, 0x246, 0, true},
    {"if_clear_masks", 0, 0x046, 1, true},
    {"in_syscall_keeps_rcx_r11", VGCF_in_syscall, 0x246, 0, false},
};

static void test_iret_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(iret_rows) / sizeof(iret_rows[0]); i++) {
        const struct iret_row *r = &iret_rows[i];
        void *ws;
        struct world *w;
        struct iret_context c = {.rax = (uint64_t)-14,
                                 .r11 = 0x111,
                                 .rcx = 0x222,
                                 .flags = r->flags,
                                 .rip = 0x7777,
                                 .cs = FLAT_KERNEL_CS,
                                 .rflags = r->rflags | 0x3000,
                                 .rsp = 0x9000,
                                 .ss = FLAT_KERNEL_SS};
        struct hv_regs regs = {
            .rax = __HYPERVISOR_iret, .rsp = FX_STACK_GPA - 72, .rcx = 0xaaa, .r11 = 0xbbb};

        print_message("iret %s\n", r->name);
        world_setup(&ws);
        w = ws;
        fx_set_upcall_mask(w->v, 1 - r->e_mask);
        memcpy(fx_gpa(&w->fx, w->d, regs.rsp), &c, sizeof(c));
        hypercall_dispatch(w->v, &regs);
        assert_int_equal(regs.rax, (uint64_t)-14);
        assert_int_equal(regs.rip, 0x7777);
        assert_int_equal(regs.rsp, 0x9000);
        assert_int_equal(regs.rflags, (r->rflags & ~0x3000ull) | 0x200);
        assert_int_equal(regs.rcx, r->rcx_from_frame ? 0x222 : 0xaaa);
        assert_int_equal(regs.r11, r->rcx_from_frame ? 0x111 : 0xbbb);
        assert_int_equal(fx_upcall_mask(w->v), r->e_mask);
        /* a negative restored rax is not a failed hypercall */
        assert_int_equal(w->d->stats.hc[__HYPERVISOR_iret][0].calls, 1);
        assert_int_equal(w->d->stats.hc[__HYPERVISOR_iret][0].errors, 0);
        fx_teardown(&ws);
    }
}

static void test_iret_bad_stack_crashes(void **state)
{
    struct world *w = *state;
    struct hv_regs regs = {.rsp = FX_BAD_GPA};

    assert_int_equal(do_iret(w->v, &regs), -XEN_EFAULT);
    assert_int_equal(w->d->shutdown_reason, SHUTDOWN_crash);
    assert_int_equal(w->fx.shutdown_reason[1], SHUTDOWN_crash);
}

/* The guest's conversion of 1e9 cycles lands within 1 ns of cycles * 1e6 / kHz. */
static const uint64_t khz_rows[] = {2100000, 1000000, 1000001, 2000000,
                                    2500000, 3000000, 3700000, 800000};

static void test_time_scale_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(khz_rows) / sizeof(khz_rows[0]); i++) {
        const uint64_t cycles = 1000000000ull, khz = khz_rows[i];
        uint32_t mul;
        int8_t shift;
        uint64_t delta, ns, exact = cycles * 1000000ull / khz;

        pv_time_scale(khz, &mul, &shift);
        delta = shift >= 0 ? cycles << shift : cycles >> -shift;
        ns = (uint64_t)(((unsigned __int128)delta * mul) >> 32);
        print_message("%llu kHz: mul %u shift %d -> %llu ns (exact %llu)\n",
                      (unsigned long long)khz, mul, shift, (unsigned long long)ns,
                      (unsigned long long)exact);
        assert_true(ns + 1 >= exact && ns <= exact + 1);
    }
}

static void test_update_vcpu_time(void **state)
{
    struct world *w = *state;
    struct vcpu_time_info *t = &vcpu_info_ptr(w->v)->time;

    t->version = 6;
    pv_update_vcpu_time(w->v, 12345, 678, 2100000);
    assert_int_equal(t->version, 8);
    assert_int_equal(t->tsc_timestamp, 12345);
    assert_int_equal(t->system_time, 678);
    assert_int_equal(t->tsc_shift, -1);
    assert_int_equal(t->tsc_to_system_mul, 4090445043u /* 2^32 / 1.05 */);
}

static void test_console_io(void **state)
{
    struct world *w = *state;

    memcpy(fx_gpa(&w->fx, w->d, FX_BUF_GPA), "hello\n", 6);
    assert_int_equal(fx_hypercall(w->v, __HYPERVISOR_console_io, CONSOLEIO_write, 6, FX_BUF_GPA),
                     0);
    assert_int_equal(w->fx.console_len, 6);
    assert_memory_equal(w->fx.console, "hello\n", 6);
    assert_int_equal(fx_hypercall(w->v, __HYPERVISOR_console_io, CONSOLEIO_write, 6, FX_BAD_GPA),
                     -XEN_EFAULT);
    assert_int_equal(
        fx_hypercall(w->v, __HYPERVISOR_console_io, CONSOLEIO_write, FX_MEM_SIZE, FX_BUF_GPA),
        -XEN_EFAULT);
    /* Copied chunk by chunk: those before the first unmapped byte were written
     * (test_console.c). */
    assert_true(w->fx.console_calls > 1);
    assert_int_equal(fx_hypercall(w->v, __HYPERVISOR_console_io, CONSOLEIO_read, 6, FX_BUF_GPA),
                     -XEN_EPERM);
    w->d->privileged = true;
    assert_int_equal(fx_hypercall(w->v, __HYPERVISOR_console_io, CONSOLEIO_read, 6, FX_BUF_GPA), 0);
    assert_int_equal(fx_hypercall(w->v, __HYPERVISOR_console_io, 7, 0, 0), -XEN_ENOSYS);
}

static void test_xen_version(void **state)
{
    struct world *w = *state;
    struct xen_feature_info fi = {.submap_idx = 0};
    char *extra = fx_gpa(&w->fx, w->d, FX_BUF_GPA);

    /* Xen 4.22, the version evsim follows */
    assert_int_equal(fx_hypercall(w->v, __HYPERVISOR_xen_version, XENVER_version, 0, 0),
                     (4 << 16) | 22);
    memset(extra, 'x', 16);
    assert_int_equal(
        fx_hypercall(w->v, __HYPERVISOR_xen_version, XENVER_extraversion, FX_BUF_GPA, 0), 0);
    assert_string_equal(extra, ".0-evsim");
    assert_int_equal(extra[15], 0);
    assert_int_equal(
        fx_hypercall(w->v, __HYPERVISOR_xen_version, XENVER_extraversion, FX_BAD_GPA, 0),
        -XEN_EFAULT);
    assert_int_equal(fx_hypercall(w->v, __HYPERVISOR_xen_version, XENVER_pagesize, 0, 0), 4096);
    assert_int_equal(fx_hypercall(w->v, __HYPERVISOR_xen_version, XENVER_pagesize, FX_BUF_GPA, 0),
                     -XEN_EINVAL);
    memcpy(fx_gpa(&w->fx, w->d, FX_ARG_GPA), &fi, sizeof(fi));
    assert_int_equal(
        fx_hypercall(w->v, __HYPERVISOR_xen_version, XENVER_get_features, FX_ARG_GPA, 0), 0);
    memcpy(&fi, fx_gpa(&w->fx, w->d, FX_ARG_GPA), sizeof(fi));
    assert_int_equal(fi.submap & (1u << XENFEAT_dom0), 0);
    assert_true(fi.submap & (1u << XENFEAT_highmem_assist));
    assert_true(fi.submap & (1u << XENFEAT_direct_mapped));
    assert_int_equal(fi.submap & (1u << XENFEAT_not_direct_mapped), 0);
    assert_int_equal(
        fx_hypercall(w->v, __HYPERVISOR_xen_version, XENVER_commandline, FX_BUF_GPA, 0),
        -XEN_ENOSYS);
}

/* ---- dispatch ---- */

static void test_dispatch_unknown_and_counters(void **state)
{
    struct world *w = *state;
    const struct cost_profile *c = &w->fx.profile;

    assert_int_equal(fx_hypercall(w->v, __HYPERVISOR_mmu_update, 0, 0, 0), -XEN_ENOSYS);
    assert_int_equal(fx_hypercall(w->v, 1000, 0, 0, 0), -XEN_ENOSYS);
    assert_int_equal(w->v->hcall_cycles,
                     cost_cycles(c, COST_PV_TRAP) + cost_cycles(c, COST_HYPERCALL_DISPATCH));
    assert_int_equal(w->d->stats.hc[__HYPERVISOR_mmu_update][0].errors, 1);
    fx_hypercall(w->v, __HYPERVISOR_xen_version, XENVER_version, 0, 0);
    fx_hypercall(w->v, __HYPERVISOR_xen_version, 99, 0, 0);
    fx_hypercall(w->v, __HYPERVISOR_event_channel_op, EVTCHNOP_send, FX_BAD_GPA, 0);
    assert_int_equal(w->d->stats.hc[__HYPERVISOR_xen_version][XENVER_version].calls, 1);
    assert_int_equal(w->d->stats.hc[__HYPERVISOR_xen_version][XENVER_version].errors, 0);
    assert_int_equal(w->d->stats.hc[__HYPERVISOR_xen_version][HC_STATS_SUB - 1].errors, 1);
    assert_int_equal(w->d->stats.hc[__HYPERVISOR_event_channel_op][EVTCHNOP_send].errors, 1);
    assert_int_equal(w->v->stats.hypercalls, 5);
    assert_null(hypercall_lookup(__HYPERVISOR_mmu_update));
    assert_null(hypercall_lookup(1000));
    assert_string_equal(hypercall_lookup(__HYPERVISOR_event_channel_op)->name, "event_channel_op");
    assert_string_equal(
        hypercall_lookup(__HYPERVISOR_event_channel_op)->sub_names[EVTCHNOP_reset_cont],
        "reset_cont");
    assert_int_equal(hypercall_lookup(__HYPERVISOR_event_channel_op)->nr_sub, 16);
    /* register_extended (0x100) has the column after the numbered commands; others share the
     * last one. */
    fx_hypercall(w->v, __HYPERVISOR_event_channel_op, EVTCHNOP_register_extended, FX_BAD_GPA, 0);
    fx_hypercall(w->v, __HYPERVISOR_event_channel_op, 0x200, 0, 0);
    assert_int_equal(w->d->stats.hc[__HYPERVISOR_event_channel_op][EVTCHNOP_NR].errors, 1);
    assert_int_equal(w->d->stats.hc[__HYPERVISOR_event_channel_op][HC_STATS_SUB - 1].errors, 1);
    assert_string_equal(hypercall_lookup(__HYPERVISOR_event_channel_op)->sub_names[EVTCHNOP_NR],
                        "register_extended");
    assert_string_equal(hypercall_lookup(__HYPERVISOR_sched_op)->sub_names[SCHEDOP_poll], "poll");
    assert_int_equal(hypercall_lookup(__HYPERVISOR_vcpu_op)->nr_sub, 11);
    assert_true(hypercall_lookup(__HYPERVISOR_iret)->returns_frame);
    /* sim/ loads rdx, r10, r8 and r9 only for the hypercalls the mask names. */
    for (unsigned nr = 0; nr < 64; nr++) {
        const struct hypercall_desc *desc = hypercall_lookup(nr);
        assert_int_equal(hypercall_wide(nr), desc && desc->wide);
    }
    assert_true(hypercall_wide(64));
}

#define T(f) cmocka_unit_test_setup_teardown(f, world_setup, fx_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bounce_frame_table),
        T(test_inject_failures),
        T(test_inject_without_callback),
        T(test_upcall_deliverable_table),
        cmocka_unit_test(test_iret_table),
        T(test_iret_bad_stack_crashes),
        cmocka_unit_test(test_time_scale_table),
        T(test_update_vcpu_time),
        T(test_console_io),
        T(test_xen_version),
        T(test_dispatch_unknown_and_counters),
    };
    return cmocka_run_group_tests_name("pv", tests, NULL, NULL);
}
