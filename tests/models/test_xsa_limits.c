/* Port limits under every ABI, as the fixed Xen enforces them (https://xenbits.xen.org/xsa/):
 * - XSA-342: the 2-level limit follows the guest's word size (1024 ports for a 32-bit guest,
 *   whatever max_evtchn_port allows), so a 32-bit guest never gets a port whose bit lies past
 *   its bitmaps; on 3-level the 32-bit limit is 32^3 = 32768. The limit is the ABI's: it
 *   shrinks back on reset, while storage once valid stays valid (XSA-338).
 * - XSA-496: with every port in use, bind_virq / bind_ipi / bind_pirq / alloc_unbound /
 *   bind_interdomain answer -ENOSPC and change nothing, and the table is usable afterwards.
 * Each case runs under 2-level, 3-level and FIFO.
 * The world: d0 privileged, d1 the domain under test (2 vcpus), d2 holding an unbound port
 * reserved for d1. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "models/event_3l.h"
#include "tests/models/fake_xen.h"

enum abi { ABI_2L, ABI_3L, ABI_FIFO };

struct limit_case {
    const char *name;
    enum abi abi;
    unsigned word_bits;
    unsigned max_port; /* d1's max_evtchn_port (0: the toolstack default 1023) */
    unsigned e_ports;  /* domain_max_evtchns: ports 0 .. e_ports - 1 exist */
};

static const struct limit_case cases[] = {
    {"2l_64bit_default", ABI_2L, 64, 0, 1024},
    {"2l_64bit_abi_limit", ABI_2L, 64, 8191, 4096},
    {"2l_32bit_xsa342", ABI_2L, 32, 4095, 1024},
    {"3l_64bit_domain_limit", ABI_3L, 64, 4999, 5000},
    {"3l_32bit_abi_limit", ABI_3L, 32, 40000, 32768},
    {"fifo_64bit_default", ABI_FIFO, 64, 0, 1024},
    {"fifo_32bit_domain_limit", ABI_FIFO, 32, 4095, 4096},
};

/* ---- set-up ---- */

/* FIFO: control blocks for both vcpus and event-array pages for every port. */
static void switch_to_fifo(struct fake_xen *fx, struct domain *d, unsigned ports)
{
    long rc = fx_fifo_init_control(fx, d->vcpu[0], 0, FX_FIFO_CONTROL_GPA / XEN_PAGE_SIZE, 0);

    assert_int_equal(rc, 0);
    assert_int_equal(fx_fifo_init_control(fx, d->vcpu[0], 1, FX_FIFO_CONTROL_GPA / XEN_PAGE_SIZE,
                                          FX_FIFO_CONTROL_STRIDE),
                     0);
    for (unsigned page = 0; page * 1024 < ports; page++)
        assert_int_equal(fx_fifo_expand(fx, d->vcpu[0], page), 0);
}

static void switch_abi(struct fake_xen *fx, struct domain *d, const struct limit_case *c)
{
    switch (c->abi) {
    case ABI_3L:
        fx_3l_init(fx, d);
        break;
    case ABI_FIFO:
        switch_to_fifo(fx, d, c->e_ports);
        break;
    default:
        break;
    }
}

/* Returns d1, on the case's ABI, every vcpu running; *rport: d2's port reserved for d1. */
static struct domain *world(struct fake_xen *fx, const struct limit_case *c, uint32_t *rport)
{
    struct domain *d1, *d2;

    fx_init(fx);
    fx_domain(fx, 0, true, 2, 64, 0);
    d1 = fx_domain(fx, 1, false, 2, c->word_bits, c->max_port);
    d2 = fx_domain(fx, 2, false, 1, 64, 0);
    d1->vcpu[1]->run_state = VCPU_RUNNABLE;
    *rport = fx_alloc_unbound(fx, d2->vcpu[0], DOMID_SELF, 1);
    switch_abi(fx, d1, c);
    return d1;
}

/* Ports past the first few are bound through the port table directly: binding tens of
 * thousands by hypercall is quadratic (each scans from port 0) and proves nothing more. */
#define FILL_BY_HYPERCALL 4096u

static unsigned fill(struct fake_xen *fx, struct domain *d)
{
    unsigned n = 0;

    for (uint32_t p = FILL_BY_HYPERCALL; p < domain_max_evtchns(d); p++, n++)
        fx_3l_claim_ipi(d, p, 0);
    return n + fx_fill_table(fx, d->vcpu[0]);
}

