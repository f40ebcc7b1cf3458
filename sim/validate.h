/* evsim validate: the model's predictions next to the published figures they can be compared
 * with (docs/validation.md is this command's output). */
#ifndef EVSIM_SIM_VALIDATE_H
#define EVSIM_SIM_VALIDATE_H

#include <stdbool.h>
#include <stdio.h>

/* Run every comparison (each in its own process: SystemC allows one simulation per process)
 * and print the table, as text or as Markdown. 0, or 1 when a run failed. */
int validate_run(FILE *out, const char *guest_dir, bool markdown);

#endif
