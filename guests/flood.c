/*
 * flood: one domain floods another with events, and the victim survives it
 * (the Linux guest-side advisories XSA-331, XSA-332 and XSA-391).
 *
 *   flood   (the rogue)  allocates ports 1..ports (data) and ports+1
 *                        (control) for the victim, waits for the victim's
 *                        "ready" on control, sends `sends` times on the data
 *                        ports in turn, as fast as it can, then "done" on
 *                        control, and waits for the ack.  A rogue puts no
 *                        requests on any ring: its events carry no work.
 *   victim               binds the rogue's ports and takes the flood as
 *                        `react` says:
 *     none     handle every event (`work` ns each), the ports always unmasked:
 *              Linux before the XSA-332/391 fixes;
 *     lateeoi  Linux's fix: a port is masked when its event is taken and
 *              unmasked only by the driver's EOI; an EOI that found no work
 *              is "spurious", and from the second spurious one in a row on,
 *              the EOI (the unmask) is delayed by 1 << (n - 2) jiffies, at
 *              most a second (xen_irq_lateeoi_locked, events_base.c); the
 *              delayed EOIs are made by a worker in process context (the main
 *              loop), as Linux's delayed work makes them;
 *     close    XSA-331 (ports=1): the handler closes the port it is
 *              handling (EVTCHNOP_close) on every `close_after`-th event of a
 *              binding, while the rogue keeps sending, and binds the rogue's
 *              port again: at once, still in the handler (gap=0), or `gap` ns
 *              later from the main loop; after the last of `closes` closes the
 *              port stays closed and Xen drops the rogue's sends.
 *   With pp=back or pp=front the victim also plays pingpong with `pp_peer`
 *   on another channel, from once the flood has started: the well-behaved
 *   traffic the flood must not starve.  Under react=lateeoi that channel's
 *   port is a lateeoi port too (Linux's backends and frontends use lateeoi
 *   for every ring); each of its events carries a request or a response, so
 *   its EOIs are never spurious.  With tick=<ns> the victim's main loop wakes
 *   that often and reports how late it ran at most: what a flood that keeps
 *   the upcall busy starves (XSA-332's hung dom0).
 *
 * Ports: the rogue's are 1..ports+1 (lowest-free allocation); the victim
 * binds them as its ports 1..ports+1, then VIRQ_TIMER (ports+2), then the
 * pingpong port (ports+3).
 *
 * Parameters (role=flood):  peer=<victim> ports=<n> (default 1) sends=<n> (default 10000)
 * Parameters (role=victim): peer=<rogue> ports=<n> (the same as the rogue's)
 *   react=none|lateeoi|close (default lateeoi)
 *   work=<ns>     the handling of each flood event (the driver looking at its ring)
 *   hz=<n>        jiffies per second for lateeoi's delays (default 250, as Debian's kernels)
 *   close_after=<n> closes=<n> gap=<ns>   react=close (defaults 50, 3, 0)
 *   pp=back|front pp_peer=<dom> pp_port=<port> (front: the back end's port)
 *   rounds=<n> (default 100) interval=<ns> (front: between a pong and the next ping)
 *   tick=<ns>     the main loop's heartbeat (default 0: none)
 */
#include "rt.h"

#define MAX_FLOOD_PORTS 256
#define MAX_ROUNDS 4096
#define MAX_BINDINGS 64

static domid_t peer;
static unsigned int nports;
static evtchn_port_t ctl; /* our end of the control channel */

/* ---- the rogue ------------------------------------------------------------ */

static void wait_on(evtchn_port_t port)
{
    while (!rt_is_pending(port)) {
        struct sched_poll p = {.nr_ports = 1, .timeout = 0};
        set_xen_guest_handle(p.ports, &port);
        rt_check(HYPERVISOR_sched_op(SCHEDOP_poll, &p), "SCHEDOP_poll");
    }
    rt_clear_pending(port);
}

static void rogue(void)
{
    uint64_t sends = rt_arg_u64("sends", 10000);

    /* Our ports stay masked and have no handler: we only poll the control port. */
    for (unsigned int i = 1; i <= nports + 1; i++) {
        evtchn_port_t p = rt_alloc_unbound(peer);
        if (p != i) /* the victim assumes ports 1..ports+1 */
            rt_panic("alloc_unbound gave port %u, expected %u", p, i);
    }
    ctl = nports + 1;
    rt_printf("flood: rogue ports %s%u (data) and %u (control) for dom%u, %lu sends\n",
              nports > 1 ? "1.." : "", nports, ctl, peer, sends);
    wait_on(ctl); /* ready */
    for (uint64_t s = 0; s < sends; s++)
        rt_send((evtchn_port_t)(1 + s % nports));
    rt_send(ctl); /* done */
    wait_on(ctl); /* ack */
    rt_printf("flood: rogue sent=%lu\n", sends);
}

