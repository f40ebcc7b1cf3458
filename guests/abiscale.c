/*
 * abiscale: the workload of `evsim bench abi-scaling`, the same code under
 * every event-channel ABI (abi= on the command line picks it).
 *
 * role=burst (default): one domain with `vcpus` vcpus binds `ports` IPI
 * ports, spread round robin over its vcpus (each vcpu binds and handles its
 * own).  vcpu 0 then sends `rounds` bursts of `burst` events on ports spread
 * evenly over all of them, each burst once every port of the previous one
 * has been handled: the scan cost grows with the ports bound and pending.
 *
 * role=storm: vcpu 1 handles `ports` ports; vcpu 0 sends on the first
 * (the storm port) continuously and, every `every` sends, once on one of
 * the others in turn (the rare ports), `rounds` sends in all.  The rare
 * ports' waits measure fairness; prio=1 gives them FIFO priority 0 (the
 * storm port keeps the default 7) to measure what priorities buy.
 *
 * role=back / role=front: the Dom0 problem.  As Linux's split drivers
 * connect, each of the `fronts` frontends (domains 1..n) allocates four
 * unbound ports for domain 0 (its ports 1..4, lowest free first) and
 * blocks; the backend (domain 0) binds to them in domain order (ports
 * 4(i-1)+1 .. 4i for domain i) and sends on each, which tells the
 * frontend it is connected.  No frontend polls for the backend, so with
 * thousands of them Dom0 is not starved of CPU while it sets up.  Each
 * frontend then, `rounds` times, sends a request on each port and waits
 * for the four responses (the backend answers on the same port, as split
 * drivers do), then sleeps `interval` ns.  Nothing coalesces, so the
 * backend knows how many requests to expect and powers off after the last.
 *
 * Before measuring, every role prints "abiscale: measuring": the
 * benchmark counts from that line on.
 */
#include "rt.h"

#define MAX_PORTS 262144u

/* The domain builder hands .bss over zeroed (Xen's does): _start leaves it alone (guest.ld),
 * so the stacks and handler slots a frontend never touches cost the host nothing when the
 * benchmark runs thousands of these domains. */
const char rt_bss_zeroed = 1;

static evtchn_port_t *ports; /* in pages from rt_alloc_pages: see alloc_ports */
static uint64_t nr_ports, nr_vcpus;
static volatile uint64_t bound_vcpus; /* vcpus done binding their share */
static volatile uint64_t handled, expect;
static volatile bool round_done, finished;
static evtchn_port_t port_done; /* notifies vcpu 0 that a burst was handled */

/* Room for n ports (the backend holds four per frontend, not `ports`). */
static void alloc_ports(uint64_t n)
{
    ports = rt_alloc_pages((unsigned)((n * sizeof(*ports) + RT_PAGE_SIZE - 1) / RT_PAGE_SIZE));
}

static void on_done(evtchn_port_t port, void *arg)
{
    (void)port, (void)arg;
    round_done = true;
}

/* Runs on the vcpu the port notifies; the last event of a burst tells vcpu 0. */
static void on_event(evtchn_port_t port, void *arg)
{
    (void)port, (void)arg;
    if (__atomic_add_fetch(&handled, 1, __ATOMIC_SEQ_CST) != expect)
        return;
    if (rt_vcpu_id() == 0)
        round_done = true;
    else
        rt_send(port_done);
}

/* Each vcpu binds the ports i with i % vcpus == its id. */
static void bind_share(unsigned vcpu)
{
    for (uint64_t i = vcpu; i < nr_ports; i += nr_vcpus) {
        ports[i] = rt_bind_ipi(vcpu);
        rt_bind_handler(ports[i], on_event, NULL);
    }
    __atomic_add_fetch(&bound_vcpus, 1, __ATOMIC_SEQ_CST);
}

static void helper_vcpu(void *arg)
{
    bind_share((unsigned)(uintptr_t)arg);
    rt_wait(&finished);
}

static void start_vcpus(void)
{
    for (unsigned v = 1; v < nr_vcpus; v++)
        rt_start_vcpu(v, helper_vcpu, (void *)(uintptr_t)v);
    while (bound_vcpus < nr_vcpus)
        rt_sleep_ns(10000);
}

static void send_burst(uint64_t burst, uint64_t round)
{
    uint64_t stride = nr_ports / burst;

    handled = 0;
    expect = burst;
    round_done = false;
    /* With events masked the whole burst is pending at once: the upcall then scans for all of
     * it, which is what the density sweep measures. */
    rt_events_disable();
    for (uint64_t k = 0; k < burst; k++)
        rt_send(ports[(k * stride + round) % nr_ports]);
    rt_events_enable();
    rt_wait(&round_done);
}

static int role_burst(void)
{
    uint64_t burst = rt_arg_u64("burst", 1), rounds = rt_arg_u64("rounds", 10);

    if (burst == 0 || burst > nr_ports)
        rt_panic("abiscale: burst=%lu must be 1 to ports=%lu", burst, nr_ports);
    port_done = rt_bind_ipi(0);
    rt_bind_handler(port_done, on_done, NULL);
    bind_share(0);
    start_vcpus();
    rt_printf("abiscale: bound %lu ports on %lu vcpus\n", nr_ports, nr_vcpus);
    rt_printf("abiscale: measuring\n");
    for (uint64_t r = 0; r < rounds; r++)
        send_burst(burst, r);
    rt_printf("abiscale: %lu bursts of %lu events handled\n", rounds, burst);
    finished = true;
    return 0;
}

