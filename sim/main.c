/* evsim: the command. Parses flags, builds the machine from a scenario, runs it, reports.
 * Exit status: 0 normal end, 1 a domain crashed, 2 bad input (nothing written). */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sim/aot.h"
#include "sim/engine_check.h"
#include "sim/lab.h"
#include "sim/loader.h"
#include "sim/machine.h"
#include "sim/plot.h"
#include "sim/profile.h"
#include "sim/quiz.h"
#include "sim/record.h"
#include "sim/replay.h"
#include "sim/report.h"
#include "sim/scenario.h"
#include "sim/abi_bench.h"
#include "sim/bench_util.h"
#include "sim/ioreq_bench.h"
#include "sim/trace_bench.h"
#include "sim/teach.h"
#include "sim/trace_cmd.h"
#include "sim/validate.h"

#ifndef EVSIM_VERSION
#define EVSIM_VERSION "0.0.0"
#endif
#ifndef EVSIM_BUILD_GUEST_DIR
#define EVSIM_BUILD_GUEST_DIR ""
#endif

#define EXIT_BAD_INPUT 2

static const char usage_main[] =
    "Usage: evsim COMMAND [OPTIONS]\n"
    "\n"
    "evsim simulates the event paths of the Xen hypervisor: real x86-64 guest programs run\n"
    "under Unicorn and make Xen hypercalls that a C model of Xen answers, with time kept by\n"
    "SystemC.\n"
    "\n"
    "Commands:\n"
    "  run [SCENARIO]   run a scenario file, or the embedded default scenario without one\n"
    "  annotate ELF     print a guest's blocks with their instructions and cycle costs\n"
    "                   (--cpu NAME picks the profile)\n"
    "  validate         the model's predictions next to the published figures\n"
    "                   (--markdown: as in docs/validation.md)\n"
    "  bench abi-scaling  the 2-level, 3-level and FIFO ABIs compared as ports, vcpus and\n"
    "                   domains grow, with plots and docs/abi-scaling.md (--quick: small)\n"
    "  bench trace      what --record costs, and how fast recordings are read\n"
    "  bench ioreq      the device-model round trip compared where and how the device model\n"
    "                   runs, with plots and docs/ioreq.md's study (--quick: small)\n"
    "  trace summary FILE  a xenalyze-style summary of a xentrace recording (Xen's or\n"
    "                   evsim's); `trace dump FILE` prints one line per record\n"
    "  replay FILE      re-time a recording of `run --record` without running guest code,\n"
    "                   under its configuration or another (--cpu, --pcpus, --sockets, --pin,\n"
    "                   --abi)\n"
    "  quiz             predict, then reveal: a seeded script of event-channel operations\n"
    "                   and questions on it (--answers: computed by the model)\n"
    "  profiles         list the CPU profiles and where their figures come from\n"
    "                   (`evsim profiles NAME` prints one in full)\n"
    "  scenario         print the embedded default scenario (a template for your own)\n"
    "  dm-cc ARGS...    build a device model written against Xen's libraries to run under\n"
    "                   evsim (docs/emulators.md)\n"
    "  lab list|show N|check N [FILE]  the lab course on event channels: build a student's\n"
    "                   guest and grade it on seeded scenarios (docs/labs/README.md)\n"
    "  guest build FILE.c -o OUT.elf  build a guest program with evsim's runtime and\n"
    "                   linker script (no CMake needed), to run with --guest\n"
    "  engine           the Unicorn library in use and its capability check (paging, fast\n"
    "                   guest stores, RDTSC and syscall hooks); run, validate and bench\n"
    "                   refuse to start on a library that fails it\n"
    "  help             this text; `evsim run --help` documents the run options\n"
    "\n"
    "Options:\n"
    "  -h, --help       this text\n"
    "  -V, --version    print the version\n"
    "\n"
    "Exit status: 0 the run ended normally, 1 a domain crashed, 2 bad input or a Unicorn\n"
    "library evsim cannot run on.\n"
    "See README.md and docs/ for scenarios, guests and the report.\n";

static const char usage_run[] =
    "Usage: evsim run [SCENARIO] [OPTIONS]\n"
    "       evsim run --guest ELF [--guest ELF ...] [OPTIONS]\n"
    "\n"
    "Runs SCENARIO (an INI file: see docs/scenarios.md), or the embedded default scenario when\n"
    "none is given (print it with `evsim scenario`). Guest console lines are printed as they\n"
    "happen, prefixed d<domid>v<vcpu>; the report follows.\n"
    "\n"
    "Options:\n"
    "  --guest ELF        run ELF as the next domain instead of a scenario (repeatable; the\n"
    "                     first is domain 0 and privileged). A bare NAME runs guests/NAME.\n"
    "  --cmdline STR      the command line of the --guest just before it (start_info.cmd_line;\n"
    "                     evsim puts domid=N and seed=S in front of it)\n"
    "  --vcpus N          vcpus of the --guest just before it (1-64, default 1)\n"
    "  --abi NAME         event-channel ABI of every domain: 2l, 3l or fifo (overrides the\n"
    "                     scenario's abi keys; the guests set it up at boot)\n"
    "  --cpu NAME         cost profile: a name from `evsim profiles`, or a profile file\n"
    "                     (overrides the scenario's cpu; default " PROFILE_DEFAULT ")\n"
    "  --json FILE        also write the report as JSON to FILE (written whole or not at all)\n"
    "  --record FILE      record the run in xentrace's format: the records Xen would write\n"
    "                     and evsim's event-channel and ioreq records (docs/traces.md); read it\n"
    "                     with `evsim trace summary` or Xen's xenalyze, re-time it with\n"
    "                     `evsim replay`\n"
    "  --timeline FILE    the run as a timeline in Chrome's trace-event JSON, for Perfetto's\n"
    "                     UI or chrome://tracing (as `evsim trace export --chrome`)\n"
    "  --plot DIR         draw the latency CDF and the stage breakdown per channel, and per\n"
    "                     ioreq server the round trip's distribution and stages, with\n"
    "                     gnuplot into DIR (PNG and SVG, with their data and script)\n"
    "  --pcpus N          physical CPUs (overrides the scenario; default 1 with --guest)\n"
    "  --sockets S        sockets the physical CPUs are split into (overrides the scenario)\n"
    "  --pin DOM=CPU[,DOM=CPU...]  vcpu 0 of domain DOM (its name or number) on CPU, its\n"
    "                     other vcpus on the CPUs after it (overrides the scenario's pin)\n"
    "  --seed N           seed (overrides the scenario; guests get a per-domain seed from it)\n"
    "  --run-ms N         stop after N ms of simulated time (overrides the scenario)\n"
    "  --quantum-ns N     accepted for old command lines; no effect (cross-CPU effects are\n"
    "                     timed exactly: docs/timing.md)\n"
    "  --guest-dir DIR    where guest programs named without a path are found\n"
    "                     (default: $EVSIM_GUEST_DIR, else the build's guests/ directory)\n"
    "  --no-report        print the guest console only, no text report\n"
    "  --progress         show progress on stderr (default: only when stderr is a terminal)\n"
    "  --no-progress      never show progress\n"
    "\n"
    "Teaching (docs/teaching.md):\n"
    "  --explain          narrate every step of every event path as it happens: the Xen (or\n"
    "                     guest) function that takes it, the time in cycles and us, and the\n"
    "                     shared state it changed, before -> after (pending and mask bits,\n"
    "                     selectors, upcall_pending/upcall_mask, FIFO event words and HEADs)\n"
    "  --domain D         narrate only paths that touch domain D\n"
    "  --port P           narrate only the paths of port P (of domain D with --domain)\n"
    "  --from T           narrate from time T on: 250us, 3ms, 1s, 120000c (cycles); ns bare\n"
    "  --limit N          narrate at most N steps\n"
    "  --explain-json FILE  the narration as JSON (format evsim-explain/1), with the state at\n"
    "                     its start and each step's changes\n"
    "  --html FILE        one self-contained page that steps through the narration: bitmaps,\n"
    "                     selectors, FIFO queues, a timeline of every vcpu (open it in a\n"
    "                     browser; no server, no network)\n"
    "  --dump-at T        print Xen's 'e' debug key (every domain's port table, FIFO queues,\n"
    "                     3-level selectors) at time T, or at the end with 'end'; repeatable\n"
    "  -h, --help         this text\n"
    "\n"
    "Exit status: 0 every domain powered off or the run length ended; 1 a domain crashed or\n"
    "shut down with SHUTDOWN_crash; 2 bad input (a message names the file and line or offset,\n"
    "and nothing is written); 130 or 143 the run was stopped by SIGINT (Ctrl-C) or SIGTERM:\n"
    "the report, and --json marked \"partial\", cover the run so far.\n";

