/* The xentrace reader: a check of the windows' structure, then one cursor per physical CPU,
 * merged by TSC in a binary heap.
 *
 * Windows are found by a single scanner that hops from one CPU_CHANGE header to the next and
 * hands each window to its CPU's queue; a CPU asks for more only when its current window is spent,
 * so the queues hold only the windows one CPU has run ahead of another. The first pass counted
 * each CPU's windows, so a CPU that has none left never makes the scanner run to the file's
 * end. */
#include "traces/xentrace.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CURSOR_BUF (32u * 1024u)

struct window {
    uint64_t off, size; /* of the window's records, after its CPU_CHANGE record */
};

struct cursor {
    uint32_t cpu;
    struct window *q; /* windows the scanner found and this CPU has not started */
    unsigned qhead, qlen, qcap;
    uint64_t unscanned; /* this CPU's windows the scanner has not reached yet */
    uint64_t pos, end;  /* what is left of the current window */
    uint8_t *buf;
    uint64_t buf_off;
    uint32_t buf_len;
    uint64_t last_tsc;
    struct xt_rec peek;
    bool has_peek;
    uint64_t order;    /* where peek stands in the merge: its TSC, but see lost_twice */
    bool lost_pending; /* peek is a LOST_RECORDS record out once, at its first lost TSC */
};

struct xt_reader {
    struct xt_source src;
    struct xt_options opt;
    uint64_t end;      /* where the windows end: the file's size, or a truncated window's end */
    uint64_t scan_off; /* the next window header the scanner has not read */
    uint64_t cut_end;  /* the end of the window the file cuts short, 0 if none */
    struct cursor **by_cpu;
    struct cursor **heap;
    unsigned heap_n;
    struct xt_stats stats;
    struct xt_error pending; /* an error found while reading ahead, reported by the next call */
    bool failed;
};

