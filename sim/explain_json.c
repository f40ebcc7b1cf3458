/* The narration as a document ("evsim-explain/1", docs/teaching.md): the state when it began,
 * every step with what it changed, and each vcpu's runstates. The step-through page
 * (sim/teach_html.c) embeds it. */
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/explain_int.h"
#include "sim/machine.h"
#include "sim/report_json.h"

const char *const explain_change_names[] = {[CK_PENDING] = "pending",
                                            [CK_MASKED] = "masked",
                                            [CK_SEL] = "sel",
                                            [CK_L2] = "l2",
                                            [CK_UPCALL_PENDING] = "upcall_pending",
                                            [CK_UPCALL_MASK] = "upcall_mask",
                                            [CK_WORD] = "word",
                                            [CK_HEAD] = "head",
                                            [CK_READY] = "ready",
                                            [CK_IOREQ] = "ioreq",
                                            [CK_BUFQ] = "bufq",
                                            [CK_CHAN] = "chan"};
const char *const explain_who_names[] = {"guest", "xen", "hw"};
const char *const explain_run_names[] = {"running", "runnable", "blocked", "blocked_in_xen",
                                         "offline"};

static struct json_object *int_or_null(int64_t v)
{
    return v < 0 ? NULL : json_object_new_int64(v);
}

static struct json_object *chan_json(const struct ex_chan *c)
{
    struct json_object *o;

    if (c->state == ECS_FREE)
        return NULL;
    o = json_object_new_object();
    put_str(o, "state", evtchn_state_name(c->state));
    put_u64(o, "vcpu", c->vcpu);
    switch (c->state) {
    case ECS_UNBOUND:
        put_u64(o, "remote_dom", c->a);
        break;
    case ECS_INTERDOMAIN:
        put_u64(o, "remote_dom", c->a);
        put_u64(o, "remote_port", c->b);
        break;
    case ECS_VIRQ:
        put_u64(o, "virq", c->a);
        break;
    case ECS_PIRQ:
        put_u64(o, "pirq", c->a);
        break;
    default:
        break;
    }
    put_u64(o, "priority", c->prio);
    json_object_object_add(o, "xen", json_object_new_boolean(c->xen));
    return o;
}

static struct json_object *vcpu_state_json(const struct domain *d, const struct ex_vshadow *v)
{
    struct json_object *o = json_object_new_object();
    char sel[24];

    put_u64(o, "upcall_pending", v->v.upcall_pending);
    put_u64(o, "upcall_mask", v->v.upcall_mask);
    snprintf(sel, sizeof(sel), "0x%016" PRIx64, v->v.sel);
    put_str(o, "sel", sel);
    if (d->evtchn_3l) {
        struct json_object *l2 = json_object_new_array();
        for (unsigned w = 0; w < evtchn_view_l2_words(d) && w < EX_L2_WORDS; w++)
            for (uint64_t x = v->l2[w]; x; x &= x - 1)
                json_object_array_add(
                    l2, json_object_new_int((int)(w * 64u + (unsigned)__builtin_ctzll(x))));
        json_object_object_add(o, "l2", l2);
    }
    struct json_object *io = json_object_new_object();
    for (unsigned id = 0; id < EX_IOREQ_SERVERS; id++)
        if (v->ioreq[id] >= 0) {
            char key[8];
            snprintf(key, sizeof(key), "%u", id);
            json_object_object_add(io, key, json_object_new_int(v->ioreq[id]));
        }
    json_object_object_add(o, "ioreq", io);
    if (d->evtchn_fifo) {
        struct json_object *head = json_object_new_array();
        put_u64(o, "ready", v->v.ready);
        for (unsigned q = 0; q < EVTCHN_FIFO_MAX_QUEUES; q++)
            json_object_array_add(head, json_object_new_int64(v->v.head[q]));
        json_object_object_add(o, "head", head);
    }
    return o;
}

static struct json_object *domain_state_json(const struct explain *ex, unsigned di)
{
    const struct ex_dshadow *s = &ex->dom[di];
    const struct domain *d = ex->m->dom[di].d;
    struct json_object *o = json_object_new_object(), *pend = json_object_new_array(),
                       *mask = json_object_new_array(), *words = json_object_new_object(),
                       *chans = json_object_new_object(), *vcpus = json_object_new_array();

