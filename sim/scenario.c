#include "sim/scenario.h"

#include <errno.h>
#include <ini.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stddef.h>
#include <strings.h>

const char scenario_default_text[] =
    "# The embedded default scenario: dom0 and one domU play ping-pong over an\n"
    "# inter-domain event channel; domU paces its pings with the one-shot timer\n"
    "# (VIRQ_TIMER), one every 100 us after each pong.\n"
    "[machine]\n"
    "pcpus = 2\n"
    "seed = 1\n"
    "run_ms = 100\n"
    "\n"
    "[domain dom0]\n"
    "guest = pingpong\n"
    "privileged = yes\n"
    "cmdline = role=back peer=1 rounds=20\n"
    "\n"
    "[domain domU]\n"
    "guest = pingpong\n"
    "cmdline = role=front peer=0 port=1 rounds=20 interval=100000\n";

/* Parse state: inih gives no line numbers to handlers, so the line reader counts them. */
struct parse {
    struct scenario *s;
    struct diag *d;
    const char *name;
    unsigned line;
    int section; /* 0 machine, 1 domain, 2 pirq, -1 none */
    bool failed;
    const char *text; /* for string input */
    FILE *file;
};

static int open_section(struct parse *p, const char *section);

/* Section headers are recognised here, where the line number is known, because the library's
 * handler is only called for keys. */
static void maybe_open_section(struct parse *p, const char *line)
{
    while (*line == ' ' || *line == '\t')
        line++;
    const char *close = strchr(line, ']');
    if (*line != '[' || !close)
        return;
    char name[128];
    const char *a = line + 1, *b = close;
    while (a < b && (*a == ' ' || *a == '\t'))
        a++;
    while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
        b--;
    snprintf(name, sizeof(name), "%.*s", (int)(b - a), a);
    open_section(p, name);
}

static char *read_line(char *buf, int size, void *stream)
{
    struct parse *p = stream;
    if (p->failed)
        return NULL;
    const char *src = p->text;
    char *owned = NULL;
    size_t n = 0, cap = 0;
    if (p->file) {
        ssize_t got = getline(&owned, &cap, p->file);
        if (got < 0) {
            free(owned);
            return NULL;
        }
        src = owned;
        n = (size_t)got;
    } else {
        if (!*src)
            return NULL;
        while (src[n] && src[n] != '\n')
            n++;
        n += src[n] == '\n';
        p->text += n;
    }
    p->line++;
    if (n >= (size_t)size - 1) {
        diag_set(p->d, "%s:%u: line longer than %d characters", p->name, p->line, size - 2);
        p->failed = true;
        free(owned);
        return NULL;
    }
    memcpy(buf, src, n);
    buf[n] = 0;
    free(owned);
    maybe_open_section(p, buf);
    return buf;
}

static int fail(struct parse *p, const char *fmt, const char *a, const char *b)
{
    char what[512];
    snprintf(what, sizeof(what), fmt, a, b);
    diag_set(p->d, "%s:%u: %s", p->name, p->line, what);
    p->failed = true;
    return 0;
}

/* Unsigned integer with an optional unit suffix table; false on junk or overflow. */
static bool parse_u64(const char *v, uint64_t *out)
{
    char *end;
    errno = 0;
    if (!*v || *v == '-' || *v == '+' || *v == ' ')
        return false;
    bool hex = v[0] == '0' && (v[1] == 'x' || v[1] == 'X');
    unsigned long long x = strtoull(v, &end, hex ? 16 : 10); /* 010 is ten, not eight */
    if (errno || *end)
        return false;
    *out = x;
    return true;
}

static bool parse_bool(const char *v, bool *out)
{
    static const char *yes[] = {"yes", "true", "on", "1"}, *no[] = {"no", "false", "off", "0"};
    for (unsigned i = 0; i < 4; i++) {
        if (!strcasecmp(v, yes[i]))
            return (*out = true);
        if (!strcasecmp(v, no[i]))
            return !(*out = false);
    }
    return false;
}

