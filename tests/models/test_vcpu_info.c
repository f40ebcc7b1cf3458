/* VCPUOP_register_vcpu_info (Xen 4.22's common_vcpu_op and map_guest_area): a vcpu's
 * vcpu_info moved to a guest page of its choice, which is how vcpus beyond the 32 legacy slots
 * in shared_info get one at all. Every error Xen gives, in its order; the copy of the old
 * contents (or a zeroed, masked vcpu_info for a vcpu that had none); everything marked pending
 * and the time published on success, for the caller or another vcpu, online or not; events to
 * vcpus >= 32 held until they register (2-level, FIFO, 3-level), and events delivered through
 * the registered copy. Last, conformance rows for the event-channel operations that name vcpus
 * >= 32.
 *
 * The world: d0 privileged with 40 vcpus, shared_info set up as the domain builder does (every
 * legacy vcpu_info masked); vcpu 0 runs, the others are down. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>

#include <cmocka.h>

#include "models/pv.h"
#include "tests/models/fake_xen.h"

#define NR_VCPUS 40u
#define VI_GPA 0xe0000u           /* a page for registered vcpu_infos */
#define VI_GPA2 0xe1000u          /* another one */
#define FIFO_CTRL_HI_GPA 0xe2000u /* FIFO control block of a vcpu >= 32 */
#define L2SEL_HI_GPA 0xe3000u     /* 3-level L2 selector of a vcpu >= 32 */
#define CTX_GPA FX_BUF_GPA        /* a vcpu_guest_context for VCPUOP_initialise */

struct world {
    struct fake_xen fx; /* first: fx_teardown */
    struct domain *d;
};

static struct world *world_new(unsigned nr_vcpus, unsigned word_bits)
{
    struct world *w = test_calloc(1, sizeof(*w));

    fx_init(&w->fx);
    w->d = fx_domain(&w->fx, 0, true, nr_vcpus, word_bits, 0);
    assert_int_equal(domain_init_shared_info(w->d), 0);
    return w;
}

static int world_setup(void **state)
{
    *state = world_new(NR_VCPUS, 0);
    return 0;
}

static struct vcpu *V(struct world *w, unsigned i)
{
    return w->d->vcpu[i];
}

static long register_at(struct world *w, struct vcpu *caller, unsigned vcpu, uint64_t mfn,
                        uint32_t offset)
{
    struct vcpu_register_vcpu_info r = {.mfn = mfn, .offset = offset};

    memcpy(fx_gpa(&w->fx, w->d, FX_ARG_GPA), &r, sizeof(r));
    return fx_hypercall(caller, __HYPERVISOR_vcpu_op, VCPUOP_register_vcpu_info, vcpu, FX_ARG_GPA);
}

/* vcpu `vcpu` registers (as vcpu 0) at VI_GPA + 64 * slot; asserts success. */
static struct vcpu_info *register_ok(struct world *w, unsigned vcpu, unsigned slot)
{
    assert_int_equal(register_at(w, V(w, 0), vcpu, VI_GPA / XEN_PAGE_SIZE, 64u * slot), 0);
    return fx_gpa(&w->fx, w->d, VI_GPA + 64u * slot);
}

static long send_port(struct world *w, struct vcpu *v, uint32_t port)
{
    struct evtchn_send s = {.port = port};

    return fx_evtchn_op(&w->fx, v, EVTCHNOP_send, &s, sizeof(s));
}

/* The guest's acknowledgement of the spurious "everything pending" of a registration. */
static void ack_all(struct vcpu_info *vi)
{
    vi->evtchn_upcall_pending = 0;
    vi->evtchn_pending_sel = 0;
}

static uint64_t shinfo_pending_word(struct world *w, unsigned word)
{
    return shared_info_ptr(w->d)->evtchn_pending[word];
}

/* ---- errors: nothing changes ---- */

struct error_row {
    const char *name;
    unsigned vcpu;
    bool bad_arg;
    uint64_t mfn;
    uint32_t offset;
    long expect;
};

#define GOOD_MFN (VI_GPA / XEN_PAGE_SIZE)

/* Xen 4.22's checks in their order: the argument (-EFAULT), the address (-EINVAL), the area
 * (-ENXIO: across a page boundary or misaligned for xen_ulong_t), the frame (-EINVAL); the
 * target vcpu before all of them (-ENOENT). */
