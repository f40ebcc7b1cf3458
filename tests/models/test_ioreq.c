/* Ioreq servers (models/ioreq.c): rangesets, server selection, the shared slot's state machine
 * through a whole round trip, the buffered ring, the event channels between target and
 * emulator, and broadcasts. The world: d0 privileged PV, the emulator; d1 HVM with 2 vcpus, the
 * target. The emulator's side is played by the test: it binds the ports, reads and writes the
 * pages the model hands out, and sends on its ports through EVTCHNOP_send. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "models/ioreq.h"
#include "tests/models/fake_xen.h"

/* What the ioreq hooks of the sink were told. */
struct rec {
    unsigned waits[2], resumes[2];
    unsigned page_maps, page_unmaps;
};

struct world {
    struct fake_xen fx; /* first: fx_teardown frees the whole */
    struct rec rec;
    struct hv_sink_ops sink;
    struct domain *dm, *d;
    ioservid_t id;
    uint32_t dm_port[2], dm_bufport;
};

static void rec_xen_wait(void *o, struct vcpu *v, bool blocked)
{
    struct rec *r = o;

    if (blocked)
        r->waits[v->vcpu_id]++;
    else
        r->resumes[v->vcpu_id]++;
}

static void rec_ioreq_page(void *o, struct domain *d, uint64_t gfn, void *page)
{
    struct rec *r = o;

    (void)d;
    (void)gfn;
    if (page)
        r->page_maps++;
    else
        r->page_unmaps++;
}

static int world_setup(void **state)
{
    struct world *w = test_calloc(1, sizeof(*w));

    assert_non_null(w);
    fx_init(&w->fx);
    w->dm = fx_domain(&w->fx, 0, true, 1, 0, 0);
    w->d = fx_hvm_domain(&w->fx, 1, false, 2);
    /* Only the ioreq hooks: the model tolerates the others missing. */
    w->sink = (struct hv_sink_ops){.xen_wait = rec_xen_wait, .ioreq_page = rec_ioreq_page};
    w->fx.hv.sink = &w->sink;
    w->fx.hv.sink_opaque = &w->rec;
    *state = w;
    return 0;
}

static shared_iopage_t *slots(struct world *w)
{
    return ioreq_server_get(w->d, w->id)->ioreq.va;
}

static buffered_iopage_t *ring(struct world *w)
{
    return ioreq_server_get(w->d, w->id)->bufioreq.va;
}

/* demu's order: create, map the pages, enable, then bind what vp_eport says. */
static void emulator_up(struct world *w, uint8_t bufioreq)
{
    struct ioreq_server *s;
    void *page;

    w->id = fx_ioreq_create(&w->fx, w->dm->vcpu[0], 1, bufioreq);
    assert_int_equal(ioreq_server_get_frame(w->d, w->dm, w->id, 1, &page), 0);
    assert_int_equal(ioreq_server_set_state(w->d, w->dm, w->id, true), 0);
    s = ioreq_server_get(w->d, w->id);
    for (unsigned i = 0; i < 2; i++) {
        w->dm_port[i] =
            fx_bind_interdomain(&w->fx, w->dm->vcpu[0], 1, slots(w)->vcpu_ioreq[i].vp_eport);
        fx_set_pending(w->dm, w->dm_port[i], false);
    }
    if (bufioreq) {
        w->dm_bufport = fx_bind_interdomain(&w->fx, w->dm->vcpu[0], 1, s->bufioreq_evtchn);
        fx_set_pending(w->dm, w->dm_bufport, false);
    }
}

static void map_range(struct world *w, ioservid_t id, uint32_t type, uint64_t s, uint64_t e)
{
    assert_int_equal(ioreq_server_map_io_range(w->d, w->dm, id, type, s, e), 0);
}

static ioreq_t pio(uint64_t port, uint32_t size, uint8_t dir, uint64_t data)
{
    return (ioreq_t){
        .addr = port, .size = size, .count = 1, .dir = dir, .data = data, .type = IOREQ_TYPE_PIO};
}

static ioreq_t mmio(uint64_t addr, uint32_t size, uint32_t count, uint8_t df, uint8_t dir)
{
    return (ioreq_t){
        .addr = addr, .size = size, .count = count, .df = df, .dir = dir, .type = IOREQ_TYPE_COPY};
}

static long dm_send(struct world *w, uint32_t port)
{
    struct evtchn_send s = {.port = port};

    return fx_evtchn_op(&w->fx, w->dm->vcpu[0], EVTCHNOP_send, &s, sizeof(s));
}

/* ---- rangesets ---- */

struct range_case {
    const char *name;
    uint64_t add[4][2];
    unsigned nr_add;
    uint64_t rm[2];
    bool do_rm;
    unsigned expect_nr;
    uint64_t in[2], out[2]; /* contained, not contained */
};