/* ---- XSA-342 ---- */

static void assert_no_bits_past(const volatile uint64_t *map, unsigned from, unsigned to)
{
    for (unsigned nr = from; nr < to; nr++)
        assert_false(guest_test_bit(NULL, nr, map));
}

static void test_xsa342_limit(void **state)
{
    const struct limit_case *c = *state;
    struct fake_xen fx;
    struct domain *d;
    struct shared_info *s;
    uint32_t rport;
    unsigned words;

    print_message("case %s\n", c->name);
    d = world(&fx, c, &rport);
    s = shared_info_ptr(d);
    assert_int_equal(domain_max_evtchns(d), c->e_ports);
    assert_int_equal(fill(&fx, d), c->e_ports - 1); /* port 0 is reserved */
    assert_int_equal(evtchn_allocate_port(d, c->e_ports), -XEN_ENOSPC);
    assert_true(d->valid_evtchns <= (c->e_ports + 63) / 64 * 64);
    if (c->abi != ABI_2L) {
        fx_destroy(&fx);
        return;
    }
    /* 2-level: raising every port never writes past the guest's word_bits^2 bits (for a 32-bit
     * guest: nothing in its mask, which follows at 2176, or beyond), and its selector is the
     * 32-bit compat word: the native 64-bit selector's place stays untouched */
    for (uint32_t p = 1; p < c->e_ports; p++)
        assert_int_equal(evtchn_send(d, p), 0);
    assert_no_bits_past((volatile uint64_t *)s->evtchn_pending, c->e_ports, 4096);
    words = c->e_ports / c->word_bits; /* each selected once */
    assert_int_equal(fx_sel(d->vcpu[0]), words < 64 ? (UINT64_C(1) << words) - 1 : ~UINT64_C(0));
    if (c->word_bits == 32)
        assert_int_equal(vcpu_info_ptr(d->vcpu[0])->evtchn_pending_sel, 0);
    fx_destroy(&fx);
}

/* A 32-bit guest back from 3-level to 2-level: the limit returns to 1024, while ports once
 * valid stay valid storage (polling one is safe, XSA-338). */
static void test_xsa342_limit_after_reset(void **state)
{
    struct fake_xen fx;
    struct domain *d;
    uint32_t rport;
    const struct limit_case c = {"3l_32bit", ABI_3L, 32, 40000, 32768};

    (void)state;
    d = world(&fx, &c, &rport);
    fx_3l_claim_ipi(d, 2000, 0);
    fx_3l_claim_ipi(d, 32767, 1);
    assert_int_equal(evtchn_send(d, 32767), 0);
    assert_int_equal(fx_reset_until_done(&fx, d->vcpu[0], DOMID_SELF), 0);
    assert_ptr_equal(d->evtchn_port_ops, &evtchn_port_ops_2l);
    assert_int_equal(domain_max_evtchns(d), 1024);
    assert_int_equal(evtchn_allocate_port(d, 1024), -XEN_ENOSPC);
    assert_true(port_is_valid(d, 32767));
    assert_int_equal(evtchn_port_poll(d, 32767), 0);
    assert_int_equal(evtchn_port_poll(d, 2000), 0);
    assert_int_equal(fx_fill_table(&fx, d->vcpu[0]), 1023);
    fx_destroy(&fx);
}

/* ---- XSA-496 ---- */

/* Everything a refused bind must leave as it was: d1's table and bindings, d2's reserved
 * port, both domains' memory except the argument page, the ABI and its registered pages. */
struct xsa496_snapshot {
    unsigned active, valid;
    struct evtchn *table;
    uint16_t virq[2][NR_VIRQS];
    uint32_t *pirq;
    struct evtchn remote;
    unsigned char *mem[2];
    const struct evtchn_port_ops *ops;
    unsigned nr_event_pages;
};

