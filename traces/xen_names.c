/* Names of Xen's exit reasons, hypercalls and runstates for the summary and the dump. The
 * hypercall numbers come from Xen's public header; the exit reasons are the processors' (Intel
 * SDM appendix C, AMD APM volume 2 appendix C), which Xen's public headers do not carry. */
#ifndef __XEN_INTERFACE_VERSION__
#define __XEN_INTERFACE_VERSION__ 0x00040e00
#endif
#include <stddef.h>
#include <stdint.h>
#include <xen/xen.h>

#include "traces/summary.h"

struct name_row {
    uint32_t nr;
    const char *name;
};

static const char *lookup(const struct name_row *t, size_t n, uint32_t nr)
{
    for (size_t i = 0; i < n; i++)
        if (t[i].nr == nr)
            return t[i].name;
    return NULL;
}

#define LOOKUP(table, nr) lookup(table, sizeof(table) / sizeof(table[0]), nr)

static const struct name_row vmx_exits[] = {
    {0, "EXCEPTION_NMI"},
    {1, "EXTERNAL_INTERRUPT"},
    {2, "TRIPLE_FAULT"},
    {3, "INIT"},
    {4, "SIPI"},
    {5, "IO_SMI"},
    {6, "OTHER_SMI"},
    {7, "PENDING_VIRT_INTR"},
    {8, "PENDING_VIRT_NMI"},
    {9, "TASK_SWITCH"},
    {10, "CPUID"},
    {11, "GETSEC"},
    {12, "HLT"},
    {13, "INVD"},
    {14, "INVLPG"},
    {15, "RDPMC"},
    {16, "RDTSC"},
    {17, "RSM"},
    {18, "VMCALL"},
    {19, "VMCLEAR"},
    {20, "VMLAUNCH"},
    {21, "VMPTRLD"},
    {22, "VMPTRST"},
    {23, "VMREAD"},
    {24, "VMRESUME"},
    {25, "VMWRITE"},
    {26, "VMXOFF"},
    {27, "VMXON"},
    {28, "CR_ACCESS"},
    {29, "DR_ACCESS"},
    {30, "IO_INSTRUCTION"},
    {31, "MSR_READ"},
    {32, "MSR_WRITE"},
    {33, "INVALID_GUEST_STATE"},
    {34, "MSR_LOADING"},
    {36, "MWAIT_INSTRUCTION"},
    {37, "MONITOR_TRAP_FLAG"},
    {39, "MONITOR_INSTRUCTION"},
    {40, "PAUSE_INSTRUCTION"},
    {41, "MCE_DURING_VMENTRY"},
    {43, "TPR_BELOW_THRESHOLD"},
    {44, "APIC_ACCESS"},
    {45, "EOI_INDUCED"},
    {46, "ACCESS_GDTR_OR_IDTR"},
    {47, "ACCESS_LDTR_OR_TR"},
    {48, "EPT_VIOLATION"},
    {49, "EPT_MISCONFIG"},
    {50, "INVEPT"},
    {51, "RDTSCP"},
    {52, "VMX_PREEMPTION_TIMER_EXPIRED"},
    {53, "INVVPID"},
    {54, "WBINVD"},
    {55, "XSETBV"},
    {56, "APIC_WRITE"},
    {57, "RDRAND"},
    {58, "INVPCID"},
    {59, "VMFUNC"},
    {60, "ENCLS"},
    {61, "RDSEED"},
    {62, "PML_FULL"},
    {63, "XSAVES"},
    {64, "XRSTORS"},
};

