/* The FIFO ABI, Xen's side (models/event_fifo.c), driven through the hypercalls a guest makes,
 * with the guest's side written here: a consumer that walks the queues as Linux's
 * drivers/xen/events/events_fifo.c does (xchg READY, take the head, unlink it with a cmpxchg,
 * handle it if PENDING and not MASKED), so every test checks what a guest would receive.
 * The world: d0 (1 vcpu, privileged) and d1 (2 vcpus); tests act as d1 vcpu 0. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "models/event_fifo.h"
#include "tests/models/fake_xen.h"

#define BIT(b) (1u << (b))
#define MAX_DELIVERED 64u

/* The guest's own copy of each queue's head (Linux keeps one per cpu and priority): the
 * control block's HEAD is only read when the copy is 0, because Xen only writes HEAD when
 * it found the queue empty. */
struct guest_fifo {
    uint32_t head[EVTCHN_FIFO_MAX_QUEUES];
};

struct world {
    struct fake_xen fx; /* first: fx_destroy takes the world */
    struct domain *d0, *d;
    struct guest_fifo g[FX_MAX_VCPUS];
};

static struct world *world_new(void **state, unsigned max_evtchn_port)
{
    struct world *w = calloc(1, sizeof(*w)); /* freed by world_teardown */

    assert_non_null(w);
    *state = w;
    fx_init(&w->fx);
    w->d0 = fx_domain(&w->fx, 0, true, 1, 0, 0);
    w->d = fx_domain(&w->fx, 1, false, 2, 0, max_evtchn_port);
    return w;
}

static int world_teardown(void **state)
{
    if (*state) {
        fx_destroy(*state);
        free(*state);
    }
    return 0;
}

/* ---- the guest ---- */

static volatile uint32_t *word_of(struct world *w, uint32_t port)
{
    return fx_fifo_word(&w->fx, w->d, port);
}

static volatile struct evtchn_fifo_control_block *block_of(struct world *w, unsigned vcpu)
{
    return fx_fifo_control(&w->fx, w->d->vcpu[vcpu]);
}

/* Unlink a word (clear LINKED and LINK together) and return the next port of its queue. */
static uint32_t guest_clear_linked(volatile uint32_t *word)
{
    uint32_t old = __atomic_load_n(word, __ATOMIC_SEQ_CST), new_value;

    do
        new_value = old & ~(BIT(EVTCHN_FIFO_LINKED) | EVTCHN_FIFO_LINK_MASK);
    while (!__atomic_compare_exchange_n(word, &old, new_value, false, __ATOMIC_SEQ_CST,
                                        __ATOMIC_SEQ_CST));
    return old & EVTCHN_FIFO_LINK_MASK;
}

struct delivered {
    uint32_t port[MAX_DELIVERED];
    unsigned n;
};

static void guest_consume_one(struct world *w, unsigned vcpu, unsigned q, uint32_t *ready,
                              struct delivered *out)
{
    struct guest_fifo *g = &w->g[vcpu];
    uint32_t port = g->head[q] ? g->head[q] : block_of(w, vcpu)->head[q];
    volatile uint32_t *word;
    uint32_t next, value;

    if (!port) { /* READY without a head: nothing there */
        *ready &= ~BIT(q);
        return;
    }
    word = word_of(w, port);
    next = guest_clear_linked(word);
    if (!next)
        *ready &= ~BIT(q);
    value = __atomic_load_n(word, __ATOMIC_SEQ_CST);
    if ((value & BIT(EVTCHN_FIFO_PENDING)) && !(value & BIT(EVTCHN_FIFO_MASKED))) {
        __atomic_fetch_and(word, ~BIT(EVTCHN_FIFO_PENDING), __ATOMIC_SEQ_CST);
        assert_true(out->n < MAX_DELIVERED);
        out->port[out->n++] = port;
    }
    g->head[q] = next;
}

/* The upcall: everything ready on the vcpu, highest priority (lowest number) first. */
static struct delivered guest_consume(struct world *w, unsigned vcpu)
{
    volatile struct evtchn_fifo_control_block *cb = block_of(w, vcpu);
    struct delivered out = {.n = 0};
    uint32_t ready;

    fx_set_upcall_pending(w->d->vcpu[vcpu], 0);
    ready = __atomic_exchange_n(&cb->ready, 0, __ATOMIC_SEQ_CST);
    while (ready) {
        guest_consume_one(w, vcpu, (unsigned)__builtin_ctz(ready), &ready, &out);
        ready |= __atomic_exchange_n(&cb->ready, 0, __ATOMIC_SEQ_CST);
    }
    return out;
}

static void expect_delivered(const struct delivered *got, const uint32_t *want, unsigned n)
{
    assert_int_equal(got->n, n);
    for (unsigned i = 0; i < n; i++)
        assert_int_equal(got->port[i], want[i]);
}

static void guest_set_mask(struct world *w, uint32_t port, bool on)
{
    if (on)
        __atomic_fetch_or(word_of(w, port), BIT(EVTCHN_FIFO_MASKED), __ATOMIC_SEQ_CST);
    else
        __atomic_fetch_and(word_of(w, port), ~BIT(EVTCHN_FIFO_MASKED), __ATOMIC_SEQ_CST);
}

