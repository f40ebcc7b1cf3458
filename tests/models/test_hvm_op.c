/* models/hvm_op.c: an HVM guest's event delivery. HYPERVISOR_hvm_op's errors in Xen's order
 * (a table of rows), the vector Xen injects, the interrupt frame built from the guest's IDT,
 * and hlt. Domains: d0 privileged PV, d1 HVM (2 vcpus), d2 PV, d3 HVM (another guest). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>

#include <cmocka.h>

#include "models/hvm_op.h"
#include "models/physmap.h"
#include "tests/models/fake_xen.h"

#define VEC 0xf3u
#define IDT_GPA 0x50000u
#define CALLBACK_VECTOR(v) ((uint64_t)HVM_PARAM_CALLBACK_TYPE_VECTOR << 56 | (v))

struct world {
    struct fake_xen fx; /* first: fx_teardown */
    struct domain *d0, *hvm, *pv, *other;
};

static int world_setup(void **state)
{
    struct world *w = test_calloc(1, sizeof(*w));
    fx_init(&w->fx);
    w->d0 = fx_domain(&w->fx, 0, true, 1, 0, 0);
    w->hvm = fx_domain(&w->fx, 1, false, 2, 0, 0);
    w->pv = fx_domain(&w->fx, 2, false, 1, 0, 0);
    w->other = fx_domain(&w->fx, 3, false, 1, 0, 0);
    w->hvm->hvm = w->other->hvm = true;
    *state = w;
    return 0;
}

static long set_param(struct world *w, struct domain *caller, domid_t dom, uint32_t index,
                      uint64_t value)
{
    struct xen_hvm_param p = {.domid = dom, .index = index, .value = value};
    memcpy(fx_gpa(&w->fx, caller, FX_ARG_GPA), &p, sizeof(p));
    return fx_hypercall(caller->vcpu[0], __HYPERVISOR_hvm_op, HVMOP_set_param, FX_ARG_GPA, 0);
}

static long set_vector(struct world *w, struct domain *caller, uint32_t vcpu, uint8_t vector)
{
    struct xen_hvm_evtchn_upcall_vector op = {.vcpu = vcpu, .vector = vector};
    memcpy(fx_gpa(&w->fx, caller, FX_ARG_GPA), &op, sizeof(op));
    return fx_hypercall(caller->vcpu[0], __HYPERVISOR_hvm_op, HVMOP_set_evtchn_upcall_vector,
                        FX_ARG_GPA, 0);
}

/* Xen's answers, one row per check, in its order. */
static void conformance(void **state)
{
    struct world *w = *state;
    struct domain *d0 = w->d0, *hvm = w->hvm, *pv = w->pv;
    static const struct {
        const char *what;
        int caller; /* 0: d0, 1: the HVM guest, 2: a PV guest, 3: another HVM guest */
        int kind;   /* 0: set_param, 1: set_evtchn_upcall_vector, 2: unknown op */
        domid_t dom;
        uint32_t index_or_vcpu;
        uint64_t value;
        long rc;
    } rows[] = {
        {"the guest sets its callback vector", 1, 0, DOMID_SELF, HVM_PARAM_CALLBACK_IRQ,
         CALLBACK_VECTOR(VEC), 0},
        {"dom0 sets it for the guest", 0, 0, 1, HVM_PARAM_CALLBACK_IRQ, CALLBACK_VECTOR(VEC), 0},
        {"no such domain", 1, 0, 9, HVM_PARAM_CALLBACK_IRQ, 0, -XEN_ESRCH},
        {"a PV target", 0, 0, 2, HVM_PARAM_CALLBACK_IRQ, 0, -XEN_EINVAL},
        {"another guest's parameter", 3, 0, 1, HVM_PARAM_CALLBACK_IRQ, 0, -XEN_EPERM},
        {"an index past the last", 1, 0, DOMID_SELF, HVM_NR_PARAMS, 0, -XEN_EINVAL},
        {"a toolstack parameter from the guest", 1, 0, DOMID_SELF, HVM_PARAM_IOREQ_SERVER_PFN, 0,
         -XEN_EPERM},
        {"the same from dom0", 0, 0, 1, HVM_PARAM_IOREQ_SERVER_PFN, 0x1000, 0},
        {"an upcall vector for vcpu 1", 1, 1, 0, 1, VEC, 0},
        {"an exception vector", 1, 1, 0, 0, 0x0f, -XEN_EINVAL},
        {"a vcpu that does not exist", 1, 1, 0, 2, VEC, -XEN_ENOENT},
        {"a PV guest's upcall vector", 2, 1, 0, 0, VEC, -XEN_EINVAL},
        {"an operation the model lacks", 1, 2, 0, 0, 0, -XEN_ENOSYS},
    };
    struct domain *callers[] = {d0, hvm, pv, w->other};
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct domain *c = callers[rows[i].caller];
        long rc =
            rows[i].kind == 0   ? set_param(w, c, rows[i].dom, rows[i].index_or_vcpu, rows[i].value)
            : rows[i].kind == 1 ? set_vector(w, c, rows[i].index_or_vcpu, (uint8_t)rows[i].value)
                                : fx_hypercall(c->vcpu[0], __HYPERVISOR_hvm_op, 99, 0, 0);
        if (rc != rows[i].rc)
            fail_msg("%s: %ld, expected %ld", rows[i].what, rc, rows[i].rc);
    }
    assert_int_equal(hvm->callback_vector, VEC);
    assert_int_equal(hvm->vcpu[1]->upcall_vector, VEC);
    assert_int_equal(hvm->hvm_param[HVM_PARAM_IOREQ_SERVER_PFN], 0x1000);
    /* A PV guest's callback_op is its own: an HVM guest gets -ENOSYS, as Xen's tables say. */
    assert_int_equal(
        fx_hypercall(hvm->vcpu[0], __HYPERVISOR_callback_op, CALLBACKOP_register, FX_ARG_GPA, 0),
        -XEN_ENOSYS);
    fx_check_consistency(&w->fx);
}

