/* evsim validate: the model's predictions next to the published figures they can be compared
 * with (docs/validation.md is this command's output). */
#ifndef EVSIM_SIM_VALIDATE_H
#define EVSIM_SIM_VALIDATE_H

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>

/* Run every comparison (each in its own process: SystemC allows one simulation per process)
 * and print the table, as text or as Markdown. 0, or 1 when a run failed. When *interrupt
 * becomes non-zero (a signal's number; interrupt may be NULL), no further comparison starts:
 * the rows that finished are printed, marked as a partial table, and 128 + the signal is
 * returned. */
int validate_run(FILE *out, const char *guest_dir, bool markdown,
                 const volatile sig_atomic_t *interrupt);

#endif
