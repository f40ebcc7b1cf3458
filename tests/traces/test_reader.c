/* traces/reader.c: xentrace files built in memory, read back through xt_source_memory.
 *
 * Each case is a file written as a list of steps (windows, records with or without a TSC, raw
 * words, a cut at the end). The builder notes where each record lands and on which CPU, so a
 * case names the records it expects by their step: the reader must give each one back with its
 * CPU, event, data and offset, at the expected TSC, in the expected global order. Bad files name
 * the call that must fail, the offset it must report and a part of its message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "traces/xentrace.h"

#define MAX_OPS 24
#define NR_CPUS_CHECKED 3 /* the CPUs whose counts the builder keeps */

enum op_kind { OP_END, OP_WIN, OP_WINSZ, OP_REC, OP_RAW, OP_CUT };

struct op {
    enum op_kind kind;
    uint32_t a;    /* WIN, WINSZ: the CPU; REC: the event; RAW: the word; CUT: bytes dropped */
    uint32_t size; /* WINSZ: the window size written, whatever follows */
    bool timed;
    uint64_t tsc;
    unsigned n;
    uint32_t d[7];
};

#define NWORDS(...) (sizeof((uint32_t[]){__VA_ARGS__}) / sizeof(uint32_t))
/* a window whose size is what follows it, up to the next window or the end */
#define WIN(c)                                                                                     \
    {                                                                                              \
        .kind = OP_WIN, .a = (c)                                                                   \
    }
#define WINSZ(c, s)                                                                                \
    {                                                                                              \
        .kind = OP_WINSZ, .a = (c), .size = (s)                                                    \
    }
#define T0(ev, t)                                                                                  \
    {                                                                                              \
        .kind = OP_REC, .a = (ev), .timed = true, .tsc = (t)                                       \
    }
#define T(ev, t, ...)                                                                              \
    {                                                                                              \
        .kind = OP_REC, .a = (ev), .timed = true, .tsc = (t), .n = NWORDS(__VA_ARGS__), .d = {     \
            __VA_ARGS__                                                                            \
        }                                                                                          \
    }
#define U0(ev)                                                                                     \
    {                                                                                              \
        .kind = OP_REC, .a = (ev)                                                                  \
    }
#define U(ev, ...)                                                                                 \
    {                                                                                              \
        .kind = OP_REC, .a = (ev), .n = NWORDS(__VA_ARGS__), .d = { __VA_ARGS__ }                  \
    }
#define RAW(w)                                                                                     \
    {                                                                                              \
        .kind = OP_RAW, .a = (w)                                                                   \
    }
#define CUT(bytes)                                                                                 \
    {                                                                                              \
        .kind = OP_CUT, .a = (bytes)                                                               \
    }

#define WAKE TRC_SCHED_WAKE
#define BLOCK TRC_SCHED_BLOCK
#define LOST TRC_LOST_RECORDS
#define WRAP TRC_TRACE_WRAP_BUFFER
#define CC XT_CPU_CHANGE_HEADER
#define TIMED_WAKE_HEADER (TRC_SCHED_WAKE | (uint32_t)TRC_HD_CYCLE_FLAG)

/* A file built from steps, with what the builder knows of it. */
struct built {
    uint8_t b[2048];
    size_t len;
    uint64_t off[MAX_OPS];                                     /* of each record step */
    uint32_t cpu[MAX_OPS];                                     /* the CPU whose window holds it */
    uint64_t records[NR_CPUS_CHECKED], bytes[NR_CPUS_CHECKED]; /* WRAP_BUFFER left out */
    uint64_t windows;
    uint32_t nr_cpus;
};

static void put_at(struct built *f, size_t at, uint32_t w)
{
    for (unsigned i = 0; i < 4; i++)
        f->b[at + i] = (uint8_t)(w >> (8 * i));
}

static void put(struct built *f, uint32_t w)
{
    assert_true(f->len + 4 <= sizeof(f->b));
    put_at(f, f->len, w);
    f->len += 4;
}

