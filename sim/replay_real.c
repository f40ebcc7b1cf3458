/* Replay of a real host's xentrace recording (docs/traces.md, "Replaying a real host's
 * recording"). Xen records no event-channel step and no hypercall argument, so a real recording
 * cannot be played as evsim's own are. What it holds becomes stimulus instead:
 *
 * - each vcpu's time in the guest (from a VM entry, or from being scheduled, to the next exit or
 *   descheduling) is guest compute of the same cycles;
 * - each port or MMIO access of an HVM vcpu (the exit and its IOPORT/IOMEM record) is re-issued
 *   to Xen, which answers it itself: the replay has no device model, so it shows what the
 *   accesses cost emulated in Xen, against the recording's exit-to-wake arcs;
 * - an HVM hlt, a PV vcpu's block, and a vcpu's first appearance make it wait; it is woken at
 *   the time the recording had it woken (the cause, an event or an interrupt, is not in the
 *   recording: an exogenous input keeps its recorded time), which is the "inferred" part;
 * - time in Xen for other exits (hypercalls, whose arguments xentrace does not keep, interrupts,
 *   faults) is charged as recorded.
 *
 * The machine is inferred too: the recording's CPUs, and one domain per domain id seen, HVM if
 * its vcpus exit, with as many vcpus as the highest id seen. The order of the work: read every
 * record once (this file's reader), then build the scenario text and each vcpu's steps; the
 * machine is built from them as for evsim's own recordings, and replay_real_step plays. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/domain.h"
#include "models/xen_public.h"
#include "sim/hvm_exits.h"
#include "sim/kernel.h"
#include "sim/machine.h"
#include "sim/machine_int.h"
#include "sim/replay_int.h"
#include "sim/sched.h"
#include "sim/vcpu.h"
#include "traces/xentrace.h"

#define RR_RUNNING 0u /* xentrace's runstate numbers (Xen's RUNSTATE_*) */
#define RR_RUNNABLE 1u
#define RR_BLOCKED 2u
#define RR_OFFLINE 3u

/* What a vcpu's reader knows at the current record. */
struct rr_parse {
    bool hvm, seen_running, running, in_guest, exit_open, exit_done;
    uint32_t exit_reason;
    bool exit_svm;
    uint64_t since;     /* in the guest since (TSC) */
    uint64_t exit_tsc;  /* the exit in flight ... */
    uint64_t arc_end;   /* ... when it had the vcpu runnable again (0: not yet) ... */
    uint64_t xen_since; /* ... and since when the vcpu runs in Xen for it (0: not running) */
    uint64_t compute;   /* guest cycles since the last step */
    int64_t waiting;    /* the step that waits for the vcpu's next wake, or -1 */
    int64_t last_wait;  /* the wait that ended last, or -1 */
    int64_t io_step;    /* the I/O step of the exit in flight, or -1 */
    uint64_t last_tsc;  /* its last record */
    uint32_t cpu;       /* where it runs, or ran last */
    /* requests to a device model (the vcpu blocked in an I/O exit): so far, and in the exit in
     * flight, with that exit's accesses from its first I/O step on */
    uint32_t fwd_blocks, exit_nblock, exit_nio;
    int64_t exit_first_io;
    uint64_t hcall_tsc;   /* its last PV hypercall ... */
    uint32_t hcall_op;    /* ... (0: none, or its event-channel call was taken for a wake) */
    uint32_t sends_in;    /* its wakes by a guest's send so far */
    uint8_t vector;       /* the first vector Xen injected into it (an HVM vcpu's upcalls) */
    uint32_t cf8;         /* the PCI config address it last latched (port 0xcf8) */
    uint32_t dm_wake_dv;  /* the emulator vcpu the exit in flight woke (dv + 1; 0: none) ... */
    int64_t dm_wake_step; /* ... and the wait of its that ended (-1: it was not waiting) */
};

struct rr_reader {
    struct sim_replay *rp;
    const char *path;
    struct diag *d;
    uint64_t hz, t0, t_end;
    uint32_t *cur; /* per CPU: the vcpu running there (dv + 1), 0 none */
    uint32_t nr_cpus;
    bool pv_seen; /* a PV hypercall record so far: the PV class is traced */
};

static uint64_t rr_ns(const struct rr_reader *r, uint64_t tsc)
{
    return tsc > r->t0 ? (uint64_t)(((unsigned __int128)(tsc - r->t0) * 1000000000u) / r->hz) : 0;
}

/* The vcpu of a recorded dv: its replay_vcpu keyed by the recorded domid while reading (the
 * domains are numbered in order once all are known: rr_renumber). */
static struct replay_vcpu *rr_vcpu(struct rr_reader *r, uint32_t dv)
{
    if ((dv >> 16) == DOMID_IDLE || (dv >> 16) >= DOMID_FIRST_RESERVED ||
        (dv & 0xffff) >= RP_MAX_VCPUS)
        return NULL;
    struct replay_vcpu *v = replay_vcpu_of(r->rp, dv);
    if (v && !v->rr.parse) {
        v->rr.parse = calloc(1, sizeof(*v->rr.parse));
        if (!v->rr.parse)
            return NULL;
        v->rr.parse->waiting = v->rr.parse->io_step = v->rr.parse->last_wait = -1;
        v->rr.parse->exit_first_io = v->rr.parse->dm_wake_step = -1;
        v->rr.parse_dv = dv;
    }
    return v;
}

static struct rr_step *rr_push(struct rr_reader *r, struct replay_vcpu *v, enum rr_kind kind)
{
    if (!replay_grow((void **)&v->rr.step, &v->rr.cap, v->rr.n + 1, sizeof(*v->rr.step)))
        return NULL;
    struct rr_step *s = &v->rr.step[v->rr.n++];
    *s = (struct rr_step){.kind = (uint8_t)kind, .delta = v->rr.parse->compute};
    v->rr.parse->compute = 0;
    r->rp->steps_inferred++;
    return s;
}

/* The vcpu leaves the guest at tsc (an exit, or descheduled while in it). */
static void rr_leave_guest(struct replay_vcpu *v, uint64_t tsc)
{
    struct rr_parse *p = v->rr.parse;
    if (p->in_guest && tsc > p->since)
        p->compute += tsc - p->since;
    p->in_guest = false;
}

/* The vcpu stops running in Xen for its exit at tsc (descheduled, or back to the guest): an
 * exit the replay does not model (neither I/O nor hlt) charges that time as recorded, only
 * while the vcpu ran (not while it waited for a CPU or was blocked). */
static void rr_leave_xen(struct rr_reader *r, struct replay_vcpu *v, uint64_t tsc)
{
    struct rr_parse *p = v->rr.parse;
    if (p->exit_open && !p->exit_done && p->xen_since && tsc > p->xen_since) {
        p->compute += tsc - p->xen_since;
        r->rp->exit_cycles_as_recorded += tsc - p->xen_since;
    }
    p->xen_since = 0;
}

static void rr_enter_guest(struct replay_vcpu *v, uint64_t tsc)
{
    v->rr.parse->in_guest = true;
    v->rr.parse->since = tsc;
}

/* The vcpu waits from now until the recording wakes it (rr_woken). */
static int rr_wait(struct rr_reader *r, struct replay_vcpu *v, enum rr_kind kind)
{
    struct rr_step *s = rr_push(r, v, kind);
    if (!s)
        return -1;
    v->rr.parse->waiting = (int64_t)v->rr.n - 1;
    return 0;
}

