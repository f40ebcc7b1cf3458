/* The coherence model: a table of access sequences with the cost and line state expected after
 * each step and the statistics after the whole sequence; then the table's growth and deletion
 * (100k lines, churn checked against a naive reference model), 256 pcpus, and the edges. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>

#include <cmocka.h>

#include "models/coherence.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Distinct prices, so every cost names its source unambiguously. */
enum { LOCAL = 1, SOCKET = 10, REMOTE = 100 };

static struct cost_profile test_profile(void)
{
    struct cost_profile p;

    memset(&p, 0, sizeof(p));
    p.cpu_khz = 1000000;
    p.c[COST_LINE_LOCAL].cycles = LOCAL;
    p.c[COST_LINE_SOCKET].cycles = SOCKET;
    p.c[COST_LINE_REMOTE].cycles = REMOTE;
    return p;
}

static const volatile void *at(uintptr_t addr)
{
    return (const volatile void *)addr;
}

/* Host addresses are only keys to the model, never dereferenced. */
#define L0 ((uintptr_t)0x10000)
#define L1 (L0 + COHERENCE_LINE)

/* ---- the table of sequences ---- */

enum step_op { STEP_END, STEP_ACCESS, STEP_FORGET, STEP_CHECK };

struct step {
    enum step_op op;
    unsigned pcpu;
    uintptr_t addr;
    size_t len;
    enum coh_access kind;
    uint64_t cost;    /* what the access returns */
    unsigned holders; /* afterwards, the pcpus (bitmask) that hold the line of addr */
    int owner;        /* afterwards, the modified owner of that line, -1 if none */
};

#define CPU(n) (1u << (n))
/* clang-format mangles macros that expand to a braced initializer. */
/* clang-format off */
#define RD(p, a, cost, h, o) {STEP_ACCESS, p, a, 8, COH_READ, cost, h, o}
#define WR(p, a, cost, h, o) {STEP_ACCESS, p, a, 8, COH_WRITE, cost, h, o}
#define LK(p, a, cost, h, o) {STEP_ACCESS, p, a, 8, COH_LOCKED, cost, h, o}
#define SPAN(p, a, len, kind, cost, h, o) {STEP_ACCESS, p, a, len, kind, cost, h, o}
#define FORGET(a, len) {STEP_FORGET, 0, a, len, COH_READ, 0, 0, -1}
#define CHECK(a, h, o) {STEP_CHECK, 0, a, 0, COH_READ, 0, h, o}
/* clang-format on */

struct scenario {
    const char *name;
    unsigned nr_pcpus, cores_per_socket;
    struct step steps[12];
    struct coh_stats stats; /* after the whole sequence */
    size_t lines;
};

/* 1 socket x 4 cores, and 2 sockets x 2 cores (pcpus 0-1 on socket 0, 2-3 on socket 1). */
#define ONE_SOCKET 4, 4
#define TWO_SOCKETS 4, 2
/* accesses {read, write, locked}, from {hit, socket, remote}, transfer cycles */
/* clang-format off */
#define STATS(r, w, l, hit, sock, rem) \
    {{r, w, l}, {hit, sock, rem}, (sock) * (SOCKET - LOCAL) + (rem) * (REMOTE - LOCAL)}
/* clang-format on */

