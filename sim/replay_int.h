/* Replay's own structures, shared by its reader and report (replay.c) and its player
 * (replay_play.c). Not for other parts of evsim: they use replay.h. */
#ifndef EVSIM_SIM_REPLAY_INT_H
#define EVSIM_SIM_REPLAY_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "models/domain.h"
#include "models/sink.h"
#include "sim/replay.h"
#include "sim/replay_guest.h"
#include "traces/idmap.h"
#include "traces/xt_ids.h"

enum rp_kind { RP_HCALL, RP_READ, RP_WRITE, RP_UPCALL, RP_HVM_IRET, RP_HLT, RP_IO, RP_KINDS };

/* One recorded step of a vcpu. 16 bytes: a recording holds millions of them (most are the
 * accesses of upcall handlers' event-channel code), and loading them is most of a replay's cost.
 * What only some kinds need is in tables of their own (ref). */
struct rp_step {
    uint32_t delta_lo;      /* guest cycles before the step (rp_delta): the low 32 bits ... */
    uint32_t arg;           /* HCALL: number; UPCALL: vector; HLT: interrupts on; access: offset */
    uint32_t ref;           /* HCALL: into sim_replay.call; WRITE: .write; IO: .io */
    unsigned kind : 4;      /* enum rp_kind */
    unsigned size : 4;      /* an access's bytes */
    unsigned slot : 8;      /* an access's page: 0 shared_info, else the domain's page table */
    unsigned delta_hi : 16; /* ... and the high 16 */
};

/* The most guest cycles a vcpu's recording may span: every delta, and every sum of them that
 * replay_segment makes, then fits a step's 48 bits. (2^48 cycles are days at GHz rates.) */
#define RP_DELTA_MAX ((UINT64_C(1) << 48) - 1)

static inline uint64_t rp_delta(const struct rp_step *s)
{
    return (uint64_t)s->delta_hi << 32 | s->delta_lo;
}

static inline void rp_set_delta(struct rp_step *s, uint64_t delta)
{
    s->delta_lo = (uint32_t)delta;
    s->delta_hi = (uint16_t)(delta >> 32);
}

/* A WRITE step's change and the ports it consumed (sim_replay.dep). Writes that consumed none
 * share one entry per change (replay_load interns them). */
struct rp_write {
    uint64_t clear, set; /* bits cleared, bits set */
    uint32_t first_dep, nr_deps;
};

/* A consumption: the guest cleared port's PENDING bit after Xen had set it pending `raised`
 * times. */
struct rp_dep {
    uint32_t port;
    uint64_t raised;
};

/* A hypercall as the guest made it and Xen answered. A recording repeats the same calls (the
 * same send, block, iret frame) thousands of times: identical ones are kept once (replay_load
 * interns them), and each call of the recording is a struct rp_call naming its rp_hcall. */
struct rp_hcall {
    uint64_t args[6]; /* rdi, rsi, rdx, r10, r8, r9 */
    uint64_t rc;      /* the result recorded */
    uint64_t rsp;     /* the guest's stack pointer and flags at the call */
    uint32_t rflags;
    uint32_t at; /* the instruction's address (low bits), to know a re-execution */
    uint32_t mem_first, mem_n;
    uint32_t bound; /* a bind: the port it returned */
    bool continued, have_result;
};

/* An HVM port or MMIO access as the guest made it (G_IO): a read's answer is the replay's. */
struct rp_io {
    uint64_t addr, data;
    uint32_t info; /* XT_IO_INFO */
};

/* One call: when it trapped, in the recording's cycles, and what it was (sim_replay.hcall). */
struct rp_call {
    uint64_t cycles;
    uint32_t hcall;
};

/* A range of guest memory as Xen read it: bytes at data in sim_replay.bytes, or zeros. */
#define RP_ZEROS UINT32_MAX
struct rp_mem {
    uint64_t gpa;
    uint32_t len, data;
};

/* Steps [first, end) of a vcpu's list. */
struct rp_range {
    uint32_t first, end;
};

/* What the recorded guest's upcall handler did for one event: the port, the times Xen had set
 * it pending when the guest took it, and the steps of the port's handler (to the next event
 * taken, or the handler's return; its own event-channel code among them is not replayed). */
