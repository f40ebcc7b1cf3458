/* HYPERVISOR_domctl: the toolstack's pause and unpause of a domain (Xen's do_domctl with
 * XEN_DOMCTL_pausedomain and XEN_DOMCTL_unpausedomain), which is how a domain created paused
 * (`xl create -p`, or a device model's domain whose emulator must be ready first) starts. Every
 * other command is -ENOSYS. Xen's order of checks: the copy (-EFAULT), the interface version
 * (-EACCES), the domain (-ESRCH), the XSM dummy policy (only the control domain: -EPERM). */
#define __XEN_TOOLS__ 1 /* domctl.h is the tools' interface */
#include "models/hv_sink.h"
#include "models/hypercall.h"

/* domctl.h pulls in hvm/save.h, which refuses a strict ISO C compilation because of its
 * anonymous unions; gcc and clang accept them in C11 as the extension they are. */
#undef __STRICT_ANSI__
#include <xen/domctl.h>

/* Xen's controller pause count is an int; _domain_pause_by_systemcontroller refuses past 255. */
#define MAX_CONTROLLER_PAUSES 255u

/* domain_pause_by_systemcontroller: the domain's vcpus stop until the count is back at 0. */
static long domctl_pause(struct vcpu *v, struct domain *d)
{
    if (d == v->domain)
        return -XEN_EINVAL;
    if (d->controller_pause_count >= MAX_CONTROLLER_PAUSES)
        return -XEN_EOVERFLOW;
    d->controller_pause_count++;
    d->paused = true;
    return 0;
}

/* domain_unpause_by_systemcontroller, then domain_unpause: the last unpause wakes every vcpu
 * that is up (vcpu_wake). */
static long domctl_unpause(struct domain *d)
{
    if (d->controller_pause_count == 0)
        return -XEN_EINVAL;
    if (--d->controller_pause_count)
        return 0;
    d->paused = false;
    for (unsigned i = 0; i < d->max_vcpus; i++) {
        struct vcpu *w = d->vcpu[i];

        if (w && w->run_state == VCPU_RUNNABLE)
            sink_wake(w);
    }
    return 0;
}

long do_domctl(struct vcpu *v, uint64_t arg_gpa)
{
    struct domain *caller = v->domain;
    struct xen_domctl op;
    struct domain *d;

    if (copy_from_guest(caller, &op, arg_gpa, sizeof(op)))
        return -XEN_EFAULT;
    if (op.interface_version != XEN_DOMCTL_INTERFACE_VERSION)
        return -XEN_EACCES;
    d = op.domain < HV_MAX_DOMAINS ? caller->hv->domain[op.domain] : NULL;
    if (!d)
        return -XEN_ESRCH;
    if (!caller->privileged)
        return -XEN_EPERM;
    switch (op.cmd) {
    case XEN_DOMCTL_pausedomain:
        return domctl_pause(v, d);
    case XEN_DOMCTL_unpausedomain:
        return domctl_unpause(d);
    default:
        return -XEN_ENOSYS;
    }
}
