/* Cost names and unit conversions; the figures themselves live in the profile files. */
#include "models/cost.h"

const char *const cost_names[COST_IDS] = {
    [COST_INSN_ALU] = "insn_alu",
    [COST_INSN_MUL] = "insn_mul",
    [COST_INSN_DIV] = "insn_div",
    [COST_INSN_LOAD] = "insn_load",
    [COST_INSN_STORE] = "insn_store",
    [COST_INSN_LOCKED] = "insn_locked",
    [COST_INSN_BRANCH_NOT_TAKEN] = "insn_branch_not_taken",
    [COST_INSN_BRANCH_TAKEN] = "insn_branch_taken",
    [COST_INSN_SERIALIZING] = "insn_serializing",
    [COST_PV_TRAP] = "pv_trap",
    [COST_HVM_EXIT] = "hvm_exit",
    [COST_HVM_IO_DECODE] = "hvm_io_decode",
    [COST_HVM_IO_EMULATE] = "hvm_io_emulate",
    [COST_IOREQ_COMPLETE] = "ioreq_complete",
    [COST_HYPERCALL_DISPATCH] = "hypercall_dispatch",
    [COST_EVTCHN_OP] = "evtchn_op",
    [COST_PORT_OP] = "port_op",
    [COST_XEN_READ] = "xen_read",
    [COST_XEN_WRITE] = "xen_write",
    [COST_XEN_LOCKED] = "xen_locked",
    [COST_UPCALL_INJECT_PV] = "upcall_inject_pv",
    [COST_UPCALL_INJECT_HVM] = "upcall_inject_hvm",
    [COST_IRET] = "iret",
    [COST_IPI] = "ipi",
    [COST_WAKE] = "wake",
    [COST_CONTEXT_SWITCH] = "context_switch",
    [COST_LINE_LOCAL] = "line_local",
    [COST_LINE_SOCKET] = "line_socket",
    [COST_LINE_REMOTE] = "line_remote",
};

uint64_t cost_cycles_to_ns(const struct cost_profile *p, uint64_t cycles)
{
    return (uint64_t)(((unsigned __int128)cycles * 1000000u) / p->cpu_khz);
}

uint64_t cost_ns_to_cycles(const struct cost_profile *p, uint64_t ns)
{
    unsigned __int128 c = ((unsigned __int128)ns * p->cpu_khz) / 1000000u;
    return c > UINT64_MAX ? UINT64_MAX : (uint64_t)c;
}