struct rp_body {
    uint32_t port;
    uint64_t raised;
    struct rp_range steps;
    /* Its own steps are [head, tail): before, the rest of the guest's taking of its event;
     * after, the scan for the next one (both the replayed code's). */
    uint32_t head, tail;
    bool run;
};

/* One recorded upcall: the steps before its first event, and its return (a step index, or -1
 * when the recording ends inside it). */
struct rp_invocation {
    struct rp_range prologue;
    int64_t iret;
    uint32_t first_body, nr_body; /* its bodies in rp_body order */
};

/* A port's bodies in recorded order: order[first .. first + n) of the vcpu. */
struct rp_port_bodies {
    uint32_t port, first, n, next;
};

/* Where the engine's slice ended inside the guest's code before step `step`: `at` guest cycles
 * into the compute before it (a basic block's end). Sorted by step, then at, once loaded. It
 * may be before the compute's start: the block of the step before read the TSC, and the engine
 * took back what it had charged for the block's rest (sim_vcpu_uncharge_from). */
struct rp_cut {
    uint32_t step;
    int64_t at;
};

/* A vcpu's last call while it is read (its arguments, memory and result follow its HCALL
 * record): interned once the vcpu's next step comes. */
struct rp_open_call {
    bool open;
    uint32_t call; /* its sim_replay.call */
    struct rp_hcall h;
    struct rp_mem *mem; /* data: into bytes */
    size_t nr_mem, cap_mem;
    uint8_t *bytes;
    size_t nr_bytes, cap_bytes;
};

/* Sorting a vcpu's steps out (replay_segment_step), step by step as they are read. */
struct rp_seg {
    size_t cap_main, cap_after, cap_body, cap_inv;
    uint64_t carry;    /* an upcall's cycles, which the main line's next step takes */
    uint32_t done;     /* steps sorted out */
    bool in_inv;       /* the last invocation has not ended yet ... */
    int64_t open_body; /* ... and the range its next steps extend: a body, or -1 its prologue */
    size_t next_cut;   /* the cuts sorted out: those of steps before `done` */
    uint32_t *carried; /* cuts of upcalls' computes, which the main line's next step takes */
    size_t nr_carried, cap_carried;
};

/* Where a vcpu is: its main line; in a handler, playing steps (a prologue or a body), in the
 * guest's event-channel code (replay_guest.c), returning. */
enum rp_phase { RP_MAIN, RP_RANGE, RP_SCAN, RP_RETURN, RP_PHASES };

#define RP_MAX_VCPUS 64u /* a replayed domain's vcpus */

/* A real host's recording (sim/replay_real.c): a vcpu's stimulus, inferred from what xentrace
 * shows. START: it waits for its first run; IO: a port or MMIO access at an exit; HLT, BLOCK: it
 * waits until the recorded wake; NOTIFY: a device model's EVTCHNOP_send that answered an HVM
 * vcpu's request (inferred, sim/replay_real_dm.c); END: its last guest compute, then it stops. */
enum rr_kind { RR_START, RR_IO, RR_HLT, RR_BLOCK, RR_NOTIFY, RR_SEND, RR_END };
#define RR_F_FWD 1u   /* IO: a device model answered it in the recording (the vcpu blocked) */
#define RR_F_EVENT 2u /* START, BLOCK: the recorded wake was an ioreq event (Xen's send) */
#define RR_F_SENT 4u  /* START, BLOCK: the recorded wake was a guest's send (inferred) */
struct rr_step {
    uint64_t delta;      /* guest cycles before it */
    uint64_t wake_ns;    /* START, HLT, BLOCK: when the recording woke it (0: never) */
    uint64_t addr, data; /* IO: the access (data: a write's, or the answer the recording had) */
    uint64_t rec_cycles; /* IO: the recording's arc, exit to entry or to the wake (0: unknown) */
    /* NOTIFY, EVENT: the HVM vcpu (domain << 16 | vcpu) and its request (1 its first); IO with
     * FWD: this request's number. SEND: the vcpu woken and its wake by a send (1 its first);
     * SENT: the sender, and the number of this wake */
    uint32_t peer, ord;
    uint8_t kind, type, dir, size, flags;
    bool more; /* IO: a further access of the same exit */
};
struct rr_parse;
struct simk_event;
struct rr_vcpu {
    struct rr_step *step;
    size_t n, cap, next;
    struct rr_parse *parse; /* while reading ... */
    uint32_t parse_dv;      /* ... its recorded domain and vcpu */
    bool resume_in_guest;
    uint32_t recorded_domid;
    uint64_t rec_end_ns, end_ns; /* its last record's time; when its last step ran in the replay */
    struct simk_event *wake_ev;
    unsigned wake_slot;
    uint64_t wait_ns;                 /* the recorded wake of the wait in progress (0: none) */
    const struct rr_step *io_waiting; /* an access a device model has yet to answer ... */
    uint64_t io_start;                /* ... from its exit (cycles) */
    uint32_t fwd_played;              /* the last request to the recorded device model it made */
    uint32_t sends_in;                /* the last inferred send to it that was made */
    bool cond_wait;       /* blocked until a request of an HVM vcpu comes (replay_real_dm.c) ... */
    bool cond_waited;     /* ... and it did, for the step in progress */
    bool dm_ready;        /* its domain's inferred device models are set up (vcpu 0's) */
    uint64_t stack_top;   /* an emulator vcpu's stack for Xen's upcall frames */
    uint64_t absorb;      /* cycles the replay charged for deliveries, taken off its next compute */
    uint64_t io_woken_at; /* when a device model's notification woke it in its access (cycles) */
};
/* A device model the recording shows answering an HVM domain's accesses (an emulator vcpu woken
 * at the exit, an EVTCHNOP_send from it waking the HVM vcpu): replayed as an ioreq server of
 * the emulator's, which claims the addresses it answered (sim/replay_real_dm.c). */
