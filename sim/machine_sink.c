/* The model's two interfaces as the machine implements them (models/guest_mem.h, models/sink.h):
 * guest memory translated to the domains' host pages and priced by the coherence model, and the
 * event sink: kicks, wakes, timers, vcpus up and down, the console, shutdowns and crashes, raises
 * for the event-path stages, event pages, ioreq pages and the teaching mode's steps, each done
 * on the simulated machine as of the time of whoever acts now. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "models/evtchn.h"
#include "models/hypercall.h"
#include "models/pirq.h"
#include "models/pv.h"
#include "sim/evpages.h"
#include "sim/explain.h"
#include "sim/host_dm.h"
#include "sim/hvm_exits.h"
#include "sim/kernel.h"
#include "sim/machine.h"
#include "sim/machine_int.h"
#include "sim/record.h"
#include "sim/replay.h"
#include "sim/sched.h"
#include "sim/vcpu.h"

/* ---- the model's interfaces -------------------------------------------------------------- */

/* Guest-physical memory: RAM (page 0 excluded), and the shared_info page just past it. */
static void *mem_translate_phys(void *opaque, struct domain *d, uint64_t gpa, size_t len)
{
    (void)opaque;
    struct sim_domain *sd = d->sim;
    uint8_t *ram = sim_domain_hc_ram(sd, gpa, len);
    if (ram) {
        if (sd->m->rec) /* what a hypercall reads, for replay */
            record_guest_mem(sd->m, d, gpa, ram, len);
        return ram;
    }
    if (gpa >= sd->shared_info_gpa && len <= XEN_PAGE_SIZE &&
        gpa - sd->shared_info_gpa <= XEN_PAGE_SIZE - len)
        return sd->shared_info + (gpa - sd->shared_info_gpa);
    return NULL;
}

/* A hypercall's pointer: a PV guest's virtual address, RAM mapped at its virt_base (every
 * other domain's virt_base is 0: its addresses are guest-physical). */
static void *mem_translate(void *opaque, struct domain *d, uint64_t va, size_t len)
{
    const struct sim_domain *sd = d->sim;
    if (va < sd->virt_base)
        return NULL;
    return mem_translate_phys(opaque, d, va - sd->virt_base, len);
}

/* A frame a hypercall names: for a PV domain its MFN, as its p2m list (start_info.mfn_list)
 * gives it, or (as evsim's own guests pass it) the guest-physical frame; an HVM domain's GFN is
 * guest-physical. */
static uint64_t mem_frame_gpa(void *opaque, struct domain *d, uint64_t frame)
{
    (void)opaque;
    const struct sim_domain *sd = d->sim;
    uint64_t pages = sd->ram_size / XEN_PAGE_SIZE;
    if (sd->mfn0 && frame >= pages && frame - sd->mfn0 < pages)
        return (frame - sd->mfn0) * XEN_PAGE_SIZE;
    return frame > UINT64_MAX / XEN_PAGE_SIZE ? UINT64_MAX : frame * XEN_PAGE_SIZE;
}

/* What a shared cache line costs beyond an L1 hit, which the instruction (or Xen's handler
 * estimate) already includes. */
uint64_t machine_line_cost(struct machine *m, unsigned pcpu, const volatile void *addr, size_t len,
                           enum coh_access kind)
{
    uint64_t c = coherence_access(m->coh, m->cost, pcpu, addr, len, kind);
    uint64_t local = m->hv.cycles[COST_LINE_LOCAL]; /* the model's dense copy of m->cost */
    return c > local ? c - local : 0;
}

static uint64_t mem_touch(void *opaque, const volatile void *addr, size_t len, enum guest_access k)
{
    struct machine *m = opaque;
    static const enum coh_access kinds[] = {
        [GUEST_READ] = COH_READ, [GUEST_WRITE] = COH_WRITE, [GUEST_LOCKED] = COH_LOCKED};
    return machine_line_cost(m, machine_acting_pcpu(m), addr, len, kinds[k]);
}

const struct hv_mem_ops machine_mem_ops = {.translate = mem_translate,
                                           .translate_phys = mem_translate_phys,
                                           .frame_gpa = mem_frame_gpa,
                                           .touch = mem_touch,
                                           .page_alloc = host_dm_page_alloc,
                                           .page_free = host_dm_page_free};

bool pcpu_ran_guest_past(const struct sim_pcpu *q, uint64_t at)
{
    return at < q->local && !(at >= q->xen_from && at <= q->xen_to);
}

