/* XSA-343 (https://xenbits.xen.org/xsa/advisory-343.html): EVTCHNOP_reset raced with everything
 * else a domain's other vcpus and other domains do to its ports: the ops table and the port
 * limit changed under concurrent senders, and a reset could succeed while another vcpu opened
 * ports. The model is single-threaded, but a reset is preemptible: between its steps (every
 * continuation, EVTCHNOP_reset_cont) anything may run. Each row below runs the reset with the
 * caller's events arriving all along, so that it stops at every multiple of 64 it reaches with
 * ports closed behind it, and at every stop runs its operations from d1's vcpu 1, dom0 and d2,
 * then checks the whole port table (fx_check_consistency) and that everything behind the reset
 * is closed but for Xen-attached ports and the ports opened meanwhile.
 *
 * What the fixed Xen (4.22's evtchn_reset) does, and the rows expect:
 * - the reset ends once no guest port remains, or at the last valid port;
 * - a port opened behind the reset keeps it from succeeding: -EAGAIN, the ABI left as it was
 *   (a guest then resets again, which succeeds);
 * - otherwise it returns 0 with only Xen-attached ports left, and the domain is on 2-level;
 * - a new reset while one runs is -EBUSY, a foreign one of a running domain -EINVAL.
 * Every row runs under 2-level, 3-level (reset switches it back to 2-level) and FIFO.
 *
 * The world: d0 privileged (2 vcpus), d1 the domain reset (2 vcpus), d2 another guest. d1 holds
 * a Xen-attached port (1), VIRQs (per-vcpu, per-domain), a PIRQ, IPIs, and interdomain
 * channels both ways with d0 and d2, some pending, some masked. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "models/event_3l.h"
#include "models/event_fifo.h"
#include "tests/models/fake_xen.h"

enum abi { ABI_2L, ABI_3L, ABI_FIFO };

/* What runs at every stop of the reset. Parts that d1's own vcpu would run are skipped while
 * a foreign reset keeps d1 paused. */
enum {
    OP_SEND_PEER = 1u << 0,     /* d0 and d2 send on every port they have (towards d1) */
    OP_SEND_SELF = 1u << 1,     /* d1 sends on every port; Xen raises d1's VIRQs and PIRQ */
    OP_UNMASK = 1u << 2,        /* d1 unmasks every port, and one past the last */
    OP_BIND_IPI = 1u << 3,      /* d1 opens an IPI */
    OP_BIND_VIRQ = 1u << 4,     /* d1 binds VIRQ_TIMER on vcpu 1, VIRQ_DEBUG on vcpu 0 */
    OP_ALLOC_UNBOUND = 1u << 5, /* d1 offers a port to d2 */
    /* d1 binds again the d2 ports its closed ends offered back; d2 binds the ports d1 offered
     * it that the reset has not reached */
    OP_BIND_INTERDOMAIN = 1u << 6,
    /* d1 closes ports ahead of the reset (and tries its Xen port and a freed one); d2 closes a
     * channel to d1 */
    OP_CLOSE = 1u << 7,
    OP_RESET_AGAIN = 1u << 8, /* d1, d0 and d2 try to reset d1 again */
    OP_DOM0_ALLOC = 1u << 9,  /* dom0 allocates a port in d1, offered to itself */
    OP_ALL = (1u << 10) - 1,
};

struct row {
    const char *name;
    enum abi abi;
    bool foreign; /* d0 resets d1, paused; else d1's vcpu 0 resets itself */
    unsigned ops;
    long e_rc; /* the reset's result */
};

#define ROW(...)                                                                                   \
    {                                                                                              \
        __VA_ARGS__                                                                                \
    }
#define ABI_ROWS(abi, tag)                                                                         \
    ROW(tag "_send_peer", abi, false, OP_SEND_PEER, 0),                                            \
        ROW(tag "_send_self", abi, false, OP_SEND_SELF, 0),                                        \
        ROW(tag "_unmask", abi, false, OP_UNMASK, 0),                                              \
        ROW(tag "_bind_ipi", abi, false, OP_BIND_IPI, -XEN_EAGAIN),                                \
        ROW(tag "_bind_virq", abi, false, OP_BIND_VIRQ, -XEN_EAGAIN),                              \
        ROW(tag "_alloc_unbound", abi, false, OP_ALLOC_UNBOUND, -XEN_EAGAIN),                      \
        ROW(tag "_bind_interdomain", abi, false, OP_BIND_INTERDOMAIN, -XEN_EAGAIN),                \
        ROW(tag "_close", abi, false, OP_CLOSE, 0),                                                \
        ROW(tag "_reset_again", abi, false, OP_RESET_AGAIN, 0),                                    \
        ROW(tag "_everything", abi, false, OP_ALL, -XEN_EAGAIN),                                   \
        ROW(tag "_foreign_peers", abi, true, OP_ALL & ~OP_DOM0_ALLOC, 0),                          \
        ROW(tag "_foreign_dom0_alloc", abi, true, OP_ALL, -XEN_EAGAIN)

