/* traces/summary.c and traces/cycles.c: synthetic record sequences fed to xt_summary_add, and
 * the cycle summaries' percentiles and reservoir.
 *
 * Each summary case is a short story on one or two physical CPUs (runstate changes, HVM exits
 * with what happens inside them, PV hypercalls, injected vectors) with the intervals worked out
 * by hand: per vcpu, the count and cycles of each runstate and runnable kind and the state it
 * ends in; per table (exit reasons, ports, MMIO addresses, hypercalls, vectors), the events,
 * the intervals and their cycles under each key. */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "traces/cycles.h"
#include "traces/summary.h"

/* ---- steps ---- */

struct step {
    bool cpu_done; /* xt_summary_cpu_done(cpu) instead of a record */
    uint32_t cpu;
    uint64_t tsc;
    uint32_t event;
    unsigned n;
    uint32_t d[4];
    bool cpu_last;
    bool lost_end;
};

#define DV(dom, v) ((uint32_t)(dom) << 16 | (v))
#define REC(c, t, ev, n_, ...)                                                                     \
    {                                                                                              \
        .cpu = (c), .tsc = (t), .event = (ev), .n = (n_), .d = { __VA_ARGS__ }                     \
    }
#define RS(c, t, old, new, dom, v)                                                                 \
    REC(c, t, TRC_SCHED_RUNSTATE_CHANGE | (old) << 8 | (new) << 4, 1, DV(dom, v))
#define RUNS(c, t, dom, v) RS(c, t, XT_RUNNABLE, XT_RUNNING, dom, v)
#define CONT(c, t, dom, v) REC(c, t, TRC_SCHED_CONTINUE_RUNNING, 1, DV(dom, v))
#define EXIT(c, t, reason) REC(c, t, TRC_HVM_VMX_EXIT64, 3, reason, 0x1000, 0)
#define SVM_EXIT(c, t, reason) REC(c, t, TRC_HVM_SVM_EXIT64, 3, reason, 0x1000, 0)
#define ENTRY(c, t) REC(c, t, TRC_HVM_VMENTRY, 0, 0)
#define IOR(c, t, port) REC(c, t, TRC_HVM_IOPORT_READ, 2, port, 0)
#define IOW(c, t, port, v) REC(c, t, TRC_HVM_IOPORT_WRITE, 2, port, v)
/* Xen's hvmtrace_io_assist: the address (64 bits here), then the data */
#define MMIO_R64(c, t, lo, hi) REC(c, t, TRC_HVM_IOMEM_READ | TRC_64_FLAG, 4, lo, hi, 0x5, 0)
/* a batch's (data_is_ptr): the address alone */
#define MMIO_W_BATCH(c, t, a) REC(c, t, TRC_HVM_IOMEM_WRITE, 1, a)
#define VMCALL(c, t, eax) REC(c, t, TRC_HVM_VMMCALL, 1, eax)
#define PV_CALL(c, t, w0) REC(c, t, TRC_PV_HYPERCALL_V2, 1, w0)
/* Xen's PV hypercall record before 4.5: eip (32 bits, or 64 with TRC_64_FLAG), then eax */
#define PV_CALL_V1(c, t, eax) REC(c, t, TRC_PV_HYPERCALL, 2, 0x1000, eax)
#define PV_CALL_V1_64(c, t, eax) REC(c, t, TRC_PV_HYPERCALL | TRC_64_FLAG, 3, 0x1000, 0, eax)
#define VIRQ(c, t, vec) REC(c, t, TRC_HVM_INJ_VIRQ, 2, vec, 0)
/* LOST_RECORDS as the reader delivers it with lost_twice: first where the first record was lost
 * (its own TSC t, the vcpu Xen names, the first lost TSC), then again at t */
#define LOST(c, t, dom, v, first)                                                                  \
    REC(c, t, TRC_LOST_RECORDS, 4, 5, (dom) | (v) << 16, (uint32_t)(first), 0)
#define LOST_END(c, t, dom, v, first)                                                              \
    {                                                                                              \
        .cpu = (c), .tsc = (t), .event = TRC_LOST_RECORDS, .n = 4,                                 \
        .d = {5, (dom) | (v) << 16, (uint32_t)(first), 0}, .lost_end = true                        \
    }
/* a record of the CPU that is no runstate change and no vcpu's: it only moves the CPU's time */
#define TICK(c, t) REC(c, t, TRC_SCHED_WAKE, 2, 0, 0)
#define TICK_LAST(c, t)                                                                            \
    {                                                                                              \
        .cpu = (c), .tsc = (t), .event = TRC_SCHED_WAKE, .n = 2, .cpu_last = true                  \
    }
#define DONE(c)                                                                                    \
    {                                                                                              \
        .cpu_done = true, .cpu = (c)                                                               \
    }

/* ---- expectations ---- */

struct cyc {
    uint64_t count, cycles;
};

