/* The simulated machine: physical CPUs (SystemC threads), domains with their Unicorn vcpus, the
 * model of Xen, and the glue between them (the model's guest-memory and event-sink interfaces). */
#ifndef EVSIM_SIM_MACHINE_H
#define EVSIM_SIM_MACHINE_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "models/coherence.h"
#include "models/domain.h"
#include "sim/aot.h"
#include "sim/console.h"
#include "sim/diag.h"
#include "sim/ioreq_rt.h"
#include "sim/loader.h"
#include "sim/physmem.h"
#include "sim/scenario.h"
#include "sim/stages.h"
#include "sim/timeline.h"

struct simk_event;
struct sim_pcpu;

enum sim_vcpu_state {
    SV_IDLE,    /* blocked, down or dead: on no queue */
    SV_WAKING,  /* on its pcpu's wake list until wake_at */
    SV_QUEUED,  /* on its pcpu's run queue */
    SV_RUNNING, /* its pcpu's current vcpu */
};

enum sim_domain_status { SD_RUNNING, SD_POWEROFF, SD_SHUTDOWN, SD_CRASHED };

struct sim_event_page;
struct sim_evpage_ctx;
struct sim_mmio_window;
struct host_dm;
struct host_dm_arena;
struct sim_recorder;
struct sim_replay;

/* A vcpu's HVM I/O exits (sim/hvm_exits.c). */
struct sim_hvm_rep {
    bool valid;    /* the last port access was an element of a rep string instruction ... */
    uint64_t site; /* ... at this address ... */
    uint64_t rcx;  /* ... with this many elements left, this one included ... */
    uint64_t ptr;  /* ... and this element's guest memory address */
};
/* One element of an access as the guest made it (before Xen rewrote it for its server). */
struct sim_hvm_access {
    uint64_t addr; /* port, or guest-physical address */
    uint64_t data; /* written, or (an answer) read */
    uint32_t size;
    uint8_t dir;  /* IOREQ_READ or IOREQ_WRITE */
    uint8_t type; /* IOREQ_TYPE_PIO or IOREQ_TYPE_COPY */
    bool ptr;     /* a rep ins/outs batch (data_is_ptr, data its buffer's guest-physical
                   * address): the instruction retired when it was sent, nothing to replay */
};
#define SIM_HVM_REPLAY_MAX 8u
/* Accesses an emulator answered, for the instruction that made them: it runs again from its
 * start and takes them in order (an access beyond them goes to Xen afresh). */
struct sim_hvm_replay {
    uint64_t site, rcx; /* the instruction, and rcx when it made them (a rep's element) */
    unsigned n, next;
    struct sim_hvm_access a[SIM_HVM_REPLAY_MAX];
};
struct sim_hvm_io {
    uint64_t exits;       /* VM exits taken for I/O */
    uint64_t late_claims; /* accesses a server claimed too late to forward (to_xen) */
    bool waiting;         /* for an emulator's answer to `access`, made at site */
    uint64_t wait_site, wait_rcx;
    struct sim_hvm_access access;
    struct sim_hvm_replay replay;
    struct rt_flight flight;       /* the round trip's moments (sim/ioreq_rt.h) */
    bool precise;                  /* every instruction hooked: MMIO accesses know their rip */
    size_t precise_hook;           /* uc_hook */
    uint64_t blk, blk_insns;       /* the block run the I/O hooks below belong to ... */
    unsigned nth;                  /* ... and how many of them it has run */
    struct sim_hvm_rep rep;        /* to tell a rep instruction's next element from a new exit */
    struct sim_mmio_window **mmio; /* pages mapped as MMIO on first touch */
    unsigned nr_mmio, cap_mmio;
};

/* A Unicorn engine. PV domains share one per physical CPU: a vcpu's registers (and its
 * domain's page tables, through CR3) are loaded into it when the vcpu runs there. An HVM vcpu,
 * whose physical space is its domain's own, has one to itself. */
