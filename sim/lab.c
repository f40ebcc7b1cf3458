/* `evsim lab`: the lab course's checker (docs/labs/README.md).
 *
 *   evsim lab list
 *   evsim lab show N
 *   evsim lab check N [FILE.c|FILE.elf] [--seed S] [--json F]
 *   evsim lab build FILE.c OUT.elf
 *
 * check builds the student's guest as guests/ builds its own (lab_build.h), runs it on the
 * lab's scenarios, each in a child process (SystemC runs one simulation per process), and
 * grades the runs with the lab's checks (sim/lab_labs.c). Everything printed depends only on
 * the file, the lab and the seed: no host paths, times or temporary names. */
#include "sim/lab.h"

#include <errno.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lab_build.h"
#include "sim/diag.h"
#include "sim/machine.h"
#include "sim/report.h"
#include "sim/scenario.h"

#define EXIT_BAD_INPUT 2

static const char usage_lab[] =
    "Usage: evsim lab list\n"
    "       evsim lab show N\n"
    "       evsim lab check N [FILE.c|FILE.elf] [--seed S] [--json F]\n"
    "       evsim lab build FILE.c OUT.elf\n"
    "\n"
    "The lab course on Xen's event channels (docs/labs/README.md). `list` names the labs with\n"
    "their difficulty tags; `show N` prints lab N's checks and where its page and skeleton are.\n"
    "`check N FILE` builds FILE (a guest program written from guests/labs/labNN.c; default:\n"
    "that skeleton) as guests/ builds its guests, runs it on lab N's scenarios made from the\n"
    "seed, and prints each named check with its points, PASS or FAIL, and on failure what was\n"
    "seen and a hint. A FILE.elf is run as it is. `build` only builds FILE.c into OUT.elf, to\n"
    "run it yourself with `evsim run` (the lab pages show scenarios for that).\n"
    "\n"
    "Options (check):\n"
    "  --seed S    the scenarios' seed (default 1): counts, port numbers and timing change\n"
    "  --json F    also write the result as JSON to F (written whole or not at all)\n"
    "\n"
    "Exit status: 0 every check passed, 1 some check failed, 2 bad input (a lab that does not\n"
    "exist, a file that does not compile: the compiler's messages are shown).\n";

static int bad_input(const char *fmt, const char *a)
{
    fprintf(stderr, "evsim: lab: ");
    fprintf(stderr, fmt, a);
    fprintf(stderr, "\n");
    return EXIT_BAD_INPUT;
}

static const struct lab *find_lab(const char *arg)
{
    char *end;
    errno = 0;
    unsigned long n = strtoul(arg, &end, 10);
    if (errno || *end || end == arg)
        return NULL;
    for (unsigned i = 0; i < lab_count; i++)
        if (lab_table[i].number == n)
            return &lab_table[i];
    return NULL;
}

static unsigned max_points(const struct lab *l)
{
    unsigned sum = 0;
    for (unsigned i = 0; i < l->nr_checks; i++)
        sum += l->checks[i].points;
    return sum;
}

/* ---- list and show ---------------------------------------------------------------------- */

static int cmd_list(void)
{
    printf("%-4s %-48s %s\n", "lab", "title", "tags");
    for (unsigned i = 0; i < lab_count; i++)
        printf("%-4u %-48s %s\n", lab_table[i].number, lab_table[i].title, lab_table[i].tags);
    printf("\nThe course: docs/labs/README.md. Check a solution: evsim lab check N FILE.c\n");
    return 0;
}

static int cmd_show(const struct lab *l)
{
    printf("lab %u: %s %s\n", l->number, l->title, l->tags);
    printf("page      docs/labs/lab%02u.md\n", l->number);
    printf("skeleton  guests/labs/lab%02u.c\n", l->number);
    printf("cases     %u scenarios per check run (--seed changes them)\n", l->nr_cases);
    printf("checks    %u points\n", max_points(l));
    for (unsigned i = 0; i < l->nr_checks; i++)
        printf("  %-30s %u\n", l->checks[i].name, l->checks[i].points);
    return 0;
}