/* Writes the size of the window whose size word is at *open (0: none open). */
static void close_window(struct built *f, size_t *open)
{
    if (*open)
        put_at(f, *open, (uint32_t)(f->len - (*open + 4)));
    *open = 0;
}

static void add_record(struct built *f, const struct op *o, uint32_t cpu, unsigned i)
{
    uint32_t bytes = 4 + (o->timed ? 8 : 0) + 4 * o->n;

    f->off[i] = f->len;
    f->cpu[i] = cpu;
    put(f, o->a | o->n << TRACE_EXTRA_SHIFT | (o->timed ? (uint32_t)TRC_HD_CYCLE_FLAG : 0));
    if (o->timed) {
        put(f, (uint32_t)o->tsc);
        put(f, (uint32_t)(o->tsc >> 32));
    }
    for (unsigned k = 0; k < o->n; k++)
        put(f, o->d[k]);
    if (o->a != WRAP && cpu < NR_CPUS_CHECKED) {
        f->records[cpu]++;
        f->bytes[cpu] += bytes;
    }
}

static void build(struct built *f, const struct op *ops)
{
    size_t open = 0;
    uint32_t cpu = 0;

    memset(f, 0, sizeof(*f));
    for (unsigned i = 0; i < MAX_OPS && ops[i].kind != OP_END; i++) {
        const struct op *o = &ops[i];

        switch (o->kind) {
        case OP_WIN:
        case OP_WINSZ:
            close_window(f, &open);
            put(f, CC);
            put(f, o->a);
            if (o->kind == OP_WIN)
                open = f->len;
            put(f, o->size);
            cpu = o->a;
            f->windows++;
            if (cpu + 1 > f->nr_cpus)
                f->nr_cpus = cpu + 1;
            break;
        case OP_REC:
            add_record(f, o, cpu, i);
            break;
        case OP_RAW:
            put(f, o->a);
            break;
        case OP_CUT:
            close_window(f, &open);
            f->len -= o->a;
            break;
        case OP_END:
            break;
        }
    }
    close_window(f, &open);
}

/* ---- well-formed files: order, TSCs and counts ---- */

#define LAST true

struct want {
    unsigned op; /* the record step; 0 ends the list (step 0 is always a window) */
    uint64_t tsc;
    bool cpu_last;
    bool lost_end; /* with lost_twice: a LOST_RECORDS record's second delivery */
};

struct cpu_want {
    uint64_t out_of_order, lost_records, lost_events, lost_cycles;
};

struct merge_case {
    const char *name;
    struct op ops[MAX_OPS];
    struct want want[12];
    uint64_t wraps;
    struct cpu_want cpu[NR_CPUS_CHECKED];
    bool lost_twice;
};

/* want: R(step, tsc), or L(step, tsc) for the last record of its CPU */
#define R(s, t)                                                                                    \
    {                                                                                              \
        .op = (s), .tsc = (t)                                                                      \
    }
#define L(s, t)                                                                                    \
    {                                                                                              \
        .op = (s), .tsc = (t), .cpu_last = true                                                    \
    }
/* a LOST_RECORDS record's second delivery (lost_twice), EL if its CPU's last */
#define E(s, t)                                                                                    \
    {                                                                                              \
        .op = (s), .tsc = (t), .lost_end = true                                                    \
    }
#define EL(s, t)                                                                                   \
    {                                                                                              \
        .op = (s), .tsc = (t), .cpu_last = true, .lost_end = true                                  \
    }

