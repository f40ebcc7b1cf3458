/* Names of trace classes and events, as short lower-case forms of Xen's TRC_ macro names. */
#include <stdbool.h>
#include <stddef.h>

#include "traces/xt_ids.h"

struct class_row {
    uint32_t cls; /* the main class, bits 16-27 of the event id */
    enum xt_class index;
    const char *name;
};

static const struct class_row classes[] = {
    {TRC_GEN >> TRC_CLS_SHIFT, XT_CLS_GEN, "gen"},
    {TRC_SCHED >> TRC_CLS_SHIFT, XT_CLS_SCHED, "sched"},
    {TRC_DOM0OP >> TRC_CLS_SHIFT, XT_CLS_DOM0OP, "dom0op"},
    {TRC_HVM >> TRC_CLS_SHIFT, XT_CLS_HVM, "hvm"},
    {TRC_MEM >> TRC_CLS_SHIFT, XT_CLS_MEM, "mem"},
    {TRC_PV >> TRC_CLS_SHIFT, XT_CLS_PV, "pv"},
    {TRC_SHADOW >> TRC_CLS_SHIFT, XT_CLS_SHADOW, "shadow"},
    {TRC_HW >> TRC_CLS_SHIFT, XT_CLS_HW, "hw"},
    {TRC_GUEST >> TRC_CLS_SHIFT, XT_CLS_GUEST, "guest"},
};

const char *xt_class_name(enum xt_class c)
{
    if (c == XT_CLS_EVSIM)
        return "evsim";
    for (size_t i = 0; i < sizeof(classes) / sizeof(classes[0]); i++)
        if (classes[i].index == c)
            return classes[i].name;
    return "other";
}

struct event_row {
    uint32_t id;
    const char *name;
};