static void sink_kick(void *opaque, struct vcpu *v)
{
    struct machine *m = opaque;
    struct sim_vcpu *sv = v->sim;
    if (sv->sd->dm) { /* a host device model: its events are read, not injected */
        host_dm_ring(sv->sd, machine_acting_cycles(m));
        return;
    }
    explain_kick(m->explain, sv,
                 sv->state == SV_RUNNING && m->acting.cpu && sv->pcpu != m->acting.cpu);
    /* Running on another CPU: an IPI interrupts it, and its CPU takes it when it arrives
     * (its own memory flag is already set). Running here, queued or blocked: nothing is sent; it
     * is delivered on the way back to the guest, or the wake-up does it. */
    if (sv->state != SV_RUNNING || sv->pcpu == m->acting.cpu)
        return;
    /* A timer or a platform IRQ (no vcpu acting) interrupts the CPU the vcpu runs on: a local
     * interrupt, whose handling is charged with the upcall it leads to; no IPI is sent. That
     * CPU stopped at the callback's time (the timeline bounds every slice): Xen delivers on its
     * way back to the guest. */
    if (!m->acting.cpu) {
        sv->xen_entry = true;
        return;
    }
    /* The target's CPU waits at or before the IPI's arrival (the lookahead): its next slice
     * stops there, takes the interrupt and enters the upcall (pcpu_take_interrupts); not
     * before: a slice that ends earlier for another reason goes on as if nothing came. */
    struct sim_pcpu *q = sv->pcpu;
    uint64_t at = machine_acting_cycles(m);
    if (at < q->local) {
        if (pcpu_ran_guest_past(q, at))
            m->late_effects++;
        at = q->local;
    }
    if (at < q->interrupt_at)
        q->interrupt_at = at;
    q->ipis_received++;
    q->ipi_cycles_owed += cost_cycles(m->cost, COST_IPI);
}

static void sink_wake(void *opaque, struct vcpu *v)
{
    struct machine *m = opaque;
    struct sim_vcpu *sv = v->sim;
    if (!sv->sd->dm)
        explain_wake(m->explain, sv);
    if (sv->sd->dm)
        host_dm_ring(sv->sd, machine_acting_cycles(m));
    else if (sv->sd->status == SD_RUNNING && !v->domain->paused && !v->blocked_in_xen)
        sched_ready_at(sv, machine_acting_cycles(m) + cost_cycles(m->cost, COST_WAKE), true);
}

static void sink_timer(void *opaque, struct vcpu *v, enum hv_timer_kind kind, uint64_t deadline)
{
    struct machine *m = opaque;
    struct sim_vcpu *sv = v->sim;
    simk_event_cancel(sv->timer_ev[kind]);
    timeline_disarm(&m->timeline, sv->timer_slot + kind);
    if (deadline) /* 0 stops the timer */
        machine_timed_call(m, sv->timer_ev[kind], sv->timer_slot + kind, deadline);
}

static void sink_vcpu_up(void *opaque, struct vcpu *v)
{
    struct machine *m = opaque;
    struct sim_vcpu *sv = v->sim;
    if (v->context_pending) /* first up after VCPUOP_initialise; later ups resume */
        sim_vcpu_set_regs(sv, &v->initial_regs);
    v->context_pending = false;
    if (!v->domain->paused)
        sched_ready_at(sv, machine_acting_cycles(m), false);
}

static void sink_vcpu_down(void *opaque, struct vcpu *v)
{
    struct sim_vcpu *sv = v->sim;
    (void)opaque;
    if (sv->state == SV_RUNNING)
        return; /* it stops itself at the end of this hypercall */
    sched_park(sv);
}

/* A domain's lines past the run's console_lines are not printed, only counted (a guest that
 * prints without end costs neither memory nor an endless output). */
void machine_console_flush_line(struct sim_vcpu *sv)
{
    struct machine *m = sv->sd->m;
    struct limit_stats *limits = &sv->sd->d->stats.limits;
    if (sv->sd->console_lines >= m->sc->console_lines) {
        limits->console_dropped++;
        sv->line_len = 0;
        return;
    }
    sv->sd->console_lines++;
    console_printf(&m->console, machine_acting_cycles(m), "d%uv%u %.*s", sv->sd->d->domid,
                   sv->v->vcpu_id, (int)sv->line_len, sv->line);
    if (m->on_line) {
        char line[sizeof(sv->line) + 1];
        memcpy(line, sv->line, sv->line_len);
        line[sv->line_len] = 0;
        m->on_line(m->on_line_ctx, sv->sd, line);
    }
    sv->line_len = 0;
}

