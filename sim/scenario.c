#include "sim/scenario.h"

#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/loglvl.h"
#include "sim/inifile.h"

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

enum section { SEC_NONE, SEC_MACHINE, SEC_DOMAIN, SEC_PIRQ };

struct parse {
    struct scenario *s;
    enum section section;
};

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
    {"console_lines", offsetof(struct scenario, console_lines), 1, 0, UINT64_C(1000000000)},
};

static bool machine_key(struct inifile *f, struct scenario *s, const char *name, const char *value)
{
    uint64_t n;
    if (!strcmp(name, "pcpus") || !strcmp(name, "sockets")) {
        if (!inifile_u64(value, &n) || n < 1 || n > 256)
            return inifile_fail(f, "%s = %s: expected a number from 1 to 256", name, value);
        *(name[0] == 'p' ? &s->pcpus : &s->sockets) = (unsigned)n;
        return true;
    }
    if (!strcmp(name, "guest_loglvl")) {
        if (console_parse_loglvl(value, &s->guest_loglvl_lower, &s->guest_loglvl_upper) < 0)
            return inifile_fail(f,
                                "guest_loglvl = %s: expected LEVEL or LEVEL/LEVEL, each none, "
                                "error, warning, info, debug or all (as Xen's guest_loglvl)",
                                value);
        return true;
    }
    if (!strcmp(name, "cpu")) {
        if (!*value || strlen(value) >= sizeof(s->cpu))
            return inifile_fail(f, "cpu = %s: empty or too long", value);
        snprintf(s->cpu, sizeof(s->cpu), "%s", value);
        s->cpu_line = f->line;
        return true;
    }
    for (size_t i = 0; i < sizeof(machine_keys) / sizeof(machine_keys[0]); i++) {
        const struct u64_key *k = &machine_keys[i];
        if (strcmp(name, k->key))
            continue;
        if (!inifile_u64(value, &n) || n < k->min || n > k->max)
            return inifile_fail(f, "%s = %s: out of range or not a number", name, value);
        *(uint64_t *)((char *)s + k->offset) = n * k->scale;
        return true;
    }
    return inifile_fail(f, "unknown key '%s' in [machine]", name);
}

/* Indented continuation lines (and repeated cmdline keys) append, one space apart. */
static bool domain_cmdline(struct inifile *f, struct scenario_domain *dom, const char *value)
{
    size_t have = strlen(dom->cmdline), add = strlen(value);
    if (have + (have ? 1 : 0) + add >= sizeof(dom->cmdline) - 64)
        return inifile_fail(f, "cmdline is longer than 960 bytes");
    if (have)
        dom->cmdline[have++] = ' ';
    memcpy(dom->cmdline + have, value, add + 1);
    return true;
}

const char *const scenario_abi_names[ABI_COUNT] = {"2l", "3l", "fifo"};

int scenario_abi_parse(const char *s)
{
    for (int i = 0; i < ABI_COUNT; i++)
        if (!strcmp(s, scenario_abi_names[i]))
            return i;
    return -1;
}

static bool domain_number(struct inifile *f, struct scenario_domain *dom, const char *name,
                          uint64_t n, const char *value)
{
    if (!strcmp(name, "vcpus") && n >= 1 && n <= 64)
        dom->vcpus = (unsigned)n;
    else if (!strcmp(name, "memory_mb") && n >= 1 && n <= 4096)
        dom->memory_bytes = n << 20;
    else if (!strcmp(name, "pin") && n <= 255)
        dom->pin = (int)n;
    else if (!strcmp(name, "max_evtchn_port") && n >= 1 && n <= 262143)
        dom->max_evtchn_port = (unsigned)n;
    else
        return inifile_fail(f,
                            "%s = %s: out of range (vcpus 1-64, memory_mb 1-4096, pin 0-255, "
                            "max_evtchn_port 1-262143)",
                            name, value);
    return true;
}

