/* A study's points (the simulations `evsim bench abi-scaling` and `bench ioreq` sweep), run:
 * - here, each in a process of its own (SystemC runs one kernel per process), up to --jobs N at
 *   once; every result lands at its point's index, so the study's output is byte for byte that
 *   of a serial run;
 * - or elsewhere, by an engine of the user's: --plan prints one command line per point (a job
 *   list for GNU parallel or a Slurm array), --point K --out DIR runs point K and writes its
 *   result to DIR, and --merge DIR reads every point's result back for the study's output.
 * A point's file carries the study, the --quick choice, the number of points, the point and
 * the result's size, so a merge of files from another study, plan or build is refused. */
#ifndef EVSIM_SIM_BENCH_POINTS_H
#define EVSIM_SIM_BENCH_POINTS_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

/* How the user asked for the points to run (`evsim bench` options). */
struct bench_points_opts {
    unsigned jobs;     /* worker processes at once (--jobs; default: the CPU count) */
    bool plan;         /* --plan: print the job list */
    bool list;         /* --list: print what each point is */
    int point;         /* --point K: run only point K (-1: every point) */
    const char *merge; /* --merge DIR: read the points' results from DIR */
};

struct bench_study {
    const char *name; /* as in `evsim bench NAME` */
    bool quick;
    unsigned n;         /* points */
    size_t result_size; /* bytes of one point's result (plain data) */
    /* In a child process: simulate point i into out (zeroed before; left zero on failure). */
    void (*simulate)(unsigned i, const void *ctx, void *out);
    /* Point i in a few words, for --list (what --point i runs). */
    void (*describe)(unsigned i, const void *ctx, char *buf, size_t len);
    const void *ctx;
    /* In this process, as each point finishes: its result, host seconds and peak memory. */
    void (*finished)(unsigned i, void *result, double seconds, long rss_kb, void *ud);
    void *ud;
    /* Non-zero (a signal) when the user asks to stop: no new point starts, those under way
     * finish. */
    const volatile sig_atomic_t *interrupt;
};

enum bench_points_outcome {
    BENCH_POINTS_RESULTS, /* results[0..*done) hold the points: write the study's output */
    BENCH_POINTS_DONE,    /* the plan or list was printed, or the one point written: done */
    BENCH_POINTS_FAILED,  /* a message was printed: exit status 2 */
};

/* Run (or plan, or merge) the study's points as o asks; results holds s->n results of
 * s->result_size bytes. out_dir: where --point writes its file and --plan sends its points.
 * *done: the points that finished, in order from 0 (fewer than s->n when interrupted). */
enum bench_points_outcome bench_points_run(const struct bench_study *s,
                                           const struct bench_points_opts *o, const char *out_dir,
                                           void *results, unsigned *done);

/* --jobs's default: the CPUs this process may use. */
unsigned bench_points_default_jobs(void);

#endif
