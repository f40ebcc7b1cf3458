/* XSA-359 (https://xenbits.xen.org/xsa/advisory-359.html): Xen looked up a FIFO event word
 * without a read barrier between the ABI switch / the event-array size and the array itself,
 * so another CPU could follow a pointer that init_control or expand_array had not finished
 * publishing. The model is single-threaded; what it must guarantee is that no state is ever
 * published half-built, so that whatever instant another CPU picks, it finds complete state.
 *
 * Each row switches a domain to an extended ABI (FIFO: init_control for every vcpu and
 * expand_array; 3-level: register_extended's two phases) with a probe in the touch hook, which
 * runs at every access Xen makes to guest memory, before the access: at that instant the probe
 * looks at the domain as a vcpu on another CPU would, and asserts
 * - published state is complete (fx_check_abi_published): the ops table names an ABI whose
 *   state exists; every vcpu has FIFO queues once the domain has FIFO state, and a vcpu whose
 *   control block is published has every queue's head pointing into it; every event-array page
 *   below num_evtchns is mapped where the guest put it, and the word of every port below it is
 *   found there; 3-level bitmaps and published selectors are mapped;
 * - every port can be polled and asked whether it is pending or masked (SCHEDOP_poll, the
 *   ABI's is_pending / is_masked, as a vcpu polling or Xen's debug keys do), and a port
 *   beyond the storage answers -EINVAL;
 * - and it raises one of its own ports (EVTCHNOP_send from another vcpu), round robin.
 * Afterwards every event the probe raised must be waiting in the new ABI: published early
 * or late, nothing a concurrent sender did may be lost.
 *
 * Why each probe is legitimate from inside Xen's access (the hook must not do what no other
 * CPU could do at that instant):
 * - The reads need no lock the commands hold: Xen's evtchn_port_poll and
 *   evtchn_is_pending/masked take only the port's own lock (poll a trylock), which
 *   init_control, expand_array and register_extended never take; and they change nothing: the
 *   probe reads the model's state, and guest words through the model's accessors.
 * - A raise on 2-level and 3-level is a chain of atomic test-and-sets, which Xen runs on any
 *   CPU under the port's lock only; none of the commands here holds a port's lock.
 * - A FIFO raise links on a (vcpu, priority) queue under that queue's lock, which expand_array
 *   takes when it raises the events saved for the new page: a second link on the same queue
 *   from the hook would be one Xen's lock forbids. So each FIFO probe port is the only port on
 *   its queue (priority 2 on its vcpu, nothing else there); a raise of that same port that is
 *   in flight is settled by the LINKED test-and-set, as in Xen.
 * - The hook is not re-entered: the probe's own accesses are not probed again. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "models/event_3l.h"
#include "models/event_fifo.h"
#include "tests/models/fake_xen.h"

#define NR_VCPUS 4u
#define NR_PORTS 100u     /* IPIs bound before the switch, round robin over the vcpus */
#define PROBE_PRIORITY 2u /* FIFO probe ports: alone at this priority on their vcpu */
#define HIGH_PORT 1500u   /* beyond the first FIFO page; raised before the switch */
#define CTL_GFN (FX_FIFO_CONTROL_GPA / XEN_PAGE_SIZE)

enum abi { ABI_3L, ABI_FIFO };

struct row {
    const char *name;
    enum abi abi;
    unsigned word_bits;
    /* port HIGH_PORT bound and pending (64-bit guests only: 2-level stops at 1024 for 32-bit
     * ones), beyond FIFO's first page */
    bool high_port;
    bool reversed;     /* vcpus register from the last to the first */
    bool expand_first; /* FIFO: the event array before the other vcpus' control blocks */
};

