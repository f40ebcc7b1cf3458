/* The device models and the guests' event channels a real host's recording shows, replayed
 * (docs/traces.md, "Replaying a real host's recording"). replay_real.c infers the channels (a
 * vcpu's event_channel_op, then on its CPU the wake of a vcpu that waited: one channel per
 * sending domain and receiving vcpu; played by rr_chan_send below) and the device models: per HVM
 * domain, the domain whose vcpus Xen's ioreq events woke and whose EVTCHNOP_send woke the HVM vcpus
 * again, the addresses it answered, and per HVM vcpu its requests paired in order with the
 * emulator's waits and notifications.
 *
 * Here they run on the model as a device model would:
 *   1. before anything else, vcpu 0 of the emulator's domain creates an ioreq server for the
 *      HVM domain that claims those addresses, binds a port to each HVM vcpu's ioreq port (on
 *      the emulator vcpu the recording woke for it) and enables the server;
 *   2. an HVM vcpu's access goes to the server (sim_hvm_io_replayed): Xen's send raises the
 *      emulator's port, its vcpu wakes and takes the event (the replay's upcall code);
 *   3. the emulator's wait for request k of an HVM vcpu lasts until that request is made (not
 *      until the recorded time), then its recorded guest time runs (the handling);
 *   4. its notification answers the slot (IORESP_READY) and sends on its port, which wakes the
 *      HVM vcpu through the model, as a device model's xenevtchn_notify does.
 * What the recording cannot say is kept simple: a read's answer is not the recorded value (no
 * guest code reads it), and a request the replay answers in Xen (its server did not claim it)
 * lets the emulator's wait and notification for it pass. */
#include <string.h>

#include "models/cost.h"
#include "models/domain.h"
#include "models/evtchn.h"
#include "models/ioreq.h"
#include "models/shared_info.h"
#include "models/xen_public.h"
#include "sim/hvm_exits.h"
#include "sim/machine.h"
#include "sim/replay_guest.h"
#include "sim/replay.h"
#include "sim/replay_int.h"
#include "sim/vcpu.h"

void replay_real_use_inferred_dm(struct sim_replay *rp, const char *why_not)
{
    for (size_t i = 0; i < rp->nr_rdm; i++) {
        struct rr_dm *dm = &rp->rdm[i];
        if (why_not && !dm->unused)
            dm->unused = why_not;
        dm->active = !dm->unused;
    }
}

void rr_dm_free(struct sim_replay *rp)
{
    for (size_t i = 0; i < rp->nr_rdm; i++)
        free(rp->rdm[i].range);
    free(rp->rdm);
    free(rp->chan);
}

/* The replayed device model of HVM domain target, NULL if none. */
static struct rr_dm *dm_of_target(struct sim_replay *rp, uint32_t target)
{
    for (size_t i = 0; i < rp->nr_rdm; i++)
        if (rp->rdm[i].active && rp->rdm[i].target == target)
            return &rp->rdm[i];
    return NULL;
}

/* Xen's upcalls need a callback and a stack to build their frame on: the emulator's kernel had
 * them before the recording began. The callback is never run (replay runs no guest code). */
static void prepare_receivers(struct sim_domain *sd)
{
    for (unsigned k = 0; k < sd->nr_vcpus; k++) {
        struct sim_vcpu *w = &sd->vcpu[k];
        uint64_t stack = w->rp && w->rp->dom ? rp_take_page(w, w->rp->dom) : 0;
        if (!stack)
            continue;
        w->rp->rr.stack_top = stack + XEN_PAGE_SIZE;
        w->rp->regs.rsp = w->rp->rr.stack_top;
        if (sd->cfg->hvm) {
            w->rp->regs.rflags |= X86_EFLAGS_IF; /* it takes interrupts: Xen injects its vector */
            continue;
        }
        w->v->event_callback = stack;
        w->v->event_callback_masks = true;
    }
}

