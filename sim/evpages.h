/* Guest pages the FIFO and 3-level ABIs share with Xen (control blocks, event arrays, bitmaps,
 * selectors), and pages holding vcpu_infos moved there by VCPUOP_register_vcpu_info. Like
 * shared_info, each becomes device-like memory in every vcpu engine of the domain: guest
 * accesses go through callbacks that price the cache line and notice the guest consuming events
 * (clearing a PENDING bit), so every ABI's event path is timed stage by stage.
 *
 * The model announces pages during a hypercall, while the caller's engine is running; engines
 * are only remapped between slices (the caller's slice is cut short at the end of that
 * hypercall), because Unicorn must not change the mapping of code it is executing. */
#ifndef EVSIM_SIM_EVPAGES_H
#define EVSIM_SIM_EVPAGES_H

#include "sim/machine.h"

struct sim_event_page {
    uint64_t gpa;
    enum hv_event_page_kind kind;
    unsigned index; /* place in its array: the ports it holds start at index * ports per page */
    bool released;  /* the domain went back to 2-level: ordinary RAM again */
    bool keep;      /* holds a vcpu_info: stays shared with Xen whatever the ABI */
};

/* The sink's event_page and event_pages_released hooks, for machine.c. */
void sim_evpages_add(struct sim_domain *sd, uint64_t gpa, enum hv_event_page_kind kind,
                     unsigned index);
void sim_evpages_release(struct sim_domain *sd);
/* Bring sv's engine up to date with the domain's pages: 0, or -1 after crashing the domain. */
int sim_evpages_sync(struct sim_vcpu *sv);
void sim_evpages_free_vcpu(struct sim_vcpu *sv);
void sim_evpages_free_domain(struct sim_domain *sd);

#endif
