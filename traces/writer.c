#include "traces/writer.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct cpu_buffer {
    uint8_t *buf;
    size_t len;
    uint64_t last_tsc;
};

struct xt_writer {
    FILE *f;
    char *path, *tmp;
    struct cpu_buffer *cpu;
    uint32_t nr_cpus;
    struct xt_writer_stats st;
    int error;     /* the first errno of a failed write */
    char bad[128]; /* the first record that could not be written, if any */
};

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

int xt_writer_open(struct xt_writer **out, const char *path, uint32_t nr_cpus, struct xt_error *err)
{
    struct xt_writer *w = calloc(1, sizeof(*w));
    size_t plen = strlen(path);

    *out = NULL;
    err->offset = 0;
    err->msg[0] = 0;
    if (!w || !(w->path = strdup(path)) || !(w->tmp = malloc(plen + 16)) ||
        !(w->cpu = calloc(nr_cpus ? nr_cpus : 1, sizeof(*w->cpu)))) {
        snprintf(err->msg, sizeof(err->msg), "out of memory");
        goto fail;
    }
    w->nr_cpus = nr_cpus;
    for (uint32_t i = 0; i < nr_cpus; i++) {
        if (!(w->cpu[i].buf = malloc(XT_WINDOW_BYTES))) {
            snprintf(err->msg, sizeof(err->msg), "out of memory");
            goto fail;
        }
    }
    snprintf(w->tmp, plen + 16, "%s.partial", path);
    if (!(w->f = fopen(w->tmp, "wb"))) {
        snprintf(err->msg, sizeof(err->msg), "cannot create %s: %s", w->tmp, strerror(errno));
        goto fail;
    }
    *out = w;
    return 0;
fail:
    if (w) {
        for (uint32_t i = 0; w->cpu && i < w->nr_cpus; i++)
            free(w->cpu[i].buf);
        free(w->cpu);
        free(w->tmp);
        free(w->path);
        free(w);
    }
    return -1;
}

static void write_bytes(struct xt_writer *w, const void *p, size_t n)
{
    if (!w->error && fwrite(p, 1, n, w->f) != n)
        w->error = errno ? errno : EIO;
}

/* Every CPU's buffer as one window each, CPUs in order, as xentrace writes them after a
 * poll. */
static void flush_windows(struct xt_writer *w)
{
    for (uint32_t i = 0; i < w->nr_cpus; i++) {
        struct cpu_buffer *c = &w->cpu[i];
        uint8_t h[12];

        if (!c->len)
            continue;
        put32(h, XT_CPU_CHANGE_HEADER);
        put32(h + 4, i);
        put32(h + 8, (uint32_t)c->len);
        write_bytes(w, h, sizeof(h));
        write_bytes(w, c->buf, c->len);
        w->st.bytes += sizeof(h) + c->len;
        w->st.windows++;
        c->len = 0;
    }
}

uint64_t xt_writer_add(struct xt_writer *w, uint32_t cpu, uint32_t event, bool timed, uint64_t tsc,
                       unsigned n, const uint32_t *d)
{
    struct cpu_buffer *c;
    uint32_t bytes;
    uint8_t *p;

    if (cpu >= w->nr_cpus || n > TRACE_EXTRA_MAX) {
        if (!w->bad[0])
            snprintf(w->bad, sizeof(w->bad),
                     "a record (event 0x%07x) for CPU %u with %u words: the recording has %u "
                     "CPUs and a record at most %u words",
                     event & 0x0fffffffu, cpu, n, w->nr_cpus, (unsigned)TRACE_EXTRA_MAX);
        return tsc;
    }
    c = &w->cpu[cpu];
    bytes = 4 + (timed ? 8 : 0) + 4 * n;
    if (c->len + bytes > XT_WINDOW_BYTES)
        flush_windows(w);
    if (timed && tsc < c->last_tsc) {
        w->st.clamped++;
        if (c->last_tsc - tsc > w->st.max_shift)
            w->st.max_shift = c->last_tsc - tsc;
        tsc = c->last_tsc;
    }
    if (timed)
        c->last_tsc = tsc;
    else
        tsc = c->last_tsc;
    p = c->buf + c->len;
    put32(p, (event & 0x0fffffffu) | (uint32_t)n << TRACE_EXTRA_SHIFT |
                 (timed ? (uint32_t)TRC_HD_CYCLE_FLAG : 0));
    p += 4;
    if (timed) {
        put32(p, (uint32_t)tsc);
        put32(p + 4, (uint32_t)(tsc >> 32));
        p += 8;
    }
    for (unsigned i = 0; i < n; i++)
        put32(p + 4 * i, d[i]);
    c->len += bytes;
    w->st.records++;
    return tsc;
}

static void writer_free(struct xt_writer *w)
{
    for (uint32_t i = 0; i < w->nr_cpus; i++)
        free(w->cpu[i].buf);
    free(w->cpu);
    free(w->tmp);
    free(w->path);
    free(w);
}

int xt_writer_close(struct xt_writer *w, struct xt_writer_stats *stats, struct xt_error *err)
{
    int rc = 0;

    err->offset = 0;
    err->msg[0] = 0;
    flush_windows(w);
    if (fflush(w->f) != 0 && !w->error)
        w->error = errno ? errno : EIO;
    if (fclose(w->f) != 0 && !w->error)
        w->error = errno ? errno : EIO;
    if (!w->error && !w->bad[0] && rename(w->tmp, w->path) != 0)
        w->error = errno ? errno : EIO;
    if (w->bad[0] && !w->error) {
        snprintf(err->msg, sizeof(err->msg), "%s: %s", w->path, w->bad);
        unlink(w->tmp);
        rc = -1;
    } else if (w->error) {
        snprintf(err->msg, sizeof(err->msg), "cannot write %s: %s", w->path, strerror(w->error));
        unlink(w->tmp);
        rc = -1;
    }
    if (stats)
        *stats = w->st;
    writer_free(w);
    return rc;
}

void xt_writer_discard(struct xt_writer *w)
{
    if (!w)
        return;
    fclose(w->f);
    unlink(w->tmp);
    writer_free(w);
}