static bool domain_key(struct inifile *f, struct scenario *s, const char *name, const char *value)
{
    struct scenario_domain *dom = &s->dom[s->nr_dom - 1];
    uint64_t n;
    if (!strcmp(name, "guest")) {
        if (strlen(value) >= sizeof(dom->guest) || !*value)
            return inifile_fail(f, "guest = %s: empty or too long", value);
        strcpy(dom->guest, value);
        return true;
    }
    if (!strcmp(name, "cmdline"))
        return domain_cmdline(f, dom, value);
    if (!strcmp(name, "device_model")) {
        if (strlen(value) >= sizeof(dom->device_model) || !*value)
            return inifile_fail(f, "device_model = %s: empty or too long", value);
        strcpy(dom->device_model, value);
        return true;
    }
    if (!strcmp(name, "device_model_args")) {
        if (strlen(value) >= sizeof(dom->device_model_args))
            return inifile_fail(f, "device_model_args: longer than %zu characters",
                                sizeof(dom->device_model_args) - 1);
        strcpy(dom->device_model_args, value);
        return true;
    }
    if (!strcmp(name, "dm_wake_ns") || !strcmp(name, "dm_handle_ns")) {
        if (!inifile_u64(value, &n) || n > SCENARIO_MAX_US * 1000)
            return inifile_fail(f, "%s = %s: a number of ns up to an hour", name, value);
        *(name[3] == 'w' ? &dom->dm_wake_ns : &dom->dm_handle_ns) = n;
        return true;
    }
    if (!strcmp(name, "privileged"))
        return inifile_bool(value, &dom->privileged) ||
               inifile_fail(f, "privileged = %s: expected yes or no", value);
    if (!strcmp(name, "paused"))
        return inifile_bool(value, &dom->paused) ||
               inifile_fail(f, "paused = %s: expected yes or no", value);
    if (!strcmp(name, "abi")) {
        int abi = scenario_abi_parse(value);
        if (abi < 0)
            return inifile_fail(f, "abi = %s: expected 2l, 3l or fifo", value);
        dom->abi = (enum scenario_abi)abi;
        return true;
    }
    if (!strcmp(name, "type")) {
        if (strcmp(value, "pv") && strcmp(value, "hvm"))
            return inifile_fail(f, "type = %s: expected pv or hvm", value);
        dom->hvm = value[0] == 'h';
        return true;
    }
    if (!strcmp(name, "vcpus") || !strcmp(name, "memory_mb") || !strcmp(name, "pin") ||
        !strcmp(name, "max_evtchn_port")) {
        if (!inifile_u64(value, &n))
            return inifile_fail(f, "%s = %s: not a number", name, value);
        return domain_number(f, dom, name, n, value);
    }
    return inifile_fail(f, "unknown key '%s' in a [domain] section", name);
}

static bool pirq_key(struct inifile *f, struct scenario *s, const char *name, const char *value)
{
    struct scenario_pirq *q = &s->pirq[s->nr_pirq - 1];
    uint64_t n;
    if (!strcmp(name, "domain")) {
        for (unsigned i = 0; i < s->nr_dom; i++) {
            if (!strcmp(s->dom[i].name, value)) {
                q->domain = i;
                return true;
            }
        }
        return inifile_fail(f, "domain = %s: no [domain %s] section above this one", value, value);
    }
    if (!strcmp(name, "trigger")) {
        if (strcmp(value, "edge") && strcmp(value, "level"))
            return inifile_fail(f, "trigger = %s: expected edge or level", value);
        q->level = !strcmp(value, "level");
        return true;
    }
    if (!inifile_u64(value, &n))
        return inifile_fail(f, "%s = %s: not a number", name, value);
    if (!strcmp(name, "line") && n < SCENARIO_NR_PIRQS)
        q->line = (unsigned)n;
    else if (!strcmp(name, "at_us") && n <= SCENARIO_MAX_US)
        q->at_ns = n * 1000;
    else if (!strcmp(name, "period_us") && n <= SCENARIO_MAX_US)
        q->period_ns = n * 1000;
    else if (!strcmp(name, "count") && n <= 1000000)
        q->count = (unsigned)n;
    else
        return inifile_fail(f, "unknown key or value out of range: %s = %s", name, value);
    return true;
}

static void domain_defaults(struct scenario_domain *dom, unsigned index, unsigned line)
{
    memset(dom, 0, sizeof(*dom));
    dom->vcpus = 1;
    dom->memory_bytes = 4u << 20;
    dom->privileged = index == 0;
    dom->pin = -1;
    dom->dm_wake_ns = SCENARIO_DM_WAKE_NS;
    dom->dm_handle_ns = SCENARIO_DM_HANDLE_NS;
    dom->line = line;
}

static bool open_domain(struct inifile *f, struct scenario *s, const char *name)
{
    if (s->nr_dom == SCENARIO_MAX_DOMAINS)
        return inifile_fail(f, "more than %d domains", SCENARIO_MAX_DOMAINS);
    struct scenario_domain *dom = &s->dom[s->nr_dom];
    domain_defaults(dom, s->nr_dom, f->line);
    if (!*name || strlen(name) >= sizeof(dom->name))
        return inifile_fail(f, "[domain NAME]: a domain needs a short name");
    for (unsigned i = 0; i < s->nr_dom; i++)
        if (!strcmp(s->dom[i].name, name))
            return inifile_fail(f, "domain '%s' is defined twice", name);
    strcpy(dom->name, name);
    s->nr_dom++;
    return true;
}

static bool on_section(struct inifile *f, void *user, const char *section)
{
    struct parse *p = user;
    if (!strcmp(section, "machine")) {
        p->section = SEC_MACHINE;
        return true;
    }
    if (!strncmp(section, "domain", 6) && (section[6] == ' ' || !section[6])) {
        p->section = SEC_DOMAIN;
        return open_domain(f, p->s, section[6] ? section + 7 : "");
    }
    if (!strcmp(section, "pirq")) {
        if (p->s->nr_pirq == SCENARIO_MAX_PIRQS)
            return inifile_fail(f, "more than %d [pirq] sections", SCENARIO_MAX_PIRQS);
        p->s->pirq[p->s->nr_pirq++] = (struct scenario_pirq){.count = 1, .src_line = f->line};
        p->section = SEC_PIRQ;
        return true;
    }
    return inifile_fail(f, "unknown section [%s] (expected [machine], [domain NAME] or [pirq])",
                        section);
}

