#include "sim/vcpu.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unicorn/unicorn.h>

#include "models/hypercall.h"
#include "models/hvm_op.h"
#include "models/pv.h"
#include "sim/evpages.h"
#include "sim/hvm_exits.h"
#include "sim/explain.h"
#include "sim/record.h"
#include "sim/replay.h"
#include "sim/stages.h"

#define SYSCALL_LEN 2 /* Unicorn reports the syscall's own address and adds 2 after the hook */
#define VMCALL_LEN 3  /* vmcall (0f 01 c1), vmmcall (0f 01 d9): RIP is ours to move */
#define UD_VECTOR 6
#define PF_VECTOR 14

/* The registers a hypercall, an iret or an upcall can read or change, in one batch. */
static const int hv_reg_ids[] = {
    UC_X86_REG_RAX, UC_X86_REG_RBX, UC_X86_REG_RCX,    UC_X86_REG_RDX, UC_X86_REG_RSI,
    UC_X86_REG_RDI, UC_X86_REG_RBP, UC_X86_REG_RSP,    UC_X86_REG_R8,  UC_X86_REG_R9,
    UC_X86_REG_R10, UC_X86_REG_R11, UC_X86_REG_R12,    UC_X86_REG_R13, UC_X86_REG_R14,
    UC_X86_REG_R15, UC_X86_REG_RIP, UC_X86_REG_EFLAGS,
};
#define NR_HV_REGS (sizeof(hv_reg_ids) / sizeof(hv_reg_ids[0]))
_Static_assert(sizeof(struct hv_regs) == NR_HV_REGS * sizeof(uint64_t), "hv_regs order");

/* A hypercall trap reads its number and the two arguments most hypercalls take; the other four
 * arguments only for the hypercalls that use them (HYPERCALL_WIDE_MASK); where it was made and
 * the frame registers only when something needs them: iret, an upcall, a continuation, a
 * recording (every register read costs). */
static const int hc_reg_ids[] = {UC_X86_REG_RAX, UC_X86_REG_RDI, UC_X86_REG_RSI, UC_X86_REG_RDX,
                                 UC_X86_REG_R10, UC_X86_REG_R8,  UC_X86_REG_R9,  UC_X86_REG_RIP,
                                 UC_X86_REG_RSP, UC_X86_REG_RCX, UC_X86_REG_R11, UC_X86_REG_EFLAGS};
/* Groups of hc_reg_ids: its first register and how many. */
struct hc_group {
    unsigned first, n;
};
static const struct hc_group hc_narrow = {0, 3}; /* rax, rdi, rsi */
static const struct hc_group hc_wide = {3, 4};   /* rdx, r10, r8, r9 */
static const struct hc_group hc_frame = {7, 5};  /* rip, rsp, rcx, r11, rflags */
#define HC_GROUP_MAX 5u
#define NR_HC_REGS (sizeof(hc_reg_ids) / sizeof(hc_reg_ids[0]))

/* Where each of hc_reg_ids lands in struct hv_regs. */
static const size_t hc_reg_offsets[NR_HC_REGS] = {
    offsetof(struct hv_regs, rax), offsetof(struct hv_regs, rdi), offsetof(struct hv_regs, rsi),
    offsetof(struct hv_regs, rdx), offsetof(struct hv_regs, r10), offsetof(struct hv_regs, r8),
    offsetof(struct hv_regs, r9),  offsetof(struct hv_regs, rip), offsetof(struct hv_regs, rsp),
    offsetof(struct hv_regs, rcx), offsetof(struct hv_regs, r11), offsetof(struct hv_regs, rflags)};

static void regs_all(struct hv_regs *r, void **slots)
{
    for (size_t i = 0; i < NR_HV_REGS; i++)
        slots[i] = (uint64_t *)r + i;
}

/* Slots for a group of hc_reg_ids. */
static void regs_group(struct hv_regs *r, struct hc_group g, void **slots)
{
    for (unsigned i = 0; i < g.n; i++)
        slots[i] = (char *)r + hc_reg_offsets[g.first + i];
}

static void regs_read_all(uc_engine *uc, struct hv_regs *r)
{
    void *slots[NR_HV_REGS];
    regs_all(r, slots);
    uc_reg_read_batch(uc, (int *)hv_reg_ids, slots, (int)NR_HV_REGS);
}

void sim_vcpu_set_regs(struct sim_vcpu *sv, const struct hv_regs *r)
{
    if (sv->rp) {
        replay_set_regs(sv, r);
        return;
    }
    void *slots[NR_HV_REGS];
    regs_all((struct hv_regs *)r, slots);
    if (sv->uc) {
        uc_reg_write_batch(sv->uc, (int *)hv_reg_ids, slots, (int)NR_HV_REGS);
        return;
    }
    /* A PV vcpu no engine holds (VCPUOP_initialise from another vcpu): its saved context. */
    for (size_t i = 0; i < NR_HV_REGS; i++)
        uc_context_reg_write(sv->ctx, hv_reg_ids[i], slots[i]);
}

/* One group of hc_reg_ids, read from the engine into r or written to it from r. Not inlined:
 * the trap would compute every group's slots up front, though it usually needs one. */
static __attribute__((noinline)) void regs_read_group(uc_engine *uc, struct hv_regs *r,
                                                      struct hc_group g)
{
    void *slots[HC_GROUP_MAX];
    regs_group(r, g, slots);
    uc_reg_read_batch(uc, (int *)hc_reg_ids + g.first, slots, (int)g.n);
}

/* The registers every trap reads first (hc_narrow): the hypercall's number and its first two
 * arguments, before anything decides which way it goes. */
struct hc_args {
    uint64_t nr, a1, a2;
};

/* Their slots spelled out: no table walk on the path of every hypercall. */
static void regs_read_narrow(uc_engine *uc, struct hc_args *a)
{
    static const int ids[] = {UC_X86_REG_RAX, UC_X86_REG_RDI, UC_X86_REG_RSI};
    void *slots[] = {&a->nr, &a->a1, &a->a2};
    uc_reg_read_batch(uc, (int *)ids, slots, (int)(sizeof(ids) / sizeof(ids[0])));
}

static __attribute__((noinline)) void regs_write_group(uc_engine *uc, struct hv_regs *r,
                                                       struct hc_group g)
{
    void *slots[HC_GROUP_MAX];
    regs_group(r, g, slots);
    uc_reg_write_batch(uc, (int *)hc_reg_ids + g.first, slots, (int)g.n);
}

/* The registers of a hypercall trap as they were read (before the handler runs), to tell
 * whether the hypercall moved anything but the result (rax). Kept as scalars: they are
 * compared one by one, no block copy of the structure the engine just wrote into. */
struct hc_snapshot {
    uint64_t rdi, rsi, rip, rdx, r10, r8, r9, rsp, rcx, r11, rflags;
};

static void hc_snapshot_take(struct hc_snapshot *s, const struct hv_regs *r)
{
    *s = (struct hc_snapshot){r->rdi, r->rsi, r->rip, r->rdx, r->r10,   r->r8,
                              r->r9,  r->rsp, r->rcx, r->r11, r->rflags};
}

/* Did anything but the result (rax) change? */
static bool hc_moved(const struct hv_regs *r, const struct hc_snapshot *s)
{
    return (r->rdi ^ s->rdi) | (r->rsi ^ s->rsi) | (r->rip ^ s->rip) | (r->rdx ^ s->rdx) |
           (r->r10 ^ s->r10) | (r->r8 ^ s->r8) | (r->r9 ^ s->r9) | (r->rsp ^ s->rsp) |
           (r->rcx ^ s->rcx) | (r->r11 ^ s->r11) | (r->rflags ^ s->rflags);
}

static uint64_t *pcpu_clock(struct sim_vcpu *sv)
{
    return sv->clock;
}

