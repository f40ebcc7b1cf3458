/* The hypervisor context, domains and vcpus (Xen's common/domain.c and the wake-up half of
 * common/sched/core.c, reduced to what the event paths need). */
#include <stdlib.h>
#include <string.h>

#include "models/shared_info.h"
#include "models/domain.h"
#include "models/evtchn.h"
#include "models/hypercall.h"
#include "models/ioreq.h"
#include "models/loglvl.h"
#include "models/physmap.h"
#include "models/hv_sink.h"

void hv_init(struct hv *hv, const struct hv_mem_ops *mem, void *mem_opaque,
             const struct hv_sink_ops *sink, void *sink_opaque, const struct cost_profile *cost)
{
    memset(hv, 0, sizeof(*hv));
    hv->mem = mem;
    hv->mem_opaque = mem_opaque;
    hv->sink = sink;
    hv->sink_opaque = sink_opaque;
    hv_set_steps(hv, true);
    hv->raises_coalesced = true;
    hv->cost = cost;
    for (unsigned i = 0; cost && i < COST_IDS; i++)
        hv->cycles[i] = cost_cycles(cost, (enum cost_id)i);
    console_set_loglvl(hv, CONSOLE_LOG_ALL, CONSOLE_LOG_ALL);
    /* global_virq_handler[] is all zero: every global VIRQ goes to domain 0, the hardware
     * domain, until reassigned (Xen's get_global_virq_handler). */
}

void hv_destroy(struct hv *hv)
{
    for (unsigned i = 0; i < HV_MAX_DOMAINS; i++)
        if (hv->domain[i])
            domain_destroy(hv->domain[i]);
}

static int domain_config_check(const struct hv *hv, const struct domain_config *cfg)
{
    if (!cfg || cfg->domid >= HV_MAX_DOMAINS)
        return -XEN_EINVAL;
    if (cfg->max_vcpus == 0 || cfg->max_vcpus > HV_MAX_VCPUS)
        return -XEN_EINVAL;
    if (cfg->guest_word_bits != 0 && cfg->guest_word_bits != 32 && cfg->guest_word_bits != 64)
        return -XEN_EINVAL;
    if (hv->domain[cfg->domid])
        return -XEN_EEXIST;
    return 0;
}

/* vcpu 0 is set up by the domain builder; the others wait for VCPUOP_initialise + up. */
static struct vcpu *vcpu_create(struct domain *d, unsigned vcpu_id)
{
    struct vcpu *v = calloc(1, sizeof(*v));

    if (!v)
        return NULL;
    v->domain = d;
    v->vcpu_id = vcpu_id;
    v->initialised = vcpu_id == 0;
    v->run_state = vcpu_id == 0 ? VCPU_RUNNABLE : VCPU_DOWN;
    v->periodic_period = PV_DEFAULT_PERIODIC_NS; /* "PV guests by default have a 100Hz ticker" */
    /* 64-bit PV enters the event callback with TBF_INTERRUPT: events are always masked. */
    v->event_callback_masks = true;
    return v;
}

static int domain_create_vcpus(struct domain *d)
{
    d->vcpu = calloc(d->max_vcpus, sizeof(*d->vcpu));
    if (!d->vcpu)
        return -XEN_ENOMEM;
    for (unsigned i = 0; i < d->max_vcpus; i++) {
        d->vcpu[i] = vcpu_create(d, i);
        if (!d->vcpu[i])
            return -XEN_ENOMEM;
    }
    return 0;
}

static void domain_free(struct domain *d)
{
    /* Servers first: their ports are Xen's, closed before the table goes. */
    ioreq_domain_destroy(d);
    if (d->evtchn_port_ops)
        evtchn_destroy(d);
    if (d->vcpu)
        for (unsigned i = 0; i < d->max_vcpus; i++)
            free(d->vcpu[i]);
    free(d->vcpu);
    free(d->pirq_to_evtchn);
    free(d->pirq_line);
    free(d->stats.port);
    physmap_free(d);
    free(d);
}

static void domain_apply_config(struct domain *d, struct hv *hv, const struct domain_config *cfg)
{
    d->hv = hv;
    d->domid = cfg->domid;
    d->privileged = cfg->privileged;
    d->paused = cfg->paused;
    d->controller_pause_count = cfg->paused;
    d->hvm = cfg->hvm;
    d->guest_word_bits = cfg->guest_word_bits ? cfg->guest_word_bits : 64;
    d->shutdown_reason = -1;
    d->max_vcpus = cfg->max_vcpus;
    d->shared_info_gpa = cfg->shared_info_gpa;
    d->max_evtchn_port = cfg->max_evtchn_port ? cfg->max_evtchn_port : HV_DEFAULT_MAX_EVTCHN_PORT;
    d->nr_pirqs = cfg->nr_pirqs ? cfg->nr_pirqs : HV_DEFAULT_NR_PIRQS;
}

int domain_create(struct hv *hv, const struct domain_config *cfg, struct domain **out)
{
    struct domain *d;
    int rc = domain_config_check(hv, cfg);

    if (rc)
        return rc;
    d = calloc(1, sizeof(*d));
    if (!d)
        return -XEN_ENOMEM;
    domain_apply_config(d, hv, cfg);
    rc = domain_create_vcpus(d);
    if (!rc) {
        d->pirq_to_evtchn = calloc(d->nr_pirqs, sizeof(*d->pirq_to_evtchn));
        d->pirq_line = calloc(d->nr_pirqs, sizeof(*d->pirq_line));
        rc = d->pirq_to_evtchn && d->pirq_line ? evtchn_init(d) : -XEN_ENOMEM;
    }
    if (rc) {
        domain_free(d);
        return rc;
    }
    hv->domain[d->domid] = d;
    hv->nr_domains++;
    if (out)
        *out = d;
    return 0;
}

