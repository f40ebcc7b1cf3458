/*
 * Lab 7: the lost wake-up (docs/labs/lab07.md).
 *
 * The consumer below works in lab 2's test, yet under this lab's traffic it loses events: the
 * guest ends up waiting for an event that Xen raised long ago.  Find the ordering bug and fix
 * it.  The partner (dom0) now spaces its sends a few hundred ns apart, so some arrive while
 * the consumer is running.
 *
 * Xen raises an event (xen/common/event_2l.c evtchn_2l_set_pending) in this order: set the
 * port's pending bit; if the port is not masked and the selector bit was clear, set the
 * selector bit and then evtchn_upcall_pending, and kick the vcpu.  On the way back to the
 * guest it enters the callback only if evtchn_upcall_pending is set.
 *
 * Check it with: evsim lab check 7 lab07.c
 */
#include "rt.h"
#include "rt_hooks.h"

void rt_upcall_2l(void)
{
    struct vcpu_info *vi = rt_vcpu_info();
    volatile uint8_t *upcall_pending = &vi->evtchn_upcall_pending;
    /* TODO: this consumer can lose a wake-up.  Which event, raised when, is never handled? */
    xen_ulong_t sel = __atomic_exchange_n(&vi->evtchn_pending_sel, 0, __ATOMIC_SEQ_CST);
    while (sel != 0) {
        unsigned int w = (unsigned int)__builtin_ctzl(sel);
        sel &= sel - 1;
        xen_ulong_t bits = rt_shared->evtchn_pending[w] & ~rt_shared->evtchn_mask[w];
        while (bits != 0) {
            unsigned int b = (unsigned int)__builtin_ctzl(bits);
            bits &= bits - 1;
            evtchn_port_t port = w * 64 + b;
            rt_sync_clear_bit(port, rt_shared->evtchn_pending);
            rt_call_handler(port);
        }
    }
    *upcall_pending = 0;
}

/* ---- the rest is the lab's test harness: leave it as it is ------------------------------- */

static unsigned int nports;
static volatile uint64_t handled, handled_round, late;
static volatile bool control_seen, round_done;

static void update_round(void)
{
    round_done = control_seen && handled_round == nports;
}

static void on_data(evtchn_port_t port, void *arg)
{
    (void)arg;
    if (rt_is_pending(port)) /* your consumer should have cleared it already */
        late++;
    handled++;
    handled_round++;
    update_round();
}

static void on_control(evtchn_port_t port, void *arg)
{
    (void)port;
    (void)arg;
    control_seen = true;
    update_round();
}

int main(void)
{
    nports = (unsigned int)rt_arg_u64("ports", 64);
    uint64_t rounds = rt_arg_u64("rounds", 3);
    /* ports 1..n data, n+1 control, n+2 "quiet": the partner (dom0) binds them in this order */
    for (unsigned int i = 1; i <= nports + 2; i++)
        if (rt_alloc_unbound(0) != i)
            rt_panic("alloc_unbound: expected port %u", i);
    evtchn_port_t control = nports + 1, quiet = nports + 2;
    for (unsigned int i = 1; i <= nports; i++)
        rt_bind_handler(i, on_data, NULL);
    rt_bind_handler(control, on_control, NULL);
    /* quiet keeps its mask: no handler */
    for (uint64_t r = 0; r < rounds; r++) {
        rt_wait(&round_done);
        control_seen = false;
        handled_round = 0;
        round_done = false;
        rt_send(control); /* ack: the partner starts the next round */
    }
    rt_printf("lab: ports=%u rounds=%lu handled=%lu late=%lu quiet_pending=%d\n", nports, rounds,
              handled, late, rt_is_pending(quiet));
    return 0;
}
