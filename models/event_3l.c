/* Scaffolding until the 3-level ABI lands. */
#include "models/evtchn.h"

long evtchn_3l_register_extended(struct vcpu *v, void *arg)
{
    (void)v;
    (void)arg;
    return -XEN_ENOSYS;
}

void evtchn_3l_destroy(struct domain *d)
{
    (void)d;
}