void domain_destroy(struct domain *d)
{
    struct hv *hv = d->hv;

    /* Close every port first so that interdomain peers fall back to UNBOUND (Xen's
     * evtchn_destroy), then drop the domain from the table. */
    d->is_dying = true;
    if (hv->domain[d->domid] == d) {
        hv->domain[d->domid] = NULL;
        hv->nr_domains--;
    }
    if (hv->current && hv->current->domain == d)
        hv->current = NULL;
    domain_free(d);
}

struct domain *domain_lookup(struct hv *hv, struct domain *self, domid_t domid)
{
    if (domid == DOMID_SELF)
        return self;
    if (domid >= HV_MAX_DOMAINS)
        return NULL;
    return hv->domain[domid];
}

/* The first use of d's shared_info: translate its page and keep the pointer (shared_info_ptr
 * reads it from then on). NULL while the page is not guest memory. */
struct shared_info *shared_info_map(struct domain *d)
{
    if (!d->shared_info)
        d->shared_info = guest_phys_ptr(d, d->shared_info_gpa, sizeof(struct shared_info));
    return d->shared_info;
}

/* vcpu_info_ptr's cases beyond a registered copy or a legacy slot already mapped: shared_info
 * not translated yet (or not guest memory), or a vcpu with no legacy slot. */
struct vcpu_info *vcpu_info_unmapped(struct vcpu *v)
{
    struct shared_info *s;

    if (v->vcpu_id >= XEN_LEGACY_MAX_VCPUS)
        return NULL;
    s = shared_info_ptr(v->domain);
    return s ? &s->vcpu_info[v->vcpu_id] : NULL;
}

int domain_init_shared_info(struct domain *d)
{
    struct shared_info *s = shared_info_ptr(d);

    if (!s)
        return -XEN_EFAULT;
    memset(s, 0, sizeof(*s));
    for (unsigned i = 0; i < XEN_LEGACY_MAX_VCPUS; i++)
        s->vcpu_info[i].evtchn_upcall_mask = 1;
    return 0;
}

bool vcpu_local_events_need_delivery(struct vcpu *v)
{
    return vcpu_events_need_delivery(v);
}

uint64_t vcpu_now_ns(struct vcpu *v)
{
    const struct hv *hv = v->domain->hv;

    if (!hv->sink || !hv->sink->now_ns)
        return 0;
    return hv->sink->now_ns(hv->sink_opaque, v);
}

/* Xen's vcpu_unblock + the poll clean-up of vcpu_wake: a blocked or polling vcpu becomes
 * runnable, its poll timeout is cancelled, and the simulator schedules it. */
static void vcpu_unblock(struct vcpu *v)
{
    if (v->run_state != VCPU_BLOCKED)
        return;
    v->run_state = VCPU_RUNNABLE;
    if (v->polling) {
        v->polling = false;
        v->nr_poll_ports = 0;
        sink_timer(v, HV_TIMER_POLL, 0);
    }
    v->stats.wakes++;
    sink_wake(v);
}

/* Xen records a single polled port in poll_evtchn and -1 ("any port of the domain") when
 * several are polled, so a multi-port poller wakes for any event of its domain. */
static bool vcpu_polls_port(const struct vcpu *v, uint32_t port)
{
    return v->nr_poll_ports != 1 || v->poll_ports[0] == port;
}

void vcpu_wake_for_event(struct vcpu *v, int port)
{
    if (v->run_state != VCPU_BLOCKED)
        return;
    if (v->polling && port >= 0 && !vcpu_polls_port(v, (uint32_t)port))
        return;
    vcpu_unblock(v);
}

void domain_wake_pollers(struct domain *d, uint32_t port)
{
    for (unsigned i = 0; i < d->max_vcpus; i++) {
        struct vcpu *v = d->vcpu[i];

        if (v->polling && vcpu_polls_port(v, port)) {
            sink_step(HV_STEP_POLL_WAKE, d, port, v, 0);
            vcpu_unblock(v);
        }
    }
}

/* Xen's vcpu_mark_events_pending + vcpu_kick: only the 0 -> 1 edge of upcall_pending
 * notifies. A blocked vcpu (SCHEDOP_block or poll) is woken; a runnable one is kicked so the
 * simulator can IPI it if it runs elsewhere; a down vcpu is left alone. */
void vcpu_mark_events_pending(struct vcpu *v)
{
    struct vcpu_info *vi = vcpu_info_ptr(v);

    sink_step(HV_STEP_MARK, v->domain, 0, v, 0);
    if (!vi || guest_xchg8(v->domain->hv, vcpu_info_upcall_pending(vi), 1))
        return;
    v->upcall_edges++;
    if (v->run_state == VCPU_BLOCKED)
        vcpu_unblock(v);
    else if (v->run_state == VCPU_RUNNABLE)
        sink_kick(v);
}

void domain_shutdown(struct domain *d, unsigned reason)
{
    if (d->shutdown_reason >= 0)
        return;
    d->shutdown_reason = (int)reason;
    sink_shutdown(d, reason);
    /* __domain_finalise_shutdown: the domain-exception VIRQ tells the toolstack (and a device
     * model watching it) that a domain changed state. */
    if (d->hv->global_virq_handler[VIRQ_DOM_EXC] != d->domid)
        send_guest_global_virq(d->hv, VIRQ_DOM_EXC);
}

void domain_crash(struct domain *d, const char *why)
{
    if (d->shutdown_reason < 0)
        d->crash_why = why;
    domain_shutdown(d, SHUTDOWN_crash);
}
