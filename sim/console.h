/* The machine's console: guest lines and Xen's messages, printed in simulated-time order.
 * CPUs run ahead of each other (docs/timing.md), so a line written by one CPU may be earlier in
 * simulated time than one another CPU wrote before it: lines wait here until no CPU can write
 * an earlier one, then go out sorted by time (ties in the order they were written). */
#ifndef EVSIM_SIM_CONSOLE_H
#define EVSIM_SIM_CONSOLE_H

#include <stdint.h>
#include <stdio.h>

struct console_line {
    uint64_t at, seq;
    char *text; /* the whole line, newline included */
};

struct console {
    FILE *out;
    struct console_line *line;
    unsigned n, cap;
    uint64_t seq;
};

void console_init(struct console *c, FILE *out);
/* Queue a line (printf-style, without its newline) written at cycle `at`. */
void console_printf(struct console *c, uint64_t at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Print, in order, every line written before cycle `before` (UINT64_MAX: all). */
void console_flush(struct console *c, uint64_t before);
void console_free(struct console *c);

#endif
