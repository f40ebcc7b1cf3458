/* HVM I/O exits: see hvm_exits.h. Xen takes a VM exit for every intercepted access, decodes it
 * (the exit qualification for plain port I/O; its instruction emulator for string port I/O and
 * MMIO) and offers it to its handlers (models/hvm_io.c). */
#include "sim/hvm_exits.h"

#include <inttypes.h>
#include <stdlib.h>
#include <unicorn/unicorn.h>

#include "models/hvm_io.h"
#include "sim/explain.h"
#include "sim/record.h"
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

/* Charge one exit for p, made by the instruction at rip (0: not known), to sv's CPU and mark the
 * stretch as time in Xen (an IPI arriving within it is taken on the way out, as after a
 * hypercall). */
static void charge_exit(struct sim_vcpu *sv, enum cost_id decode, const ioreq_t *p, uint64_t rip)
{
    const struct cost_profile *c = sv->sd->m->cost;
    record_io_exit(sv, *sv->clock, p, rip, decode == COST_HVM_IO_EMULATE);
    explain_io_exit(sv->sd->m->explain, sv, p);
    sv->pcpu->xen_from = *sv->clock;
    *sv->clock += cost_cycles(c, COST_HVM_EXIT) + cost_cycles(c, decode);
    sv->pcpu->xen_to = *sv->clock;
    sv->hvm_io.exits++;
}

/* Hand p to Xen, which completes it itself: its own handlers or the null handler. An access a
 * server claims never comes here while the vcpu knows which instruction made it (it is
 * forwarded before the instruction runs, see forward_access); without that knowledge (an MMIO
 * page whose first server range appeared during this slice) Xen would have forwarded it, and
 * it is treated as if it had come before the range did. */
static void to_xen(struct sim_vcpu *sv, ioreq_t *p)
{
    machine_act_on(sv->sd->m, sv->pcpu);
    if (hvm_io_intercept(sv->v, p))
        return;
    sv->hvm_io.late_claims++;
    if (p->dir == IOREQ_READ) /* what the null handler gives */
        p->data = p->size >= 8 ? ~0ull : (1ull << (8 * p->size)) - 1;
}

/* ---- answers replayed ------------------------------------------------------------------- */

/* A hook at the instruction `site` about to run (again): true when it is the replay of an
 * instruction whose accesses were answered (some not yet taken), false when it is a new
 * execution (what an earlier one was answered is forgotten). */
static bool replay_begins(struct sim_hvm_replay *r, uint64_t site, uint64_t rcx)
{
    if (r->n && r->site == site && r->rcx == rcx && r->next < r->n) {
        r->next = 0;
        return true;
    }
    r->n = r->next = 0;
    return false;
}

/* The instruction's next access, if it was answered: its data. */
static bool replay_take(struct sim_hvm_replay *r, uint8_t type, uint64_t addr, uint32_t size,
                        uint8_t dir, uint64_t *data)
{
    if (r->next >= r->n)
        return false;
    const struct sim_hvm_access *a = &r->a[r->next];
    if (a->type != type || a->addr != addr || a->size != size || a->dir != dir)
        return false;
    r->next++;
    *data = a->data;
    return true;
}

static void replay_add(struct sim_hvm_replay *r, uint64_t site, uint64_t rcx,
                       const struct sim_hvm_access *a)
{
    if (r->n && (r->site != site || r->rcx != rcx))
        r->n = r->next = 0;
    r->site = site;
    r->rcx = rcx;
    if (r->n < SIM_HVM_REPLAY_MAX)
        r->a[r->n++] = *a;
}

/* ---- forwarding to an emulator ----------------------------------------------------------- */

static uint32_t route_type(const ioreq_t *p)
{
    return p->type == IOREQ_TYPE_PCI_CONFIG ? XEN_DMOP_IO_RANGE_PCI
           : p->type == IOREQ_TYPE_COPY     ? XEN_DMOP_IO_RANGE_MEMORY
                                            : XEN_DMOP_IO_RANGE_PORT;
}

/* The instruction at site stops before it runs: it is run again, from its start, once the
 * emulator answered. Writing RIP from a code hook or an MMIO callback makes Unicorn abandon the
 * instruction and restart there, where the block hook sees the stop. */
