/* The machine: builds domains from a scenario, runs physical CPUs as SystemC threads, and
 * implements the model's two interfaces (guest memory, event sink) on top of them.
 *
 * Time (docs/timing.md): each physical CPU is a SystemC thread with a local time. A CPU runs its
 * vcpu ahead of the kernel, then waits for the kernel to catch up. How far it may run is what
 * keeps cross-CPU effects exact: never past the next timed callback (a vcpu timer, a PIRQ), and
 * never more than one lookahead past the earliest time another CPU may act, where the lookahead
 * is the least time between a CPU's action and its effect on another (a hypercall's trap and
 * dispatch come before Xen touches anything). So an IPI, a wake-up or a timer always finds its
 * target at or before its time, and the target stops exactly there. Results do not depend on
 * the quantum, which no longer affects anything. */
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS, MAP_NORESERVE: guest RAM committed lazily */
#include "sim/machine.h"
#include "sim/evpages.h"
#include "sim/hvm_exits.h"
#include "sim/host_dm.h"
#include "sim/explain.h"
#include "sim/record.h"
#include "sim/replay.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "models/evtchn.h"
#include "models/hypercall.h"
#include "models/pirq.h"
#include "models/pv.h"
#include "sim/kernel.h"
#include "sim/profile.h"
#include "sim/sched.h"
#include "sim/vcpu.h"

#define PCPU_STACK_BYTES (16u << 20) /* Unicorn's translator recurses deeply */
#define XEN_TICK_NS 10000000u        /* credit1's tick: 10 ms, three per 30 ms time slice */
#define BOOT_STACK_BYTES (64u << 10)

/* ---- time ------------------------------------------------------------------------------ */

static uint64_t cycles_to_ps(const struct machine *m, uint64_t cycles)
{
    /* rounded up, so that ps_to_cycles(cycles_to_ps(c)) == c; saturating (213 days) */
    unsigned __int128 num = (unsigned __int128)cycles * 1000000000u;
    unsigned __int128 ps = (num + m->cost->cpu_khz - 1) / m->cost->cpu_khz;
    return ps > UINT64_MAX ? UINT64_MAX : (uint64_t)ps;
}

static uint64_t ps_to_cycles(const struct machine *m, uint64_t ps)
{
    return (uint64_t)(((unsigned __int128)ps * m->cost->cpu_khz) / 1000000000u);
}

uint64_t machine_now_cycles(const struct machine *m)
{
    return ps_to_cycles(m, simk_now_ps());
}

/* The time of whoever is acting now: the running pcpu's local time inside a vcpu, else the
 * kernel's (timers and platform events run as methods at exact kernel time). */
static uint64_t acting_cycles(const struct machine *m)
{
    uint64_t now = machine_now_cycles(m);
    if (!m->active)
        return now;
    /* Inside a hypercall, what it was charged so far has already passed for the sender. */
    const struct vcpu *cur = m->hv.current;
    uint64_t t = m->active->local + (cur ? cur->hcall_cycles : 0);
    return t > now ? t : now;
}

uint64_t machine_acting_cycles(const struct machine *m)
{
    return acting_cycles(m);
}

uint64_t machine_delay_ps_until(const struct machine *m, uint64_t at_cycles)
{
    uint64_t target = cycles_to_ps(m, at_cycles), now = simk_now_ps();
    return target > now ? target - now : 0;
}

/* Arm a timed callback (its event and its timeline slot) for Xen system time deadline_ns; a
 * deadline past what simulated time can reach arms nothing (it would never fire). A running
 * CPU's slice limit may now be nearer: it is asked again after the hypercall. */
static void machine_timed_call(struct machine *m, struct simk_event *ev, unsigned slot,
                               uint64_t deadline_ns)
{
    uint64_t at = cost_ns_to_cycles(m->cost, deadline_ns);
    if (at == UINT64_MAX || cycles_to_ps(m, at) == UINT64_MAX)
        return;
    uint64_t now = machine_now_cycles(m);
    simk_event_notify(ev, machine_delay_ps_until(m, at));
    timeline_arm(&m->timeline, slot, at > now ? at : now);
    m->limits_stale = true;
}

/* The least time between what a vcpu does and its effect on another CPU: Xen charges a
 * hypercall's trap (a VM exit for HVM) and dispatch before it touches anything shared, and
 * every cross-CPU effect (an IPI, a wake-up, a write to shared memory) starts in a hypercall. */
static uint64_t machine_lookahead(const struct cost_profile *cost)
{
    uint64_t trap = cost_cycles(cost, COST_PV_TRAP), exit = cost_cycles(cost, COST_HVM_EXIT);
    uint64_t l = (trap < exit ? trap : exit) + cost_cycles(cost, COST_HYPERCALL_DISPATCH);
    return l ? l : 1;
}

/* ---- the model's interfaces -------------------------------------------------------------- */

static void *mem_translate(void *opaque, struct domain *d, uint64_t gpa, size_t len)
{
    (void)opaque;
    struct sim_domain *sd = d->sim;
    if (gpa >= XEN_PAGE_SIZE && gpa <= sd->ram_size && len <= sd->ram_size - gpa) {
        if (sd->m->rec) /* what a hypercall reads, for replay */
            record_guest_mem(sd->m, d, gpa, sd->ram + gpa, len);
        return sd->ram + gpa;
    }
    if (gpa >= sd->shared_info_gpa && len <= XEN_PAGE_SIZE &&
        gpa - sd->shared_info_gpa <= XEN_PAGE_SIZE - len)
        return sd->shared_info + (gpa - sd->shared_info_gpa);
    return NULL;
}

/* The CPU doing what is being done now: the running vcpu's, or for a timer or a platform
 * interrupt the CPU it fires on. */