struct rr_range {
    uint32_t type; /* XEN_DMOP_IO_RANGE_* */
    uint64_t s, e;
};
/* An event channel the recording shows a guest's sends on (a PV vcpu's event_channel_op
 * followed, on its CPU, by the wake of a vcpu that waited): inter-domain, or an IPI within a
 * domain. Replayed as a port of the receiver's bound to its vcpu (an IPI port, or an unbound
 * one the sender binds at its first send). */
struct rr_chan {
    uint32_t from, to; /* sending domain, receiving vcpu (domain << 16 | vcpu), the machine's */
    uint32_t sends;    /* recorded */
    uint32_t port_to, port_from;
    bool active, ready, bound; /* replayed; the receiver's port is up; the sender bound it */
    uint8_t vector;            /* an HVM receiver's upcall vector, as recorded (INJ_VIRQ) */
    uint64_t sent;
};
struct rr_dm {
    uint32_t target, emulator;       /* recorded domain ids while reading, then the machine's */
    int32_t serve[RP_MAX_VCPUS];     /* per target vcpu: the emulator vcpu woken, or -1 */
    uint32_t requests[RP_MAX_VCPUS]; /* per target vcpu: requests, recorded */
    uint32_t notifies[RP_MAX_VCPUS]; /* ... notifications, recorded */
    uint32_t made[RP_MAX_VCPUS];     /* ... the last request whose access is recorded */
    uint32_t local[RP_MAX_VCPUS];    /* the emulator's port for each target vcpu */
    struct rr_range *range;
    size_t nr_range, cap_range;
    uint32_t ranges_refused, other_emulators;
    uint32_t out_of_order; /* notifications not of the request after the last one answered */
    const char *unused;    /* why it is not replayed, or NULL */
    bool active;           /* replayed (not --device-model, not --emulate-in-xen) ... */
    bool ready;            /* ... and its server is up */
    uint16_t server;
    void *slots; /* the server's page of ioreq_t, one per target vcpu */
};
/* A port or MMIO address of a real recording: its accesses' arcs, recorded and replayed. */
struct rr_port {
    uint64_t addr;
    uint8_t type, dir;
    uint64_t rec_n, rec_cycles, rec_unknown, rep_n, rep_cycles;
};

struct rp_domain;

