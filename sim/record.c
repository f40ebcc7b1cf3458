/* The recorder: see record.h. What each hook writes, and where Xen writes the same record, is
 * in docs/traces.md. Runstates are followed per vcpu (sim_vcpu.trace_state) and the vcpu each
 * CPU runs (cpu[].cur, NULL for the idle vcpu), so that a record is written once per change. */
#include "sim/record.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unicorn/unicorn.h>

#include "models/evtchn.h"
#include "models/xen_public.h"
#include "sim/evpages.h"
#include "sim/machine.h"
#include "sim/replay.h"
#include "sim/scenario.h"
#include "traces/writer.h"

/* Xen's idle domain: CPU n idles in its vcpu n. */
#define IDLE_DOMID 0x7fffu

struct sim_recorder {
    struct xt_writer *w;
    bool amd; /* the profile's CPU is AMD's: SVM exit ids and codes */
    struct rec_cpu {
        struct sim_vcpu *cur; /* NULL: the idle vcpu */
        uint64_t since;       /* cycles: when cur started running there */
    } * cpu;
    /* The hypercall being dispatched, and the guest memory it read so far (each range once). */
    struct sim_vcpu *hc;
    struct rec_range {
        uint64_t gpa, len;
    } range[16];
    unsigned nr_range;
    /* Per domain, the event pages its accesses named (slot k + 1 is page[k]; 0 shared_info). */
    struct rec_pages {
        uint64_t gpa[XT_ACCESS_SLOTS];
        unsigned n;
    } * pages;
};

static struct sim_recorder *rec_of(const struct machine *m)
{
    return m->rec;
}

static uint64_t tsc_of(uint64_t cycles)
{
    return cycles + XT_EVSIM_TSC_BASE;
}

/* Writes one record; returns the cycles it is written at (later than asked when its CPU's
 * records had gone past them). */
static uint64_t put(struct machine *m, unsigned cpu, uint32_t event, bool timed, uint64_t cycles,
                    unsigned n, ...)
{
    uint32_t d[7];
    va_list ap;

    va_start(ap, n);
    for (unsigned i = 0; i < n && i < 7; i++)
        d[i] = va_arg(ap, uint32_t);
    va_end(ap);
    return xt_writer_add(rec_of(m)->w, cpu, event, timed, tsc_of(cycles), n, d) - XT_EVSIM_TSC_BASE;
}

static uint32_t dv_of(const struct sim_vcpu *sv)
{
    return xt_dv(sv->sd->d->domid, sv->v->vcpu_id);
}

static unsigned abi_code(const struct domain *d)
{
    const char *name = d->evtchn_port_ops ? d->evtchn_port_ops->name : "2l";

    return name[0] == 'f' ? 4 : name[0] == '3' ? 3 : 2;
}

/* The runstate Xen would give sv now (RUNSTATE_*). Xen's schedule() says blocked only for
 * _VPF_blocked (SCHEDOP_block, poll, hlt); any other reason not to run is offline: a vcpu
 * down, its domain not running, or one waiting in Xen for its device model (_VPF_blocked_in_xen,
 * which a real host's recording shows as running->offline at an I/O exit). */
static int derived_state(const struct sim_vcpu *sv)
{
    switch (sv->state) {
    case SV_RUNNING:
        return RUNSTATE_running;
    case SV_WAKING:
    case SV_QUEUED:
        return RUNSTATE_runnable;
    default:
        return sv->v->run_state == VCPU_DOWN || sv->sd->status != SD_RUNNING ||
                       sv->v->blocked_in_xen
                   ? RUNSTATE_offline
                   : RUNSTATE_blocked;
    }
}

static uint64_t runstate(struct machine *m, unsigned cpu, uint64_t at, uint32_t dv, int from,
                         int to)
{
    return put(m, cpu,
               TRC_SCHED_RUNSTATE_CHANGE | (uint32_t)(from & 3) << 8 | (uint32_t)(to & 3) << 4,
               true, at, 1, dv);
}

/* A vcpu's runstate record goes no earlier than its previous one. CPUs run up to a lookahead
 * apart, so one CPU may take a vcpu another CPU queued at a later time of its own (the
 * simulator allows it); written at its own time, the record would precede the change it
 * follows. It is written at the later time (the CPU's records after it follow, see
 * xt_writer_add). */
