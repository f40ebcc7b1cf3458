/* dm_op, XENMEM_acquire_resource and XENMEM_add_to_physmap_batch (foreign frames, how a
 * device model maps its guest's memory) conformance: one row per (caller, target, operation,
 * arguments, buffers, prior state), each checked for Xen 4.22's result and for what must stay
 * as it was. The world: d0 privileged PV (the emulator), d1 HVM with 2 vcpus (the target, a
 * pool of 4 ioreq frames at gfn 0xe0), d2 an unprivileged stub domain whose target is d1, d3
 * unprivileged PV with no target. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "models/ioreq.h"
#include "models/physmap.h"
#include "tests/models/fake_xen.h"

#define POOL_GFN 0xe0u
#define LIST_GPA (FX_BUF_GPA + 0x100u) /* acquire_resource's frame_list */
#define MAP_GFN 0x90u                  /* where the emulator asks for the pages */

enum kind { DMOP, ACQUIRE, FOREIGN };

/* How the buffers are given (dm_op) or the argument placed (acquire_resource). */
enum mode {
    M_OK,
    M_NO_BUFS,          /* nr_bufs 0 */
    M_THREE_BUFS,       /* nr_bufs 3 */
    M_BUFS_UNMAPPED,    /* the buffer array is not guest memory */
    M_HDR_SHORT,        /* buffer 0 shorter than the 8-byte header */
    M_PAYLOAD_SHORT,    /* buffer 0 one byte short of the payload */
    M_BUF0_UNMAPPED,    /* buffer 0's handle is not guest memory */
    M_COPY_OUT_FAILS,   /* the copy-back fails */
    M_TWO_BUFS,         /* nr_bufs 2, buffer 1 empty: fine */
    M_LIST_UNMAPPED,    /* acquire: frame_list not guest memory */
    M_ACQ_ARG_UNMAPPED, /* acquire: the argument is not guest memory */
};

/* XENMEM_add_to_physmap_batch of one frame, its arrays right after it in the argument area
 * (so that a row's check sees errs[0]). */
struct foreign_arg {
    struct xen_add_to_physmap_batch b;
    xen_ulong_t idx;
    xen_pfn_t gpfn;
    int err;
};
#define NO_ERR 0x5a5a /* errs[0] before the call: the call failed before the entry */

union arg {
    struct xen_dm_op op;
    struct xen_mem_acquire_resource acq;
    struct foreign_arg fm;
};

struct row {
    const char *name;
    void (*setup)(struct fake_xen *fx);
    domid_t caller;
    enum kind kind;
    domid_t target;
    union arg arg;
    enum mode mode;
    long expect;
    void (*check)(struct fake_xen *fx, const union arg *out);
};

#define D(n) (fx->hv.domain[n])
#define V(n, i) (D(n)->vcpu[i])
#define SRV(id) ioreq_server_get(D(1), id)

/* ---- set-ups ---- */

static void srv_legacy(struct fake_xen *fx)
{
    assert_int_equal(fx_ioreq_create(fx, V(0, 0), 1, HVM_IOREQSRV_BUFIOREQ_LEGACY), 0);
}
static void srv_off(struct fake_xen *fx)
{
    assert_int_equal(fx_ioreq_create(fx, V(0, 0), 1, HVM_IOREQSRV_BUFIOREQ_OFF), 0);
}
static void srv_by_stub(struct fake_xen *fx)
{
    assert_int_equal(fx_ioreq_create(fx, V(2, 0), 1, HVM_IOREQSRV_BUFIOREQ_OFF), 0);
}
static void eight_servers(struct fake_xen *fx)
{
    for (unsigned i = 0; i < MAX_NR_IOREQ_SERVERS; i++)
        assert_int_equal(fx_ioreq_create(fx, V(0, 0), 1, 0), i);
}
static void servers_0_1_2_minus_1(struct fake_xen *fx)
{
    for (unsigned i = 0; i < 3; i++)
        fx_ioreq_create(fx, V(0, 0), 1, 0);
    assert_int_equal(ioreq_server_destroy(D(1), D(0), 1), 0);
}
static void srv_ports(struct fake_xen *fx)
{
    srv_legacy(fx);
    assert_int_equal(ioreq_server_map_io_range(D(1), D(0), 0, XEN_DMOP_IO_RANGE_PORT, 0x100, 0x1ff),
                     0);
}
static void srv_full_ports(struct fake_xen *fx)
{
    srv_legacy(fx);
    for (uint64_t i = 0; i < MAX_NR_IO_RANGES; i++)
        assert_int_equal(ioreq_server_map_io_range(D(1), D(0), 0, XEN_DMOP_IO_RANGE_PORT,
                                                   0x1000 + 4 * i, 0x1000 + 4 * i + 1),
                         0);
}
static void srv_gfn_mapped(struct fake_xen *fx)
{
    uint64_t g, b;
    evtchn_port_t p;

    srv_legacy(fx);
    assert_int_equal(ioreq_server_get_info(D(1), D(0), 0, &g, &b, &p), 0);
}
static void srv_resource_mapped(struct fake_xen *fx)
{
    void *page;

    srv_legacy(fx);
    assert_int_equal(ioreq_server_get_frame(D(1), D(0), 0, 1, &page), 0);
}
static void srv_no_pool(struct fake_xen *fx)
{
    srv_legacy(fx);
    assert_int_equal(ioreq_set_gfn_pool(D(1), 0, 0), 0);
}
static void srv_pool_outside_ram(struct fake_xen *fx)
{
    srv_legacy(fx);
    assert_int_equal(ioreq_set_gfn_pool(D(1), FX_BAD_GPA / XEN_PAGE_SIZE, 4), 0);
}
static void srv_gfn_enabled(struct fake_xen *fx)
{
    srv_gfn_mapped(fx);
    assert_int_equal(ioreq_server_set_state(D(1), D(0), 0, true), 0);
}
static void srv_enabled(struct fake_xen *fx)
{
    srv_resource_mapped(fx);
    assert_int_equal(ioreq_server_set_state(D(1), D(0), 0, true), 0);
}
static void list_at_map_gfn(struct fake_xen *fx)
{
    xen_pfn_t gfn[3] = {MAP_GFN, MAP_GFN + 1, MAP_GFN + 2};

    for (domid_t i = 0; i < FX_MAX_DOMAINS; i++) /* whoever calls finds it */
        memcpy(fx_gpa(fx, D(i), LIST_GPA), gfn, sizeof(gfn));
}
static void srv_legacy_list(struct fake_xen *fx)
{
    srv_legacy(fx);
    list_at_map_gfn(fx);
}
static void srv_off_list(struct fake_xen *fx)
{
    srv_off(fx);
    list_at_map_gfn(fx);
}
static void srv_gfn_mapped_list(struct fake_xen *fx)
{
    srv_gfn_mapped(fx);
    list_at_map_gfn(fx);
}
static void srv_by_stub_list(struct fake_xen *fx)
{
    srv_by_stub(fx);
    list_at_map_gfn(fx);
}

/* ---- checks ---- */