static const struct merge_case merge_cases[] = {
    {.name = "two CPUs, one window each: merged by TSC",
     .ops = {WIN(0), T(WAKE, 100, 0x10), T(WAKE, 300, 0x11), T(WAKE, 500, 0x12), WIN(1),
             T(BLOCK, 200, 0x20), T(BLOCK, 400, 0x21)},
     .want = {R(1, 100), R(5, 200), R(2, 300), L(6, 400), L(3, 500)}},
    {.name = "three CPUs, windows interleaved in the file out of TSC order",
     .ops = {WIN(2), T0(WAKE, 150), WIN(0), T0(WAKE, 100), T0(WAKE, 400), WIN(1), T0(WAKE, 200),
             WIN(2), T0(WAKE, 250), T0(WAKE, 600), WIN(0), T0(WAKE, 450), WIN(1), T0(WAKE, 500)},
     .want = {R(3, 100), R(1, 150), R(6, 200), R(8, 250), R(4, 400), L(11, 450), L(13, 500),
              L(9, 600)}},
    {.name = "equal TSCs: the lower CPU first, then the file's order within a CPU",
     .ops = {WIN(2), T0(WAKE, 100), WIN(1), T0(WAKE, 100), T0(BLOCK, 100), WIN(0), T0(WAKE, 100),
             T0(WAKE, 200), WIN(1), T0(WAKE, 200)},
     .want = {R(6, 100), R(3, 100), R(4, 100), L(1, 100), L(7, 200), L(9, 200)}},
    {.name = "untimed records take their CPU's last TSC (0 before the first), across windows",
     .ops = {WIN(0), U(WAKE, 1), T0(BLOCK, 100), U(WAKE, 2), U(WAKE, 3), T0(BLOCK, 400), WIN(1),
             T0(BLOCK, 200), U(WAKE, 4), WIN(0), U(WAKE, 5)},
     .want = {R(1, 0), R(2, 100), R(3, 100), R(4, 100), R(7, 200), L(8, 200), R(5, 400),
              L(10, 400)}},
    {.name = "several windows per CPU; CPU 0's second window comes after six of the others'",
     .ops = {WIN(0), T0(WAKE, 100), WIN(1), T0(WAKE, 110), WIN(1), T0(WAKE, 120), WIN(2),
             T0(WAKE, 125), WIN(1), T0(WAKE, 130), WIN(1), T0(WAKE, 140), WIN(2), T0(WAKE, 145),
             WIN(1), T0(WAKE, 160), WIN(0), T0(WAKE, 150)},
     .want = {R(1, 100), R(3, 110), R(5, 120), R(7, 125), R(9, 130), R(11, 140), L(13, 145),
              L(17, 150), L(15, 160)}},
    {.name = "WRAP_BUFFER padding is skipped, counted, and its TSC is not the CPU's",
     .ops = {WIN(0), T0(WAKE, 100), U(WRAP, 0xdead, 0xbeef, 1), T0(WAKE, 200),
             T(WRAP, 50, 0xffffffff), U0(WAKE)},
     .want = {R(1, 100), R(3, 200), L(5, 200)},
     .wraps = 2},
    {.name = "LOST_RECORDS come out and are counted per CPU",
     .ops = {WIN(0), T0(WAKE, 100), T(LOST, 1000, 7, 1 << 16 | 0, 400, 0), WIN(1),
             T(LOST, 200, 3, 2 << 16 | 1, 150, 0),
             /* first_tsc's high word counts: 0x100000010 - 0x100000008 */
             T(LOST, 0x100000010, 2, 2 << 16 | 1, 0x8, 1),
             /* a first_tsc after the record's own: no lost cycles */
             T(LOST, 0x100000020, 1, 2 << 16 | 1, 0x30, 1)},
     .want = {R(1, 100), R(4, 200), L(2, 1000), R(5, 0x100000010), L(6, 0x100000020)},
     .cpu = {{.lost_records = 7, .lost_events = 1, .lost_cycles = 600},
             {.lost_records = 6, .lost_events = 3, .lost_cycles = 50 + 8}}},
    {.name = "lost_twice: LOST_RECORDS first at its first lost TSC (kept after its CPU's last), "
             "then at its own; counted once",
     .ops = {WIN(0), T0(WAKE, 100), T0(WAKE, 500), T(LOST, 900, 3, 1 << 16 | 0, 520, 0),
             T0(WAKE, 950), WIN(1), T0(BLOCK, 200), T0(BLOCK, 400), T0(BLOCK, 600), T0(BLOCK, 1000),
             T(LOST, 1100, 2, 2 << 16 | 1, 150, 0)},
     .want = {R(1, 100), R(6, 200), R(7, 400), R(2, 500), R(3, 900), R(8, 600), E(3, 900),
              L(4, 950), R(9, 1000), R(10, 1100), EL(10, 1100)},
     .cpu = {{.lost_records = 3, .lost_events = 1, .lost_cycles = 380},
             {.lost_records = 2, .lost_events = 1, .lost_cycles = 950}},
     .lost_twice = true},
    {.name =
         "a TSC going back on its CPU is counted and held at the CPU's last, across windows too",
     .ops = {WIN(0), T0(WAKE, 500), T0(WAKE, 300), T0(WAKE, 600), WIN(1), T0(WAKE, 400),
             T0(WAKE, 550), WIN(1), T0(WAKE, 450)},
     .want = {R(5, 400), R(1, 500), R(2, 500), R(6, 550), L(8, 550), L(3, 600)},
     .cpu = {{.out_of_order = 1}, {.out_of_order = 1}}},
    {.name = "ids the reader does not know come out as they are",
     .ops = {WIN(0), T(0x0ff00001, 100, 1, 2), U(0x0abcdef0, 1, 2, 3, 4, 5, 6, 7), U0(0x0fffffff)},
     .want = {R(1, 100), R(2, 100), L(3, 100)}},
};

