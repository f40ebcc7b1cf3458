/* The default cost profile. Issue 3 brings per-CPU profiles from files; until then this is the one
 * place a cycle figure lives. Sandy Bridge-EN (Xeon E5-2450, 2.1 GHz) is chosen because the most
 * Xen-specific published figures (Dall et al.) were measured on it. */
#include "models/cost.h"

static const struct cost_profile sandy_bridge_en = {
    .name = "default",
    .cpu = "Intel Xeon E5-2450 (Sandy Bridge-EN), 2.1 GHz",
    .cpu_khz = 2100000,
    .c =
        {
            [COST_HYPERCALL_TRAP] = {"hypercall_trap", 1228,
                                     "Xen x86 null hypercall, Dall et al. ISCA 2016 Table II", 'S'},
            [COST_HYPERCALL_DISPATCH] = {"hypercall_dispatch", 40,
                                         "estimate: table lookup + 1-2 cache-hot loads and an "
                                         "argument copy of <= 64 bytes (L1 hits at 4 cycles)",
                                         'E'},
            [COST_EVTCHN_OP] =
                {"evtchn_op", 150,
                 "estimate: event lock, port lookup through two pointer loads, state "
                 "checks; no published EVTCHNOP handler figure exists",
                 'E'},
            [COST_SET_PENDING] = {"set_pending", 60,
                                  "estimate: two locked bit operations on shared lines (~20 cycles "
                                  "each when cache-hot) plus the selector test",
                                  'E'},
            [COST_GUEST_INSN] = {"guest_insn", 1,
                                 "estimate: 1 cycle per instruction (IPC 1) until block costs "
                                 "replace it",
                                 'E'},
            [COST_IPI] = {"ipi", 3102, "virtual IPI, KVM x86, Dall et al. ATC 2017 Table 2", 'S'},
            [COST_WAKE] = {"wake", 6300,
                           "estimate: 'a few microseconds' to block and wake through the scheduler "
                           "(Linux Documentation/virt/kvm/halt-polling.rst); 3 us at 2.1 GHz",
                           'E'},
            [COST_CONTEXT_SWITCH] = {"context_switch", 2000,
                                     "world switch both ways about 2,000 cycles, Landau et al. "
                                     "SplitX, WIOV 2011 (Nehalem)",
                                     'C'},
            [COST_UPCALL_INJECT] = {"upcall_inject", 1556,
                                    "virtual IRQ completion (x86), Dall et al. ISCA 2016", 'S'},
            [COST_IRET] = {"iret", 100,
                           "estimate: HYPERVISOR_iret reads a 72-byte frame from a cache-hot stack "
                           "beyond the trap already charged",
                           'E'},
        },
};

const struct cost_profile *cost_profile_default(void)
{
    return &sandy_bridge_en;
}

uint64_t cost_cycles_to_ns(const struct cost_profile *p, uint64_t cycles)
{
    return (uint64_t)(((unsigned __int128)cycles * 1000000u) / p->cpu_khz);
}

/* Saturates: a time too far ahead to express in cycles becomes UINT64_MAX ("never"). */
uint64_t cost_ns_to_cycles(const struct cost_profile *p, uint64_t ns)
{
    unsigned __int128 c = ((unsigned __int128)ns * p->cpu_khz) / 1000000u;
    return c > UINT64_MAX ? UINT64_MAX : (uint64_t)c;
}
