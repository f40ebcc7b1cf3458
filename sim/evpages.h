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
    /* HV_PAGE_IOREQ: an ioreq server's page in its emulator (host: the model's page, target:
     * the domain whose slots these are), or a hole (a GFN-mapped server page taken out of the
     * target's physmap: no memory there). Other kinds: host is the domain's own RAM. */
    uint8_t *host;
    struct sim_domain *target;
    bool hole;
    unsigned slot; /* PV: its window slot (physmem.h), 0 until first mapped */
};

/* The sink's event_page and event_pages_released hooks, for machine_sink.c. */
void sim_evpages_add(struct sim_domain *sd, uint64_t gpa, enum hv_event_page_kind kind,
                     unsigned index);
void sim_evpages_release(struct sim_domain *sd);
/* The sink's ioreq_page hook: page appears at gpa of sd (NULL: goes, or if nothing was there,
 * gpa becomes a hole); the domain's own frame coming back fills a hole. */
void sim_evpages_ioreq(struct sim_domain *sd, uint64_t gpa, void *page);
/* A guest access of sv to page index `page` (sd->evpage) at offset: priced, and noticed (a
 * PENDING bit cleared, an ioreq slot's state). The engine's callbacks, and replay. */
uint64_t sim_evpage_read(struct sim_vcpu *sv, unsigned page, uint64_t offset, unsigned size);
void sim_evpage_write(struct sim_vcpu *sv, unsigned page, uint64_t offset, unsigned size,
                      uint64_t value);
/* The guest cleared port's PENDING bit: its upcall code reached it (the event path's stages;
 * a recording notes it with the sends the port had seen, on which a replay waits). */
void sim_port_consumed(struct sim_vcpu *sv, uint32_t port);
/* Bring sv's engine up to date with the domain's pages: 0, or -1 after crashing the domain. */
int sim_evpages_sync(struct sim_vcpu *sv);
void sim_evpages_free_vcpu(struct sim_vcpu *sv);
void sim_evpages_free_domain(struct sim_domain *sd);

#endif