static void vcpu_runstate(struct machine *m, unsigned cpu, uint64_t at, struct sim_vcpu *sv, int to)
{
    /* on another CPU, strictly later: readers order equal TSCs of two CPUs as they like */
    if (at < sv->trace_at || (at == sv->trace_at && cpu != sv->trace_cpu && at))
        at = sv->trace_at + (cpu != sv->trace_cpu);
    sv->trace_at = runstate(m, cpu, at, dv_of(sv), sv->trace_state, to);
    sv->trace_cpu = cpu;
    sv->trace_state = (int8_t)to;
}

static void write_constants(struct machine *m)
{
    uint64_t hz = m->cost->cpu_khz * 1000u;

    put(m, 0, TRC_EVSIM_CPU_HZ, false, 0, 2, (uint32_t)hz, (uint32_t)(hz >> 32));
    for (unsigned i = 0; i < m->nr_dom; i++) {
        struct sim_domain *sd = &m->dom[i];

        put(m, 0, TRC_EVSIM_DOMAIN, false, 0, 4, sd->d->domid, sd->cfg->hvm ? 1u : 0u,
            abi_code(sd->d), sd->nr_vcpus);
        for (unsigned k = 0; k < sd->nr_vcpus; k++)
            put(m, 0, TRC_EVSIM_VCPU, false, 0, 3, dv_of(&sd->vcpu[k]), sd->vcpu[k].pcpu->id,
                sd->vcpu[k].pinned ? 1u : 0u);
        if (sd->mfn0) /* a PV domain: what its addresses and frames mean, for replay */
            put(m, 0, TRC_EVSIM_LAYOUT, false, 0, 5, xt_dv(sd->d->domid, 0),
                (uint32_t)sd->virt_base, (uint32_t)(sd->virt_base >> 32), (uint32_t)sd->mfn0,
                (uint32_t)(sd->mfn0 >> 32));
    }
    /* Every CPU starts in its idle vcpu; vcpus start as the scheduler has them. */
    for (unsigned c = 0; c < m->nr_pcpus; c++) {
        runstate(m, c, m->pcpu[c].local, xt_dv(IDLE_DOMID, c), RUNSTATE_runnable, RUNSTATE_running);
        m->rec->cpu[c].since = m->pcpu[c].local;
    }
    for (unsigned i = 0; i < m->nr_dom; i++)
        for (unsigned k = 0; k < m->dom[i].nr_vcpus; k++)
            m->dom[i].vcpu[k].trace_state = (int8_t)derived_state(&m->dom[i].vcpu[k]);
}

int record_start(struct machine *m, const char *path, struct diag *d)
{
    struct sim_recorder *r = calloc(1, sizeof(*r));
    struct xt_error err;

    if (!r || !(r->cpu = calloc(m->nr_pcpus, sizeof(*r->cpu))) ||
        !(r->pages = calloc(m->nr_dom ? m->nr_dom : 1, sizeof(*r->pages)))) {
        if (r)
            free(r->cpu);
        free(r);
        return diag_set(d, "--record %s: out of memory", path);
    }
    if (xt_writer_open(&r->w, path, m->nr_pcpus, &err) < 0) {
        free(r->pages);
        free(r->cpu);
        free(r);
        return diag_set(d, "--record %s: %s", path, err.msg);
    }
    r->amd = strncmp(m->cost->cpu, "AMD", 3) == 0;
    m->rec = r;
    m->hv.raises_coalesced = true; /* every raise is a step of the recording */
    write_constants(m);
    return 0;
}

static void recorder_free(struct machine *m)
{
    free(m->rec->pages);
    free(m->rec->cpu);
    free(m->rec);
    m->rec = NULL;
    m->hv.raises_coalesced = false;
}

int record_finish(struct machine *m, struct xt_writer_stats *stats, struct diag *d)
{
    struct xt_error err;
    int rc;

    if (!m->rec)
        return 0;
    rc = xt_writer_close(m->rec->w, stats, &err);
    recorder_free(m);
    return rc < 0 ? diag_set(d, "--record: %s", err.msg) : 0;
}

void record_discard(struct machine *m)
{
    if (!m->rec)
        return;
    xt_writer_discard(m->rec->w);
    recorder_free(m);
}