static void snap(struct fake_xen *fx, struct domain *d1, uint32_t rport, struct xsa496_snapshot *s)
{
    struct domain *d2 = fx->hv.domain[2];

    s->active = d1->active_evtchns;
    s->valid = d1->valid_evtchns;
    s->table = malloc(s->valid * sizeof(*s->table));
    assert_non_null(s->table);
    for (uint32_t p = 0; p < s->valid; p++)
        s->table[p] = *evtchn_from_port(d1, p);
    for (unsigned i = 0; i < 2; i++)
        memcpy(s->virq[i], d1->vcpu[i]->virq_to_evtchn, sizeof(s->virq[i]));
    s->pirq = malloc(d1->nr_pirqs * sizeof(*s->pirq));
    assert_non_null(s->pirq);
    memcpy(s->pirq, d1->pirq_to_evtchn, d1->nr_pirqs * sizeof(*s->pirq));
    s->remote = *evtchn_from_port(d2, rport);
    for (unsigned i = 0; i < 2; i++) {
        s->mem[i] = malloc(FX_MEM_SIZE);
        assert_non_null(s->mem[i]);
        memcpy(s->mem[i], fx->mem[i + 1], FX_MEM_SIZE);
    }
    s->ops = d1->evtchn_port_ops;
    s->nr_event_pages = fx->nr_event_pages;
}

static void snap_free(struct xsa496_snapshot *s)
{
    free(s->table);
    free(s->pirq);
    free(s->mem[0]);
    free(s->mem[1]);
}

static void assert_mem_unchanged(const unsigned char *now, const unsigned char *then)
{
    assert_memory_equal(now, then, FX_ARG_GPA);
    assert_memory_equal(now + FX_ARG_GPA + XEN_PAGE_SIZE, then + FX_ARG_GPA + XEN_PAGE_SIZE,
                        FX_MEM_SIZE - FX_ARG_GPA - XEN_PAGE_SIZE);
}

static void assert_unchanged(struct fake_xen *fx, struct domain *d1, uint32_t rport,
                             const struct xsa496_snapshot *s)
{
    assert_int_equal(d1->active_evtchns, s->active);
    assert_int_equal(d1->valid_evtchns, s->valid);
    for (uint32_t p = 0; p < s->valid; p++)
        assert_memory_equal(evtchn_from_port(d1, p), &s->table[p], sizeof(s->table[p]));
    for (unsigned i = 0; i < 2; i++)
        assert_memory_equal(d1->vcpu[i]->virq_to_evtchn, s->virq[i], sizeof(s->virq[i]));
    assert_memory_equal(d1->pirq_to_evtchn, s->pirq, d1->nr_pirqs * sizeof(*s->pirq));
    assert_memory_equal(evtchn_from_port(fx->hv.domain[2], rport), &s->remote, sizeof(s->remote));
    for (unsigned i = 0; i < 2; i++)
        assert_mem_unchanged(fx->mem[i + 1], s->mem[i]);
    assert_ptr_equal(d1->evtchn_port_ops, s->ops);
    assert_int_equal(fx->nr_event_pages, s->nr_event_pages);
}

union bind_arg {
    struct evtchn_bind_virq virq;
    struct evtchn_bind_ipi ipi;
    struct evtchn_bind_pirq pirq;
    struct evtchn_alloc_unbound unbound;
    struct evtchn_bind_interdomain inter;
};

struct bind_attempt {
    const char *name;
    domid_t caller;
    unsigned cmd;
    union bind_arg arg;
    size_t size;
};

/* rport is filled in at run time for bind_interdomain. */
static const struct bind_attempt attempts[] = {
    {"bind_virq_timer_vcpu0",
     1,
     EVTCHNOP_bind_virq,
     {.virq = {.virq = VIRQ_TIMER, .vcpu = 0}},
     sizeof(struct evtchn_bind_virq)},
    {"bind_virq_debug_vcpu1",
     1,
     EVTCHNOP_bind_virq,
     {.virq = {.virq = VIRQ_DEBUG, .vcpu = 1}},
     sizeof(struct evtchn_bind_virq)},
    {"bind_ipi", 1, EVTCHNOP_bind_ipi, {.ipi = {.vcpu = 1}}, sizeof(struct evtchn_bind_ipi)},
    {"bind_pirq", 1, EVTCHNOP_bind_pirq, {.pirq = {.pirq = 7}}, sizeof(struct evtchn_bind_pirq)},
    {"alloc_unbound_self",
     1,
     EVTCHNOP_alloc_unbound,
     {.unbound = {.dom = DOMID_SELF, .remote_dom = 0}},
     sizeof(struct evtchn_alloc_unbound)},
    {"alloc_unbound_by_dom0",
     0,
     EVTCHNOP_alloc_unbound,
     {.unbound = {.dom = 1, .remote_dom = 0}},
     sizeof(struct evtchn_alloc_unbound)},
    {"bind_interdomain",
     1,
     EVTCHNOP_bind_interdomain,
     {.inter = {.remote_dom = 2}},
     sizeof(struct evtchn_bind_interdomain)},
};