static const struct range_case range_cases[] = {
    {"single", {{10, 20}}, 1, {0}, false, 1, {10, 20}, {10, 21}},
    {"adjacent_left_merges", {{10, 20}, {21, 30}}, 2, {0}, false, 1, {10, 30}, {9, 10}},
    {"adjacent_right_merges", {{21, 30}, {10, 20}}, 2, {0}, false, 1, {10, 30}, {30, 31}},
    {"bridging_merges_three", {{10, 20}, {30, 40}, {21, 29}}, 3, {0}, false, 1, {10, 40}, {41, 41}},
    {"gap_keeps_two", {{10, 20}, {22, 30}}, 2, {0}, false, 2, {22, 30}, {20, 22}},
    {"remove_middle_splits", {{10, 30}}, 1, {15, 20}, true, 2, {21, 30}, {15, 15}},
    {"remove_head", {{10, 30}}, 1, {10, 12}, true, 1, {13, 30}, {12, 12}},
    {"remove_tail", {{10, 30}}, 1, {25, 30}, true, 1, {10, 24}, {25, 25}},
    {"remove_all", {{10, 30}}, 1, {10, 30}, true, 0, {0, 0}, {10, 10}},
    {"top_of_space",
     {{UINT64_MAX - 1, UINT64_MAX}},
     1,
     {0},
     false,
     1,
     {UINT64_MAX, UINT64_MAX},
     {0, 0}},
};

static void test_rangeset(void **state)
{
    const struct range_case *c = *state;
    struct ioreq_rangeset *r = test_calloc(1, sizeof(*r));

    for (unsigned i = 0; i < c->nr_add; i++) {
        assert_false(ioreq_rangeset_overlaps(r, c->add[i][0], c->add[i][1]));
        assert_int_equal(ioreq_rangeset_add(r, c->add[i][0], c->add[i][1]), 0);
    }
    if (c->do_rm)
        assert_int_equal(ioreq_rangeset_remove(r, c->rm[0], c->rm[1]), 0);
    assert_int_equal(r->nr, c->expect_nr);
    if (c->expect_nr)
        assert_true(ioreq_rangeset_contains(r, c->in[0], c->in[1]));
    assert_false(ioreq_rangeset_contains(r, c->out[0], c->out[1]));
    for (unsigned i = 1; i < r->nr; i++) /* sorted, disjoint, never adjacent */
        assert_true(r->r[i - 1].e + 1 < r->r[i].s);
    test_free(r);
}

/* 256 ranges is the limit: a 257th separate one fails, one that extends a range does not,
 * and a split at the limit fails as in Xen (it needs a new range first). */
static void test_rangeset_limit(void **state)
{
    struct ioreq_rangeset *r = test_calloc(1, sizeof(*r));

    (void)state;
    for (uint64_t i = 0; i < MAX_NR_IO_RANGES; i++)
        assert_int_equal(ioreq_rangeset_add(r, 10 * i, 10 * i + 5), 0);
    assert_int_equal(ioreq_rangeset_add(r, 100000, 100000), -XEN_ENOMEM);
    assert_int_equal(ioreq_rangeset_add(r, 6, 6), 0);
    assert_int_equal(ioreq_rangeset_remove(r, 2, 3), -XEN_ENOMEM);
    assert_int_equal(ioreq_rangeset_remove(r, 0, 6), 0); /* the whole range: frees one */
    assert_int_equal(ioreq_rangeset_add(r, 100000, 100000), 0);
    assert_int_equal(r->nr, MAX_NR_IO_RANGES);
    test_free(r);
}

/* ---- selection ---- */

struct select_case {
    const char *name;
    ioreq_t req;
    int expect; /* server id, -1 for none */
};

/* Servers 0, 1, 2: 0 has ports 0x100-0x1ff and memory 0xa0000-0xbffff, 1 the same ports and
 * PCI 00:03.0, 2 (disabled) ports 0x100-0x1ff too. */