/* ---- building the student's guest --------------------------------------------------------- */

static bool ends_with(const char *s, const char *tail)
{
    size_t a = strlen(s), b = strlen(tail);
    return a >= b && !strcmp(s + a - b, tail);
}

/* Run argv, its stderr and stdout collected into *out (malloc'd): the exit status, or -1 when
 * it could not be started. */
static int run_collect(char *const argv[], char **out)
{
    int fd[2];
    *out = NULL;
    if (pipe(fd) != 0)
        return -1;
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fd[1], STDOUT_FILENO);
        dup2(fd[1], STDERR_FILENO);
        close(fd[0]);
        close(fd[1]);
        execv(argv[0], argv);
        fprintf(stderr, "cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    close(fd[1]);
    size_t len = 0;
    FILE *mem = open_memstream(out, &len);
    char buf[4096];
    ssize_t got;
    while (pid > 0 && (got = read(fd[0], buf, sizeof(buf))) > 0)
        fwrite(buf, 1, (size_t)got, mem);
    fclose(mem);
    close(fd[0]);
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) < 0)
        return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static const char *const compile_flags[] = {LAB_COMPILE_FLAGS};
static const char *const link_flags[] = {LAB_LINK_FLAGS};
#define NR_COMPILE_FLAGS (sizeof(compile_flags) / sizeof(compile_flags[0]))
#define NR_LINK_FLAGS (sizeof(link_flags) / sizeof(link_flags[0]))

int guest_build(const char *const *src, unsigned nsrc, const char *elf, const char *who)
{
    if (access(LAB_RT_ARCHIVE, R_OK) != 0 || access(LAB_CC, X_OK) != 0) {
        fprintf(stderr,
                "evsim: %s: the guest runtime or compiler this evsim was built with is missing "
                "(%s, " LAB_CC "): build evsim's guests first (cmake --build BUILD)\n",
                who, LAB_RT_ARCHIVE);
        return EXIT_BAD_INPUT;
    }
    const char **argv = calloc(NR_COMPILE_FLAGS + NR_LINK_FLAGS + 16 + nsrc, sizeof(*argv));
    if (!argv)
        return EXIT_BAD_INPUT;
    size_t n = 0;
    argv[n++] = LAB_CC;
    for (size_t i = 0; i < NR_COMPILE_FLAGS; i++)
        argv[n++] = compile_flags[i];
    argv[n++] = "-o";
    argv[n++] = elf;
    for (unsigned i = 0; i < nsrc; i++)
        argv[n++] = src[i];
    for (size_t i = 0; i < NR_LINK_FLAGS; i++)
        argv[n++] = link_flags[i];
    argv[n++] = "-Wl,--whole-archive";
    argv[n++] = LAB_RT_ARCHIVE;
    argv[n++] = "-Wl,--no-whole-archive";
    argv[n] = NULL;
    char *messages = NULL;
    int rc = run_collect((char *const *)argv, &messages);
    free(argv);
    if (rc != 0) {
        fprintf(stderr, "evsim: %s: %s%s does not build as a guest program:\n%s", who, src[0],
                nsrc > 1 ? " (with the other files)" : "", messages ? messages : "");
        free(messages);
        unlink(elf); /* nothing half-written */
        return EXIT_BAD_INPUT;
    }
    free(messages);
    return 0;
}

/* Compile and link src into elf with the runtime archive linked whole. 0, or EXIT_BAD_INPUT
 * after showing why. */
static int build_guest(const char *src, const char *elf)
{
    return guest_build(&src, 1, elf, "lab");
}

/* ---- one run, in a child process ---------------------------------------------------------- */