struct run_opts {
    const char *scenario_path;
    const char *replay_path;   /* evsim replay: the recording ... */
    struct sim_replay *replay; /* ... as read */
    long long sockets;
    const char *pin;
    const char *json_path;
    const char *guest_dir;
    const char *cpu;
    const char *plot_dir;
    const char *record_path;
    const char *timeline_path;
    int abi; /* -1: as the scenario says */
    const char *guests[SCENARIO_MAX_DOMAINS];
    const char *cmdlines[SCENARIO_MAX_DOMAINS];
    unsigned vcpus[SCENARIO_MAX_DOMAINS]; /* 0: the default */
    unsigned nr_guests;
    long long pcpus, seed, run_ms, quantum_ns; /* -1 = not given */
    bool report, progress;
    struct teach_opts teach; /* --explain, --dump-at, --html and their filters */
};

static int bad_input(const char *fmt, const char *a, const char *b)
{
    fprintf(stderr, "evsim: ");
    fprintf(stderr, fmt, a, b);
    fprintf(stderr, "\n");
    return EXIT_BAD_INPUT;
}

static bool parse_count(const char *s, long long max, long long *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end || end == s || v < 0 || v > max)
        return false;
    *out = v;
    return true;
}

enum {
    OPT_GUEST = 256,
    OPT_CMDLINE,
    OPT_VCPUS,
    OPT_CPU,
    OPT_PLOT,
    OPT_JSON,
    OPT_PCPUS,
    OPT_SEED,
    OPT_RUN_MS,
    OPT_QUANTUM,
    OPT_GUEST_DIR,
    OPT_NO_REPORT,
    OPT_PROGRESS,
    OPT_NO_PROGRESS,
    OPT_ABI,
    OPT_RECORD,
    OPT_TIMELINE,
    OPT_SOCKETS,
    OPT_PIN,
    OPT_EXPLAIN,
    OPT_EXPLAIN_JSON,
    OPT_HTML,
    OPT_DOMAIN,
    OPT_PORT,
    OPT_FROM,
    OPT_LIMIT,
    OPT_DUMP_AT
};

