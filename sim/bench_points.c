/* See bench_points.h. In order: a plan is printed, one point run and written, the points
 * merged from their files, or every point run here, --jobs at a time, each in a child that
 * sends its result back through a pipe. */
#define _XOPEN_SOURCE 700
#include "sim/bench_points.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sim/bench_util.h"

#ifndef EVSIM_VERSION
#define EVSIM_VERSION "0.0.0"
#endif

unsigned bench_points_default_jobs(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (unsigned)n : 1u;
}

/* ---- one point in a child ---- */

/* What a child sends after the result. */
struct child_tail {
    long rss_kb;
};

struct worker {
    pid_t pid;
    int fd;
    unsigned i;
    double t0;
    size_t got;
    unsigned char *buf; /* result, then the tail */
};

static int start_worker(const struct bench_study *s, unsigned i, struct worker *w)
{
    int fd[2];
    size_t total = s->result_size + sizeof(struct child_tail);

    w->buf = calloc(1, total);
    if (!w->buf || pipe(fd) != 0) {
        free(w->buf);
        return -1;
    }
    fflush(NULL);
    w->t0 = bench_seconds_now();
    w->pid = fork();
    if (w->pid == 0) {
        struct rusage ru;
        struct child_tail tail = {0};
        close(fd[0]);
        s->simulate(i, s->ctx, w->buf);
        tail.rss_kb = getrusage(RUSAGE_SELF, &ru) == 0 ? ru.ru_maxrss : 0;
        memcpy(w->buf + s->result_size, &tail, sizeof(tail));
        bool ok = true;
        for (size_t off = 0; ok && off < total;) {
            ssize_t k = write(fd[1], w->buf + off, total - off);
            ok = k > 0;
            off += ok ? (size_t)k : 0;
        }
        _exit(ok ? 0 : 1);
    }
    close(fd[1]);
    if (w->pid < 0) {
        close(fd[0]);
        free(w->buf);
        return -1;
    }
    w->fd = fd[0];
    w->i = i;
    w->got = 0;
    return 0;
}

/* Read what the worker sent; at its end, hand its result over. true when it is done. */
static bool drain_worker(const struct bench_study *s, struct worker *w, unsigned char *results)
{
    size_t total = s->result_size + sizeof(struct child_tail);
    ssize_t k = read(w->fd, w->buf + w->got, total - w->got);

    if (k > 0) {
        w->got += (size_t)k;
        if (w->got < total)
            return false;
    } else if (k < 0 && errno == EINTR) {
        return false;
    }
    close(w->fd);
    waitpid(w->pid, NULL, 0);
    unsigned char *out = results + (size_t)w->i * s->result_size;
    struct child_tail tail = {0};
    if (w->got == total) {
        memcpy(out, w->buf, s->result_size);
        memcpy(&tail, w->buf + s->result_size, sizeof(tail));
    } else {
        memset(out, 0, s->result_size); /* the child failed: the point has no result */
    }
    if (s->finished)
        s->finished(w->i, out, bench_seconds_now() - w->t0, tail.rss_kb, s->ud);
    free(w->buf);
    return true;
}

static bool interrupted(const struct bench_study *s)
{
    return s->interrupt && *s->interrupt;
}

/* Points in order, up to jobs at once; on an interrupt, those under way finish and no other
 * starts. *done: the points finished from 0 on without a gap. */
static int run_here(const struct bench_study *s, unsigned jobs, unsigned char *results,
                    unsigned *done)
{
    struct worker *w = calloc(jobs, sizeof(*w));
    struct pollfd *pfd = calloc(jobs, sizeof(*pfd));
    bool *finished = calloc(s->n ? s->n : 1, sizeof(*finished));
    unsigned next = 0, running = 0;
    int rc = 0;

    if (!w || !pfd || !finished)
        rc = -1;
    while (rc == 0 && (running || (next < s->n && !interrupted(s)))) {
        while (running < jobs && next < s->n && !interrupted(s)) {
            if (start_worker(s, next, &w[running]) < 0) {
                rc = -1;
                break;
            }
            running++;
            next++;
        }
        for (unsigned k = 0; k < running; k++)
            pfd[k] = (struct pollfd){.fd = w[k].fd, .events = POLLIN};
        if (running && poll(pfd, running, -1) < 0 && errno != EINTR)
            rc = -1;
        for (unsigned k = 0; rc == 0 && k < running;) {
            if (pfd[k].revents && drain_worker(s, &w[k], results)) {
                finished[w[k].i] = true;
                w[k] = w[--running];
                pfd[k] = pfd[running];
            } else {
                k++;
            }
        }
    }
    for (unsigned k = 0; k < running; k++) { /* only after a failure to start one */
        while (!drain_worker(s, &w[k], results))
            ;
        finished[w[k].i] = true;
    }
    *done = 0;
    while (finished && *done < s->n && finished[*done])
        (*done)++;
    free(w);
    free(pfd);
    free(finished);
    return rc;
}