struct sim_engine {
    void *uc; /* uc_engine */
    struct machine *m;
    struct sim_vcpu *sv; /* whose registers it holds: the vcpu it runs while it runs */
    bool paged;          /* a CPU's engine for PV domains */
    uint64_t *hooked;    /* trap sites hooked in it, as address * 4 + kind */
    unsigned nr_hooked, cap_hooked;
    const void *program; /* the image of the first program it runs (guest_image.file) ... */
    bool mixed;          /* ... and whether it runs others: then a site hook checks its vcpu's */
    /* Translated code: each domain's is its own (its own machine addresses). The engine drops
     * it all, between slices, after this many domains have run in it (sim/vcpu.c), rather
     * than let Unicorn's buffer fill up mid-run. */
    unsigned id;       /* its CPU */
    uint32_t epoch;    /* flushes so far, plus 1 */
    unsigned new_doms; /* domains that ran in it since the last */
};

struct sim_vcpu {
    struct vcpu *v;
    struct sim_domain *sd;
    struct sim_pcpu *pcpu;             /* home physical CPU (static placement) */
    uint64_t *clock;                   /* &pcpu->local */
    uint64_t hot_base, hot_size;       /* the image's main code segment, for the block hook */
    struct aot_block_cost *hot_blocks; /* its blocks' costs, per start offset */
    uint32_t taken_cycles;             /* the profile's extra cost of a taken conditional branch */
    void *uc;                          /* the uc_engine holding its registers now (NULL: in ctx) */
    struct sim_engine *eng;            /* ... and its sim_engine */
    void *ctx; /* PV: its registers while no engine holds them (uc_context) */
    enum sim_vcpu_state state;
    /* the scheduler's (sim/sched.c) */
    bool pinned, boost;
    int64_t credit;         /* cycles it may run before it is OVER */
    uint64_t credit_period; /* the last accounting period it earned credit for */
    uint64_t migrations;
    bool on_cpu;        /* holds its CPU (Xen: not switched out), for the periodic timer */
    uint64_t wake_at;   /* cycles, while SV_WAKING */
    uint64_t stop_at;   /* cycles: end of the current slice */
    uint64_t slice_end; /* cycles: end of its time slice */
    bool stop_requested;
    bool slice_ran;       /* a block of this slice has run (the first may cross its end) ... */
    uint64_t slice_insns; /* ... or, under an engine, insns has moved from this since it began */
    bool xen_entry;    /* interrupted or scheduled in: Xen returns to it at its next slice start */
    uint64_t hc_start; /* cycles: when the hypercall being handled trapped */
    struct stage_vcpu stages;
    uint64_t resume_at; /* where a slice cut at a block boundary resumes (0: Unicorn's RIP) */
    uint64_t insns;
    uint64_t guest_cycles;    /* cycles of guest code it ran (the block hook's charges) */
    uint64_t rec_guest_at;    /* guest_cycles at its last replay step recorded ... */
    uint64_t rec_step_at;     /* ... and that step's time in the recording */
    struct replay_vcpu *rp;   /* replayed: its recorded steps (sim/replay.c), else NULL */
    uint64_t upcall_insns;    /* guest instructions from callback entry to HYPERVISOR_iret */
    uint64_t upcall_insns_at; /* insns when the current upcall began */
    /* The block being executed (for exact RDTSC values): its end, its size and, if it ends
     * with a conditional branch, taken_cycles, charged unless the next block starts at its end
     * (vcpu.h reads them). One store on the block hook's path. */
    struct aot_block_tail blk;
    uint64_t fault_addr; /* last unmapped access, for the crash diagnostic */
    int fault_access;    /* uc_mem_type */
    struct simk_event *timer_ev[HV_TIMER_KINDS];
    unsigned timer_slot; /* its timers' first slot in the machine's timeline */
    struct sim_timer_ctx {
        struct sim_vcpu *sv;
        enum hv_timer_kind kind;
    } timer_ctx[HV_TIMER_KINDS];
    unsigned evpage_gen;           /* the domain's event pages this engine maps */
    struct sim_evpage_ctx **evctx; /* per event page: its callbacks' context, once mapped */
    unsigned nr_evctx;
    struct sim_hvm_io hvm_io;
    int8_t trace_state; /* its runstate in the recording (sim/record.c) ... */
    uint64_t trace_at;  /* ... since then (cycles) ... */
    unsigned trace_cpu; /* ... written on this CPU */
    bool trace_in_exit; /* in a VM exit the recording has not closed with VMENTRY */
    bool ud_taken;      /* a vmcall or vmmcall was taken as a hypercall: its #UD is no fault */
    char line[256];     /* console output not yet ended by a newline */
    unsigned line_len;
};