static const struct scenario scenarios[] = {
    {"first touch, re-read, same-socket reads",
     ONE_SOCKET,
     {
         RD(0, L0, SOCKET, CPU(0), -1),
         RD(0, L0, LOCAL, CPU(0), -1),
         RD(1, L0, SOCKET, CPU(0) | CPU(1), -1),
         RD(1, L0 + 8, LOCAL, CPU(0) | CPU(1), -1),
         RD(3, L0 + 56, SOCKET, CPU(0) | CPU(1) | CPU(3), -1),
     },
     STATS(5, 0, 0, 2, 3, 0),
     1},
    {"write to an exclusive clean line hits, to a shared one invalidates",
     ONE_SOCKET,
     {
         RD(0, L0, SOCKET, CPU(0), -1),
         WR(0, L0, LOCAL, CPU(0), 0),
         WR(0, L0, LOCAL, CPU(0), 0),
         RD(1, L0, SOCKET, CPU(0) | CPU(1), -1),
         WR(0, L0, SOCKET, CPU(0), 0),
         LK(2, L0, SOCKET, CPU(2), 2),
     },
     STATS(2, 3, 1, 2, 4, 0),
     1},
    {"write after sharers on both sockets, then by the owner",
     TWO_SOCKETS,
     {
         RD(0, L0, SOCKET, CPU(0), -1),
         RD(2, L0, REMOTE, CPU(0) | CPU(2), -1),
         RD(1, L0, SOCKET, CPU(0) | CPU(1) | CPU(2), -1),
         WR(1, L0, REMOTE, CPU(1), 1),
         WR(1, L0, LOCAL, CPU(1), 1),
         LK(1, L0, LOCAL, CPU(1), 1),
     },
     STATS(3, 2, 1, 2, 2, 2),
     1},
    {"read of a modified line from the other socket shares it",
     TWO_SOCKETS,
     {
         WR(0, L0, SOCKET, CPU(0), 0),
         RD(3, L0, REMOTE, CPU(0) | CPU(3), -1),
         RD(0, L0, LOCAL, CPU(0) | CPU(3), -1),
         WR(0, L0, REMOTE, CPU(0), 0),
         RD(1, L0, SOCKET, CPU(0) | CPU(1), -1),
         WR(1, L0, SOCKET, CPU(1), 1),
     },
     STATS(3, 3, 0, 1, 3, 2),
     1},
    {"a read comes from the nearest holder, a write waits for the farthest",
     TWO_SOCKETS,
     {
         RD(0, L0, SOCKET, CPU(0), -1),
         RD(2, L0, REMOTE, CPU(0) | CPU(2), -1),
         RD(3, L0, SOCKET, CPU(0) | CPU(2) | CPU(3), -1),
         RD(1, L0, SOCKET, CPU(0) | CPU(1) | CPU(2) | CPU(3), -1),
         WR(3, L0, REMOTE, CPU(3), 3),
         RD(2, L0, SOCKET, CPU(2) | CPU(3), -1),
         WR(2, L0, SOCKET, CPU(2), 2),
     },
     STATS(5, 2, 0, 0, 5, 2),
     1},
    {"locked on a shared line",
     TWO_SOCKETS,
     {
         RD(0, L0, SOCKET, CPU(0), -1),
         RD(1, L0, SOCKET, CPU(0) | CPU(1), -1),
         LK(0, L0, SOCKET, CPU(0), 0),
         RD(2, L0, REMOTE, CPU(0) | CPU(2), -1),
         LK(2, L0, REMOTE, CPU(2), 2),
         LK(3, L0, SOCKET, CPU(3), 3),
     },
     STATS(3, 0, 3, 0, 4, 2),
     1},
    {"a two-line access costs its slower line, counts both",
     TWO_SOCKETS,
     {
         WR(0, L1, SOCKET, CPU(0), 0),
         SPAN(2, L1 - 8, 16, COH_READ, REMOTE, CPU(2), -1), /* L0 from the cache, L1 from P0 */
         CHECK(L1, CPU(0) | CPU(2), -1),
         SPAN(2, L1 - 8, 16, COH_READ, LOCAL, CPU(2), -1),
         SPAN(3, L0, 128, COH_WRITE, REMOTE, CPU(3), 3), /* L0 from P2, L1 also from P0 */
         CHECK(L1, CPU(3), 3),
     },
     STATS(2, 2, 0, 2, 3, 2),
     2},
    {"forget then re-touch",
     TWO_SOCKETS,
     {
         WR(0, L0, SOCKET, CPU(0), 0),
         RD(0, L0, LOCAL, CPU(0), 0),
         RD(2, L1, SOCKET, CPU(2), -1),
         FORGET(L0 + 32, 1), /* one byte forgets its whole line, only that line */
         CHECK(L1, CPU(2), -1),
         RD(0, L0, SOCKET, CPU(0), -1),
         FORGET(L0, 2 * COHERENCE_LINE),
         CHECK(L1, 0, -1),
         RD(2, L1, SOCKET, CPU(2), -1),
     },
     STATS(4, 1, 0, 1, 4, 0),
     1},
};