static void check_record(const char *name, unsigned i, const struct built *f, const struct op *o,
                         const struct want *w, const struct xt_rec *rec)
{
    if (rec->offset != f->off[w->op] || rec->cpu != f->cpu[w->op])
        fail_msg("%s: record %u: offset %llu on CPU %u, expected step %u (offset %llu, CPU %u)",
                 name, i, (unsigned long long)rec->offset, rec->cpu, w->op,
                 (unsigned long long)f->off[w->op], f->cpu[w->op]);
    if (rec->tsc != w->tsc || rec->cpu_last != w->cpu_last || rec->lost_end != w->lost_end)
        fail_msg("%s: record %u: TSC %llu cpu_last %d lost_end %d, expected %llu %d %d", name, i,
                 (unsigned long long)rec->tsc, rec->cpu_last, rec->lost_end,
                 (unsigned long long)w->tsc, w->cpu_last, w->lost_end);
    assert_int_equal(rec->event, o->a);
    assert_int_equal(rec->has_tsc, o->timed);
    assert_int_equal(rec->n, o->n);
    for (unsigned k = 0; k < 7; k++)
        assert_int_equal(rec->d[k], k < o->n ? o->d[k] : 0); /* unused words are zero */
}

static void check_merge_stats(const struct merge_case *c, const struct built *f,
                              const struct xt_stats *st)
{
    uint64_t records = 0;

    assert_int_equal(st->nr_cpus, f->nr_cpus);
    assert_int_equal(st->windows, f->windows);
    assert_int_equal(st->wraps, c->wraps);
    assert_int_equal(st->truncated_at, 0);
    for (uint32_t cpu = 0; cpu < st->nr_cpus && cpu < NR_CPUS_CHECKED; cpu++) {
        const struct xt_cpu_stats *s = &st->cpu[cpu];
        const struct cpu_want *w = &c->cpu[cpu];

        if (s->records != f->records[cpu] || s->bytes != f->bytes[cpu])
            fail_msg("%s: CPU %u: %llu records %llu bytes, expected %llu %llu", c->name, cpu,
                     (unsigned long long)s->records, (unsigned long long)s->bytes,
                     (unsigned long long)f->records[cpu], (unsigned long long)f->bytes[cpu]);
        assert_true(s->present);
        assert_int_equal(s->out_of_order, w->out_of_order);
        assert_int_equal(s->lost_records, w->lost_records);
        assert_int_equal(s->lost_events, w->lost_events);
        assert_int_equal(s->lost_cycles, w->lost_cycles);
        records += s->records;
    }
    assert_int_equal(st->records, records);
}