/* ---- points in files ---- */

/* The file of point k: its header, its result, its host seconds and peak memory. */
struct point_header {
    char magic[8];
    char study[32];
    char version[32];
    uint32_t quick, n, k;
    uint64_t result_size;
};

static void point_path(const char *dir, unsigned k, char *out, size_t len)
{
    snprintf(out, len, "%s/point-%u.evpt", dir, k);
}

static void header_of(const struct bench_study *s, unsigned k, struct point_header *h)
{
    memset(h, 0, sizeof(*h));
    memcpy(h->magic, "EVSIMPT1", 8);
    snprintf(h->study, sizeof(h->study), "%s", s->name);
    snprintf(h->version, sizeof(h->version), "%s", EVSIM_VERSION);
    h->quick = s->quick;
    h->n = s->n;
    h->k = k;
    h->result_size = s->result_size;
}

static int write_point(const struct bench_study *s, const char *dir, unsigned k, const void *result,
                       double seconds, long rss_kb)
{
    char path[PATH_MAX], tmp[PATH_MAX + 8];
    struct point_header h;
    FILE *f;

    header_of(s, k, &h);
    point_path(dir, k, path, sizeof(path));
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    if (bench_make_dir(dir) < 0 || !(f = fopen(tmp, "wb"))) {
        fprintf(stderr, "evsim: bench %s: --point %u: cannot write %s: %s\n", s->name, k, path,
                strerror(errno));
        return -1;
    }
    bool ok = fwrite(&h, sizeof(h), 1, f) == 1 && fwrite(result, s->result_size, 1, f) == 1 &&
              fwrite(&seconds, sizeof(seconds), 1, f) == 1 &&
              fwrite(&rss_kb, sizeof(rss_kb), 1, f) == 1;
    ok = fclose(f) == 0 && ok;
    if (!ok || rename(tmp, path) != 0) {
        unlink(tmp);
        fprintf(stderr, "evsim: bench %s: --point %u: cannot write %s\n", s->name, k, path);
        return -1;
    }
    return 0;
}

/* Point k's result from dir, after checking that the file is of this study and plan. */
static int read_point(const struct bench_study *s, const char *dir, unsigned k, void *result)
{
    char path[PATH_MAX];
    struct point_header want, h;
    double seconds = 0;
    long rss_kb = 0;
    FILE *f;

    header_of(s, k, &want);
    point_path(dir, k, path, sizeof(path));
    if (!(f = fopen(path, "rb"))) {
        fprintf(stderr,
                "evsim: bench %s: --merge %s: point %u of %u is missing (%s: %s); run it with "
                "--point %u --out %s\n",
                s->name, dir, k, s->n, path, strerror(errno), k, dir);
        return -1;
    }
    bool ok = fread(&h, sizeof(h), 1, f) == 1 && fread(result, s->result_size, 1, f) == 1 &&
              fread(&seconds, sizeof(seconds), 1, f) == 1 &&
              fread(&rss_kb, sizeof(rss_kb), 1, f) == 1 && fgetc(f) == EOF;
    fclose(f);
    if (!ok || memcmp(h.magic, want.magic, 8)) {
        fprintf(stderr,
                "evsim: bench %s: --merge: %s: not a point file of evsim bench, or cut "
                "short\n",
                s->name, path);
        return -1;
    }
    if (memcmp(&h, &want, sizeof(h))) {
        fprintf(stderr,
                "evsim: bench %s: --merge: %s is point %u of %u of `bench %.32s%s` by evsim "
                "%.32s; this merge expects point %u of %u of `bench %s%s` by evsim %s\n",
                s->name, path, h.k, h.n, h.study, h.quick ? " --quick" : "", h.version, k, s->n,
                s->name, s->quick ? " --quick" : "", EVSIM_VERSION);
        return -1;
    }
    if (s->finished)
        s->finished(k, result, seconds, rss_kb, s->ud);
    return 0;
}

/* ---- the plan ---- */