/* CPU cpu's time; inside a hypercall there, what the hypercall was charged so far has passed. */
static uint64_t acting_now(const struct machine *m, unsigned cpu)
{
    const struct vcpu *cur = m->hv.current;
    uint64_t t = m->pcpu[cpu].local +
                 (m->acting.cpu && m->acting.cpu->id == cpu && cur ? cur->hcall_cycles : 0);

    /* A callback (a timer, an interrupt) acts at the kernel's time: an idle CPU's clock still
     * stands where it went idle. */
    if (!m->acting.cpu && machine_now_cycles(m) > t)
        t = machine_now_cycles(m);
    return t;
}

/* ---- scheduling ---------------------------------------------------------------------------- */

void record_vcpu_state(struct sim_vcpu *sv)
{
    struct machine *m = sv->sd->m;
    int to, from = sv->trace_state;
    unsigned cpu;
    uint64_t at;

    if (!m->rec)
        return;
    to = derived_state(sv);
    /* running is entered with the switch (record_pick) */
    if (to == from || to == RUNSTATE_running)
        return;
    cpu = from == RUNSTATE_running ? sv->pcpu->id : machine_acting_pcpu(m);
    at = acting_now(m, cpu);
    if (to == RUNSTATE_runnable && from != RUNSTATE_running) {
        /* a wake: Xen writes it on the waker's CPU, with the runstate change */
        if (at < sv->trace_at + (cpu != sv->trace_cpu))
            at = sv->trace_at + (cpu != sv->trace_cpu);
        put(m, cpu, TRC_SCHED_WAKE, true, at, 2, sv->sd->d->domid, sv->v->vcpu_id);
    }
    vcpu_runstate(m, cpu, at, sv, to);
}

/* Xen's vcpu_block traces the block in the hypercall (SCHEDOP_block, SCHEDOP_poll) or in
 * hvm_hlt, before the scheduler switches the vcpu out. */
static void block_record(struct sim_vcpu *sv)
{
    put(sv->sd->m, sv->pcpu->id, TRC_SCHED_BLOCK, true, *sv->clock, 2, sv->sd->d->domid,
        sv->v->vcpu_id);
}

void record_pick(struct sim_pcpu *p, struct sim_vcpu *next)
{
    struct machine *m = p->m;
    struct rec_cpu *rc;
    struct sim_vcpu *cur;
    uint32_t cur_dv, next_dv, ran_ns, waited_ns = 0;
    uint64_t at = p->local;

    if (!m->rec || (cur = (rc = &m->rec->cpu[p->id])->cur) == next)
        return;
    if (cur && cur->trace_state == RUNSTATE_running)
        record_vcpu_state(cur); /* it left without a record yet */
    cur_dv = cur ? dv_of(cur) : xt_dv(IDLE_DOMID, p->id);
    next_dv = next ? dv_of(next) : xt_dv(IDLE_DOMID, p->id);
    /* Xen's: how long prev ran, how long next waited runnable (0 if it was not), next's slice */
    ran_ns = (uint32_t)cost_cycles_to_ns(m->cost, at > rc->since ? at - rc->since : 0);
    if (next && next->trace_state == RUNSTATE_runnable && at > next->trace_at)
        waited_ns = (uint32_t)cost_cycles_to_ns(m->cost, at - next->trace_at);
    put(m, p->id, TRC_SCHED_SWITCH_INFPREV, true, at, 3, cur_dv >> 16, cur_dv & 0xffff, ran_ns);
    put(m, p->id, TRC_SCHED_SWITCH_INFNEXT, true, at, 4, next_dv >> 16, next_dv & 0xffff, waited_ns,
        (uint32_t)m->sc->timeslice_ns);
    put(m, p->id, TRC_SCHED_SWITCH, true, at, 4, cur_dv >> 16, cur_dv & 0xffff, next_dv >> 16,
        next_dv & 0xffff);
    if (!cur)
        runstate(m, p->id, at, cur_dv, RUNSTATE_running, RUNSTATE_runnable);
    if (next) {
        vcpu_runstate(m, p->id, at, next, RUNSTATE_running);
    } else {
        runstate(m, p->id, at, next_dv, RUNSTATE_runnable, RUNSTATE_running);
    }
    rc->cur = next;
    rc->since = at;
}

/* ---- hypercalls and exits ------------------------------------------------------------------- */