/* Which vector Xen injects: the vcpu's own, else the domain's, only while upcall_pending. */
static void vector_choice(void **state)
{
    struct world *w = *state;
    struct vcpu *v0 = w->hvm->vcpu[0], *v1 = w->hvm->vcpu[1];
    assert_int_equal(hvm_upcall_vector(v0), 0); /* none chosen */
    assert_int_equal(
        set_param(w, w->hvm, DOMID_SELF, HVM_PARAM_CALLBACK_IRQ, CALLBACK_VECTOR(0xe0)), 0);
    assert_int_equal(hvm_upcall_vector(v0), 0); /* nothing pending */
    fx_set_upcall_pending(v0, 1);
    fx_set_upcall_mask(v0, 1); /* ignored for HVM: the guest masks with RFLAGS.IF */
    assert_int_equal(hvm_upcall_vector(v0), 0xe0);
    assert_int_equal(set_vector(w, w->hvm, 1, 0xf0), 0);
    fx_set_upcall_pending(v1, 1);
    assert_int_equal(hvm_upcall_vector(v1), 0xf0);
    /* A GSI callback (type 0) needs the emulated interrupt controllers: no vector. */
    assert_int_equal(set_param(w, w->hvm, DOMID_SELF, HVM_PARAM_CALLBACK_IRQ, 5), 0);
    assert_int_equal(hvm_upcall_vector(v0), 0);
    assert_int_equal(hvm_upcall_vector(w->pv->vcpu[0]), 0);
}

static void write_gate(struct world *w, uint8_t vector, uint64_t handler, uint8_t type_attr)
{
    uint8_t *g = fx_gpa(&w->fx, w->hvm, IDT_GPA + vector * 16u);
    memset(g, 0, 16);
    uint16_t lo = (uint16_t)handler, mid = (uint16_t)(handler >> 16), sel = 0x08;
    uint32_t hi = (uint32_t)(handler >> 32);
    memcpy(g, &lo, 2);
    memcpy(g + 2, &sel, 2);
    g[5] = type_attr;
    memcpy(g + 6, &mid, 2);
    memcpy(g + 8, &hi, 4);
}

