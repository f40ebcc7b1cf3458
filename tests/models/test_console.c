/* HYPERVISOR_console_io(CONSOLEIO_write) as Xen 4.22's guest_console_write does it
 * (xen/drivers/char/console.c): the hardware domain's text goes out as written; any other
 * domain's is stripped of non-printable bytes and gathered in its 256-byte buffer into lines,
 * each printed as a XENLOG_G_DEBUG message, which guest_loglvl prints, rate-limits (printk's
 * 10-message burst, then one per 5 s, "printk: N messages suppressed.") or discards. The text is
 * copied in 127-byte chunks, and the call is preempted between two chunks when the caller has
 * an event to take. Every outcome is counted for the report.
 *
 * The world: d0 (the hardware domain) and d1, one vcpu each. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "models/loglvl.h"
#include "models/shared_info.h"
#include "tests/models/fake_xen.h"

#define TEXT_GPA FX_BUF_GPA
#define SECOND 1000000000ull

struct world {
    struct fake_xen fx; /* first: fx_teardown */
    struct domain *d0, *d1;
    struct hv_sink_ops sink; /* fake_xen's, with Xen's own lines recorded */
    char lines[64][512];     /* what was printed, one entry per sink call */
    unsigned nr_lines;
    char xen[8][64];
    unsigned nr_xen;
};

static struct world *world_of(void *opaque)
{
    return opaque; /* the sink's opaque is the world (its first member is the fake_xen) */
}

static void record_console(void *o, struct vcpu *v, const char *buf, size_t len)
{
    struct world *w = world_of(o);
    (void)v;
    if (w->nr_lines < 64)
        snprintf(w->lines[w->nr_lines++], sizeof(w->lines[0]), "%.*s", (int)len, buf);
}

static void record_xen_line(void *o, const char *text)
{
    struct world *w = world_of(o);
    if (w->nr_xen < 8)
        snprintf(w->xen[w->nr_xen++], sizeof(w->xen[0]), "%s", text);
}

static int world_setup(void **state)
{
    struct world *w = test_calloc(1, sizeof(*w));
    fx_init(&w->fx);
    w->d0 = fx_domain(&w->fx, 0, true, 1, 0, 0);
    w->d1 = fx_domain(&w->fx, 1, false, 1, 0, 0);
    assert_int_equal(domain_init_shared_info(w->d0), 0);
    assert_int_equal(domain_init_shared_info(w->d1), 0);
    w->sink = *w->fx.hv.sink;
    w->sink.console = record_console;
    w->sink.xen_line = record_xen_line;
    w->fx.hv.sink = &w->sink;
    w->fx.now_ns = 100 * SECOND;
    *state = w;
    return 0;
}

static long write_text(struct world *w, struct domain *d, const void *text, size_t len)
{
    memcpy(fx_gpa(&w->fx, d, TEXT_GPA), text, len);
    return fx_hypercall(d->vcpu[0], __HYPERVISOR_console_io, CONSOLEIO_write, len, TEXT_GPA);
}

/* ---- lines of a domain other than the hardware domain ---- */

struct gather_case {
    const char *name;
    const char *writes[4]; /* successive CONSOLEIO_write calls of d1 */
    unsigned nr_lines;
    const char *lines[3];
};

static const struct gather_case gather_cases[] = {
    {"one line", {"hello\n"}, 1, {"hello\n"}},
    {"gathered across writes", {"hel", "lo ", "world\n"}, 1, {"hello world\n"}},
    {"no newline yet", {"pending"}, 0, {NULL}},
    {"two lines in one write", {"a\nb\n"}, 2, {"a\n", "b\n"}},
    {"control bytes stripped", {"t\tab\x01\x1b[0m\x7f!\n"}, 1, {"t\tab[0m!\n"}},
    {"latin-1 kept", {"caf\xe9\n"}, 1, {"caf\xe9\n"}},
    {"empty line", {"\n"}, 1, {"\n"}},
};