static bool write_all(int fd, const void *p, size_t n)
{
    for (const char *c = p; n > 0;) {
        ssize_t k = write(fd, c, n);
        if (k <= 0)
            return false;
        c += k;
        n -= (size_t)k;
    }
    return true;
}

static bool read_all(int fd, void *p, size_t n)
{
    for (char *c = p; n > 0;) {
        ssize_t k = read(fd, c, n);
        if (k <= 0)
            return false;
        c += k;
        n -= (size_t)k;
    }
    return true;
}

/* The child: run the scenario, then send the exit status, the console and the JSON report
 * (each length first). A scenario the model refuses is sent as status -1 and its message. */
static void child_run(const char *ini, const char *guest_dir, int fd)
{
    struct scenario *sc = calloc(1, sizeof(*sc));
    struct machine *m = calloc(1, sizeof(*m));
    struct diag d = {{0}};
    char *console = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&console, &len);
    int status = -1;
    const char *json = d.msg;
    struct json_object *report = NULL;
    if (sc && m && scenario_load_string(sc, "lab", ini, &d) == 0 &&
        machine_build(m, sc, guest_dir, out, &d) == 0) {
        machine_run(m);
        report = report_build(m);
        status = machine_exit_status(m);
        json = json_object_to_json_string_ext(report, JSON_C_TO_STRING_PLAIN);
    }
    fflush(out);
    size_t clen = console ? len : 0, jlen = strlen(json);
    bool ok = write_all(fd, &status, sizeof(status)) && write_all(fd, &clen, sizeof(clen)) &&
              write_all(fd, console ? console : "", clen) && write_all(fd, &jlen, sizeof(jlen)) &&
              write_all(fd, json, jlen);
    _exit(ok ? 0 : 1);
}

static char *read_block(int fd)
{
    size_t len;
    if (!read_all(fd, &len, sizeof(len)) || len > ((size_t)1 << 30))
        return NULL;
    char *s = malloc(len + 1);
    if (s && !read_all(fd, s, len)) {
        free(s);
        return NULL;
    }
    if (s)
        s[len] = 0;
    return s;
}

/* Run case c's scenario: c->ran, exit_status, console and report. A refused scenario (the
 * student's ELF is not a guest image, say) is EXIT_BAD_INPUT with the message. */
static int run_case(struct lab_case *c, const char *ini, const char *guest_dir)
{
    int fd[2];
    if (pipe(fd) != 0)
        return bad_input("cannot make a pipe: %s", strerror(errno));
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        close(fd[0]);
        child_run(ini, guest_dir, fd[1]);
    }
    close(fd[1]);
    int status = -1;
    char *json = NULL;
    bool got = pid > 0 && read_all(fd[0], &status, sizeof(status)) &&
               (c->console = read_block(fd[0])) != NULL && (json = read_block(fd[0])) != NULL;
    close(fd[0]);
    if (pid > 0)
        waitpid(pid, NULL, 0);
    int rc = 0;
    if (got && status < 0)
        rc = bad_input("the scenario could not run: %s", json);
    else if (got && (c->report = json_tokener_parse(json)) != NULL)
        c->ran = true, c->exit_status = status;
    free(json);
    return rc;
}

/* ---- reading a run ------------------------------------------------------------------------ */

