/* models/hvm_io.c: Xen's handling of an HVM domain's intercepted port and MMIO accesses before
 * any ioreq server: the CF8 latch (hvm_access_cf8, which latches 4-byte writes and still lets
 * them through), the routing of 0xCFC-0xCFF to PCI config (arch_ioreq_server_get_type_addr,
 * hvm_pci_decode_addr) and the null handler (reads all ones of their size, writes dropped).
 *
 * Each case is a sequence of accesses on a fresh HVM domain (d1, one vcpu): the value each read
 * returns, the route Xen would select a server by, and the counters afterwards. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "models/hvm_io.h"
#include "models/ioreq.h"
#include "tests/models/fake_xen.h"

struct world {
    struct fake_xen fx; /* first: fx_teardown */
    struct domain *d;
};

static int world_setup(void **state)
{
    struct world *w = test_calloc(1, sizeof(*w));
    fx_init(&w->fx);
    w->d = fx_domain(&w->fx, 1, false, 1, 0, 0);
    w->d->hvm = true;
    *state = w;
    return 0;
}

struct access {
    uint8_t type; /* IOREQ_TYPE_PIO or IOREQ_TYPE_COPY */
    uint8_t dir;  /* IOREQ_READ or IOREQ_WRITE */
    uint64_t addr;
    uint32_t size;
    uint64_t data;       /* written */
    uint64_t expect;     /* read back (reads only) */
    uint32_t route_type; /* XEN_DMOP_IO_RANGE_* */
    uint64_t route_addr;
};

#define PIO_W(port, sz, v)                                                                         \
    {                                                                                              \
        IOREQ_TYPE_PIO, IOREQ_WRITE, port, sz, v, 0, XEN_DMOP_IO_RANGE_PORT, port                  \
    }
#define PIO_R(port, sz, e)                                                                         \
    {                                                                                              \
        IOREQ_TYPE_PIO, IOREQ_READ, port, sz, 0, e, XEN_DMOP_IO_RANGE_PORT, port                   \
    }
#define PCI_R(port, sz, e, a)                                                                      \
    {                                                                                              \
        IOREQ_TYPE_PIO, IOREQ_READ, port, sz, 0, e, XEN_DMOP_IO_RANGE_PCI, a                       \
    }
#define PCI_W(port, sz, v, a)                                                                      \
    {                                                                                              \
        IOREQ_TYPE_PIO, IOREQ_WRITE, port, sz, v, 0, XEN_DMOP_IO_RANGE_PCI, a                      \
    }
#define MEM_R(gpa, sz, e)                                                                          \
    {                                                                                              \
        IOREQ_TYPE_COPY, IOREQ_READ, gpa, sz, 0, e, XEN_DMOP_IO_RANGE_MEMORY, gpa                  \
    }
#define MEM_W(gpa, sz, v)                                                                          \
    {                                                                                              \
        IOREQ_TYPE_COPY, IOREQ_WRITE, gpa, sz, v, 0, XEN_DMOP_IO_RANGE_MEMORY, gpa                 \
    }

/* bus 0 device 3 function 1 (BDF 0x19), register 0x08, enable bit set */
#define CF8_ON 0x80001908u
#define SBDF_19 (0x19ull << 32)

struct hvm_io_case {
    const char *name;
    struct access acc[8];
    unsigned n;
    uint32_t cf8_after;
    /* expected counters [kind][dir] of unclaimed accesses (nothing is internal or forwarded) */
    uint64_t unclaimed[HVM_IO_KINDS][2];
};

