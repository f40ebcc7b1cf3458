/* EVTCHNOP conformance: one row per (operation, arguments, prior state), each checked for the
 * return value Xen gives and the state it leaves. The world: d0 privileged with 2 vcpus, d1
 * and d2 unprivileged (2 and 1 vcpus); rows call as d1 vcpu 0 unless they say otherwise.
 * Ports are handed out lowest first, so a row's set-up knows the numbers it gets. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "models/event_fifo.h"
#include "tests/models/fake_xen.h"

union evtchn_arg {
    struct evtchn_bind_interdomain bind_interdomain;
    struct evtchn_bind_virq bind_virq;
    struct evtchn_bind_pirq bind_pirq;
    struct evtchn_close close;
    struct evtchn_send send;
    struct evtchn_status status;
    struct evtchn_alloc_unbound alloc_unbound;
    struct evtchn_bind_ipi bind_ipi;
    struct evtchn_bind_vcpu bind_vcpu;
    struct evtchn_unmask unmask;
    struct evtchn_reset reset;
    struct evtchn_init_control init_control;
    struct evtchn_expand_array expand_array;
    struct evtchn_set_priority set_priority;
    unsigned char raw[32];
};

enum arg_mode { ARG_OK, ARG_UNMAPPED, ARG_COPY_OUT_FAILS };

struct row {
    const char *name;
    void (*setup)(struct fake_xen *fx);
    domid_t caller;
    unsigned cmd;
    union evtchn_arg arg;
    enum arg_mode mode;
    long expect;
    void (*check)(struct fake_xen *fx, const union evtchn_arg *out);
};

#define D(n) (fx->hv.domain[n])
#define V(n, i) (D(n)->vcpu[i])
#define CHN(n, p) evtchn_from_port(D(n), p)

/* ---- set-ups ---- */

static void unbound_d0_for_d1(struct fake_xen *fx)
{
    fx_alloc_unbound(fx, V(0, 0), DOMID_SELF, 1);
}
static void unbound_d0_for_d2(struct fake_xen *fx)
{
    fx_alloc_unbound(fx, V(0, 0), DOMID_SELF, 2);
}
static void unbound_d1_for_self(struct fake_xen *fx)
{
    fx_alloc_unbound(fx, V(1, 0), DOMID_SELF, DOMID_SELF);
}
static void ipi_d0(struct fake_xen *fx)
{
    fx_bind_ipi(fx, V(0, 0), 0);
}
static void unbound_d1(struct fake_xen *fx)
{
    fx_alloc_unbound(fx, V(1, 0), DOMID_SELF, 0);
}
static void ipi_d1(struct fake_xen *fx)
{
    fx_bind_ipi(fx, V(1, 0), 1);
}
static void ipi_d1_vcpu1_running(struct fake_xen *fx)
{
    ipi_d1(fx);
    V(1, 1)->run_state = VCPU_RUNNABLE;
}
static void timer_virq_d1(struct fake_xen *fx)
{
    fx_bind_virq(fx, V(1, 0), VIRQ_TIMER, 0);
}
static void console_virq_d0(struct fake_xen *fx)
{
    fx_bind_virq(fx, V(0, 0), VIRQ_CONSOLE, 0);
}
static void fill_d1(struct fake_xen *fx)
{
    fx_fill_table(fx, V(1, 0));
}

/* d0 port 1 unbound for d1, bound from d1: d1 port 1 <-> d0 port 1. */
static void pair_d1_d0(struct fake_xen *fx)
{
    unbound_d0_for_d1(fx);
    fx_bind_interdomain(fx, V(1, 0), 0, 1);
    fx_set_pending(D(1), 1, false); /* forget the bind-time notification */
}

static void pirq5_d1(struct fake_xen *fx)
{
    struct evtchn_bind_pirq b = {.pirq = 5};

    assert_int_equal(fx_evtchn_op(fx, V(1, 0), EVTCHNOP_bind_pirq, &b, sizeof(b)), 0);
}

/* d1 port 1: unbound for d0, its events for a consumer inside Xen. */
static void xen_attached_d1(struct fake_xen *fx)
{
    assert_int_equal(evtchn_alloc_unbound_xen(D(1), 0, 0), 1);
}

/* The Xen port, then guest ports 2 (IPI) and 3 (VIRQ_TIMER). */
static void xen_attached_and_guest_ports_d1(struct fake_xen *fx)
{
    xen_attached_d1(fx);
    ipi_d1(fx);
    timer_virq_d1(fx);
}

static void argo_virq_d1(struct fake_xen *fx)
{
    fx_bind_virq(fx, V(1, 0), VIRQ_ARGO, 0);
}

static void ipi_pending_masked_d1(struct fake_xen *fx)
{
    ipi_d1(fx);
    fx_set_pending(D(1), 1, true);
    fx_set_mask(D(1), 1, true);
}

static void mask_free_port3_d1(struct fake_xen *fx)
{
    fx_set_mask(D(1), 3, true);
}

static void masked_pending_ipi_d1(struct fake_xen *fx)
{
    fx_bind_ipi(fx, V(1, 0), 0);
    fx_set_mask(D(1), 1, true);
    fx_set_pending(D(1), 1, true);
}

static void three_ports_d1(struct fake_xen *fx)
{
    pair_d1_d0(fx);
    ipi_d1(fx);
    timer_virq_d1(fx);
}

static void pause_d1_three_ports(struct fake_xen *fx)
{
    three_ports_d1(fx);
    D(1)->paused = true;
}

static void full_d1_unbound_d0(struct fake_xen *fx)
{
    fill_d1(fx);
    unbound_d0_for_d1(fx);
}

static void reset_running_d1(struct fake_xen *fx)
{
    D(1)->reset_next_port = 64;
}

/* A reset of d1 preempted after port 64, and ports 1-3 bound behind it since. */
static void reset_running_ports_behind_d1(struct fake_xen *fx)
{
    three_ports_d1(fx);
    reset_running_d1(fx);
}

/* FIFO: control blocks at gfn CTL_GFN (vcpu i at offset i * 128), array pages from ARR_GFN. */
#define CTL_GFN (FX_FIFO_CONTROL_GPA / XEN_PAGE_SIZE)
#define ARR_GFN (FX_FIFO_ARRAY_GPA / XEN_PAGE_SIZE)
#define BAD_GFN (FX_BAD_GPA / XEN_PAGE_SIZE)

static void fifo_d1_vcpu0(struct fake_xen *fx)
{
    assert_int_equal(fx_fifo_init_control(fx, V(1, 0), 0, CTL_GFN, 0), 0);
}
static void fifo_d1(struct fake_xen *fx)
{
    fx_fifo_init(fx, D(1), 1);
}
static void fifo_d1_no_pages(struct fake_xen *fx)
{
    fx_fifo_init(fx, D(1), 0);
}
static void fifo_d1_full_array(struct fake_xen *fx)
{
    fx_fifo_init(fx, D(1), EVTCHN_FIFO_MAX_ARRAY_PAGES);
}
static void fifo_d1_ipi(struct fake_xen *fx)
{
    fifo_d1(fx);
    ipi_d1(fx);
}
/* An IPI on vcpu 0 raised under 2-level, never consumed. */
static void pending_ipi_2l_d1(struct fake_xen *fx)
{
    fx_bind_ipi(fx, V(1, 0), 0);
    fx_set_pending(D(1), 1, true);
}
/* The same, then FIFO with no event-array page yet: the event waits on the port. */
static void pending_ipi_fifo_no_pages_d1(struct fake_xen *fx)
{
    pending_ipi_2l_d1(fx);
    fifo_d1_no_pages(fx);
}

/* ---- checks ---- */