    put_u64(o, "id", d->domid);
    for (unsigned p = 0; p < s->nports; p++) {
        char key[16];
        snprintf(key, sizeof(key), "%u", p);
        if (s->pend[p])
            json_object_array_add(pend, json_object_new_int64(p));
        if (s->mask[p])
            json_object_array_add(mask, json_object_new_int64(p));
        if (d->evtchn_fifo && s->word[p])
            json_object_object_add(words, key, json_object_new_int64(s->word[p]));
        struct json_object *c = chan_json(&s->chan[p]);
        if (c)
            json_object_object_add(chans, key, c);
    }
    for (unsigned i = 0; i < s->nvc; i++)
        json_object_array_add(vcpus, vcpu_state_json(d, &s->vc[i]));
    struct json_object *bufq = json_object_new_object();
    for (unsigned id = 0; id < EX_IOREQ_SERVERS; id++)
        if (s->bufq[id] >= 0) {
            char key[8];
            snprintf(key, sizeof(key), "%u", id);
            json_object_object_add(bufq, key, json_object_new_int64(s->bufq[id]));
        }
    json_object_object_add(o, "bufq", bufq);
    json_object_object_add(o, "pending", pend);
    json_object_object_add(o, "masked", mask);
    json_object_object_add(o, "words", words);
    json_object_object_add(o, "chans", chans);
    json_object_object_add(o, "vcpus", vcpus);
    return o;
}

struct json_object *explain_state_json(const struct explain *ex)
{
    struct json_object *o = json_object_new_object(), *doms = json_object_new_array();

    for (unsigned di = 0; di < ex->ndom; di++)
        json_object_array_add(doms, domain_state_json(ex, di));
    json_object_object_add(o, "domains", doms);
    return o;
}

static struct json_object *change_json(const struct ex_change *c, bool quiet)
{
    struct json_object *o = json_object_new_object();

    if (quiet) /* made by steps the filters left out, before this one */
        json_object_object_add(o, "quiet", json_object_new_boolean(true));

    put_str(o, "k", explain_change_names[c->k]);
    put_u64(o, "dom", c->dom);
    if (c->vcpu >= 0)
        put_u64(o, "vcpu", (uint64_t)c->vcpu);
    switch (c->k) {
    case CK_SEL:
    case CK_L2:
        put_u64(o, "bit", c->idx);
        break;
    case CK_HEAD:
        put_u64(o, "prio", c->idx);
        break;
    case CK_IOREQ:
    case CK_BUFQ:
        put_u64(o, "server", c->idx);
        break;
    case CK_UPCALL_PENDING:
    case CK_UPCALL_MASK:
    case CK_READY:
        break;
    default:
        put_u64(o, "port", c->idx);
        break;
    }
    if (c->k == CK_CHAN) {
        json_object_object_add(o, "from", chan_json(&c->cfrom));
        json_object_object_add(o, "to", chan_json(&c->cto));
    } else if (c->k == CK_IOREQ || c->k == CK_BUFQ) { /* -1: no such server */
        json_object_object_add(o, "from", json_object_new_int64((int64_t)c->from));
        json_object_object_add(o, "to", json_object_new_int64((int64_t)c->to));
    } else {
        put_u64(o, "from", c->from);
        put_u64(o, "to", c->to);
    }
    return o;
}

static struct json_object *step_json(const struct explain *ex, const struct ex_step *s, size_t i)
{
    struct json_object *o = json_object_new_object(), *ch = json_object_new_array();

    put_u64(o, "i", i);
    put_u64(o, "t", s->t);
    put_u64(o, "cpu_t", s->cpu_t);
    put_u64(o, "ns", cost_cycles_to_ns(ex->m->cost, s->t));
    put_u64(o, "dom", (uint64_t)s->dom);
    json_object_object_add(o, "vcpu", int_or_null(s->vcpu));
    json_object_object_add(o, "port", int_or_null(s->port));
    put_str(o, "who", explain_who_names[s->who]);
    put_str(o, "kind", s->kind);
    put_str(o, "fn", explain_step_fn(s));
    put_str(o, "text", s->text);
    json_object_object_add(o, "flow", int_or_null(s->flow));
    if (s->walk_port >= 0 || s->walk_sel >= 0 || s->walk_l2 >= 0) {
        struct json_object *w = json_object_new_object();
        json_object_object_add(w, "sel", int_or_null(s->walk_sel));
        json_object_object_add(w, "l2", int_or_null(s->walk_l2));
        json_object_object_add(w, "port", int_or_null(s->walk_port));
        json_object_object_add(o, "walk", w);
    }
    for (size_t k = 0; k < s->nq; k++)
        json_object_array_add(ch, change_json(&ex->ch[s->q0 + k], true));
    for (size_t k = 0; k < s->nch; k++)
        json_object_array_add(ch, change_json(&ex->ch[s->ch0 + k], false));
    json_object_object_add(o, "changes", ch);
    return o;
}