/* RUNSTATE_CHANGE carries the old and new states in its id: it is matched apart. */
static const struct event_row events[] = {
    {TRC_LOST_RECORDS, "lost_records"},
    {TRC_TRACE_WRAP_BUFFER, "wrap_buffer"},
    {TRC_TRACE_CPU_CHANGE, "cpu_change"},
    {TRC_SCHED_CONTINUE_RUNNING, "continue_running"},
    {TRC_SCHED_DOM_ADD, "dom_add"},
    {TRC_SCHED_DOM_REM, "dom_rem"},
    {TRC_SCHED_SLEEP, "sleep"},
    {TRC_SCHED_WAKE, "wake"},
    {TRC_SCHED_YIELD, "yield"},
    {TRC_SCHED_BLOCK, "block"},
    {TRC_SCHED_SHUTDOWN, "shutdown"},
    {TRC_SCHED_CTL, "sched_ctl"},
    {TRC_SCHED_ADJDOM, "adjdom"},
    {TRC_SCHED_SWITCH, "switch"},
    {TRC_SCHED_S_TIMER_FN, "s_timer_fn"},
    {TRC_SCHED_T_TIMER_FN, "t_timer_fn"},
    {TRC_SCHED_DOM_TIMER_FN, "dom_timer_fn"},
    {TRC_SCHED_SWITCH_INFPREV, "switch_infprev"},
    {TRC_SCHED_SWITCH_INFNEXT, "switch_infnext"},
    {TRC_SCHED_SHUTDOWN_CODE, "shutdown_code"},
    {TRC_SCHED_SWITCH_INFCONT, "switch_infcont"},
    {TRC_DOM0_DOM_ADD, "dom0_dom_add"},
    {TRC_DOM0_DOM_REM, "dom0_dom_rem"},
    {TRC_HVM_VMENTRY, "vmentry"},
    {TRC_HVM_VMX_EXIT, "vmexit"},
    {TRC_HVM_VMX_EXIT64, "vmexit64"},
    {TRC_HVM_SVM_EXIT, "svm_exit"},
    {TRC_HVM_SVM_EXIT64, "svm_exit64"},
    {TRC_HVM_PF_XEN, "pf_xen"},
    {TRC_HVM_PF_XEN64, "pf_xen64"},
    {TRC_HVM_PF_INJECT, "pf_inject"},
    {TRC_HVM_PF_INJECT64, "pf_inject64"},
    {TRC_HVM_INJ_EXC, "inj_exc"},
    {TRC_HVM_INJ_VIRQ, "inj_virq"},
    {TRC_HVM_REINJ_VIRQ, "reinj_virq"},
    {TRC_HVM_IO_READ, "io_read"},
    {TRC_HVM_IO_WRITE, "io_write"},
    {TRC_HVM_CR_READ, "cr_read"},
    {TRC_HVM_CR_READ64, "cr_read64"},
    {TRC_HVM_CR_WRITE, "cr_write"},
    {TRC_HVM_CR_WRITE64, "cr_write64"},
    {TRC_HVM_DR_READ, "dr_read"},
    {TRC_HVM_DR_WRITE, "dr_write"},
    {TRC_HVM_MSR_READ, "msr_read"},
    {TRC_HVM_MSR_WRITE, "msr_write"},
    {TRC_HVM_CPUID, "cpuid"},
    {TRC_HVM_INTR, "intr"},
    {TRC_HVM_NMI, "nmi"},
    {TRC_HVM_SMI, "smi"},
    {TRC_HVM_VMMCALL, "vmmcall"},
    {TRC_HVM_HLT, "hlt"},
    {TRC_HVM_INVLPG, "invlpg"},
    {TRC_HVM_INVLPG64, "invlpg64"},
    {TRC_HVM_MCE, "mce"},
    {TRC_HVM_IOPORT_READ, "ioport_read"},
    {TRC_HVM_IOPORT_WRITE, "ioport_write"},
    {TRC_HVM_IOMEM_READ, "iomem_read"},
    {TRC_HVM_IOMEM_WRITE, "iomem_write"},
    {TRC_HVM_IOMEM_READ + TRC_64_FLAG, "iomem_read64"},
    {TRC_HVM_IOMEM_WRITE + TRC_64_FLAG, "iomem_write64"},
    {TRC_HVM_CLTS, "clts"},
    {TRC_HVM_LMSW, "lmsw"},
    {TRC_HVM_LMSW64, "lmsw64"},
    {TRC_HVM_RDTSC, "rdtsc"},
    {TRC_HVM_INTR_WINDOW, "intr_window"},
    {TRC_HVM_NPF, "npf"},
    {TRC_HVM_REALMODE_EMULATE, "realmode_emulate"},
    {TRC_HVM_TRAP, "trap"},
    {TRC_HVM_TRAP_DEBUG, "trap_debug"},
    {TRC_HVM_VLAPIC, "vlapic"},
    /* Xen's emulated timers and interrupt controllers (TRC_HVM_EMUL) */
    {TRC_HVM_EMUL_HPET_START_TIMER, "emul_hpet_start_timer"},
    {TRC_HVM_EMUL_PIT_START_TIMER, "emul_pit_start_timer"},
    {TRC_HVM_EMUL_RTC_START_TIMER, "emul_rtc_start_timer"},
    {TRC_HVM_EMUL_LAPIC_START_TIMER, "emul_lapic_start_timer"},
    {TRC_HVM_EMUL_HPET_STOP_TIMER, "emul_hpet_stop_timer"},
    {TRC_HVM_EMUL_PIT_STOP_TIMER, "emul_pit_stop_timer"},
    {TRC_HVM_EMUL_RTC_STOP_TIMER, "emul_rtc_stop_timer"},
    {TRC_HVM_EMUL_LAPIC_STOP_TIMER, "emul_lapic_stop_timer"},
    {TRC_HVM_EMUL_PIT_TIMER_CB, "emul_pit_timer_cb"},
    {TRC_HVM_EMUL_LAPIC_TIMER_CB, "emul_lapic_timer_cb"},
    {TRC_HVM_EMUL_PIC_INT_OUTPUT, "emul_pic_int_output"},
    {TRC_HVM_EMUL_PIC_KICK, "emul_pic_kick"},
    {TRC_HVM_EMUL_PIC_INTACK, "emul_pic_intack"},
    {TRC_HVM_EMUL_PIC_POSEDGE, "emul_pic_posedge"},
    {TRC_HVM_EMUL_PIC_NEGEDGE, "emul_pic_negedge"},
    {TRC_HVM_EMUL_PIC_PEND_IRQ_CALL, "emul_pic_pend_irq_call"},
    {TRC_HVM_EMUL_LAPIC_PIC_INTR, "emul_lapic_pic_intr"},
    {TRC_PV_HYPERCALL, "pv_hypercall"},
    {TRC_PV_TRAP, "pv_trap"},
    {TRC_PV_PAGE_FAULT, "pv_page_fault"},
    {TRC_PV_FORCED_INVALID_OP, "pv_forced_invalid_op"},
    {TRC_PV_EMULATE_PRIVOP, "pv_emulate_privop"},
    {TRC_PV_EMULATE_4GB, "pv_emulate_4gb"},
    {TRC_PV_MATH_STATE_RESTORE, "pv_math_state_restore"},
    {TRC_PV_PAGING_FIXUP, "pv_paging_fixup"},
    {TRC_PV_GDT_LDT_MAPPING_FAULT, "pv_gdt_ldt_mapping_fault"},
    {TRC_PV_PTWR_EMULATION, "pv_ptwr_emulation"},
    {TRC_PV_PTWR_EMULATION_PAE, "pv_ptwr_emulation_pae"},
    {TRC_PV_HYPERCALL_V2, "pv_hypercall"},
    {TRC_PV_HYPERCALL_SUBCALL, "pv_hypercall_subcall"},
    {TRC_EVSIM_CPU_HZ, "evsim_cpu_hz"},
    {TRC_EVSIM_DOMAIN, "evsim_domain"},
    {TRC_EVSIM_VCPU, "evsim_vcpu"},
    {TRC_EVSIM_SEND, "evtchn_send"},
    {TRC_EVSIM_SET_PENDING, "evtchn_set_pending"},
    {TRC_EVSIM_UNMASK, "evtchn_unmask"},
    {TRC_EVSIM_UPCALL, "evtchn_upcall"},
    {TRC_EVSIM_IRET, "evtchn_iret"},
    {TRC_EVSIM_FIFO_LINK, "evtchn_fifo_link"},
    {TRC_EVSIM_IOREQ_SEND, "ioreq_send"},
    {TRC_EVSIM_IOREQ_DONE, "ioreq_done"},
    {TRC_EVSIM_IOREQ_BUF, "ioreq_buffered"},
    {TRC_EVSIM_SCENARIO, "evsim_scenario"},
    {TRC_EVSIM_LAYOUT, "evsim_layout"},
    {TRC_EVSIM_G_COMPUTE, "guest_compute"},
    {TRC_EVSIM_G_HCALL, "guest_hypercall"},
    {TRC_EVSIM_G_ARGS, "guest_args"},
    {TRC_EVSIM_G_ARGS2, "guest_args2"},
    {TRC_EVSIM_G_MEM, "guest_mem"},
    {TRC_EVSIM_G_RESULT, "guest_result"},
    {TRC_EVSIM_G_ACCESS, "guest_access"},
    {TRC_EVSIM_G_PAGE, "guest_page"},
    {TRC_EVSIM_G_STEP, "guest_step"},
    {TRC_EVSIM_G_IO, "guest_io"},
    {TRC_EVSIM_G_CUT, "guest_cut"},
    {TRC_EVSIM_G_CONSUME, "guest_consume"},
};