static void try_all_binds(struct fake_xen *fx, struct domain *d1, uint32_t rport,
                          const struct xsa496_snapshot *s)
{
    for (size_t i = 0; i < sizeof(attempts) / sizeof(attempts[0]); i++) {
        const struct bind_attempt *a = &attempts[i];
        union bind_arg arg = a->arg;

        print_message("  %s\n", a->name);
        if (a->cmd == EVTCHNOP_bind_interdomain)
            arg.inter.remote_port = rport;
        assert_int_equal(fx_evtchn_op(fx, fx->hv.domain[a->caller]->vcpu[0], a->cmd, &arg, a->size),
                         -XEN_ENOSPC);
        assert_unchanged(fx, d1, rport, s);
    }
}

/* After the refusals, the table works: a freed port is taken by the next bind and raises
 * under the ABI in use. */
static void assert_usable_after(struct fake_xen *fx, struct domain *d1, uint32_t rport)
{
    struct evtchn_close cl = {.port = 5};
    struct evtchn_close cl2 = {.port = 6};

    assert_int_equal(fx_evtchn_op(fx, d1->vcpu[0], EVTCHNOP_close, &cl, sizeof(cl)), 0);
    assert_int_equal(fx_bind_virq(fx, d1->vcpu[0], VIRQ_TIMER, 0), 5);
    send_guest_vcpu_virq(d1->vcpu[0], VIRQ_TIMER);
    assert_true(evtchn_is_pending(d1, evtchn_from_port(d1, 5)));
    assert_int_equal(fx_evtchn_op(fx, d1->vcpu[0], EVTCHNOP_close, &cl2, sizeof(cl2)), 0);
    assert_int_equal(fx_bind_interdomain(fx, d1->vcpu[0], 2, rport), 6);
    assert_int_equal(evtchn_from_port(fx->hv.domain[2], rport)->state, ECS_INTERDOMAIN);
    assert_true(evtchn_is_pending(d1, evtchn_from_port(d1, 6)));
}

static void test_xsa496_full_table(void **state)
{
    const struct limit_case *c = *state;
    struct fake_xen fx;
    struct domain *d1;
    struct xsa496_snapshot s;
    uint32_t rport;

    print_message("case %s\n", c->name);
    d1 = world(&fx, c, &rport);
    assert_int_equal(fill(&fx, d1), c->e_ports - 1);
    /* a pending port: ABI memory the refusals must leave alone */
    assert_int_equal(evtchn_send(d1, 3), 0);
    snap(&fx, d1, rport, &s);
    try_all_binds(&fx, d1, rport, &s);
    snap_free(&s);
    assert_usable_after(&fx, d1, rport);
    fx_destroy(&fx);
}

#define CASE_TESTS(fn)                                                                             \
    cmocka_unit_test_prestate(fn, (void *)&cases[0]),                                              \
        cmocka_unit_test_prestate(fn, (void *)&cases[1]),                                          \
        cmocka_unit_test_prestate(fn, (void *)&cases[2]),                                          \
        cmocka_unit_test_prestate(fn, (void *)&cases[3]),                                          \
        cmocka_unit_test_prestate(fn, (void *)&cases[4]),                                          \
        cmocka_unit_test_prestate(fn, (void *)&cases[5]),                                          \
        cmocka_unit_test_prestate(fn, (void *)&cases[6])

_Static_assert(sizeof(cases) / sizeof(cases[0]) == 7, "CASE_TESTS lists every case");

int main(void)
{
    const struct CMUnitTest tests[] = {
        CASE_TESTS(test_xsa342_limit),
        cmocka_unit_test(test_xsa342_limit_after_reset),
        CASE_TESTS(test_xsa496_full_table),
    };
    return cmocka_run_group_tests_name("xsa_limits", tests, NULL, NULL);
}
