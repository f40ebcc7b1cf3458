/* XSA-496 (https://xenbits.xen.org/xsa/advisory-496.html), under Xen 4.22's rules. Since 4.21,
 * binding VIRQ_DOM_EXC sets up the bitmap of domains whose state changed that
 * XEN_DOMCTL_get_domain_state hands to the handler (domain_init_states), before a port is
 * allocated; closing that port tears it down (domain_deinit_states). Up to 4.21.1,
 * evtchn_bind_virq tore it down on every failed port allocation, whatever the VIRQ: a guest that
 * filled its own table and asked for any VIRQ it may bind freed the handler's bitmap under its
 * feet. 4.21.2 and 4.22.0 tear it down only when the failing bind was VIRQ_DOM_EXC's, which set
 * it up.
 *
 * What an unprivileged domain gets for VIRQ_DOM_EXC in 4.22: it is a global VIRQ, so a vcpu
 * other than 0 is -EINVAL and any domain but its handler (dom0 unless reassigned) -EBUSY, both
 * before the bitmap or a port is looked at. The handler's second bind is -EEXIST, also before.
 *
 * Every refused bind below must change nothing: the binder's port table, active count and
 * valid storage, every vcpu's virq_to_evtchn, the binder's port counters and its other
 * hypercall counters (the refused call counts once, as an error), its guest memory, and the
 * domain-state bitmap (hv->dom_state_changed: live or not, and its bits). The tests after the
 * table check the bitmap's life cycle: bind, close, rebind, reset, destruction, a full table
 * retried. Each ABI-sensitive row runs under 2-level, 3-level and FIFO. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tests/models/fake_xen.h"

enum abi { ABI_2L, ABI_3L, ABI_FIFO };

struct row {
    const char *name;
    domid_t binder;     /* the domain issuing bind_virq (on its vcpu 0) */
    domid_t handler;    /* VIRQ_DOM_EXC's handler */
    bool handler_bound; /* the handler bound VIRQ_DOM_EXC first */
    bool fill;          /* the binder's table is full */
    enum abi abi;       /* the binder's ABI */
    unsigned virq, vcpu;
    long e_rc;
};

#define ROW(...)                                                                                   \
    {                                                                                              \
        __VA_ARGS__                                                                                \
    }
#define ABI3(name, binder, handler, bound, fill, virq, vcpu, rc)                                   \
    ROW(name "_2l", binder, handler, bound, fill, ABI_2L, virq, vcpu, rc),                         \
        ROW(name "_3l", binder, handler, bound, fill, ABI_3L, virq, vcpu, rc),                     \
        ROW(name "_fifo", binder, handler, bound, fill, ABI_FIFO, virq, vcpu, rc)

static const struct row rows[] = {
    /* an unprivileged domain and VIRQ_DOM_EXC: refused before anything is set up */
    {"domU_dom_exc", 1, 0, false, false, ABI_2L, VIRQ_DOM_EXC, 0, -XEN_EBUSY},
    {"domU_dom_exc_vcpu1", 1, 0, false, false, ABI_2L, VIRQ_DOM_EXC, 1, -XEN_EINVAL},
    {"domU_dom_exc_no_such_vcpu", 1, 0, false, false, ABI_2L, VIRQ_DOM_EXC, 7, -XEN_EINVAL},
    {"domU_dom_exc_while_bound", 1, 0, true, false, ABI_2L, VIRQ_DOM_EXC, 0, -XEN_EBUSY},
    ABI3("domU_dom_exc_full_table", 1, 0, true, true, VIRQ_DOM_EXC, 0, -XEN_EBUSY),
    /* XSA-496 itself: a full table and a VIRQ the domU may bind, the handler's bitmap live */
    ABI3("domU_full_table_virq_debug", 1, 0, true, true, VIRQ_DEBUG, 1, -XEN_ENOSPC),
    {"domU_full_table_virq_timer", 1, 0, true, true, ABI_2L, VIRQ_TIMER, 0, -XEN_ENOSPC},
    {"domU_full_table_virq_argo", 1, 0, true, true, ABI_2L, VIRQ_ARGO, 0, -XEN_ENOSPC},
    /* the handler's own failures */
    {"dom0_second_bind", 0, 0, true, false, ABI_2L, VIRQ_DOM_EXC, 0, -XEN_EEXIST},
    ABI3("dom0_second_bind_full_table", 0, 0, true, true, VIRQ_DOM_EXC, 0, -XEN_EEXIST),
    ABI3("dom0_full_table_virq_debug", 0, 0, true, true, VIRQ_DEBUG, 0, -XEN_ENOSPC),
    /* set up by the bind, torn down by its failure: nothing left either */
    ABI3("dom0_full_table_dom_exc", 0, 0, false, true, VIRQ_DOM_EXC, 0, -XEN_ENOSPC),
    /* the handler reassigned to a domU: it binds as dom0 would, dom0 no longer may */
    {"domU_handler_full_table", 1, 1, false, true, ABI_2L, VIRQ_DOM_EXC, 0, -XEN_ENOSPC},
    {"dom0_not_handler", 0, 1, false, false, ABI_2L, VIRQ_DOM_EXC, 0, -XEN_EBUSY},
    {"dom0_not_handler_while_bound", 0, 1, true, false, ABI_2L, VIRQ_DOM_EXC, 0, -XEN_EBUSY},
};