static void on_rdtsc(uc_engine *uc, uint64_t addr, uint32_t size, void *opaque);
static void engine_load(struct sim_engine *e, struct sim_vcpu *sv);
static void on_rdtscp(uc_engine *uc, uint64_t addr, uint32_t size, void *opaque);

/* An HVM guest's upcall handler returns with iretq, no hypercall: its event path's last stage
 * (return) is that instruction, and ends here. */
static void on_hvm_iret(uc_engine *uc, uint64_t addr, uint32_t size, void *opaque)
{
    (void)uc, (void)addr, (void)size;
    sim_hvm_iret(opaque);
}

void sim_hvm_iret(struct sim_vcpu *sv)
{
    uint64_t now = *pcpu_clock(sv);
    explain_hvm_iret(sv->sd->m->explain, sv);
    record_guest_step(sv, XT_STEP_HVM_IRET, 0);
    record_iret(sv);
    stages_iret(&sv->sd->stages, &sv->stages, now, now);
    sv->upcall_insns += sv->insns - sv->upcall_insns_at;
    sv->upcall_insns_at = sv->insns;
}

/* Has the engine hooked this site already (a CPU's engine serves every PV domain, and domains
 * running the same program share their sites)? Else note it. -1: out of memory. */
static int engine_site_new(struct sim_engine *e, const struct aot_site *s)
{
    uint64_t key = s->addr * 4 + (uint64_t)s->kind;
    for (unsigned i = 0; i < e->nr_hooked; i++)
        if (e->hooked[i] == key)
            return 0;
    if (e->nr_hooked == e->cap_hooked) {
        unsigned cap = e->cap_hooked ? 2 * e->cap_hooked : 16;
        uint64_t *h = realloc(e->hooked, cap * sizeof(*h));
        if (!h)
            return -1;
        e->hooked = h;
        e->cap_hooked = cap;
    }
    e->hooked[e->nr_hooked++] = key;
    return 1;
}

/* A trap site's code hook: TSC reads everywhere; in HVM guests, port I/O (where an emulator
 * may have to answer before the instruction can run) and iretq. The TSC hooks take the engine
 * (whichever vcpu runs in it), the HVM ones their vcpu (whose engine it is). */
static int hook_site(struct sim_engine *e, struct sim_vcpu *sv, const struct aot_site *s)
{
    static void *const hooks[] = {[AOT_SITE_RDTSC] = (void *)on_rdtsc,
                                  [AOT_SITE_RDTSCP] = (void *)on_rdtscp,
                                  [AOT_SITE_PORT_IO] = (void *)sim_hvm_port_site,
                                  [AOT_SITE_IRETQ] = (void *)on_hvm_iret};
    uc_hook h;
    bool tsc = s->kind == AOT_SITE_RDTSC || s->kind == AOT_SITE_RDTSCP;
    void *cb = hooks[s->kind];
    if (!tsc && !sv->sd->cfg->hvm)
        return 0;
    int fresh = engine_site_new(e, s);
    if (fresh <= 0)
        return fresh;
    return uc_hook_add(e->uc, &h, UC_HOOK_CODE, cb, tsc ? (void *)e : (void *)sv, s->addr,
                       s->addr) == UC_ERR_OK
               ? 0
               : -1;
}

/* The engines that may run sd's code: every CPU's for a PV domain, its vcpus' own for HVM
 * (NULL for one without an engine yet). */
static unsigned domain_nr_engines(const struct sim_domain *sd)
{
    return sd->paged ? sd->m->nr_pcpus : sd->nr_vcpus;
}

static struct sim_engine *domain_engine(const struct sim_domain *sd, unsigned k)
{
    return sd->paged ? sd->m->pcpu[k].eng : sd->vcpu[k].eng;
}

/* New trap sites (code the load-time sweep did not see): hook them in every engine that may
 * run the domain and drop the block from their translation caches, so it is translated again
 * with the hooks. Only the running engine can name the block by its address (its page tables
 * are loaded): the other CPUs' engines drop everything they translated. */
static void hook_new_sites(struct sim_vcpu *sv, unsigned first, uint64_t addr, uint32_t size)
{
    struct sim_domain *sd = sv->sd;
    for (unsigned k = 0; k < domain_nr_engines(sd); k++) {
        struct sim_engine *e = domain_engine(sd, k);
        if (!e)
            continue;
        for (unsigned i = first; i < sd->aot.nr_sites; i++)
            hook_site(e, e->sv ? e->sv : sv, &sd->aot.site[i]);
        if (e == sv->eng || !sd->paged)
            uc_ctl_remove_cache(e->uc, addr, addr + size);
        else
            uc_ctl_flush_tb(e->uc);
    }
}

/* Returns false when the block must not run yet (it was just re-hooked: run it again). */
static bool block_cost_first_sight(struct sim_vcpu *sv, uint64_t addr, uint32_t size,
                                   uint32_t *insns, uint32_t *cycles, bool *cond_end)
{
    struct sim_domain *sd = sv->sd;
    *cond_end = false;
    const uint8_t *code = sim_domain_va(sd, addr, size);
    if (!code || addr - sd->virt_base < XEN_PAGE_SIZE) {
        *insns = *cycles = 0; /* outside RAM: the fetch faults before anything runs */
        return true;
    }
    unsigned before = sd->aot.nr_sites;
    if (aot_slow_cost(&sd->aot, addr, size, code, insns, cycles, cond_end) == 0)
        return true;
    hook_new_sites(sv, before, addr, size);
    return false;
}

void sim_vcpu_request_stop(struct sim_vcpu *sv)
{
    sv->stop_requested = true;
    sv->stop_at = 0; /* every later block hook sees it at once */
    if (sv->uc)
        uc_emu_stop(sv->uc);
}

/* Charge a block whose cost is known: unless it may not run now (see on_block). */
static void block_charge(struct sim_vcpu *sv, uint64_t addr, uint32_t size, uint32_t insns,
                         uint32_t cycles, bool cond_end)
{
    uint64_t *clock = pcpu_clock(sv);
    /* The previous block ended with a conditional branch: taken unless this is its
     * fall-through. Only now is that known. */
    if (addr != sim_vcpu_blk_end(sv))
        cycles += sim_vcpu_blk_taken(sv);
    if (*clock + cycles > sv->stop_at && (sv->slice_ran || sv->insns != sv->slice_insns)) {
        sim_vcpu_request_stop(sv);
        sv->resume_at = addr;
        return;
    }
    sv->slice_ran = true;
    sv->blk = sim_vcpu_blk_tail(addr, size, cond_end ? sv->taken_cycles : 0);
    sv->insns += insns;
    sv->guest_cycles += cycles;
    *clock += cycles;
}

/* A block of the main code segment costed from the prefix sums: block_fast takes it from its
 * start offset's entry next time (the last size seen there wins). */
static void block_cost_keep(struct sim_vcpu *sv, uint64_t addr, uint32_t size, uint32_t insns,
                            uint32_t cycles, bool cond_end)
{
    uint64_t off = addr - sv->hot_base;
    if (off < sv->hot_size && size && size <= sv->hot_size - off)
        sv->hot_blocks[off] = (struct aot_block_cost){
            sim_vcpu_blk_tail(addr, size, cond_end ? sv->taken_cycles : 0), insns, cycles};
}

/* Everything on_block's fast path leaves out: a stop, a block outside the main code segment or
 * not yet decoded, one that would cross the slice's end. */
static __attribute__((noinline)) void block_slow(struct sim_vcpu *sv, uint64_t addr, uint32_t size)
{
    /* A requested stop also sets stop_at to 0. A stop asked for in a hook that also moved RIP
     * (an upcall, an iret) is cancelled by Unicorn, which restarts at the new RIP: it is asked
     * again here, before this block runs. */
    if (*pcpu_clock(sv) >= sv->stop_at) {
        sim_vcpu_request_stop(sv);
        sv->resume_at = addr; /* Unicorn's RIP is stale here: chained blocks do not update it */
        return;
    }
    uint32_t insns, cycles;
    bool cond_end;
    if (aot_fast_cost(&sv->sd->aot, addr, size, &insns, &cycles, &cond_end))
        block_cost_keep(sv, addr, size, insns, cycles, cond_end);
    else if (!block_cost_first_sight(sv, addr, size, &insns, &cycles, &cond_end)) {
        sim_vcpu_request_stop(sv);
        sv->resume_at = addr; /* translated again, with its TSC reads hooked */
        return;
    }
    block_charge(sv, addr, size, insns, cycles, cond_end);
}