struct vcpu_want {
    bool set;
    uint32_t dom, vid;
    struct cyc rs[XT_STATES];
    struct cyc kind[XT_RUNNABLE_KINDS];
    enum xt_vcpu_state state;
    bool hvm;
};

enum table { T_NONE, T_EXITS, T_PIO, T_MMIO, T_HYPERCALLS, T_VECTORS, T_LATE_PIO };

struct key_want {
    enum table table;
    uint32_t dom, vid;
    uint64_t key;
    int kind; /* 0 reads or the only kind, 1 writes */
    uint64_t events, count, cycles;
};

#define VCPU(d, v) .set = true, .dom = (d), .vid = (v)
#define KEY(t, d, v, k, w, e, n, c)                                                                \
    {                                                                                              \
        .table = (t), .dom = (d), .vid = (v), .key = (k), .kind = (w), .events = (e),              \
        .count = (n), .cycles = (c)                                                                \
    }
#define SVM_KEY(reason) (1ull << 32 | (reason))

struct summary_case {
    const char *name;
    struct step steps[16];
    struct vcpu_want v[2];
    struct key_want keys[6];
    uint64_t unattributed;
    uint64_t outside_exit;
};

static const struct summary_case cases[] = {
    {.name = "a vcpu counts from its first change into running; intervals go to the state they end",
     .steps = {RS(0, 100, XT_BLOCKED, XT_RUNNABLE, 1, 0), /* before it ran: ignored */
               RUNS(0, 200, 1, 0), RS(0, 500, XT_RUNNING, XT_BLOCKED, 1, 0),
               RS(0, 900, XT_BLOCKED, XT_RUNNABLE, 1, 0),                      /* a wake */
               RUNS(0, 950, 1, 0), RS(0, 1000, XT_RUNNING, XT_RUNNABLE, 1, 0), /* a preemption */
               RUNS(0, 1100, 1, 0), RS(0, 1300, XT_RUNNING, XT_BLOCKED, 1, 0)},
     .v = {{VCPU(1, 0),
            .rs = {[XT_RUNNING] = {3, 300 + 50 + 200},
                   [XT_RUNNABLE] = {2, 50 + 100},
                   [XT_BLOCKED] = {1, 400}},
            .kind = {[XT_WAKE] = {1, 50}, [XT_PREEMPT] = {1, 100}}, .state = XT_BLOCKED}}},
    {.name = "a vcpu first seen continuing to run counts from its CPU's first record",
     .steps = {TICK(0, 50), CONT(0, 300, 1, 0), RS(0, 400, XT_RUNNING, XT_BLOCKED, 1, 0)},
     .v = {{VCPU(1, 0), .rs = {[XT_RUNNING] = {1, 350}}, .state = XT_BLOCKED}}},
    {.name = "the end of a CPU's records (cpu_last) closes its vcpu's running interval as lost",
     .steps = {RUNS(0, 100, 1, 0), TICK_LAST(0, 700)},
     .v = {{VCPU(1, 0), .rs = {[XT_RUNNING] = {1, 600}}, .state = XT_LOST}}},
    {.name = "xt_summary_cpu_done: the same at the CPU's last TSC; other CPUs untouched",
     .steps = {RUNS(0, 100, 1, 0), RUNS(1, 120, 1, 1), TICK(0, 700), DONE(0), DONE(7),
               TICK(1, 800)},
     .v = {{VCPU(1, 0), .rs = {[XT_RUNNING] = {1, 600}}, .state = XT_LOST},
           {VCPU(1, 1), .state = XT_RUNNING}}},
    {.name = "a vcpu preempted on CPU 0 runs next on CPU 1",
     .steps = {RUNS(0, 100, 1, 0), RUNS(1, 150, 1, 1), RS(0, 300, XT_RUNNING, XT_RUNNABLE, 1, 0),
               RS(1, 400, XT_RUNNING, XT_BLOCKED, 1, 1), RUNS(1, 450, 1, 0),
               RS(1, 600, XT_RUNNING, XT_BLOCKED, 1, 0)},
     .v = {{VCPU(1, 0), .rs = {[XT_RUNNING] = {2, 200 + 150}, [XT_RUNNABLE] = {1, 150}},
            .kind = {[XT_PREEMPT] = {1, 150}}, .state = XT_BLOCKED},
           {VCPU(1, 1), .rs = {[XT_RUNNING] = {1, 250}}, .state = XT_BLOCKED}}},
    {.name = "HVM: a port write exit, from VMEXIT to VMENTRY",
     .steps = {RUNS(0, 100, 1, 0), EXIT(0, 200, 30), IOW(0, 210, 0x3f8, 0x41), ENTRY(0, 300)},
     .v = {{VCPU(1, 0), .state = XT_RUNNING, .hvm = true}},
     .keys = {KEY(T_EXITS, 1, 0, 30, 0, 1, 1, 100), KEY(T_PIO, 1, 0, 0x3f8, 1, 1, 1, 100),
              KEY(T_PIO, 1, 0, 0x3f8, 0, 0, 0, 0)}},
    {.name = "HVM: a port read exit whose vcpu blocks ends at the wake; Xen's later read record "
             "belongs to no exit (xenalyze)",
     .steps = {RUNS(0, 100, 1, 0), EXIT(0, 200, 30), RS(0, 250, XT_RUNNING, XT_BLOCKED, 1, 0),
               RS(1, 400, XT_BLOCKED, XT_RUNNABLE, 1, 0), /* the device model's answer */
               RUNS(0, 500, 1, 0), IOR(0, 510, 0x3f8), ENTRY(0, 600)},
     .v = {{VCPU(1, 0),
            .rs = {[XT_RUNNING] = {1, 150}, [XT_RUNNABLE] = {1, 100}, [XT_BLOCKED] = {1, 150}},
            .kind = {[XT_WAKE] = {1, 100}}, .state = XT_RUNNING, .hvm = true}},
     .keys = {KEY(T_EXITS, 1, 0, 30, 0, 1, 1, 200), KEY(T_PIO, 1, 0, 0x3f8, 0, 0, 0, 0),
              KEY(T_LATE_PIO, 1, 0, 0x3f8, 0, 1, 0, 0)},
     .outside_exit = 1},
    {.name = "HVM: a port read Xen answers itself is counted with its exit's arc",
     .steps = {RUNS(0, 100, 1, 0), EXIT(0, 200, 30), IOR(0, 210, 0x3f8), ENTRY(0, 300)},
     .v = {{VCPU(1, 0), .state = XT_RUNNING, .hvm = true}},
     .keys = {KEY(T_EXITS, 1, 0, 30, 0, 1, 1, 100), KEY(T_PIO, 1, 0, 0x3f8, 0, 1, 1, 100)}},
    {.name = "HVM: an exit's first access gives the direction and its last the port (xenalyze)",
     .steps = {RUNS(0, 100, 1, 0), EXIT(0, 200, 30), IOW(0, 210, 0x3f8, 0x41), IOR(0, 220, 0x3f9),
               ENTRY(0, 300)},
     .v = {{VCPU(1, 0), .state = XT_RUNNING, .hvm = true}},
     .keys = {KEY(T_EXITS, 1, 0, 30, 0, 1, 1, 100), KEY(T_PIO, 1, 0, 0x3f9, 1, 1, 1, 100),
              KEY(T_PIO, 1, 0, 0x3f9, 0, 0, 0, 0), KEY(T_PIO, 1, 0, 0x3f8, 1, 0, 0, 0)}},
    {.name = "HVM: a preemption inside an exit ends its arc too",
     .steps = {RUNS(0, 100, 1, 0), EXIT(0, 200, 30), RS(0, 300, XT_RUNNING, XT_RUNNABLE, 1, 0),
               RUNS(0, 500, 1, 0), ENTRY(0, 600)},
     .v = {{VCPU(1, 0), .rs = {[XT_RUNNING] = {1, 200}, [XT_RUNNABLE] = {1, 200}},
            .kind = {[XT_PREEMPT] = {1, 200}}, .state = XT_RUNNING, .hvm = true}},
     .keys = {KEY(T_EXITS, 1, 0, 30, 0, 1, 1, 100)}},
    {.name = "HVM: VMMCALL in a VMCALL exit charges the hypercall; outside an exit, nothing",
     .steps = {RUNS(0, 100, 1, 0), EXIT(0, 200, 18), VMCALL(0, 220, 32), ENTRY(0, 350),
               VMCALL(0, 400, 24)},
     .v = {{VCPU(1, 0), .state = XT_RUNNING, .hvm = true}},
     .keys = {KEY(T_EXITS, 1, 0, 18, 0, 1, 1, 150), KEY(T_HYPERCALLS, 1, 0, 32, 0, 1, 1, 150),
              KEY(T_HYPERCALLS, 1, 0, 24, 0, 0, 0, 0)},
     .outside_exit = 1},
    {.name = "HVM: an exit without VMENTRY ends at the next exit; a 64-bit MMIO address",
     .steps = {RUNS(0, 100, 1, 0), EXIT(0, 200, 30), IOW(0, 210, 0x80, 0), EXIT(0, 260, 48),
               MMIO_R64(0, 270, 0xfee00000, 0x1), ENTRY(0, 300)},
     .v = {{VCPU(1, 0), .state = XT_RUNNING, .hvm = true}},
     .keys = {KEY(T_EXITS, 1, 0, 30, 0, 1, 1, 60), KEY(T_PIO, 1, 0, 0x80, 1, 1, 1, 60),
              KEY(T_EXITS, 1, 0, 48, 0, 1, 1, 40), KEY(T_MMIO, 1, 0, 0x1fee00000ull, 0, 1, 1, 40)}},
    {.name = "HVM: an MMIO record without its data (a batch) is not enumerated, as in xenalyze",
     .steps = {RUNS(0, 100, 1, 0), EXIT(0, 200, 48), MMIO_W_BATCH(0, 210, 0xe0000000),
               ENTRY(0, 300)},
     .v = {{VCPU(1, 0), .state = XT_RUNNING, .hvm = true}},
     .keys = {KEY(T_EXITS, 1, 0, 48, 0, 1, 1, 100), KEY(T_MMIO, 1, 0, 0xe0000000, 1, 0, 0, 0)}},
    {.name = "HVM: an SVM exit id keys its reason apart from VMX's",
     .steps = {RUNS(0, 100, 1, 0), SVM_EXIT(0, 200, 0x7b), IOW(0, 210, 0x3f8, 0), ENTRY(0, 260),
               EXIT(0, 300, 0x7b), ENTRY(0, 310)},
     .v = {{VCPU(1, 0), .state = XT_RUNNING, .hvm = true}},
     .keys = {KEY(T_EXITS, 1, 0, SVM_KEY(0x7b), 0, 1, 1, 60), KEY(T_EXITS, 1, 0, 0x7b, 0, 1, 1, 10),
              KEY(T_PIO, 1, 0, 0x3f8, 1, 1, 1, 60)}},
    {.name = "PV hypercall v2: counted by op, the argument bits dropped; none on an idle CPU",
     .steps = {PV_CALL(0, 50, 32), /* no vcpu runs on CPU 0 yet */
               RUNS(0, 100, 0, 0), PV_CALL(0, 200, 32 | 0x00500000), PV_CALL(0, 300, 32),
               PV_CALL(0, 400, 24 | 0xfff00000)},
     .v = {{VCPU(0, 0), .state = XT_RUNNING}},
     .keys = {KEY(T_HYPERCALLS, 0, 0, 32, 0, 2, 0, 0), KEY(T_HYPERCALLS, 0, 0, 24, 0, 1, 0, 0)},
     .unattributed = 1},
    {.name = "lost records: the CPU's vcpu and every vcpu not running are lost at the first lost "
             "record; the vcpu Xen names runs when the CPU is back (xenalyze)",
     .steps = {RUNS(0, 100, 1, 0), RUNS(1, 150, 2, 0), RS(1, 200, XT_RUNNING, XT_BLOCKED, 2, 0),
               LOST(0, 400, 1, 0, 300), LOST_END(0, 400, 1, 0, 300)},
     .v = {{VCPU(1, 0), .rs = {[XT_RUNNING] = {1, 200}, [XT_LOST] = {1, 100}}, .state = XT_RUNNING},
           {VCPU(2, 0), .rs = {[XT_RUNNING] = {1, 50}, [XT_BLOCKED] = {1, 100}},
            .state = XT_LOST}}},
    {.name = "lost records: while a CPU is dark, a vcpu that stops elsewhere is lost",
     .steps = {RUNS(0, 100, 1, 0), RUNS(1, 100, 2, 0), LOST(0, 500, 1, 0, 200),
               RS(1, 300, XT_RUNNING, XT_BLOCKED, 2, 0), LOST_END(0, 500, 1, 0, 200)},
     .v = {{VCPU(1, 0), .rs = {[XT_RUNNING] = {1, 100}, [XT_LOST] = {1, 300}}, .state = XT_RUNNING},
           {VCPU(2, 0), .rs = {[XT_RUNNING] = {1, 200}}, .state = XT_LOST}}},
    {.name = "lost records: a lost vcpu continuing to run is running again; a CPU back with the "
             "idle vcpu",
     .steps = {RUNS(0, 100, 1, 0), RS(0, 150, XT_RUNNING, XT_RUNNABLE, 1, 0),
               LOST(1, 300, 0x7fff, 1, 200), CONT(0, 250, 1, 0), LOST_END(1, 300, 0x7fff, 1, 200)},
     .v = {{VCPU(1, 0),
            .rs = {[XT_RUNNING] = {1, 50}, [XT_RUNNABLE] = {1, 50}, [XT_LOST] = {1, 50}},
            .kind = {[XT_PREEMPT] = {1, 50}}, .state = XT_RUNNING},
           {VCPU(0x7fff, 1), .state = XT_RUNNING}}},
    {.name = "lost records: the exit in flight of a lost vcpu is not counted",
     .steps = {RUNS(0, 100, 1, 0), EXIT(0, 200, 30), LOST(0, 400, 1, 0, 300),
               LOST_END(0, 400, 1, 0, 300), ENTRY(0, 450)},
     .v = {{VCPU(1, 0), .rs = {[XT_RUNNING] = {1, 200}, [XT_LOST] = {1, 100}}, .state = XT_RUNNING,
            .hvm = true}}},
    {.name = "records of the idle vcpu, and PV records of an HVM vcpu, are charged to no vcpu",
     .steps = {RUNS(0, 100, 0x7fff, 0), PV_CALL(0, 150, 29), RUNS(1, 100, 1, 0), EXIT(1, 200, 30),
               ENTRY(1, 220), PV_CALL(1, 250, 29)},
     .v = {{VCPU(1, 0), .state = XT_RUNNING, .hvm = true}},
     .keys = {KEY(T_EXITS, 1, 0, 30, 0, 1, 1, 20)},
     .unattributed = 2},
    {.name = "PV hypercall v1 (32- and 64-bit eip): counted by eax; one too short is not",
     .steps = {RUNS(0, 100, 0, 0), PV_CALL_V1(0, 200, 29), PV_CALL_V1_64(0, 300, 29),
               PV_CALL_V1_64(0, 400, 17), REC(0, 500, TRC_PV_HYPERCALL | TRC_64_FLAG, 2, 0, 0)},
     .v = {{VCPU(0, 0), .state = XT_RUNNING}},
     .keys = {KEY(T_HYPERCALLS, 0, 0, 29, 0, 2, 0, 0), KEY(T_HYPERCALLS, 0, 0, 17, 0, 1, 0, 0)}},
    {.name = "INJ_VIRQ: counted by vector",
     .steps = {RUNS(0, 100, 1, 0), VIRQ(0, 200, 0xf3), VIRQ(0, 300, 0xf3), VIRQ(0, 400, 0xec)},
     .v = {{VCPU(1, 0), .state = XT_RUNNING, .hvm = true}},
     .keys = {KEY(T_VECTORS, 1, 0, 0xf3, 0, 2, 0, 0), KEY(T_VECTORS, 1, 0, 0xec, 0, 1, 0, 0)}},
};