static void run_merge_case(const struct merge_case *c)
{
    struct built f;
    struct xt_source src;
    struct xt_reader *r;
    struct xt_error err;
    struct xt_rec rec;
    unsigned i;

    struct xt_options opt = {.lost_twice = c->lost_twice};

    build(&f, c->ops);
    xt_source_memory(&src, f.b, f.len);
    if (xt_open(&r, &src, &opt, &err) < 0)
        fail_msg("%s: xt_open: %s", c->name, err.msg);
    for (i = 0; c->want[i].op; i++) {
        int got = xt_next(r, &rec, &err);

        if (got != 1)
            fail_msg("%s: record %u: xt_next gave %d (%s)", c->name, i, got,
                     got < 0 ? err.msg : "");
        check_record(c->name, i, &f, &c->ops[c->want[i].op], &c->want[i], &rec);
    }
    if (xt_next(r, &rec, &err) != 0)
        fail_msg("%s: a record after the %u expected", c->name, i);
    assert_int_equal(xt_next(r, &rec, &err), 0); /* the end stays the end */
    check_merge_stats(c, &f, xt_stats(r));
    xt_close(r);
}

static void merge_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(merge_cases) / sizeof(merge_cases[0]); i++)
        run_merge_case(&merge_cases[i]);
}

/* Bytes by trace class, and the CPUs present; CPU 1 has no window. */
static void class_bytes(void **state)
{
    static const struct op ops[MAX_OPS] = {
        WIN(0),
        T(BLOCK, 100, 1),                     /* sched: 16 */
        T(TRC_HVM_VMX_EXIT64, 120, 30, 0, 0), /* hvm: 24 */
        T(LOST, 130, 1, 0, 120, 0),           /* gen: 28 */
        U(WRAP, 0, 0, 0),                     /* gen volume only (xenalyze's): 16 */
        U0(0x0ff00001),                       /* other: 4 */
        WIN(2),
        U(TRC_PV_HYPERCALL_V2, 32, 0),     /* pv: 12 */
        T0(TRC_SCHED_RUNSTATE_CHANGE, 90), /* sched: 12 */
    };
    struct built f;
    struct xt_source src;
    struct xt_reader *r;
    struct xt_error err;
    struct xt_rec rec;
    const struct xt_stats *st;

    (void)state;
    build(&f, ops);
    xt_source_memory(&src, f.b, f.len);
    assert_int_equal(xt_open(&r, &src, NULL, &err), 0);
    while (xt_next(r, &rec, &err) > 0)
        ;
    st = xt_stats(r);
    assert_int_equal(st->nr_cpus, 3);
    assert_true(st->cpu[0].present);
    assert_false(st->cpu[1].present);
    assert_true(st->cpu[2].present);
    assert_int_equal(st->cpu[0].class_bytes[XT_CLS_SCHED], 16);
    assert_int_equal(st->cpu[0].class_bytes[XT_CLS_HVM], 24);
    assert_int_equal(st->cpu[0].class_bytes[XT_CLS_GEN], 28 + 16);
    assert_int_equal(st->cpu[0].hvm_bytes[XT_HVM_VMEXIT], 24);
    assert_int_equal(st->cpu[0].hvm_bytes[XT_HVM_VMENTRY], 0);
    assert_int_equal(st->cpu[0].class_bytes[XT_CLS_OTHER], 4);
    assert_int_equal(st->cpu[0].class_bytes[XT_CLS_PV], 0);
    assert_int_equal(st->cpu[0].bytes, 16 + 24 + 28 + 4);
    assert_int_equal(st->cpu[0].records, 4);
    assert_int_equal(st->cpu[0].first_tsc, 100);
    assert_int_equal(st->cpu[0].last_tsc, 130);
    assert_int_equal(st->cpu[2].class_bytes[XT_CLS_PV], 12);
    assert_int_equal(st->cpu[2].class_bytes[XT_CLS_SCHED], 12);
    assert_int_equal(st->cpu[2].bytes, 24);
    assert_int_equal(st->cpu[2].first_tsc, 90);
    assert_int_equal(st->records, 6);
    assert_int_equal(st->wraps, 1);
    xt_close(r);
}