/* The frame the CPU pushes, and what the gate's type does to RFLAGS. */
static void injection(void **state)
{
    struct world *w = *state;
    struct vcpu *v = w->hvm->vcpu[0];
    struct hvm_idt idt = {IDT_GPA, 256 * 16 - 1};
    static const struct {
        uint8_t type_attr;
        uint32_t limit;
        int rc;
        bool if_after;
    } cases[] = {
        {0x8e, 256 * 16 - 1, 0, false},          /* interrupt gate: IF cleared */
        {0x8f, 256 * 16 - 1, 0, true},           /* trap gate: IF kept */
        {0x0e, 256 * 16 - 1, -XEN_EFAULT, true}, /* not present */
        {0x8c, 256 * 16 - 1, -XEN_EFAULT, true}, /* a call gate is no interrupt gate */
        {0x8e, VEC * 16, -XEN_EFAULT, true},     /* beyond the IDT's limit */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        write_gate(w, VEC, 0x123456789aull, cases[i].type_attr);
        idt.limit = cases[i].limit;
        struct hv_regs r = {.rip = 0x101234, .rsp = FX_STACK_GPA - 8, .rflags = 0x246 | 0x100};
        int rc = hvm_inject_vector(v, &r, &idt, 0x08, 0x10, VEC);
        assert_int_equal(rc, cases[i].rc);
        if (rc)
            continue;
        assert_int_equal(r.rip, 0x123456789aull);
        assert_int_equal(r.rsp, FX_STACK_GPA - 16 - 40);
        assert_int_equal((r.rflags & X86_EFLAGS_IF) != 0, cases[i].if_after);
        assert_int_equal(r.rflags & X86_EFLAGS_TF, 0);
        uint64_t f[5];
        memcpy(f, fx_gpa(&w->fx, w->hvm, r.rsp), sizeof(f));
        assert_int_equal(f[0], 0x101234);
        assert_int_equal(f[1], 0x08);
        assert_int_equal(f[2], 0x346);
        assert_int_equal(f[3], FX_STACK_GPA - 8);
        assert_int_equal(f[4], 0x10);
    }
    struct hv_regs bad = {.rsp = FX_BAD_GPA, .rflags = 0x202};
    write_gate(w, VEC, 0x1000, 0x8e);
    idt.limit = 256 * 16 - 1;
    assert_int_equal(hvm_inject_vector(v, &bad, &idt, 0x08, 0x10, VEC), -XEN_EFAULT);
}

/* hlt: blocks unless a vector is due; with interrupts off the vcpu goes down, the last one
 * powering the domain off. */
static void halt(void **state)
{
    struct world *w = *state;
    struct vcpu *v0 = w->hvm->vcpu[0], *v1 = w->hvm->vcpu[1];
    assert_int_equal(set_param(w, w->hvm, DOMID_SELF, HVM_PARAM_CALLBACK_IRQ, CALLBACK_VECTOR(VEC)),
                     0);
    fx_set_upcall_pending(v0, 1);
    hvm_hlt(v0, true);
    assert_int_equal(v0->run_state, VCPU_RUNNABLE); /* an event is due: no block */
    fx_set_upcall_pending(v0, 0);
    hvm_hlt(v0, true);
    assert_int_equal(v0->run_state, VCPU_BLOCKED);
    v0->run_state = VCPU_RUNNABLE;
    v1->run_state = VCPU_RUNNABLE;
    hvm_hlt(v1, false);
    assert_int_equal(v1->run_state, VCPU_DOWN);
    assert_int_equal(w->fx.shutdown_reason[1], -1);
    hvm_hlt(v0, false);
    assert_int_equal(w->fx.shutdown_reason[1], SHUTDOWN_poweroff);
}

static long add_shared_info(struct world *w, struct domain *caller, domid_t dom, unsigned space,
                            uint64_t idx, uint64_t gpfn)
{
    struct xen_add_to_physmap x = {.domid = dom, .space = space, .idx = idx, .gpfn = gpfn};
    memcpy(fx_gpa(&w->fx, caller, FX_ARG_GPA), &x, sizeof(x));
    return fx_hypercall(caller->vcpu[0], __HYPERVISOR_memory_op, XENMEM_add_to_physmap, FX_ARG_GPA,
                        0);
}

/* XENMEM_add_to_physmap(XENMAPSPACE_shared_info): Xen's checks in order, and the page moving
 * from the frame it had to the new one. */
