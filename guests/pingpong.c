/*
 * pingpong: an interdomain event channel, bounced back and forth.
 *
 *   back  (usually dom0)  EVTCHNOP_alloc_unbound(DOMID_SELF, peer) -> port
 *                         answers every ping with a pong.
 *   front (usually domU)  EVTCHNOP_bind_interdomain(peer, port) -> local port
 *                         Xen marks the new local port pending: that first
 *                         event says "connected", and front answers it with
 *                         the first ping.  Each pong completes a round trip.
 *
 * Messages: ping 1, pong 1, ..., ping N, pong N.  back stops after sending
 * pong N; front stops after receiving it.  So nobody waits for a message
 * that is never sent.
 *
 * Parameters: role=back|front (default: back in dom0, front elsewhere)
 *             peer=<domid>    (default: 1 for back, 0 for front)
 *             port=<n>        the back end's port, for front (default 1)
 *             rounds=<n>      (default 100)
 *             interval=<ns>   front only: pace the pings with the one-shot
 *                             timer (VIRQ_TIMER), one every <ns> after the
 *                             previous pong (default 0: ping at once)
 */
#include "rt.h"

static bool front;
static evtchn_port_t port; /* our end of the channel */
static uint64_t rounds, count, interval;
static uint64_t t_start, t_sent, rtt_min = UINT64_MAX, rtt_max, rtt_sum;
static bool connected;
static volatile bool done;

static void on_event_back(evtchn_port_t p, void *arg)
{
    (void)p;
    (void)arg;
    count++;       /* a ping */
    rt_send(port); /* pong */
    if (count == rounds)
        done = true;
}

static void send_ping(void)
{
    t_sent = rt_now_ns();
    rt_send(port);
}

static void on_timer(evtchn_port_t p, void *arg)
{
    (void)p;
    (void)arg;
    send_ping();
}

static void on_event_front(evtchn_port_t p, void *arg)
{
    (void)p;
    (void)arg;
    uint64_t now = rt_now_ns();
    if (!connected) { /* the connection event */
        connected = true;
        t_start = now;
    } else { /* a pong: one round trip done */
        uint64_t rtt = now - t_sent;
        rtt_min = rtt < rtt_min ? rtt : rtt_min;
        rtt_max = rtt > rtt_max ? rtt : rtt_max;
        rtt_sum += rtt;
        count++;
        if (count == rounds) {
            done = true;
            return;
        }
    }
    if (interval)
        rt_check(HYPERVISOR_set_timer_op(now + interval), "set_timer_op");
    else
        send_ping();
}

int main(void)
{
    front = rt_arg_is("role", "front") || (rt_domid != 0 && !rt_arg_is("role", "back"));
    domid_t peer = (domid_t)rt_arg_u64("peer", front ? 0 : 1);
    rounds = rt_arg_u64("rounds", 100);
    if (rounds == 0)
        return 0;

    if (front) {
        evtchn_port_t remote = (evtchn_port_t)rt_arg_u64("port", 1);
        port = rt_bind_interdomain(peer, remote);
        interval = rt_arg_u64("interval", 0);
        if (interval) {
            rt_check(HYPERVISOR_vcpu_op(VCPUOP_stop_periodic_timer, 0, NULL),
                     "VCPUOP_stop_periodic_timer");
            rt_bind_handler(rt_bind_virq(VIRQ_TIMER, 0), on_timer, NULL);
        }
        rt_printf("pingpong: front port %u bound to dom%u port %u, %lu rounds, interval %lu ns\n",
                  port, peer, remote, rounds, interval);
        rt_bind_handler(port, on_event_front, NULL); /* connection event fires now */
    } else {
        port = rt_alloc_unbound(peer);
        rt_printf("pingpong: back port %u offered to dom%u, %lu rounds\n", port, peer, rounds);
        rt_bind_handler(port, on_event_back, NULL);
    }

    rt_wait(&done);

    if (front) {
        uint64_t total = rt_now_ns() - t_start;
        rt_printf("pingpong: front rounds=%lu total=%lu ns mean_rtt=%lu ns min=%lu ns max=%lu ns\n",
                  count, total, count ? rtt_sum / count : 0, count ? rtt_min : 0, rtt_max);
    } else {
        rt_printf("pingpong: back rounds=%lu\n", count);
    }
    return 0;
}