static void expect_state(struct fake_xen *fx, domid_t dom, uint32_t port, enum evtchn_state st)
{
    assert_non_null(CHN(dom, port));
    assert_int_equal(CHN(dom, port)->state, st);
}

static void port1_unbound_for_0(struct fake_xen *fx, const union evtchn_arg *o)
{
    assert_int_equal(o->alloc_unbound.port, 1);
    expect_state(fx, 1, 1, ECS_UNBOUND);
    assert_int_equal(CHN(1, 1)->u.unbound.remote_domid, 0);
}

static void port1_unbound_for_self(struct fake_xen *fx, const union evtchn_arg *o)
{
    (void)o;
    assert_int_equal(CHN(1, 1)->u.unbound.remote_domid, 1);
}

static void d2_port1_free(struct fake_xen *fx, const union evtchn_arg *o)
{
    (void)o;
    expect_state(fx, 2, 1, ECS_FREE);
    assert_int_equal(D(2)->active_evtchns, 0);
}

static void d1_port1_unbound_for_2(struct fake_xen *fx, const union evtchn_arg *o)
{
    assert_int_equal(o->alloc_unbound.port, 1);
    expect_state(fx, 1, 1, ECS_UNBOUND);
    assert_int_equal(CHN(1, 1)->u.unbound.remote_domid, 2);
}

static void d1_port1_free(struct fake_xen *fx, const union evtchn_arg *o)
{
    (void)o;
    expect_state(fx, 1, 1, ECS_FREE);
}

static void interdomain_bound(struct fake_xen *fx, const union evtchn_arg *o)
{
    assert_int_equal(o->bind_interdomain.local_port, 1);
    expect_state(fx, 1, 1, ECS_INTERDOMAIN);
    expect_state(fx, 0, 1, ECS_INTERDOMAIN);
    assert_int_equal(CHN(1, 1)->u.interdomain.remote_domid, 0);
    assert_int_equal(CHN(1, 1)->u.interdomain.remote_port, 1);
    assert_int_equal(CHN(0, 1)->u.interdomain.remote_domid, 1);
    assert_int_equal(CHN(0, 1)->u.interdomain.remote_port, 1);
    /* the binder's new port is raised once, conservatively */
    assert_true(fx_pending(D(1), 1));
    assert_false(fx_pending(D(0), 1));
}

static void remote_still_unbound_for_2(struct fake_xen *fx, const union evtchn_arg *o)
{
    (void)o;
    expect_state(fx, 0, 1, ECS_UNBOUND);
    assert_int_equal(CHN(0, 1)->u.unbound.remote_domid, 2);
    expect_state(fx, 1, 1, ECS_FREE);
}

static void loopback_bound(struct fake_xen *fx, const union evtchn_arg *o)
{
    assert_int_equal(o->bind_interdomain.local_port, 2);
    expect_state(fx, 1, 1, ECS_INTERDOMAIN);
    expect_state(fx, 1, 2, ECS_INTERDOMAIN);
    assert_int_equal(CHN(1, 1)->u.interdomain.remote_port, 2);
    assert_int_equal(CHN(1, 2)->u.interdomain.remote_port, 1);
}

static void d0_unchanged_unbound(struct fake_xen *fx, const union evtchn_arg *o)
{
    (void)o;
    expect_state(fx, 0, 1, ECS_UNBOUND);
}

static void timer_on_vcpu1(struct fake_xen *fx, const union evtchn_arg *o)
{
    assert_int_equal(o->bind_virq.port, 1);
    expect_state(fx, 1, 1, ECS_VIRQ);
    assert_int_equal(CHN(1, 1)->notify_vcpu_id, 1);
    assert_int_equal(CHN(1, 1)->u.virq, VIRQ_TIMER);
    assert_int_equal(V(1, 1)->virq_to_evtchn[VIRQ_TIMER], 1);
    assert_int_equal(V(1, 0)->virq_to_evtchn[VIRQ_TIMER], 0);
}

static void no_virq_bound_d1(struct fake_xen *fx, const union evtchn_arg *o)
{
    (void)o;
    assert_int_equal(V(1, 0)->virq_to_evtchn[VIRQ_CONSOLE], 0);
    assert_int_equal(V(1, 0)->virq_to_evtchn[VIRQ_TIMER], 0);
    expect_state(fx, 1, 1, ECS_FREE);
}

static void full_table_unchanged(struct fake_xen *fx, const union evtchn_arg *o)
{
    (void)o;
    assert_int_equal(D(1)->active_evtchns, HV_DEFAULT_MAX_EVTCHN_PORT);
    assert_int_equal(D(1)->valid_evtchns, HV_DEFAULT_MAX_EVTCHN_PORT + 1);
    assert_int_equal(V(1, 0)->virq_to_evtchn[VIRQ_TIMER], 0);
    assert_int_equal(D(1)->pirq_to_evtchn[5], 0);
}

static void full_table_remote_unbound(struct fake_xen *fx, const union evtchn_arg *o)
{
    full_table_unchanged(fx, o);
    expect_state(fx, 0, 1, ECS_UNBOUND);
    assert_int_equal(CHN(0, 1)->u.unbound.remote_domid, 1);
}

static void console_on_d0(struct fake_xen *fx, const union evtchn_arg *o)
{
    assert_int_equal(o->bind_virq.port, 1);
    assert_int_equal(V(0, 0)->virq_to_evtchn[VIRQ_CONSOLE], 1);
}

static void argo_on_d1_vcpu0(struct fake_xen *fx, const union evtchn_arg *o)
{
    assert_int_equal(o->bind_virq.port, 1);
    expect_state(fx, 1, 1, ECS_VIRQ);
    assert_int_equal(CHN(1, 1)->u.virq, VIRQ_ARGO);
    assert_int_equal(V(1, 0)->virq_to_evtchn[VIRQ_ARGO], 1);
}

static void no_argo_bound_d1(struct fake_xen *fx, const union evtchn_arg *o)
{
    (void)o;
    assert_int_equal(V(1, 0)->virq_to_evtchn[VIRQ_ARGO], 0);
    assert_int_equal(V(1, 1)->virq_to_evtchn[VIRQ_ARGO], 0);
    expect_state(fx, 1, 1, ECS_FREE);
}

static void xenpmu_on_vcpu1(struct fake_xen *fx, const union evtchn_arg *o)
{
    (void)o;
    assert_int_equal(V(1, 1)->virq_to_evtchn[VIRQ_XENPMU], 1);
}

static void pirq5_bound(struct fake_xen *fx, const union evtchn_arg *o)
{
    assert_int_equal(o->bind_pirq.port, 1);
    expect_state(fx, 1, 1, ECS_PIRQ);
    assert_int_equal(CHN(1, 1)->u.pirq, 5);
    assert_int_equal(CHN(1, 1)->notify_vcpu_id, 0);
    assert_int_equal(D(1)->pirq_to_evtchn[5], 1);
}

static void d1_port0_reserved(struct fake_xen *fx, const union evtchn_arg *o)
{
    (void)o;
    expect_state(fx, 1, 0, ECS_RESERVED);
}

static void d1_port1_still_unbound(struct fake_xen *fx, const union evtchn_arg *o)
{
    (void)o;
    expect_state(fx, 1, 1, ECS_UNBOUND);
}

static void peer_back_to_unbound(struct fake_xen *fx, const union evtchn_arg *o)
{
    (void)o;
    expect_state(fx, 1, 1, ECS_FREE);
    expect_state(fx, 0, 1, ECS_UNBOUND);
    assert_int_equal(CHN(0, 1)->u.unbound.remote_domid, 1);
}