static void stop_at(struct sim_vcpu *sv, uint64_t site)
{
    if (!sv->rp) /* a replayed vcpu has no engine: its player waits for the answer */
        uc_reg_write(sv->uc, UC_X86_REG_RIP, &site);
    sim_vcpu_request_stop(sv);
}

/* A write Xen queued in the server's ring (stdvga): the vcpu goes on at once, after the entry;
 * what it cost is counted on its own. */
static void buffered_done(struct sim_vcpu *sv, const struct ioreq_server *s, const ioreq_t *p)
{
    struct sim_domain *sd = sv->sd;
    struct rt_flight *f = &sv->hvm_io.flight;
    *sv->clock +=
        cost_cycles(sd->m->cost, COST_HVM_EXIT) - cost_cycles(sd->m->cost, COST_HVM_EXIT) / 2;
    sv->pcpu->xen_to = *sv->clock;
    rt_count(&sd->ioreq_rt, s, route_type(p), p->addr, p->dir, true);
    if (s)
        samples_add(&sd->ioreq_rt.server[s->id].buffered_cost, *sv->clock - f->t[RT_EXIT]);
    record_entry(sv, *sv->clock);
    f->active = false;
    /* The guest goes on, but its notification may have woken the device model's CPU, which
     * must not see memory from this CPU's future: the slice ends where the new limit says (as
     * after a hypercall). */
    if (!sv->stop_requested && sd->m->limits_stale)
        sv->stop_at = sim_pcpu_slice_limit(sv);
}

/* Xen's path for an access a server claims (hvmemul_do_io: intercept, select, ioreq_send),
 * from the VM exit on. A write to the VGA window goes into the server's ring if it can (then the
 * instruction completes: false); anything else makes the vcpu wait, the instruction at site not
 * run (true). */
static bool forward_access(struct sim_vcpu *sv, ioreq_t *p, uint64_t site, uint64_t rcx,
                           enum cost_id decode)
{
    struct sim_domain *sd = sv->sd;
    struct machine *m = sd->m;
    struct vcpu *v = sv->v;
    struct rt_flight *f = &sv->hvm_io.flight;
    uint64_t *clock = sv->clock;
    struct sim_hvm_access access = {p->addr, p->data,          p->size,
                                    p->dir,  (uint8_t)p->type, p->data_is_ptr};
    bool buffered = hvm_io_buffered(sd->d, p);

    *f = (struct rt_flight){.active = true};
    rt_mark(f, RT_EXIT, *clock);
    record_io_exit(sv, *clock, p, site, decode == COST_HVM_IO_EMULATE);
    explain_io_exit(m->explain, sv, p);
    sv->pcpu->xen_from = sv->hc_start = *clock;
    *clock += cost_cycles(m->cost, COST_HVM_EXIT) / 2;
    rt_mark(f, RT_DECODE, *clock);
    *clock += cost_cycles(m->cost, decode);
    rt_mark(f, RT_SEND, *clock);
    sv->hvm_io.exits++;
    /* Xen's work from here is priced by the model, as a hypercall's is: its selection of the
     * server (once) and the send; the intercept before only looks, so it is not charged. */
    machine_act_on(m, sv->pcpu);
    hvm_io_intercept(v, p);
    m->hv.current = v;
    v->hcall_cycles = 0;
    struct ioreq_server *s = ioreq_server_select(sd->d, p);
    enum ioreq_status st = ioreq_send_to_server(s, v, p, buffered);
    m->hv.current = NULL;
    if (p->dir == IOREQ_WRITE)
        record_io_access(sv, f->t[RT_SEND], p);
    record_ioreq_send(sv, f->t[RT_SEND], s ? s->id : MAX_NR_IOREQ_SERVERS, p, st == IOREQ_BUFFERED);
    *clock += v->hcall_cycles;
    rt_mark(f, RT_EMULATOR_WAKE, *clock);
    sv->pcpu->xen_to = *clock;
    f->server = s ? s->id : MAX_NR_IOREQ_SERVERS;
    if (st == IOREQ_BUFFERED) {
        buffered_done(sv, s, p);
        return false;
    }
    /* The instruction runs again once answered: what the block hook charged for it goes. */
    if (!sv->rp)
        sim_vcpu_uncharge_from(sv, site);
    if (buffered && s && s->bufioreq.va) /* the ring was full: the synchronous path took it */
        sd->ioreq_rt.server[s->id].ring_full++;
    switch (st) {
    case IOREQ_WAIT:
        rt_count(&sd->ioreq_rt, s, route_type(p), p->addr, p->dir, false);
        sv->hvm_io.waiting = true;
        sv->hvm_io.wait_site = site;
        sv->hvm_io.wait_rcx = rcx;
        sv->hvm_io.access = access;
        stop_at(sv, site);
        return true;
    case IOREQ_UNHANDLED: /* handle_pio / handle_mmio: X86EMUL_UNHANDLEABLE crashes the domain */
        if (s)
            sd->ioreq_rt.server[s->id].bad_state++;
        f->active = false;
        sim_domain_crash(sd,
                         "d%uv%u: device model set bad IO state or event channel (ioreq server "
                         "%u, access to 0x%" PRIx64 ")",
                         sd->d->domid, v->vcpu_id, s ? s->id : 0, access.addr);
        stop_at(sv, site);
        return true;
    default: /* IOREQ_SHUTDOWN: the domain is going down; nothing more runs */
        f->active = false;
        stop_at(sv, site);
        return true;
    }
}