static bool on_key(struct inifile *f, void *user, const char *name, const char *value)
{
    struct parse *p = user;
    static bool (*const by_section[])(struct inifile *, struct scenario *, const char *,
                                      const char *) = {
        [SEC_MACHINE] = machine_key, [SEC_DOMAIN] = domain_key, [SEC_PIRQ] = pirq_key};
    if (p->section == SEC_NONE)
        return inifile_fail(f, "'%s' outside any section", name);
    return by_section[p->section](f, p->s, name, value);
}

/* A line has one trigger mode: two sections raising it (for one domain) must agree. */
static int check_pirq_triggers(const struct scenario *s, struct diag *d)
{
    for (unsigned i = 0; i < s->nr_pirq; i++)
        for (unsigned k = 0; k < i; k++) {
            const struct scenario_pirq *a = &s->pirq[k], *b = &s->pirq[i];
            if (a->domain == b->domain && a->line == b->line && a->level != b->level)
                return diag_set(d, "%s:%u: line %u of domain '%s' is %s-triggered at line %u",
                                s->source, b->src_line, b->line, s->dom[b->domain].name,
                                a->level ? "level" : "edge", a->src_line);
        }
    return 0;
}

static int check_complete(struct scenario *s, struct diag *d)
{
    if (s->nr_dom == 0)
        return diag_set(d, "%s: no [domain NAME] section: nothing to run", s->source);
    for (unsigned i = 0; i < s->nr_dom; i++) {
        const struct scenario_domain *dom = &s->dom[i];
        if (!dom->guest[0] && !dom->device_model[0])
            return diag_set(d, "%s:%u: domain '%s' has no 'guest =' (or 'device_model =')",
                            s->source, dom->line, dom->name);
        if (dom->guest[0] && dom->device_model[0])
            return diag_set(d,
                            "%s:%u: domain '%s' has both a guest and a device_model: a domain "
                            "runs one or the other",
                            s->source, dom->line, dom->name);
        if (dom->device_model[0] && dom->hvm)
            return diag_set(d, "%s:%u: domain '%s': a device model's domain is not HVM", s->source,
                            dom->line, dom->name);
    }
    for (unsigned i = 0; i < s->nr_pirq; i++)
        if (s->pirq[i].period_ns == 0 && s->pirq[i].count > 1)
            return diag_set(d, "%s:%u: a [pirq] raised %u times needs period_us", s->source,
                            s->pirq[i].src_line, s->pirq[i].count);
    if (check_pirq_triggers(s, d) < 0)
        return -1;
    return scenario_check_machine(s, d);
}

int scenario_check_machine(const struct scenario *s, struct diag *d)
{
    if (s->pcpus % s->sockets)
        return diag_set(d, "%s: %u physical CPUs do not split evenly into %u sockets", s->source,
                        s->pcpus, s->sockets);
    for (unsigned i = 0; i < s->nr_dom; i++) {
        const struct scenario_domain *dom = &s->dom[i];
        if (dom->pin >= (int)s->pcpus)
            return diag_set(d, "%s:%u: domain '%s' is pinned to pcpu %d but the machine has %u",
                            s->source, dom->line, dom->name, dom->pin, s->pcpus);
    }
    return 0;
}

static int parse(struct scenario *s, const char *text, FILE *file, struct diag *d)
{
    struct parse p = {.s = s, .section = SEC_NONE};
    struct inifile f = {.name = s->source,
                        .d = d,
                        .section = on_section,
                        .key = on_key,
                        .user = &p,
                        .text = text,
                        .file = file};
    if (inifile_parse(&f) < 0)
        return -1;
    return check_complete(s, d);
}

void scenario_defaults(struct scenario *s)
{
    /* The domains' slots are set up as each is added: zeroing them all would touch (and
     * commit) the memory of every one of the 32,752 a scenario may hold. */
    memset(s, 0, offsetof(struct scenario, dom));
    s->nr_dom = 0;
    memset(s->pirq, 0, sizeof(s->pirq));
    s->nr_pirq = 0;
    s->pcpus = 1;
    s->sockets = 1;
    s->seed = 1;
    s->run_ns = 1000000000ull;  /* 1 s */
    s->quantum_ns = 10000;      /* 10 us */
    s->timeslice_ns = 30000000; /* 30 ms: Xen's credit scheduler's default */
    /* A debug Xen prints every guest line; evsim stops printing a domain's after 10,000. */
    s->guest_loglvl_lower = s->guest_loglvl_upper = CONSOLE_LOG_ALL;
    s->console_lines = 10000;
}

int scenario_load_string(struct scenario *s, const char *name, const char *text, struct diag *d)
{
    scenario_defaults(s);
    snprintf(s->source, sizeof(s->source), "%s", name);
    return parse(s, text, NULL, d);
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
    int rc = parse(s, NULL, f, d);
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