#define NR_ROWS (sizeof(rows) / sizeof(rows[0]))
#define NR_DOMAINS 3u
#define NR_VCPUS 2u

/* ---- the world ---- */

struct world {
    struct fake_xen fx; /* first: the teardown destroys it */
    struct domain *d[NR_DOMAINS];
};

static struct world *world_new(void **state)
{
    struct world *w = calloc(1, sizeof(*w));

    assert_non_null(w);
    *state = w; /* the teardown frees it whatever happens */
    fx_init(&w->fx);
    for (domid_t id = 0; id < NR_DOMAINS; id++) {
        w->d[id] = fx_domain(&w->fx, id, id == 0, NR_VCPUS, 0, 0);
        w->d[id]->vcpu[1]->run_state = VCPU_RUNNABLE;
    }
    return w;
}

static int world_teardown(void **state)
{
    struct world *w = *state;

    fx_destroy(&w->fx);
    free(w);
    return 0;
}

static void switch_abi(struct world *w, struct domain *d, enum abi abi)
{
    if (abi == ABI_3L)
        fx_3l_init(&w->fx, d);
    else if (abi == ABI_FIFO)
        fx_fifo_init(&w->fx, d, 1);
}

static long bind_virq(struct world *w, struct domain *d, unsigned virq, unsigned vcpu,
                      uint32_t *port)
{
    struct evtchn_bind_virq b = {.virq = virq, .vcpu = vcpu};
    long rc = fx_evtchn_op(&w->fx, d->vcpu[0], EVTCHNOP_bind_virq, &b, sizeof(b));

    if (port)
        *port = b.port;
    return rc;
}

static long close_port(struct world *w, struct domain *d, uint32_t port)
{
    struct evtchn_close c = {.port = port};

    return fx_evtchn_op(&w->fx, d->vcpu[0], EVTCHNOP_close, &c, sizeof(c));
}

/* The bitmap as domain_init_states leaves it: a bit for every domain there is. */
static void assert_states_fresh(struct world *w)
{
    assert_true(w->fx.hv.dom_states_live);
    assert_int_equal(w->fx.hv.dom_state_changed[0], (UINT64_C(1) << NR_DOMAINS) - 1);
    for (unsigned i = 1; i < HV_MAX_DOMAINS / 64; i++)
        assert_int_equal(w->fx.hv.dom_state_changed[i], 0);
}

static void assert_no_states(struct world *w)
{
    assert_false(w->fx.hv.dom_states_live);
}

/* The handler's binding works: the VIRQ reaches its port. */
static void assert_dom_exc_delivered(struct world *w, struct domain *handler, uint32_t port)
{
    const struct evtchn *chn = evtchn_from_port(handler, port);

    assert_int_equal(handler->vcpu[0]->virq_to_evtchn[VIRQ_DOM_EXC], port);
    assert_int_equal(chn->state, ECS_VIRQ);
    assert_int_equal(chn->u.virq, VIRQ_DOM_EXC);
    send_guest_global_virq(&w->fx.hv, VIRQ_DOM_EXC);
    assert_true(evtchn_is_pending(handler, chn));
}

/* ---- snapshot of everything a refused bind must leave ---- */

