/* The lab checker's readers (sim/lab.c) and the lab table (sim/lab_labs.c): what a check sees of
 * a run's console and report, and that every lab is graded out of 10 with named, hinted checks.
 * Tables of (input, expected). No simulation runs here. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "sim/lab.h"

static const char console[] = "d0v0 partner: burst ports=4 rounds=2\n"
                              "d1v0 rt: event channel ABI fifo\n"
                              "d1v0 lab: tick=1 at=1000\n"
                              "d1v0 lab: tick=2 at=2000 late=0x10\n"
                              "d1v0 not lab: at=99\n"
                              "d0v0 lab: at=5\n"
                              "d1v1 lab: handled=7";

struct console_case {
    const char *key;
    bool found;
    uint64_t last;  /* lab_console_u64 */
    unsigned count; /* lab_console_all */
};

/* Only the student's domain (dom1 here, any vcpu), only "lab:" lines, whole keys. */
static void console_values(void **state)
{
    (void)state;
    static const struct console_case cases[] = {
        {"at", true, 2000, 2},   {"tick", true, 2, 2},   {"late", true, 16, 1},
        {"handled", true, 7, 1}, {"ports", false, 0, 0}, {"t", false, 0, 0},
    };
    struct lab_case c = {.console = (char *)console, .student_dom = 1};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint64_t v = 0, all[4];
        assert_int_equal(lab_console_u64(&c, cases[i].key, &v), cases[i].found);
        if (cases[i].found)
            assert_int_equal(v, cases[i].last);
        assert_int_equal(lab_console_all(&c, cases[i].key, all, 4), cases[i].count);
    }
    uint64_t at[1];
    assert_int_equal(lab_console_all(&c, "at", at, 1), 2); /* counted, one stored */
    assert_int_equal(at[0], 1000);
}

static const char report[] =
    "{\"domains\": [{\"domid\": 0, \"status\": \"poweroff\", \"upcalls\": 3, \"ports\": []},"
    " {\"domid\": 1, \"status\": \"crashed\", \"crash\": \"SHUTDOWN_crash\", \"upcalls\": 9,"
    "  \"ports\": [{\"port\": 5, \"sends\": 2, \"delivered\": 4,"
    "   \"path\": {\"send_to_handler\": {\"max_ns\": 1234}}}, {\"port\": 6, \"delivered\": 1}]}]}";

struct field_case {
    unsigned dom, port;
    const char *field;
    int64_t want;
};

/* Missing domains and fields are -1; a port without a row counts nothing (0). */
static void report_fields(void **state)
{
    (void)state;
    struct lab_case c = {.report = json_tokener_parse(report), .student_dom = 1};
    assert_non_null(c.report);
    static const struct field_case ports[] = {
        {1, 5, "sends", 2},     {1, 5, "delivered", 4}, {1, 6, "delivered", 1},
        {1, 7, "delivered", 0}, {2, 5, "sends", 0},     {1, 6, "sends", 0},
    };
    for (size_t i = 0; i < sizeof(ports) / sizeof(ports[0]); i++)
        assert_int_equal(lab_port_field(&c, ports[i].dom, ports[i].port, ports[i].field),
                         ports[i].want);
    assert_int_equal(lab_dom_field(&c, 0, "upcalls"), 3);
    assert_int_equal(lab_dom_field(&c, 1, "upcalls"), 9);
    assert_int_equal(lab_dom_field(&c, 1, "hypercalls"), -1);
    assert_int_equal(lab_dom_field(&c, 4, "upcalls"), -1);
    assert_string_equal(lab_dom_status(&c, 1), "crashed");
    assert_string_equal(lab_dom_status(&c, 4), "");
    assert_int_equal(lab_port_max_latency_ns(&c, 1, 5), 1234);
    assert_int_equal(lab_port_max_latency_ns(&c, 1, 6), -1);
    json_object_put(c.report);
}

struct finish_case {
    const char *status, *console;
    bool finished;
    const char *why; /* a piece of the reason */
};

static void student_finished(void **state)
{
    (void)state;
    static const struct finish_case cases[] = {
        {"poweroff", "", true, ""},
        {"running", "", false, "still running when the run length ended"},
        {"crashed", "d1v0 PANIC: send failed: -22 (EINVAL)\n", false,
         "crashed: PANIC: send failed: -22 (EINVAL)"},
        {"crashed", "", false, "ended crashed: SHUTDOWN_crash"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char text[256], why[256] = "";
        snprintf(text, sizeof(text),
                 "{\"domains\": [{\"domid\": 1, \"status\": \"%s\", \"crash\": "
                 "\"SHUTDOWN_crash\"}]}",
                 cases[i].status);
        struct lab_case c = {.report = json_tokener_parse(text),
                             .console = (char *)cases[i].console,
                             .student_dom = 1};
        assert_int_equal(lab_student_finished(&c, why, sizeof(why)), cases[i].finished);
        assert_non_null(strstr(why, cases[i].why));
        json_object_put(c.report);
    }
}

/* The generator: in range, the same sequence from the same seed, another from another. */
static void random_numbers(void **state)
{
    (void)state;
    struct lab_case a = {.rng = 42}, b = {.rng = 42}, other = {.rng = 43};
    bool differs = false;
    for (int i = 0; i < 1000; i++) {
        uint64_t x = lab_rand(&a, 3, 12);
        assert_true(x >= 3 && x <= 12);
        assert_int_equal(x, lab_rand(&b, 3, 12));
        differs |= x != lab_rand(&other, 3, 12);
    }
    assert_true(differs);
    assert_int_equal(lab_rand(&a, 7, 7), 7);
}

/* Every lab: numbered 1.. in order, graded out of 10, at least one case, named and hinted
 * checks with distinct names, the first being "finishes". */
static void lab_table_is_sound(void **state)
{
    (void)state;
    assert_true(lab_count >= 8);
    for (unsigned i = 0; i < lab_count; i++) {
        const struct lab *l = &lab_table[i];
        unsigned points = 0;
        assert_int_equal(l->number, i + 1);
        assert_true(l->nr_cases >= 1 && l->scenario != NULL);
        assert_true(strlen(l->title) > 0 && l->tags[0] == '[');
        assert_string_equal(l->checks[0].name, "finishes");
        for (unsigned k = 0; k < l->nr_checks; k++) {
            points += l->checks[k].points;
            assert_true(l->checks[k].points > 0 && l->checks[k].pass != NULL);
            assert_true(strlen(l->checks[k].hint) > 20);
            for (unsigned j = 0; j < k; j++)
                assert_true(strcmp(l->checks[j].name, l->checks[k].name) != 0);
        }
        assert_int_equal(points, 10);
    }
}

/* A lab's scenario text: the same case gives the same text, and it names the student's ELF. */
static void scenarios_are_deterministic(void **state)
{
    (void)state;
    for (unsigned i = 0; i < lab_count; i++) {
        struct lab_case a = {.index = 1, .seed = 1001, .rng = 1001};
        struct lab_case b = a;
        char ia[4096], ib[4096];
        lab_table[i].scenario(&a, "/x/student.elf", ia, sizeof(ia));
        lab_table[i].scenario(&b, "/x/student.elf", ib, sizeof(ib));
        assert_string_equal(ia, ib);
        assert_string_equal(a.note, b.note);
        assert_non_null(strstr(ia, "guest = /x/student.elf\n"));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(console_values),     cmocka_unit_test(report_fields),
        cmocka_unit_test(student_finished),   cmocka_unit_test(random_numbers),
        cmocka_unit_test(lab_table_is_sound), cmocka_unit_test(scenarios_are_deterministic),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