static void rr_woken(struct rr_reader *r, struct replay_vcpu *v, uint64_t tsc)
{
    struct rr_parse *p = v->rr.parse;
    if (p->waiting >= 0 && !v->rr.step[p->waiting].wake_ns) {
        v->rr.step[p->waiting].wake_ns = rr_ns(r, tsc) ? rr_ns(r, tsc) : 1;
        r->rp->wakes_inferred++;
    }
    if (p->waiting >= 0)
        p->last_wait = p->waiting;
    p->waiting = -1;
}

/* The recorded arc of the exit in flight ends (its entry, or the vcpu runnable again). */
static void rr_close_arc(struct replay_vcpu *v, uint64_t tsc)
{
    struct rr_parse *p = v->rr.parse;
    if (p->io_step >= 0 && !v->rr.step[p->io_step].rec_cycles && tsc > p->exit_tsc)
        v->rr.step[p->io_step].rec_cycles = tsc - p->exit_tsc;
    p->io_step = -1;
}

/* An exit for port I/O or for an access to memory that is not RAM (EPT violation, NPF). */
static bool rr_exit_is_io(const struct rr_parse *p)
{
    return p->exit_svm ? p->exit_reason == 0x7bu || p->exit_reason == 0x400u
                       : p->exit_reason == 30u || p->exit_reason == 48u;
}

/* ---- inferred device models (the play: replay_real_dm.c) --------------------------------------
 *
 * Xen records no ioreq and no port, but a request to a device model leaves a pattern: the HVM
 * vcpu exits for I/O, Xen's send wakes an emulator vcpu (its wake record comes on the exiting
 * vcpu's CPU), the HVM vcpu blocks, and the emulator's EVTCHNOP_send wakes it again (that wake
 * record comes on the emulator's CPU). The requests, the waits they ended and the notifications
 * are inferred from it, and paired by their order per HVM vcpu. */

/* The device model entry of recorded domain target (made on first sight, with emulator). */
static struct rr_dm *rr_dm_of(struct sim_replay *rp, uint32_t target, uint32_t emulator)
{
    for (size_t i = 0; i < rp->nr_rdm; i++)
        if (rp->rdm[i].target == target) {
            rp->rdm[i].other_emulators += rp->rdm[i].emulator != emulator;
            return &rp->rdm[i];
        }
    if (!replay_grow((void **)&rp->rdm, &rp->cap_rdm, rp->nr_rdm + 1, sizeof(*rp->rdm)))
        return NULL;
    struct rr_dm *dm = &rp->rdm[rp->nr_rdm++];
    *dm = (struct rr_dm){.target = target, .emulator = emulator};
    for (unsigned k = 0; k < RP_MAX_VCPUS; k++)
        dm->serve[k] = -1;
    return dm;
}

/* The exit's accesses that went to a device model: as many of its first ones as it blocked
 * for (a write's record comes before the block, a read's after the wake). */
static void rr_mark_forwarded(struct replay_vcpu *v)
{
    const struct rr_parse *p = v->rr.parse;
    uint32_t n = p->exit_nio < p->exit_nblock ? p->exit_nio : p->exit_nblock;
    for (uint32_t j = 0; p->exit_first_io >= 0 && j < n; j++) {
        struct rr_step *s = &v->rr.step[p->exit_first_io + j];
        s->flags |= RR_F_FWD;
        s->ord = p->fwd_blocks - p->exit_nblock + j + 1;
    }
}

/* v blocks in its I/O exit: a request to a device model. The emulator vcpu its exit woke
 * waited for it (an ioreq event) and serves it. */
static int rr_forwarded(struct rr_reader *r, struct replay_vcpu *v)
{
    struct rr_parse *p = v->rr.parse;
    p->fwd_blocks++;
    p->exit_nblock++;
    rr_mark_forwarded(v);
    if (!p->dm_wake_dv)
        return 0; /* no emulator vcpu woke: it was running already */
    uint32_t edv = p->dm_wake_dv - 1;
    struct replay_vcpu *w = rr_vcpu(r, edv);
    struct rr_dm *dm = w ? rr_dm_of(r->rp, v->rr.parse_dv >> 16, edv >> 16) : NULL;
    if (!dm)
        return -1;
    if (dm->serve[v->rr.parse_dv & 0xffff] < 0)
        dm->serve[v->rr.parse_dv & 0xffff] = (int32_t)(edv & 0xffff);
    if (p->dm_wake_step >= 0) {
        struct rr_step *s = &w->rr.step[p->dm_wake_step];
        s->flags |= RR_F_EVENT;
        s->peer = v->rr.parse_dv;
        s->ord = p->fwd_blocks;
        r->rp->ioreq_events_inferred++;
    }
    p->dm_wake_dv = 0;
    return 0;
}

/* A send of c's (its event_channel_op) that woke v at tsc: a step of c's, after the guest time
 * it had up to its hypercall (the replay charges the send's time in Xen itself). */
static struct rr_step *rr_push_send(struct rr_reader *r, struct replay_vcpu *c, enum rr_kind kind,
                                    const struct replay_vcpu *v, uint64_t tsc)
{
    struct rr_parse *cp = c->rr.parse;
    if (cp->in_guest) {
        rr_leave_guest(c, cp->hcall_tsc > cp->since && cp->hcall_tsc < tsc ? cp->hcall_tsc : tsc);
        rr_enter_guest(c, tsc);
    }
    if (cp->hvm && cp->exit_open && cp->xen_since)
        cp->xen_since = tsc; /* an HVM vcpu's VMMCALL exit: the replay's hypercall is its time
                              * to here; its time in Xen after the wake is charged as recorded */
    cp->hcall_op = 0;
    struct rr_step *s = rr_push(r, c, kind);
    if (s)
        s->peer = v->rr.parse_dv;
    return s;
}

/* The emulator vcpu c sent the notification that woke HVM vcpu v. */
static int rr_notified(struct rr_reader *r, struct replay_vcpu *c, struct replay_vcpu *v,
                       uint64_t tsc)
{
    struct rr_step *s = rr_push_send(r, c, RR_NOTIFY, v, tsc);
    struct rr_dm *dm = s ? rr_dm_of(r->rp, v->rr.parse_dv >> 16, c->rr.parse_dv >> 16) : NULL;
    if (!dm)
        return -1;
    uint32_t k = v->rr.parse_dv & 0xffff;
    s->ord = v->rr.parse->fwd_blocks;
    /* each answers the request after the last one answered, unless records were lost (two
     * answers of one request, none of another: replayed, a request would wait for good) */
    dm->out_of_order += s->ord != dm->notifies[k] + 1;
    dm->notifies[k]++;
    r->rp->notifies_inferred++;
    return 0;
}

/* A guest's send (c's event_channel_op just before, on the CPU where v's wake is recorded)
 * woke v, which waited: the send, and v's wait for it. */
static int rr_sent(struct rr_reader *r, struct replay_vcpu *c, struct replay_vcpu *v, uint64_t tsc)
{
    struct rr_parse *p = v->rr.parse;
    struct rr_step *s = rr_push_send(r, c, RR_SEND, v, tsc);
    if (!s)
        return -1;
    s->ord = ++p->sends_in;
    struct rr_step *w = &v->rr.step[p->waiting];
    w->flags |= RR_F_SENT;
    w->peer = c->rr.parse_dv;
    w->ord = p->sends_in;
    r->rp->sends_inferred++;
    return 0;
}

/* Without the PV class traced, an emulator vcpu that Xen's ioreq event woke and that, before it
 * waits again, wakes a vcpu of its own domain hands the request on: its kernel woke the device
 * model's thread on that vcpu (QEMU's, after the event's interrupt), which Linux does with an
 * IPI, an EVTCHNOP_send the recording would show had it traced PV hypercalls. */