static void feed(struct xt_summary *s, const struct step *steps)
{
    for (unsigned i = 0; i < 16 && (steps[i].event || steps[i].cpu_done); i++) {
        const struct step *st = &steps[i];
        struct xt_rec r = {.tsc = st->tsc,
                           .event = st->event,
                           .cpu = st->cpu,
                           .n = st->n,
                           .has_tsc = true,
                           .cpu_last = st->cpu_last,
                           .lost_end = st->lost_end};

        if (st->cpu_done) {
            xt_summary_cpu_done(s, st->cpu);
            continue;
        }
        memcpy(r.d, st->d, sizeof(st->d));
        xt_summary_add(s, &r);
    }
}

static const struct xt_vcpu *find_vcpu(const struct summary_case *c, const struct xt_summary *s,
                                       uint32_t dom, uint32_t vid)
{
    const struct xt_domain *d = xt_summary_domain(s, dom);

    if (!xt_domain_vcpu(d, vid))
        fail_msg("%s: no d%uv%u in the summary", c->name, dom, vid);
    return xt_domain_vcpu(d, vid);
}

static void check_cyc(const struct summary_case *c, const struct vcpu_want *w, const char *what,
                      unsigned i, const struct xt_cycles *got, const struct cyc *want)
{
    if (got->count != want->count || got->cycles != want->cycles)
        fail_msg("%s: d%uv%u %s %u: %" PRIu64 " intervals, %" PRIu64 " cycles; expected %" PRIu64
                 ", %" PRIu64,
                 c->name, w->dom, w->vid, what, i, got->count, got->cycles, want->count,
                 want->cycles);
}

