/* The Unicorn capability check: the verdict as a table of measured findings, and one real run
 * against the library this build links. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "sim/engine_check.h"

struct judge_case {
    const char *name;
    struct engine_check in;
    int rc;
    const char *failures; /* exact text; "" when usable */
};

/* Each case is the good findings with a few fields changed: later initialisers override. */
#pragma GCC diagnostic ignored "-Woverride-init"
#define GOOD                                                                                       \
    .version = 0x020101, .engine = true, .paging = true, .rdtsc_hook = true, .syscall_hook = true, \
    .plain_ns = 1.5, .store_ns = 2.2, .store_ratio = 1.4, .store_ratio_paged = 1.4

static const struct judge_case judge_cases[] = {
    {"2.1.1 as measured here", {GOOD}, 0, ""},
    {"a later version", {GOOD, .version = 0x030000}, 0, ""},
    {"2.0.1 as measured here",
     {GOOD, .version = 0x020001, .paging = false, .store_ns = 68.6, .plain_ns = 1.1,
      .store_ratio = 60.3, .store_ratio_paged = 0},
     -1,
     "version older than 2.1.1; guest paging is ignored (a load through CR3 read the unpaged "
     "address); guest stores take the slow path"},
    {"2.1.4: paging honoured, stores slow",
     {GOOD, .version = 0x020104, .store_ratio = 30, .store_ratio_paged = 31},
     -1,
     "guest stores take the slow path"},
    {"slow only with paging on",
     {GOOD, .store_ratio_paged = 9},
     -1,
     "guest stores take the slow path"},
    {"ratio at the bound is fine", {GOOD, .store_ratio = ENGINE_CHECK_MAX_STORE_RATIO}, 0, ""},
    {"a loop that failed to run", {GOOD, .store_ratio = 0}, -1, "guest stores take the slow path"},
    {"no RDTSC hook", {GOOD, .rdtsc_hook = false}, -1, "RDTSC cannot be hooked and skipped"},
    {"no syscall hook", {GOOD, .syscall_hook = false}, -1, "syscall cannot be hooked"},
    {"no engine at all", {.version = 0x020101}, -1, "cannot create an x86-64 engine"},
    {"2.1.0", {GOOD, .version = 0x020100}, -1, "version older than 2.1.1"},
};

static void judge_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(judge_cases) / sizeof(judge_cases[0]); i++) {
        struct engine_check c = judge_cases[i].in;
        strcpy(c.failures, "stale text from before");
        int rc = engine_check_judge(&c);
        if (rc != judge_cases[i].rc || strcmp(c.failures, judge_cases[i].failures))
            fail_msg("%s: rc %d failures '%s'", judge_cases[i].name, rc, c.failures);
    }
}

/* The library this build links: the same answer CMake got when it configured. */
static void linked_library_is_usable(void **state)
{
    (void)state;
    struct engine_check c;
    int rc = engine_check_run(&c);
    if (rc != 0)
        fail_msg("unicorn %s at %s: %s", c.version_text, c.library, c.failures);
    assert_true(c.paging && c.rdtsc_hook && c.syscall_hook);
    assert_true(c.version >= ENGINE_CHECK_MIN_VERSION);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(judge_table),
        cmocka_unit_test(linked_library_is_usable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