/* The emulator's port for each HVM vcpu's ioreq port, on the vcpu that serves it. */
static void dm_bind_ports(struct sim_vcpu *sv, struct rr_dm *dm, const struct ioreq_server *s)
{
    for (unsigned k = 0; k < s->target->max_vcpus && k < RP_MAX_VCPUS; k++) {
        struct evtchn_bind_interdomain b = {.remote_dom = s->target->domid,
                                            .remote_port = s->vcpu[k].ioreq_evtchn};
        if (rp_evtchn_call(sv, sv->rp->dom, EVTCHNOP_bind_interdomain, &b, sizeof(b)) < 0)
            continue;
        dm->local[k] = b.local_port;
        if (dm->serve[k] <= 0)
            continue;
        /* Xen's bind raised the new port on vcpu 0; the kernel took that event before the
         * recording began. Left pending, the port could never raise the vcpu that serves it
         * (its handler takes only the ports bound to it, as Linux's does). */
        struct evtchn_bind_vcpu bv = {.port = b.local_port, .vcpu = (uint32_t)dm->serve[k]};
        rp_evtchn_call(sv, sv->rp->dom, EVTCHNOP_bind_vcpu, &bv, sizeof(bv));
        rp_guest_port_op(sv, b.local_port, RP_OP_CLEAR);
    }
}

static void dm_set_up(struct sim_vcpu *sv, struct rr_dm *dm)
{
    struct domain *t = sv->sd->m->dom[dm->target].d, *e = sv->sd->d;
    ioservid_t id;
    if (ioreq_server_create(t, e, HVM_IOREQSRV_BUFIOREQ_OFF, &id) < 0 ||
        ioreq_server_get_frame(t, e, id, 1, &dm->slots) < 0) {
        dm->unused = "the model refused its ioreq server";
        dm->active = false;
        return;
    }
    for (size_t i = 0; i < dm->nr_range; i++)
        if (ioreq_server_map_io_range(t, e, id, dm->range[i].type, dm->range[i].s, dm->range[i].e) <
            0)
            dm->ranges_refused++;
    dm_bind_ports(sv, dm, ioreq_server_get(t, id));
    ioreq_server_set_state(t, e, id, true);
    dm->server = id;
    dm->ready = true;
}

/* The events Xen delivered since the vcpu last ran, taken as its kernel's upcall handler takes
 * them (each port's PENDING bit cleared); then it returns from the upcall. Their handling is in
 * the recorded guest time. */
static void take_events(struct sim_vcpu *sv)
{
    struct replay_vcpu *v = sv->rp;
    if (!v->credits)
        return;
    /* a PV guest's recorded time holds Xen's delivery and its handler: what the replay charges
     * for them comes out of the compute that follows */
    bool hvm = sv->sd->cfg->hvm;
    uint64_t start = sv->pcpu->local;
    v->rr.absorb += v->credits * cost_cycles(sv->sd->m->cost,
                                             hvm ? COST_UPCALL_INJECT_HVM : COST_UPCALL_INJECT_PV);
    for (; v->credits; v->credits--) {
        while (rp_guest_plan(sv, &v->guest))
            if (rp_guest_act(sv, &v->guest) >= 0)
                sv->sd->m->replay->dm_events_taken++;
        rp_guest_upcall_done(&v->guest);
        if (hvm) { /* its handler's iretq: interrupts on again */
            sim_hvm_iret(sv);
            v->regs.rflags |= X86_EFLAGS_IF;
        }
    }
    v->regs.rsp = v->rr.stack_top;
    struct vcpu_info *vi = vcpu_info_ptr(sv->v);
    if (vi && !hvm)
        rp_guest_write(sv, &vi->evtchn_upcall_mask, 1, 0);
    v->rr.absorb += sv->pcpu->local - start;
}

/* ---- inferred channels: a guest's sends ---------------------------------------------------- */

/* The receiver's port: an IPI port on the receiving vcpu (the sender, of the same domain, sends
 * on it too), or an unbound port for the sending domain, notifying the receiving vcpu. */