static const struct name_row svm_exits[] = {
    {0x60, "INTR"},
    {0x61, "NMI"},
    {0x62, "SMI"},
    {0x63, "INIT"},
    {0x64, "VINTR"},
    {0x65, "CR0_SEL_WRITE"},
    {0x6e, "RDTSC"},
    {0x6f, "RDPMC"},
    {0x70, "PUSHF"},
    {0x71, "POPF"},
    {0x72, "CPUID"},
    {0x73, "RSM"},
    {0x74, "IRET"},
    {0x75, "SWINT"},
    {0x76, "INVD"},
    {0x77, "PAUSE"},
    {0x78, "HLT"},
    {0x79, "INVLPG"},
    {0x7a, "INVLPGA"},
    {0x7b, "IOIO"},
    {0x7c, "MSR"},
    {0x7d, "TASK_SWITCH"},
    {0x7e, "FERR_FREEZE"},
    {0x7f, "SHUTDOWN"},
    {0x80, "VMRUN"},
    {0x81, "VMMCALL"},
    {0x82, "VMLOAD"},
    {0x83, "VMSAVE"},
    {0x84, "STGI"},
    {0x85, "CLGI"},
    {0x86, "SKINIT"},
    {0x87, "RDTSCP"},
    {0x88, "ICEBP"},
    {0x89, "WBINVD"},
    {0x8a, "MONITOR"},
    {0x8b, "MWAIT"},
    {0x8c, "MWAIT_CONDITIONAL"},
    {0x8d, "XSETBV"},
    {0x400, "NPF"},
};

#define HC(name)                                                                                   \
    {                                                                                              \
        __HYPERVISOR_##name, #name                                                                 \
    }
static const struct name_row hypercalls[] = {
    HC(set_trap_table),
    HC(mmu_update),
    HC(set_gdt),
    HC(stack_switch),
    HC(set_callbacks),
    HC(fpu_taskswitch),
    HC(sched_op_compat),
    HC(platform_op),
    HC(set_debugreg),
    HC(get_debugreg),
    HC(update_descriptor),
    HC(memory_op),
    HC(multicall),
    HC(update_va_mapping),
    HC(set_timer_op),
    HC(event_channel_op_compat),
    HC(xen_version),
    HC(console_io),
    HC(physdev_op_compat),
    HC(grant_table_op),
    HC(vm_assist),
    HC(update_va_mapping_otherdomain),
    HC(iret),
    HC(vcpu_op),
    HC(set_segment_base),
    HC(mmuext_op),
    HC(xsm_op),
    HC(nmi_op),
    HC(sched_op),
    HC(callback_op),
    HC(xenoprof_op),
    HC(event_channel_op),
    HC(physdev_op),
    HC(hvm_op),
    HC(sysctl),
    HC(domctl),
    HC(kexec_op),
    HC(tmem_op),
    HC(argo_op),
    HC(xenpmu_op),
    HC(dm_op),
    HC(hypfs_op),
};

const char *xt_exit_reason_name(uint32_t event, uint32_t reason)
{
    bool svm = event == TRC_HVM_SVM_EXIT || event == TRC_HVM_SVM_EXIT64;
    const char *name = svm ? LOOKUP(svm_exits, reason) : LOOKUP(vmx_exits, reason & 0xffff);

    if (!name && svm && reason < 0x20)
        return reason < 0x10 ? "CR_READ" : "CR_WRITE";
    if (!name && svm && reason >= 0x20 && reason < 0x40)
        return reason < 0x30 ? "DR_READ" : "DR_WRITE";
    if (!name && svm && reason >= 0x40 && reason < 0x60)
        return "EXCEPTION";
    return name ? name : "unknown";
}

const char *xt_hypercall_name(uint32_t nr)
{
    const char *name = LOOKUP(hypercalls, nr);

    return name ? name : "unknown";
}

const char *xt_runstate_name(unsigned state)
{
    static const char *const names[] = {"running", "runnable", "blocked", "offline", "lost"};

    return state < sizeof(names) / sizeof(names[0]) ? names[state] : "?";
}

const char *xt_domain_state_name(enum xt_domain_state state)
{
    static const char *const names[XT_DOM_STATES] = {
        [XT_DOM_BLOCKED] = "blocked",
        [XT_DOM_PARTIAL_RUN] = "partial run",
        [XT_DOM_FULL_RUN] = "full run",
        [XT_DOM_PARTIAL_CONTENTION] = "partial contention",
        [XT_DOM_CONCURRENCY_HAZARD] = "concurrency_hazard",
        [XT_DOM_FULL_CONTENTION] = "full_contention",
        [XT_DOM_LOST] = "lost",
    };

    return (unsigned)state < XT_DOM_STATES ? names[state] : "?";
}
