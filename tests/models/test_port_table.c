/* The port table: lowest free port first, buckets allocated on demand and published only once
 * complete (XSA-340), limits from the ABI by guest word size (XSA-342) and from
 * max_evtchn_port, full tables refused without side effects (XSA-496). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tests/models/fake_xen.h"

struct limit_row {
    const char *name;
    unsigned word_bits, max_evtchn_port;
    unsigned expect_max; /* domain_max_evtchns */
};

static const struct limit_row limit_rows[] = {
    {"64bit_default_1023", 64, 0, 1024},       {"64bit_abi_4096", 64, 4095, 4096},
    {"64bit_capped_by_abi", 64, 100000, 4096}, {"32bit_abi_1024_xsa342", 32, 4095, 1024},
    {"32bit_small_limit", 32, 50, 51},         {"64bit_small_limit", 64, 100, 101},
};

/* Every port below the limit binds (port 0 is reserved), the next one is -ENOSPC, and the
 * table holds exactly the buckets that cover the limit. */
static void test_limits(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(limit_rows) / sizeof(limit_rows[0]); i++) {
        const struct limit_row *r = &limit_rows[i];
        struct fake_xen fx;
        struct domain *d;
        struct evtchn_bind_ipi b = {0};

        print_message("limit row %s\n", r->name);
        fx_init(&fx);
        d = fx_domain(&fx, 1, false, 1, r->word_bits, r->max_evtchn_port);
        assert_int_equal(domain_max_evtchns(d), r->expect_max);
        assert_int_equal(fx_fill_table(&fx, d->vcpu[0]), r->expect_max - 1);
        assert_int_equal(fx_evtchn_op(&fx, d->vcpu[0], EVTCHNOP_bind_ipi, &b, sizeof(b)),
                         -XEN_ENOSPC);
        assert_int_equal(d->valid_evtchns, (r->expect_max + 63) / 64 * 64);
        assert_int_equal(evtchn_from_port(d, r->expect_max - 1)->state, ECS_IPI);
        assert_int_equal(d->stats.nr_port_stats, d->valid_evtchns);
        fx_destroy(&fx);
    }
}

static void test_lowest_free_port_first(void **state)
{
    struct fake_xen fx;
    struct domain *d;
    struct evtchn_close c = {.port = 2};

    (void)state;
    fx_init(&fx);
    d = fx_domain(&fx, 1, false, 1, 0, 0);
    assert_int_equal(fx_bind_ipi(&fx, d->vcpu[0], 0), 1);
    assert_int_equal(fx_bind_ipi(&fx, d->vcpu[0], 0), 2);
    assert_int_equal(fx_bind_ipi(&fx, d->vcpu[0], 0), 3);
    assert_int_equal(fx_evtchn_op(&fx, d->vcpu[0], EVTCHNOP_close, &c, sizeof(c)), 0);
    assert_int_equal(fx_bind_ipi(&fx, d->vcpu[0], 0), 2);
    assert_int_equal(fx_bind_ipi(&fx, d->vcpu[0], 0), 4);
    fx_destroy(&fx);
}

/* Buckets appear one at a time, only when a port in them is needed; every valid port has
 * storage behind it at every step (XSA-340). */
static void test_buckets_grow_on_demand(void **state)
{
    struct fake_xen fx;
    struct domain *d;

    (void)state;
    fx_init(&fx);
    d = fx_domain(&fx, 1, false, 1, 0, 4095);
    assert_int_equal(d->valid_evtchns, 64);
    assert_null(d->evtchn_group[0]);
    for (unsigned port = 1; port < 4096; port++) {
        assert_int_equal(fx_bind_ipi(&fx, d->vcpu[0], 0), port);
        assert_int_equal(d->valid_evtchns, (port / 64 + 1) * 64);
        for (unsigned p = port; p < d->valid_evtchns; p += 63)
            assert_int_equal(evtchn_from_port(d, p)->port, p);
    }
    assert_non_null(d->evtchn_group[0]);
    assert_null(d->evtchn_group[1]);
    assert_null(evtchn_from_port(d, 4096));
    fx_destroy(&fx);
}

/* A port the ABI still has linked may not be reused: allocation skips it. */
static bool busy_port_1(const struct domain *d, const struct evtchn *chn)
{
    (void)d;
    return chn->port == 1;
}

static void test_busy_port_skipped(void **state)
{
    struct fake_xen fx;
    struct domain *d;
    struct evtchn_port_ops busy_ops = evtchn_port_ops_2l;

    (void)state;
    busy_ops.is_busy = busy_port_1;
    fx_init(&fx);
    d = fx_domain(&fx, 1, false, 1, 0, 0);
    d->evtchn_port_ops = &busy_ops;
    assert_int_equal(evtchn_allocate_port(d, 1), -XEN_EBUSY);
    assert_int_equal(evtchn_get_free_port(d), 2);
    d->evtchn_port_ops = &evtchn_port_ops_2l;
    fx_destroy(&fx);
}

