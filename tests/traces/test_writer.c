/* traces/writer.c: files written with xt_writer_* and read back with the reader, which is the
 * writer's only specification that matters (and Xen's xenalyze reads the same layout). The
 * windows are also walked by hand, so that their sizes are checked apart from the reader. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "traces/writer.h"

struct tmp {
    char dir[40];
    char path[80];    /* the file's name */
    char partial[96]; /* where it is written until xt_writer_close */
};

static int tmp_setup(void **state)
{
    struct tmp *t = calloc(1, sizeof(*t));

    if (!t)
        return -1;
    snprintf(t->dir, sizeof(t->dir), "/tmp/evsim-xt-writer-XXXXXX");
    if (!mkdtemp(t->dir)) {
        free(t);
        return -1;
    }
    snprintf(t->path, sizeof(t->path), "%s/out.xt", t->dir);
    snprintf(t->partial, sizeof(t->partial), "%s.partial", t->path);
    *state = t;
    return 0;
}

static int tmp_teardown(void **state)
{
    struct tmp *t = *state;

    unlink(t->path);
    unlink(t->partial);
    rmdir(t->dir);
    free(t);
    return 0;
}

static bool exists(const char *path)
{
    return access(path, F_OK) == 0;
}

struct rec_in {
    uint32_t cpu, event;
    bool timed;
    uint64_t tsc; /* written; for an untimed record, the one it must be read back with */
    unsigned n;
    uint32_t d[7];
};

/* In global TSC order, so that the reader gives them back in this order. */
static const struct rec_in round_trip_recs[] = {
    {0, TRC_SCHED_RUNSTATE_CHANGE | 1 << 8, true, 100, 1, {1 << 16 | 0}},
    {0, TRC_EVSIM_DOMAIN, false, 100, 4, {1, 0, 2, 1}}, /* untimed: CPU 0's last TSC */
    {1, TRC_SCHED_WAKE, true, 150, 2, {1, 1}},
    {2, TRC_HVM_VMX_EXIT64, true, 0x100000000ull, 3, {30, 0x1000, 0xffffffff}},
    {2, TRC_HVM_IOPORT_WRITE, true, 0x100000010ull, 2, {0x3f8, 0x41}},
    {1, TRC_LOST_RECORDS, true, 0x100000020ull, 4, {5, 1 << 16 | 1, 90, 0}},
    {1, 0x0ff00001, false, 0x100000020ull, 0, {0}}, /* untimed: CPU 1's last TSC */
    {0, TRC_PV_HYPERCALL_V2, true, 0x100000030ull, 7, {1, 2, 3, 4, 5, 6, 7}},
    {2, TRC_HVM_VMENTRY, true, 0x100000030ull, 0, {0}}, /* a tie: the lower CPU first */
};

#define NR(a) (sizeof(a) / sizeof((a)[0]))

static void write_recs(struct xt_writer *w, const struct rec_in *in, size_t n)
{
    for (size_t i = 0; i < n; i++)
        xt_writer_add(w, in[i].cpu, in[i].event, in[i].timed, in[i].tsc, in[i].n, in[i].d);
}

static void check_rec(size_t i, const struct rec_in *want, const struct xt_rec *got)
{
    if (got->cpu != want->cpu || got->event != want->event || got->tsc != want->tsc ||
        got->has_tsc != want->timed || got->n != want->n)
        fail_msg(
            "record %zu: CPU %u event %#x TSC %#llx timed %d n %u, expected %u %#x %#llx %d %u", i,
            got->cpu, got->event, (unsigned long long)got->tsc, got->has_tsc, got->n, want->cpu,
            want->event, (unsigned long long)want->tsc, want->timed, want->n);
    assert_memory_equal(got->d, want->d, want->n * sizeof(uint32_t));
}

/* Reads path back: it must hold exactly want[0..n), in that order. */
static void read_back(const char *path, const struct rec_in *want, size_t n, uint64_t *windows)
{
    struct xt_source src;
    struct xt_reader *r;
    struct xt_error err;
    struct xt_rec rec;
    size_t i = 0;
    int got;

    if (xt_source_file(&src, path, &err) < 0 || xt_open(&r, &src, NULL, &err) < 0)
        fail_msg("%s: %s", path, err.msg);
    while ((got = xt_next(r, &rec, &err)) == 1) {
        if (i == n)
            fail_msg("more than the %zu records written", n);
        check_rec(i, &want[i], &rec);
        i++;
    }
    if (got < 0)
        fail_msg("after %zu records: %s", i, err.msg);
    assert_int_equal(i, n);
    for (uint32_t cpu = 0; cpu < xt_stats(r)->nr_cpus; cpu++)
        assert_int_equal(xt_stats(r)->cpu[cpu].out_of_order, 0);
    *windows = xt_stats(r)->windows;
    xt_close(r);
    xt_source_file_close(&src);
}