static const struct error_row error_rows[] = {
    {"arg_not_guest_memory", 1, true, GOOD_MFN, 0, -XEN_EFAULT},
    {"area_crosses_page_misaligned", 1, false, GOOD_MFN, XEN_PAGE_SIZE - 63, -XEN_ENXIO},
    {"area_crosses_page_aligned", 1, false, GOOD_MFN, XEN_PAGE_SIZE - 56, -XEN_ENXIO},
    {"area_crosses_page_by_8", 1, false, GOOD_MFN, XEN_PAGE_SIZE - 8, -XEN_ENXIO},
    {"offset_misaligned_by_4", 1, false, GOOD_MFN, 4, -XEN_ENXIO},
    {"offset_misaligned_by_1", 1, false, GOOD_MFN, 65, -XEN_ENXIO},
    {"offset_past_page", 1, false, GOOD_MFN, XEN_PAGE_SIZE, -XEN_EINVAL},
    {"offset_huge", 1, false, GOOD_MFN, UINT32_MAX, -XEN_EINVAL},
    {"mfn_not_guest_memory", 1, false, FX_BAD_GPA / XEN_PAGE_SIZE, 0, -XEN_EINVAL},
    {"mfn_just_past_memory", 1, false, FX_MEM_SIZE / XEN_PAGE_SIZE, 0, -XEN_EINVAL},
    {"misaligned_wins_over_bad_mfn", 1, false, FX_BAD_GPA / XEN_PAGE_SIZE, 4, -XEN_ENXIO},
    {"mfn_address_wraps_to_0", 1, false, 1ull << 52, 0, -XEN_EINVAL},
    {"mfn_all_ones", 1, false, UINT64_MAX, 0, -XEN_EINVAL},
    {"address_all_ones", 1, false, (1ull << 52) - 1, XEN_PAGE_SIZE - 1, -XEN_EINVAL},
    {"vcpu_out_of_range", NR_VCPUS, false, GOOD_MFN, 0, -XEN_ENOENT},
    {"vcpu_far_out_of_range", UINT32_MAX, false, GOOD_MFN, 0, -XEN_ENOENT},
    {"bad_vcpu_wins_over_bad_arg", NR_VCPUS, true, GOOD_MFN, 0, -XEN_ENOENT},
};

static void test_errors(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(error_rows) / sizeof(error_rows[0]); i++) {
        const struct error_row *r = &error_rows[i];
        struct world *w = world_new(NR_VCPUS, 0);
        struct vcpu_register_vcpu_info arg = {.mfn = r->mfn, .offset = r->offset};
        struct vcpu_info *legacy1 = &shared_info_ptr(w->d)->vcpu_info[1];
        long rc;

        print_message("error %s\n", r->name);
        memcpy(fx_gpa(&w->fx, w->d, FX_ARG_GPA), &arg, sizeof(arg));
        rc = fx_hypercall(V(w, 0), __HYPERVISOR_vcpu_op, VCPUOP_register_vcpu_info, r->vcpu,
                          r->bad_arg ? FX_BAD_GPA : FX_ARG_GPA);
        assert_int_equal(rc, r->expect);
        for (unsigned v = 0; v < NR_VCPUS; v++) {
            assert_null(V(w, v)->vcpu_info_reg);
            assert_int_equal(V(w, v)->vcpu_info_gpa, 0);
            assert_int_equal(fx_rec(&w->fx, V(w, v))->time_updates, 0);
        }
        assert_ptr_equal(vcpu_info_ptr(V(w, 1)), legacy1);
        assert_int_equal(legacy1->evtchn_upcall_pending, 0);
        assert_int_equal(legacy1->evtchn_pending_sel, 0);
        assert_int_equal(w->fx.nr_event_pages, 0);
        assert_int_equal(fx_rec(&w->fx, V(w, 1))->kicks + fx_rec(&w->fx, V(w, 1))->wakes, 0);
        fx_teardown((void **)&w);
    }
}

/* Xen allows one registration per vcpu: any later one is -EBUSY (checked after the address,
 * before the area) and the first stands. */
static void test_only_once(void **state)
{
    struct world *w = *state;
    unsigned ids[] = {1, 33};

    for (unsigned k = 0; k < 2; k++) {
        unsigned id = ids[k];
        struct vcpu_info *vi = register_ok(w, id, id);

        assert_int_equal(register_at(w, V(w, 0), id, VI_GPA2 / XEN_PAGE_SIZE, 0), -XEN_EBUSY);
        assert_int_equal(register_at(w, V(w, 0), id, VI_GPA / XEN_PAGE_SIZE, 64u * id), -XEN_EBUSY);
        assert_int_equal(register_at(w, V(w, 0), id, VI_GPA / XEN_PAGE_SIZE, 4), -XEN_EBUSY);
        assert_int_equal(register_at(w, V(w, 0), id, FX_BAD_GPA / XEN_PAGE_SIZE, 0), -XEN_EBUSY);
        assert_int_equal(register_at(w, V(w, 0), id, VI_GPA / XEN_PAGE_SIZE, XEN_PAGE_SIZE),
                         -XEN_EINVAL);
        assert_ptr_equal(vcpu_info_ptr(V(w, id)), vi);
        assert_int_equal(V(w, id)->vcpu_info_gpa, VI_GPA + 64u * id);
        assert_int_equal(fx_rec(&w->fx, V(w, id))->time_updates, 1);
    }
    assert_int_equal(w->fx.nr_event_pages, 2);
}

