/* HVM guests' I/O exits on Unicorn: port I/O instructions (UC_HOOK_INSN on IN and OUT) and
 * accesses to guest-physical addresses that are not RAM (pages mapped on first touch as MMIO)
 * become Xen ioreq_t requests for models/hvm_io.c, each priced as a VM exit plus its decoding. */
#ifndef EVSIM_SIM_HVM_EXITS_H
#define EVSIM_SIM_HVM_EXITS_H

#include <stdbool.h>
#include <stdint.h>

#include "sim/diag.h"
#include "sim/machine.h"

typedef struct uc_struct uc_engine;

/* The hole in an HVM guest's RAM below 1 MiB: the VGA window (0xA0000-0xBFFFF, Xen's stdvga)
 * and the ROMs after it. */
#define HVM_HOLE_START 0xa0000u
#define HVM_HOLE_END 0x100000u

/* Hook IN and OUT in sv's engine (HVM domains only: a PV guest's port I/O is left as before). */
int sim_hvm_io_attach(struct sim_vcpu *sv, struct diag *d);
/* Free what sim_hvm_io_attach and the MMIO windows took. */
void sim_hvm_io_detach(struct sim_vcpu *sv);
/* An access of type (uc_mem_type) to unmapped addr: for an HVM domain's data access outside RAM,
 * map its page as MMIO and return true (Unicorn retries the access through the window). */
bool sim_hvm_mmio_fault(struct sim_vcpu *sv, int type, uint64_t addr);

/* Before sv's slice: keep its hooks as the domain's ioreq servers need them, and complete the
 * access it waited for if its emulator answered. False: sv must not run (still waiting, or the
 * domain crashed). */
bool sim_hvm_io_prepare(struct sim_vcpu *sv);
/* Xen's completion of the access sv waited for (part of sim_hvm_io_prepare). */
bool sim_hvm_io_resume(struct sim_vcpu *sv);
/* Replay: the access p a recorded vcpu made, re-issued without its code (emulate: its exit
 * decoded an instruction; more: a further element of a string instruction, in the same exit).
 * Xen answers it, or forwards it and sv waits (the slice stops). */
void sim_hvm_io_replayed(struct sim_vcpu *sv, struct ioreq *p, bool emulate, bool more);
/* The emulator's notification reached Xen: sv may run again (its round trip's vcpu_wake). */
void sim_hvm_io_notified(struct sim_vcpu *sv, uint64_t now);
/* A port I/O instruction of an HVM guest is about to run (a code hook at each such site): an
 * access a server claims is sent to it before the instruction runs, which is then held until
 * the answer came. */
void sim_hvm_port_site(uc_engine *uc, uint64_t addr, uint32_t size, void *opaque);
/* The emulator emu accessed [offset, offset + size) of its mapping of target's ioreq slots
 * (before/after: the bytes' values): the round trips of target's vcpus see it read READY
 * (handle begins) and write IORESP_READY (respond begins). */
void sim_hvm_ioreq_page_access(struct sim_vcpu *emu, struct sim_domain *target, uint64_t offset,
                               unsigned size, uint64_t before, uint64_t after, bool write);

#endif