void sim_hvm_io_replayed(struct sim_vcpu *sv, ioreq_t *p, bool emulate, bool more)
{
    enum cost_id decode = emulate ? COST_HVM_IO_EMULATE : COST_HVM_IO_DECODE;
    if (hvm_io_forwards(sv->sd->d, p)) { /* the vcpu waits, or a buffered write is done */
        forward_access(sv, p, 0, 0, decode);
        return;
    }
    if (more)
        record_io_more(sv, p);
    else
        charge_exit(sv, decode, p, 0);
    to_xen(sv, p);
    record_io_access(sv, *sv->clock, p);
    record_entry(sv, *sv->clock);
}

bool sim_hvm_io_resume(struct sim_vcpu *sv)
{
    struct sim_hvm_io *io = &sv->hvm_io;
    struct sim_domain *sd = sv->sd;
    struct machine *m = sd->m;
    if (!io->waiting)
        return true;
    uint64_t *clock = sv->clock;
    rt_mark(&io->flight, RT_COMPLETE, *clock);
    ioreq_t req = {0};
    machine_act_on(m, sv->pcpu);
    enum ioreq_completion c = ioreq_complete(sv->v, &req);
    switch (c) {
    case IOREQ_COMPLETE_WAIT: /* a spurious notification: it waits on */
        return false;
    case IOREQ_COMPLETE_CRASHED:
        io->waiting = false;
        io->flight.active = false;
        if (sd->status == SD_RUNNING) /* Xen's domain_crash has normally stopped it already */
            sim_domain_crash(sd, "d%uv%u: the emulator left an illegal ioreq state", sd->d->domid,
                             sv->v->vcpu_id);
        return false;
    default:
        break;
    }
    io->waiting = false;
    struct sim_hvm_access a = io->access;
    if (c == IOREQ_COMPLETE_DONE && a.dir == IOREQ_READ && !a.ptr)
        a.data = req.data;
    if (!a.ptr)      /* a batch's instruction retired when it was sent */
        if (!sv->rp) /* a replayed vcpu runs no instruction again */
            replay_add(&io->replay, io->wait_site, io->wait_rcx, &a);
    record_ioreq_done(sv, *clock, io->flight.server, a.data);
    sv->pcpu->xen_from = *clock;
    *clock += cost_cycles(m->cost, COST_IOREQ_COMPLETE);
    rt_mark(&io->flight, RT_ENTRY, *clock);
    if (a.dir == IOREQ_READ) {
        ioreq_t done = {.addr = a.addr,
                        .data = a.data,
                        .size = a.size,
                        .dir = a.dir,
                        .type = a.type,
                        .data_is_ptr = a.ptr};
        record_io_access(sv, *clock, &done); /* Xen traces a read when it completes */
    }
    *clock += cost_cycles(m->cost, COST_HVM_EXIT) - cost_cycles(m->cost, COST_HVM_EXIT) / 2;
    sv->pcpu->xen_to = *clock;
    record_entry(sv, *clock);
    rt_finish(&sd->ioreq_rt, &io->flight, *clock);
    return true;
}

void sim_hvm_io_notified(struct sim_vcpu *sv, uint64_t now)
{
    rt_mark(&sv->hvm_io.flight, RT_VCPU_WAKE, now);
}

/* ---- port I/O ----------------------------------------------------------------------------- */