/* The last offset that leaves room for the 64-byte vcpu_info, one aligned to 8 but not to a
 * cache line, and a 32-bit guest's alignment of 4 (its compat_ulong_t). */
static void test_offsets(void **state)
{
    struct world *w = *state;
    struct world *w32 = world_new(NR_VCPUS, 32);

    assert_int_equal(register_at(w, V(w, 0), 2, VI_GPA / XEN_PAGE_SIZE, XEN_PAGE_SIZE - 64), 0);
    assert_ptr_equal(vcpu_info_ptr(V(w, 2)), fx_gpa(&w->fx, w->d, VI_GPA + XEN_PAGE_SIZE - 64));
    assert_int_equal(register_at(w, V(w, 0), 3, VI_GPA2 / XEN_PAGE_SIZE, 8), 0);
    assert_ptr_equal(vcpu_info_ptr(V(w, 3)), fx_gpa(&w->fx, w->d, VI_GPA2 + 8));
    assert_int_equal(V(w, 3)->vcpu_info_gpa, VI_GPA2 + 8);
    assert_int_equal(register_at(w32, V(w32, 0), 1, VI_GPA / XEN_PAGE_SIZE, 4), 0);
    assert_int_equal(V(w32, 1)->vcpu_info_gpa, VI_GPA + 4);
    assert_int_equal(register_at(w32, V(w32, 0), 2, VI_GPA / XEN_PAGE_SIZE, 66), -XEN_ENXIO);
    fx_teardown((void **)&w32);
}

/* 4.22 pauses another vcpu for the switch instead of refusing it (4.17's -EINVAL): a running
 * vcpu is kicked by the new upcall_pending edge, a blocked one woken; both get their time
 * published in the new place. */
static void test_other_vcpu_online(void **state)
{
    struct world *w = *state;
    struct vcpu_info *legacy1 = &shared_info_ptr(w->d)->vcpu_info[1];
    struct vcpu_info *vi;

    legacy1->evtchn_upcall_mask = 0;
    V(w, 1)->run_state = VCPU_RUNNABLE;
    vi = register_ok(w, 1, 1);
    assert_ptr_equal(vcpu_info_ptr(V(w, 1)), vi);
    assert_int_equal(vi->evtchn_upcall_pending, 1);
    assert_int_equal(fx_rec(&w->fx, V(w, 1))->kicks, 1);
    assert_int_equal(fx_rec(&w->fx, V(w, 1))->time_updates, 1);

    V(w, 2)->run_state = VCPU_BLOCKED;
    vi = register_ok(w, 2, 2);
    assert_int_equal(vi->evtchn_upcall_pending, 1);
    assert_int_equal(fx_rec(&w->fx, V(w, 2))->wakes, 1);
    assert_int_equal(V(w, 2)->run_state, VCPU_RUNNABLE);
    assert_int_equal(fx_rec(&w->fx, V(w, 0))->time_updates, 0);
}

/* ---- success ---- */

/* A legacy vcpu's vcpu_info moves with its contents; then everything is marked pending in the
 * new place only; the page is announced to the simulator. A down vcpu is not kicked. */
static void test_copy_from_legacy_slot(void **state)
{
    struct world *w = *state;
    struct vcpu_info *legacy = &shared_info_ptr(w->d)->vcpu_info[1];
    struct vcpu_info *vi = fx_gpa(&w->fx, w->d, VI_GPA + 128);
    struct vcpu_info want;

    legacy->evtchn_upcall_mask = 0;
    legacy->evtchn_pending_sel = 0x5;
    legacy->arch.cr2 = 0x1234;
    legacy->arch.pad = 0x77;
    legacy->time.version = 6;
    legacy->time.system_time = 123456789;
    legacy->time.tsc_to_system_mul = 0xabcd;
    legacy->time.tsc_shift = -1;
    want = *legacy;
    memset(vi, 0xa5, sizeof(*vi));

    assert_ptr_equal(register_ok(w, 1, 2), vi);

    want.evtchn_upcall_pending = 1;
    want.evtchn_pending_sel = ~0ull;
    assert_memory_equal(vi, &want, sizeof(want));
    assert_ptr_equal(vcpu_info_ptr(V(w, 1)), vi);
    assert_ptr_equal(V(w, 1)->vcpu_info_reg, vi);
    assert_int_equal(V(w, 1)->vcpu_info_gpa, VI_GPA + 128);
    /* the legacy slot is left as it was */
    assert_int_equal(legacy->evtchn_upcall_pending, 0);
    assert_int_equal(legacy->evtchn_pending_sel, 0x5);
    /* announced once, as a vcpu_info page */
    assert_int_equal(w->fx.nr_event_pages, 1);
    assert_int_equal(w->fx.event_page[0].gpa, VI_GPA);
    assert_int_equal(w->fx.event_page[0].kind, HV_PAGE_VCPU_INFO);
    assert_int_equal(w->fx.event_page[0].index, 1);
    assert_int_equal(fx_rec(&w->fx, V(w, 1))->kicks, 0);
    assert_int_equal(fx_rec(&w->fx, V(w, 1))->wakes, 0);
    /* vcpu 0 and the other vcpus keep their slots */
    assert_ptr_equal(vcpu_info_ptr(V(w, 0)), &shared_info_ptr(w->d)->vcpu_info[0]);
    assert_ptr_equal(vcpu_info_ptr(V(w, 2)), &shared_info_ptr(w->d)->vcpu_info[2]);
}

