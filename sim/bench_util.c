/* See bench_util.h. */
#define _XOPEN_SOURCE 700
#include "sim/bench_util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sim/plot.h"

double bench_seconds_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

double bench_in_child(void (*fn)(const void *arg, void *out), const void *arg, void *out,
                      size_t out_size, long *peak_rss_kb)
{
    int fd[2];
    double t0 = bench_seconds_now();
    struct {
        long rss;
    } tail = {0};
    memset(out, 0, out_size);
    if (pipe(fd) != 0)
        return 0;
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        close(fd[0]);
        struct rusage ru;
        fn(arg, out);
        tail.rss = getrusage(RUSAGE_SELF, &ru) == 0 ? ru.ru_maxrss : 0;
        bool ok = write(fd[1], out, out_size) == (ssize_t)out_size &&
                  write(fd[1], &tail, sizeof(tail)) == (ssize_t)sizeof(tail);
        _exit(ok ? 0 : 1);
    }
    close(fd[1]);
    if (pid < 0 || read(fd[0], out, out_size) != (ssize_t)out_size ||
        read(fd[0], &tail, sizeof(tail)) != (ssize_t)sizeof(tail))
        memset(out, 0, out_size);
    close(fd[0]);
    if (pid > 0)
        waitpid(pid, NULL, 0);
    if (peak_rss_kb)
        *peak_rss_kb = tail.rss;
    return bench_seconds_now() - t0;
}

int bench_make_dir(const char *dir)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s", dir);
    for (char *s = path + 1; *s; s++)
        if (*s == '/') {
            *s = 0;
            if (mkdir(path, 0755) != 0 && errno != EEXIST)
                return -1;
            *s = '/';
        }
    return mkdir(path, 0755) != 0 && errno != EEXIST ? -1 : 0;
}

FILE *bench_open_out(const char *who, const char *dir, const char *name)
{
    struct diag d;
    FILE *f = plot_open(dir, name, &d);
    if (!f)
        fprintf(stderr, "evsim: %s: %s\n", who, d.msg);
    return f;
}

static bool parse_unsigned(const char *s, unsigned max, unsigned *out)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || end == s || *end || *s == '-' || v > max)
        return false;
    *out = (unsigned)v;
    return true;
}

/* --jobs, --plan, --list, --point, --merge: true when argv[*i] is one of them (taking its value).
 */
static bool parse_points_option(struct bench_cli *c, int argc, char **argv, int *i, bool *ok)
{
    struct bench_points_opts *p = &c->points;
    const char *a = argv[*i];
    unsigned v;

    *ok = true;
    if (!strcmp(a, "--plan")) {
        p->plan = true;
    } else if (!strcmp(a, "--list")) {
        p->list = true;
    } else if ((!strcmp(a, "--jobs") || !strcmp(a, "--point") || !strcmp(a, "--merge")) &&
               *i + 1 < argc) {
        const char *val = argv[++*i];
        if (!strcmp(a, "--merge"))
            p->merge = val;
        else if (!parse_unsigned(val, !strcmp(a, "--jobs") ? 1024 : 1000000, &v) ||
                 (!strcmp(a, "--jobs") && v == 0))
            *ok = false;
        else if (!strcmp(a, "--jobs"))
            p->jobs = v;
        else
            p->point = (int)v;
    } else {
        return false;
    }
    c->points_given = true;
    return true;
}

int bench_cli_parse(struct bench_cli *c, int argc, char **argv, int first, const char **bad)
{
    c->points.point = -1;
    c->points.jobs = bench_points_default_jobs();
    for (int i = first; i < argc; i++) {
        bool ok;
        if (parse_points_option(c, argc, argv, &i, &ok)) {
            if (!ok) {
                *bad = argv[i - 1]; /* the option whose value is wrong */
                return -1;
            }
            continue;
        }
        if (!strcmp(argv[i], "--quick"))
            c->quick = true;
        else if (!strcmp(argv[i], "--progress") || !strcmp(argv[i], "--no-progress"))
            c->progress = argv[i][2] == 'p';
        else if (!strcmp(argv[i], "--out") && i + 1 < argc)
            c->out_dir = argv[++i];
        else if (!strcmp(argv[i], "--doc") && i + 1 < argc)
            c->doc = strcmp(argv[++i], "-") ? argv[i] : NULL;
        else {
            *bad = argv[i];
            return -1;
        }
    }
    /* One way at a time: a plan, a list, one point, a merge, or the whole study here. */
    if ((c->points.plan + c->points.list + (c->points.point >= 0) + (c->points.merge != NULL)) >
        1) {
        *bad = "--plan, --list, --point and --merge together";
        return -1;
    }
    return 0;
}
