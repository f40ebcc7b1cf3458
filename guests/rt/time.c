/*
 * evsim guest runtime: Xen system time.
 *
 * Xen publishes, per vcpu, a snapshot (tsc_timestamp, system_time) and a
 * scale (tsc_to_system_mul, tsc_shift).  The guest extrapolates with its own
 * TSC:
 *     delta = rdtsc() - tsc_timestamp, shifted left by tsc_shift
 *             (right when tsc_shift is negative)
 *     now   = system_time + (delta * tsc_to_system_mul) >> 32
 * `version` is a seqlock: odd while Xen updates the snapshot, so we retry
 * when it is odd or changed while we read.
 */
#include "rt.h"

__extension__ typedef unsigned __int128 u128;

uint64_t rt_rdtsc(void)
{
    uint32_t lo, hi;
    __asm__ __volatile__("rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t)hi << 32) | lo;
}

uint64_t rt_now_ns(void)
{
    const volatile struct vcpu_time_info *t = &rt_vcpu_info()->time;
    uint32_t version;
    uint64_t now;

    do {
        version = t->version;
        rt_barrier();
        uint64_t tsc = rt_rdtsc();
        uint64_t stamp = t->tsc_timestamp;
        uint64_t delta = tsc > stamp ? tsc - stamp : 0;
        int8_t shift = t->tsc_shift;
        if (shift < 0)
            delta >>= -shift;
        else
            delta <<= shift;
        now = t->system_time + (uint64_t)(((u128)delta * t->tsc_to_system_mul) >> 32);
        rt_barrier();
    } while ((version & 1) != 0 || version != t->version);

    return now;
}