/* Xen's __trace_hypercall: the arguments it keeps, as 32-bit words, per hypercall. */
static unsigned pv_hypercall_args(uint64_t nr, const uint64_t *args, uint32_t *op, uint32_t *w)
{
    static const struct {
        uint32_t nr;
        uint8_t n, idx[2];
    } kept[] = {
        {__HYPERVISOR_mmu_update, 1, {1, 0}},     {__HYPERVISOR_multicall, 1, {1, 0}},
        {__HYPERVISOR_grant_table_op, 2, {0, 2}}, {__HYPERVISOR_vcpu_op, 2, {0, 1}},
        {__HYPERVISOR_mmuext_op, 1, {1, 0}},      {__HYPERVISOR_sched_op, 1, {0, 0}},
    };

    *op = (uint32_t)nr & ~TRC_PV_HYPERCALL_V2_ARG_MASK;
    for (size_t i = 0; i < sizeof(kept) / sizeof(kept[0]); i++) {
        if (kept[i].nr != nr)
            continue;
        for (unsigned k = 0; k < kept[i].n; k++) {
            w[k] = (uint32_t)args[kept[i].idx[k]];
            *op |= TRC_PV_HYPERCALL_V2_ARG_32(kept[i].idx[k]);
        }
        return kept[i].n;
    }
    return 0;
}

static void exit_record(struct sim_vcpu *sv, uint64_t at, uint32_t vmx_reason, uint32_t svm_code,
                        uint64_t rip)
{
    struct machine *m = sv->sd->m;
    bool amd = m->rec->amd;

    put(m, sv->pcpu->id, amd ? TRC_HVM_SVM_EXIT64 : TRC_HVM_VMX_EXIT64, true, at, 3,
        amd ? svm_code : vmx_reason, (uint32_t)rip, (uint32_t)(rip >> 32));
    sv->trace_in_exit = true;
}

/* The port an event-channel command names (send, unmask), read from the guest's argument. */
static bool evtchn_cmd_port(struct sim_vcpu *sv, uint64_t arg, uint32_t *port)
{
    const uint8_t *at = sim_domain_va(sv->sd, arg, sizeof(*port));
    if (!at || arg - sv->sd->virt_base < XEN_PAGE_SIZE)
        return false;
    memcpy(port, at, sizeof(*port));
    return true;
}

void record_hypercall(struct sim_vcpu *sv, uint64_t nr, const uint64_t *args, uint64_t rip)
{
    struct machine *m = sv->sd->m;
    unsigned cpu = sv->pcpu->id;
    uint64_t at = *sv->clock;
    uint32_t port;

    if (!m->rec)
        return;
    if (sv->sd->cfg->hvm) {
        exit_record(sv, at, 18 /* VMCALL */, 0x81 /* VMMCALL */, rip);
        put(m, cpu, TRC_HVM_VMMCALL, false, at, 1, (uint32_t)nr);
    } else {
        uint32_t op, w[2] = {0, 0};
        unsigned n = pv_hypercall_args(nr, args, &op, w);

        put(m, cpu, TRC_PV_HYPERCALL_V2, true, at, 1 + n, op, w[0], w[1]);
    }
    if (nr != __HYPERVISOR_event_channel_op || !evtchn_cmd_port(sv, args[1], &port))
        return;
    if (args[0] == EVTCHNOP_send)
        put(m, cpu, TRC_EVSIM_SEND, true, at, 2, dv_of(sv), port);
    else if (args[0] == EVTCHNOP_unmask)
        put(m, cpu, TRC_EVSIM_UNMASK, true, at, 2, dv_of(sv), port);
}

void record_hypercall_done(struct sim_vcpu *sv)
{
    const struct vcpu *v = sv->v;

    if (!sv->sd->m->rec)
        return;
    if (v->run_state == VCPU_BLOCKED)
        block_record(sv);
    else if (v->run_state == VCPU_RUNNABLE && !v->blocked_in_xen)
        record_entry(sv, *sv->clock);
}

void record_entry(struct sim_vcpu *sv, uint64_t at)
{
    struct machine *m = sv->sd->m;

    if (!m->rec || !sv->trace_in_exit)
        return;
    put(m, sv->pcpu->id, TRC_HVM_VMENTRY, true, at, 0);
    sv->trace_in_exit = false;
}

void record_resume(struct sim_vcpu *sv)
{
    record_entry(sv, *sv->clock);
}

void record_hlt_exit(struct sim_vcpu *sv, uint64_t at)
{
    uint64_t rip = 0;

    if (!sv->sd->m->rec)
        return;
    if (sv->uc)
        uc_reg_read(sv->uc, UC_X86_REG_RIP, &rip);
    exit_record(sv, at, 12 /* HLT */, 0x78 /* HLT */, rip);
}

