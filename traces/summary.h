/* A xenalyze-style summary of a recording, built one record at a time in global time order.
 *
 * What it follows, with xenalyze's rules (tools/xentrace/xenalyze.c) so that the counts agree:
 * - runstates per vcpu from RUNSTATE_CHANGE: a vcpu is counted from the first time it is seen
 *   to run; each interval is charged to the state it ends; a runnable interval is a wake (from
 *   blocked or offline), a preemption (from running) or other; when a CPU's records end, the vcpu
 *   running there is "lost" at that CPU's last TSC;
 * - which vcpu runs on each physical CPU (the last change to running there), to which the CPU's
 *   HVM and PV records belong;
 * - HVM exits: an arc from the exit to the next VMENTRY, or to the moment the vcpu becomes
 *   runnable again if sooner (time waiting for a CPU is not the exit's); the arc is charged to its
 *   exit reason, to the I/O port or MMIO address accessed in it and to the hypercall made in it;
 * - PV hypercalls by number, injected vectors, lost records, per-CPU volume by class. */
#ifndef EVSIM_TRACES_SUMMARY_H
#define EVSIM_TRACES_SUMMARY_H

#include <stdio.h>

#include "traces/cycles.h"
#include "traces/idmap.h"
#include "traces/xentrace.h"

#define XT_CPU_HZ_DEFAULT 2400000000ull /* xenalyze's default */

struct xt_summary_options {
    uint64_t cpu_hz;     /* 0: from the recording (evsim's), else XT_CPU_HZ_DEFAULT */
    uint32_t sample_cap; /* 0: XT_SAMPLE_CAP_DEFAULT */
};

/* A sorted table of summaries by key (exit reason, port, address, hypercall, vector); [0] reads
 * or the only kind, [1] writes. */
struct xt_keyed {
    uint64_t key;
    struct xt_cycles c[2];
};

struct xt_table {
    struct xt_keyed *e;
    uint32_t n, cap;
};

enum xt_vcpu_state {
    XT_RUNNING,
    XT_RUNNABLE,
    XT_BLOCKED,
    XT_OFFLINE,
    XT_LOST,
    XT_STATES,
    XT_INIT = XT_STATES /* not seen running yet: nothing is counted */
};

enum xt_runnable_kind { XT_WAKE, XT_PREEMPT, XT_OTHER, XT_RUNNABLE_KINDS };

struct xt_vcpu {
    uint32_t domid, vid;
    struct xt_domain *dom;
    enum xt_vcpu_state state;
    enum xt_runnable_kind runnable_kind;
    uint64_t state_tsc;
    int pcpu; /* where it last ran, -1 never */
    struct xt_cycles runstate[XT_STATES];
    struct xt_cycles runnable[XT_RUNNABLE_KINDS];
    /* xenalyze's cpu affinity: the stretches between moves to another CPU, all of them and by
     * CPU (each counted under the CPU it moved to, as xenalyze counts it), from its first
     * schedule after it was first seen (activated) */
    bool activated;
    uint64_t pcpu_tsc;
    struct xt_cycles affinity;
    struct xt_cycles *affinity_cpu;
    uint32_t affinity_cpus;
    bool hvm, pv; /* which records it had: xenalyze charges a vcpu only one kind */
    /* the exit in flight */
    bool exit_open; /* from its VMEXIT to its VMENTRY, or to the vcpu's wake (xenalyze's
                       vmexit_valid) */
    uint32_t exit_reason;
    bool exit_svm; /* an SVM exit id: the reason is an SVM exit code (table key bit 32) */
    uint64_t exit_tsc, arc;
    int io; /* 0 none, 1 port, 2 MMIO: the exit's first access says which, and its direction */
    bool io_write;
    bool mmio_data;      /* an MMIO record of the exit carried its data (xenalyze's data_valid) */
    uint64_t io_addr[3]; /* by kind: its last access of that kind says where */
    int64_t hypercall;   /* -1 none */
    uint64_t exit_total; /* cycles of all arcs, for the reasons' shares */
    struct xt_table exits, hypercalls, pio, mmio, vectors;
    /* accesses whose record came after their exit ended (a read a device model answered): by
     * address, counted only */
    struct xt_table late_pio, late_mmio;
};

