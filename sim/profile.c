#include "sim/profile.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/inifile.h"

struct parse {
    struct cost_profile *p;
    int cost;                /* the [cost] section being read, -1 for [profile], -2 before any */
    unsigned seen[COST_IDS]; /* bit per key: value 1, unit 2, confidence 4, source 8 */
    unsigned section_line[COST_IDS];
    bool have_cpu, have_clock, have_clock_source;
};

#define ALL_KEYS 15u

static int cost_by_name(const char *name)
{
    for (int i = 0; i < COST_IDS; i++)
        if (!strcmp(cost_names[i], name))
            return i;
    return -1;
}

static bool on_section(struct inifile *f, void *user, const char *name)
{
    struct parse *p = user;
    if (!strcmp(name, "profile")) {
        p->cost = -1;
        return true;
    }
    p->cost = cost_by_name(name);
    if (p->cost < 0)
        return inifile_fail(f, "unknown section [%s]: not a cost constant (see docs/profiles.md)",
                            name);
    if (p->section_line[p->cost])
        return inifile_fail(f, "[%s] is defined twice (first at line %u)", name,
                            p->section_line[p->cost]);
    p->section_line[p->cost] = f->line;
    return true;
}

static bool profile_key(struct inifile *f, struct parse *p, const char *key, const char *value)
{
    struct cost_profile *prof = p->p;
    uint64_t mhz;
    if (!strcmp(key, "cpu") && strlen(value) < sizeof(prof->cpu)) {
        snprintf(prof->cpu, sizeof(prof->cpu), "%s", value);
        return p->have_cpu = true;
    }
    if (!strcmp(key, "clock_mhz")) {
        if (!inifile_u64(value, &mhz) || mhz < 100 || mhz > 10000)
            return inifile_fail(f, "clock_mhz = %s: expected 100 to 10000", value);
        prof->cpu_khz = mhz * 1000;
        return p->have_clock = true;
    }
    if (!strcmp(key, "clock_source") && strlen(value) < sizeof(prof->clock_source)) {
        snprintf(prof->clock_source, sizeof(prof->clock_source), "%s", value);
        return p->have_clock_source = true;
    }
    return inifile_fail(f, "unknown or too long key '%s' in [profile]", key);
}

static bool cost_value(struct inifile *f, struct cost_entry *e, const char *value)
{
    char *end;
    errno = 0;
    double v = strtod(value, &end);
    if (errno || *end || end == value || !(v >= 0) || v > 1e9)
        return inifile_fail(f, "value = %s: expected a non-negative number", value);
    e->value = v;
    return true;
}

static bool cost_key(struct inifile *f, struct parse *p, const char *key, const char *value)
{
    struct cost_entry *e = &p->p->c[p->cost];
    static const char *const keys[] = {"value", "unit", "confidence", "source"};
    unsigned k = 0;
    while (k < 4 && strcmp(keys[k], key))
        k++;
    if (k == 4)
        return inifile_fail(f, "unknown key '%s' (expected value, unit, confidence, source)", key);
    p->seen[p->cost] |= 1u << k;
    if (k == 0)
        return cost_value(f, e, value);
    if (k == 1) {
        if (strcmp(value, "cycles") && strcmp(value, "ns"))
            return inifile_fail(f, "unit = %s: expected cycles or ns", value);
        snprintf(e->unit, sizeof(e->unit), "%s", value);
        return true;
    }
    if (k == 2) {
        if (strlen(value) != 1 || !strchr("CSUEM", value[0]))
            return inifile_fail(f, "confidence = %s: expected C, S, U, E or M", value);
        e->confidence = value[0];
        return true;
    }
    if (!*value || strlen(value) >= sizeof(e->source))
        return inifile_fail(f, "source: empty or longer than %zu characters",
                            sizeof(e->source) - 1);
    snprintf(e->source, sizeof(e->source), "%s", value);
    return true;
}

static bool on_key(struct inifile *f, void *user, const char *key, const char *value)
{
    struct parse *p = user;
    if (p->cost == -2)
        return inifile_fail(f, "'%s' outside any section", key);
    return p->cost == -1 ? profile_key(f, p, key, value) : cost_key(f, p, key, value);
}

/* Every constant present and complete; ns converted to cycles at the profile's clock. */
static int check_complete(struct cost_profile *prof, const struct parse *p, const char *name,
                          struct diag *d)
{
    if (!p->have_cpu || !p->have_clock || !p->have_clock_source)
        return diag_set(d, "%s: [profile] needs cpu, clock_mhz and clock_source", name);
    for (int i = 0; i < COST_IDS; i++) {
        if (!p->section_line[i])
            return diag_set(d, "%s: no [%s] section (every constant is required)", name,
                            cost_names[i]);
        if (p->seen[i] != ALL_KEYS)
            return diag_set(d, "%s:%u: [%s] needs value, unit, confidence and source", name,
                            p->section_line[i], cost_names[i]);
        struct cost_entry *e = &prof->c[i];
        double cycles = !strcmp(e->unit, "ns") ? e->value * (double)prof->cpu_khz / 1e6 : e->value;
        e->cycles = (uint64_t)(cycles + 0.5);
    }
    return 0;
}

static int parse(struct cost_profile *prof, const char *name, const char *text, FILE *file,
                 struct diag *d)
{
    struct parse p = {.p = prof, .cost = -2};
    memset(prof, 0, sizeof(*prof));
    const char *base = strrchr(name, '/');
    snprintf(prof->name, sizeof(prof->name), "%.*s", (int)strcspn(base ? base + 1 : name, "."),
             base ? base + 1 : name);
    struct inifile f = {.name = name,
                        .d = d,
                        .section = on_section,
                        .key = on_key,
                        .user = &p,
                        .text = text,
                        .file = file};
    if (inifile_parse(&f) < 0)
        return -1;
    return check_complete(prof, &p, name, d);
}

int profile_parse_text(struct cost_profile *p, const char *name, const char *text, struct diag *d)
{
    return parse(p, name, text, NULL, d);
}

static bool is_path(const char *spec)
{
    size_t n = strlen(spec);
    return strchr(spec, '/') || (n > 4 && !strcmp(spec + n - 4, ".ini"));
}

int profile_load(struct cost_profile *p, const char *spec, const char *base_dir, struct diag *d)
{
    if (!is_path(spec)) {
        for (unsigned i = 0; i < profile_nr_builtins; i++)
            if (!strcmp(profile_builtins[i].name, spec))
                return parse(p, profile_builtins[i].name, profile_builtins[i].text, NULL, d);
        return diag_set(d,
                        "cpu profile '%s' not found: `evsim profiles` lists them, or give a "
                        "path to a profile file",
                        spec);
    }
    char path[2048];
    if (spec[0] != '/' && base_dir && base_dir[0])
        snprintf(path, sizeof(path), "%s/%s", base_dir, spec);
    else
        snprintf(path, sizeof(path), "%s", spec);
    FILE *f = fopen(path, "r");
    if (!f)
        return diag_set(d, "%s: cannot open cpu profile: %s", path, strerror(errno));
    int rc = parse(p, path, NULL, f, d);
    fclose(f);
    return rc;
}