static void shared_info_mapping(void **state)
{
    struct world *w = *state;
    static const struct {
        const char *what;
        int caller; /* 0: d0, 1: the HVM guest, 2: a PV guest, 3: another HVM guest */
        domid_t dom;
        unsigned space;
        uint64_t idx, gpfn;
        long rc;
    } rows[] = {
        {"a foreign frame (only the batched call)", 1, DOMID_SELF, XENMAPSPACE_gmfn_foreign, 0,
         0x50, -XEN_ENOSYS},
        {"no such domain", 1, 9, XENMAPSPACE_shared_info, 0, 0x50, -XEN_ESRCH},
        {"a PV domain: no physmap", 2, DOMID_SELF, XENMAPSPACE_shared_info, 0, 0x50, -XEN_EACCES},
        {"another guest's", 3, 1, XENMAPSPACE_shared_info, 0, 0x50, -XEN_EPERM},
        {"an invalid frame", 1, DOMID_SELF, XENMAPSPACE_shared_info, 0, ~0ull, -XEN_EINVAL},
        {"an index other than 0", 1, DOMID_SELF, XENMAPSPACE_shared_info, 1, 0x50, -XEN_EINVAL},
        {"a space the model lacks", 1, DOMID_SELF, XENMAPSPACE_gmfn, 0, 0x50, -XEN_EOPNOTSUPP},
        {"no such space", 1, DOMID_SELF, 77, 0, 0x50, -XEN_EINVAL},
        {"the guest's own", 1, DOMID_SELF, XENMAPSPACE_shared_info, 0, 0x50, 0},
        {"moved by dom0", 0, 1, XENMAPSPACE_shared_info, 0, 0x60, 0},
    };
    struct domain *callers[] = {w->d0, w->hvm, w->pv, w->other};
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        long rc = add_shared_info(w, callers[rows[i].caller], rows[i].dom, rows[i].space,
                                  rows[i].idx, rows[i].gpfn);
        if (rc != rows[i].rc)
            fail_msg("%s: %ld, expected %ld", rows[i].what, rc, rows[i].rc);
    }
    /* Mapped at 0x50, then gone from 0x50 and mapped at 0x60. */
    const struct fx_page_map *p = w->fx.page_map;
    assert_int_equal(w->fx.nr_page_maps, 3);
    void *si = shared_info_ptr(w->hvm);
    assert_true(p[0].domid == 1 && p[0].gfn == 0x50 && p[0].page == si);
    assert_true(p[1].domid == 1 && p[1].gfn == 0x50 && p[1].page == NULL);
    assert_true(p[2].domid == 1 && p[2].gfn == 0x60 && p[2].page == si);
    /* A continuation's start extent makes no sense here: Xen's -EDOM. */
    assert_int_equal(fx_hypercall(w->hvm->vcpu[0], __HYPERVISOR_memory_op,
                                  XENMEM_add_to_physmap | (1u << 6), FX_ARG_GPA, 0),
                     -XEN_EDOM);
}

/* ---- foreign frames: XENMEM_add_to_physmap_batch and XENMEM_remove_from_physmap ---- */

#define IDXS_GPA FX_BUF_GPA
#define GPFNS_GPA (FX_BUF_GPA + 0x100u)
#define ERRS_GPA (FX_BUF_GPA + 0x200u)

/* One entry's batch (idx, gpfn) made by caller into domid's physmap; *err its errs[0]. */
static long add_batch(struct world *w, struct domain *caller, domid_t dom, unsigned space,
                      domid_t foreign, uint64_t idx, uint64_t gpfn, unsigned extent, int *err)
{
    struct xen_add_to_physmap_batch x = {.domid = dom, .space = (uint16_t)space, .size = 1};
    x.u.foreign_domid = foreign;
    set_xen_guest_handle(x.idxs, (xen_ulong_t *)(uintptr_t)IDXS_GPA);
    set_xen_guest_handle(x.gpfns, (xen_pfn_t *)(uintptr_t)GPFNS_GPA);
    set_xen_guest_handle(x.errs, (int *)(uintptr_t)(err ? ERRS_GPA : FX_BAD_GPA));
    xen_ulong_t i = idx;
    xen_pfn_t g = gpfn;
    int poison = 0x5a5a;
    memcpy(fx_gpa(&w->fx, caller, IDXS_GPA), &i, sizeof(i));
    memcpy(fx_gpa(&w->fx, caller, GPFNS_GPA), &g, sizeof(g));
    memcpy(fx_gpa(&w->fx, caller, ERRS_GPA), &poison, sizeof(poison));
    memcpy(fx_gpa(&w->fx, caller, FX_ARG_GPA), &x, sizeof(x));
    long rc = fx_hypercall(caller->vcpu[0], __HYPERVISOR_memory_op,
                           XENMEM_add_to_physmap_batch | (uint64_t)extent << MEMOP_EXTENT_SHIFT,
                           FX_ARG_GPA, 0);
    if (err)
        memcpy(err, fx_gpa(&w->fx, caller, ERRS_GPA), sizeof(*err));
    return rc;
}

