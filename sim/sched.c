#include "sim/sched.h"

#include "sim/kernel.h"
#include "sim/machine.h"
#include "sim/explain.h"
#include "sim/record.h"

const char *const sched_prio_names[PRIO_COUNT] = {"boost", "under", "over"};

/* Credit1's accounting period: credit is earned per period (30 ms). */
#define CREDIT_PERIOD_NS 30000000u

static uint64_t ns_cycles(const struct machine *m, uint64_t ns)
{
    return cost_ns_to_cycles(m->cost, ns);
}

/* Earn the credit of the periods elapsed since the last look: an equal share of the machine
 * per period, at most one period's worth banked (credit1 caps it likewise). */
static void credit_refill(struct sim_vcpu *sv, uint64_t now)
{
    const struct machine *m = sv->sd->m;
    uint64_t period = ns_cycles(m, CREDIT_PERIOD_NS);
    uint64_t n = now / period;
    if (n <= sv->credit_period)
        return;
    unsigned total = 0;
    for (unsigned i = 0; i < m->nr_dom; i++)
        total += m->dom[i].nr_vcpus;
    int64_t share = (int64_t)(period * m->nr_pcpus / (total ? total : 1));
    int64_t cap = (int64_t)period;
    sv->credit += (int64_t)(n - sv->credit_period) * share;
    if (sv->credit > cap)
        sv->credit = cap;
    sv->credit_period = n;
}

enum sched_prio sched_prio(struct sim_vcpu *sv)
{
    credit_refill(sv, sv->pcpu->local);
    if (sv->boost)
        return PRIO_BOOST;
    return sv->credit >= 0 ? PRIO_UNDER : PRIO_OVER;
}

void sched_ran(struct sim_vcpu *sv, uint64_t cycles)
{
    sv->credit -= (int64_t)cycles;
}

/* ---- run queues: by priority, FIFO within ------------------------------------------------- */

static void runq_insert(struct sim_pcpu *p, struct sim_vcpu *sv)
{
    enum sched_prio prio = sched_prio(sv);
    unsigned at = p->rq_len;
    while (at > 0 && sched_prio(p->runq[at - 1]) > prio)
        at--;
    for (unsigned i = p->rq_len; i > at; i--)
        p->runq[i] = p->runq[i - 1];
    p->runq[at] = sv;
    p->rq_len++;
    sv->state = SV_QUEUED;
}

static void runq_take(struct sim_pcpu *p, unsigned at)
{
    for (unsigned i = at; i + 1 < p->rq_len; i++)
        p->runq[i] = p->runq[i + 1];
    p->rq_len--;
}

static void runq_remove(struct sim_pcpu *p, struct sim_vcpu *sv)
{
    for (unsigned i = 0; i < p->rq_len; i++)
        if (p->runq[i] == sv) {
            runq_take(p, i);
            return;
        }
}

static void waking_remove(struct sim_pcpu *p, struct sim_vcpu *sv)
{
    for (unsigned i = 0; i < p->nr_waking; i++)
        if (p->waking[i] == sv)
            p->waking[i--] = p->waking[--p->nr_waking];
}

void sched_place(struct sim_vcpu *sv, struct sim_pcpu *home, bool pinned)
{
    sv->pcpu = home;
    sv->clock = &home->local;
    sv->pinned = pinned;
    sv->state = SV_IDLE;
}

static void move_to(struct sim_vcpu *sv, struct sim_pcpu *p)
{
    if (sv->pcpu != p)
        sv->migrations++;
    sv->pcpu = p;
    sv->clock = &p->local;
}

void sched_park(struct sim_vcpu *sv)
{
    if (sv->state == SV_QUEUED)
        runq_remove(sv->pcpu, sv);
    if (sv->state == SV_WAKING)
        waking_remove(sv->pcpu, sv);
    if (sv->pcpu->current == sv)
        sv->pcpu->current = NULL;
    sv->state = SV_IDLE;
    sv->boost = false;
    record_vcpu_state(sv);
    explain_runstate(sv->sd->m->explain, sv);
}

static bool pcpu_idle_now(const struct sim_pcpu *p)
{
    return !p->current && !p->rq_len && !p->nr_waking;
}

/* Credit1 wakes a vcpu where it last ran unless that CPU is busy and another is idle. */
static struct sim_pcpu *wake_cpu(struct sim_vcpu *sv)
{
    struct machine *m = sv->sd->m;
    if (sv->pinned || pcpu_idle_now(sv->pcpu))
        return sv->pcpu;
    for (unsigned i = 0; i < m->nr_pcpus; i++)
        if (pcpu_idle_now(&m->pcpu[i]))
            return &m->pcpu[i];
    return sv->pcpu;
}