static bool rr_hands_off(const struct rr_reader *r, const struct replay_vcpu *c)
{
    const struct rr_parse *cp = c->rr.parse;
    return !r->pv_seen && !cp->hvm && cp->waiting < 0 && cp->last_wait >= 0 &&
           (c->rr.step[cp->last_wait].flags & RR_F_EVENT);
}

/* What the vcpu running where v's wake was recorded says about its cause: Xen's ioreq event
 * (an HVM vcpu in an I/O exit there woke v, of another domain), a device model's notification
 * (v waits for one, and a vcpu of another, PV, domain woke it), or a PV guest's send (it called
 * event_channel_op just before). An idle CPU's wake (a timer, an interrupt) has no cause the
 * recording shows. */
static int rr_wake_cause(struct rr_reader *r, struct replay_vcpu *v, const struct xt_rec *rec)
{
    uint32_t cur = rec->cpu < r->nr_cpus ? r->cur[rec->cpu] : 0;
    if (!cur || cur - 1 == v->rr.parse_dv)
        return 0;
    struct replay_vcpu *c = rr_vcpu(r, cur - 1);
    if (!c)
        return -1;
    struct rr_parse *cp = c->rr.parse, *p = v->rr.parse;
    bool other = (cur - 1) >> 16 != v->rr.parse_dv >> 16;
    if (!cp->running)
        return 0;
    if (other && cp->hvm && cp->exit_open && rr_exit_is_io(cp) && !p->hvm) {
        cp->dm_wake_dv = v->rr.parse_dv + 1;
        cp->dm_wake_step = p->waiting;
        return 0;
    }
    if (other && p->hvm && p->exit_open && p->exit_nblock && rr_exit_is_io(p) && !cp->hvm)
        return rr_notified(r, c, v, rec->tsc);
    /* within 10 us of the hypercall (a PV vcpu's, or an HVM vcpu's VMMCALL in the exit in
     * flight): the wake is its doing, not a later interrupt's */
    if (p->waiting >= 0 && cp->hcall_op == __HYPERVISOR_event_channel_op &&
        (!cp->hvm || cp->exit_open) && rec->tsc >= cp->hcall_tsc &&
        rec->tsc - cp->hcall_tsc <= r->hz / 100000)
        return rr_sent(r, c, v, rec->tsc);
    if (!other && p->waiting >= 0 && rr_hands_off(r, c)) {
        r->rp->handoffs_inferred++;
        return rr_sent(r, c, v, rec->tsc);
    }
    return 0;
}

/* Its first time on a CPU: before, it waits (a recording may begin with it running: then
 * from the start). */
static int rr_first_run(struct rr_reader *r, struct replay_vcpu *v, unsigned old, uint64_t tsc)
{
    v->rr.parse->seen_running = true;
    if (rr_wait(r, v, RR_START) < 0)
        return -1;
    rr_woken(r, v, old == RR_RUNNING ? r->t0 : tsc);
    return 0;
}

/* Descheduled in the guest (preempted): it goes on there when it runs again; in an exit, the
 * exit stays open. */
static void rr_descheduled(struct rr_reader *r, struct replay_vcpu *v, const struct xt_rec *rec)
{
    struct rr_parse *p = v->rr.parse;
    v->rr.resume_in_guest = p->in_guest;
    rr_leave_guest(v, rec->tsc);
    rr_leave_xen(r, v, rec->tsc);
    p->running = false;
    if (rec->cpu < r->nr_cpus && r->cur[rec->cpu] == rec->d[0] + 1)
        r->cur[rec->cpu] = 0;
}

/* It is scheduled on cpu at tsc: in the guest (a PV vcpu, or an HVM one preempted there) or in
 * Xen for its open exit. A vcpu the recording never descheduled from that CPU (its record
 * lost) is taken off first. */
static void rr_runs_on(struct rr_reader *r, struct replay_vcpu *v, uint32_t cpu, uint64_t tsc)
{
    struct rr_parse *p = v->rr.parse;
    uint32_t dv = v->rr.parse_dv;
    if (cpu >= r->nr_cpus)
        return;
    if (p->running && p->cpu != cpu && p->cpu < r->nr_cpus && r->cur[p->cpu] == dv + 1) {
        /* no record took it off the CPU it ran on (lost): it left there now, or that CPU's
         * next vcpu would take its time here for it */
        struct xt_rec stale = {.tsc = tsc, .cpu = p->cpu, .n = 1, .d = {dv}};
        rr_descheduled(r, v, &stale);
    }
    if (r->cur[cpu] && r->cur[cpu] != dv + 1) {
        struct replay_vcpu *prev = rr_vcpu(r, r->cur[cpu] - 1);
        if (prev && prev->rr.parse->running) {
            struct xt_rec stale = {.tsc = tsc, .cpu = cpu, .n = 1, .d = {r->cur[cpu] - 1}};
            rr_descheduled(r, prev, &stale);
        }
    }
    r->cur[cpu] = dv + 1;
    p->cpu = cpu;
    p->running = true;
    if (!p->hvm || v->rr.resume_in_guest)
        rr_enter_guest(v, tsc);
    else if (p->exit_open)
        p->xen_since = tsc;
    v->rr.resume_in_guest = false;
}

static int rr_runstate(struct rr_reader *r, const struct xt_rec *rec)
{
    bool cont = (rec->event & 0xf) == 2;
    unsigned old = cont ? RR_RUNNING : (rec->event >> 8) & 0xf,
             new = cont ? RR_RUNNING : (rec->event >> 4) & 0xf;
    if (rec->n < 1 || (rec->d[0] >> 16) == DOMID_IDLE || (rec->d[0] >> 16) >= DOMID_FIRST_RESERVED)
        return 0; /* the idle vcpus, and ids that are not a domain's */
    if ((rec->d[0] & 0xffff) >= RP_MAX_VCPUS)
        return diag_set(r->d,
                        "%s: offset %" PRIu64 ": d%uv%u: replay plays at most %u vcpus a "
                        "domain",
                        r->path, rec->offset, rec->d[0] >> 16, rec->d[0] & 0xffff, RP_MAX_VCPUS);
    struct replay_vcpu *v = rr_vcpu(r, rec->d[0]);
    if (!v)
        return -1;
    struct rr_parse *p = v->rr.parse;
    p->last_tsc = rec->tsc;
    if (!p->seen_running && old == RR_RUNNING) {
        /* it ran from before the recording began, on this CPU (in its guest, as far as the
         * recording shows) */
        if (rr_first_run(r, v, old, rec->tsc) < 0)
            return -1;
        v->rr.resume_in_guest = true;
        rr_runs_on(r, v, rec->cpu, r->t0);
    }
    if (!p->seen_running && new == RR_RUNNING && rr_first_run(r, v, old, rec->tsc) < 0)
        return -1;
    if (old == RR_RUNNING && p->running)
        rr_descheduled(r, v, rec);
    if (new == RR_RUNNABLE && (old == RR_BLOCKED || old == RR_OFFLINE)) {
        if (rr_wake_cause(r, v, rec) < 0)
            return -1;
        if (p->exit_open && !p->arc_end) /* xenalyze closes an exit's arc at the wake */
            p->arc_end = rec->tsc;
        rr_close_arc(v, rec->tsc);
        rr_woken(r, v, rec->tsc);
    }
    /* blocked in Xen for a device model (no BLOCK record): the I/O step waits, not a block */
    if ((new == RR_BLOCKED || new == RR_OFFLINE) && p->waiting < 0 && p->seen_running &&
        !(p->exit_open && rr_exit_is_io(p)) && rr_wait(r, v, RR_BLOCK) < 0)
        return -1;
    if ((new == RR_BLOCKED || new == RR_OFFLINE) && old == RR_RUNNING && p->exit_open &&
        rr_exit_is_io(p) && rr_forwarded(r, v) < 0)
        return -1;
    if (new == RR_RUNNING && p->waiting >= 0 && v->rr.step[p->waiting].kind != RR_HLT)
        rr_woken(r, v, rec->tsc); /* its wake's record lost: it was woken by the time it ran */
    if (new == RR_RUNNING)
        rr_runs_on(r, v, rec->cpu, rec->tsc);
    return 0;
}

