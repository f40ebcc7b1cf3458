/* INI files read with libinih, with what it does not give: the line number of every section and
 * key (every complaint names file and line), and values of any length: a long line, or a value
 * continued on indented lines, reaches the caller as one value, its parts joined by single
 * spaces. Used for scenarios and CPU profiles. */
#ifndef EVSIM_SIM_INIFILE_H
#define EVSIM_SIM_INIFILE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "sim/diag.h"

struct inifile {
    const char *name; /* for messages: the path, or a label such as "<default>" */
    unsigned line;    /* the line being handled */
    struct diag *d;
    bool failed;
    /* What the caller provides: return false (after inifile_fail) to stop. */
    bool (*section)(struct inifile *f, void *user, const char *name);
    bool (*key)(struct inifile *f, void *user, const char *key, const char *value);
    void *user;
    /* input: one of them */
    const char *text;
    FILE *file;
    /* reader state */
    char *raw;
    size_t raw_cap;
    const char *carry; /* the rest of a long line not handed over yet */
    bool continuation; /* the line being parsed continues the previous key */
    char pending_key[64];
    char pending_value[2048];
    unsigned pending_line;
};

/* Parse text (file NULL) or an open file. 0, or -1 with f->d set ("name:line: message"). */
int inifile_parse(struct inifile *f);
/* Record "name:line: <message>" and mark the parse failed; returns false. */
bool inifile_fail(struct inifile *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Values: decimal (010 is ten) or 0x hexadecimal, no sign; false on anything else. */
bool inifile_u64(const char *v, uint64_t *out);
/* yes/true/on/1 and no/false/off/0. */
bool inifile_bool(const char *v, bool *out);

#endif