static const struct row rows[] = {
    {"fifo_64bit", ABI_FIFO, 64, false, false, false},
    {"fifo_64bit_reversed", ABI_FIFO, 64, false, true, false},
    {"fifo_64bit_expand_first", ABI_FIFO, 64, false, false, true},
    {"fifo_64bit_two_pages", ABI_FIFO, 64, true, false, false},
    {"fifo_32bit", ABI_FIFO, 32, false, false, false},
    {"fifo_32bit_reversed_expand_first", ABI_FIFO, 32, false, true, true},
    {"3l_64bit", ABI_3L, 64, false, false, false},
    {"3l_64bit_reversed", ABI_3L, 64, false, true, false},
    {"3l_64bit_high_port", ABI_3L, 64, true, false, false},
    {"3l_32bit", ABI_3L, 32, false, false, false},
};

#define NR_ROWS (sizeof(rows) / sizeof(rows[0]))

struct world {
    struct fake_xen fx; /* first: the teardown destroys it */
    const struct row *row;
    struct domain *d;
    uint32_t probe_port[NR_VCPUS]; /* one per vcpu, notifying it */
    bool raised[NR_VCPUS];         /* the probe raised it during the current command */
    bool ever_raised[NR_VCPUS];
    unsigned next_raise;
    bool may_raise;  /* the probe raises during the current command */
    bool inside;     /* the probe runs: its own accesses are not probed */
    unsigned probes; /* accesses probed during the current command */
};

/* ---- the probe ---- */

static void probe_reads(struct world *w)
{
    struct domain *d = w->d;

    for (uint32_t p = 0; p < d->valid_evtchns; p++) {
        const struct evtchn *chn = evtchn_from_port(d, p);
        int polled = evtchn_port_poll(d, p);

        assert_non_null(chn);
        assert_true(polled == 0 || polled == 1);
        assert_int_equal(polled, evtchn_is_pending(d, chn));
        if (!evtchn_usable(chn))
            assert_true(evtchn_is_masked(d, chn));
        else
            (void)evtchn_is_masked(d, chn);
    }
    assert_int_equal(evtchn_port_poll(d, d->valid_evtchns), -XEN_EINVAL);
}

static void probe_raise(struct world *w)
{
    unsigned i = w->next_raise++ % NR_VCPUS;

    assert_int_equal(evtchn_send(w->d, w->probe_port[i]), 0);
    w->raised[i] = w->ever_raised[i] = true;
}

static void probe(struct fake_xen *fx, volatile void *addr, size_t len, enum guest_access k)
{
    struct world *w = fx->touch_opaque;

    (void)addr;
    (void)len;
    (void)k;
    if (w->inside)
        return;
    w->inside = true;
    w->probes++;
    fx_check_abi_published(fx, w->d);
    probe_reads(w);
    if (w->may_raise)
        probe_raise(w);
    w->inside = false;
}

/* Each event the probe raised during a command is still waiting when the command returns,
 * whichever ABI took it: pending, or saved on the port until its FIFO page is added. */
static void check_raised_kept(struct world *w)
{
    for (unsigned i = 0; i < NR_VCPUS; i++) {
        const struct evtchn *chn = evtchn_from_port(w->d, w->probe_port[i]);

        if (w->raised[i])
            assert_true(evtchn_is_pending(w->d, chn) || chn->fifo_pending);
    }
}

/* One ABI command with the probe at every access; the whole world checked before and after.
 * Returns how many accesses were probed. */
static unsigned probed(struct world *w, long (*cmd)(struct world *w, unsigned arg), unsigned arg,
                       bool may_raise)
{
    unsigned n;

    fx_check_consistency(&w->fx);
    w->may_raise = may_raise;
    w->probes = 0;
    memset(w->raised, 0, sizeof(w->raised));
    w->fx.touch_hook = probe;
    w->fx.touch_opaque = w;
    assert_int_equal(cmd(w, arg), 0);
    w->fx.touch_hook = NULL;
    n = w->probes;
    fx_check_consistency(&w->fx);
    check_raised_kept(w);
    return n;
}

/* ---- the commands ---- */