struct snapshot {
    unsigned active, valid, xen;
    struct evtchn *table;
    uint16_t virq[NR_DOMAINS][NR_VCPUS][NR_VIRQS];
    struct port_stats *stats;
    unsigned nr_stats;
    struct hc_counter hc[HC_STATS_NR][HC_STATS_SUB];
    unsigned char *mem;
    const struct evtchn_port_ops *ops;
    bool states_live;
    uint64_t states[HV_MAX_DOMAINS / 64];
};

static void snap(struct world *w, struct domain *d, struct snapshot *s)
{
    s->active = d->active_evtchns;
    s->valid = d->valid_evtchns;
    s->xen = d->xen_evtchns;
    s->table = malloc(s->valid * sizeof(*s->table));
    assert_non_null(s->table);
    for (uint32_t p = 0; p < s->valid; p++)
        s->table[p] = *evtchn_from_port(d, p);
    for (unsigned id = 0; id < NR_DOMAINS; id++)
        for (unsigned i = 0; i < NR_VCPUS; i++)
            memcpy(s->virq[id][i], w->d[id]->vcpu[i]->virq_to_evtchn, sizeof(s->virq[id][i]));
    s->nr_stats = d->stats.nr_port_stats;
    s->stats = malloc(s->nr_stats * sizeof(*s->stats));
    assert_non_null(s->stats);
    memcpy(s->stats, d->stats.port, s->nr_stats * sizeof(*s->stats));
    memcpy(s->hc, d->stats.hc, sizeof(s->hc));
    s->mem = malloc(FX_MEM_SIZE);
    assert_non_null(s->mem);
    memcpy(s->mem, w->fx.mem[d->domid], FX_MEM_SIZE);
    s->ops = d->evtchn_port_ops;
    s->states_live = w->fx.hv.dom_states_live;
    memcpy(s->states, w->fx.hv.dom_state_changed, sizeof(s->states));
}

static void snap_free(struct snapshot *s)
{
    free(s->table);
    free(s->stats);
    free(s->mem);
}

static void assert_unchanged(struct world *w, struct domain *d, const struct snapshot *s)
{
    struct hc_counter *bind = &d->stats.hc[__HYPERVISOR_event_channel_op][EVTCHNOP_bind_virq];
    struct hc_counter hc[HC_STATS_NR][HC_STATS_SUB];
    const unsigned char *mem = w->fx.mem[d->domid];

    assert_int_equal(d->active_evtchns, s->active);
    assert_int_equal(d->valid_evtchns, s->valid);
    assert_int_equal(d->xen_evtchns, s->xen);
    for (uint32_t p = 0; p < s->valid; p++)
        assert_memory_equal(evtchn_from_port(d, p), &s->table[p], sizeof(s->table[p]));
    for (unsigned id = 0; id < NR_DOMAINS; id++)
        for (unsigned i = 0; i < NR_VCPUS; i++)
            assert_memory_equal(w->d[id]->vcpu[i]->virq_to_evtchn, s->virq[id][i],
                                sizeof(s->virq[id][i]));
    assert_int_equal(d->stats.nr_port_stats, s->nr_stats);
    assert_memory_equal(d->stats.port, s->stats, s->nr_stats * sizeof(*s->stats));
    /* the refused call is counted, as one error of bind_virq, and nothing else */
    assert_int_equal(bind->calls,
                     s->hc[__HYPERVISOR_event_channel_op][EVTCHNOP_bind_virq].calls + 1);
    assert_int_equal(bind->errors,
                     s->hc[__HYPERVISOR_event_channel_op][EVTCHNOP_bind_virq].errors + 1);
    memcpy(hc, d->stats.hc, sizeof(hc));
    hc[__HYPERVISOR_event_channel_op][EVTCHNOP_bind_virq] =
        s->hc[__HYPERVISOR_event_channel_op][EVTCHNOP_bind_virq];
    assert_memory_equal(hc, s->hc, sizeof(hc));
    /* the guest's memory, but for the argument page the call used */
    assert_memory_equal(mem, s->mem, FX_ARG_GPA);
    assert_memory_equal(mem + FX_ARG_GPA + XEN_PAGE_SIZE, s->mem + FX_ARG_GPA + XEN_PAGE_SIZE,
                        FX_MEM_SIZE - FX_ARG_GPA - XEN_PAGE_SIZE);
    assert_ptr_equal(d->evtchn_port_ops, s->ops);
    assert_int_equal(w->fx.hv.dom_states_live, s->states_live);
    assert_memory_equal(w->fx.hv.dom_state_changed, s->states, sizeof(s->states));
}

