/* Xen's guest_loglvl option (xen/drivers/char/console.c, _parse_loglvl). */
#include "models/loglvl.h"

#include <stddef.h>
#include <string.h>

/* Xen's _parse_loglvl: LOWER[/UPPER], each none, error, warning, info, debug or all; an
 * upper below the lower is raised to it. */
static int parse_level(const char *s, const char **end)
{
    static const struct {
        const char *name;
        int level;
    } levels[] = {{"none", 0}, {"error", 1}, {"warning", 2},
                  {"info", 3}, {"debug", 4}, {"all", CONSOLE_LOG_ALL}};
    for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
        size_t n = strlen(levels[i].name);
        if (!strncmp(s, levels[i].name, n)) {
            *end = s + n;
            return levels[i].level;
        }
    }
    return -1;
}

int console_parse_loglvl(const char *s, int *lower, int *upper)
{
    *lower = *upper = parse_level(s, &s);
    if (*lower >= 0 && *s == '/')
        *upper = parse_level(s + 1, &s);
    if (*lower < 0 || *upper < 0 || *s)
        return -1;
    if (*upper < *lower)
        *upper = *lower;
    return 0;
}
