/* evsim bench trace: what recording costs, how fast recordings are read and replayed.
 *
 * The order of the work: simulate the ABI study's 1,000-frontend point without and with --record,
 * alternately, each in a child (SystemC runs one simulation per process), the best of each
 * kept; replay the recording (evsim replay, in a child too); then read it with evsim's reader
 * and summary (in this process), and with
 * Xen's xenalyze when --xenalyze names one; then a copy cut at half the size, to show that the
 * reader's memory does not grow with the file. Last, the same comparison of replay and run on
 * a recording of many events and little guest code between them (pingpong), the case where
 * replay gains least; and, but for --quick, the cost of --record on the study's largest point
 * (16,384 frontends: once each, a minute per run) and its replay. Then every scenario of a
 * folder (the bundled ones by default): recorded, run and replayed, in process and as whole
 * `evsim run` and `evsim replay` processes. Everything is written at the end.
 *
 * A replay is timed twice: playing alone (machine_run), and end to end (reading the recording,
 * building the machine, playing), against the run's building and running: what `evsim replay`
 * and `evsim run` spend after the process has started. */
#include "sim/trace_bench.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sim/abi_bench.h"
#include "sim/bench_util.h"
#include "sim/machine.h"
#include "sim/kernel.h"
#include "sim/record.h"
#include "sim/replay.h"
#include "sim/scenario.h"
#include "traces/summary.h"
#include "traces/writer.h"
#include "traces/xentrace.h"

#define WHO "bench trace"

struct sim_result {
    int ok;
    double run_seconds;             /* machine_run alone */
    double total_seconds;           /* the scenario, the machine's building and its run */
    long peak_rss_kb;               /* the child's */
    uint64_t sim_cycles;            /* simulated time at the end */
    struct xt_writer_stats written; /* with --record */
};

struct sim_job {
    const char *guest_dir, *record; /* record: NULL for the plain run */
    bool quick;
    const char *scenario; /* INI text, or NULL for the ABI study's point (ABI_BENCH_TRACE_*) ... */
    bool largest;         /* ... or its largest ... */
    const char *file;     /* ... or a scenario file, when set */
};

/* The event-dense point: two domains bounce an event ROUNDS times, computing almost nothing
 * between (tests/scenarios/pingpong.ini with more rounds). 7,500 rounds make about a million
 * records. */
#define PINGPONG_ROUNDS 7500u
#define PINGPONG_ROUNDS_QUICK 200u
static const char pingpong_fmt[] = "[machine]\npcpus = 2\nseed = 7\nrun_ms = 100000\n\n"
                                   "[domain dom0]\nguest = pingpong\nprivileged = yes\n"
                                   "cmdline = role=back peer=1 rounds=%u\n\n"
                                   "[domain domU]\nguest = pingpong\n"
                                   "cmdline = role=front peer=0 port=1 rounds=%u\n";

static int bench_scenario(struct scenario *sc, const struct sim_job *j, struct diag *d)
{
    if (j->file)
        return scenario_load_file(sc, j->file, d);
    if (j->scenario)
        return scenario_load_string(sc, "pingpong (bench trace)", j->scenario, d);
    return (j->largest ? abi_bench_largest_scenario : abi_bench_trace_scenario)(sc, j->quick, d);
}

/* A machine of the bench's, its console discarded; and its release. */
struct bench_machine {
    struct scenario *sc;
    struct machine *m;
    FILE *devnull;
};

static bool bench_machine_open(struct bench_machine *b)
{
    b->sc = calloc(1, sizeof(*b->sc));
    b->m = calloc(1, sizeof(*b->m));
    b->devnull = fopen("/dev/null", "w");
    return b->sc && b->m && b->devnull;
}

static void bench_machine_close(struct bench_machine *b)
{
    if (b->m)
        machine_free(b->m);
    if (b->devnull)
        fclose(b->devnull);
    free(b->m);
    free(b->sc);
}

static void simulate(const void *arg, void *out)
{
    const struct sim_job *j = arg;
    struct sim_result *r = out;
    struct bench_machine b;
    struct diag d;
    simk_init(); /* a process's start, not the run's */
    double start = bench_seconds_now();

    if (!bench_machine_open(&b))
        goto done;
    if (bench_scenario(b.sc, j, &d) < 0 ||
        machine_build(b.m, b.sc, j->guest_dir, b.devnull, &d) < 0 ||
        (j->record && (record_start(b.m, j->record, &d) < 0 || record_scenario(b.m, &d) < 0))) {
        fprintf(stderr, "evsim: " WHO ": %s\n", d.msg);
        goto done;
    }
    double t0 = bench_seconds_now();
    machine_run(b.m);
    /* the recording is complete only once written: its writing is part of its cost */
    int rc = record_finish(b.m, &r->written, &d);
    r->run_seconds = bench_seconds_now() - t0;
    r->total_seconds = bench_seconds_now() - start;
    r->ok = rc == 0 && machine_exit_status(b.m) == 0;
    r->sim_cycles = b.m->end_cycles;
done:
    bench_machine_close(&b);
}