/* ---- the file's structure: bad files, truncated ones ---- */

enum outcome { READS, OPEN_FAILS, NEXT_FAILS };

struct structure_case {
    const char *name;
    struct op ops[MAX_OPS];
    bool allow_truncated;
    enum outcome outcome;
    unsigned records; /* read before the end or the error */
    uint64_t offset;  /* of the error */
    const char *msg;  /* a part of the error's message */
    uint64_t truncated_at, truncated_bytes;
};

/* Sizes: a CPU_CHANGE record and a timed record without data are 12 bytes each. Raw words go
 * into the window before them unless its size was given (WINSZ). */
static const struct structure_case structure_cases[] = {
    {.name = "empty file", .outcome = OPEN_FAILS, .offset = 0, .msg = "empty"},
    {.name = "empty file, allow_truncated: still no xentrace file",
     .allow_truncated = true,
     .outcome = OPEN_FAILS,
     .msg = "empty"},
    {.name = "first header is not CPU_CHANGE",
     .ops = {T0(WAKE, 100), T0(WAKE, 200)},
     .outcome = OPEN_FAILS,
     .offset = 0,
     .msg = "not a xentrace file"},
    {.name = "first header is not CPU_CHANGE, allow_truncated: garbage is no truncation",
     .ops = {T0(WAKE, 100), T0(WAKE, 200)},
     .allow_truncated = true,
     .outcome = OPEN_FAILS,
     .offset = 0,
     .msg = "not a xentrace file"},
    {.name = "garbage where a window header belongs, mid-file",
     .ops = {WINSZ(0, 12), T0(WAKE, 100), RAW(0xdeadbeef), RAW(0), RAW(0)},
     .outcome = OPEN_FAILS,
     .offset = 24,
     .msg = "found 0xdeadbeef"},
    {.name = "CPU number 4096",
     .ops = {WIN(0), T0(WAKE, 100), WINSZ(4096, 0)},
     .outcome = OPEN_FAILS,
     .offset = 24,
     .msg = "CPU 4096"},
    {.name = "CPU number 4095 (the highest) with an empty window",
     .ops = {WINSZ(4095, 0), WIN(0), T0(WAKE, 100)},
     .outcome = READS,
     .records = 1},
    {.name = "window size not a multiple of 4",
     .ops = {WIN(0), T0(WAKE, 100), WINSZ(1, 6), RAW(0), RAW(0)},
     .outcome = OPEN_FAILS,
     .offset = 24,
     .msg = "multiple of 4"},
    {.name = "window longer than the file",
     .ops = {WIN(0), T0(WAKE, 100), WINSZ(1, 40), T0(WAKE, 200)},
     .outcome = OPEN_FAILS,
     .offset = 24,
     .msg = "truncated"},
    {.name = "window longer than the file, allow_truncated: its whole records are read",
     .ops = {WIN(0), T0(WAKE, 100), WINSZ(1, 40), T0(WAKE, 200)},
     .allow_truncated = true,
     .outcome = READS,
     .records = 2,
     .truncated_at = 48, /* the file's end: the cut fell between records */
     .truncated_bytes = 40 - 12},
    {.name = "file cut inside a record",
     .ops = {WIN(0), T0(WAKE, 100), WIN(1), T0(WAKE, 200), T(WAKE, 300, 1, 2), CUT(8)},
     .outcome = OPEN_FAILS,
     .offset = 24,
     .msg = "truncated"},
    {.name = "file cut inside a record, allow_truncated: the torn record is dropped",
     .ops = {WIN(0), T0(WAKE, 100), WIN(1), T0(WAKE, 200), T(WAKE, 300, 1, 2), CUT(8)},
     .allow_truncated = true,
     .outcome = READS,
     .records = 2,
     .truncated_at = 48, /* where the torn record starts */
     .truncated_bytes = 8},
    {.name = "file cut inside a record's header word, allow_truncated",
     .ops = {WIN(0), T0(WAKE, 100), T0(WAKE, 200), CUT(10)},
     .allow_truncated = true,
     .outcome = READS,
     .records = 1,
     .truncated_at = 24,
     .truncated_bytes = 10},
    {.name = "a record crossing the end of its window",
     .ops = {WINSZ(0, 20), T0(WAKE, 100), RAW(TIMED_WAKE_HEADER), RAW(200), WIN(1), T0(WAKE, 50)},
     .outcome = NEXT_FAILS,
     .records = 2,
     .offset = 24,
     .msg = "crosses the end of CPU 0's window"},
    {.name = "a record crossing the end of a whole window, allow_truncated: still an error",
     .ops = {WINSZ(0, 20), T0(WAKE, 100), RAW(TIMED_WAKE_HEADER), RAW(200), WIN(1), T0(WAKE, 50)},
     .allow_truncated = true,
     .outcome = NEXT_FAILS,
     .records = 2,
     .offset = 24,
     .msg = "crosses the end of CPU 0's window"},
    {.name = "a window's first record crossing its end fails xt_open",
     .ops = {WINSZ(0, 4), RAW(TIMED_WAKE_HEADER), WIN(1), T0(WAKE, 50)},
     .outcome = OPEN_FAILS,
     .offset = 12,
     .msg = "crosses the end"},
    {.name = "a CPU_CHANGE record inside a window",
     .ops = {WIN(0), T0(WAKE, 100), RAW(CC), RAW(1), RAW(0), T0(WAKE, 200)},
     .outcome = NEXT_FAILS,
     .records = 1,
     .offset = 24,
     .msg = "CPU_CHANGE record inside CPU 0's window"},
    {.name = "file ending inside a CPU_CHANGE header",
     .ops = {WINSZ(0, 12), T0(WAKE, 100), RAW(CC), RAW(1)},
     .outcome = OPEN_FAILS,
     .offset = 24,
     .msg = "ends 8 bytes into a CPU_CHANGE record"},
    {.name = "file ending inside a CPU_CHANGE header, allow_truncated: what comes before is read",
     .ops = {WINSZ(0, 12), T0(WAKE, 100), RAW(CC), RAW(1)},
     .allow_truncated = true,
     .outcome = READS,
     .records = 1,
     .truncated_at = 24,
     .truncated_bytes = 4},
    {.name = "a torn record, then a torn header, allow_truncated: the record is still an error",
     .ops = {WINSZ(0, 20), T0(WAKE, 100), RAW(TIMED_WAKE_HEADER), RAW(200), RAW(CC), RAW(1)},
     .allow_truncated = true,
     .outcome = NEXT_FAILS,
     .records = 1,
     .offset = 24,
     .msg = "crosses the end of CPU 0's window",
     .truncated_at = 32, /* the torn header */
     .truncated_bytes = 4},
    {.name = "four bytes of junk, allow_truncated: not a torn header",
     .ops = {RAW(0x6b6e756a)},
     .allow_truncated = true,
     .outcome = OPEN_FAILS,
     .offset = 0,
     .msg = "not a xentrace file"},
    {.name = "junk after a whole window, allow_truncated: not a torn header",
     .ops = {WINSZ(0, 12), T0(WAKE, 100), RAW(0x42524147)},
     .allow_truncated = true,
     .outcome = OPEN_FAILS,
     .offset = 24,
     .msg = "expected a CPU_CHANGE record"},
};