static bool rr_exit_is_hlt(const struct rr_parse *p)
{
    return p->exit_reason == (p->exit_svm ? 0x78u : 12u);
}

static int rr_exit(struct rr_reader *r, struct replay_vcpu *v, const struct xt_rec *rec)
{
    struct rr_parse *p = v->rr.parse;
    p->hvm = true;
    rr_leave_guest(v, rec->tsc);
    rr_close_arc(v, rec->tsc);
    p->exit_open = true;
    p->exit_done = false;
    p->exit_svm = rec->event == TRC_HVM_SVM_EXIT || rec->event == TRC_HVM_SVM_EXIT64;
    /* VMX: the basic exit reason is bits 15:0 (the others are flags) */
    p->exit_reason = p->exit_svm ? rec->d[0] : rec->d[0] & 0xffffu;
    p->exit_tsc = p->xen_since = rec->tsc;
    p->arc_end = 0;
    p->exit_first_io = -1;
    p->exit_nio = p->exit_nblock = p->dm_wake_dv = 0;
    r->rp->exits_seen++;
    if (rr_exit_is_hlt(p)) {
        p->exit_done = true;
        return rr_wait(r, v, RR_HLT);
    }
    return 0;
}

static void rr_entry(struct rr_reader *r, struct replay_vcpu *v, const struct xt_rec *rec)
{
    struct rr_parse *p = v->rr.parse;
    rr_leave_xen(r, v, rec->tsc);
    if (p->waiting >= 0 && v->rr.step[p->waiting].kind == RR_HLT)
        rr_woken(r, v, rec->tsc); /* a hlt with an event pending: it did not block */
    rr_close_arc(v, rec->tsc);
    p->exit_open = p->exit_done = false;
    rr_enter_guest(v, rec->tsc);
}

/* An access's size: xentrace keeps the port and the data, not the width. */
static uint8_t rr_size_of(uint64_t data, bool mmio)
{
    if (data > 0xffffffffu)
        return 8;
    if (mmio || data > 0xffff)
        return 4;
    return data > 0xff ? 2 : 1;
}

static int rr_io(struct rr_reader *r, struct replay_vcpu *v, const struct xt_rec *rec, bool mmio)
{
    struct rr_parse *p = v->rr.parse;
    bool wide = (rec->event & TRC_64_FLAG) != 0;
    uint64_t addr = rec->d[0] | (wide && rec->n >= 2 ? (uint64_t)rec->d[1] << 32 : 0);
    /* a port access with a 64-bit address is a PCI config access (SBDF << 32 | register): made
     * again at 0xcfc, through the address the guest latched at 0xcf8; the device is the
     * record's (a recording may begin after the latch) */
    uint32_t config = 0; /* the config address the record names (as 0xcf8 holds one) */
    if (!mmio && wide) {
        config = 0x80000000u | (uint32_t)((addr >> 32) & 0xffff) << 8 | (uint32_t)(addr & 0xfc);
        addr = 0xcfc + (addr & 3);
    }
    unsigned di = wide ? 2 : 1;
    uint64_t data = rec->n > di ? rec->d[di] : 0;
    if (wide && rec->n > di + 1)
        data |= (uint64_t)rec->d[di + 1] << 32;
    /* a second access of the same exit (a read-modify-write, a string element): no exit of
     * its own */
    bool more = p->exit_open && p->exit_done && v->rr.n && v->rr.step[v->rr.n - 1].kind == RR_IO;
    if (!p->exit_open || (p->exit_done && !more)) {
        r->rp->io_outside_exits++;
        return 0;
    }
    struct rr_step *s = rr_push(r, v, RR_IO);
    if (!s)
        return -1;
    s->addr = addr;
    s->data = data;
    s->type = mmio ? IOREQ_TYPE_COPY : IOREQ_TYPE_PIO;
    s->dir = (rec->event & 0x200) ? IOREQ_WRITE : IOREQ_READ;
    s->size = rr_size_of(data, mmio);
    s->more = more;
    if (!mmio && addr == 0xcf8 && s->dir == IOREQ_WRITE && s->size == 4)
        p->cf8 = (uint32_t)data;
    if (!mmio && (addr & ~3ull) == 0xcfc) /* a config access: the device it names */
        s->peer = config ? config : p->cf8;
    p->exit_done = true;
    if (p->exit_first_io < 0)
        p->exit_first_io = (int64_t)v->rr.n - 1;
    p->exit_nio++;
    rr_mark_forwarded(v);
    if (more)
        return 0; /* the exit's arc is its first access's */
    /* a read's record comes when it completes (it has no time of its own: the CPU's last): its
     * arc ended at the wake, if a device model answered it, else it ends at the entry */
    if (s->dir == IOREQ_READ && p->arc_end > p->exit_tsc)
        s->rec_cycles = p->arc_end - p->exit_tsc;
    p->io_step = (int64_t)v->rr.n - 1;
    return 0;
}

/* A record of the vcpu running on the record's CPU. */
static int rr_vcpu_record(struct rr_reader *r, const struct xt_rec *rec)
{
    uint32_t ev = rec->event;
    uint32_t cur = rec->cpu < r->nr_cpus ? r->cur[rec->cpu] : 0;
    struct replay_vcpu *v = cur ? rr_vcpu(r, cur - 1) : NULL;
    if (!v) {
        r->rp->records_unattributed++;
        return 0;
    }
    v->rr.parse->last_tsc = rec->tsc;
    uint32_t nr;
    if (xt_class_of(ev) == XT_CLS_PV) {
        v->rr.parse->hcall_tsc = rec->tsc;
        v->rr.parse->hcall_op = xt_pv_hypercall_nr(rec, &nr) ? nr : 0;
        r->rp->hypercalls_seen++;
        r->pv_seen = true;
        return 0;
    }
    if (xt_is_vmexit(ev) && rec->n >= 1)
        return rr_exit(r, v, rec);
    if (ev == TRC_HVM_VMENTRY)
        rr_entry(r, v, rec);
    else if ((ev & ~(0x200u | TRC_64_FLAG)) == TRC_HVM_IOPORT_READ && rec->n >= 1)
        return rr_io(r, v, rec, false);
    else if ((ev & ~(0x200u | TRC_64_FLAG)) == TRC_HVM_IOMEM_READ && rec->n >= 1)
        return rr_io(r, v, rec, true);
    else if (ev == TRC_HVM_VMMCALL) {
        r->rp->hypercalls_seen++;
        v->rr.parse->hcall_tsc = rec->tsc;
        v->rr.parse->hcall_op = rec->n ? rec->d[0] : 0;
    } else if (ev == TRC_HVM_INJ_VIRQ) {
        r->rp->vectors_injected++;
        if (!v->rr.parse->vector && rec->n)
            v->rr.parse->vector = (uint8_t)rec->d[0];
    }
    return 0;
}