static long init_control(struct world *w, unsigned vcpu)
{
    return fx_fifo_init_control(&w->fx, w->d->vcpu[0], vcpu, CTL_GFN,
                                vcpu * FX_FIFO_CONTROL_STRIDE);
}

static long expand(struct world *w, unsigned page)
{
    return fx_fifo_expand(&w->fx, w->d->vcpu[0], page);
}

static long l3_bitmaps(struct world *w, unsigned unused)
{
    (void)unused;
    return fx_3l_register_bitmaps(&w->fx, w->d->vcpu[0], evtchn_3l_bitmap_pages(w->d));
}

static long l3_l2sel(struct world *w, unsigned vcpu)
{
    return fx_3l_register_l2sel(&w->fx, w->d->vcpu[0], vcpu);
}

static unsigned nth_vcpu(const struct world *w, unsigned n)
{
    return w->row->reversed ? NR_VCPUS - 1 - n : n;
}

/* ---- set-up ---- */

/* Probe ports 1-4 (one per vcpu), then more IPIs, every third raised and every seventh masked
 * under 2-level: events the switch must carry over. */
static void world_build(struct world *w)
{
    struct fake_xen *fx = &w->fx;
    struct domain *d;

    fx_init(fx);
    fx_domain(fx, 0, true, 1, 0, 0);
    d = w->d = fx_domain(fx, 1, false, NR_VCPUS, w->row->word_bits, w->row->high_port ? 2047 : 0);
    for (unsigned i = 1; i < NR_VCPUS; i++)
        d->vcpu[i]->run_state = VCPU_RUNNABLE;
    for (unsigned i = 0; i < NR_VCPUS; i++)
        w->probe_port[i] = fx_bind_ipi(fx, d->vcpu[0], i);
    for (unsigned k = 0; k < NR_PORTS; k++) {
        uint32_t port = fx_bind_ipi(fx, d->vcpu[0], k % NR_VCPUS);

        if (k % 7 == 0)
            fx_set_mask(d, port, true);
        if (k % 3 == 0)
            assert_int_equal(evtchn_send(d, port), 0);
    }
    if (w->row->high_port) {
        fx_3l_claim_ipi(d, HIGH_PORT, 1);
        assert_int_equal(evtchn_send(d, HIGH_PORT), 0);
        assert_true(fx_pending(d, HIGH_PORT));
    }
    fx_check_consistency(fx);
}

/* ---- the switches ---- */

/* The first init_control reads the 2-level pending bits of every port after the switch
 * (Xen's setup_ports): the probe runs there. The others map one block and touch nothing, so
 * another vcpu sees the state before or after, never between. An expand_array raising saved
 * events is probed at every access of every raise. */
static void switch_fifo(struct world *w)
{
    unsigned pages = w->row->high_port ? 2 : 1;

    assert_true(probed(w, init_control, nth_vcpu(w, 0), true) > 0);
    /* each probe port alone on its queue from now on (init_control reset every priority) */
    for (unsigned i = 0; i < NR_VCPUS; i++)
        assert_int_equal(evtchn_port_set_priority(w->d, evtchn_from_port(w->d, w->probe_port[i]),
                                                  PROBE_PRIORITY),
                         0);
    if (!w->row->expand_first)
        for (unsigned n = 1; n < NR_VCPUS; n++)
            assert_int_equal(probed(w, init_control, nth_vcpu(w, n), true), 0);
    for (unsigned p = 0; p < pages; p++)
        assert_true(probed(w, expand, p, true) > 0);
    if (w->row->expand_first)
        for (unsigned n = 1; n < NR_VCPUS; n++)
            assert_int_equal(probed(w, init_control, nth_vcpu(w, n), true), 0);
}

/* Phase 1 moves the 2-level bits; each phase 2 scans the bitmaps for events held for its
 * vcpu: the probe reads and raises at every access of both. Phase 1 switches the ops table
 * first and then merges each 2-level pending word into the new bitmap with a locked OR, so an
 * event another CPU raises at any point lands in one ABI or the other and is carried over or
 * kept (moving the words first would leave one raised meanwhile in a 2-level word already
 * moved: this test found that order and failed on it). */