static bool word_has(struct world *w, uint32_t port, unsigned bit)
{
    return (*word_of(w, port) >> bit) & 1;
}

static uint32_t word_link(struct world *w, uint32_t port)
{
    return *word_of(w, port) & EVTCHN_FIFO_LINK_MASK;
}

/* ---- hypercalls ---- */

static void send(struct world *w, uint32_t port)
{
    struct evtchn_send s = {.port = port};

    assert_int_equal(fx_evtchn_op(&w->fx, w->d->vcpu[0], EVTCHNOP_send, &s, sizeof(s)), 0);
}

static long set_priority(struct world *w, uint32_t port, unsigned priority)
{
    struct evtchn_set_priority p = {.port = port, .priority = priority};

    return fx_evtchn_op(&w->fx, w->d->vcpu[0], EVTCHNOP_set_priority, &p, sizeof(p));
}

static void unmask(struct world *w, uint32_t port)
{
    struct evtchn_unmask u = {.port = port};

    assert_int_equal(fx_evtchn_op(&w->fx, w->d->vcpu[0], EVTCHNOP_unmask, &u, sizeof(u)), 0);
}

static uint32_t bind_ipi(struct world *w, unsigned vcpu)
{
    return fx_bind_ipi(&w->fx, w->d->vcpu[0], vcpu);
}

/* Bind a specific port as an IPI to vcpu 0 (what a bind does once the port is allocated):
 * reaching high port numbers through lowest-first allocation would take 100k hypercalls. */
static void claim_ipi(struct world *w, uint32_t port)
{
    assert_int_equal(evtchn_allocate_port(w->d, port), 0);
    evtchn_claim(w->d, evtchn_from_port(w->d, port), ECS_IPI, 0);
}

static struct evtchn_fifo_queue *xen_queue(struct world *w, unsigned vcpu, unsigned priority)
{
    return &w->d->vcpu[vcpu]->evtchn_fifo->queue[priority];
}

/* ---- init_control and expand_array ---- */

static void test_init_control_sets_up_every_vcpu(void **state)
{
    struct world *w = world_new(state, 0);
    struct domain *d = w->d;

    assert_int_equal(
        fx_fifo_init_control(&w->fx, d->vcpu[0], 0, FX_FIFO_CONTROL_GPA / XEN_PAGE_SIZE, 0), 0);
    assert_ptr_equal(d->evtchn_port_ops, &evtchn_port_ops_fifo);
    assert_non_null(d->evtchn_fifo);
    for (unsigned v = 0; v < d->max_vcpus; v++)
        for (unsigned p = 0; p < EVTCHN_FIFO_MAX_QUEUES; p++) {
            assert_int_equal(xen_queue(w, v, p)->priority, p);
            assert_int_equal(xen_queue(w, v, p)->tail, 0);
        }
    for (unsigned p = 0; p < EVTCHN_FIFO_MAX_QUEUES; p++) {
        assert_ptr_equal(xen_queue(w, 0, p)->head, &block_of(w, 0)->head[p]);
        assert_null(xen_queue(w, 1, p)->head); /* vcpu 1 registers its own block */
    }
    assert_int_equal(d->vcpu[0]->evtchn_fifo->control_gpa, FX_FIFO_CONTROL_GPA);
    assert_int_equal(evtchn_fifo_array_pages(d), 0);
    assert_int_equal(evtchn_fifo_lost_events(d), 0);
    assert_true(evtchn_fifo_model_bytes(d) >=
                sizeof(struct evtchn_fifo_domain) + 2 * sizeof(struct evtchn_fifo_vcpu));
    /* the ABI's limit is 2^17; the toolstack's 1023 still applies */
    assert_int_equal(evtchn_port_ops_fifo.max_ports(d), 131072);
    assert_int_equal(domain_max_evtchns(d), 1024);
    /* vcpu 1 gets its block in a second call; the same page may hold both */
    assert_int_equal(
        fx_fifo_init_control(&w->fx, d->vcpu[0], 1, FX_FIFO_CONTROL_GPA / XEN_PAGE_SIZE, 128), 0);
    assert_ptr_equal(xen_queue(w, 1, 0)->head, &block_of(w, 1)->head[0]);
    assert_int_equal(w->fx.nr_event_pages, 2);
    assert_int_equal(w->fx.event_page[1].kind, HV_PAGE_FIFO_CONTROL);
}

/* A failed first call leaves nothing behind; the retry switches the domain. */
static void test_init_control_failure_then_retry(void **state)
{
    struct world *w = world_new(state, 0);
    struct domain *d = w->d;

    assert_int_equal(fx_fifo_init_control(&w->fx, d->vcpu[0], 0, FX_BAD_GPA / XEN_PAGE_SIZE, 0),
                     -XEN_EINVAL);
    assert_ptr_equal(d->evtchn_port_ops, &evtchn_port_ops_2l);
    assert_null(d->evtchn_fifo);
    assert_null(d->vcpu[0]->evtchn_fifo);
    assert_null(d->vcpu[1]->evtchn_fifo);
    assert_int_equal(evtchn_fifo_model_bytes(d), 0);
    fx_fifo_init(&w->fx, d, 1);
    assert_ptr_equal(d->evtchn_port_ops, &evtchn_port_ops_fifo);
    assert_int_equal(evtchn_fifo_array_pages(d), 1);
}

