/* A vcpu on Unicorn: its engine, the hooks that trap hypercalls, count blocks and make RDTSC
 * return simulated time, and running it for one slice. */
#ifndef EVSIM_SIM_VCPU_H
#define EVSIM_SIM_VCPU_H

#include "sim/machine.h"

/* Physical CPU id's engine for PV domains (the machine's physical space is set up), or NULL
 * with d set. */
struct sim_engine *sim_engine_open_pcpu(struct machine *m, unsigned id, struct diag *d);
void sim_engine_close(struct sim_engine *e);
/* Every CPU's engine, after the vcpus' engines are gone. */
void sim_pcpu_engines_free(struct machine *m);
/* A vcpu's registers: its first ones (PV, in a context its CPU's engine loads when it runs), or
 * its own engine (HVM); and its program's trap sites hooked wherever it may run. */
int sim_vcpu_create_engine(struct sim_vcpu *sv, struct diag *d);
void sim_vcpu_destroy_engine(struct sim_vcpu *sv);
void sim_vcpu_set_regs(struct sim_vcpu *sv, const struct hv_regs *r);
/* The block being executed, [addr, end), and what a taken branch at its end adds (see blk). */
static inline uint64_t sim_vcpu_blk_end(const struct sim_vcpu *sv)
{
    return sv->blk.end;
}

static inline uint64_t sim_vcpu_blk_addr(const struct sim_vcpu *sv)
{
    return sv->blk.end - sv->blk.size;
}

static inline uint32_t sim_vcpu_blk_taken(const struct sim_vcpu *sv)
{
    return sv->blk.taken;
}

static inline struct aot_block_tail sim_vcpu_blk_tail(uint64_t addr, uint32_t size, uint32_t taken)
{
    return (struct aot_block_tail){addr + size, size, taken};
}

/* Run sv on its pcpu until sv->stop_at (cycles), a block, a yield or a fault. Enters the event
 * callback first if an upcall is deliverable. */
void sim_vcpu_run_slice(struct sim_vcpu *sv);

/* Xen's hypercall entry and return path for the hypercall in r, made by an instruction len
 * bytes long: dispatch, continuation, an upcall on the way out. frame() fills rip (past that
 * instruction), rsp, rcx, r11 and rflags when a recording, a continuation or an upcall needs
 * them and *have_frame is false (then sets it). */
struct hv_regs;
void sim_hypercall(struct sim_vcpu *sv, struct hv_regs *r, unsigned len, bool *have_frame,
                   void (*frame)(struct sim_vcpu *sv, struct hv_regs *r));
/* Enter the event callback (PV) or the upcall vector's handler (HVM) now if Xen would. */
void sim_deliver_upcall(struct sim_vcpu *sv, struct hv_regs *r);

/* A guest access to shared_info at offset (priced; a cleared pending bit is noticed). */
uint64_t sim_shared_info_read(struct sim_vcpu *sv, uint64_t offset, unsigned size);
void sim_shared_info_write(struct sim_vcpu *sv, uint64_t offset, unsigned size, uint64_t value);
/* An HVM vcpu's hlt (a VM exit; Xen's hvm_hlt), and its upcall handler's iretq. */
void sim_hvm_halt(struct sim_vcpu *sv, bool interrupts_on);
void sim_hvm_iret(struct sim_vcpu *sv);

/* Stop sv's slice as soon as Unicorn lets it (the current block, if it has not run yet). */
void sim_vcpu_request_stop(struct sim_vcpu *sv);
/* The instruction at addr and the rest of the block being run did not run (yet): take back
 * what the block hook charged for them. */
void sim_vcpu_uncharge_from(struct sim_vcpu *sv, uint64_t addr);

/* Implemented in machine_cpu.c: the cycle the running vcpu's slice must stop at, at the latest:
 * the next timed callback, a lookahead past the earliest time another CPU may act, the
 * scheduler's next decision, an IPI due on this CPU, or the end of the run. Its own hypercalls
 * may bring it closer (a timer armed, a vcpu woken), so it is asked again after each. */
uint64_t sim_pcpu_slice_limit(struct sim_vcpu *sv);
/* Implemented in machine_build.c: sd writes to its program's text, which it read from the copy it
 * shared with other domains: its own copy is mapped from now on (writable). */
void sim_domain_unshare_text(struct sim_domain *sd);
/* Stop a domain after a guest fault, with a diagnostic. */
void sim_domain_crash(struct sim_domain *sd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