/* Xen's hvm_hlt: with interrupts off the vcpu goes down, no HLT record; else it blocks (BLOCK)
 * and HLT says whether it was runnable again at once (an event was pending). */
void record_hlt(struct sim_vcpu *sv, bool interrupts_on)
{
    struct machine *m = sv->sd->m;
    bool blocked = sv->v->run_state == VCPU_BLOCKED;

    if (!m->rec || !interrupts_on)
        return;
    if (blocked)
        block_record(sv);
    put(m, sv->pcpu->id, TRC_HVM_HLT, false, *sv->clock, 1, blocked ? 0u : 1u);
}

static void guest_io_record(struct sim_vcpu *sv, const ioreq_t *p, bool emulate, bool more);

void record_io_exit(struct sim_vcpu *sv, uint64_t at, const ioreq_t *p, uint64_t rip, bool emulate)
{
    struct machine *m = sv->sd->m;
    bool mmio = p->type == IOREQ_TYPE_COPY;
    /* EPT qualification: data read or write, linear address valid and translated */
    uint32_t qual = m->rec && !m->rec->amd ? (p->dir == IOREQ_READ ? 0x181u : 0x182u) : 0u;

    if (!m->rec)
        return;
    guest_io_record(sv, p, emulate, false);
    exit_record(sv, at, mmio ? 48u /* EPT_VIOLATION */ : 30u /* IO_INSTRUCTION */,
                mmio ? 0x400u /* NPF */ : 0x7bu /* IOIO */, rip);
    /* Xen's EPT or NPT violation handler: gpa, mfn (none: INVALID_MFN), qualification, p2m type
     * (p2m_mmio_dm, 4: reads and writes go to the device model) */
    if (mmio)
        put(m, sv->pcpu->id, TRC_HVM_NPF, false, at, 6, (uint32_t)p->addr,
            (uint32_t)(p->addr >> 32), ~0u, ~0u, qual, 4u);
}

void record_io_more(struct sim_vcpu *sv, const ioreq_t *p)
{
    if (sv->sd->m->rec)
        guest_io_record(sv, p, true, true);
}

/* Xen's hvmtrace_io_assist: address (with TRC_64_FLAG if it needs 64 bits), then the data
 * (none for a data_is_ptr request). */
void record_io_access(struct sim_vcpu *sv, uint64_t at, const ioreq_t *p)
{
    struct machine *m = sv->sd->m;
    bool mmio = p->type == IOREQ_TYPE_COPY, wide = p->addr != (uint32_t)p->addr;
    uint32_t ev = mmio ? (p->dir ? TRC_HVM_IOMEM_READ : TRC_HVM_IOMEM_WRITE)
                       : (p->dir ? TRC_HVM_IOPORT_READ : TRC_HVM_IOPORT_WRITE);

    if (!m->rec)
        return;
    if (p->data_is_ptr) /* a batch: the address only, as Xen's */
        put(m, sv->pcpu->id, wide ? ev | TRC_64_FLAG : ev, false, at, wide ? 2 : 1,
            (uint32_t)p->addr, (uint32_t)(p->addr >> 32));
    else if (wide)
        put(m, sv->pcpu->id, ev | TRC_64_FLAG, false, at, 4, (uint32_t)p->addr,
            (uint32_t)(p->addr >> 32), (uint32_t)p->data, (uint32_t)(p->data >> 32));
    else
        put(m, sv->pcpu->id, ev, false, at, 2, (uint32_t)p->addr, (uint32_t)p->data);
}

/* ---- evsim's records ------------------------------------------------------------------------ */

void record_set_pending(struct machine *m, struct domain *d, uint32_t port, uint32_t target_vcpu,
                        bool newly_pending, uint64_t cycles)
{
    unsigned cpu;
    uint32_t domid = d->domid;

    if (!m->rec)
        return;
    cpu = machine_acting_pcpu(m);
    put(m, cpu, TRC_EVSIM_SET_PENDING, true, m->pcpu[cpu].local + cycles, 5,
        xt_dv(domid, target_vcpu), port, abi_code(d), newly_pending ? 1u : 0u, (uint32_t)cycles);
    if (newly_pending && abi_code(d) == 4) {
        const struct evtchn *chn = evtchn_from_port(d, port);

        put(m, cpu, TRC_EVSIM_FIFO_LINK, true, m->pcpu[cpu].local + cycles, 3,
            xt_dv(domid, target_vcpu), port, chn ? chn->priority : 0u);
    }
}