static const struct row rows[] = {
    ABI_ROWS(ABI_2L, "2l"),
    ABI_ROWS(ABI_3L, "3l"),
    ABI_ROWS(ABI_FIFO, "fifo"),
};

#define NR_ROWS (sizeof(rows) / sizeof(rows[0]))
#define NR_CHANNELS 60u /* rounds of set-up: 5 ports of d1 each, about 300 in all */
#define PIRQ 5u

struct world {
    struct fake_xen fx; /* first: the teardown destroys it */
    const struct row *row;
    struct domain *d0, *d1, *d2;
    struct vcpu *caller;
    uint32_t last_set_up;   /* d1's highest port before the reset */
    bool opened[1024];      /* d1's ports the interleaved operations opened */
    uint32_t reset_at;      /* where the reset stopped last (0: not yet) */
    unsigned opened_behind; /* ports opened behind the reset */
    unsigned opened_ahead;  /* ports opened at or ahead of where the reset stopped */
    unsigned peer_binds;    /* d2's binds to ports d1 offered it, ahead of the reset */
    unsigned closes_ahead;  /* ports d1 closed ahead of the reset */
};

/* ---- set-up ---- */

static void mask_port(struct world *w, uint32_t port)
{
    switch (w->row->abi) {
    case ABI_3L:
        fx_3l_set_mask(&w->fx, w->d1, port, true);
        break;
    case ABI_FIFO:
        *fx_fifo_word(&w->fx, w->d1, port) |= 1u << EVTCHN_FIFO_MASKED;
        break;
    default:
        fx_set_mask(w->d1, port, true);
        break;
    }
}

static void world_build(struct world *w)
{
    struct fake_xen *fx = &w->fx;
    struct vcpu *v;
    struct evtchn_bind_pirq bp = {.pirq = PIRQ};

    fx_init(fx);
    w->d0 = fx_domain(fx, 0, true, 2, 0, 0);
    w->d1 = fx_domain(fx, 1, false, 2, 0, 0);
    w->d2 = fx_domain(fx, 2, false, 1, 0, 0);
    w->d0->vcpu[1]->run_state = VCPU_RUNNABLE;
    w->d1->vcpu[1]->run_state = VCPU_RUNNABLE;
    v = w->d1->vcpu[0];
    if (w->row->abi == ABI_3L)
        fx_3l_init(fx, w->d1);
    else if (w->row->abi == ABI_FIFO)
        fx_fifo_init(fx, w->d1, 1);
    assert_int_equal(evtchn_alloc_unbound_xen(w->d1, 0, 0), 1);
    fx_bind_virq(fx, v, VIRQ_TIMER, 0);
    fx_bind_virq(fx, v, VIRQ_TIMER, 1);
    fx_bind_virq(fx, v, VIRQ_ARGO, 0);
    assert_int_equal(fx_evtchn_op(fx, v, EVTCHNOP_bind_pirq, &bp, sizeof(bp)), 0);
    for (unsigned k = 0; k < NR_CHANNELS; k++) {
        uint32_t offered = fx_alloc_unbound(fx, v, DOMID_SELF, 2);

        fx_bind_ipi(fx, v, k % 2);
        if (k % 2) /* d2 -> d1; the others stay offered, for d2 to bind during the reset */
            fx_bind_interdomain(fx, w->d2->vcpu[0], 1, offered);
        fx_bind_interdomain(fx, v, 2, fx_alloc_unbound(fx, w->d2->vcpu[0], DOMID_SELF, 1));
        fx_bind_interdomain(fx, v, 0, fx_alloc_unbound(fx, w->d0->vcpu[0], DOMID_SELF, 1));
        fx_alloc_unbound(fx, v, DOMID_SELF, 0);
    }
    w->last_set_up = w->d1->valid_evtchns - 1;
    while (evtchn_from_port(w->d1, w->last_set_up)->state == ECS_FREE)
        w->last_set_up--;
    /* events waiting, some of them masked: the reset must clear what it closes */
    for (uint32_t p = 2; p <= w->last_set_up; p++) {
        if (p % 3 == 0)
            mask_port(w, p);
        (void)evtchn_send(w->d1, p);
    }
    for (uint32_t p = 1; p < w->d2->valid_evtchns; p++)
        (void)evtchn_send(w->d2, p);
    fx_check_consistency(fx);
}