static void test_allocate_specific_port(void **state)
{
    struct fake_xen fx;
    struct domain *d;

    (void)state;
    fx_init(&fx);
    d = fx_domain(&fx, 1, false, 1, 0, 0);
    assert_int_equal(evtchn_allocate_port(d, 1024), -XEN_ENOSPC);
    assert_int_equal(evtchn_allocate_port(d, 0), -XEN_EBUSY);
    assert_int_equal(evtchn_allocate_port(d, 300), 0);
    assert_int_equal(d->valid_evtchns, 320);
    assert_int_equal(evtchn_from_port(d, 300)->state, ECS_FREE);
    assert_int_equal(d->active_evtchns, 0);
    fx_destroy(&fx);
}

/* XSA-496: every bind_* on a full table answers -ENOSPC and leaves everything as it was. */
struct full_row {
    const char *name;
    unsigned cmd;
    union {
        struct evtchn_bind_virq virq;
        struct evtchn_bind_ipi ipi;
        struct evtchn_bind_pirq pirq;
        struct evtchn_alloc_unbound unbound;
        struct evtchn_bind_interdomain inter;
    } arg;
};

static const struct full_row full_rows[] = {
    {"bind_virq", EVTCHNOP_bind_virq, {.virq = {.virq = VIRQ_TIMER}}},
    {"bind_virq_global", EVTCHNOP_bind_virq, {.virq = {.virq = VIRQ_DOM_EXC}}},
    {"bind_ipi", EVTCHNOP_bind_ipi, {.ipi = {.vcpu = 0}}},
    {"bind_pirq", EVTCHNOP_bind_pirq, {.pirq = {.pirq = 3}}},
    {"alloc_unbound", EVTCHNOP_alloc_unbound, {.unbound = {.dom = DOMID_SELF}}},
    {"bind_interdomain", EVTCHNOP_bind_interdomain, {.inter = {.remote_dom = 1, .remote_port = 1}}},
};

static void snapshot(struct domain *d, unsigned char *buf)
{
    for (uint32_t p = 0; p < d->valid_evtchns; p++)
        memcpy(buf + p * sizeof(struct evtchn), evtchn_from_port(d, p), sizeof(struct evtchn));
}

static void test_full_table_changes_nothing(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(full_rows) / sizeof(full_rows[0]); i++) {
        struct fake_xen fx;
        struct domain *peer, *d;
        unsigned char *before, *after;
        struct full_row r = full_rows[i];
        unsigned valid, active;

        print_message("full table: %s\n", r.name);
        fx_init(&fx);
        d = fx_domain(&fx, 0, true, 1, 0, 200); /* handler of global VIRQs */
        peer = fx_domain(&fx, 1, false, 1, 0, 0);
        fx_alloc_unbound(&fx, peer->vcpu[0], DOMID_SELF, 0);
        fx_fill_table(&fx, d->vcpu[0]);
        valid = d->valid_evtchns;
        active = d->active_evtchns;
        before = malloc(valid * sizeof(struct evtchn));
        after = malloc(valid * sizeof(struct evtchn));
        snapshot(d, before);
        assert_int_equal(fx_evtchn_op(&fx, d->vcpu[0], r.cmd, &r.arg, sizeof(r.arg)), -XEN_ENOSPC);
        assert_int_equal(d->valid_evtchns, valid);
        assert_int_equal(d->active_evtchns, active);
        snapshot(d, after);
        assert_memory_equal(before, after, valid * sizeof(struct evtchn));
        assert_int_equal(d->vcpu[0]->virq_to_evtchn[VIRQ_TIMER], 0);
        assert_int_equal(d->vcpu[0]->virq_to_evtchn[VIRQ_DOM_EXC], 0);
        assert_int_equal(d->pirq_to_evtchn[3], 0);
        assert_int_equal(evtchn_from_port(peer, 1)->state, ECS_UNBOUND);
        free(before);
        free(after);
        fx_destroy(&fx);
    }
}

/* Port counters belong to the port number and outlive close and re-bind. */
static void test_port_stats_survive_close(void **state)
{
    struct fake_xen fx;
    struct domain *d;
    struct evtchn_send s = {.port = 1};
    struct evtchn_close c = {.port = 1};

    (void)state;
    fx_init(&fx);
    d = fx_domain(&fx, 1, false, 1, 0, 0);
    fx_bind_ipi(&fx, d->vcpu[0], 0);
    assert_int_equal(fx_evtchn_op(&fx, d->vcpu[0], EVTCHNOP_send, &s, sizeof(s)), 0);
    assert_int_equal(fx_evtchn_op(&fx, d->vcpu[0], EVTCHNOP_close, &c, sizeof(c)), 0);
    assert_int_equal(port_stats(d, 1)->sends, 1);
    assert_int_equal(port_stats(d, 1)->raised, 1);
    fx_bind_ipi(&fx, d->vcpu[0], 0);
    assert_int_equal(fx_evtchn_op(&fx, d->vcpu[0], EVTCHNOP_send, &s, sizeof(s)), 0);
    assert_int_equal(port_stats(d, 1)->sends, 2);
    fx_destroy(&fx);
}