/* ---- the victim: one Xen timer (VIRQ_TIMER) for four uses ------------------- */

enum { T_PACE, T_EOI, T_REBIND, T_TICK, T_COUNT };
static uint64_t timer_at[T_COUNT]; /* 0: not armed */
static uint64_t armed_at;          /* what Xen's timer is set to; 0: nothing (or it fired) */

/* Set Xen's timer only when the earliest deadline comes sooner than the one it has, as Linux's
 * clock events do: a later one is armed when the earlier fires. */
static void timer_rearm(void)
{
    uint64_t next = 0;
    for (unsigned int k = 0; k < T_COUNT; k++)
        if (timer_at[k] != 0 && (next == 0 || timer_at[k] < next))
            next = timer_at[k];
    if (next != 0 && (armed_at == 0 || next < armed_at)) {
        rt_check(HYPERVISOR_set_timer_op(next), "set_timer_op");
        armed_at = next;
    }
}

static void timer_set(unsigned int k, uint64_t at)
{
    timer_at[k] = at;
    timer_rearm();
}

/* ---- the victim: Linux's lateeoi ------------------------------------------- */

struct lateeoi {
    evtchn_port_t port;
    unsigned int spurious_cnt; /* spurious EOIs in a row */
    uint64_t eoi_time;         /* a delayed EOI is due then; 0: none */
};

static bool use_lateeoi;
static uint64_t hz, jiffy_ns;
static struct lateeoi flood_eoi[MAX_FLOOD_PORTS], pp_eoi;
static uint64_t spurious, delayed_eois, max_delay_jiffies;

/* lateeoi_ack_dynirq: the port stays masked until its EOI. */
static void lateeoi_ack(struct lateeoi *l)
{
    rt_mask(l->port);
}

/* The lateeoi worker's next run: the earliest delayed EOI. */
static void lateeoi_rearm(void)
{
    uint64_t next = 0;
    for (unsigned int i = 0; i < nports; i++)
        if (flood_eoi[i].eoi_time != 0 && (next == 0 || flood_eoi[i].eoi_time < next))
            next = flood_eoi[i].eoi_time;
    timer_set(T_EOI, next);
}

/* xen_irq_lateeoi(irq, spurious ? XEN_EOI_FLAG_SPURIOUS : 0), spurious threshold 1. */
static void lateeoi(struct lateeoi *l, bool is_spurious, uint64_t now)
{
    if (is_spurious) {
        spurious++;
        if ((1ull << l->spurious_cnt) < (hz << 2))
            l->spurious_cnt++;
        if (l->spurious_cnt > 1) {
            uint64_t delay = 1ull << (l->spurious_cnt - 2);
            if (delay > hz)
                delay = hz;
            if (delay > max_delay_jiffies)
                max_delay_jiffies = delay;
            delayed_eois++;
            l->eoi_time = now + delay * jiffy_ns;
            lateeoi_rearm();
            return;
        }
    } else {
        l->spurious_cnt = 0;
    }
    rt_unmask(l->port); /* Xen raises the port again if an event came meanwhile */
}

/* The lateeoi worker, Linux's delayed work: in process context (the victim's main loop), one
 * EOI at a time with events enabled, so what each one lets in is handled as it comes and the
 * well-behaved channel's events are not held up behind a batch. */
static void lateeoi_worker(void)
{
    for (unsigned int i = 0; i < nports; i++) {
        struct lateeoi *l = &flood_eoi[i];
        rt_events_disable(); /* the handlers change eoi_time too */
        bool due = l->eoi_time != 0 && l->eoi_time <= rt_now_ns();
        if (due)
            l->eoi_time = 0;
        rt_events_enable();
        if (due)
            rt_unmask(l->port); /* Xen raises it again if the rogue sent meanwhile */
    }
    rt_events_disable();
    lateeoi_rearm();
    rt_events_enable();
}

/* ---- the victim: the flood --------------------------------------------------- */

static uint64_t work_ns, flood_events;
static volatile bool finished;
static bool flood_done, pp_done;
static uint64_t pp_count, rounds, rounds_at_ready, rounds_at_done;

static void spin_until(uint64_t t)
{
    while (rt_now_ns() < t)
        __asm__ __volatile__("pause" ::: "memory");
}

static void check_finished(void)
{
    finished = flood_done && pp_done;
}

