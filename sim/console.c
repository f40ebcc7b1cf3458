#include "sim/console.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

void console_init(struct console *c, FILE *out)
{
    memset(c, 0, sizeof(*c));
    c->out = out;
}

void console_printf(struct console *c, uint64_t at, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    size_t len = (size_t)n < sizeof(buf) - 1 ? (size_t)n : sizeof(buf) - 2;
    buf[len++] = '\n';
    buf[len] = 0;
    char *text = malloc(len + 1);
    if (c->n == c->cap) {
        unsigned cap = c->cap ? 2 * c->cap : 64;
        struct console_line *l = realloc(c->line, cap * sizeof(*l));
        if (l) {
            c->line = l;
            c->cap = cap;
        }
    }
    if (!text || c->n == c->cap) { /* out of memory: print now rather than lose it */
        free(text);
        fputs(buf, c->out);
        return;
    }
    memcpy(text, buf, len + 1);
    c->line[c->n++] = (struct console_line){at, c->seq++, text};
}

static int by_time(const void *a, const void *b)
{
    const struct console_line *x = a, *y = b;
    if (x->at != y->at)
        return x->at < y->at ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

void console_flush(struct console *c, uint64_t before)
{
    if (!c->n)
        return;
    qsort(c->line, c->n, sizeof(*c->line), by_time);
    unsigned done = 0;
    while (done < c->n && (before == UINT64_MAX || c->line[done].at < before)) {
        fputs(c->line[done].text, c->out);
        free(c->line[done].text);
        done++;
    }
    memmove(c->line, c->line + done, (c->n - done) * sizeof(*c->line));
    c->n -= done;
}

void console_free(struct console *c)
{
    console_flush(c, UINT64_MAX);
    free(c->line);
    memset(c, 0, sizeof(*c));
}