static void sink_console(void *opaque, struct vcpu *v, const char *buf, size_t len)
{
    (void)opaque;
    struct sim_vcpu *sv = v->sim;
    for (size_t i = 0; i < len; i++) {
        if (buf[i] == '\n' || sv->line_len == sizeof(sv->line)) {
            machine_console_flush_line(sv);
            if (buf[i] == '\n')
                continue;
        }
        sv->line[sv->line_len++] = buf[i];
    }
}

static void domain_stop(struct sim_domain *sd, enum sim_domain_status status)
{
    struct machine *m = sd->m;
    if (sd->status != SD_RUNNING)
        return;
    sd->status = status;
    for (unsigned i = 0; i < sd->nr_vcpus; i++) {
        struct sim_vcpu *sv = &sd->vcpu[i];
        if (sv->line_len)
            machine_console_flush_line(sv);
        for (unsigned k = 0; k < HV_TIMER_KINDS; k++) {
            simk_event_cancel(sv->timer_ev[k]);
            timeline_disarm(&m->timeline, sv->timer_slot + k);
        }
        if (sv->state != SV_RUNNING)
            sched_park(sv);
    }
    for (unsigned i = 0; i < m->sc->nr_pirq; i++)
        if (&m->dom[m->pirq[i].cfg->domain] == sd) {
            simk_event_cancel(m->pirq[i].eoi_timer);
            timeline_disarm(&m->timeline, m->pirq[i].eoi_slot);
        }
    if (--m->live_domains == 0) {
        m->finished = true;
        m->end = END_ALL_STOPPED;
        m->end_cycles = machine_acting_cycles(m);
        simk_stop();
    }
}

static void sink_shutdown(void *opaque, struct domain *d, unsigned reason)
{
    (void)opaque;
    struct sim_domain *sd = d->sim;
    sd->shutdown_reason = reason;
    if (d->crash_why) {
        sim_domain_crash(sd, "d%u: %s", d->domid, d->crash_why);
        return;
    }
    if (reason == SHUTDOWN_crash)
        snprintf(sd->crash_reason, sizeof(sd->crash_reason),
                 "the guest shut down with SHUTDOWN_crash");
    domain_stop(sd, reason == SHUTDOWN_poweroff ? SD_POWEROFF : SD_SHUTDOWN);
}

/* An event starts its path: from the sender's trap when a vcpu raised it, else from now (a
 * timer, an interrupt). The target counts as blocked unless it is on its CPU. */
static void sink_raise(void *opaque, struct domain *d, uint32_t port, struct vcpu *v,
                       uint64_t before, uint64_t after, bool newly_pending)
{
    struct machine *m = opaque;
    struct sim_vcpu *target = v->sim;
    struct vcpu *cur = m->hv.current;
    /* A raise that coalesced comes here only while recording (hv.raises_coalesced). */
    if (m->rec)
        record_set_pending(m, d, port, v->vcpu_id, newly_pending, m->acting.cpu && cur ? after : 0);
    if (!newly_pending)
        return;
    bool from_hc = m->acting.cpu && cur;
    uint64_t t0 = from_hc ? ((struct sim_vcpu *)cur->sim)->hc_start : machine_acting_cycles(m);
    uint64_t trap =
        from_hc ? cost_cycles(m->cost, cur->domain->hvm ? COST_HVM_EXIT : COST_PV_TRAP) : 0;
    stages_raise(&((struct sim_domain *)d->sim)->stages, &target->stages, port, v->vcpu_id, from_hc,
                 t0, t0 + trap, t0 + before, t0 + after, target->state != SV_RUNNING);
}

static uint64_t sink_now_ns(void *opaque, struct vcpu *v)
{
    struct machine *m = opaque;
    (void)v;
    return cost_cycles_to_ns(m->cost, machine_acting_cycles(m));
}

/* A page became shared with Xen, or stopped being: every engine of the domain maps it anew now,
 * so that the guest's accesses are priced from this moment on whenever its vcpus next run. The
 * caller's engine, inside its hypercall, cannot change its memory map: its slice ends with the
 * hypercall and it maps the page before it runs again. */
static void event_pages_changed(struct domain *d)
{
    struct sim_domain *sd = d->sim;
    struct vcpu *cur = d->hv->current;
    for (unsigned i = 0; i < sd->nr_vcpus; i++) {
        struct sim_vcpu *sv = &sd->vcpu[i];
        if (cur && sv == cur->sim)
            sv->stop_requested = true;
        else if (sv->uc && sim_evpages_sync(sv) < 0)
            return; /* the domain crashed, saying why */
    }
}