struct u64_key {
    const char *key;
    size_t offset;  /* into struct scenario */
    uint64_t scale; /* value * scale */
    uint64_t min, max;
};

static const struct u64_key machine_keys[] = {
    {"seed", offsetof(struct scenario, seed), 1, 0, UINT64_MAX},
    {"run_ns", offsetof(struct scenario, run_ns), 1, 1, UINT64_C(3600000000000)},
    {"run_us", offsetof(struct scenario, run_ns), 1000, 1, UINT64_C(3600000000)},
    {"run_ms", offsetof(struct scenario, run_ns), 1000000, 1, UINT64_C(3600000)},
    {"quantum_ns", offsetof(struct scenario, quantum_ns), 1, 100, UINT64_C(100000000)},
    {"quantum_us", offsetof(struct scenario, quantum_ns), 1000, 1, UINT64_C(100000)},
    {"timeslice_us", offsetof(struct scenario, timeslice_ns), 1000, 1, UINT64_C(1000000)},
    {"timeslice_ms", offsetof(struct scenario, timeslice_ns), 1000000, 1, UINT64_C(1000)},
};

static int machine_key(struct parse *p, const char *name, const char *value)
{
    if (!strcmp(name, "pcpus")) {
        uint64_t n;
        if (!parse_u64(value, &n) || n < 1 || n > 256)
            return fail(p, "pcpus = %s: expected a number from 1 to 256%s", value, "");
        p->s->pcpus = (unsigned)n;
        return 1;
    }
    for (size_t i = 0; i < sizeof(machine_keys) / sizeof(machine_keys[0]); i++) {
        const struct u64_key *k = &machine_keys[i];
        if (strcmp(name, k->key))
            continue;
        uint64_t n;
        if (!parse_u64(value, &n) || n < k->min || n > k->max)
            return fail(p, "%s = %s: out of range or not a number", name, value);
        *(uint64_t *)((char *)p->s + k->offset) = n * k->scale;
        return 1;
    }
    return fail(p, "unknown key '%s' in [machine]%s", name, "");
}

static int domain_key(struct parse *p, const char *name, const char *value)
{
    struct scenario_domain *dom = &p->s->dom[p->s->nr_dom - 1];
    uint64_t n;
    if (!strcmp(name, "guest")) {
        if (strlen(value) >= sizeof(dom->guest) || !*value)
            return fail(p, "guest = %s: empty or too long%s", value, "");
        strcpy(dom->guest, value);
    } else if (!strcmp(name, "cmdline")) {
        /* Indented continuation lines (and repeated cmdline keys) append, one space apart. */
        size_t have = strlen(dom->cmdline), add = strlen(value);
        if (have + (have ? 1 : 0) + add >= sizeof(dom->cmdline) - 64)
            return fail(p, "cmdline is longer than %s bytes%s", "960", "");
        if (have)
            dom->cmdline[have++] = ' ';
        memcpy(dom->cmdline + have, value, add + 1);
    } else if (!strcmp(name, "vcpus")) {
        if (!parse_u64(value, &n) || n < 1 || n > 32)
            return fail(p, "vcpus = %s: expected 1 to 32 (legacy vcpu_info slots)%s", value, "");
        dom->vcpus = (unsigned)n;
    } else if (!strcmp(name, "memory_mb")) {
        if (!parse_u64(value, &n) || n < 1 || n > 4096)
            return fail(p, "memory_mb = %s: expected 1 to 4096%s", value, "");
        dom->memory_bytes = n << 20;
    } else if (!strcmp(name, "privileged")) {
        if (!parse_bool(value, &dom->privileged))
            return fail(p, "privileged = %s: expected yes or no%s", value, "");
    } else if (!strcmp(name, "pin")) {
        if (!parse_u64(value, &n) || n > 255)
            return fail(p, "pin = %s: expected a physical CPU number%s", value, "");
        dom->pin = (int)n;
    } else if (!strcmp(name, "max_evtchn_port")) {
        if (!parse_u64(value, &n) || n < 1 || n > 131071)
            return fail(p, "max_evtchn_port = %s: expected 1 to 131071%s", value, "");
        dom->max_evtchn_port = (unsigned)n;
    } else {
        return fail(p, "unknown key '%s' in a [domain] section%s", name, "");
    }
    return 1;
}