static const struct hvm_io_case cases[] = {
    {"null handler: port reads are all ones of their size, writes dropped",
     {PIO_R(0x71, 1, 0xff), PIO_R(0x72, 2, 0xffff), PIO_R(0x510, 4, 0xffffffff),
      PIO_W(0x80, 1, 0x12), PIO_W(0x510, 4, 0x12345678)},
     5,
     0,
     {[HVM_IO_PIO] = {[IOREQ_WRITE] = 2, [IOREQ_READ] = 3}}},
    {"null handler: MMIO reads of 1 to 8 bytes",
     {MEM_R(0xf0000000, 1, 0xff), MEM_R(0xf0000010, 2, 0xffff), MEM_R(0xf0000020, 4, 0xffffffff),
      MEM_R(0xf0000030, 8, ~0ull), MEM_W(0xf0000040, 8, 42)},
     5,
     0,
     {[HVM_IO_MMIO] = {[IOREQ_WRITE] = 1, [IOREQ_READ] = 4}}},
    {"CF8 latch: a 4-byte write with the enable bit routes 0xCFC-0xCFF to PCI config",
     {PIO_W(0xcf8, 4, CF8_ON), PCI_R(0xcfc, 4, 0xffffffff, SBDF_19 | 0x08),
      PCI_R(0xcfe, 2, 0xffff, SBDF_19 | 0x0a), PCI_R(0xcff, 1, 0xff, SBDF_19 | 0x0b),
      PCI_W(0xcfd, 1, 7, SBDF_19 | 0x09), PIO_R(0xcf8, 4, 0xffffffff)},
     6,
     CF8_ON,
     {[HVM_IO_PIO] = {[IOREQ_WRITE] = 1, [IOREQ_READ] = 1},
      [HVM_IO_PCI_CONFIG] = {[IOREQ_WRITE] = 1, [IOREQ_READ] = 3}}},
    {"CF8 latch: only 4-byte writes latch; 1- and 2-byte writes pass through",
     {PIO_W(0xcf8, 4, CF8_ON), PIO_W(0xcf8, 1, 0), PIO_W(0xcfa, 2, 0),
      PCI_R(0xcfc, 4, 0xffffffff, SBDF_19 | 0x08)},
     4,
     CF8_ON,
     {[HVM_IO_PIO] = {[IOREQ_WRITE] = 3}, [HVM_IO_PCI_CONFIG] = {[IOREQ_READ] = 1}}},
    {"CF8 latch: without the enable bit 0xCFC is a plain port",
     {PIO_W(0xcf8, 4, 0x00001908), PIO_R(0xcfc, 4, 0xffffffff), PIO_W(0xcfc, 2, 1)},
     3,
     0x00001908,
     {[HVM_IO_PIO] = {[IOREQ_WRITE] = 2, [IOREQ_READ] = 1}}},
    {"CF8 latch: disabling it again ends PCI routing; MMIO at 0xcfc is memory",
     {PIO_W(0xcf8, 4, CF8_ON), PIO_W(0xcf8, 4, 0), PIO_R(0xcfc, 1, 0xff),
      MEM_R(0xcfc, 4, 0xffffffff)},
     4,
     0,
     {[HVM_IO_PIO] = {[IOREQ_WRITE] = 2, [IOREQ_READ] = 1}, [HVM_IO_MMIO] = {[IOREQ_READ] = 1}}},
    {"PCI config: bus, device, function and register bits of CF8 (register low bits from the port)",
     {PIO_W(0xcf8, 4, 0x80ab5dfc), PCI_R(0xcff, 1, 0xff, (0xab5dull << 32) | 0xff)},
     2,
     0x80ab5dfc,
     {[HVM_IO_PIO] = {[IOREQ_WRITE] = 1}, [HVM_IO_PCI_CONFIG] = {[IOREQ_READ] = 1}}},
};

static void run_case(struct world *w, const struct hvm_io_case *c)
{
    struct vcpu *v = w->d->vcpu[0];
    for (unsigned i = 0; i < c->n; i++) {
        const struct access *a = &c->acc[i];
        ioreq_t p = {.addr = a->addr,
                     .size = a->size,
                     .count = 1,
                     .state = STATE_IOREQ_READY,
                     .dir = a->dir,
                     .type = a->type,
                     .data = a->dir == IOREQ_WRITE ? a->data : 0x5555};
        struct hvm_io_route r = {0};
        assert_true(hvm_io_route(w->d, &p, &r));
        if (r.type != a->route_type || r.addr != a->route_addr)
            fail_msg("%s: access %u routed %u:%#llx, expected %u:%#llx", c->name, i, r.type,
                     (unsigned long long)r.addr, a->route_type, (unsigned long long)a->route_addr);
        assert_true(hvm_io_intercept(v, &p)); /* no ioreq server: Xen completes it */
        assert_int_equal(p.type, a->type);    /* unclaimed: never rewritten */
        assert_int_equal(p.addr, a->addr);
        if (a->dir == IOREQ_READ && p.data != a->expect)
            fail_msg("%s: access %u read %#llx, expected %#llx", c->name, i,
                     (unsigned long long)p.data, (unsigned long long)a->expect);
        if (a->dir == IOREQ_WRITE)
            assert_int_equal(p.data, a->data); /* the null handler does not touch a write */
    }
    assert_int_equal(w->d->pci_cf8, c->cf8_after);
    const struct hvm_io_stats *st = &w->d->stats.hvm_io;
    for (unsigned k = 0; k < HVM_IO_KINDS; k++)
        for (unsigned dir = 0; dir < 2; dir++) {
            if (st->n[k][dir][HVM_IO_UNCLAIMED] != c->unclaimed[k][dir])
                fail_msg("%s: %s %s unclaimed %llu, expected %llu", c->name, hvm_io_kind_names[k],
                         hvm_io_dir_names[dir], (unsigned long long)st->n[k][dir][HVM_IO_UNCLAIMED],
                         (unsigned long long)c->unclaimed[k][dir]);
            assert_int_equal(st->n[k][dir][HVM_IO_INTERNAL], 0);
            assert_int_equal(st->n[k][dir][HVM_IO_FORWARDED], 0);
        }
}

static void test_cases(void **state)
{
    struct world *w = *state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        w->d->pci_cf8 = 0;
        memset(&w->d->stats.hvm_io, 0, sizeof(w->d->stats.hvm_io));
        run_case(w, &cases[i]);
    }
}