static void chan_set_up(struct sim_vcpu *sv, struct rr_chan *c)
{
    struct rp_domain *d = sv->rp->dom;
    uint32_t vcpu = c->to & 0xffff;
    if (c->from == sv->sd->d->domid) {
        struct evtchn_bind_ipi b = {.vcpu = vcpu};
        c->ready = c->bound = rp_evtchn_call(sv, d, EVTCHNOP_bind_ipi, &b, sizeof(b)) == 0;
        c->port_to = c->port_from = b.port;
        return;
    }
    struct evtchn_alloc_unbound a = {.dom = DOMID_SELF, .remote_dom = (domid_t)c->from};
    if (rp_evtchn_call(sv, d, EVTCHNOP_alloc_unbound, &a, sizeof(a)) < 0)
        return;
    c->port_to = a.port;
    struct evtchn_bind_vcpu bv = {.port = a.port, .vcpu = vcpu};
    c->ready = vcpu == 0 || rp_evtchn_call(sv, d, EVTCHNOP_bind_vcpu, &bv, sizeof(bv)) == 0;
}

static struct rr_chan *chan_of(struct sim_replay *rp, uint32_t from, uint32_t to)
{
    for (size_t i = 0; i < rp->nr_chan; i++)
        if (rp->chan[i].active && rp->chan[i].from == from && rp->chan[i].to == to)
            return &rp->chan[i];
    return NULL;
}

static uint32_t dv_of(const struct sim_vcpu *sv)
{
    return (uint32_t)sv->sd->d->domid << 16 | sv->v->vcpu_id;
}

/* The send: on the channel (the sender binds its end at its first send), then the receiver's
 * wait for it is over; a receiver the event did not wake (its port not up) is woken. */
void rr_chan_send(struct sim_vcpu *sv, const struct rr_step *s)
{
    struct machine *m = sv->sd->m;
    struct sim_replay *rp = m->replay;
    struct rr_chan *c = chan_of(rp, sv->sd->d->domid, s->peer);
    if (!c || (s->peer >> 16) >= m->nr_dom || (s->peer & 0xffff) >= m->dom[s->peer >> 16].nr_vcpus)
        return;
    struct sim_vcpu *to = &m->dom[s->peer >> 16].vcpu[s->peer & 0xffff];
    if (c->ready && !c->bound) {
        struct evtchn_bind_interdomain b = {.remote_dom = (domid_t)(c->to >> 16),
                                            .remote_port = c->port_to};
        c->bound = rp_evtchn_call(sv, sv->rp->dom, EVTCHNOP_bind_interdomain, &b, sizeof(b)) == 0;
        c->port_from = b.local_port;
    }
    if (to->rp && to->rp->rr.sends_in < s->ord)
        to->rp->rr.sends_in = s->ord;
    if (c->bound) {
        struct evtchn_send snd = {.port = c->port_from};
        rp_evtchn_call(sv, sv->rp->dom, EVTCHNOP_send, &snd, sizeof(snd));
        rp->sends_played++;
        c->sent++;
    }
    if (to->rp && to->rp->rr.cond_wait && to->v->run_state == VCPU_BLOCKED) {
        rp->sends_kicked++;
        vcpu_wake_for_event(to->v, -1);
    }
}

/* An HVM receiver's upcall vector (HVM_PARAM_CALLBACK_IRQ), as its kernel announced it before
 * the recording began: the one Xen injected in the recording. */
static void chan_set_vector(struct sim_vcpu *sv)
{
    const struct sim_replay *rp = sv->sd->m->replay;
    for (size_t i = 0; i < rp->nr_chan; i++)
        if (rp->chan[i].active && rp->chan[i].to >> 16 == sv->sd->d->domid) {
            struct xen_hvm_param p = {.domid = DOMID_SELF,
                                      .index = HVM_PARAM_CALLBACK_IRQ,
                                      .value = (uint64_t)HVM_PARAM_CALLBACK_TYPE_VECTOR << 56 |
                                               rp->chan[i].vector};
            rp_call(sv, sv->rp->dom, __HYPERVISOR_hvm_op, HVMOP_set_param, &p, sizeof(p));
            return;
        }
}

