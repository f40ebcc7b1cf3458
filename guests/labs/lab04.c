/*
 * Lab 4: coalescing, or why sends outnumber deliveries (docs/labs/lab04.md).
 *
 * An event channel carries no data and has one pending bit per port: sends that find the bit
 * still set merge into one delivery.  Send `n` events to the partner so that it sees every one
 * of them: each send must reach a port that is no longer pending.
 *
 * The partner (dom0) says hello on port 1 once it is ready, then works on every event it gets
 * on port 1 for a while (how long changes with the seed) and answers each with an ack on the
 * same port.  Port 2 tells it we are done.  Check it with: evsim lab check 4 lab04.c
 */
#include "rt.h"

static volatile uint64_t events; /* hello + acks received on port 1 */
static volatile bool got_event;

static void on_event(evtchn_port_t port, void *arg)
{
    (void)port;
    (void)arg;
    events++;
    got_event = true;
}

static void send_all(evtchn_port_t data, uint64_t n)
{
    /* TODO: send n events on `data` (rt_send) so that none of them is coalesced.  Hint: the
     * partner acks each one it has handled; on_event sees the ack. */
    (void)data;
    (void)n;
}

/* ---- the rest is the lab's test harness: leave it as it is ------------------------------- */

int main(void)
{
    uint64_t n = rt_arg_u64("n", 10);
    evtchn_port_t data = rt_alloc_unbound(0), done = rt_alloc_unbound(0);
    rt_bind_handler(data, on_event, NULL);
    rt_wait(&got_event); /* the partner's hello */
    got_event = false;
    send_all(data, n);
    rt_sleep_ns(200000); /* let the last acks come in */
    rt_send(done);
    rt_printf("lab: n=%lu events=%lu\n", n, events);
    return 0;
}
