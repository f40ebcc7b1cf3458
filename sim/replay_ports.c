/* Replay's port numbers: where the new timing bound a port under another number than the
 * recording's (two vcpus binding at once, in the other order), the recorded numbers are renamed
 * wherever the guests name a port: in the event-channel calls' arguments and SCHEDOP_poll's
 * list, in the events their handlers took, in the bits of the pages they touched. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "models/xen_public.h"
#include "sim/machine.h"
#include "sim/replay_int.h"

/* A bind's output port: where it is in the call's argument, or -1 for no bind. */
int replay_bound_port_offset(uint64_t cmd)
{
    static const struct {
        uint32_t cmd;
        int offset;
    } binds[] = {
        {EVTCHNOP_alloc_unbound, offsetof(struct evtchn_alloc_unbound, port)},
        {EVTCHNOP_bind_interdomain, offsetof(struct evtchn_bind_interdomain, local_port)},
        {EVTCHNOP_bind_virq, offsetof(struct evtchn_bind_virq, port)},
        {EVTCHNOP_bind_pirq, offsetof(struct evtchn_bind_pirq, port)},
        {EVTCHNOP_bind_ipi, offsetof(struct evtchn_bind_ipi, port)},
    };
    for (size_t i = 0; i < sizeof(binds) / sizeof(binds[0]); i++)
        if (binds[i].cmd == cmd)
            return binds[i].offset;
    return -1;
}

/* The ports a call names as inputs (of the caller's domain unless said): the offset of each. */
struct port_arg {
    uint32_t cmd;
    int offset;
    int remote_dom; /* offset of a domid_t naming the port's domain, or -1: the caller's */
};

static const struct port_arg port_args[] = {
    {EVTCHNOP_send, offsetof(struct evtchn_send, port), -1},
    {EVTCHNOP_unmask, offsetof(struct evtchn_unmask, port), -1},
    {EVTCHNOP_close, offsetof(struct evtchn_close, port), -1},
    {EVTCHNOP_bind_vcpu, offsetof(struct evtchn_bind_vcpu, port), -1},
    {EVTCHNOP_set_priority, offsetof(struct evtchn_set_priority, port), -1},
    {EVTCHNOP_status, offsetof(struct evtchn_status, port), offsetof(struct evtchn_status, dom)},
    {EVTCHNOP_bind_interdomain, offsetof(struct evtchn_bind_interdomain, remote_port),
     offsetof(struct evtchn_bind_interdomain, remote_dom)},
};

static bool map_grow(struct rp_domain *d, uint32_t port)
{
    if (port < d->map_cap)
        return true;
    uint32_t cap = d->map_cap ? d->map_cap : 64;
    while (cap <= port)
        cap *= 2;
    uint32_t *a = realloc(d->to_new, cap * sizeof(*a)), *b;
    if (!a)
        return false;
    d->to_new = a;
    if (!(b = realloc(d->to_rec, cap * sizeof(*b))))
        return false;
    d->to_rec = b;
    memset(a + d->map_cap, 0, (cap - d->map_cap) * sizeof(*a));
    memset(b + d->map_cap, 0, (cap - d->map_cap) * sizeof(*b));
    d->map_cap = cap;
    return true;
}

void replay_port_bound(struct rp_domain *d, uint32_t recorded, uint32_t now)
{
    if (recorded == now && !d->renamed)
        return;
    uint32_t hi = recorded > now ? recorded : now;
    if (!map_grow(d, hi))
        return;
    d->to_new[recorded] = now + 1;
    d->to_rec[now] = recorded + 1;
    d->renamed |= recorded != now;
}

uint32_t replay_port_now(const struct rp_domain *d, uint32_t recorded)
{
    return d && recorded < d->map_cap && d->to_new[recorded] ? d->to_new[recorded] - 1 : recorded;
}

uint32_t replay_port_recorded(const struct rp_domain *d, uint32_t now)
{
    return d && now < d->map_cap && d->to_rec[now] ? d->to_rec[now] - 1 : now;
}

static void rename_at(struct sim_domain *sd, const struct rp_domain *d, uint64_t gpa)
{
    uint32_t port;
    if (!d || !d->renamed || gpa < XEN_PAGE_SIZE || gpa > sd->ram_size ||
        sd->ram_size - gpa < sizeof(port))
        return;
    memcpy(&port, sd->ram + gpa, sizeof(port));
    port = replay_port_now(d, port);
    memcpy(sd->ram + gpa, &port, sizeof(port));
}

void replay_rename_args(struct sim_vcpu *sv, const struct hv_regs *r)
{
    struct sim_domain *sd = sv->sd;
    struct sim_replay *rp = sd->m->replay;
    const struct rp_domain *own = replay_domain_of(rp, sd->d->domid, false);
    if (r->rax == __HYPERVISOR_sched_op && r->rdi == SCHEDOP_poll) {
        struct sched_poll poll;
        if (!own || !own->renamed || copy_from_guest(sd->d, &poll, r->rsi, sizeof(poll)))
            return;
        for (unsigned i = 0; i < poll.nr_ports && i < 128; i++)
            rename_at(sd, own, (uint64_t)(uintptr_t)poll.ports.p + 4u * i);
        return;
    }
    if (r->rax != __HYPERVISOR_event_channel_op)
        return;
    for (size_t i = 0; i < sizeof(port_args) / sizeof(port_args[0]); i++) {
        const struct port_arg *a = &port_args[i];
        const struct rp_domain *d = own;
        if (a->cmd != r->rdi)
            continue;
        if (a->remote_dom >= 0) {
            domid_t dom = DOMID_SELF;
            if (r->rsi + (uint64_t)a->remote_dom + sizeof(dom) <= sd->ram_size)
                memcpy(&dom, sd->ram + r->rsi + a->remote_dom, sizeof(dom));
            if (dom != DOMID_SELF)
                d = replay_domain_of(rp, dom, false);
        }
        rename_at(sd, d, r->rsi + (uint64_t)a->offset);
    }
}