struct sim_domain {
    struct machine *m;
    struct domain *d;
    const struct scenario_domain *cfg;
    struct guest_image img;
    struct aot_image aot;
    bool img_borrowed; /* img is the first domain's running the same program */
    uint8_t *ram;
    uint64_t ram_size;
    /* An HVM domain's RAM when the scenario has a device model on the host: a memfd (else -1
     * or 0, ram_shared false) that the device model maps (xenforeignmemory_map). */
    int ram_fd;
    bool ram_shared;
    /* Where its guest-physical 0 is in its virtual address space: a PV guest's
     * XEN_ELFNOTE_VIRT_BASE (guest virtual = virt_base + guest-physical); 0 for the others,
     * which run without paging. Its program's addresses (rip, symbols) are virtual. */
    uint64_t virt_base;
    /* The machine frame of its guest-physical 0 (a PV domain's p2m list starts there; a replay's
     * as recorded): frames its hypercalls name are MFNs from it. 0: frames are guest-physical. */
    uint64_t mfn0;
    uint8_t *shared_info; /* one page, mapped at ram_size */
    uint64_t shared_info_gpa;
    uint64_t start_info_gpa, stack_top;
    /* PV guests: a place in the machine's physical space (physmem.h), with page tables. */
    bool paged;
    uint64_t mach_base;
    struct phys_layout layout;
    unsigned pte_gen;   /* the event pages' generation its page tables show */
    uint32_t *tb_epoch; /* per CPU: the engine's epoch when it last ran this domain */
    /* Its program's text, [text_from, text_to), read from one copy shared by the domains
     * running it (at text_mach; the first domain's holds it) until it writes there. */
    uint64_t text_from, text_to, text_mach;
    bool text_shared;
    struct sim_vcpu *vcpu;
    unsigned nr_vcpus;
    enum sim_domain_status status;
    unsigned shutdown_reason;
    uint64_t console_lines; /* printed so far (at most the scenario's console_lines) */
    char crash_reason[512];
    struct stage_domain stages; /* event paths by receiving port */
    struct rt_domain ioreq_rt;  /* its ioreq servers' round trips, by server id */
    struct host_dm *dm;         /* a device model on the host runs as this domain (host_dm.c) */
    /* FIFO / 3-level pages shared with Xen (sim/evpages.c); the generation moves on every
     * change so each engine knows when to remap. */
    struct sim_event_page *evpage;
    unsigned nr_evpage, cap_evpage, evpage_gen;
};

/* Host address of guest virtual address va of sd, which has len bytes of RAM from there, or
 * NULL. */
static inline uint8_t *sim_domain_va(const struct sim_domain *sd, uint64_t va, uint64_t len)
{
    uint64_t pa = va - sd->virt_base;
    if (va < sd->virt_base || pa > sd->ram_size || len > sd->ram_size - pa)
        return NULL;
    return sd->ram + pa;
}

/* Host pointer to [gpa, gpa+len) of sd's RAM as Xen takes a hypercall's pointer into it (page 0
 * is no memory a hypercall may name), or NULL. */
static inline uint8_t *sim_domain_hc_ram(const struct sim_domain *sd, uint64_t gpa, uint64_t len)
{
    if (gpa >= XEN_PAGE_SIZE && gpa <= sd->ram_size && len <= sd->ram_size - gpa)
        return sd->ram + gpa;
    return NULL;
}

/* The same for a hypercall's pointer: a PV guest's virtual address, RAM mapped at its
 * virt_base (every other domain's is 0). */
static inline uint8_t *sim_domain_hc_ptr(const struct sim_domain *sd, uint64_t va, uint64_t len)
{
    return va < sd->virt_base ? NULL : sim_domain_hc_ram(sd, va - sd->virt_base, len);
}