static int rr_record(struct rr_reader *r, const struct xt_rec *rec)
{
    if (rec->cpu >= r->nr_cpus) {
        uint32_t *grown = realloc(r->cur, (rec->cpu + 1) * sizeof(*grown));
        if (!grown)
            return -1;
        memset(grown + r->nr_cpus, 0, (rec->cpu + 1 - r->nr_cpus) * sizeof(*grown));
        r->cur = grown;
        r->nr_cpus = rec->cpu + 1;
    }
    if (rec->has_tsc) {
        if (!r->t0)
            r->t0 = rec->tsc;
        if (rec->tsc > r->t_end)
            r->t_end = rec->tsc;
    }
    if ((rec->event & 0xfffff00fu) == TRC_SCHED_RUNSTATE_CHANGE ||
        rec->event == TRC_SCHED_CONTINUE_RUNNING)
        return rr_runstate(r, rec);
    if (xt_is_vcpu_record(rec->event))
        return rr_vcpu_record(r, rec);
    return 0;
}

/* Each vcpu's last steps: what it computed after its last action, then it stops. */
static int rr_finish_vcpu(struct rr_reader *r, struct replay_vcpu *v)
{
    struct rr_parse *p = v->rr.parse;
    if (p->running) {
        rr_leave_guest(v, r->t_end);
        rr_leave_xen(r, v, r->t_end);
    }
    if (!p->seen_running && rr_wait(r, v, RR_START) < 0) /* never ran: it waits throughout */
        return -1;
    v->rr.rec_end_ns = rr_ns(r, p->running ? r->t_end : p->last_tsc);
    if (p->waiting >= 0 && !v->rr.step[p->waiting].wake_ns && p->waiting + 1 == (int64_t)v->rr.n) {
        v->rr.step[p->waiting].kind = RR_END; /* it waited to the end: that is where it ends */
        return 0;
    }
    return rr_push(r, v, RR_END) ? 0 : -1;
}

/* ---- the arcs, recorded and replayed ------------------------------------------------------- */

static struct rr_port *rr_port_of(struct sim_replay *rp, const struct rr_step *s)
{
    for (size_t i = 0; i < rp->nr_port; i++) {
        struct rr_port *p = &rp->port[i];
        if (p->addr == s->addr && p->type == s->type && p->dir == s->dir)
            return p;
    }
    if (!replay_grow((void **)&rp->port, &rp->cap_port, rp->nr_port + 1, sizeof(*rp->port)))
        return NULL;
    struct rr_port *p = &rp->port[rp->nr_port++];
    *p = (struct rr_port){.addr = s->addr, .type = s->type, .dir = s->dir};
    return p;
}

static int rr_port_cmp(const void *a, const void *b)
{
    const struct rr_port *x = a, *y = b;
    if (x->type != y->type)
        return x->type < y->type ? -1 : 1;
    if (x->addr != y->addr)
        return x->addr < y->addr ? -1 : 1;
    return (int)x->dir - (int)y->dir;
}

/* The recording's arcs, per address: every vcpu's I/O steps, in a table sorted by address. */
static int rr_ports_recorded(struct sim_replay *rp)
{
    for (uint32_t id = 0; xt_idmap_next(&rp->dom, &id); id++) {
        struct rp_domain *d = xt_idmap_get(&rp->dom, id);
        for (unsigned k = 0; k < RP_MAX_VCPUS; k++)
            for (size_t i = 0; d->vcpu[k] && i < d->vcpu[k]->rr.n; i++) {
                const struct rr_step *s = &d->vcpu[k]->rr.step[i];
                /* a further access of an exit has no arc of its own: the exit's first has it */
                bool arc = s->kind == RR_IO && !s->more;
                struct rr_port *p = arc ? rr_port_of(rp, s) : NULL;
                if (arc && !p)
                    return -1;
                if (p && s->rec_cycles) {
                    p->rec_n++;
                    p->rec_cycles += s->rec_cycles;
                } else if (p) {
                    p->rec_unknown++;
                }
            }
    }
    if (rp->nr_port)
        qsort(rp->port, rp->nr_port, sizeof(*rp->port), rr_port_cmp);
    return 0;
}

static void rr_port_replayed(struct sim_replay *rp, const struct rr_step *s, uint64_t cycles)
{
    struct rr_port key = {.addr = s->addr, .type = s->type, .dir = s->dir};
    struct rr_port *p = bsearch(&key, rp->port, rp->nr_port, sizeof(*rp->port), rr_port_cmp);
    if (p) {
        p->rep_n++;
        p->rep_cycles += cycles;
    }
}

/* ---- the inferred machine ----------------------------------------------------------------- */

struct rr_dom {
    uint32_t domid, vcpus;
    bool hvm;
};

static int rr_domains(struct sim_replay *rp, struct rr_dom **out, unsigned *n)
{
    size_t cap = 0;
    *out = NULL;
    *n = 0;
    for (uint32_t id = 0; xt_idmap_next(&rp->dom, &id); id++) {
        struct rp_domain *d = xt_idmap_get(&rp->dom, id);
        struct rr_dom x = {id, 0, false};
        for (unsigned k = 0; k < RP_MAX_VCPUS; k++)
            if (d->vcpu[k]) {
                x.vcpus = k + 1;
                x.hvm |= d->vcpu[k]->rr.parse && d->vcpu[k]->rr.parse->hvm;
            }
        if (!x.vcpus)
            continue;
        if (!replay_grow((void **)out, &cap, *n + 1, sizeof(**out)))
            return -1;
        (*out)[(*n)++] = x;
    }
    return 0;
}

/* The scenario of the machine the recording ran on, as far as it shows. */
static int rr_scenario(struct rr_reader *r, const struct rr_dom *dom, unsigned n)
{
    if (r->nr_cpus > 256)
        return diag_set(r->d, "%s: %u physical CPUs: a machine has at most 256", r->path,
                        r->nr_cpus);
    size_t cap = 512 + strlen(r->path) + 160 * (size_t)n, len = 0;
    char *t = malloc(cap);
    if (!t)
        return -1;
    /* room for the same work on fewer CPUs: the machine stops sooner once every vcpu is done */
    uint64_t span_ms = rr_ns(r, r->t_end) / 1000000u, run_ms = 10 * span_ms + 100;
    len +=
        (size_t)snprintf(t + len, cap - len,
                         "# inferred from the xentrace recording %s: its CPUs, one domain per "
                         "domain id seen\n[machine]\npcpus = %u\nseed = 1\nrun_ms = %" PRIu64 "\n",
                         r->path, r->nr_cpus ? r->nr_cpus : 1, run_ms > 3600000 ? 3600000 : run_ms);
    r->rp->real_first_hvm = -1;
    for (unsigned i = 0; i < n; i++) {
        if (dom[i].hvm && r->rp->real_first_hvm < 0)
            r->rp->real_first_hvm = (int)i; /* the machine numbers domains in this order */
        len += (size_t)snprintf(t + len, cap - len,
                                "\n[domain d%u]\nguest = recorded\ntype = %s\nvcpus = %u\n"
                                "memory_mb = 4\n%s",
                                dom[i].domid, dom[i].hvm ? "hvm" : "pv", dom[i].vcpus,
                                dom[i].domid == 0 ? "privileged = yes\n" : "");
    }
    r->rp->text = t;
    r->rp->text_len = len;
    return 0;
}