/* A running vcpu registers its own: the 0 -> 1 edge of upcall_pending kicks it, and with its
 * mask clear the upcall is deliverable at once. */
static void test_self_registration_kicks(void **state)
{
    struct world *w = *state;
    struct vcpu *v0 = V(w, 0);
    struct vcpu_info *vi;

    shared_info_ptr(w->d)->vcpu_info[0].evtchn_upcall_mask = 0;
    v0->event_callback = 0x5000;
    assert_int_equal(register_at(w, v0, 0, VI_GPA / XEN_PAGE_SIZE, 0), 0);
    vi = fx_gpa(&w->fx, w->d, VI_GPA);
    assert_ptr_equal(vcpu_info_ptr(v0), vi);
    assert_int_equal(vi->evtchn_upcall_pending, 1);
    assert_int_equal(fx_rec(&w->fx, v0)->kicks, 1);
    assert_true(vcpu_local_events_need_delivery(v0));
    assert_true(pv_upcall_deliverable(v0));
    /* the mask that counts is the new one */
    vi->evtchn_upcall_mask = 1;
    assert_false(pv_upcall_deliverable(v0));
    shared_info_ptr(w->d)->vcpu_info[0].evtchn_upcall_mask = 0;
    assert_false(pv_upcall_deliverable(v0));
}

/* upcall_pending already set (copied over): no new edge, no kick. */
static void test_self_registration_already_pending(void **state)
{
    struct world *w = *state;
    struct vcpu *v0 = V(w, 0);

    shared_info_ptr(w->d)->vcpu_info[0].evtchn_upcall_pending = 1;
    assert_int_equal(register_at(w, v0, 0, VI_GPA / XEN_PAGE_SIZE, 0), 0);
    assert_int_equal(vcpu_info_ptr(v0)->evtchn_upcall_pending, 1);
    assert_int_equal(vcpu_info_ptr(v0)->evtchn_pending_sel, ~0ull);
    assert_int_equal(fx_rec(&w->fx, v0)->kicks, 0);
}

/* Beyond the legacy slots there is nothing to copy: the new vcpu_info starts zeroed with
 * upcalls masked (Xen, from dummy_vcpu_info), then everything is marked pending. */
static void test_no_legacy_slot_zeroed_and_masked(void **state)
{
    struct world *w = *state;
    struct vcpu_info *vi = fx_gpa(&w->fx, w->d, VI_GPA + 64u * 33);
    struct vcpu_info want;

    assert_null(vcpu_info_ptr(V(w, 33)));
    memset(vi, 0xa5, sizeof(*vi));
    assert_ptr_equal(register_ok(w, 33, 33), vi);
    memset(&want, 0, sizeof(want));
    want.evtchn_upcall_mask = 1;
    want.evtchn_upcall_pending = 1;
    want.evtchn_pending_sel = ~0ull;
    assert_memory_equal(vi, &want, sizeof(want));
    assert_ptr_equal(vcpu_info_ptr(V(w, 33)), vi);
    assert_int_equal(w->fx.event_page[0].index, 33);
    /* shared_info past the legacy slots (the 2-level bitmaps) is untouched */
    for (unsigned i = 0; i < 64; i++)
        assert_int_equal(shinfo_pending_word(w, i), 0);
    /* masked: not deliverable, even with a callback */
    V(w, 33)->event_callback = 0x5000;
    assert_false(pv_upcall_deliverable(V(w, 33)));
}

/* A 32-bit guest's selector has 32 bits: those are the ones set. */
static void test_32bit_guest_selector(void **state)
{
    struct world *w = world_new(NR_VCPUS, 32);

    (void)state;
    /* The compat selector is the 32-bit word at offset 4 of vcpu_info; the native 64-bit one
     * (offset 8) overlaps the compat arch fields and must stay untouched. */
    for (unsigned id = 34;; id = 1) {
        struct vcpu_info *vi = register_ok(w, id, id);
        assert_int_equal(fx_sel(V(w, id)), 0xffffffffull);
        assert_int_equal(vi->evtchn_pending_sel, 0);
        if (id == 1)
            break;
    }
    fx_teardown((void **)&w);
}