uint64_t lab_rand(struct lab_case *c, uint64_t lo, uint64_t hi)
{
    /* splitmix64: a well-mixed sequence from any seed, even 0 */
    uint64_t z = (c->rng += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    z ^= z >> 31;
    return lo + (hi > lo ? z % (hi - lo + 1) : 0);
}

void lab_scenario_text(struct lab_case *c, char *ini, size_t n, unsigned run_ms, const char *elf,
                       const char *student_cmdline, const char *partner_cmdline)
{
    int k = snprintf(ini, n, "[machine]\npcpus = 2\nseed = %llu\nrun_ms = %u\n\n",
                     (unsigned long long)c->seed, run_ms);
    if (partner_cmdline)
        k += snprintf(ini + k, n - (size_t)k,
                      "[domain partner]\nguest = lab_partner\nprivileged = yes\ncmdline = %s\n\n",
                      partner_cmdline);
    snprintf(ini + k, n - (size_t)k, "[domain student]\nguest = %s\n%scmdline = %s\n", elf,
             partner_cmdline ? "" : "privileged = yes\n", student_cmdline);
    c->student_dom = partner_cmdline ? 1 : 0;
}

/* Where the text of line starts if it is a "lab:" line of domain dom
 * ("d<dom>v<vcpu> lab: ..."), else NULL. */
static const char *lab_line_text(unsigned dom, const char *line, size_t len)
{
    char prefix[32];
    int n = snprintf(prefix, sizeof(prefix), "d%uv", dom);
    if (len < (size_t)n || strncmp(line, prefix, (size_t)n) != 0)
        return NULL;
    size_t at = (size_t)n + strspn(line + n, "0123456789");
    static const char tag[] = " lab:";
    if (at == (size_t)n || len < at + sizeof(tag) - 1 || strncmp(line + at, tag, sizeof(tag) - 1))
        return NULL;
    return line + at + sizeof(tag) - 1;
}

/* Call fn(value) for every key=value on domain dom's "lab:" lines; returns how many. */
static unsigned console_values(const struct lab_case *c, unsigned dom, const char *key,
                               void (*fn)(void *ctx, uint64_t v), void *ctx)
{
    char pat[64];
    snprintf(pat, sizeof(pat), " %s=", key);
    unsigned count = 0;
    for (const char *line = c->console; line && *line;) {
        const char *eol = strchr(line, '\n');
        size_t len = eol ? (size_t)(eol - line) : strlen(line);
        const char *text = lab_line_text(dom, line, len);
        size_t plen = strlen(pat);
        /* within the line only: a console can be long */
        for (const char *at = text; at && at + plen <= line + len; at++)
            if (!memcmp(at, pat, plen)) {
                fn(ctx, strtoull(at + plen, NULL, 0));
                count++;
            }
        line = eol ? eol + 1 : line + len;
    }
    return count;
}

static void keep_last(void *ctx, uint64_t v)
{
    *(uint64_t *)ctx = v;
}

bool lab_console_u64(const struct lab_case *c, const char *key, uint64_t *out)
{
    return console_values(c, c->student_dom, key, keep_last, out) > 0;
}

bool lab_console_u64_of(const struct lab_case *c, unsigned dom, const char *key, uint64_t *out)
{
    return console_values(c, dom, key, keep_last, out) > 0;
}

struct value_list {
    uint64_t *out;
    unsigned n, max;
};

static void append_value(void *ctx, uint64_t v)
{
    struct value_list *l = ctx;
    if (l->n < l->max)
        l->out[l->n] = v;
    l->n++;
}

unsigned lab_console_all(const struct lab_case *c, const char *key, uint64_t *out, unsigned max)
{
    struct value_list l = {out, 0, max};
    console_values(c, c->student_dom, key, append_value, &l);
    return l.n;
}

static struct json_object *domain_of(const struct lab_case *c, unsigned dom)
{
    struct json_object *doms, *d, *id;
    if (!c->report || !json_object_object_get_ex(c->report, "domains", &doms))
        return NULL;
    for (size_t i = 0; i < json_object_array_length(doms); i++) {
        d = json_object_array_get_idx(doms, i);
        if (json_object_object_get_ex(d, "domid", &id) && json_object_get_int(id) == (int)dom)
            return d;
    }
    return NULL;
}

int64_t lab_dom_field(const struct lab_case *c, unsigned dom, const char *field)
{
    struct json_object *d = domain_of(c, dom), *v;
    return d && json_object_object_get_ex(d, field, &v) ? json_object_get_int64(v) : -1;
}

const char *lab_dom_status(const struct lab_case *c, unsigned dom)
{
    struct json_object *d = domain_of(c, dom), *v;
    return d && json_object_object_get_ex(d, "status", &v) ? json_object_get_string(v) : "";
}

static struct json_object *port_of(const struct lab_case *c, unsigned dom, unsigned port)
{
    struct json_object *d = domain_of(c, dom), *ports, *p, *num;
    if (!d || !json_object_object_get_ex(d, "ports", &ports))
        return NULL;
    for (size_t i = 0; i < json_object_array_length(ports); i++) {
        p = json_object_array_get_idx(ports, i);
        if (json_object_object_get_ex(p, "port", &num) && json_object_get_int(num) == (int)port)
            return p;
    }
    return NULL;
}

int64_t lab_port_field(const struct lab_case *c, unsigned dom, unsigned port, const char *field)
{
    struct json_object *p = port_of(c, dom, port), *v;
    return p && json_object_object_get_ex(p, field, &v) ? json_object_get_int64(v) : 0;
}

int64_t lab_ports_sum(const struct lab_case *c, unsigned dom, const char *field)
{
    struct json_object *d = domain_of(c, dom), *ports, *v;
    int64_t sum = 0;
    if (!d || !json_object_object_get_ex(d, "ports", &ports))
        return 0;
    for (size_t i = 0; i < json_object_array_length(ports); i++)
        if (json_object_object_get_ex(json_object_array_get_idx(ports, i), field, &v))
            sum += json_object_get_int64(v);
    return sum;
}

int64_t lab_port_max_latency_ns(const struct lab_case *c, unsigned dom, unsigned port)
{
    struct json_object *p = port_of(c, dom, port), *path, *sth, *max;
    if (p && json_object_object_get_ex(p, "path", &path) &&
        json_object_object_get_ex(path, "send_to_handler", &sth) &&
        json_object_object_get_ex(sth, "max_ns", &max))
        return json_object_get_int64(max);
    return -1;
}

bool lab_student_finished(const struct lab_case *c, char *why, size_t n)
{
    const char *status = lab_dom_status(c, c->student_dom);
    if (!strcmp(status, "poweroff"))
        return true;
    struct json_object *d = domain_of(c, c->student_dom), *crash;
    const char *reason =
        d && json_object_object_get_ex(d, "crash", &crash) ? json_object_get_string(crash) : "";
    const char *panic = c->console ? strstr(c->console, "PANIC: ") : NULL;
    if (panic && strchr(panic, '\n'))
        snprintf(why, n, "the guest crashed: %.*s", (int)(strchr(panic, '\n') - panic), panic);
    else if (!strcmp(status, "running"))
        snprintf(why, n,
                 "the guest was still running when the run length ended (waiting for "
                 "an event that never came?)");
    else
        snprintf(why, n, "the guest ended %s%s%s", *status ? status : "without a report",
                 *reason ? ": " : "", reason);
    return false;
}

/* ---- grading ------------------------------------------------------------------------------ */

struct outcome {
    bool pass;
    unsigned failed_case; /* the first that failed */
    char why[512];
};

static void grade(const struct lab *l, struct lab_case *cases, struct outcome *out)
{
    for (unsigned k = 0; k < l->nr_checks; k++) {
        out[k] = (struct outcome){.pass = true};
        for (unsigned i = 0; i < l->nr_cases && out[k].pass; i++) {
            if (!l->checks[k].pass(&cases[i], out[k].why, sizeof(out[k].why))) {
                out[k].pass = false;
                out[k].failed_case = i + 1;
            }
        }
    }
}

/* Print text from column `col` on, wrapped at word boundaries before column 100, continued
 * lines indented by 19. */
static void print_wrapped(const char *text, unsigned col)
{
    const unsigned width = 100, indent = 19;
    bool first = true;
    for (text += strspn(text, " "); *text; text += strspn(text, " ")) {
        size_t word = strcspn(text, " ");
        if (!first && col + 1 + word > width) {
            printf("\n%*s", (int)indent, "");
            col = indent;
        } else if (!first) {
            putchar(' ');
            col++;
        }
        printf("%.*s", (int)word, text);
        col += (unsigned)word;
        text += word;
        first = false;
    }
    putchar('\n');
}

static bool not_judged(const struct outcome *o)
{
    return !strncmp(o->why, LAB_NOT_JUDGED, strlen(LAB_NOT_JUDGED));
}

static void print_result(const struct lab *l, const char *file, uint64_t seed,
                         const struct lab_case *cases, const struct outcome *out)
{
    const char *base = strrchr(file, '/') ? strrchr(file, '/') + 1 : file;
    unsigned score = 0, failed = 0;
    printf("lab %u: %s %s\nfile %s, seed %llu\n\n", l->number, l->title, l->tags, base,
           (unsigned long long)seed);
    for (unsigned i = 0; i < l->nr_cases; i++) {
        char why[256];
        if (lab_student_finished(&cases[i], why, sizeof(why)))
            printf("case %u  %s: exit status %d\n", i + 1, cases[i].note, cases[i].exit_status);
        else
            printf("case %u  %s: did not finish (see finishes)\n", i + 1, cases[i].note);
    }
    printf("\n");
    for (unsigned k = 0; k < l->nr_checks; k++) {
        unsigned pts = out[k].pass ? l->checks[k].points : 0;
        score += pts;
        failed += !out[k].pass;
        printf("%s  %2u/%-2u  %s\n", out[k].pass ? "PASS" : "FAIL", pts, l->checks[k].points,
               l->checks[k].name);
        if (!out[k].pass) {
            printf("             case %u: ", out[k].failed_case);
            print_wrapped(out[k].why, 23);
            /* Not judged (no result printed): its rule may be why, or not; said as much. */
            printf(not_judged(&out[k]) ? "             if this is why: " : "             hint: ");
            print_wrapped(l->checks[k].hint, not_judged(&out[k]) ? 29 : 19);
        }
    }
    printf("\nscore %u/%u: %s\n", score, max_points(l),
           failed ? "some checks failed" : "every check passed");
}

static struct json_object *result_json(const struct lab *l, uint64_t seed,
                                       const struct lab_case *cases, const struct outcome *out)
{
    struct json_object *j = json_object_new_object(), *cs = json_object_new_array(),
                       *ks = json_object_new_array();
    unsigned score = 0;
    json_object_object_add(j, "lab", json_object_new_int((int)l->number));
    json_object_object_add(j, "title", json_object_new_string(l->title));
    json_object_object_add(j, "seed", json_object_new_uint64(seed));
    for (unsigned i = 0; i < l->nr_cases; i++) {
        struct json_object *o = json_object_new_object();
        json_object_object_add(o, "case", json_object_new_int((int)i + 1));
        json_object_object_add(o, "scenario", json_object_new_string(cases[i].note));
        json_object_object_add(o, "exit_status", json_object_new_int(cases[i].exit_status));
        json_object_array_add(cs, o);
    }
    for (unsigned k = 0; k < l->nr_checks; k++) {
        struct json_object *o = json_object_new_object();
        unsigned pts = out[k].pass ? l->checks[k].points : 0;
        score += pts;
        json_object_object_add(o, "name", json_object_new_string(l->checks[k].name));
        json_object_object_add(o, "pass", json_object_new_boolean(out[k].pass));
        json_object_object_add(o, "points", json_object_new_int((int)pts));
        json_object_object_add(o, "max", json_object_new_int((int)l->checks[k].points));
        json_object_object_add(o, "case", json_object_new_int((int)out[k].failed_case));
        json_object_object_add(o, "seen", json_object_new_string(out[k].pass ? "" : out[k].why));
        json_object_object_add(o, "hint",
                               json_object_new_string(out[k].pass ? "" : l->checks[k].hint));
        json_object_array_add(ks, o);
    }
    json_object_object_add(j, "score", json_object_new_int((int)score));
    json_object_object_add(j, "max", json_object_new_int((int)max_points(l)));
    json_object_object_add(j, "cases", cs);
    json_object_object_add(j, "checks", ks);
    return j;
}

/* Before the runs: --json's file can be written (its temporary name, then removed), so that
 * the runs are not wasted. 0, or EXIT_BAD_INPUT after saying why. */
static int check_json_path(const char *path)
{
    char tmp[PATH_MAX];
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f) {
        fprintf(stderr, "evsim: lab: --json %s: cannot write it: %s\n", path, strerror(errno));
        return EXIT_BAD_INPUT;
    }
    fclose(f);
    unlink(tmp);
    return 0;
}