static const struct select_case select_cases[] = {
    {"port_newest_enabled_wins", {.type = IOREQ_TYPE_PIO, .addr = 0x100, .size = 1}, 1},
    {"port_last_byte_inside", {.type = IOREQ_TYPE_PIO, .addr = 0x1fc, .size = 4}, 1},
    {"port_straddles_end", {.type = IOREQ_TYPE_PIO, .addr = 0x1fe, .size = 4}, -1},
    {"port_outside", {.type = IOREQ_TYPE_PIO, .addr = 0x80, .size = 1}, -1},
    {"mmio_inside", {.type = IOREQ_TYPE_COPY, .addr = 0xa0000, .size = 4, .count = 1}, 0},
    {"mmio_rep_inside", {.type = IOREQ_TYPE_COPY, .addr = 0xbfff0, .size = 4, .count = 4}, 0},
    {"mmio_rep_beyond", {.type = IOREQ_TYPE_COPY, .addr = 0xbfff0, .size = 4, .count = 5}, -1},
    {"mmio_rep_df_inside",
     {.type = IOREQ_TYPE_COPY, .addr = 0xa000c, .size = 4, .count = 4, .df = 1},
     0},
    {"mmio_rep_df_below",
     {.type = IOREQ_TYPE_COPY, .addr = 0xa0008, .size = 4, .count = 4, .df = 1},
     -1},
    {"pci_member",
     {.type = IOREQ_TYPE_PCI_CONFIG,
      .addr = (uint64_t)XEN_DMOP_PCI_SBDF(0, 0, 3, 0) << 32 | 4,
      .size = 4},
     1},
    {"pci_other_function",
     {.type = IOREQ_TYPE_PCI_CONFIG,
      .addr = (uint64_t)XEN_DMOP_PCI_SBDF(0, 0, 3, 1) << 32,
      .size = 4},
     -1},
    {"invalidate_not_routed", {.type = IOREQ_TYPE_INVALIDATE, .addr = 0x100, .size = 4}, -1},
};

static void test_select(void **state)
{
    struct world *w;
    const struct select_case *c = *state;
    struct ioreq_server *s;

    world_setup(state);
    w = *state;
    for (unsigned i = 0; i < 3; i++) {
        assert_int_equal(fx_ioreq_create(&w->fx, w->dm->vcpu[0], 1, 0), i);
        map_range(w, (ioservid_t)i, XEN_DMOP_IO_RANGE_PORT, 0x100, 0x1ff);
        assert_int_equal(ioreq_server_set_state(w->d, w->dm, (ioservid_t)i, i != 2), 0);
    }
    map_range(w, 0, XEN_DMOP_IO_RANGE_MEMORY, 0xa0000, 0xbffff);
    map_range(w, 1, XEN_DMOP_IO_RANGE_PCI, XEN_DMOP_PCI_SBDF(0, 0, 3, 0),
              XEN_DMOP_PCI_SBDF(0, 0, 3, 0));
    s = ioreq_server_select(w->d, &c->req);
    if (c->expect < 0)
        assert_null(s);
    else
        assert_ptr_equal(s, ioreq_server_get(w->d, (unsigned)c->expect));
    fx_teardown(state);
}

/* ---- the synchronous round trip and the slot's state machine ---- */

static void test_round_trip_pio_read(void **state)
{
    struct world *w = *state;
    struct vcpu *v;
    ioreq_t req = pio(0x1f0, 2, IOREQ_READ, 0), done;
    ioreq_t *slot;

    emulator_up(w, HVM_IOREQSRV_BUFIOREQ_OFF);
    map_range(w, w->id, XEN_DMOP_IO_RANGE_PORT, 0x1f0, 0x1f7);
    v = w->d->vcpu[1];
    assert_int_equal(ioreq_send(v, &req, false), IOREQ_WAIT);
    slot = &slots(w)->vcpu_ioreq[1];
    assert_int_equal(slot->state, STATE_IOREQ_READY);
    assert_int_equal(slot->addr, 0x1f0);
    assert_int_equal(slot->size, 2);
    assert_int_equal(slot->dir, IOREQ_READ);
    assert_true(v->blocked_in_xen);
    assert_int_equal(w->rec.waits[1], 1);
    assert_true(ioreq_vcpu_pending(v));
    assert_true(fx_pending(w->dm, w->dm_port[1])); /* the emulator's port for vcpu 1 */
    assert_false(fx_pending(w->dm, w->dm_port[0]));
    /* The emulator: INPROCESS, the answer, IORESP_READY, then its notification. */
    slot->state = STATE_IOREQ_INPROCESS;
    slot->data = 0xbeef;
    slot->state = STATE_IORESP_READY;
    assert_int_equal(dm_send(w, w->dm_port[1]), 0);
    assert_false(v->blocked_in_xen);
    assert_int_equal(w->rec.resumes[1], 1);
    assert_int_equal(ioreq_complete(v, &done), IOREQ_COMPLETE_DONE);
    assert_int_equal(done.data, 0xbeef);
    assert_int_equal(done.state, STATE_IORESP_READY);
    assert_int_equal(slot->state, STATE_IOREQ_NONE); /* Xen resets it */
    assert_false(ioreq_vcpu_pending(v));
    assert_int_equal(ioreq_complete(v, NULL), IOREQ_COMPLETE_NONE);
    fx_check_consistency(&w->fx);
}

