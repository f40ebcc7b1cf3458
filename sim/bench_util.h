/* What the studies and the validation share (sim/abi_bench.c, ioreq_bench.c, validate.c):
 * running one simulation in a child process (SystemC runs one kernel per process), their
 * output folders and files, and their options. */
#ifndef EVSIM_SIM_BENCH_UTIL_H
#define EVSIM_SIM_BENCH_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "sim/bench_points.h"

/* Run fn(arg, out) in a child process and copy its out_size bytes of result back; out is
 * zeroed when the child fails. Returns the host seconds it took. peak_rss_kb (may be NULL):
 * the child's peak memory. */
double bench_in_child(void (*fn)(const void *arg, void *out), const void *arg, void *out,
                      size_t out_size, long *peak_rss_kb);
double bench_seconds_now(void);
/* mkdir -p: 0 or -1 (errno set). */
int bench_make_dir(const char *dir);
/* dir/name for writing, or NULL after saying why on stderr, prefixed "evsim: <who>: ". */
FILE *bench_open_out(const char *who, const char *dir, const char *name);

/* The options every `evsim bench` study takes. */
struct bench_cli {
    bool quick, progress;
    const char *out_dir, *doc;
    struct bench_points_opts points; /* --jobs, --plan, --point, --merge */
    bool points_given;               /* one of those was given */
};
/* Parse argv[first..]: --quick, --[no-]progress, --out DIR, --doc FILE (- for none), --jobs N,
 * --plan, --point K, --merge DIR. -1 with *bad the offending argument. */
int bench_cli_parse(struct bench_cli *c, int argc, char **argv, int first, const char **bad);

#endif