/* ---- the table ---- */

static void test_refused_bind_changes_nothing(void **state)
{
    const struct row *r = *state;
    struct world *w = world_new(state);
    struct domain *binder = w->d[r->binder], *handler = w->d[r->handler];
    struct snapshot s;
    uint32_t handler_port = 0;

    w->fx.hv.global_virq_handler[VIRQ_DOM_EXC] = r->handler;
    switch_abi(w, binder, r->abi);
    /* something pending in the binder's ABI memory, which a refusal must leave alone */
    assert_int_equal(evtchn_send(binder, fx_bind_ipi(&w->fx, binder->vcpu[0], 1)), 0);
    if (r->handler_bound) {
        assert_int_equal(bind_virq(w, handler, VIRQ_DOM_EXC, 0, &handler_port), 0);
        assert_states_fresh(w);
    }
    if (r->fill)
        assert_true(fx_fill_table(&w->fx, binder->vcpu[0]) > 0);
    fx_check_consistency(&w->fx);
    snap(w, binder, &s);
    assert_int_equal(bind_virq(w, binder, r->virq, r->vcpu, NULL), r->e_rc);
    assert_unchanged(w, binder, &s);
    snap_free(&s);
    fx_check_consistency(&w->fx);
    if (r->handler_bound) {
        assert_states_fresh(w);
        assert_dom_exc_delivered(w, handler, handler_port);
    } else {
        assert_no_states(w);
    }
}

/* ---- the bitmap's life cycle ---- */

/* Bound, the bitmap lives; a refused second bind leaves the binding; closed, it goes; bound
 * again, it is set up afresh, on the lowest free port as any bind. */
static void test_bind_close_rebind(void **state)
{
    struct world *w = world_new(state);
    struct domain *d0 = w->d[0];
    uint32_t port, again;

    assert_no_states(w);
    assert_int_equal(bind_virq(w, d0, VIRQ_DOM_EXC, 0, &port), 0);
    assert_states_fresh(w);
    assert_int_equal(bind_virq(w, d0, VIRQ_DOM_EXC, 0, NULL), -XEN_EEXIST);
    assert_int_equal(bind_virq(w, w->d[1], VIRQ_DOM_EXC, 0, NULL), -XEN_EBUSY);
    assert_states_fresh(w);
    assert_dom_exc_delivered(w, d0, port);
    assert_int_equal(close_port(w, d0, port), 0);
    assert_no_states(w);
    assert_int_equal(d0->vcpu[0]->virq_to_evtchn[VIRQ_DOM_EXC], 0);
    assert_int_equal(evtchn_from_port(d0, port)->state, ECS_FREE);
    assert_int_equal(close_port(w, d0, port), -XEN_EINVAL); /* twice: nothing to tear down */
    assert_no_states(w);
    assert_int_equal(bind_virq(w, d0, VIRQ_DOM_EXC, 0, &again), 0);
    assert_int_equal(again, port);
    assert_states_fresh(w);
    assert_dom_exc_delivered(w, d0, again);
    fx_check_consistency(&w->fx);
}

/* bind_vcpu moves the notification, not the binding: closing the port still ends it. */
static void test_moved_binding_closes(void **state)
{
    struct world *w = world_new(state);
    struct domain *d0 = w->d[0];
    struct evtchn_bind_vcpu bv = {.vcpu = 1};
    uint32_t port;

    assert_int_equal(bind_virq(w, d0, VIRQ_DOM_EXC, 0, &port), 0);
    bv.port = port;
    assert_int_equal(fx_evtchn_op(&w->fx, d0->vcpu[0], EVTCHNOP_bind_vcpu, &bv, sizeof(bv)), 0);
    assert_int_equal(bind_virq(w, d0, VIRQ_DOM_EXC, 0, NULL), -XEN_EEXIST);
    assert_states_fresh(w);
    assert_int_equal(close_port(w, d0, port), 0);
    assert_no_states(w);
    assert_int_equal(d0->vcpu[0]->virq_to_evtchn[VIRQ_DOM_EXC], 0);
    fx_check_consistency(&w->fx);
}

