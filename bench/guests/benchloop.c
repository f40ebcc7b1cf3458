/* The benchmark guest: the two loops bench/evbench times, once under evsim and once under plain
 * Unicorn in the same process.
 *   mode=send n=N   N x EVTCHNOP_send on an IPI port bound to this vcpu (the port stays masked,
 *                   so after the first send every send finds it pending: the hypercall path)
 *   mode=spin n=N   N iterations of an xorshift loop (ordinary integer code)
 * The loops are separate, non-inlined functions so plain Unicorn can call them directly. */
#include "rt.h"

__attribute__((noinline)) void bench_send_loop(uint32_t port, uint64_t n)
{
    struct evtchn_send send = {.port = port};
    for (uint64_t i = 0; i < n; i++)
        HYPERVISOR_event_channel_op(EVTCHNOP_send, &send);
}

__attribute__((noinline)) uint64_t bench_spin_loop(uint64_t n)
{
    uint64_t x = 88172645463325252ull;
    for (uint64_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
    }
    return x;
}

int main(void)
{
    uint64_t n = rt_arg_u64("n", 1000000);
    if (rt_arg_is("mode", "send")) {
        evtchn_port_t port = rt_bind_ipi(0);
        bench_send_loop(port, n);
        rt_printf("benchloop: %llu sends on port %u\n", (unsigned long long)n, port);
    } else {
        uint64_t x = bench_spin_loop(n);
        rt_printf("benchloop: %llu iterations, x=%llx\n", (unsigned long long)n,
                  (unsigned long long)x);
    }
    return 0;
}