/* GCC would pack block_fast's two counter additions into vector instructions, several more
 * than two adds on a path that runs for every guest block. */
#if defined(__GNUC__) && !defined(__clang__)
#define BLOCK_HOOK_ATTR __attribute__((optimize("no-tree-slp-vectorize")))
#else
#define BLOCK_HOOK_ATTR
#endif

/* The block hook's common case, a block of the main code segment that ends before the slice
 * does, charged as block_slow would: a few loads, no call, no stack, and as few stores as the
 * counters allow (it runs for every block the guest executes): four, the block's tail (where it
 * ends and its taken-branch cost, copied from its entry in one move), the instruction and guest
 * cycle counts, and the clock. A block that ends strictly before stop_at can neither be the stop
 * nor cross it, whatever slice_ran says; its instructions (one at least) say that a block ran
 * (slice_insns). Returns false, having changed nothing, otherwise. */
static inline bool block_fast(struct sim_vcpu *sv, uint64_t addr, uint32_t size)
{
    uint64_t off = addr - sv->hot_base;
    if (__builtin_expect(off >= sv->hot_size, 0))
        return false;
    const struct aot_block_cost *b = &sv->hot_blocks[off];
    if (__builtin_expect(b->tail.size != size || !size, 0))
        return false;
    /* The previous block's taken branch, masked in rather than branched on: whether the guest
     * falls through changes from block to block. */
    uint32_t taken = sim_vcpu_blk_taken(sv) & -(uint32_t)(addr != sim_vcpu_blk_end(sv));
    uint32_t cycles = b->cycles + taken;
    uint64_t end = *sv->clock + cycles;
    if (__builtin_expect(end >= sv->stop_at, 0))
        return false;
    sv->blk = b->tail;
    sv->insns += b->insns;
    sv->guest_cycles += cycles;
    *sv->clock = end;
    return true;
}

/* Charge a block: its instruction count and cycles were computed when the guest was loaded.
 * A block that would end past the end of the slice is not run now (unless it is the slice's
 * first: something must run): Unicorn does not execute a block whose hook asked for the stop
 * (nor any after it), and it is charged when the vcpu resumes. So guest code never runs past
 * the time another CPU's IPI may arrive. */
BLOCK_HOOK_ATTR static void on_block(uc_engine *uc, uint64_t addr, uint32_t size, void *opaque)
{
    struct sim_vcpu *sv = ((struct sim_engine *)opaque)->sv;
    (void)uc;
    if (!block_fast(sv, addr, size))
        block_slow(sv, addr, size);
}

/* RDTSC/RDTSCP at a site found ahead of time: return the simulated TSC and skip the
 * instruction. The block hook charged the whole block up front; the TSC is taken as of the end
 * of this instruction, and what follows it is uncharged again because Unicorn resumes after the
 * skipped instruction in a new block that will be charged on its own. */
void sim_vcpu_uncharge_from(struct sim_vcpu *sv, uint64_t addr)
{
    struct sim_domain *sd = sv->sd;
    uint64_t blk_end = sim_vcpu_blk_end(sv); /* the block being run: [its address, blk_end) */
    const uint8_t *code = addr < blk_end ? sim_domain_va(sd, addr, blk_end - addr) : NULL;
    if (addr >= sim_vcpu_blk_addr(sv) && code) {
        uint32_t insns, cycles;
        aot_range_cost(&sd->aot, addr, blk_end, code, &insns, &cycles);
        *pcpu_clock(sv) -= cycles;
        sv->guest_cycles -= cycles;
        sv->insns -= insns;
    }
}

/* The hook knows which instruction it is at: no lookup on this path (guests read the TSC
 * often). */
static void tsc_read(uc_engine *uc, struct sim_vcpu *sv, uint64_t addr, uint32_t size, bool aux)
{
    sim_vcpu_uncharge_from(sv, addr + size);
    uint64_t tsc = *pcpu_clock(sv), lo = tsc & 0xffffffffu, hi = tsc >> 32, rip = addr + size;
    uint64_t id = sv->v->vcpu_id;
    uc_reg_write(uc, UC_X86_REG_RAX, &lo);
    uc_reg_write(uc, UC_X86_REG_RDX, &hi);
    if (aux) /* IA32_TSC_AUX, which Xen sets to the vcpu id for PV guests */
        uc_reg_write(uc, UC_X86_REG_RCX, &id);
    uc_reg_write(uc, UC_X86_REG_RIP, &rip);
}

/* The vcpu running in the engine, if the TSC read at addr is one of its program's sites. Only
 * an engine that runs several programs hooks sites another program may not have: one running a
 * single program (the usual case, and every HVM vcpu's) needs no lookup on this path. */
static struct sim_vcpu *tsc_site_vcpu(void *opaque, uint64_t addr, enum aot_site_kind kind)
{
    const struct sim_engine *e = opaque;
    const struct aot_site *s = e->mixed ? aot_site_at(&e->sv->sd->aot, addr) : NULL;
    return !e->mixed || (s && s->kind == kind) ? e->sv : NULL;
}

/* The engine will run sd's program (see tsc_site_vcpu). */
static void engine_note_program(struct sim_engine *e, const struct sim_domain *sd)
{
    if (!e->program)
        e->program = sd->img.file;
    e->mixed |= e->program != sd->img.file;
}

static void on_rdtsc(uc_engine *uc, uint64_t addr, uint32_t size, void *opaque)
{
    struct sim_vcpu *sv = tsc_site_vcpu(opaque, addr, AOT_SITE_RDTSC);
    if (sv)
        tsc_read(uc, sv, addr, size, false);
}

static void on_rdtscp(uc_engine *uc, uint64_t addr, uint32_t size, void *opaque)
{
    struct sim_vcpu *sv = tsc_site_vcpu(opaque, addr, AOT_SITE_RDTSCP);
    if (sv)
        tsc_read(uc, sv, addr, size, true);
}

/* Xen's diagnostics when create_bounce_frame gives up (asm_domain_crash_synchronous, then
 * __domain_crash): a frame that cannot be written, or no callback to enter. */
static void crash_in_bounce_frame(struct sim_vcpu *sv, const struct hv_regs *r, int rc)
{
    unsigned domid = sv->v->domain->domid, id = sv->v->vcpu_id;
    if (rc == -XEN_EFAULT)
        sim_domain_crash(sv->sd,
                         "d%uv%u: cannot write the event callback frame below rsp "
                         "0x%" PRIx64,
                         domid, id, r->rsp);
    else
        sim_domain_crash(sv->sd,
                         "d%uv%u: domain_crash_sync called from entry.S: fault at "
                         "create_bounce_frame (events pending, no event callback registered); "
                         "Domain %u (vcpu#%u) crashed on cpu#%u",
                         domid, id, domid, id, sv->pcpu->id);
}

/* An HVM guest's upcall: the vector it chose, through its own IDT, once its interrupts are on
 * (Xen waits for the interrupt window). The CPU state Xen reads from the VMCS is Unicorn's. */