static void switch_3l(struct world *w)
{
    assert_true(probed(w, l3_bitmaps, 0, true) > 0);
    for (unsigned n = 0; n < NR_VCPUS; n++)
        assert_true(probed(w, l3_l2sel, nth_vcpu(w, n), true) > 0);
}

/* Nothing the probe raised was lost: each probe port is pending in the new ABI and, being
 * unmasked on a vcpu that registered, reachable from it. A FIFO event raised for a vcpu before
 * its control block existed waits unlinked (XSA-107) until the guest unmasks the port, as
 * Linux does once the vcpu is registered; the unmask links it. */
static void check_probe_events(struct world *w)
{
    struct domain *d = w->d;

    for (unsigned i = 0; i < NR_VCPUS; i++) {
        uint32_t port = w->probe_port[i];
        struct vcpu *v = d->vcpu[i];

        assert_true(w->ever_raised[i]);
        assert_true(evtchn_is_pending(d, evtchn_from_port(d, port)));
        assert_false(evtchn_is_masked(d, evtchn_from_port(d, port)));
        if (w->row->abi == ABI_FIFO) {
            volatile struct evtchn_fifo_control_block *cb = fx_fifo_control(&w->fx, v);
            struct evtchn_unmask u = {.port = port};

            assert_int_equal(fx_evtchn_op(&w->fx, d->vcpu[0], EVTCHNOP_unmask, &u, sizeof(u)), 0);
            assert_true(*fx_fifo_word(&w->fx, d, port) & (1u << EVTCHN_FIFO_LINKED));
            assert_int_equal(cb->head[PROBE_PRIORITY], port);
            assert_true(cb->ready & (1u << PROBE_PRIORITY));
        } else {
            /* selector bit port / word_bits, whatever the guest's word size: the bitmap's
             * bit n is bit n % 64 of its 64-bit word n / 64 */
            unsigned bit = port / d->guest_word_bits;

            assert_true(fx_3l_pending(&w->fx, d, port));
            assert_true(fx_3l_l2sel(&w->fx, v)[bit / 64] & (UINT64_C(1) << (bit % 64)));
        }
        assert_int_equal(fx_upcall_pending(v), 1);
    }
}

/* The events raised under 2-level before the switch made it across too. */
static void check_carried_over(struct world *w)
{
    struct domain *d = w->d;

    for (uint32_t p = NR_VCPUS + 1; p < NR_VCPUS + 1 + NR_PORTS; p++)
        if ((p - NR_VCPUS - 1) % 3 == 0)
            assert_true(evtchn_is_pending(d, evtchn_from_port(d, p)));
    if (w->row->high_port)
        assert_true(evtchn_is_pending(d, evtchn_from_port(d, HIGH_PORT)));
}

/* The world is allocated before the test, so that the teardown frees it whatever happens. */
static int world_setup(void **state)
{
    struct world *w = test_calloc(1, sizeof(*w));

    w->row = *state;
    *state = w;
    return 0;
}

static void test_switch_probed(void **state)
{
    struct world *w = *state;
    const struct row *r = w->row;

    world_build(w);
    if (r->abi == ABI_FIFO)
        switch_fifo(w);
    else
        switch_3l(w);
    assert_ptr_equal(w->d->evtchn_port_ops,
                     r->abi == ABI_FIFO ? &evtchn_port_ops_fifo : &evtchn_port_ops_3l);
    check_probe_events(w);
    check_carried_over(w);
}

int main(void)
{
    struct CMUnitTest tests[NR_ROWS];

    for (size_t i = 0; i < NR_ROWS; i++)
        tests[i] = (struct CMUnitTest){rows[i].name, test_switch_probed, world_setup, fx_teardown,
                                       (void *)&rows[i]};
    return cmocka_run_group_tests_name("xsa_359", tests, NULL, NULL);
}