/* Every vcpu of a 64-vcpu domain beyond the legacy 32 registers in one shared page. */
static void test_64_vcpus_one_page(void **state)
{
    struct world *w = world_new(64, 0);

    (void)state;
    for (unsigned id = 32; id < 64; id++)
        register_ok(w, id, id);
    for (unsigned id = 0; id < 64; id++) {
        struct vcpu_info *want = id < 32 ? &shared_info_ptr(w->d)->vcpu_info[id]
                                         : fx_gpa(&w->fx, w->d, VI_GPA + 64u * id);
        assert_ptr_equal(vcpu_info_ptr(V(w, id)), want);
    }
    assert_int_equal(w->fx.nr_event_pages, 32);
    for (unsigned i = 0; i < 32; i++) {
        assert_int_equal(w->fx.event_page[i].gpa, VI_GPA);
        assert_int_equal(w->fx.event_page[i].kind, HV_PAGE_VCPU_INFO);
        assert_int_equal(w->fx.event_page[i].index, 32 + i);
    }
    fx_teardown((void **)&w);
}

/* Xen refuses VCPUOP_initialise while the vcpu has no vcpu_info (dummy_vcpu_info). */
static void test_initialise_needs_vcpu_info(void **state)
{
    struct world *w = *state;
    struct vcpu_guest_context *c = fx_gpa(&w->fx, w->d, CTX_GPA);

    memset(c, 0, sizeof(*c));
    c->user_regs.rip = 0x100000;
    c->user_regs.rsp = 0x8000;
    c->event_callback_eip = 0x101000;
    assert_int_equal(fx_hypercall(V(w, 0), __HYPERVISOR_vcpu_op, VCPUOP_initialise, 35, CTX_GPA),
                     -XEN_EINVAL);
    assert_false(V(w, 35)->initialised);
    register_ok(w, 35, 35);
    assert_int_equal(fx_hypercall(V(w, 0), __HYPERVISOR_vcpu_op, VCPUOP_initialise, 35, CTX_GPA),
                     0);
    assert_true(V(w, 35)->initialised);
    assert_int_equal(fx_hypercall(V(w, 0), __HYPERVISOR_vcpu_op, VCPUOP_up, 35, 0), 0);
    assert_int_equal(V(w, 35)->run_state, VCPU_RUNNABLE);
    /* up and running, registered already: nobody may register it again */
    assert_int_equal(register_at(w, V(w, 0), 35, VI_GPA2 / XEN_PAGE_SIZE, 0), -XEN_EBUSY);
    assert_int_equal(register_at(w, V(w, 35), 35, VI_GPA2 / XEN_PAGE_SIZE, 0), -XEN_EBUSY);
}

/* ---- events to vcpus >= 32 are held until they register ---- */

/* 2-level: the port goes pending in shared_info; with no vcpu_info there is no selector and
 * nobody to notify. Registration marks every selector bit, so the guest's scan finds it. */
static void test_2l_held_until_registration(void **state)
{
    struct world *w = *state;
    uint32_t port = fx_bind_ipi(&w->fx, V(w, 0), 33);
    struct vcpu_info *vi;
    uint64_t sel;

    assert_int_equal(send_port(w, V(w, 0), port), 0);
    assert_true(fx_pending(w->d, port));
    assert_int_equal(fx_rec(&w->fx, V(w, 33))->kicks + fx_rec(&w->fx, V(w, 33))->wakes, 0);
    /* nothing written where a 33rd legacy slot would be (the pending bitmap) */
    assert_int_equal(shinfo_pending_word(w, 0), 1ull << port);
    for (unsigned i = 1; i < 64; i++)
        assert_int_equal(shinfo_pending_word(w, i), 0);

    vi = register_ok(w, 33, 0);
    assert_int_equal(vi->evtchn_upcall_pending, 1);
    /* the guest's 2-level scan */
    sel = vi->evtchn_pending_sel;
    assert_true((sel >> (port / 64)) & 1);
    assert_true(fx_pending(w->d, port) && !fx_masked(w->d, port));
}

/* FIFO: the event is queued on the vcpu's control block (READY set) but the upcall waits for a
 * vcpu_info; registration raises it. */