struct replay_vcpu {
    struct rp_domain *dom; /* its domain's (looked up once: the player asks at every step) */
    struct rp_step *step;
    size_t n, cap;
    uint64_t carry; /* while reading: COMPUTE cycles for the next step ... */
    uint64_t span;  /* ... and the deltas so far (at most RP_DELTA_MAX) */
    struct rp_open_call open_call;
    struct rp_cut *cut; /* where the engine's slices ended inside computes */
    size_t nr_cut, cap_cut;
    uint32_t domid, vcpu;
    /* the steps sorted out (replay_play.c) */
    uint32_t *main;       /* the steps outside upcall handlers, in order ... */
    uint32_t *main_after; /* ... and how many bodies the recording had run before each */
    size_t nr_main;
    struct rp_body *body;
    size_t nr_body;
    uint32_t *order; /* bodies by port, then recorded order */
    struct rp_port_bodies *ports;
    size_t nr_ports;
    struct rp_invocation *inv;
    size_t nr_inv;
    int64_t any_iret; /* a recorded return to use for upcalls the recording did not have */
    struct rp_seg seg;
    /* playing */
    enum rp_phase phase;
    size_t next_main, next_inv;
    struct rp_range range;         /* RP_RANGE: the steps being played ... */
    uint32_t cursor;               /* ... the next of them */
    int64_t range_body;            /* the body being played, -1 for a prologue */
    int64_t chain_port;            /* the port whose bodies are being run, -1 none ... */
    uint64_t chain_raised;         /* ... and how often Xen had set it pending when taken */
    int64_t inv_iret;              /* the return of the upcall being handled */
    uint64_t todo;                 /* guest cycles still to run before the next action ... */
    bool todo_set;                 /* ... once known */
    uint64_t todo_total;           /* ... of how many (where the cuts are counted from) */
    const struct rp_cut *todo_cut; /* the compute's cuts ... */
    size_t nr_todo_cut;
    uint64_t todo_base; /* ... counted from this many cycles before its start */
    uint64_t main_todo; /* the main line's, while a handler runs */
    uint64_t main_total;
    const struct rp_cut *main_cut;
    size_t nr_main_cut;
    uint64_t main_base;
    bool main_cut_passed; /* an upcall came at a slice's start before the main compute began */
    bool main_todo_saved;
    struct hv_regs regs; /* the guest's registers as of its last step */
    unsigned credits;    /* upcalls Xen delivered that no handler has taken yet */
    bool waiting;        /* a step waits for an event */
    uint32_t skip_at;    /* skip recorded re-executions of the hypercall at this address */
    bool skipping;
    struct hv_regs again; /* a continuation the recording did not have: issue these next */
    bool reissue;
    unsigned retries; /* a hypercall failed that succeeded in the recording: tried again */
    bool early;       /* a hypercall succeeded that failed in the recording */
    /* Timer deadlines: the shift from the recording's times to the replay's, and the last
     * recorded deadline with its distance from the one before (a constant distance: a grid). */
    int64_t timer_shift;
    uint64_t last_deadline, last_period;
    struct rp_guest guest;
    struct rr_vcpu rr; /* a real recording's */
    /* The steps of the accesses the recorded upcall's event-channel code made, in order: the
     * replayed code's accesses take their guest cycles (and cuts) in turn. */
    uint32_t *pool;
    size_t nr_pool, cap_pool, next_pool;
    uint64_t pooled_cycles, pooled; /* all pools' so far: their cycles and accesses */
    struct rp_cut *pool_cut; /* the cuts of the pooled steps a compute takes, in its cycles */
    size_t nr_pool_cut, cap_pool_cut;
    uint64_t bodies_run, played, wait_cycles, waits, blocks_inserted, waits_skipped,
        events_unrecorded;
};

/* One domain's event pages, as its accesses named them. */
struct rp_pages {
    uint64_t gpa[XT_ACCESS_SLOTS + 1];
    uint8_t kind[XT_ACCESS_SLOTS + 1]; /* hv_event_page_kind in the recording */
    uint32_t index[XT_ACCESS_SLOTS + 1];
};

#define RP_EXAMPLES 8
struct rp_divergence {
    uint32_t domid, vcpu, nr;
    uint64_t recorded, replayed, at_cycles;
};