static void no_server(struct fake_xen *fx, const union arg *o)
{
    (void)o;
    for (unsigned i = 0; i < MAX_NR_IOREQ_SERVERS; i++)
        assert_null(SRV(i));
    assert_int_equal(D(1)->xen_evtchns, 0);
}
static void created_0_legacy(struct fake_xen *fx, const union arg *o)
{
    assert_int_equal(o->op.u.create_ioreq_server.id, 0);
    assert_non_null(SRV(0));
    assert_int_equal(SRV(0)->emulator, 0);
    assert_int_equal(SRV(0)->bufioreq_handling, HVM_IOREQSRV_BUFIOREQ_LEGACY);
    /* a port per vcpu and the ring's, Xen's, offered to the emulator */
    assert_int_equal(D(1)->xen_evtchns, 3);
    assert_true(evtchn_from_port(D(1), SRV(0)->vcpu[1].ioreq_evtchn)->xen_consumer);
    assert_int_equal(evtchn_from_port(D(1), SRV(0)->vcpu[1].ioreq_evtchn)->notify_vcpu_id, 1);
    assert_int_equal(evtchn_from_port(D(1), SRV(0)->bufioreq_evtchn)->u.unbound.remote_domid, 0);
    /* pages are not allocated yet */
    assert_null(SRV(0)->ioreq.va);
    assert_false(SRV(0)->enabled);
}
static void created_0_off(struct fake_xen *fx, const union arg *o)
{
    assert_int_equal(o->op.u.create_ioreq_server.id, 0);
    assert_int_equal(D(1)->xen_evtchns, 2);
    assert_int_equal(SRV(0)->bufioreq_evtchn, 0);
}
static void created_0_atomic(struct fake_xen *fx, const union arg *o)
{
    (void)o;
    assert_int_equal(SRV(0)->bufioreq_handling, HVM_IOREQSRV_BUFIOREQ_ATOMIC);
}
static void created_by_stub(struct fake_xen *fx, const union arg *o)
{
    (void)o;
    assert_int_equal(SRV(0)->emulator, 2);
    assert_int_equal(evtchn_from_port(D(1), SRV(0)->vcpu[0].ioreq_evtchn)->u.unbound.remote_domid,
                     2);
}
static void created_lowest_free_1(struct fake_xen *fx, const union arg *o)
{
    assert_int_equal(o->op.u.create_ioreq_server.id, 1);
    assert_non_null(SRV(1));
}
static void eight_unchanged(struct fake_xen *fx, const union arg *o)
{
    (void)o;
    for (unsigned i = 0; i < MAX_NR_IOREQ_SERVERS; i++)
        assert_non_null(SRV(i));
    assert_int_equal(D(1)->xen_evtchns, 2 * MAX_NR_IOREQ_SERVERS);
}
static void server_0_untouched(struct fake_xen *fx, const union arg *o)
{
    (void)o;
    assert_non_null(SRV(0));
    assert_false(SRV(0)->enabled);
    for (unsigned t = 0; t < NR_IO_RANGE_TYPES; t++)
        assert_int_equal(SRV(0)->range[t].nr, 0);
}
static void server_0_no_pages(struct fake_xen *fx, const union arg *o)
{
    server_0_untouched(fx, o);
    assert_null(SRV(0)->ioreq.va);
    assert_null(SRV(0)->bufioreq.va);
    assert_int_equal(SRV(0)->ioreq.gfn, IOREQ_INVALID_GFN);
    assert_int_equal(D(1)->ioreq->gfn_mask, 0xf);
}
static void info_gfns(struct fake_xen *fx, const union arg *o)
{
    const struct xen_dm_op_get_ioreq_server_info *i = &o->op.u.get_ioreq_server_info;

    assert_int_equal(i->ioreq_gfn, POOL_GFN);
    assert_int_equal(i->bufioreq_gfn, POOL_GFN + 1);
    assert_int_equal(i->bufioreq_port, SRV(0)->bufioreq_evtchn);
    assert_ptr_equal(SRV(0)->ioreq.va, fx_gpa(fx, D(1), POOL_GFN * XEN_PAGE_SIZE));
    assert_false(SRV(0)->ioreq.owned);
}
static void info_no_gfns(struct fake_xen *fx, const union arg *o)
{
    const struct xen_dm_op_get_ioreq_server_info *i = &o->op.u.get_ioreq_server_info;

    assert_int_equal(i->bufioreq_port, SRV(0)->bufioreq_evtchn);
    assert_int_equal(i->ioreq_gfn, 0x5555); /* not written */
    assert_null(SRV(0)->ioreq.va);
}
static void info_off_nothing_buffered(struct fake_xen *fx, const union arg *o)
{
    const struct xen_dm_op_get_ioreq_server_info *i = &o->op.u.get_ioreq_server_info;

    assert_int_equal(i->ioreq_gfn, POOL_GFN);
    assert_int_equal(i->bufioreq_gfn, 0x5555);
    assert_int_equal(i->bufioreq_port, 0x77);
    assert_int_equal(D(1)->ioreq->gfn_mask, 0xe);
}
static void resource_pages_kept(struct fake_xen *fx, const union arg *o)
{
    (void)o;
    assert_true(SRV(0)->ioreq.owned);
    assert_int_equal(SRV(0)->ioreq.gfn, IOREQ_INVALID_GFN);
    assert_int_equal(D(1)->ioreq->gfn_mask, 0xf);
}
static void gfn_pages_kept(struct fake_xen *fx, const union arg *o)
{
    (void)o;
    assert_int_equal(SRV(0)->ioreq.gfn, POOL_GFN);
    assert_false(SRV(0)->ioreq.owned);
    assert_int_equal(SRV(0)->ioreq.nr_maps, 0);
}
static void pool_freed_again(struct fake_xen *fx, const union arg *o)
{
    (void)o;
    assert_null(SRV(0)->ioreq.va);
    assert_int_equal(SRV(0)->ioreq.gfn, IOREQ_INVALID_GFN);
}
static void port_range_mapped(struct fake_xen *fx, const union arg *o)
{
    (void)o;
    assert_int_equal(SRV(0)->range[XEN_DMOP_IO_RANGE_PORT].nr, 1);
    assert_true(ioreq_rangeset_contains(&SRV(0)->range[XEN_DMOP_IO_RANGE_PORT], 0x100, 0x1ff));
}
static void ranges_merged(struct fake_xen *fx, const union arg *o)
{
    (void)o;
    assert_int_equal(SRV(0)->range[XEN_DMOP_IO_RANGE_PORT].nr, 1);
    assert_true(ioreq_rangeset_contains(&SRV(0)->range[XEN_DMOP_IO_RANGE_PORT], 0x100, 0x2ff));
}
static void ports_unchanged(struct fake_xen *fx, const union arg *o)
{
    port_range_mapped(fx, o);
    assert_int_equal(SRV(0)->range[XEN_DMOP_IO_RANGE_MEMORY].nr, 0);
}
static void pci_mapped(struct fake_xen *fx, const union arg *o)
{
    (void)o;
    assert_true(ioreq_rangeset_contains(&SRV(0)->range[XEN_DMOP_IO_RANGE_PCI],
                                        XEN_DMOP_PCI_SBDF(0, 0, 3, 0),
                                        XEN_DMOP_PCI_SBDF(0, 0, 3, 0)));
}
static void mem_mapped(struct fake_xen *fx, const union arg *o)
{
    (void)o;
    assert_int_equal(SRV(0)->range[XEN_DMOP_IO_RANGE_MEMORY].nr, 1);
}
static void full_unchanged(struct fake_xen *fx, const union arg *o)
{
    (void)o;
    assert_int_equal(SRV(0)->range[XEN_DMOP_IO_RANGE_PORT].nr, MAX_NR_IO_RANGES);
}
static void full_merged_left(struct fake_xen *fx, const union arg *o)
{
    (void)o;
    assert_int_equal(SRV(0)->range[XEN_DMOP_IO_RANGE_PORT].nr, MAX_NR_IO_RANGES);
    assert_true(ioreq_rangeset_contains(&SRV(0)->range[XEN_DMOP_IO_RANGE_PORT], 0x1000, 0x1002));
}
static void ports_removed(struct fake_xen *fx, const union arg *o)
{
    (void)o;
    assert_int_equal(SRV(0)->range[XEN_DMOP_IO_RANGE_PORT].nr, 0);
}
static void ports_split(struct fake_xen *fx, const union arg *o)
{
    const struct ioreq_rangeset *r = &SRV(0)->range[XEN_DMOP_IO_RANGE_PORT];

    (void)o;
    assert_int_equal(r->nr, 2);
    assert_true(ioreq_rangeset_contains(r, 0x100, 0x13f));
    assert_true(ioreq_rangeset_contains(r, 0x180, 0x1ff));
    assert_false(ioreq_rangeset_overlaps(r, 0x140, 0x17f));
}
static void enabled_eports(struct fake_xen *fx, const union arg *o)
{
    shared_iopage_t *pg = SRV(0)->ioreq.va;

    (void)o;
    assert_true(SRV(0)->enabled);
    assert_int_equal(pg->vcpu_ioreq[0].vp_eport, SRV(0)->vcpu[0].ioreq_evtchn);
    assert_int_equal(pg->vcpu_ioreq[1].vp_eport, SRV(0)->vcpu[1].ioreq_evtchn);
}
static void enabled_no_page(struct fake_xen *fx, const union arg *o)
{
    (void)o;
    assert_true(SRV(0)->enabled);
    assert_null(SRV(0)->ioreq.va);
}
static void disabled(struct fake_xen *fx, const union arg *o)
{
    (void)o;
    assert_false(SRV(0)->enabled);
}
static void destroyed_0(struct fake_xen *fx, const union arg *o)
{
    (void)o;
    assert_null(SRV(0));
    assert_int_equal(D(1)->xen_evtchns, 0);
    assert_int_equal(D(1)->ioreq->gfn_mask, 0xf); /* frames back in the pool */
}
static void d1_running(struct fake_xen *fx, const union arg *o)
{
    (void)o;
    assert_int_equal(fx->shutdown_reason[1], -1);
    assert_null(SRV(0));
}
static void d1_shut_down(struct fake_xen *fx, const union arg *o)
{
    (void)o;
    assert_int_equal(fx->shutdown_reason[1], SHUTDOWN_reboot);
}
static void two_vcpus(struct fake_xen *fx, const union arg *o)
{
    (void)fx;
    assert_int_equal(o->op.u.nr_vcpus.vcpus, 2);
}
static void size_query(struct fake_xen *fx, const union arg *o)
{
    (void)fx;
    assert_int_equal(o->acq.nr_frames, 2); /* the ring and one page of slots */
}
static void mapped_both(struct fake_xen *fx, const union arg *o)
{
    (void)o;
    assert_int_equal(SRV(0)->bufioreq.nr_maps, 1);
    assert_int_equal(SRV(0)->bufioreq.map_gfn[0], MAP_GFN);
    assert_int_equal(SRV(0)->ioreq.map_gfn[0], MAP_GFN + 1);
    assert_true(SRV(0)->ioreq.owned);
}
static void mapped_ioreq_only(struct fake_xen *fx, const union arg *o)
{
    (void)o;
    assert_int_equal(SRV(0)->ioreq.nr_maps, 1);
    assert_int_equal(SRV(0)->ioreq.map_gfn[0], MAP_GFN);
    /* Xen allocates the ring with the slots, but only the frame asked for is mapped. */
    assert_non_null(SRV(0)->bufioreq.va);
    assert_int_equal(SRV(0)->bufioreq.nr_maps, 0);
}
/* Xen allocates the pages before it finds the index bad: nothing is mapped, but the pages
 * exist (and a GFN mapping is now refused). */
