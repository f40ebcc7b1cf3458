/* Probes of simulator corner cases, one per mode, for the scenario tests.
 *   mode=jit       rdtsc in code the loader never saw: copied into .data, and entered in the
 *                  middle of another instruction. Both must read the simulated TSC.
 *   mode=downup    vcpu 1 blocks; vcpu 0 takes it down and up again, then wakes it: vcpu 1
 *                  resumes where it stopped (its start function runs once).
 *   mode=spin      spin forever (for the run-length end of a run).
 *   mode=far       a single-shot timer far in the future (year ~2262) must not fire.
 *   mode=maskspin  an IPI sent while events are masked, then the mask cleared by a plain
 *                  store (no hypercall): delivered at the next point Xen looks.
 *   mode=boosthog  sleep sleep_us (default 1000), then spin forever: woken from a block, it
 *                  starts boosted.
 *   mode=chatter   print numbered lines without end, every period_us (0: back to back),
 *                  every fourth in two pieces, with control bytes unless plain=1 (the
 *                  console's limits). */
#include "rt.h"

static uint8_t jit_code[16] __attribute__((aligned(16)));
static volatile bool got, resumed;
static volatile unsigned entered;

static uint64_t call_jit(const void *entry)
{
    return ((uint64_t(*)(void))(uintptr_t)entry)();
}

static void probe_jit(void)
{
    /* rdtsc; shl $32,%rdx; or %rdx,%rax; ret */
    static const uint8_t tsc[] = {0x0f, 0x31, 0x48, 0xc1, 0xe2, 0x20, 0x48, 0x09, 0xd0, 0xc3};
    memcpy(jit_code, tsc, sizeof(tsc));
    uint64_t t0 = rt_rdtsc(), t1 = call_jit(jit_code), t2 = rt_rdtsc();
    /* mov $0x310f,%eax: entered at +1, the bytes 0f 31 are an rdtsc */
    static const uint8_t hidden[] = {0xb8, 0x0f, 0x31, 0x48, 0xc1, 0xe2,
                                     0x20, 0x48, 0x09, 0xd0, 0xc3};
    memcpy(jit_code, hidden, sizeof(hidden));
    uint64_t t3 = call_jit(jit_code + 1), t4 = rt_rdtsc();
    rt_printf("probe: jit ordered=%d gaps %lu cycles, %lu cycles, %lu cycles, %lu cycles\n",
              t0 < t1 && t1 < t2 && t2 < t3 && t3 < t4, t1 - t0, t2 - t1, t3 - t2, t4 - t3);
}

static void on_ipi(evtchn_port_t p, void *arg)
{
    (void)p;
    (void)arg;
    got = true;
}

static void vcpu1_main(void *arg)
{
    (void)arg;
    entered++;
    rt_printf("probe: vcpu 1 entered (%u)\n", entered);
    rt_bind_handler(rt_bind_ipi(1), on_ipi, NULL);
    rt_wait(&got);
    resumed = true;
    rt_printf("probe: vcpu 1 resumed after the event\n");
}

static void probe_downup(void)
{
    rt_start_vcpu(1, vcpu1_main, NULL);
    while (!entered)
        rt_yield();
    for (int i = 0; i < 100; i++) /* let vcpu 1 reach its block */
        rt_yield();
    rt_check(HYPERVISOR_vcpu_op(VCPUOP_down, 1, NULL), "VCPUOP_down(1)");
    rt_check(HYPERVISOR_vcpu_op(VCPUOP_up, 1, NULL), "VCPUOP_up(1)");
    struct evtchn_send send = {.port = 1}; /* vcpu 1's IPI port: the domain's first */
    rt_check(rt_evtchn_op(EVTCHNOP_send, &send), "send to vcpu 1");
    while (!resumed)
        rt_yield();
    rt_printf("probe: downup entered=%u\n", entered);
}

static void probe_far(void)
{
    HYPERVISOR_vcpu_op(VCPUOP_stop_periodic_timer, 0, NULL);
    rt_bind_handler(rt_bind_virq(VIRQ_TIMER, 0), on_ipi, NULL);
    struct vcpu_set_singleshot_timer t = {.timeout_abs_ns = 8784163844623696008ull};
    rt_check(HYPERVISOR_vcpu_op(VCPUOP_set_singleshot_timer, 0, &t), "set_singleshot_timer");
    rt_printf("probe: far timer armed\n");
    rt_wait(&got);
    rt_printf("probe: far timer fired (wrong)\n");
}

static void probe_maskspin(void)
{
    evtchn_port_t port = rt_bind_ipi(0);
    rt_bind_handler(port, on_ipi, NULL);
    rt_events_disable();
    rt_send(port);
    uint64_t t0 = rt_now_ns();
    rt_vcpu_info()->evtchn_upcall_mask = 0; /* no hypercall: Xen notices at its next look */
    while (!got)
        rt_barrier();
    rt_printf("probe: maskspin delivered after %lu ns\n", rt_now_ns() - t0);
}

static void probe_chatter(void)
{
    uint64_t period = rt_arg_u64("period_us", 0) * 1000;
    bool plain = rt_arg_is("plain", "1");
    for (uint64_t n = 0;; n++) {
        if (n % 4 == 3) { /* a line in pieces, with a bell and an escape Xen strips */
            rt_puts(plain ? "chatter: line " : "chatter: \a\x1b[1mline ");
            rt_printf("%lu in pieces\n", n);
        } else {
            rt_printf("chatter: line %lu\n", n);
        }
        if (period)
            rt_sleep_ns(period);
    }
}

int main(void)
{
    if (rt_arg_is("mode", "jit"))
        probe_jit();
    else if (rt_arg_is("mode", "downup"))
        probe_downup();
    else if (rt_arg_is("mode", "far"))
        probe_far();
    else if (rt_arg_is("mode", "maskspin"))
        probe_maskspin();
    else if (rt_arg_is("mode", "chatter"))
        probe_chatter();
    else if (rt_arg_is("mode", "boosthog")) {
        rt_sleep_ns(rt_arg_u64("sleep_us", 1000) * 1000);
        for (;;)
            rt_barrier();
    }
    else
        for (;;)
            rt_barrier(); /* spin */
    return 0;
}
