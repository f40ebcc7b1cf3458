/* Writing xentrace files as Xen's xentrace does: each physical CPU's records collect in its own
 * buffer, and when one fills, every CPU's buffer is written as a window (a CPU_CHANGE record, then
 * the records), CPUs in order. The file appears under its name only when it is complete (it is
 * written under a temporary name and renamed by xt_writer_close). */
#ifndef EVSIM_TRACES_WRITER_H
#define EVSIM_TRACES_WRITER_H

#include <stdbool.h>
#include <stdint.h>

#include "traces/xentrace.h"

#define XT_WINDOW_BYTES (64u * 1024u) /* a CPU's buffer: a window at most this long */

struct xt_writer;

struct xt_writer_stats {
    uint64_t records, bytes, windows;
    uint64_t clamped;   /* records whose TSC was before their CPU's last (written at that one) */
    uint64_t max_shift; /* the most such a record was moved, in TSC cycles */
};

/* 0, or -1 with err filled (cannot create the file). */
int xt_writer_open(struct xt_writer **out, const char *path, uint32_t nr_cpus,
                   struct xt_error *err);
/* One record on CPU cpu: with a TSC (timed) or without (it takes its CPU's last), n data words
 * (at most 7). A TSC before the CPU's last is written as the last, so that each CPU's records
 * stay in order, and counted. Returns the TSC the record has in the file. Errors are kept for
 * xt_writer_close. */
uint64_t xt_writer_add(struct xt_writer *w, uint32_t cpu, uint32_t event, bool timed, uint64_t tsc,
                       unsigned n, const uint32_t *d);
/* Writes what is buffered and gives the file its name: 0, or -1 with err filled (the
 * temporary file is removed, nothing is left under the name). */
int xt_writer_close(struct xt_writer *w, struct xt_writer_stats *stats, struct xt_error *err);
/* Drops the recording: no file is left. */
void xt_writer_discard(struct xt_writer *w);

#endif
