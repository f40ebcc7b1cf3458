/* Stage accounting: the moments the simulator reports, turned into per-stage samples and
 * distributions. Tables of (moments, expected samples). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "sim/stages.h"

static void distribution_percentiles(void **state)
{
    (void)state;
    struct samples s = {0};
    for (uint64_t v = 100; v >= 1; v--) /* 1..100, inserted backwards */
        samples_add(&s, v);
    struct distribution d = samples_distribution(&s);
    assert_int_equal(d.count, 100);
    assert_int_equal(d.mean, 50); /* 5050 / 100, rounded down */
    assert_int_equal(d.p50, 50);
    assert_int_equal(d.p95, 95);
    assert_int_equal(d.p99, 99);
    assert_int_equal(d.max, 100);
    samples_free(&s);
    struct samples one = {0};
    samples_add(&one, 7);
    d = samples_distribution(&one);
    assert_int_equal(d.p50, 7);
    assert_int_equal(d.p99, 7);
    samples_free(&one);
    struct samples none = {0};
    assert_int_equal(samples_distribution(&none).count, 0);
}

struct expect {
    enum stage stage;
    uint64_t cycles; /* the single sample expected */
};

/* One event through every stage: a send from a hypercall to a blocked vcpu. */
static void full_path(void **state)
{
    (void)state;
    struct stage_domain d = {0};
    struct stage_vcpu v = {.handling = -1};
    stages_raise(&d, &v, 5, 0, true, 100, 1328, 1518, 1720, true);
    stages_inject(&d, &v, 8000, 9556);
    stages_cleared(&d, &v, 5, 10800);
    stages_iret(&d, &v, 12686, 14054);
    static const struct expect want[] = {
        {ST_TRAP, 1228},   {ST_DISPATCH, 190}, {ST_SET_PENDING, 202}, {ST_WAKE, 6280},
        {ST_INJECT, 1556}, {ST_SCAN, 1244},    {ST_HANDLER, 1886},    {ST_RETURN, 1368},
    };
    struct stage_port *p = &d.port[5];
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        assert_int_equal(p->stage[want[i].stage].n, 1);
        assert_int_equal(p->stage[want[i].stage].v[0], want[i].cycles);
    }
    assert_int_equal(p->stage[ST_KICK].n, 0);
    assert_int_equal(p->e2e.n, 1);
    assert_int_equal(p->e2e.v[0], 10700);
    assert_int_equal(stage_per_event(p, ST_WAKE), 6280);
    stages_domain_free(&d);
    stages_vcpu_free(&v);
}

/* Two ports in one upcall: the first handler ends where the second port is cleared; only the
 * last one has a return. A running target is kicked, not woken. */
static void two_ports_one_upcall(void **state)
{
    (void)state;
    struct stage_domain d = {0};
    struct stage_vcpu v = {.handling = -1};
    stages_raise(&d, &v, 1, 0, false, 1000, 1000, 1000, 1100, false);
    stages_raise(&d, &v, 2, 0, false, 1200, 1200, 1200, 1300, false);
    stages_inject(&d, &v, 2000, 3000);
    stages_cleared(&d, &v, 1, 3500);
    stages_cleared(&d, &v, 2, 4200);
    stages_iret(&d, &v, 5000, 5500);
    assert_int_equal(d.port[1].stage[ST_KICK].v[0], 900);
    assert_int_equal(d.port[2].stage[ST_KICK].v[0], 700);
    assert_int_equal(d.port[1].stage[ST_HANDLER].v[0], 700);
    assert_int_equal(d.port[2].stage[ST_HANDLER].v[0], 800);
    assert_int_equal(d.port[1].stage[ST_RETURN].n, 0);
    assert_int_equal(d.port[2].stage[ST_RETURN].v[0], 500);
    assert_int_equal(d.port[1].stage[ST_TRAP].n, 0); /* not from a hypercall */
    assert_int_equal(d.port[1].e2e.v[0], 2500);
    stages_domain_free(&d);
    stages_vcpu_free(&v);
}

/* Consumed without an upcall (SCHEDOP_poll): no delivery stages, but an end-to-end sample;
 * a clear of a port with nothing in flight, or beyond every port, is ignored. */
static void polled_and_stray(void **state)
{
    (void)state;
    struct stage_domain d = {0};
    struct stage_vcpu v = {.handling = -1};
    stages_raise(&d, &v, 3, 0, true, 0, 1000, 1100, 1200, true);
    stages_cleared(&d, &v, 3, 5000);
    assert_int_equal(d.port[3].e2e.v[0], 5000);
    assert_int_equal(d.port[3].stage[ST_WAKE].n, 0);
    assert_int_equal(d.port[3].stage[ST_INJECT].n, 0);
    assert_int_equal(v.handling, -1);
    stages_cleared(&d, &v, 3, 6000);      /* nothing in flight */
    stages_cleared(&d, &v, 100000, 6000); /* never raised */
    assert_int_equal(d.port[3].e2e.n, 1);
    stages_iret(&d, &v, 7000, 8000); /* nothing handled */
    assert_int_equal(d.port[3].stage[ST_RETURN].n, 0);
    stages_domain_free(&d);
    stages_vcpu_free(&v);
}

/* A port raised again before it was seen consumed starts over: one sample, the newer one. */
static void raised_again(void **state)
{
    (void)state;
    struct stage_domain d = {0};
    struct stage_vcpu v = {.handling = -1};
    stages_raise(&d, &v, 9, 0, false, 100, 100, 100, 150, true);
    stages_raise(&d, &v, 9, 0, false, 400, 400, 400, 450, true);
    stages_inject(&d, &v, 600, 700);
    stages_cleared(&d, &v, 9, 900);
    assert_int_equal(d.port[9].e2e.n, 1);
    assert_int_equal(d.port[9].e2e.v[0], 500);
    stages_domain_free(&d);
    stages_vcpu_free(&v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(distribution_percentiles),
        cmocka_unit_test(full_path),
        cmocka_unit_test(two_ports_one_upcall),
        cmocka_unit_test(polled_and_stray),
        cmocka_unit_test(raised_again),
    };
    return cmocka_run_group_tests_name("stages", tests, NULL, NULL);
}