static const struct option run_options[] = {
    {"guest", required_argument, NULL, OPT_GUEST},
    {"cmdline", required_argument, NULL, OPT_CMDLINE},
    {"vcpus", required_argument, NULL, OPT_VCPUS},
    {"cpu", required_argument, NULL, OPT_CPU},
    {"abi", required_argument, NULL, OPT_ABI},
    {"plot", required_argument, NULL, OPT_PLOT},
    {"record", required_argument, NULL, OPT_RECORD},
    {"timeline", required_argument, NULL, OPT_TIMELINE},
    {"json", required_argument, NULL, OPT_JSON},
    {"pcpus", required_argument, NULL, OPT_PCPUS},
    {"sockets", required_argument, NULL, OPT_SOCKETS},
    {"pin", required_argument, NULL, OPT_PIN},
    {"seed", required_argument, NULL, OPT_SEED},
    {"run-ms", required_argument, NULL, OPT_RUN_MS},
    {"quantum-ns", required_argument, NULL, OPT_QUANTUM},
    {"guest-dir", required_argument, NULL, OPT_GUEST_DIR},
    {"no-report", no_argument, NULL, OPT_NO_REPORT},
    {"progress", no_argument, NULL, OPT_PROGRESS},
    {"no-progress", no_argument, NULL, OPT_NO_PROGRESS},
    {"explain", no_argument, NULL, OPT_EXPLAIN},
    {"explain-json", required_argument, NULL, OPT_EXPLAIN_JSON},
    {"html", required_argument, NULL, OPT_HTML},
    {"domain", required_argument, NULL, OPT_DOMAIN},
    {"port", required_argument, NULL, OPT_PORT},
    {"from", required_argument, NULL, OPT_FROM},
    {"limit", required_argument, NULL, OPT_LIMIT},
    {"dump-at", required_argument, NULL, OPT_DUMP_AT},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static const char *option_name(int opt)
{
    for (const struct option *o = run_options; o->name; o++)
        if (o->val == opt)
            return o->name;
    return "?";
}

/* Options whose value names a file or a folder. */
static bool takes_file(int opt)
{
    static const int files[] = {OPT_GUEST,    OPT_JSON,         OPT_PLOT, OPT_RECORD,
                                OPT_TIMELINE, OPT_EXPLAIN_JSON, OPT_HTML, OPT_GUEST_DIR};
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
        if (files[i] == opt)
            return true;
    return false;
}

/* Numeric flags: where they go and their ranges. */
static long long *numeric_flag(struct run_opts *o, int opt, long long *max)
{
    switch (opt) {
    case OPT_PCPUS:
        return *max = 256, &o->pcpus;
    case OPT_SOCKETS:
        return *max = 256, &o->sockets;
    case OPT_SEED:
        return *max = LLONG_MAX, &o->seed;
    case OPT_RUN_MS:
        return *max = 3600000, &o->run_ms;
    case OPT_QUANTUM:
        return *max = 100000000, &o->quantum_ns;
    case OPT_DOMAIN:
        return *max = 4095, &o->teach.domain;
    case OPT_PORT:
        return *max = 262143, &o->teach.port;
    case OPT_LIMIT:
        return *max = LLONG_MAX, &o->teach.limit;
    default:
        return NULL;
    }
}

/* 0 to run, 1 help printed, or EXIT_BAD_INPUT. */
static int parse_run_args(int argc, char **argv, struct run_opts *o)
{
    *o = (struct run_opts){.abi = -1,
                           .pcpus = -1,
                           .sockets = -1,
                           .seed = -1,
                           .run_ms = -1,
                           .quantum_ns = -1,
                           .report = true,
                           .progress = isatty(STDERR_FILENO)};
    teach_opts_init(&o->teach);
    optind = 1;
    opterr = 0;
    int opt;
    while ((opt = getopt_long(argc, argv, "h", run_options, NULL)) != -1) {
        long long max = 0, *slot = numeric_flag(o, opt, &max);
        if (slot) {
            if (!parse_count(optarg, max, slot) ||
                ((opt == OPT_PCPUS || opt == OPT_SOCKETS) && *slot == 0) ||
                (opt == OPT_RUN_MS && *slot == 0) || (opt == OPT_QUANTUM && *slot < 100) ||
                (opt == OPT_LIMIT && *slot == 0))
                return bad_input("run: --%s %s: not a number in range (see evsim run --help)",
                                 option_name(opt), optarg);
            continue;
        }
        /* A file name that is an option: the user forgot the file ("--html --no-report"). */
        if (takes_file(opt) && optarg[0] == '-' && optarg[1] == '-')
            return bad_input("run: --%s needs a file or folder name, not the option %s",
                             option_name(opt), optarg);
        switch (opt) {
        case OPT_GUEST:
            if (o->nr_guests == SCENARIO_MAX_DOMAINS)
                return bad_input("run: more than %s --guest options%s", "1024", "");
            o->guests[o->nr_guests++] = optarg;
            break;
        case OPT_VCPUS: {
            long long n;
            if (!o->nr_guests || o->vcpus[o->nr_guests - 1] || !parse_count(optarg, 64, &n) ||
                n < 1)
                return bad_input("run: --vcpus %s must follow a --guest and be 1 to 64%s", optarg,
                                 "");
            o->vcpus[o->nr_guests - 1] = (unsigned)n;
            break;
        }
        case OPT_CMDLINE:
            if (!o->nr_guests || o->cmdlines[o->nr_guests - 1])
                return bad_input("run: --cmdline %s must follow a --guest (one each)%s", optarg,
                                 "");
            o->cmdlines[o->nr_guests - 1] = optarg;
            break;
        case OPT_JSON:
            o->json_path = optarg;
            break;
        case OPT_CPU:
            o->cpu = optarg;
            break;
        case OPT_ABI:
            o->abi = scenario_abi_parse(optarg);
            if (o->abi < 0)
                return bad_input("run: --abi %s: expected 2l, 3l or fifo%s", optarg, "");
            break;
        case OPT_PLOT:
            o->plot_dir = optarg;
            break;
        case OPT_RECORD:
            o->record_path = optarg;
            break;
        case OPT_TIMELINE:
            o->timeline_path = optarg;
            break;
        case OPT_PIN:
            o->pin = optarg;
            break;
        case OPT_EXPLAIN:
            o->teach.explain = true;
            break;
        case OPT_EXPLAIN_JSON:
            o->teach.explain_json = optarg;
            break;
        case OPT_HTML:
            o->teach.html = optarg;
            break;
        case OPT_FROM:
            if (teach_parse_time(optarg, &o->teach.from) < 0)
                return bad_input("run: --from %s: expected a time such as 250us, 3ms or 120000c "
                                 "(cycles); a bare number is ns%s",
                                 optarg, "");
            o->teach.from_given = true;
            break;
        case OPT_DUMP_AT: {
            struct diag d = {{0}};
            if (teach_add_dump(&o->teach, optarg, &d) < 0)
                return bad_input("%s%s", d.msg, "");
            break;
        }
        case OPT_GUEST_DIR:
            o->guest_dir = optarg;
            break;
        case OPT_NO_REPORT:
            o->report = false;
            break;
        case OPT_PROGRESS:
        case OPT_NO_PROGRESS:
            o->progress = opt == OPT_PROGRESS;
            break;
        case 'h':
            fputs(usage_run, stdout);
            return 1;
        default:
            return bad_input("run: unknown or incomplete option '%s' (see evsim run --help)%s",
                             argv[optind - 1], "");
        }
    }
    if (optind < argc)
        o->scenario_path = argv[optind++];
    if (optind < argc)
        return bad_input("run: unexpected argument '%s' (one scenario at most)%s", argv[optind],
                         "");
    if (o->scenario_path && o->nr_guests)
        return bad_input("run: give a scenario file or --guest options, not both%s%s", "", "");
    return 0;
}

/* The build's guests/ directory next to this executable, else where the build put them. */
static void default_guest_dir(char *out, size_t len)
{
    const char *env = getenv("EVSIM_GUEST_DIR");
    if (env && *env) {
        snprintf(out, len, "%s", env);
        return;
    }
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n > 0) {
        exe[n] = 0;
        char *slash = strrchr(exe, '/');
        static const char rel[] = "/../guests";
        size_t dir_len = slash ? (size_t)(slash - exe) : 0;
        if (slash && dir_len + sizeof(rel) <= len) {
            memcpy(out, exe, dir_len);
            memcpy(out + dir_len, rel, sizeof(rel));
            if (access(out, R_OK) == 0)
                return;
        }
    }
    snprintf(out, len, "%s", EVSIM_BUILD_GUEST_DIR);
}

/* --pin NAME=CPU[,NAME=CPU...]: vcpu 0 of domain NAME (its name or number) on CPU, the others
 * after it. */
static int apply_pins(struct scenario *sc, const char *spec, struct diag *d)
{
    char buf[4096];
    snprintf(buf, sizeof(buf), "%s", spec);
    for (char *save = NULL, *item = strtok_r(buf, ",", &save); item;
         item = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(item, '=');
        long long cpu;
        if (!eq || !parse_count(eq + 1, 255, &cpu))
            return diag_set(d, "--pin %s: expected DOMAIN=CPU[,DOMAIN=CPU...]", spec);
        *eq = 0;
        unsigned i = 0;
        while (i < sc->nr_dom && strcmp(sc->dom[i].name, item))
            i++;
        char *end;
        unsigned long n = strtoul(item, &end, 10);
        if (i == sc->nr_dom && *item && !*end && n < sc->nr_dom)
            i = (unsigned)n;
        if (i == sc->nr_dom)
            return diag_set(d, "--pin %s: no domain named or numbered '%s'", spec, item);
        sc->dom[i].pin = (int)cpu;
    }
    return 0;
}

static int load_scenario(const struct run_opts *o, struct scenario *sc, struct diag *d)
{
    if (o->replay) {
        char name[PATH_MAX + 32];
        snprintf(name, sizeof(name), "%s (%s)", o->replay_path,
                 replay_is_real(o->replay) ? "its machine, inferred" : "its scenario");
        if (scenario_load_string(sc, name, replay_scenario_text(o->replay), d) < 0)
            return -1;
    } else if (o->nr_guests) {
        scenario_defaults(sc);
        snprintf(sc->source, sizeof(sc->source), "--guest");
        for (unsigned i = 0; i < o->nr_guests; i++) {
            if (scenario_add_guest(sc, o->guests[i], o->cmdlines[i], d) < 0)
                return -1;
            if (o->vcpus[i])
                sc->dom[i].vcpus = o->vcpus[i];
        }
    } else if (o->scenario_path) {
        if (scenario_load_file(sc, o->scenario_path, d) < 0)
            return -1;
    } else if (scenario_load_string(sc, "<default>", scenario_default_text, d) < 0) {
        return -1;
    }
    if (o->pcpus > 0)
        sc->pcpus = (unsigned)o->pcpus;
    if (o->sockets > 0)
        sc->sockets = (unsigned)o->sockets;
    if (o->pin && apply_pins(sc, o->pin, d) < 0)
        return -1;
    if (o->seed >= 0)
        sc->seed = (uint64_t)o->seed;
    if (o->run_ms > 0)
        sc->run_ns = (uint64_t)o->run_ms * 1000000u;
    if (o->quantum_ns > 0)
        sc->quantum_ns = (uint64_t)o->quantum_ns;
    if (o->abi >= 0)
        for (unsigned i = 0; i < sc->nr_dom; i++)
            sc->dom[i].abi = (enum scenario_abi)o->abi;
    if (o->cpu) {
        snprintf(sc->cpu, sizeof(sc->cpu), "%s", o->cpu);
        sc->cpu_line = 0;
    }
    return scenario_check_machine(sc, d);
}