static void test_domu_lines(void **state)
{
    struct world *w = *state;
    for (size_t i = 0; i < sizeof(gather_cases) / sizeof(gather_cases[0]); i++) {
        const struct gather_case *c = &gather_cases[i];
        w->nr_lines = 0;
        w->d1->console.idx = 0;
        for (unsigned k = 0; k < 4 && c->writes[k]; k++)
            assert_int_equal(write_text(w, w->d1, c->writes[k], strlen(c->writes[k])), 0);
        print_message("%s\n", c->name);
        assert_int_equal(w->nr_lines, c->nr_lines);
        for (unsigned k = 0; k < c->nr_lines; k++)
            assert_string_equal(w->lines[k], c->lines[k]);
    }
}

/* A line longer than the buffer comes out when the next chunk would not fit: the 255 bytes
 * gathered and that chunk's text, as one message. */
static void test_domu_long_line(void **state)
{
    struct world *w = *state;
    char text[400];
    memset(text, 'x', sizeof(text));
    for (unsigned k = 0; k < 3; k++) /* 3 x 100: the third does not fit beside 200 */
        assert_int_equal(write_text(w, w->d1, text, 100), 0);
    assert_int_equal(w->nr_lines, 1);
    assert_int_equal(strlen(w->lines[0]), 301); /* 200 + 100 + newline */
    assert_int_equal(w->d1->console.idx, 0);
    assert_int_equal(w->d1->stats.limits.console_lines, 1);
}

/* The hardware domain's text is passed on as written, chunk by chunk, unfiltered. */
static void test_dom0_direct(void **state)
{
    struct world *w = *state;
    assert_int_equal(write_text(w, w->d0, "raw\x01 no newline", 15), 0);
    assert_int_equal(w->nr_lines, 1);
    assert_string_equal(w->lines[0], "raw\x01 no newline");
    char big[300];
    memset(big, 'y', sizeof(big));
    w->nr_lines = 0;
    assert_int_equal(write_text(w, w->d0, big, sizeof(big)), 0);
    assert_int_equal(w->nr_lines, 3); /* 127 + 127 + 46 */
    assert_int_equal(strlen(w->lines[2]), 46);
}

/* ---- guest_loglvl and printk's rate limit ---- */

struct loglvl_case {
    const char *spec;
    int lower, upper; /* -1: refused */
};

static const struct loglvl_case loglvl_cases[] = {
    {"all", 4, 4},      {"debug", 4, 4},      {"none/warning", 0, 2},
    {"info/all", 3, 4}, {"none", 0, 0},       {"warning/error", 2, 2},
    {"error/", -1, -1}, {"loud", -1, -1},     {"all/none", 4, 4},
    {"", -1, -1},       {"all/all/", -1, -1}, {"infox", -1, -1},
};

static void test_loglvl_parse(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(loglvl_cases) / sizeof(loglvl_cases[0]); i++) {
        const struct loglvl_case *c = &loglvl_cases[i];
        int lower = -9, upper = -9;
        int rc = console_parse_loglvl(c->spec, &lower, &upper);
        print_message("'%s'\n", c->spec);
        assert_int_equal(rc, c->lower < 0 ? -1 : 0);
        if (rc == 0) {
            assert_int_equal(lower, c->lower);
            assert_int_equal(upper, c->upper);
        }
    }
}

/* Rate-limited (info/all): ten lines at once, then one per 5 s; the first line let through
 * after some were held back is preceded by Xen's count of them. */
