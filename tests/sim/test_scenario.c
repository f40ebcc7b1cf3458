/* Scenario parsing: a table of INI texts with the expected outcome; errors must name the line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "sim/scenario.h"

struct scenario_case {
    const char *name;
    const char *text;
    const char *error; /* expected message, or NULL for success */
    unsigned nr_dom;
    unsigned pcpus;
    uint64_t run_ns;
    const char *cmdline0; /* expected cmdline of the first domain, or NULL */
};

static const struct scenario_case cases[] = {
    {"minimal", "[domain a]\nguest = timer\n", NULL, 1, 1, 1000000000, NULL},
    {"machine keys", "[machine]\npcpus = 4\nrun_ms = 3\nseed = 9\n[domain a]\nguest = x\n", NULL, 1,
     4, 3000000, NULL},
    {"run_us", "[machine]\nrun_us = 250\n[domain a]\nguest = x\n", NULL, 1, 1, 250000, NULL},
    {"comments and blanks", "# c\n\n[machine] ; c\npcpus = 2 ; two\n[domain a]\nguest = x\n", NULL,
     1, 2, 1000000000, NULL},
    {"two domains", "[domain a]\nguest = x\n[domain b]\nguest = y\nvcpus = 4\n", NULL, 2, 1,
     1000000000, NULL},
    {"no equals", "[machine]\npcpus = 2\nbogus line\n", "t.ini:3: syntax error", 0, 0, 0, NULL},
    {"unknown key", "[domain a]\nguest = x\ncolour = blue\n",
     "t.ini:3: unknown key 'colour' in a [domain] section", 0, 0, 0, NULL},
    {"unknown section", "[machine]\n[cpus]\n", "t.ini:2: unknown section [cpus]", 0, 0, 0, NULL},
    {"pcpus zero", "[machine]\npcpus = 0\n", "t.ini:2: pcpus = 0: expected a number", 0, 0, 0,
     NULL},
    {"pcpus junk", "[machine]\npcpus = two\n", "t.ini:2: pcpus = two", 0, 0, 0, NULL},
    {"negative", "[machine]\nseed = -1\n", "t.ini:2: seed = -1: out of range", 0, 0, 0, NULL},
    {"vcpus 64", "[domain a]\nguest = x\nvcpus = 64\n", NULL, 1, 1, 1000000000, NULL},
    {"vcpus too many", "[domain a]\nguest = x\nvcpus = 65\n", "t.ini:3: vcpus = 65", 0, 0, 0, NULL},
    {"bad bool", "[domain a]\nguest = x\nprivileged = maybe\n", "t.ini:3: privileged = maybe", 0, 0,
     0, NULL},
    {"no guest", "[domain a]\nvcpus = 1\n", "t.ini:1: domain 'a' has no 'guest ='", 0, 0, 0, NULL},
    {"no domains", "[machine]\npcpus = 1\n", "t.ini: no [domain NAME] section", 0, 0, 0, NULL},
    {"duplicate domain", "[domain a]\nguest = x\n[domain a]\nguest = x\n",
     "t.ini:3: domain 'a' is defined twice", 0, 0, 0, NULL},
    {"nameless domain", "[domain]\nguest = x\n", "t.ini:1: [domain NAME]", 0, 0, 0, NULL},
    {"key outside section", "pcpus = 1\n", "t.ini:1: 'pcpus' outside any section", 0, 0, 0, NULL},
    {"pin beyond pcpus", "[machine]\npcpus = 2\n[domain a]\nguest = x\npin = 2\n",
     "t.ini:3: domain 'a' is pinned to pcpu 2", 0, 0, 0, NULL},
    {"pirq unknown domain", "[domain a]\nguest = x\n[pirq]\ndomain = b\n",
     "t.ini:4: domain = b: no [domain b] section", 0, 0, 0, NULL},
    {"pirq repeat without period", "[domain a]\nguest = x\n[pirq]\ndomain = a\ncount = 3\n",
     "t.ini:3: a [pirq] raised 3 times needs period_us", 0, 0, 0, NULL},
    {"leading zero is decimal", "[machine]\npcpus = 010\n[domain a]\nguest = x\n", NULL, 1, 10,
     1000000000, NULL},
    {"hex", "[machine]\npcpus = 0x10\n[domain a]\nguest = x\n", NULL, 1, 16, 1000000000, NULL},
    {"cmdline continues", "[domain a]\nguest = x\ncmdline = a=1 b=2\n  c=3\ncmdline = d=4\n", NULL,
     1, 1, 1000000000, "a=1 b=2 c=3 d=4"},
    {"pirq line range", "[domain a]\nguest = x\n[pirq]\ndomain = a\nline = 256\n",
     "t.ini:5: unknown key or value out of range: line = 256", 0, 0, 0, NULL},
    {"pirq level", "[domain a]\nguest = x\n[pirq]\ndomain = a\ntrigger = level\n", NULL, 1, 1,
     1000000000, NULL},
    {"pirq edge", "[domain a]\nguest = x\n[pirq]\ndomain = a\ntrigger = edge\n", NULL, 1, 1,
     1000000000, NULL},
    {"pirq bad trigger", "[domain a]\nguest = x\n[pirq]\ndomain = a\ntrigger = both\n",
     "t.ini:5: trigger = both: expected edge or level", 0, 0, 0, NULL},
    {"pirq one trigger per line",
     "[domain a]\nguest = x\n[pirq]\ndomain = a\nline = 9\ntrigger = level\n[pirq]\ndomain = "
     "a\nline = 9\n",
     "t.ini:7: line 9 of domain 'a' is level-triggered at line 3", 0, 0, 0, NULL},
    {"pirq far future", "[domain a]\nguest = x\n[pirq]\ndomain = a\nat_us = 3600000001\n",
     "t.ini:5: unknown key or value out of range: at_us", 0, 0, 0, NULL},
    {"long line breaks at spaces",
     "[domain a]\nguest = x\ncmdline = "
     "a123456789 b123456789 c123456789 d123456789 e123456789 f123456789 g123456789 h123456789 "
     "i123456789 j123456789 k123456789 l123456789 m123456789 n123456789 o123456789 p123456789 "
     "q123456789 r123456789 s123456789 t123456789 u123456789 v123456789 w123456789\n",
     NULL, 1, 1, 1000000000,
     "a123456789 b123456789 c123456789 d123456789 e123456789 f123456789 g123456789 h123456789 "
     "i123456789 j123456789 k123456789 l123456789 m123456789 n123456789 o123456789 p123456789 "
     "q123456789 r123456789 s123456789 t123456789 u123456789 v123456789 w123456789"},
    {"long line",
     "[domain a]\nguest = x\ncmdline = "
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n",
     "t.ini:3: line longer than", 0, 0, 0, NULL},
};

