/* Trace event ids: Xen's, from its public header (Debian libxen-dev, /usr/include/xen/trace.h),
 * and evsim's own class for the event-channel and ioreq steps Xen does not trace
 * (docs/traces.md gives every id with its payload). */
#ifndef EVSIM_TRACES_XT_IDS_H
#define EVSIM_TRACES_XT_IDS_H

#include <stdbool.h>
#include <stdint.h>

#include <xen/trace.h>

/* Xen 4.19 gave SVM exits their own ids and renamed the VMX ones (TRC_HVM_VMEXIT became
 * TRC_HVM_VMX_EXIT, same value); Debian 12's 4.17 header predates both. Older Xen wrote the VMX
 * ids on AMD hosts too. */
#ifndef TRC_HVM_VMX_EXIT
#define TRC_HVM_VMX_EXIT TRC_HVM_VMEXIT
#endif
#ifndef TRC_HVM_VMX_EXIT64
#define TRC_HVM_VMX_EXIT64 TRC_HVM_VMEXIT64
#endif
#ifndef TRC_HVM_SVM_EXIT
#define TRC_HVM_SVM_EXIT (TRC_HVM_ENTRYEXIT + 0x03)
#endif
#ifndef TRC_HVM_SVM_EXIT64
#define TRC_HVM_SVM_EXIT64 (TRC_HVM_ENTRYEXIT + TRC_64_FLAG + 0x03)
#endif

/* The header of the record that opens every window: CPU_CHANGE, two data words, no TSC. */
#define XT_CPU_CHANGE_HEADER (TRC_TRACE_CPU_CHANGE | (2u << TRACE_EXTRA_SHIFT))
/* CPU numbers a file may name (Xen's NR_CPUS is at most 4096 on x86). */
#define XT_MAX_CPUS 4096u
/* The four runstates RUNSTATE_CHANGE packs in two bits each (xen/vcpu.h's RUNSTATE_*). */
#define XT_RUNSTATES 4u

/* evsim's records live in Xen's general class (TRC_GEN, main class 0x001) under sub-classes Xen
 * leaves unused (its own general records are all in sub-class 0xf): xenalyze knows only Xen's
 * eight main classes and stops at any other, but passes over unknown general records. Payload
 * words pack a vcpu as domid << 16 | vcpu id, as Xen's RUNSTATE_CHANGE does. */
#define TRC_EVSIM_META 0x00011000u   /* the run's constants */
#define TRC_EVSIM_EVTCHN 0x00012000u /* event-channel steps */
#define TRC_EVSIM_IOREQ 0x00014000u  /* ioreq steps */
#define TRC_EVSIM_GUEST 0x00018000u  /* what each vcpu did, for `evsim replay` */

/* META, untimed, at the start of CPU 0's first window. */
#define TRC_EVSIM_CPU_HZ (TRC_EVSIM_META + 1) /* hz lo, hi: the TSC frequency */
#define TRC_EVSIM_DOMAIN (TRC_EVSIM_META + 2) /* domid, type (0 pv, 1 hvm), abi, nr_vcpus */
#define TRC_EVSIM_VCPU (TRC_EVSIM_META + 3)   /* dv, pcpu it is placed on, 1 if pinned */
/* The run's scenario as INI text (every field, as the run had it after its flags), in pieces:
 * bytes in this piece (at most 24), then the bytes. */
#define TRC_EVSIM_SCENARIO (TRC_EVSIM_META + 4)
/* A PV domain's memory: dv of its vcpu 0, virt_base lo, hi (where its guest-physical 0 is mapped),
 * mfn0 lo, hi (the machine frame of its guest-physical 0: frames its hypercalls name are MFNs). */
#define TRC_EVSIM_LAYOUT (TRC_EVSIM_META + 5)

/* EVTCHN, timed. abi: 2 = 2-level, 3 = 3-level, 4 = FIFO. */
#define TRC_EVSIM_SEND (TRC_EVSIM_EVTCHN + 1)        /* dv of the sender, its local port */
#define TRC_EVSIM_SET_PENDING (TRC_EVSIM_EVTCHN + 2) /* dv notified, port, abi, newly, cycles */
#define TRC_EVSIM_UNMASK (TRC_EVSIM_EVTCHN + 3)      /* dv, port */
#define TRC_EVSIM_UPCALL (TRC_EVSIM_EVTCHN + 4)      /* dv, vector (0: PV callback) */
#define TRC_EVSIM_IRET (TRC_EVSIM_EVTCHN + 5)        /* dv */
#define TRC_EVSIM_FIFO_LINK (TRC_EVSIM_EVTCHN + 6)   /* dv, port, priority */

/* IOREQ, timed. */
#define TRC_EVSIM_IOREQ_SEND                                                                       \
    (TRC_EVSIM_IOREQ + 1) /* dv, server, type|dir<<8|size<<16, addr lo, hi */