static void virq_unhooked(struct fake_xen *fx, const union evtchn_arg *o)
{
    (void)o;
    expect_state(fx, 1, 1, ECS_FREE);
    assert_int_equal(V(1, 0)->virq_to_evtchn[VIRQ_TIMER], 0);
}

static void pirq_unhooked(struct fake_xen *fx, const union evtchn_arg *o)
{
    (void)o;
    expect_state(fx, 1, 1, ECS_FREE);
    assert_int_equal(D(1)->pirq_to_evtchn[5], 0);
}

static void closed_pending_cleared_mask_kept(struct fake_xen *fx, const union evtchn_arg *o)
{
    (void)o;
    expect_state(fx, 1, 1, ECS_FREE);
    assert_int_equal(CHN(1, 1)->notify_vcpu_id, 0);
    assert_false(fx_pending(D(1), 1));
    assert_true(fx_masked(D(1), 1));
}

static void send_counted(struct fake_xen *fx);

static void remote_raised(struct fake_xen *fx, const union evtchn_arg *o)
{
    (void)o;
    send_counted(fx);
    assert_true(fx_pending(D(0), 1));
    assert_int_equal(fx_sel(V(0, 0)), 1);
    assert_int_equal(fx_upcall_pending(V(0, 0)), 1);
    assert_false(fx_pending(D(1), 1));
    assert_int_equal(port_stats(D(1), 1)->sends, 1);
    assert_int_equal(port_stats(D(0), 1)->raised, 1);
}

static void ipi_raised_on_vcpu1(struct fake_xen *fx, const union evtchn_arg *o)
{
    (void)o;
    assert_true(fx_pending(D(1), 1));
    assert_int_equal(fx_upcall_pending(V(1, 1)), 1);
    assert_int_equal(fx_upcall_pending(V(1, 0)), 0);
    assert_int_equal(fx_rec(fx, V(1, 1))->kicks, 1);
}

/* The event waits in shared_info; a down vcpu is neither kicked nor woken. */
static void raised_not_kicked(struct fake_xen *fx, const union evtchn_arg *o)
{
    (void)o;
    assert_true(fx_pending(D(1), 1));
    assert_int_equal(fx_upcall_pending(V(1, 1)), 1);
    assert_int_equal(fx_rec(fx, V(1, 1))->kicks + fx_rec(fx, V(1, 1))->wakes, 0);
}

/* d1's EVTCHNOP_send calls and errors in the hypercall statistics the report prints. */
static const struct hc_counter *d1_send_counter(struct fake_xen *fx)
{
    return &D(1)->stats.hc[__HYPERVISOR_event_channel_op][EVTCHNOP_send];
}

/* Xen accepted the send on port 1: one send counted there, no hypercall error. */
static void send_counted(struct fake_xen *fx)
{
    assert_int_equal(port_stats(D(1), 1)->sends, 1);
    assert_int_equal(d1_send_counter(fx)->calls, 1);
    assert_int_equal(d1_send_counter(fx)->errors, 0);
}

static void send_dropped(struct fake_xen *fx, const union evtchn_arg *o)
{
    (void)o;
    assert_false(fx_pending(D(1), 1));
    assert_int_equal(port_stats(D(1), 1)->dropped, 1);
    send_counted(fx); /* an accepted send, though nobody receives it */
}

/* A refused send is a hypercall error, not a send: no port of d1 counts one, nothing raised. */
static void send_refused(struct fake_xen *fx, const union evtchn_arg *o)
{
    (void)o;
    assert_int_equal(d1_send_counter(fx)->calls, 1);
    assert_int_equal(d1_send_counter(fx)->errors, 1);
    for (uint32_t p = 0; p < D(1)->stats.nr_port_stats; p++) {
        assert_int_equal(port_stats(D(1), p)->sends, 0);
        assert_int_equal(port_stats(D(1), p)->raised, 0);
        assert_int_equal(port_stats(D(1), p)->dropped, 0);
    }
}

static void status_unbound(struct fake_xen *fx, const union evtchn_arg *o)
{
    (void)fx;
    assert_int_equal(o->status.status, EVTCHNSTAT_unbound);
    assert_int_equal(o->status.u.unbound.dom, 0);
    assert_int_equal(o->status.vcpu, 0);
}

static void status_interdomain(struct fake_xen *fx, const union evtchn_arg *o)
{
    (void)fx;
    assert_int_equal(o->status.status, EVTCHNSTAT_interdomain);
    assert_int_equal(o->status.u.interdomain.dom, 0);
    assert_int_equal(o->status.u.interdomain.port, 1);
}

static void status_closed(struct fake_xen *fx, const union evtchn_arg *o)
{
    (void)fx;
    assert_int_equal(o->status.status, EVTCHNSTAT_closed);
}

static void status_virq_timer(struct fake_xen *fx, const union evtchn_arg *o)
{
    (void)fx;
    assert_int_equal(o->status.status, EVTCHNSTAT_virq);
    assert_int_equal(o->status.u.virq, VIRQ_TIMER);
    assert_int_equal(o->status.vcpu, 0);
}

static void status_ipi_vcpu1(struct fake_xen *fx, const union evtchn_arg *o)
{
    (void)fx;
    assert_int_equal(o->status.status, EVTCHNSTAT_ipi);
    assert_int_equal(o->status.vcpu, 1);
}

static void status_pirq(struct fake_xen *fx, const union evtchn_arg *o)
{
    (void)fx;
    assert_int_equal(o->status.status, EVTCHNSTAT_pirq);
    assert_int_equal(o->status.u.pirq, 5);
}

static void ipi_port1_made(struct fake_xen *fx, const union evtchn_arg *o)
{
    assert_int_equal(o->bind_ipi.port, 1);
    expect_state(fx, 1, 1, ECS_IPI);
    assert_int_equal(CHN(1, 1)->notify_vcpu_id, 1);
}

static void d1_port1_on_vcpu1(struct fake_xen *fx, const union evtchn_arg *o)
{
    (void)o;
    assert_int_equal(CHN(1, 1)->notify_vcpu_id, 1);
}

static void d0_port1_on_vcpu1(struct fake_xen *fx, const union evtchn_arg *o)
{
    (void)o;
    assert_int_equal(CHN(0, 1)->notify_vcpu_id, 1);
}

static void d1_port1_on_vcpu0(struct fake_xen *fx, const union evtchn_arg *o)
{
    (void)o;
    assert_int_equal(CHN(1, 1)->notify_vcpu_id, 0);
}

static void unmask_raised(struct fake_xen *fx, const union evtchn_arg *o)
{
    (void)o;
    assert_false(fx_masked(D(1), 1));
    assert_int_equal(fx_sel(V(1, 0)), 1);
    assert_int_equal(fx_upcall_pending(V(1, 0)), 1);
}

static void free_port_still_masked(struct fake_xen *fx, const union evtchn_arg *o)
{
    (void)o;
    assert_true(fx_masked(D(1), 3));
}

static void d1_all_closed(struct fake_xen *fx, const union evtchn_arg *o)
{
    (void)o;
    for (uint32_t p = 1; p < 4; p++)
        expect_state(fx, 1, p, ECS_FREE);
    expect_state(fx, 1, 0, ECS_RESERVED);
    expect_state(fx, 0, 1, ECS_UNBOUND); /* the peer of the closed pair */
    assert_int_equal(D(1)->active_evtchns, 0);
    assert_int_equal(V(1, 0)->virq_to_evtchn[VIRQ_TIMER], 0);
    assert_ptr_equal(D(1)->evtchn_port_ops, &evtchn_port_ops_2l);
    assert_int_equal(D(1)->reset_next_port, 0);
}

