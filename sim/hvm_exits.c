/* HVM I/O exits: see hvm_exits.h. Xen takes a VM exit for every intercepted access, decodes it
 * (the exit qualification for plain port I/O; its instruction emulator for string port I/O and
 * MMIO) and offers it to its handlers (models/hvm_io.c). */
#include "sim/hvm_exits.h"

#include <inttypes.h>
#include <stdlib.h>
#include <unicorn/unicorn.h>

#include "models/hvm_io.h"
#include "sim/vcpu.h"

#define MMIO_PAGE 4096u
/* x86's widest physical address (MAXPHYADDR 52): beyond it an access is no guest-physical
 * address at all, and faults as before. */
#define GPA_LIMIT (1ull << 52)
/* MMIO pages one engine maps before further ones fault: a guest sweeping memory beyond its RAM
 * would otherwise make Unicorn's region list grow without bound. */
#define MAX_MMIO_WINDOWS 1024u

struct sim_mmio_window {
    struct sim_vcpu *sv;
    uint64_t base;
};

/* Charge one exit to sv's CPU and mark the stretch as time in Xen (an IPI arriving within it is
 * taken on the way out, as after a hypercall). */
static void charge_exit(struct sim_vcpu *sv, enum cost_id decode)
{
    const struct cost_profile *c = sv->sd->m->cost;
    sv->pcpu->xen_from = *sv->clock;
    *sv->clock += cost_cycles(c, COST_HVM_EXIT) + cost_cycles(c, decode);
    sv->pcpu->xen_to = *sv->clock;
    sv->hvm_io.exits++;
}

/* Hand p to Xen. An ioreq server taking it (false) cannot happen yet in a running simulation:
 * without the sink's xen_wait and ioreq_page hooks the model creates no servers. Should one
 * take it, the domain stops rather than go on with an unanswered access. */
static void to_xen(struct sim_vcpu *sv, ioreq_t *p)
{
    sv->sd->m->active = sv->pcpu;
    if (!hvm_io_intercept(sv->v, p)) {
        sim_domain_crash(sv->sd, "d%uv%u: ioreq for 0x%" PRIx64 " sent to a server: not modelled",
                         sv->sd->d->domid, sv->v->vcpu_id, (uint64_t)p->addr);
        uc_emu_stop(sv->uc);
    }
}

/* Which instruction is running: Unicorn does not say (RIP is the block's start), but its I/O
 * hooks come in program order, so count them within each run of a block (a block run again
 * has moved sv->insns on). */
static bool current_port_insn(struct sim_vcpu *sv, struct aot_port_io *out)
{
    struct sim_domain *sd = sv->sd;
    if (sv->hvm_io.blk != sv->blk_addr || sv->hvm_io.blk_insns != sv->insns) {
        sv->hvm_io.blk = sv->blk_addr;
        sv->hvm_io.blk_insns = sv->insns;
        sv->hvm_io.nth = 0;
    }
    unsigned nth = sv->hvm_io.nth++;
    uint64_t from = sv->blk_addr, to = sv->prev_end;
    if (from < XEN_PAGE_SIZE || to > sd->ram_size || to <= from)
        return false;
    return aot_port_io(&sd->aot, from, to, sd->ram + from, nth, out);
}

/* One element of a port access. A string instruction is one exit for all its repetitions while
 * they stay within one page of guest memory (Xen's emulator clamps the repeat count there);
 * Unicorn calls the hook per element, with RCX and the memory pointer not yet stepped. */
static uint64_t port_io(struct sim_vcpu *sv, uint32_t port, int size, uint8_t dir, uint32_t value)
{
    struct aot_port_io insn = {0};
    bool known = current_port_insn(sv, &insn);
    ioreq_t p = {.addr = port,
                 .size = (uint32_t)size,
                 .count = 1,
                 .state = STATE_IOREQ_READY,
                 .dir = dir,
                 .type = IOREQ_TYPE_PIO,
                 .data = dir == IOREQ_WRITE ? value : 0};
    if (known && insn.string) {
        uint64_t rflags = 0, rcx = 0, ptr = 0;
        uc_reg_read(sv->uc, UC_X86_REG_EFLAGS, &rflags);
        uc_reg_read(sv->uc, UC_X86_REG_RCX, &rcx);
        uc_reg_read(sv->uc, dir == IOREQ_READ ? UC_X86_REG_RDI : UC_X86_REG_RSI, &ptr);
        p.df = (rflags >> 10) & 1;
        struct sim_hvm_rep *r = &sv->hvm_io.rep;
        uint64_t expect = p.df ? r->ptr - (uint64_t)size : r->ptr + (uint64_t)size;
        bool more = insn.rep && r->valid && r->site == insn.addr && rcx + 1 == r->rcx &&
                    ptr == expect && ptr / XEN_PAGE_SIZE == r->ptr / XEN_PAGE_SIZE;
        if (!more)
            charge_exit(sv, COST_HVM_IO_EMULATE);
        *r = (struct sim_hvm_rep){.valid = insn.rep, .site = insn.addr, .rcx = rcx, .ptr = ptr};
    } else {
        charge_exit(sv, COST_HVM_IO_DECODE);
        sv->hvm_io.rep.valid = false;
    }
    to_xen(sv, &p);
    return p.data;
}

