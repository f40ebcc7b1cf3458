/* The machine's physical CPUs: a SystemC thread each that picks a vcpu (sim/sched.c), enters
 * it, runs it until its slice limit (never past the next timed callback, never more than a
 * lookahead past another CPU: docs/timing.md), takes the interrupts that arrived, and waits for
 * the kernel to catch up; and the timed callbacks: vcpu timers, PIRQ sources and their EOI
 * timers, and probes (the teaching mode's --dump-at). */
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

/* ---- physical CPUs ----------------------------------------------------------------------- */

/* Publish the time scale and the current time in the vcpu's vcpu_info, as Xen does when it
 * schedules a vcpu in. */
void machine_vcpu_publish_time(struct sim_vcpu *sv, uint64_t now)
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
    machine_act_on(p->m, p);    /* the periodic tick is due as of this CPU's time */
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
        machine_vcpu_publish_time(next, p->local);
    }
    if (next)
        vcpu_enter_cpu(next);
    machine_act_done(p->m);
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
        machine_act_on(m, p);
        (sv->rp ? replay_run_slice : sim_vcpu_run_slice)(sv);
        machine_act_done(m);
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
        machine_act_on(m, p);
        explain_runstate(m->explain, sv);
        vcpu_leave_cpu(sv);
        machine_act_done(m);
    }
    /* Let the kernel catch up with this CPU while the others run; they may act until a
     * lookahead past this CPU's time. */
    p->sync_at = p->local;
    uint64_t ahead = machine_delay_ps_until(m, p->local);
    if (!m->finished && (ahead || p->local == start))
        simk_wait_ps(ahead);
}

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

void machine_pcpu_main(void *arg)
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
    /* Park, never end: SystemC frees an ended thread's stack, and its AddressSanitizer fiber
     * annotations may leave the main thread's recorded stack on that one, which LeakSanitizer
     * then reads at exit. Nothing notifies this event (it is no pending activity). */
    simk_wait_event(p->parked, SIMK_FOREVER);
}

/* ---- timers and platform interrupts -------------------------------------------------------- */

void machine_on_vcpu_timer(void *arg)
{
    struct sim_timer_ctx *t = arg;
    machine_act_callback(t->sv->sd->m, t->sv->pcpu->id); /* Xen's timers fire where the vcpu runs */
    timeline_disarm(&t->sv->sd->m->timeline, t->sv->timer_slot + t->kind);
    if (t->sv->sd->status == SD_RUNNING)
        vcpu_timer_expired(t->sv->v, t->kind);
}

/* Raise k of a [pirq] source happens at at + k * period, computed from absolute times so that
 * rounding does not drift. */
void machine_pirq_schedule(struct sim_pirq_source *src)
{
    const struct scenario_pirq *q = src->cfg;
    machine_timed_call(src->m, src->ev, src->slot, q->at_ns + (uint64_t)src->raised * q->period_ns);
}

void machine_on_pirq(void *arg)
{
    struct sim_pirq_source *src = arg;
    struct sim_domain *sd = &src->m->dom[src->cfg->domain];
    machine_act_callback(src->m, 0); /* physical IRQs are routed to CPU 0 */
    timeline_disarm(&src->m->timeline, src->slot);
    src->raised++;
    /* A line nobody bound (or a domain gone) is lost, as on real hardware with the IRQ off
     * (a level line stays asserted: it fires when a port is bound). */
    enum pirq_raise_result r =
        sd->status == SD_RUNNING ? pirq_line_raise(sd->d, src->cfg->line) : PIRQ_UNBOUND;
    src->unbound += r == PIRQ_UNBOUND || r == PIRQ_BAD;
    src->held_back += r == PIRQ_HELD;
    if (src->raised < src->cfg->count)
        machine_pirq_schedule(src);
}

void machine_on_pirq_eoi_timer(void *arg)
{
    struct sim_pirq_source *src = arg;
    struct sim_domain *sd = &src->m->dom[src->cfg->domain];
    machine_act_callback(src->m, 0); /* Xen's eoi_timer runs where the interrupt was taken */
    timeline_disarm(&src->m->timeline, src->eoi_slot);
    if (sd->status == SD_RUNNING)
        pirq_eoi_timer_expired(sd->d, src->cfg->line);
}

static void on_probe(void *arg)
{
    struct machine_probe *p = arg;
    machine_act_callback(p->m, 0);
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
    simk_event_notify(p->ev, machine_cycles_to_ps(m, at));
    timeline_arm(&m->timeline, p->slot, at);
    return 0;
}