static void test_fifo_held_until_registration(void **state)
{
    struct world *w = *state;
    volatile struct evtchn_fifo_control_block *cb = fx_gpa(&w->fx, w->d, FIFO_CTRL_HI_GPA);
    struct evtchn_set_priority prio = {.priority = 0};
    struct vcpu_info *vi;
    uint32_t port;

    assert_int_equal(
        fx_fifo_init_control(&w->fx, V(w, 0), 0, FX_FIFO_CONTROL_GPA / XEN_PAGE_SIZE, 0), 0);
    assert_int_equal(fx_fifo_init_control(&w->fx, V(w, 0), 33, FIFO_CTRL_HI_GPA / XEN_PAGE_SIZE, 0),
                     0);
    assert_int_equal(fx_fifo_expand(&w->fx, V(w, 0), 0), 0);
    port = fx_bind_ipi(&w->fx, V(w, 0), 33);
    assert_int_equal(send_port(w, V(w, 0), port), 0);
    assert_true(*fx_fifo_word(&w->fx, w->d, port) & (1u << EVTCHN_FIFO_PENDING));
    assert_true(*fx_fifo_word(&w->fx, w->d, port) & (1u << EVTCHN_FIFO_LINKED));
    assert_int_equal(cb->ready, 1u << EVTCHN_FIFO_PRIORITY_DEFAULT);
    assert_int_equal(cb->head[EVTCHN_FIFO_PRIORITY_DEFAULT], port);
    assert_null(vcpu_info_ptr(V(w, 33)));

    vi = register_ok(w, 33, 1);
    assert_int_equal(vi->evtchn_upcall_pending, 1);
    /* a later event on the same queue: no new READY edge, nothing more to raise */
    ack_all(vi);
    assert_int_equal(send_port(w, V(w, 0), fx_bind_ipi(&w->fx, V(w, 0), 33)), 0);
    assert_int_equal(vi->evtchn_upcall_pending, 0);
    /* an event on another queue: a new READY edge raises the upcall in the registered copy */
    port = fx_bind_ipi(&w->fx, V(w, 0), 33);
    prio.port = port;
    assert_int_equal(fx_evtchn_op(&w->fx, V(w, 0), EVTCHNOP_set_priority, &prio, sizeof(prio)), 0);
    assert_int_equal(send_port(w, V(w, 0), port), 0);
    assert_int_equal(cb->ready, (1u << EVTCHN_FIFO_PRIORITY_DEFAULT) | 1u);
    assert_int_equal(vi->evtchn_upcall_pending, 1);
}

/* 3-level: pending and the L2 selector bit are set, but the L1 selector lives in the
 * vcpu_info; registration marks every L1 bit. */
static void test_3l_held_until_registration(void **state)
{
    struct world *w = *state;
    struct evtchn_register_extended r = {.cmd = EVTCHN_EXTENDED_L3_L2SEL};
    volatile uint64_t *l2 = fx_gpa(&w->fx, w->d, L2SEL_HI_GPA);
    uint32_t port;
    struct vcpu_info *vi;

    assert_int_equal(fx_3l_register_bitmaps(&w->fx, V(w, 0), EVTCHN_3L_MAX_BITMAP_PAGES), 0);
    assert_int_equal(fx_3l_register_l2sel(&w->fx, V(w, 0), 0), 0);
    r.u.l2sel.vcpu = 33;
    r.u.l2sel.gfn = L2SEL_HI_GPA / XEN_PAGE_SIZE;
    r.u.l2sel.offset = 0;
    assert_int_equal(fx_evtchn_op(&w->fx, V(w, 0), EVTCHNOP_register_extended, &r, sizeof(r)), 0);
    port = fx_bind_ipi(&w->fx, V(w, 0), 33);
    fx_3l_set_mask(&w->fx, w->d, port, false);
    assert_int_equal(send_port(w, V(w, 0), port), 0);
    assert_true(fx_3l_pending(&w->fx, w->d, port));
    assert_true((l2[(port / 64) / 64] >> ((port / 64) % 64)) & 1);
    assert_int_equal(fx_rec(&w->fx, V(w, 33))->kicks + fx_rec(&w->fx, V(w, 33))->wakes, 0);

    vi = register_ok(w, 33, 0);
    assert_int_equal(vi->evtchn_upcall_pending, 1);
    assert_true((vi->evtchn_pending_sel >> (port / 4096)) & 1);
}

/* ---- delivery through the registered vcpu_info ---- */

/* A 2-level event after registration sets the selector and upcall_pending in the registered
 * copy, never in the legacy slot, and kicks the running vcpu. */
