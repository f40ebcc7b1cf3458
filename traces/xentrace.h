/* xentrace files: the records Xen writes (struct t_rec, xen/trace.h) in the per-CPU windows that
 * Xen's xentrace tool writes, read in one global time order.
 *
 * A file is a sequence of windows, each a TRC_TRACE_CPU_CHANGE record (cpu, size) followed by
 * `size` bytes of that physical CPU's records. Windows of different CPUs interleave, so the
 * reader keeps one cursor per CPU and merges the CPUs' streams by TSC. It streams: memory grows
 * with the number of CPUs and with how far one CPU's windows run ahead of another's in the file,
 * never with the file's size. Every record Xen writes and every id it might write later comes out
 * (unknown ids are not an error); only the file's structure is checked. */
#ifndef EVSIM_TRACES_XENTRACE_H
#define EVSIM_TRACES_XENTRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "traces/xt_ids.h"

/* One record, as read. Records without a TSC of their own carry the last TSC of their CPU. */
struct xt_rec {
    uint64_t tsc;
    uint64_t offset; /* of the record's header word in the file */
    uint32_t event;  /* the 28-bit event id */
    uint32_t cpu;    /* the physical CPU whose window held it */
    uint32_t n;      /* data words, 0-7 */
    bool has_tsc;
    bool cpu_last; /* the last record of its CPU */
    bool lost_end; /* with lost_twice: the second delivery of a LOST_RECORDS record */
    uint32_t d[7];
};

/* A PV hypercall record's hypercall number: Xen's TRC_PV_HYPERCALL_V2 and _SUBCALL (the number
 * in the first word's low bits), and the older TRC_PV_HYPERCALL that Xen wrote before 4.5 (the
 * guest's eip, 32 or, with TRC_64_FLAG, 64 bits, then eax), as xenalyze reads them. False for
 * any other record, or one too short to hold the number. */
static inline bool xt_pv_hypercall_nr(const struct xt_rec *r, uint32_t *nr)
{
    if (r->event == TRC_PV_HYPERCALL_V2 || r->event == TRC_PV_HYPERCALL_SUBCALL) {
        *nr = r->d[0] & ~TRC_PV_HYPERCALL_V2_ARG_MASK;
        return r->n >= 1;
    }
    unsigned at = r->event == TRC_PV_HYPERCALL                   ? 1
                  : r->event == (TRC_PV_HYPERCALL | TRC_64_FLAG) ? 2
                                                                 : 0;
    *nr = at && r->n > at ? r->d[at] : 0;
    return at && r->n > at;
}

/* Where the bytes come from: a file (xt_source_file) or memory (tests, fuzzing). */
struct xt_source {
    /* Read len bytes at off into buf; the number read (short only at the end), or -1. */
    long (*pread)(const struct xt_source *src, void *buf, size_t len, uint64_t off);
    void *opaque; /* the file descriptor, or the memory */
    uint64_t size;
};

struct xt_error {
    uint64_t offset;
    char msg[512]; /* "offset N: what was found, what was expected" */
};

struct xt_options {
    /* Read a last window that the file cuts short, up to its last whole record, instead of
     * failing (the truncation is then counted in xt_stats). */
    bool allow_truncated;
    /* Deliver each LOST_RECORDS record (with its four words) twice, as xenalyze processes it:
     * first in order at the TSC of the first record lost (lost_end false: the CPU's trace went
     * dark then), then again at its own (lost_end true: it is back). Counted once in xt_stats. */
    bool lost_twice;
};

struct xt_cpu_stats {
    uint64_t records, bytes;      /* records and bytes of the CPU's windows */
    uint64_t class_bytes[16];     /* bytes by trace class (xt_class_index) */
    uint64_t hvm_bytes[4];        /* the HVM class's, by xt_hvm_volume */
    uint64_t lost_records;        /* sum of TRC_LOST_RECORDS counts */
    uint64_t lost_events;         /* TRC_LOST_RECORDS records */
    uint64_t lost_cycles;         /* from the first lost record to the LOST_RECORDS record */
    uint64_t out_of_order;        /* records whose TSC went back on their CPU */
    uint64_t first_tsc, last_tsc; /* 0 and 0 if no timed record */
    bool present;
};

struct xt_stats {
    uint64_t records, windows, wraps;
    bool truncated;           /* the file is cut short (read with allow_truncated) ... */
    uint64_t truncated_at;    /* ... the offset where its whole records stop ... */
    uint64_t truncated_bytes; /* ... and what its last window (or window header) lacks */
    uint32_t nr_cpus;         /* highest CPU number seen + 1 */
    struct xt_cpu_stats *cpu; /* [nr_cpus] */
};

struct xt_reader;

/* Checks the windows' structure (every CPU_CHANGE header, every window inside the file) before
 * returning, so that a caller learns of a bad file before printing anything. 0, or -1 with err
 * filled. */
int xt_open(struct xt_reader **out, const struct xt_source *src, const struct xt_options *opt,
            struct xt_error *err);
/* The next record in global TSC order (ties: lower CPU first, then file order): 1, 0 at the end,
 * -1 with err filled when the file is bad. LOST_RECORDS records come out too; WRAP_BUFFER padding
 * and CPU_CHANGE records do not. */
int xt_next(struct xt_reader *r, struct xt_rec *rec, struct xt_error *err);
const struct xt_stats *xt_stats(const struct xt_reader *r);
void xt_close(struct xt_reader *r);

/* A source reading a file: 0, or -1 with err filled (cannot open, not a regular file). */
int xt_source_file(struct xt_source *src, const char *path, struct xt_error *err);
void xt_source_file_close(struct xt_source *src);
/* A source over memory the caller keeps. */
void xt_source_memory(struct xt_source *src, const void *data, size_t size);

/* The record's size in the file; the longest: a header, a TSC and seven words. */
#define XT_REC_MAX_BYTES (4u + 8u + 4u * 7u)
static inline uint32_t xt_rec_bytes(uint32_t header)
{
    return 4 + (TRC_HD_INCLUDES_CYCLE_COUNT(header) ? 8 : 0) + 4 * TRC_HD_EXTRA(header);
}

#endif