/* The line's EOI timer lives with the first [pirq] source of that line. */
static void sink_pirq_timer(void *opaque, struct domain *d, unsigned pirq, uint64_t deadline)
{
    struct machine *m = opaque;
    for (unsigned i = 0; i < m->sc->nr_pirq; i++) {
        struct sim_pirq_source *src = &m->pirq[i];
        if (m->dom[src->cfg->domain].d != d || src->cfg->line != pirq)
            continue;
        simk_event_cancel(src->eoi_timer);
        timeline_disarm(&m->timeline, src->eoi_slot);
        if (deadline) /* 0: the timer stopped */
            machine_timed_call(m, src->eoi_timer, src->eoi_slot, deadline);
        return;
    }
}

/* force_update_vcpu_system_time: the time as of whoever acts now (Xen uses the time of the CPU
 * doing the update). */
static void sink_update_time(void *opaque, struct vcpu *v)
{
    machine_vcpu_publish_time(v->sim, machine_acting_cycles(opaque));
}

static void sink_event_page(void *opaque, struct domain *d, uint64_t gpa,
                            enum hv_event_page_kind kind, unsigned index)
{
    (void)opaque;
    sim_evpages_add(d->sim, gpa, kind, index);
    event_pages_changed(d);
}

static void sink_event_pages_released(void *opaque, struct domain *d)
{
    (void)opaque;
    sim_evpages_release(d->sim);
    event_pages_changed(d);
}

static void sink_xen_line(void *opaque, const char *text)
{
    struct machine *m = opaque;
    console_printf(&m->console, machine_acting_cycles(m), "(XEN) %s", text);
}

/* A vcpu waits in Xen for its emulator, or may run again. Waiting, it is the vcpu running here
 * (its exit is being handled): it stops itself at the end of the exit, or at the start of a
 * slice that found the answer not there yet. Its emulator's notification wakes it like an
 * event wakes a blocked vcpu. */
static void sink_xen_wait(void *opaque, struct vcpu *v, bool blocked)
{
    struct machine *m = opaque;
    struct sim_vcpu *sv = v->sim;
    if (blocked)
        return;
    uint64_t now = machine_acting_cycles(m);
    sim_hvm_io_notified(sv, now);
    if (sv->sd->status == SD_RUNNING && !v->domain->paused)
        sched_ready_at(sv, now + cost_cycles(m->cost, COST_WAKE), true);
}

/* An ioreq server page appears in, or leaves, a domain's memory (see sink.h). */
static void sink_ioreq_page(void *opaque, struct domain *d, uint64_t gfn, void *page)
{
    (void)opaque;
    if (gfn > UINT64_MAX / XEN_PAGE_SIZE)
        return;
    if (((struct sim_domain *)d->sim)->dm) {
        host_dm_page_mapped(d->sim, gfn, page);
        return;
    }
    sim_evpages_ioreq(d->sim, gfn * XEN_PAGE_SIZE, page);
    event_pages_changed(d);
}

static void sink_step(void *opaque, enum hv_step_kind kind, struct domain *d, uint32_t port,
                      struct vcpu *v, uint32_t arg)
{
    struct machine *m = opaque;
    if (m->explain) /* asked here: a send takes two steps, and most runs narrate none */
        explain_model_step(m->explain, kind, d, port, v, arg);
}

const struct hv_sink_ops machine_sink_ops = {
    .step = sink_step,
    .xen_line = sink_xen_line,
    .xen_wait = sink_xen_wait,
    .ioreq_page = sink_ioreq_page,
    .event_page = sink_event_page,
    .event_pages_released = sink_event_pages_released,
    .kick = sink_kick,
    .wake = sink_wake,
    .timer = sink_timer,
    .vcpu_up = sink_vcpu_up,
    .vcpu_down = sink_vcpu_down,
    .console = sink_console,
    .shutdown = sink_shutdown,
    .raise = sink_raise,
    .now_ns = sink_now_ns,
    .update_time = sink_update_time,
    .pirq_timer = sink_pirq_timer,
};

void sim_domain_crash(struct sim_domain *sd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sd->crash_reason, sizeof(sd->crash_reason), fmt, ap);
    va_end(ap);
    console_printf(&sd->m->console, machine_acting_cycles(sd->m), "(XEN) domain_crash: %s",
                   sd->crash_reason);
    domain_stop(sd, SD_CRASHED);
}
