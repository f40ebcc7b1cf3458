/* The lab course's checker (`evsim lab`, docs/labs/): builds a student's guest, runs it on
 * scenarios generated from a seed, and grades the runs with named checks worth points.
 *
 * sim/lab.c is the command (list, show, check), the build, the runs (one child process each:
 * SystemC runs one simulation per process) and the readers of a run's console and report;
 * sim/lab_labs.c holds the labs: per lab its scenarios and a table of checks. */
#ifndef EVSIM_SIM_LAB_H
#define EVSIM_SIM_LAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct json_object;

#define LAB_MAX_PARAMS 8

/* One scenario of a check and what its run gave. */
struct lab_case {
    unsigned index;             /* 1.. */
    uint64_t seed;              /* this case's own seed, derived from --seed */
    uint64_t rng;               /* the generator's state while the scenario is made */
    uint64_t p[LAB_MAX_PARAMS]; /* what the scenario chose (the lab's own meaning) */
    char note[160];             /* the same, for people: "ports=87 rounds=3" */
    unsigned student_dom;       /* the student's domain: 1 with a partner, else 0 */
    bool ran;                   /* the simulation ran and reported */
    int exit_status;            /* the run's (evsim run's meaning) */
    char *console;              /* the guests' console, d<dom>v<vcpu> prefixed */
    struct json_object *report; /* the JSON report (docs/report.md) */
};

/* A failure's why starting so was not judged on the check's rule (the guest printed no result):
 * no hint is given for it. */
#define LAB_NOT_JUDGED "not judged: "

/* A named check: passes when pass() holds for every case. On failure pass() says what it saw
 * in why; the hint teaches the rule and where to read about it. */
struct lab_check {
    const char *name;
    unsigned points;
    bool (*pass)(const struct lab_case *c, char *why, size_t n);
    const char *hint;
};

struct lab {
    unsigned number;
    const char *title;
    const char *tags; /* difficulty and topic tags: "[intro] [2l]" */
    unsigned nr_cases;
    /* Choose case c's parameters (c->p, c->note; lab_rand draws from c->rng) and write its
     * scenario, running the student's guest `elf`, into ini. */
    void (*scenario)(struct lab_case *c, const char *elf, char *ini, size_t n);
    const struct lab_check *checks;
    unsigned nr_checks;
};

extern const struct lab lab_table[];
extern const unsigned lab_count;

/* ---- for the labs (sim/lab.c) ---- */

/* A number in [lo, hi] from the case's generator. */
uint64_t lab_rand(struct lab_case *c, uint64_t lo, uint64_t hi);
/* The scenario text: the student's guest alone (partner NULL: it is dom0), or the partner
 * guest (lab_partner) as dom0 and the student's as dom1. Sets c->student_dom. */
void lab_scenario_text(struct lab_case *c, char *ini, size_t n, unsigned run_ms, const char *elf,
                       const char *student_cmdline, const char *partner_cmdline);
/* The last value of key= on the student's "lab:" console lines; false when none. */
bool lab_console_u64(const struct lab_case *c, const char *key, uint64_t *out);
/* The same on another domain's "lab:" lines (a partner that reports). */
bool lab_console_u64_of(const struct lab_case *c, unsigned dom, const char *key, uint64_t *out);
/* Every value of key= on those lines, in order: how many (at most max are stored). */
unsigned lab_console_all(const struct lab_case *c, const char *key, uint64_t *out, unsigned max);
/* A domain's field (upcalls, hypercalls, guest_instructions...) or -1. */
int64_t lab_dom_field(const struct lab_case *c, unsigned dom, const char *field);
const char *lab_dom_status(const struct lab_case *c, unsigned dom); /* "" when unknown */
/* A port's counter (sends, raised, delivered, coalesced, pending_at_end...); 0 when the report
 * has no row for the port (nothing happened on it). */
int64_t lab_port_field(const struct lab_case *c, unsigned dom, unsigned port, const char *field);
/* A counter summed over every port of the domain (0 when it has none). */
int64_t lab_ports_sum(const struct lab_case *c, unsigned dom, const char *field);
/* The port's worst send-to-handler latency in ns, or -1 when nothing was delivered. */
int64_t lab_port_max_latency_ns(const struct lab_case *c, unsigned dom, unsigned port);
/* Fill why with "<status>: <crash reason>" when the student's domain did not power off: true
 * when it did. Labs use it as their first check. */
bool lab_student_finished(const struct lab_case *c, char *why, size_t n);

/* ---- building guests ---- */

/* Compile and link the nsrc C files into the guest ELF elf exactly as guests/ builds its own
 * (compiler, flags, runtime linked whole, guests/rt/guest.ld): 0, or 2 after showing the
 * compiler's messages (prefixed "evsim: <who>:"; no file is left). `evsim guest build` and
 * `evsim lab` use it. */
int guest_build(const char *const *src, unsigned nsrc, const char *elf, const char *who);

/* ---- the command ---- */

/* evsim lab list | show N | check N [FILE.c|FILE.elf] [--seed S] [--json F]: the exit status
 * (0 every check passed, 1 some failed, 2 bad input). */
int lab_main(int argc, char **argv, const char *guest_dir);

#endif
