/*
 * Lab 8: fairness under a storm (docs/labs/lab08.md).
 *
 * The consumer below handles every event, and yet under a storm it starves some ports: it
 * always takes the lowest pending port of a word first, and while port 1's slow handler runs
 * the storm raises port 1 again.  Port `victim`, higher in the same word, waits until the
 * storm is over.  Make the scan fair as Linux's is: resume just after the last port handled,
 * going round the bitmap (and the selector) from there.
 *
 * The partner (dom0) sends on port 1 back to back, on port `victim` once every few of those,
 * and on port victim+1 when done.  Check it with: evsim lab check 8 lab08.c
 */
#include "rt.h"
#include "rt_hooks.h"

void rt_upcall_2l(void)
{
    struct vcpu_info *vi = rt_vcpu_info();
    volatile uint8_t *upcall_pending = &vi->evtchn_upcall_pending;
    do {
        *upcall_pending = 0;
        xen_ulong_t sel = __atomic_exchange_n(&vi->evtchn_pending_sel, 0, __ATOMIC_SEQ_CST);
        while (sel != 0) {
            unsigned int w = (unsigned int)__builtin_ctzl(sel);
            sel &= sel - 1;
            xen_ulong_t bits;
            /* TODO: the lowest pending port, again and again: make it fair */
            while ((bits = rt_shared->evtchn_pending[w] & ~rt_shared->evtchn_mask[w]) != 0) {
                evtchn_port_t port = w * 64 + (unsigned int)__builtin_ctzl(bits);
                rt_sync_clear_bit(port, rt_shared->evtchn_pending);
                rt_call_handler(port);
            }
        }
    } while (*upcall_pending);
}

/* ---- the rest is the lab's test harness: leave it as it is ------------------------------- */

static uint64_t work;
static volatile uint64_t floods, victims;
static volatile bool done;

static void on_flood(evtchn_port_t port, void *arg)
{
    (void)port;
    (void)arg;
    uint64_t until = rt_now_ns() + work; /* a slow handler: the flood re-raises meanwhile */
    while (rt_now_ns() < until)
        rt_barrier();
    floods++;
}

static void on_victim(evtchn_port_t port, void *arg)
{
    (void)port;
    (void)arg;
    victims++;
}

static void on_done(evtchn_port_t port, void *arg)
{
    (void)port;
    (void)arg;
    done = true;
}

int main(void)
{
    work = rt_arg_u64("work", 2000);
    evtchn_port_t victim = (evtchn_port_t)rt_arg_u64("victim", 40);
    /* `flood` (port 1, or one above the victim) is flooded, `victim` gets an event now and
     * then, victim + 1 says done */
    evtchn_port_t flood = (evtchn_port_t)rt_arg_u64("floodport", 1);
    evtchn_port_t last = flood > victim + 1 ? flood : victim + 1;
    for (evtchn_port_t p = 1; p <= last; p++)
        if (rt_alloc_unbound(0) != p)
            rt_panic("alloc_unbound: expected port %u", p);
    rt_bind_handler(flood, on_flood, NULL);
    rt_bind_handler(victim, on_victim, NULL);
    rt_bind_handler(victim + 1, on_done, NULL);
    rt_wait(&done);
    rt_printf("lab: floods=%lu victims=%lu\n", floods, victims);
    return 0;
}