static void allocated_not_mapped(struct fake_xen *fx, const union arg *o)
{
    (void)o;
    assert_non_null(SRV(0)->ioreq.va);
    assert_int_equal(SRV(0)->ioreq.nr_maps, 0);
    assert_int_equal(SRV(0)->bufioreq.nr_maps, 0);
}
static void nothing_mapped(struct fake_xen *fx, const union arg *o)
{
    (void)o;
    if (SRV(0)) {
        assert_int_equal(SRV(0)->ioreq.nr_maps, 0);
        assert_int_equal(SRV(0)->bufioreq.nr_maps, 0);
    }
}
static void stub_mapped(struct fake_xen *fx, const union arg *o)
{
    (void)o;
    assert_int_equal(SRV(0)->ioreq.nr_maps, 1);
}

/* ---- the table ---- */

/* ---- foreign frames: each entry's result in errs[0], the physmap's table ---- */

static void foreign_none(struct fake_xen *fx)
{
    for (domid_t i = 0; i < FX_MAX_DOMAINS; i++)
        assert_int_equal(D(i)->nr_foreign, 0);
}
static void foreign_untouched(struct fake_xen *fx, const union arg *o)
{
    assert_int_equal(o->fm.err, NO_ERR);
    foreign_none(fx);
}
static void foreign_refused(struct fake_xen *fx, const union arg *o, int err)
{
    assert_int_equal(o->fm.err, err);
    foreign_none(fx);
}
static void foreign_esrch(struct fake_xen *fx, const union arg *o)
{
    foreign_refused(fx, o, -XEN_ESRCH);
}
static void foreign_eperm(struct fake_xen *fx, const union arg *o)
{
    foreign_refused(fx, o, -XEN_EPERM);
}
static void foreign_einval(struct fake_xen *fx, const union arg *o)
{
    foreign_refused(fx, o, -XEN_EINVAL);
}
/* d1's frame 0x10 at the caller's MAP_GFN, the simulator shown d1's page there. */
static void foreign_mapped(struct fake_xen *fx, domid_t caller, const union arg *o)
{
    const struct foreign_map *m = physmap_foreign_at(D(caller), MAP_GFN);
    const struct fx_page_map *last = &fx->page_map[(fx->nr_page_maps - 1) % FX_MAX_PAGE_MAPS];
    assert_int_equal(o->fm.err, 0);
    assert_non_null(m);
    assert_int_equal(m->fdomid, 1);
    assert_int_equal(m->fgfn, 0x10);
    assert_true(last->domid == caller && last->gfn == MAP_GFN &&
                last->page == fx_gpa(fx, D(1), 0x10000));
}
static void foreign_mapped_d0(struct fake_xen *fx, const union arg *o)
{
    foreign_mapped(fx, 0, o);
}
static void foreign_mapped_stub(struct fake_xen *fx, const union arg *o)
{
    foreign_mapped(fx, 2, o);
}
static void foreign_mapped_server_kept(struct fake_xen *fx, const union arg *o)
{
    foreign_mapped(fx, 0, o);
    assert_true(SRV(0)->enabled);
}
/* A disabled server's GFN-mapped ioreq page is d1's frame POOL_GFN: it maps, and is the page. */
static void foreign_mapped_ioreq_page(struct fake_xen *fx, const union arg *o)
{
    const struct foreign_map *m = physmap_foreign_at(D(0), MAP_GFN);
    const struct fx_page_map *last = &fx->page_map[(fx->nr_page_maps - 1) % FX_MAX_PAGE_MAPS];
    assert_int_equal(o->fm.err, 0);
    assert_non_null(m);
    assert_int_equal(SRV(0)->ioreq.gfn, POOL_GFN);
    assert_true(last->domid == 0 && last->gfn == MAP_GFN && last->page == SRV(0)->ioreq.va);
}