/* A port write needs no completion: the data stays the request's. */
static void test_round_trip_pio_write(void **state)
{
    struct world *w = *state;
    ioreq_t req = pio(0x1f0, 1, IOREQ_WRITE, 0x5a), done;

    emulator_up(w, HVM_IOREQSRV_BUFIOREQ_OFF);
    map_range(w, w->id, XEN_DMOP_IO_RANGE_PORT, 0x1f0, 0x1f7);
    assert_int_equal(ioreq_send(w->d->vcpu[0], &req, false), IOREQ_WAIT);
    assert_int_equal(slots(w)->vcpu_ioreq[0].data, 0x5a);
    slots(w)->vcpu_ioreq[0].data = 0x1234;
    slots(w)->vcpu_ioreq[0].state = STATE_IORESP_READY;
    assert_int_equal(dm_send(w, w->dm_port[0]), 0);
    assert_int_equal(ioreq_complete(w->d->vcpu[0], &done), IOREQ_COMPLETE_DONE);
    assert_int_equal(done.data, 0x5a);
    assert_int_equal(done.state, STATE_IOREQ_NONE);
}

struct sm_case {
    const char *name;
    uint8_t states[3]; /* what the emulator writes, one per resumption; 0xff: stop */
    enum ioreq_completion expect[3];
    bool crashed;
};

static const struct sm_case sm_cases[] = {
    {"ready_spurious_then_answer",
     {STATE_IOREQ_READY, STATE_IORESP_READY, 0xff},
     {IOREQ_COMPLETE_WAIT, IOREQ_COMPLETE_DONE},
     false},
    {"inprocess_then_answer",
     {STATE_IOREQ_INPROCESS, STATE_IORESP_READY, 0xff},
     {IOREQ_COMPLETE_WAIT, IOREQ_COMPLETE_DONE},
     false},
    {"inprocess_back_to_ready_crashes",
     {STATE_IOREQ_INPROCESS, STATE_IOREQ_READY, 0xff},
     {IOREQ_COMPLETE_WAIT, IOREQ_COMPLETE_CRASHED},
     true},
    {"unknown_state_crashes", {7, 0xff}, {IOREQ_COMPLETE_CRASHED}, true},
    {"state_4_crashes", {4, 0xff}, {IOREQ_COMPLETE_CRASHED}, true},
    /* An emulator dying mid-request (NONE): not a crash, the data is all ones. */
    {"none_is_an_abandoned_request", {STATE_IOREQ_NONE, 0xff}, {IOREQ_COMPLETE_DONE}, false},
};

static void test_state_machine(void **state)
{
    const struct sm_case *c = *state;
    struct world *w;
    ioreq_t req = pio(0x1f0, 4, IOREQ_READ, 0), done;

    world_setup(state);
    w = *state;
    emulator_up(w, HVM_IOREQSRV_BUFIOREQ_OFF);
    map_range(w, w->id, XEN_DMOP_IO_RANGE_PORT, 0x1f0, 0x1f7);
    assert_int_equal(ioreq_send(w->d->vcpu[0], &req, false), IOREQ_WAIT);
    for (unsigned i = 0; c->states[i] != 0xff; i++) {
        slots(w)->vcpu_ioreq[0].state = c->states[i] & 0xf;
        slots(w)->vcpu_ioreq[0].data = 0x42;
        assert_int_equal(dm_send(w, w->dm_port[0]), 0);
        assert_int_equal(ioreq_complete(w->d->vcpu[0], &done), c->expect[i]);
    }
    assert_int_equal(w->d->shutdown_reason, c->crashed ? SHUTDOWN_crash : -1);
    assert_false(ioreq_vcpu_pending(w->d->vcpu[0]) && c->crashed);
    if (!c->crashed && c->states[0] == STATE_IOREQ_NONE)
        assert_int_equal(done.data, ~0ull);
    fx_teardown(state);
}

/* Xen refuses to send unless the slot is NONE and vp_eport is its port. */
static void test_bad_slot(void **state)
{
    struct world *w = *state;
    ioreq_t req = pio(0x1f0, 1, IOREQ_READ, 0);

    emulator_up(w, HVM_IOREQSRV_BUFIOREQ_OFF);
    map_range(w, w->id, XEN_DMOP_IO_RANGE_PORT, 0x1f0, 0x1f7);
    slots(w)->vcpu_ioreq[0].state = STATE_IORESP_READY;
    assert_int_equal(ioreq_send(w->d->vcpu[0], &req, false), IOREQ_UNHANDLED);
    assert_false(w->d->vcpu[0]->blocked_in_xen);
    slots(w)->vcpu_ioreq[0].state = STATE_IOREQ_NONE;
    slots(w)->vcpu_ioreq[0].vp_eport++;
    assert_int_equal(ioreq_send(w->d->vcpu[0], &req, false), IOREQ_UNHANDLED);
    assert_false(ioreq_vcpu_pending(w->d->vcpu[0]));
    req = pio(0x80, 1, IOREQ_READ, 0);
    assert_int_equal(ioreq_send(w->d->vcpu[0], &req, false), IOREQ_NO_SERVER);
}