static void d1_ports_kept(struct fake_xen *fx, const union evtchn_arg *o)
{
    (void)o;
    assert_int_equal(D(1)->active_evtchns, 3);
}

/* A reset that found guest ports behind it: they stay, no reset runs any more. */
static void d1_ports_kept_reset_over(struct fake_xen *fx, const union evtchn_arg *o)
{
    d1_ports_kept(fx, o);
    assert_int_equal(D(1)->reset_next_port, 0);
}

static void d1_reset_over(struct fake_xen *fx, const union evtchn_arg *o)
{
    (void)o;
    assert_int_equal(D(1)->reset_next_port, 0);
    assert_int_equal(D(1)->active_evtchns, 0);
}

/* The guest ports closed, the Xen-attached port 1 left unbound for d0 and still counted. */
static void d1_xen_port_survives(struct fake_xen *fx, const union evtchn_arg *o)
{
    (void)o;
    expect_state(fx, 1, 1, ECS_UNBOUND);
    assert_true(CHN(1, 1)->xen_consumer);
    assert_int_equal(CHN(1, 1)->u.unbound.remote_domid, 0);
    expect_state(fx, 1, 2, ECS_FREE);
    expect_state(fx, 1, 3, ECS_FREE);
    assert_int_equal(V(1, 0)->virq_to_evtchn[VIRQ_TIMER], 0);
    assert_int_equal(D(1)->active_evtchns, 1);
    assert_int_equal(D(1)->xen_evtchns, 1);
    assert_int_equal(D(1)->reset_next_port, 0);
}

static void d1_on_fifo_vcpu0(struct fake_xen *fx, const union evtchn_arg *o)
{
    assert_int_equal(o->init_control.link_bits, EVTCHN_FIFO_LINK_BITS);
    assert_ptr_equal(D(1)->evtchn_port_ops, &evtchn_port_ops_fifo);
    assert_ptr_equal(V(1, 0)->evtchn_fifo->control_block, fx_gpa(fx, D(1), FX_FIFO_CONTROL_GPA));
    /* every vcpu has queues; only vcpu 0 a control block */
    assert_non_null(V(1, 1)->evtchn_fifo);
    assert_null(V(1, 1)->evtchn_fifo->control_block);
    assert_int_equal(evtchn_fifo_array_pages(D(1)), 0);
    assert_int_equal(domain_max_evtchns(D(1)), HV_DEFAULT_MAX_EVTCHN_PORT + 1);
    assert_int_equal(fx->nr_event_pages, 1);
    assert_int_equal(fx->event_page[0].gpa, FX_FIFO_CONTROL_GPA);
    assert_int_equal(fx->event_page[0].kind, HV_PAGE_FIFO_CONTROL);
    assert_ptr_equal(D(0)->evtchn_port_ops, &evtchn_port_ops_2l); /* only the caller's domain */
}

static void d1_control_block_at_end_of_page(struct fake_xen *fx, const union evtchn_arg *o)
{
    (void)o;
    assert_ptr_equal(V(1, 0)->evtchn_fifo->control_block,
                     fx_gpa(fx, D(1), FX_FIFO_CONTROL_GPA + XEN_PAGE_SIZE - 72));
}

static void d1_vcpu1_control_block(struct fake_xen *fx, const union evtchn_arg *o)
{
    (void)o;
    assert_ptr_equal(V(1, 1)->evtchn_fifo->control_block,
                     fx_gpa(fx, D(1), FX_FIFO_CONTROL_GPA + 128));
    assert_ptr_equal(V(1, 1)->evtchn_fifo->queue[15].head,
                     &V(1, 1)->evtchn_fifo->control_block->head[15]);
}

static void d1_still_2l(struct fake_xen *fx, const union evtchn_arg *o)
{
    (void)o;
    assert_ptr_equal(D(1)->evtchn_port_ops, &evtchn_port_ops_2l);
    assert_null(D(1)->evtchn_fifo);
    assert_null(V(1, 0)->evtchn_fifo);
    assert_null(V(1, 1)->evtchn_fifo);
    assert_int_equal(fx->nr_event_pages, 0);
}

static void d1_vcpu1_still_without_block(struct fake_xen *fx, const union evtchn_arg *o)
{
    (void)o;
    assert_ptr_equal(D(1)->evtchn_port_ops, &evtchn_port_ops_fifo);
    assert_non_null(V(1, 0)->evtchn_fifo->control_block);
    assert_null(V(1, 1)->evtchn_fifo->control_block);
}

static void d1_vcpu0_block_unchanged(struct fake_xen *fx, const union evtchn_arg *o)
{
    (void)o;
    assert_ptr_equal(V(1, 0)->evtchn_fifo->control_block, fx_gpa(fx, D(1), FX_FIFO_CONTROL_GPA));
}

static void d1_on_fifo(struct fake_xen *fx, const union evtchn_arg *o)
{
    (void)o;
    assert_ptr_equal(D(1)->evtchn_port_ops, &evtchn_port_ops_fifo);
}

/* The 2-level pending bit became saved FIFO state: no word to hold it yet. */
static void d1_pending_carried_over(struct fake_xen *fx, const union evtchn_arg *o)
{
    (void)o;
    assert_true(CHN(1, 1)->fifo_pending);
    assert_int_equal(CHN(1, 1)->priority, EVTCHN_FIFO_PRIORITY_DEFAULT);
    assert_false(evtchn_is_pending(D(1), CHN(1, 1)));
    assert_true(evtchn_is_masked(D(1), CHN(1, 1))); /* beyond the array: masked */
}

static void d1_two_pages(struct fake_xen *fx, const union evtchn_arg *o)
{
    (void)o;
    assert_int_equal(evtchn_fifo_array_pages(D(1)), 2);
    assert_ptr_equal(evtchn_fifo_word_from_port(D(1), 2047), fx_fifo_word(fx, D(1), 2047));
    assert_null(evtchn_fifo_word_from_port(D(1), 2048));
    assert_int_equal(fx->event_page[fx->nr_event_pages - 1].kind, HV_PAGE_FIFO_ARRAY);
    assert_int_equal(fx->event_page[fx->nr_event_pages - 1].index, 1);
    assert_int_equal(fx->event_page[fx->nr_event_pages - 1].gpa, FX_FIFO_ARRAY_GPA + XEN_PAGE_SIZE);
}

static void d1_one_page(struct fake_xen *fx, const union evtchn_arg *o)
{
    (void)o;
    assert_int_equal(evtchn_fifo_array_pages(D(1)), 1);
}

static void d1_full_array(struct fake_xen *fx, const union evtchn_arg *o)
{
    (void)o;
    assert_int_equal(evtchn_fifo_array_pages(D(1)), EVTCHN_FIFO_MAX_ARRAY_PAGES);
}

/* The saved event is raised as soon as its word exists: linked at the HEAD of vcpu 0's
 * default queue, READY for that priority, the upcall pending. */
static void d1_saved_event_raised(struct fake_xen *fx, const union evtchn_arg *o)
{
    volatile struct evtchn_fifo_control_block *cb = fx_fifo_control(fx, V(1, 0));
    uint32_t w = *fx_fifo_word(fx, D(1), 1);

    (void)o;
    assert_int_equal(evtchn_fifo_array_pages(D(1)), 1);
    assert_false(CHN(1, 1)->fifo_pending);
    assert_true(w & (1u << EVTCHN_FIFO_PENDING));
    assert_true(w & (1u << EVTCHN_FIFO_LINKED));
    assert_int_equal(cb->head[EVTCHN_FIFO_PRIORITY_DEFAULT], 1);
    assert_int_equal(cb->ready, 1u << EVTCHN_FIFO_PRIORITY_DEFAULT);
    assert_int_equal(fx_upcall_pending(V(1, 0)), 1);
}