/* The files written at the end (--json, --timeline) are checked for writability before the
 * run, so a long run does not end in an error; each is written whole at the end. */
static int check_output_path(const char *flag, const char *path, struct diag *d)
{
    struct stat st;
    if (stat(path, &st) == 0) {
        if (S_ISDIR(st.st_mode) || access(path, W_OK) != 0)
            return diag_set(d, "--%s %s: cannot write: %s", flag, path,
                            S_ISDIR(st.st_mode) ? "it is a directory" : strerror(errno));
        return 0; /* replaced whole at the end */
    }
    FILE *f = fopen(path, "w");
    if (!f)
        return diag_set(d, "--%s %s: cannot write: %s", flag, path, strerror(errno));
    fclose(f);
    unlink(path); /* created only to check: nothing is left behind before the run ends */
    return 0;
}

/* Every file or directory the run writes at its end can be written: 0, or -1 with d. */
static int check_outputs(const struct run_opts *o, struct diag *d)
{
    if ((o->json_path && check_output_path("json", o->json_path, d) < 0) ||
        (o->timeline_path && check_output_path("timeline", o->timeline_path, d) < 0) ||
        (o->teach.explain_json &&
         check_output_path("explain-json", o->teach.explain_json, d) < 0) ||
        (o->teach.html && check_output_path("html", o->teach.html, d) < 0) ||
        teach_check(&o->teach, d) < 0 || (o->plot_dir && plot_check_dir(o->plot_dir, d) < 0))
        return -1;
    return 0;
}

/* The one piece of global state: a signal handler can reach nothing else. It only records the
 * signal; the machine polls it between slices and ends the run there. */
static volatile sig_atomic_t stop_signal;

static void on_stop_signal(int sig)
{
    stop_signal = sig;
}

/* SIGINT and SIGTERM stop the run cleanly (partial report, --json marked partial); a second one
 * kills as usual. */
static void catch_stop_signals(bool on)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on ? on_stop_signal : SIG_DFL;
    sa.sa_flags = on ? SA_RESETHAND : 0;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

static int run_machine(const struct run_opts *o, const struct scenario *sc, const char *guest_dir)
{
    struct diag d = {{0}};
    struct machine *m = calloc(1, sizeof(*m));
    if (!m || machine_build_replay(m, sc, guest_dir, o->replay, stdout, &d) < 0) {
        if (m)
            machine_free(m);
        free(m);
        return bad_input("%s%s", m ? d.msg : "out of memory", "");
    }
    /* --timeline alone records to a scratch file of its own, exported at the end */
    char scratch[PATH_MAX];
    const char *rec_path = o->record_path;
    if (o->timeline_path && !rec_path) {
        const char *tmp = getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
        snprintf(scratch, sizeof(scratch), "%s/evsim-timeline-XXXXXX", tmp);
        int fd = mkstemp(scratch);
        if (fd < 0) {
            machine_free(m);
            free(m);
            return bad_input("run: --timeline: cannot create a scratch file in %s: %s", tmp,
                             strerror(errno));
        }
        close(fd);
        rec_path = scratch;
    }
    if (rec_path && (record_start(m, rec_path, &d) < 0 || record_scenario(m, &d) < 0)) {
        record_discard(m);
        if (!o->record_path && o->timeline_path)
            unlink(scratch);
        machine_free(m);
        free(m);
        return bad_input("run: %s%s", d.msg, "");
    }
    if (teach_start(m, &o->teach, &d) < 0) {
        teach_discard(m);
        record_discard(m);
        if (!o->record_path && o->timeline_path)
            unlink(scratch);
        machine_free(m);
        free(m);
        return bad_input("%s%s", d.msg, "");
    }
    m->progress = o->progress;
    m->interrupt = &stop_signal;
    machine_run(m);
    int teach_rc = teach_finish(m, &o->teach, &d) < 0 ? EXIT_BAD_INPUT : 0;
    if (teach_rc)
        fprintf(stderr, "evsim: %s\n", d.msg);
    if (record_finish(m, NULL, &d) < 0) {
        fprintf(stderr, "evsim: %s\n", d.msg);
        machine_free(m);
        free(m);
        return EXIT_BAD_INPUT;
    }
    int timeline_rc = 0;
    if (o->timeline_path) {
        timeline_rc = trace_export_chrome(rec_path, o->timeline_path, 0, false);
        if (!o->record_path)
            unlink(scratch);
    }
    /* Only for whoever reads it: with --no-report and no --json, a large run skips building it
     * (most of a replay's time on a run of thousands of domains). */
    struct json_object *report = o->report || o->json_path ? report_build(m) : NULL;
    int status = machine_exit_status(m);
    if (o->report)
        report_print_text(report, stdout);
    fflush(stdout);
    if (o->json_path && report_write_json(report, o->json_path, &d) < 0) {
        fprintf(stderr, "evsim: %s\n", d.msg);
        status = EXIT_BAD_INPUT;
    }
    if (o->plot_dir && plot_write(m, o->plot_dir, &d) < 0) {
        fprintf(stderr, "evsim: %s\n", d.msg);
        status = EXIT_BAD_INPUT;
    }
    json_object_put(report);
    machine_free(m);
    free(m);
    return timeline_rc ? timeline_rc : teach_rc ? teach_rc : status;
}

static int cmd_run(int argc, char **argv)
{
    struct run_opts o;
    int rc = parse_run_args(argc, argv, &o);
    if (rc)
        return rc == 1 ? 0 : rc;
    struct diag d = {{0}};
    char guest_dir[PATH_MAX];
    if (o.guest_dir)
        snprintf(guest_dir, sizeof(guest_dir), "%s", o.guest_dir);
    else
        default_guest_dir(guest_dir, sizeof(guest_dir));
    struct scenario *sc = calloc(1, sizeof(*sc)); /* large: keep it off the stack */
    if (!sc)
        return bad_input("out of memory%s%s", "", "");
    if (load_scenario(&o, sc, &d) < 0 || check_outputs(&o, &d) < 0)
        rc = bad_input("%s%s", d.msg, "");
    else
        rc = run_machine(&o, sc, guest_dir);
    free(sc);
    return rc;
}

