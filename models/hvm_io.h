/* HVM guests' I/O exits: what Xen does with a port or MMIO access it intercepted, before any
 * ioreq server sees it (xen/arch/x86/hvm/io.c, intercept.c, ioreq.c and emulate.c). sim/ turns
 * each intercepted access into a Xen ioreq_t and calls hvm_io_intercept; the exit's cost is
 * sim/'s to charge (hvm_exit plus hvm_io_decode or hvm_io_emulate). */
#ifndef EVSIM_MODELS_HVM_IO_H
#define EVSIM_MODELS_HVM_IO_H

#include <stdbool.h>
#include <stdint.h>

#include "models/domain.h"
#include "models/xen_public.h"
/* ioreq_t and XEN_DMOP_IO_RANGE_* (also reached through models/xen_public.h). */
#include <xen/hvm/dm_op.h>
#include <xen/hvm/ioreq.h>

/* What ioreq server selection keys on (Xen's arch_ioreq_server_get_type_addr): the range type
 * (XEN_DMOP_IO_RANGE_PORT, _MEMORY or _PCI) and the address within it; for PCI, Xen's
 * config-cycle encoding sbdf << 32 | register. */
struct hvm_io_route {
    uint32_t type;
    uint64_t addr;
};

/* Route p as Xen would for server selection, from d's latched CF8 value: PIO to 0xCFC-0xCFF
 * while CF8's enable bit is set is a PCI config access (segment 0; the AMD CF8 extension is not
 * modelled), other PIO a port, COPY a memory address. False for any other request type. */
bool hvm_io_route(const struct domain *d, const ioreq_t *p, struct hvm_io_route *r);

/* Offer one intercepted access to Xen: its own handlers first (the CF8 latch), then ioreq server
 * selection, then the null handler (reads return all ones of the access size, writes are
 * dropped). p is one element of the access: type IOREQ_TYPE_PIO or IOREQ_TYPE_COPY, count 1,
 * data_is_ptr 0, size 1, 2 or 4 (PIO) or up to 8 (COPY); sim/ hands string I/O over one element
 * at a time, except a rep batch a server claims (data_is_ptr, hvm_io_rep_count). Returns true
 * when Xen completed the access itself (for a read the value is in p->data), false when an
 * ioreq server took it (then p is what the server is sent, as Xen rewrites it: PCI config
 * accesses become IOREQ_TYPE_PCI_CONFIG) and the vcpu must wait for the answer. Counts the
 * access in d->stats.hvm_io. */
bool hvm_io_intercept(struct vcpu *v, ioreq_t *p);

/* Whether hvm_io_intercept would hand p to an ioreq server (after Xen's own handlers, which
 * here never complete an access a server claims). No side effect: nothing is counted or
 * latched, so the simulator can ask before it decides how to run the instruction. */
bool hvm_io_forwards(const struct domain *d, const ioreq_t *p);

/* Xen's stdvga (xen/arch/x86/hvm/stdvga.c): a single direct write (count 1, no data_is_ptr) to
 * the VGA window 0xA0000-0xBFFFF is sent to its ioreq server through the buffered ring, and the
 * vcpu goes on without waiting (a full ring, or a server without one, falls back to the
 * synchronous path: ioreq_send). Every HVM domain here has the emulated VGA (has_vvga). */
bool hvm_io_buffered(const struct domain *d, const ioreq_t *p);

/* Xen's string port I/O batch (hvmemul_rep_ins/outs -> hvmemul_do_io_addr): of reps elements
 * of size bytes whose first is at guest-physical gpa, stepping down with df, the count one
 * data_is_ptr request carries: at most HVM_IO_REP_MAX (hvmemul_virtual_to_linear and
 * hvmemul_linear_to_phys clip there), and only those in gpa's page, by Xen's own formulas
 * ((4096 - offset) / size forwards, ((offset + size - 1) & 4095) / size with df). When none
 * fits, one element goes alone and Xen acquires the next page as well (the previous with df):
 * *two_pages says so. reps >= 1, size 1, 2 or 4. */
#define HVM_IO_REP_MAX 4096u
uint64_t hvm_io_rep_count(uint64_t gpa, uint64_t reps, unsigned size, bool df, bool *two_pages);

/* The report's names for the stats' indices: "pio", "mmio", "pci_config"; "write", "read";
 * "internal", "unclaimed", "forwarded". */
extern const char *const hvm_io_kind_names[HVM_IO_KINDS];
extern const char *const hvm_io_dir_names[2];
extern const char *const hvm_io_outcome_names[HVM_IO_OUTCOMES];

#endif