/* A disabled server claims nothing; GFN-mapped pages leave the guest's physmap while it is
 * enabled. */
static void test_enable_disable(void **state)
{
    struct world *w = *state;
    ioreq_t req = pio(0x1f0, 1, IOREQ_READ, 0);
    uint64_t g, b;
    evtchn_port_t p;

    assert_int_equal(ioreq_set_gfn_pool(w->d, 0xe0, 2), 0);
    w->id = fx_ioreq_create(&w->fx, w->dm->vcpu[0], 1, HVM_IOREQSRV_BUFIOREQ_LEGACY);
    map_range(w, w->id, XEN_DMOP_IO_RANGE_PORT, 0x1f0, 0x1f7);
    assert_int_equal(ioreq_server_get_info(w->d, w->dm, w->id, &g, &b, &p), 0);
    memset(fx_gpa(&w->fx, w->d, 0xe0000), 0x77, 16);
    assert_int_equal(ioreq_send(w->d->vcpu[0], &req, false), IOREQ_NO_SERVER);
    assert_int_equal(ioreq_server_set_state(w->d, w->dm, w->id, true), 0);
    assert_int_equal(w->rec.page_unmaps, 2); /* both frames out of d1's physmap */
    assert_int_equal(slots(w)->vcpu_ioreq[0].state, 0);
    assert_int_equal(slots(w)->vcpu_ioreq[1].vp_eport,
                     ioreq_server_get(w->d, w->id)->vcpu[1].ioreq_evtchn);
    assert_int_equal(ioreq_server_set_state(w->d, w->dm, w->id, false), 0);
    assert_int_equal(w->rec.page_maps, 2);
    assert_int_equal(ioreq_send(w->d->vcpu[0], &req, false), IOREQ_NO_SERVER);
}

/* ---- the buffered ring ---- */

static void buffered_up(struct world *w, uint8_t handling)
{
    void *page;

    emulator_up(w, handling);
    assert_int_equal(ioreq_server_get_frame(w->d, w->dm, w->id, 0, &page), 0);
    map_range(w, w->id, XEN_DMOP_IO_RANGE_MEMORY, 0xa0000, 0xbffff);
}

static void test_buffered_one_slot(void **state)
{
    struct world *w = *state;
    ioreq_t req = mmio(0xa1234, 2, 1, 0, IOREQ_WRITE);

    buffered_up(w, HVM_IOREQSRV_BUFIOREQ_LEGACY);
    req.data = 0xabcd;
    assert_int_equal(ioreq_send(w->d->vcpu[0], &req, true), IOREQ_BUFFERED);
    assert_int_equal(ring(w)->write_pointer, 1);
    assert_int_equal(ring(w)->buf_ioreq[0].addr, 0xa1234);
    assert_int_equal(ring(w)->buf_ioreq[0].size, 1); /* 2 bytes */
    assert_int_equal(ring(w)->buf_ioreq[0].data, 0xabcd);
    assert_int_equal(ring(w)->buf_ioreq[0].type, IOREQ_TYPE_COPY);
    assert_true(fx_pending(w->dm, w->dm_bufport));
    assert_false(w->d->vcpu[0]->blocked_in_xen);
    assert_false(ioreq_vcpu_pending(w->d->vcpu[0]));
}

static void test_buffered_qword(void **state)
{
    struct world *w = *state;
    ioreq_t req = mmio(0xa0000, 8, 1, 0, IOREQ_WRITE);

    buffered_up(w, HVM_IOREQSRV_BUFIOREQ_LEGACY);
    req.data = 0x1122334455667788ull;
    assert_int_equal(ioreq_send(w->d->vcpu[0], &req, true), IOREQ_BUFFERED);
    assert_int_equal(ring(w)->write_pointer, 2);
    assert_int_equal(ring(w)->buf_ioreq[0].data, 0x55667788);
    assert_int_equal(ring(w)->buf_ioreq[1].data, 0x11223344);
    assert_int_equal(ring(w)->buf_ioreq[1].size, 3);
    assert_int_equal(ring(w)->buf_ioreq[1].addr, 0xa0000);
}

