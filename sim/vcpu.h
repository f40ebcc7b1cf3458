/* A vcpu on Unicorn: its engine, the hooks that trap hypercalls, count blocks and make RDTSC
 * return simulated time, and running it for one slice. */
#ifndef EVSIM_SIM_VCPU_H
#define EVSIM_SIM_VCPU_H

#include "sim/machine.h"

int sim_vcpu_create_engine(struct sim_vcpu *sv, struct diag *d);
void sim_vcpu_destroy_engine(struct sim_vcpu *sv);
void sim_vcpu_set_regs(struct sim_vcpu *sv, const struct hv_regs *r);
/* Run sv on its pcpu until sv->stop_at (cycles), a block, a yield or a fault. Enters the event
 * callback first if an upcall is deliverable. */
void sim_vcpu_run_slice(struct sim_vcpu *sv);

/* Implemented in machine.c. At the end of a quantum: when nothing else can happen in the system
 * before some later time, move sv->stop_at there and return true (keep running without a sync);
 * otherwise false. */
bool sim_pcpu_extend_quantum(struct sim_vcpu *sv);
/* Stop a domain after a guest fault, with a diagnostic. */
void sim_domain_crash(struct sim_domain *sd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