static void round_trip(void **state)
{
    struct tmp *t = *state;
    struct xt_writer *w;
    struct xt_writer_stats st;
    struct xt_error err;
    uint64_t windows;
    uint64_t bytes = 0;
    FILE *f;

    assert_int_equal(xt_writer_open(&w, t->path, 3, &err), 0);
    write_recs(w, round_trip_recs, NR(round_trip_recs));
    assert_int_equal(xt_writer_close(w, &st, &err), 0);
    assert_int_equal(st.records, NR(round_trip_recs));
    assert_int_equal(st.windows, 3); /* one per CPU: nothing filled a buffer */
    assert_int_equal(st.clamped, 0);
    for (size_t i = 0; i < NR(round_trip_recs); i++)
        bytes += 4 + (round_trip_recs[i].timed ? 8 : 0) + 4 * round_trip_recs[i].n;
    assert_int_equal(st.bytes, bytes + 3 * 12);
    f = fopen(t->path, "rb");
    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    assert_int_equal(ftell(f), (long)st.bytes);
    fclose(f);
    read_back(t->path, round_trip_recs, NR(round_trip_recs), &windows);
    assert_int_equal(windows, st.windows);
}

/* The windows of the file, walked by their CPU_CHANGE headers: how many each CPU has, and that
 * none is longer than a CPU's buffer. */
static void count_windows(const char *path, unsigned nr_cpus, unsigned *per_cpu)
{
    FILE *f = fopen(path, "rb");
    uint32_t h[3];

    assert_non_null(f);
    memset(per_cpu, 0, nr_cpus * sizeof(*per_cpu));
    while (fread(h, sizeof(h), 1, f) == 1) {
        assert_int_equal(h[0], XT_CPU_CHANGE_HEADER);
        assert_in_range(h[1], 0, nr_cpus - 1);
        assert_in_range(h[2], 4, XT_WINDOW_BYTES);
        per_cpu[h[1]]++;
        assert_int_equal(fseek(f, h[2], SEEK_CUR), 0);
    }
    assert_true(feof(f));
    fclose(f);
}

/* More than a buffer's worth: CPU 0 fills its buffer three times, and every CPU's buffer is
 * written each time, so CPU 1 has several windows too. */
static void several_windows(void **state)
{
    enum { N = 10000 };
    struct tmp *t = *state;
    struct rec_in *in = calloc(N, sizeof(*in));
    struct xt_writer *w;
    struct xt_writer_stats st;
    struct xt_error err;
    unsigned per_cpu[2];
    uint64_t windows;

    assert_non_null(in);
    for (uint32_t i = 0; i < N; i++) {
        /* CPU 0: 24-byte records, CPU 1: one 16-byte record in four */
        bool one = i % 4 == 3;

        in[i] =
            (struct rec_in){one, TRC_SCHED_WAKE, true, 1000 + 10ull * i, one ? 1 : 3, {i, ~i, i}};
    }
    assert_int_equal(xt_writer_open(&w, t->path, 2, &err), 0);
    write_recs(w, in, N);
    assert_int_equal(xt_writer_close(w, &st, &err), 0);
    assert_int_equal(st.records, N);
    count_windows(t->path, 2, per_cpu);
    if (per_cpu[0] < 3 || per_cpu[1] < 3)
        fail_msg("windows: CPU 0 %u, CPU 1 %u; expected at least 3 each", per_cpu[0], per_cpu[1]);
    assert_int_equal(per_cpu[0] + per_cpu[1], st.windows);
    read_back(t->path, in, N, &windows);
    assert_int_equal(windows, st.windows);
    free(in);
}