/* ---- what the others do at each stop ---- */

/* What Xen answers EVTCHNOP_send on chn: only these states send, never a Xen-attached port. */
static long e_send(const struct evtchn *chn)
{
    if (!chn || chn->xen_consumer)
        return -XEN_EINVAL;
    return chn->state == ECS_UNBOUND || chn->state == ECS_INTERDOMAIN || chn->state == ECS_IPI
               ? 0
               : -XEN_EINVAL;
}

/* Every operation that changes the table is followed by a check of all of it; sends and
 * unmasks, hundreds per stop, only by one after their batch. */
static long op(struct world *w, struct vcpu *v, unsigned cmd, void *arg, size_t size)
{
    long rc = fx_evtchn_op(&w->fx, v, cmd, arg, size);

    if (cmd != EVTCHNOP_send && cmd != EVTCHNOP_unmask)
        fx_check_consistency(&w->fx);
    return rc;
}

/* A send reaches d1: a port of d1 bound to it is pending afterwards, whatever its mask. */
static void send_all(struct world *w, struct domain *d, struct vcpu *v)
{
    for (uint32_t p = 1; p < d->valid_evtchns; p++) {
        const struct evtchn *chn = evtchn_from_port(d, p);
        struct evtchn_send s = {.port = p};
        long e = e_send(chn);
        bool to_d1 = chn->state == ECS_INTERDOMAIN && chn->u.interdomain.remote_domid == 1;

        assert_int_equal(op(w, v, EVTCHNOP_send, &s, sizeof(s)), e);
        if (e == 0 && to_d1 && d != w->d1)
            assert_true(
                evtchn_is_pending(w->d1, evtchn_from_port(w->d1, chn->u.interdomain.remote_port)));
    }
}

/* A port opened behind the reset stays open through it. One opened at or ahead of where it
 * stopped is closed when the reset gets there (the continuation closes the port it stopped at
 * again): the lowest free port may lie ahead once every port behind is in use or, under FIFO,
 * still LINKED on a queue the guest has not walked (busy, so not handed out). */
static void note_opened(struct world *w, uint32_t port)
{
    assert_true(port < sizeof(w->opened));
    if (port < w->reset_at) {
        w->opened[port] = true;
        w->opened_behind++;
    } else {
        w->opened_ahead++;
    }
}

static void send_self(struct world *w, bool d1_runs)
{
    long e_pirq = w->d1->pirq_to_evtchn[PIRQ] ? 0 : -XEN_ENOENT;

    if (d1_runs)
        send_all(w, w->d1, w->d1->vcpu[1]);
    send_guest_vcpu_virq(w->d1->vcpu[0], VIRQ_TIMER);
    send_guest_vcpu_virq(w->d1->vcpu[1], VIRQ_TIMER);
    send_guest_domain_virq(w->d1, VIRQ_ARGO);
    assert_int_equal(pirq_raise(w->d1, PIRQ), e_pirq);
}

static void unmask_all(struct world *w)
{
    for (uint32_t p = 0; p <= w->d1->valid_evtchns; p++) {
        struct evtchn_unmask u = {.port = p};

        assert_int_equal(op(w, w->d1->vcpu[1], EVTCHNOP_unmask, &u, sizeof(u)),
                         port_is_valid(w->d1, p) ? 0 : -XEN_EINVAL);
    }
}

static void bind_ipi(struct world *w)
{
    struct evtchn_bind_ipi b = {.vcpu = 1};

    assert_int_equal(op(w, w->d1->vcpu[1], EVTCHNOP_bind_ipi, &b, sizeof(b)), 0);
    note_opened(w, b.port);
}

static void bind_virq(struct world *w, unsigned virq, unsigned vcpu)
{
    struct evtchn_bind_virq b = {.virq = virq, .vcpu = vcpu};
    bool bound = w->d1->vcpu[vcpu]->virq_to_evtchn[virq] != 0;

    assert_int_equal(op(w, w->d1->vcpu[1], EVTCHNOP_bind_virq, &b, sizeof(b)),
                     bound ? -XEN_EEXIST : 0);
    if (!bound)
        note_opened(w, b.port);
}