/* Written to a temporary name next to path, then renamed: whole or not at all. */
static int write_json(struct json_object *j, const char *path)
{
    char tmp[PATH_MAX];
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    bool ok =
        f &&
        fputs(json_object_to_json_string_ext(j, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED),
              f) >= 0 &&
        fputc('\n', f) != EOF;
    if (f && fclose(f) != 0)
        ok = false;
    if (!ok || rename(tmp, path) != 0) {
        unlink(tmp);
        return bad_input("--json %s: cannot write it", path);
    }
    return 0;
}

/* ---- check -------------------------------------------------------------------------------- */

struct check_opts {
    const struct lab *lab;
    const char *file;
    const char *json_path;
    uint64_t seed;
};

static int parse_check_args(int argc, char **argv, struct check_opts *o, char *skeleton, size_t n)
{
    *o = (struct check_opts){.seed = 1};
    for (int i = 1; i < argc; i++) {
        char *end;
        if (!strcmp(argv[i], "--seed") && i + 1 < argc) {
            errno = 0;
            o->seed = strtoull(argv[++i], &end, 10);
            if (errno || *end || argv[i][0] == '-' || !argv[i][0])
                return bad_input("check: --seed %s: expected a number", argv[i]);
        } else if (!strcmp(argv[i], "--json") && i + 1 < argc) {
            o->json_path = argv[++i];
        } else if (argv[i][0] == '-') {
            return bad_input("check: unknown or incomplete option '%s' (see evsim lab --help)",
                             argv[i]);
        } else if (!o->lab) {
            if (!(o->lab = find_lab(argv[i])))
                return bad_input("check: no lab %s (evsim lab list names them)", argv[i]);
        } else if (!o->file) {
            o->file = argv[i];
        } else {
            return bad_input("check: unexpected argument '%s' (one file at most)", argv[i]);
        }
    }
    if (!o->lab)
        return bad_input("check: which lab? (evsim lab check N [FILE.c|FILE.elf])%s", "");
    if (!o->file) {
        snprintf(skeleton, n, LAB_SOURCE_DIR "/guests/labs/lab%02u.c", o->lab->number);
        o->file = skeleton;
    }
    if (access(o->file, R_OK) != 0)
        return bad_input("check: %s: cannot read it", o->file);
    if (!ends_with(o->file, ".c") && !ends_with(o->file, ".elf"))
        return bad_input("check: %s: expected a C file (.c) or a guest image (.elf)", o->file);
    return 0;
}