/* Events pending under 2-level survive the switch: saved on the ports while the array is
 * empty, raised in port order when the page arrives. */
static void test_2l_pending_carried_over(void **state)
{
    struct world *w = world_new(state, 0);
    struct domain *d = w->d;
    uint32_t ports[4];
    static const uint32_t want[] = {1, 3};

    for (unsigned i = 0; i < 4; i++)
        ports[i] = bind_ipi(w, 0);
    assert_int_equal(ports[3], 4);
    fx_set_pending(d, 3, true);
    fx_set_pending(d, 1, true);
    fx_fifo_init(&w->fx, d, 0);
    assert_true(evtchn_from_port(d, 1)->fifo_pending);
    assert_false(evtchn_from_port(d, 2)->fifo_pending);
    assert_true(evtchn_from_port(d, 3)->fifo_pending);
    assert_int_equal(block_of(w, 0)->ready, 0);
    assert_int_equal(fx_fifo_expand(&w->fx, d->vcpu[0], 0), 0);
    assert_false(evtchn_from_port(d, 1)->fifo_pending);
    assert_int_equal(block_of(w, 0)->head[EVTCHN_FIFO_PRIORITY_DEFAULT], 1);
    assert_int_equal(word_link(w, 1), 3);
    assert_int_equal(fx_upcall_pending(d->vcpu[0]), 1);
    struct delivered got = guest_consume(w, 0);
    expect_delivered(&got, want, 2);
}

static void test_expand_array_to_128_pages(void **state)
{
    struct world *w = world_new(state, EVTCHN_FIFO_NR_CHANNELS - 1);
    struct domain *d = w->d;

    fx_fifo_init(&w->fx, d, 0);
    for (unsigned p = 0; p < EVTCHN_FIFO_MAX_ARRAY_PAGES; p++) {
        assert_null(evtchn_fifo_word_from_port(d, p * 1024));
        assert_int_equal(fx_fifo_expand(&w->fx, d->vcpu[0], p), 0);
        assert_int_equal(evtchn_fifo_array_pages(d), p + 1);
        assert_ptr_equal(evtchn_fifo_word_from_port(d, p * 1024 + 1023),
                         word_of(w, p * 1024 + 1023));
    }
    assert_int_equal(fx_fifo_expand(&w->fx, d->vcpu[0], 0), -XEN_ENOSPC);
    assert_int_equal(evtchn_fifo_array_pages(d), 128);
    /* 2 control blocks + 128 pages announced, each array page with its index */
    assert_int_equal(w->fx.nr_event_pages, 130);
    assert_int_equal(w->fx.event_page[129].kind, HV_PAGE_FIFO_ARRAY);
    assert_int_equal(w->fx.event_page[129].index, 127);
    assert_int_equal(w->fx.event_page[129].gpa, FX_FIFO_ARRAY_GPA + 127 * XEN_PAGE_SIZE);
    assert_int_equal(domain_max_evtchns(d), EVTCHN_FIFO_NR_CHANNELS);
}

/* ---- linking ---- */

/* Events of one priority come out in the order they were raised, not in port order. */
static void test_fifo_order_within_priority(void **state)
{
    struct world *w = world_new(state, 0);
    struct domain *d = w->d;
    static const uint32_t order[] = {3, 1, 5, 2, 4};

    fx_fifo_init(&w->fx, d, 1);
    for (unsigned i = 0; i < 5; i++)
        bind_ipi(w, 0);
    for (unsigned i = 0; i < 5; i++)
        send(w, order[i]);
    /* HEAD is the first; each word links to the next; Xen's tail is the last */
    assert_int_equal(block_of(w, 0)->head[EVTCHN_FIFO_PRIORITY_DEFAULT], 3);
    assert_int_equal(word_link(w, 3), 1);
    assert_int_equal(word_link(w, 1), 5);
    assert_int_equal(word_link(w, 5), 2);
    assert_int_equal(word_link(w, 2), 4);
    assert_int_equal(word_link(w, 4), 0);
    assert_int_equal(xen_queue(w, 0, EVTCHN_FIFO_PRIORITY_DEFAULT)->tail, 4);
    for (uint32_t p = 1; p <= 5; p++)
        assert_true(word_has(w, p, EVTCHN_FIFO_LINKED) && word_has(w, p, EVTCHN_FIFO_PENDING));
    assert_int_equal(block_of(w, 0)->ready, BIT(EVTCHN_FIFO_PRIORITY_DEFAULT));
    assert_int_equal(fx_upcall_pending(d->vcpu[0]), 1);
    assert_int_equal(fx_rec(&w->fx, d->vcpu[0])->kicks, 1); /* only the first READY edge */
    struct delivered got = guest_consume(w, 0);
    expect_delivered(&got, order, 5);
    for (uint32_t p = 1; p <= 5; p++)
        assert_int_equal(*word_of(w, p), 0);
}

/* READY has one bit per priority with events; the guest takes the highest (0) first, and
 * FIFO order within each. */