static int pirq_key(struct parse *p, const char *name, const char *value)
{
    struct scenario_pirq *q = &p->s->pirq[p->s->nr_pirq - 1];
    uint64_t n;
    if (!strcmp(name, "domain")) {
        for (unsigned i = 0; i < p->s->nr_dom; i++) {
            if (!strcmp(p->s->dom[i].name, value)) {
                q->domain = i;
                return 1;
            }
        }
        return fail(p, "domain = %s: no [domain %s] section above this one", value, value);
    }
    if (!parse_u64(value, &n))
        return fail(p, "%s = %s: not a number", name, value);
    if (!strcmp(name, "line") && n < SCENARIO_NR_PIRQS)
        q->line = (unsigned)n;
    else if (!strcmp(name, "at_us") && n <= SCENARIO_MAX_US)
        q->at_ns = n * 1000;
    else if (!strcmp(name, "period_us") && n <= SCENARIO_MAX_US)
        q->period_ns = n * 1000;
    else if (!strcmp(name, "count") && n <= 1000000)
        q->count = (unsigned)n;
    else
        return fail(p, "unknown key or value out of range: %s = %s", name, value);
    return 1;
}

static void domain_defaults(struct scenario_domain *dom, unsigned index, unsigned line)
{
    memset(dom, 0, sizeof(*dom));
    dom->vcpus = 1;
    dom->memory_bytes = 4u << 20;
    dom->privileged = index == 0;
    dom->pin = -1;
    dom->line = line;
}

static int open_section(struct parse *p, const char *section)
{
    if (!strcmp(section, "machine"))
        return p->section = 0, 1;
    if (!strncmp(section, "domain", 6) && (section[6] == ' ' || !section[6])) {
        const char *name = section[6] ? section + 7 : "";
        if (p->s->nr_dom == SCENARIO_MAX_DOMAINS)
            return fail(p, "more than %s domains%s", "256", "");
        struct scenario_domain *dom = &p->s->dom[p->s->nr_dom];
        domain_defaults(dom, p->s->nr_dom, p->line);
        if (!*name || strlen(name) >= sizeof(dom->name))
            return fail(p, "[domain NAME]: a domain needs a short name%s%s", "", "");
        for (unsigned i = 0; i < p->s->nr_dom; i++)
            if (!strcmp(p->s->dom[i].name, name))
                return fail(p, "domain '%s' is defined twice%s", name, "");
        strcpy(dom->name, name);
        p->s->nr_dom++;
        return p->section = 1, 1;
    }
    if (!strcmp(section, "pirq")) {
        if (p->s->nr_pirq == SCENARIO_MAX_PIRQS)
            return fail(p, "more than %s [pirq] sections%s", "64", "");
        p->s->pirq[p->s->nr_pirq++] = (struct scenario_pirq){.count = 1, .src_line = p->line};
        return p->section = 2, 1;
    }
    return fail(p, "unknown section [%s] (expected [machine], [domain NAME] or [pirq])", section,
                "");
}

static int on_entry(void *user, const char *section, const char *name, const char *value)
{
    struct parse *p = user;
    if (p->failed)
        return 0;
    (void)section; /* tracked by the line reader */
    if (p->section < 0)
        return fail(p, "'%s' outside any section%s", name, "");
    static int (*const by_section[])(struct parse *, const char *,
                                     const char *) = {machine_key, domain_key, pirq_key};
    return by_section[p->section](p, name, value);
}