struct create_row {
    const char *name;
    struct domain_config cfg;
    int expect;
};

static const struct create_row create_rows[] = {
    {"ok", {.domid = 2, .max_vcpus = 3}, 0},
    {"duplicate_domid", {.domid = 1, .max_vcpus = 1}, -XEN_EEXIST},
    {"no_vcpus", {.domid = 3, .max_vcpus = 0}, -XEN_EINVAL},
    {"too_many_vcpus", {.domid = 3, .max_vcpus = HV_MAX_VCPUS + 1}, -XEN_EINVAL},
    {"bad_word_bits", {.domid = 3, .max_vcpus = 1, .guest_word_bits = 16}, -XEN_EINVAL},
    {"domid_out_of_range", {.domid = HV_MAX_DOMAINS, .max_vcpus = 1}, -XEN_EINVAL},
};

static void test_domain_create(void **state)
{
    struct fake_xen fx;
    struct domain *d1;

    (void)state;
    fx_init(&fx);
    d1 = fx_domain(&fx, 1, false, 2, 0, 0);
    for (size_t i = 0; i < sizeof(create_rows) / sizeof(create_rows[0]); i++) {
        print_message("domain_create %s\n", create_rows[i].name);
        assert_int_equal(domain_create(&fx.hv, &create_rows[i].cfg, NULL), create_rows[i].expect);
    }
    assert_int_equal(fx.hv.nr_domains, 2);
    assert_ptr_equal(domain_lookup(&fx.hv, d1, DOMID_SELF), d1);
    assert_ptr_equal(domain_lookup(&fx.hv, NULL, 1), d1);
    assert_null(domain_lookup(&fx.hv, d1, 7));
    assert_null(domain_vcpu(d1, 2));
    assert_true(d1->vcpu[0]->initialised);
    assert_int_equal(d1->vcpu[0]->run_state, VCPU_RUNNABLE);
    assert_false(d1->vcpu[1]->initialised);
    assert_int_equal(d1->vcpu[1]->run_state, VCPU_DOWN);
    assert_int_equal(evtchn_from_port(d1, 0)->state, ECS_RESERVED);
    assert_ptr_equal(d1->evtchn_port_ops, &evtchn_port_ops_2l);
    assert_int_equal(d1->guest_word_bits, 64);
    assert_int_equal(d1->shutdown_reason, -1);
    fx_destroy(&fx);
}

/* The builder masks every vcpu's upcalls until the guest is ready for them. */
static void test_init_shared_info(void **state)
{
    struct fake_xen fx;
    struct domain *d;

    (void)state;
    fx_init(&fx);
    d = fx_domain(&fx, 1, false, 2, 0, 0);
    fx_set_pending(d, 5, true);
    assert_int_equal(domain_init_shared_info(d), 0);
    assert_false(fx_pending(d, 5));
    assert_int_equal(fx_upcall_mask(d->vcpu[0]), 1);
    assert_int_equal(fx_upcall_mask(d->vcpu[1]), 1);
    d->shared_info_gpa = FX_BAD_GPA;
    d->shared_info = NULL; /* forget the cached mapping, as a domain built that way would */
    assert_int_equal(domain_init_shared_info(d), -XEN_EFAULT);
    fx_destroy(&fx);
}

/* Destroying one end of a channel leaves the other end unbound, reserved for the dead id. */
static void test_destroy_unbinds_peer(void **state)
{
    struct fake_xen fx;
    struct domain *d0, *d1;

    (void)state;
    fx_init(&fx);
    d0 = fx_domain(&fx, 0, true, 1, 0, 0);
    d1 = fx_domain(&fx, 1, false, 1, 0, 0);
    fx_alloc_unbound(&fx, d0->vcpu[0], DOMID_SELF, 1);
    fx_bind_interdomain(&fx, d1->vcpu[0], 0, 1);
    domain_destroy(d1);
    assert_null(fx.hv.domain[1]);
    assert_int_equal(evtchn_from_port(d0, 1)->state, ECS_UNBOUND);
    assert_int_equal(evtchn_from_port(d0, 1)->u.unbound.remote_domid, 1);
    fx_destroy(&fx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_lowest_free_port_first),
        cmocka_unit_test(test_buckets_grow_on_demand),
        cmocka_unit_test(test_busy_port_skipped),
        cmocka_unit_test(test_allocate_specific_port),
        cmocka_unit_test(test_full_table_changes_nothing),
        cmocka_unit_test(test_port_stats_survive_close),
        cmocka_unit_test(test_domain_create),
        cmocka_unit_test(test_init_shared_info),
        cmocka_unit_test(test_destroy_unbinds_peer),
    };
    return cmocka_run_group_tests_name("port_table", tests, NULL, NULL);
}