static void test_highest_priority_first(void **state)
{
    struct world *w = world_new(state, 0);
    struct domain *d = w->d;
    static const unsigned prio[] = {7, 3, 12, 3, 0, 12};
    static const uint32_t want[] = {5, 2, 4, 1, 3, 6};

    fx_fifo_init(&w->fx, d, 1);
    for (unsigned i = 0; i < 6; i++) {
        uint32_t port = bind_ipi(w, 0);

        assert_int_equal(set_priority(w, port, prio[i]), 0);
        assert_int_equal(evtchn_from_port(d, port)->priority, prio[i]);
    }
    for (uint32_t port = 1; port <= 6; port++)
        send(w, port);
    assert_int_equal(block_of(w, 0)->ready, BIT(0) | BIT(3) | BIT(7) | BIT(12));
    assert_int_equal(block_of(w, 0)->head[3], 2);
    assert_int_equal(block_of(w, 0)->head[12], 3);
    assert_int_equal(fx_rec(&w->fx, d->vcpu[0])->kicks, 1);
    struct delivered got = guest_consume(w, 0);
    expect_delivered(&got, want, 6);
}

/* An event already pending and linked coalesces; once consumed, the next one starts an empty
 * queue again: HEAD rewritten, READY and the upcall raised again. */
static void test_coalesce_then_relink(void **state)
{
    struct world *w = world_new(state, 0);
    struct domain *d = w->d;
    static const uint32_t one[] = {1};
    struct delivered got;

    fx_fifo_init(&w->fx, d, 1);
    bind_ipi(w, 0);
    send(w, 1);
    send(w, 1);
    assert_int_equal(port_stats(d, 1)->coalesced, 1);
    got = guest_consume(w, 0);
    expect_delivered(&got, one, 1);
    assert_int_equal(block_of(w, 0)->head[EVTCHN_FIFO_PRIORITY_DEFAULT], 1); /* stale: fine */
    send(w, 1);
    assert_int_equal(block_of(w, 0)->ready, BIT(EVTCHN_FIFO_PRIORITY_DEFAULT));
    assert_int_equal(fx_upcall_pending(d->vcpu[0]), 1);
    assert_int_equal(fx_rec(&w->fx, d->vcpu[0])->kicks, 2);
    got = guest_consume(w, 0);
    expect_delivered(&got, one, 1);
    assert_int_equal(port_stats(d, 1)->raised, 3);
}

/* A masked port only becomes PENDING; unmasking (EVTCHNOP_unmask) links it. Unmasking a
 * port with nothing pending links nothing. */
static void test_masked_port_and_unmask_relink(void **state)
{
    struct world *w = world_new(state, 0);
    struct domain *d = w->d;
    static const uint32_t one[] = {1};

    fx_fifo_init(&w->fx, d, 1);
    bind_ipi(w, 0);
    bind_ipi(w, 0);
    guest_set_mask(w, 1, true);
    guest_set_mask(w, 2, true);
    assert_true(evtchn_is_masked(d, evtchn_from_port(d, 1)));
    send(w, 1);
    assert_true(word_has(w, 1, EVTCHN_FIFO_PENDING));
    assert_false(word_has(w, 1, EVTCHN_FIFO_LINKED));
    assert_int_equal(block_of(w, 0)->ready, 0);
    assert_int_equal(fx_upcall_pending(d->vcpu[0]), 0);
    unmask(w, 2);
    assert_false(word_has(w, 2, EVTCHN_FIFO_MASKED));
    assert_false(word_has(w, 2, EVTCHN_FIFO_LINKED));
    assert_int_equal(block_of(w, 0)->ready, 0);
    unmask(w, 1);
    assert_false(word_has(w, 1, EVTCHN_FIFO_MASKED));
    assert_true(word_has(w, 1, EVTCHN_FIFO_LINKED));
    assert_int_equal(block_of(w, 0)->head[EVTCHN_FIFO_PRIORITY_DEFAULT], 1);
    assert_int_equal(block_of(w, 0)->ready, BIT(EVTCHN_FIFO_PRIORITY_DEFAULT));
    assert_int_equal(fx_upcall_pending(d->vcpu[0]), 1);
    struct delivered got = guest_consume(w, 0);
    expect_delivered(&got, one, 1);
}

/* A port masked after it was linked stays on the queue; the guest unlinks it and skips it. */
static void test_masked_while_linked_is_skipped(void **state)
{
    struct world *w = world_new(state, 0);
    static const uint32_t two[] = {2};

    fx_fifo_init(&w->fx, w->d, 1);
    bind_ipi(w, 0);
    bind_ipi(w, 0);
    send(w, 1);
    send(w, 2);
    guest_set_mask(w, 1, true);
    struct delivered got = guest_consume(w, 0);
    expect_delivered(&got, two, 1);
    assert_true(word_has(w, 1, EVTCHN_FIFO_PENDING)); /* still pending, for its unmask */
    assert_false(word_has(w, 1, EVTCHN_FIFO_LINKED));
}

