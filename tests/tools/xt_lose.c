/* xt_lose SEED RUNS IN OUT: IN with RUNS runs of records lost, as a Xen host's xentrace loses
 * them when a CPU's buffer is full: on a CPU chosen by SEED (a xorshift generator), 3 to 17 of
 * its records in a row are dropped, and a TRC_LOST_RECORDS record stands before the first record
 * kept after them, as Xen writes it (the count, the domain and vcpu running on the CPU, the TSC
 * of the first record lost), one TSC cycle before that record. The summary's handling of lost
 * records is tested on such files against xenalyze's (scripts/xenalyze-check.sh) and against a
 * golden (tests/scenarios/trace_lost.cmake). Exit status: 0, 1 on a read or write error (with a
 * message), 2 on bad arguments. */
#include <stdio.h>
#include <stdlib.h>

#include "traces/writer.h"
#include "traces/xentrace.h"
#include "traces/xt_ids.h"

#define MAX_RUNS 64
#define IDLE_VCPU 0x7fffu /* what Xen's trace says runs before anything else is seen */

struct run {
    uint32_t cpu;
    uint64_t first, last; /* the CPU's record indices dropped */
};

static uint64_t next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static int open_reader(const char *path, struct xt_source *src, struct xt_reader **r)
{
    struct xt_error err;
    struct xt_options opt = {0};
    if (xt_source_file(src, path, &err) < 0 || xt_open(r, src, &opt, &err) < 0) {
        fprintf(stderr, "xt_lose: %s: %s\n", path, err.msg);
        return -1;
    }
    return 0;
}

/* Which records to drop: RUNS runs, each on a CPU with enough records, away from its ends. */
static unsigned choose_runs(uint64_t seed, unsigned want, const struct xt_stats *st,
                            struct run *runs)
{
    uint64_t s = seed * 2654435761u + 1;
    unsigned n = 0;
    for (unsigned tries = 0; n < want && tries < 64 * want; tries++) {
        uint32_t cpu = (uint32_t)(next(&s) % st->nr_cpus);
        uint64_t records = st->cpu[cpu].records, len = 3 + next(&s) % 15;
        if (records < 2 * len + 20)
            continue;
        uint64_t first = 10 + next(&s) % (records - len - 20);
        bool overlaps = false;
        for (unsigned i = 0; i < n; i++)
            overlaps |=
                runs[i].cpu == cpu && first <= runs[i].last + 1 && runs[i].first <= first + len;
        if (!overlaps)
            runs[n++] = (struct run){cpu, first, first + len - 1};
    }
    return n;
}

static const struct run *run_of(const struct run *runs, unsigned n, uint32_t cpu, uint64_t index)
{
    for (unsigned i = 0; i < n; i++)
        if (runs[i].cpu == cpu && index >= runs[i].first && index <= runs[i].last)
            return runs + i;
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc != 5 || atoi(argv[2]) < 1 || atoi(argv[2]) > MAX_RUNS) {
        fprintf(stderr, "usage: xt_lose SEED RUNS(1-%d) IN OUT\n", MAX_RUNS);
        return 2;
    }
    struct xt_source src;
    struct xt_reader *r;
    struct xt_rec rec;
    struct xt_error err;
    int rc;

    /* the first pass counts each CPU's records */
    if (open_reader(argv[3], &src, &r) < 0)
        return 1;
    while ((rc = xt_next(r, &rec, &err)) > 0)
        ;
    struct xt_stats st = *xt_stats(r);
    uint64_t *index = calloc(st.nr_cpus, sizeof(*index));
    uint32_t *running = malloc(st.nr_cpus * sizeof(*running));
    uint64_t *lost_from = calloc(st.nr_cpus, sizeof(*lost_from)), *lost_n = NULL;
    struct run runs[MAX_RUNS];
    unsigned nruns =
        rc < 0 ? 0 : choose_runs(strtoull(argv[1], NULL, 0), (unsigned)atoi(argv[2]), &st, runs);
    xt_close(r);
    xt_source_file_close(&src);
    lost_n = calloc(st.nr_cpus, sizeof(*lost_n));
    if (rc < 0 || !index || !running || !lost_from || !lost_n) {
        fprintf(stderr, "xt_lose: %s: %s\n", argv[3], rc < 0 ? err.msg : "out of memory");
        return 1;
    }
    for (uint32_t c = 0; c < st.nr_cpus; c++)
        running[c] = IDLE_VCPU << 16 | c;

    struct xt_writer *w;
    if (open_reader(argv[3], &src, &r) < 0)
        return 1;
    if (xt_writer_open(&w, argv[4], st.nr_cpus, &err) < 0) {
        fprintf(stderr, "xt_lose: %s: %s\n", argv[4], err.msg);
        return 1;
    }
    while ((rc = xt_next(r, &rec, &err)) > 0) {
        uint32_t c = rec.cpu;
        /* Xen's LOST_RECORDS record comes after the first lost one: a run goes on until time
         * has passed */
        if (run_of(runs, nruns, c, index[c]++) || (lost_n[c] && rec.tsc <= lost_from[c] + 1)) {
            if (!lost_n[c]++)
                lost_from[c] = rec.tsc;
            continue;
        }
        if (lost_n[c]) {
            /* Xen's lost_record: count, did | vid << 16, the first lost record's TSC */
            uint32_t d[4] = {(uint32_t)lost_n[c], (running[c] >> 16) | (running[c] & 0xffff) << 16,
                             (uint32_t)lost_from[c], (uint32_t)(lost_from[c] >> 32)};
            xt_writer_add(w, c, TRC_LOST_RECORDS, true, rec.tsc - 1, 4, d);
            lost_n[c] = 0;
        }
        if ((rec.event & 0xfffff00fu) == TRC_SCHED_RUNSTATE_CHANGE &&
            ((rec.event >> 4) & 0xf) == 0 && rec.n >= 1)
            running[c] = rec.d[0]; /* domain << 16 | vcpu, now running here */
        xt_writer_add(w, c, rec.event, rec.has_tsc, rec.tsc, rec.n, rec.d);
    }
    if (rc < 0)
        fprintf(stderr, "xt_lose: %s: %s\n", argv[3], err.msg);
    xt_close(r);
    xt_source_file_close(&src);
    free(index);
    free(running);
    free(lost_from);
    free(lost_n);
    if (rc < 0) {
        xt_writer_discard(w);
        return 1;
    }
    if (xt_writer_close(w, NULL, &err) < 0) {
        fprintf(stderr, "xt_lose: %s: %s\n", argv[4], err.msg);
        return 1;
    }
    return 0;
}
