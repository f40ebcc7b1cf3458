/* A scenario written back as the INI text it could have been read from (scenario.h). Every
 * field a reader sets is written, so that reading the text gives the same scenario: a recording
 * carries it (evsim replay builds the recorded machine from it, whatever flags or program built
 * the scenario), and `scenario_load_string` is its inverse. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/scenario.h"

struct text {
    char *buf;
    size_t len, cap;
    bool failed;
};

static void put(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(struct text *t, const char *fmt, ...)
{
    va_list ap;
    for (int pass = 0; pass < 2 && !t->failed; pass++) {
        va_start(ap, fmt);
        int n = vsnprintf(t->buf ? t->buf + t->len : NULL, t->buf ? t->cap - t->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0) {
            t->failed = true;
            return;
        }
        if (t->buf && t->len + (size_t)n < t->cap) {
            t->len += (size_t)n;
            return;
        }
        size_t cap = t->cap ? t->cap : 4096;
        while (cap <= t->len + (size_t)n)
            cap *= 2;
        char *b = realloc(t->buf, cap);
        if (!b) {
            t->failed = true;
            return;
        }
        t->buf = b;
        t->cap = cap;
    }
}

static const char *const level_names[] = {"none", "error", "warning", "info", "all"};

static void write_machine(struct text *t, const struct scenario *s)
{
    put(t, "[machine]\npcpus = %u\nsockets = %u\nseed = %" PRIu64 "\nrun_ns = %" PRIu64 "\n",
        s->pcpus, s->sockets, s->seed, s->run_ns);
    put(t, "quantum_ns = %" PRIu64 "\n", s->quantum_ns);
    if (s->timeslice_ns % 1000 == 0)
        put(t, "timeslice_us = %" PRIu64 "\n", s->timeslice_ns / 1000);
    put(t, "console_lines = %" PRIu64 "\n", s->console_lines);
    if (s->guest_loglvl_lower >= 0 && s->guest_loglvl_lower <= 4 && s->guest_loglvl_upper >= 0 &&
        s->guest_loglvl_upper <= 4)
        put(t, "guest_loglvl = %s/%s\n", level_names[s->guest_loglvl_lower],
            level_names[s->guest_loglvl_upper]);
    if (s->cpu[0])
        put(t, "cpu = %s\n", s->cpu);
}

static void write_domain(struct text *t, const struct scenario_domain *d)
{
    put(t, "\n[domain %s]\n", d->name);
    if (d->guest[0])
        put(t, "guest = %s\n", d->guest);
    if (d->device_model[0])
        put(t, "device_model = %s\n", d->device_model);
    if (d->device_model_args[0])
        put(t, "device_model_args = %s\n", d->device_model_args);
    put(t, "dm_wake_ns = %" PRIu64 "\ndm_handle_ns = %" PRIu64 "\n", d->dm_wake_ns,
        d->dm_handle_ns);
    put(t, "type = %s\nvcpus = %u\nmemory_mb = %" PRIu64 "\nprivileged = %s\npaused = %s\n",
        d->hvm ? "hvm" : "pv", d->vcpus, d->memory_bytes >> 20, d->privileged ? "yes" : "no",
        d->paused ? "yes" : "no");
    put(t, "abi = %s\n", scenario_abi_names[d->abi]);
    if (d->pin >= 0)
        put(t, "pin = %d\n", d->pin);
    if (d->max_evtchn_port)
        put(t, "max_evtchn_port = %u\n", d->max_evtchn_port);
    if (d->cmdline[0])
        put(t, "cmdline = %s\n", d->cmdline);
}

static void write_pirq(struct text *t, const struct scenario *s, const struct scenario_pirq *q)
{
    put(t,
        "\n[pirq]\ndomain = %s\nline = %u\ntrigger = %s\nat_us = %" PRIu64 "\nperiod_us = %" PRIu64
        "\ncount = %u\n",
        s->dom[q->domain].name, q->line, q->level ? "level" : "edge", q->at_ns / 1000,
        q->period_ns / 1000, q->count);
}

char *scenario_write_ini(const struct scenario *s)
{
    struct text t = {0};
    write_machine(&t, s);
    for (unsigned i = 0; i < s->nr_dom; i++)
        write_domain(&t, &s->dom[i]);
    for (unsigned i = 0; i < s->nr_pirq; i++)
        write_pirq(&t, s, &s->pirq[i]);
    if (t.failed) {
        free(t.buf);
        return NULL;
    }
    return t.buf;
}