/* Whether sv's domain receives on any inferred channel or serves as a device model. */
static bool takes_events(const struct sim_replay *rp, domid_t domid)
{
    for (size_t i = 0; i < rp->nr_rdm; i++)
        if (rp->rdm[i].active && rp->rdm[i].emulator == domid)
            return true;
    for (size_t i = 0; i < rp->nr_chan; i++)
        if (rp->chan[i].active && rp->chan[i].to >> 16 == domid)
            return true;
    return false;
}

void rr_dm_before_step(struct sim_vcpu *sv)
{
    struct sim_replay *rp = sv->sd->m->replay;
    domid_t domid = sv->sd->d->domid;
    take_events(sv);
    if (sv->v->vcpu_id != 0 || sv->rp->rr.dm_ready)
        return;
    sv->rp->rr.dm_ready = true;
    if (!takes_events(rp, domid))
        return;
    prepare_receivers(sv->sd);
    if (sv->sd->cfg->hvm)
        chan_set_vector(sv);
    for (size_t i = 0; i < rp->nr_rdm; i++)
        if (rp->rdm[i].active && rp->rdm[i].emulator == domid)
            dm_set_up(sv, &rp->rdm[i]);
    for (size_t i = 0; i < rp->nr_chan; i++)
        if (rp->chan[i].active && rp->chan[i].to >> 16 == domid)
            chan_set_up(sv, &rp->chan[i]);
}

/* Whether the HVM vcpu step s names has made the request s waits for (true when its device
 * model is not replayed: the step is then as the recording had it). */
static bool dm_request_made(struct sim_vcpu *sv, const struct rr_step *s)
{
    struct sim_replay *rp = sv->sd->m->replay;
    const struct rr_dm *dm = dm_of_target(rp, s->peer >> 16);
    if (!dm || !dm->ready || dm->emulator != sv->sd->d->domid)
        return true;
    const struct rp_domain *d = replay_domain_of(rp, s->peer >> 16, false);
    const struct replay_vcpu *hv =
        d && (s->peer & 0xffff) < RP_MAX_VCPUS ? d->vcpu[s->peer & 0xffff] : NULL;
    return !hv || hv->rr.fwd_played >= s->ord;
}

static bool dm_step_waits(const struct rr_step *s)
{
    return s->kind == RR_NOTIFY || (s->flags & RR_F_EVENT);
}

/* A wait for an inferred send that has not been made (its channel is replayed). */
static bool send_awaited(struct sim_vcpu *sv, const struct rr_step *s)
{
    return (s->flags & RR_F_SENT) && chan_of(sv->sd->m->replay, s->peer >> 16, dv_of(sv)) &&
           sv->rp->rr.sends_in < s->ord;
}

bool rr_dm_must_wait(struct sim_vcpu *sv, const struct rr_step *s)
{
    if (!send_awaited(sv, s) && (!dm_step_waits(s) || dm_request_made(sv, s))) {
        sv->rp->rr.cond_wait = false;
        return false;
    }
    sv->rp->rr.cond_wait = sv->rp->rr.cond_waited = true;
    sv->rp->rr.wait_ns = 0; /* no recorded wake: the request's */
    replay_wait_for_events(sv);
    return true;
}

bool rr_dm_wait_met(struct sim_vcpu *sv, const struct rr_step *s)
{
    struct sim_replay *rp = sv->sd->m->replay;
    const struct rr_dm *dm = (s->flags & RR_F_EVENT) ? dm_of_target(rp, s->peer >> 16) : NULL;
    bool waited = sv->rp->rr.cond_waited;
    sv->rp->rr.cond_waited = false;
    if ((s->flags & RR_F_SENT) && chan_of(rp, s->peer >> 16, dv_of(sv)))
        return true; /* the send came */
    if (!dm || !dm->ready || dm->emulator != sv->sd->d->domid)
        return false; /* a wait as recorded */
    rp->dm_waits_met += !waited;
    return true;
}