/* A reset closes the binding like any port (with the guest's rights), so the bitmap goes;
 * the handler binds again afterwards. */
static void test_reset_ends_binding(void **state)
{
    struct world *w = world_new(state);
    struct domain *d0 = w->d[0];
    uint32_t port;

    fx_fifo_init(&w->fx, d0, 1);
    fx_bind_ipi(&w->fx, d0->vcpu[0], 1);
    assert_int_equal(bind_virq(w, d0, VIRQ_DOM_EXC, 0, &port), 0);
    assert_states_fresh(w);
    assert_int_equal(fx_reset_until_done(&w->fx, d0->vcpu[0], DOMID_SELF), 0);
    assert_no_states(w);
    assert_int_equal(d0->vcpu[0]->virq_to_evtchn[VIRQ_DOM_EXC], 0);
    fx_check_consistency(&w->fx);
    assert_int_equal(bind_virq(w, d0, VIRQ_DOM_EXC, 0, &port), 0);
    assert_int_equal(port, 1);
    assert_states_fresh(w);
    assert_dom_exc_delivered(w, d0, port);
}

/* An unprivileged handler (a xenstore domain, say) binds it as dom0 would; its destruction
 * closes every port and so ends the bitmap too. */
static void test_domU_handler_destroyed(void **state)
{
    struct world *w = world_new(state);
    struct domain *d1 = w->d[1];
    uint32_t port;

    w->fx.hv.global_virq_handler[VIRQ_DOM_EXC] = 1;
    assert_int_equal(bind_virq(w, w->d[0], VIRQ_DOM_EXC, 0, NULL), -XEN_EBUSY);
    assert_no_states(w);
    assert_int_equal(bind_virq(w, d1, VIRQ_DOM_EXC, 0, &port), 0);
    assert_states_fresh(w);
    assert_dom_exc_delivered(w, d1, port);
    domain_destroy(d1);
    w->d[1] = NULL;
    assert_no_states(w);
    w->fx.hv.global_virq_handler[VIRQ_DOM_EXC] = 0;
    assert_int_equal(bind_virq(w, w->d[0], VIRQ_DOM_EXC, 0, &port), 0);
    /* set up afresh: the destroyed domain has no bit any more */
    assert_true(w->fx.hv.dom_states_live);
    assert_int_equal(w->fx.hv.dom_state_changed[0], (UINT64_C(1) << 0) | (UINT64_C(1) << 2));
}

/* A full table refuses the handler (-ENOSPC, nothing left set up); once a port is free the
 * same bind takes it. */
static void test_full_table_then_room(void **state)
{
    struct world *w = world_new(state);
    struct domain *d0 = w->d[0];
    uint32_t port;

    assert_int_equal(fx_fill_table(&w->fx, d0->vcpu[0]), 1023);
    assert_int_equal(bind_virq(w, d0, VIRQ_DOM_EXC, 0, NULL), -XEN_ENOSPC);
    assert_no_states(w);
    assert_int_equal(close_port(w, d0, 700), 0);
    assert_int_equal(bind_virq(w, d0, VIRQ_DOM_EXC, 0, &port), 0);
    assert_int_equal(port, 700);
    assert_states_fresh(w);
    /* full again: a domU's failing bind of a VIRQ of its own leaves dom0's bitmap alone */
    assert_int_equal(fx_fill_table(&w->fx, w->d[1]->vcpu[0]), 1023);
    assert_int_equal(bind_virq(w, w->d[1], VIRQ_DEBUG, 0, NULL), -XEN_ENOSPC);
    assert_states_fresh(w);
    assert_dom_exc_delivered(w, d0, port);
    fx_check_consistency(&w->fx);
}

#define T(fn) cmocka_unit_test_teardown(fn, world_teardown)

int main(void)
{
    struct CMUnitTest tests[NR_ROWS + 5] = {
        [NR_ROWS] = T(test_bind_close_rebind),
        T(test_moved_binding_closes),
        T(test_reset_ends_binding),
        T(test_domU_handler_destroyed),
        T(test_full_table_then_room),
    };

    for (size_t i = 0; i < NR_ROWS; i++)
        tests[i] = (struct CMUnitTest){rows[i].name, test_refused_bind_changes_nothing, NULL,
                                       world_teardown, (void *)&rows[i]};
    return cmocka_run_group_tests_name("xsa_496", tests, NULL, NULL);
}