/* xenalyze's domain runstates: what a domain's vcpus are doing together (domain_runstate) */
enum xt_domain_state {
    XT_DOM_BLOCKED,
    XT_DOM_PARTIAL_RUN,
    XT_DOM_FULL_RUN,
    XT_DOM_PARTIAL_CONTENTION,
    XT_DOM_CONCURRENCY_HAZARD,
    XT_DOM_FULL_CONTENTION,
    XT_DOM_LOST,
    XT_DOM_STATES
};

struct xt_domain {
    uint32_t id;
    struct xt_idmap vcpus; /* struct xt_vcpu by vcpu id (16 bits, as records carry them) */
    /* its vcpus in each state (those still in XT_INIT apart), and its own state since when */
    uint32_t in_state[XT_STATES], known;
    enum xt_domain_state state;
    uint64_t state_tsc;
    struct xt_cycles runstate[XT_DOM_STATES]; /* each interval goes to the state it ends */
};

/* xenalyze's pseudo-domains: Xen's idle domain, and its own for CPUs it has seen nothing run on */
#define XT_IDLE_DOMAIN 32767u
#define XT_DEFAULT_DOMAIN 32768u

struct xt_pcpu {
    struct xt_vcpu *current;
    uint64_t first_tsc, last_tsc;
    /* between a LOST_RECORDS record's two deliveries (xt_options.lost_twice): the CPU's trace
     * went dark at lost_tsc, with lost_did/lost_vid running when it came back (if lost_valid) */
    bool lost_active, lost_valid;
    uint64_t lost_tsc;
    uint32_t lost_did, lost_vid;
};

struct xt_summary {
    struct xt_summary_options opt;
    uint64_t file_cpu_hz; /* from an evsim recording's CPU_HZ record, 0 if none */
    struct xt_idmap dom;  /* struct xt_domain by domain id */
    struct xt_pcpu *pcpu;
    uint32_t nr_pcpus;
    uint64_t first_tsc, last_tsc;
    uint64_t records, unknown, unattributed;
    uint64_t outside_exit; /* accesses and VMMCALLs with no exit in flight: counted nowhere else */
    unsigned lost_cpus;    /* CPUs whose trace is dark (lost_active) */
    bool oom;
    /* xt_event_name's answers by id, direct-mapped: it searches its table, and a recording
     * has few distinct ids */
    struct xt_name_cache {
        uint32_t event;
        bool filled, known;
    } names[256];
};

int xt_summary_init(struct xt_summary *s, const struct xt_summary_options *opt);
/* Ends what the recording's end leaves open (each vcpu's stretch on its last CPU), as xenalyze
 * does when it prints: once, after the last record, before printing. */
void xt_summary_finish(struct xt_summary *s);
/* Adds the next record, in the order of a reader opened with xt_options.lost_twice (a
 * LOST_RECORDS record comes twice, as xenalyze takes it). */
void xt_summary_add(struct xt_summary *s, const struct xt_rec *rec);
/* CPU cpu has no more records: the vcpu it runs is lost at its last TSC (xenalyze's
 * deactivate_pcpu). */
void xt_summary_cpu_done(struct xt_summary *s, uint32_t cpu);
/* Vcpu vid of d, or NULL if the recording never named it. */
const struct xt_vcpu *xt_domain_vcpu(const struct xt_domain *d, uint32_t vid);
/* Domain domid, or NULL if the recording never named it. */
const struct xt_domain *xt_summary_domain(const struct xt_summary *s, uint32_t domid);
/* The CPU frequency the summary uses: the option, the recording's, or xenalyze's default. */
uint64_t xt_summary_cpu_hz(const struct xt_summary *s);
void xt_summary_print(FILE *out, const struct xt_summary *s, const struct xt_stats *st);
/* The same as JSON (traces/summary_json.c; docs/traces.md has the layout). The caller puts it. */
struct json_object;
struct json_object *xt_summary_json(const struct xt_summary *s, const struct xt_stats *st);
void xt_summary_free(struct xt_summary *s);

/* Names for the summary and the dump (traces/xen_names.c). */
const char *xt_exit_reason_name(uint32_t event, uint32_t reason);
const char *xt_hypercall_name(uint32_t nr);
const char *xt_runstate_name(unsigned state);
/* "partial run" and the others, as xenalyze names them */
const char *xt_domain_state_name(enum xt_domain_state state);

#endif
