/*
 * microbench: the two figures papers publish for a hypervisor's event paths, measured by a
 * guest with the TSC, as on real hardware (evsim validate compares them with the literature).
 *
 *   mode=hypercall  n null hypercalls (xen_version): cycles per round trip
 *   mode=ipi        vcpu 0 sends n events on an IPI port of vcpu 1, which runs (spins) with
 *                   events enabled: cycles from the send to the start of vcpu 1's handler
 *                   (median). Needs a domain with 2 vcpus.
 *
 * Parameters: mode=hypercall|ipi (default hypercall), n=<count> (default 1000, ipi 100).
 * Prints: microbench: <mode> cycles=<value> n=<n>
 */
#include "rt.h"

#define MAX_SAMPLES 1000

static volatile uint64_t t_handler;
static volatile unsigned handled;
static volatile bool vcpu1_ready, stop;
static evtchn_port_t port1; /* notifies vcpu 1 */

static void measure_hypercalls(uint64_t n)
{
    for (int i = 0; i < 10; i++) /* warm up */
        HYPERVISOR_xen_version(XENVER_version, NULL);
    uint64_t t0 = rt_rdtsc();
    for (uint64_t i = 0; i < n; i++)
        HYPERVISOR_xen_version(XENVER_version, NULL);
    uint64_t t1 = rt_rdtsc();
    rt_printf("microbench: hypercall cycles=%lu n=%lu\n", (t1 - t0) / n, n);
}

static void on_ipi(evtchn_port_t p, void *arg)
{
    (void)p;
    (void)arg;
    t_handler = rt_rdtsc();
    handled++;
}

static void vcpu1_main(void *arg)
{
    (void)arg;
    port1 = rt_bind_ipi(1);
    rt_bind_handler(port1, on_ipi, NULL);
    vcpu1_ready = true;
    while (!stop)
        rt_barrier(); /* running, events enabled: each event interrupts this loop */
}

static void sort(uint64_t *v, unsigned n)
{
    for (unsigned i = 1; i < n; i++)
        for (unsigned k = i; k > 0 && v[k - 1] > v[k]; k--) {
            uint64_t t = v[k];
            v[k] = v[k - 1];
            v[k - 1] = t;
        }
}

static void measure_ipis(uint64_t n)
{
    static uint64_t sample[MAX_SAMPLES];
    if (n > MAX_SAMPLES)
        n = MAX_SAMPLES;
    rt_start_vcpu(1, vcpu1_main, NULL);
    while (!vcpu1_ready)
        rt_sleep_ns(10000);
    for (uint64_t i = 0; i < n; i++) {
        unsigned before = handled;
        uint64_t t_send = rt_rdtsc();
        rt_send(port1);
        while (handled == before)
            rt_barrier();
        sample[i] = t_handler - t_send;
        rt_sleep_ns(20000); /* let vcpu 1 go back to its loop */
    }
    stop = true;
    sort(sample, (unsigned)n);
    rt_printf("microbench: ipi cycles=%lu n=%lu\n", sample[n / 2], n);
}

int main(void)
{
    if (rt_arg_is("mode", "ipi"))
        measure_ipis(rt_arg_u64("n", 100));
    else
        measure_hypercalls(rt_arg_u64("n", 1000));
    return 0;
}
