/* Lab 4, known wrong: guesses how long the partner takes. */
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
    for (uint64_t i = 0; i < n; i++) {
        rt_send(data);
        rt_sleep_ns(25000); /* WRONG: enough for a fast partner only */
    }
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
