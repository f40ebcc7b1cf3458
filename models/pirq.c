/* Physical IRQ lines routed to one PV guest each (see pirq.h). The line's life, for a level
 * line: raised by the device (asserted) -> fired into Xen if not blocked: masked (blocked),
 * event sent, 1 ms timer armed -> the guest's PHYSDEVOP_eoi or the timer unblocks it -> fired
 * again at once if raised meanwhile. The device counts as serviced once its assertion has been
 * delivered (the guest's handler talks to it before the EOI), so a raise held back while the
 * line was blocked is what makes it fire again. Edge lines fire on every raise. */
#include "models/pirq.h"

#include "models/evtchn.h"
#include "models/hv_sink.h"

static struct pirq_line *line_of(struct domain *d, unsigned pirq)
{
    return pirq < d->nr_pirqs ? &d->pirq_line[pirq] : NULL;
}

int pirq_set_level(struct domain *d, unsigned pirq, bool level)
{
    struct pirq_line *l = line_of(d, pirq);

    if (!l)
        return -XEN_EINVAL;
    l->level = level;
    return 0;
}

static uint64_t pirq_now_ns(struct domain *d)
{
    return d->max_vcpus ? vcpu_now_ns(d->vcpu[0]) : 0;
}

/* do_IRQ_guest for one guest: a level line is masked (blocked until the EOI) with the timer
 * armed; then send_guest_pirq. */
static void line_fire(struct domain *d, unsigned pirq)
{
    struct pirq_line *l = &d->pirq_line[pirq];

    if (l->level) {
        l->asserted = false;
        l->masked = true;
        sink_pirq_timer(d, pirq, pirq_now_ns(d) + PIRQ_EOI_TIMEOUT_NS);
    }
    l->delivered++;
    pirq_raise(d, pirq);
}

/* The EOI reached the line (desc->handler->end): it may fire again, and does at once if the
 * device raised it meanwhile and a port is there to take it. */
static void line_end(struct domain *d, unsigned pirq)
{
    struct pirq_line *l = &d->pirq_line[pirq];

    if (l->asserted && l->bound_to)
        line_fire(d, pirq);
}

/* test_and_clear(pirq->masked); the last guest in flight stops the timer. */
static bool line_unmask(struct domain *d, unsigned pirq)
{
    struct pirq_line *l = &d->pirq_line[pirq];

    if (!l->masked)
        return false;
    l->masked = false;
    sink_pirq_timer(d, pirq, 0);
    return true;
}

/* An EOI owed is made (by the guest or the timer, counted in *count): the line is unblocked
 * and fires again if it was raised meanwhile. Nothing if none is owed. */
static void line_eoi(struct domain *d, unsigned pirq, uint64_t *count)
{
    if (!line_unmask(d, pirq))
        return;
    (*count)++;
    line_end(d, pirq);
}

/* set_pirq_eoi / clear_pirq_eoi: only once the guest has registered a bitmap. */
static void eoi_map_write(struct domain *d, unsigned pirq, bool needs_eoi)
{
    volatile uint64_t *word;

    if (!d->pirq_eoi_map || pirq >= XEN_PAGE_SIZE * 8)
        return;
    word = &d->pirq_eoi_map[pirq / 64];
    if (needs_eoi)
        guest_test_and_set_bit(d->hv, pirq % 64, word);
    else
        guest_test_and_clear_bit(d->hv, pirq % 64, word);
}

/* __pirq_guest_unbind with the last guest gone: an EOI still owed is made (no re-fire: the
 * line is disabled with no guest). */
static void guest_unbind(struct domain *d, unsigned pirq)
{
    line_unmask(d, pirq);
    d->pirq_line[pirq].bound_to = 0;
}

static void guest_bind(struct domain *d, unsigned pirq, uint32_t port)
{
    struct pirq_line *l = &d->pirq_line[pirq];

    l->bound_to = port;
    eoi_map_write(d, pirq, l->level);
    if (l->level && l->asserted && !l->masked)
        line_fire(d, pirq); /* enabling an asserted level line fires it */
}

static void line_sync(struct domain *d, unsigned pirq)
{
    uint32_t port = d->pirq_to_evtchn[pirq];
    struct pirq_line *l = &d->pirq_line[pirq];

    if (l->bound_to == port)
        return;
    if (l->bound_to)
        guest_unbind(d, pirq);
    if (port)
        guest_bind(d, pirq, port);
}

void pirq_sync_bindings(struct domain *d)
{
    for (unsigned pirq = 0; pirq < d->nr_pirqs; pirq++)
        line_sync(d, pirq);
}

enum pirq_raise_result pirq_line_raise(struct domain *d, unsigned pirq)
{
    struct pirq_line *l = line_of(d, pirq);

    if (!l)
        return PIRQ_BAD;
    line_sync(d, pirq);
    if (!l->level) {
        if (!l->bound_to)
            return PIRQ_UNBOUND;
        line_fire(d, pirq);
        return PIRQ_SENT;
    }
    l->asserted = true;
    if (l->masked) {
        l->held_back++;
        return PIRQ_HELD;
    }
    if (!l->bound_to)
        return PIRQ_UNBOUND;
    line_fire(d, pirq);
    return PIRQ_SENT;
}

void pirq_eoi_timer_expired(struct domain *d, unsigned pirq)
{
    struct pirq_line *l = line_of(d, pirq);

    if (!l)
        return;
    line_sync(d, pirq);
    line_eoi(d, pirq, &l->forced_eois);
}

/* pirq_guest_eoi after the optional auto-unmask of PHYSDEVOP_eoi. An unbound line has port 0,
 * which Xen would unmask (port 0 is reserved and never raised): nothing to do here. */
void pirq_guest_eoi(struct domain *d, unsigned pirq)
{
    struct pirq_line *l = line_of(d, pirq);

    if (!l)
        return;
    line_sync(d, pirq);
    if (d->auto_unmask && l->bound_to)
        evtchn_port_unmask(d, evtchn_from_port(d, l->bound_to));
    line_eoi(d, pirq, &l->guest_eois);
}

void pirq_guest_unmask(struct domain *d)
{
    for (unsigned pirq = 0; pirq < d->nr_pirqs; pirq++) {
        struct pirq_line *l = &d->pirq_line[pirq];

        line_sync(d, pirq);
        if (l->masked && !evtchn_is_masked(d, evtchn_from_port(d, l->bound_to)))
            line_eoi(d, pirq, &l->guest_eois);
    }
}