static unsigned holders_of(const struct coherence *c, unsigned nr_pcpus, uintptr_t addr)
{
    unsigned mask = 0;

    for (unsigned p = 0; p < nr_pcpus; p++)
        if (coherence_holds(c, p, at(addr)))
            mask |= CPU(p);
    return mask;
}

static void run_step(struct coherence *c, const struct cost_profile *p, unsigned nr_pcpus,
                     const struct step *s)
{
    if (s->op == STEP_ACCESS)
        assert_int_equal(coherence_access(c, p, s->pcpu, at(s->addr), s->len, s->kind), s->cost);
    else if (s->op == STEP_FORGET)
        coherence_forget(c, at(s->addr), s->len);
    assert_int_equal(holders_of(c, nr_pcpus, s->addr), s->holders);
    assert_int_equal(coherence_owner(c, at(s->addr)), s->owner);
}

static void assert_stats_equal(const struct coh_stats *got, const struct coh_stats *want)
{
    for (unsigned k = 0; k < ARRAY_SIZE(want->accesses); k++)
        assert_int_equal(got->accesses[k], want->accesses[k]);
    for (unsigned s = 0; s < COH_SOURCES; s++)
        assert_int_equal(got->from[s], want->from[s]);
    assert_int_equal(got->transfer_cycles, want->transfer_cycles);
}

static void run_scenario(void **state)
{
    const struct scenario *sc = *state;
    struct cost_profile p = test_profile();
    struct coherence *c = coherence_create(sc->nr_pcpus, sc->cores_per_socket);

    assert_non_null(c);
    for (const struct step *s = sc->steps; s->op != STEP_END; s++)
        run_step(c, &p, sc->nr_pcpus, s);
    assert_stats_equal(coherence_stats(c), &sc->stats);
    assert_int_equal(coherence_lines(c), sc->lines);
    coherence_destroy(c);
}

/* ---- the hash table ---- */

#define MANY_LINES 100000u

/* Every other line, so that one forget of the whole range is wider than the lines tracked. */
static uintptr_t nth_line(unsigned i)
{
    return L0 + (uintptr_t)i * 2 * COHERENCE_LINE;
}

static void touch_many(struct coherence *c, const struct cost_profile *p, uint64_t cost)
{
    for (unsigned i = 0; i < MANY_LINES; i++)
        assert_int_equal(coherence_access(c, p, i % 4, at(nth_line(i)), 8, COH_WRITE), cost);
}

static void test_growth_and_forget_100k_lines(void **state)
{
    struct cost_profile p = test_profile();
    struct coherence *c = coherence_create(4, 2);

    (void)state;
    touch_many(c, &p, SOCKET);
    assert_int_equal(coherence_lines(c), MANY_LINES);
    touch_many(c, &p, LOCAL); /* each line is still there, exclusively its writer's */
    assert_int_equal(coherence_owner(c, at(nth_line(MANY_LINES - 1))), (MANY_LINES - 1) % 4);
    coherence_forget(c, at(L0), nth_line(MANY_LINES) - L0); /* one sweep of the table */
    assert_int_equal(coherence_lines(c), 0);
    touch_many(c, &p, SOCKET);                /* all forgotten: first touches again */
    for (unsigned i = 0; i < MANY_LINES; i++) /* line by line this time */
        coherence_forget(c, at(nth_line(i)), 1);
    assert_int_equal(coherence_lines(c), 0);
    assert_int_equal(coherence_stats(c)->from[COH_SOCKET], 2 * MANY_LINES);
    assert_int_equal(coherence_stats(c)->from[COH_HIT], MANY_LINES);
    coherence_destroy(c);
}