/* The ELF to run: FILE.elf itself, or FILE.c built into dir. */
static int student_elf(const struct check_opts *o, const char *dir, char *elf, size_t n)
{
    if (ends_with(o->file, ".elf")) {
        if (o->file[0] == '/')
            snprintf(elf, n, "%s", o->file);
        else if (!getcwd(elf, n) || strlen(elf) + strlen(o->file) + 2 > n)
            return bad_input("check: %s: path too long", o->file);
        else
            strcat(strcat(elf, "/"), o->file);
        return 0;
    }
    snprintf(elf, n, "%s/student.elf", dir);
    return build_guest(o->file, elf);
}

static void free_cases(struct lab_case *cases, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        free(cases[i].console);
        json_object_put(cases[i].report);
    }
    free(cases);
}

static int run_cases(const struct lab *l, uint64_t seed, const char *elf, const char *guest_dir,
                     struct lab_case *cases)
{
    char ini[4096];
    for (unsigned i = 0; i < l->nr_cases; i++) {
        struct lab_case *c = &cases[i];
        c->index = i + 1;
        c->seed = seed * 1000 + i + 1;
        c->rng = c->seed;
        c->exit_status = -1;
        l->scenario(c, elf, ini, sizeof(ini));
        int rc = run_case(c, ini, guest_dir);
        if (rc)
            return rc;
        if (!c->ran)
            return bad_input("case %s: the simulation failed without a report", c->note);
    }
    return 0;
}