static void alloc_unbound(struct world *w, struct vcpu *v, domid_t dom, domid_t remote)
{
    struct evtchn_alloc_unbound a = {.dom = dom, .remote_dom = remote};

    assert_int_equal(op(w, v, EVTCHNOP_alloc_unbound, &a, sizeof(a)), 0);
    note_opened(w, a.port);
}

/* Is chn UNBOUND and offered to domain `to`? */
static bool offered_to(const struct evtchn *chn, domid_t to)
{
    return chn->state == ECS_UNBOUND && !chn->xen_consumer && chn->u.unbound.remote_domid == to;
}

static void bind_interdomain(struct world *w, bool d1_runs)
{
    /* d2 binds what d1 still offers it: ports ahead of the reset, which will close them */
    for (uint32_t p = 1; p < w->d1->valid_evtchns; p++) {
        struct evtchn_bind_interdomain b = {.remote_dom = 1, .remote_port = p};

        if (!offered_to(evtchn_from_port(w->d1, p), 2))
            continue;
        assert_true(p > w->reset_at || w->opened[p]);
        assert_int_equal(op(w, w->d2->vcpu[0], EVTCHNOP_bind_interdomain, &b, sizeof(b)), 0);
        assert_int_equal(evtchn_from_port(w->d1, p)->state, ECS_INTERDOMAIN);
        w->peer_binds++;
    }
    if (!d1_runs)
        return;
    /* d1 binds again, behind the reset, what its closed ends offered back */
    for (uint32_t p = 1; p < w->d2->valid_evtchns; p++) {
        struct evtchn_bind_interdomain b = {.remote_dom = 2, .remote_port = p};

        if (!offered_to(evtchn_from_port(w->d2, p), 1))
            continue;
        assert_int_equal(op(w, w->d1->vcpu[1], EVTCHNOP_bind_interdomain, &b, sizeof(b)), 0);
        note_opened(w, b.local_port);
    }
}

static long close_port(struct world *w, struct vcpu *v, uint32_t port)
{
    struct evtchn_close c = {.port = port};

    return op(w, v, EVTCHNOP_close, &c, sizeof(c));
}

static void close_some(struct world *w, bool d1_runs)
{
    struct domain *d1 = w->d1;
    unsigned n = 0;

    if (d1_runs) {
        assert_int_equal(close_port(w, d1->vcpu[1], 1), -XEN_EINVAL); /* Xen's */
        if (w->reset_at > 2 && !w->opened[w->reset_at - 1])
            assert_int_equal(close_port(w, d1->vcpu[1], w->reset_at - 1), -XEN_EINVAL);
        for (uint32_t p = w->reset_at + 1; p < d1->valid_evtchns && n < 3; p++) {
            const struct evtchn *chn = evtchn_from_port(d1, p);

            if (chn->state <= ECS_RESERVED || chn->xen_consumer)
                continue;
            assert_int_equal(close_port(w, d1->vcpu[1], p), 0);
            n++;
        }
        w->closes_ahead += n;
    }
    /* d2 ends one of its channels to d1: d1's end is offered back to d2 */
    for (uint32_t p = 1; p < w->d2->valid_evtchns; p++) {
        const struct evtchn *chn = evtchn_from_port(w->d2, p);

        if (chn->state != ECS_INTERDOMAIN || chn->u.interdomain.remote_domid != 1)
            continue;
        uint32_t peer = chn->u.interdomain.remote_port;
        assert_int_equal(close_port(w, w->d2->vcpu[0], p), 0);
        assert_true(offered_to(evtchn_from_port(w->d1, peer), 2));
        break;
    }
}

static void reset_again(struct world *w, bool d1_runs)
{
    struct evtchn_reset self = {.dom = DOMID_SELF}, d1 = {.dom = 1};
    uint32_t at = w->d1->reset_next_port;

    if (d1_runs)
        assert_int_equal(op(w, w->d1->vcpu[1], EVTCHNOP_reset, &self, sizeof(self)), -XEN_EBUSY);
    /* dom0 may reset d1 only while it is paused, and then one reset already runs */
    assert_int_equal(op(w, w->d0->vcpu[1], EVTCHNOP_reset, &d1, sizeof(d1)),
                     w->d1->paused ? -XEN_EBUSY : -XEN_EINVAL);
    assert_int_equal(op(w, w->d2->vcpu[0], EVTCHNOP_reset, &d1, sizeof(d1)), -XEN_EPERM);
    assert_int_equal(w->d1->reset_next_port, at);
}

