/*
 * storm: many interdomain channels, many sends, and coalescing.
 *
 * A port has one pending bit, so sends that arrive while it is still
 * pending merge into one delivery: the receiver may handle fewer events
 * than were sent ("coalesced" = sent - handled).
 *
 *   recv (usually dom0)  allocates ports+1 unbound ports for the sender
 *                        (ports 1..ports+1; the last is the control
 *                        channel) and counts deliveries.
 *   send (usually domU)  binds them all, sends `sends` times on
 *                        pseudo-random data ports (xorshift64* from
 *                        `seed`), yielding now and then, then sends "done"
 *                        on the control channel and waits for recv's
 *                        "ack" on it with SCHEDOP_poll.
 *
 * The sender's "done" follows all its data sends, so when the receiver
 * has handled it, every data event has been handled too (counted, or
 * merged into one that was).  Then both power off.
 *
 * Parameters: role=send|recv (default: recv in dom0, send elsewhere)
 *             peer=<domid>   (default: 1 for recv, 0 for send)
 *             ports=<n>      data channels (default 256)
 *             sends=<n>      (default 5000)
 *             seed=<n>       (default 1)
 *             yield=<n>      yield once every ~n sends, 0 = never (default 32)
 */
#include "rt.h"

#define MAX_PORTS 4000

static unsigned int nports;
static evtchn_port_t ctl; /* the control channel (our end) */
static uint64_t handled;
static volatile bool done;

/* ---- receiver ---------------------------------------------------------- */

static void on_data(evtchn_port_t port, void *arg)
{
    (void)port;
    (void)arg;
    handled++;
}

static void on_done(evtchn_port_t port, void *arg)
{
    (void)arg;
    rt_send(port); /* ack */
    done = true;
}

static void receiver(domid_t peer)
{
    for (unsigned int i = 1; i <= nports + 1; i++) {
        evtchn_port_t p = rt_alloc_unbound(peer);
        if (p != i) /* the sender assumes ports 1..ports+1 */
            rt_panic("alloc_unbound gave port %u, expected %u", p, i);
        rt_bind_handler(p, i <= nports ? on_data : on_done, NULL);
    }
    ctl = nports + 1;
    rt_printf("storm: recv ports 1..%u for dom%u, control port %u\n", nports, peer, ctl);

    rt_wait(&done);
    rt_printf("storm: recv handled=%lu\n", handled);
}

/* ---- sender ---------------------------------------------------------- */

static uint64_t rng;

static uint64_t xorshift64star(void)
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return rng * 0x2545F4914F6CDD1DULL;
}

static void sender(domid_t peer)
{
    static evtchn_port_t local[MAX_PORTS + 1];
    static uint32_t sent[MAX_PORTS];
    uint64_t sends = rt_arg_u64("sends", 5000);
    uint64_t seed = rt_arg_u64("seed", 1);
    uint64_t yield_every = rt_arg_u64("yield", 32);

    for (unsigned int i = 0; i <= nports; i++)
        local[i] = rt_bind_interdomain(peer, i + 1);
    ctl = local[nports];
    /* Our ports stay masked and have no handler.  Binding made each one
     * pending ("connected"); clear the control port's so that only recv's
     * ack can set it again. */
    rt_clear_pending(ctl);
    rt_printf("storm: send bound %u ports to dom%u, %lu sends, seed %lu\n", nports + 1, peer, sends,
              seed);

    rng = seed != 0 ? seed : 0x9E3779B97F4A7C15ULL; /* xorshift needs != 0 */
    unsigned int yields = 0;
    for (uint64_t s = 0; s < sends; s++) {
        uint64_t r = xorshift64star();
        unsigned int i = (unsigned int)(r % nports);
        rt_send(local[i]);
        sent[i]++;
        if (yield_every != 0 && (r >> 32) % yield_every == 0) {
            rt_yield();
            yields++;
        }
    }

    /* Per-port summary: FNV-1a hash of the counts, and the extremes. */
    uint32_t hash = 2166136261u, lo = UINT32_MAX, hi = 0;
    for (unsigned int i = 0; i < nports; i++) {
        hash = (hash ^ sent[i]) * 16777619u;
        lo = sent[i] < lo ? sent[i] : lo;
        hi = sent[i] > hi ? sent[i] : hi;
    }

    rt_send(ctl);                 /* done */
    while (!rt_is_pending(ctl)) { /* wait for the ack */
        struct sched_poll p = {.nr_ports = 1, .timeout = 0};
        set_xen_guest_handle(p.ports, &ctl);
        rt_check(HYPERVISOR_sched_op(SCHEDOP_poll, &p), "SCHEDOP_poll");
    }
    rt_printf("storm: send sent=%lu yields=%u per-port min=%u max=%u hash=%08x\n", sends, yields,
              lo, hi, hash);
}

int main(void)
{
    bool recv = rt_arg_is("role", "recv") || (rt_domid == 0 && !rt_arg_is("role", "send"));
    domid_t peer = (domid_t)rt_arg_u64("peer", recv ? 1 : 0);
    nports = (unsigned int)rt_arg_u64("ports", 256);
    if (nports == 0 || nports > MAX_PORTS)
        rt_panic("ports=%u: must be 1..%u", nports, MAX_PORTS);

    if (recv)
        receiver(peer);
    else
        sender(peer);
    return 0;
}