/* Pollers of a port wake on its event, as under 2-level. */
static void test_pollers_woken(void **state)
{
    struct world *w = world_new(state, 0);
    struct vcpu *v1 = w->d->vcpu[1];

    fx_fifo_init(&w->fx, w->d, 1);
    bind_ipi(w, 0);
    v1->run_state = VCPU_BLOCKED;
    v1->polling = true;
    v1->nr_poll_ports = 1;
    v1->poll_ports[0] = 1;
    send(w, 1);
    assert_int_equal(v1->run_state, VCPU_RUNNABLE);
    assert_false(v1->polling);
    assert_int_equal(fx_rec(&w->fx, v1)->wakes, 1);
}

/* ---- BUSY, lost events, queue changes ---- */

/* The test plays a guest on another CPU that toggles MASKED on `target` (a change the ABI
 * allows on a LINKED word) just before each of Xen's locked accesses to it, `remaining`
 * times; it records whether Xen had set BUSY by then. */
struct interferer {
    volatile uint32_t *target;
    unsigned remaining, locked_touches;
    bool saw_busy;
};

static void interfere(struct fake_xen *fx, volatile void *addr, size_t len, enum guest_access k)
{
    struct interferer *in = fx->touch_opaque;

    (void)len;
    if (addr != (volatile void *)in->target || k != GUEST_LOCKED)
        return;
    in->locked_touches++;
    if (*in->target & BIT(EVTCHN_FIFO_BUSY))
        in->saw_busy = true;
    if (in->remaining) {
        in->remaining--;
        *in->target ^= BIT(EVTCHN_FIFO_MASKED);
    }
}

static void interfere_with(struct world *w, struct interferer *in, uint32_t port, unsigned times)
{
    *in = (struct interferer){.target = word_of(w, port), .remaining = times};
    w->fx.touch_opaque = in;
    w->fx.touch_hook = interfere;
}

/* One failed cmpxchg on the tail word: Xen marks it BUSY (so the guest cannot unmask it),
 * retries, and the successful write links the new event and clears BUSY. */
static void test_busy_while_tail_contended(void **state)
{
    struct world *w = world_new(state, 0);
    struct interferer in;
    static const uint32_t both[] = {1, 2};

    fx_fifo_init(&w->fx, w->d, 1);
    bind_ipi(w, 0);
    bind_ipi(w, 0);
    send(w, 1);
    interfere_with(w, &in, 1, 1);
    send(w, 2);
    w->fx.touch_hook = NULL;
    assert_true(in.saw_busy);
    assert_false(word_has(w, 1, EVTCHN_FIFO_BUSY));
    assert_true(word_has(w, 1, EVTCHN_FIFO_MASKED)); /* the guest's change survived */
    assert_int_equal(word_link(w, 1), 2);
    assert_int_equal(evtchn_fifo_stats(w->d)->busy_links, 1);
    assert_int_equal(evtchn_fifo_lost_events(w->d), 0);
    guest_set_mask(w, 1, false);
    struct delivered got = guest_consume(w, 0);
    expect_delivered(&got, both, 2);
}

/* A tail word that changes under every cmpxchg: Xen gives up after its retries, leaves the
 * word unBUSY, and the event is lost (counted): the port is LINKED but nothing links to it. */
static void test_link_gives_up_and_counts_lost_event(void **state)
{
    struct world *w = world_new(state, 0);
    struct interferer in;
    static const uint32_t first[] = {1};

    fx_fifo_init(&w->fx, w->d, 1);
    bind_ipi(w, 0);
    bind_ipi(w, 0);
    send(w, 1);
    interfere_with(w, &in, 1, 1000);
    send(w, 2);
    w->fx.touch_hook = NULL;
    /* 1 cmpxchg, set BUSY, 4 more cmpxchg, clear BUSY */
    assert_int_equal(in.locked_touches, 7);
    assert_false(word_has(w, 1, EVTCHN_FIFO_BUSY));
    assert_int_equal(word_link(w, 1), 0);
    assert_true(word_has(w, 2, EVTCHN_FIFO_LINKED));
    assert_int_equal(evtchn_fifo_lost_events(w->d), 1);
    assert_int_equal(xen_queue(w, 0, EVTCHN_FIFO_PRIORITY_DEFAULT)->tail, 2);
    guest_set_mask(w, 1, false);
    struct delivered got = guest_consume(w, 0);
    expect_delivered(&got, first, 1);
    assert_true(word_has(w, 2, EVTCHN_FIFO_PENDING)); /* never delivered */
}

/* A tail the guest has already unlinked means an empty queue: HEAD, not a link. */
static void test_unlinked_tail_means_empty_queue(void **state)
{
    struct world *w = world_new(state, 0);
    static const uint32_t two[] = {2};

    fx_fifo_init(&w->fx, w->d, 1);
    bind_ipi(w, 0);
    bind_ipi(w, 0);
    send(w, 1);
    guest_consume(w, 0);
    assert_int_equal(xen_queue(w, 0, EVTCHN_FIFO_PRIORITY_DEFAULT)->tail, 1);
    send(w, 2);
    assert_int_equal(word_link(w, 1), 0);
    assert_int_equal(block_of(w, 0)->head[EVTCHN_FIFO_PRIORITY_DEFAULT], 2);
    struct delivered got = guest_consume(w, 0);
    expect_delivered(&got, two, 1);
}

/* A priority change while the port is linked loses nothing: the pending event is delivered
 * from the old queue, the next one goes to the new queue, and the old queue forgets the port
 * as its tail (a later event there starts a new HEAD instead of linking behind a word of
 * another queue). Loss needs a tail word changing under Xen beyond its retries: counted. */
