/* `evsim bench abi-scaling`: the 2-level, 3-level and FIFO ABIs compared as ports, pending
 * density, vcpus and domains grow, with fairness under a storm and FIFO priorities. Every point
 * is a simulation of the abiscale guest (guests/abiscale.c) in a child process; the results go
 * to data files, gnuplot plots (PNG and SVG), a JSON file and docs/abi-scaling.md. */
#ifndef EVSIM_SIM_ABI_BENCH_H
#define EVSIM_SIM_ABI_BENCH_H

#include <signal.h>
#include <stdbool.h>

#include "sim/bench_points.h"

struct abi_bench_opts {
    bool quick;                      /* a few small points (for tests) */
    bool progress;                   /* a line per point on stderr */
    struct bench_points_opts points; /* --jobs, --plan, --point, --merge (sim/bench_points.h) */
    const char *out_dir;             /* data, scripts and plots */
    const char *doc;                 /* the Markdown report, or NULL */
    const char *guest_dir;
    /* Non-zero (a signal's number) when the user asks to stop: the point under way finishes,
     * no other starts, and what finished is written (results.json marked partial; no plots and
     * no page). NULL: never. */
    const volatile sig_atomic_t *interrupt;
};

struct scenario;
struct diag;

/* The frontends of the domains sweep's point that `evsim bench trace` measures: the most that
 * all three ABIs reach (2-level stops at 1,023), 4,000 Dom0 ports. */
#define ABI_BENCH_TRACE_FRONTENDS 1000u
/* The scenario of that point (quick: the sweep's small last one), FIFO ABI. `evsim bench trace`
 * measures the cost of recording and the speed of replay on it. 0, or -1 with d. */
int abi_bench_trace_scenario(struct scenario *sc, bool quick, struct diag *d);
/* The scenario of the study's largest point: the domains sweep's last (quick: its small one),
 * FIFO ABI. `evsim bench trace` measures the cost of recording on it too. 0, or -1 with d. */
int abi_bench_largest_scenario(struct scenario *sc, bool quick, struct diag *d);

/* 0, or 2 on bad input / unwritable output (with a message on stderr), 1 if a point failed,
 * 128 + the signal when interrupted. */
int abi_bench_run(const struct abi_bench_opts *o);

#endif
