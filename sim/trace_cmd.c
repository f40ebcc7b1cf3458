/* evsim trace: summary and dump of xentrace recordings (Xen's own, or evsim's --record).
 *
 * A bad file is found before anything is printed: xt_open checks every window header, and the
 * dump reads the whole file once before it prints (the summary prints only at the end anyway).
 * Exit status 2 with the file and byte offset for a bad file or flag. */
#include "sim/trace_cmd.h"

#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "traces/chrome.h"
#include "traces/dump.h"
#include "traces/json_out.h"
#include "traces/summary.h"
#include "traces/xentrace.h"

#define EXIT_BAD_INPUT 2

static const char usage_trace[] =
    "Usage: evsim trace summary FILE [--cpu-hz HZ] [--allow-truncated] [--sample-size N]\n"
    "                                [--json OUT.json]\n"
    "       evsim trace dump FILE [--cpu-hz HZ] [--allow-truncated]\n"
    "       evsim trace export FILE --chrome OUT.json [--cpu-hz HZ] [--allow-truncated]\n"
    "\n"
    "Read a xentrace recording: one written by Xen's xentrace on a real host, or by\n"
    "`evsim run --record FILE` (docs/traces.md).\n"
    "\n"
    "  summary   a xenalyze-style summary: per domain and vcpu the runstate times, per\n"
    "            vcpu the cpu affinity, HVM exit reasons with count, time and cycle\n"
    "            percentiles, hypercalls by number, injected vectors, I/O port and MMIO\n"
    "            address summaries; per CPU the log volume by class, lost and\n"
    "            out-of-order records. The counts are xenalyze's: lost records, and\n"
    "            accesses after their exit, as it takes them\n"
    "  dump      one decoded line per record, in global time order\n"
    "  export    a timeline in Chrome's trace-event format, which Perfetto's UI\n"
    "            (ui.perfetto.dev) and chrome://tracing open: a track per physical CPU and\n"
    "            per vcpu (runstates; exits, upcalls, ioreqs), arrows from each send to the\n"
    "            upcall that delivers it\n"
    "\n"
    "Options:\n"
    "  --cpu-hz HZ        the TSC frequency (2.4e9, 2400000000 or 2.4GHz). xentrace files do\n"
    "                     not say; the default is xenalyze's 2.4 GHz. evsim's recordings carry\n"
    "                     theirs, used unless this is given\n"
    "  --allow-truncated  read a file whose last window is cut short up to its last whole\n"
    "                     record (without it such a file is an error)\n"
    "  --chrome OUT.json  export: where the timeline goes (written whole or not at all)\n"
    "  --json OUT.json    summary: the same figures as JSON too (written whole or not at all)\n"
    "  --sample-size N    samples kept per percentile (default 4096; beyond that a fixed-seed\n"
    "                     reservoir)\n"
    "\n"
    "Exit status: 0, or 2 for a bad file or option (with the byte offset; nothing printed).\n";

struct trace_opts {
    const char *mode, *file, *chrome, *json;
    uint64_t cpu_hz;
    uint32_t sample_size;
    bool allow_truncated;
};

static int bad(const char *fmt, const char *a, const char *b)
{
    fprintf(stderr, "evsim: trace: ");
    fprintf(stderr, fmt, a, b);
    fprintf(stderr, "\n");
    return EXIT_BAD_INPUT;
}

bool trace_parse_hz(const char *s, uint64_t *out)
{
    char *end;
    double v;

    errno = 0;
    v = strtod(s, &end);
    if (errno || end == s || !(v > 0))
        return false;
    if (!strcmp(end, "GHz") || !strcmp(end, "ghz"))
        v *= 1e9;
    else if (!strcmp(end, "MHz") || !strcmp(end, "mhz"))
        v *= 1e6;
    else if (*end && strcmp(end, "Hz"))
        return false;
    if (v < 1e6 || v > 1e11)
        return false;
    *out = (uint64_t)llround(v);
    return xt_cpu_hz_plausible(*out);
}