void sched_ready_at(struct sim_vcpu *sv, uint64_t at, bool woken)
{
    if (sv->state != SV_IDLE)
        return;
    move_to(sv, wake_cpu(sv));
    struct sim_pcpu *p = sv->pcpu;
    /* A vcpu waking from a block while not in debt is boosted (credit1's BOOST), whether or not
     * it still was: one that blocked before a tick found it running kept its boost, which must
     * not hide its credit here (it would lose the boost on every other wake-up). */
    sv->boost = false;
    sv->boost = woken && sched_prio(sv) == PRIO_UNDER;
    sv->state = SV_WAKING;
    sv->wake_at = at;
    p->waking[p->nr_waking++] = sv;
    record_vcpu_state(sv);
    explain_runstate(sv->sd->m->explain, sv);
    p->m->limits_stale = true; /* this CPU's scheduler, or an idle one's wake-up, comes sooner */
    /* An idle CPU acts again at the wake-up; a busy one is at or before it (the lookahead) and
     * its slice stops there (sched_horizon). */
    if (p->idle && at < p->sync_at)
        p->sync_at = at;
    else if (!p->idle && p != p->m->acting.cpu && pcpu_ran_guest_past(p, at))
        p->m->late_effects++;
    simk_event_notify(p->doorbell, machine_delay_ps_until(p->m, at));
}

uint64_t sched_collect_wakes(struct sim_pcpu *p, uint64_t now, bool *woke)
{
    uint64_t next = UINT64_MAX;
    *woke = false;
    for (unsigned i = 0; i < p->nr_waking; i++) {
        struct sim_vcpu *sv = p->waking[i];
        if (sv->wake_at <= now) {
            p->waking[i--] = p->waking[--p->nr_waking];
            runq_insert(p, sv);
            *woke = true;
        } else if (sv->wake_at < next) {
            next = sv->wake_at;
        }
    }
    return next;
}

/* An idle CPU takes the first queued vcpu, of the highest priority, that may move. */
static struct sim_vcpu *steal(struct sim_pcpu *thief)
{
    struct machine *m = thief->m;
    struct sim_vcpu *best = NULL;
    struct sim_pcpu *from = NULL;
    unsigned at = 0;
    for (unsigned i = 0; i < m->nr_pcpus; i++) {
        struct sim_pcpu *p = &m->pcpu[i];
        for (unsigned k = 0; p != thief && k < p->rq_len; k++) {
            struct sim_vcpu *sv = p->runq[k];
            if (!sv->pinned && (!best || sched_prio(sv) < sched_prio(best))) {
                best = sv, from = p, at = k;
                break;
            }
        }
    }
    if (!best)
        return NULL;
    runq_take(from, at);
    move_to(best, thief);
    thief->steals++;
    return best;
}

static bool keeps_cpu(struct sim_pcpu *p, struct sim_vcpu *cur)
{
    if (!cur || cur->state != SV_RUNNING || cur->v->run_state != VCPU_RUNNABLE ||
        cur->sd->status != SD_RUNNING || cur->v->yield_requested)
        return false;
    bool would_keep = !(p->local >= cur->slice_end && p->rq_len);
    bool higher_waiting = p->rq_len && sched_prio(p->runq[0]) < sched_prio(cur);
    if (would_keep && higher_waiting)
        p->preemptions++;
    return would_keep && !higher_waiting;
}

/* Does the running vcpu simply go on? The scheduler decides only at its own moments: the
 * running vcpu blocks, yields or stops, its slice ends, or a vcpu was woken here (credit1's
 * tickle). A slice cut short for synchronisation is none of these: deciding there would make
 * the schedule depend on where slices are cut (a vcpu's credit turning negative is acted on at
 * the next such moment, as in credit1). */
bool sched_continues(const struct sim_pcpu *p, bool woke)
{
    const struct sim_vcpu *cur = p->current;
    return cur && !woke && cur->state == SV_RUNNING && cur->v->run_state == VCPU_RUNNABLE &&
           cur->sd->status == SD_RUNNING && !cur->v->yield_requested && p->local < cur->slice_end;
}

struct sim_vcpu *sched_pick(struct sim_pcpu *p, struct sim_vcpu **left)
{
    const struct machine *m = p->m;
    struct sim_vcpu *cur = p->current;
    *left = NULL;
    if (keeps_cpu(p, cur)) {
        /* Alone: a new slice, on the old slices' grid, so that its end does not depend on
         * when this pick happened. */
        uint64_t ts = ns_cycles(m, m->sc->timeslice_ns);
        if (p->local >= cur->slice_end && ts)
            cur->slice_end += ((p->local - cur->slice_end) / ts + 1) * ts;
        return cur;
    }
    if (cur && cur->state == SV_RUNNING) {
        p->current = NULL;
        cur->v->yield_requested = false;
        cur->boost = false; /* a boost lasts until the vcpu gives the CPU up, or a tick */
        if (cur->v->run_state == VCPU_RUNNABLE && cur->sd->status == SD_RUNNING)
            runq_insert(p, cur);
        else
            cur->state = SV_IDLE;
    }
    struct sim_vcpu *next = NULL;
    if (p->rq_len) {
        next = p->runq[0];
        runq_take(p, 0);
    } else {
        next = steal(p);
    }
    if (cur && cur != next)
        *left = cur;
    if (next) {
        next->state = SV_RUNNING;
        next->slice_end = p->local + ns_cycles(m, m->sc->timeslice_ns);
        p->current = next;
    }
    return next;
}

uint64_t sched_horizon(const struct sim_vcpu *sv)
{
    const struct sim_pcpu *p = sv->pcpu;
    uint64_t h = p->rq_len ? sv->slice_end : UINT64_MAX;
    for (unsigned i = 0; i < p->nr_waking; i++)
        if (p->waking[i]->wake_at < h)
            h = p->waking[i]->wake_at; /* a vcpu is queued then, and may preempt */
    return h;
}