static void d1_port1_priority3(struct fake_xen *fx, const union evtchn_arg *o)
{
    (void)o;
    assert_int_equal(CHN(1, 1)->priority, 3);
}

static void d1_port1_priority15(struct fake_xen *fx, const union evtchn_arg *o)
{
    (void)o;
    assert_int_equal(CHN(1, 1)->priority, EVTCHN_FIFO_PRIORITY_MIN);
}

static void d1_port1_priority_default(struct fake_xen *fx, const union evtchn_arg *o)
{
    (void)o;
    assert_int_equal(CHN(1, 1)->priority, EVTCHN_FIFO_PRIORITY_DEFAULT);
}

/* ---- the table ---- */

#define A(member, ...)                                                                             \
    {                                                                                              \
        .member = { __VA_ARGS__ }                                                                  \
    }
#define ROW(name_, setup_, caller_, cmd_, arg_, mode_, expect_, check_)                            \
    {                                                                                              \
#name_, setup_, caller_, EVTCHNOP_##cmd_, arg_, mode_, expect_, check_                     \
    }

static const struct row rows[] = {
    /* alloc_unbound */
    ROW(alloc_unbound_self, NULL, 1, alloc_unbound,
        A(alloc_unbound, .dom = DOMID_SELF, .remote_dom = 0), ARG_OK, 0, port1_unbound_for_0),
    ROW(alloc_unbound_remote_self, NULL, 1, alloc_unbound,
        A(alloc_unbound, .dom = DOMID_SELF, .remote_dom = DOMID_SELF), ARG_OK, 0,
        port1_unbound_for_self),
    ROW(alloc_unbound_unknown_dom, NULL, 1, alloc_unbound, A(alloc_unbound, .dom = 77), ARG_OK,
        -XEN_ESRCH, NULL),
    ROW(alloc_unbound_foreign_unprivileged, NULL, 1, alloc_unbound, A(alloc_unbound, .dom = 2),
        ARG_OK, -XEN_EPERM, d2_port1_free),
    ROW(alloc_unbound_foreign_privileged, NULL, 0, alloc_unbound,
        A(alloc_unbound, .dom = 1, .remote_dom = 2), ARG_OK, 0, d1_port1_unbound_for_2),
    ROW(alloc_unbound_full_table, fill_d1, 1, alloc_unbound, A(alloc_unbound, .dom = DOMID_SELF),
        ARG_OK, -XEN_ENOSPC, full_table_unchanged),
    ROW(alloc_unbound_bad_arg, NULL, 1, alloc_unbound, A(alloc_unbound, .dom = DOMID_SELF),
        ARG_UNMAPPED, -XEN_EFAULT, d1_port1_free),
    ROW(alloc_unbound_copy_out_fails, NULL, 1, alloc_unbound, A(alloc_unbound, .dom = DOMID_SELF),
        ARG_COPY_OUT_FAILS, -XEN_EFAULT, d1_port1_still_unbound),
    /* bind_interdomain */
    ROW(bind_interdomain_ok, unbound_d0_for_d1, 1, bind_interdomain,
        A(bind_interdomain, .remote_dom = 0, .remote_port = 1), ARG_OK, 0, interdomain_bound),
    ROW(bind_interdomain_unknown_dom, NULL, 1, bind_interdomain,
        A(bind_interdomain, .remote_dom = 9, .remote_port = 1), ARG_OK, -XEN_ESRCH, d1_port1_free),
    ROW(bind_interdomain_invalid_port, unbound_d0_for_d1, 1, bind_interdomain,
        A(bind_interdomain, .remote_dom = 0, .remote_port = 5000), ARG_OK, -XEN_EINVAL,
        d1_port1_free),
    ROW(bind_interdomain_unallocated_bucket, unbound_d0_for_d1, 1, bind_interdomain,
        A(bind_interdomain, .remote_dom = 0, .remote_port = 64), ARG_OK, -XEN_EINVAL,
        d1_port1_free),
    ROW(bind_interdomain_not_unbound, ipi_d0, 1, bind_interdomain,
        A(bind_interdomain, .remote_dom = 0, .remote_port = 1), ARG_OK, -XEN_EINVAL, d1_port1_free),
    ROW(bind_interdomain_reserved_for_other, unbound_d0_for_d2, 1, bind_interdomain,
        A(bind_interdomain, .remote_dom = 0, .remote_port = 1), ARG_OK, -XEN_EINVAL,
        remote_still_unbound_for_2),
    ROW(bind_interdomain_remote_port0, NULL, 1, bind_interdomain,
        A(bind_interdomain, .remote_dom = 0, .remote_port = 0), ARG_OK, -XEN_EINVAL, d1_port1_free),
    ROW(bind_interdomain_loopback, unbound_d1_for_self, 1, bind_interdomain,
        A(bind_interdomain, .remote_dom = DOMID_SELF, .remote_port = 1), ARG_OK, 0, loopback_bound),
    ROW(bind_interdomain_full_table, full_d1_unbound_d0, 1, bind_interdomain,
        A(bind_interdomain, .remote_dom = 0, .remote_port = 1), ARG_OK, -XEN_ENOSPC,
        full_table_remote_unbound),
    ROW(bind_interdomain_bad_arg, unbound_d0_for_d1, 1, bind_interdomain,
        A(bind_interdomain, .remote_dom = 0, .remote_port = 1), ARG_UNMAPPED, -XEN_EFAULT,
        d0_unchanged_unbound),
    /* bind_virq */
    ROW(bind_virq_timer_vcpu1, NULL, 1, bind_virq, A(bind_virq, .virq = VIRQ_TIMER, .vcpu = 1),
        ARG_OK, 0, timer_on_vcpu1),
    ROW(bind_virq_out_of_range, NULL, 1, bind_virq, A(bind_virq, .virq = NR_VIRQS), ARG_OK,
        -XEN_EINVAL, no_virq_bound_d1),
    ROW(bind_virq_global_on_vcpu1, NULL, 0, bind_virq,
        A(bind_virq, .virq = VIRQ_CONSOLE, .vcpu = 1), ARG_OK, -XEN_EINVAL, NULL),
    ROW(bind_virq_bad_vcpu, NULL, 1, bind_virq, A(bind_virq, .virq = VIRQ_TIMER, .vcpu = 5), ARG_OK,
        -XEN_ENOENT, no_virq_bound_d1),
    ROW(bind_virq_already_bound, timer_virq_d1, 1, bind_virq, A(bind_virq, .virq = VIRQ_TIMER),
        ARG_OK, -XEN_EEXIST, NULL),
    ROW(bind_virq_global_not_handler, NULL, 1, bind_virq, A(bind_virq, .virq = VIRQ_CONSOLE),
        ARG_OK, -XEN_EBUSY, no_virq_bound_d1),
    ROW(bind_virq_global_handler, NULL, 0, bind_virq, A(bind_virq, .virq = VIRQ_CONSOLE), ARG_OK, 0,
        console_on_d0),
    /* Xen 4.21+: VIRQ_ARGO is per-domain: any domain binds it, on vcpu 0 only */
    ROW(bind_virq_argo_any_domain, NULL, 1, bind_virq, A(bind_virq, .virq = VIRQ_ARGO), ARG_OK, 0,
        argo_on_d1_vcpu0),
    ROW(bind_virq_argo_on_vcpu1, NULL, 1, bind_virq, A(bind_virq, .virq = VIRQ_ARGO, .vcpu = 1),
        ARG_OK, -XEN_EINVAL, no_argo_bound_d1),
    ROW(bind_virq_argo_already_bound, argo_virq_d1, 1, bind_virq, A(bind_virq, .virq = VIRQ_ARGO),
        ARG_OK, -XEN_EEXIST, NULL),
    ROW(bind_virq_xenpmu_is_per_vcpu, NULL, 1, bind_virq,
        A(bind_virq, .virq = VIRQ_XENPMU, .vcpu = 1), ARG_OK, 0, xenpmu_on_vcpu1),
    ROW(bind_virq_full_table, fill_d1, 1, bind_virq, A(bind_virq, .virq = VIRQ_TIMER), ARG_OK,
        -XEN_ENOSPC, full_table_unchanged),
    ROW(bind_virq_bad_arg, NULL, 1, bind_virq, A(bind_virq, .virq = VIRQ_TIMER), ARG_UNMAPPED,
        -XEN_EFAULT, no_virq_bound_d1),
    /* bind_pirq */
    ROW(bind_pirq_ok, NULL, 1, bind_pirq, A(bind_pirq, .pirq = 5), ARG_OK, 0, pirq5_bound),
    ROW(bind_pirq_out_of_range, NULL, 1, bind_pirq, A(bind_pirq, .pirq = HV_DEFAULT_NR_PIRQS),
        ARG_OK, -XEN_EINVAL, d1_port1_free),
    ROW(bind_pirq_already_bound, pirq5_d1, 1, bind_pirq, A(bind_pirq, .pirq = 5), ARG_OK,
        -XEN_EEXIST, NULL),
    ROW(bind_pirq_full_table, fill_d1, 1, bind_pirq, A(bind_pirq, .pirq = 5), ARG_OK, -XEN_ENOSPC,
        full_table_unchanged),
    ROW(bind_pirq_bad_arg, NULL, 1, bind_pirq, A(bind_pirq, .pirq = 5), ARG_UNMAPPED, -XEN_EFAULT,
        d1_port1_free),
    /* close */
    ROW(close_unbound, unbound_d1, 1, close, A(close, .port = 1), ARG_OK, 0, d1_port1_free),
    ROW(close_invalid_port, NULL, 1, close, A(close, .port = 5000), ARG_OK, -XEN_EINVAL, NULL),
    ROW(close_free_port, NULL, 1, close, A(close, .port = 3), ARG_OK, -XEN_EINVAL, NULL),
    ROW(close_reserved_port0, NULL, 1, close, A(close, .port = 0), ARG_OK, -XEN_EINVAL,
        d1_port0_reserved),
    ROW(close_xen_attached, xen_attached_d1, 1, close, A(close, .port = 1), ARG_OK, -XEN_EINVAL,
        d1_port1_still_unbound),
    ROW(close_interdomain_peer_unbound, pair_d1_d0, 1, close, A(close, .port = 1), ARG_OK, 0,
        peer_back_to_unbound),
    ROW(close_virq_unhooks, timer_virq_d1, 1, close, A(close, .port = 1), ARG_OK, 0, virq_unhooked),
    ROW(close_pirq_unhooks, pirq5_d1, 1, close, A(close, .port = 1), ARG_OK, 0, pirq_unhooked),
    ROW(close_clears_pending_keeps_mask, ipi_pending_masked_d1, 1, close, A(close, .port = 1),
        ARG_OK, 0, closed_pending_cleared_mask_kept),
    ROW(close_bad_arg, unbound_d1, 1, close, A(close, .port = 1), ARG_UNMAPPED, -XEN_EFAULT,
        d1_port1_still_unbound),
    /* send */
    ROW(send_interdomain, pair_d1_d0, 1, send, A(send, .port = 1), ARG_OK, 0, remote_raised),
    ROW(send_ipi, ipi_d1_vcpu1_running, 1, send, A(send, .port = 1), ARG_OK, 0,
        ipi_raised_on_vcpu1),
    ROW(send_ipi_to_down_vcpu, ipi_d1, 1, send, A(send, .port = 1), ARG_OK, 0, raised_not_kicked),
    ROW(send_unbound_dropped, unbound_d1, 1, send, A(send, .port = 1), ARG_OK, 0, send_dropped),
    ROW(send_invalid_port, NULL, 1, send, A(send, .port = 4096), ARG_OK, -XEN_EINVAL, send_refused),
    ROW(send_virq_port, timer_virq_d1, 1, send, A(send, .port = 1), ARG_OK, -XEN_EINVAL,
        send_refused),
    ROW(send_pirq_port, pirq5_d1, 1, send, A(send, .port = 1), ARG_OK, -XEN_EINVAL, send_refused),
    ROW(send_xen_attached, xen_attached_d1, 1, send, A(send, .port = 1), ARG_OK, -XEN_EINVAL,
        send_refused),
    ROW(send_free_port, NULL, 1, send, A(send, .port = 2), ARG_OK, -XEN_EINVAL, send_refused),
    ROW(send_reserved_port0, NULL, 1, send, A(send, .port = 0), ARG_OK, -XEN_EINVAL, send_refused),
    ROW(send_bad_arg, ipi_d1, 1, send, A(send, .port = 1), ARG_UNMAPPED, -XEN_EFAULT, NULL),
    /* status */
    ROW(status_unbound, unbound_d1, 1, status, A(status, .dom = DOMID_SELF, .port = 1), ARG_OK, 0,
        status_unbound),
    ROW(status_interdomain, pair_d1_d0, 1, status, A(status, .dom = 1, .port = 1), ARG_OK, 0,
        status_interdomain),
    ROW(status_virq, timer_virq_d1, 1, status, A(status, .dom = DOMID_SELF, .port = 1), ARG_OK, 0,
        status_virq_timer),
    ROW(status_ipi, ipi_d1, 1, status, A(status, .dom = DOMID_SELF, .port = 1), ARG_OK, 0,
        status_ipi_vcpu1),
    ROW(status_pirq, pirq5_d1, 1, status, A(status, .dom = DOMID_SELF, .port = 1), ARG_OK, 0,
        status_pirq),
    ROW(status_reserved_is_closed, NULL, 1, status, A(status, .dom = DOMID_SELF, .port = 0), ARG_OK,
        0, status_closed),
    ROW(status_free_is_closed, NULL, 1, status, A(status, .dom = DOMID_SELF, .port = 7), ARG_OK, 0,
        status_closed),
    ROW(status_unknown_dom, NULL, 1, status, A(status, .dom = 55), ARG_OK, -XEN_ESRCH, NULL),
    ROW(status_invalid_port, NULL, 1, status, A(status, .dom = DOMID_SELF, .port = 64), ARG_OK,
        -XEN_EINVAL, NULL),
    ROW(status_foreign_unprivileged, NULL, 1, status, A(status, .dom = 0, .port = 0), ARG_OK,
        -XEN_EPERM, NULL),
    ROW(status_foreign_invalid_before_perm, NULL, 1, status, A(status, .dom = 0, .port = 999),
        ARG_OK, -XEN_EINVAL, NULL),
    ROW(status_foreign_privileged, unbound_d1, 0, status, A(status, .dom = 1, .port = 1), ARG_OK, 0,
        status_unbound),
    ROW(status_bad_arg, NULL, 1, status, A(status, .dom = DOMID_SELF), ARG_UNMAPPED, -XEN_EFAULT,
        NULL),
    ROW(status_copy_out_fails, NULL, 1, status, A(status, .dom = DOMID_SELF), ARG_COPY_OUT_FAILS,
        -XEN_EFAULT, NULL),
    /* bind_ipi */
    ROW(bind_ipi_ok, NULL, 1, bind_ipi, A(bind_ipi, .vcpu = 1), ARG_OK, 0, ipi_port1_made),
    ROW(bind_ipi_bad_vcpu, NULL, 1, bind_ipi, A(bind_ipi, .vcpu = 2), ARG_OK, -XEN_ENOENT,
        d1_port1_free),
    ROW(bind_ipi_full_table, fill_d1, 1, bind_ipi, A(bind_ipi, .vcpu = 0), ARG_OK, -XEN_ENOSPC,
        full_table_unchanged),
    ROW(bind_ipi_bad_arg, NULL, 1, bind_ipi, A(bind_ipi, .vcpu = 0), ARG_UNMAPPED, -XEN_EFAULT,
        d1_port1_free),
    /* bind_vcpu */
    ROW(bind_vcpu_unbound, unbound_d1, 1, bind_vcpu, A(bind_vcpu, .port = 1, .vcpu = 1), ARG_OK, 0,
        d1_port1_on_vcpu1),
    ROW(bind_vcpu_interdomain, pair_d1_d0, 1, bind_vcpu, A(bind_vcpu, .port = 1, .vcpu = 1), ARG_OK,
        0, d1_port1_on_vcpu1),
    ROW(bind_vcpu_pirq, pirq5_d1, 1, bind_vcpu, A(bind_vcpu, .port = 1, .vcpu = 1), ARG_OK, 0,
        d1_port1_on_vcpu1),
    ROW(bind_vcpu_global_virq, console_virq_d0, 0, bind_vcpu, A(bind_vcpu, .port = 1, .vcpu = 1),
        ARG_OK, 0, d0_port1_on_vcpu1),
    ROW(bind_vcpu_per_domain_virq, argo_virq_d1, 1, bind_vcpu, A(bind_vcpu, .port = 1, .vcpu = 1),
        ARG_OK, 0, d1_port1_on_vcpu1),
    ROW(bind_vcpu_per_vcpu_virq, timer_virq_d1, 1, bind_vcpu, A(bind_vcpu, .port = 1, .vcpu = 1),
        ARG_OK, -XEN_EINVAL, d1_port1_on_vcpu0),
    ROW(bind_vcpu_ipi, ipi_d1, 1, bind_vcpu, A(bind_vcpu, .port = 1, .vcpu = 0), ARG_OK,
        -XEN_EINVAL, d1_port1_on_vcpu1),
    ROW(bind_vcpu_free_port, NULL, 1, bind_vcpu, A(bind_vcpu, .port = 1, .vcpu = 1), ARG_OK,
        -XEN_EINVAL, NULL),
    ROW(bind_vcpu_xen_attached, xen_attached_d1, 1, bind_vcpu, A(bind_vcpu, .port = 1, .vcpu = 1),
        ARG_OK, -XEN_EINVAL, d1_port1_on_vcpu0),
    ROW(bind_vcpu_bad_vcpu, unbound_d1, 1, bind_vcpu, A(bind_vcpu, .port = 1, .vcpu = 2), ARG_OK,
        -XEN_ENOENT, d1_port1_on_vcpu0),
    ROW(bind_vcpu_bad_vcpu_before_port, NULL, 1, bind_vcpu, A(bind_vcpu, .port = 9999, .vcpu = 7),
        ARG_OK, -XEN_ENOENT, NULL),
    ROW(bind_vcpu_invalid_port, NULL, 1, bind_vcpu, A(bind_vcpu, .port = 9999, .vcpu = 1), ARG_OK,
        -XEN_EINVAL, NULL),
    ROW(bind_vcpu_bad_arg, unbound_d1, 1, bind_vcpu, A(bind_vcpu, .port = 1, .vcpu = 1),
        ARG_UNMAPPED, -XEN_EFAULT, d1_port1_on_vcpu0),
    /* unmask */
    ROW(unmask_reraises_masked_edge, masked_pending_ipi_d1, 1, unmask, A(unmask, .port = 1), ARG_OK,
        0, unmask_raised),
    ROW(unmask_free_port_untouched, mask_free_port3_d1, 1, unmask, A(unmask, .port = 3), ARG_OK, 0,
        free_port_still_masked),
    ROW(unmask_invalid_port, NULL, 1, unmask, A(unmask, .port = 64), ARG_OK, -XEN_EINVAL, NULL),
    ROW(unmask_bad_arg, NULL, 1, unmask, A(unmask, .port = 1), ARG_UNMAPPED, -XEN_EFAULT, NULL),
    /* reset */
    ROW(reset_self, three_ports_d1, 1, reset, A(reset, .dom = DOMID_SELF), ARG_OK, 0,
        d1_all_closed),
    ROW(reset_unknown_dom, NULL, 1, reset, A(reset, .dom = 99), ARG_OK, -XEN_ESRCH, NULL),
    ROW(reset_foreign_unprivileged, three_ports_d1, 2, reset, A(reset, .dom = 1), ARG_OK,
        -XEN_EPERM, d1_ports_kept),
    ROW(reset_foreign_not_paused, three_ports_d1, 0, reset, A(reset, .dom = 1), ARG_OK, -XEN_EINVAL,
        d1_ports_kept),
    ROW(reset_foreign_paused, pause_d1_three_ports, 0, reset, A(reset, .dom = 1), ARG_OK, 0,
        d1_all_closed),
    ROW(reset_already_running, reset_running_d1, 1, reset, A(reset, .dom = DOMID_SELF), ARG_OK,
        -XEN_EBUSY, NULL),
    ROW(reset_cont_without_reset, NULL, 1, reset_cont, A(reset, .dom = DOMID_SELF), ARG_OK,
        -XEN_EBUSY, NULL),
    ROW(reset_cont_resumes, reset_running_d1, 1, reset_cont, A(reset, .dom = DOMID_SELF), ARG_OK, 0,
        d1_reset_over),
    ROW(reset_cont_ports_behind, reset_running_ports_behind_d1, 1, reset_cont,
        A(reset, .dom = DOMID_SELF), ARG_OK, -XEN_EAGAIN, d1_ports_kept_reset_over),
    ROW(reset_keeps_xen_attached, xen_attached_and_guest_ports_d1, 1, reset,
        A(reset, .dom = DOMID_SELF), ARG_OK, 0, d1_xen_port_survives),
    ROW(reset_bad_arg, three_ports_d1, 1, reset, A(reset, .dom = DOMID_SELF), ARG_UNMAPPED,
        -XEN_EFAULT, d1_ports_kept),
    /* init_control (FIFO) */
    ROW(init_control_ok, NULL, 1, init_control,
        A(init_control, .control_gfn = CTL_GFN, .offset = 0, .vcpu = 0), ARG_OK, 0,
        d1_on_fifo_vcpu0),
    ROW(init_control_last_offset, NULL, 1, init_control,
        A(init_control, .control_gfn = CTL_GFN, .offset = XEN_PAGE_SIZE - 72), ARG_OK, 0,
        d1_control_block_at_end_of_page),
    ROW(init_control_second_vcpu, fifo_d1_vcpu0, 1, init_control,
        A(init_control, .control_gfn = CTL_GFN, .offset = 128, .vcpu = 1), ARG_OK, 0,
        d1_vcpu1_control_block),
    ROW(init_control_bad_vcpu, NULL, 1, init_control,
        A(init_control, .control_gfn = CTL_GFN, .vcpu = 2), ARG_OK, -XEN_ENOENT, d1_still_2l),
    ROW(init_control_bad_vcpu_before_offset, NULL, 1, init_control,
        A(init_control, .control_gfn = CTL_GFN, .offset = 3, .vcpu = 9), ARG_OK, -XEN_ENOENT,
        d1_still_2l),
    ROW(init_control_offset_crosses_page, NULL, 1, init_control,
        A(init_control, .control_gfn = CTL_GFN, .offset = XEN_PAGE_SIZE - 64), ARG_OK, -XEN_EINVAL,
        d1_still_2l),
    ROW(init_control_offset_unaligned, NULL, 1, init_control,
        A(init_control, .control_gfn = CTL_GFN, .offset = 4), ARG_OK, -XEN_EINVAL, d1_still_2l),
    ROW(init_control_offset_huge, NULL, 1, init_control,
        A(init_control, .control_gfn = CTL_GFN, .offset = 0xfffffff8u), ARG_OK, -XEN_EINVAL,
        d1_still_2l),
    ROW(init_control_twice, fifo_d1_vcpu0, 1, init_control,
        A(init_control, .control_gfn = CTL_GFN, .offset = 256, .vcpu = 0), ARG_OK, -XEN_EINVAL,
        d1_vcpu0_block_unchanged),
    ROW(init_control_bad_gfn, NULL, 1, init_control, A(init_control, .control_gfn = BAD_GFN),
        ARG_OK, -XEN_EINVAL, d1_still_2l),
    ROW(init_control_gfn_overflows, NULL, 1, init_control,
        A(init_control, .control_gfn = UINT64_MAX), ARG_OK, -XEN_EINVAL, d1_still_2l),
    ROW(init_control_bad_gfn_second_vcpu, fifo_d1_vcpu0, 1, init_control,
        A(init_control, .control_gfn = BAD_GFN, .vcpu = 1), ARG_OK, -XEN_EINVAL,
        d1_vcpu1_still_without_block),
    ROW(init_control_carries_2l_pending, pending_ipi_2l_d1, 1, init_control,
        A(init_control, .control_gfn = CTL_GFN), ARG_OK, 0, d1_pending_carried_over),
    ROW(init_control_bad_arg, NULL, 1, init_control, A(init_control, .control_gfn = CTL_GFN),
        ARG_UNMAPPED, -XEN_EFAULT, d1_still_2l),
    ROW(init_control_copy_out_fails, NULL, 1, init_control, A(init_control, .control_gfn = CTL_GFN),
        ARG_COPY_OUT_FAILS, -XEN_EFAULT, d1_on_fifo),
    /* expand_array */
    ROW(expand_array_2l, NULL, 1, expand_array, A(expand_array, .array_gfn = ARR_GFN), ARG_OK,
        -XEN_EOPNOTSUPP, d1_still_2l),
    ROW(expand_array_ok, fifo_d1, 1, expand_array, A(expand_array, .array_gfn = ARR_GFN + 1),
        ARG_OK, 0, d1_two_pages),
    ROW(expand_array_raises_saved_event, pending_ipi_fifo_no_pages_d1, 1, expand_array,
        A(expand_array, .array_gfn = ARR_GFN), ARG_OK, 0, d1_saved_event_raised),
    ROW(expand_array_bad_gfn, fifo_d1, 1, expand_array, A(expand_array, .array_gfn = BAD_GFN),
        ARG_OK, -XEN_EINVAL, d1_one_page),
    ROW(expand_array_full, fifo_d1_full_array, 1, expand_array,
        A(expand_array, .array_gfn = ARR_GFN), ARG_OK, -XEN_ENOSPC, d1_full_array),
    ROW(expand_array_full_before_gfn, fifo_d1_full_array, 1, expand_array,
        A(expand_array, .array_gfn = BAD_GFN), ARG_OK, -XEN_ENOSPC, d1_full_array),
    ROW(expand_array_bad_arg, fifo_d1, 1, expand_array, A(expand_array, .array_gfn = ARR_GFN + 1),
        ARG_UNMAPPED, -XEN_EFAULT, d1_one_page),
    /* set_priority */
    ROW(set_priority_2l, ipi_d1, 1, set_priority, A(set_priority, .port = 1, .priority = 3), ARG_OK,
        -XEN_ENOSYS, d1_port1_priority_default),
    ROW(set_priority_ok, fifo_d1_ipi, 1, set_priority, A(set_priority, .port = 1, .priority = 3),
        ARG_OK, 0, d1_port1_priority3),
    ROW(set_priority_lowest, fifo_d1_ipi, 1, set_priority,
        A(set_priority, .port = 1, .priority = EVTCHN_FIFO_PRIORITY_MIN), ARG_OK, 0,
        d1_port1_priority15),
    ROW(set_priority_out_of_range, fifo_d1_ipi, 1, set_priority,
        A(set_priority, .port = 1, .priority = EVTCHN_FIFO_PRIORITY_MIN + 1), ARG_OK, -XEN_EINVAL,
        d1_port1_priority_default),
    ROW(set_priority_free_port, fifo_d1, 1, set_priority, A(set_priority, .port = 5, .priority = 2),
        ARG_OK, 0, NULL),
    ROW(set_priority_invalid_port, NULL, 1, set_priority, A(set_priority, .port = 64), ARG_OK,
        -XEN_EINVAL, NULL),
    ROW(set_priority_invalid_port_fifo, fifo_d1, 1, set_priority,
        A(set_priority, .port = 64, .priority = 99), ARG_OK, -XEN_EINVAL, NULL),
    ROW(set_priority_bad_arg, NULL, 1, set_priority, A(set_priority, .port = 1), ARG_UNMAPPED,
        -XEN_EFAULT, NULL),
    /* unknown commands */
    {"unknown_cmd_15", NULL, 1, 15, {.raw = {0}}, ARG_OK, -XEN_ENOSYS, NULL},
    {"unknown_cmd_huge", NULL, 1, 0x80000000u, {.raw = {0}}, ARG_OK, -XEN_ENOSYS, NULL},
};
#define NR_ROWS (sizeof(rows) / sizeof(rows[0]))