static void on_flood_none(evtchn_port_t port, void *arg)
{
    (void)port;
    (void)arg;
    flood_events++;
    spin_until(rt_now_ns() + work_ns);
}

static void on_flood_lateeoi(evtchn_port_t port, void *arg)
{
    struct lateeoi *l = arg;
    (void)port;
    lateeoi_ack(l);
    flood_events++;
    uint64_t now = rt_now_ns() + work_ns;
    spin_until(now);
    lateeoi(l, true, now); /* the rogue's ring is empty: spurious */
}

/* react=close: one binding of the rogue's data port at a time. */
struct binding {
    evtchn_port_t port;
    uint64_t events;
    bool closed;
};
static struct binding bindings[MAX_BINDINGS];
static unsigned int nbindings, closes_wanted, closes, rebinds;
static uint64_t close_after, gap_ns, after_close, pending_at_close, pending_after_close;
static bool status_after_close_ok = true;

static void on_flood_close(evtchn_port_t port, void *arg);

static void bind_flood(void)
{
    struct binding *b = &bindings[nbindings++];
    b->port = rt_bind_interdomain(peer, 1);
    rt_bind_handler(b->port, on_flood_close, b);
}

static void on_flood_close(evtchn_port_t port, void *arg)
{
    struct binding *b = arg;
    if (b->closed) { /* an event reached a binding already closed: must never happen */
        after_close++;
        return;
    }
    flood_events++;
    spin_until(rt_now_ns() + work_ns);
    if (++b->events % close_after != 0)
        return;

    /* Close the port whose event we are handling, while the rogue keeps sending: an event
     * sent since the upcall cleared the pending bit may be pending again right now. */
    if (rt_is_pending(port))
        pending_at_close++;
    rt_close(port);
    b->closed = true;
    closes++;
    /* Xen cleared the pending bit and freed the port. */
    if (rt_is_pending(port))
        pending_after_close++;
    struct evtchn_status st = {.dom = DOMID_SELF, .port = port};
    rt_check(rt_evtchn_op(EVTCHNOP_status, &st), "EVTCHNOP_status(port %u)", port);
    if (st.status != EVTCHNSTAT_closed)
        status_after_close_ok = false;

    if (closes == closes_wanted || nbindings == MAX_BINDINGS)
        return; /* stays closed: the rogue's sends now go nowhere */
    if (gap_ns == 0) {
        bind_flood(); /* at once, from inside the handler */
        rebinds++;
    } else {
        timer_set(T_REBIND, rt_now_ns() + gap_ns);
    }
}

static void on_ctl(evtchn_port_t port, void *arg)
{
    (void)arg;
    rt_send(port); /* ack */
    flood_done = true;
    if (!pp_done)
        rounds_at_done = pp_count;
    check_finished();
}

/* ---- the victim: pingpong on another channel ----------------------------------------- */

static bool pp_front;
static evtchn_port_t pp;
static uint64_t interval, t_sent;
static bool connected, flood_started;
static uint32_t rtt[MAX_ROUNDS];

static void pp_finish(void)
{
    pp_done = true;
    if (!flood_done)
        rounds_at_done = pp_count;
    check_finished();
}

static void send_ping(void)
{
    t_sent = rt_now_ns();
    rt_send(pp);
}

static void on_pp(evtchn_port_t port, void *arg)
{
    (void)port;
    (void)arg;
    uint64_t now = rt_now_ns();
    if (use_lateeoi)
        lateeoi_ack(&pp_eoi);
    if (!pp_front) {
        pp_count++;  /* a ping */
        rt_send(pp); /* pong */
        if (pp_count == rounds)
            pp_finish();
    } else if (!connected) { /* the connection event: ping once the flood is on */
        connected = true;
        if (flood_started)
            send_ping();
    } else if (pp_count < rounds) { /* a pong */
        uint64_t r = now - t_sent;
        rtt[pp_count++] = r > UINT32_MAX ? UINT32_MAX : (uint32_t)r;
        if (pp_count == rounds)
            pp_finish();
        else if (interval != 0)
            timer_set(T_PACE, now + interval);
        else
            send_ping();
    }
    if (use_lateeoi)
        lateeoi(&pp_eoi, false, now); /* a request or a response was there */
}

/* Work the timer hands to process context (the main loop). */
static volatile bool eoi_due, rebind_due, tick_due;

/* The main loop's heartbeat: how late process context runs after its timer fired (what a
 * flood that keeps the upcall busy starves: XSA-332's hung dom0). */
static uint64_t tick_ns, tick_at, tick_lag_max;

