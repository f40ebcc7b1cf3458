/* `evsim bench ioreq`: the ioreq round trip of an HVM guest's device accesses (a UART inb, a
 * PCI BAR read, an MMIO write, a VGA write) where the device model runs (Xen itself, a dom0
 * guest, the host), how busy and how far its CPU is, synchronous against buffered writes, how
 * many servers and ranges Xen searches, and the event-channel ABI of the device model's domain.
 * Every point is a simulation of guests/hvmdev.c in a child process; the results go to data
 * files, gnuplot plots (PNG and SVG), a JSON file and the study section of docs/ioreq.md. */
#ifndef EVSIM_SIM_IOREQ_BENCH_H
#define EVSIM_SIM_IOREQ_BENCH_H

#include <signal.h>
#include <stdbool.h>

#include "sim/bench_points.h"

struct ioreq_bench_opts {
    bool quick;          /* few rounds per point (for tests) */
    bool progress;       /* a line per point on stderr */
    struct bench_points_opts points; /* --jobs, --plan, --point, --merge (sim/bench_points.h) */
    const char *out_dir; /* data, scripts, plots, results.json */
    const char *doc;     /* docs/ioreq.md (its study section is rewritten), or NULL */
    const char *guest_dir;
    const char *host_dm;                    /* bench/dm/xendm, built with libevsim-dm */
    const volatile sig_atomic_t *interrupt; /* as abi_bench_opts */
};

/* 0, 2 on unwritable output, 1 if a point failed, 128 + the signal when interrupted. */
int ioreq_bench_run(const struct ioreq_bench_opts *o);

#endif