_Static_assert(NR_ROWS >= 60, "the conformance table covers at least 60 cases");

/* fx first: fx_teardown frees the whole context. */
struct ctx {
    struct fake_xen fx;
    const struct row *row;
};

static int world_setup(void **state)
{
    struct ctx *c = test_calloc(1, sizeof(*c));

    assert_non_null(c);
    c->row = *state;
    fx_init(&c->fx);
    fx_domain(&c->fx, 0, true, 2, 0, 0);
    fx_domain(&c->fx, 1, false, 2, 0, 0);
    fx_domain(&c->fx, 2, false, 1, 0, 0);
    *state = c;
    return 0;
}

static uint64_t row_arg_gpa(struct fake_xen *fx, const struct row *r)
{
    return fx_arg_gpa(fx, r->mode == ARG_UNMAPPED, r->mode == ARG_COPY_OUT_FAILS);
}

static void run_row(void **state)
{
    struct ctx *c = *state;
    struct fake_xen *fx = &c->fx;
    const struct row *r = c->row;
    union evtchn_arg out;
    struct vcpu *v;
    long rc;

    if (r->setup)
        r->setup(fx);
    v = V(r->caller, 0);
    memcpy(fx_gpa(fx, v->domain, FX_ARG_GPA), &r->arg, sizeof(r->arg));
    rc = fx_hypercall(v, __HYPERVISOR_event_channel_op, r->cmd, row_arg_gpa(fx, r), 0);
    fx->fail_at = 0;
    assert_int_equal(rc, r->expect);
    memcpy(&out, fx_gpa(fx, v->domain, FX_ARG_GPA), sizeof(out));
    if (r->check)
        r->check(fx, &out);
}

int main(void)
{
    struct CMUnitTest tests[NR_ROWS];

    for (size_t i = 0; i < NR_ROWS; i++)
        tests[i] =
            (struct CMUnitTest){rows[i].name, run_row, world_setup, fx_teardown, (void *)&rows[i]};
    return _cmocka_run_group_tests("evtchn_conformance", tests, NR_ROWS, NULL, NULL);
}
