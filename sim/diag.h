/* Host-side diagnostics: a message naming the file and line or offset of a bad input. sim/ fills
 * one of these instead of printing, so the command decides where it goes (and exits 2). */
#ifndef EVSIM_SIM_DIAG_H
#define EVSIM_SIM_DIAG_H

#include <stdarg.h>

struct diag {
    char msg[1024];
};

/* Format into d->msg; returns -1 so callers can `return diag_set(...)`. */
int diag_set(struct diag *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
