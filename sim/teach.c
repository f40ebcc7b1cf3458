/* `evsim run`'s teaching options (see the header). */
#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "models/evtchn_view.h"
#include "sim/explain.h"
#include "sim/machine.h"
#include "sim/report.h"
#include "sim/teach.h"
#include "sim/teach_html.h"

void teach_opts_init(struct teach_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->domain = o->port = -1;
}

int teach_parse_time(const char *s, struct teach_time *t)
{
    static const struct {
        const char *unit;
        uint64_t ns;
    } units[] = {{"", 1}, {"ns", 1}, {"us", 1000}, {"ms", 1000000}, {"s", 1000000000}, {"c", 0}};
    char *end;

    if (!s || *s < '0' || *s > '9')
        return -1;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno)
        return -1;
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (strcmp(end, units[i].unit))
            continue;
        if (units[i].ns && v > UINT64_MAX / units[i].ns)
            return -1;
        t->cycles = units[i].ns == 0;
        t->value = units[i].ns ? v * units[i].ns : v;
        return 0;
    }
    return -1;
}

int teach_add_dump(struct teach_opts *o, const char *value, struct diag *d)
{
    if (!strcmp(value, "end")) {
        o->dump_end = true;
        return 0;
    }
    if (o->nr_dumps == TEACH_MAX_DUMPS)
        return diag_set(d, "run: more than %u --dump-at times", TEACH_MAX_DUMPS);
    if (teach_parse_time(value, &o->dump_at[o->nr_dumps]) < 0)
        return diag_set(d,
                        "run: --dump-at %s: expected 'end' or a time such as 250us, 3ms or "
                        "120000c (cycles); a bare number is ns",
                        value);
    o->nr_dumps++;
    return 0;
}

int teach_check(const struct teach_opts *o, struct diag *d)
{
    bool narrating = o->explain || o->explain_json || o->html;

    if (!narrating && (o->domain >= 0 || o->port >= 0 || o->limit || o->from_given))
        return diag_set(d, "run: --domain, --port, --from and --limit choose what --explain, "
                           "--explain-json or --html narrate: give one of them");
    return 0;
}

static uint64_t time_cycles(const struct machine *m, const struct teach_time *t)
{
    return t->cycles ? t->value : cost_ns_to_cycles(m->cost, t->value);
}

/* ---- Xen's 'e' debug key ---- */

struct dump_ctx {
    struct machine *m;
    uint64_t at;
};

static void dump_line(void *opaque, const char *line)
{
    struct dump_ctx *c = opaque;
    console_printf(&c->m->console, c->at, "(XEN) %s", line);
}

static void dump_all(struct machine *m, uint64_t at)
{
    struct dump_ctx c = {m, at};
    uint64_t ns = cost_cycles_to_ns(m->cost, at);

    explain_close(m->explain); /* a step under way shows its changes first */
    console_printf(&m->console, at,
                   "(XEN) '%c' pressed -> dumping event-channel info (at %" PRIu64
                   " cycles, %" PRIu64 " ns)",
                   'e', at, ns);
    for (unsigned i = 0; i < m->nr_dom; i++)
        evtchn_dump_domain(m->dom[i].d, dump_line, &c);
}

static void on_dump(struct machine *m, void *arg)
{
    (void)arg;
    dump_all(m, machine_now_cycles(m));
}

int teach_start(struct machine *m, const struct teach_opts *o, struct diag *d)
{
    if (o->domain >= (long long)m->nr_dom)
        return diag_set(d, "run: --domain %lld: the scenario has %u domains (0 to %u)", o->domain,
                        m->nr_dom, m->nr_dom - 1);
    if (o->port >= 0) {
        unsigned most = 0;
        for (unsigned i = 0; i < m->nr_dom; i++)
            if (o->domain < 0 || o->domain == (long long)i) {
                unsigned n = explain_ports_of(m->dom[i].d);
                most = n > most ? n : most;
            }
        if (o->port >= (long long)most)
            return diag_set(d, "run: --port %lld: the narration covers ports 0 to %u%s", o->port,
                            most - 1, o->domain >= 0 ? " of that domain" : "");
    }
    for (unsigned i = 0; i < o->nr_dumps; i++)
        if (machine_add_probe(m, time_cycles(m, &o->dump_at[i]), on_dump, NULL) < 0)
            return diag_set(d, "run: --dump-at: out of memory");
    if (!o->explain && !o->explain_json && !o->html)
        return 0;
    struct explain_options eo = {
        .text = o->explain,
        .keep = o->explain_json || o->html,
        .domain = (int)o->domain,
        .port = o->port,
        .from_cycles = o->from_given ? time_cycles(m, &o->from) : 0,
        .limit = (uint64_t)o->limit,
    };
    m->explain = explain_new(m, &eo);
    hv_set_steps(&m->hv, m->explain != NULL);
    return m->explain ? 0 : diag_set(d, "run: --explain: out of memory");
}

void teach_discard(struct machine *m)
{
    explain_free(m->explain);
    m->explain = NULL;
    hv_set_steps(&m->hv, false);
}

int teach_finish(struct machine *m, const struct teach_opts *o, struct diag *d)
{
    int rc = 0;

    explain_close(m->explain);
    uint64_t end = machine_end_cycles(m);
    for (unsigned i = 0; i < m->nr_probes; i++)
        if (m->probe[i]->fn == on_dump && !m->probe[i]->fired)
            fprintf(stderr,
                    "evsim: --dump-at %" PRIu64 " ns: the run ended before it (see its simulated "
                    "time); nothing was dumped then\n",
                    cost_cycles_to_ns(m->cost, m->probe[i]->at));
    if (o->dump_end) {
        dump_all(m, end);
        console_flush(&m->console, UINT64_MAX);
    }
    if (o->explain_json || o->html) {
        char *doc = explain_document_text(m->explain);
        if (!doc)
            rc = diag_set(d, "run: --explain-json/--html: out of memory");
        if (doc && o->explain_json)
            rc = text_file_write(doc, o->explain_json, "--explain-json", d);
        if (doc && !rc && o->html)
            rc = teach_html_write_text(o->html, doc, d);
        free(doc);
    }
    teach_discard(m);
    return rc;
}
