/* HYPERVISOR_sched_op and set_timer_op (xen/common/sched/core.c): yield, block, poll,
 * shutdown, and the single-shot and poll timers, whose expiry sim/ reports back through
 * vcpu_timer_expired. */
#include <string.h>

#include "models/shared_info.h"
#include "models/evtchn.h"
#include "models/hypercall.h"
#include "models/hv_sink.h"

static long sched_yield(struct vcpu *v, void *arg)
{
    (void)arg;
    v->yield_requested = true;
    return 0;
}

/* Xen's vcpu_block_enable_events: enable delivery, then block unless an event is already
 * deliverable (checked after blocking, so a wake-up cannot be missed). */
static long sched_block(struct vcpu *v, void *arg)
{
    struct vcpu_info *vi = vcpu_info_ptr(v);

    (void)arg;
    if (vi) {
        guest_touch(v->domain->hv, vcpu_info_upcall_mask(vi), 1, GUEST_WRITE);
        *vcpu_info_upcall_mask(vi) = 0;
    }
    if (vcpu_local_events_need_delivery(v))
        return 0;
    v->run_state = VCPU_BLOCKED;
    v->stats.blocks++;
    return 0;
}

static long sched_shutdown(struct vcpu *v, void *arg)
{
    const struct sched_shutdown *s = arg;

    domain_shutdown(v->domain, (uint8_t)s->reason);
    return 0;
}

/* Copy the polled ports in and look at each: an invalid one fails the poll, a pending one
 * ends it at once (1). Ports whose bucket was never allocated are simply invalid (XSA-221). */
static int sched_poll_scan(struct vcpu *v, const struct sched_poll *p, uint64_t ports_gpa)
{
    for (unsigned i = 0; i < p->nr_ports; i++) {
        evtchn_port_t port;
        int rc;

        if (copy_from_guest(v->domain, &port, ports_gpa + (uint64_t)i * sizeof(port), sizeof(port)))
            return -XEN_EFAULT;
        rc = evtchn_port_poll(v->domain, port);
        if (rc)
            return rc;
        v->poll_ports[i] = port;
    }
    return 0;
}

static long sched_poll(struct vcpu *v, void *arg)
{
    const struct sched_poll *p = arg;
    uint64_t ports_gpa;
    int rc;

    /* The guest handle is one pointer-sized word holding a guest address. */
    _Static_assert(sizeof(p->ports) == sizeof(ports_gpa), "64-bit guest handle");
    memcpy(&ports_gpa, &p->ports, sizeof(ports_gpa));

    if (p->nr_ports > SCHED_POLL_MAX_PORTS)
        return -XEN_EINVAL;
    if (p->nr_ports && !guest_ptr(v->domain, ports_gpa, p->nr_ports * sizeof(evtchn_port_t)))
        return -XEN_EFAULT;
    if (vcpu_local_events_need_delivery(v))
        return 0;
    rc = sched_poll_scan(v, p, ports_gpa);
    if (rc)
        return rc < 0 ? rc : 0;
    if (p->timeout != 0 && p->timeout <= vcpu_now_ns(v))
        return 0; /* the timer would fire at once */
    v->nr_poll_ports = p->nr_ports;
    v->polling = true;
    v->run_state = VCPU_BLOCKED;
    v->stats.blocks++;
    if (p->timeout != 0)
        sink_timer(v, HV_TIMER_POLL, p->timeout);
    return 0;
}

/* X(command, bytes copied in, handler) */
#define SCHED_OPS(X)                                                                               \
    X(yield, 0, sched_yield)                                                                       \
    X(block, 0, sched_block)                                                                       \
    X(shutdown, sizeof(struct sched_shutdown), sched_shutdown)                                     \
    X(poll, sizeof(struct sched_poll), sched_poll)

struct sched_op_desc {
    unsigned cmd;
    const char *name;
    size_t arg_size;
    long (*handler)(struct vcpu *v, void *arg);
};

#define SCHED_OP_ENTRY(cmd_, size_, fn_) [SCHEDOP_##cmd_] = {SCHEDOP_##cmd_, #cmd_, size_, fn_},
static const struct sched_op_desc sched_op_table[] = {SCHED_OPS(SCHED_OP_ENTRY)};
#define SCHED_OP_NR (sizeof(sched_op_table) / sizeof(sched_op_table[0]))

#define SCHED_OP_NAME(cmd_, size_, fn_) [SCHEDOP_##cmd_] = #cmd_,
const char *const sched_op_names[] = {SCHED_OPS(SCHED_OP_NAME) NULL};