/* Scheduler-specific events (TRC_SCHED_CLASS): a 3-bit scheduler id above a 9-bit event. */
static const char *const sched_class_events[] = {
    [TRC_SCHED_CSCHED] = "csched_event",
    [TRC_SCHED_CSCHED2] = "csched2_event",
    [2] = "sched2_event",
    [TRC_SCHED_ARINC653] = "arinc653_event",
    [TRC_SCHED_RTDS] = "rtds_event",
    [TRC_SCHED_SNULL] = "null_sched_event",
    [6] = "sched6_event",
    [7] = "sched7_event",
};

const char *xt_event_name(uint32_t event)
{
    if ((event & ~0xff0u) == TRC_SCHED_RUNSTATE_CHANGE)
        return "runstate_change";
    if ((event & 0xfffff000u) == TRC_SCHED_CLASS)
        return sched_class_events[(event & TRC_SCHED_ID_MASK) >> TRC_SCHED_ID_SHIFT];
    for (size_t i = 0; i < sizeof(events) / sizeof(events[0]); i++)
        if (events[i].id == event)
            return events[i].name;
    return NULL;
}

enum xt_hvm_volume xt_hvm_volume_of(uint32_t event)
{
    switch (event & 0x0ffff000u) {
    case TRC_HVM_HANDLER:
        return XT_HVM_HANDLER;
    case TRC_HVM_EMUL:
        return XT_HVM_EMUL;
    default:
        return xt_is_vmexit(event)        ? XT_HVM_VMEXIT
               : event == TRC_HVM_VMENTRY ? XT_HVM_VMENTRY
                                          : XT_HVM_VOLUMES;
    }
}

const char *xt_hvm_volume_name(enum xt_hvm_volume k)
{
    static const char *const names[XT_HVM_VOLUMES] = {"vmentry", "vmexit", "handler", "emul"};
    return k < XT_HVM_VOLUMES ? names[k] : "?";
}