/* After each operation the whole table must be consistent. */
static void interleave(struct world *w)
{
    unsigned ops = w->row->ops;
    bool d1_runs = !w->row->foreign;

    if (ops & OP_SEND_PEER) {
        send_all(w, w->d2, w->d2->vcpu[0]);
        send_all(w, w->d0, w->d0->vcpu[1]);
        fx_check_consistency(&w->fx);
    }
    if (ops & OP_SEND_SELF) {
        send_self(w, d1_runs);
        fx_check_consistency(&w->fx);
    }
    if ((ops & OP_UNMASK) && d1_runs) {
        unmask_all(w);
        fx_check_consistency(&w->fx);
    }
    if ((ops & OP_BIND_IPI) && d1_runs) {
        bind_ipi(w);
        fx_check_consistency(&w->fx);
    }
    if ((ops & OP_BIND_VIRQ) && d1_runs) {
        bind_virq(w, VIRQ_TIMER, 1);
        bind_virq(w, VIRQ_DEBUG, 0);
        fx_check_consistency(&w->fx);
    }
    if ((ops & OP_ALLOC_UNBOUND) && d1_runs) {
        alloc_unbound(w, w->d1->vcpu[1], DOMID_SELF, 2);
        fx_check_consistency(&w->fx);
    }
    if (ops & OP_BIND_INTERDOMAIN) {
        bind_interdomain(w, d1_runs);
        fx_check_consistency(&w->fx);
    }
    if (ops & OP_CLOSE) {
        close_some(w, d1_runs);
        fx_check_consistency(&w->fx);
    }
    if (ops & OP_RESET_AGAIN) {
        reset_again(w, d1_runs);
        fx_check_consistency(&w->fx);
    }
    if (ops & OP_DOM0_ALLOC) {
        alloc_unbound(w, w->d0->vcpu[1], 1, 0);
        fx_check_consistency(&w->fx);
    }
}

/* ---- the reset ---- */

/* An event for the caller arrives with every access Xen makes to guest memory, so the reset
 * stops at every multiple of 64 it reaches having closed a port since the last stop. */
static void event_arrives(struct fake_xen *fx, volatile void *addr, size_t len, enum guest_access k)
{
    (void)addr;
    (void)len;
    (void)k;
    fx_set_upcall_pending(fx->touch_opaque, 1);
}

/* Behind the reset, only Xen's ports and those opened meanwhile are in use. */
static void check_behind(struct world *w)
{
    for (uint32_t p = 1; p < w->reset_at; p++) {
        const struct evtchn *chn = evtchn_from_port(w->d1, p);

        if (!chn->xen_consumer && !w->opened[p])
            assert_int_equal(chn->state, ECS_FREE);
    }
}

/* Runs the reset as its guest re-issues it, the others interleaving at each stop. */
static long reset_interleaved(struct world *w, unsigned *steps)
{
    struct hv_regs regs = {
        .rax = __HYPERVISOR_event_channel_op, .rdi = EVTCHNOP_reset, .rsi = FX_BUF_GPA};
    /* away from FX_ARG_GPA, where the caller's domain's other hypercalls put theirs */
    struct evtchn_reset r = {.dom = w->row->foreign ? 1 : DOMID_SELF};

    memcpy(fx_gpa(&w->fx, w->caller->domain, FX_BUF_GPA), &r, sizeof(r));
    for (*steps = 1;; (*steps)++) {
        w->fx.touch_hook = event_arrives;
        w->fx.touch_opaque = w->caller;
        hypercall_dispatch(w->caller, &regs);
        w->fx.touch_hook = NULL;
        fx_check_consistency(&w->fx);
        if (!w->caller->hcall_continuation)
            return (long)regs.rax;
        assert_int_equal(regs.rdi, EVTCHNOP_reset_cont);
        assert_int_equal(w->d1->reset_next_port % 64, 0);
        assert_true(w->d1->reset_next_port > w->reset_at);
        w->reset_at = w->d1->reset_next_port;
        check_behind(w);
        interleave(w);
        check_behind(w);
        fx_set_upcall_pending(w->caller, 0); /* the caller takes its event, then re-issues */
    }
}

static const struct evtchn_port_ops *abi_ops(enum abi abi)
{
    return abi == ABI_3L     ? &evtchn_port_ops_3l
           : abi == ABI_FIFO ? &evtchn_port_ops_fifo
                             : &evtchn_port_ops_2l;
}

