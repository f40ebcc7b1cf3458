/* The teaching views (models/evtchn_view.c): the state read as an onlooker, and Xen's 'e' debug
 * key in Xen's own format. A table of worlds, each built through the hypercalls a guest makes,
 * with the lines the dump must hold and what the views must read. The world: d0 (1 vcpu,
 * privileged) and d1 (2 vcpus); the case acts as d1. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "models/event_3l.h"
#include "models/evtchn_view.h"
#include "models/guest_mem.h"
#include "tests/models/fake_xen.h"

#define MAX_LINES 64u

struct world {
    struct fake_xen fx; /* first: fx_destroy takes the world */
    struct domain *d0, *d;
    char line[MAX_LINES][256];
    unsigned nr_lines;
    uint32_t port[4]; /* the ports the case bound, in order */
};

static void collect(void *opaque, const char *line)
{
    struct world *w = opaque;

    assert_true(w->nr_lines < MAX_LINES);
    snprintf(w->line[w->nr_lines++], sizeof(w->line[0]), "%s", line);
}

static bool has_line(const struct world *w, const char *want)
{
    for (unsigned i = 0; i < w->nr_lines; i++)
        if (!strcmp(w->line[i], want))
            return true;
    return false;
}

/* ---- the worlds ---- */

/* 2-level: an IPI sent (pending, its selector bit set), a VIRQ masked by the guest, a port
 * offered to d0, and one bound to d0's offer (which Xen raises as it binds). The s column is
 * the selector bit of the port's notify vcpu. */
static void world_2l(struct world *w)
{
    struct vcpu *v = w->d->vcpu[0];
    uint32_t offer = fx_alloc_unbound(&w->fx, w->d0->vcpu[0], 0, 1);

    w->port[0] = fx_bind_ipi(&w->fx, v, 1);
    w->port[1] = fx_bind_virq(&w->fx, v, VIRQ_TIMER, 0);
    w->port[2] = fx_alloc_unbound(&w->fx, v, 1, 0);
    w->port[3] = fx_bind_interdomain(&w->fx, v, 0, offer);
    fx_set_mask(w->d, w->port[1], true);
    assert_int_equal(evtchn_send(w->d, w->port[0]), 0);
}

/* FIFO: three IPIs to vcpu 0 sent in order make one queue, HEAD -> LINK -> LINK. */
static void world_fifo(struct world *w)
{
    struct vcpu *v = w->d->vcpu[0];

    fx_fifo_init(&w->fx, w->d, 1);
    for (unsigned i = 0; i < 3; i++)
        w->port[i] = fx_bind_ipi(&w->fx, v, 0);
    for (unsigned i = 0; i < 3; i++)
        assert_int_equal(evtchn_send(w->d, w->port[i]), 0);
}

/* 3-level: an IPI to vcpu 1 sent: pending, L2 bit, L1 bit. */
static void world_3l(struct world *w)
{
    fx_3l_init(&w->fx, w->d);
    w->port[0] = fx_bind_ipi(&w->fx, w->d->vcpu[0], 1);
    assert_int_equal(evtchn_send(w->d, w->port[0]), 0);
}

/* Two vcpus polling: Xen's %*pbl list. */
static void world_polling(struct world *w)
{
    w->d->vcpu[0]->polling = true;
    w->d->vcpu[1]->polling = true;
}

struct view_case {
    const char *name;
    void (*build)(struct world *w);
    const char *lines[8]; /* the dump of d1 holds each of these lines */
    int pending_port;     /* index into w->port of a port the view must read pending, or -1 */
    unsigned sel_vcpu;    /* ... and the vcpu whose selector word must then be sel */
    uint64_t sel, l2_word0;
};

