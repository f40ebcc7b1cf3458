/* The teaching mode's narrator (`evsim run --explain`, `--explain-json`, `--html`): every step of
 * every event path, named for the Xen (or, for guest code, Linux) function that takes it, with
 * the simulated time and the shared event-channel state before and after (docs/teaching.md).
 *
 * Steps come from the model (the sink's step callback: evtchn_send, set_pending, ...) and from
 * the simulator (hypercall traps, kicks, wakes, upcall injection, guest writes to shared
 * memory). A step is announced as it begins; what it changed is the difference between the
 * state then and when the next step begins (or when the simulator closes it), so nested Xen
 * functions each show their own work. The narrator keeps a shadow of every domain's state to
 * tell the difference; looking never changes the run (models/evtchn_view.h). */
#ifndef EVSIM_SIM_EXPLAIN_H
#define EVSIM_SIM_EXPLAIN_H

#include <stdbool.h>
#include <stdint.h>

#include "models/sink.h"

struct machine;
struct sim_vcpu;
struct hv_regs;
struct json_object;

struct explain_options {
    bool text;            /* narrate on the console (--explain) */
    bool keep;            /* keep the steps for explain_document_text (--explain-json, --html) */
    int domain;           /* --domain D: only paths that touch D; -1: all */
    int64_t port;         /* --port P: only paths of port P (of D, if given); -1: all */
    uint64_t from_cycles; /* --from: nothing before this time */
    uint64_t limit;       /* --limit N: at most N steps (0: no limit) */
};

/* Start narrating m's run (after machine_build): NULL if out of memory. */
struct explain *explain_new(struct machine *m, const struct explain_options *o);
void explain_free(struct explain *ex);

/* The model's steps (the sink's step callback). */
void explain_model_step(struct explain *ex, enum hv_step_kind kind, struct domain *d, uint32_t port,
                        struct vcpu *v, uint32_t arg);
/* A hypercall trapped (its registers as the guest made it) / returned with rax. */
void explain_hypercall(struct explain *ex, struct sim_vcpu *sv, const struct hv_regs *r);
void explain_hypercall_done(struct explain *ex, struct sim_vcpu *sv, uint64_t nr, int64_t rax);
/* vcpu_kick: the target runs on another CPU (ipi), on this one, or not at all. */
void explain_kick(struct explain *ex, struct sim_vcpu *target, bool ipi);
/* vcpu_unblock: a blocked vcpu becomes runnable. */
void explain_wake(struct explain *ex, struct sim_vcpu *target);
/* Xen enters the event callback (vector 0: PV) around the injection. */
void explain_upcall_begin(struct explain *ex, struct sim_vcpu *sv, unsigned vector);
/* An HVM guest left its upcall vector's handler with iretq. */
void explain_hvm_iret(struct explain *ex, struct sim_vcpu *sv);
/* An HVM vcpu's port or MMIO access exits to Xen (p: the access as Xen decoded it). */
struct ioreq;
void explain_io_exit(struct explain *ex, struct sim_vcpu *sv, const struct ioreq *p);
/* A guest write to memory it shares with Xen: before it is made, then once it is. */
void explain_guest_write(struct explain *ex, struct sim_vcpu *sv);
/* Ends the step under way: its changes are the state's difference now. */
void explain_close(struct explain *ex);
/* sv's runstate may have changed (the timeline of the page). */
void explain_runstate(struct explain *ex, struct sim_vcpu *sv);

/* The ports of d the narration covers: max_evtchn_port + 1, at most 4,096. */
struct domain;
unsigned explain_ports_of(const struct domain *d);

/* The whole narration as the document docs/teaching.md describes ("evsim-explain/1"), as JSON
 * text (the caller frees it); call once, after the run. NULL if steps were not kept or memory
 * ran out. */
char *explain_document_text(struct explain *ex);

#endif