static const char usage_replay[] =
    "Usage: evsim replay RECORDING [OPTIONS]\n"
    "\n"
    "Re-times a recording made by `evsim run --record` without running guest code: each\n"
    "vcpu's recorded compute between its actions becomes a delay of the same guest cycles,\n"
    "each recorded action (hypercalls, sends, binds, blocks, polls, accesses to the pages it\n"
    "shares with Xen, HVM port and MMIO accesses, which device models answer again) goes to\n"
    "the model again, and each step that followed a delivery waits for a delivery in the new\n"
    "timing. The report has the form of `evsim run`'s, plus what could not be replayed as\n"
    "recorded and why (docs/traces.md, \"Replay\").\n"
    "\n"
    "Options (as for evsim run; each changes the recorded run's configuration):\n"
    "  --cpu NAME         another cost profile (the guests' compute keeps its cycles)\n"
    "  --pcpus N          physical CPUs\n"
    "  --sockets S        sockets the physical CPUs are split into\n"
    "  --pin DOM=CPU[,DOM=CPU...]  place vcpu 0 of domain DOM (name or number) on CPU, its\n"
    "                     other vcpus after it\n"
    "  --abi NAME         another event-channel ABI: 2l, 3l or fifo (replay sets it up in its\n"
    "                     own pages and makes the guests' accesses to their ABI's pages on it)\n"
    "  --run-ms N         stop after N ms of simulated time\n"
    "  --cpu-hz HZ        a real host's recording: its TSC frequency (2.6GHz, 2.6e9; default\n"
    "                     xenalyze's 2.4 GHz)\n"
    "  --device-model PROGRAM  a real host's recording: a device model on the host (built\n"
    "                     with evsim dm-cc) serves the HVM domain's I/O instead of the\n"
    "                     recorded one\n"
    "  --device-model-args ARGS  its arguments (default: the first HVM domain's id in the\n"
    "                     replay's machine)\n"
    "  --allow-truncated  a real host's recording cut short: replay it up to its last whole\n"
    "                     record (the vcpus stop where their records stop)\n"
    "  --emulate-in-xen   a real host's recording: Xen answers the accesses the recorded\n"
    "                     device model answered (what if it were emulated in Xen)\n"
    "  --json FILE, --record FILE, --timeline FILE, --plot DIR, --no-report,\n"
    "  --progress, --no-progress   as for evsim run\n"
    "  -h, --help         this text\n"
    "\n"
    "A real host's xentrace recording (no evsim records in it) holds no event-channel step and no\n"
    "hypercall argument: replay infers the machine from it, replays each vcpu's guest time, its\n"
    "HVM port and MMIO accesses and its waits (woken at the recorded times). It infers event\n"
    "channels from the wakes: a vcpu's event_channel_op followed on its CPU by another vcpu's\n"
    "wake is a send on a channel the replay makes, and the receiver waits for it; a device model\n"
    "answering an HVM domain (Xen waking its vcpu at an exit, its send waking the HVM vcpu)\n"
    "becomes an ioreq server of its domain with its event channels, which answers after its\n"
    "recorded handling time. Each I/O address's time is compared with the recording's\n"
    "(docs/traces.md, \"Replaying a real host's recording\").\n"
    "\n"
    "Exit status: as evsim run's; 2 also for a file that is not a recording evsim can replay\n"
    "(the message names the byte offset).\n";

static bool asks_for_help(int argc, char **argv);

/* Each domain's ABI, as recorded and as replayed (--abi may change it): the replay needs both. 0,
 * or -1 with d. */
static int replay_abis(const struct run_opts *o, const struct scenario *sc, struct diag *d)
{
    if (o->abi < 0) /* as recorded: the scenario loaded once is both */
        return replay_set_abis(o->replay, sc, sc, d);
    struct run_opts plain = *o;
    struct scenario *rec = calloc(1, sizeof(*rec));
    plain.abi = -1;
    if (!rec)
        return diag_set(d, "out of memory");
    int rc = load_scenario(&plain, rec, d);
    if (rc == 0)
        rc = replay_set_abis(o->replay, rec, sc, d);
    free(rec);
    return rc;
}

/* Replay's own option NAME at argv[*i] ("NAME VALUE" or "NAME=VALUE"): its value (*i moved
 * past it), or NULL. */
static const char *replay_own_option(int argc, char **argv, int *i, const char *name)
{
    size_t n = strlen(name);
    if (!strcmp(argv[*i], name) && *i + 1 < argc)
        return argv[++*i];
    if (!strncmp(argv[*i], name, n) && argv[*i][n] == '=')
        return argv[*i] + n + 1;
    return NULL;
}

/* evsim replay RECORDING [OPTIONS] */
static int cmd_replay(int argc, char **argv)
{
    struct run_opts o;
    if (asks_for_help(argc, argv)) {
        fputs(usage_replay, stdout);
        return 0;
    }
    /* --cpu-hz is replay's own (a real host's recording does not say its TSC's frequency):
     * taken out before the run's options are parsed */
    uint64_t cpu_hz = 0;
    const char *dm = NULL, *dm_args = NULL;
    bool in_xen = false, allow_truncated = false;
    int kept = 0;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--emulate-in-xen")) {
            in_xen = true;
            continue;
        }
        if (!strcmp(argv[i], "--allow-truncated")) {
            allow_truncated = true;
            continue;
        }
        const char *hz = replay_own_option(argc, argv, &i, "--cpu-hz");
        const char *dm_opt = hz ? NULL : replay_own_option(argc, argv, &i, "--device-model");
        const char *args_opt =
            hz || dm_opt ? NULL : replay_own_option(argc, argv, &i, "--device-model-args");
        if (dm_opt)
            dm = dm_opt;
        else if (args_opt)
            dm_args = args_opt;
        else if (!hz)
            argv[kept++] = argv[i];
        else if (!trace_parse_hz(hz, &cpu_hz))
            return bad_input("replay: --cpu-hz %s: expected a frequency from 1 MHz to 100 GHz, "
                             "as 2400000000, 2.4e9 or 2.4GHz%s",
                             hz, "");
    }
    argc = kept;
    int rc = parse_run_args(argc, argv, &o);
    if (rc)
        return rc == 1 ? 0 : rc;
    if (!o.scenario_path)
        return bad_input("replay: which recording? (evsim replay RECORDING [OPTIONS])%s%s", "", "");
    if (o.nr_guests || o.guest_dir || o.seed >= 0)
        return bad_input("replay: --guest, --cmdline, --vcpus, --guest-dir and --seed name what "
                         "the guests run: a replay has the recorded run's%s%s",
                         "", "");
    o.replay_path = o.scenario_path;
    o.scenario_path = NULL;
    struct diag d = {{0}};
    if (dm_args && !dm)
        return bad_input("replay: --device-model-args without --device-model%s%s", "", "");
    if (replay_load_hz(o.replay_path, cpu_hz, allow_truncated, &o.replay, &d) < 0)
        return bad_input("%s%s", d.msg, "");
    if (dm && replay_real_add_device_model(o.replay, dm, dm_args, &d) < 0) {
        replay_free(o.replay);
        return bad_input("replay: %s%s", d.msg, "");
    }
    if (in_xen && !replay_is_real(o.replay)) {
        replay_free(o.replay);
        return bad_input("replay: --emulate-in-xen: only for a real host's recording (an evsim "
                         "recording's device models are its scenario's)%s%s",
                         "", "");
    }
    replay_real_use_inferred_dm(o.replay, dm ? "the device model given replaces it (--device-model)"
                                          : in_xen ? "Xen answers its accesses (--emulate-in-xen)"
                                                   : NULL);
    struct scenario *sc = calloc(1, sizeof(*sc));
    if (!sc) {
        replay_free(o.replay);
        return bad_input("out of memory%s%s", "", "");
    }
    if (load_scenario(&o, sc, &d) < 0 || check_outputs(&o, &d) < 0)
        rc = bad_input("%s%s", d.msg, "");
    else if (replay_abis(&o, sc, &d) < 0)
        rc = bad_input("replay: %s%s", d.msg, "");
    else
        rc = run_machine(&o, sc, "");
    free(sc);
    replay_free(o.replay);
    return rc;
}

