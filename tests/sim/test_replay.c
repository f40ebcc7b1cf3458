/* Replay's loading (sim/replay.c): recordings written here record by record, read with
 * replay_load, and what it kept checked against what the records said: identical hypercalls and
 * writes kept once, each call's own time kept, a write that consumed events given its own entry,
 * the steps sorted into the main line and the upcall, the slices' cuts with their cycles, HVM I/O
 * steps kept, and the 48-bit span and bad or old I/O records refused. */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "models/xen_public.h"
#include "sim/record.h"
#include "sim/replay.h"
#include "sim/replay_int.h"
#include "traces/writer.h"

#define DV0 0u /* d0v0 */

struct rec {
    uint32_t event;
    bool timed;
    unsigned n;
    uint32_t d[7];
};

/* A recording of the scenario and CPU records, then recs, in a temporary file: its path. */
static void write_recording(char *path, size_t size, const struct rec *recs, size_t n)
{
    struct xt_writer *w;
    struct xt_error err;
    uint64_t tsc = XT_EVSIM_TSC_BASE;
    snprintf(path, size, "/tmp/evsim-test-replay-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(xt_writer_open(&w, path, 1, &err), 0);
    const uint32_t hz[2] = {2100000000u, 0}, scenario[7] = {1, 'x'};
    xt_writer_add(w, 0, TRC_EVSIM_CPU_HZ, false, 0, 2, hz);
    xt_writer_add(w, 0, TRC_EVSIM_SCENARIO, false, 0, 7, scenario);
    for (size_t i = 0; i < n; i++)
        xt_writer_add(w, 0, recs[i].event, recs[i].timed, tsc += 1000, recs[i].n, recs[i].d);
    assert_int_equal(xt_writer_close(w, NULL, &err), 0);
}

static struct sim_replay *load(const struct rec *recs, size_t n)
{
    char path[64];
    struct sim_replay *rp = NULL;
    struct diag d = {{0}};
    write_recording(path, sizeof(path), recs, n);
    int rc = replay_load(path, &rp, &d);
    unlink(path);
    if (rc < 0)
        fail_msg("replay_load: %s", d.msg);
    return rp;
}

static struct replay_vcpu *vcpu0(struct sim_replay *rp)
{
    struct rp_domain *d = replay_domain_of(rp, 0, false);
    assert_non_null(d);
    assert_non_null(d->vcpu[0]);
    return d->vcpu[0];
}

/* A send on a port (its memory read: the port), answered rc: four records at out. */
static size_t add_send(struct rec *out, uint32_t port, uint32_t rc)
{
    const struct rec send[] = {
        {TRC_EVSIM_G_HCALL,
         true,
         7,
         {DV0, 50, __HYPERVISOR_event_channel_op, 0x8000, 0, 0x202, 0x1234}},
        {TRC_EVSIM_G_ARGS, false, 7, {DV0, EVTCHNOP_send, 0, 0x9000, 0, 0, 0}},
        {TRC_EVSIM_G_MEM, false, 5, {DV0, 0x9000, 0, 4, port}},
        {TRC_EVSIM_G_RESULT, false, 5, {DV0, rc, 0, 0, 0}},
    };
    memcpy(out, send, sizeof(send));
    return sizeof(send) / sizeof(send[0]);
}

static void identical_calls_kept_once(void **state)
{
    (void)state;
    /* the same send three times, on another port, with another result, then again */
    const uint32_t ports[] = {3, 3, 3, 4, 3, 3}, rcs[] = {0, 0, 0, 0, (uint32_t)-22, 0};
    struct rec recs[6 * 4];
    size_t n = 0;
    for (size_t i = 0; i < 6; i++)
        n += add_send(recs + n, ports[i], rcs[i]);
    struct sim_replay *rp = load(recs, n);
    struct replay_vcpu *v = vcpu0(rp);
    assert_int_equal(v->n, 6);
    assert_int_equal(rp->nr_call, 6);
    assert_int_equal(rp->nr_hcall, 3);
    assert_int_equal(rp->nr_mem, 3); /* a distinct call's memory, once */
    const uint32_t want[] = {0, 0, 0, 1, 2, 0};
    for (size_t i = 0; i < v->n; i++) {
        const struct rp_step *s = &v->step[i];
        assert_int_equal(s->kind, RP_HCALL);
        assert_int_equal(s->arg, __HYPERVISOR_event_channel_op);
        assert_int_equal(rp->call[s->ref].hcall, want[i]);
        /* each call keeps its own time: 4 records apart, 1000 cycles each */
        assert_int_equal(rp_call_cycles(rp, s), 1000u + 4000u * i);
    }
    const struct rp_hcall *h = rp_hcall_of(rp, &v->step[3]);
    assert_int_equal(h->args[0], EVTCHNOP_send);
    assert_int_equal(h->rsp, 0x8000);
    assert_int_equal(h->rflags, 0x202);
    assert_int_equal(h->mem_n, 1);
    assert_int_equal(rp->bytes[rp->mem[h->mem_first].data], 4);
    assert_int_equal(rp_hcall_of(rp, &v->step[4])->rc, (uint64_t)(uint32_t)-22);
    replay_free(rp);
}

/* An ACCESS record's info word: 4 bytes at offset of shared_info (slot 0). */
#define ACCESS(offset, write) ((offset) << 8 | 4u << 20 | (unsigned)(write) << 24)

/* Main line: a read; an upcall: a read, a write that took port 5's event (its body: a read and
 * a write that took none), its return; main line: that write again. */
static void writes_and_upcall_sorted_out(void **state)
{
    (void)state;
    static const struct rec recs[] = {
        {TRC_EVSIM_G_COMPUTE, true, 3, {DV0, 0, 2}}, /* 2^33 cycles: a delta over 32 bits */
        {TRC_EVSIM_G_ACCESS, true, 3, {DV0, 10, ACCESS(0x800, 0)}},
        {TRC_EVSIM_G_STEP, true, 4, {DV0, 100, XT_STEP_UPCALL, 0}},
        {TRC_EVSIM_G_ACCESS, true, 3, {DV0, 1, ACCESS(0x800, 0)}},
        {TRC_EVSIM_G_ACCESS, true, 7, {DV0, 2, ACCESS(0x40, 1), 0x20, 0, 0, 0}},
        {TRC_EVSIM_G_CONSUME, false, 4, {DV0, 5, 1, 0}},
        {TRC_EVSIM_G_ACCESS, true, 3, {DV0, 3, ACCESS(0x900, 0)}},
        {TRC_EVSIM_G_ACCESS, true, 7, {DV0, 4, ACCESS(0x40, 1), 0x20, 0, 0, 0}},
        {TRC_EVSIM_G_HCALL, true, 7, {DV0, 6, __HYPERVISOR_iret, 0x8000, 0, 0x202, 0x2000}},
        {TRC_EVSIM_G_ACCESS, true, 7, {DV0, 5, ACCESS(0x40, 1), 0x20, 0, 0, 0}},
    };
    struct sim_replay *rp = load(recs, sizeof(recs) / sizeof(recs[0]));
    struct replay_vcpu *v = vcpu0(rp);
    assert_int_equal(v->n, 8);
    assert_int_equal(rp_delta(&v->step[0]), (UINT64_C(1) << 33) + 10);
    /* the upcall's cycles go on in the main line's next step */
    assert_int_equal(rp_delta(&v->step[7]), 5 + 100);
    /* one entry for the writes that took no event, one for the one that did */
    assert_int_equal(rp->nr_write, 2);
    assert_int_equal(v->step[5].ref, v->step[7].ref);
    assert_int_not_equal(v->step[3].ref, v->step[5].ref);
    const struct rp_write *took = rp_write_of(rp, &v->step[3]),
                          *plain = rp_write_of(rp, &v->step[5]);
    assert_int_equal(took->nr_deps, 1);
    assert_int_equal(rp->dep[took->first_dep].port, 5);
    assert_int_equal(rp->dep[took->first_dep].raised, 1);
    assert_int_equal(plain->nr_deps, 0);
    assert_int_equal(plain->clear, 0x20);
    assert_int_equal(took->clear, 0x20);
    /* sorted out: the main line, the upcall's prologue, its body, its return */
    assert_int_equal(v->nr_main, 2);
    assert_int_equal(v->main[0], 0);
    assert_int_equal(v->main[1], 7);
    assert_int_equal(v->main_after[0], 0);
    assert_int_equal(v->main_after[1], 1);
    assert_int_equal(v->nr_inv, 1);
    assert_int_equal(v->inv[0].prologue.first, 2);
    assert_int_equal(v->inv[0].prologue.end, 3);
    assert_int_equal(v->inv[0].first_body, 0);
    assert_int_equal(v->inv[0].nr_body, 1);
    assert_int_equal(v->inv[0].iret, 6);
    assert_int_equal(v->any_iret, 6);
    assert_int_equal(v->nr_body, 1);
    assert_int_equal(v->body[0].port, 5);
    assert_int_equal(v->body[0].steps.first, 4);
    assert_int_equal(v->body[0].steps.end, 6);
    assert_int_equal(v->nr_ports, 1);
    replay_free(rp);
}

/* Where the engine's slices ended (CUT) stay with the cycles they are in: a main-line step's and
 * a handler step's with their step, one before the TSC-reading block's end as a negative
 * offset, an upcall's with the main line's next step, after its cycles there. */
static void cuts_follow_their_cycles(void **state)
{
    (void)state;
    static const struct rec recs[] = {
        {TRC_EVSIM_G_CUT, true, 3, {DV0, 4, 0}},
        {TRC_EVSIM_G_ACCESS, true, 3, {DV0, 10, ACCESS(0x800, 0)}},
        {TRC_EVSIM_G_CUT, true, 3, {DV0, 60, 0}},
        {TRC_EVSIM_G_STEP, true, 4, {DV0, 100, XT_STEP_UPCALL, 0}},
        {TRC_EVSIM_G_CUT, true, 3, {DV0, (uint32_t)-3, UINT32_MAX}},
        {TRC_EVSIM_G_ACCESS, true, 3, {DV0, 1, ACCESS(0x800, 0)}},
        {TRC_EVSIM_G_HCALL, true, 7, {DV0, 6, __HYPERVISOR_iret, 0x8000, 0, 0x202, 0x2000}},
        {TRC_EVSIM_G_CUT, true, 3, {DV0, 2, 0}},
        {TRC_EVSIM_G_ACCESS, true, 3, {DV0, 5, ACCESS(0x800, 0)}},
    };
    struct sim_replay *rp = load(recs, sizeof(recs) / sizeof(recs[0]));
    struct replay_vcpu *v = vcpu0(rp);
    assert_int_equal(v->n, 5);
    assert_int_equal(rp_delta(&v->step[4]), 5 + 100);
    const struct rp_cut want[] = {{0, 4}, {2, -3}, {4, 60}, {4, 100 + 2}};
    assert_int_equal(v->nr_cut, sizeof(want) / sizeof(want[0]));
    for (size_t i = 0; i < v->nr_cut; i++) {
        assert_int_equal(v->cut[i].step, want[i].step);
        assert_int_equal(v->cut[i].at, want[i].at);
    }
    replay_free(rp);
}

/* A recording that ends inside an upcall: the invocation ends with it, without a return. */
static void recording_ends_in_upcall(void **state)
{
    (void)state;
    static const struct rec recs[] = {
        {TRC_EVSIM_G_STEP, true, 4, {DV0, 100, XT_STEP_UPCALL, 0}},
        {TRC_EVSIM_G_ACCESS, true, 7, {DV0, 2, ACCESS(0x40, 1), 0x20, 0, 0, 0}},
        {TRC_EVSIM_G_CONSUME, false, 4, {DV0, 5, 1, 0}},
        {TRC_EVSIM_G_CONSUME, false, 4, {DV0, 6, 2, 0}},
    };
    struct sim_replay *rp = load(recs, sizeof(recs) / sizeof(recs[0]));
    struct replay_vcpu *v = vcpu0(rp);
    assert_int_equal(v->nr_main, 0);
    assert_int_equal(v->nr_inv, 1);
    assert_int_equal(v->inv[0].iret, -1);
    assert_int_equal(v->inv[0].prologue.end, 1);
    assert_int_equal(v->nr_body, 2); /* one per event the write took; the last has the rest */
    assert_int_equal(v->body[0].steps.first, 2);
    assert_int_equal(v->body[0].steps.end, 2);
    assert_int_equal(v->body[1].steps.end, 2);
    assert_int_equal(v->nr_ports, 2);
    replay_free(rp);
}

static void span_over_48_bits_refused(void **state)
{
    (void)state;
    static const struct rec recs[] = {
        {TRC_EVSIM_G_COMPUTE, true, 3, {DV0, 0xffffffffu, 0xffff}},
        {TRC_EVSIM_G_ACCESS, true, 3, {DV0, 1, ACCESS(0x800, 0)}},
    };
    char path[64];
    struct sim_replay *rp = NULL;
    struct diag d = {{0}};
    write_recording(path, sizeof(path), recs, 1);
    assert_int_equal(replay_load(path, &rp, &d), 0); /* 2^48 - 1 cycles: as far as a step goes */
    replay_free(rp);
    unlink(path);
    write_recording(path, sizeof(path), recs, 2);
    assert_int_equal(replay_load(path, &rp, &d), -1); /* and one more */
    unlink(path);
    assert_null(rp);
    assert_non_null(strstr(d.msg, "more than 2^48 guest cycles"));
}

/* HVM I/O steps (G_IO) keep what replay re-issues: the access, a write's data, the exit's kind,
 * a string instruction's further elements. */
static void io_steps_kept(void **state)
{
    (void)state;
    static const struct rec recs[] = {
        {TRC_EVSIM_G_IO,
         true,
         7,
         {DV0, 30, XT_IO_INFO(IOREQ_TYPE_PIO, IOREQ_WRITE, 0, 0, 0, 1, 0, 1), 0x3f8, 0, 'h', 0}},
        {TRC_EVSIM_G_IO,
         true,
         7,
         {DV0, 40, XT_IO_INFO(IOREQ_TYPE_COPY, IOREQ_READ, 0, 0, 1, 8, 0, 1), 0xe0000000u, 1, 0,
          0}},
        {TRC_EVSIM_G_IO,
         true,
         7,
         {DV0, 0, XT_IO_INFO(IOREQ_TYPE_PIO, IOREQ_READ, 1, 0, 1, 2, 1, 1), 0x80, 0, 0, 0}},
    };
    struct sim_replay *rp = load(recs, 3);
    struct replay_vcpu *v = vcpu0(rp);
    assert_int_equal(v->n, 3);
    assert_int_equal(rp->nr_io, 3);
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(v->step[i].kind, RP_IO);
        assert_int_equal(v->step[i].ref, i);
    }
    assert_int_equal(rp_delta(&v->step[1]), 40);
    assert_int_equal(rp->io[0].addr, 0x3f8);
    assert_int_equal(rp->io[0].data, 'h');
    assert_int_equal(XT_IO_DIR(rp->io[0].info), IOREQ_WRITE);
    assert_int_equal(rp->io[1].addr, 0x1e0000000ull);
    assert_int_equal(XT_IO_TYPE(rp->io[1].info), IOREQ_TYPE_COPY);
    assert_int_equal(XT_IO_SIZE(rp->io[1].info), 8);
    assert_true(XT_IO_EMULATE(rp->io[1].info));
    assert_true(XT_IO_MORE(rp->io[2].info));
    assert_true(XT_IO_DF(rp->io[2].info));
    assert_int_equal(XT_IO_COUNT(rp->io[2].info), 1);
    replay_free(rp);
}