static int inject_hvm_vector(struct sim_vcpu *sv, struct hv_regs *r)
{
    uint8_t vector = hvm_upcall_vector(sv->v);
    if (!vector || !(r->rflags & X86_EFLAGS_IF))
        return 1;
    if (!sv->uc) /* replayed: the recording took the gate, there is no IDT to read */
        return hvm_inject_vector(sv->v, r, NULL, 0, 0, vector);
    uc_x86_mmr idtr = {0};
    uint64_t cs = 0, ss = 0;
    uc_reg_read(sv->uc, UC_X86_REG_IDTR, &idtr);
    uc_reg_read(sv->uc, UC_X86_REG_CS, &cs);
    uc_reg_read(sv->uc, UC_X86_REG_SS, &ss);
    struct hvm_idt idt = {idtr.base, idtr.limit};
    if (hvm_inject_vector(sv->v, r, &idt, (uint16_t)cs, (uint16_t)ss, vector) == 0)
        return 0;
    sim_domain_crash(sv->sd,
                     "d%uv%u: upcall vector 0x%x has no usable gate in the IDT at 0x%" PRIx64
                     " (or the stack below rsp 0x%" PRIx64 " is not writable): the guest "
                     "would triple-fault",
                     sv->sd->d->domid, sv->v->vcpu_id, vector, idt.base, r->rsp);
    return -1;
}

/* Xen would deliver an event now: PV, upcall pending and not masked; HVM, a vector due (its
 * interrupts are checked with the frame registers). */
static bool upcall_due(const struct sim_vcpu *sv)
{
    return sv->sd->cfg->hvm ? hvm_upcall_vector(sv->v) != 0 : pv_upcall_deliverable(sv->v);
}

/* Enter the event callback (PV) or the upcall vector's handler (HVM) now if Xen would. */
void sim_deliver_upcall(struct sim_vcpu *sv, struct hv_regs *r)
{
    if (!upcall_due(sv))
        return;
    unsigned vector = sv->sd->cfg->hvm ? hvm_upcall_vector(sv->v) : 0;
    struct explain *ex = sv->sd->m->explain;
    explain_upcall_begin(ex, sv, vector);
    int rc = sv->sd->cfg->hvm ? inject_hvm_vector(sv, r) : pv_inject_upcall(sv->v, r);
    explain_close(ex);
    if (rc > 0)
        return; /* its interrupts are off: it is delivered when Xen next looks */
    if (rc < 0) {
        if (!sv->sd->cfg->hvm)
            crash_in_bounce_frame(sv, r, rc);
        return;
    }
    uint64_t start = *pcpu_clock(sv);
    record_upcall(sv, vector);
    record_guest_step(sv, XT_STEP_UPCALL, vector);
    if (sv->rp)
        replay_upcall_delivered(sv);
    *pcpu_clock(sv) += cost_cycles(sv->sd->m->cost, sv->sd->cfg->hvm ? COST_UPCALL_INJECT_HVM
                                                                     : COST_UPCALL_INJECT_PV);
    stages_inject(&sv->sd->stages, &sv->stages, start, *pcpu_clock(sv));
    sv->upcall_insns_at = sv->insns;
    sv->blk.taken = 0; /* to the callback, not to a branch target */
}

static bool vcpu_must_stop(const struct sim_vcpu *sv)
{
    const struct vcpu *v = sv->v;
    return v->run_state != VCPU_RUNNABLE || v->yield_requested || v->blocked_in_xen ||
           v->domain->paused || sv->sd->status != SD_RUNNING || sv->sd->m->finished;
}

/* The frame registers (rip past the hypercall instruction, rsp, rcx, r11, rflags) in r, loaded
 * by frame() unless they are there already. */
static void hypercall_frame(struct sim_vcpu *sv, struct hv_regs *r, bool *have_frame,
                            void (*frame)(struct sim_vcpu *sv, struct hv_regs *r))
{
    if (!*have_frame)
        frame(sv, r);
    *have_frame = true;
}

/* Into Xen: this CPU acts, from its clock. */
static void hypercall_entry(struct sim_vcpu *sv)
{
    machine_act_on(sv->sd->m, sv->pcpu);
    sv->hc_start = *pcpu_clock(sv);
    sv->pcpu->xen_from = sv->hc_start;
}

/* Would Xen deliver an event on the way back to this vcpu? */
static bool hypercall_upcall_due(const struct sim_vcpu *sv)
{
    return sv->sd->status == SD_RUNNING && sv->v->run_state == VCPU_RUNNABLE && upcall_due(sv);
}

/* Back in the guest: the slice ends here if the vcpu must stop or its time is up. */
static void hypercall_leave(struct sim_vcpu *sv)
{
    sv->pcpu->xen_to = *pcpu_clock(sv);
    /* A hypercall that armed a timer or made a vcpu ready may bring the slice's end nearer.
     * Only then is it asked again: most hypercalls do neither. */
    if (!sv->stop_requested && sv->sd->m->limits_stale)
        sv->stop_at = sim_pcpu_slice_limit(sv);
    if (vcpu_must_stop(sv) || sv->stop_requested || *pcpu_clock(sv) >= sv->stop_at)
        sim_vcpu_request_stop(sv);
}

/* Xen's hypercall entry and its return path (continuation, pending events) for the hypercall
 * in r, made by an instruction len bytes long. frame() loads the frame registers, rip past that
 * instruction included, when something needs them (have_frame: they are in r already; they are
 * for a recording). Returns with r as the guest resumes. Shared by the engine (below) and by
 * replay, which has no engine. */
void sim_hypercall(struct sim_vcpu *sv, struct hv_regs *r, unsigned len, bool *have_frame,
                   void (*frame)(struct sim_vcpu *sv, struct hv_regs *r))
{
    struct machine *m = sv->sd->m;
    uint64_t nr = r->rax, cmd = r->rdi, arg = r->rsi;
    hypercall_entry(sv);
    if (m->rec) {
        const uint64_t args[] = {r->rdi, r->rsi, r->rdx, r->r10, r->r8, r->r9};
        hypercall_frame(sv, r, have_frame, frame);
        record_guest_hypercall(sv, r, r->rip - len);
        record_hypercall(sv, r->rax, args, r->rip - len);
    }
    /* The narrator and the recorder are tested here, not in their calls: this is every
     * hypercall's path, and they are usually off. */
    if (m->explain)
        explain_hypercall(m->explain, sv, r);
    hypercall_dispatch(sv->v, r);
    if (m->explain)
        explain_hypercall_done(m->explain, sv, nr, (int64_t)r->rax);
    *pcpu_clock(sv) += sv->v->hcall_cycles;
    if (m->rec)
        record_guest_result(sv, nr, cmd, arg, r->rax, sv->v->hcall_continuation);
    if (nr == __HYPERVISOR_iret) {
        record_iret(sv);
        stages_iret(&sv->sd->stages, &sv->stages, sv->hc_start, *pcpu_clock(sv));
        sv->upcall_insns += sv->insns - sv->upcall_insns_at;
    }
    if (sv->v->hcall_continuation) {
        sv->v->hcall_continuation = false;
        hypercall_frame(sv, r, have_frame, frame);
        r->rip -= len; /* re-execute, as Xen's hypercall_create_continuation */
    }
    if (hypercall_upcall_due(sv)) {
        hypercall_frame(sv, r, have_frame, frame);
        sim_deliver_upcall(sv, r);
    }
    if (m->rec)
        record_hypercall_done(sv);
    hypercall_leave(sv);
}

/* The frame registers, read from the engine once they are needed. The engine's RIP is still
 * the hypercall instruction's (Unicorn moves it past a syscall after the hook; a vmcall's is
 * ours to move): r->rip goes past it. One function per instruction length, for sim_hypercall's
 * frame(). */
static void engine_frame(struct sim_vcpu *sv, struct hv_regs *r, unsigned len)
{
    regs_read_group(sv->uc, r, hc_frame);
    r->rip += len;
}

static void syscall_frame(struct sim_vcpu *sv, struct hv_regs *r)
{
    engine_frame(sv, r, SYSCALL_LEN);
}

static void vmcall_frame(struct sim_vcpu *sv, struct hv_regs *r)
{
    engine_frame(sv, r, VMCALL_LEN);
}