/* A naive model of the same protocol, one array slot per line, to check the hash table
 * through many insert/forget cycles: growth, shrinking, backward shifts across wrap-around. */
#define REF_PCPUS 8u
#define REF_CORES 3u /* sockets {0,1,2} {3,4,5} {6,7}: the last one partial */
#define REF_LINES 3000u

struct reference {
    bool present[REF_LINES];
    unsigned holders[REF_LINES];
    int owner[REF_LINES];
    size_t lines;
    struct coh_stats stats;
};

static unsigned ref_socket_mask(unsigned pcpu)
{
    unsigned first = pcpu / REF_CORES * REF_CORES;

    return ((1u << REF_CORES) - 1) << first & ((1u << REF_PCPUS) - 1);
}

static enum coh_source ref_touch(struct reference *r, unsigned line, unsigned pcpu,
                                 enum coh_access kind)
{
    unsigned me = CPU(pcpu), others;
    enum coh_source src;

    if (!r->present[line]) {
        r->present[line] = true;
        r->holders[line] = 0;
        r->owner[line] = -1;
        r->lines++;
    }
    others = r->holders[line] & ~me;
    if (kind == COH_READ) {
        if (r->holders[line] & me)
            return COH_HIT;
        src = !others || (others & ref_socket_mask(pcpu)) ? COH_SOCKET : COH_REMOTE;
        r->holders[line] |= me;
        r->owner[line] = -1;
        return src;
    }
    src = others & ~ref_socket_mask(pcpu)      ? COH_REMOTE
          : others || !(r->holders[line] & me) ? COH_SOCKET
                                               : COH_HIT;
    r->holders[line] = me;
    r->owner[line] = (int)pcpu;
    return src;
}

static uint64_t ref_access(struct reference *r, unsigned pcpu, unsigned first, unsigned last,
                           enum coh_access kind)
{
    static const uint64_t price[COH_SOURCES] = {LOCAL, SOCKET, REMOTE};
    uint64_t worst = 0;

    r->stats.accesses[kind]++;
    for (unsigned line = first; line <= last; line++) {
        enum coh_source src = ref_touch(r, line, pcpu, kind);

        r->stats.from[src]++;
        r->stats.transfer_cycles += price[src] - LOCAL;
        worst = price[src] > worst ? price[src] : worst;
    }
    return worst;
}

static void ref_forget(struct reference *r, unsigned first, unsigned last)
{
    for (unsigned line = first; line <= last; line++) {
        r->lines -= r->present[line];
        r->present[line] = false;
    }
}

static uint64_t next_random(uint64_t *x) /* xorshift64: reproducible, no libc state */
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

static void assert_same_lines(const struct coherence *c, const struct reference *r)
{
    assert_int_equal(coherence_lines(c), r->lines);
    for (unsigned line = 0; line < REF_LINES; line++) {
        uintptr_t a = L0 + (uintptr_t)line * COHERENCE_LINE;

        assert_int_equal(holders_of(c, REF_PCPUS, a), r->present[line] ? r->holders[line] : 0);
        assert_int_equal(coherence_owner(c, at(a)), r->present[line] ? r->owner[line] : -1);
    }
}

/* Phases alternate between mostly touching (the table grows) and mostly forgetting (it
 * empties and shrinks), with forgets both narrow (line by line) and wide (sweeps). */