/* The element a port I/O site is about to move, from the registers (false: none, a rep with
 * rcx 0, or an outs whose source Unicorn cannot read and will fault on). */
static bool port_element(struct sim_vcpu *sv, const struct aot_site *s, ioreq_t *p, uint64_t *rcx)
{
    static const int ids[] = {UC_X86_REG_RAX, UC_X86_REG_RCX, UC_X86_REG_RDX, UC_X86_REG_RSI,
                              UC_X86_REG_EFLAGS};
    uint64_t rax = 0, rdx = 0, rsi = 0, rflags = 0;
    void *vals[] = {&rax, rcx, &rdx, &rsi, &rflags};
    *rcx = 0;
    uc_reg_read_batch(sv->uc, (int *)ids, vals, 5);
    if (s->rep && *rcx == 0)
        return false;
    uint64_t mask = s->size >= 8 ? ~0ull : (1ull << (8 * s->size)) - 1;
    *p = (ioreq_t){.addr = s->imm_port ? s->port : (rdx & 0xffff),
                   .size = s->size,
                   .count = 1,
                   .state = STATE_IOREQ_READY,
                   .dir = s->in ? IOREQ_READ : IOREQ_WRITE,
                   .df = s->string && ((rflags >> 10) & 1),
                   .type = IOREQ_TYPE_PIO};
    if (s->in)
        return true;
    if (!s->string) {
        p->data = rax & mask;
        return true;
    }
    uint64_t data = 0;
    if (uc_mem_read(sv->uc, rsi, &data, s->size) != UC_ERR_OK)
        return false;
    p->data = data & mask;
    return true;
}

/* ---- rep ins / rep outs to a server: one request for a batch of elements ---------------- */

/* A page Xen's hvmemul_acquire_page takes: RAM of the domain (not page 0, which evsim leaves
 * unmapped, nor the PC hole below 1 MiB, nor MMIO beyond RAM). */
static bool ram_page(const struct sim_domain *sd, uint64_t gpa)
{
    bool in_hole = gpa >= HVM_HOLE_START && gpa < HVM_HOLE_END && sd->ram_size > HVM_HOLE_END;
    return gpa >= XEN_PAGE_SIZE && gpa < sd->ram_size && !in_hole;
}

/* How many elements Xen hands over at once (models/hvm_io.c), if the pages they are in are
 * RAM; 0 when not, and Xen's emulator falls back to its one-element path (read_io/write_io). */
static uint64_t rep_batch_count(const struct sim_domain *sd, uint64_t gpa, uint64_t reps,
                                unsigned size, bool df)
{
    bool two_pages;
    uint64_t count = hvm_io_rep_count(gpa, reps, size, df, &two_pages);
    if (!ram_page(sd, gpa) ||
        (two_pages && !ram_page(sd, df ? gpa - XEN_PAGE_SIZE : gpa + XEN_PAGE_SIZE)))
        return 0;
    return count;
}

/* The request Xen makes of a rep ins/outs of rcx elements (rcx > 1: x86_emulate takes the
 * plain path for one): count elements at the buffer's guest-physical address, data_is_ptr.
 * HVM guests run with flat memory (docs/guests.md), so RSI/RDI's linear address is the
 * guest-physical one. false: the buffer is not RAM. */
static bool rep_batch(struct sim_vcpu *sv, const struct aot_site *s, uint64_t rcx, ioreq_t *p)
{
    uint64_t ptr = 0;
    uc_reg_read(sv->uc, s->in ? UC_X86_REG_RDI : UC_X86_REG_RSI, &ptr);
    uint64_t count = rep_batch_count(sv->sd, ptr, rcx, s->size, p->df);
    if (!count)
        return false;
    p->count = (uint32_t)count;
    p->data_is_ptr = 1;
    p->data = ptr;
    return true;
}

/* Xen retires a data_is_ptr request's elements when it sends it (ioreq_needs_completion is
 * false): x86_emulate's put_rep_prefix steps RCX and the buffer's register by what was sent,
 * and the instruction restarts, a new exit and request, while elements remain. */