/* A TSC before its CPU's last is written as that last; another CPU's earlier TSC is not. */
static void clamped(void **state)
{
    static const struct rec_in in[] = {
        {1, TRC_SCHED_WAKE, true, 10, 0, {0}},   {0, TRC_SCHED_WAKE, true, 100, 0, {0}},
        {0, TRC_SCHED_BLOCK, true, 50, 0, {0}},  {0, TRC_SCHED_WAKE, true, 200, 0, {0}},
        {1, TRC_SCHED_BLOCK, true, 150, 0, {0}},
    };
    static const struct rec_in want[] = {
        {1, TRC_SCHED_WAKE, true, 10, 0, {0}},   {0, TRC_SCHED_WAKE, true, 100, 0, {0}},
        {0, TRC_SCHED_BLOCK, true, 100, 0, {0}}, {1, TRC_SCHED_BLOCK, true, 150, 0, {0}},
        {0, TRC_SCHED_WAKE, true, 200, 0, {0}},
    };
    struct tmp *t = *state;
    struct xt_writer *w;
    struct xt_writer_stats st;
    struct xt_error err;
    uint64_t windows;

    assert_int_equal(xt_writer_open(&w, t->path, 2, &err), 0);
    write_recs(w, in, NR(in));
    assert_int_equal(xt_writer_close(w, &st, &err), 0);
    assert_int_equal(st.clamped, 1);
    read_back(t->path, want, NR(want), &windows);
}

/* The file has its name only once complete; until then it is NAME.partial. */
static void named_at_close(void **state)
{
    struct tmp *t = *state;
    struct xt_writer *w;
    struct xt_writer_stats st;
    struct xt_error err;
    uint64_t windows;

    assert_int_equal(xt_writer_open(&w, t->path, 3, &err), 0);
    write_recs(w, round_trip_recs, NR(round_trip_recs));
    assert_false(exists(t->path));
    assert_true(exists(t->partial));
    assert_int_equal(xt_writer_close(w, &st, &err), 0);
    assert_true(exists(t->path));
    assert_false(exists(t->partial));
    read_back(t->path, round_trip_recs, NR(round_trip_recs), &windows);
}

static void discard(void **state)
{
    struct tmp *t = *state;
    struct xt_writer *w;
    struct xt_error err;

    assert_int_equal(xt_writer_open(&w, t->path, 3, &err), 0);
    write_recs(w, round_trip_recs, NR(round_trip_recs));
    xt_writer_discard(w);
    assert_false(exists(t->path));
    assert_false(exists(t->partial));
    xt_writer_discard(NULL); /* nothing to drop */
}

/* A record for a CPU the recording does not have, or with too many words, is an error at close:
 * nothing is left under the name. */
static void bad_record(void **state)
{
    static const struct {
        uint32_t cpu;
        unsigned n;
        const char *msg;
    } cases[] = {{3, 1, "for CPU 3"}, {0, 8, "with 8 words"}};
    struct tmp *t = *state;

    for (size_t i = 0; i < NR(cases); i++) {
        struct xt_writer *w;
        struct xt_error err;
        uint32_t d[8] = {0};

        assert_int_equal(xt_writer_open(&w, t->path, 3, &err), 0);
        write_recs(w, round_trip_recs, NR(round_trip_recs));
        xt_writer_add(w, cases[i].cpu, TRC_SCHED_WAKE, true, 1000, cases[i].n, d);
        assert_int_equal(xt_writer_close(w, NULL, &err), -1);
        if (!strstr(err.msg, cases[i].msg))
            fail_msg("case %zu: \"%s\" lacks \"%s\"", i, err.msg, cases[i].msg);
        assert_false(exists(t->path));
        assert_false(exists(t->partial));
    }
}

static void cannot_create(void **state)
{
    struct tmp *t = *state;
    struct xt_writer *w = (struct xt_writer *)t; /* xt_writer_open must clear it */
    struct xt_error err;
    char path[128];

    snprintf(path, sizeof(path), "%s/no-such-dir/out.xt", t->dir);
    assert_int_equal(xt_writer_open(&w, path, 1, &err), -1);
    assert_null(w);
    assert_non_null(strstr(err.msg, "cannot create"));
    assert_non_null(strstr(err.msg, strerror(ENOENT)));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(round_trip, tmp_setup, tmp_teardown),
        cmocka_unit_test_setup_teardown(several_windows, tmp_setup, tmp_teardown),
        cmocka_unit_test_setup_teardown(clamped, tmp_setup, tmp_teardown),
        cmocka_unit_test_setup_teardown(named_at_close, tmp_setup, tmp_teardown),
        cmocka_unit_test_setup_teardown(discard, tmp_setup, tmp_teardown),
        cmocka_unit_test_setup_teardown(bad_record, tmp_setup, tmp_teardown),
        cmocka_unit_test_setup_teardown(cannot_create, tmp_setup, tmp_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