static int parse_trace_args(int argc, char **argv, struct trace_opts *o)
{
    static const struct option options[] = {
        {"cpu-hz", required_argument, NULL, 'z'},
        {"allow-truncated", no_argument, NULL, 't'},
        {"sample-size", required_argument, NULL, 's'},
        {"chrome", required_argument, NULL, 'c'},
        {"json", required_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;

    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        char *end;
        unsigned long n;

        switch (c) {
        case 'z':
            if (!trace_parse_hz(optarg, &o->cpu_hz))
                return bad("--cpu-hz %s: expected a frequency from 1 MHz to 100 GHz, as "
                           "2400000000, 2.4e9 or 2.4GHz%s",
                           optarg, "");
            break;
        case 't':
            o->allow_truncated = true;
            break;
        case 'c':
            o->chrome = optarg;
            break;
        case 'j':
            o->json = optarg;
            break;
        case 's':
            errno = 0;
            n = strtoul(optarg, &end, 10);
            if (errno || *end || n < 1 || n > (1ul << 24))
                return bad("--sample-size %s: expected a number from 1 to 16777216%s", optarg, "");
            o->sample_size = (uint32_t)n;
            break;
        case 'h':
            fputs(usage_trace, stdout);
            return 1;
        default:
            return bad("unknown or incomplete option '%s' (see evsim trace --help)%s",
                       argv[optind - 1], "");
        }
    }
    if (optind != argc - 1)
        return bad("expected one FILE (see evsim trace --help)%s%s", "", "");
    o->file = argv[optind];
    if (!strcmp(o->mode, "export") && !o->chrome)
        return bad("export: --chrome OUT.json is needed (see evsim trace --help)%s%s", "", "");
    return 0;
}

static int file_error(const char *file, const struct xt_error *err)
{
    fprintf(stderr, "evsim: trace: %s: %s\n", file, err->msg);
    return EXIT_BAD_INPUT;
}

/* Reads the whole recording through fn(rec, ctx); 0, or the exit status of a bad file. The
 * summary takes lost records twice, as xenalyze does (xt_options.lost_twice). */
static int read_all(const struct trace_opts *o, bool lost_twice,
                    void (*fn)(const struct xt_rec *, void *), void *ctx,
                    struct xt_stats *stats_out)
{
    struct xt_source src;
    struct xt_options xo = {.allow_truncated = o->allow_truncated, .lost_twice = lost_twice};
    struct xt_reader *r;
    struct xt_error err;
    struct xt_rec rec;
    int got, rc = 0;

    if (xt_source_file(&src, o->file, &err) < 0)
        return file_error(o->file, &err);
    if (xt_open(&r, &src, &xo, &err) < 0) {
        xt_source_file_close(&src);
        return file_error(o->file, &err);
    }
    while ((got = xt_next(r, &rec, &err)) > 0)
        if (fn)
            fn(&rec, ctx);
    if (got < 0)
        rc = file_error(o->file, &err);
    if (stats_out) {
        const struct xt_stats *st = xt_stats(r);

        *stats_out = *st;
        stats_out->cpu = malloc(st->nr_cpus * sizeof(*st->cpu) + 1);
        if (stats_out->cpu)
            memcpy(stats_out->cpu, st->cpu, st->nr_cpus * sizeof(*st->cpu));
        else
            stats_out->nr_cpus = 0;
    }
    xt_close(r);
    xt_source_file_close(&src);
    return rc;
}

/* Writes o (and drops it) to path, whole or not at all. */
static int write_json_whole(const char *path, struct json_object *o)
{
    int rc = xt_json_write(path, o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED);

    json_object_put(o);
    return rc;
}

static void summary_add(const struct xt_rec *rec, void *ctx)
{
    xt_summary_add(ctx, rec);
}

static int trace_summary(const struct trace_opts *o)
{
    struct xt_summary_options so = {.cpu_hz = o->cpu_hz, .sample_cap = o->sample_size};
    struct xt_summary s;
    struct xt_stats st = {0};
    int rc;

    if (xt_summary_init(&s, &so) < 0)
        return bad("out of memory%s%s", "", "");
    rc = read_all(o, true, summary_add, &s, &st);
    xt_summary_finish(&s);
    if (!rc && s.oom)
        rc = bad("%s: out of memory while summarising%s", o->file, "");
    /* the JSON file first: if it cannot be written, nothing is printed either */
    if (!rc && o->json && write_json_whole(o->json, xt_summary_json(&s, &st)) < 0)
        rc = bad("--json %s: cannot write: %s", o->json, strerror(errno));
    if (!rc)
        xt_summary_print(stdout, &s, &st);
    free(st.cpu);
    xt_summary_free(&s);
    return rc;
}

struct dump_ctx {
    uint64_t base_tsc, cpu_hz;
    bool started;
};

static void first_pass(const struct xt_rec *rec, void *ctx)
{
    struct dump_ctx *d = ctx;

    if (!d->started && rec->has_tsc) {
        d->base_tsc = rec->tsc;
        d->started = true;
    }
    if (rec->event == TRC_EVSIM_CPU_HZ && rec->n >= 2 && !d->cpu_hz &&
        xt_cpu_hz_plausible(rec->d[0] | (uint64_t)rec->d[1] << 32))
        d->cpu_hz = rec->d[0] | (uint64_t)rec->d[1] << 32;
}

static void dump_one(const struct xt_rec *rec, void *ctx)
{
    struct dump_ctx *d = ctx;

    xt_dump_record(stdout, rec, d->base_tsc, d->cpu_hz);
}

static int trace_dump(const struct trace_opts *o)
{
    struct dump_ctx d = {0};
    int rc = read_all(o, false, first_pass, &d, NULL);

    if (rc)
        return rc;
    if (o->cpu_hz)
        d.cpu_hz = o->cpu_hz;
    else if (!d.cpu_hz)
        d.cpu_hz = XT_CPU_HZ_DEFAULT;
    return read_all(o, false, dump_one, &d, NULL);
}

static void chrome_add(const struct xt_rec *rec, void *ctx)
{
    xt_chrome_add(ctx, rec);
}

int trace_export_chrome(const char *recording, const char *out, uint64_t cpu_hz,
                        bool allow_truncated)
{
    struct trace_opts o = {.mode = "export",
                           .file = recording,
                           .chrome = out,
                           .cpu_hz = cpu_hz,
                           .allow_truncated = allow_truncated};
    struct xt_chrome *c = xt_chrome_new(cpu_hz);
    int rc;

    if (!c)
        return bad("out of memory%s%s", "", "");
    rc = read_all(&o, false, chrome_add, c, NULL);
    if (!rc && xt_chrome_write(c, out) < 0)
        rc = bad("--chrome %s: cannot write: %s", out, strerror(errno));
    xt_chrome_free(c);
    return rc;
}

int cmd_trace(int argc, char **argv)
{
    struct trace_opts o = {0};
    int rc;

    if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        fputs(usage_trace, argc < 2 ? stderr : stdout);
        return argc < 2 ? EXIT_BAD_INPUT : 0;
    }
    o.mode = argv[1];
    if (strcmp(o.mode, "summary") && strcmp(o.mode, "dump") && strcmp(o.mode, "export"))
        return bad("unknown mode '%s': summary, dump or export (see evsim trace --help)%s", o.mode,
                   "");
    rc = parse_trace_args(argc - 1, argv + 1, &o);
    if (rc)
        return rc == 1 ? 0 : rc;
    if (!strcmp(o.mode, "export"))
        return trace_export_chrome(o.file, o.chrome, o.cpu_hz, o.allow_truncated);
    return !strcmp(o.mode, "summary") ? trace_summary(&o) : trace_dump(&o);
}