static void check_vcpu(const struct summary_case *c, const struct xt_summary *s,
                       const struct vcpu_want *w)
{
    const struct xt_vcpu *v = find_vcpu(c, s, w->dom, w->vid);

    for (unsigned i = 0; i < XT_STATES; i++)
        check_cyc(c, w, "runstate", i, &v->runstate[i], &w->rs[i]);
    for (unsigned i = 0; i < XT_RUNNABLE_KINDS; i++)
        check_cyc(c, w, "runnable kind", i, &v->runnable[i], &w->kind[i]);
    if (v->state != w->state || v->hvm != w->hvm)
        fail_msg("%s: d%uv%u ends in state %d hvm %d, expected %d %d", c->name, w->dom, w->vid,
                 v->state, v->hvm, w->state, w->hvm);
}

static const struct xt_table *table_of(const struct xt_vcpu *v, enum table t)
{
    switch (t) {
    case T_EXITS:
        return &v->exits;
    case T_PIO:
        return &v->pio;
    case T_MMIO:
        return &v->mmio;
    case T_HYPERCALLS:
        return &v->hypercalls;
    case T_LATE_PIO:
        return &v->late_pio;
    default:
        return &v->vectors;
    }
}

static void check_key(const struct summary_case *c, const struct xt_summary *s,
                      const struct key_want *k)
{
    const struct xt_table *t = table_of(find_vcpu(c, s, k->dom, k->vid), k->table);
    static const struct xt_cycles none;
    const struct xt_cycles *got = &none;

    for (uint32_t i = 0; i < t->n; i++) {
        if (i && t->e[i - 1].key >= t->e[i].key)
            fail_msg("%s: table %d out of order at %u", c->name, k->table, i);
        if (t->e[i].key == k->key)
            got = &t->e[i].c[k->kind];
    }
    if (got->events != k->events || got->count != k->count || got->cycles != k->cycles)
        fail_msg("%s: table %d key %#" PRIx64 " [%d]: %" PRIu64 " events %" PRIu64
                 " intervals %" PRIu64 " cycles; expected %" PRIu64 " %" PRIu64 " %" PRIu64,
                 c->name, k->table, k->key, k->kind, got->events, got->count, got->cycles,
                 k->events, k->count, k->cycles);
}