/* The machine numbers domains in scenario order: the recording's ids become those. */
static int rr_renumber(struct sim_replay *rp, const struct rr_dom *dom, unsigned n)
{
    struct xt_idmap by_index = {0};
    for (unsigned i = 0; i < n; i++) {
        struct rp_domain *d = xt_idmap_get(&rp->dom, dom[i].domid);
        for (unsigned k = 0; k < RP_MAX_VCPUS; k++)
            if (d->vcpu[k]) {
                d->vcpu[k]->domid = i;
                d->vcpu[k]->rr.recorded_domid = dom[i].domid;
            }
        if (!xt_idmap_set(&by_index, i, d)) {
            xt_idmap_free(&by_index);
            return -1;
        }
        xt_idmap_set(&rp->dom, dom[i].domid, NULL);
    }
    /* domains with no vcpu seen are left out of the machine */
    for (uint32_t id = 0; xt_idmap_next(&rp->dom, &id); id++)
        free(xt_idmap_get(&rp->dom, id));
    xt_idmap_free(&rp->dom);
    rp->dom = by_index;
    return 0;
}

/* The machine's domain of recorded domain id domid, or -1. */
static int rr_index_of(const struct rr_dom *dom, unsigned n, uint32_t domid)
{
    for (unsigned i = 0; i < n; i++)
        if (dom[i].domid == domid)
            return (int)i;
    return -1;
}

static uint32_t rr_dv_now(const struct rr_dom *dom, unsigned n, uint32_t recorded)
{
    int i = rr_index_of(dom, n, recorded >> 16);
    return i < 0 ? UINT32_MAX : (uint32_t)i << 16 | (recorded & 0xffff);
}

/* The addresses a device model answered, merged into ranges per type (its server claims
 * them; the model's rangesets refuse overlaps). */
static int rr_range_cmp(const void *a, const void *b)
{
    const struct rr_range *x = a, *y = b;
    if (x->type != y->type)
        return x->type < y->type ? -1 : 1;
    return x->s < y->s ? -1 : x->s > y->s;
}

static int rr_dm_ranges(struct rr_dm *dm, const struct replay_vcpu *v)
{
    for (size_t i = 0; i < v->rr.n; i++) {
        const struct rr_step *s = &v->rr.step[i];
        if (s->kind != RR_IO || !(s->flags & RR_F_FWD))
            continue;
        if (!replay_grow((void **)&dm->range, &dm->cap_range, dm->nr_range + 1, sizeof(*dm->range)))
            return -1;
        struct rr_range x = {s->type == IOREQ_TYPE_COPY ? XEN_DMOP_IO_RANGE_MEMORY
                                                        : XEN_DMOP_IO_RANGE_PORT,
                             s->addr, s->addr + (s->size ? s->size : 1) - 1};
        if (s->type == IOREQ_TYPE_PIO && (s->addr & ~3ull) == 0xcfc && (s->peer & 0x80000000u))
            x = (struct rr_range){XEN_DMOP_IO_RANGE_PCI, (s->peer & 0xffff00u) >> 8,
                                  (s->peer & 0xffff00u) >> 8}; /* Xen routes it by device */
        dm->range[dm->nr_range++] = x;
    }
    if (!dm->nr_range)
        return 0;
    qsort(dm->range, dm->nr_range, sizeof(*dm->range), rr_range_cmp);
    size_t out = 0;
    for (size_t i = 1; i < dm->nr_range; i++) {
        struct rr_range *last = &dm->range[out];
        if (dm->range[i].type == last->type && dm->range[i].s <= last->e + 1) {
            if (dm->range[i].e > last->e)
                last->e = dm->range[i].e;
        } else {
            dm->range[++out] = dm->range[i];
        }
    }
    dm->nr_range = out + 1;
    return 0;
}

/* The number of v's last request to a device model that has its access in the recording. */
static uint32_t rr_last_request(const struct replay_vcpu *v)
{
    uint32_t last = 0;
    for (size_t i = 0; i < v->rr.n; i++)
        if (v->rr.step[i].kind == RR_IO && (v->rr.step[i].flags & RR_F_FWD) &&
            v->rr.step[i].ord > last)
            last = v->rr.step[i].ord;
    return last;
}

/* Whether a device model's inferred requests and notifications pair up (per HVM vcpu, as many
 * of each), and its domains as the machine numbers them. */
static int rr_dm_check(struct sim_replay *rp, struct rr_dm *dm, const struct rr_dom *dom,
                       unsigned n)
{
    int t = rr_index_of(dom, n, dm->target), e = rr_index_of(dom, n, dm->emulator);
    if (t < 0 || e < 0 || !dom[t].hvm) {
        dm->unused = "its domains are not both in the replay's machine";
        return 0;
    }
    dm->target = (uint32_t)t;
    dm->emulator = (uint32_t)e;
    if (dom[e].hvm)
        dm->unused = "its domain is HVM (replay takes a device model's events as a PV guest's)";
    else if (dm->other_emulators)
        dm->unused = "more than one domain answered the requests";
    else if (dm->out_of_order)
        dm->unused = "its notifications do not answer its requests in order (records lost)";
    struct rp_domain *td = xt_idmap_get(&rp->dom, (uint32_t)t);
    for (unsigned k = 0; td && k < RP_MAX_VCPUS; k++) {
        const struct replay_vcpu *v = td->vcpu[k];
        uint32_t requests = v && v->rr.parse ? v->rr.parse->fwd_blocks : 0;
        dm->requests[k] = requests;
        dm->made[k] = v ? rr_last_request(v) : 0;
        if (requests != dm->notifies[k] && !dm->unused)
            dm->unused = "its requests and notifications do not pair up";
        if (v && rr_dm_ranges(dm, v) < 0)
            return -1;
    }
    return 0;
}

/* The channel of the sends from domain `from` to vcpu to (both the machine's), counted. An HVM
 * receiver takes its events at the vector Xen injected into it in the recording (Linux's
 * HYPERVISOR_CALLBACK_VECTOR if none shows). */
static int rr_chan_add(struct sim_replay *rp, uint32_t from, uint32_t to, unsigned n)
{
    for (size_t i = 0; i < rp->nr_chan; i++)
        if (rp->chan[i].from == from && rp->chan[i].to == to) {
            rp->chan[i].sends++;
            return 0;
        }
    if (!replay_grow((void **)&rp->chan, &rp->cap_chan, rp->nr_chan + 1, sizeof(*rp->chan)))
        return -1;
    const struct rp_domain *td = xt_idmap_get(&rp->dom, to >> 16);
    const struct replay_vcpu *tv =
        td && (to & 0xffff) < RP_MAX_VCPUS ? td->vcpu[to & 0xffff] : NULL;
    uint8_t vector = tv && tv->rr.parse ? tv->rr.parse->vector : 0;
    rp->chan[rp->nr_chan++] = (struct rr_chan){.from = from,
                                               .to = to,
                                               .sends = 1,
                                               .active = from < n && (to >> 16) < n,
                                               .vector = vector ? vector : 0xf3};
    return 0;
}

/* An emulator's wait for, or notification of, a request whose access the recording lost (or
 * never had: its records masked out) would wait for good, as the replay never makes that
 * request: the wait is then as recorded, and the notification answers no request. */
static void rr_request_unmade(struct sim_replay *rp, struct rr_step *s)
{
    for (size_t i = 0; i < rp->nr_rdm; i++) {
        const struct rr_dm *dm = &rp->rdm[i];
        if (dm->unused || dm->target != s->peer >> 16 || (s->peer & 0xffff) >= RP_MAX_VCPUS ||
            s->ord <= dm->made[s->peer & 0xffff])
            continue;
        s->flags &= (uint8_t)~RR_F_EVENT;
        if (s->kind == RR_NOTIFY)
            s->ord = 0;
    }
}