/* Full at 511 (510 for the two-slot form): the request goes the synchronous way instead. */
static void test_buffered_full_falls_back(void **state)
{
    struct world *w = *state;
    ioreq_t req = mmio(0xa0000, 4, 1, 0, IOREQ_WRITE), q = mmio(0xa0000, 8, 1, 0, IOREQ_WRITE);

    buffered_up(w, HVM_IOREQSRV_BUFIOREQ_LEGACY);
    ring(w)->write_pointer = IOREQ_BUFFER_SLOT_NUM - 1; /* 510 queued */
    assert_int_equal(ioreq_send(w->d->vcpu[0], &q, true), IOREQ_WAIT);
    assert_int_equal(ring(w)->write_pointer, IOREQ_BUFFER_SLOT_NUM - 1);
    assert_int_equal(slots(w)->vcpu_ioreq[0].state, STATE_IOREQ_READY);
    assert_int_equal(ioreq_send(w->d->vcpu[1], &req, true), IOREQ_BUFFERED);
    assert_int_equal(ring(w)->write_pointer, IOREQ_BUFFER_SLOT_NUM);
    assert_int_equal(ioreq_send(w->d->vcpu[1], &req, true), IOREQ_WAIT);
    assert_int_equal(slots(w)->vcpu_ioreq[1].type, IOREQ_TYPE_COPY);
}

/* What the ring refuses goes the synchronous way too. */
static void test_buffered_refusals(void **state)
{
    struct world *w = *state;
    ioreq_t big = mmio(0x100000, 4, 1, 0, IOREQ_WRITE), rep = mmio(0xa0000, 4, 2, 0, IOREQ_WRITE);

    buffered_up(w, HVM_IOREQSRV_BUFIOREQ_LEGACY);
    map_range(w, w->id, XEN_DMOP_IO_RANGE_MEMORY, 0x100000, 0x100fff);
    assert_int_equal(ioreq_send(w->d->vcpu[0], &big, true), IOREQ_WAIT);
    assert_int_equal(ioreq_send(w->d->vcpu[1], &rep, true), IOREQ_WAIT);
    assert_int_equal(ring(w)->write_pointer, 0);
}

struct wrap_case {
    const char *name;
    uint8_t handling;
    uint32_t rp, wp;
    uint32_t expect_rp, expect_wp;
    uint32_t slot; /* where the new entry lands */
};

static const struct wrap_case wrap_cases[] = {
    /* ATOMIC: once read_pointer reaches 511 both move down by a multiple of 511. */
    {"atomic_canonicalises", HVM_IOREQSRV_BUFIOREQ_ATOMIC, 1022, 1030, 0, 9, 8},
    {"atomic_below_511_untouched", HVM_IOREQSRV_BUFIOREQ_ATOMIC, 500, 505, 500, 506, 505},
    /* LEGACY: the pointers only grow, wrapping at 2^32. */
    {"legacy_keeps_counting", HVM_IOREQSRV_BUFIOREQ_LEGACY, 1022, 1030, 1022, 1031, 8},
    {"legacy_wraps_at_2_32", HVM_IOREQSRV_BUFIOREQ_LEGACY, UINT32_MAX, UINT32_MAX, UINT32_MAX, 0,
     UINT32_MAX % IOREQ_BUFFER_SLOT_NUM},
};

static void test_buffered_wrap(void **state)
{
    const struct wrap_case *c = *state;
    struct world *w;
    ioreq_t req = mmio(0xa0000, 1, 1, 0, IOREQ_WRITE);

    world_setup(state);
    w = *state;
    buffered_up(w, c->handling);
    ring(w)->read_pointer = c->rp;
    ring(w)->write_pointer = c->wp;
    req.data = 0x99;
    assert_int_equal(ioreq_send(w->d->vcpu[0], &req, true), IOREQ_BUFFERED);
    assert_int_equal(ring(w)->read_pointer, c->expect_rp);
    assert_int_equal(ring(w)->write_pointer, c->expect_wp);
    assert_int_equal(ring(w)->buf_ioreq[c->slot].data, 0x99);
    fx_teardown(state);
}

/* ---- event channels ---- */

/* The target's ports are Xen's: the guest can neither send on nor close them; an emulator
 * that sends while the vcpu does not wait changes nothing. */
