/*
 * lab_partner: the other domain of the lab course's scenarios (docs/labs/).
 *
 * `evsim lab check` runs it as dom0 next to the student's guest (dom1); in lab 11 it is the
 * HVM domain (dom1) and the student's guest its device model (dom0).  The student's guest
 * allocates the ports (EVTCHNOP_alloc_unbound for dom0), in an order its lab fixes, and this
 * program binds them (rt_bind_interdomain retries until they exist) and drives them:
 *
 *   mode=burst  (labs 2, 7)  ports=N rounds=R seed=S gap=NS
 *               The student's ports 1..N are data, N+1 control, N+2 "quiet" (the student
 *               keeps it masked).  Each round sends once on every data port in a seeded
 *               order (gap ns apart, 0 = back to back), once on the quiet port, then on the
 *               control port, and polls until the student acks on it.
 *   mode=paced  (lab 3)      n=N gap=NS done=P   port 1 data, port P (default 2) done: N
 *                            sends gap ns apart, then done.
 *   mode=ack    (lab 4)      work=NS jitter=NS seed=S   port 1 data, port 2 done: says hello
 *                            on port 1 once both are bound, then every data event is "worked
 *                            on" for work + (0..jitter) ns and acked on the same port; done
 *                            ends.
 *   mode=late   (lab 6)      delay=NS   port 1: one send delay ns after binding (0 = never).
 *   mode=flood  (lab 8)      flood=F victim=V every=K   port 1 flooded with F back-to-back
 *                            sends, port V sent once every K of them, then V+1 (done).
 *   mode=prio   (lab 9)      bulk=B sends=N every=K   ports 1..B bulk, B+1 urgent, B+2 done:
 *                            N sends round the bulk ports back to back, the urgent port once
 *                            every K of them, then done.
 *   mode=hvmio  (lab 11)     port=P rounds=N seed=S   an HVM guest, the student's dom0 its
 *                            device model: N times outl(P, x) then inl(P), which must give x+1;
 *                            prints "lab: rounds=N ok=K".
 *
 * Its ports stay masked unless it needs a handler; it prints one summary line.
 */
#include "portio.h"
#include "rt.h"

static uint64_t rng = 1;

/* xorshift64*, as guests/storm.c: the same seed gives the same sequence. */
static uint64_t next_random(void)
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return rng * 0x2545F4914F6CDD1DULL;
}

static void seed_random(void)
{
    uint64_t s = rt_arg_u64("seed", 1);
    rng = s != 0 ? s : 0x9E3779B97F4A7C15ULL; /* xorshift needs a non-zero state */
}

/* Bind the student's port and keep ours quiet: the binding made ours pending ("connected"),
 * which only the student's sends should do from now on. */
static evtchn_port_t bind_quiet(evtchn_port_t remote)
{
    evtchn_port_t p = rt_bind_interdomain(1, remote);
    rt_clear_pending(p);
    return p;
}

/* SCHEDOP_poll until `port` is pending (it stays masked: no upcall). */
static void poll_until_pending(evtchn_port_t port)
{
    while (!rt_is_pending(port)) {
        struct sched_poll p = {.nr_ports = 1, .timeout = 0};
        set_xen_guest_handle(p.ports, &port);
        rt_check(HYPERVISOR_sched_op(SCHEDOP_poll, &p), "SCHEDOP_poll");
    }
    rt_clear_pending(port);
}

static void pause_ns(uint64_t ns)
{
    if (ns != 0)
        rt_sleep_ns(ns);
}

/* ---- burst ---------------------------------------------------------------- */

#define MAX_BURST_PORTS 1000