static void check_error(const struct structure_case *c, const struct xt_error *err)
{
    char prefix[40];

    snprintf(prefix, sizeof(prefix), "offset %llu: ", (unsigned long long)c->offset);
    if (err->offset != c->offset || strncmp(err->msg, prefix, strlen(prefix)) != 0 ||
        !strstr(err->msg, c->msg))
        fail_msg("%s: error at %llu \"%s\", expected offset %llu and \"%s\"", c->name,
                 (unsigned long long)err->offset, err->msg, (unsigned long long)c->offset, c->msg);
}

/* Reads to the end or the first error: the number of records read, *last the last result. */
static unsigned read_all(struct xt_reader *r, int *last, struct xt_error *err)
{
    struct xt_rec rec;
    unsigned n = 0;

    while ((*last = xt_next(r, &rec, err)) == 1)
        n++;
    return n;
}

static void run_structure_case(const struct structure_case *c)
{
    struct xt_options opt = {.allow_truncated = c->allow_truncated};
    struct built f;
    struct xt_source src;
    struct xt_reader *r = (struct xt_reader *)&f; /* xt_open must set it, even to NULL */
    struct xt_error err;
    const struct xt_stats *st;
    unsigned n;
    int last;

    build(&f, c->ops);
    xt_source_memory(&src, f.b, f.len);
    if (c->outcome == OPEN_FAILS) {
        if (xt_open(&r, &src, &opt, &err) != -1)
            fail_msg("%s: xt_open accepted the file", c->name);
        assert_null(r);
        check_error(c, &err);
        return;
    }
    if (xt_open(&r, &src, &opt, &err) < 0)
        fail_msg("%s: xt_open: %s", c->name, err.msg);
    n = read_all(r, &last, &err);
    if (n != c->records || last != (c->outcome == NEXT_FAILS ? -1 : 0))
        fail_msg("%s: %u records then %d, expected %u then %s", c->name, n, last, c->records,
                 c->outcome == NEXT_FAILS ? "an error" : "the end");
    if (c->outcome == NEXT_FAILS) {
        check_error(c, &err);
        memset(&err, 0, sizeof(err));
        assert_int_equal(read_all(r, &last, &err), 0); /* the error stays */
        assert_int_equal(last, -1);
        check_error(c, &err);
    }
    st = xt_stats(r);
    if (st->truncated_at != c->truncated_at || st->truncated_bytes != c->truncated_bytes)
        fail_msg("%s: truncated at %llu lacking %llu, expected %llu %llu", c->name,
                 (unsigned long long)st->truncated_at, (unsigned long long)st->truncated_bytes,
                 (unsigned long long)c->truncated_at, (unsigned long long)c->truncated_bytes);
    xt_close(r);
}

