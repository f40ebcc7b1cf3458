/* `evsim replay`: a recording's vcpus re-run without guest code (docs/traces.md, "Replay").
 *
 * A recording made by `evsim run --record` carries, besides Xen's records, what each vcpu did:
 * the guest cycles it ran between its actions, each hypercall with its registers and the guest
 * memory Xen read for it, each access to a page it shares with Xen, where its upcalls began and
 * ended, its hlts. Replay builds the recorded scenario (with other options if asked), gives every
 * vcpu a "CPU" that plays those steps instead of a Unicorn engine, and lets the model and the
 * timing model do the rest: a compute step is a delay of the same guest cycles, a hypercall goes
 * to the model again, an access goes through the same coherence model. A step that followed a
 * delivery (the upcall's entry) waits for a delivery in the new timing, so causes stay causes and
 * the times are the model's. What could not be replayed as recorded (a hypercall whose result
 * changed, an upcall that never came) is counted and shown in the report. */
#ifndef EVSIM_SIM_REPLAY_H
#define EVSIM_SIM_REPLAY_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "sim/diag.h"

struct hv_regs;
struct json_object;
struct machine;
struct sim_replay;
struct sim_vcpu;

/* Reads the recording at path: 0, or -1 with d ("PATH: offset N: ..."; not a recording evsim
 * made, a broken one, one with steps replay cannot play yet). */
int replay_load(const char *path, struct sim_replay **out, struct diag *d);
/* The same, for a real host's xentrace recording too (no evsim records: its stimulus is
 * inferred, sim/replay_real.c), whose TSC runs at cpu_hz (0: xenalyze's default). With
 * allow_truncated, a real host's recording cut short is read up to its last whole record (an
 * evsim recording cut short is refused: its run's end is lost). */
int replay_load_hz(const char *path, uint64_t cpu_hz, bool allow_truncated, struct sim_replay **out,
                   struct diag *d);
void replay_free(struct sim_replay *rp);
/* Is it a real host's recording (its scenario inferred, its steps stimulus)? */
bool replay_is_real(const struct sim_replay *rp);
/* A real host's recording: replay the device models it shows (why_not NULL), or let Xen answer
 * their accesses, for the reason why_not gives (a device model on the host replaces them, or
 * --emulate-in-xen). */
void replay_real_use_inferred_dm(struct sim_replay *rp, const char *why_not);
/* A device model on the host for a real recording's replay (program, its arguments: NULL, the
 * machine's id of the first HVM domain), as a domain of the inferred machine. 0, or -1 with d. */
int replay_real_add_device_model(struct sim_replay *rp, const char *program, const char *args,
                                 struct diag *d);
/* The recorded scenario, as INI text. */
const char *replay_scenario_text(const struct sim_replay *rp);
/* Each domain's ABI as its guests set it up in the recording (the recorded scenario), and under
 * the replay (--abi may change it): 0, or -1 with d. */
struct scenario;
/* Where domid's guest-physical 0 was mapped and which machine frame it was, as recorded (0, 0
 * for a domain that ran without paging, or an older recording). */
void replay_domain_layout(struct sim_replay *rp, uint32_t domid, uint64_t *virt_base,
                          uint64_t *mfn0);
int replay_set_abis(struct sim_replay *rp, const struct scenario *recorded,
                    const struct scenario *replayed, struct diag *d);
/* Where an event-channel bind (EVTCHNOP_ cmd) returns its port in its argument, or -1 for
 * another command: the recorder keeps that port, so that replay can rename it. */
int replay_bound_port_offset(uint64_t cmd);
/* Recorded steps played so far. */
uint64_t replay_steps(const struct sim_replay *rp);

/* machine_build.c, for each vcpu of a replayed machine: its steps (none if the recording has none).
 */
int replay_attach(struct sim_replay *rp, struct sim_vcpu *sv); /* -1: out of memory */
/* Play sv's steps on its pcpu until sv->stop_at, a block or the end of its steps. */
void replay_run_slice(struct sim_vcpu *sv);
/* The vcpu's registers as Xen set them (boot, VCPUOP_initialise). */
void replay_set_regs(struct sim_vcpu *sv, const struct hv_regs *r);
/* An upcall entered sv (Xen injected it). */
void replay_upcall_delivered(struct sim_vcpu *sv);

/* The report's "replay" section: what was played, what diverged and why. */
struct json_object *replay_report(const struct machine *m);
/* Its text, from the report built with it (nothing when the report has no "replay"). */
void replay_print_text(struct json_object *report, FILE *out);

#endif
