/*
 * ipi: event channels between two vcpus of one domain.
 *
 * EVTCHNOP_bind_ipi(vcpu) makes a port that notifies that vcpu; any vcpu
 * of the domain may send on it.  Each vcpu binds one for itself:
 *
 *   vcpu 0: port a (bind_ipi vcpu 0), then starts vcpu 1
 *   vcpu 1: port b (bind_ipi vcpu 1), then sends on a: "ready"
 *   vcpu 0: on "ready" sends on b; then on each reply, again, until
 *           it has received `rounds` replies
 *   vcpu 1: on each event on b: count it, send on a
 *
 * vcpu 1 has counted its last event before it sends vcpu 0's last one, so
 * when vcpu 0 is done both are.  Needs a domain with 2 vcpus.
 *
 * Parameters: rounds=<n> (default 100)
 */
#include "rt.h"

static uint64_t rounds;
static evtchn_port_t port_a, port_b; /* notify vcpu 0, vcpu 1 */
static uint64_t received[2];
static bool ready;
static volatile bool done[2];
static uint64_t t_start, t_end;

/* vcpu 0 */
static void on_a(evtchn_port_t port, void *arg)
{
    (void)port;
    (void)arg;
    if (!ready) { /* vcpu 1 is up and bound port b */
        ready = true;
        t_start = rt_now_ns();
    } else if (++received[0] == rounds) {
        t_end = rt_now_ns();
        done[0] = true;
        return;
    }
    rt_send(port_b);
}

/* vcpu 1 */
static void on_b(evtchn_port_t port, void *arg)
{
    (void)port;
    (void)arg;
    if (++received[1] == rounds)
        done[1] = true;
    rt_send(port_a);
}

static void vcpu1_main(void *arg)
{
    (void)arg;
    port_b = rt_bind_ipi(1);
    rt_bind_handler(port_b, on_b, NULL);
    rt_printf("ipi: vcpu 1 up, port b=%u\n", port_b);
    rt_send(port_a); /* ready */
    rt_wait(&done[1]);
}

int main(void)
{
    rounds = rt_arg_u64("rounds", 100);
    if (rounds == 0)
        return 0;

    port_a = rt_bind_ipi(0);
    rt_bind_handler(port_a, on_a, NULL);
    rt_printf("ipi: vcpu 0 port a=%u, %lu rounds, starting vcpu 1\n", port_a, rounds);
    rt_start_vcpu(1, vcpu1_main, NULL);

    rt_wait(&done[0]);

    if (!done[1])
        rt_panic("vcpu 0 finished but vcpu 1 received only %lu", received[1]);
    uint64_t total = t_end - t_start;
    rt_printf("ipi: done vcpu0 received=%lu vcpu1 received=%lu total=%lu ns mean_rtt=%lu ns\n",
              received[0], received[1], total, total / rounds);
    return 0;
}
