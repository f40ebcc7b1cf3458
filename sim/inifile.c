#include "sim/inifile.h"

#include <errno.h>
#include <ini.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>

/* libinih hands lines to its parser through a fixed buffer (200 bytes in Debian's build) and
 * calls back only for keys. This reader therefore (1) counts lines and opens sections itself,
 * (2) splits a long "key = value" line at spaces into the first part and indented continuation
 * lines, which the library passes on as the same key, and (3) joins continuations (split or
 * written by the user, indented) into one value before the caller sees the key. */

bool inifile_fail(struct inifile *f, const char *fmt, ...)
{
    char what[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    diag_set(f->d, "%s:%u: %s", f->name, f->line, what);
    f->failed = true;
    return false;
}

/* Hand the key gathered so far (with its continuations) to the caller. */
static void flush_key(struct inifile *f)
{
    if (!f->pending_key[0] || f->failed)
        return;
    unsigned line = f->line;
    f->line = f->pending_line;
    if (!f->key(f, f->user, f->pending_key, f->pending_value))
        f->failed = true;
    f->line = line;
    f->pending_key[0] = 0;
}

static void maybe_open_section(struct inifile *f, const char *line)
{
    while (*line == ' ' || *line == '\t')
        line++;
    const char *close = strchr(line, ']');
    if (*line != '[' || !close)
        return;
    flush_key(f);
    char name[128];
    const char *a = line + 1, *b = close;
    while (a < b && (*a == ' ' || *a == '\t'))
        a++;
    while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
        b--;
    snprintf(name, sizeof(name), "%.*s", (int)(b - a), a);
    if (!f->failed && !f->section(f, f->user, name))
        f->failed = true;
}

/* The next raw line (without its newline) into f->raw; false at the end. */
static bool next_raw_line(struct inifile *f)
{
    size_t n = 0;
    if (f->file) {
        ssize_t got = getline(&f->raw, &f->raw_cap, f->file);
        if (got < 0)
            return false;
        n = (size_t)got;
    } else {
        const char *src = f->text;
        if (!*src)
            return false;
        while (src[n] && src[n] != '\n')
            n++;
        if (n + 1 > f->raw_cap) {
            f->raw_cap = n + 1;
            f->raw = realloc(f->raw, f->raw_cap);
        }
        memcpy(f->raw, src, n);
        f->text += n + (src[n] == '\n');
    }
    while (n && (f->raw[n - 1] == '\n' || f->raw[n - 1] == '\r'))
        n--;
    f->raw[n] = 0;
    f->carry = NULL;
    return true;
}

#define NO_BREAK ((size_t)-1)

/* Up to room bytes of s, cut after a space when s is longer; NO_BREAK when there is no space to
 * cut at (joining would then add a space that was not there). */
static size_t chunk(const char *s, size_t room)
{
    size_t n = strlen(s);
    if (n <= room)
        return n;
    size_t cut = room;
    while (cut > 1 && s[cut - 1] != ' ')
        cut--;
    return s[cut - 1] == ' ' ? cut : NO_BREAK;
}

static bool is_key_line(const char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    return *s && *s != '#' && *s != ';' && *s != '[' && strchr(s, '=');
}

static char *read_line(char *buf, int size, void *stream)
{
    struct inifile *f = stream;
    size_t room = (size_t)size - 4; /* newline, terminator and a two-space indent */
    if (f->failed)
        return NULL;
    if (f->carry && *f->carry) { /* the rest of a long line: an indented continuation */
        size_t n = chunk(f->carry, room);
        if (n == NO_BREAK)
            return inifile_fail(f, "line longer than %zu characters with no space to break it",
                                room),
                   NULL;
        snprintf(buf, (size_t)size, "  %.*s\n", (int)n, f->carry);
        f->carry += n;
        f->continuation = true;
        return buf;
    }
    if (!next_raw_line(f))
        return NULL;
    f->line++;
    const char *s = f->raw;
    f->continuation =
        (*s == ' ' || *s == '\t') && s[strspn(s, " \t")] && !strchr("#;", s[strspn(s, " \t")]);
    if (strlen(s) > room && !is_key_line(s) && !f->continuation) {
        if (s[strspn(s, " \t")] == '#' || s[strspn(s, " \t")] == ';')
            s = "#"; /* a long comment is still a comment */
        else
            return inifile_fail(f, "line longer than %zu characters", room), NULL;
    }
    size_t n = chunk(s, room);
    if (n == NO_BREAK)
        return inifile_fail(f, "line longer than %zu characters with no space to break it", room),
               NULL;
    snprintf(buf, (size_t)size, "%.*s\n", (int)n, s);
    f->carry = s + n;
    maybe_open_section(f, buf);
    return buf;
}

static int on_key(void *user, const char *section, const char *name, const char *value)
{
    struct inifile *f = user;
    (void)section; /* tracked by the line reader */
    if (f->failed)
        return 0;
    if (f->continuation && f->pending_key[0] && !strcmp(f->pending_key, name)) {
        size_t have = strlen(f->pending_value);
        snprintf(f->pending_value + have, sizeof(f->pending_value) - have, "%s%s", have ? " " : "",
                 value);
        return 1;
    }
    flush_key(f);
    if (strlen(name) >= sizeof(f->pending_key) || strlen(value) >= sizeof(f->pending_value))
        return inifile_fail(f, "key or value too long"), 0;
    snprintf(f->pending_key, sizeof(f->pending_key), "%s", name);
    snprintf(f->pending_value, sizeof(f->pending_value), "%s", value);
    f->pending_line = f->line;
    return !f->failed;
}

int inifile_parse(struct inifile *f)
{
    f->line = 0;
    f->failed = false;
    f->pending_key[0] = 0;
    int rc = ini_parse_stream(read_line, f, on_key, f);
    flush_key(f);
    free(f->raw);
    f->raw = NULL;
    if (f->failed)
        return -1;
    if (rc != 0) {
        diag_set(f->d, "%s:%d: syntax error (expected [section] or key = value)", f->name, rc);
        return -1;
    }
    return 0;
}

bool inifile_u64(const char *v, uint64_t *out)
{
    char *end;
    if (!*v || *v == '-' || *v == '+' || *v == ' ')
        return false;
    bool hex = v[0] == '0' && (v[1] == 'x' || v[1] == 'X');
    errno = 0;
    unsigned long long x = strtoull(v, &end, hex ? 16 : 10); /* 010 is ten, not eight */
    if (errno || *end || end == v)
        return false;
    *out = x;
    return true;
}

bool inifile_bool(const char *v, bool *out)
{
    static const char *const yes[] = {"yes", "true", "on", "1"};
    static const char *const no[] = {"no", "false", "off", "0"};
    for (unsigned i = 0; i < 4; i++) {
        if (!strcasecmp(v, yes[i]))
            return (*out = true);
        if (!strcasecmp(v, no[i]))
            return !(*out = false);
    }
    return false;
}