static void test_event_channels(void **state)
{
    struct world *w = *state;
    struct ioreq_server *s;
    struct evtchn_send snd;
    struct evtchn_close cl;

    emulator_up(w, HVM_IOREQSRV_BUFIOREQ_ATOMIC);
    s = ioreq_server_get(w->d, w->id);
    assert_int_equal(w->d->xen_evtchns, 3);
    assert_int_equal(evtchn_from_port(w->d, s->vcpu[1].ioreq_evtchn)->state, ECS_INTERDOMAIN);
    snd.port = s->vcpu[0].ioreq_evtchn;
    assert_int_equal(fx_evtchn_op(&w->fx, w->d->vcpu[0], EVTCHNOP_send, &snd, sizeof(snd)),
                     -XEN_EINVAL);
    cl.port = s->bufioreq_evtchn;
    assert_int_equal(fx_evtchn_op(&w->fx, w->d->vcpu[0], EVTCHNOP_close, &cl, sizeof(cl)),
                     -XEN_EINVAL);
    assert_int_equal(dm_send(w, w->dm_port[0]), 0); /* spurious: nobody waits */
    assert_int_equal(w->rec.resumes[0], 0);
    assert_false(fx_pending(w->d, s->vcpu[0].ioreq_evtchn)); /* nothing for the guest */
    /* Destroying the server frees the target's ports; the emulator's fall back to unbound. */
    assert_int_equal(ioreq_server_destroy(w->d, w->dm, w->id), 0);
    assert_int_equal(w->d->xen_evtchns, 0);
    assert_int_equal(evtchn_from_port(w->dm, w->dm_port[0])->state, ECS_UNBOUND);
    assert_int_equal(w->rec.page_unmaps, 0); /* nothing was mapped into the emulator */
    fx_check_consistency(&w->fx);
}

/* A server on an emulator-less vcpu: a port not yet bound drops Xen's notification. */
static void test_unbound_notification_dropped(void **state)
{
    struct world *w = *state;
    void *page;
    ioreq_t req = pio(0x10, 1, IOREQ_READ, 0);

    w->id = fx_ioreq_create(&w->fx, w->dm->vcpu[0], 1, 0);
    assert_int_equal(ioreq_server_get_frame(w->d, w->dm, w->id, 1, &page), 0);
    assert_int_equal(ioreq_server_set_state(w->d, w->dm, w->id, true), 0);
    map_range(w, w->id, XEN_DMOP_IO_RANGE_PORT, 0x10, 0x10);
    assert_int_equal(ioreq_send(w->d->vcpu[0], &req, false), IOREQ_WAIT);
    assert_int_equal(w->dm->active_evtchns, 0);
}

/* Destroying the target takes its servers with it, and the emulator's mappings. */
static void test_target_destroyed(void **state)
{
    struct world *w = *state;
    struct xen_mem_acquire_resource a = {
        .domid = 1, .type = XENMEM_resource_ioreq_server, .nr_frames = 2};
    xen_pfn_t gfn[2] = {0x90, 0x91};

    emulator_up(w, HVM_IOREQSRV_BUFIOREQ_LEGACY);
    a.frame_list.p = (xen_pfn_t *)(uintptr_t)FX_BUF_GPA;
    memcpy(fx_gpa(&w->fx, w->dm, FX_BUF_GPA), gfn, sizeof(gfn));
    memcpy(fx_gpa(&w->fx, w->dm, FX_ARG_GPA), &a, sizeof(a));
    assert_int_equal(fx_hypercall(w->dm->vcpu[0], __HYPERVISOR_memory_op, XENMEM_acquire_resource,
                                  FX_ARG_GPA, 0),
                     0);
    assert_int_equal(w->rec.page_maps, 2);
    domain_destroy(w->d);
    assert_int_equal(w->rec.page_unmaps, 2);
    assert_int_equal(evtchn_from_port(w->dm, w->dm_port[1])->state, ECS_UNBOUND);
}

/* ---- broadcasts ---- */

static void test_broadcast_invalidate(void **state)
{
    struct world *w = *state;
    ioreq_t done;
    unsigned second;
    void *page;

    emulator_up(w, HVM_IOREQSRV_BUFIOREQ_OFF);
    second = fx_ioreq_create(&w->fx, w->dm->vcpu[0], 1, 0); /* enabled, no page yet */
    assert_int_equal(ioreq_server_set_state(w->d, w->dm, (ioservid_t)second, true), 0);
    assert_int_equal(ioreq_signal_mapcache_invalidate(w->d->vcpu[0]), 1); /* no page: failed */
    assert_int_equal(slots(w)->vcpu_ioreq[0].type, IOREQ_TYPE_INVALIDATE);
    assert_int_equal(slots(w)->vcpu_ioreq[0].data, ~0ull);
    assert_int_equal(slots(w)->vcpu_ioreq[0].state, STATE_IOREQ_READY);
    slots(w)->vcpu_ioreq[0].state = STATE_IORESP_READY;
    assert_int_equal(dm_send(w, w->dm_port[0]), 0);
    assert_int_equal(ioreq_complete(w->d->vcpu[0], &done), IOREQ_COMPLETE_DONE);
    /* With both pages there, both servers get it and both must answer. */
    assert_int_equal(ioreq_server_get_frame(w->d, w->dm, (ioservid_t)second, 1, &page), 0);
    assert_int_equal(ioreq_server_set_state(w->d, w->dm, (ioservid_t)second, false), 0);
    assert_int_equal(ioreq_server_set_state(w->d, w->dm, (ioservid_t)second, true), 0);
    assert_int_equal(ioreq_signal_mapcache_invalidate(w->d->vcpu[0]), 0);
    slots(w)->vcpu_ioreq[0].state = STATE_IORESP_READY;
    assert_int_equal(dm_send(w, w->dm_port[0]), 0);
    assert_int_equal(ioreq_complete(w->d->vcpu[0], &done), IOREQ_COMPLETE_WAIT); /* server 1 */
    ((shared_iopage_t *)page)->vcpu_ioreq[0].state = STATE_IORESP_READY;
    evtchn_xen_consumer_notify(
        w->d, evtchn_from_port(w->d, ((shared_iopage_t *)page)->vcpu_ioreq[0].vp_eport));
    assert_int_equal(ioreq_complete(w->d->vcpu[0], &done), IOREQ_COMPLETE_DONE);
}