static long remove_frame(struct world *w, struct domain *caller, domid_t dom, uint64_t gpfn,
                         unsigned extent)
{
    struct xen_remove_from_physmap x = {.domid = dom, .gpfn = gpfn};
    memcpy(fx_gpa(&w->fx, caller, FX_ARG_GPA), &x, sizeof(x));
    return fx_hypercall(caller->vcpu[0], __HYPERVISOR_memory_op,
                        XENMEM_remove_from_physmap | (uint64_t)extent << MEMOP_EXTENT_SHIFT,
                        FX_ARG_GPA, 0);
}

#define NO_ERR 0x5a5a /* errs[0] untouched: the call failed before the entry */

/* Xen's checks in order: the call's (its return value), then each entry's (errs[]). d2 is d1's
 * device model (XEN_DOMCTL_set_target) here. */
static void foreign_mapping(void **state)
{
    struct world *w = *state;
    w->pv->has_target = true;
    w->pv->target = 1;
    static const struct {
        const char *what;
        int caller; /* 0: d0, 1: the HVM guest, 2: d1's device model, 3: another HVM guest */
        domid_t dom, foreign;
        unsigned space, extent;
        uint64_t idx, gpfn;
        long rc;
        int err;
    } rows[] = {
        {"a range space", 0, DOMID_SELF, 1, XENMAPSPACE_gmfn_range, 0, 0x10, 0x80, -XEN_EOPNOTSUPP,
         NO_ERR},
        {"no such domain", 0, 9, 1, XENMAPSPACE_gmfn_foreign, 0, 0x10, 0x80, -XEN_ESRCH, NO_ERR},
        {"a PV domain's physmap", 0, 2, 1, XENMAPSPACE_gmfn_foreign, 0, 0x10, 0x80, -XEN_EACCES,
         NO_ERR},
        {"device MMIO not into the hardware domain", 1, DOMID_SELF, 0, XENMAPSPACE_dev_mmio, 0,
         0x10, 0x80, -XEN_EACCES, NO_ERR},
        {"another guest's physmap", 3, 1, 1, XENMAPSPACE_gmfn_foreign, 0, 0x10, 0x80, -XEN_EPERM,
         NO_ERR},
        {"a start extent beyond the size", 0, DOMID_SELF, 1, XENMAPSPACE_gmfn_foreign, 2, 0x10,
         0x80, -XEN_EILSEQ, NO_ERR},
        {"a start extent at the size", 0, DOMID_SELF, 1, XENMAPSPACE_gmfn_foreign, 1, 0x10, 0x80,
         -XEN_EILSEQ, NO_ERR},
        {"device MMIO with res0 set", 0, DOMID_SELF, 1, XENMAPSPACE_dev_mmio, 0, 0x10, 0x80,
         -XEN_EOPNOTSUPP, NO_ERR},
        {"no such foreign domain", 0, DOMID_SELF, 9, XENMAPSPACE_gmfn_foreign, 0, 0x10, 0x80, 0,
         -XEN_ESRCH},
        {"the caller's own frames", 0, DOMID_SELF, 0, XENMAPSPACE_gmfn_foreign, 0, 0x10, 0x80, 0,
         -XEN_EPERM},
        {"the physmap's own domain", 0, 1, 1, XENMAPSPACE_gmfn_foreign, 0, 0x10, 0x80, 0,
         -XEN_EINVAL},
        {"Xen's pages", 0, DOMID_SELF, DOMID_XEN, XENMAPSPACE_gmfn_foreign, 0, 0x10, 0x80, 0,
         -XEN_EINVAL},
        {"an unprivileged guest", 3, DOMID_SELF, 1, XENMAPSPACE_gmfn_foreign, 0, 0x10, 0x80, 0,
         -XEN_EPERM},
        {"a frame that is not RAM", 0, DOMID_SELF, 1, XENMAPSPACE_gmfn_foreign, 0, 0x7fff0, 0x80, 0,
         -XEN_EINVAL},
        {"a space the model lacks", 0, DOMID_SELF, 0, XENMAPSPACE_grant_table, 0, 0, 0x80, 0,
         -XEN_EOPNOTSUPP},
        {"no such space", 0, DOMID_SELF, 0, 77, 0, 0, 0x80, 0, -XEN_EINVAL},
        {"dom0 maps d1's frame 0x10", 0, DOMID_SELF, 1, XENMAPSPACE_gmfn_foreign, 0, 0x10, 0x80, 0,
         0},
        {"d1's device model maps its frame 0x11", 2, DOMID_SELF, 1, XENMAPSPACE_gmfn_foreign, 0,
         0x11, 0x90, 0, 0},
        {"dom0 maps d1's frame 0x12 over 0x10", 0, DOMID_SELF, 1, XENMAPSPACE_gmfn_foreign, 0, 0x12,
         0x80, 0, 0},
    };
    struct domain *callers[] = {w->d0, w->hvm, w->pv, w->other};
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        int err = 0;
        long rc = add_batch(w, callers[rows[i].caller], rows[i].dom, rows[i].space, rows[i].foreign,
                            rows[i].idx, rows[i].gpfn, rows[i].extent, &err);
        if (rc != rows[i].rc || err != rows[i].err)
            fail_msg("%s: %ld errs[0] %d, expected %ld %d", rows[i].what, rc, err, rows[i].rc,
                     rows[i].err);
    }
    /* An empty batch does nothing; errs[] out of guest memory is the call's -EFAULT. */
    struct xen_add_to_physmap_batch empty = {.domid = DOMID_SELF,
                                             .space = XENMAPSPACE_gmfn_foreign};
    memcpy(fx_gpa(&w->fx, w->d0, FX_ARG_GPA), &empty, sizeof(empty));
    assert_int_equal(fx_hypercall(w->d0->vcpu[0], __HYPERVISOR_memory_op,
                                  XENMEM_add_to_physmap_batch, FX_ARG_GPA, 0),
                     0);
    assert_int_equal(
        add_batch(w, w->d0, DOMID_SELF, XENMAPSPACE_gmfn_foreign, 1, 0x10, 0x80, 0, NULL),
        -XEN_EFAULT);
    /* The table: 0x80 holds d1's frame 0x12 (it replaced 0x10), 0x90 its 0x11; the simulator
     * was shown each page where it appeared. */
    const struct foreign_map *m = physmap_foreign_at(w->d0, 0x80);
    assert_non_null(m);
    assert_true(m->fdomid == 1 && m->fgfn == 0x12);
    assert_non_null(physmap_foreign_at(w->pv, 0x90));
    const struct fx_page_map *p = w->fx.page_map;
    assert_int_equal(w->fx.nr_page_maps, 3);
    assert_true(p[0].domid == 0 && p[0].gfn == 0x80 &&
                p[0].page == fx_gpa(&w->fx, w->hvm, 0x10000));
    assert_true(p[1].domid == 2 && p[1].gfn == 0x90 &&
                p[1].page == fx_gpa(&w->fx, w->hvm, 0x11000));
    assert_true(p[2].domid == 0 && p[2].gfn == 0x80 &&
                p[2].page == fx_gpa(&w->fx, w->hvm, 0x12000));

    /* XENMEM_remove_from_physmap, in Xen's order. */
    static const struct {
        const char *what;
        int caller;
        domid_t dom;
        uint64_t gpfn;
        unsigned extent;
        long rc;
    } removes[] = {
        {"a start extent", 0, DOMID_SELF, 0x80, 1, -XEN_EINVAL},
        {"no such domain", 0, 9, 0x80, 0, -XEN_ESRCH},
        {"another guest's physmap", 3, 0, 0x80, 0, -XEN_EPERM},
        {"the foreign frame", 0, DOMID_SELF, 0x80, 0, 0},
        {"the domain's own RAM", 0, DOMID_SELF, 0x80, 0, -XEN_EOPNOTSUPP},
        {"no page at all", 0, DOMID_SELF, 0x7fff0, 0, -XEN_ENOENT},
        {"by the device model", 2, DOMID_SELF, 0x90, 0, 0},
    };
    for (size_t i = 0; i < sizeof(removes) / sizeof(removes[0]); i++) {
        long rc = remove_frame(w, callers[removes[i].caller], removes[i].dom, removes[i].gpfn,
                               removes[i].extent);
        if (rc != removes[i].rc)
            fail_msg("remove, %s: %ld, expected %ld", removes[i].what, rc, removes[i].rc);
    }
    assert_null(physmap_foreign_at(w->d0, 0x80));
    assert_null(physmap_foreign_at(w->pv, 0x90));
    assert_int_equal(w->fx.nr_page_maps, 5);
    assert_true(p[3].domid == 0 && p[3].gfn == 0x80 && p[3].page == NULL);
    assert_true(p[4].domid == 2 && p[4].gfn == 0x90 && p[4].page == NULL);
    w->pv->has_target = false;
}