void record_upcall(struct sim_vcpu *sv, unsigned vector)
{
    struct machine *m = sv->sd->m;

    if (!m->rec)
        return;
    if (vector)
        put(m, sv->pcpu->id, TRC_HVM_INJ_VIRQ, false, *sv->clock, 2, vector, 0u);
    put(m, sv->pcpu->id, TRC_EVSIM_UPCALL, true, *sv->clock, 2, dv_of(sv), vector);
}

void record_iret(struct sim_vcpu *sv)
{
    struct machine *m = sv->sd->m;

    if (m->rec)
        put(m, sv->pcpu->id, TRC_EVSIM_IRET, true, *sv->clock, 1, dv_of(sv));
}

static uint32_t ioreq_kind(const ioreq_t *p)
{
    return p->type | (uint32_t)p->dir << 8 | (uint32_t)p->size << 16;
}

void record_ioreq_send(struct sim_vcpu *sv, uint64_t at, unsigned server, const ioreq_t *p,
                       bool buffered)
{
    struct machine *m = sv->sd->m;

    if (!m->rec)
        return;
    if (buffered)
        put(m, sv->pcpu->id, TRC_EVSIM_IOREQ_BUF, true, at, 4, dv_of(sv), server, ioreq_kind(p),
            (uint32_t)p->addr);
    else
        put(m, sv->pcpu->id, TRC_EVSIM_IOREQ_SEND, true, at, 5, dv_of(sv), server, ioreq_kind(p),
            (uint32_t)p->addr, (uint32_t)(p->addr >> 32));
}

void record_ioreq_done(struct sim_vcpu *sv, uint64_t at, unsigned server, uint64_t data)
{
    struct machine *m = sv->sd->m;

    if (m->rec)
        put(m, sv->pcpu->id, TRC_EVSIM_IOREQ_DONE, true, at, 4, dv_of(sv), server, (uint32_t)data,
            (uint32_t)(data >> 32));
}

/* ---- what each vcpu did, for replay ------------------------------------------------------- */

int record_scenario(struct machine *m, struct diag *d)
{
    char *text;

    if (!m->rec)
        return 0;
    if (!(text = scenario_write_ini(m->sc)))
        return diag_set(d, "--record: out of memory for the scenario");
    for (size_t at = 0, len = strlen(text); at < len; at += 24) {
        uint32_t w[6] = {0};
        size_t n = len - at < 24 ? len - at : 24;

        memcpy(w, text + at, n);
        put(m, 0, TRC_EVSIM_SCENARIO, false, 0, 7, (uint32_t)n, w[0], w[1], w[2], w[3], w[4], w[5]);
    }
    free(text);
    return 0;
}

/* The guest cycles sv ran since its last step (COMPUTE first when they need 64 bits), and the
 * time the step is written at: never before sv's previous step, strictly after it on another
 * CPU (a reader orders equal TSCs of two CPUs as it likes). */
static uint32_t step_delta(struct sim_vcpu *sv, uint64_t *at)
{
    struct machine *m = sv->sd->m;
    uint64_t delta = sv->guest_cycles - sv->rec_guest_at;
    unsigned cpu = sv->pcpu->id;

    sv->rec_guest_at = sv->guest_cycles;
    *at = *sv->clock;
    if (*at <= sv->rec_step_at)
        *at = sv->rec_step_at + 1;
    if (delta >> 32) {
        *at = put(m, cpu, TRC_EVSIM_G_COMPUTE, true, *at, 3, dv_of(sv), (uint32_t)delta,
                  (uint32_t)(delta >> 32));
        delta = 0;
    }
    return (uint32_t)delta;
}

static void step_done(struct sim_vcpu *sv, uint64_t written_at)
{
    sv->rec_step_at = written_at;
}