/* Load, place and annotate one image, then print it. */
static int annotate_image(const char *elf, const char *cpu)
{
    struct cost_profile p;
    struct guest_image img;
    struct aot_image a;
    struct diag d;
    if (profile_load(&p, cpu, NULL, &d) < 0)
        return bad_input("%s%s", d.msg, "");
    if (guest_image_load(elf, &img, &d) < 0) {
        guest_image_free(&img);
        return bad_input("%s%s", d.msg, "");
    }
    uint64_t size =
        (guest_image_pa(&img, img.highest) + XEN_PAGE_SIZE) & ~(uint64_t)(XEN_PAGE_SIZE - 1);
    uint8_t *ram = calloc(1, size);
    int rc = EXIT_BAD_INPUT;
    if (!ram)
        snprintf(d.msg, sizeof(d.msg), "out of memory");
    else if (guest_image_place(&img, ram, size, &d) == 0 &&
             aot_annotate(&a, &img, ram, &p, &d) == 0) {
        rc = aot_print(stdout, &a, &img) < 0 ? 1 : 0;
        aot_free(&a);
    }
    if (rc == EXIT_BAD_INPUT)
        fprintf(stderr, "evsim: %s\n", d.msg);
    free(ram);
    guest_image_free(&img);
    return rc;
}

/* evsim profiles [NAME]: the built-in profiles, one line each, or one in full. */
static int cmd_profiles(int argc, char **argv)
{
    struct cost_profile p;
    struct diag d;
    if (argc > 2)
        return bad_input("profiles: at most one profile name%s%s", "", "");
    if (argc == 2) {
        if (profile_load(&p, argv[1], NULL, &d) < 0)
            return bad_input("%s%s", d.msg, "");
        printf("%s: %s, %" PRIu64 " MHz (%s)\n", p.name, p.cpu, p.cpu_khz / 1000, p.clock_source);
        for (int i = 0; i < COST_IDS; i++)
            printf("  %-22s %10" PRIu64 " cycles  %c  %s\n", cost_names[i], p.c[i].cycles,
                   p.c[i].confidence, p.c[i].source);
        return 0;
    }
    printf("%-18s %-60s %6s  C/S/U/E/M\n", "profile", "cpu", "MHz");
    for (unsigned i = 0; i < profile_nr_builtins; i++) {
        if (profile_load(&p, profile_builtins[i].name, NULL, &d) < 0)
            return bad_input("%s%s", d.msg, "");
        unsigned marks[5] = {0};
        for (int k = 0; k < COST_IDS; k++)
            marks[strchr("CSUEM", p.c[k].confidence) - "CSUEM"]++;
        printf("%-18s %-60.60s %6" PRIu64 "  %u/%u/%u/%u/%u\n", p.name, p.cpu, p.cpu_khz / 1000,
               marks[0], marks[1], marks[2], marks[3], marks[4]);
    }
    printf("\nEvery figure with its source: evsim profiles NAME (docs/profiles.md explains the "
           "marks).\n");
    return 0;
}

static const char usage_annotate[] =
    "Usage: evsim annotate ELF [--cpu NAME]\n"
    "\n"
    "Prints every block of the guest's code with its instructions, their class and cycles under\n"
    "the profile (default " PROFILE_DEFAULT "), as the simulator charges them.\n";

/* evsim annotate ELF [--cpu NAME]: what the ahead-of-time annotator charges per block. */
static int cmd_annotate(int argc, char **argv)
{
    const char *elf = NULL, *cpu = PROFILE_DEFAULT;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--cpu") && i + 1 < argc) {
            cpu = argv[++i];
        } else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            fputs(usage_annotate, stdout);
            return 0;
        } else if (argv[i][0] != '-' && !elf) {
            elf = argv[i];
        } else {
            return bad_input("annotate: unexpected argument '%s' (see evsim annotate --help)%s",
                             argv[i], "");
        }
    }
    if (!elf)
        return bad_input("annotate: which ELF? (evsim annotate ELF [--cpu NAME])%s%s", "", "");
    return annotate_image(elf, cpu);
}

/* evsim validate [--markdown]: predictions next to the published figures. */
static int cmd_validate(int argc, char **argv)
{
    bool md = argc == 2 && !strcmp(argv[1], "--markdown");
    if (argc > 2 || (argc == 2 && !md))
        return bad_input("validate: the only option is --markdown%s%s", "", "");
    char guest_dir[PATH_MAX];
    default_guest_dir(guest_dir, sizeof(guest_dir));
    return validate_run(stdout, guest_dir, md, &stop_signal);
}

static const char usage_bench[] =
    "Usage: evsim bench abi-scaling [--quick] [--out DIR] [--doc FILE] [--[no-]progress]\n"
    "       [--jobs N] [--plan | --list | --point K | --merge DIR]\n"
    "\n"
    "Compares the 2-level, 3-level and FIFO event-channel ABIs: ports bound (64 up to each\n"
    "ABI's limit), pending density, vcpus per domain, domains with four ports each to a Dom0\n"
    "backend, and fairness and FIFO priorities under a one-port storm. Every point is a\n"
    "simulation of the abiscale guest. Writes data files, results.json, plots.gp and the plots\n"
    "(PNG and SVG) to DIR, and the written comparison to FILE.\n"
    "\n"
    "Options:\n"
    "  --quick        a few small points (seconds; for tests)\n"
    "  --out DIR      default bench/results/abi-scaling in evsim's source tree\n"
    "  --doc FILE     default docs/abi-scaling.md in evsim's source tree; --doc - writes none\n"
    "                 (its plot links point to DIR: relative when DIR is the default)\n"
    "  --progress     a line per point on stderr (default: when stderr is a terminal)\n"
    "  --no-progress  none\n"
    "  --jobs N       run N points at once, each in its own process (default: the CPU count);\n"
    "                 the output is byte for byte that of --jobs 1\n"
    "  --plan         print one command line per point instead (a job list for GNU parallel,\n"
    "                 also across hosts with --sshlogin, or a Slurm job array): each runs\n"
    "                 --point K --out DIR\n"
    "  --list         print each point's number and what it is (sweep, ABI, sizes) instead\n"
    "  --point K      run point K alone and write its result to DIR (--out)\n"
    "  --merge DIR    read every point's result from DIR and write the data, plots and page\n"
    "                 (to --out and --doc) as a run here would (docs/benchmarks.md, \"Sweeps\")\n"
    "\n"
    "Exit status: 0 done, 1 a point failed (its row says so), 2 bad input or unwritable output,\n"
    "130 or 143 stopped by SIGINT (Ctrl-C) or SIGTERM: the points under way finish, the data\n"
    "and results.json (marked partial) hold the points that finished in order; plots and the\n"
    "page are left as they were.\n"
    "\n"
    "Usage: evsim bench ioreq [--quick] [--out DIR] [--doc FILE] [--[no-]progress] [--jobs N]\n"
    "       [--plan | --list | --point K | --merge DIR]\n"
    "\n"
    "Times an HVM guest's device accesses (UART inb, PCI BAR read, MMIO write, VGA write)\n"
    "through Xen's ioreq servers: no device model, one in dom0, one on the host; the dom0 one\n"
    "busy, sharing the guest's CPU, on the other socket, with a buffered ring, among 8\n"
    "servers, with 256 ranges, on the FIFO ABI. Writes points.dat, results.json, plots.gp and\n"
    "the plots to DIR (default bench/results/ioreq) and the study section of FILE (default\n"
    "docs/ioreq.md, between its markers). Same options and exit status as abi-scaling.\n"
    "\n"
    "Usage: evsim bench trace [--quick] [--out DIR] [--doc FILE] [--xenalyze PATH]\n"
    "                         [--scenarios DIR | --no-scenarios]\n"
    "\n"
    "The cost of --record on abi-scaling's 1,000-frontend point (runs without and with it,\n"
    "alternately, best of three) and on its largest (once each, minutes), the speed and peak\n"
    "memory of `evsim trace summary` on the first recording and on its first half, and of\n"
    "`evsim replay`; with --xenalyze, Xen's xenalyze on the same file. Then replay against\n"
    "run on every scenario (*.ini) of --scenarios DIR (default: the bundled tests/scenarios),\n"
    "in process and as whole processes.\n"
    "Writes results.json to DIR (default bench/results/trace) and FILE (default\n"
    "docs/trace-performance.md). Same exit status as abi-scaling.\n";