static uint32_t on_port_in(uc_engine *uc, uint32_t port, int size, void *opaque)
{
    (void)uc;
    return (uint32_t)port_io(opaque, port, size, IOREQ_READ, 0);
}

static void on_port_out(uc_engine *uc, uint32_t port, int size, uint32_t value, void *opaque)
{
    (void)uc;
    port_io(opaque, port, size, IOREQ_WRITE, value);
}

/* An MMIO access: Xen emulates the instruction that made it. Unicorn splits an 8-byte access
 * into two 4-byte ones, so such an access is two exits here. */
static uint64_t mmio_access(struct sim_mmio_window *w, uint64_t offset, unsigned size, uint8_t dir,
                            uint64_t value)
{
    struct sim_vcpu *sv = w->sv;
    ioreq_t p = {.addr = w->base + offset,
                 .size = size,
                 .count = 1,
                 .state = STATE_IOREQ_READY,
                 .dir = dir,
                 .type = IOREQ_TYPE_COPY,
                 .data = dir == IOREQ_WRITE ? value : 0};
    charge_exit(sv, COST_HVM_IO_EMULATE);
    sv->hvm_io.rep.valid = false;
    to_xen(sv, &p);
    return p.data;
}

static uint64_t on_mmio_read(uc_engine *uc, uint64_t offset, unsigned size, void *opaque)
{
    (void)uc;
    return mmio_access(opaque, offset, size, IOREQ_READ, 0);
}

static void on_mmio_write(uc_engine *uc, uint64_t offset, unsigned size, uint64_t value,
                          void *opaque)
{
    (void)uc;
    mmio_access(opaque, offset, size, IOREQ_WRITE, value);
}

bool sim_hvm_mmio_fault(struct sim_vcpu *sv, int type, uint64_t addr)
{
    struct sim_hvm_io *io = &sv->hvm_io;
    if (!sv->sd->cfg->hvm || (type != UC_MEM_READ_UNMAPPED && type != UC_MEM_WRITE_UNMAPPED) ||
        addr < sv->sd->ram_size || addr >= GPA_LIMIT || io->nr_mmio == MAX_MMIO_WINDOWS)
        return false;
    if (io->nr_mmio == io->cap_mmio) {
        unsigned cap = io->cap_mmio ? 2 * io->cap_mmio : 8;
        struct sim_mmio_window **grown = realloc(io->mmio, cap * sizeof(*grown));
        if (!grown)
            return false;
        io->mmio = grown;
        io->cap_mmio = cap;
    }
    struct sim_mmio_window *w = malloc(sizeof(*w));
    if (!w)
        return false;
    *w = (struct sim_mmio_window){sv, addr & ~(uint64_t)(MMIO_PAGE - 1)};
    if (uc_mmio_map(sv->uc, w->base, MMIO_PAGE, on_mmio_read, w, on_mmio_write, w) != UC_ERR_OK) {
        free(w);
        return false;
    }
    io->mmio[io->nr_mmio++] = w;
    return true;
}

int sim_hvm_io_attach(struct sim_vcpu *sv, struct diag *d)
{
    uc_hook h;
    if (!sv->sd->cfg->hvm)
        return 0;
    if (uc_hook_add(sv->uc, &h, UC_HOOK_INSN, on_port_in, sv, 1, 0, UC_X86_INS_IN) != UC_ERR_OK ||
        uc_hook_add(sv->uc, &h, UC_HOOK_INSN, on_port_out, sv, 1, 0, UC_X86_INS_OUT) != UC_ERR_OK)
        return diag_set(d, "unicorn: cannot hook port I/O");
    return 0;
}

void sim_hvm_io_detach(struct sim_vcpu *sv)
{
    for (unsigned i = 0; i < sv->hvm_io.nr_mmio; i++)
        free(sv->hvm_io.mmio[i]);
    free(sv->hvm_io.mmio);
    sv->hvm_io.mmio = NULL;
    sv->hvm_io.nr_mmio = sv->hvm_io.cap_mmio = 0;
}