/* Only PIO and COPY requests are routed (arch_ioreq_server_get_type_addr). */
static void test_route_other_types(void **state)
{
    struct world *w = *state;
    static const uint8_t others[] = {IOREQ_TYPE_PCI_CONFIG, IOREQ_TYPE_TIMEOFFSET,
                                     IOREQ_TYPE_INVALIDATE};
    for (size_t i = 0; i < sizeof(others); i++) {
        ioreq_t p = {.type = others[i], .size = 4, .count = 1};
        struct hvm_io_route r;
        assert_false(hvm_io_route(w->d, &p, &r));
    }
}

/* Accesses a server claimed go to it (not answered, counted forwarded), a PCI config access
 * rewritten to its SBDF and register; the rest still meet the null handler. */
static void test_claimed_by_server(void **state)
{
    struct world *w = *state;
    struct domain *dm = fx_domain(&w->fx, 0, true, 1, 0, 0);
    ioservid_t id = fx_ioreq_create(&w->fx, dm->vcpu[0], 1, HVM_IOREQSRV_BUFIOREQ_OFF);
    struct vcpu *v = w->d->vcpu[0];
    const uint64_t sbdf = 0x0018; /* 00:03.0 */

    assert_int_equal(ioreq_server_map_io_range(w->d, dm, id, XEN_DMOP_IO_RANGE_PORT, 0x3f8, 0x3ff),
                     0);
    assert_int_equal(ioreq_server_map_io_range(w->d, dm, id, XEN_DMOP_IO_RANGE_PCI, sbdf, sbdf), 0);
    assert_int_equal(ioreq_server_set_state(w->d, dm, id, true), 0);

    ioreq_t uart = {
        .type = IOREQ_TYPE_PIO, .dir = IOREQ_READ, .addr = 0x3fd, .size = 1, .count = 1};
    assert_false(hvm_io_intercept(v, &uart));
    ioreq_t other = {
        .type = IOREQ_TYPE_PIO, .dir = IOREQ_READ, .addr = 0x2f8, .size = 1, .count = 1};
    assert_true(hvm_io_intercept(v, &other));
    assert_int_equal(other.data, 0xff);

    ioreq_t latch = {.type = IOREQ_TYPE_PIO,
                     .dir = IOREQ_WRITE,
                     .addr = 0xcf8,
                     .size = 4,
                     .count = 1,
                     .data = 0x80001804}; /* 00:03.0, register 4 */
    assert_true(hvm_io_intercept(v, &latch));
    ioreq_t cfg = {.type = IOREQ_TYPE_PIO, .dir = IOREQ_READ, .addr = 0xcfc, .size = 4, .count = 1};
    assert_false(hvm_io_intercept(v, &cfg));
    assert_int_equal(cfg.type, IOREQ_TYPE_PCI_CONFIG);
    assert_int_equal(cfg.addr, sbdf << 32 | 4);
    assert_int_equal(w->d->stats.hvm_io.n[HVM_IO_PIO][IOREQ_READ][HVM_IO_FORWARDED], 1);
    assert_int_equal(w->d->stats.hvm_io.n[HVM_IO_PCI_CONFIG][IOREQ_READ][HVM_IO_FORWARDED], 1);
}

/* hvm_io_rep_count: Xen's batch of a rep ins/outs, by hvmemul_do_io_addr's formulas. */
static void test_rep_count(void **state)
{
    static const struct {
        const char *what;
        uint64_t gpa, reps;
        unsigned size;
        bool df;
        uint64_t count;
        bool two_pages;
    } rows[] = {
        {"all fit", 0x10064, 64, 1, false, 64, false},
        {"up to the page's end", 0x10ffa, 8, 2, false, 3, false},
        {"a whole page of dwords", 0x11000, 3000, 4, false, 1024, false},
        {"from offset 8", 0x10008, 3000, 4, false, 1022, false},
        {"clipped at 4096", 0x10000, 10000, 1, false, 4096, false},
        {"straddling the page's end", 0x10fff, 3, 2, false, 1, true},
        {"a dword straddling", 0x10ffe, 5, 4, false, 1, true},
        {"df: down to the page's start, Xen's formula", 0x11024, 10, 4, true, 9, false},
        {"df: offset 0 goes alone, two pages", 0x11000, 1, 4, true, 1, true},
        {"df: bytes from offset 100", 0x11064, 200, 1, true, 100, false},
        {"df: fewer than fit", 0x11064, 7, 1, true, 7, false},
        {"df: words from offset 2", 0x11002, 6, 2, true, 1, false},
        {"df: offset 4094", 0x10ffe, 4, 2, true, 4, false},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        bool two = !rows[i].two_pages;
        uint64_t n = hvm_io_rep_count(rows[i].gpa, rows[i].reps, rows[i].size, rows[i].df, &two);
        if (n != rows[i].count || two != rows[i].two_pages)
            fail_msg("%s: %lu%s, expected %lu%s", rows[i].what, (unsigned long)n,
                     two ? " (two pages)" : "", (unsigned long)rows[i].count,
                     rows[i].two_pages ? " (two pages)" : "");
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_cases, world_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_route_other_types, world_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_claimed_by_server, world_setup, fx_teardown),
        cmocka_unit_test(test_rep_count),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