#ifndef EVSIM_BUILD_HOST_DM
#define EVSIM_BUILD_HOST_DM ""
#endif

/* The options every study takes, with its defaults (the committed results live in the source
 * tree evsim was built from), and where the guests are: 0, or the exit status of bad input. */
static int bench_options(const char *study, const char *out_dir, const char *doc, int argc,
                         char **argv, struct bench_cli *c, char guest_dir[PATH_MAX])
{
    const char *bad = NULL;
    *c = (struct bench_cli){.out_dir = out_dir, .doc = doc, .progress = isatty(STDERR_FILENO)};
    if (bench_cli_parse(c, argc, argv, 2, &bad) < 0)
        return bad_input("bench %s: unknown or incomplete option, or a bad value: '%s' (see "
                         "evsim bench --help)",
                         study, bad);
    default_guest_dir(guest_dir, PATH_MAX);
    return 0;
}

/* evsim bench ioreq [options]: the same options as abi-scaling. */
static int cmd_bench_ioreq(int argc, char **argv)
{
    char guest_dir[PATH_MAX];
    struct bench_cli c;
    int rc = bench_options("ioreq", EVSIM_SOURCE_DIR "/bench/results/ioreq",
                           EVSIM_SOURCE_DIR "/docs/ioreq.md", argc, argv, &c, guest_dir);
    if (rc)
        return rc;
    struct ioreq_bench_opts o = {.quick = c.quick,
                                 .points = c.points,
                                 .progress = c.progress,
                                 .out_dir = c.out_dir,
                                 .doc = c.doc,
                                 .guest_dir = guest_dir,
                                 .host_dm = EVSIM_BUILD_HOST_DM,
                                 .interrupt = &stop_signal};
    return ioreq_bench_run(&o);
}

/* evsim bench trace [options] [--xenalyze PATH] */
static int cmd_bench_trace(int argc, char **argv)
{
    char guest_dir[PATH_MAX];
    struct bench_cli c;
    const char *xenalyze = NULL, *scenarios = EVSIM_SOURCE_DIR "/tests/scenarios",
               *shown = "tests/scenarios";
    /* --xenalyze and --scenarios are this study's own: taken out before the common options
     * are parsed */
    char **rest = calloc((size_t)argc + 1, sizeof(*rest));
    int n = 0;
    if (!rest)
        return EXIT_BAD_INPUT;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--xenalyze") && i + 1 < argc)
            xenalyze = argv[++i];
        else if (!strncmp(argv[i], "--xenalyze=", 11))
            xenalyze = argv[i] + 11;
        else if (!strcmp(argv[i], "--scenarios") && i + 1 < argc)
            scenarios = shown = argv[++i];
        else if (!strcmp(argv[i], "--no-scenarios"))
            scenarios = shown = NULL;
        else
            rest[n++] = argv[i];
    }
    int rc = bench_options("trace", EVSIM_SOURCE_DIR "/bench/results/trace",
                           EVSIM_SOURCE_DIR "/docs/trace-performance.md", n, rest, &c, guest_dir);
    if (!rc && c.points_given)
        rc = bad_input(
            "bench trace: --jobs, --plan, --list, --point and --merge are for the simulation "
            "studies; this one times the host, one run at a time%s%s",
            "", "");
    if (!rc && xenalyze && access(xenalyze, X_OK) != 0)
        rc = bad_input("bench trace: --xenalyze %s: not an executable program%s", xenalyze, "");
    if (!rc && scenarios && access(scenarios, R_OK | X_OK) != 0)
        rc = bad_input("bench trace: --scenarios %s: not a folder evsim can read%s", scenarios, "");
    if (!rc) {
        struct trace_bench_opts o = {.quick = c.quick,
                                     .progress = c.progress,
                                     .out_dir = c.out_dir,
                                     .doc = c.doc,
                                     .guest_dir = guest_dir,
                                     .xenalyze = xenalyze,
                                     .scenarios = scenarios,
                                     .scenarios_shown = shown,
                                     .interrupt = &stop_signal};
        rc = trace_bench_run(&o);
    }
    free(rest);
    return rc;
}

/* evsim bench abi-scaling [options] */
static int cmd_bench(int argc, char **argv)
{
    char guest_dir[PATH_MAX];
    struct bench_cli c;
    /* evsim bench --help, and evsim bench STUDY ... --help, as users try both */
    for (int i = 1; i < argc && (i == 1 || argv[1][0] != '-'); i++)
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            fputs(usage_bench, stdout);
            return 0;
        }
    if (argc >= 2 && !strcmp(argv[1], "ioreq"))
        return cmd_bench_ioreq(argc, argv);
    if (argc >= 2 && !strcmp(argv[1], "trace"))
        return cmd_bench_trace(argc, argv);
    if (argc < 2 || strcmp(argv[1], "abi-scaling"))
        return bad_input("bench: which benchmark? (evsim bench abi-scaling, ioreq or trace; see "
                         "evsim bench --help)%s%s",
                         "", "");
    int rc = bench_options("abi-scaling", EVSIM_SOURCE_DIR "/bench/results/abi-scaling",
                           EVSIM_SOURCE_DIR "/docs/abi-scaling.md", argc, argv, &c, guest_dir);
    if (rc)
        return rc;
    struct abi_bench_opts o = {.quick = c.quick,
                               .points = c.points,
                               .progress = c.progress,
                               .out_dir = c.out_dir,
                               .doc = c.doc,
                               .guest_dir = guest_dir,
                               .interrupt = &stop_signal};
    return abi_bench_run(&o);
}

static int cmd_scenario(int argc, char **argv)
{
    (void)argc, (void)argv;
    fputs(scenario_default_text, stdout);
    return 0;
}

/* evsim engine: the Unicorn library in use and whether evsim can run on it. */
static int cmd_engine(int argc, char **argv)
{
    (void)argv;
    if (argc > 1)
        return bad_input("engine: takes no arguments%s%s", "", "");
    struct engine_check c;
    int rc = engine_check_run(&c);
    engine_check_print(&c, stdout);
    return rc < 0 ? EXIT_BAD_INPUT : 0;
}

static bool asks_for_help(int argc, char **argv);

static int require_usable_engine(void);

/* evsim lab ...: the lab course's checker (sim/lab.c), with the guests' directory for its
 * partner guest. Only check runs guests, so only check needs a usable Unicorn. */
static int cmd_lab(int argc, char **argv)
{
    char guest_dir[PATH_MAX];
    if (argc >= 2 && !strcmp(argv[1], "check") && !asks_for_help(argc, argv) &&
        require_usable_engine() < 0)
        return EXIT_BAD_INPUT;
    default_guest_dir(guest_dir, sizeof(guest_dir));
    return lab_main(argc, argv, guest_dir);
}