#define TRC_EVSIM_IOREQ_DONE (TRC_EVSIM_IOREQ + 2) /* dv, server, data lo, hi */
#define TRC_EVSIM_IOREQ_BUF (TRC_EVSIM_IOREQ + 3)  /* dv, server, type|dir<<8|size<<16, addr lo */

/* GUEST, timed on the vcpu's CPU unless marked untimed (they follow their step on that CPU).
 * "delta" is the guest cycles the vcpu ran since its previous step (COMPUTE first when more
 * than 32 bits). A hypercall is HCALL, ARGS, ARGS2, MEM (each range of guest memory Xen read,
 * as it was before Xen read it), RESULT. */
#define TRC_EVSIM_G_COMPUTE (TRC_EVSIM_GUEST + 1) /* dv, cycles lo, hi */
#define TRC_EVSIM_G_HCALL (TRC_EVSIM_GUEST + 2)   /* dv, delta, nr, rsp lo, hi, rflags, rip lo */
#define TRC_EVSIM_G_ARGS (TRC_EVSIM_GUEST + 3)    /* untimed: dv, rdi, rsi, rdx (lo, hi each) */
#define TRC_EVSIM_G_ARGS2 (TRC_EVSIM_GUEST + 4)   /* untimed: dv, r10, r8, r9 (lo, hi each) */
#define TRC_EVSIM_G_MEM (TRC_EVSIM_GUEST + 5)     /* untimed: dv, gpa lo, hi, len, 12 bytes */
/* untimed: dv, rax lo, hi, 1 if continued, a bind's port */
#define TRC_EVSIM_G_RESULT (TRC_EVSIM_GUEST + 6)
/* A guest access to an event page: dv, delta, slot | offset << 8 | size << 20 | write << 24,
 * then for a write the bits it cleared (lo, hi) and set (lo, hi). Slot 0 is shared_info; others
 * are named by PAGE first. */
#define TRC_EVSIM_G_ACCESS (TRC_EVSIM_GUEST + 7)
/* dv, slot, gpa lo, hi, kind (models/sink.h's hv_event_page_kind), its index in its array */
#define TRC_EVSIM_G_PAGE (TRC_EVSIM_GUEST + 8)
#define XT_ACCESS_SLOTS 254u /* event pages a domain's accesses may name (255: one too many) */
/* untimed, after the ACCESS that cleared a port's PENDING bit: dv, port, how many times Xen had
 * set it pending (lo, hi); a replay plays the access once as many have. */
#define TRC_EVSIM_G_CONSUME (TRC_EVSIM_GUEST + 10)
/* dv, delta, kind (XT_STEP_*), argument */
#define TRC_EVSIM_G_STEP (TRC_EVSIM_GUEST + 9)
enum xt_step_kind {
    XT_STEP_UPCALL = 1, /* the upcall entered: argument the vector (0 PV) */
    XT_STEP_HVM_IRET,   /* an HVM upcall handler's iretq */
    XT_STEP_HLT,        /* an HVM hlt: argument 1 if interrupts were on */
    XT_STEP_IO,         /* an HVM I/O access (evsim before G_IO: not replayable) */
};
/* An HVM vcpu's port or MMIO access at its VM exit (Xen's or a server's to answer): dv, delta,
 * XT_IO_INFO, address lo, hi, data lo, hi (a write's; a read's answer comes from the replay). */
#define TRC_EVSIM_G_IO (TRC_EVSIM_GUEST + 11)
/* The engine's slice ended inside the vcpu's code, at the end of a basic block: dv, the guest
 * cycles it ran since its previous step (lo, hi; signed: negative when that step's block read the
 * TSC and the engine took the block's rest back). Not a step: the next step's delta still counts
 * from the previous one. A replay ends its slice there too (a recording keeps no blocks). */
#define TRC_EVSIM_G_CUT (TRC_EVSIM_GUEST + 12)
/* G_IO's third word: ioreq type (IOREQ_TYPE_*), direction, DF, data_is_ptr, the exit decoded
 * an instruction (emulation, as for MMIO and string I/O: else only the exit qualification), the
 * access's size, "more" (a further element of a string instruction Xen's emulator took in the
 * same exit: no exit of its own) and its count. */
#define XT_IO_INFO(type, dir, df, ptr, emulate, size, more, count)                                 \
    (((uint32_t)(type)&0xfu) | ((uint32_t)(dir)&1u) << 4 | ((uint32_t)(df)&1u) << 5 |              \
     ((uint32_t)(ptr)&1u) << 6 | ((uint32_t)(emulate)&1u) << 7 | ((uint32_t)(size)&0xfu) << 8 |    \
     ((uint32_t)(more)&1u) << 12 | ((uint32_t)(count)&0xffffu) << 16)