static void burst(void)
{
    static evtchn_port_t local[MAX_BURST_PORTS + 2], order[MAX_BURST_PORTS];
    unsigned int n = (unsigned int)rt_arg_u64("ports", 64);
    uint64_t rounds = rt_arg_u64("rounds", 3), gap = rt_arg_u64("gap", 0);
    if (n == 0 || n > MAX_BURST_PORTS)
        rt_panic("partner: ports=%u: must be 1..%u", n, MAX_BURST_PORTS);
    for (unsigned int i = 0; i < n + 2; i++)
        local[i] = bind_quiet(i + 1);
    evtchn_port_t ctl = local[n], quiet = local[n + 1];
    seed_random();
    for (uint64_t r = 0; r < rounds; r++) {
        for (unsigned int i = 0; i < n; i++) /* a seeded shuffle (Fisher-Yates) */
            order[i] = local[i];
        for (unsigned int i = n - 1; i > 0; i--) {
            unsigned int j = (unsigned int)(next_random() % (i + 1));
            evtchn_port_t t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        for (unsigned int i = 0; i < n; i++) {
            rt_send(order[i]);
            pause_ns(gap ? gap / 2 + next_random() % gap : 0);
        }
        rt_send(quiet);
        rt_send(ctl);
        poll_until_pending(ctl); /* the student's ack */
    }
    rt_printf("partner: burst ports=%u rounds=%lu\n", n, rounds);
}

/* ---- paced ---------------------------------------------------------------- */

static void paced(void)
{
    uint64_t n = rt_arg_u64("n", 10), gap = rt_arg_u64("gap", 20000);
    evtchn_port_t data = bind_quiet(1), done = bind_quiet((evtchn_port_t)rt_arg_u64("done", 2));
    for (uint64_t i = 0; i < n; i++) {
        rt_send(data);
        pause_ns(gap);
    }
    rt_send(done);
    rt_printf("partner: paced sent=%lu\n", n);
}

/* ---- ack ------------------------------------------------------------------ */

static uint64_t work, jitter, acked;
static volatile bool finished;

static void spin_ns(uint64_t ns)
{
    uint64_t until = rt_now_ns() + ns;
    while (rt_now_ns() < until)
        rt_barrier();
}

static void on_data(evtchn_port_t port, void *arg)
{
    (void)arg;
    spin_ns(work + (jitter ? next_random() % jitter : 0));
    acked++;
    rt_send(port); /* the ack */
}

static void on_done(evtchn_port_t port, void *arg)
{
    (void)port;
    (void)arg;
    finished = true;
}

static void ack(void)
{
    work = rt_arg_u64("work", 10000);
    jitter = rt_arg_u64("jitter", 0);
    seed_random();
    evtchn_port_t data = bind_quiet(1);
    rt_bind_handler(data, on_data, NULL);
    rt_bind_handler(bind_quiet(2), on_done, NULL);
    rt_send(data); /* hello: the student may send from now on */
    rt_wait(&finished);
    rt_printf("partner: ack handled=%lu\n", acked);
}

/* ---- late ----------------------------------------------------------------- */

static void late(void)
{
    uint64_t delay = rt_arg_u64("delay", 0);
    evtchn_port_t p = bind_quiet(1);
    if (delay != 0) {
        rt_sleep_ns(delay);
        rt_send(p);
    }
    rt_printf("partner: late delay=%lu\n", delay);
}

/* ---- flood ---------------------------------------------------------------- */

static void flood(void)
{
    uint64_t n = rt_arg_u64("flood", 1000), every = rt_arg_u64("every", 100);
    evtchn_port_t victim_remote = (evtchn_port_t)rt_arg_u64("victim", 40);
    /* The flooded port: 1, below the victim, or one above it (floodport=) */
    evtchn_port_t low = bind_quiet((evtchn_port_t)rt_arg_u64("floodport", 1));
    evtchn_port_t victim = bind_quiet(victim_remote);
    evtchn_port_t done = bind_quiet(victim_remote + 1);
    uint64_t victims = 0;
    for (uint64_t i = 1; i <= n; i++) {
        rt_send(low);
        if (every != 0 && i % every == 0) {
            rt_send(victim);
            victims++;
        }
    }
    rt_send(done);
    rt_printf("partner: flood sent=%lu victim=%lu\n", n, victims);
}

/* ---- prio ----------------------------------------------------------------- */

#define MAX_BULK 64

static void prio(void)
{
    static evtchn_port_t bulk[MAX_BULK];
    unsigned int n = (unsigned int)rt_arg_u64("bulk", 8);
    uint64_t sends = rt_arg_u64("sends", 1000), every = rt_arg_u64("every", 50), urgents = 0;
    if (n == 0 || n > MAX_BULK)
        rt_panic("partner: bulk=%u: must be 1..%u", n, MAX_BULK);
    for (unsigned int i = 0; i < n; i++)
        bulk[i] = bind_quiet(i + 1);
    evtchn_port_t urgent = bind_quiet(n + 1), done = bind_quiet(n + 2);
    for (uint64_t i = 1; i <= sends; i++) {
        rt_send(bulk[i % n]);
        if (every != 0 && i % every == 0) {
            rt_send(urgent);
            urgents++;
        }
    }
    rt_send(done);
    rt_printf("partner: prio sent=%lu urgent=%lu\n", sends, urgents);
}

/* ---- hvmio ---------------------------------------------------------------- */

/* An HVM guest's accesses to the student's device: each outl and inl is a VM exit that Xen
 * forwards to the device model and waits for. The device must answer a read with the last
 * value written plus one. */
static void hvmio(void)
{
    uint16_t port = (uint16_t)rt_arg_u64("port", 0x5000);
    uint64_t rounds = rt_arg_u64("rounds", 10), ok = 0;
    seed_random();
    for (uint64_t i = 0; i < rounds; i++) {
        uint32_t v = (uint32_t)next_random();
        outl_dx(port, v);
        ok += inl_dx(port) == v + 1;
    }
    rt_printf("lab: rounds=%lu ok=%lu\n", rounds, ok);
}

/* ---- the modes ------------------------------------------------------------ */

static const struct {
    const char *name;
    void (*run)(void);
} modes[] = {
    {"burst", burst}, {"paced", paced}, {"ack", ack},     {"late", late},
    {"flood", flood}, {"prio", prio},   {"hvmio", hvmio},
};

int main(void)
{
    const char *mode = rt_arg_str("mode", "");
    for (unsigned int i = 0; i < RT_ARRAY_SIZE(modes); i++)
        if (strcmp(mode, modes[i].name) == 0) {
            modes[i].run();
            return 0;
        }
    rt_panic("partner: unknown mode=%s (burst, paced, ack, late, flood, prio or hvmio)", mode);
}