/* Every key a table holds is one the case names (with events), so nothing extra is charged. */
static void check_no_extra_keys(const struct summary_case *c, const struct xt_summary *s,
                                const struct vcpu_want *w)
{
    const struct xt_vcpu *v = find_vcpu(c, s, w->dom, w->vid);

    for (enum table t = T_EXITS; t <= T_LATE_PIO; t++) {
        const struct xt_table *tab = table_of(v, t);

        for (uint32_t i = 0; i < tab->n; i++) {
            bool named = false;

            for (unsigned k = 0; k < 6 && c->keys[k].table; k++)
                named |= c->keys[k].table == t && c->keys[k].dom == w->dom &&
                         c->keys[k].vid == w->vid && c->keys[k].key == tab->e[i].key &&
                         c->keys[k].events;
            if (!named)
                fail_msg("%s: d%uv%u table %d has key %#" PRIx64, c->name, w->dom, w->vid, t,
                         tab->e[i].key);
        }
    }
}

static void summary_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct summary_case *c = &cases[i];
        struct xt_summary s;

        assert_int_equal(xt_summary_init(&s, NULL), 0);
        feed(&s, c->steps);
        for (unsigned k = 0; k < 2 && c->v[k].set; k++) {
            check_vcpu(c, &s, &c->v[k]);
            check_no_extra_keys(c, &s, &c->v[k]);
        }
        for (unsigned k = 0; k < 6 && c->keys[k].table; k++)
            check_key(c, &s, &c->keys[k]);
        if (s.unattributed != c->unattributed)
            fail_msg("%s: %" PRIu64 " unattributed records, expected %" PRIu64, c->name,
                     s.unattributed, c->unattributed);
        if (s.outside_exit != c->outside_exit)
            fail_msg("%s: %" PRIu64 " records outside an exit, expected %" PRIu64, c->name,
                     s.outside_exit, c->outside_exit);
        assert_false(s.oom);
        xt_summary_free(&s);
    }
}