/* `evsim replay` of the recording, under the recorded configuration. */
struct replay_result {
    int ok;
    double seconds;      /* machine_run alone, as for the runs */
    double load_seconds; /* replay_load: the recording read and sorted out */
    double total_seconds;
    long peak_rss_kb;
    uint64_t steps;      /* recorded steps played */
    uint64_t sim_cycles; /* simulated time, to compare with the run's */
};

static void replay_recording(const void *arg, void *out)
{
    const char *path = arg;
    struct replay_result *r = out;
    struct sim_replay *rp = NULL;
    struct bench_machine b;
    struct diag d;
    simk_init(); /* a process's start, not the replay's */
    double start = bench_seconds_now();

    if (!bench_machine_open(&b))
        goto done;
    int loaded = replay_load(path, &rp, &d);
    r->load_seconds = bench_seconds_now() - start;
    if (loaded < 0 || scenario_load_string(b.sc, path, replay_scenario_text(rp), &d) < 0 ||
        replay_set_abis(rp, b.sc, b.sc, &d) < 0 ||
        machine_build_replay(b.m, b.sc, "", rp, b.devnull, &d) < 0) {
        fprintf(stderr, "evsim: " WHO ": replay: %s\n", d.msg);
        goto done;
    }
    double t0 = bench_seconds_now();
    machine_run(b.m);
    r->seconds = bench_seconds_now() - t0;
    r->total_seconds = bench_seconds_now() - start;
    r->ok = machine_exit_status(b.m) == 0;
    r->steps = replay_steps(rp);
    r->sim_cycles = b.m->end_cycles;
done:
    bench_machine_close(&b);
    replay_free(rp);
}

struct read_result {
    int ok;
    double seconds;
    uint64_t records, bytes, hz;
};

struct read_job {
    const char *path;
    bool allow_truncated;
};

static void read_recording(const void *arg, void *out)
{
    const struct read_job *j = arg;
    struct read_result *r = out;
    struct xt_source src;
    struct xt_reader *rd = NULL;
    struct xt_error err;
    struct xt_options xo = {.allow_truncated = j->allow_truncated, .lost_twice = true};
    struct xt_summary s;
    struct xt_rec rec;
    int got;
    double t0 = bench_seconds_now();

    if (xt_source_file(&src, j->path, &err) < 0)
        return;
    if (xt_summary_init(&s, NULL) == 0 && xt_open(&rd, &src, &xo, &err) == 0) {
        while ((got = xt_next(rd, &rec, &err)) > 0)
            xt_summary_add(&s, &rec);
        xt_summary_finish(&s);
        FILE *devnull = fopen("/dev/null", "w");
        if (got == 0 && devnull) {
            xt_summary_print(devnull, &s, xt_stats(rd));
            r->ok = 1;
        }
        if (devnull)
            fclose(devnull);
        r->records = xt_stats(rd)->records;
        r->hz = xt_summary_cpu_hz(&s);
        xt_close(rd);
    }
    r->bytes = src.size;
    xt_summary_free(&s);
    xt_source_file_close(&src);
    r->seconds = bench_seconds_now() - t0;
}