/* TIMEOFFSET is buffered: only servers with a ring get it, in the two-slot form. */
static void test_broadcast_timeoffset(void **state)
{
    struct world *w = *state;
    unsigned other;

    buffered_up(w, HVM_IOREQSRV_BUFIOREQ_ATOMIC);
    other = fx_ioreq_create(&w->fx, w->dm->vcpu[0], 1, HVM_IOREQSRV_BUFIOREQ_OFF);
    assert_int_equal(ioreq_server_set_state(w->d, w->dm, (ioservid_t)other, true), 0);
    assert_int_equal(ioreq_send_timeoffset(w->d->vcpu[1], 0x100000002ull), 0);
    assert_int_equal(ring(w)->write_pointer, 2);
    assert_int_equal(ring(w)->buf_ioreq[0].type, IOREQ_TYPE_TIMEOFFSET);
    assert_int_equal(ring(w)->buf_ioreq[0].data, 2);
    assert_int_equal(ring(w)->buf_ioreq[1].data, 1);
    assert_false(w->d->vcpu[1]->blocked_in_xen);
}

#define CASES(fn, table, out)                                                                      \
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)                                  \
        out[n++] = (struct CMUnitTest){table[i].name, fn, NULL, NULL, (void *)&table[i]};

/* A simulator without the hooks to hold a vcpu and map the pages gets no servers: -EOPNOTSUPP
 * (not Xen's answer: evsim's, until its simulator serves them), and nothing is created. */
static void test_no_server_without_hooks(void **state)
{
    struct world *w = *state;
    static const struct hv_sink_ops partial[] = {
        {.ioreq_page = rec_ioreq_page}, {.xen_wait = rec_xen_wait}, {.kick = NULL}};

    for (size_t i = 0; i < sizeof(partial) / sizeof(partial[0]); i++) {
        struct xen_dm_op op = {.op = XEN_DMOP_create_ioreq_server};

        w->fx.hv.sink = &partial[i];
        assert_int_equal(fx_dm_op(&w->fx, w->dm->vcpu[0], 1, &op, sizeof(op)), -XEN_EOPNOTSUPP);
        assert_null(ioreq_server_select(
            w->d, &(ioreq_t){.type = IOREQ_TYPE_PIO, .addr = 0x3f8, .size = 1, .count = 1}));
    }
    w->fx.hv.sink = &w->sink;
    assert_int_equal(fx_ioreq_create(&w->fx, w->dm->vcpu[0], 1, HVM_IOREQSRV_BUFIOREQ_OFF), 0);
}

int main(void)
{
    static const struct CMUnitTest fixed[] = {
        cmocka_unit_test_setup_teardown(test_no_server_without_hooks, world_setup, fx_teardown),
        cmocka_unit_test(test_rangeset_limit),
        cmocka_unit_test_setup_teardown(test_round_trip_pio_read, world_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_round_trip_pio_write, world_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_bad_slot, world_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_enable_disable, world_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_buffered_one_slot, world_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_buffered_qword, world_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_buffered_full_falls_back, world_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_buffered_refusals, world_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_event_channels, world_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_unbound_notification_dropped, world_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_target_destroyed, world_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_broadcast_invalidate, world_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_broadcast_timeoffset, world_setup, fx_teardown),
    };
    struct CMUnitTest tests[128];
    size_t n = 0;

    for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
        tests[n++] = fixed[i];
    CASES(test_rangeset, range_cases, tests);
    CASES(test_select, select_cases, tests);
    CASES(test_state_machine, sm_cases, tests);
    CASES(test_buffered_wrap, wrap_cases, tests);
    return _cmocka_run_group_tests("ioreq", tests, n, NULL, NULL);
}