static void rep_retire(struct sim_vcpu *sv, const struct aot_site *s, uint64_t rcx,
                       const ioreq_t *p)
{
    uint64_t ptr = 0, bytes = (uint64_t)p->count * p->size;
    int reg = s->in ? UC_X86_REG_RDI : UC_X86_REG_RSI;
    uc_reg_read(sv->uc, reg, &ptr);
    ptr = p->df ? ptr - bytes : ptr + bytes;
    rcx -= p->count;
    uc_reg_write(sv->uc, reg, &ptr);
    uc_reg_write(sv->uc, UC_X86_REG_RCX, &rcx);
    if (rcx == 0) {
        uint64_t next = s->addr + s->len;
        uc_reg_write(sv->uc, UC_X86_REG_RIP, &next);
    }
}

void sim_hvm_port_site(uc_engine *uc, uint64_t addr, uint32_t size, void *opaque)
{
    struct sim_vcpu *sv = opaque;
    struct sim_domain *sd = sv->sd;
    (void)uc, (void)size;
    const struct aot_site *site = aot_site_at(&sd->aot, addr);
    ioreq_t p;
    uint64_t rcx;
    if (!site || !port_element(sv, site, &p, &rcx) ||
        replay_begins(&sv->hvm_io.replay, addr, rcx) || !hvm_io_forwards(sd->d, &p))
        return; /* it runs: Xen completes it itself, or takes the answer it was given */
    if (site->rep && rcx > 1 && rep_batch(sv, site, rcx, &p)) {
        if (forward_access(sv, &p, addr, rcx, COST_HVM_IO_EMULATE) && sv->hvm_io.waiting)
            rep_retire(sv, site, rcx, &p);
        return;
    }
    p.df = 0; /* Xen's one-element path (hvmemul_do_pio_buffer) sends df clear */
    forward_access(sv, &p, addr, rcx, site->string ? COST_HVM_IO_EMULATE : COST_HVM_IO_DECODE);
}

/* Which instruction is running: Unicorn does not say (RIP is the block's start), but its I/O
 * hooks come in program order, so count them within each run of a block (a block run again
 * has moved sv->insns on). */
static bool current_port_insn(struct sim_vcpu *sv, struct aot_port_io *out)
{
    struct sim_domain *sd = sv->sd;
    if (sv->hvm_io.blk != sim_vcpu_blk_addr(sv) || sv->hvm_io.blk_insns != sv->insns) {
        sv->hvm_io.blk = sim_vcpu_blk_addr(sv);
        sv->hvm_io.blk_insns = sv->insns;
        sv->hvm_io.nth = 0;
    }
    unsigned nth = sv->hvm_io.nth++;
    uint64_t from = sim_vcpu_blk_addr(sv), to = sim_vcpu_blk_end(sv);
    if (from < XEN_PAGE_SIZE || to > sd->ram_size || to <= from)
        return false;
    return aot_port_io(&sd->aot, from, to, sd->ram + from, nth, out);
}

/* One element of a port access Xen completes itself. A string instruction is one exit for all
 * its repetitions while they stay within one page of guest memory (Xen's emulator clamps the
 * repeat count there); Unicorn calls the hook per element, with RCX and the memory pointer not
 * yet stepped. An element an emulator answered takes its answer and costs nothing more here. */
static uint64_t port_io(struct sim_vcpu *sv, uint32_t port, int size, uint8_t dir, uint32_t value)
{
    uint64_t answer;
    if (replay_take(&sv->hvm_io.replay, IOREQ_TYPE_PIO, port, (uint32_t)size, dir, &answer)) {
        sv->hvm_io.nth++; /* the hook still counts for finding the block's next instruction */
        return answer;
    }
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
            charge_exit(sv, COST_HVM_IO_EMULATE, &p, insn.addr);
        else
            record_io_more(sv, &p);
        *r = (struct sim_hvm_rep){.valid = insn.rep, .site = insn.addr, .rcx = rcx, .ptr = ptr};
    } else {
        charge_exit(sv, COST_HVM_IO_DECODE, &p, known ? insn.addr : 0);
        sv->hvm_io.rep.valid = false;
    }
    to_xen(sv, &p);
    record_io_access(sv, *sv->clock, &p);
    record_entry(sv, *sv->clock);
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
    uint64_t answer;
    if (replay_take(&sv->hvm_io.replay, IOREQ_TYPE_COPY, p.addr, size, dir, &answer))
        return answer;
    if (sv->hvm_io.precise && hvm_io_forwards(sv->sd->d, &p)) {
        /* Every instruction is hooked, so RIP is this access's instruction. */
        uint64_t rip = 0, rcx = 0;
        uc_reg_read(sv->uc, UC_X86_REG_RIP, &rip);
        uc_reg_read(sv->uc, UC_X86_REG_RCX, &rcx);
        /* Abandoned (it runs again with the answer), or a buffered write, done. */
        forward_access(sv, &p, rip, rcx, COST_HVM_IO_EMULATE);
        return 0;
    }
    charge_exit(sv, COST_HVM_IO_EMULATE, &p, 0);
    sv->hvm_io.rep.valid = false;
    to_xen(sv, &p);
    record_io_access(sv, *sv->clock, &p);
    record_entry(sv, *sv->clock);
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
    bool in_hole = addr >= HVM_HOLE_START && addr < HVM_HOLE_END && sv->sd->ram_size > HVM_HOLE_END;
    if (!sv->sd->cfg->hvm || (type != UC_MEM_READ_UNMAPPED && type != UC_MEM_WRITE_UNMAPPED) ||
        (addr < sv->sd->ram_size && !in_hole) || addr >= GPA_LIMIT ||
        io->nr_mmio == MAX_MMIO_WINDOWS)
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