/* The inferred device models' checks, and their steps' vcpus as the machine numbers them. */
static int rr_dm_resolve(struct sim_replay *rp, const struct rr_dom *dom, unsigned n)
{
    for (size_t i = 0; i < rp->nr_rdm; i++)
        if (rr_dm_check(rp, &rp->rdm[i], dom, n) < 0)
            return -1;
    for (uint32_t id = 0; xt_idmap_next(&rp->dom, &id); id++) {
        struct rp_domain *d = xt_idmap_get(&rp->dom, id);
        for (unsigned k = 0; k < RP_MAX_VCPUS; k++)
            for (size_t i = 0; d->vcpu[k] && i < d->vcpu[k]->rr.n; i++) {
                struct rr_step *s = &d->vcpu[k]->rr.step[i];
                if (s->kind == RR_NOTIFY || s->kind == RR_SEND ||
                    (s->flags & (RR_F_EVENT | RR_F_SENT)))
                    s->peer = rr_dv_now(dom, n, s->peer);
                if (s->kind == RR_NOTIFY || (s->flags & RR_F_EVENT))
                    rr_request_unmade(rp, s);
                if (s->kind == RR_SEND && rr_chan_add(rp, id, s->peer, n) < 0)
                    return -1;
            }
    }
    return 0;
}

int replay_real_load(struct sim_replay *rp, const char *path, uint64_t hz, bool allow_truncated,
                     struct diag *d)
{
    struct xt_source src;
    struct xt_error err;
    struct xt_reader *x = NULL;
    struct xt_options opt = {.allow_truncated = allow_truncated};
    struct xt_rec rec;
    struct rr_reader r = {.rp = rp, .path = path, .d = d, .hz = hz};
    int rc = 0;
    rp->real = true;
    rp->rec_khz = hz / 1000;
    if (xt_source_file(&src, path, &err) < 0)
        return diag_set(d, "%s: %s", path, err.msg);
    if (xt_open(&x, &src, &opt, &err) < 0)
        rc = diag_set(d, "%s: %s", path, err.msg);
    while (!rc && (rc = xt_next(x, &rec, &err)) > 0)
        if (rr_record(&r, &rec) < 0)
            rc = d->msg[0] ? -1
                           : diag_set(d, "%s: offset %" PRIu64 ": out of memory", path, rec.offset);
        else
            rc = 0;
    if (rc < 0 && x && !d->msg[0])
        diag_set(d, "%s: %s", path, err.msg);
    if (x) {
        const struct xt_stats *st = xt_stats(x);
        for (uint32_t c = 0; c < st->nr_cpus; c++)
            rp->lost_records += st->cpu[c].lost_records;
        rp->truncated_at = st->truncated ? st->truncated_at : 0;
        xt_close(x);
    }
    xt_source_file_close(&src);
    struct rr_dom *dom = NULL;
    unsigned n = 0;
    for (uint32_t id = 0; rc == 0 && xt_idmap_next(&rp->dom, &id); id++) {
        struct rp_domain *dd = xt_idmap_get(&rp->dom, id);
        for (unsigned k = 0; rc == 0 && k < RP_MAX_VCPUS; k++)
            if (dd->vcpu[k] && rr_finish_vcpu(&r, dd->vcpu[k]) < 0)
                rc = diag_set(d, "%s: out of memory", path);
    }
    if (rc == 0 && rr_domains(rp, &dom, &n) < 0)
        rc = diag_set(d, "%s: out of memory", path);
    if (rc == 0 && n == 0)
        rc = diag_set(d,
                      "%s: a xentrace recording with no vcpu of a guest in it (no runstate "
                      "change of a domain's vcpu): nothing to replay",
                      path);
    if (rc == 0 && rr_scenario(&r, dom, n) < 0)
        rc = d->msg[0] ? -1 : diag_set(d, "%s: out of memory", path);
    if (rc == 0 &&
        (rr_renumber(rp, dom, n) < 0 || rr_ports_recorded(rp) < 0 || rr_dm_resolve(rp, dom, n) < 0))
        rc = diag_set(d, "%s: out of memory", path);
    rp->real_span_ns = rr_ns(&r, r.t_end);
    rp->real_cpus = r.nr_cpus;
    free(dom);
    free(r.cur);
    return rc < 0 ? -1 : 0;
}

/* ---- playing ------------------------------------------------------------------------------ */

/* The recorded wake of the wait in progress. A timer left from a wait the vcpu got out of
 * otherwise (its wake had passed, an event came) does nothing; one that fires before the wake
 * of the wait now (the kernel kept the earlier of two notifications) is set again. */
static void rr_on_wake(void *arg)
{
    struct sim_vcpu *sv = arg;
    struct machine *m = sv->sd->m;
    struct rr_vcpu *rr = &sv->rp->rr;
    machine_act_callback(m, sv->pcpu->id);
    timeline_disarm(&m->timeline, rr->wake_slot);
    if (!rr->wait_ns || sv->sd->status != SD_RUNNING)
        return;
    if (machine_now_cycles(m) < cost_ns_to_cycles(m->cost, rr->wait_ns)) { /* as armed */
        machine_timed_call(m, rr->wake_ev, rr->wake_slot, rr->wait_ns);
        return;
    }
    vcpu_wake_for_event(sv->v, -1);
}

int replay_real_attach(struct sim_vcpu *sv)
{
    struct machine *m = sv->sd->m;
    struct replay_vcpu *v = sv->rp;
    v->rr.wake_ev = simk_event_create("replay_wake");
    v->rr.wake_slot = m->timeline_used++;
    simk_method_on("replay_wake", v->rr.wake_ev, rr_on_wake, sv);
    /* up from the start, waiting for its first run (RR_START); one the recording does not
     * show stays down (vcpu 0 is up already: its first slice blocks it for good) */
    if (sv->v->vcpu_id > 0 && v->rr.n) {
        sv->v->initialised = true;
        sv->v->run_state = VCPU_RUNNABLE;
        sched_ready_at(sv, 0, false);
    }
    return 0;
}

/* Until the recorded wake (none: for good). A vcpu that comes to its wait after the recorded
 * wake (the replay runs it later than the host did) does not wait: what woke it has come. False
 * when it goes on at once. */
static bool rr_block(struct sim_vcpu *sv, const struct rr_step *s)
{
    struct machine *m = sv->sd->m;
    if (s->wake_ns && s->wake_ns <= cost_cycles_to_ns(m->cost, sv->pcpu->local)) {
        m->replay->waits_passed++;
        return false;
    }
    if (s->wake_ns)
        machine_timed_call(m, sv->rp->rr.wake_ev, sv->rp->rr.wake_slot, s->wake_ns);
    sv->rp->rr.wait_ns = s->wake_ns;
    m->replay->waits_real++;
    if (s->kind == RR_HLT) {
        sim_hvm_halt(sv, true);
        return true;
    }
    replay_block(sv);
    return true;
}

/* An access a device model answered: its arc ends when the vcpu goes on (from the exit to the
 * entry, as the recording's ended at the wake or the entry). */
static void rr_io_answered(struct sim_vcpu *sv)
{
    struct replay_vcpu *v = sv->rp;
    if (!v->rr.io_waiting || sv->hvm_io.waiting)
        return;
    /* a device model's answer ends the arc at the wake its notification made, as xenalyze's */
    uint64_t end = v->rr.io_woken_at ? v->rr.io_woken_at : sv->pcpu->local;
    rr_port_replayed(sv->sd->m->replay, v->rr.io_waiting,
                     end > v->rr.io_start ? end - v->rr.io_start : 0);
    v->rr.io_waiting = NULL;
    v->rr.io_woken_at = 0;
}