static void run_case(void **state)
{
    const struct scenario_case *c = *state;
    static struct scenario s;
    struct diag d = {{0}};
    int rc = scenario_load_string(&s, "t.ini", c->text, &d);
    if (c->error) {
        assert_int_equal(rc, -1);
        if (!strstr(d.msg, c->error))
            fail_msg("message '%s' does not contain '%s'", d.msg, c->error);
        return;
    }
    if (rc != 0)
        fail_msg("unexpected error: %s", d.msg);
    assert_int_equal(s.nr_dom, c->nr_dom);
    assert_int_equal(s.pcpus, c->pcpus);
    assert_int_equal(s.run_ns, c->run_ns);
    if (c->cmdline0)
        assert_string_equal(s.dom[0].cmdline, c->cmdline0);
}

static void default_scenario_parses(void **state)
{
    (void)state;
    static struct scenario s;
    struct diag d = {{0}};
    assert_int_equal(scenario_load_string(&s, "<default>", scenario_default_text, &d), 0);
    assert_true(s.nr_dom >= 2);
    assert_true(s.dom[0].privileged);
    assert_false(s.dom[1].privileged);
}

static void add_guest_defaults(void **state)
{
    (void)state;
    static struct scenario s;
    struct diag d = {{0}};
    scenario_defaults(&s);
    assert_int_equal(scenario_add_guest(&s, "a.elf", NULL, &d), 0);
    assert_int_equal(scenario_add_guest(&s, "b.elf", "x=1", &d), 0);
    assert_true(s.dom[0].privileged);
    assert_false(s.dom[1].privileged);
    assert_string_equal(s.dom[1].cmdline, "x=1");
    assert_string_equal(s.dom[1].name, "d1");
}

int main(void)
{
    struct CMUnitTest tests[sizeof(cases) / sizeof(cases[0]) + 2];
    size_t n = 0;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        tests[n++] = (struct CMUnitTest){cases[i].name, run_case, NULL, NULL, (void *)&cases[i]};
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(default_scenario_parses);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(add_guest_defaults);
    return _cmocka_run_group_tests("scenario", tests, n, NULL, NULL);
}