#define XT_IO_TYPE(info) ((info)&0xfu)
#define XT_IO_DIR(info) (((info) >> 4) & 1u)
#define XT_IO_DF(info) (((info) >> 5) & 1u)
#define XT_IO_PTR(info) (((info) >> 6) & 1u)
#define XT_IO_EMULATE(info) (((info) >> 7) & 1u)
#define XT_IO_SIZE(info) (((info) >> 8) & 0xfu)
#define XT_IO_MORE(info) (((info) >> 12) & 1u)
#define XT_IO_COUNT(info) ((info) >> 16)
/* MEM len bit: the range is that many zero bytes (no data words). */
#define XT_MEM_ZERO 0x80000000u

/* A TSC frequency a recording may name: 1 MHz to 100 GHz (others are ignored, as the range of
 * --cpu-hz). */
static inline int xt_cpu_hz_plausible(uint64_t hz)
{
    return hz >= 1000000u && hz <= 100000000000ull;
}

static inline uint32_t xt_dv(uint32_t domid, uint32_t vcpu)
{
    return (domid & 0xffff) << 16 | (vcpu & 0xffff);
}

/* The main class of an event id as one of XT_CLASSES indexes (per-CPU volume by class). */
enum xt_class {
    XT_CLS_GEN,
    XT_CLS_SCHED,
    XT_CLS_DOM0OP,
    XT_CLS_HVM,
    XT_CLS_MEM,
    XT_CLS_PV,
    XT_CLS_SHADOW,
    XT_CLS_HW,
    XT_CLS_GUEST,
    XT_CLS_EVSIM,
    XT_CLS_OTHER,
    XT_CLASSES
};

/* Called for every record read, more than once: inline. Xen's main classes are one bit each
 * (TRC_GEN's 0x001 to TRC_HW's 0x080, TRC_GUEST's 0x800): the bit's number picks the class.
 * evsim's own records are sub-classes of TRC_GEN (TRC_EVSIM_*), counted apart. */
static inline enum xt_class xt_class_of(uint32_t event)
{
    static const unsigned char by_bit[12] = {
        XT_CLS_GEN,    XT_CLS_SCHED, XT_CLS_DOM0OP, XT_CLS_HVM,   XT_CLS_MEM,   XT_CLS_PV,
        XT_CLS_SHADOW, XT_CLS_HW,    XT_CLS_OTHER,  XT_CLS_OTHER, XT_CLS_OTHER, XT_CLS_GUEST};
    uint32_t sub = event & 0x0ffff000u, cls = (event >> TRC_CLS_SHIFT) & 0xfff;
    if (sub == TRC_EVSIM_META || sub == TRC_EVSIM_EVTCHN || sub == TRC_EVSIM_IOREQ ||
        sub == TRC_EVSIM_GUEST)
        return XT_CLS_EVSIM;
    if (!cls || (cls & (cls - 1)))
        return XT_CLS_OTHER;
    return (enum xt_class)by_bit[__builtin_ctz(cls)];
}

/* An HVM VM exit record (VMX or SVM, 32- or 64-bit rip). */
static inline bool xt_is_vmexit(uint32_t ev)
{
    return ev == TRC_HVM_VMX_EXIT || ev == TRC_HVM_VMX_EXIT64 || ev == TRC_HVM_SVM_EXIT ||
           ev == TRC_HVM_SVM_EXIT64;
}

/* A record that belongs to the vcpu running on its CPU (it names none): HVM entry/exit and
 * handler records, PV hypercalls. */
static inline bool xt_is_vcpu_record(uint32_t ev)
{
    enum xt_class c = xt_class_of(ev);
    return (c == XT_CLS_HVM && ((ev & 0xf000) == 0x1000 || (ev & 0xf000) == 0x2000)) ||
           ev == TRC_PV_HYPERCALL_V2 || ev == TRC_PV_HYPERCALL_SUBCALL || ev == TRC_PV_HYPERCALL ||
           ev == (TRC_PV_HYPERCALL | TRC_64_FLAG);
}
const char *xt_class_name(enum xt_class c);

/* xenalyze's split of the HVM class's volume (its "+-vmentry" lines). */
enum xt_hvm_volume { XT_HVM_VMENTRY, XT_HVM_VMEXIT, XT_HVM_HANDLER, XT_HVM_EMUL, XT_HVM_VOLUMES };
/* Which part an HVM record counts in, XT_HVM_VOLUMES for none (xenalyze warns of those). */
enum xt_hvm_volume xt_hvm_volume_of(uint32_t event);
const char *xt_hvm_volume_name(enum xt_hvm_volume k);
/* The name of an event id ("TRC_SCHED_WAKE" is "sched_wake"), or NULL if unknown. */
const char *xt_event_name(uint32_t event);

#endif
