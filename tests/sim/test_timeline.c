/* The timeline of timed callbacks: a table of arm/disarm steps with the expected next deadline,
 * and a long random sequence checked against a plain scan of the slots. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "sim/timeline.h"

enum op { ARM, DISARM };

struct step {
    enum op op;
    unsigned slot;
    uint64_t at;
    uint64_t next; /* expected timeline_next afterwards */
};

static const struct step steps[] = {
    {ARM, 0, 500, 500},
    {ARM, 1, 300, 300},
    {ARM, 2, 300, 300},            /* a tie: still 300 */
    {DISARM, 1, 0, 300},           /* slot 2 holds 300 too */
    {DISARM, 2, 0, 500},           /* both stale entries at 300 dropped */
    {ARM, 0, 900, 900},            /* re-armed later: its 500 entry is stale */
    {ARM, 0, 100, 100},            /* and earlier */
    {DISARM, 0, 0, TIMELINE_NONE}, /* nothing armed */
    {ARM, 3, 0, 0},                /* deadline 0 is a deadline */
};

static void table(void **state)
{
    (void)state;
    struct timeline t;
    assert_int_equal(timeline_init(&t, 4), 0);
    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
        if (steps[i].op == ARM)
            assert_int_equal(timeline_arm(&t, steps[i].slot, steps[i].at), 0);
        else
            timeline_disarm(&t, steps[i].slot);
        if (timeline_next(&t) != steps[i].next)
            fail_msg("step %zu: next %llu, expected %llu", i, (unsigned long long)timeline_next(&t),
                     (unsigned long long)steps[i].next);
    }
    timeline_free(&t);
}

static uint64_t brute_next(const struct timeline *t)
{
    uint64_t best = TIMELINE_NONE;
    for (unsigned i = 0; i < t->nr_slots; i++)
        if (t->slot[i].armed && t->slot[i].at < best)
            best = t->slot[i].at;
    return best;
}

/* Many re-arms of few slots: also exercises compaction (the heap stays bounded). */
static void random_against_scan(void **state)
{
    (void)state;
    struct timeline t;
    enum { SLOTS = 37 };
    assert_int_equal(timeline_init(&t, SLOTS), 0);
    uint64_t x = 88172645463325252ull;
    for (unsigned i = 0; i < 200000; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        unsigned slot = (unsigned)(x % SLOTS);
        if ((x >> 20) % 4 == 0)
            timeline_disarm(&t, slot);
        else
            assert_int_equal(timeline_arm(&t, slot, (x >> 24) % 100000), 0);
        if ((x >> 40) % 3 == 0 && timeline_next(&t) != brute_next(&t))
            fail_msg("operation %u: heap %llu, scan %llu", i, (unsigned long long)timeline_next(&t),
                     (unsigned long long)brute_next(&t));
    }
    assert_true(t.cap <= 8 * SLOTS + 64);
    timeline_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(table),
        cmocka_unit_test(random_against_scan),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
