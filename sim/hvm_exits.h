/* HVM guests' I/O exits on Unicorn: port I/O instructions (UC_HOOK_INSN on IN and OUT) and
 * accesses to guest-physical addresses that are not RAM (pages mapped on first touch as MMIO)
 * become Xen ioreq_t requests for models/hvm_io.c, each priced as a VM exit plus its decoding. */
#ifndef EVSIM_SIM_HVM_EXITS_H
#define EVSIM_SIM_HVM_EXITS_H

#include <stdbool.h>
#include <stdint.h>

#include "sim/diag.h"
#include "sim/machine.h"

/* Hook IN and OUT in sv's engine (HVM domains only: a PV guest's port I/O is left as before). */
int sim_hvm_io_attach(struct sim_vcpu *sv, struct diag *d);
/* Free what sim_hvm_io_attach and the MMIO windows took. */
void sim_hvm_io_detach(struct sim_vcpu *sv);
/* An access of type (uc_mem_type) to unmapped addr: for an HVM domain's data access outside RAM,
 * map its page as MMIO and return true (Unicorn retries the access through the window). */
bool sim_hvm_mmio_fault(struct sim_vcpu *sv, int type, uint64_t addr);

#endif