/* A domain's runstates as xenalyze's domain_runstate gives them: each change of one of its
 * vcpus ends an interval of what they were doing together. */
static void domain_runstates(void **state)
{
    static const struct step steps[16] = {
        RUNS(0, 100, 1, 0), /* v1 not seen yet: v0 alone runs, a full run */
        RUNS(1, 150, 1, 1),
        RS(0, 200, XT_RUNNING, XT_BLOCKED, 1, 0),  /* a partial run */
        RS(1, 300, XT_RUNNING, XT_RUNNABLE, 1, 1), /* partial contention */
        RS(0, 350, XT_BLOCKED, XT_RUNNABLE, 1, 0), /* full contention */
        RUNS(0, 400, 1, 0),                        /* a concurrency hazard */
    };
    static const struct cyc want[XT_DOM_STATES] = {
        [XT_DOM_FULL_RUN] = {2, 100},
        [XT_DOM_PARTIAL_RUN] = {1, 100},
        [XT_DOM_PARTIAL_CONTENTION] = {1, 50},
        [XT_DOM_FULL_CONTENTION] = {1, 50},
    };
    struct xt_summary s;

    (void)state;
    assert_int_equal(xt_summary_init(&s, NULL), 0);
    feed(&s, steps);
    const struct xt_domain *d = xt_summary_domain(&s, 1);
    assert_non_null(d);
    for (unsigned i = 0; i < XT_DOM_STATES; i++)
        if (d->runstate[i].count != want[i].count || d->runstate[i].cycles != want[i].cycles)
            fail_msg("domain state %s: %" PRIu64 " intervals %" PRIu64 " cycles, expected %" PRIu64
                     " %" PRIu64,
                     xt_domain_state_name(i), d->runstate[i].count, d->runstate[i].cycles,
                     want[i].count, want[i].cycles);
    assert_int_equal(d->state, XT_DOM_CONCURRENCY_HAZARD);
    assert_int_equal(d->state_tsc, 400);
    xt_summary_free(&s);
}

/* xenalyze's cpu affinity: from the vcpu's first schedule after its start, each move to another
 * CPU ends a stretch, counted under the CPU it moves to; the recording's end ends the last. */
