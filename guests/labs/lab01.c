/*
 * Lab 1: the first channel (docs/labs/lab01.md).
 *
 * Make an event channel with both ends in this domain and send events through it:
 *
 *   1. EVTCHNOP_alloc_unbound: a port `a` that domain `rt_domid` (we) may bind to;
 *   2. EVTCHNOP_bind_interdomain: a second port `b`, connected to `a`;
 *   3. EVTCHNOP_send on `b`, `rounds` times: each send raises `a`, and a's handler runs.
 *      Send the next one only after the handler has seen the previous one.
 *
 * The checker (`evsim lab check 1 lab01.c`) passes rounds=N and skip=K on the command line;
 * the skeleton binds K IPI ports first, so your ports' numbers change from run to run.
 * Print the result line exactly as below: the checker reads it.
 */
#include "rt.h"

static volatile uint64_t received;
static volatile bool seen;

static void on_a(evtchn_port_t port, void *arg)
{
    (void)port;
    (void)arg;
    received++;
    seen = true;
}

int main(void)
{
    uint64_t rounds = rt_arg_u64("rounds", 5), skip = rt_arg_u64("skip", 1);
    for (uint64_t i = 0; i < skip; i++) /* ports that are not yours to bind */
        rt_bind_ipi(0);

    evtchn_port_t a = 0, b = 0;
    /* TODO 1: allocate `a` with EVTCHNOP_alloc_unbound (struct evtchn_alloc_unbound, dom =
     * DOMID_SELF, remote_dom = rt_domid) through rt_evtchn_op(); check the result with
     * rt_check(). */

    /* TODO 2: bind `b` to it with EVTCHNOP_bind_interdomain (struct evtchn_bind_interdomain:
     * remote_dom, remote_port in; local_port out). */

    rt_bind_handler(a, on_a, NULL); /* unmask a: its events now reach on_a */

    /* TODO 3: `rounds` times: clear `seen`, send on b (struct evtchn_send), and wait for a's
     * handler with rt_wait(&seen). */
    (void)b;

    rt_printf("lab: a=%u b=%u rounds=%lu received=%lu\n", a, b, rounds, received);
    return 0;
}