void record_guest_hypercall(struct sim_vcpu *sv, const struct hv_regs *r, uint64_t at)
{
    struct machine *m = sv->sd->m;
    unsigned cpu = sv->pcpu->id;
    uint32_t dv = dv_of(sv);
    uint64_t t;

    if (!m->rec)
        return;
    uint32_t delta = step_delta(sv, &t);
    t = put(m, cpu, TRC_EVSIM_G_HCALL, true, t, 7, dv, delta, (uint32_t)r->rax, (uint32_t)r->rsp,
            (uint32_t)(r->rsp >> 32), (uint32_t)r->rflags, (uint32_t)at);
    step_done(sv, t);
    put(m, cpu, TRC_EVSIM_G_ARGS, false, t, 7, dv, (uint32_t)r->rdi, (uint32_t)(r->rdi >> 32),
        (uint32_t)r->rsi, (uint32_t)(r->rsi >> 32), (uint32_t)r->rdx, (uint32_t)(r->rdx >> 32));
    put(m, cpu, TRC_EVSIM_G_ARGS2, false, t, 7, dv, (uint32_t)r->r10, (uint32_t)(r->r10 >> 32),
        (uint32_t)r->r8, (uint32_t)(r->r8 >> 32), (uint32_t)r->r9, (uint32_t)(r->r9 >> 32));
    m->rec->hc = sv;
    m->rec->nr_range = 0;
}

static bool range_seen(struct sim_recorder *r, uint64_t gpa, size_t len)
{
    for (unsigned i = 0; i < r->nr_range; i++)
        if (gpa >= r->range[i].gpa && gpa + len <= r->range[i].gpa + r->range[i].len)
            return true;
    if (r->nr_range < sizeof(r->range) / sizeof(r->range[0]))
        r->range[r->nr_range++] = (struct rec_range){gpa, len};
    return false;
}

static bool all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return false;
    return true;
}

/* In pieces of 12 bytes; a run of zero pieces is one record. */
void record_guest_mem(struct machine *m, struct domain *d, uint64_t gpa, const void *host,
                      size_t len)
{
    struct sim_recorder *r = m->rec;
    const uint8_t *p = host;

    if (!r || !r->hc || r->hc->sd->d != d || range_seen(r, gpa, len))
        return;
    struct sim_vcpu *sv = r->hc;
    uint32_t dv = dv_of(sv);
    for (size_t at = 0; at < len;) {
        size_t n = len - at < 12 ? len - at : 12, zeros = 0;
        while (at + zeros < len &&
               all_zero(p + at + zeros, len - at - zeros < 12 ? len - at - zeros : 12))
            zeros += len - at - zeros < 12 ? len - at - zeros : 12;
        uint64_t a = gpa + at;
        if (zeros) {
            put(m, sv->pcpu->id, TRC_EVSIM_G_MEM, false, 0, 4, dv, (uint32_t)a, (uint32_t)(a >> 32),
                (uint32_t)zeros | XT_MEM_ZERO);
            at += zeros;
            continue;
        }
        uint32_t w[3] = {0};
        memcpy(w, p + at, n);
        put(m, sv->pcpu->id, TRC_EVSIM_G_MEM, false, 0, 7, dv, (uint32_t)a, (uint32_t)(a >> 32),
            (uint32_t)n, w[0], w[1], w[2]);
        at += n;
    }
}

void record_guest_result(struct sim_vcpu *sv, uint64_t nr, uint64_t cmd, uint64_t arg, uint64_t rax,
                         bool continued)
{
    struct machine *m = sv->sd->m;
    const struct sim_domain *sd = sv->sd;
    int off = nr == __HYPERVISOR_event_channel_op ? replay_bound_port_offset(cmd) : -1;
    uint32_t port = 0;

    if (!m->rec)
        return;
    m->rec->hc = NULL;
    const uint8_t *at = off >= 0 ? sim_domain_va(sd, arg + (uint64_t)off, sizeof(port)) : NULL;
    if (at && (int64_t)rax >= 0 && arg >= sd->virt_base + XEN_PAGE_SIZE)
        memcpy(&port, at, sizeof(port));
    put(m, sv->pcpu->id, TRC_EVSIM_G_RESULT, false, 0, 5, dv_of(sv), (uint32_t)rax,
        (uint32_t)(rax >> 32), continued ? 1u : 0u, port);
}