static int check_complete(struct scenario *s, struct diag *d)
{
    if (s->nr_dom == 0)
        return diag_set(d, "%s: no [domain NAME] section: nothing to run", s->source);
    for (unsigned i = 0; i < s->nr_dom; i++) {
        const struct scenario_domain *dom = &s->dom[i];
        if (!dom->guest[0])
            return diag_set(d, "%s:%u: domain '%s' has no 'guest ='", s->source, dom->line,
                            dom->name);
        if (dom->pin >= (int)s->pcpus)
            return diag_set(d, "%s:%u: domain '%s' is pinned to pcpu %d but the machine has %u",
                            s->source, dom->line, dom->name, dom->pin, s->pcpus);
    }
    for (unsigned i = 0; i < s->nr_pirq; i++)
        if (s->pirq[i].period_ns == 0 && s->pirq[i].count > 1)
            return diag_set(d, "%s:%u: a [pirq] raised %u times needs period_us", s->source,
                            s->pirq[i].src_line, s->pirq[i].count);
    return 0;
}

static int parse_with(struct scenario *s, struct parse *p, struct diag *d)
{
    int rc = ini_parse_stream(read_line, p, on_entry, p);
    if (p->failed)
        return -1;
    if (rc != 0 && !p->failed)
        diag_set(d, "%s:%d: syntax error (expected [section] or key = value)", s->source, rc);
    if (rc != 0)
        return -1;
    return check_complete(s, d);
}

void scenario_defaults(struct scenario *s)
{
    memset(s, 0, sizeof(*s));
    s->pcpus = 1;
    s->seed = 1;
    s->run_ns = 1000000000ull; /* 1 s */
    s->quantum_ns = 10000;     /* 10 us */
    s->timeslice_ns = 1000000; /* 1 ms */
}

int scenario_load_string(struct scenario *s, const char *name, const char *text, struct diag *d)
{
    scenario_defaults(s);
    snprintf(s->source, sizeof(s->source), "%s", name);
    struct parse p = {.s = s, .d = d, .name = s->source, .section = -1, .text = text};
    return parse_with(s, &p, d);
}

int scenario_load_file(struct scenario *s, const char *path, struct diag *d)
{
    scenario_defaults(s);
    snprintf(s->source, sizeof(s->source), "%s", path);
    const char *slash = strrchr(path, '/');
    if (slash)
        snprintf(s->base_dir, sizeof(s->base_dir), "%.*s", (int)(slash - path), path);
    FILE *f = fopen(path, "r");
    if (!f)
        return diag_set(d, "%s: cannot open scenario: %s", path, strerror(errno));
    struct parse p = {.s = s, .d = d, .name = s->source, .section = -1, .file = f};
    int rc = parse_with(s, &p, d);
    fclose(f);
    return rc;
}

int scenario_add_guest(struct scenario *s, const char *path, const char *cmdline, struct diag *d)
{
    if (s->nr_dom == SCENARIO_MAX_DOMAINS)
        return diag_set(d, "--guest: more than %d domains", SCENARIO_MAX_DOMAINS);
    if (strlen(path) >= SCENARIO_PATH_MAX)
        return diag_set(d, "--guest %s: path too long", path);
    struct scenario_domain *dom = &s->dom[s->nr_dom];
    domain_defaults(dom, s->nr_dom, 0);
    snprintf(dom->name, sizeof(dom->name), "d%u", s->nr_dom);
    strcpy(dom->guest, path);
    if (cmdline && strlen(cmdline) >= sizeof(dom->cmdline) - 64)
        return diag_set(d, "--cmdline: longer than 960 bytes");
    snprintf(dom->cmdline, sizeof(dom->cmdline), "%s", cmdline ? cmdline : "");
    s->nr_dom++;
    return 0;
}
