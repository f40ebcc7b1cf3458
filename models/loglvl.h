/* Xen's log levels as guest_loglvl sets them: a message of level L is printed when L < lower,
 * goes through printk's rate limit when lower <= L < upper, and is discarded otherwise. Levels
 * run from 0 (none) to CONSOLE_LOG_ALL; a guest's console line is XENLOG_DEBUG. No dependency
 * on the rest of the model: the scenario reader uses it. */
#ifndef EVSIM_MODELS_LOGLVL_H
#define EVSIM_MODELS_LOGLVL_H

#define CONSOLE_LOG_ALL 4
#define CONSOLE_LOG_GUEST_LINE 3

/* "LOWER[/UPPER]", each none, error, warning, info, debug or all: 0, or -1. */
int console_parse_loglvl(const char *s, int *lower, int *upper);

#endif