static void test_rate_limit(void **state)
{
    struct world *w = *state;
    console_set_loglvl(&w->fx.hv, 3, 4);
    for (unsigned k = 0; k < 25; k++)
        assert_int_equal(write_text(w, w->d1, "line\n", 5), 0);
    assert_int_equal(w->nr_lines, 10);
    assert_int_equal(w->d1->stats.limits.console_suppressed, 15);
    assert_int_equal(w->nr_xen, 0);

    w->fx.now_ns += 4 * SECOND; /* not yet a token's worth */
    assert_int_equal(write_text(w, w->d1, "line\n", 5), 0);
    assert_int_equal(w->nr_lines, 10);
    w->fx.now_ns += 1 * SECOND;
    assert_int_equal(write_text(w, w->d1, "line\n", 5), 0);
    assert_int_equal(w->nr_lines, 11);
    assert_int_equal(w->nr_xen, 1);
    assert_string_equal(w->xen[0], "printk: 16 messages suppressed.");
    assert_int_equal(w->d1->stats.limits.console_suppressed, 16);
    assert_int_equal(w->d1->stats.limits.console_lines, 11);

    w->fx.now_ns += 3600 * SECOND; /* a long quiet: the burst again, no more */
    for (unsigned k = 0; k < 12; k++)
        assert_int_equal(write_text(w, w->d1, "line\n", 5), 0);
    assert_int_equal(w->nr_lines, 21);
}

/* Discarded (a release Xen's none/warning): nothing printed, every line counted. The hardware
 * domain is not subject to it. */
static void test_discarded(void **state)
{
    struct world *w = *state;
    console_set_loglvl(&w->fx.hv, 0, 2);
    for (unsigned k = 0; k < 3; k++)
        assert_int_equal(write_text(w, w->d1, "quiet\n", 6), 0);
    assert_int_equal(w->nr_lines, 0);
    assert_int_equal(w->d1->stats.limits.console_discarded, 3);
    assert_int_equal(write_text(w, w->d0, "dom0\n", 5), 0);
    assert_int_equal(w->nr_lines, 1);
}

/* ---- chunks, faults and preemption ---- */

/* Copied chunk by chunk: the chunks before an unmapped one are written, then -EFAULT. */
static void test_fault_after_chunks(void **state)
{
    struct world *w = *state;
    uint64_t start = FX_MEM_SIZE - 200; /* one whole chunk inside, the next crosses the end */
    memset(fx_gpa(&w->fx, w->d0, start), 'z', 200);
    assert_int_equal(
        fx_hypercall(w->d0->vcpu[0], __HYPERVISOR_console_io, CONSOLEIO_write, 400, start),
        -XEN_EFAULT);
    assert_int_equal(w->nr_lines, 1);
    assert_int_equal(strlen(w->lines[0]), 127);
}

/* With an event pending for the caller, the write stops after its first chunk and the
 * registers carry what is left; re-issued, it goes on from there. */
static void test_preempted_write(void **state)
{
    struct world *w = *state;
    struct vcpu *v = w->d0->vcpu[0];
    char text[300];
    memset(text, 'p', sizeof(text));
    memcpy(fx_gpa(&w->fx, w->d0, TEXT_GPA), text, sizeof(text));
    fx_set_upcall_mask(v, 0);
    fx_set_upcall_pending(v, 1);
    struct hv_regs r = {.rax = __HYPERVISOR_console_io,
                        .rdi = CONSOLEIO_write,
                        .rsi = sizeof(text),
                        .rdx = TEXT_GPA};
    hypercall_dispatch(v, &r);
    assert_true(v->hcall_continuation);
    assert_int_equal(r.rax, __HYPERVISOR_console_io);
    assert_int_equal(r.rsi, sizeof(text) - 127);
    assert_int_equal(r.rdx, TEXT_GPA + 127);
    assert_int_equal(w->nr_lines, 1);

    fx_set_upcall_pending(v, 0); /* the guest took its event */
    hypercall_dispatch(v, &r);
    assert_false(v->hcall_continuation);
    assert_int_equal(r.rax, 0);
    assert_int_equal(w->nr_lines, 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_domu_lines, world_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_domu_long_line, world_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_dom0_direct, world_setup, fx_teardown),
        cmocka_unit_test(test_loglvl_parse),
        cmocka_unit_test_setup_teardown(test_rate_limit, world_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_discarded, world_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_fault_after_chunks, world_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_preempted_write, world_setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