struct sim_replay {
    char *text; /* the recorded scenario */
    size_t text_len;
    struct xt_idmap dom; /* domid -> struct rp_domain */
    struct rp_call *call;
    size_t nr_call, cap_call;
    struct rp_hcall *hcall;
    size_t nr_hcall, cap_hcall;
    struct rp_mem *mem;
    size_t nr_mem, cap_mem;
    uint8_t *bytes;
    size_t nr_bytes, cap_bytes;
    struct rp_dep *dep;
    size_t nr_dep, cap_dep;
    struct rp_write *write;
    size_t nr_write, cap_write;
    struct rp_io *io;
    size_t nr_io, cap_io;
    /* what the replay met */
    uint64_t steps, hypercalls, accesses, io_accesses, upcalls, result_changed, continuations,
        skipped, unknown_pages, consumptions, retries, timeouts_moved, repeats_skipped,
        abi_calls_skipped;
    uint64_t rec_khz; /* the recording's CPU, for its times */
    /* The replay's machine is the recording's own (no flag changed its scenario): the recorded
     * slices' cuts apply. Another timing makes them arbitrary points. -1 not known yet. */
    int own_config;
    /* a real host's recording (sim/replay_real.c) */
    bool real, hz_default;
    uint32_t real_cpus;
    int real_first_hvm; /* the machine's id of the first HVM domain, or -1 */
    bool real_dm;       /* a device model on the host serves it (--device-model) */
    uint64_t real_span_ns, steps_inferred, wakes_inferred, exits_seen, exit_cycles_as_recorded,
        io_outside_exits, records_unattributed, hypercalls_seen, vectors_injected, lost_records,
        waits_passed, waits_real;
    uint64_t truncated_at; /* a recording cut short (--allow-truncated): where it stops, or 0 */
    /* inferred device models: ioreq events (an emulator vcpu woken at an exit), notifications
     * (its send that woke the HVM vcpu), and what the replay did with them */
    struct rr_dm *rdm;
    size_t nr_rdm, cap_rdm;
    struct rr_chan *chan;
    size_t nr_chan, cap_chan;
    uint64_t sends_inferred, sends_played, sends_kicked;
    uint64_t handoffs_inferred; /* of sends_inferred: an emulator's, with no hypercall traced */
    uint64_t ioreq_events_inferred, notifies_inferred, notifies_played, notifies_unmatched,
        dm_events_taken, dm_waits_met, dm_answered_at_once;
    struct rr_port *port;
    size_t nr_port, cap_port;
    struct rp_divergence example[RP_EXAMPLES];
    unsigned nr_examples;
};

/* A step's hypercall (HCALL) and write (WRITE; NULL for another kind). */
static inline const struct rp_hcall *rp_hcall_of(const struct sim_replay *rp,
                                                 const struct rp_step *s)
{
    return &rp->hcall[rp->call[s->ref].hcall];
}

/* When a HCALL step's call trapped, in the recording's cycles. */
static inline uint64_t rp_call_cycles(const struct sim_replay *rp, const struct rp_step *s)
{
    return rp->call[s->ref].cycles;
}

static inline const struct rp_write *rp_write_of(const struct sim_replay *rp,
                                                 const struct rp_step *s)
{
    return s->kind == RP_WRITE ? &rp->write[s->ref] : NULL;
}

static inline uint32_t rp_nr_deps(const struct sim_replay *rp, const struct rp_step *s)
{
    return s->kind == RP_WRITE ? rp->write[s->ref].nr_deps : 0;
}

struct rp_domain {
    struct replay_vcpu *vcpu[RP_MAX_VCPUS];
    struct rp_pages pages;
    int recorded_abi;         /* enum scenario_abi the recording's guests set up */
    int abi;                  /* and the replay's (another: the ABI's pages are translated) */
    bool abi_ready;           /* the replay's ABI is set up */
    uint64_t top;             /* the replay's ABI pages go below this address (0: RAM's end) */
    uint64_t virt_base, mfn0; /* its memory as recorded (TRC_EVSIM_LAYOUT; 0: guest-physical) */
    uint64_t arg_page;        /* where its own calls' arguments go */
    /* Ports the replay bound under another number (sim/replay_ports.c): recorded -> now and
     * back, each + 1 (0: the same number), allocated once a number differs. */
    uint32_t *to_new, *to_rec, map_cap;
    bool renamed;
};

/* Make room for need elements of size bytes in *p (capacity *cap, doubled): false when out of
 * memory. */
bool replay_grow(void **p, size_t *cap, size_t need, size_t size);
struct rp_domain *replay_domain_of(struct sim_replay *rp, uint32_t domid, bool create);
struct replay_vcpu *replay_vcpu_of(struct sim_replay *rp, uint32_t dv);
/* Sort v's steps into the main line, upcalls and their bodies: step i (every step before it
 * sorted, and i complete: its deps read); then the steps left and the index of the bodies, once
 * all are read. 0, or -1 out of memory. */