static void on_timer(evtchn_port_t port, void *arg)
{
    (void)port;
    (void)arg;
    uint64_t now = rt_now_ns();
    armed_at = 0;
    if (timer_at[T_PACE] != 0 && timer_at[T_PACE] <= now) {
        timer_at[T_PACE] = 0;
        send_ping();
    }
    if (timer_at[T_EOI] != 0 && timer_at[T_EOI] <= now) {
        timer_at[T_EOI] = 0;
        eoi_due = true;
    }
    if (timer_at[T_REBIND] != 0 && timer_at[T_REBIND] <= now) {
        timer_at[T_REBIND] = 0;
        rebind_due = true;
    }
    if (timer_at[T_TICK] != 0 && timer_at[T_TICK] <= now) {
        tick_at = timer_at[T_TICK];
        timer_at[T_TICK] = 0;
        tick_due = true; /* the main loop arms the next one */
    }
    timer_rearm(); /* what is not due yet (a spurious tick) */
}

/* rt_wait, with the deferred work in between: sleep until a handler finishes the run or hands
 * work over; events are off between the check and the block, so none slips in unseen. */
static void victim_loop(void)
{
    for (;;) {
        rt_events_disable();
        if (finished)
            break;
        if (tick_due) {
            uint64_t now = rt_now_ns(), lag = now - tick_at;
            tick_lag_max = lag > tick_lag_max ? lag : tick_lag_max;
            tick_due = false;
            timer_set(T_TICK, now + tick_ns);
        }
        if (eoi_due || rebind_due) {
            bool eoi = eoi_due, rebind = rebind_due;
            eoi_due = rebind_due = false;
            rt_events_enable();
            if (eoi)
                lateeoi_worker();
            if (rebind) {
                bind_flood();
                rebinds++;
            }
            continue;
        }
        HYPERVISOR_sched_op(SCHEDOP_block, NULL);
    }
    rt_events_enable();
}

/* Nearest rank, as the report's percentiles. */
static uint32_t percentile(const uint32_t *sorted, uint64_t n, unsigned int p)
{
    uint64_t rank = (n * p + 99) / 100;
    return sorted[rank ? rank - 1 : 0];
}

static void print_rtt(void)
{
    uint64_t n = pp_count, sum = 0;
    if (n == 0)
        return;
    for (uint64_t i = 1; i < n; i++) { /* insertion sort: a few hundred samples */
        uint32_t v = rtt[i];
        uint64_t j = i;
        for (; j > 0 && rtt[j - 1] > v; j--)
            rtt[j] = rtt[j - 1];
        rtt[j] = v;
    }
    for (uint64_t i = 0; i < n; i++)
        sum += rtt[i];
    rt_printf("flood: front rounds=%lu rtt mean=%lu ns p50=%u ns p99=%u ns max=%u ns\n", n, sum / n,
              percentile(rtt, n, 50), percentile(rtt, n, 99), rtt[n - 1]);
}

static void print_victim(const char *react)
{
    if (use_lateeoi) {
        rt_printf("flood: victim events=%lu spurious=%lu delayed_eois=%lu max_delay=%lu "
                  "jiffies (hz %lu)\n",
                  flood_events, spurious, delayed_eois, max_delay_jiffies, hz);
    } else if (strcmp(react, "close") != 0) {
        rt_printf("flood: victim events=%lu\n", flood_events);
    } else {
        char list[8 * MAX_BINDINGS] = "";
        size_t len = 0;
        for (unsigned int i = 0; i < nbindings && len < sizeof(list); i++)
            len += (size_t)rt_snprintf(list + len, sizeof(list) - len, "%s%u", i ? "," : "",
                                       bindings[i].port);
        rt_printf("flood: victim events=%lu closes=%u rebinds=%u (ports %s) pending_at_close=%lu "
                  "pending_after_close=%lu status_after_close=%s after_close=%lu\n",
                  flood_events, closes, rebinds, list, pending_at_close, pending_after_close,
                  status_after_close_ok ? "closed" : "NOT-closed", after_close);
    }
}