/* Single quotes for the shell, each ' as '\''. */
static void put_quoted(FILE *f, const char *s)
{
    fputc('\'', f);
    for (; *s; s++)
        if (*s == '\'')
            fputs("'\\''", f);
        else
            fputc(*s, f);
    fputc('\'', f);
}

static int print_plan(const struct bench_study *s, const char *out_dir)
{
    char self[PATH_MAX], dir[PATH_MAX];
    ssize_t len = readlink("/proc/self/exe", self, sizeof(self) - 1);

    if (len <= 0) {
        fprintf(stderr, "evsim: bench %s: --plan: cannot tell where evsim is: %s\n", s->name,
                strerror(errno));
        return -1;
    }
    self[len] = '\0';
    /* The jobs may run in another folder: the output folder is named absolutely. */
    if (out_dir[0] != '/' && getcwd(dir, sizeof(dir)))
        snprintf(dir + strlen(dir), sizeof(dir) - strlen(dir), "/%s", out_dir);
    else
        snprintf(dir, sizeof(dir), "%s", out_dir);
    for (unsigned k = 0; k < s->n; k++) {
        put_quoted(stdout, self);
        printf(" bench %s%s --no-progress --point %u --out ", s->name, s->quick ? " --quick" : "",
               k);
        put_quoted(stdout, dir);
        putchar('\n');
    }
    return fflush(stdout) == 0 ? 0 : -1;
}

/* One line per point: its number (for --point) and what it is. */
static int print_list(const struct bench_study *s)
{
    char what[256];
    for (unsigned k = 0; k < s->n; k++) {
        s->describe(k, s->ctx, what, sizeof(what));
        printf("%u\t%s\n", k, what);
    }
    return fflush(stdout) == 0 ? 0 : -1;
}

/* ---- the way the user asked for ---- */

struct point_host {
    double seconds;
    long rss_kb;
};

static void note_host(unsigned i, void *result, double seconds, long rss_kb, void *ud)
{
    struct point_host *h = ud;
    (void)i, (void)result;
    h->seconds = seconds;
    h->rss_kb = rss_kb;
}

/* --point k: that point alone, in a child as always, then its file. */
static enum bench_points_outcome run_one_point(const struct bench_study *s, unsigned k,
                                               const char *out_dir, unsigned char *results)
{
    struct point_host host = {0};
    struct bench_study one = *s;
    struct worker w;

    if (k >= s->n) {
        fprintf(stderr, "evsim: bench %s: --point %u: the study has points 0 to %u%s\n", s->name, k,
                s->n - 1, s->quick ? " (with --quick)" : "");
        return BENCH_POINTS_FAILED;
    }
    one.finished = note_host;
    one.ud = &host;
    if (start_worker(&one, k, &w) < 0) {
        fprintf(stderr, "evsim: bench %s: cannot start point %u's process: %s\n", s->name, k,
                strerror(errno));
        return BENCH_POINTS_FAILED;
    }
    while (!drain_worker(&one, &w, results))
        ;
    if (write_point(s, out_dir, k, results + (size_t)k * s->result_size, host.seconds,
                    host.rss_kb) < 0)
        return BENCH_POINTS_FAILED;
    if (s->finished)
        s->finished(k, results + (size_t)k * s->result_size, host.seconds, host.rss_kb, s->ud);
    return BENCH_POINTS_DONE;
}

enum bench_points_outcome bench_points_run(const struct bench_study *s,
                                           const struct bench_points_opts *o, const char *out_dir,
                                           void *results, unsigned *done)
{
    unsigned char *res = results;

    *done = 0;
    if (o->plan)
        return print_plan(s, out_dir) < 0 ? BENCH_POINTS_FAILED : BENCH_POINTS_DONE;
    if (o->list)
        return print_list(s) < 0 ? BENCH_POINTS_FAILED : BENCH_POINTS_DONE;
    if (o->point >= 0)
        return run_one_point(s, (unsigned)o->point, out_dir, res);
    if (o->merge) {
        for (unsigned k = 0; k < s->n; k++)
            if (read_point(s, o->merge, k, res + (size_t)k * s->result_size) < 0)
                return BENCH_POINTS_FAILED;
        *done = s->n;
        return BENCH_POINTS_RESULTS;
    }
    if (run_here(s, o->jobs ? o->jobs : 1, res, done) < 0) {
        fprintf(stderr, "evsim: bench %s: cannot start a point's process: %s\n", s->name,
                strerror(errno));
        return BENCH_POINTS_FAILED;
    }
    return BENCH_POINTS_RESULTS;
}