int replay_segment_step(struct replay_vcpu *v, const struct sim_replay *rp, uint32_t i);
int replay_segment(struct replay_vcpu *v, const struct sim_replay *rp);
void replay_vcpu_free(struct replay_vcpu *v);
/* A hypercall of the replay's own, in r, made by sv now (r gets the result); SCHEDOP_block. */
void replay_issue(struct sim_vcpu *sv, struct hv_regs *r);
void replay_block(struct sim_vcpu *sv);
/* The vcpu waits in Xen for an event: SCHEDOP_block, or an HVM vcpu's hlt. */
void replay_wait_for_events(struct sim_vcpu *sv);

/* Another ABI than the recorded one (sim/replay_abi.c): is sv's domain under one; set it up
 * (once per domain); grow a FIFO event array over the ports bound; is a recorded call the
 * recorded ABI's set-up; and a recorded access as port operations (how many, or -1: not an
 * ABI's page, play it as recorded). */
struct rp_port_ref {
    uint32_t port;
    enum rp_port_op op;
};
bool rp_abi_changed(const struct sim_vcpu *sv);

/* Port numbers (sim/replay_ports.c): a recorded bind's port got another number now; a recorded
 * number now, a number now as recorded; rename the ports a call's arguments name (the recorded
 * bytes are in RAM). */
void replay_port_bound(struct rp_domain *d, uint32_t recorded, uint32_t now);
uint32_t replay_port_now(const struct rp_domain *d, uint32_t recorded);
uint32_t replay_port_recorded(const struct rp_domain *d, uint32_t now);
void replay_rename_args(struct sim_vcpu *sv, const struct hv_regs *r);
void rp_abi_setup(struct sim_vcpu *sv);
/* A page of the replay's own, from the top of sv's domain's RAM down (zeroed): its
 * guest-physical address, 0 when RAM runs short. */
uint64_t rp_take_page(struct sim_vcpu *sv, struct rp_domain *d);
/* An event-channel call of the replay's own by sv, its argument (len bytes, read back after the
 * call for its outputs) in a page of its own: the result. */
int64_t rp_evtchn_call(struct sim_vcpu *sv, struct rp_domain *d, unsigned cmd, void *arg,
                       size_t len);
/* The same for any hypercall nr with a command and one argument. */
int64_t rp_call(struct sim_vcpu *sv, struct rp_domain *d, unsigned nr, unsigned cmd, void *arg,
                size_t len);
void rp_abi_grow(struct sim_vcpu *sv);
bool rp_abi_setup_call(const struct sim_vcpu *sv, const struct rp_step *s);
int rp_abi_decode(struct sim_vcpu *sv, const struct rp_step *s, struct rp_port_ref *out, int max);

/* Run `cycles` of guest code before the next action, across slices: true once they have run
 * (replay_play.c). */
bool replay_compute(struct sim_vcpu *sv, uint64_t cycles);

/* A real host's recording (sim/replay_real.c): read it into rp (its scenario inferred), at the
 * TSC frequency hz; give a vcpu of the machine its wake timer; play its next step (false: it
 * stops here); a replayed access of port table entry s took `cycles`. 0, or -1 with d. */
/* allow_truncated: read a recording cut short up to its last whole record. */
int replay_real_load(struct sim_replay *rp, const char *path, uint64_t hz, bool allow_truncated,
                     struct diag *d);
/* Inferred device models and channels (sim/replay_real_dm.c): before a step of sv, take the
 * events delivered and set up its domain's servers and ports; whether sv must wait at step s
 * for an HVM vcpu's request or a send (it then blocks, and plays s again); whether a wait's
 * event came; a notification; a request made; a send. */
void rr_dm_before_step(struct sim_vcpu *sv);
bool rr_dm_must_wait(struct sim_vcpu *sv, const struct rr_step *s);
bool rr_dm_wait_met(struct sim_vcpu *sv, const struct rr_step *s);
void rr_dm_notify(struct sim_vcpu *sv, const struct rr_step *s);
void rr_dm_request_made(struct sim_vcpu *sv, const struct rr_step *s);
void rr_chan_send(struct sim_vcpu *sv, const struct rr_step *s);
void rr_dm_free(struct sim_replay *rp);
int replay_real_attach(struct sim_vcpu *sv);
bool replay_real_step(struct sim_vcpu *sv);
void replay_real_free(struct replay_vcpu *v);

#endif