static void test_priority_change_while_linked(void **state)
{
    struct world *w = world_new(state, 0);
    struct interferer in;
    static const uint32_t a[] = {1};
    struct delivered got;

    fx_fifo_init(&w->fx, w->d, 1);
    bind_ipi(w, 0); /* A = 1 */
    bind_ipi(w, 0); /* B = 2 */
    bind_ipi(w, 0); /* C = 3 */
    send(w, 1);
    assert_int_equal(set_priority(w, 1, 2), 0);
    send(w, 1); /* coalesces on the old queue */
    assert_int_equal(block_of(w, 0)->ready, BIT(EVTCHN_FIFO_PRIORITY_DEFAULT));
    got = guest_consume(w, 0);
    expect_delivered(&got, a, 1);
    send(w, 1); /* moves to priority 2 */
    assert_int_equal(block_of(w, 0)->ready, BIT(2));
    assert_int_equal(block_of(w, 0)->head[2], 1);
    assert_int_equal(xen_queue(w, 0, EVTCHN_FIFO_PRIORITY_DEFAULT)->tail, 0);
    assert_int_equal(evtchn_from_port(w->d, 1)->last_priority, 2);
    send(w, 2); /* B on the old queue: a new HEAD, not linked behind A */
    assert_int_equal(word_link(w, 1), 0);
    assert_int_equal(block_of(w, 0)->head[EVTCHN_FIFO_PRIORITY_DEFAULT], 2);
    assert_int_equal(evtchn_fifo_lost_events(w->d), 0);
    /* C joins A's new queue while a guest on another CPU keeps rewriting A's word */
    assert_int_equal(set_priority(w, 3, 2), 0);
    interfere_with(w, &in, 1, 1000);
    send(w, 3);
    w->fx.touch_hook = NULL;
    assert_int_equal(evtchn_fifo_lost_events(w->d), 1);
    guest_set_mask(w, 1, false);
    got = guest_consume(w, 0);
    assert_int_equal(got.n, 2); /* A (priority 2) then B (7); C is lost */
    assert_int_equal(got.port[0], 1);
    assert_int_equal(got.port[1], 2);
}

/* bind_vcpu moves future events: the linked one is delivered on the old vcpu, the next on the
 * new vcpu's queue with its READY and upcall. */
static void test_vcpu_change_while_linked(void **state)
{
    struct world *w = world_new(state, 0);
    struct domain *d = w->d;
    struct evtchn_bind_vcpu bv = {.port = 1, .vcpu = 1};
    uint32_t remote;
    static const uint32_t one[] = {1};
    struct delivered got;

    fx_fifo_init(&w->fx, d, 1);
    remote = fx_alloc_unbound(&w->fx, w->d0->vcpu[0], DOMID_SELF, 1);
    assert_int_equal(fx_bind_interdomain(&w->fx, d->vcpu[0], 0, remote), 1); /* raised once */
    assert_int_equal(fx_evtchn_op(&w->fx, d->vcpu[0], EVTCHNOP_bind_vcpu, &bv, sizeof(bv)), 0);
    assert_int_equal(evtchn_send(w->d0, remote), 0); /* coalesces, on vcpu 0's queue */
    assert_int_equal(block_of(w, 1)->ready, 0);
    got = guest_consume(w, 0);
    expect_delivered(&got, one, 1);
    d->vcpu[1]->run_state = VCPU_RUNNABLE;
    assert_int_equal(evtchn_send(w->d0, remote), 0);
    assert_int_equal(block_of(w, 1)->ready, BIT(EVTCHN_FIFO_PRIORITY_DEFAULT));
    assert_int_equal(block_of(w, 1)->head[EVTCHN_FIFO_PRIORITY_DEFAULT], 1);
    assert_int_equal(block_of(w, 0)->ready, 0);
    assert_int_equal(fx_upcall_pending(d->vcpu[1]), 1);
    assert_int_equal(fx_rec(&w->fx, d->vcpu[1])->kicks, 1);
    assert_int_equal(xen_queue(w, 0, EVTCHN_FIFO_PRIORITY_DEFAULT)->tail, 0);
    got = guest_consume(w, 1);
    expect_delivered(&got, one, 1);
}

/* ---- the port table ---- */

/* A closed port that is still LINKED is busy: allocation passes it by until the guest has
 * unlinked it. Closing clears PENDING, so the guest skips it. */
static void test_linked_port_is_busy(void **state)
{
    struct world *w = world_new(state, 0);
    struct domain *d = w->d;
    struct evtchn_close c = {.port = 1};

    fx_fifo_init(&w->fx, d, 1);
    bind_ipi(w, 0);
    send(w, 1);
    assert_int_equal(fx_evtchn_op(&w->fx, d->vcpu[0], EVTCHNOP_close, &c, sizeof(c)), 0);
    assert_false(word_has(w, 1, EVTCHN_FIFO_PENDING));
    assert_true(word_has(w, 1, EVTCHN_FIFO_LINKED));
    assert_true(evtchn_port_ops_fifo.is_busy(d, evtchn_from_port(d, 1)));
    assert_int_equal(evtchn_allocate_port(d, 1), -XEN_EBUSY);
    assert_int_equal(bind_ipi(w, 0), 2);
    struct delivered got = guest_consume(w, 0);
    assert_int_equal(got.n, 0);
    assert_false(evtchn_port_ops_fifo.is_busy(d, evtchn_from_port(d, 1)));
    assert_int_equal(bind_ipi(w, 0), 1);
    assert_int_equal(evtchn_from_port(d, 1)->priority, EVTCHN_FIFO_PRIORITY_DEFAULT);
}