/* sim_hypercall, and whether it moved anything but rax. Only registers the trap read can have
 * moved: the handlers that change argument registers are wide ones, and the frame changes only
 * once it is loaded. So in the common case (neither loaded) two compares tell, and loading the
 * frame on the way (an upcall, a continuation) counts as moving it. */
static bool hc_run(struct sim_vcpu *sv, struct hv_regs *r, unsigned len, bool wide,
                   bool *have_frame, void (*frame)(struct sim_vcpu *sv, struct hv_regs *r))
{
    if (!wide && !*have_frame) {
        uint64_t rdi = r->rdi, rsi = r->rsi;
        sim_hypercall(sv, r, len, have_frame, frame);
        return *have_frame || r->rdi != rdi || r->rsi != rsi;
    }
    struct hc_snapshot before;
    hc_snapshot_take(&before, r);
    sim_hypercall(sv, r, len, have_frame, frame);
    return hc_moved(r, &before);
}

/* Does the trap need every argument register? The hypercalls that use them, and whatever reads
 * them all (a recording, the narrator). */
static bool hc_needs_wide(const struct sim_vcpu *sv, uint64_t nr)
{
    const struct machine *m = sv->sd->m;
    return hypercall_wide(nr) || m->rec || m->explain;
}

/* The registers the trap read or loaded back to the engine once the hypercall moved more than
 * rax: the frame (loaded now if it was not), rip less what Unicorn adds itself (rip_bias). */
static void regs_write_back(struct sim_vcpu *sv, uc_engine *uc, struct hv_regs *r,
                            unsigned rip_bias, bool wide, bool have_frame,
                            void (*frame)(struct sim_vcpu *sv, struct hv_regs *r))
{
    if (!have_frame)
        frame(sv, r);
    r->rip -= rip_bias;
    regs_write_group(uc, r, hc_narrow);
    if (wide)
        regs_write_group(uc, r, hc_wide);
    regs_write_group(uc, r, hc_frame);
}

/* The trap's general way, a's registers read: the instruction is len bytes long (frame() loads
 * the frame for that length); Unicorn adds rip_bias to RIP once the hook returns. Registers the
 * trap did not read are 0 in r: the handlers that use the wide ones are hc_needs_wide's, the
 * frame is loaded before anything reads it, and only a hypercall that moved more than rax writes
 * registers back (those it read, with the frame). Not inlined: its register structure would
 * make the send's trap take its stack frame too. */
static __attribute__((noinline)) void
hypercall_trap_general(struct sim_vcpu *sv, uc_engine *uc, const struct hc_args *a, unsigned len,
                       unsigned rip_bias, void (*frame)(struct sim_vcpu *sv, struct hv_regs *r))
{
    /* Copied rather than initialised with {0}, which GCC makes a slow rep stos on this path. */
    static const struct hv_regs no_regs;
    struct hv_regs r = no_regs;
    r.rax = a->nr, r.rdi = a->a1, r.rsi = a->a2;
    bool wide = hc_needs_wide(sv, r.rax);
    if (wide)
        regs_read_group(uc, &r, hc_wide);
    /* iret reads its frame, and a recording keeps every hypercall's rip, rsp and rflags (replay
     * needs them); others read it only when they need it. Loaded before the snapshot, a frame
     * the hypercall did not move is not written back. */
    bool have_frame = r.rax == __HYPERVISOR_iret || sv->sd->m->rec;
    if (have_frame)
        frame(sv, &r);
    bool moved = hc_run(sv, &r, len, wide, &have_frame, frame);
    if (rip_bias != 0 && !moved) {
        uc_reg_write(uc, UC_X86_REG_RAX, &r.rax);
        return;
    }
    regs_write_back(sv, uc, &r, rip_bias, wide, have_frame, frame);
}

/* May this trap take send_trap? An EVTCHNOP_send that nothing watches hypercall by hypercall
 * (a recording, the narrator: they take the general way), made by an instruction Unicorn moves
 * RIP past itself (a syscall: no register but rax to write back), its argument in the guest's
 * RAM (elsewhere mem_translate decides, on the general way): that argument, or NULL. */
static const void *send_fast_arg(const struct sim_vcpu *sv, const struct hc_args *a,
                                 unsigned rip_bias)
{
    const struct machine *m = sv->sd->m;
    if (a->nr != __HYPERVISOR_event_channel_op || a->a1 != EVTCHNOP_send || !rip_bias || m->rec ||
        m->explain)
        return NULL;
    return sim_domain_hc_ptr(sv->sd, a->a2, sizeof(struct evtchn_send));
}

/* send_trap's return with an event to deliver: as sim_hypercall's, the frame loaded for it and
 * written back with rax. Not inlined, for the same reason as hypercall_trap_general. */
static __attribute__((noinline)) void
send_return_upcall(struct sim_vcpu *sv, uc_engine *uc, const struct hc_args *a, uint64_t rax,
                   unsigned rip_bias, void (*frame)(struct sim_vcpu *sv, struct hv_regs *r))
{
    struct hv_regs r = {.rax = rax, .rdi = a->a1, .rsi = a->a2};
    frame(sv, &r);
    sim_deliver_upcall(sv, &r);
    hypercall_leave(sv);
    regs_write_back(sv, uc, &r, rip_bias, false, true, frame);
}

/* EVTCHNOP_send, the hypercall of every busy event path, the short way: sim_hypercall's steps
 * for it (no recording, no narrator, never a continuation, rdi and rsi unmoved) without the
 * register structure, the hypercall table or a translation of its argument (arg: where it is in
 * RAM), and rax the only register written back. An event
 * due on the way back needs the frame: that return takes sim_hypercall's way. */
static void send_trap(struct sim_vcpu *sv, uc_engine *uc, const struct hc_args *a, const void *arg,
                      unsigned rip_bias, void (*frame)(struct sim_vcpu *sv, struct hv_regs *r))
{
    struct evtchn_send send;
    memcpy(&send, arg, sizeof(send)); /* copy_from_guest's copy: it prices nothing */
    hypercall_entry(sv);
    uint64_t rax = (uint64_t)hypercall_event_channel_send(sv->v, &send);
    *pcpu_clock(sv) += sv->v->hcall_cycles;
    if (hypercall_upcall_due(sv)) {
        send_return_upcall(sv, uc, a, rax, rip_bias, frame);
        return;
    }
    hypercall_leave(sv);
    uc_reg_write(uc, UC_X86_REG_RAX, &rax);
}

/* The trap: its number and first arguments tell which way it goes. */
static void hypercall_trap(struct sim_vcpu *sv, uc_engine *uc, unsigned len, unsigned rip_bias,
                           void (*frame)(struct sim_vcpu *sv, struct hv_regs *r))
{
    struct hc_args a;
    regs_read_narrow(uc, &a);
    const void *send_arg = send_fast_arg(sv, &a, rip_bias);
    if (send_arg)
        send_trap(sv, uc, &a, send_arg, rip_bias, frame);
    else
        hypercall_trap_general(sv, uc, &a, len, rip_bias, frame);
}

static void on_syscall(uc_engine *uc, void *opaque)
{
    hypercall_trap(((struct sim_engine *)opaque)->sv, uc, SYSCALL_LEN, SYSCALL_LEN, syscall_frame);
}

/* An HVM guest may make its hypercalls with vmcall or vmmcall itself, as Linux does since it
 * stopped using the hypercall page (both trap to Xen, which takes either whatever the CPU's
 * vendor). Unicorn knows neither: it calls this as for an invalid instruction, then raises #UD
 * to on_interrupt, which lets that one pass. */
static bool on_invalid_insn(uc_engine *uc, void *opaque)
{
    struct sim_vcpu *sv = ((struct sim_engine *)opaque)->sv;
    uint64_t rip = 0;
    uint8_t b[VMCALL_LEN];
    uc_reg_read(uc, UC_X86_REG_RIP, &rip);
    if (!sv->sd->cfg->hvm || uc_mem_read(uc, rip, b, sizeof(b)) != UC_ERR_OK || b[0] != 0x0f ||
        b[1] != 0x01 || (b[2] != 0xc1 && b[2] != 0xd9))
        return false;
    sv->ud_taken = true;
    hypercall_trap(sv, uc, VMCALL_LEN, 0, vmcall_frame);
    return true;
}

