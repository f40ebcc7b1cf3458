/* Scaffolding until the FIFO ABI lands: answers as a Xen built without FIFO. */
#include "models/evtchn.h"

long evtchn_fifo_init_control(struct vcpu *v, void *arg)
{
    (void)v;
    (void)arg;
    return -XEN_EOPNOTSUPP;
}

long evtchn_fifo_expand_array(struct vcpu *v, void *arg)
{
    (void)v;
    (void)arg;
    return -XEN_EOPNOTSUPP;
}

void evtchn_fifo_destroy(struct domain *d)
{
    (void)d;
}