/* The slot naming page_gpa in sv's domain, writing PAGE the first time; 0 for shared_info. */
static unsigned page_slot(struct sim_vcpu *sv, uint64_t page_gpa, uint64_t at)
{
    struct machine *m = sv->sd->m;
    struct rec_pages *pg = &m->rec->pages[sv->sd->d->domid < m->nr_dom ? sv->sd->d->domid : 0];

    if (page_gpa == sv->sd->shared_info_gpa)
        return 0;
    for (unsigned i = 0; i < pg->n; i++)
        if (pg->gpa[i] == page_gpa)
            return i + 1;
    if (pg->n == XT_ACCESS_SLOTS)
        return XT_ACCESS_SLOTS + 1; /* more pages than slots: the replay says so */
    pg->gpa[pg->n++] = page_gpa;
    uint32_t kind = HV_PAGE_KINDS, index = 0;
    for (unsigned i = 0; i < sv->sd->nr_evpage; i++) {
        const struct sim_event_page *e = &sv->sd->evpage[i];
        if (e->gpa == page_gpa && !e->released)
            kind = e->kind, index = e->index;
    }
    put(m, sv->pcpu->id, TRC_EVSIM_G_PAGE, true, at, 6, dv_of(sv), pg->n, (uint32_t)page_gpa,
        (uint32_t)(page_gpa >> 32), kind, index);
    return pg->n;
}

void record_guest_access(struct sim_vcpu *sv, uint64_t page_gpa, uint64_t offset, unsigned size,
                         bool write, uint64_t old, uint64_t value)
{
    struct machine *m = sv->sd->m;
    uint64_t t;

    if (!m->rec)
        return;
    uint32_t delta = step_delta(sv, &t);
    unsigned slot = page_slot(sv, page_gpa, t);
    uint32_t info = slot | (uint32_t)offset << 8 | (uint32_t)size << 20 | (write ? 1u : 0u) << 24;
    uint64_t clr = old & ~value, set = value & ~old;
    if (write)
        t = put(m, sv->pcpu->id, TRC_EVSIM_G_ACCESS, true, t, 7, dv_of(sv), delta, info,
                (uint32_t)clr, (uint32_t)(clr >> 32), (uint32_t)set, (uint32_t)(set >> 32));
    else
        t = put(m, sv->pcpu->id, TRC_EVSIM_G_ACCESS, true, t, 3, dv_of(sv), delta, info);
    step_done(sv, t);
}

/* What replay re-issues: the access as the guest made it (G_IO), in place of its code. */
static void guest_io_record(struct sim_vcpu *sv, const ioreq_t *p, bool emulate, bool more)
{
    struct machine *m = sv->sd->m;
    uint64_t t;
    uint32_t delta = step_delta(sv, &t);
    uint32_t info =
        XT_IO_INFO(p->type, p->dir, p->df, p->data_is_ptr, emulate, p->size, more, p->count);
    uint64_t data = p->dir == IOREQ_WRITE || p->data_is_ptr ? p->data : 0;
    step_done(sv, put(m, sv->pcpu->id, TRC_EVSIM_G_IO, true, t, 7, dv_of(sv), delta, info,
                      (uint32_t)p->addr, (uint32_t)(p->addr >> 32), (uint32_t)data,
                      (uint32_t)(data >> 32)));
}

void record_guest_step(struct sim_vcpu *sv, enum xt_step_kind kind, uint32_t arg)
{
    struct machine *m = sv->sd->m;
    uint64_t t;

    if (!m->rec)
        return;
    uint32_t delta = step_delta(sv, &t);
    step_done(sv, put(m, sv->pcpu->id, TRC_EVSIM_G_STEP, true, t, 4, dv_of(sv), delta,
                      (uint32_t)kind, arg));
}

void record_guest_cut(struct sim_vcpu *sv)
{
    struct machine *m = sv->sd->m;

    if (!m->rec)
        return;
    uint64_t delta = sv->guest_cycles - sv->rec_guest_at, t = *sv->clock;
    if (t <= sv->rec_step_at)
        t = sv->rec_step_at + 1; /* as a step's: in order with the vcpu's steps on any CPU */
    step_done(sv, put(m, sv->pcpu->id, TRC_EVSIM_G_CUT, true, t, 3, dv_of(sv), (uint32_t)delta,
                      (uint32_t)(delta >> 32)));
}

void record_guest_consume(struct sim_vcpu *sv, uint32_t port)
{
    struct machine *m = sv->sd->m;
    const struct port_stats *ps;

    if (!m->rec)
        return;
    ps = port_stats(sv->sd->d, port);
    uint64_t raised = ps ? ps->raised : 0;
    put(m, sv->pcpu->id, TRC_EVSIM_G_CONSUME, false, 0, 4, dv_of(sv), port, (uint32_t)raised,
        (uint32_t)(raised >> 32));
}