static void test_churn_matches_reference(void **state)
{
    struct cost_profile p = test_profile();
    struct coherence *c = coherence_create(REF_PCPUS, REF_CORES);
    struct reference *r = test_calloc(1, sizeof(*r));
    uint64_t x = 0x2545F4914F6CDD1Du;

    (void)state;
    for (unsigned op = 0; op < 400000; op++) {
        bool forgetting_phase = (op / 20000) % 2;
        unsigned forget_pct = forgetting_phase ? 40 : 3;
        unsigned line = (unsigned)(next_random(&x) % REF_LINES);
        unsigned offset = (unsigned)(next_random(&x) % COHERENCE_LINE);
        uintptr_t a = L0 + (uintptr_t)line * COHERENCE_LINE + offset;

        if (next_random(&x) % 100 < forget_pct) {
            size_t len = 1 + next_random(&x) % (forgetting_phase ? 200 * COHERENCE_LINE : 256);
            unsigned last = (unsigned)((offset + len - 1) / COHERENCE_LINE) + line;

            if (last >= REF_LINES)
                continue;
            coherence_forget(c, at(a), len);
            ref_forget(r, line, last);
        } else {
            unsigned pcpu = (unsigned)(next_random(&x) % REF_PCPUS);
            enum coh_access kind = (enum coh_access)(next_random(&x) % 3);
            size_t len = 1 + next_random(&x) % 100;
            unsigned last = (unsigned)((offset + len - 1) / COHERENCE_LINE) + line;

            if (last >= REF_LINES)
                continue;
            assert_int_equal(coherence_access(c, &p, pcpu, at(a), len, kind),
                             ref_access(r, pcpu, line, last, kind));
        }
        assert_int_equal(coherence_lines(c), r->lines);
        if (op % 10000 == 9999)
            assert_same_lines(c, r);
    }
    assert_same_lines(c, r);
    assert_stats_equal(coherence_stats(c), &r->stats);
    test_free(r);
    coherence_destroy(c);
}

/* ---- topologies and edges ---- */

/* All 256 pcpus share a line, then one takes it; the holder bitmap spans four words. */
static void test_256_pcpus(void **state)
{
    struct cost_profile p = test_profile();
    struct coherence *c = coherence_create(256, 32); /* 8 sockets */

    (void)state;
    assert_int_equal(coherence_socket(c, 255), 7);
    for (unsigned cpu = 0; cpu < 256; cpu++) /* each socket's first reader fetches remotely */
        assert_int_equal(coherence_access(c, &p, cpu, at(L0), 4, COH_READ),
                         cpu % 32 == 0 && cpu > 0 ? REMOTE : SOCKET);
    for (unsigned cpu = 0; cpu < 256; cpu++)
        assert_true(coherence_holds(c, cpu, at(L0)));
    assert_int_equal(coherence_access(c, &p, 255, at(L0), 4, COH_WRITE), REMOTE);
    for (unsigned cpu = 0; cpu < 255; cpu++)
        assert_false(coherence_holds(c, cpu, at(L0)));
    assert_true(coherence_holds(c, 255, at(L0)));
    assert_int_equal(coherence_owner(c, at(L0)), 255);
    assert_int_equal(coherence_access(c, &p, 224, at(L0), 4, COH_READ), SOCKET);
    assert_int_equal(coherence_access(c, &p, 192, at(L0), 4, COH_READ), REMOTE);
    assert_int_equal(coherence_access(c, &p, 192, at(L0), 4, COH_LOCKED), REMOTE);
    assert_int_equal(coherence_owner(c, at(L0)), 192);
    coherence_destroy(c);
}

/* Word boundaries of the bitmap inside one socket (pcpus 0-127) and across (128-255). */
static void test_256_pcpus_two_sockets(void **state)
{
    struct cost_profile p = test_profile();
    struct coherence *c = coherence_create(256, 128);

    (void)state;
    assert_int_equal(coherence_access(c, &p, 63, at(L0), 1, COH_READ), SOCKET);
    assert_int_equal(coherence_access(c, &p, 64, at(L0), 1, COH_READ), SOCKET);
    assert_int_equal(coherence_access(c, &p, 128, at(L0), 1, COH_READ), REMOTE);
    assert_int_equal(coherence_access(c, &p, 64, at(L0), 1, COH_WRITE), REMOTE);
    assert_int_equal(coherence_access(c, &p, 127, at(L0), 1, COH_WRITE), SOCKET);
    assert_int_equal(coherence_access(c, &p, 127, at(L0), 1, COH_WRITE), LOCAL);
    coherence_destroy(c);
}

