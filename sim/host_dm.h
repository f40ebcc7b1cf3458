/* Device models on the host (docs/emulators.md): a program written against Xen's device-model
 * libraries, built with `evsim dm-cc` against libevsim-dm, runs as a child process and is the
 * "guest" of a domain with `device_model = PATH`. Its library calls become hypercalls of that
 * domain, made by the model of Xen; events for the domain become what its /dev/xen/evtchn
 * would read. The simulation and the device model run in lockstep (sim/dm/protocol.h): while
 * it works, simulated time stands still, except that each event it answers costs the domain's
 * dm_handle_ns, and each wake-up of its thread dm_wake_ns. */
#ifndef EVSIM_SIM_HOST_DM_H
#define EVSIM_SIM_HOST_DM_H

#include "sim/machine.h"

/* Build domain sd as a host device model's: memory for hypercall arguments, the model's
 * domain, vcpus that never run guest code, and the program started. 0 or -1 with d. */
int host_dm_domain_build(struct machine *m, struct sim_domain *sd, unsigned index, struct diag *d);
/* The domain's vcpu was kicked or woken at `at` (cycles): an event is pending for the device
 * model. */
void host_dm_ring(struct sim_domain *sd, uint64_t at);
/* Xen mapped page at gfn of the device model's domain (acquire_resource), or unmapped it. */
void host_dm_page_mapped(struct sim_domain *sd, uint64_t gfn, void *page);
/* Stop the program (if it still runs) and free what the domain holds. */
void host_dm_free(struct sim_domain *sd);

/* Pages shared with device models (the model's mem ops page_alloc and page_free). */
void *host_dm_page_alloc(void *opaque);
void host_dm_page_free(void *opaque, void *page);
void host_dm_arena_free(struct machine *m);

#endif