static void test_2l_delivered_through_registered(void **state)
{
    struct world *w = *state;
    struct vcpu_info *legacy = &shared_info_ptr(w->d)->vcpu_info[1];
    struct vcpu_info *vi = register_ok(w, 1, 5);
    struct vcpu *v1 = V(w, 1);
    uint32_t port;

    ack_all(vi);
    vi->evtchn_upcall_mask = 0;
    v1->run_state = VCPU_RUNNABLE;
    v1->event_callback = 0x5000;
    port = fx_bind_ipi(&w->fx, V(w, 0), 1);
    for (uint32_t p = port + 1; p <= 70; p++) /* a port in the second word too */
        assert_int_equal(fx_bind_ipi(&w->fx, V(w, 0), 1), p);

    assert_int_equal(send_port(w, V(w, 0), 70), 0);
    assert_int_equal(vi->evtchn_pending_sel, 2);
    assert_int_equal(vi->evtchn_upcall_pending, 1);
    assert_int_equal(fx_rec(&w->fx, v1)->kicks, 1);
    assert_true(pv_upcall_deliverable(v1));
    assert_int_equal(legacy->evtchn_pending_sel, 0);
    assert_int_equal(legacy->evtchn_upcall_pending, 0);

    /* a second port coalesces into the same upcall */
    assert_int_equal(send_port(w, V(w, 0), port), 0);
    assert_int_equal(vi->evtchn_pending_sel, 3);
    assert_int_equal(fx_rec(&w->fx, v1)->kicks, 1);
    assert_true(fx_pending(w->d, port) && fx_pending(w->d, 70));
}

/* The same for a vcpu beyond the legacy slots, blocked: the event wakes it. */
static void test_2l_wakes_blocked_vcpu_ge_32(void **state)
{
    struct world *w = *state;
    struct vcpu_info *vi = register_ok(w, 39, 39);
    struct vcpu *v = V(w, 39);
    uint32_t port = fx_bind_ipi(&w->fx, V(w, 0), 39);

    ack_all(vi);
    v->run_state = VCPU_BLOCKED;
    assert_int_equal(send_port(w, V(w, 0), port), 0);
    assert_int_equal(vi->evtchn_pending_sel, 1);
    assert_int_equal(vi->evtchn_upcall_pending, 1);
    assert_int_equal(fx_rec(&w->fx, v)->wakes, 1);
    assert_int_equal(v->run_state, VCPU_RUNNABLE);
}

/* EVTCHNOP_reset takes the domain back to 2-level and releases the ABI's pages; the vcpu_info
 * stays where it was registered (Xen keeps it until the domain dies). */
static void test_reset_keeps_registration(void **state)
{
    struct world *w = *state;
    struct vcpu_info *vi = register_ok(w, 1, 1);
    uint32_t port;

    assert_int_equal(
        fx_fifo_init_control(&w->fx, V(w, 0), 0, FX_FIFO_CONTROL_GPA / XEN_PAGE_SIZE, 0), 0);
    assert_int_equal(fx_fifo_expand(&w->fx, V(w, 0), 0), 0);
    assert_non_null(w->d->evtchn_fifo);
    assert_int_equal(fx_reset_until_done(&w->fx, V(w, 0), DOMID_SELF), 0);
    assert_int_equal(w->fx.event_pages_released, 1);
    assert_ptr_equal(vcpu_info_ptr(V(w, 1)), vi);
    ack_all(vi);
    port = fx_bind_ipi(&w->fx, V(w, 0), 1);
    assert_int_equal(send_port(w, V(w, 0), port), 0);
    assert_int_equal(vi->evtchn_upcall_pending, 1);
    assert_int_equal(shared_info_ptr(w->d)->vcpu_info[1].evtchn_upcall_pending, 0);
}

/* ---- conformance rows: event-channel operations naming vcpus >= 32 ---- */

union op_arg {
    struct evtchn_bind_ipi bind_ipi;
    struct evtchn_bind_virq bind_virq;
    struct evtchn_bind_vcpu bind_vcpu;
    struct evtchn_status status;
    unsigned char raw[32];
};

struct op_row {
    const char *name;
    void (*setup)(struct world *w);
    unsigned cmd;
    union op_arg arg;
    long expect;
    void (*check)(struct world *w, const union op_arg *out);
};

static void unbound_port1(struct world *w)
{
    assert_int_equal(fx_alloc_unbound(&w->fx, V(w, 0), DOMID_SELF, 0), 1);
}
static void ipi_port1_vcpu33(struct world *w)
{
    assert_int_equal(fx_bind_ipi(&w->fx, V(w, 0), 33), 1);
}

