/*
 * Lab 2: the 2-level upcall handler (docs/labs/lab02.md).
 *
 * Write rt_upcall_2l(), the consumer Xen's event callback runs (guests/rt/head.S calls it with
 * events masked).  Defining it here replaces the runtime's own (guests/rt/rt_hooks.h).  It
 * must find every pending, unmasked port and call its handler once per event:
 *
 *   vcpu_info->evtchn_upcall_pending   "there is something": Xen sets it, you clear it
 *   vcpu_info->evtchn_pending_sel      one bit per word of evtchn_pending[] with news
 *   rt_shared->evtchn_pending[w]       one bit per port: raised, not yet handled
 *   rt_shared->evtchn_mask[w]          one bit per port: do not deliver
 *
 * The partner (dom0) sends once on each of `ports` ports in a random order, once on a masked
 * "quiet" port, then on a control port, and waits for our ack; `rounds` times.
 * Check it with: evsim lab check 2 lab02.c
 */
#include "rt.h"
#include "rt_hooks.h"

void rt_upcall_2l(void)
{
    struct vcpu_info *vi = rt_vcpu_info();
    /* TODO 1: clear vi->evtchn_upcall_pending (a byte; write it through a volatile pointer). */
    /* TODO 2: take the selector: sel = __atomic_exchange_n(&vi->evtchn_pending_sel, 0,
     * __ATOMIC_SEQ_CST). */
    /* TODO 3: for each set bit w of sel, the ports of word w to handle are
     * evtchn_pending[w] & ~evtchn_mask[w]; for each set bit b, port = w * 64 + b: clear its
     * pending bit with rt_sync_clear_bit(port, rt_shared->evtchn_pending), then
     * rt_call_handler(port). */
    /* TODO 4: do it all again while evtchn_upcall_pending was set again meanwhile. */
    (void)vi;
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