/* The last port of the ABI, 2^17 - 1, binds and links when the domain's limit allows it; the
 * LINK field holds it. One past is refused, and so is 1024 under the default limit. */
static void test_max_port_bindable(void **state)
{
    struct world *w = world_new(state, EVTCHN_FIFO_NR_CHANNELS - 1);
    struct domain *d = w->d;
    const uint32_t last = EVTCHN_FIFO_NR_CHANNELS - 1;
    static const uint32_t want[] = {1, EVTCHN_FIFO_NR_CHANNELS - 1};

    fx_fifo_init(&w->fx, d, EVTCHN_FIFO_MAX_ARRAY_PAGES);
    assert_int_equal(evtchn_allocate_port(d, last + 1), -XEN_ENOSPC);
    bind_ipi(w, 0);
    claim_ipi(w, last);
    send(w, 1);
    send(w, last);
    assert_int_equal(word_link(w, 1), last);
    assert_true(word_has(w, last, EVTCHN_FIFO_LINKED));
    struct delivered got = guest_consume(w, 0);
    expect_delivered(&got, want, 2);
    assert_int_equal(domain_max_evtchns(w->d0), HV_DEFAULT_MAX_EVTCHN_PORT + 1);
    fx_fifo_init(&w->fx, w->d0, 1);
    assert_int_equal(evtchn_allocate_port(w->d0, HV_DEFAULT_MAX_EVTCHN_PORT + 1), -XEN_ENOSPC);
}

/* A port beyond the array is masked and not pending; its events wait on the port until the
 * page holding its word is added, then arrive. */
static void test_port_beyond_array(void **state)
{
    struct world *w = world_new(state, 4095);
    struct domain *d = w->d;
    static const uint32_t want[] = {1500};
    struct evtchn *chn;

    fx_fifo_init(&w->fx, d, 1);
    claim_ipi(w, 1500);
    chn = evtchn_from_port(d, 1500);
    assert_true(evtchn_is_masked(d, chn));
    assert_false(evtchn_is_pending(d, chn));
    assert_false(evtchn_port_ops_fifo.is_busy(d, chn));
    unmask(w, 1500); /* nothing to unmask, nothing breaks */
    send(w, 1500);
    assert_true(chn->fifo_pending);
    assert_int_equal(evtchn_fifo_stats(d)->deferred, 1);
    assert_int_equal(block_of(w, 0)->ready, 0);
    assert_int_equal(fx_fifo_expand(&w->fx, d->vcpu[0], 1), 0);
    assert_false(chn->fifo_pending);
    assert_true(evtchn_is_pending(d, chn));
    struct delivered got = guest_consume(w, 0);
    expect_delivered(&got, want, 1);
}

/* EVTCHNOP_reset takes the domain back to 2-level with nothing of FIFO left; the guest can
 * use 2-level at once, or switch to FIFO again. */
static void test_reset_back_to_2l(void **state)
{
    struct world *w = world_new(state, 0);
    struct domain *d = w->d;
    struct evtchn_expand_array e = {.array_gfn = FX_FIFO_ARRAY_GPA / XEN_PAGE_SIZE};
    static const uint32_t one[] = {1};

    fx_fifo_init(&w->fx, d, 2);
    for (unsigned i = 0; i < 3; i++)
        bind_ipi(w, 0);
    send(w, 1);
    send(w, 2);
    assert_int_equal(fx_reset_until_done(&w->fx, d->vcpu[0], DOMID_SELF), 0);
    assert_ptr_equal(d->evtchn_port_ops, &evtchn_port_ops_2l);
    assert_null(d->evtchn_fifo);
    assert_null(d->vcpu[0]->evtchn_fifo);
    assert_null(d->vcpu[1]->evtchn_fifo);
    assert_int_equal(w->fx.event_pages_released, 1);
    assert_int_equal(d->active_evtchns, 0);
    assert_int_equal(set_priority(w, 1, 3), -XEN_ENOSYS);
    assert_int_equal(fx_evtchn_op(&w->fx, d->vcpu[0], EVTCHNOP_expand_array, &e, sizeof(e)),
                     -XEN_EOPNOTSUPP);
    /* 2-level works (port 1's word is still LINKED in guest memory, which 2-level ignores) */
    assert_int_equal(bind_ipi(w, 0), 1);
    send(w, 1);
    assert_true(fx_pending(d, 1));
    /* and FIFO again, from an empty array */
    memset(w->g, 0, sizeof(w->g));
    memset(fx_gpa(&w->fx, d, FX_FIFO_ARRAY_GPA), 0, 2 * XEN_PAGE_SIZE);
    memset(fx_gpa(&w->fx, d, FX_FIFO_CONTROL_GPA), 0, XEN_PAGE_SIZE);
    fx_fifo_init(&w->fx, d, 1);
    assert_int_equal(evtchn_fifo_array_pages(d), 1);
    struct delivered got = guest_consume(w, 0); /* the 2-level pending bit carried over */
    expect_delivered(&got, one, 1);
}