unsigned machine_acting_pcpu(const struct machine *m)
{
    return m->active ? m->active->id : m->context_pcpu;
}

/* What a shared cache line costs beyond an L1 hit, which the instruction (or Xen's handler
 * estimate) already includes. */
uint64_t machine_line_cost(struct machine *m, unsigned pcpu, const volatile void *addr, size_t len,
                           enum coh_access kind)
{
    uint64_t c = coherence_access(m->coh, m->cost, pcpu, addr, len, kind);
    uint64_t local = cost_cycles(m->cost, COST_LINE_LOCAL);
    return c > local ? c - local : 0;
}

static uint64_t mem_touch(void *opaque, const volatile void *addr, size_t len, enum guest_access k)
{
    struct machine *m = opaque;
    static const enum coh_access kinds[] = {
        [GUEST_READ] = COH_READ, [GUEST_WRITE] = COH_WRITE, [GUEST_LOCKED] = COH_LOCKED};
    return machine_line_cost(m, machine_acting_pcpu(m), addr, len, kinds[k]);
}

static const struct hv_mem_ops mem_ops = {.translate = mem_translate,
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
        host_dm_ring(sv->sd, acting_cycles(m));
        return;
    }
    explain_kick(m->explain, sv, sv->state == SV_RUNNING && m->active && sv->pcpu != m->active);
    /* Running on another CPU: an IPI interrupts it, and its CPU takes it when it arrives
     * (its own memory flag is already set). Running here, queued or blocked: nothing is sent; it
     * is delivered on the way back to the guest, or the wake-up does it. */
    if (sv->state != SV_RUNNING || sv->pcpu == m->active)
        return;
    /* A timer or a platform IRQ (no vcpu acting) interrupts the CPU the vcpu runs on: a local
     * interrupt, whose handling is charged with the upcall it leads to; no IPI is sent. That
     * CPU stopped at the callback's time (the timeline bounds every slice): Xen delivers on its
     * way back to the guest. */
    if (!m->active) {
        sv->xen_entry = true;
        return;
    }
    /* The target's CPU waits at or before the IPI's arrival (the lookahead): its next slice
     * stops there, takes the interrupt and enters the upcall (pcpu_take_interrupts); not
     * before: a slice that ends earlier for another reason goes on as if nothing came. */
    struct sim_pcpu *q = sv->pcpu;
    uint64_t at = acting_cycles(m);
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
        host_dm_ring(sv->sd, acting_cycles(m));
    else if (sv->sd->status == SD_RUNNING && !v->domain->paused && !v->blocked_in_xen)
        sched_ready_at(sv, acting_cycles(m) + cost_cycles(m->cost, COST_WAKE), true);
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
        sched_ready_at(sv, acting_cycles(m), false);
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
static void console_flush_line(struct sim_vcpu *sv)
{
    struct machine *m = sv->sd->m;
    struct limit_stats *limits = &sv->sd->d->stats.limits;
    if (sv->sd->console_lines >= m->sc->console_lines) {
        limits->console_dropped++;
        sv->line_len = 0;
        return;
    }
    sv->sd->console_lines++;
    console_printf(&m->console, acting_cycles(m), "d%uv%u %.*s", sv->sd->d->domid, sv->v->vcpu_id,
                   (int)sv->line_len, sv->line);
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
            console_flush_line(sv);
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
            console_flush_line(sv);
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
        m->end_cycles = acting_cycles(m);
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
    record_set_pending(m, d, port, v->vcpu_id, newly_pending, m->active && cur ? after : 0);
    if (!newly_pending)
        return;
    bool from_hc = m->active && cur;
    uint64_t t0 = from_hc ? ((struct sim_vcpu *)cur->sim)->hc_start : acting_cycles(m);
    uint64_t trap =
        from_hc ? cost_cycles(m->cost, cur->domain->hvm ? COST_HVM_EXIT : COST_PV_TRAP) : 0;
    stages_raise(&((struct sim_domain *)d->sim)->stages, &target->stages, port, v->vcpu_id, from_hc,
                 t0, t0 + trap, t0 + before, t0 + after, target->state != SV_RUNNING);
}