long do_sched_op(struct vcpu *v, unsigned cmd, uint64_t arg_gpa)
{
    _Alignas(8) unsigned char arg[sizeof(struct sched_poll)];
    const struct sched_op_desc *op;

    if (cmd >= SCHED_OP_NR || !sched_op_table[cmd].handler)
        return -XEN_ENOSYS;
    op = &sched_op_table[cmd];
    if (copy_from_guest(v->domain, arg, arg_gpa, op->arg_size))
        return -XEN_EFAULT;
    return op->handler(v, arg);
}

static void vcpu_singleshot_arm(struct vcpu *v, uint64_t deadline)
{
    v->singleshot_deadline = deadline;
    sink_timer(v, HV_TIMER_SINGLESHOT, deadline);
}

/* The expiry of an already-passed deadline is immediate: the timer is not armed. */
static void vcpu_singleshot_fire(struct vcpu *v)
{
    if (v->singleshot_deadline) {
        v->singleshot_deadline = 0;
        sink_timer(v, HV_TIMER_SINGLESHOT, 0);
    }
    send_guest_vcpu_virq(v, VIRQ_TIMER);
}

/* Timeouts that wrapped negative or lie more than 2^50 ns (~13 days) ahead are Linux jiffy
 * wrap-around: Xen fires them in 100 ms instead. */
#define SET_TIMER_HUGE_SHIFT 50
#define SET_TIMER_HUGE_DELAY_NS 100000000ull

long do_set_timer_op(struct vcpu *v, uint64_t timeout_ns)
{
    uint64_t now = vcpu_now_ns(v);
    int64_t offset = (int64_t)(timeout_ns - now);

    if (timeout_ns == 0) {
        v->singleshot_deadline = 0;
        sink_timer(v, HV_TIMER_SINGLESHOT, 0);
    } else if ((int64_t)timeout_ns < 0 ||
               (offset > 0 && (uint32_t)(offset >> SET_TIMER_HUGE_SHIFT) != 0)) {
        vcpu_singleshot_arm(v, now + SET_TIMER_HUGE_DELAY_NS);
    } else if (timeout_ns <= now) {
        vcpu_singleshot_fire(v);
    } else {
        vcpu_singleshot_arm(v, timeout_ns);
    }
    return 0;
}

/* Used by VCPUOP_set_singleshot_timer too. */
void vcpu_set_singleshot_timer(struct vcpu *v, uint64_t deadline_ns)
{
    if (deadline_ns <= vcpu_now_ns(v))
        vcpu_singleshot_fire(v);
    else
        vcpu_singleshot_arm(v, deadline_ns);
}

void vcpu_stop_singleshot_timer(struct vcpu *v)
{
    v->singleshot_deadline = 0;
    sink_timer(v, HV_TIMER_SINGLESHOT, 0);
}

/* The new period starts now. Only the calling vcpu holds a CPU for sure: another vcpu's timer
 * is armed when it is next switched in (vcpu_periodic_timer_work), as in Xen. */
void vcpu_set_periodic_timer(struct vcpu *v, uint64_t period_ns)
{
    if (v->periodic_period)
        sink_timer(v, HV_TIMER_PERIODIC, 0);
    v->periodic_period = period_ns;
    v->periodic_last_event = vcpu_now_ns(v);
    if (period_ns && v == v->domain->hv->current)
        sink_timer(v, HV_TIMER_PERIODIC, v->periodic_last_event + period_ns);
}

void vcpu_periodic_timer_work(struct vcpu *v)
{
    if (!v->periodic_period)
        return;
    uint64_t now = vcpu_now_ns(v), next = v->periodic_last_event + v->periodic_period;
    if (now >= next) {
        send_guest_vcpu_virq(v, VIRQ_TIMER);
        v->periodic_last_event = now;
        next = now + v->periodic_period;
    }
    sink_timer(v, HV_TIMER_PERIODIC, next);
}

void vcpu_periodic_timer_stop(struct vcpu *v)
{
    sink_timer(v, HV_TIMER_PERIODIC, 0);
}

void vcpu_timer_expired(struct vcpu *v, enum hv_timer_kind kind)
{
    switch (kind) {
    case HV_TIMER_SINGLESHOT:
        if (v->singleshot_deadline == 0)
            break; /* a stale expiry of a timer stopped since */
        v->singleshot_deadline = 0;
        send_guest_vcpu_virq(v, VIRQ_TIMER);
        break;
    case HV_TIMER_PERIODIC:
        if (v->periodic_period == 0)
            break;
        send_guest_vcpu_virq(v, VIRQ_TIMER);
        v->periodic_last_event = vcpu_now_ns(v);
        sink_timer(v, HV_TIMER_PERIODIC, v->periodic_last_event + v->periodic_period);
        break;
    case HV_TIMER_POLL:
        /* The poll hypercall already returned 0; waking ends it. */
        if (v->polling) {
            sink_step(HV_STEP_POLL_TIMEOUT, v->domain, 0, v, 0);
            vcpu_wake_for_event(v, -1);
        }
        break;
    default:
        break;
    }
}