static void notify_33(struct world *w, const union op_arg *out)
{
    assert_int_equal(out->bind_ipi.port, 1);
    assert_int_equal(evtchn_from_port(w->d, 1)->notify_vcpu_id, 33);
}
static void still_notifies_33(struct world *w, const union op_arg *out)
{
    (void)out;
    assert_int_equal(evtchn_from_port(w->d, 1)->notify_vcpu_id, 33);
}
static void notify_39(struct world *w, const union op_arg *out)
{
    (void)out;
    assert_int_equal(evtchn_from_port(w->d, 1)->notify_vcpu_id, 39);
}
static void port1_unchanged_0(struct world *w, const union op_arg *out)
{
    (void)out;
    assert_int_equal(evtchn_from_port(w->d, 1)->notify_vcpu_id, 0);
}
static void nothing_bound(struct world *w, const union op_arg *out)
{
    (void)out;
    assert_int_equal(w->d->active_evtchns, 0);
}
static void timer_virq_on_35(struct world *w, const union op_arg *out)
{
    assert_int_equal(out->bind_virq.port, 1);
    assert_int_equal(V(w, 35)->virq_to_evtchn[VIRQ_TIMER], 1);
    assert_int_equal(V(w, 0)->virq_to_evtchn[VIRQ_TIMER], 0);
    assert_int_equal(evtchn_from_port(w->d, 1)->notify_vcpu_id, 35);
}
static void status_says_33(struct world *w, const union op_arg *out)
{
    (void)w;
    assert_int_equal(out->status.status, EVTCHNSTAT_ipi);
    assert_int_equal(out->status.vcpu, 33);
}

#define A(member, ...)                                                                             \
    {                                                                                              \
        .member = { __VA_ARGS__ }                                                                  \
    }
#define ROW(name_, setup_, cmd_, arg_, expect_, check_)                                            \
    {                                                                                              \
#name_, setup_, EVTCHNOP_##cmd_, arg_, expect_, check_                                     \
    }

static const struct op_row op_rows[] = {
    ROW(bind_ipi_vcpu32, NULL, bind_ipi, A(bind_ipi, .vcpu = 32), 0, NULL),
    ROW(bind_ipi_vcpu33, NULL, bind_ipi, A(bind_ipi, .vcpu = 33), 0, notify_33),
    ROW(bind_ipi_last_vcpu, NULL, bind_ipi, A(bind_ipi, .vcpu = NR_VCPUS - 1), 0, NULL),
    ROW(bind_ipi_vcpu_out_of_range, NULL, bind_ipi, A(bind_ipi, .vcpu = NR_VCPUS), -XEN_ENOENT,
        nothing_bound),
    ROW(bind_virq_timer_vcpu35, NULL, bind_virq, A(bind_virq, .virq = VIRQ_TIMER, .vcpu = 35), 0,
        timer_virq_on_35),
    ROW(bind_virq_vcpu_out_of_range, NULL, bind_virq,
        A(bind_virq, .virq = VIRQ_TIMER, .vcpu = NR_VCPUS), -XEN_ENOENT, nothing_bound),
    ROW(bind_vcpu_unbound_to_vcpu39, unbound_port1, bind_vcpu, A(bind_vcpu, .port = 1, .vcpu = 39),
        0, notify_39),
    ROW(bind_vcpu_to_vcpu_out_of_range, unbound_port1, bind_vcpu,
        A(bind_vcpu, .port = 1, .vcpu = NR_VCPUS), -XEN_ENOENT, port1_unchanged_0),
    ROW(bind_vcpu_ipi_refused, ipi_port1_vcpu33, bind_vcpu, A(bind_vcpu, .port = 1, .vcpu = 34),
        -XEN_EINVAL, still_notifies_33),
    ROW(status_ipi_vcpu33, ipi_port1_vcpu33, status, A(status, .dom = DOMID_SELF, .port = 1), 0,
        status_says_33),
};

static void test_op_rows(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(op_rows) / sizeof(op_rows[0]); i++) {
        const struct op_row *r = &op_rows[i];
        struct world *w = world_new(NR_VCPUS, 0);
        union op_arg out = r->arg;

        print_message("row %s\n", r->name);
        if (r->setup)
            r->setup(w);
        assert_int_equal(fx_evtchn_op(&w->fx, V(w, 0), r->cmd, &out, sizeof(out)), r->expect);
        if (r->check)
            r->check(w, &out);
        fx_teardown((void **)&w);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_errors),
        cmocka_unit_test_setup_teardown(test_only_once, world_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_offsets, world_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_other_vcpu_online, world_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_copy_from_legacy_slot, world_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_self_registration_kicks, world_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_self_registration_already_pending, world_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_no_legacy_slot_zeroed_and_masked, world_setup,
                                        fx_teardown),
        cmocka_unit_test(test_32bit_guest_selector),
        cmocka_unit_test(test_64_vcpus_one_page),
        cmocka_unit_test_setup_teardown(test_initialise_needs_vcpu_info, world_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_2l_held_until_registration, world_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_fifo_held_until_registration, world_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_3l_held_until_registration, world_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_2l_delivered_through_registered, world_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_2l_wakes_blocked_vcpu_ge_32, world_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_reset_keeps_registration, world_setup, fx_teardown),
        cmocka_unit_test(test_op_rows),
    };
    return cmocka_run_group_tests_name("vcpu_info", tests, NULL, NULL);
}