static bool on_unmapped(uc_engine *uc, uc_mem_type type, uint64_t addr, int size, int64_t value,
                        void *opaque)
{
    struct sim_vcpu *sv = ((struct sim_engine *)opaque)->sv;
    (void)uc, (void)size, (void)value;
    /* An HVM guest's access outside RAM is MMIO: Xen takes an exit for it, it is no fault. */
    if (!sv->sd->paged && sim_hvm_mmio_fault(sv, type, addr))
        return true;
    /* Only record: uc_emu_start returns the matching error and the slice reports it. A PV
     * guest's address with no memory behind it maps to the hole, which names it. */
    sv->fault_addr = sv->sd->paged ? phys_fault_address(&sv->sd->layout, addr) : addr;
    sv->fault_access = type;
    return false;
}

/* A page fault in a domain that still reads its program's text from the shared copy: it may be
 * a write to its text (Unicorn does not tell where the fault was). The domain takes its own
 * copy back, and the instruction runs again from the start of a new slice; what the block hook
 * charged for it and the rest of its block is taken back. A fault that is not that comes again,
 * with the text no longer shared, and is reported then. */
static void unshare_text_and_retry(struct sim_vcpu *sv, uint64_t rip)
{
    sim_domain_unshare_text(sv->sd);
    uc_ctl_flush_tlb(sv->uc);
    sv->evpage_gen = sv->sd->evpage_gen; /* flushed already */
    sim_vcpu_uncharge_from(sv, rip);
    sv->blk.taken = 0; /* it resumes inside the block, not after a branch */
    sim_vcpu_request_stop(sv);
    sv->resume_at = rip;
}

static void on_interrupt(uc_engine *uc, uint32_t intno, void *opaque)
{
    struct sim_vcpu *sv = ((struct sim_engine *)opaque)->sv;
    uint64_t rip;
    if (intno == UD_VECTOR && sv->ud_taken) { /* a hypercall instruction, done */
        sv->ud_taken = false;
        return;
    }
    uc_reg_read(uc, UC_X86_REG_RIP, &rip);
    if (intno == PF_VECTOR && sv->sd->text_shared) {
        unshare_text_and_retry(sv, rip);
        return;
    }
    sim_domain_crash(sv->sd, "d%uv%u: exception vector %u at rip 0x%" PRIx64, sv->v->domain->domid,
                     sv->v->vcpu_id, intno, rip);
    sim_vcpu_request_stop(sv);
}

static const char *access_name(int type)
{
    switch (type) {
    case UC_MEM_READ_UNMAPPED:
        return "read from unmapped address";
    case UC_MEM_WRITE_UNMAPPED:
        return "write to unmapped address";
    case UC_MEM_FETCH_UNMAPPED:
        return "instruction fetch from unmapped address";
    default:
        return "access to unmapped address";
    }
}

/* uc_emu_start failed: crash the domain naming vcpu, rip and the instruction. */
static void report_fault(struct sim_vcpu *sv, uc_err err)
{
    uint64_t rip;
    uc_reg_read(sv->uc, UC_X86_REG_RIP, &rip);
    struct sim_domain *sd = sv->sd;
    char insn[160] = "(outside guest memory)";
    const uint8_t *code = sim_domain_va(sd, rip, 1);
    if (code && rip - sd->virt_base >= XEN_PAGE_SIZE) {
        uint64_t left = sd->ram_size - (rip - sd->virt_base);
        aot_disasm_one(&sd->aot, rip, code, left < 16 ? (size_t)left : 16, insn, sizeof(insn));
    }
    char what[160];
    if (err == UC_ERR_READ_UNMAPPED || err == UC_ERR_WRITE_UNMAPPED || err == UC_ERR_FETCH_UNMAPPED)
        snprintf(what, sizeof(what), "%s 0x%" PRIx64, access_name(sv->fault_access),
                 sv->fault_addr);
    else
        snprintf(what, sizeof(what), "%s", uc_strerror(err));
    sim_domain_crash(sd, "d%uv%u: %s at rip 0x%" PRIx64 ": %s", sd->d->domid, sv->v->vcpu_id, what,
                     rip, insn);
}

/* An HVM guest's hlt is a VM exit: Xen blocks the vcpu until an event is due (hvm_hlt). The
 * upcall, if one is due, is delivered when the vcpu next enters. */
void sim_hvm_halt(struct sim_vcpu *sv, bool interrupts_on)
{
    record_guest_step(sv, XT_STEP_HLT, interrupts_on);
    sv->pcpu->xen_from = *pcpu_clock(sv);
    record_hlt_exit(sv, *pcpu_clock(sv));
    *pcpu_clock(sv) += cost_cycles(sv->sd->m->cost, COST_HVM_EXIT);
    sv->pcpu->xen_to = *pcpu_clock(sv);
    machine_act_on(sv->sd->m, sv->pcpu);
    hvm_hlt(sv->v, interrupts_on);
    record_hlt(sv, interrupts_on);
    sv->xen_entry = true;
}

static void hvm_halt(struct sim_vcpu *sv)
{
    uint64_t rflags = 0;
    uc_reg_read(sv->uc, UC_X86_REG_EFLAGS, &rflags);
    sim_hvm_halt(sv, (rflags & X86_EFLAGS_IF) != 0);
}

/* Unicorn stops on its own only at hlt (it leaves rip after it), which is privileged in a PV
 * guest: Xen would inject #GP, and a guest without a handler dies. */
static void report_halt(struct sim_vcpu *sv)
{
    uint64_t rip;
    uc_reg_read(sv->uc, UC_X86_REG_RIP, &rip);
    struct sim_domain *sd = sv->sd;
    const uint8_t *before = rip ? sim_domain_va(sd, rip - 1, 1) : NULL;
    bool after_hlt = before && rip - 1 - sd->virt_base >= XEN_PAGE_SIZE && *before == 0xf4;
    sim_domain_crash(sd, "d%uv%u: privileged instruction at rip 0x%" PRIx64 ": %s", sd->d->domid,
                     sv->v->vcpu_id, after_hlt ? rip - 1 : rip,
                     after_hlt ? "hlt" : "(the CPU stopped)");
}

void sim_vcpu_run_slice(struct sim_vcpu *sv)
{
    struct hv_regs r = {0}; /* Unicorn writes only 32 bits of EFLAGS */
    if (sv->sd->paged)
        engine_load(sv->pcpu->eng, sv);
    regs_read_all(sv->uc, &r);
    struct hv_regs before = r;
    if (sv->sd->status != SD_RUNNING || sv->v->domain->paused || sim_evpages_sync(sv) < 0)
        return;
    /* Back from waiting for an emulator: Xen completes the access before anything else. */
    if (!sim_hvm_io_prepare(sv))
        return;
    /* Xen checks for events on its way back to the guest: after an interrupt or when the vcpu
     * is scheduled in (hypercalls check on their own return). A slice that merely resumes
     * where the last one stopped is no such return. */
    if (sv->xen_entry)
        sim_deliver_upcall(sv, &r);
    sv->xen_entry = false;
    record_resume(sv);
    sv->pcpu->xen_to = *pcpu_clock(sv); /* guest code runs from here */
    if (sv->sd->status != SD_RUNNING)
        return;
    if (memcmp(&r, &before, sizeof(r)) != 0)
        sim_vcpu_set_regs(sv, &r);
    sv->stop_requested = false;
    sv->slice_ran = false;
    sv->slice_insns = sv->insns; /* the block hook's fast path notes a block by insns alone */
    sv->resume_at = 0;
    /* blk carries over: a slice that stopped after a conditional branch resumes at its
     * target or its fall-through, and the next block still tells which (where a slice ends
     * must not change what is charged). An upcall entered above has cleared its taken cost. */
    /* No "until" address: the slice ends by uc_emu_stop (0 would stop a jump to NULL). */
    uc_err err = uc_emu_start(sv->uc, r.rip, UINT64_MAX, 0, 0);
    /* where the slice stopped in the guest's code, which replay cannot know otherwise */
    if (sv->stop_requested && sv->sd->status == SD_RUNNING)
        record_guest_cut(sv);
    if (sv->resume_at)
        uc_reg_write(sv->uc, UC_X86_REG_RIP, &sv->resume_at);
    if (err != UC_ERR_OK && sv->sd->status == SD_RUNNING)
        report_fault(sv, err);
    else if (err == UC_ERR_OK && !sv->stop_requested && sv->sd->status == SD_RUNNING)
        (sv->sd->cfg->hvm ? hvm_halt : report_halt)(sv);
}