#define OP(op_, member_, ...)                                                                      \
    {                                                                                              \
        .op = {.op = XEN_DMOP_##op_, .u = {.member_ = {__VA_ARGS__}} }                             \
    }
#define RAWOP(n_)                                                                                  \
    {                                                                                              \
        .op = {.op = (n_) }                                                                        \
    }
#define HDR_PAD(n_)                                                                                \
    {                                                                                              \
        .op = {.op = (n_), .pad = 1 }                                                              \
    }
#define ACQ(...)                                                                                   \
    {                                                                                              \
        .acq = { __VA_ARGS__ }                                                                     \
    }
#define LIST .frame_list = {(xen_pfn_t *)(uintptr_t)LIST_GPA}
/* dom's physmap, the space, the foreign domain, its frame, and where it goes */
#define FM(dom, space_, foreign, idx_, gpfn_)                                                      \
    {                                                                                              \
        .fm = {                                                                                    \
            .b = {.domid = (dom), .space = (space_), .size = 1, .u.foreign_domid = (foreign)},     \
            .idx = (idx_),                                                                         \
            .gpfn = (gpfn_),                                                                       \
            .err = NO_ERR                                                                          \
        }                                                                                          \
    }
#define CREATE(b) OP(create_ioreq_server, create_ioreq_server, .handle_bufioreq = (b))
#define INFO(...) OP(get_ioreq_server_info, get_ioreq_server_info, __VA_ARGS__)
#define MAP(...) OP(map_io_range_to_ioreq_server, map_io_range_to_ioreq_server, __VA_ARGS__)
#define UNMAP(...)                                                                                 \
    OP(unmap_io_range_from_ioreq_server, unmap_io_range_from_ioreq_server, __VA_ARGS__)
#define STATE(...) OP(set_ioreq_server_state, set_ioreq_server_state, __VA_ARGS__)
#define DESTROY(...) OP(destroy_ioreq_server, destroy_ioreq_server, __VA_ARGS__)
#define PORTS .type = XEN_DMOP_IO_RANGE_PORT
#define UNSET .ioreq_gfn = 0x5555, .bufioreq_gfn = 0x5555, .bufioreq_port = 0x77
#define R(name_, setup_, caller_, kind_, target_, arg_, mode_, expect_, check_)                    \
    {                                                                                              \
#name_, setup_, caller_, kind_, target_, arg_, mode_, expect_, check_                      \
    }

static const struct row rows[] = {
    /* the buffers (xen/common/dm.c, XSA-506) and the target (dm.c's generic checks) */
    R(no_buffers, NULL, 0, DMOP, 1, CREATE(0), M_NO_BUFS, -XEN_ENODATA, no_server),
    R(three_buffers, NULL, 0, DMOP, 1, CREATE(0), M_THREE_BUFS, -XEN_E2BIG, no_server),
    R(buffer_array_unmapped, NULL, 0, DMOP, 1, CREATE(0), M_BUFS_UNMAPPED, -XEN_EFAULT, no_server),
    R(two_buffers_fine, NULL, 0, DMOP, 1, CREATE(1), M_TWO_BUFS, 0, created_0_legacy),
    R(header_short, NULL, 0, DMOP, 1, CREATE(0), M_HDR_SHORT, -XEN_EFAULT, no_server),
    R(payload_short, NULL, 0, DMOP, 1, CREATE(0), M_PAYLOAD_SHORT, -XEN_EFAULT, no_server),
    R(payload_short_destroy, srv_legacy, 0, DMOP, 1, DESTROY(.id = 0), M_PAYLOAD_SHORT, -XEN_EFAULT,
      server_0_untouched),
    R(buffer0_unmapped, NULL, 0, DMOP, 1, CREATE(0), M_BUF0_UNMAPPED, -XEN_EFAULT, no_server),
    R(unknown_domain, NULL, 0, DMOP, 9, CREATE(0), M_OK, -XEN_ESRCH, no_server),
    R(domid_self_not_resolved, NULL, 0, DMOP, DOMID_SELF, CREATE(0), M_OK, -XEN_ESRCH, no_server),
    R(target_is_caller, NULL, 1, DMOP, 1, CREATE(0), M_OK, -XEN_EPERM, no_server),
    R(target_not_hvm, NULL, 0, DMOP, 3, CREATE(0), M_OK, -XEN_EINVAL, no_server),
    R(unprivileged_caller, NULL, 3, DMOP, 1, CREATE(0), M_OK, -XEN_EPERM, no_server),
    R(stub_domain_of_target, NULL, 2, DMOP, 1, CREATE(0), M_OK, 0, created_by_stub),
    R(op_beyond_table, NULL, 0, DMOP, 1, RAWOP(21), M_OK, -XEN_EOPNOTSUPP, no_server),
    R(op_huge, NULL, 0, DMOP, 1, RAWOP(0xffffffffu), M_OK, -XEN_EOPNOTSUPP, no_server),
    R(op_zero, NULL, 0, DMOP, 1, RAWOP(0), M_OK, -XEN_EOPNOTSUPP, no_server),
    R(op_not_modelled, NULL, 0, DMOP, 1, RAWOP(XEN_DMOP_inject_msi), M_OK, -XEN_EOPNOTSUPP,
      no_server),
    R(header_pad, NULL, 0, DMOP, 1, HDR_PAD(XEN_DMOP_create_ioreq_server), M_OK, -XEN_EINVAL,
      no_server),
    R(nr_vcpus, NULL, 0, DMOP, 1, RAWOP(XEN_DMOP_nr_vcpus), M_OK, 0, two_vcpus),
    R(remote_shutdown, NULL, 0, DMOP, 1, OP(remote_shutdown, remote_shutdown, SHUTDOWN_reboot),
      M_OK, 0, d1_shut_down),
    R(copy_out_fails, NULL, 0, DMOP, 1, CREATE(1), M_COPY_OUT_FAILS, -XEN_EFAULT, created_0_legacy),
    /* create_ioreq_server */
    R(create_legacy, NULL, 0, DMOP, 1, CREATE(HVM_IOREQSRV_BUFIOREQ_LEGACY), M_OK, 0,
      created_0_legacy),
    R(create_off, NULL, 0, DMOP, 1, CREATE(HVM_IOREQSRV_BUFIOREQ_OFF), M_OK, 0, created_0_off),
    R(create_atomic, NULL, 0, DMOP, 1, CREATE(HVM_IOREQSRV_BUFIOREQ_ATOMIC), M_OK, 0,
      created_0_atomic),
    R(create_bad_bufioreq, NULL, 0, DMOP, 1, CREATE(3), M_OK, -XEN_EINVAL, no_server),
    R(create_pad, NULL, 0, DMOP, 1,
      OP(create_ioreq_server, create_ioreq_server, .handle_bufioreq = 0, .pad = {0, 1, 0}), M_OK,
      -XEN_EINVAL, no_server),
    R(create_ninth, eight_servers, 0, DMOP, 1, CREATE(0), M_OK, -XEN_ENOSPC, eight_unchanged),
    R(create_lowest_free, servers_0_1_2_minus_1, 0, DMOP, 1, CREATE(0), M_OK, 0,
      created_lowest_free_1),
    /* get_ioreq_server_info */
    R(info_gfns, srv_legacy, 0, DMOP, 1, INFO(.id = 0), M_OK, 0, info_gfns),
    R(info_no_gfns, srv_legacy, 0, DMOP, 1, INFO(.id = 0, .flags = XEN_DMOP_no_gfns, UNSET), M_OK,
      0, info_no_gfns),
    R(info_off, srv_off, 0, DMOP, 1, INFO(.id = 0, UNSET), M_OK, 0, info_off_nothing_buffered),
    R(info_bad_flag, srv_legacy, 0, DMOP, 1, INFO(.id = 0, .flags = 2), M_OK, -XEN_EINVAL,
      server_0_no_pages),
    R(info_no_server, NULL, 0, DMOP, 1, INFO(.id = 0), M_OK, -XEN_ENOENT, no_server),
    R(info_id_beyond, srv_legacy, 0, DMOP, 1, INFO(.id = 8), M_OK, -XEN_ENOENT, server_0_no_pages),
    R(info_not_creator, srv_by_stub, 0, DMOP, 1, INFO(.id = 0), M_OK, -XEN_EPERM,
      server_0_untouched),
    R(info_pool_empty, srv_no_pool, 0, DMOP, 1, INFO(.id = 0), M_OK, -XEN_ENOMEM, pool_freed_again),
    R(info_pool_not_ram, srv_pool_outside_ram, 0, DMOP, 1, INFO(.id = 0), M_OK, -XEN_EINVAL,
      pool_freed_again),
    R(info_after_resource, srv_resource_mapped, 0, DMOP, 1, INFO(.id = 0), M_OK, -XEN_EPERM,
      resource_pages_kept),
    R(info_no_gfns_after_resource, srv_resource_mapped, 0, DMOP, 1,
      INFO(.id = 0, .flags = XEN_DMOP_no_gfns), M_OK, 0, resource_pages_kept),
    R(info_twice_same_gfns, srv_gfn_mapped, 0, DMOP, 1, INFO(.id = 0), M_OK, 0, info_gfns),
    /* map / unmap_io_range */
    R(map_ports, srv_legacy, 0, DMOP, 1, MAP(.id = 0, PORTS, .start = 0x100, .end = 0x1ff), M_OK, 0,
      port_range_mapped),
    R(map_pci, srv_legacy, 0, DMOP, 1,
      MAP(.id = 0, .type = XEN_DMOP_IO_RANGE_PCI, .start = XEN_DMOP_PCI_SBDF(0, 0, 3, 0),
          .end = XEN_DMOP_PCI_SBDF(0, 0, 3, 0)),
      M_OK, 0, pci_mapped),
    R(map_memory, srv_legacy, 0, DMOP, 1,
      MAP(.id = 0, .type = XEN_DMOP_IO_RANGE_MEMORY, .start = 0xfe000000, .end = 0xfeffffff), M_OK,
      0, mem_mapped),
    R(map_start_after_end, srv_legacy, 0, DMOP, 1, MAP(.id = 0, PORTS, .start = 2, .end = 1), M_OK,
      -XEN_EINVAL, server_0_untouched),
    R(map_bad_type, srv_legacy, 0, DMOP, 1, MAP(.id = 0, .type = 3, .start = 1, .end = 2), M_OK,
      -XEN_EINVAL, server_0_untouched),
    R(map_pad, srv_legacy, 0, DMOP, 1, MAP(.id = 0, .pad = 1, PORTS, .start = 1, .end = 2), M_OK,
      -XEN_EINVAL, server_0_untouched),
    R(map_no_server, NULL, 0, DMOP, 1, MAP(.id = 0, PORTS, .start = 1, .end = 2), M_OK, -XEN_ENOENT,
      no_server),
    R(map_not_creator, srv_by_stub, 0, DMOP, 1, MAP(.id = 0, PORTS, .start = 1, .end = 2), M_OK,
      -XEN_EPERM, server_0_untouched),
    R(map_stub_own_server, srv_by_stub, 2, DMOP, 1, MAP(.id = 0, PORTS, .start = 1, .end = 2), M_OK,
      0, NULL),
    R(map_overlap, srv_ports, 0, DMOP, 1, MAP(.id = 0, PORTS, .start = 0x1ff, .end = 0x200), M_OK,
      -XEN_EEXIST, ports_unchanged),
    R(map_inside, srv_ports, 0, DMOP, 1, MAP(.id = 0, PORTS, .start = 0x120, .end = 0x130), M_OK,
      -XEN_EEXIST, ports_unchanged),
    R(map_other_type_same_numbers, srv_ports, 0, DMOP, 1,
      MAP(.id = 0, .type = XEN_DMOP_IO_RANGE_MEMORY, .start = 0x100, .end = 0x1ff), M_OK, 0,
      mem_mapped),
    R(map_adjacent_merges, srv_ports, 0, DMOP, 1, MAP(.id = 0, PORTS, .start = 0x200, .end = 0x2ff),
      M_OK, 0, ranges_merged),
    R(map_257th, srv_full_ports, 0, DMOP, 1, MAP(.id = 0, PORTS, .start = 0x9000, .end = 0x9000),
      M_OK, -XEN_ENOMEM, full_unchanged),
    R(map_full_left_neighbour, srv_full_ports, 0, DMOP, 1,
      MAP(.id = 0, PORTS, .start = 0x1002, .end = 0x1002), M_OK, 0, full_merged_left),
    R(map_full_right_neighbour_only, srv_full_ports, 0, DMOP, 1,
      MAP(.id = 0, PORTS, .start = 0xfff, .end = 0xfff), M_OK, -XEN_ENOMEM, full_unchanged),
    R(unmap_whole, srv_ports, 0, DMOP, 1, UNMAP(.id = 0, PORTS, .start = 0x100, .end = 0x1ff), M_OK,
      0, ports_removed),
    R(unmap_middle_splits, srv_ports, 0, DMOP, 1,
      UNMAP(.id = 0, PORTS, .start = 0x140, .end = 0x17f), M_OK, 0, ports_split),
    R(unmap_not_contained, srv_ports, 0, DMOP, 1,
      UNMAP(.id = 0, PORTS, .start = 0x100, .end = 0x200), M_OK, -XEN_ENOENT, ports_unchanged),
    R(unmap_nothing_there, srv_ports, 0, DMOP, 1, UNMAP(.id = 0, PORTS, .start = 0x10, .end = 0x20),
      M_OK, -XEN_ENOENT, ports_unchanged),
    R(unmap_trim_at_limit, srv_full_ports, 0, DMOP, 1,
      UNMAP(.id = 0, PORTS, .start = 0x1000, .end = 0x1000), M_OK, 0, full_unchanged),
    R(unmap_start_after_end, srv_ports, 0, DMOP, 1, UNMAP(.id = 0, PORTS, .start = 2, .end = 1),
      M_OK, -XEN_EINVAL, ports_unchanged),
    R(unmap_bad_type, srv_ports, 0, DMOP, 1, UNMAP(.id = 0, .type = 7, .start = 1, .end = 2), M_OK,
      -XEN_EINVAL, ports_unchanged),
    R(unmap_pad, srv_ports, 0, DMOP, 1, UNMAP(.id = 0, .pad = 1, PORTS, .start = 1, .end = 2), M_OK,
      -XEN_EINVAL, ports_unchanged),
    R(unmap_not_creator, srv_ports, 2, DMOP, 1, UNMAP(.id = 0, PORTS, .start = 0x100, .end = 0x1ff),
      M_OK, -XEN_EPERM, ports_unchanged),
    R(unmap_no_server, NULL, 0, DMOP, 1, UNMAP(.id = 5, PORTS, .start = 1, .end = 2), M_OK,
      -XEN_ENOENT, no_server),
    /* set_ioreq_server_state */
    R(enable, srv_resource_mapped, 0, DMOP, 1, STATE(.id = 0, .enabled = 1), M_OK, 0,
      enabled_eports),
    R(enable_nonzero_is_true, srv_resource_mapped, 0, DMOP, 1, STATE(.id = 0, .enabled = 0x80),
      M_OK, 0, enabled_eports),
    R(enable_before_pages, srv_legacy, 0, DMOP, 1, STATE(.id = 0, .enabled = 1), M_OK, 0,
      enabled_no_page),
    R(disable, srv_enabled, 0, DMOP, 1, STATE(.id = 0, .enabled = 0), M_OK, 0, disabled),
    R(state_pad, srv_legacy, 0, DMOP, 1, STATE(.id = 0, .enabled = 1, .pad = 1), M_OK, -XEN_EINVAL,
      server_0_untouched),
    R(state_no_server, NULL, 0, DMOP, 1, STATE(.id = 0, .enabled = 1), M_OK, -XEN_ENOENT,
      no_server),
    R(state_not_creator, srv_legacy, 2, DMOP, 1, STATE(.id = 0, .enabled = 1), M_OK, -XEN_EPERM,
      server_0_untouched),
    /* destroy_ioreq_server */
    R(destroy, srv_gfn_mapped, 0, DMOP, 1, DESTROY(.id = 0), M_OK, 0, destroyed_0),
    R(destroy_enabled, srv_enabled, 0, DMOP, 1, DESTROY(.id = 0), M_OK, 0, destroyed_0),
    R(destroy_pad, srv_legacy, 0, DMOP, 1, DESTROY(.id = 0, .pad = 1), M_OK, -XEN_EINVAL,
      server_0_untouched),
    R(destroy_no_server, NULL, 0, DMOP, 1, DESTROY(.id = 0), M_OK, -XEN_ENOENT, d1_running),
    R(destroy_unprivileged, srv_legacy, 3, DMOP, 1, DESTROY(.id = 0), M_OK, -XEN_EPERM,
      server_0_untouched),
    R(destroy_by_stub_not_creator, srv_legacy, 2, DMOP, 1, DESTROY(.id = 0), M_OK, -XEN_EPERM,
      server_0_untouched),
    /* XENMEM_acquire_resource */
    R(acquire_size_query, srv_legacy, 0, ACQUIRE, 1,
      ACQ(.domid = 1, .type = XENMEM_resource_ioreq_server), M_OK, 0, size_query),
    R(acquire_size_query_nr_frames, srv_legacy, 0, ACQUIRE, 1,
      ACQ(.domid = 1, .type = XENMEM_resource_ioreq_server, .nr_frames = 1), M_OK, -XEN_EINVAL,
      nothing_mapped),
    R(acquire_both, srv_legacy_list, 0, ACQUIRE, 1,
      ACQ(.domid = 1, .type = XENMEM_resource_ioreq_server, .nr_frames = 2, LIST), M_OK, 0,
      mapped_both),
    R(acquire_ioreq_frame, srv_legacy_list, 0, ACQUIRE, 1,
      ACQ(.domid = 1, .type = XENMEM_resource_ioreq_server, .frame = 1, .nr_frames = 1, LIST), M_OK,
      0, mapped_ioreq_only),
    R(acquire_ring_of_off_server, srv_off_list, 0, ACQUIRE, 1,
      ACQ(.domid = 1, .type = XENMEM_resource_ioreq_server, .nr_frames = 1, LIST), M_OK,
      -XEN_ENOENT, nothing_mapped),
    R(acquire_frame_beyond, srv_legacy_list, 0, ACQUIRE, 1,
      ACQ(.domid = 1, .type = XENMEM_resource_ioreq_server, .nr_frames = 3, LIST), M_OK,
      -XEN_EINVAL, allocated_not_mapped),
    R(acquire_after_gfn_mapping, srv_gfn_mapped_list, 0, ACQUIRE, 1,
      ACQ(.domid = 1, .type = XENMEM_resource_ioreq_server, .nr_frames = 2, LIST), M_OK, -XEN_EPERM,
      gfn_pages_kept),
    R(acquire_no_server, NULL, 0, ACQUIRE, 1,
      ACQ(.domid = 1, .type = XENMEM_resource_ioreq_server, .nr_frames = 1, LIST), M_OK,
      -XEN_ENOENT, no_server),
    R(acquire_not_creator, srv_by_stub_list, 0, ACQUIRE, 1,
      ACQ(.domid = 1, .type = XENMEM_resource_ioreq_server, .frame = 1, .nr_frames = 1, LIST), M_OK,
      -XEN_EPERM, server_0_untouched),
    R(acquire_by_stub, srv_by_stub_list, 2, ACQUIRE, 1,
      ACQ(.domid = 1, .type = XENMEM_resource_ioreq_server, .frame = 1, .nr_frames = 1, LIST), M_OK,
      0, stub_mapped),
    R(acquire_id_too_wide, srv_legacy_list, 0, ACQUIRE, 1,
      ACQ(.domid = 1, .type = XENMEM_resource_ioreq_server, .id = 0x10000, .nr_frames = 1, LIST),
      M_OK, -XEN_EINVAL, server_0_no_pages),
    R(acquire_pad, srv_legacy_list, 0, ACQUIRE, 1,
      ACQ(.domid = 1, .type = XENMEM_resource_ioreq_server, .pad = 1, .nr_frames = 1, LIST), M_OK,
      -XEN_EINVAL, server_0_no_pages),
    R(acquire_frame_above_32_bits, srv_legacy_list, 0, ACQUIRE, 1,
      ACQ(.domid = 1, .type = XENMEM_resource_ioreq_server, .frame = 1ull << 32, .nr_frames = 1,
          LIST),
      M_OK, -XEN_EINVAL, server_0_no_pages),
    R(acquire_frame_plus_nr_wraps, srv_legacy_list, 0, ACQUIRE, 1,
      ACQ(.domid = 1, .type = XENMEM_resource_ioreq_server, .frame = 0xffffffffu, .nr_frames = 1,
          LIST),
      M_OK, -XEN_EINVAL, server_0_no_pages),
    R(acquire_unknown_domain, NULL, 0, ACQUIRE, 1,
      ACQ(.domid = 9, .type = XENMEM_resource_ioreq_server, .nr_frames = 1, LIST), M_OK, -XEN_ESRCH,
      no_server),
    R(acquire_self, srv_legacy_list, 1, ACQUIRE, 1,
      ACQ(.domid = 1, .type = XENMEM_resource_ioreq_server, .nr_frames = 1, LIST), M_OK, -XEN_EPERM,
      server_0_no_pages),
    R(acquire_unprivileged, srv_legacy_list, 3, ACQUIRE, 1,
      ACQ(.domid = 1, .type = XENMEM_resource_ioreq_server, .nr_frames = 1, LIST), M_OK, -XEN_EPERM,
      server_0_no_pages),
    R(acquire_pv_target, NULL, 0, ACQUIRE, 3,
      ACQ(.domid = 3, .type = XENMEM_resource_ioreq_server, .nr_frames = 1, LIST), M_OK,
      -XEN_EINVAL, no_server),
    R(acquire_grant_table, srv_legacy_list, 0, ACQUIRE, 1,
      ACQ(.domid = 1, .type = XENMEM_resource_grant_table, .nr_frames = 1, LIST), M_OK, -XEN_EINVAL,
      server_0_no_pages),
    R(acquire_zero_frames_with_list, srv_legacy_list, 0, ACQUIRE, 1,
      ACQ(.domid = 1, .type = XENMEM_resource_ioreq_server, LIST), M_OK, -XEN_EINVAL,
      server_0_no_pages),
    R(acquire_list_unmapped, srv_legacy, 0, ACQUIRE, 1,
      ACQ(.domid = 1, .type = XENMEM_resource_ioreq_server, .nr_frames = 1, LIST), M_LIST_UNMAPPED,
      -XEN_EFAULT, allocated_not_mapped),
    R(acquire_arg_unmapped, srv_legacy, 0, ACQUIRE, 1,
      ACQ(.domid = 1, .type = XENMEM_resource_ioreq_server, .nr_frames = 1, LIST),
      M_ACQ_ARG_UNMAPPED, -XEN_EFAULT, server_0_no_pages),

    /* XENMEM_add_to_physmap_batch, XENMAPSPACE_gmfn_foreign (target: the foreign domain) */
    R(foreign_by_dom0, NULL, 0, FOREIGN, 1,
      FM(DOMID_SELF, XENMAPSPACE_gmfn_foreign, 1, 0x10, MAP_GFN), M_OK, 0, foreign_mapped_d0),
    R(foreign_by_stub, NULL, 2, FOREIGN, 1,
      FM(DOMID_SELF, XENMAPSPACE_gmfn_foreign, 1, 0x10, MAP_GFN), M_OK, 0, foreign_mapped_stub),
    R(foreign_server_enabled, srv_enabled, 0, FOREIGN, 1,
      FM(DOMID_SELF, XENMAPSPACE_gmfn_foreign, 1, 0x10, MAP_GFN), M_OK, 0,
      foreign_mapped_server_kept),
    R(foreign_ioreq_gfn_page, srv_gfn_mapped, 0, FOREIGN, 1,
      FM(DOMID_SELF, XENMAPSPACE_gmfn_foreign, 1, POOL_GFN, MAP_GFN), M_OK, 0,
      foreign_mapped_ioreq_page),
    R(foreign_ioreq_gfn_hole, srv_gfn_enabled, 0, FOREIGN, 1,
      FM(DOMID_SELF, XENMAPSPACE_gmfn_foreign, 1, POOL_GFN, MAP_GFN), M_OK, 0, foreign_einval),
    R(foreign_unprivileged, NULL, 3, FOREIGN, 1,
      FM(DOMID_SELF, XENMAPSPACE_gmfn_foreign, 1, 0x10, MAP_GFN), M_OK, 0, foreign_eperm),
    R(foreign_stub_not_its_target, NULL, 2, FOREIGN, 3,
      FM(DOMID_SELF, XENMAPSPACE_gmfn_foreign, 3, 0x10, MAP_GFN), M_OK, 0, foreign_eperm),
    R(foreign_no_domain, NULL, 0, FOREIGN, 9,
      FM(DOMID_SELF, XENMAPSPACE_gmfn_foreign, 9, 0x10, MAP_GFN), M_OK, 0, foreign_esrch),
    R(foreign_own_frames, NULL, 0, FOREIGN, 0,
      FM(DOMID_SELF, XENMAPSPACE_gmfn_foreign, 0, 0x10, MAP_GFN), M_OK, 0, foreign_eperm),
    R(foreign_xen, NULL, 0, FOREIGN, DOMID_XEN,
      FM(DOMID_SELF, XENMAPSPACE_gmfn_foreign, DOMID_XEN, 0x10, MAP_GFN), M_OK, 0, foreign_einval),
    R(foreign_not_ram, NULL, 0, FOREIGN, 1,
      FM(DOMID_SELF, XENMAPSPACE_gmfn_foreign, 1, FX_BAD_GPA / XEN_PAGE_SIZE, MAP_GFN), M_OK, 0,
      foreign_einval),
    R(foreign_into_its_own_physmap, NULL, 0, FOREIGN, 1,
      FM(1, XENMAPSPACE_gmfn_foreign, 1, 0x10, MAP_GFN), M_OK, 0, foreign_einval),
    R(foreign_stub_into_target, NULL, 2, FOREIGN, 1,
      FM(1, XENMAPSPACE_gmfn_foreign, 1, 0x10, MAP_GFN), M_OK, 0, foreign_einval),
    R(foreign_into_pv_domain, NULL, 0, FOREIGN, 1,
      FM(3, XENMAPSPACE_gmfn_foreign, 1, 0x10, MAP_GFN), M_OK, -XEN_EACCES, foreign_untouched),
    R(foreign_unprivileged_into_target, NULL, 3, FOREIGN, 1,
      FM(1, XENMAPSPACE_gmfn_foreign, 1, 0x10, MAP_GFN), M_OK, -XEN_EPERM, foreign_untouched),
    R(foreign_no_physmap_domain, NULL, 0, FOREIGN, 1,
      FM(9, XENMAPSPACE_gmfn_foreign, 1, 0x10, MAP_GFN), M_OK, -XEN_ESRCH, foreign_untouched),
    R(foreign_range_space, NULL, 0, FOREIGN, 1,
      FM(DOMID_SELF, XENMAPSPACE_gmfn_range, 1, 0x10, MAP_GFN), M_OK, -XEN_EOPNOTSUPP,
      foreign_untouched),
    R(foreign_errs_unmapped, NULL, 0, FOREIGN, 1,
      FM(DOMID_SELF, XENMAPSPACE_gmfn_foreign, 1, 0x10, MAP_GFN), M_LIST_UNMAPPED, -XEN_EFAULT,
      foreign_untouched),
    R(foreign_arg_unmapped, NULL, 0, FOREIGN, 1,
      FM(DOMID_SELF, XENMAPSPACE_gmfn_foreign, 1, 0x10, MAP_GFN), M_ACQ_ARG_UNMAPPED, -XEN_EFAULT,
      foreign_untouched),
};
#define NR_ROWS (sizeof(rows) / sizeof(rows[0]))

_Static_assert(NR_ROWS >= 60, "the dm_op conformance table covers at least 60 cases");

/* fx first: fx_teardown frees the whole context. */
struct ctx {
    struct fake_xen fx;
    const struct row *row;
};

static int world_setup(void **state)
{
    struct ctx *c = test_calloc(1, sizeof(*c));
    struct domain *stub;

    assert_non_null(c);
    c->row = *state;
    fx_init(&c->fx);
    fx_domain(&c->fx, 0, true, 1, 0, 0);
    fx_hvm_domain(&c->fx, 1, false, 2);
    stub = fx_domain(&c->fx, 2, false, 1, 0, 0);
    stub->has_target = true;
    stub->target = 1;
    fx_domain(&c->fx, 3, false, 1, 0, 0);
    assert_int_equal(ioreq_set_gfn_pool(c->fx.hv.domain[1], POOL_GFN, 4), 0);
    *state = c;
    return 0;
}

/* The buffer array at FX_BUF_GPA: {FX_ARG_GPA, size} and an empty second buffer. */
static uint64_t place_bufs(struct fake_xen *fx, struct domain *d, const struct row *r, unsigned *nr)
{
    struct xen_dm_op_buf buf[3] = {{.size = sizeof(struct xen_dm_op)}, {.size = 0}};

    buf[0].h.p = (void *)(uintptr_t)(r->mode == M_BUF0_UNMAPPED ? FX_BAD_GPA : FX_ARG_GPA);
    if (r->mode == M_HDR_SHORT)
        buf[0].size = 4;
    if (r->mode == M_PAYLOAD_SHORT)
        buf[0].size = 8 + sizeof(struct xen_dm_op_destroy_ioreq_server) - 1;
    *nr = r->mode == M_NO_BUFS ? 0 : r->mode == M_THREE_BUFS ? 3 : r->mode == M_TWO_BUFS ? 2 : 1;
    memcpy(fx_gpa(fx, d, FX_BUF_GPA), buf, sizeof(buf));
    if (r->mode == M_COPY_OUT_FAILS) {
        fx->fail_gpa = FX_ARG_GPA + 8; /* the payload's copy-in passes, its copy-out not */
        fx->fail_at = 2;
        fx->seen = 0;
    }
    return r->mode == M_BUFS_UNMAPPED ? FX_BAD_GPA : FX_BUF_GPA;
}

static long run_dmop(struct fake_xen *fx, const struct row *r, struct vcpu *v)
{
    unsigned nr;
    uint64_t bufs = place_bufs(fx, v->domain, r, &nr);

    memcpy(fx_gpa(fx, v->domain, FX_ARG_GPA), &r->arg.op, sizeof(r->arg.op));
    return fx_hypercall(v, __HYPERVISOR_dm_op, r->target, nr, bufs);
}

static long run_acquire(struct fake_xen *fx, const struct row *r, struct vcpu *v)
{
    struct xen_mem_acquire_resource a = r->arg.acq;

    if (r->mode == M_LIST_UNMAPPED)
        a.frame_list.p = (xen_pfn_t *)(uintptr_t)FX_BAD_GPA;
    memcpy(fx_gpa(fx, v->domain, FX_ARG_GPA), &a, sizeof(a));
    return fx_hypercall(v, __HYPERVISOR_memory_op, XENMEM_acquire_resource,
                        r->mode == M_ACQ_ARG_UNMAPPED ? FX_BAD_GPA : FX_ARG_GPA, 0);
}

/* The batch at FX_ARG_GPA, its arrays after it (errs elsewhere with M_LIST_UNMAPPED). */
static long run_foreign(struct fake_xen *fx, const struct row *r, struct vcpu *v)
{
    struct foreign_arg a = r->arg.fm;

    a.b.idxs.p = (xen_ulong_t *)(uintptr_t)(FX_ARG_GPA + offsetof(struct foreign_arg, idx));
    a.b.gpfns.p = (xen_pfn_t *)(uintptr_t)(FX_ARG_GPA + offsetof(struct foreign_arg, gpfn));
    a.b.errs.p = (int *)(uintptr_t)(r->mode == M_LIST_UNMAPPED
                                        ? FX_BAD_GPA
                                        : FX_ARG_GPA + offsetof(struct foreign_arg, err));
    memcpy(fx_gpa(fx, v->domain, FX_ARG_GPA), &a, sizeof(a));
    return fx_hypercall(v, __HYPERVISOR_memory_op, XENMEM_add_to_physmap_batch,
                        r->mode == M_ACQ_ARG_UNMAPPED ? FX_BAD_GPA : FX_ARG_GPA, 0);
}

static void run_row(void **state)
{
    struct ctx *c = *state;
    struct fake_xen *fx = &c->fx;
    const struct row *r = c->row;
    struct vcpu *v;
    union arg out;
    long rc;

    if (r->setup)
        r->setup(fx);
    v = V(r->caller, 0);
    rc = r->kind == DMOP      ? run_dmop(fx, r, v)
         : r->kind == ACQUIRE ? run_acquire(fx, r, v)
                              : run_foreign(fx, r, v);
    fx->fail_at = 0;
    assert_int_equal(rc, r->expect);
    memcpy(&out, fx_gpa(fx, v->domain, FX_ARG_GPA), sizeof(out));
    if (r->check)
        r->check(fx, &out);
    fx_check_consistency(fx);
}

int main(void)
{
    struct CMUnitTest tests[NR_ROWS];

    for (size_t i = 0; i < NR_ROWS; i++)
        tests[i] =
            (struct CMUnitTest){rows[i].name, run_row, world_setup, fx_teardown, (void *)&rows[i]};
    return _cmocka_run_group_tests("dm_op_conformance", tests, NR_ROWS, NULL, NULL);
}