static void structure_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(structure_cases) / sizeof(structure_cases[0]); i++)
        run_structure_case(&structure_cases[i]);
}

/* ---- a file on disk ---- */

/* The same records through xt_source_file as through memory. */
static void file_source(void **state)
{
    const struct merge_case *c = &merge_cases[1];
    char path[] = "/tmp/evsim-xt-reader-XXXXXX";
    struct built f;
    struct xt_source src;
    struct xt_reader *r;
    struct xt_error err;
    struct xt_rec rec;
    unsigned i = 0;
    int fd;

    (void)state;
    build(&f, c->ops);
    fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, f.b, f.len), (ssize_t)f.len);
    close(fd);
    assert_int_equal(xt_source_file(&src, path, &err), 0);
    unlink(path); /* the open descriptor still reads it */
    assert_int_equal(src.size, f.len);
    assert_int_equal(xt_open(&r, &src, NULL, &err), 0);
    while (xt_next(r, &rec, &err) == 1) {
        assert_true(c->want[i].op != 0);
        check_record(c->name, i, &f, &c->ops[c->want[i].op], &c->want[i], &rec);
        i++;
    }
    assert_int_equal(c->want[i].op, 0);
    xt_close(r);
    xt_source_file_close(&src);
}

static void file_source_errors(void **state)
{
    char dir[] = "/tmp/evsim-xt-dir-XXXXXX";
    struct xt_source src;
    struct xt_error err;

    (void)state;
    assert_non_null(mkdtemp(dir));
    assert_int_equal(xt_source_file(&src, dir, &err), -1);
    assert_non_null(strstr(err.msg, "not a regular file"));
    rmdir(dir);
    assert_int_equal(xt_source_file(&src, dir, &err), -1); /* now gone */
    assert_non_null(strstr(err.msg, "cannot open"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(merge_table),        cmocka_unit_test(class_bytes),
        cmocka_unit_test(structure_table),    cmocka_unit_test(file_source),
        cmocka_unit_test(file_source_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