/* role=storm: vcpu 1 binds and handles; vcpu 0 only sends. */
static void storm_receiver(void *arg)
{
    (void)arg;
    for (uint64_t i = 0; i < nr_ports; i++) {
        ports[i] = rt_bind_ipi(1);
        if (i > 0 && rt_arg_u64("prio", 0))
            rt_set_priority(ports[i], 0);
        rt_bind_handler(ports[i], on_event, NULL);
    }
    bound_vcpus = 2;
    rt_wait(&finished);
}

static int role_storm(void)
{
    uint64_t every = rt_arg_u64("every", 16), rounds = rt_arg_u64("rounds", 4000);

    if (nr_vcpus < 2 || nr_ports < 2 || every == 0)
        rt_panic("abiscale: role=storm needs vcpus >= 2, ports >= 2 and every >= 1");
    expect = UINT64_MAX; /* never a burst's end */
    rt_start_vcpu(1, storm_receiver, NULL);
    while (bound_vcpus < 2)
        rt_sleep_ns(10000);
    rt_printf("abiscale: storm on port %u, %lu rare ports, one every %lu sends\n", ports[0],
              nr_ports - 1, every);
    rt_printf("abiscale: measuring\n");
    uint64_t rare = 0;
    for (uint64_t s = 1; s <= rounds; s++) {
        rt_send(ports[0]);
        if (s % every == 0)
            rt_send(ports[1 + rare++ % (nr_ports - 1)]);
    }
    rt_sleep_ns(200000); /* let the last ones drain */
    rt_printf("abiscale: storm done, %lu handled\n", handled);
    finished = true;
    return 0;
}

/* Backend: answer each request on its port. */
static void on_request(evtchn_port_t port, void *arg)
{
    (void)arg;
    rt_send(port);
    if (++handled == expect)
        finished = true;
}

static volatile uint64_t responses;

/* Frontend: count the backend's answers. */
static void on_response(evtchn_port_t port, void *arg)
{
    (void)port, (void)arg;
    if (++responses % 4 == 0)
        round_done = true;
}

static int role_back(void)
{
    uint64_t fronts = rt_arg_u64("fronts", 1), rounds = rt_arg_u64("rounds", 4);

    if (fronts == 0 || 4 * fronts >= MAX_PORTS)
        rt_panic("abiscale: fronts=%lu out of range", fronts);
    expect = 4 * fronts * rounds;
    alloc_ports(4 * fronts);
    /* A frontend that has not booted yet makes the bind wait (rt_bind_interdomain retries). */
    for (uint64_t i = 0; i < 4 * fronts; i++) {
        ports[i] = rt_bind_interdomain((domid_t)(1 + i / 4), (evtchn_port_t)(1 + i % 4));
        rt_clear_pending(ports[i]); /* the bind's own event: nothing to answer */
        rt_bind_handler(ports[i], on_request, NULL);
        rt_send(ports[i]); /* connected: the frontend counts it as a response */
    }
    rt_printf("abiscale: backend of %lu frontends, %lu ports\n", fronts, 4 * fronts);
    rt_printf("abiscale: measuring\n");
    rt_wait(&finished);
    rt_printf("abiscale: backend handled %lu events\n", handled);
    return 0;
}

static int role_front(void)
{
    uint64_t rounds = rt_arg_u64("rounds", 4), interval = rt_arg_u64("interval", 200000);
    evtchn_port_t mine[4];

    round_done = false;
    for (unsigned i = 0; i < 4; i++) {
        mine[i] = rt_alloc_unbound(0);
        if (mine[i] != i + 1)
            rt_panic("abiscale: frontend port %u is not %u: the backend binds 1..4", mine[i],
                     i + 1);
        rt_bind_handler(mine[i], on_response, NULL);
    }
    rt_wait(&round_done); /* the backend bound all four and sent on each */
    /* Spread the frontends' requests over the interval, by domain id. */
    rt_sleep_ns(interval + ((uint64_t)rt_domid * 7990271u) % interval);
    for (uint64_t r = 0; r < rounds; r++) {
        round_done = false;
        for (unsigned i = 0; i < 4; i++)
            rt_send(mine[i]);
        rt_wait(&round_done);
        rt_sleep_ns(interval);
    }
    return 0;
}

int main(void)
{
    nr_ports = rt_arg_u64("ports", 64);
    nr_vcpus = rt_arg_u64("vcpus", 1);
    if (nr_ports == 0 || nr_ports > MAX_PORTS || nr_vcpus == 0 || nr_vcpus > RT_MAX_VCPUS)
        rt_panic("abiscale: ports=%lu (1-%u) or vcpus=%lu (1-%u) out of range", nr_ports, MAX_PORTS,
                 nr_vcpus, RT_MAX_VCPUS);
    if (rt_arg_is("role", "back"))
        return role_back();
    if (rt_arg_is("role", "front"))
        return role_front();
    alloc_ports(nr_ports);
    if (rt_arg_is("role", "storm"))
        return role_storm();
    return role_burst();
}
