/* `evsim bench trace`: the cost of --record on the ABI study's largest point, and the speed and
 * memory of reading the recording (against Xen's xenalyze when one is given). Writes
 * results.json to the output folder and a generated page (docs/trace-performance.md). */
#ifndef EVSIM_SIM_TRACE_BENCH_H
#define EVSIM_SIM_TRACE_BENCH_H

#include <signal.h>
#include <stdbool.h>

struct trace_bench_opts {
    bool quick, progress;
    const char *out_dir, *doc, *guest_dir;
    const char *xenalyze; /* a xenalyze binary to compare with, or NULL */
    /* a folder of scenarios to record, run and replay one by one, or NULL; and how the page
     * names it (NULL: as given) */
    const char *scenarios, *scenarios_shown;
    const volatile sig_atomic_t *interrupt;
};

/* 0, 1 if a run failed, 2 for unwritable output, 128 + signal when interrupted. */
int trace_bench_run(const struct trace_bench_opts *o);

#endif