static int fail(struct xt_error *err, uint64_t offset, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(struct xt_error *err, uint64_t offset, const char *fmt, ...)
{
    va_list ap;
    int n;

    err->offset = offset;
    n = snprintf(err->msg, sizeof(err->msg), "offset %llu: ", (unsigned long long)offset);
    va_start(ap, fmt);
    vsnprintf(err->msg + n, sizeof(err->msg) - (size_t)n, fmt, ap);
    va_end(ap);
    return -1;
}

static int read_exact(const struct xt_source *src, void *buf, size_t len, uint64_t off,
                      struct xt_error *err)
{
    long got = src->pread(src, buf, len, off);

    if (got < 0)
        return fail(err, off, "read error: %s", strerror(errno));
    if ((size_t)got != len)
        return fail(err, off, "file ends after %ld of %zu bytes", got, len);
    return 0;
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* The CPU_CHANGE record at off: its CPU and the size of the window it opens, checked against
 * the file. A window the file cuts short is an error unless the options allow it, and then only
 * as the last window. */
static int read_window_header(struct xt_reader *r, uint64_t off, uint32_t *cpu, uint64_t *size,
                              struct xt_error *err)
{
    uint8_t h[12];
    uint64_t left = r->src.size - off;
    uint32_t hd;

    if (left < sizeof(h)) {
        uint8_t want[4] = {(uint8_t)XT_CPU_CHANGE_HEADER, (uint8_t)(XT_CPU_CHANGE_HEADER >> 8),
                           (uint8_t)(XT_CPU_CHANGE_HEADER >> 16),
                           (uint8_t)(XT_CPU_CHANGE_HEADER >> 24)};
        size_t n = left < sizeof(want) ? (size_t)left : sizeof(want);

        /* what is there must still be a CPU_CHANGE record's start */
        if (read_exact(&r->src, h, n, off, err) < 0)
            return -1;
        if (memcmp(h, want, n) != 0)
            return fail(err, off, "%sexpected a CPU_CHANGE record (header 0x%08x)",
                        off == 0 ? "not a xentrace file: " : "", XT_CPU_CHANGE_HEADER);
        if (r->opt.allow_truncated) {
            r->stats.truncated = true;
            r->stats.truncated_at = off;
            r->stats.truncated_bytes = sizeof(h) - left;
            *size = UINT64_MAX;
            return 0;
        }
        return fail(err, off,
                    "the file ends %llu bytes into a CPU_CHANGE record (12 bytes expected; "
                    "--allow-truncated reads what comes before)",
                    (unsigned long long)left);
    }
    if (read_exact(&r->src, h, sizeof(h), off, err) < 0)
        return -1;
    hd = le32(h);
    if (hd != XT_CPU_CHANGE_HEADER)
        return fail(err, off, "%sexpected a CPU_CHANGE record (header 0x%08x), found 0x%08x",
                    off == 0 ? "not a xentrace file: " : "", XT_CPU_CHANGE_HEADER, hd);
    *cpu = le32(h + 4);
    *size = le32(h + 8);
    if (*cpu >= XT_MAX_CPUS)
        return fail(err, off, "CPU_CHANGE names CPU %d; expected 0-%u", (int32_t)*cpu,
                    XT_MAX_CPUS - 1);
    if (*size % 4)
        return fail(err, off, "window of %llu bytes; expected a multiple of 4",
                    (unsigned long long)*size);
    if (*size > left - sizeof(h)) {
        if (!r->opt.allow_truncated)
            return fail(err, off,
                        "CPU %u window of %llu bytes, but the file has %llu after its header "
                        "(truncated? --allow-truncated reads what is there)",
                        *cpu, (unsigned long long)*size, (unsigned long long)(left - sizeof(h)));
        r->stats.truncated = true;
        r->stats.truncated_at = r->src.size;
        r->stats.truncated_bytes = *size - (left - sizeof(h));
        *size = left - sizeof(h);
        r->cut_end = r->src.size;
    }
    return 0;
}

static struct cursor *cursor_of(struct xt_reader *r, uint32_t cpu, struct xt_error *err)
{
    struct cursor *c;

    if (cpu >= r->stats.nr_cpus) {
        unsigned n = cpu + 1;
        struct cursor **bc = realloc(r->by_cpu, n * sizeof(*bc));
        struct xt_cpu_stats *cs = realloc(r->stats.cpu, n * sizeof(*cs));

        if (bc)
            r->by_cpu = bc;
        if (cs)
            r->stats.cpu = cs;
        if (!bc || !cs)
            return fail(err, 0, "out of memory"), NULL;
        memset(bc + r->stats.nr_cpus, 0, (n - r->stats.nr_cpus) * sizeof(*bc));
        memset(cs + r->stats.nr_cpus, 0, (n - r->stats.nr_cpus) * sizeof(*cs));
        r->stats.nr_cpus = n;
    }
    if (r->by_cpu[cpu])
        return r->by_cpu[cpu];
    c = calloc(1, sizeof(*c));
    if (!c || !(c->buf = malloc(CURSOR_BUF))) {
        free(c);
        return fail(err, 0, "out of memory"), NULL;
    }
    c->cpu = cpu;
    r->by_cpu[cpu] = c;
    r->stats.cpu[cpu].present = true;
    return c;
}

/* First pass: every window header, hopping over the records. */
static int check_windows(struct xt_reader *r, struct xt_error *err)
{
    uint64_t off = 0;

    if (r->src.size == 0)
        return fail(err, 0, "not a xentrace file: it is empty");
    while (off < r->src.size) {
        uint32_t cpu;
        uint64_t size;
        struct cursor *c;

        if (read_window_header(r, off, &cpu, &size, err) < 0)
            return -1;
        if (size == UINT64_MAX)
            break; /* a torn header, allowed */
        if (!(c = cursor_of(r, cpu, err)))
            return -1;
        c->unscanned++;
        r->stats.windows++;
        off += 12 + size;
    }
    r->end = off < r->src.size ? off : r->src.size;
    return 0;
}

static int queue_window(struct cursor *c, uint64_t off, uint64_t size, struct xt_error *err)
{
    if (c->qlen == c->qcap) {
        unsigned cap = c->qcap ? 2 * c->qcap : 4;
        struct window *q = malloc(cap * sizeof(*q));

        if (!q)
            return fail(err, off, "out of memory");
        for (unsigned i = 0; i < c->qlen; i++)
            q[i] = c->q[(c->qhead + i) % c->qcap];
        free(c->q);
        c->q = q;
        c->qcap = cap;
        c->qhead = 0;
    }
    c->q[(c->qhead + c->qlen++) % c->qcap] = (struct window){off, size};
    c->unscanned--;
    return 0;
}

/* Moves c to its next window: 1, 0 if it has none left, -1 on error. */
static int cursor_next_window(struct xt_reader *r, struct cursor *c, struct xt_error *err)
{
    while (c->qlen == 0) {
        uint32_t cpu;
        uint64_t size;

        if (c->unscanned == 0)
            return 0;
        if (read_window_header(r, r->scan_off, &cpu, &size, err) < 0)
            return -1;
        if (queue_window(r->by_cpu[cpu], r->scan_off + 12, size, err) < 0)
            return -1;
        r->scan_off += 12 + size;
    }
    c->pos = c->q[c->qhead].off;
    c->end = c->pos + c->q[c->qhead].size;
    c->qhead = (c->qhead + 1) % c->qcap;
    c->qlen--;
    return 1;
}

/* Makes [pos, pos + len) of c's window readable in its buffer. */
static const uint8_t *cursor_bytes(struct xt_reader *r, struct cursor *c, uint32_t len,
                                   struct xt_error *err)
{
    uint64_t want;

    if (c->pos >= c->buf_off && c->pos + len <= c->buf_off + c->buf_len)
        return c->buf + (c->pos - c->buf_off);
    want = c->end - c->pos < CURSOR_BUF ? c->end - c->pos : CURSOR_BUF;
    if (read_exact(&r->src, c->buf, want, c->pos, err) < 0)
        return NULL;
    c->buf_off = c->pos;
    c->buf_len = (uint32_t)want;
    return c->buf;
}

static void count_record(struct xt_reader *r, struct cursor *c, const struct xt_rec *rec,
                         uint32_t bytes)
{
    struct xt_cpu_stats *s = &r->stats.cpu[c->cpu];

    s->records++;
    s->bytes += bytes;
    enum xt_class cls = xt_class_of(rec->event);
    s->class_bytes[cls] += bytes;
    if (cls == XT_CLS_HVM) {
        enum xt_hvm_volume k = xt_hvm_volume_of(rec->event);
        if (k < XT_HVM_VOLUMES)
            s->hvm_bytes[k] += bytes;
    }
    if (rec->has_tsc) {
        if (!s->first_tsc)
            s->first_tsc = rec->tsc;
        s->last_tsc = rec->tsc;
    }
    if (rec->event == TRC_LOST_RECORDS && rec->n >= 4) {
        uint64_t first = rec->d[2] | (uint64_t)rec->d[3] << 32;

        s->lost_records += rec->d[0];
        s->lost_events++;
        if (rec->tsc > first)
            s->lost_cycles += rec->tsc - first;
    }
    r->stats.records++;
}

/* A LOST_RECORDS record goes first where its first lost record was, between the CPU's record
 * before it and its own TSC (the CPU's stream stays in order). */
static void lost_first_order(struct cursor *c, uint64_t prev_tsc)
{
    uint64_t first = c->peek.d[2] | (uint64_t)c->peek.d[3] << 32;

    c->order = first < prev_tsc ? prev_tsc : first > c->peek.tsc ? c->peek.tsc : first;
    c->lost_pending = true;
}

/* Reads c's next record into c->peek: 1, 0 when c has no more, -1 on error. Wrap padding is
 * skipped; a TSC that goes back is held at the CPU's last one (and counted), so that each CPU's
 * stream stays in order for the merge. */
static int cursor_advance(struct xt_reader *r, struct cursor *c, struct xt_error *err)
{
    for (;;) {
        const uint8_t *p;
        uint32_t hd, bytes, i;
        struct xt_rec *rec = &c->peek;

        while (c->pos >= c->end) {
            int got = cursor_next_window(r, c, err);

            if (got <= 0)
                return got;
        }
        /* the header, and as much as the longest record takes (one look in the buffer, not two) */
        bytes = 4;
        if (c->end - c->pos < bytes)
            goto torn;
        uint32_t look =
            c->end - c->pos < XT_REC_MAX_BYTES ? (uint32_t)(c->end - c->pos) : XT_REC_MAX_BYTES;
        if (!(p = cursor_bytes(r, c, look, err)))
            return -1;
        hd = le32(p);
        bytes = xt_rec_bytes(hd);
        if (look < bytes)
            goto torn;
        rec->offset = c->pos;
        rec->event = TRC_HD_TO_EVENT(hd);
        rec->cpu = c->cpu;
        rec->n = TRC_HD_EXTRA(hd);
        rec->has_tsc = TRC_HD_INCLUDES_CYCLE_COUNT(hd);
        rec->cpu_last = false;
        p += 4;
        if (rec->event == TRC_TRACE_CPU_CHANGE)
            return fail(err, c->pos,
                        "a CPU_CHANGE record inside CPU %u's window (it may only open one)",
                        c->cpu);
        if (rec->has_tsc) {
            uint64_t tsc = le32(p) | (uint64_t)le32(p + 4) << 32;

            p += 8;
            if (tsc < c->last_tsc && rec->event != TRC_TRACE_WRAP_BUFFER) {
                r->stats.cpu[c->cpu].out_of_order++;
                tsc = c->last_tsc;
            }
            if (rec->event != TRC_TRACE_WRAP_BUFFER)
                c->last_tsc = tsc;
        }
        uint64_t prev_tsc = c->order;
        rec->tsc = c->last_tsc;
        memset(rec->d, 0, sizeof(rec->d)); /* a fixed size: two stores, not a loop */
        for (i = 0; i < rec->n; i++)
            rec->d[i] = le32(p + 4 * i);
        c->pos += bytes;
        c->order = rec->tsc;
        rec->lost_end = false;
        if (r->opt.lost_twice && rec->event == TRC_LOST_RECORDS && rec->n >= 4)
            lost_first_order(c, prev_tsc);
        if (rec->event == TRC_TRACE_WRAP_BUFFER) {
            r->stats.wraps++;
            r->stats.cpu[c->cpu].class_bytes[XT_CLS_GEN] += bytes; /* xenalyze's gen volume */
            continue;
        }
        count_record(r, c, rec, bytes);
        return 1;
    torn:
        if (r->cut_end && c->end == r->cut_end) {
            /* the window the file cuts short: its torn record is what the cut lost */
            r->stats.truncated_at = c->pos;
            c->pos = c->end;
            continue;
        }
        return fail(err, c->pos,
                    "a record of %u bytes crosses the end of CPU %u's window at offset %llu", bytes,
                    c->cpu, (unsigned long long)c->end);
    }
}

static bool before(const struct cursor *a, const struct cursor *b)
{
    if (a->order != b->order)
        return a->order < b->order;
    return a->cpu < b->cpu;
}

static void heap_down(struct xt_reader *r, unsigned i)
{
    for (;;) {
        unsigned l = 2 * i + 1, m = i;
        struct cursor *t;

        if (l < r->heap_n && before(r->heap[l], r->heap[m]))
            m = l;
        if (l + 1 < r->heap_n && before(r->heap[l + 1], r->heap[m]))
            m = l + 1;
        if (m == i)
            return;
        t = r->heap[i];
        r->heap[i] = r->heap[m];
        r->heap[m] = t;
        i = m;
    }
}

int xt_open(struct xt_reader **out, const struct xt_source *src, const struct xt_options *opt,
            struct xt_error *err)
{
    struct xt_reader *r = calloc(1, sizeof(*r));

    *out = NULL;
    err->msg[0] = 0;
    err->offset = 0;
    if (!r)
        return fail(err, 0, "out of memory");
    r->src = *src;
    if (opt)
        r->opt = *opt;
    if (check_windows(r, err) < 0)
        goto bad;
    r->heap = calloc(r->stats.nr_cpus ? r->stats.nr_cpus : 1, sizeof(*r->heap));
    if (!r->heap) {
        fail(err, 0, "out of memory");
        goto bad;
    }
    for (uint32_t cpu = 0; cpu < r->stats.nr_cpus; cpu++) {
        struct cursor *c = r->by_cpu[cpu];
        int got;

        if (!c)
            continue;
        got = cursor_advance(r, c, err);
        if (got < 0)
            goto bad;
        if (got) {
            c->has_peek = true;
            r->heap[r->heap_n++] = c;
        }
    }
    for (unsigned i = r->heap_n / 2; i-- > 0;)
        heap_down(r, i);
    *out = r;
    return 0;
bad:
    xt_close(r);
    return -1;
}

int xt_next(struct xt_reader *r, struct xt_rec *rec, struct xt_error *err)
{
    struct cursor *c;
    int got;

    if (r->failed) {
        *err = r->pending;
        return -1;
    }
    if (r->heap_n == 0)
        return 0;
    c = r->heap[0];
    *rec = c->peek;
    if (c->lost_pending) {
        /* out again at its own TSC */
        c->lost_pending = false;
        c->peek.lost_end = true;
        c->order = c->peek.tsc;
        heap_down(r, 0);
        return 1;
    }
    got = cursor_advance(r, c, &r->pending);
    if (got < 0) {
        /* this record is good; the next call reports what follows it */
        r->failed = true;
        return 1;
    }
    if (!got) {
        rec->cpu_last = true;
        c->has_peek = false;
        r->heap[0] = r->heap[--r->heap_n];
    }
    heap_down(r, 0);
    return 1;
}

const struct xt_stats *xt_stats(const struct xt_reader *r)
{
    return &r->stats;
}

void xt_close(struct xt_reader *r)
{
    if (!r)
        return;
    for (uint32_t cpu = 0; cpu < r->stats.nr_cpus; cpu++) {
        if (r->by_cpu[cpu]) {
            free(r->by_cpu[cpu]->buf);
            free(r->by_cpu[cpu]->q);
            free(r->by_cpu[cpu]);
        }
    }
    free(r->by_cpu);
    free(r->heap);
    free(r->stats.cpu);
    free(r);
}

static long file_pread(const struct xt_source *src, void *buf, size_t len, uint64_t off)
{
    int fd = (int)(intptr_t)src->opaque;
    size_t done = 0;

    while (done < len) {
        ssize_t n = pread(fd, (char *)buf + done, len - done, (off_t)(off + done));

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        if (n == 0)
            break;
        done += (size_t)n;
    }
    return (long)done;
}

int xt_source_file(struct xt_source *src, const char *path, struct xt_error *err)
{
    struct stat st;
    int fd = open(path, O_RDONLY);

    err->msg[0] = 0;
    err->offset = 0;
    if (fd < 0) {
        snprintf(err->msg, sizeof(err->msg), "cannot open: %s", strerror(errno));
        return -1;
    }
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        snprintf(err->msg, sizeof(err->msg), "not a regular file");
        close(fd);
        return -1;
    }
    src->pread = file_pread;
    src->opaque = (void *)(intptr_t)fd;
    src->size = (uint64_t)st.st_size;
    return 0;
}

void xt_source_file_close(struct xt_source *src)
{
    close((int)(intptr_t)src->opaque);
}

static long memory_pread(const struct xt_source *src, void *buf, size_t len, uint64_t off)
{
    size_t n;

    if (off >= src->size)
        return 0;
    n = src->size - off < len ? (size_t)(src->size - off) : len;
    memcpy(buf, (const uint8_t *)src->opaque + off, n);
    return (long)n;
}

void xt_source_memory(struct xt_source *src, const void *data, size_t size)
{
    src->pread = memory_pread;
    src->opaque = (void *)(uintptr_t)data;
    src->size = size;
}