/* VCPUOP_initialise for an HVM vcpu takes an HVM context (arch_set_info_hvm_guest). */
static void hvm_vcpu_context(void **state)
{
    struct world *w = *state;
    static const struct {
        const char *what;
        uint32_t mode, pad;
        uint64_t rip, cr0, cr4, efer;
        long rc;
    } rows[] = {
        {"a non-zero pad", VCPU_HVM_MODE_64B, 1, 0x1000, 0x80000001, 0x20, 0x500, -XEN_EINVAL},
        {"32-bit mode (not modelled)", VCPU_HVM_MODE_32B, 0, 0x1000, 0x80000001, 0x20, 0x500,
         -XEN_EOPNOTSUPP},
        {"an unknown mode", 7, 0, 0x1000, 0x80000001, 0x20, 0x500, -XEN_EINVAL},
        {"a non-canonical rip", VCPU_HVM_MODE_64B, 0, 0x800000000000ull, 0x80000001, 0x20, 0x500,
         -XEN_EINVAL},
        {"paging off", VCPU_HVM_MODE_64B, 0, 0x1000, 0x1, 0x20, 0x500, -XEN_EINVAL},
        {"PAE off", VCPU_HVM_MODE_64B, 0, 0x1000, 0x80000001, 0, 0x500, -XEN_EINVAL},
        {"long mode off", VCPU_HVM_MODE_64B, 0, 0x1000, 0x80000001, 0x20, 0, -XEN_EINVAL},
        {"a good one", VCPU_HVM_MODE_64B, 0, 0x1000, 0x80000001, 0x20, 0x500, 0},
        {"again", VCPU_HVM_MODE_64B, 0, 0x1000, 0x80000001, 0x20, 0x500, -XEN_EEXIST},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        vcpu_hvm_context_t c = {.mode = rows[i].mode, .pad = rows[i].pad};
        c.cpu_regs.x86_64 = (struct vcpu_hvm_x86_64){.rip = rows[i].rip,
                                                     .rsp = 0x8000,
                                                     .rdi = 7,
                                                     .rflags = 0x3202,
                                                     .cr0 = rows[i].cr0,
                                                     .cr4 = rows[i].cr4,
                                                     .efer = rows[i].efer};
        memcpy(fx_gpa(&w->fx, w->hvm, FX_ARG_GPA), &c, sizeof(c));
        long rc =
            fx_hypercall(w->hvm->vcpu[0], __HYPERVISOR_vcpu_op, VCPUOP_initialise, 1, FX_ARG_GPA);
        if (rc != rows[i].rc)
            fail_msg("%s: %ld, expected %ld", rows[i].what, rc, rows[i].rc);
    }
    const struct hv_regs *r = &w->hvm->vcpu[1]->initial_regs;
    assert_int_equal(r->rip, 0x1000);
    assert_int_equal(r->rsp, 0x8000);
    assert_int_equal(r->rdi, 7);
    assert_int_equal(r->rflags, 0x3202); /* IOPL kept: Xen masks with X86_EFLAGS_ALL only */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(conformance, world_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(vector_choice, world_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(injection, world_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(halt, world_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(shared_info_mapping, world_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(foreign_mapping, world_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(hvm_vcpu_context, world_setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