void rr_dm_notify(struct sim_vcpu *sv, const struct rr_step *s)
{
    struct sim_replay *rp = sv->sd->m->replay;
    struct rr_dm *dm = dm_of_target(rp, s->peer >> 16);
    unsigned k = s->peer & 0xffff;
    sv->rp->rr.cond_waited = false;
    if (!dm || !dm->ready || dm->emulator != sv->sd->d->domid || k >= RP_MAX_VCPUS)
        return;
    ioreq_t *slot = (ioreq_t *)dm->slots + k;
    if (slot->state != STATE_IOREQ_READY && slot->state != STATE_IOREQ_INPROCESS) {
        rp->notifies_unmatched++; /* Xen answered that request in the replay */
        return;
    }
    slot->state = STATE_IORESP_READY;
    struct evtchn_send snd = {.port = dm->local[k]};
    rp_evtchn_call(sv, sv->rp->dom, EVTCHNOP_send, &snd, sizeof(snd));
    rp->notifies_played++;
    const struct rp_domain *d = replay_domain_of(rp, s->peer >> 16, false);
    if (d && d->vcpu[k])
        d->vcpu[k]->rr.io_woken_at = sv->pcpu->local;
}

/* An emulator vcpu waiting for hv's request k: the one bound to hv's port wakes by its event,
 * unless Xen answered the request itself; the others (the recording had another vcpu woken,
 * by its kernel) are woken now. */
static bool dm_wakes_for(const struct sim_vcpu *w, uint32_t hv_dv, uint32_t k)
{
    const struct replay_vcpu *v = w->rp;
    if (!v || !v->rr.cond_wait || v->rr.next >= v->rr.n)
        return false;
    const struct rr_step *s = &v->rr.step[v->rr.next];
    return s->peer == hv_dv && s->ord <= k;
}

/* An access the recording shows answered without a round trip (the vcpu did not block: Xen
 * answered it, or its block's record was lost) to an address the server claims: no notification
 * of the emulator's will answer it, so it is answered at once, or the vcpu would wait for good. */
static void dm_answer_unrecorded(struct sim_vcpu *sv)
{
    struct sim_replay *rp = sv->sd->m->replay;
    const struct rr_dm *dm = dm_of_target(rp, sv->sd->d->domid);
    if (!sv->hvm_io.waiting || !dm || !dm->ready)
        return;
    ioreq_t *slot = (ioreq_t *)dm->slots + sv->v->vcpu_id;
    if (slot->state != STATE_IOREQ_READY)
        return;
    slot->state = STATE_IORESP_READY;
    /* as the server's notification would: Xen's consumer ends the wait, the vcpu goes on */
    sv->v->blocked_in_xen = false;
    sv->stop_requested = false;
    rp->dm_answered_at_once++;
    sim_hvm_io_resume(sv);
}

void rr_dm_request_made(struct sim_vcpu *sv, const struct rr_step *s)
{
    if (!(s->flags & RR_F_FWD)) {
        dm_answer_unrecorded(sv);
        return;
    }
    sv->rp->rr.fwd_played = s->ord;
    struct machine *m = sv->sd->m;
    const struct rr_dm *dm = dm_of_target(m->replay, sv->sd->d->domid);
    if (!dm || !dm->ready)
        return;
    struct sim_domain *ed = &m->dom[dm->emulator];
    uint32_t dv = dv_of(sv);
    bool sent = sv->hvm_io.waiting;
    int32_t serve = dm->serve[sv->v->vcpu_id];
    unsigned bound = serve > 0 ? (unsigned)serve : 0; /* a bind notifies vcpu 0 */
    for (unsigned j = 0; j < ed->nr_vcpus; j++) {
        struct sim_vcpu *w = &ed->vcpu[j];
        if (dm_wakes_for(w, dv, s->ord) && (!sent || j != bound))
            vcpu_wake_for_event(w->v, -1);
    }
}