/* False when the vcpu waits for a device model's answer. */
static bool rr_io_play(struct sim_vcpu *sv, const struct rr_step *s)
{
    struct sim_replay *rp = sv->sd->m->replay;
    ioreq_t p = {.addr = s->addr,
                 .size = s->size,
                 .count = 1,
                 .state = STATE_IOREQ_READY,
                 .dir = s->dir,
                 .type = s->type,
                 .data = s->dir == IOREQ_WRITE ? s->data : 0};
    sv->rp->rr.io_start = sv->pcpu->local;
    sv->rp->rr.io_woken_at = 0;
    sv->rp->rr.io_waiting = s->more ? NULL : s; /* timed as its exit's first access */
    sim_hvm_io_replayed(sv, &p, s->type == IOREQ_TYPE_COPY, s->more);
    rp->io_accesses++;
    rr_dm_request_made(sv, s);
    rr_io_answered(sv);
    return !sv->hvm_io.waiting;
}

/* Recorded TSC cycles as the replay's: the same time (the TSC is no core clock; the waits keep
 * their recorded times too). */
static uint64_t rr_cycles(const struct sim_vcpu *sv, uint64_t tsc_cycles)
{
    const struct machine *m = sv->sd->m;
    unsigned __int128 ns = (unsigned __int128)tsc_cycles * 1000000u / m->replay->rec_khz;
    return cost_ns_to_cycles(m->cost, ns > UINT64_MAX / 2 ? UINT64_MAX / 2 : (uint64_t)ns);
}

bool replay_real_step(struct sim_vcpu *sv)
{
    struct replay_vcpu *v = sv->rp;
    static const struct rr_step forever = {.kind = RR_END};
    rr_dm_before_step(sv);
    if (v->rr.next >= v->rr.n) { /* done (woken again, or never in the recording) */
        rr_block(sv, &forever);
        return false;
    }
    v->rr.wait_ns = 0; /* it runs: no wait is in progress */
    rr_io_answered(sv);
    const struct rr_step *s = &v->rr.step[v->rr.next];
    uint64_t cycles = rr_cycles(sv, s->delta);
    if (!v->todo_set) { /* what the replay charged for a delivery was in the recorded time */
        uint64_t a = v->rr.absorb < cycles ? v->rr.absorb : cycles;
        cycles -= a;
        v->rr.absorb -= a;
    }
    if (!replay_compute(sv, cycles))
        return false;
    if (rr_dm_must_wait(sv, s)) { /* its compute is done: the step again once woken */
        v->todo = 0;
        return false;
    }
    v->todo_set = false;
    v->rr.next++;
    v->played++;
    switch (s->kind) {
    case RR_IO:
        return rr_io_play(sv, s);
    case RR_NOTIFY:
        rr_dm_notify(sv, s);
        return true;
    case RR_SEND:
        rr_chan_send(sv, s);
        return true;
    case RR_END:
        v->rr.end_ns = cost_cycles_to_ns(sv->sd->m->cost, sv->pcpu->local);
        rr_block(sv, s);
        return false;
    default:
        return rr_dm_wait_met(sv, s) || !rr_block(sv, s);
    }
}

void replay_real_free(struct replay_vcpu *v)
{
    free(v->rr.step);
    free(v->rr.parse);
}

/* Every domain of the inferred machine one place later: the device model's goes first. */
static void rr_shift_peers(struct replay_vcpu *v)
{
    for (size_t i = 0; i < v->rr.n; i++) {
        struct rr_step *s = &v->rr.step[i];
        if (s->kind == RR_NOTIFY || s->kind == RR_SEND || (s->flags & (RR_F_EVENT | RR_F_SENT)))
            s->peer += 1u << 16;
    }
}

static int rr_shift_domains(struct sim_replay *rp)
{
    struct xt_idmap shifted = {0};
    for (size_t i = 0; i < rp->nr_chan; i++) {
        rp->chan[i].from++;
        rp->chan[i].to += 1u << 16;
    }
    for (size_t i = 0; i < rp->nr_rdm; i++) {
        rp->rdm[i].target++;
        rp->rdm[i].emulator++;
    }
    for (uint32_t id = 0; xt_idmap_next(&rp->dom, &id); id++) {
        struct rp_domain *dd = xt_idmap_get(&rp->dom, id);
        for (unsigned k = 0; k < RP_MAX_VCPUS; k++)
            if (dd->vcpu[k]) {
                dd->vcpu[k]->domid = id + 1;
                rr_shift_peers(dd->vcpu[k]);
            }
        if (!xt_idmap_set(&shifted, id + 1, dd)) {
            xt_idmap_free(&shifted);
            return -1;
        }
    }
    xt_idmap_free(&rp->dom);
    rp->dom = shifted;
    if (rp->real_first_hvm >= 0)
        rp->real_first_hvm++;
    return 0;
}

/* The domain the device model serves starts paused, as a toolstack creates it: the device
 * model unpauses it once its server is ready (its vcpus then start from their recorded times
 * on). */
static int rr_pause_domain(struct sim_replay *rp, unsigned index, struct diag *d)
{
    const char *at = rp->text;
    for (unsigned i = 0; at && i <= index; i++)
        at = strstr(at + 1, "\n[domain ");
    at = at ? strchr(at + 1, '\n') : NULL;
    if (!at)
        return diag_set(d, "--device-model: domain %u not in the inferred machine", index);
    size_t head = (size_t)(at + 1 - rp->text), len = rp->text_len + 16;
    char *t = malloc(len);
    if (!t)
        return diag_set(d, "out of memory");
    int n = snprintf(t, len, "%.*spaused = yes\n%s", (int)head, rp->text, rp->text + head);
    free(rp->text);
    rp->text = t;
    rp->text_len = (size_t)n;
    return 0;
}

/* The device model's domain is the machine's domain 0, as a host's QEMU runs in dom0: Xen lets
 * only the hardware domain bind global VIRQs (VIRQ_DOM_EXC, which device models watch). The
 * recorded domains follow, their ids one more. */
int replay_real_add_device_model(struct sim_replay *rp, const char *program, const char *args,
                                 struct diag *d)
{
    char target[16];
    bool default_target = !args;
    if (!rp->real)
        return diag_set(d, "--device-model: only for a real host's recording (an evsim "
                           "recording's device models are its scenario's)");
    if (rr_shift_domains(rp) < 0)
        return diag_set(d, "out of memory");
    if (!args) {
        if (rp->real_first_hvm < 0)
            return diag_set(d, "--device-model: the recording shows no HVM domain to serve");
        snprintf(target, sizeof(target), "%d", rp->real_first_hvm);
        args = target;
    }
    const char *first = strstr(rp->text, "\n[domain ");
    size_t head = first ? (size_t)(first - rp->text) : rp->text_len;
    size_t len = rp->text_len + strlen(program) + strlen(args) + 128;
    char *t = malloc(len);
    if (!t)
        return diag_set(d, "out of memory");
    int n = snprintf(t, len,
                     "%.*s\n[domain dm]\ndevice_model = %s\ndevice_model_args = %s\n"
                     "privileged = yes\n%s",
                     (int)head, rp->text, program, args, rp->text + head);
    free(rp->text);
    rp->text = t;
    rp->text_len = (size_t)n;
    rp->real_dm = true;
    return default_target ? rr_pause_domain(rp, (unsigned)rp->real_first_hvm, d) : 0;
}