/* Raising costs the caller one port operation plus what FIFO's set_pending does to shared
 * memory. The first event into an empty queue: test_and_set PENDING, read MASKED, test_and_set
 * LINKED, write the queue's HEAD, test_and_set READY, test_and_set upcall_pending (four locked,
 * a read, a write). The next event on the still-linked port: PENDING, MASKED and LINKED again
 * (two locked, a read), and no link. */
static void test_set_pending_is_charged(void **state)
{
    struct world *w = world_new(state, 0);
    struct vcpu *v = w->d->vcpu[0];
    const struct cost_profile *c = &w->fx.profile;
    static const unsigned want[2][3] = {{1, 1, 4}, {1, 0, 2}}; /* reads, writes, locked */

    fx_fifo_init(&w->fx, w->d, 1);
    bind_ipi(w, 0);
    w->fx.hv.current = v;
    for (unsigned i = 0; i < 2; i++) {
        v->hcall_cycles = 0;
        memset(w->fx.touches, 0, sizeof(w->fx.touches));
        evtchn_port_set_pending(w->d, 0, evtchn_from_port(w->d, 1));
        assert_int_equal(w->fx.touches[GUEST_READ], want[i][0]);
        assert_int_equal(w->fx.touches[GUEST_WRITE], want[i][1]);
        assert_int_equal(w->fx.touches[GUEST_LOCKED], want[i][2]);
        assert_int_equal(v->hcall_cycles, cost_cycles(c, COST_PORT_OP) + fx_touch_cycles(&w->fx));
    }
    w->fx.hv.current = NULL;
}

/* The ABI's own commands and its other port operations are priced the same way: trap,
 * dispatch and handler, the operations' fixed cost, and each access to shared memory. */
static void test_commands_and_unmask_are_priced(void **state)
{
    struct world *w = world_new(state, 0);
    struct vcpu *v = w->d->vcpu[0];
    const struct cost_profile *c = &w->fx.profile;
    uint64_t entry = cost_cycles(c, COST_PV_TRAP) + cost_cycles(c, COST_HYPERCALL_DISPATCH) +
                     cost_cycles(c, COST_EVTCHN_OP);

    /* init_control: builds the vcpu's queues, carries the 2-level state over (reads of the
     * 2-level bitmaps); expand_array: masks the new page's words, replays saved events. */
    memset(w->fx.touches, 0, sizeof(w->fx.touches));
    assert_int_equal(fx_fifo_init_control(&w->fx, v, 0, FX_FIFO_CONTROL_GPA / XEN_PAGE_SIZE, 0), 0);
    assert_int_equal(v->hcall_cycles, entry + fx_touch_cycles(&w->fx));
    memset(w->fx.touches, 0, sizeof(w->fx.touches));
    assert_int_equal(fx_fifo_expand(&w->fx, v, 0), 0);
    assert_int_equal(v->hcall_cycles, entry + fx_touch_cycles(&w->fx));
    /* unmask of a masked, pending port: clear MASKED, find PENDING, link it, raise READY. */
    bind_ipi(w, 0);
    volatile uint32_t *word = fx_fifo_word(&w->fx, w->d, 1);
    *word |= (1u << EVTCHN_FIFO_MASKED) | (1u << EVTCHN_FIFO_PENDING);
    w->fx.hv.current = v;
    v->hcall_cycles = 0;
    memset(w->fx.touches, 0, sizeof(w->fx.touches));
    evtchn_port_unmask(w->d, evtchn_from_port(w->d, 1));
    assert_true(w->fx.touches[GUEST_LOCKED] >= 2);
    /* one port operation: FIFO's unmask links the event it found itself */
    assert_int_equal(v->hcall_cycles, cost_cycles(c, COST_PORT_OP) + fx_touch_cycles(&w->fx));
    w->fx.hv.current = NULL;
}

#define T(fn) cmocka_unit_test_teardown(fn, world_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_init_control_sets_up_every_vcpu),
        T(test_init_control_failure_then_retry),
        T(test_2l_pending_carried_over),
        T(test_expand_array_to_128_pages),
        T(test_fifo_order_within_priority),
        T(test_highest_priority_first),
        T(test_coalesce_then_relink),
        T(test_masked_port_and_unmask_relink),
        T(test_masked_while_linked_is_skipped),
        T(test_pollers_woken),
        T(test_busy_while_tail_contended),
        T(test_link_gives_up_and_counts_lost_event),
        T(test_unlinked_tail_means_empty_queue),
        T(test_priority_change_while_linked),
        T(test_vcpu_change_while_linked),
        T(test_linked_port_is_busy),
        T(test_max_port_bindable),
        T(test_port_beyond_array),
        T(test_reset_back_to_2l),
        T(test_set_pending_is_charged),
        T(test_commands_and_unmask_are_priced),
    };

    return cmocka_run_group_tests_name("event_fifo", tests, NULL, NULL);
}