static uint64_t sink_now_ns(void *opaque, struct vcpu *v)
{
    struct machine *m = opaque;
    (void)v;
    return cost_cycles_to_ns(m->cost, acting_cycles(m));
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

static void vcpu_publish_time(struct sim_vcpu *sv, uint64_t now);

/* force_update_vcpu_system_time: the time as of whoever acts now (Xen uses the time of the CPU
 * doing the update). */
static void sink_update_time(void *opaque, struct vcpu *v)
{
    vcpu_publish_time(v->sim, acting_cycles(opaque));
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
    console_printf(&m->console, acting_cycles(m), "(XEN) %s", text);
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
    uint64_t now = acting_cycles(m);
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
    explain_model_step(m->explain, kind, d, port, v, arg);
}

static const struct hv_sink_ops sink_ops = {
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
    console_printf(&sd->m->console, acting_cycles(sd->m), "(XEN) domain_crash: %s",
                   sd->crash_reason);
    domain_stop(sd, SD_CRASHED);
}

/* ---- physical CPUs ----------------------------------------------------------------------- */

/* Publish the time scale and the current time in the vcpu's vcpu_info, as Xen does when it
 * schedules a vcpu in. */
static void vcpu_publish_time(struct sim_vcpu *sv, uint64_t now)
{
    struct machine *m = sv->sd->m;
    pv_update_vcpu_time(sv->v, now, cost_cycles_to_ns(m->cost, now), m->cost->cpu_khz);
}

/* A vcpu takes or leaves its CPU: Xen runs the periodic timer only while a vcpu is on a CPU
 * (schedule() stops it for the vcpu switched out; context_switch() restarts it). */
static void vcpu_enter_cpu(struct sim_vcpu *sv)
{
    if (sv->on_cpu)
        return;
    sv->on_cpu = true;
    vcpu_periodic_timer_work(sv->v);
}

static void vcpu_leave_cpu(struct sim_vcpu *sv)
{
    if (!sv->on_cpu)
        return;
    sv->on_cpu = false;
    if (sv->sd->status == SD_RUNNING)
        vcpu_periodic_timer_stop(sv->v);
}

static struct sim_vcpu *pcpu_pick(struct sim_pcpu *p)
{
    struct sim_vcpu *was = p->current, *left, *next = sched_pick(p, &left);
    if (left)
        record_vcpu_state(left);
    record_pick(p, next);
    if (next && next != was)
        next->xen_entry = true; /* scheduled in */
    p->m->active = p;           /* the periodic tick is due as of this CPU's time */
    if (left)
        explain_runstate(p->m->explain, left);
    if (next)
        explain_runstate(p->m->explain, next);
    if (left)
        vcpu_leave_cpu(left);
    if (next && p->last != next) {
        if (p->last)
            p->local += cost_cycles(p->m->cost, COST_CONTEXT_SWITCH);
        p->switches++;
        p->last = next;
        vcpu_publish_time(next, p->local);
    }
    if (next)
        vcpu_enter_cpu(next);
    p->m->active = NULL;
    return next;
}

/* The earliest time any other CPU may act, plus the lookahead: nothing another CPU does can
 * reach this one before then. UINT64_MAX when no other CPU will act at all. */
static uint64_t others_horizon(const struct sim_pcpu *p)
{
    const struct machine *m = p->m;
    uint64_t h = UINT64_MAX;
    for (unsigned i = 0; i < m->nr_pcpus; i++) {
        const struct sim_pcpu *q = &m->pcpu[i];
        if (q != p && q->sync_at != UINT64_MAX && q->sync_at + m->lookahead < h)
            h = q->sync_at + m->lookahead;
    }
    for (unsigned i = 0; i < m->nr_actors; i++)
        if (*m->actor_sync[i] != UINT64_MAX && *m->actor_sync[i] + m->lookahead < h)
            h = *m->actor_sync[i] + m->lookahead;
    return h;
}

uint64_t sim_pcpu_slice_limit(struct sim_vcpu *sv)
{
    struct sim_pcpu *p = sv->pcpu;
    struct machine *m = p->m;
    m->limits_stale = false;
    uint64_t others = others_horizon(p), limit = timeline_next(&m->timeline);
    uint64_t candidates[] = {others, sched_horizon(sv), m->run_end_cycles, p->interrupt_at,
                             p->next_tick};
    for (size_t i = 0; i < sizeof(candidates) / sizeof(candidates[0]); i++)
        if (candidates[i] < limit)
            limit = candidates[i];
    /* A CPU that runs alone still stops at Xen's 10 ms tick (next_tick): often enough for the
     * progress display, and no slice is ever cut shorter than the model needs. */
    return limit;
}

static void pcpu_idle(struct sim_pcpu *p, uint64_t next_wake)
{
    struct machine *m = p->m;
    uint64_t timeout =
        next_wake == UINT64_MAX ? SIMK_FOREVER : machine_delay_ps_until(m, next_wake);
    p->sync_at = next_wake; /* a doorbell (sched_ready_at) may bring it closer */
    p->idle = true;
    simk_wait_event(p->doorbell, timeout);
    p->idle = false;
    uint64_t now = machine_now_cycles(m);
    if (p->local < now)
        p->local = now;
}

/* IPIs due by now are taken: their handling costs this CPU time before the guest goes on (and
 * enters the upcall they announce). */
static void pcpu_take_interrupts(struct sim_pcpu *p, struct sim_vcpu *sv)
{
    if (p->interrupt_at > p->local)
        return;
    p->local += p->ipi_cycles_owed;
    p->ipi_cycles_owed = 0;
    p->interrupt_at = UINT64_MAX;
    sv->xen_entry = true; /* interrupted: Xen delivers on its way back to the guest */
}

/* Xen's own timer interrupt on a busy CPU (the scheduler's tick): the running vcpu is
 * interrupted, so Xen looks for its events on the way back. It is what delivers an event to a
 * guest that unmasked with a plain store and made no hypercall since. The tick also ends the
 * running vcpu's boost (credit1's csched_unit_acct: found running at a tick, it is using the
 * CPU and is boosted no more), so a vcpu woken after it preempts it. */
static void pcpu_tick(struct sim_pcpu *p, struct sim_vcpu *sv)
{
    uint64_t period = cost_ns_to_cycles(p->m->cost, XEN_TICK_NS);
    if (p->local < p->next_tick || !period)
        return;
    p->next_tick += ((p->local - p->next_tick) / period + 1) * period;
    sv->xen_entry = true;
    sv->boost = false;
}

static void pcpu_run(struct sim_pcpu *p, struct sim_vcpu *sv)
{
    struct machine *m = p->m;
    pcpu_take_interrupts(p, sv);
    pcpu_tick(p, sv);
    p->xen_to = p->local; /* until the slice's event injection, if any, moves it on */
    uint64_t start = p->local;
    sv->stop_at = sim_pcpu_slice_limit(sv);
    /* At its limit already (a timed callback due now has yet to run): nothing runs; the CPU
     * yields for a delta cycle below and tries again once it has. */
    if (sv->stop_at > p->local) {
        m->active = p;
        (sv->rp ? replay_run_slice : sim_vcpu_run_slice)(sv);
        m->active = NULL;
    }
    /* The last block may run past the end of the run; only the run itself counts as busy. */
    uint64_t busy_end = p->local < m->run_end_cycles ? p->local : m->run_end_cycles;
    p->busy_cycles += busy_end > start ? busy_end - start : 0;
    sched_ran(sv, p->local - start);
    if (sv->sd->status != SD_RUNNING || sv->v->run_state != VCPU_RUNNABLE ||
        sv->v->blocked_in_xen || sv->v->domain->paused) {
        if (p->current == sv)
            p->current = NULL;
        if (sv->state == SV_RUNNING) {
            sv->state = SV_IDLE;
            record_vcpu_state(sv);
        }
        m->active = p;
        explain_runstate(m->explain, sv);
        vcpu_leave_cpu(sv);
        m->active = NULL;
    }
    /* Let the kernel catch up with this CPU while the others run; they may act until a
     * lookahead past this CPU's time. */
    p->sync_at = p->local;
    uint64_t ahead = machine_delay_ps_until(m, p->local);
    if (!m->finished && (ahead || p->local == start))
        simk_wait_ps(ahead);
}

static void machine_progress(struct machine *m);

/* The user stopped the run: it ends now, at the kernel's time; what ran so far is reported. */
static void machine_interrupted(struct machine *m, int signal)
{
    if (m->finished)
        return;
    m->finished = true;
    m->end = END_INTERRUPTED;
    m->interrupted_by = signal;
    m->end_cycles = machine_now_cycles(m);
    simk_stop();
}

static void pcpu_main(void *arg)
{
    struct sim_pcpu *p = arg;
    struct machine *m = p->m;
    /* Past the end of the run a CPU has nothing left to do: the thread ends. */
    while (!m->finished && p->local < m->run_end_cycles) {
        if (m->interrupt && *m->interrupt) {
            machine_interrupted(m, *m->interrupt);
            break;
        }
        machine_progress(m);
        /* No CPU can write a line dated before now any more (each is at or after now). */
        console_flush(&m->console, machine_now_cycles(m));
        p->xen_from = p->local; /* scheduling, IPIs and event injection: Xen's work */
        bool woke;
        uint64_t next_wake = sched_collect_wakes(p, p->local, &woke);
        struct sim_vcpu *sv = sched_continues(p, woke) ? p->current : pcpu_pick(p);
        if (sv)
            pcpu_run(p, sv);
        else
            pcpu_idle(p, next_wake);
    }
    p->sync_at = UINT64_MAX;
}

/* ---- timers and platform interrupts -------------------------------------------------------- */

static void on_vcpu_timer(void *arg)
{
    struct sim_timer_ctx *t = arg;
    t->sv->sd->m->context_pcpu = t->sv->pcpu->id; /* Xen's timers fire where the vcpu runs */
    timeline_disarm(&t->sv->sd->m->timeline, t->sv->timer_slot + t->kind);
    if (t->sv->sd->status == SD_RUNNING)
        vcpu_timer_expired(t->sv->v, t->kind);
}

/* Raise k of a [pirq] source happens at at + k * period, computed from absolute times so that
 * rounding does not drift. */
static void pirq_schedule(struct sim_pirq_source *src)
{
    const struct scenario_pirq *q = src->cfg;
    machine_timed_call(src->m, src->ev, src->slot, q->at_ns + (uint64_t)src->raised * q->period_ns);
}

static void on_pirq(void *arg)
{
    struct sim_pirq_source *src = arg;
    struct sim_domain *sd = &src->m->dom[src->cfg->domain];
    src->m->context_pcpu = 0; /* physical IRQs are routed to CPU 0 */
    timeline_disarm(&src->m->timeline, src->slot);
    src->raised++;
    /* A line nobody bound (or a domain gone) is lost, as on real hardware with the IRQ off
     * (a level line stays asserted: it fires when a port is bound). */
    enum pirq_raise_result r =
        sd->status == SD_RUNNING ? pirq_line_raise(sd->d, src->cfg->line) : PIRQ_UNBOUND;
    src->unbound += r == PIRQ_UNBOUND || r == PIRQ_BAD;
    src->held_back += r == PIRQ_HELD;
    if (src->raised < src->cfg->count)
        pirq_schedule(src);
}

static void on_pirq_eoi_timer(void *arg)
{
    struct sim_pirq_source *src = arg;
    struct sim_domain *sd = &src->m->dom[src->cfg->domain];
    src->m->context_pcpu = 0; /* Xen's eoi_timer runs where the interrupt was taken */
    timeline_disarm(&src->m->timeline, src->eoi_slot);
    if (sd->status == SD_RUNNING)
        pirq_eoi_timer_expired(sd->d, src->cfg->line);
}

static void on_probe(void *arg)
{
    struct machine_probe *p = arg;
    p->m->context_pcpu = 0;
    timeline_disarm(&p->m->timeline, p->slot);
    p->fired = true;
    p->fn(p->m, p->arg);
}

int machine_add_probe(struct machine *m, uint64_t at, void (*fn)(struct machine *m, void *arg),
                      void *arg)
{
    struct machine_probe **list = realloc(m->probe, (m->nr_probes + 1) * sizeof(*list));
    struct machine_probe *p = calloc(1, sizeof(*p));
    int slot = timeline_add_slot(&m->timeline);
    if (list)
        m->probe = list;
    if (!list || !p || slot < 0) {
        free(p);
        return -1;
    }
    *p = (struct machine_probe){.m = m, .at = at, .fn = fn, .arg = arg, .slot = (unsigned)slot};
    p->ev = simk_event_create("probe");
    simk_method_on("probe", p->ev, on_probe, p);
    m->probe[m->nr_probes++] = p;
    simk_event_notify(p->ev, cycles_to_ps(m, at));
    timeline_arm(&m->timeline, p->slot, at);
    return 0;
}

/* ---- building ---------------------------------------------------------------------------- */

static bool is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

int guest_resolve(const char *guest, const char *base_dir, const char *guest_dir, char *out,
                  size_t outlen, struct diag *d)
{
    bool is_path = strchr(guest, '/') || strstr(guest, ".elf");
    if (is_path) {
        if (guest[0] != '/' && base_dir && base_dir[0])
            snprintf(out, outlen, "%s/%s", base_dir, guest);
        else
            snprintf(out, outlen, "%s", guest);
        if (!is_file(out))
            return diag_set(d, "guest image %s: no such file", out);
        return 0;
    }
    snprintf(out, outlen, "%s/%s.elf", guest_dir, guest);
    if (!is_file(out))
        return diag_set(d,
                        "guest program '%s' not found (looked for %s); name one of the "
                        "programs in guests/ or give a path to an ELF",
                        guest, out);
    return 0;
}

/* Guest RAM: zero pages the host commits only when the guest (or the loader) first touches
 * them, so a 4 GiB domain that uses 2 MiB costs 2 MiB. */
static uint8_t *guest_pages_alloc(uint64_t size)
{
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                   -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

static void guest_pages_free(uint8_t *p, uint64_t size)
{
    if (p)
        munmap(p, size);
}

static uint64_t page_up(uint64_t x)
{
    return (x + XEN_PAGE_SIZE - 1) & ~(uint64_t)(XEN_PAGE_SIZE - 1);
}

/* After the image, as Xen's PV domain builder lays it out (simplified): start_info, then a
 * bootstrap stack; the shared_info page is mapped just past RAM. */
static int domain_layout(struct sim_domain *sd, struct diag *d)
{
    sd->start_info_gpa = page_up(sd->img.highest);
    sd->stack_top = sd->start_info_gpa + XEN_PAGE_SIZE + BOOT_STACK_BYTES;
    if (sd->stack_top > sd->ram_size)
        return diag_set(d, "%s:%u: domain '%s' needs more than %" PRIu64 " MiB of memory",
                        sd->m->sc->source, sd->cfg->line, sd->cfg->name, sd->ram_size >> 20);
    sd->shared_info_gpa = sd->ram_size;
    return 0;
}

static void write_start_info(struct sim_domain *sd, uint64_t seed)
{
    start_info_t *si = (start_info_t *)(sd->ram + sd->start_info_gpa);
    memset(si, 0, sizeof(*si));
    snprintf(si->magic, sizeof(si->magic), "xen-3.0-x86_64");
    si->nr_pages = sd->ram_size / XEN_PAGE_SIZE;
    si->shared_info = sd->shared_info_gpa;
    si->flags = sd->cfg->privileged ? (SIF_PRIVILEGED | SIF_INITDOMAIN) : 0;
    /* The domain id is not part of start_info; guests get it, and a per-domain seed derived from
     * the scenario's, on the command line (the scenario's own words follow). */
    uint64_t dseed = seed * 0x9e3779b97f4a7c15ull + sd->d->domid + 1;
    char line[2 * MAX_GUEST_CMDLINE];
    size_t n = (size_t)snprintf(line, sizeof(line), "domid=%u", sd->d->domid);
    if (!strstr(sd->cfg->cmdline, "seed="))
        n += (size_t)snprintf(line + n, sizeof(line) - n, " seed=%" PRIu64, dseed);
    /* 2-level is every guest's default: only the others are spelled out. */
    if (sd->cfg->abi != ABI_2L)
        n += (size_t)snprintf(line + n, sizeof(line) - n, " abi=%s",
                              scenario_abi_names[sd->cfg->abi]);
    snprintf(line + n, sizeof(line) - n, " %s", sd->cfg->cmdline);
    size_t len = strlen(line) < MAX_GUEST_CMDLINE - 1 ? strlen(line) : MAX_GUEST_CMDLINE - 1;
    memcpy(si->cmd_line, line, len); /* the scenario parser keeps cmdline well below this */
    si->cmd_line[len] = 0;
}

static int domain_model_create(struct machine *m, struct sim_domain *sd, unsigned index,
                               struct diag *d)
{
    struct domain_config cfg = {
        .domid = (domid_t)index,
        .privileged = sd->cfg->privileged,
        .paused = sd->cfg->paused,
        .hvm = sd->cfg->hvm,
        .max_vcpus = sd->cfg->vcpus,
        .guest_word_bits = 64,
        .max_evtchn_port = sd->cfg->max_evtchn_port,
        .shared_info_gpa = sd->shared_info_gpa,
    };
    int rc = domain_create(&m->hv, &cfg, &sd->d);
    if (rc < 0)
        return diag_set(d, "%s:%u: cannot create domain '%s' (Xen error %d)", m->sc->source,
                        sd->cfg->line, sd->cfg->name, rc);
    sd->d->sim = sd;
    return 0;
}

/* The vcpus of sd; with no guest (a host device model's domain) they get no engine and never
 * run. */
static int domain_vcpus_create(struct machine *m, struct sim_domain *sd, unsigned *next_pcpu,
                               struct diag *d)
{
    bool guest = !sd->dm && !m->replay;
    sd->nr_vcpus = sd->cfg->vcpus;
    sd->vcpu = calloc(sd->nr_vcpus, sizeof(*sd->vcpu));
    for (unsigned i = 0; i < sd->nr_vcpus; i++) {
        struct sim_vcpu *sv = &sd->vcpu[i];
        sv->sd = sd;
        sv->stages.handling = -1;
        sv->v = domain_vcpu(sd->d, i);
        sv->v->sim = sv;
        unsigned home = sd->cfg->pin >= 0 ? (unsigned)sd->cfg->pin + i : (*next_pcpu)++;
        sched_place(sv, &m->pcpu[home % m->nr_pcpus], sd->cfg->pin >= 0);
        if (guest && sim_vcpu_create_engine(sv, d) < 0)
            return -1;
        if (m->replay && replay_attach(m->replay, sv) < 0)
            return diag_set(d, "out of memory for the replay of domain '%s'", sd->cfg->name);
        sv->timer_slot = m->timeline_used;
        m->timeline_used += HV_TIMER_KINDS;
        for (unsigned k = 0; k < HV_TIMER_KINDS; k++) {
            sv->timer_ctx[k] = (struct sim_timer_ctx){sv, (enum hv_timer_kind)k};
            sv->timer_ev[k] = simk_event_create("vcpu_timer");
            simk_method_on("vcpu_timer", sv->timer_ev[k], on_vcpu_timer, &sv->timer_ctx[k]);
        }
    }
    struct sim_vcpu *boot = &sd->vcpu[0];
    if (!guest && !m->replay)
        return 0;
    struct hv_regs r = {
        .rip = sd->img.entry, .rsi = sd->start_info_gpa, .rsp = sd->stack_top, .rflags = 0x202};
    sim_vcpu_set_regs(boot, &r);
    vcpu_publish_time(boot, 0);
    if (!sd->d->paused) /* else the unpause wakes it */
        sched_ready_at(boot, 0, false);
    return 0;
}

/* Name the scenario line of the domain in front of a guest image's error. */
static int domain_error(const struct machine *m, const struct sim_domain *sd, struct diag *d)
{
    struct diag inner = *d;
    if (sd->cfg->line)
        return diag_set(d, "%s:%u: domain '%s': %s", m->sc->source, sd->cfg->line, sd->cfg->name,
                        inner.msg);
    return diag_set(d, "domain %s (--guest): %s", sd->cfg->name, inner.msg);
}

/* A host device model's domain: memory for its hypercalls' arguments, shared_info where a
 * guest has it (its events are read from there), no guest image. */
static int dm_domain_build(struct machine *m, struct sim_domain *sd, unsigned index,
                           unsigned *next_pcpu, struct diag *d)
{
    sd->ram_size = 1u << 20;
    sd->ram = guest_pages_alloc(sd->ram_size);
    sd->shared_info = aligned_alloc(XEN_PAGE_SIZE, XEN_PAGE_SIZE);
    if (!sd->ram || !sd->shared_info)
        return diag_set(d, "out of memory for domain '%s'", sd->cfg->name);
    memset(sd->shared_info, 0, XEN_PAGE_SIZE);
    sd->shared_info_gpa = sd->ram_size;
    if (domain_model_create(m, sd, index, d) < 0 || host_dm_domain_build(m, sd, index, d) < 0)
        return -1;
    return domain_vcpus_create(m, sd, next_pcpu, d);
}

/* A guest's RAM (committed as it is touched) and its shared_info page, zeroed. */
static int domain_memory(struct sim_domain *sd, struct diag *d)
{
    sd->ram_size = sd->cfg->memory_bytes;
    sd->ram = guest_pages_alloc(sd->ram_size);
    sd->shared_info = aligned_alloc(XEN_PAGE_SIZE, XEN_PAGE_SIZE);
    if (!sd->ram || !sd->shared_info)
        return diag_set(d, "out of memory for domain '%s'", sd->cfg->name);
    memset(sd->shared_info, 0, XEN_PAGE_SIZE);
    return 0;
}

/* A replayed domain: its memory (empty: only what Xen reads is filled in, from the recording)
 * and shared_info as a guest's, no image, vcpus that play their recorded steps. */
static int replay_domain_build(struct machine *m, struct sim_domain *sd, unsigned index,
                               unsigned *next_pcpu, struct diag *d)
{
    if (domain_memory(sd, d) < 0)
        return -1;
    sd->shared_info_gpa = sd->ram_size;
    if (domain_model_create(m, sd, index, d) < 0)
        return -1;
    return domain_vcpus_create(m, sd, next_pcpu, d);
}

static int domain_build(struct machine *m, struct sim_domain *sd, unsigned index,
                        unsigned *next_pcpu, struct diag *d)
{
    char path[SCENARIO_PATH_MAX + 64];
    sd->m = m;
    sd->cfg = &m->sc->dom[index];
    sd->status = SD_RUNNING;
    if (sd->cfg->device_model[0])
        return dm_domain_build(m, sd, index, next_pcpu, d);
    if (m->replay)
        return replay_domain_build(m, sd, index, next_pcpu, d);
    if (guest_resolve(sd->cfg->guest, m->sc->base_dir, m->guest_dir, path, sizeof(path), d) < 0 ||
        guest_image_load(path, &sd->img, d) < 0)
        return domain_error(m, sd, d);
    if (domain_memory(sd, d) < 0)
        return -1;
    if (guest_image_place(&sd->img, sd->ram, sd->ram_size, d) < 0)
        return domain_error(m, sd, d);
    if (domain_layout(sd, d) < 0 || aot_annotate(&sd->aot, &sd->img, sd->ram, m->cost, d) < 0 ||
        domain_model_create(m, sd, index, d) < 0)
        return -1;
    write_start_info(sd, m->sc->seed);
    return domain_vcpus_create(m, sd, next_pcpu, d);
}

static void pcpus_create(struct machine *m, unsigned total_vcpus)
{
    m->nr_pcpus = m->sc->pcpus;
    m->pcpu = calloc(m->nr_pcpus, sizeof(*m->pcpu));
    for (unsigned i = 0; i < m->nr_pcpus; i++) {
        struct sim_pcpu *p = &m->pcpu[i];
        p->m = m;
        p->id = i;
        p->rq_cap = total_vcpus + 1;
        p->runq = calloc(p->rq_cap, sizeof(*p->runq));
        p->waking = calloc(p->rq_cap, sizeof(*p->waking));
        p->doorbell = simk_event_create("pcpu_doorbell");
        p->interrupt_at = UINT64_MAX; /* sync_at 0: every CPU starts at time 0 */
        p->next_tick = cost_ns_to_cycles(m->cost, XEN_TICK_NS);
    }
}

static void pirqs_create(struct machine *m)
{
    m->pirq = calloc(m->sc->nr_pirq ? m->sc->nr_pirq : 1, sizeof(*m->pirq));
    for (unsigned i = 0; i < m->sc->nr_pirq; i++) {
        struct sim_pirq_source *src = &m->pirq[i];
        src->m = m;
        src->cfg = &m->sc->pirq[i];
        src->ev = simk_event_create("pirq");
        src->slot = m->timeline_used++;
        src->eoi_slot = m->timeline_used++;
        simk_method_on("pirq", src->ev, on_pirq, src);
        src->eoi_timer = simk_event_create("pirq_eoi_timer");
        simk_method_on("pirq_eoi_timer", src->eoi_timer, on_pirq_eoi_timer, src);
        pirq_set_level(m->dom[src->cfg->domain].d, src->cfg->line, src->cfg->level);
        if (src->cfg->count > 0)
            pirq_schedule(src);
    }
}

/* The scenario's cpu (or the default profile); its line when it came from the file. */
static int machine_profile(struct machine *m, const struct scenario *sc, struct diag *d)
{
    const char *spec = sc->cpu[0] ? sc->cpu : PROFILE_DEFAULT;
    if (profile_load(&m->profile, spec, sc->cpu_line ? sc->base_dir : NULL, d) == 0) {
        m->cost = &m->profile;
        return 0;
    }
    if (!sc->cpu_line)
        return -1;
    struct diag inner = *d;
    return diag_set(d, "%s:%u: cpu = %s: %s", sc->source, sc->cpu_line, sc->cpu, inner.msg);
}

/* The host memory a run needs, as far as it can be known before it starts: every vcpu's
 * Unicorn engine (MACHINE_ENGINE_BYTES, measured: 1,001 engines took 5.3 GB in the ABI study),
 * every guest image (RAM is committed only where touched, and a guest touches at least its
 * image, start_info and boot stack), and a fixed part for SystemC, the model and the reports. */
#define MACHINE_ENGINE_BYTES (5632ull << 10)
#define MACHINE_BASE_BYTES (64ull << 20)
#define MACHINE_DOMAIN_BYTES (BOOT_STACK_BYTES + 3 * XEN_PAGE_SIZE)

static uint64_t image_bytes(const struct machine *m, const struct scenario_domain *dom)
{
    char path[SCENARIO_PATH_MAX + 64];
    struct diag ignored;
    struct stat st;
    if (!dom->guest[0])
        return 0; /* a host device model's domain */
    if (guest_resolve(dom->guest, m->sc->base_dir, m->guest_dir, path, sizeof(path), &ignored) ||
        stat(path, &st) != 0)
        return 0; /* the build reports it, with the scenario line */
    return (uint64_t)st.st_size;
}

/* MemAvailable of /proc/meminfo in bytes, or 0 when it cannot be read (no check then). */
static uint64_t host_memory_available(void)
{
    FILE *f = fopen("/proc/meminfo", "r");
    char line[256];
    unsigned long long kb = 0;
    while (f && fgets(line, sizeof(line), f))
        if (sscanf(line, "MemAvailable: %llu kB", &kb) == 1)
            break;
    if (f)
        fclose(f);
    return (uint64_t)kb << 10;
}

/* A run that cannot fit is refused before it starts (rather than ending in the kernel's OOM
 * killer with nothing printed). */
static int machine_check_memory(const struct machine *m, struct diag *d)
{
    const struct scenario *sc = m->sc;
    uint64_t engines = 0, images = 0;
    for (unsigned i = 0; i < sc->nr_dom && !m->replay; i++) {
        engines += sc->dom[i].vcpus;
        images += image_bytes(m, &sc->dom[i]) + MACHINE_DOMAIN_BYTES;
    }
    uint64_t need = MACHINE_BASE_BYTES + engines * MACHINE_ENGINE_BYTES + images;
    uint64_t have = host_memory_available();
    if (!have || need <= have)
        return 0;
    return diag_set(d,
                    "%s: the run needs about %" PRIu64 " MiB of host memory (%" PRIu64
                    " vcpu engines of about %llu MiB each, %" PRIu64
                    " MiB of guest images and boot pages, %llu MiB for the rest) but this "
                    "machine has %" PRIu64 " MiB available; use fewer domains or vcpus",
                    sc->source, need >> 20, engines, MACHINE_ENGINE_BYTES >> 20, images >> 20,
                    MACHINE_BASE_BYTES >> 20, have >> 20);
}

int machine_build(struct machine *m, const struct scenario *sc, const char *guest_dir, FILE *out,
                  struct diag *d)
{
    return machine_build_replay(m, sc, guest_dir, NULL, out, d);
}

int machine_build_replay(struct machine *m, const struct scenario *sc, const char *guest_dir,
                         struct sim_replay *replay, FILE *out, struct diag *d)
{
    memset(m, 0, sizeof(*m));
    m->replay = replay;
    m->sc = sc;
    m->out = out;
    console_init(&m->console, out);
    if (machine_profile(m, sc, d) < 0)
        return -1;
    snprintf(m->guest_dir, sizeof(m->guest_dir), "%s", guest_dir);
    if (machine_check_memory(m, d) < 0)
        return -1;
    hv_init(&m->hv, &mem_ops, m, &sink_ops, m, m->cost);
    console_set_loglvl(&m->hv, sc->guest_loglvl_lower, sc->guest_loglvl_upper);
    m->coh = coherence_create(sc->pcpus, sc->pcpus / sc->sockets);
    if (!m->coh)
        return diag_set(d, "out of memory for the coherence model");
    unsigned total_vcpus = 0;
    for (unsigned i = 0; i < sc->nr_dom; i++)
        total_vcpus += sc->dom[i].vcpus;
    if (timeline_init(&m->timeline, total_vcpus * HV_TIMER_KINDS + 2 * sc->nr_pirq) < 0)
        return diag_set(d, "out of memory for the timers");
    m->lookahead = machine_lookahead(m->cost);
    pcpus_create(m, total_vcpus);
    m->dom = calloc(sc->nr_dom, sizeof(*m->dom));
    m->nr_dom = sc->nr_dom;
    unsigned next_pcpu = 0;
    for (unsigned i = 0; i < sc->nr_dom; i++) {
        if (domain_build(m, &m->dom[i], i, &next_pcpu, d) < 0)
            return -1;
        m->live_domains++;
    }
    pirqs_create(m);
    return 0;
}

/* Progress is drawn by the CPU threads as simulated time passes, never by an event of its own:
 * asking for it must not change what the kernel schedules (and so the results). */
static void machine_progress(struct machine *m)
{
    static const unsigned steps = 50;
    if (!m->progress)
        return;
    uint64_t now = machine_now_cycles(m), end = m->run_end_cycles ? m->run_end_cycles : 1;
    unsigned done = (unsigned)((unsigned __int128)now * steps / end);
    if (done > steps)
        done = steps;
    if (done == m->progress_drawn && now)
        return;
    m->progress_drawn = done;
    fprintf(stderr, "\r[%-*.*s] %3u%% of %" PRIu64 " ms simulated", (int)steps, (int)done,
            "##################################################", done * 100 / steps,
            m->sc->run_ns / 1000000);
    fflush(stderr);
}

void machine_run(struct machine *m)
{
    for (unsigned i = 0; i < m->nr_pcpus; i++)
        simk_spawn_thread("pcpu", pcpu_main, &m->pcpu[i], PCPU_STACK_BYTES);
    uint64_t end_ps = cycles_to_ps(m, cost_ns_to_cycles(m->cost, m->sc->run_ns));
    m->run_end_cycles = ps_to_cycles(m, end_ps);
    simk_run(end_ps);
    if (m->progress)
        fprintf(stderr, "\r%80s\r", "");
    if (!m->finished) {
        /* Stopped by the kernel: with something still to happen (a CPU or a timer beyond the
         * end), the run length was reached; with nothing at all (every vcpu blocked, no timer
         * armed), the system is idle for good and time stays at its last activity. */
        m->finished = true;
        bool idle = !simk_pending_activity();
        m->end = idle ? END_STARVED : END_RUN_LENGTH;
        m->end_cycles = idle ? machine_now_cycles(m) : m->run_end_cycles;
    }
    for (unsigned i = 0; i < m->nr_dom; i++)
        for (unsigned k = 0; k < m->dom[i].nr_vcpus; k++)
            if (m->dom[i].vcpu[k].line_len)
                console_flush_line(&m->dom[i].vcpu[k]);
    console_flush(&m->console, UINT64_MAX);
}

int machine_exit_status(const struct machine *m)
{
    if (m->end == END_INTERRUPTED)
        return 128 + m->interrupted_by; /* as a shell reports a process the signal ended */
    for (unsigned i = 0; i < m->nr_dom; i++) {
        const struct sim_domain *sd = &m->dom[i];
        if (sd->status == SD_CRASHED ||
            (sd->status == SD_SHUTDOWN && sd->shutdown_reason == SHUTDOWN_crash))
            return 1;
    }
    return 0;
}

void machine_free(struct machine *m)
{
    record_discard(m);
    /* Device models first (they map pages the model frees), then the model: tearing domains
     * down still touches their shared_info. */
    for (unsigned i = 0; i < m->nr_dom; i++)
        host_dm_free(&m->dom[i]);
    hv_destroy(&m->hv);
    for (unsigned i = 0; i < m->nr_dom; i++) {
        struct sim_domain *sd = &m->dom[i];
        for (unsigned k = 0; k < sd->nr_vcpus; k++) {
            sim_vcpu_destroy_engine(&sd->vcpu[k]);
            sim_evpages_free_vcpu(&sd->vcpu[k]);
            stages_vcpu_free(&sd->vcpu[k].stages);
        }
        stages_domain_free(&sd->stages);
        rt_domain_free(&sd->ioreq_rt);
        free(sd->vcpu);
        aot_free(&sd->aot);
        guest_image_free(&sd->img);
        guest_pages_free(sd->ram, sd->ram_size);
        free(sd->shared_info);
        sim_evpages_free_domain(sd);
    }
    free(m->dom);
    for (unsigned i = 0; i < m->nr_pcpus; i++) {
        free(m->pcpu[i].runq);
        free(m->pcpu[i].waking);
    }
    free(m->pcpu);
    free(m->pirq);
    for (unsigned i = 0; i < m->nr_probes; i++) {
        simk_event_cancel(m->probe[i]->ev);
        free(m->probe[i]);
    }
    free(m->probe);
    timeline_free(&m->timeline);
    console_free(&m->console);
    if (m->coh)
        coherence_destroy(m->coh);
    host_dm_arena_free(m);
    free(m->actor_sync);
}