static const char usage_guest[] =
    "Usage: evsim guest build FILE.c [MORE.c ...] -o OUT.elf\n"
    "\n"
    "Builds a guest program as evsim builds its own (guests/): the same compiler and flags,\n"
    "the guest runtime (guests/rt: boot, hypercalls, events of every ABI, console, time)\n"
    "linked in, and its linker script. No CMake needed. Run the result with\n"
    "`evsim run --guest OUT.elf` or name it in a scenario's guest key (docs/guests.md).\n"
    "\n"
    "Exit status: 0 built, 2 it did not build (the compiler's messages are shown; no file is\n"
    "left) or bad arguments.\n";

/* evsim guest build FILE.c... -o OUT.elf */
static int cmd_guest(int argc, char **argv)
{
    const char *out = NULL;
    const char **src = calloc((size_t)argc, sizeof(*src));
    unsigned n = 0;
    int rc;

    if (asks_for_help(argc, argv) || argc < 2) {
        free(src);
        fputs(usage_guest, argc < 2 ? stderr : stdout);
        return argc < 2 ? EXIT_BAD_INPUT : 0;
    }
    if (!src)
        return EXIT_BAD_INPUT;
    if (strcmp(argv[1], "build")) {
        free(src);
        return bad_input("guest: unknown command '%s' (evsim guest build FILE.c -o OUT.elf)%s",
                         argv[1], "");
    }
    for (int i = 2; i < argc; i++) {
        size_t len = strlen(argv[i]);
        if (!strcmp(argv[i], "-o") && i + 1 < argc && !out)
            out = argv[++i];
        else if (len > 2 && !strcmp(argv[i] + len - 2, ".c") && argv[i][0] != '-')
            src[n++] = argv[i];
        else {
            free(src);
            return bad_input("guest build: '%s' is neither a C file nor -o OUT.elf (see evsim "
                             "guest --help)%s",
                             argv[i], "");
        }
    }
    if (!n || !out) {
        free(src);
        return bad_input("guest build: expected FILE.c [MORE.c ...] -o OUT.elf%s%s", "", "");
    }
    rc = guest_build(src, n, out, "guest build");
    free(src);
    return rc;
}

static const char usage_dm_cc[] =
    "Usage: evsim dm-cc [COMPILER ARGUMENTS]\n"
    "\n"
    "Build a device model written against Xen's libraries (xenevtchn.h, xendevicemodel.h,\n"
    "xenforeignmemory.h, and xc_interface_open, xc_domain_pause and xc_domain_unpause of\n"
    "xenctrl.h) so that it runs under evsim: the compiler ($CC, else cc) is called with the\n"
    "arguments given and linked with evsim's implementation of those libraries\n"
    "(libevsim-dm) in place of Xen's. Example:\n"
    "\n"
    "  evsim dm-cc -O2 -o mydm mydm.c\n"
    "\n"
    "A scenario then runs it as a domain's device model (device_model = ./mydm);\n"
    "docs/emulators.md has the details.\n";

/* Where libevsim-dm is: next to this program, in dm/. */
static int dm_lib_dir(char *out, size_t len)
{
    char self[PATH_MAX - 8];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n <= 0)
        return -1;
    self[n] = 0;
    char *slash = strrchr(self, '/');
    if (slash)
        *slash = 0;
    snprintf(out, len, "%s/dm", self);
    char lib[PATH_MAX + 32];
    snprintf(lib, sizeof(lib), "%s/libevsim-dm.so", out);
    return access(lib, R_OK);
}

/* evsim dm-cc: the compiler, linked with libevsim-dm (before libc, so that its poll and select
 * see the device model wait). */
static int cmd_dm_cc(int argc, char **argv)
{
    if (argc < 2 || asks_for_help(argc, argv)) {
        fputs(usage_dm_cc, argc < 2 ? stderr : stdout);
        return argc < 2 ? EXIT_BAD_INPUT : 0;
    }
    char dir[PATH_MAX + 8], ldir[PATH_MAX + 16], rpath[PATH_MAX + 24];
    if (dm_lib_dir(dir, sizeof(dir)) != 0)
        return bad_input("dm-cc: libevsim-dm.so is not next to evsim (in %s): build evsim%s", dir,
                         "");
    snprintf(ldir, sizeof(ldir), "-L%s", dir);
    snprintf(rpath, sizeof(rpath), "-Wl,-rpath,%s", dir);
    const char *cc = getenv("CC") && *getenv("CC") ? getenv("CC") : "cc";
    char **args = calloc((size_t)argc + 5, sizeof(*args));
    if (!args)
        return EXIT_BAD_INPUT;
    int n = 0;
    args[n++] = (char *)cc;
    for (int i = 1; i < argc; i++)
        args[n++] = argv[i];
    args[n++] = ldir;
    args[n++] = rpath;
    args[n++] = "-levsim-dm";
    args[n] = NULL;
    fflush(NULL);
    execvp(cc, args);
    fprintf(stderr, "evsim: dm-cc: cannot run the compiler %s: %s\n", cc, strerror(errno));
    free(args);
    return EXIT_BAD_INPUT;
}

static bool asks_for_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
            return true;
    return false;
}

/* Commands that run guest code first check the Unicorn library they would run it on: timing
 * results from a library that ignores paging or takes the slow path for stores would look
 * plausible and be wrong. */
static int require_usable_engine(void)
{
    struct engine_check c;
    if (engine_check_run(&c) == 0)
        return 0;
    fprintf(stderr,
            "evsim: cannot run on Unicorn %s (%s): %s.\n"
            "evsim needs Unicorn " ENGINE_CHECK_MIN_TEXT " or later, as in Debian 13's "
            "libunicorn-dev; scripts/run.sh fetches it on Debian 12. `evsim engine` shows the "
            "check.\n",
            c.version_text, c.library, c.failures);
    return -1;
}

static const struct command {
    const char *name;
    int (*fn)(int argc, char **argv);
    bool runs_guests;
} commands[] = {
    {"run", cmd_run, true},
    {"validate", cmd_validate, true},
    {"bench", cmd_bench, true},
    {"profiles", cmd_profiles, false},
    {"annotate", cmd_annotate, false},
    {"scenario", cmd_scenario, false},
    {"engine", cmd_engine, false},
    {"dm-cc", cmd_dm_cc, false},
    {"trace", cmd_trace, false},
    {"replay", cmd_replay, false},
    {"quiz", cmd_quiz, false},
    {"lab", cmd_lab, false},
    {"guest", cmd_guest, false},
};

int main(int argc, char **argv)
{
    if (argc < 2) {
        fputs(usage_main, stderr);
        return EXIT_BAD_INPUT;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
        fputs(usage_main, stdout);
        return 0;
    }
    if (!strcmp(cmd, "-V") || !strcmp(cmd, "--version")) {
        printf("evsim %s\n", EVSIM_VERSION);
        return 0;
    }
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        if (strcmp(cmd, commands[i].name))
            continue;
        bool runs = commands[i].runs_guests && !asks_for_help(argc - 1, argv + 1);
        /* From the start: a signal that comes early still ends the command cleanly. */
        if (runs)
            catch_stop_signals(true);
        if (runs && require_usable_engine() < 0)
            return EXIT_BAD_INPUT;
        int rc = commands[i].fn(argc - 1, argv + 1);
        if (runs)
            catch_stop_signals(false);
        return rc;
    }
    fprintf(stderr, "evsim: unknown command '%s'\n\n%s", cmd, usage_main);
    return EXIT_BAD_INPUT;
}