static const struct view_case cases[] = {
    {"2l",
     world_2l,
     {"Event channel information for domain 1:", "Polling vCPUs: {}", "    port [p/m/s]",
      "       1 [1/0/1]: s=6 n=1 x=0", "       2 [0/1/1]: s=5 n=0 x=0 v=0",
      "       3 [0/0/1]: s=2 n=0 x=0 d=0", "       4 [1/0/1]: s=3 n=0 x=0 d=0 p=1", NULL},
     0,
     1,
     1,
     0},
    {"fifo",
     world_fifo,
     {"       1 [1/0/  2   ]: s=6 n=0 x=0 pri=7", "       2 [1/0/  3   ]: s=6 n=0 x=0 pri=7",
      "       3 [1/0/  0   ]: s=6 n=0 x=0 pri=7", "FIFO d1v0: READY 0x80",
      "    queue  7: 1 -> 2 -> 3 (control block HEAD 1)", "FIFO d1v1: READY 0", NULL},
     2,
     0,
     0,
     0},
    {"3l",
     world_3l,
     {"       1 [1/0/1]: s=6 n=1 x=0", "3-level d1 pending words [0]=0x2",
      "3-level d1v0: L1 0 L2 0", "3-level d1v1: L1 0x1 L2 [0]=0x1", NULL},
     0,
     1,
     1,
     1},
    {"polling", world_polling, {"Polling vCPUs: {0-1}", NULL}, -1, 0, 0, 0},
};

static void test_view_case(void **state)
{
    const struct view_case *c = *state;
    struct world *w = calloc(1, sizeof(*w));

    assert_non_null(w);
    fx_init(&w->fx);
    w->d0 = fx_domain(&w->fx, 0, true, 1, 0, 0);
    w->d = fx_domain(&w->fx, 1, false, 2, 0, 0);
    c->build(w);
    unsigned touches = w->fx.touches[0] + w->fx.touches[1] + w->fx.touches[2];
    evtchn_dump_domain(w->d, collect, w);
    for (unsigned i = 0; c->lines[i]; i++)
        if (!has_line(w, c->lines[i])) {
            for (unsigned k = 0; k < w->nr_lines; k++)
                print_message("  dump: '%s'\n", w->line[k]);
            fail_msg("%s: the dump lacks '%s'", c->name, c->lines[i]);
        }
    if (c->pending_port >= 0) {
        struct evtchn_port_view pv;
        struct evtchn_vcpu_view vv;
        evtchn_view_port(w->d, w->port[c->pending_port], &pv);
        assert_true(pv.pending);
        evtchn_view_vcpu(w->d->vcpu[c->sel_vcpu], &vv);
        assert_int_equal(vv.sel, c->sel);
        assert_int_equal(evtchn_view_l2_word(w->d->vcpu[c->sel_vcpu], 0), c->l2_word0);
    }
    /* Looking is free: no access reported to the cost and coherence models. */
    assert_int_equal(w->fx.touches[0] + w->fx.touches[1] + w->fx.touches[2], touches);
    fx_destroy(&w->fx);
    free(w);
}

/* A port beyond the 3-level bitmaps reads masked and never pending, as the ABI treats it. */
static void test_view_beyond_3l_bitmaps(void **state)
{
    struct world *w = calloc(1, sizeof(*w));
    struct evtchn_port_view pv;

    (void)state;
    assert_non_null(w);
    fx_init(&w->fx);
    w->d = fx_domain(&w->fx, 1, false, 2, 0, 0);
    fx_3l_init(&w->fx, w->d);
    evtchn_view_port(w->d, EVTCHN_3L_PORTS_PER_PAGE * 8u, &pv);
    assert_true(pv.masked);
    assert_false(pv.pending);
    assert_string_equal(evtchn_view_abi(w->d), "3l");
    fx_destroy(&w->fx);
    free(w);
}

int main(void)
{
    struct CMUnitTest tests[sizeof(cases) / sizeof(cases[0]) + 1];
    size_t n = 0;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        tests[n++] =
            (struct CMUnitTest){cases[i].name, test_view_case, NULL, NULL, (void *)&cases[i]};
    tests[n++] =
        (struct CMUnitTest){"beyond_3l_bitmaps", test_view_beyond_3l_bitmaps, NULL, NULL, NULL};
    return _cmocka_run_group_tests("model.view", tests, n, NULL, NULL);
}