/* A guest access to shared_info: done on the host page Xen also uses, with its cache line's
 * transfer added to this CPU's time. */
uint64_t sim_shared_info_read(struct sim_vcpu *sv, uint64_t offset, unsigned size)
{
    const uint8_t *p = sv->sd->shared_info + offset;
    uint64_t value = 0;
    memcpy(&value, p, size);
    record_guest_access(sv, sv->sd->shared_info_gpa, offset, size, false, value, value);
    *pcpu_clock(sv) += machine_line_cost(sv->sd->m, sv->pcpu->id, p, size, COH_READ);
    return value;
}

/* Pending bits the guest clears in the 2-level bitmap: its upcall code reached those ports. */
static void note_cleared_pending(struct sim_vcpu *sv, uint64_t offset, uint64_t old, uint64_t value)
{
    const uint64_t base = offsetof(struct shared_info, evtchn_pending);
    const uint64_t end = base + sizeof(((struct shared_info *)0)->evtchn_pending);
    if (offset < base || offset >= end)
        return;
    for (uint64_t cleared = old & ~value; cleared; cleared &= cleared - 1)
        sim_port_consumed(sv, (uint32_t)((offset - base) * 8 + (uint64_t)__builtin_ctzll(cleared)));
}

void sim_shared_info_write(struct sim_vcpu *sv, uint64_t offset, unsigned size, uint64_t value)
{
    uint8_t *p = sv->sd->shared_info + offset;
    uint64_t old = 0;
    *pcpu_clock(sv) += machine_line_cost(sv->sd->m, sv->pcpu->id, p, size, COH_WRITE);
    memcpy(&old, p, size);
    record_guest_access(sv, sv->sd->shared_info_gpa, offset, size, true, old, value);
    explain_guest_write(sv->sd->m->explain, sv);
    memcpy(p, &value, size);
    explain_close(sv->sd->m->explain);
    note_cleared_pending(sv, offset, old, value);
}

static uint64_t shared_read(uc_engine *uc, uint64_t offset, unsigned size, void *opaque)
{
    (void)uc;
    return sim_shared_info_read(((struct sim_engine *)opaque)->sv, offset, size);
}

static void shared_write(uc_engine *uc, uint64_t offset, unsigned size, uint64_t value,
                         void *opaque)
{
    (void)uc;
    sim_shared_info_write(((struct sim_engine *)opaque)->sv, offset, size, value);
}

/* The MMIO window of a CPU's engine: each slot stands for a page a PV domain shares with Xen
 * (physmem.h), reached through that domain's page tables, so the vcpu running is the one
 * whose domain owns the slot. */
static const struct phys_slot *window_slot(void *opaque, uint64_t offset)
{
    const struct phys_space *ps = &((struct sim_engine *)opaque)->m->phys;
    uint64_t n = offset / XEN_PAGE_SIZE;
    return n && n < ps->nr_slots ? &ps->slot[n] : NULL;
}

static uint64_t window_read(uc_engine *uc, uint64_t offset, unsigned size, void *opaque)
{
    const struct phys_slot *s = window_slot(opaque, offset);
    struct sim_vcpu *sv = ((struct sim_engine *)opaque)->sv;
    (void)uc;
    if (!s)
        return 0;
    offset %= XEN_PAGE_SIZE;
    return s->page == PHYS_SLOT_SHARED_INFO ? sim_shared_info_read(sv, offset, size)
                                            : sim_evpage_read(sv, (unsigned)s->page, offset, size);
}

static void window_write(uc_engine *uc, uint64_t offset, unsigned size, uint64_t value,
                         void *opaque)
{
    const struct phys_slot *s = window_slot(opaque, offset);
    struct sim_vcpu *sv = ((struct sim_engine *)opaque)->sv;
    (void)uc;
    if (!s)
        return;
    offset %= XEN_PAGE_SIZE;
    if (s->page == PHYS_SLOT_SHARED_INFO)
        sim_shared_info_write(sv, offset, size, value);
    else
        sim_evpage_write(sv, (unsigned)s->page, offset, size, value);
}

static int hook(struct sim_engine *e, int type, void *cb, struct diag *d)
{
    uc_hook h;
    uc_err err = type == UC_HOOK_INSN
                     ? uc_hook_add(e->uc, &h, type, cb, e, 1, 0, UC_X86_INS_SYSCALL)
                     : uc_hook_add(e->uc, &h, type, cb, e, 1, 0);
    if (err != UC_ERR_OK)
        return diag_set(d, "unicorn: cannot add a hook: %s", uc_strerror(err));
    return 0;
}

static struct sim_engine *engine_open(struct machine *m, bool paged, struct diag *d)
{
    struct sim_engine *e = calloc(1, sizeof(*e));
    uc_engine *uc;
    if (!e) {
        diag_set(d, "out of memory for an engine");
        return NULL;
    }
    uc_err err = uc_open(UC_ARCH_X86, UC_MODE_64, &uc);
    if (err != UC_ERR_OK) {
        free(e);
        diag_set(d, "unicorn: cannot create an x86-64 engine: %s", uc_strerror(err));
        return NULL;
    }
    *e = (struct sim_engine){.uc = uc, .m = m, .paged = paged};
    if (hook(e, UC_HOOK_INSN, on_syscall, d) || hook(e, UC_HOOK_BLOCK, on_block, d) ||
        hook(e, UC_HOOK_INTR, on_interrupt, d) ||
        hook(e, UC_HOOK_INSN_INVALID, on_invalid_insn, d) ||
        hook(e, UC_HOOK_MEM_UNMAPPED, on_unmapped, d)) {
        sim_engine_close(e);
        return NULL;
    }
    return e;
}

void sim_engine_close(struct sim_engine *e)
{
    if (!e)
        return;
    if (e->sv && e->sv->eng == e) {
        e->sv->eng = NULL;
        e->sv->uc = NULL;
    }
    uc_close(e->uc);
    free(e->hooked);
    free(e);
}

/* A CPU's engine for PV domains: the whole machine-physical space (RAM, then the window; the
 * hole stays unmapped). The first one also keeps its fresh registers, from which every PV vcpu
 * starts. */
struct sim_engine *sim_engine_open_pcpu(struct machine *m, unsigned id, struct diag *d)
{
    struct sim_engine *e = engine_open(m, true, d);
    if (!e)
        return NULL;
    e->id = id;
    e->epoch = 1;
    uc_err err = uc_mem_map_ptr(e->uc, 0, m->phys.size, UC_PROT_ALL, m->phys.host);
    if (err == UC_ERR_OK)
        err = uc_mmio_map(e->uc, PHYS_WINDOW_BASE, (uint64_t)PHYS_WINDOW_SLOTS * XEN_PAGE_SIZE,
                          window_read, e, window_write, e);
    if (err == UC_ERR_OK && !m->boot_ctx) {
        uc_context *ctx;
        err = uc_context_alloc(e->uc, &ctx);
        if (err == UC_ERR_OK && (err = uc_context_save(e->uc, ctx)) == UC_ERR_OK)
            m->boot_ctx = ctx;
    }
    if (err != UC_ERR_OK) {
        diag_set(d, "unicorn: cannot map the machine's memory: %s", uc_strerror(err));
        sim_engine_close(e);
        return NULL;
    }
    return e;
}