/* A program run to its end, its output discarded: its wall time, or < 0 if it failed. */
static double run_program(const char *const argv[])
{
    double t0 = bench_seconds_now();
    int status = 0;
    pid_t pid;

    fflush(NULL);
    pid = fork();
    if (pid == 0) {
        FILE *n = freopen("/dev/null", "w", stdout);
        FILE *e = freopen("/dev/null", "w", stderr);
        (void)n, (void)e;
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    if (pid < 0 || waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return -1;
    return bench_seconds_now() - t0;
}

/* xenalyze --summary on the file: its wall time, or < 0 if it failed. */
static double run_xenalyze(const char *xenalyze, const char *path, uint64_t hz)
{
    char hzarg[64];
    snprintf(hzarg, sizeof(hzarg), "--cpu-hz=%" PRIu64, hz);
    return run_program((const char *const[]){xenalyze, "--summary", hzarg, path, NULL});
}

/* A copy of the first half of the file (cut mid-window): the reader's memory on it, against
 * the whole file's, shows whether memory grows with the file. */
static int half_copy(const char *from, const char *to)
{
    FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
    struct stat st;
    char buf[65536];
    uint64_t left;
    int rc = -1;

    if (!in || !out || stat(from, &st) < 0)
        goto done;
    left = (uint64_t)st.st_size / 2;
    while (left) {
        size_t n = fread(buf, 1, left < sizeof(buf) ? (size_t)left : sizeof(buf), in);
        if (!n || fwrite(buf, 1, n, out) != n)
            goto done;
        left -= n;
    }
    rc = 0;
done:
    if (in)
        fclose(in);
    if (out && fclose(out) != 0)
        rc = -1;
    return rc;
}

/* Replay against run on one recording, end to end: the best of each, by total_seconds. */
struct versus {
    struct sim_result run;
    struct replay_result replay;
};

/* The event-dense point: its recording (written stats) and the comparison. */
struct dense {
    unsigned rounds;
    struct sim_result rec;
    struct versus vs;
};

/* The ABI study's largest point: one run without and one with --record, and a replay. */
struct largest {
    unsigned fronts;
    struct sim_result plain, rec;
    struct replay_result replay;
};

/* One scenario of the folder: replay against run, in process (struct versus) and as whole
 * processes, as a user times `evsim run FILE` and `evsim replay REC` (the best of each). */
#define SCN_MAX 64
struct scn {
    char name[64];
    const char *skipped; /* why it was not measured, or NULL */
    uint64_t records;
    struct versus vs;
    double wall_run, wall_replay;
};

struct scns {
    unsigned n;
    double wall_start; /* a process that only starts and exits (`evsim --version`) */
    struct scn s[SCN_MAX];
};

struct measured {
    unsigned fronts; /* the ABI study point's frontends */
    struct largest largest;
    struct sim_result plain, rec;
    struct replay_result replay;
    struct versus vs; /* the study point's, end to end */
    struct dense dense;
    double overhead;
    struct read_result read, half;
    long read_rss_kb, half_rss_kb;
    double xenalyze_seconds; /* < 0: not measured */
    uint64_t hz;
    struct scns scn;
};

static void best_of(struct sim_result *best, const struct sim_result *r)
{
    if (r->ok && (!best->ok || r->run_seconds < best->run_seconds))
        *best = *r;
}

static void best_total(struct versus *vs, const struct sim_result *run,
                       const struct replay_result *replay)
{
    if (run->ok && (!vs->run.ok || run->total_seconds < vs->run.total_seconds))
        vs->run = *run;
    if (replay->ok && (!vs->replay.ok || replay->total_seconds < vs->replay.total_seconds))
        vs->replay = *replay;
}

static void run_child(const struct sim_job *j, struct sim_result *r)
{
    long rss = 0;
    bench_in_child(simulate, j, r, sizeof(*r), &rss);
    r->peak_rss_kb = rss;
}

static void replay_child(const char *path, struct replay_result *r)
{
    long rss = 0;
    bench_in_child(replay_recording, path, r, sizeof(*r), &rss);
    r->peak_rss_kb = rss;
}

static int measure_recording(const struct trace_bench_opts *o, const char *path, struct measured *x)
{
    unsigned rounds = o->quick ? 1 : 3;
    struct sim_job plain = {o->guest_dir, NULL, o->quick, NULL, false, NULL},
                   rec = {o->guest_dir, path, o->quick, NULL, false, NULL};

    for (unsigned i = 0; i < rounds; i++) {
        struct sim_result a, b;

        if (o->interrupt && *o->interrupt)
            return -1;
        if (o->progress)
            fprintf(stderr, "evsim: " WHO ": run %u of %u without and with --record\n", i + 1,
                    rounds);
        run_child(&plain, &a);
        run_child(&rec, &b);
        best_of(&x->plain, &a);
        best_of(&x->rec, &b);
        best_total(&x->vs, &a, &(struct replay_result){0});
    }
    if (!x->plain.ok || !x->rec.ok) {
        fprintf(stderr, "evsim: " WHO ": the ABI study's point did not run cleanly\n");
        return -1;
    }
    x->overhead = x->rec.run_seconds / x->plain.run_seconds - 1.0;
    for (unsigned i = 0; i < rounds; i++) {
        struct replay_result r;

        if (o->interrupt && *o->interrupt)
            return -1;
        if (o->progress)
            fprintf(stderr, "evsim: " WHO ": replay %u of %u\n", i + 1, rounds);
        replay_child(path, &r);
        if (r.ok && (!x->replay.ok || r.seconds < x->replay.seconds))
            x->replay = r;
        best_total(&x->vs, &(struct sim_result){0}, &r);
    }
    if (!x->replay.ok) {
        fprintf(stderr, "evsim: " WHO ": the recording could not be replayed\n");
        return -1;
    }
    return 0;
}

/* The cost of --record where it records most: the study's largest point (16,384 frontends),
 * once each, as it runs for a minute; and how long its replay takes. Not with --quick. */
static int measure_largest(const struct trace_bench_opts *o, const char *path, struct largest *x)
{
    struct sim_job plain = {o->guest_dir, NULL, false, NULL, true, NULL},
                   rec = {o->guest_dir, path, false, NULL, true, NULL};
    if (o->quick)
        return 0;
    if (o->progress)
        fprintf(stderr, "evsim: " WHO ": the study's largest point, without and with --record\n");
    run_child(&plain, &x->plain);
    if (!(o->interrupt && *o->interrupt))
        run_child(&rec, &x->rec);
    if (!(o->interrupt && *o->interrupt) && x->rec.ok)
        replay_child(path, &x->replay);
    if (o->interrupt && *o->interrupt)
        return -1;
    if (!x->plain.ok || !x->rec.ok || !x->replay.ok) {
        fprintf(stderr, "evsim: " WHO ": the ABI study's largest point did not run, record and "
                        "replay cleanly\n");
        return -1;
    }
    return 0;
}

static void measure_reading(const struct trace_bench_opts *o, const char *path, const char *half,
                            struct measured *x)
{
    struct read_job whole = {path, false}, cut = {half, true};
    unsigned rounds = o->quick ? 1 : 3;

    x->xenalyze_seconds = -1;
    for (unsigned i = 0; i < rounds; i++) {
        struct read_result r;
        long rss = 0;

        bench_in_child(read_recording, &whole, &r, sizeof(r), &rss);
        if (r.ok && (!x->read.ok || r.seconds < x->read.seconds)) {
            x->read = r;
            x->read_rss_kb = rss;
        }
    }
    x->hz = x->read.hz;
    for (unsigned i = 0; o->xenalyze && x->read.ok && i < rounds; i++) {
        double t = run_xenalyze(o->xenalyze, path, x->hz);
        if (t >= 0 && (x->xenalyze_seconds < 0 || t < x->xenalyze_seconds))
            x->xenalyze_seconds = t;
    }
    if (half_copy(path, half) == 0)
        bench_in_child(read_recording, &cut, &x->half, sizeof(x->half), &x->half_rss_kb);
}

/* The event-dense point: recorded once, then run and replayed alternately, end to end. */
static int measure_dense(const struct trace_bench_opts *o, const char *path, struct dense *x)
{
    unsigned rounds = o->quick ? 1 : 3;
    char text[sizeof(pingpong_fmt) + 32];
    struct sim_job run = {o->guest_dir, NULL, o->quick, text, false, NULL}, rec = run;

    x->rounds = o->quick ? PINGPONG_ROUNDS_QUICK : PINGPONG_ROUNDS;
    snprintf(text, sizeof(text), pingpong_fmt, x->rounds, x->rounds);
    rec.record = path;
    if (o->progress)
        fprintf(stderr, "evsim: " WHO ": pingpong, %u rounds, with --record\n", x->rounds);
    run_child(&rec, &x->rec);
    for (unsigned i = 0; x->rec.ok && i < rounds; i++) {
        struct sim_result a;
        struct replay_result b;

        if (o->interrupt && *o->interrupt)
            return -1;
        if (o->progress)
            fprintf(stderr, "evsim: " WHO ": pingpong run and replay %u of %u\n", i + 1, rounds);
        run_child(&run, &a);
        replay_child(path, &b);
        best_total(&x->vs, &a, &b);
    }
    if (!x->vs.run.ok || !x->vs.replay.ok) {
        fprintf(stderr, "evsim: " WHO ": the pingpong point did not run and replay cleanly\n");
        return -1;
    }
    return 0;
}

/* ---- every scenario of a folder ----------------------------------------------------------- */

/* A scratch recording and what its writer may have left under a temporary name. */
static void remove_scratch(const char *path)
{
    char partial[4200];

    unlink(path);
    snprintf(partial, sizeof(partial), "%s.partial", path);
    unlink(partial);
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The folder's scenario files (*.ini, names that fit struct scn), sorted: how many (at most
 * SCN_MAX), or -1 with errno. */
static int list_scenarios(const char *dir, char *names[SCN_MAX])
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;
    if (!d)
        return -1;
    while ((e = readdir(d)) && n < SCN_MAX) {
        size_t len = strlen(e->d_name);
        if (len <= 4 || len >= sizeof(((struct scn *)0)->name) ||
            strcmp(e->d_name + len - 4, ".ini"))
            continue;
        if (!(names[n] = strdup(e->d_name))) {
            while (n > 0)
                free(names[--n]);
            closedir(d);
            return -1;
        }
        n++;
    }
    closedir(d);
    qsort(names, (size_t)n, sizeof(*names), name_cmp);
    return n;
}

/* The best wall time of `evsim ARGS...` as a whole process, or < 0 if one failed. */
static double best_wall(unsigned rounds, const char *const argv[])
{
    double best = -1;
    for (unsigned i = 0; i < rounds; i++) {
        double t = run_program(argv);
        if (t < 0)
            return -1;
        if (best < 0 || t < best)
            best = t;
    }
    return best;
}

/* One scenario: recorded, then run and replayed alternately, in process and as processes. */
static void measure_scenario(const struct trace_bench_opts *o, const char *file, const char *rec,
                             struct scn *x)
{
    unsigned rounds = o->quick ? 1 : 3;
    struct sim_job run = {.guest_dir = o->guest_dir, .quick = o->quick, .file = file}, job = run;
    struct sim_result r;

    job.record = rec;
    run_child(&job, &r);
    if (!r.ok) {
        x->skipped = "its run does not end with exit status 0";
        return;
    }
    x->records = r.written.records;
    for (unsigned i = 0; i < rounds; i++) {
        struct sim_result a;
        struct replay_result b;
        run_child(&run, &a);
        replay_child(rec, &b);
        best_total(&x->vs, &a, &b);
    }
    if (!x->vs.run.ok || !x->vs.replay.ok) {
        x->skipped = "it did not run and replay cleanly again";
        return;
    }
    x->wall_run = best_wall(
        rounds, (const char *const[]){"/proc/self/exe", "run", file, "--no-report", NULL});
    x->wall_replay = best_wall(
        rounds, (const char *const[]){"/proc/self/exe", "replay", rec, "--no-report", NULL});
}

static int measure_scenarios(const struct trace_bench_opts *o, const char *rec, struct scns *x)
{
    char *names[SCN_MAX] = {0};
    int n = o->scenarios ? list_scenarios(o->scenarios, names) : 0;
    if (n < 0) {
        fprintf(stderr, "evsim: " WHO ": cannot read %s: %s\n", o->scenarios, strerror(errno));
        return -1;
    }
    x->wall_start =
        best_wall(o->quick ? 1 : 3, (const char *const[]){"/proc/self/exe", "--version", NULL});
    for (int i = 0; i < n && !(o->interrupt && *o->interrupt); i++) {
        char file[4096];
        struct scn *s = &x->s[x->n++];
        snprintf(s->name, sizeof(s->name), "%.*s", (int)strlen(names[i]) - 4, names[i]);
        snprintf(file, sizeof(file), "%s/%s", o->scenarios, names[i]);
        if (o->progress)
            fprintf(stderr, "evsim: " WHO ": scenario %d of %d, %s\n", i + 1, n, s->name);
        measure_scenario(o, file, rec, s);
        remove_scratch(rec);
    }
    for (int i = 0; i < n; i++)
        free(names[i]);
    return o->interrupt && *o->interrupt ? -1 : 0;
}

/* How many times as fast as the run the replay was, end to end. */
static double speedup(const struct versus *vs)
{
    return vs->run.total_seconds / vs->replay.total_seconds;
}

static void write_versus_json(FILE *f, const char *indent, const struct versus *vs)
{
    fprintf(f,
            "%s\"run_total_seconds\": %.4f,\n%s\"run_peak_rss_kb\": %ld,\n"
            "%s\"replay_total_seconds\": %.4f,\n%s\"replay_load_seconds\": %.4f,\n"
            "%s\"replay_play_seconds\": %.4f,\n%s\"replay_peak_rss_kb\": %ld,\n"
            "%s\"replay_steps\": %" PRIu64 ",\n%s\"replay_speedup_total\": %.2f",
            indent, vs->run.total_seconds, indent, vs->run.peak_rss_kb, indent,
            vs->replay.total_seconds, indent, vs->replay.load_seconds, indent, vs->replay.seconds,
            indent, vs->replay.peak_rss_kb, indent, vs->replay.steps, indent, speedup(vs));
}

static double ratio(double a, double b)
{
    return b > 0 ? a / b : 0.0;
}

static void write_scenarios_json(FILE *f, const struct scns *x)
{
    if (!x->n)
        return;
    fprintf(f, ",\n  \"process_start_seconds\": %.4f,\n  \"scenarios\": [", x->wall_start);
    for (unsigned i = 0; i < x->n; i++) {
        const struct scn *s = &x->s[i];
        fprintf(f, "%s\n    {\"name\": \"%s\"", i ? "," : "", s->name);
        if (s->skipped) {
            fprintf(f, ", \"skipped\": \"%s\"}", s->skipped);
            continue;
        }
        fprintf(f,
                ", \"records\": %" PRIu64 ", \"run_total_seconds\": %.4f, "
                "\"replay_total_seconds\": %.4f, \"replay_play_seconds\": %.4f, "
                "\"replay_speedup_total\": %.2f, \"run_process_seconds\": %.4f, "
                "\"replay_process_seconds\": %.4f, \"replay_speedup_process\": %.2f}",
                s->records, s->vs.run.total_seconds, s->vs.replay.total_seconds,
                s->vs.replay.seconds, speedup(&s->vs), s->wall_run, s->wall_replay,
                ratio(s->wall_run, s->wall_replay));
    }
    fprintf(f, "\n  ]");
}

static void write_json(FILE *f, const struct measured *x)
{
    fprintf(f,
            "{\n  \"point\": \"abi-scaling domains sweep, %u frontends, fifo\",\n"
            "  \"run_seconds_plain\": %.4f,\n  \"run_seconds_recording\": %.4f,\n"
            "  \"recording_overhead\": %.4f,\n  \"recording_bytes\": %" PRIu64 ",\n"
            "  \"recording_records\": %" PRIu64 ",\n  \"read_seconds\": %.4f,\n"
            "  \"read_mb_per_s\": %.1f,\n  \"read_peak_rss_kb\": %ld,\n"
            "  \"half_read_peak_rss_kb\": %ld,\n  \"xenalyze_seconds\": %.4f,\n"
            "  \"speed_vs_xenalyze\": %.2f,\n  \"records_moved_later\": %" PRIu64 ",\n"
            "  \"most_moved_cycles\": %" PRIu64 ",\n  \"replay_seconds\": %.4f,\n"
            "  \"replay_steps\": %" PRIu64 ",\n  \"replay_speedup\": %.2f,\n"
            "  \"replay_simulated_cycles\": %" PRIu64 ",\n"
            "  \"run_simulated_cycles\": %" PRIu64 ",\n",
            x->fronts, x->plain.run_seconds, x->rec.run_seconds, x->overhead, x->read.bytes,
            x->read.records, x->read.seconds, (double)x->read.bytes / 1e6 / x->read.seconds,
            x->read_rss_kb, x->half_rss_kb, x->xenalyze_seconds,
            x->xenalyze_seconds > 0 ? x->xenalyze_seconds / x->read.seconds : 0.0,
            x->rec.written.clamped, x->rec.written.max_shift, x->replay.seconds, x->replay.steps,
            x->plain.run_seconds / x->replay.seconds, x->replay.sim_cycles, x->plain.sim_cycles);
    write_versus_json(f, "  ", &x->vs);
    fprintf(f,
            ",\n  \"event_dense\": {\n    \"point\": \"pingpong, %u rounds\",\n"
            "    \"recording_records\": %" PRIu64 ",\n    \"recording_bytes\": %" PRIu64 ",\n",
            x->dense.rounds, x->dense.rec.written.records, x->dense.rec.written.bytes);
    write_versus_json(f, "    ", &x->dense.vs);
    fprintf(f, "\n  }");
    const struct largest *l = &x->largest;
    if (l->rec.ok)
        fprintf(f,
                ",\n  \"largest\": {\n    \"point\": \"abi-scaling domains sweep, %u frontends, "
                "fifo\",\n    \"run_seconds_plain\": %.4f,\n    \"run_seconds_recording\": "
                "%.4f,\n    \"recording_overhead\": %.4f,\n    \"recording_records\": %" PRIu64
                ",\n    \"recording_bytes\": %" PRIu64 ",\n    \"replay_total_seconds\": %.4f,\n"
                "    \"replay_peak_rss_kb\": %ld\n  }",
                l->fronts, l->plain.run_seconds, l->rec.run_seconds,
                l->rec.run_seconds / l->plain.run_seconds - 1.0, l->rec.written.records,
                l->rec.written.bytes, l->replay.total_seconds, l->replay.peak_rss_kb);
    write_scenarios_json(f, &x->scn);
    fprintf(f, "\n}\n");
}

static void versus_row(FILE *f, const char *name, uint64_t records, const struct versus *vs)
{
    fprintf(f, "| %s | %" PRIu64 " | %.3f s | %.3f s (%.3f s) | %.2f times | %ld / %ld KiB |\n",
            name, records, vs->run.total_seconds, vs->replay.total_seconds, vs->replay.load_seconds,
            speedup(vs), vs->run.peak_rss_kb, vs->replay.peak_rss_kb);
}

static void write_doc(FILE *f, const struct measured *x, const struct trace_bench_opts *o)
{
    fprintf(f,
            "# Recording and reading traces: measured\n\n"
            "Generated by `evsim bench trace%s%s` (do not edit: run it again). "
            "[docs/traces.md](traces.md) describes the format and the commands.\n\n",
            o->quick ? " --quick" : "", o->xenalyze ? " --xenalyze PATH" : "");
    fprintf(f,
            "## The cost of `--record`\n\n"
            "The ABI study's point of %u frontends with four ports each to Dom0 (its domains "
            "sweep's largest that all three ABIs reach, FIFO ABI), simulated without and with "
            "`--record`, alternately in fresh processes, the best of each kept:\n\n"
            "| | host seconds of the run |\n|---|---|\n"
            "| without `--record` | %.3f |\n| with `--record` | %.3f |\n"
            "| cost of recording | %+.1f %% |\n\n"
            "The recording holds %" PRIu64 " records in %.1f MB. To keep each CPU's TSCs in "
            "order, %" PRIu64 " of them were written later than they happened, by at most %" PRIu64
            " cycles.\n\n",
            x->fronts, x->plain.run_seconds, x->rec.run_seconds, 100.0 * x->overhead,
            x->read.records, (double)x->read.bytes / 1e6, x->rec.written.clamped,
            x->rec.written.max_shift);
    const struct largest *l = &x->largest;
    if (l->rec.ok)
        fprintf(f,
                "The study's largest point, %u frontends (%u Dom0 ports), once without and once "
                "with `--record`: %.1f s and %.1f s (%+.1f %%), a recording of %" PRIu64
                " records in %.0f MB, which `evsim replay` plays in %.1f s end to end (peak "
                "memory %.1f GiB).\n\n",
                l->fronts, 4 * l->fronts, l->plain.run_seconds, l->rec.run_seconds,
                100.0 * (l->rec.run_seconds / l->plain.run_seconds - 1.0), l->rec.written.records,
                (double)l->rec.written.bytes / 1e6, l->replay.total_seconds,
                (double)l->replay.peak_rss_kb / (1024.0 * 1024.0));
    fprintf(f,
            "## Reading\n\n"
            "`evsim trace summary` on that recording (reader, merge by TSC and summary): "
            "%.3f s, %.0f MB/s, %.1f million records/s, peak memory %ld KiB. The first half of "
            "the same file (read with `--allow-truncated`): peak memory %ld KiB%s.\n\n",
            x->read.seconds, (double)x->read.bytes / 1e6 / x->read.seconds,
            (double)x->read.records / 1e6 / x->read.seconds, x->read_rss_kb, x->half_rss_kb,
            x->half_rss_kb && x->read_rss_kb <= x->half_rss_kb + x->half_rss_kb / 10
                ? ": memory does not grow with the file"
                : "");
    if (x->xenalyze_seconds > 0)
        fprintf(f,
                "Xen's xenalyze (`xenalyze --summary --cpu-hz=%" PRIu64 "`) on the same file: "
                "%.3f s. evsim reads it %.1f times as fast.\n",
                x->hz, x->xenalyze_seconds, x->xenalyze_seconds / x->read.seconds);
    else
        fprintf(f, "xenalyze was not measured (`--xenalyze PATH` names one to compare).\n");
    fprintf(f,
            "\n## Replaying\n\n"
            "`evsim replay` of that recording under its own configuration: %.3f s of host time "
            "for playing it (%" PRIu64 " recorded steps played), %.1f times as fast as running "
            "the guests (%.3f s above). Simulated time: %" PRIu64 " cycles replayed, %" PRIu64
            " run.\n\n",
            x->replay.seconds, x->replay.steps, x->plain.run_seconds / x->replay.seconds,
            x->plain.run_seconds, x->replay.sim_cycles, x->plain.sim_cycles);
    fprintf(f, "End to end (what `evsim replay` and `evsim run` spend once the process has "
               "started: a replay reads and sorts out the recording, builds the machine and plays; "
               "a run builds the machine and runs the guests), the best of each, with the "
               "process's peak memory, and again on a recording of many events with little guest "
               "code between them (two pingpong domains, the case where replay gains least):\n\n"
               "| recording | records | run | replay (of which reading) | replay as fast as run "
               "| peak memory, run / replay |\n|---|---|---|---|---|---|\n");
    versus_row(f, "the ABI study's point above", x->read.records, &x->vs);
    char name[64];
    snprintf(name, sizeof(name), "pingpong, %u rounds", x->dense.rounds);
    versus_row(f, name, x->dense.rec.written.records, &x->dense.vs);
    fprintf(f,
            "\nA replay does the model's work again (every hypercall, every access to a shared "
            "page, the scheduler, the timing) but runs no guest instruction: it gains as much as "
            "the guests computed between their events. Pingpong's guests compute almost nothing, "
            "so its run is nearly all model work, which its replay repeats, on top of reading "
            "the recording.\n");
}

static void write_scenarios_doc(FILE *f, const struct scns *x, const char *dir)
{
    unsigned n = 0, fast = 0, fast_process = 0;
    if (!x->n)
        return;
    fprintf(f,
            "\n## Replay against run, scenario by scenario\n\n"
            "Every scenario of `%s`: recorded, then run and replayed under the recorded "
            "configuration, alternately, the best of each; once the process has started (as "
            "above), and as whole `evsim run FILE --no-report` and `evsim replay REC "
            "--no-report` processes, which also pay for starting: %.1f ms for a process that "
            "only starts and exits (`evsim --version`), then for loading the SystemC kernel and "
            "the C++ runtime when they first simulate; a run loads Unicorn and Capstone too, "
            "when it first needs them.\n\n"
            "| scenario | records | run | replay (playing) | as fast | run process | replay "
            "process | as fast |\n|---|---|---|---|---|---|---|---|\n",
            dir, 1e3 * x->wall_start);
    for (unsigned i = 0; i < x->n; i++) {
        const struct scn *s = &x->s[i];
        if (s->skipped) {
            fprintf(f, "| %s | not measured: %s | | | | | | |\n", s->name, s->skipped);
            continue;
        }
        n++;
        fast += speedup(&s->vs) >= 10.0;
        fast_process += ratio(s->wall_run, s->wall_replay) >= 10.0;
        fprintf(f,
                "| %s | %" PRIu64 " | %.1f ms | %.1f ms (%.1f ms) | %.1f times | %.1f ms | "
                "%.1f ms | %.1f times |\n",
                s->name, s->records, 1e3 * s->vs.run.total_seconds,
                1e3 * s->vs.replay.total_seconds, 1e3 * s->vs.replay.seconds, speedup(&s->vs),
                1e3 * s->wall_run, 1e3 * s->wall_replay, ratio(s->wall_run, s->wall_replay));
    }
    fprintf(f,
            "\nOnce the process has started, replay is at least 10 times as fast as the run on "
            "%u of the %u scenarios measured; as whole processes, on %u. What it saves is the "
            "run's engines, the guests' images and their annotation, and the guests' "
            "instructions; what it repeats is the model's work per event, so the scenarios made "
            "of events (floods, many rounds) gain least.\n",
            fast, n, fast_process);
}

static int write_outputs(const struct trace_bench_opts *o, const struct measured *x)
{
    FILE *f = bench_open_out(WHO, o->out_dir, "results.json");

    if (!f)
        return 2;
    write_json(f, x);
    if (fclose(f) != 0)
        return 2;
    if (!o->doc)
        return 0;
    if (!(f = fopen(o->doc, "w"))) {
        fprintf(stderr, "evsim: " WHO ": cannot write %s: %s\n", o->doc, strerror(errno));
        return 2;
    }
    write_doc(f, x, o);
    write_scenarios_doc(f, &x->scn, o->scenarios_shown ? o->scenarios_shown : o->scenarios);
    return fclose(f) == 0 ? 0 : 2;
}

int trace_bench_run(const struct trace_bench_opts *o)
{
    char path[4096], half[4096], dense[4096], large[4096];
    struct measured x = {0};
    struct scenario *sc = calloc(1, sizeof(*sc));
    struct diag d;
    int rc;

    if (!sc)
        return 2;
    if (bench_make_dir(o->out_dir) < 0) {
        fprintf(stderr, "evsim: " WHO ": cannot create %s: %s\n", o->out_dir, strerror(errno));
        free(sc);
        return 2;
    }
    snprintf(path, sizeof(path), "%s/abi-point.xt", o->out_dir);
    snprintf(half, sizeof(half), "%s/abi-point-half.xt", o->out_dir);
    snprintf(dense, sizeof(dense), "%s/pingpong.xt", o->out_dir);
    snprintf(large, sizeof(large), "%s/largest.xt", o->out_dir);
    rc = abi_bench_largest_scenario(sc, o->quick, &d);
    x.largest.fronts = sc->nr_dom ? sc->nr_dom - 1 : 0;
    if (rc == 0) {
        memset(sc, 0, sizeof(*sc));
        rc = abi_bench_trace_scenario(sc, o->quick, &d);
        x.fronts = sc->nr_dom ? sc->nr_dom - 1 : 0;
    }
    free(sc);
    if (rc < 0) {
        fprintf(stderr, "evsim: " WHO ": %s\n", d.msg);
        return 2;
    }
    rc = measure_recording(o, path, &x);
    if (!rc)
        measure_reading(o, path, half, &x);
    if (!rc && x.read.ok)
        rc = measure_dense(o, dense, &x.dense);
    /* the recordings are scratch, whatever happened: the results say what they held */
    remove_scratch(path);
    remove_scratch(half);
    remove_scratch(dense);
    if (!rc && x.read.ok)
        rc = measure_largest(o, large, &x.largest);
    remove_scratch(large);
    if (!rc && x.read.ok)
        rc = measure_scenarios(o, dense, &x.scn);
    if (rc < 0)
        return o->interrupt && *o->interrupt ? 128 + *o->interrupt : 1;
    if (!x.read.ok) {
        fprintf(stderr, "evsim: " WHO ": the recording could not be read back\n");
        return 1;
    }
    return write_outputs(o, &x);
}
