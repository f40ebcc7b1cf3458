/* The ioreq round trip's bookkeeping (sim/ioreq_rt.c): requests counted per server, type,
 * direction and range; moments turned into stages; and the slot's state byte where the
 * simulator looks for it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "sim/ioreq_rt.h"

/* sim/hvm_exits.c watches byte 30 of a slot for the emulator's state changes. */
static void state_is_byte_30(void **state)
{
    (void)state;
    ioreq_t p;
    memset(&p, 0, sizeof(p));
    p.state = 0xf;
    const uint8_t *b = (const uint8_t *)&p;
    assert_int_equal(sizeof(p), 32);
    for (unsigned i = 0; i < sizeof(p); i++)
        assert_int_equal(b[i], i == 30 ? 0x0f : 0);
}

static struct ioreq_server server_with_ranges(void)
{
    struct ioreq_server s;
    memset(&s, 0, sizeof(s));
    s.id = 3;
    s.emulator = 0;
    ioreq_rangeset_add(&s.range[XEN_DMOP_IO_RANGE_PORT], 0x3f8, 0x3ff);
    ioreq_rangeset_add(&s.range[XEN_DMOP_IO_RANGE_PORT], 0xc000, 0xc01f);
    ioreq_rangeset_add(&s.range[XEN_DMOP_IO_RANGE_PCI], 0x18, 0x18);
    return s;
}

static void counts_by_range(void **state)
{
    (void)state;
    struct rt_domain rd;
    memset(&rd, 0, sizeof(rd));
    struct ioreq_server s = server_with_ranges();
    static const struct {
        uint32_t type;
        uint64_t addr;
        uint8_t dir;
    } sent[] = {
        {XEN_DMOP_IO_RANGE_PORT, 0x3fd, IOREQ_READ},
        {XEN_DMOP_IO_RANGE_PORT, 0x3f8, IOREQ_WRITE},
        {XEN_DMOP_IO_RANGE_PORT, 0xc004, IOREQ_READ},
        {XEN_DMOP_IO_RANGE_PCI, 0x18ull << 32 | 0x10, IOREQ_WRITE},
        {XEN_DMOP_IO_RANGE_PORT, 0x3fd, IOREQ_READ},
    };
    for (size_t i = 0; i < sizeof(sent) / sizeof(sent[0]); i++)
        rt_count(&rd, &s, sent[i].type, sent[i].addr, sent[i].dir, false);
    const struct rt_server *rs = &rd.server[3];
    assert_true(rs->used);
    assert_int_equal(rs->synchronous, 5);
    assert_int_equal(rs->n[XEN_DMOP_IO_RANGE_PORT][IOREQ_READ], 3);
    assert_int_equal(rs->n[XEN_DMOP_IO_RANGE_PORT][IOREQ_WRITE], 1);
    assert_int_equal(rs->n[XEN_DMOP_IO_RANGE_PCI][IOREQ_WRITE], 1);
    assert_int_equal(rs->nr_range, 3);
    assert_int_equal(rs->range[0].start, 0x3f8);
    assert_int_equal(rs->range[0].requests, 3);
    assert_int_equal(rs->range[1].start, 0xc000);
    assert_int_equal(rs->range[2].type, XEN_DMOP_IO_RANGE_PCI);
    assert_int_equal(rs->range[2].requests, 1);
    rt_domain_free(&rd);
}

/* Moments in, stages out: an unseen moment is where the next one is, times never go back. */
static void stages_from_moments(void **state)
{
    (void)state;
    static const struct {
        int64_t t[RT_STAGES]; /* -1: not seen */
        uint64_t end;
        uint64_t stage[RT_STAGES];
    } cases[] = {
        {{100, 110, 130, 140, 200, 210, 300, 400, 410}, 420, {10, 20, 10, 60, 10, 90, 100, 10, 10}},
        /* the emulator's moments not seen: its whole time is emulator_wake */
        {{100, 110, 130, 140, -1, -1, 300, 400, 410}, 420, {10, 20, 10, 160, 0, 0, 100, 10, 10}},
        /* a moment from another CPU's clock a little behind: that stage is zero, the earlier
         * ones keep their times */
        {{100, 110, 130, 140, 135, 210, 300, 400, 410}, 420, {10, 20, 10, 0, 70, 90, 100, 10, 10}},
    };
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        struct rt_domain rd;
        memset(&rd, 0, sizeof(rd));
        struct rt_flight f = {.active = true, .server = 1};
        for (unsigned k = 0; k < RT_STAGES; k++)
            if (cases[c].t[k] >= 0)
                rt_mark(&f, (enum rt_stage)k, (uint64_t)cases[c].t[k]);
        rt_mark(&f, RT_EXIT, 5); /* a second sight of a moment changes nothing */
        rt_finish(&rd, &f, cases[c].end);
        assert_false(f.active);
        const struct rt_server *rs = &rd.server[1];
        assert_int_equal(rs->round_trip.n, 1);
        assert_int_equal(rs->round_trip.v[0], cases[c].end - (uint64_t)cases[c].t[0]);
        for (unsigned k = 0; k < RT_STAGES; k++)
            assert_int_equal(rs->stage[k].v[0], cases[c].stage[k]);
        rt_domain_free(&rd);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(state_is_byte_30),
        cmocka_unit_test(counts_by_range),
        cmocka_unit_test(stages_from_moments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