/* Records replay cannot use: refused with the offset and what is wrong. */
static void bad_io_records_refused(void **state)
{
    (void)state;
    static const struct {
        struct rec rec;
        const char *msg;
    } cases[] = {
        {{TRC_EVSIM_G_IO, true, 5, {DV0, 1, XT_IO_INFO(0, 0, 0, 0, 0, 1, 0, 1), 0x80, 0}},
         "an IO record of fewer than 7 words"},
        {{TRC_EVSIM_G_IO, true, 7, {DV0, 1, XT_IO_INFO(0, 0, 0, 0, 0, 3, 0, 1), 0x80, 0, 0, 0}},
         "an IO record with a bad type, size or count"},
        {{TRC_EVSIM_G_IO, true, 7, {DV0, 1, XT_IO_INFO(9, 0, 0, 0, 0, 1, 0, 1), 0x80, 0, 0, 0}},
         "an IO record with a bad type, size or count"},
        {{TRC_EVSIM_G_IO, true, 7, {DV0, 1, XT_IO_INFO(0, 0, 0, 0, 0, 1, 0, 0), 0x80, 0, 0, 0}},
         "an IO record with a bad type, size or count"},
        /* an evsim before G_IO wrote only the address */
        {{TRC_EVSIM_G_STEP, true, 4, {DV0, 1, XT_STEP_IO, 0x3f8}},
         "d0v0 made HVM port or MMIO I/O, recorded by an evsim that did not keep what replay "
         "needs of it"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char path[64];
        struct sim_replay *rp = NULL;
        struct diag d = {{0}};
        write_recording(path, sizeof(path), &cases[i].rec, 1);
        assert_int_equal(replay_load(path, &rp, &d), -1);
        unlink(path);
        assert_null(rp);
        if (!strstr(d.msg, cases[i].msg) || !strstr(d.msg, ": offset "))
            fail_msg("case %zu: %s", i, d.msg);
    }
}

/* ---- a real host's recording: stimulus inferred from Xen's records ---- */

struct real_rec {
    uint32_t cpu;
    uint64_t tsc; /* cycles after the first record's (1,000,000) */
    uint32_t event;
    unsigned n;
    uint32_t d[7];
};

#define RS(old, new) (TRC_SCHED_RUNSTATE_CHANGE | (old) << 8 | (new) << 4)
#define HVM1 (1u << 16) /* d1v0 */

static int load_real(const struct real_rec *recs, size_t n, struct sim_replay **rp, struct diag *d)
{
    char path[64];
    struct xt_writer *w;
    struct xt_error err;
    snprintf(path, sizeof(path), "/tmp/evsim-test-real-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    uint32_t cpus = 2;
    for (size_t i = 0; i < n; i++)
        cpus = recs[i].cpu >= cpus ? recs[i].cpu + 1 : cpus;
    assert_int_equal(xt_writer_open(&w, path, cpus, &err), 0);
    for (size_t i = 0; i < n; i++)
        xt_writer_add(w, recs[i].cpu, recs[i].event, true, 1000000 + recs[i].tsc, recs[i].n,
                      recs[i].d);
    assert_int_equal(xt_writer_close(w, NULL, &err), 0);
    int rc = replay_load_hz(path, 1000000000ull, false, rp, d); /* 1 GHz: a cycle is a ns */
    unlink(path);
    return rc;
}

/* An HVM vcpu: runs from 100, a port write at 300 (its entry at 500), a port read at 700 that a
 * device model answers (runnable again at 1,500, the read's record at 1,600), a hlt at 2,000
 * that blocks until 5,000, then runs to 6,000; another vcpu never runs. */
static void real_hvm_steps_inferred(void **state)
{
    (void)state;
    static const struct real_rec recs[] = {
        {0, 0, RS(1, 0), 1, {HVM1}},
        {0, 100, TRC_HVM_VMENTRY, 0, {0}},
        {0, 300, TRC_HVM_VMX_EXIT64, 3, {30, 0x1000, 0}},
        {0, 300, TRC_HVM_IOPORT_WRITE, 2, {0x3f8, 'x'}},
        {0, 500, TRC_HVM_VMENTRY, 0, {0}},
        {0, 700, TRC_HVM_VMX_EXIT64, 3, {30, 0x1010, 0}},
        {0, 700, RS(0, 2), 1, {HVM1}},
        {1, 1500, RS(2, 1), 1, {HVM1}},
        {0, 1550, RS(1, 0), 1, {HVM1}},
        {0, 1600, TRC_HVM_IOPORT_READ, 2, {0x3fd, 0x60}},
        {0, 1650, TRC_HVM_VMENTRY, 0, {0}},
        {0, 2000, TRC_HVM_VMX_EXIT64, 3, {12, 0x1020, 0}},
        {0, 2000, RS(0, 2), 1, {HVM1}},
        {1, 5000, RS(2, 1), 1, {HVM1}},
        {0, 5100, RS(1, 0), 1, {HVM1}},
        {0, 5200, TRC_HVM_VMENTRY, 0, {0}},
        {0, 6000, RS(0, 1), 1, {HVM1}},
        {1, 6000, RS(3, 1), 1, {HVM1 | 1}},
    };
    struct sim_replay *rp = NULL;
    struct diag d = {{0}};
    if (load_real(recs, sizeof(recs) / sizeof(recs[0]), &rp, &d) < 0)
        fail_msg("%s", d.msg);
    assert_true(rp->real);
    assert_non_null(strstr(rp->text, "[domain d1]\nguest = recorded\ntype = hvm\nvcpus = 2"));
    assert_non_null(strstr(rp->text, "pcpus = 2"));
    struct rp_domain *dom = replay_domain_of(rp, 0, false); /* d1 is the machine's first */
    assert_non_null(dom);
    const struct rr_vcpu *v = &dom->vcpu[0]->rr;
    static const struct {
        enum rr_kind kind;
        uint64_t delta, wake_ns, addr, rec_cycles;
    } want[] = {
        {RR_START, 0, 1, 0, 0},      /* it ran from the start */
        {RR_IO, 200, 0, 0x3f8, 200}, /* guest 100-300; its arc: exit to entry */
        {RR_IO, 200, 0, 0x3fd, 800}, /* guest 500-700; exit to the wake at 1,500 */
        {RR_HLT, 350, 5000, 0, 0},   /* guest 1,650-2,000; woken at 5,000 */
        {RR_END, 800, 0, 0, 0},      /* guest 5,200-6,000 */
    };
    assert_int_equal(v->n, sizeof(want) / sizeof(want[0]));
    for (size_t i = 0; i < v->n; i++) {
        const struct rr_step *s = &v->step[i];
        if (s->kind != want[i].kind || s->delta != want[i].delta || s->wake_ns != want[i].wake_ns ||
            s->addr != want[i].addr || s->rec_cycles != want[i].rec_cycles)
            fail_msg("step %zu: kind %u delta %" PRIu64 " wake %" PRIu64 " addr %" PRIx64
                     " arc %" PRIu64,
                     i, s->kind, s->delta, s->wake_ns, s->addr, s->rec_cycles);
    }
    assert_int_equal(v->step[1].dir, IOREQ_WRITE);
    assert_int_equal(v->step[1].data, 'x');
    assert_int_equal(v->step[2].dir, IOREQ_READ);
    assert_int_equal(v->step[2].size, 1);
    /* the vcpu that never ran waits throughout */
    assert_int_equal(dom->vcpu[1]->rr.n, 1);
    assert_int_equal(dom->vcpu[1]->rr.step[0].kind, RR_END);
    assert_int_equal(rp->nr_port, 2);
    replay_free(rp);
}

/* One round trip to a device model in domain 0: d1v0 (HVM) writes port 0x3f8 at 300, Xen's
 * send wakes d0v0 on d1v0's CPU, d1v0 blocks; d0v0 runs from 400, calls event_channel_op at
 * 900 and wakes d1v0 at 950 on its own CPU, then blocks. */
/* clang-format off */
#define DM_ROUND_TRIP                                                                              \
    {0, 0, RS(1, 0), 1, {0}}, {0, 50, RS(0, 2), 1, {0}}, {1, 0, RS(1, 0), 1, {HVM1}},              \
    {1, 100, TRC_HVM_VMENTRY, 0, {0}}, {1, 300, TRC_HVM_VMX_EXIT64, 3, {30, 0x1000, 0}},           \
    {1, 320, RS(2, 1), 1, {0}}, {1, 330, TRC_HVM_IOPORT_WRITE, 2, {0x3f8, 'x'}},                   \
    {1, 340, RS(0, 2), 1, {HVM1}}, {0, 400, RS(1, 0), 1, {0}},                                     \
    {0, 900, TRC_PV_HYPERCALL_V2, 1, {__HYPERVISOR_event_channel_op}},                             \
    {0, 950, RS(2, 1), 1, {HVM1}}, {0, 1000, RS(0, 2), 1, {0}}
/* clang-format on */

/* A device model in domain 0 answers an HVM vcpu's port write: Xen's send wakes d0v0 at the
 * exit (its wake recorded on the exiting vcpu's CPU), the HVM vcpu blocks, d0v0 runs, calls
 * event_channel_op and wakes it (recorded on d0v0's CPU). Inferred: the write was a request,
 * d0v0's wait was for it, d0v0's send its notification, and the server claims port 0x3f8. */
static void real_device_model_inferred(void **state)
{
    (void)state;
    static const struct real_rec recs[] = {
        DM_ROUND_TRIP,
        {1, 1200, RS(1, 0), 1, {HVM1}},
        {1, 1300, TRC_HVM_VMENTRY, 0, {0}},
        {1, 2000, RS(0, 1), 1, {HVM1}},
    };
    struct sim_replay *rp = NULL;
    struct diag d = {{0}};
    if (load_real(recs, sizeof(recs) / sizeof(recs[0]), &rp, &d) < 0)
        fail_msg("%s", d.msg);
    const uint32_t hvm = 1u << 16; /* d1v0 is the machine's domain 1 */
    const struct rr_vcpu *dm = &replay_domain_of(rp, 0, false)->vcpu[0]->rr;
    static const struct {
        enum rr_kind kind;
        uint64_t delta, wake_ns;
        uint8_t flags;
        uint32_t ord;
    } want[] = {
        {RR_START, 0, 1, 0, 0},
        {RR_BLOCK, 50, 320, RR_F_EVENT, 1}, /* woken by the request's event */
        {RR_NOTIFY, 500, 0, 0, 1},          /* guest 400-900: its hypercall on is Xen's */
        {RR_END, 50, 0, 0, 0},              /* guest 950-1,000, then blocked to the end */
    };
    assert_int_equal(dm->n, sizeof(want) / sizeof(want[0]));
    for (size_t i = 0; i < dm->n; i++) {
        const struct rr_step *s = &dm->step[i];
        if (s->kind != want[i].kind || s->delta != want[i].delta || s->wake_ns != want[i].wake_ns ||
            s->flags != want[i].flags || s->ord != want[i].ord)
            fail_msg("d0v0 step %zu: kind %u delta %" PRIu64 " wake %" PRIu64 " flags %u ord %u", i,
                     s->kind, s->delta, s->wake_ns, s->flags, s->ord);
        if ((s->kind == RR_NOTIFY || (s->flags & RR_F_EVENT)) && s->peer != hvm)
            fail_msg("d0v0 step %zu names vcpu %#x", i, s->peer);
    }
    const struct rr_vcpu *v = &replay_domain_of(rp, 1, false)->vcpu[0]->rr;
    assert_int_equal(v->n, 3);
    assert_int_equal(v->step[1].kind, RR_IO);
    assert_int_equal(v->step[1].flags, RR_F_FWD);
    assert_int_equal(v->step[1].ord, 1);
    assert_int_equal(v->step[1].rec_cycles, 650); /* exit to the wake at 950 */
    assert_int_equal(rp->nr_rdm, 1);
    const struct rr_dm *m = &rp->rdm[0];
    assert_null(m->unused);
    assert_int_equal(m->target, 1);
    assert_int_equal(m->emulator, 0);
    assert_int_equal(m->requests[0], 1);
    assert_int_equal(m->notifies[0], 1);
    assert_int_equal(m->serve[0], 0);
    assert_int_equal(m->nr_range, 1);
    assert_int_equal(m->range[0].type, XEN_DMOP_IO_RANGE_PORT);
    assert_int_equal(m->range[0].s, 0x3f8);
    assert_int_equal(m->range[0].e, 0x3f8);
    assert_int_equal(rp->ioreq_events_inferred, 1);
    assert_int_equal(rp->notifies_inferred, 1);
    replay_free(rp);
}

/* Requests a device model's notifications do not pair up with (a wake by a timer on an idle
 * CPU is no notification): the device model is not replayed, and says why. */
static void real_device_model_unpaired(void **state)
{
    (void)state;
    static const struct real_rec recs[] = {
        {0, 0, RS(1, 0), 1, {0}},          {0, 50, RS(0, 2), 1, {0}},
        {1, 0, RS(1, 0), 1, {HVM1}},       {1, 300, TRC_HVM_VMX_EXIT64, 3, {30, 0x1000, 0}},
        {1, 320, RS(2, 1), 1, {0}},        {1, 340, RS(0, 2), 1, {HVM1}},
        {1, 600, RS(2, 1), 1, {HVM1}}, /* woken where nobody runs */
        {1, 700, RS(1, 0), 1, {HVM1}},     {1, 710, TRC_HVM_IOPORT_READ, 2, {0x3fd, 0x60}},
        {1, 720, TRC_HVM_VMENTRY, 0, {0}}, {1, 900, RS(0, 1), 1, {HVM1}},
    };
    struct sim_replay *rp = NULL;
    struct diag d = {{0}};
    if (load_real(recs, sizeof(recs) / sizeof(recs[0]), &rp, &d) < 0)
        fail_msg("%s", d.msg);
    assert_int_equal(rp->nr_rdm, 1);
    assert_int_equal(rp->rdm[0].requests[0], 1);
    assert_int_equal(rp->rdm[0].notifies[0], 0);
    assert_non_null(rp->rdm[0].unused);
    assert_non_null(strstr(rp->rdm[0].unused, "do not pair up"));
    replay_real_use_inferred_dm(rp, NULL);
    assert_false(rp->rdm[0].active);
    replay_free(rp);
}

/* Requests whose access is not in the recording (an EPT exit with no IOMEM record; a second
 * block in one exit): the replay never makes them, so the emulator's wait for such a request
 * is as recorded and its notification waits for none, or it would wait for good. */
static void real_device_model_request_lost(void **state)
{
    (void)state;
    static const struct real_rec recs[] = {
        {0, 0, RS(1, 0), 1, {0}},
        {0, 50, RS(0, 2), 1, {0}},
        {1, 0, RS(1, 0), 1, {HVM1}},
        {1, 100, TRC_HVM_VMENTRY, 0, {0}},
        {1, 300, TRC_HVM_VMX_EXIT64, 3, {30, 0x1000, 0}}, /* request 1: its write recorded */
        {1, 320, RS(2, 1), 1, {0}},
        {1, 330, TRC_HVM_IOPORT_WRITE, 2, {0x3f8, 'x'}},
        {1, 340, RS(0, 2), 1, {HVM1}},
        {0, 400, RS(1, 0), 1, {0}},
        {0, 900, TRC_PV_HYPERCALL_V2, 1, {__HYPERVISOR_event_channel_op}},
        {0, 950, RS(2, 1), 1, {HVM1}},
        {0, 1000, RS(0, 2), 1, {0}},
        {1, 1010, RS(2, 1), 1, {HVM1}}, /* woken where nobody runs: it blocks again */
        {1, 1015, RS(1, 0), 1, {HVM1}},
        {1, 1020, RS(0, 2), 1, {HVM1}}, /* request 2: no access of its own */
        {0, 1100, RS(1, 0), 1, {0}},    /* d0v0's wake record lost */
        {0, 1200, TRC_PV_HYPERCALL_V2, 1, {__HYPERVISOR_event_channel_op}},
        {0, 1250, RS(2, 1), 1, {HVM1}},
        {0, 1300, RS(0, 2), 1, {0}},
        {1, 1400, RS(1, 0), 1, {HVM1}},
        {1, 1500, TRC_HVM_VMENTRY, 0, {0}},
        {1, 1600, TRC_HVM_VMX_EXIT64, 3, {48, 0x1000, 0}}, /* request 3: no IOMEM record */
        {1, 1620, RS(2, 1), 1, {0}},
        {1, 1640, RS(0, 2), 1, {HVM1}},
        {0, 1700, RS(1, 0), 1, {0}},
        {0, 1800, TRC_PV_HYPERCALL_V2, 1, {__HYPERVISOR_event_channel_op}},
        {0, 1850, RS(2, 1), 1, {HVM1}},
        {0, 1900, RS(0, 2), 1, {0}},
        {1, 1950, RS(1, 0), 1, {HVM1}},
        {1, 2000, TRC_HVM_VMENTRY, 0, {0}},
        {1, 2500, RS(0, 1), 1, {HVM1}},
    };
    struct sim_replay *rp = NULL;
    struct diag d = {{0}};
    if (load_real(recs, sizeof(recs) / sizeof(recs[0]), &rp, &d) < 0)
        fail_msg("%s", d.msg);
    assert_int_equal(rp->nr_rdm, 1);
    assert_null(rp->rdm[0].unused);
    assert_int_equal(rp->rdm[0].requests[0], 3);
    assert_int_equal(rp->rdm[0].made[0], 1);
    const struct rr_vcpu *dm = &replay_domain_of(rp, 0, false)->vcpu[0]->rr;
    static const struct {
        enum rr_kind kind;
        uint64_t wake_ns;
        uint8_t flags;
        uint32_t ord;
    } want[] = {
        {RR_START, 1, 0, 0},
        {RR_BLOCK, 320, RR_F_EVENT, 1}, /* request 1: waits until it is made */
        {RR_NOTIFY, 0, 0, 1},
        {RR_BLOCK, 1100, 0, 0}, /* woken by the time it ran */
        {RR_NOTIFY, 0, 0, 0},   /* request 2 is never made */
        {RR_BLOCK, 1620, 0, 3}, /* request 3 neither: its wait as recorded */
        {RR_NOTIFY, 0, 0, 0},
        {RR_END, 0, 0, 0},
    };
    assert_int_equal(dm->n, sizeof(want) / sizeof(want[0]));
    for (size_t i = 0; i < dm->n; i++) {
        const struct rr_step *s = &dm->step[i];
        if (s->kind != want[i].kind || s->wake_ns != want[i].wake_ns || s->flags != want[i].flags ||
            s->ord != want[i].ord)
            fail_msg("d0v0 step %zu: kind %u wake %" PRIu64 " flags %u ord %u", i, s->kind,
                     s->wake_ns, s->flags, s->ord);
    }
    replay_free(rp);
}

/* Notifications that do not answer the requests in order (records lost): d1v0's second block
 * is not recorded, so d0v0's second notification seems to answer its first request again, and
 * its next request has none. Replayed, that request would wait for good: the device model is
 * not replayed, and says why. */
static void real_device_model_out_of_order(void **state)
{
    (void)state;
    static const struct real_rec recs[] = {
        DM_ROUND_TRIP,
        {1, 1200, RS(1, 0), 1, {HVM1}}, /* its entry, its next exit and block not recorded */
        {1, 1300, RS(2, 1), 1, {0}},
        {0, 1400, RS(1, 0), 1, {0}},
        {0, 1500, TRC_PV_HYPERCALL_V2, 1, {__HYPERVISOR_event_channel_op}},
        {0, 1550, RS(2, 1), 1, {HVM1}},
        {0, 1600, RS(0, 2), 1, {0}},
        {1, 1700, RS(1, 0), 1, {HVM1}},
        {1, 1800, TRC_HVM_VMENTRY, 0, {0}},
        {1, 1900, TRC_HVM_VMX_EXIT64, 3, {30, 0x1000, 0}},
        {1, 1910, TRC_HVM_IOPORT_WRITE, 2, {0x3f8, 'y'}},
        {1, 1920, RS(0, 2), 1, {HVM1}},
        {1, 2500, RS(2, 1), 1, {HVM1}}, /* woken where nobody runs */
        {1, 2600, RS(1, 0), 1, {HVM1}},
        {1, 2700, TRC_HVM_VMENTRY, 0, {0}},
        {1, 3000, RS(0, 1), 1, {HVM1}},
    };
    struct sim_replay *rp = NULL;
    struct diag d = {{0}};
    if (load_real(recs, sizeof(recs) / sizeof(recs[0]), &rp, &d) < 0)
        fail_msg("%s", d.msg);
    assert_int_equal(rp->nr_rdm, 1);
    assert_int_equal(rp->rdm[0].requests[0], 2);
    assert_int_equal(rp->rdm[0].notifies[0], 2);
    assert_int_equal(rp->rdm[0].out_of_order, 1);
    assert_non_null(rp->rdm[0].unused);
    assert_non_null(strstr(rp->rdm[0].unused, "in order"));
    replay_free(rp);
}

/* PV guests' sends: d0v0 calls event_channel_op and d1v0, blocked, is woken on d0v0's CPU
 * 100 ns later (a send); d1v0 then calls it and d0v0 is woken 20 us later (too late: an
 * interrupt's, not inferred); d0v0 calls it and its own vcpu 1 wakes (an IPI). */
static void real_sends_inferred(void **state)
{
    (void)state;
    static const struct real_rec recs[] = {
        {1, 0, RS(1, 0), 1, {HVM1}},
        {1, 50, RS(0, 2), 1, {HVM1}},
        {2, 0, RS(1, 0), 1, {1}},
        {2, 60, RS(0, 2), 1, {1}},
        {0, 0, RS(1, 0), 1, {0}},
        {0, 500, TRC_PV_HYPERCALL_V2, 1, {__HYPERVISOR_event_channel_op}},
        {0, 600, RS(2, 1), 1, {HVM1}},
        {0, 700, RS(0, 2), 1, {0}},
        {1, 800, RS(1, 0), 1, {HVM1}},
        {1, 900, TRC_PV_HYPERCALL_V2, 1, {__HYPERVISOR_event_channel_op}},
        {1, 20900, RS(2, 1), 1, {0}},
        {1, 21000, RS(0, 1), 1, {HVM1}},
        {0, 21100, RS(1, 0), 1, {0}},
        {0, 21200, TRC_PV_HYPERCALL_V2, 1, {__HYPERVISOR_event_channel_op}},
        {0, 21300, RS(2, 1), 1, {1}},
        {0, 22000, RS(0, 1), 1, {0}},
        {2, 22100, RS(1, 0), 1, {1}},
        {2, 23000, RS(0, 1), 1, {1}},
    };
    struct sim_replay *rp = NULL;
    struct diag d = {{0}};
    if (load_real(recs, sizeof(recs) / sizeof(recs[0]), &rp, &d) < 0)
        fail_msg("%s", d.msg);
    const struct rr_vcpu *v0 = &replay_domain_of(rp, 0, false)->vcpu[0]->rr;
    const struct rr_vcpu *v1 = &replay_domain_of(rp, 0, false)->vcpu[1]->rr;
    const struct rr_vcpu *u = &replay_domain_of(rp, 1, false)->vcpu[0]->rr;
    assert_int_equal(rp->sends_inferred, 2);
    /* d0v0: START, SEND (guest 0-500), BLOCK (woken at 20,900: a timed wake), SEND, END */
    assert_int_equal(v0->n, 5);
    assert_int_equal(v0->step[1].kind, RR_SEND);
    assert_int_equal(v0->step[1].delta, 500);
    assert_int_equal(v0->step[1].peer, 1u << 16);
    assert_int_equal(v0->step[1].ord, 1);
    assert_int_equal(v0->step[2].kind, RR_BLOCK);
    assert_int_equal(v0->step[2].flags, 0);
    assert_int_equal(v0->step[2].wake_ns, 20900);
    assert_int_equal(v0->step[3].kind, RR_SEND);
    assert_int_equal(v0->step[3].peer, 1);
    /* d1v0's wait was for the send; d0v1's for the IPI */
    assert_int_equal(u->step[1].kind, RR_BLOCK);
    assert_int_equal(u->step[1].flags, RR_F_SENT);
    assert_int_equal(u->step[1].peer, 0);
    assert_int_equal(u->step[1].ord, 1);
    assert_int_equal(v1->step[1].flags, RR_F_SENT);
    assert_int_equal(rp->nr_chan, 2);
    assert_int_equal(rp->chan[0].from, 0);
    assert_int_equal(rp->chan[0].to, 1u << 16);
    assert_true(rp->chan[0].active);
    assert_int_equal(rp->chan[1].from, 0);
    assert_int_equal(rp->chan[1].to, 1);
    replay_free(rp);
}

/* An HVM guest's sends: d1v0 (HVM) calls event_channel_op in a VMCALL exit and d0v0 wakes on
 * its CPU; d0v0 sends back and d1v0, in hlt, wakes on d0v0's CPU and takes vector 0xf3. */
static void real_hvm_sends_inferred(void **state)
{
    (void)state;
    static const struct real_rec recs[] = {
        {0, 0, RS(1, 0), 1, {0}},
        {0, 100, RS(0, 2), 1, {0}},
        {1, 0, RS(1, 0), 1, {HVM1}},
        {1, 50, TRC_HVM_VMENTRY, 0, {0}},
        {1, 300, TRC_HVM_VMX_EXIT64, 3, {18, 0x1000, 0}},
        {1, 310, TRC_HVM_VMMCALL, 1, {__HYPERVISOR_event_channel_op}},
        {1, 400, RS(2, 1), 1, {0}},
        {1, 450, TRC_HVM_VMENTRY, 0, {0}},
        {1, 600, TRC_HVM_VMX_EXIT64, 3, {12, 0x1010, 0}},
        {1, 610, RS(0, 2), 1, {HVM1}},
        {0, 700, RS(1, 0), 1, {0}},
        {0, 900, TRC_PV_HYPERCALL_V2, 1, {__HYPERVISOR_event_channel_op}},
        {0, 950, RS(2, 1), 1, {HVM1}},
        {0, 1000, RS(0, 1), 1, {0}},
        {1, 1100, RS(1, 0), 1, {HVM1}},
        {1, 1100, TRC_HVM_INJ_VIRQ, 1, {0xf3}},
        {1, 1150, TRC_HVM_VMENTRY, 0, {0}},
        {1, 2000, RS(0, 1), 1, {HVM1}},
    };
    struct sim_replay *rp = NULL;
    struct diag d = {{0}};
    if (load_real(recs, sizeof(recs) / sizeof(recs[0]), &rp, &d) < 0)
        fail_msg("%s", d.msg);
    const struct rr_vcpu *pv = &replay_domain_of(rp, 0, false)->vcpu[0]->rr;
    const struct rr_vcpu *hvm = &replay_domain_of(rp, 1, false)->vcpu[0]->rr;
    assert_int_equal(rp->sends_inferred, 2);
    /* d1v0: START, SEND (guest 50-300), HLT (for d0v0's send), END */
    assert_int_equal(hvm->n, 4);
    assert_int_equal(hvm->step[1].kind, RR_SEND);
    assert_int_equal(hvm->step[1].delta, 250);
    assert_int_equal(hvm->step[1].peer, 0);
    assert_int_equal(hvm->step[2].kind, RR_HLT);
    assert_int_equal(hvm->step[2].flags, RR_F_SENT);
    assert_int_equal(hvm->step[2].peer, 0);
    /* d0v0: START, BLOCK (for d1v0's send), SEND (guest 700-900), END */
    assert_int_equal(pv->n, 4);
    assert_int_equal(pv->step[1].flags, RR_F_SENT);
    assert_int_equal(pv->step[1].peer, 1u << 16);
    assert_int_equal(pv->step[2].kind, RR_SEND);
    assert_int_equal(pv->step[2].delta, 200);
    assert_int_equal(rp->nr_chan, 2);
    for (size_t i = 0; i < rp->nr_chan; i++) {
        assert_true(rp->chan[i].active);
        if (rp->chan[i].to == 1u << 16)
            assert_int_equal(rp->chan[i].vector, 0xf3);
    }
    replay_free(rp);
}

/* A PCI config write the device model answered, in a recording that begins after the guest
 * latched 0xcf8: Xen's record names the device (SBDF << 32 | register), and the inferred
 * server claims that device. */
static void real_pci_config_device_from_record(void **state)
{
    (void)state;
    static const struct real_rec recs[] = {
        {0, 0, RS(1, 0), 1, {0}},
        {0, 50, RS(0, 2), 1, {0}},
        {1, 0, RS(1, 0), 1, {HVM1}},
        {1, 300, TRC_HVM_VMX_EXIT64, 3, {30, 0x1000, 0}},
        {1, 320, RS(2, 1), 1, {0}},
        {1, 330, TRC_HVM_IOPORT_WRITE | TRC_64_FLAG, 3, {0x10, 0x18, 0xffffffffu}},
        {1, 340, RS(0, 2), 1, {HVM1}},
        {0, 400, RS(1, 0), 1, {0}},
        {0, 900, TRC_PV_HYPERCALL_V2, 1, {__HYPERVISOR_event_channel_op}},
        {0, 950, RS(2, 1), 1, {HVM1}},
        {0, 1000, RS(0, 2), 1, {0}},
        {1, 1200, RS(1, 0), 1, {HVM1}},
        {1, 1300, TRC_HVM_VMENTRY, 0, {0}},
        {1, 2000, RS(0, 1), 1, {HVM1}},
    };
    struct sim_replay *rp = NULL;
    struct diag d = {{0}};
    if (load_real(recs, sizeof(recs) / sizeof(recs[0]), &rp, &d) < 0)
        fail_msg("%s", d.msg);
    const struct rr_step *s = &replay_domain_of(rp, 1, false)->vcpu[0]->rr.step[1];
    assert_int_equal(s->kind, RR_IO);
    assert_int_equal(s->addr, 0xcfc);
    assert_int_equal(s->size, 4);
    assert_int_equal(rp->nr_rdm, 1);
    assert_null(rp->rdm[0].unused);
    assert_int_equal(rp->rdm[0].nr_range, 1);
    assert_int_equal(rp->rdm[0].range[0].type, XEN_DMOP_IO_RANGE_PCI);
    assert_int_equal(rp->rdm[0].range[0].s, 0x18);
    assert_int_equal(rp->rdm[0].range[0].e, 0x18);
    replay_free(rp);
}

/* d1v0's deschedule on CPU 0 is lost: it next shows running on CPU 1, and later d2v0 runs on
 * CPU 0. d1v0 left CPU 0 when it began on CPU 1, and keeps its time there (0-600 on CPU 0,
 * 600-1,000 on CPU 1), where d2v0's start on CPU 0 used to end its run at 700. */
static void real_lost_deschedule(void **state)
{
    (void)state;
    static const struct real_rec recs[] = {
        {0, 0, RS(1, 0), 1, {HVM1}},        {1, 600, RS(1, 0), 1, {HVM1}},
        {0, 700, RS(1, 0), 1, {2u << 16}},  {1, 1000, RS(0, 1), 1, {HVM1}},
        {0, 1000, RS(0, 1), 1, {2u << 16}},
    };
    struct sim_replay *rp = NULL;
    struct diag d = {{0}};
    if (load_real(recs, sizeof(recs) / sizeof(recs[0]), &rp, &d) < 0)
        fail_msg("%s", d.msg);
    const struct rr_vcpu *v = &replay_domain_of(rp, 0, false)->vcpu[0]->rr;
    assert_int_equal(v->n, 2);
    assert_int_equal(v->step[1].kind, RR_END);
    assert_int_equal(v->step[1].delta, 1000);
    replay_free(rp);
}

/* Real recordings replay cannot take: no guest's vcpu, a vcpu beyond 63. */
static void real_refused(void **state)
{
    (void)state;
    static const struct real_rec idle_only[] = {{0, 0, RS(1, 0), 1, {0x7fffu << 16}}};
    static const struct real_rec many[] = {{0, 0, RS(1, 0), 1, {HVM1 | 64}}};
    struct sim_replay *rp = NULL;
    struct diag d = {{0}};
    assert_int_equal(load_real(idle_only, 1, &rp, &d), -1);
    assert_non_null(strstr(d.msg, "no vcpu of a guest"));
    assert_int_equal(load_real(many, 1, &rp, &d), -1);
    assert_non_null(strstr(d.msg, "d1v64: replay plays at most 64 vcpus"));
    assert_non_null(strstr(d.msg, "offset "));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(identical_calls_kept_once),
        cmocka_unit_test(writes_and_upcall_sorted_out),
        cmocka_unit_test(cuts_follow_their_cycles),
        cmocka_unit_test(recording_ends_in_upcall),
        cmocka_unit_test(span_over_48_bits_refused),
        cmocka_unit_test(io_steps_kept),
        cmocka_unit_test(bad_io_records_refused),
        cmocka_unit_test(real_hvm_steps_inferred),
        cmocka_unit_test(real_device_model_inferred),
        cmocka_unit_test(real_device_model_unpaired),
        cmocka_unit_test(real_device_model_request_lost),
        cmocka_unit_test(real_device_model_out_of_order),
        cmocka_unit_test(real_sends_inferred),
        cmocka_unit_test(real_hvm_sends_inferred),
        cmocka_unit_test(real_pci_config_device_from_record),
        cmocka_unit_test(real_lost_deschedule),
        cmocka_unit_test(real_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