static void victim(void)
{
    const char *react = rt_arg_str("react", "lateeoi");
    work_ns = rt_arg_u64("work", 0);
    hz = rt_arg_u64("hz", 250);
    close_after = rt_arg_u64("close_after", 50);
    closes_wanted = (unsigned int)rt_arg_u64("closes", 3);
    gap_ns = rt_arg_u64("gap", 0);
    rounds = rt_arg_u64("rounds", 100);
    interval = rt_arg_u64("interval", 0);
    tick_ns = rt_arg_u64("tick", 0);
    if (hz == 0 || hz > 1000000000)
        rt_panic("hz=%lu: must be 1..1000000000", hz);
    jiffy_ns = 1000000000 / hz;
    if (close_after == 0)
        rt_panic("close_after=0: must be at least 1");
    if (rounds > MAX_ROUNDS)
        rt_panic("rounds=%lu: at most %u", rounds, MAX_ROUNDS);

    bool with_pp = rt_arg_is("pp", "back") || rt_arg_is("pp", "front");
    pp_done = !with_pp || rounds == 0; /* before the flood can end */
    bool closing = strcmp(react, "close") == 0;
    use_lateeoi = strcmp(react, "lateeoi") == 0;
    if (!closing && !use_lateeoi && strcmp(react, "none") != 0)
        rt_panic("react=%s: expected none, lateeoi or close", react);
    if (closing && nports != 1)
        rt_panic("react=close takes ports=1, not %u", nports);

    rt_check(HYPERVISOR_vcpu_op(VCPUOP_stop_periodic_timer, 0, NULL), "VCPUOP_stop_periodic_timer");
    if (closing) {
        bind_flood();
    } else {
        for (unsigned int i = 0; i < nports; i++) {
            flood_eoi[i].port = rt_bind_interdomain(peer, i + 1);
            if (flood_eoi[i].port != i + 1) /* as documented above */
                rt_panic("bind_interdomain gave port %u, expected %u", flood_eoi[i].port, i + 1);
        }
    }
    ctl = rt_bind_interdomain(peer, nports + 1);
    /* Binding made it pending ("connected"): only the rogue's "done" may set it again. */
    rt_clear_pending(ctl);
    rt_bind_handler(rt_bind_virq(VIRQ_TIMER, 0), on_timer, NULL);
    rt_printf("flood: victim bound dom%u ports %s%u (data) and %u (control), react=%s\n", peer,
              nports > 1 ? "1.." : "", nports, ctl, react);

    for (unsigned int i = 0; !closing && i < nports; i++)
        rt_bind_handler(flood_eoi[i].port, use_lateeoi ? on_flood_lateeoi : on_flood_none,
                        &flood_eoi[i]);
    rt_bind_handler(ctl, on_ctl, NULL);

    /* The pingpong, the well-behaved traffic; its first round waits for the flood. */
    if (with_pp) {
        domid_t pp_peer = (domid_t)rt_arg_u64("pp_peer", 0);
        pp_front = rt_arg_is("pp", "front");
        if (pp_front) {
            evtchn_port_t remote = (evtchn_port_t)rt_arg_u64("pp_port", 1);
            pp = rt_bind_interdomain(pp_peer, remote);
            rt_printf("flood: front port %u bound to dom%u port %u, %lu rounds, interval %lu ns\n",
                      pp, pp_peer, remote, rounds, interval);
        } else {
            pp = rt_alloc_unbound(pp_peer);
            rt_printf("flood: back port %u offered to dom%u, %lu rounds\n", pp, pp_peer, rounds);
        }
        pp_eoi.port = pp;
        if (!pp_done)
            rt_bind_handler(pp, on_pp, NULL); /* front: the connection event fires now */
    }

    rt_events_disable();
    rt_send(ctl); /* ready: the flood starts */
    flood_started = true;
    rounds_at_ready = pp_count;
    if (pp_front && connected && !pp_done)
        send_ping();
    if (tick_ns != 0)
        timer_set(T_TICK, rt_now_ns() + tick_ns);
    rt_events_enable();

    victim_loop();

    if (with_pp && pp_front)
        print_rtt();
    else if (with_pp)
        rt_printf("flood: back rounds=%lu\n", pp_count);
    print_victim(react);
    if (with_pp)
        rt_printf("flood: rounds during the flood=%lu of %lu\n", rounds_at_done - rounds_at_ready,
                  rounds);
    if (tick_ns != 0)
        rt_printf("flood: victim main loop every %lu ns, late by at most %lu ns\n", tick_ns,
                  tick_lag_max);
    if (after_close != 0 || pending_after_close != 0 || !status_after_close_ok)
        rt_panic("a closed port was still live");
}

int main(void)
{
    bool is_rogue = rt_arg_is("role", "flood");
    if (!is_rogue && !rt_arg_is("role", "victim"))
        rt_panic("role=flood or role=victim expected");
    peer = (domid_t)rt_arg_u64("peer", 0);
    nports = (unsigned int)rt_arg_u64("ports", 1);
    if (nports == 0 || nports > MAX_FLOOD_PORTS)
        rt_panic("ports=%u: must be 1..%u", nports, MAX_FLOOD_PORTS);

    if (is_rogue)
        rogue();
    else
        victim();
    return 0;
}