static struct json_object *spans_json(const struct explain *ex, uint64_t end)
{
    struct json_object *a = json_object_new_array();

    for (unsigned di = 0; di < ex->ndom; di++)
        for (unsigned i = 0; i < ex->dom[di].nvc; i++) {
            const struct ex_vshadow *v = &ex->dom[di].vc[i];
            struct json_object *o = json_object_new_object(), *sp = json_object_new_array();
            put_u64(o, "dom", ex->m->dom[di].d->domid);
            put_u64(o, "vcpu", i);
            for (size_t k = 0; k < v->nspan; k++) {
                struct json_object *s = json_object_new_object();
                uint64_t to = v->span[k].to == UINT64_MAX ? end : v->span[k].to;
                put_u64(s, "from", v->span[k].from);
                put_u64(s, "to", to < v->span[k].from ? v->span[k].from : to);
                put_str(s, "state", explain_run_names[v->span[k].state]);
                put_u64(s, "pcpu", v->span[k].pcpu);
                json_object_array_add(sp, s);
            }
            json_object_object_add(o, "spans", sp);
            json_object_array_add(a, o);
        }
    return a;
}

/* A growing text. */
struct text {
    char *p;
    size_t n, cap;
    bool oom;
};

static void text_add(struct text *t, const char *s)
{
    size_t len = strlen(s);
    if (t->oom)
        return;
    if (t->n + len + 1 > t->cap) {
        size_t cap = t->cap ? t->cap : 1u << 16;
        while (cap < t->n + len + 1)
            cap *= 2;
        char *p = realloc(t->p, cap);
        if (!p) {
            t->oom = true;
            return;
        }
        t->p = p;
        t->cap = cap;
    }
    memcpy(t->p + t->n, s, len + 1);
    t->n += len;
}

static void text_add_json(struct text *t, struct json_object *o)
{
    text_add(t, json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
                                                      JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(o);
}

char *explain_document_text(struct explain *ex)
{
    struct json_object *o, *doms;
    struct text t = {0};
    uint64_t end;

    if (!ex || !ex->o.keep || ex->oom)
        return NULL;
    explain_close(ex);
    /* A CPU may have run a little past the kernel's time when the run ended. */
    end = machine_end_cycles(ex->m);
    for (unsigned di = 0; di < ex->ndom; di++)
        for (unsigned i = 0; i < ex->dom[di].nvc; i++) {
            const struct ex_vshadow *v = &ex->dom[di].vc[i];
            if (v->nspan && v->span[v->nspan - 1].from > end)
                end = v->span[v->nspan - 1].from;
            if (v->nspan && v->span[v->nspan - 1].to != UINT64_MAX &&
                v->span[v->nspan - 1].to > end)
                end = v->span[v->nspan - 1].to;
        }
    o = json_object_new_object();
    put_str(o, "format", "evsim-explain/1");
    put_str(o, "scenario", ex->m->sc->source);
    put_u64(o, "cpu_hz", ex->m->cost->cpu_khz * 1000u);
    put_u64(o, "end_cycles", end);
    json_object_object_add(o, "truncated", json_object_new_boolean(ex->done));
    doms = json_object_new_array();
    for (unsigned di = 0; di < ex->ndom; di++) {
        const struct domain *d = ex->m->dom[di].d;
        struct json_object *dj = json_object_new_object();
        put_u64(dj, "id", d->domid);
        put_str(dj, "abi", evtchn_view_abi(d));
        put_u64(dj, "vcpus", ex->dom[di].nvc);
        put_u64(dj, "ports", ex->dom[di].nports);
        json_object_array_add(doms, dj);
    }
    json_object_object_add(o, "domains", doms);
    /* A run that never reached --from has no initial state: the shadow as it ends stands in. */
    json_object_object_add(o, "initial",
                           ex->initial ? json_object_get(ex->initial) : explain_state_json(ex));
    json_object_object_add(o, "vcpus", spans_json(ex, end));
    /* The steps go in as text, one at a time, each object freed once written: a long run's
     * steps as one tree of objects took ten times the memory. The head object's closing brace
     * is replaced by them. */
    text_add_json(&t, o);
    if (t.oom || !t.n || t.p[t.n - 1] != '}') {
        free(t.p);
        return NULL;
    }
    t.p[--t.n] = '\0';
    text_add(&t, ",\n\"steps\": [");
    for (size_t i = 0; i < ex->nsteps; i++) {
        text_add(&t, i ? ",\n" : "\n");
        text_add_json(&t, step_json(ex, &ex->steps[i], i));
    }
    text_add(&t, "\n]}\n");
    if (t.oom) {
        free(t.p);
        return NULL;
    }
    return t.p;
}
