/* models/domctl.c: pause and unpause as the toolstack does them, Xen's checks in order; and the
 * domain-exception VIRQ a shutdown raises (how a device model learns its domain is gone). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>

#include <cmocka.h>

#define __XEN_TOOLS__ 1
#include "tests/models/fake_xen.h"
#undef __STRICT_ANSI__ /* domctl.h's hvm/save.h: see models/domctl.c */
#include <xen/domctl.h>

struct world {
    struct fake_xen fx; /* first: fx_teardown */
    struct domain *d0, *d1, *d2;
};

static int world_setup(void **state)
{
    struct world *w = test_calloc(1, sizeof(*w));
    fx_init(&w->fx);
    w->d0 = fx_domain(&w->fx, 0, true, 1, 0, 0);
    w->d1 = fx_domain(&w->fx, 1, false, 2, 0, 0);
    w->d2 = fx_domain(&w->fx, 2, false, 1, 0, 0);
    *state = w;
    return 0;
}

static long domctl(struct world *w, struct domain *caller, uint32_t cmd, domid_t dom,
                   uint32_t version, bool unmapped)
{
    struct xen_domctl op = {.cmd = cmd, .interface_version = version, .domain = dom};
    memcpy(fx_gpa(&w->fx, caller, FX_ARG_GPA), &op, sizeof(op));
    return fx_hypercall(caller->vcpu[0], __HYPERVISOR_domctl, unmapped ? FX_BAD_GPA : FX_ARG_GPA, 0,
                        0);
}

static void conformance(void **state)
{
    struct world *w = *state;
    const uint32_t V = XEN_DOMCTL_INTERFACE_VERSION;
    static const struct {
        const char *what;
        int caller; /* 0: d0 (privileged), 2: d2 */
        uint32_t cmd;
        domid_t dom;
        bool old_version, unmapped;
        long rc;
        unsigned pauses_after; /* d1's controller pause count */
    } rows[] = {
        {"an unreadable argument", 0, XEN_DOMCTL_pausedomain, 1, false, true, -XEN_EFAULT, 0},
        {"another interface version", 0, XEN_DOMCTL_pausedomain, 1, true, false, -XEN_EACCES, 0},
        {"no such domain", 0, XEN_DOMCTL_pausedomain, 7, false, false, -XEN_ESRCH, 0},
        {"an unprivileged caller", 2, XEN_DOMCTL_pausedomain, 1, false, false, -XEN_EPERM, 0},
        {"unpause what is not paused", 0, XEN_DOMCTL_unpausedomain, 1, false, false, -XEN_EINVAL,
         0},
        {"pause itself", 0, XEN_DOMCTL_pausedomain, 0, false, false, -XEN_EINVAL, 0},
        {"pause", 0, XEN_DOMCTL_pausedomain, 1, false, false, 0, 1},
        {"pause again: counted", 0, XEN_DOMCTL_pausedomain, 1, false, false, 0, 2},
        {"unpause once: still paused", 0, XEN_DOMCTL_unpausedomain, 1, false, false, 0, 1},
        {"a command the model lacks", 0, XEN_DOMCTL_getdomaininfo, 1, false, false, -XEN_ENOSYS, 1},
        {"unpause: runs", 0, XEN_DOMCTL_unpausedomain, 1, false, false, 0, 0},
    };
    struct domain *callers[] = {w->d0, NULL, w->d2};
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        unsigned wakes = fx_rec(&w->fx, w->d1->vcpu[0])->wakes;
        long rc = domctl(w, callers[rows[i].caller], rows[i].cmd, rows[i].dom,
                         rows[i].old_version ? V - 1 : V, rows[i].unmapped);
        if (rc != rows[i].rc)
            fail_msg("%s: %ld, expected %ld", rows[i].what, rc, rows[i].rc);
        assert_int_equal(w->d1->controller_pause_count, rows[i].pauses_after);
        assert_int_equal(w->d1->paused, rows[i].pauses_after != 0);
        /* The last unpause wakes the vcpus that are up (vcpu 0; vcpu 1 was never brought up). */
        bool last_unpause =
            rows[i].cmd == XEN_DOMCTL_unpausedomain && rc == 0 && rows[i].pauses_after == 0;
        assert_int_equal(fx_rec(&w->fx, w->d1->vcpu[0])->wakes - wakes, last_unpause ? 1 : 0);
    }
}

/* __domain_finalise_shutdown: VIRQ_DOM_EXC to its handler (dom0 here), whatever the reason. */
static void shutdown_raises_dom_exc(void **state)
{
    struct world *w = *state;
    uint32_t port = fx_bind_virq(&w->fx, w->d0->vcpu[0], VIRQ_DOM_EXC, 0);
    assert_false(fx_pending(w->d0, port));
    domain_shutdown(w->d1, SHUTDOWN_poweroff);
    assert_true(fx_pending(w->d0, port));
    fx_set_pending(w->d0, port, false);
    domain_shutdown(w->d1, SHUTDOWN_crash); /* a second shutdown changes nothing */
    assert_false(fx_pending(w->d0, port));
    domain_crash(w->d2, "test");
    assert_true(fx_pending(w->d0, port));
    fx_check_consistency(&w->fx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(conformance, world_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(shutdown_raises_dom_exc, world_setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