/* ---- precise MMIO ------------------------------------------------------------------------ */

/* Hooking every instruction makes Unicorn keep RIP exact, which an MMIO callback needs to stop
 * the instruction that made a forwarded access; the hook itself only notices a new instruction
 * (so that answers are replayed to the right one). */
static void on_insn_precise(uc_engine *uc, uint64_t addr, uint32_t size, void *opaque)
{
    struct sim_vcpu *sv = opaque;
    struct sim_hvm_replay *r = &sv->hvm_io.replay;
    (void)size;
    if (!r->n)
        return;
    uint64_t rcx = 0;
    uc_reg_read(uc, UC_X86_REG_RCX, &rcx);
    replay_begins(r, addr, rcx);
}

/* Every instruction is hooked while an emulator claims memory of the domain, and only then: the
 * hook costs about 5 ns per instruction (bench/). */
static void precise_sync(struct sim_vcpu *sv)
{
    struct sim_hvm_io *io = &sv->hvm_io;
    bool want = ioreq_claims_memory(sv->sd->d);
    if (want == io->precise)
        return;
    if (want) {
        uc_hook h;
        if (uc_hook_add(sv->uc, &h, UC_HOOK_CODE, on_insn_precise, sv, 1, 0) != UC_ERR_OK)
            return;
        io->precise_hook = h;
    } else {
        uc_hook_del(sv->uc, (uc_hook)io->precise_hook);
    }
    io->precise = want;
    /* Blocks translated before are translated again, hooked or not. Not uc_ctl_flush_tb: in
     * Unicorn 2.1 it touches the whole translation buffer (a GiB of memory, a second). */
    uc_ctl_remove_cache(sv->uc, XEN_PAGE_SIZE, sv->sd->ram_size);
}

bool sim_hvm_io_prepare(struct sim_vcpu *sv)
{
    if (!sv->sd->cfg->hvm)
        return true;
    precise_sync(sv);
    return sim_hvm_io_resume(sv);
}

/* ---- the emulator's side, seen through its mapping of the slots --------------------------- */

/* ioreq_t's state is the low nibble of byte 30 (after addr, data, count, size, vp_eport and
 * _pad0); tests/sim checks it against Xen's header. */
#define IOREQ_STATE_BYTE 30u

void sim_hvm_ioreq_page_access(struct sim_vcpu *emu, struct sim_domain *target, uint64_t offset,
                               unsigned size, uint64_t before, uint64_t after, bool write)
{
    uint64_t first = offset / sizeof(ioreq_t), last = (offset + size - 1) / sizeof(ioreq_t);
    for (uint64_t i = first; i <= last && i < target->nr_vcpus; i++) {
        uint64_t b = i * sizeof(ioreq_t) + IOREQ_STATE_BYTE;
        if (b < offset || b >= offset + size)
            continue;
        unsigned shift = (unsigned)(b - offset) * 8;
        unsigned was = (before >> shift) & 0xf, now = (after >> shift) & 0xf;
        struct rt_flight *f = &target->vcpu[i].hvm_io.flight;
        if (!write && now == STATE_IOREQ_READY)
            rt_mark(f, RT_HANDLE, *emu->clock);
        else if (write && now == STATE_IORESP_READY && was != STATE_IORESP_READY)
            rt_mark(f, RT_RESPOND, *emu->clock);
    }
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
