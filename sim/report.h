/* The report of a run: built once as a JSON document (json-c), then written as JSON (--json) or
 * rendered as text. One source for both, so they never disagree. */
#ifndef EVSIM_SIM_REPORT_H
#define EVSIM_SIM_REPORT_H

#include <stdio.h>

#include "sim/machine.h"

struct json_object;

struct json_object *report_build(struct machine *m);
void report_print_text(struct json_object *r, FILE *out);
/* Write atomically (temporary file, then rename): 0, or -1 with d. */
int report_write_json(struct json_object *r, const char *path, struct diag *d);
/* Any text, or JSON document, written whole or not at all; messages name the flag that asked
 * for it. */
int text_file_write(const char *text, const char *path, const char *flag, struct diag *d);
int json_file_write(struct json_object *r, const char *path, const char *flag, struct diag *d);

#endif
