/* `evsim run`'s teaching options (docs/teaching.md): the narration (--explain and its filters,
 * --explain-json), Xen's 'e' debug key at chosen times (--dump-at), and, with the step-through
 * page, --html. Parsed with the other run options; set up after the machine is built and
 * finished after it ran. */
#ifndef EVSIM_SIM_TEACH_H
#define EVSIM_SIM_TEACH_H

#include <stdbool.h>
#include <stdint.h>

#include "sim/diag.h"

struct machine;

/* A time given by the user: a number with a unit (ns, us, ms, s, or c for cycles; ns without). */
struct teach_time {
    uint64_t value;
    bool cycles; /* value is in cycles; else in ns */
};

#define TEACH_MAX_DUMPS 32u

struct teach_opts {
    bool explain;             /* --explain */
    const char *explain_json; /* --explain-json FILE */
    const char *html;         /* --html FILE */
    long long domain, port;   /* --domain, --port; -1: all */
    long long limit;          /* --limit; 0: none */
    bool from_given;
    struct teach_time from; /* --from */
    struct teach_time dump_at[TEACH_MAX_DUMPS];
    unsigned nr_dumps;
    bool dump_end; /* --dump-at end */
};

void teach_opts_init(struct teach_opts *o);
/* "5ms", "1200c", "300" (ns): 0, or -1 if it is not such a time. */
int teach_parse_time(const char *s, struct teach_time *t);
/* --dump-at VALUE ("end" or a time): 0, or -1 with d. */
int teach_add_dump(struct teach_opts *o, const char *value, struct diag *d);
/* Are the filters given without anything to filter? 0, or -1 with d. */
int teach_check(const struct teach_opts *o, struct diag *d);
/* After machine_build: the narrator, the probes. 0, or -1 with d (bad --domain, memory). */
int teach_start(struct machine *m, const struct teach_opts *o, struct diag *d);
/* After machine_run: the dumps asked for at the end, and the files. 0, or -1 with d (nothing
 * half-written). Frees what teach_start made. */
int teach_finish(struct machine *m, const struct teach_opts *o, struct diag *d);
/* Frees what teach_start made, writing nothing (the run failed). */
void teach_discard(struct machine *m);

#endif