struct sim_pcpu {
    struct machine *m;
    unsigned id;
    uint64_t local; /* cycles: this CPU's time, ahead of the kernel by < 1 lookahead */
    /* When this CPU, not running now, may next act: its time while it waits to be caught up
     * with, its next wake-up while idle (UINT64_MAX: none, or its thread has ended). A running
     * CPU may go at most a lookahead beyond every other CPU's (docs/timing.md). */
    uint64_t sync_at;
    bool idle;             /* waiting for its doorbell */
    uint64_t interrupt_at; /* an IPI arrives then (UINT64_MAX: none pending) */
    uint64_t next_tick;    /* Xen's next scheduler tick on this CPU (cycles) */
    /* Its latest stretch in Xen (a hypercall, or scheduling and event injection before a
     * slice): guest code ran before xen_from and after xen_to only. An IPI arriving within it
     * is taken on the way out, as in Xen; one arriving where guest code already ran is late. */
    uint64_t xen_from, xen_to;
    struct simk_event *doorbell;
    struct simk_event *parked; /* its thread waits here once the run is over */
    struct sim_vcpu *current;
    struct sim_vcpu *last;  /* the vcpu whose context is loaded (for switch costs) */
    struct sim_engine *eng; /* where PV vcpus run on this CPU (NULL: no PV guest) */
    struct sim_vcpu **runq; /* runnable vcpus, by priority then arrival (sim/sched.c) */
    unsigned rq_len, rq_cap;
    struct sim_vcpu **waking;
    unsigned nr_waking;
    uint64_t ipi_cycles_owed;
    uint64_t busy_cycles, ipis_received, switches, steals, preemptions;
};

struct sim_pirq_source {
    struct machine *m;
    const struct scenario_pirq *cfg;
    unsigned raised;    /* raises so far */
    unsigned unbound;   /* ... that found no port bound to the line */
    unsigned held_back; /* ... that found a level line blocked awaiting the guest's EOI */
    struct simk_event *ev;
    struct simk_event *eoi_timer; /* Xen's eoi_timer of the line (the first source of a line) */
    unsigned slot, eoi_slot;      /* the two timers' slots in the machine's timeline */
};

/* Who acts now, as the model's sinks see it: whose time an effect happens at, and which CPU's
 * caches it goes through. Either a CPU runs a vcpu, its scheduling or Xen's work for it (its
 * local time, which may be ahead of the kernel's), or a timed callback runs at kernel time for
 * a CPU: a vcpu timer where the vcpu runs, a platform interrupt, a probe or a host device model.
 * Set where control passes (machine_act_on / _done / _callback); the vcpu in a hypercall is
 * the model's hv.current, the vcpu each CPU runs is its pcpu->current. */
struct sim_acting {
    struct sim_pcpu *cpu; /* the CPU acting at its own time; NULL: a callback at kernel time */
    unsigned cpu_id;      /* the CPU effects are attributed to (cpu's id when cpu is set) */
};

struct machine {
    struct hv hv;
    const struct scenario *sc;
    const struct cost_profile *cost; /* &profile */
    struct cost_profile profile;
    struct sim_pcpu *pcpu;
    unsigned nr_pcpus;
    struct sim_domain *dom;
    unsigned nr_dom;
    unsigned live_domains;
    struct sim_pirq_source *pirq;
    struct phys_space phys; /* PV domains' machine memory */
    /* The first domain running each distinct program: later ones share its image and its
     * decoded code (sim/aot.h). */
    struct sim_domain **program;
    unsigned nr_programs;
    void *boot_ctx;           /* a fresh engine's registers (uc_context): PV vcpus start from it */
    struct sim_acting acting; /* who acts now: see struct sim_acting */
    struct coherence *coh;    /* cache lines shared between Xen and guests */
    struct timeline timeline; /* deadlines of vcpu timers and PIRQ sources */
    unsigned timeline_used;   /* its slots handed out so far */
    bool limits_stale;        /* a timer was armed or a vcpu made ready since the running CPU last
                                 computed its slice limit (sim_pcpu_slice_limit) */
    uint64_t lookahead;       /* cycles: the least time between a CPU's action and its effect on
                                 another CPU (a hypercall's trap and dispatch) */
    uint64_t late_effects;    /* cross-CPU effects that found their target past their time (0
                                 unless the lookahead is broken: a check, in the report) */
    bool finished;
    enum sim_end { END_RUNNING, END_ALL_STOPPED, END_RUN_LENGTH, END_STARVED, END_INTERRUPTED } end;
    /* Set (to the signal's number) when the user asks the run to stop (SIGINT, SIGTERM): the
     * CPUs stop at their next slice and the report says the run is partial. NULL: never. */
    const volatile sig_atomic_t *interrupt;
    int interrupted_by;
    uint64_t end_cycles;     /* when the run stopped */
    uint64_t run_end_cycles; /* the scenario's run length */
    FILE *out;               /* console and crash messages */
    struct console console;  /* ... put in simulated-time order */
    char guest_dir[1024];    /* where guest programs are found by name */
    bool progress;           /* progress on stderr */
    /* Optional: every complete console line of every domain (benchmarks watch for markers). */
    void (*on_line)(void *ctx, struct sim_domain *sd, const char *line);
    void *on_line_ctx;
    unsigned progress_drawn;     /* fiftieths of the run already drawn */
    struct host_dm_arena *arena; /* pages shared with host device models (host_dm.c) */
    struct sim_recorder *rec;    /* --record: the recording (sim/record.c), NULL if none */
    struct sim_replay *replay;   /* `evsim replay`: vcpus run recorded steps, no engine */
    struct explain *explain;     /* the teaching mode's narrator (sim/explain.h), NULL if none */
    /* Actors that are no CPU but act on them (host device models): when each may next act
     * (cycles, UINT64_MAX: not before something wakes it), bounding every CPU's run ahead as
     * another CPU's sync_at does. */
    const uint64_t **actor_sync;
    unsigned nr_actors;
    struct machine_probe **probe;
    unsigned nr_probes;
};

