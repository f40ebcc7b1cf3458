/* `evsim run --record FILE`: the run as a xentrace file (traces/writer.h, docs/traces.md).
 *
 * Each hook writes, on the physical CPU where Xen would, the records Xen itself would write at
 * that point (scheduler, PV hypercall, HVM exit and entry, I/O, vector injection), and evsim's
 * own records for the event-channel and ioreq steps Xen does not trace. The TSC of a record is
 * its CPU's simulated cycles plus XT_EVSIM_TSC_BASE. Every hook returns at once when the run is
 * not recorded. */
#ifndef EVSIM_SIM_RECORD_H
#define EVSIM_SIM_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sim/diag.h"
#include "traces/xt_ids.h"

struct machine;
struct sim_pcpu;
struct sim_vcpu;
struct ioreq;

/* evsim's recordings start their TSC here: xenalyze takes a TSC of 0 for "not known". */
#define XT_EVSIM_TSC_BASE 1000000u

/* Opens the recording and writes its constants (CPU frequency, domains, vcpus, where each CPU
 * starts). Call after machine_build. 0, or -1 with d. */
int record_start(struct machine *m, const char *path, struct diag *d);
struct xt_writer_stats;
/* Writes what is buffered and names the file: 0, or -1 with d (nothing left under the name).
 * stats (may be NULL): what was written, and how many records were moved later to keep their
 * CPU's TSCs in order. */
int record_finish(struct machine *m, struct xt_writer_stats *stats, struct diag *d);
/* Drops the recording (the run failed): no file is left. */
void record_discard(struct machine *m);

/* sv's scheduling state changed (queued, woken, stopped, parked): its runstate record, and
 * for a wake Xen's WAKE record, on the CPU acting now. */
void record_vcpu_state(struct sim_vcpu *sv);
/* CPU p picked next (NULL: it idles): Xen's switch records, the idle vcpu's runstates. */
void record_pick(struct sim_pcpu *p, struct sim_vcpu *next);

/* A hypercall trapped at sv's current time: the PV record, or an HVM exit and VMMCALL. */
void record_hypercall(struct sim_vcpu *sv, uint64_t nr, const uint64_t *args, uint64_t rip);
/* The hypercall is done: a vcpu it blocked (SCHEDOP_block, SCHEDOP_poll) gets Xen's BLOCK
 * record; one that goes on now enters the guest (HVM: VMENTRY). A blocked one enters when it
 * next runs (record_resume). */
void record_hypercall_done(struct sim_vcpu *sv);
/* sv starts a slice: an HVM vcpu still in an exit enters the guest now. */
void record_resume(struct sim_vcpu *sv);

/* HVM I/O: an exit at `at` for an access (reason from its type), the access itself (Xen's
 * IOPORT/IOMEM record: writes when dispatched, reads when complete), and the entry at `at`. */
void record_io_exit(struct sim_vcpu *sv, uint64_t at, const struct ioreq *p, uint64_t rip,
                    bool emulate);
/* A further element of a string I/O instruction that Xen's emulator takes in the same exit. */
void record_io_more(struct sim_vcpu *sv, const struct ioreq *p);
void record_io_access(struct sim_vcpu *sv, uint64_t at, const struct ioreq *p);
void record_entry(struct sim_vcpu *sv, uint64_t at);
/* An HVM vcpu executed hlt: its exit at `at`, before Xen handles it, then what Xen's hvm_hlt
 * wrote after it did (interrupts_on: the guest's IF). */
void record_hlt_exit(struct sim_vcpu *sv, uint64_t at);
void record_hlt(struct sim_vcpu *sv, bool interrupts_on);

/* evsim records. */
struct domain;
void record_set_pending(struct machine *m, struct domain *d, uint32_t port, uint32_t target_vcpu,
                        bool newly_pending, uint64_t cycles);
void record_upcall(struct sim_vcpu *sv, unsigned vector);
void record_iret(struct sim_vcpu *sv);
void record_ioreq_send(struct sim_vcpu *sv, uint64_t at, unsigned server, const struct ioreq *p,
                       bool buffered);
void record_ioreq_done(struct sim_vcpu *sv, uint64_t at, unsigned server, uint64_t data);

/* What each vcpu did, for `evsim replay` (TRC_EVSIM_G_*, docs/traces.md). The scenario comes
 * first, as INI text (scenario_write_ini of the machine's): 0, or -1 with d. */
struct hv_regs;
struct domain;
int record_scenario(struct machine *m, struct diag *d);
/* A hypercall trapped (its registers as the guest made it, rip past the instruction at `at`);
 * until its result, Xen's reads of guest memory are recorded (record_guest_mem). */
void record_guest_hypercall(struct sim_vcpu *sv, const struct hv_regs *r, uint64_t at);
void record_guest_mem(struct machine *m, struct domain *d, uint64_t gpa, const void *host,
                      size_t len);
/* Its result; a bind's (nr, cmd, arg) output port goes with it. */
void record_guest_result(struct sim_vcpu *sv, uint64_t nr, uint64_t cmd, uint64_t arg, uint64_t rax,
                         bool continued);
/* A guest access to an event page at page_gpa + offset: old is the value before, value the
 * value read or written. */
void record_guest_access(struct sim_vcpu *sv, uint64_t page_gpa, uint64_t offset, unsigned size,
                         bool write, uint64_t old, uint64_t value);
/* The write just recorded cleared port's PENDING bit (after `raised` set_pendings of it). */
void record_guest_consume(struct sim_vcpu *sv, uint32_t port);
void record_guest_step(struct sim_vcpu *sv, enum xt_step_kind kind, uint32_t arg);
/* The engine's slice ended inside sv's code (G_CUT): where, for a replay's slices to end there. */
void record_guest_cut(struct sim_vcpu *sv);

#endif