static void test_sockets(void **state)
{
    struct cost_profile p = test_profile();
    struct coherence *c = coherence_create(5, 2); /* sockets {0,1} {2,3} {4} */

    (void)state;
    assert_int_equal(coherence_socket(c, 1), 0);
    assert_int_equal(coherence_socket(c, 2), 1);
    assert_int_equal(coherence_socket(c, 4), 2);
    assert_int_equal(coherence_access(c, &p, 3, at(L0), 8, COH_WRITE), SOCKET);
    assert_int_equal(coherence_access(c, &p, 4, at(L0), 8, COH_READ), REMOTE);
    coherence_destroy(c);
}

static void test_create_rejects_empty_machines(void **state)
{
    (void)state;
    assert_null(coherence_create(0, 1));
    assert_null(coherence_create(4, 0));
    coherence_destroy(NULL);
}

/* Nothing to touch, or a pcpu the machine does not have: no cost, no line, no corruption. */
static void test_accesses_that_touch_nothing(void **state)
{
    struct cost_profile p = test_profile();
    struct coherence *c = coherence_create(4, 2);

    (void)state;
    assert_int_equal(coherence_access(c, &p, 0, at(L0), 0, COH_WRITE), 0);
    assert_int_equal(coherence_stats(c)->accesses[COH_WRITE], 1);
    assert_int_equal(coherence_access(c, &p, 4, at(L0), 8, COH_WRITE), 0);
    assert_int_equal(coherence_stats(c)->accesses[COH_WRITE], 1);
    assert_false(coherence_holds(c, 4, at(L0)));
    assert_int_equal(coherence_lines(c), 0);
    coherence_forget(c, at(L0), 0);
    assert_int_equal(coherence_stats(c)->from[COH_SOCKET], 0);
    coherence_destroy(c);
}

/* A range running past the top of the address space stops at its last line. */
static void test_top_of_address_space(void **state)
{
    struct cost_profile p = test_profile();
    struct coherence *c = coherence_create(4, 2);
    uintptr_t top = UINTPTR_MAX - 8;

    (void)state;
    assert_int_equal(coherence_access(c, &p, 0, at(top), 100, COH_READ), SOCKET);
    assert_int_equal(coherence_lines(c), 1);
    assert_true(coherence_holds(c, 0, at(UINTPTR_MAX)));
    coherence_forget(c, at(top - COHERENCE_LINE), SIZE_MAX);
    assert_int_equal(coherence_lines(c), 0);
    coherence_destroy(c);
}

int main(void)
{
    static const struct CMUnitTest others[] = {
        cmocka_unit_test(test_growth_and_forget_100k_lines),
        cmocka_unit_test(test_churn_matches_reference),
        cmocka_unit_test(test_256_pcpus),
        cmocka_unit_test(test_256_pcpus_two_sockets),
        cmocka_unit_test(test_sockets),
        cmocka_unit_test(test_create_rejects_empty_machines),
        cmocka_unit_test(test_accesses_that_touch_nothing),
        cmocka_unit_test(test_top_of_address_space),
    };
    struct CMUnitTest tests[ARRAY_SIZE(scenarios) + ARRAY_SIZE(others)];

    for (size_t i = 0; i < ARRAY_SIZE(scenarios); i++)
        tests[i] = (struct CMUnitTest){
            .name = scenarios[i].name,
            .test_func = run_scenario,
            .initial_state = (void *)&scenarios[i],
        };
    memcpy(tests + ARRAY_SIZE(scenarios), others, sizeof(others));
    return cmocka_run_group_tests_name("coherence", tests, NULL, NULL);
}