static int cmd_check(int argc, char **argv, const char *guest_dir)
{
    struct check_opts o;
    char skeleton[PATH_MAX], elf[PATH_MAX], dir[PATH_MAX - 64];
    int rc = parse_check_args(argc, argv, &o, skeleton, sizeof(skeleton));
    if (!rc && o.json_path)
        rc = check_json_path(o.json_path);
    if (rc)
        return rc;
    const char *tmp = getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(dir, sizeof(dir), "%s/evsim-lab-XXXXXX", tmp);
    if (!mkdtemp(dir))
        return bad_input("cannot make a scratch directory in %s", tmp);
    struct lab_case *cases = calloc(o.lab->nr_cases, sizeof(*cases));
    struct outcome *out = calloc(o.lab->nr_checks, sizeof(*out));
    if (!cases || !out)
        rc = bad_input("out of memory%s", "");
    if (!rc)
        rc = student_elf(&o, dir, elf, sizeof(elf));
    if (!rc)
        rc = run_cases(o.lab, o.seed, elf, guest_dir, cases);
    if (!rc) {
        grade(o.lab, cases, out);
        struct json_object *j = result_json(o.lab, o.seed, cases, out);
        if (o.json_path)
            rc = write_json(j, o.json_path);
        json_object_put(j);
        if (!rc) {
            print_result(o.lab, o.file, o.seed, cases, out);
            for (unsigned k = 0; k < o.lab->nr_checks; k++)
                rc |= !out[k].pass;
        }
    }
    snprintf(elf, sizeof(elf), "%s/student.elf", dir);
    unlink(elf);
    rmdir(dir);
    if (cases)
        free_cases(cases, o.lab->nr_cases);
    free(out);
    return rc;
}

int lab_main(int argc, char **argv, const char *guest_dir)
{
    if (argc < 2) {
        fputs(usage_lab, stderr);
        return EXIT_BAD_INPUT;
    }
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            fputs(usage_lab, stdout);
            return 0;
        }
    if (!strcmp(argv[1], "list"))
        return argc == 2 ? cmd_list() : bad_input("list: takes no arguments%s", "");
    if (!strcmp(argv[1], "show")) {
        const struct lab *l = argc == 3 ? find_lab(argv[2]) : NULL;
        return l ? cmd_show(l)
                 : bad_input("show: which lab? (evsim lab show N; evsim lab list names them)%s",
                             "");
    }
    if (!strcmp(argv[1], "check"))
        return cmd_check(argc - 1, argv + 1, guest_dir);
    if (!strcmp(argv[1], "build")) {
        if (argc != 4 || !ends_with(argv[2], ".c"))
            return bad_input("build: expected FILE.c OUT.elf (evsim lab build FILE.c OUT.elf)%s",
                             "");
        return build_guest(argv[2], argv[3]);
    }
    return bad_input("unknown command '%s' (list, show or check; see evsim lab --help)", argv[1]);
}
