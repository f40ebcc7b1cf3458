/* Internal to models/: calls into the event sink that tolerate a missing sink or hook (a
 * model-only sweep or a unit test may install none). */
#ifndef EVSIM_MODELS_HV_SINK_H
#define EVSIM_MODELS_HV_SINK_H

#include "models/domain.h"

static inline const struct hv_sink_ops *hv_sink_of(const struct domain *d)
{
    return d->hv->sink;
}

static inline void sink_kick(struct vcpu *v)
{
    const struct hv_sink_ops *s = hv_sink_of(v->domain);

    if (s && s->kick)
        s->kick(v->domain->hv->sink_opaque, v);
}

static inline void sink_wake(struct vcpu *v)
{
    const struct hv_sink_ops *s = hv_sink_of(v->domain);

    if (s && s->wake)
        s->wake(v->domain->hv->sink_opaque, v);
}

static inline void sink_timer(struct vcpu *v, enum hv_timer_kind kind, uint64_t deadline_ns)
{
    const struct hv_sink_ops *s = hv_sink_of(v->domain);

    if (s && s->timer)
        s->timer(v->domain->hv->sink_opaque, v, kind, deadline_ns);
}

static inline void sink_vcpu_up(struct vcpu *v)
{
    const struct hv_sink_ops *s = hv_sink_of(v->domain);

    if (s && s->vcpu_up)
        s->vcpu_up(v->domain->hv->sink_opaque, v);
}

static inline void sink_vcpu_down(struct vcpu *v)
{
    const struct hv_sink_ops *s = hv_sink_of(v->domain);

    if (s && s->vcpu_down)
        s->vcpu_down(v->domain->hv->sink_opaque, v);
}

static inline void sink_raise(struct domain *d, uint32_t port, struct vcpu *v, uint64_t before,
                              uint64_t after, bool newly_pending)
{
    const struct hv_sink_ops *s = hv_sink_of(d);

    if (s && s->raise)
        s->raise(d->hv->sink_opaque, d, port, v, before, after, newly_pending);
}

static inline void sink_step(enum hv_step_kind kind, struct domain *d, uint32_t port,
                             struct vcpu *v, uint32_t arg)
{
    if (d->hv->steps)
        d->hv->sink->step(d->hv->sink_opaque, kind, d, port, v, arg);
}

static inline void sink_event_page(struct domain *d, uint64_t gpa, enum hv_event_page_kind kind,
                                   unsigned index)
{
    const struct hv_sink_ops *s = hv_sink_of(d);

    if (s && s->event_page)
        s->event_page(d->hv->sink_opaque, d, gpa, kind, index);
}

static inline void sink_event_pages_released(struct domain *d)
{
    const struct hv_sink_ops *s = hv_sink_of(d);

    if (s && s->event_pages_released)
        s->event_pages_released(d->hv->sink_opaque, d);
}

static inline void sink_console(struct vcpu *v, const char *buf, size_t len)
{
    const struct hv_sink_ops *s = hv_sink_of(v->domain);

    if (s && s->console)
        s->console(v->domain->hv->sink_opaque, v, buf, len);
}

static inline void sink_update_time(struct vcpu *v)
{
    const struct hv_sink_ops *s = hv_sink_of(v->domain);

    if (s && s->update_time)
        s->update_time(v->domain->hv->sink_opaque, v);
}

static inline void sink_pirq_timer(struct domain *d, unsigned pirq, uint64_t deadline_ns)
{
    const struct hv_sink_ops *s = hv_sink_of(d);

    if (s && s->pirq_timer)
        s->pirq_timer(d->hv->sink_opaque, d, pirq, deadline_ns);
}

static inline void sink_shutdown(struct domain *d, unsigned reason)
{
    const struct hv_sink_ops *s = hv_sink_of(d);

    if (s && s->shutdown)
        s->shutdown(d->hv->sink_opaque, d, reason);
}

static inline void sink_xen_line(struct domain *d, const char *text)
{
    const struct hv_sink_ops *s = hv_sink_of(d);

    if (s && s->xen_line)
        s->xen_line(d->hv->sink_opaque, text);
}

static inline void sink_xen_wait(struct vcpu *v, bool blocked)
{
    const struct hv_sink_ops *s = hv_sink_of(v->domain);

    if (s && s->xen_wait)
        s->xen_wait(v->domain->hv->sink_opaque, v, blocked);
}

/* Ioreq servers need a simulator that can hold a vcpu while its emulator answers (xen_wait)
 * and map the servers' pages into guest memory (ioreq_page). One without them gets no servers:
 * a clear error beats requests that would never be answered. */
static inline bool sink_runs_ioreq_servers(const struct domain *d)
{
    const struct hv_sink_ops *s = hv_sink_of(d);

    return s && s->xen_wait && s->ioreq_page;
}

static inline void sink_ioreq_page(struct domain *d, uint64_t gfn, void *page)
{
    const struct hv_sink_ops *s = hv_sink_of(d);

    if (s && s->ioreq_page)
        s->ioreq_page(d->hv->sink_opaque, d, gfn, page);
}

/* Charge the vcpu whose hypercall is running (if any) for work done on its behalf. */
static inline void hv_charge_current(struct hv *hv, enum cost_id id)
{
    if (hv->current)
        vcpu_charge(hv->current, id);
}

#endif