/* A look at the machine at a given time (the teaching mode's --dump-at): every CPU stops there
 * first, as for a timer, so what fn sees is the state at that cycle. */
struct machine_probe {
    struct machine *m;
    uint64_t at;
    void (*fn)(struct machine *m, void *arg);
    void *arg;
    struct simk_event *ev;
    unsigned slot;
    bool fired; /* the run reached `at` */
};
/* Arm a probe at cycle `at` (after machine_build, before machine_run): 0, or -1 when out of
 * memory. */
int machine_add_probe(struct machine *m, uint64_t at, void (*fn)(struct machine *m, void *arg),
                      void *arg);

/* Build every domain of the scenario (load, place, annotate, create engines). 0, or -1 with d. */
int machine_build(struct machine *m, const struct scenario *sc, const char *guest_dir, FILE *out,
                  struct diag *d);
/* The same for `evsim replay`: every vcpu plays its steps from replay instead of running guest
 * code (no image is loaded, no engine made). */
int machine_build_replay(struct machine *m, const struct scenario *sc, const char *guest_dir,
                         struct sim_replay *replay, FILE *out, struct diag *d);
/* Run to the end (all domains stopped, run length reached, or nothing left to happen). */
void machine_run(struct machine *m);
void machine_free(struct machine *m);
/* Cycles of simulated time at the end of the run, and its Xen system time in ns. */
uint64_t machine_now_cycles(const struct machine *m);
/* When the run ended: the kernel's time, or later where a CPU ran on past it. */
uint64_t machine_end_cycles(const struct machine *m);
/* 0: every domain powered off or still running at the end of the run; 1: one crashed or shut
 * down with SHUTDOWN_crash; 128 + the signal when the user interrupted the run. */
int machine_exit_status(const struct machine *m);

/* Had CPU q run guest code past `at` (an effect due then comes late)? Time it spent in Xen
 * past `at` does not count: the effect is taken on the way out. */
bool pcpu_ran_guest_past(const struct sim_pcpu *q, uint64_t at);
/* Picoseconds of kernel time from now until `at_cycles` (0 if past). */
uint64_t machine_delay_ps_until(const struct machine *m, uint64_t at_cycles);
/* The CPU acting now and its time (inside a hypercall, what it was charged so far has passed),
 * and what a shared line costs it beyond an L1 hit. */
static inline unsigned machine_acting_pcpu(const struct machine *m)
{
    return m->acting.cpu_id;
}

static inline void machine_act_on(struct machine *m, struct sim_pcpu *p)
{
    m->acting = (struct sim_acting){.cpu = p, .cpu_id = p->id};
}

/* The CPU stops acting at its own time; effects stay attributed to it until the next actor. */
static inline void machine_act_done(struct machine *m)
{
    m->acting.cpu = NULL;
}

static inline void machine_act_callback(struct machine *m, unsigned cpu)
{
    m->acting = (struct sim_acting){.cpu = NULL, .cpu_id = cpu};
}
uint64_t machine_acting_cycles(const struct machine *m);
uint64_t machine_line_cost(struct machine *m, unsigned pcpu, const volatile void *addr, size_t len,
                           enum coh_access kind);

/* Resolve a guest program name or path: 0 and the path in out, or -1 with d. */
int guest_resolve(const char *guest, const char *base_dir, const char *guest_dir, char *out,
                  size_t outlen, struct diag *d);

#endif