/* After the reset: the guest ports left are exactly those opened behind it. */
static void check_result(struct world *w, long rc)
{
    struct domain *d1 = w->d1;
    unsigned left = 0;

    assert_int_equal(rc, w->row->e_rc);
    assert_int_equal(d1->reset_next_port, 0);
    for (uint32_t p = 1; p < d1->valid_evtchns; p++) {
        const struct evtchn *chn = evtchn_from_port(d1, p);

        if (chn->state == ECS_FREE || chn->xen_consumer)
            continue;
        assert_true(p < sizeof(w->opened) && w->opened[p]);
        left++;
    }
    assert_int_equal(rc == -XEN_EAGAIN, left > 0);
    assert_int_equal(d1->active_evtchns, d1->xen_evtchns + left);
    assert_ptr_equal(d1->evtchn_port_ops, rc == 0 ? &evtchn_port_ops_2l : abi_ops(w->row->abi));
    /* d2's channels to d1 either lead to a port d1 opened meanwhile or are offered back */
    for (uint32_t p = 1; p < w->d2->valid_evtchns; p++) {
        const struct evtchn *chn = evtchn_from_port(w->d2, p);

        if (chn->state == ECS_INTERDOMAIN)
            assert_true(w->opened[chn->u.interdomain.remote_port]);
        else if (chn->state == ECS_UNBOUND)
            assert_int_equal(chn->u.unbound.remote_domid, 1);
    }
}

/* A second reset, nothing interleaved, always completes: only the Xen port stays, and every
 * channel any domain had with d1 is offered back to it. */
static void check_reset_completes(struct world *w)
{
    struct domain *d1 = w->d1;

    w->d1->paused = w->row->foreign;
    assert_int_equal(fx_reset_until_done(&w->fx, w->caller, w->row->foreign ? 1 : DOMID_SELF), 0);
    fx_check_consistency(&w->fx);
    assert_int_equal(d1->active_evtchns, 1);
    assert_int_equal(d1->xen_evtchns, 1);
    assert_true(evtchn_from_port(d1, 1)->xen_consumer);
    assert_int_equal(evtchn_from_port(d1, 1)->state, ECS_UNBOUND);
    assert_ptr_equal(d1->evtchn_port_ops, &evtchn_port_ops_2l);
    for (unsigned id = 0; id < 3; id += 2) {
        struct domain *d = w->fx.hv.domain[id];

        for (uint32_t p = 1; p < d->valid_evtchns; p++)
            assert_false(evtchn_from_port(d, p)->state == ECS_INTERDOMAIN &&
                         evtchn_from_port(d, p)->u.interdomain.remote_domid == 1);
    }
    d1->paused = false;
    /* d1 starts again from its first free port, on 2-level */
    assert_int_equal(fx_bind_ipi(&w->fx, d1->vcpu[0], 0), 2);
    assert_int_equal(evtchn_send(d1, 2), 0);
    assert_true(fx_pending(d1, 2));
    fx_check_consistency(&w->fx);
}

/* The world is allocated before the test, so that the teardown frees it whatever happens. */
static int world_setup(void **state)
{
    struct world *w = test_calloc(1, sizeof(*w));

    w->row = *state;
    *state = w;
    return 0;
}

static void test_reset_interleaved(void **state)
{
    struct world *w = *state;
    const struct row *r = w->row;
    unsigned steps;
    long rc;

    world_build(w);
    w->caller = r->foreign ? w->d0->vcpu[0] : w->d1->vcpu[0];
    w->d1->paused = r->foreign;
    rc = reset_interleaved(w, &steps);
    /* stopped at every multiple of 64 below the last port set up: all of them were bound */
    assert_true(steps > w->last_set_up / 64);
    print_message("%u steps, ports opened behind %u and ahead %u, result %ld\n", steps,
                  w->opened_behind, w->opened_ahead, rc);
    check_result(w, rc);
    if (r->e_rc == -XEN_EAGAIN)
        assert_true(w->opened_behind > 0);
    if ((r->ops & OP_BIND_INTERDOMAIN))
        assert_true(w->peer_binds > 0);
    if ((r->ops & OP_CLOSE) && !r->foreign)
        assert_true(w->closes_ahead > 0);
    check_reset_completes(w);
}

int main(void)
{
    struct CMUnitTest tests[NR_ROWS];

    for (size_t i = 0; i < NR_ROWS; i++)
        tests[i] = (struct CMUnitTest){rows[i].name, test_reset_interleaved, world_setup,
                                       fx_teardown, (void *)&rows[i]};
    return cmocka_run_group_tests_name("xsa_343", tests, NULL, NULL);
}