void sim_pcpu_engines_free(struct machine *m)
{
    for (unsigned i = 0; i < m->nr_pcpus; i++) {
        sim_engine_close(m->pcpu[i].eng);
        m->pcpu[i].eng = NULL;
    }
    if (m->boot_ctx)
        uc_context_free(m->boot_ctx);
    m->boot_ctx = NULL;
}

/* The vcpu leaves the engine: its registers go to its context. */
static void engine_unload(struct sim_engine *e)
{
    struct sim_vcpu *sv = e->sv;
    if (!sv)
        return;
    uc_context_save(e->uc, sv->ctx);
    sv->uc = NULL;
    sv->eng = NULL;
    e->sv = NULL;
}

/* Unicorn translates code by its machine-physical address, into one buffer per engine (1 GiB).
 * Domains that read their program's text from the shared copy reuse one translation; a domain
 * with text of its own (a program's first domain in some scenarios, or one that wrote to its
 * text) adds a few hundred KiB. With thousands of those the buffer fills, and Unicorn 2.1.1 may
 * then crash flushing it in the middle of a run. So an engine drops its translations, here
 * between slices, once ENGINE_DOMAINS_PER_FLUSH domains with their own text have run in it
 * since it last did. Counting every domain would flush where nothing fills, and 2.1.1 zeroes
 * the whole buffer on a flush: 1 GiB committed and about a second per flush. Translation is
 * not simulated time: results do not change. */
#define ENGINE_DOMAINS_PER_FLUSH 1024u

static void engine_count_domain(struct sim_engine *e, struct sim_domain *sd)
{
    if (!sd->tb_epoch || sd->text_shared || sd->tb_epoch[e->id] == e->epoch)
        return;
    if (++e->new_doms > ENGINE_DOMAINS_PER_FLUSH) {
        uc_ctl_flush_tb(e->uc);
        e->epoch++;
        e->new_doms = 1;
    }
    sd->tb_epoch[e->id] = e->epoch;
}

/* Run sv in its CPU's engine next: a register-state and CR3 switch (the TLB, which holds the
 * last domain's translations, is flushed). */
static void engine_load(struct sim_engine *e, struct sim_vcpu *sv)
{
    if (e->sv == sv)
        return;
    if (sv->eng) /* it ran on another CPU last: take its registers from there */
        engine_unload(sv->eng);
    engine_unload(e);
    uc_context_restore(e->uc, sv->ctx);
    uc_ctl_flush_tlb(e->uc);
    e->sv = sv;
    sv->eng = e;
    sv->uc = e->uc;
    engine_count_domain(e, sv->sd);
}

#define X86_CR0_PG 0x80000000ull
#define X86_CR0_WP 0x10000ull
#define X86_CR4_PAE 0x20ull

/* A PV vcpu's first registers: a fresh engine's, with paging on through its domain's L4 (as
 * Xen's builder leaves a 64-bit PV guest, page-table pages read-only to it). */
static int pv_context_create(struct sim_vcpu *sv, struct diag *d)
{
    struct machine *m = sv->sd->m;
    struct sim_engine *e = m->pcpu[0].eng;
    uc_context *ctx;
    engine_unload(e);
    if (uc_context_alloc(e->uc, &ctx) != UC_ERR_OK)
        return diag_set(d, "out of memory for a vcpu's registers");
    sv->ctx = ctx;
    uint64_t cr0 = 0, cr4 = 0, cr3 = sv->sd->mach_base + sv->sd->layout.pt_base;
    uc_context_restore(e->uc, m->boot_ctx);
    uc_reg_read(e->uc, UC_X86_REG_CR0, &cr0);
    uc_reg_read(e->uc, UC_X86_REG_CR4, &cr4);
    cr4 |= X86_CR4_PAE;
    cr0 |= X86_CR0_PG | X86_CR0_WP;
    uc_reg_write(e->uc, UC_X86_REG_CR4, &cr4);
    uc_reg_write(e->uc, UC_X86_REG_CR3, &cr3);
    uc_reg_write(e->uc, UC_X86_REG_CR0, &cr0);
    uc_context_save(e->uc, ctx);
    return 0;
}

/* An HVM vcpu's own engine: its domain's RAM at guest-physical addresses, no paging. */
static int hvm_engine_create(struct sim_vcpu *sv, struct diag *d)
{
    struct sim_domain *sd = sv->sd;
    struct sim_engine *e = engine_open(sd->m, false, d);
    if (!e)
        return -1;
    e->sv = sv;
    sv->eng = e;
    sv->uc = e->uc;
    /* Page 0 stays unmapped so that a NULL dereference faults, as it would under Xen. An HVM
     * guest's RAM has the PC's hole from 640 KiB to 1 MiB (the VGA window and ROMs): accesses
     * there are MMIO. */
    bool hole = sd->ram_size > HVM_HOLE_END;
    uint64_t low_end = hole ? HVM_HOLE_START : sd->ram_size;
    uc_err err = uc_mem_map_ptr(e->uc, XEN_PAGE_SIZE, low_end - XEN_PAGE_SIZE, UC_PROT_ALL,
                                sd->ram + XEN_PAGE_SIZE);
    if (err == UC_ERR_OK && hole)
        err = uc_mem_map_ptr(e->uc, HVM_HOLE_END, sd->ram_size - HVM_HOLE_END, UC_PROT_ALL,
                             sd->ram + HVM_HOLE_END);
    if (err == UC_ERR_OK)
        /* shared_info is device-like memory: every guest access goes through the callbacks,
         * which price its cache line (the rest of RAM stays on Unicorn's fast path). */
        err =
            uc_mmio_map(e->uc, sd->shared_info_gpa, XEN_PAGE_SIZE, shared_read, e, shared_write, e);
    if (err != UC_ERR_OK)
        return diag_set(d, "unicorn: cannot map guest memory: %s", uc_strerror(err));
    return sim_hvm_io_attach(sv, d);
}

int sim_vcpu_create_engine(struct sim_vcpu *sv, struct diag *d)
{
    struct sim_domain *sd = sv->sd;
    /* The block hook's fast path: the first executable segment and this CPU's clock. */
    sv->clock = &sv->pcpu->local;
    sv->taken_cycles = (uint32_t)cost_cycles(sd->m->cost, COST_INSN_BRANCH_TAKEN);
    if (sd->aot.nr_seg) {
        sv->hot_base = sd->aot.seg[0].base;
        sv->hot_size = sd->aot.seg[0].size;
        sv->hot_blocks = sd->aot.seg[0].blocks;
    }
    if ((sd->paged ? pv_context_create(sv, d) : hvm_engine_create(sv, d)) < 0)
        return -1;
    unsigned n = sd->paged ? domain_nr_engines(sd) : 1;
    for (unsigned k = 0; k < n; k++) {
        struct sim_engine *e = sd->paged ? domain_engine(sd, k) : sv->eng;
        engine_note_program(e, sd);
        for (unsigned i = 0; i < sd->aot.nr_sites; i++)
            if (hook_site(e, sv, &sd->aot.site[i]) < 0)
                return diag_set(d, "unicorn: cannot hook the instruction at 0x%" PRIx64,
                                sd->aot.site[i].addr);
    }
    return 0;
}

void sim_vcpu_destroy_engine(struct sim_vcpu *sv)
{
    if (sv->eng && !sv->eng->paged) {
        sim_hvm_io_detach(sv);
        sim_engine_close(sv->eng);
    } else if (sv->eng) {
        sv->eng->sv = NULL; /* it goes: its registers need not be saved first */
    }
    if (sv->ctx)
        uc_context_free(sv->ctx);
    sv->ctx = NULL;
    sv->eng = NULL;
    sv->uc = NULL;
}