static void cpu_affinity(void **state)
{
    static const struct step steps[16] = {
        RUNS(0, 100, 1, 0), /* its start: not a schedule xenalyze counts from */
        RS(0, 200, XT_RUNNING, XT_BLOCKED, 1, 0),
        RS(1, 250, XT_BLOCKED, XT_RUNNABLE, 1, 0),
        RUNS(1, 300, 1, 0), /* from here */
        RS(1, 400, XT_RUNNING, XT_BLOCKED, 1, 0),
        RS(0, 450, XT_BLOCKED, XT_RUNNABLE, 1, 0),
        RUNS(0, 500, 1, 0), /* moved: 300-500, under CPU 0 */
        TICK(0, 600),       /* the end: 500-600 on CPU 0 */
    };
    struct xt_summary s;

    (void)state;
    assert_int_equal(xt_summary_init(&s, NULL), 0);
    feed(&s, steps);
    xt_summary_finish(&s);
    const struct xt_vcpu *v = xt_domain_vcpu(xt_summary_domain(&s, 1), 0);
    assert_non_null(v);
    assert_int_equal(v->affinity.count, 2);
    assert_int_equal(v->affinity.cycles, 300);
    assert_true(v->affinity_cpus >= 1);
    assert_int_equal(v->affinity_cpu[0].count, 2);
    assert_int_equal(v->affinity_cpu[0].cycles, 300);
    assert_true(v->affinity_cpus < 2 || v->affinity_cpu[1].count == 0);
    xt_summary_free(&s);
}

/* The printed summary shows a case's numbers in xenalyze's formats. */
static void printed(void **state)
{
    const struct summary_case *c = &cases[5]; /* the port write exit */
    struct xt_summary s;
    struct xt_stats st = {0};
    char *text = NULL;
    size_t len = 0;
    FILE *out;

    (void)state;
    assert_int_equal(xt_summary_init(&s, NULL), 0);
    feed(&s, c->steps);
    out = open_memstream(&text, &len);
    assert_non_null(out);
    xt_summary_print(out, &s, &st);
    fclose(out);
    /* 100 cycles of the 200 between the first and last TSC: 50% */
    if (!strstr(text, "   IO_INSTRUCTION              [ 30]:       1  0.00s 50.00%   100 cyc "
                      "{  100|  100|  100}\n") ||
        !strstr(text, "        3f8:[w]       1  0.00s 50.00%   100 cyc {  100|  100|  100}\n") ||
        strstr(text, "3f8:[r]"))
        fail_msg("%s", text);
    free(text);
    xt_summary_free(&s);
}

/* ---- xt_cycles ---- */

static void add_all(struct xt_cycles *c, const uint64_t *v, size_t n, uint32_t cap)
{
    for (size_t i = 0; i < n; i++)
        assert_true(xt_cycles_add(c, v[i], cap));
}

struct ple_case {
    uint64_t v[8];
    unsigned n, ple;
    uint64_t plain;
};

/* plain: the element at n * ple / 100 in ascending order (the last for 100). */
static const struct ple_case ple_cases[] = {
    {{50, 10, 40, 20, 30}, 5, 50, 30},
    {{50, 10, 40, 20, 30}, 5, 5, 10},
    {{50, 10, 40, 20, 30}, 5, 95, 50},
    {{50, 10, 40, 20, 30}, 5, 30, 20},
    {{50, 10, 40, 20, 30}, 5, 100, 50},
    {{7}, 1, 50, 7},
    {{0, 0, 9}, 3, 50, 9}, /* zero-length intervals are no samples */
};

static void percentiles(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(ple_cases) / sizeof(ple_cases[0]); i++) {
        const struct ple_case *p = &ple_cases[i];
        struct xt_cycles c = {0};
        uint64_t plain;

        add_all(&c, p->v, p->n, 100);
        plain = xt_cycles_percentile(&c, p->ple);
        if (plain != p->plain)
            fail_msg("case %zu: p%u %" PRIu64 ", expected %" PRIu64, i, p->ple, plain, p->plain);
        xt_cycles_free(&c);
    }
}

/* xenalyze's self-weighted p5, p50, p95 of samples in recorded order, as its own
 * self_weighted_percentile (tools/xentrace/xenalyze.c, Xen c447b7308b13) gives them when called
 * as its print_cycle_summary calls it: p50, then p5, then p95 on the same array. The order of
 * the samples changes the answer (the second and third rows hold the same values). */
struct weighted_case {
    uint64_t v[10];
    unsigned n;
    uint64_t p5, p50, p95;
};

static const struct weighted_case weighted_cases[] = {
    {{50, 10, 40, 20, 30}, 5, 30, 50, 50},
    {{1, 2, 3, 5, 7, 8, 9}, 7, 7, 9, 9},
    {{9, 8, 7, 5, 3, 2, 1}, 7, 7, 7, 9},
    {{1, 1, 1, 1, 96}, 5, 96, 96, 96},
    {{7}, 1, 7, 7, 7},
    {{300, 5, 120, 7, 7, 2000, 45, 6, 900, 33}, 10, 900, 2000, 2000},
};

static void weighted_percentiles(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(weighted_cases) / sizeof(weighted_cases[0]); i++) {
        const struct weighted_case *w = &weighted_cases[i];
        struct xt_cycles c = {0};
        uint64_t got[3];

        add_all(&c, w->v, w->n, 100);
        assert_true(xt_cycles_weighted_percentiles(&c, got));
        if (got[0] != w->p5 || got[1] != w->p50 || got[2] != w->p95)
            fail_msg("case %zu: {%" PRIu64 "|%" PRIu64 "|%" PRIu64 "}, xenalyze gives {%" PRIu64
                     "|%" PRIu64 "|%" PRIu64 "}",
                     i, got[0], got[1], got[2], w->p5, w->p50, w->p95);
        /* the samples keep their recorded order */
        for (unsigned k = 0; k < w->n; k++)
            assert_int_equal(c.sample[k], w->v[k]);
        xt_cycles_free(&c);
    }
}

static void empty_and_zero(void **state)
{
    struct xt_cycles c = {0};

    (void)state;
    assert_int_equal(xt_cycles_percentile(&c, 50), 0);
    {
        uint64_t w[3] = {1, 1, 1};
        assert_true(xt_cycles_weighted_percentiles(&c, w));
        assert_int_equal(w[0] + w[1] + w[2], 0);
    }
    assert_true(xt_cycles_add(&c, 0, 16));
    assert_true(xt_cycles_add(&c, 0, 16));
    assert_int_equal(c.events, 2);
    assert_int_equal(c.count, 0);
    assert_int_equal(c.cycles, 0);
    assert_int_equal(c.n, 0);
    xt_cycles_free(&c);
    assert_null(c.sample);
}

/* Up to the cap the sample is every interval, in order. */
static void sample_whole_up_to_cap(void **state)
{
    static const uint64_t v[8] = {8, 3, 5, 1, 9, 2, 7, 4};
    struct xt_cycles c = {0};

    (void)state;
    add_all(&c, v, 8, 8);
    assert_int_equal(c.n, 8);
    assert_memory_equal(c.sample, v, sizeof(v));
    xt_cycles_free(&c);
}

/* 1000 intervals into a reservoir of 8: every interval counts, the sample stays at 8 of them,
 * not just the first 8, and the same input gives the same sample. */
static void reservoir(void **state)
{
    enum { N = 1000, CAP = 8 };
    struct xt_cycles a = {0}, b = {0};
    bool only_first = true;

    (void)state;
    for (uint64_t i = 1; i <= N; i++) {
        assert_true(xt_cycles_add(&a, i, CAP));
        assert_true(xt_cycles_add(&b, i, CAP));
        assert_true(a.n <= CAP && a.cap <= CAP);
    }
    assert_int_equal(a.events, N);
    assert_int_equal(a.count, N);
    assert_int_equal(a.cycles, N * (N + 1) / 2);
    assert_int_equal(a.n, CAP);
    for (uint32_t i = 0; i < CAP; i++) {
        assert_in_range(a.sample[i], 1, N);
        only_first &= a.sample[i] <= CAP;
        for (uint32_t k = 0; k < i; k++)
            assert_true(a.sample[k] != a.sample[i]); /* each interval at most once */
    }
    assert_false(only_first);
    assert_memory_equal(a.sample, b.sample, CAP * sizeof(*a.sample));
    xt_cycles_free(&a);
    xt_cycles_free(&b);
}

/* Past the cap every interval has the same chance to be in the sample: 100 of 1..10000 average
 * near 5000 and reach into both ends (the seed is fixed, so this cannot flake). */
static void reservoir_uniform(void **state)
{
    enum { N = 10000, CAP = 100 };
    struct xt_cycles c = {0};
    uint64_t sum = 0, low = 0, high = 0;

    (void)state;
    for (uint64_t i = 1; i <= N; i++)
        assert_true(xt_cycles_add(&c, i, CAP));
    assert_int_equal(c.n, CAP);
    for (uint32_t i = 0; i < CAP; i++) {
        sum += c.sample[i];
        low += c.sample[i] <= N / 3;
        high += c.sample[i] > 2 * N / 3;
    }
    /* the mean of 100 uniform draws: 5000 with a standard deviation of about 290 */
    assert_in_range(sum / CAP, 4000, 6000);
    assert_in_range(low, 15, 50);
    assert_in_range(high, 15, 50);
    xt_cycles_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(summary_table),  cmocka_unit_test(domain_runstates),
        cmocka_unit_test(cpu_affinity),   cmocka_unit_test(printed),
        cmocka_unit_test(percentiles),    cmocka_unit_test(weighted_percentiles),
        cmocka_unit_test(empty_and_zero), cmocka_unit_test(sample_whole_up_to_cap),
        cmocka_unit_test(reservoir),      cmocka_unit_test(reservoir_uniform),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
