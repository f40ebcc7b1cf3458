/* explain_check FILE.json [MIN_STEPS]: checks a narration written by `evsim run --explain-json`
 * (format "evsim-explain/1", docs/teaching.md) the way the step-through page uses it:
 * - the root has format, cpu_hz, end_cycles, domains, initial, steps and vcpus;
 * - steps are numbered 0, 1, ... and each names dom, kind, fn, text, who and changes;
 * - replaying the changes from the initial state in step order, every change's "from" is the
 *   value the state holds then (so the page can step forward and back from `initial`);
 * - every consumed event (a consume step with a flow) was raised before by a set_pending step
 *   with the same flow, and no flow is consumed twice;
 * - each vcpu's runstate spans are in order, touch, and end no later than end_cycles.
 * Prints the counts and exits 0, or names the first violation and exits 1. */
#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(const char *what, long long step)
{
    if (step >= 0)
        fprintf(stderr, "explain_check: step %lld: %s\n", step, what);
    else
        fprintf(stderr, "explain_check: %s\n", what);
    return 1;
}

static struct json_object *get(struct json_object *o, const char *k)
{
    struct json_object *v = NULL;
    return o && json_object_object_get_ex(o, k, &v) ? v : NULL;
}

/* The state, as the page keeps it: one JSON object per domain with a value per key. Keys:
 * "pending/P", "masked/P", "word/P", "chan/P", "sel/V/B", "l2/V/B", "upcall_pending/V",
 * "upcall_mask/V", "ready/V", "head/V/Q". Absent means 0 (or no channel). */
static void state_key(struct json_object *c, char *key, size_t len)
{
    const char *k = json_object_get_string(get(c, "k"));
    struct json_object *v = get(c, "vcpu");
    if (!strcmp(k, "sel") || !strcmp(k, "l2"))
        snprintf(key, len, "%s/%d/%d", k, json_object_get_int(v),
                 json_object_get_int(get(c, "bit")));
    else if (!strcmp(k, "head"))
        snprintf(key, len, "%s/%d/%d", k, json_object_get_int(v),
                 json_object_get_int(get(c, "prio")));
    else if (!strcmp(k, "ioreq"))
        snprintf(key, len, "%s/%d/%d", k, json_object_get_int(v),
                 json_object_get_int(get(c, "server")));
    else if (!strcmp(k, "bufq"))
        snprintf(key, len, "%s/%d", k, json_object_get_int(get(c, "server")));
    else if (v)
        snprintf(key, len, "%s/%d", k, json_object_get_int(v));
    else
        snprintf(key, len, "%s/%d", k, json_object_get_int(get(c, "port")));
}

static void put_int(struct json_object *st, const char *key, int64_t v)
{
    json_object_object_add(st, key, json_object_new_int64(v));
}

/* An object member, or an empty object when it is absent (json-c's foreach needs one). */
static struct json_object *members(struct json_object *o, const char *k, struct json_object *empty)
{
    struct json_object *v = get(o, k);
    return v && json_object_is_type(v, json_type_object) ? v : empty;
}

static void load_initial(struct json_object *dom, struct json_object *st)
{
    struct json_object *empty = json_object_new_object();
    char key[64];
    struct json_object *a;

    a = get(dom, "pending");
    for (size_t i = 0; a && i < json_object_array_length(a); i++) {
        snprintf(key, sizeof(key), "pending/%d",
                 json_object_get_int(json_object_array_get_idx(a, i)));
        put_int(st, key, 1);
    }
    a = get(dom, "masked");
    for (size_t i = 0; a && i < json_object_array_length(a); i++) {
        snprintf(key, sizeof(key), "masked/%d",
                 json_object_get_int(json_object_array_get_idx(a, i)));
        put_int(st, key, 1);
    }
    json_object_object_foreach(members(dom, "words", empty), wp, wv)
    {
        snprintf(key, sizeof(key), "word/%s", wp);
        put_int(st, key, json_object_get_int64(wv));
    }
    json_object_object_foreach(members(dom, "bufq", empty), qp, qv)
    {
        snprintf(key, sizeof(key), "bufq/%s", qp);
        put_int(st, key, json_object_get_int64(qv));
    }
    json_object_object_foreach(members(dom, "chans", empty), cp, cv)
    {
        snprintf(key, sizeof(key), "chan/%s", cp);
        json_object_object_add(st, key, json_object_get(cv));
    }
    a = get(dom, "vcpus");
    for (size_t v = 0; a && v < json_object_array_length(a); v++) {
        struct json_object *vc = json_object_array_get_idx(a, v);
        snprintf(key, sizeof(key), "upcall_pending/%zu", v);
        put_int(st, key, json_object_get_int64(get(vc, "upcall_pending")));
        snprintf(key, sizeof(key), "upcall_mask/%zu", v);
        put_int(st, key, json_object_get_int64(get(vc, "upcall_mask")));
        uint64_t sel = strtoull(json_object_get_string(get(vc, "sel")), NULL, 16);
        for (unsigned b = 0; b < 64; b++) {
            snprintf(key, sizeof(key), "sel/%zu/%u", v, b);
            put_int(st, key, (sel >> b) & 1u);
        }
        struct json_object *l2 = get(vc, "l2");
        for (size_t i = 0; l2 && i < json_object_array_length(l2); i++) {
            snprintf(key, sizeof(key), "l2/%zu/%d", v,
                     json_object_get_int(json_object_array_get_idx(l2, i)));
            put_int(st, key, 1);
        }
        json_object_object_foreach(members(vc, "ioreq", empty), sp, sv)
        {
            snprintf(key, sizeof(key), "ioreq/%zu/%s", v, sp);
            put_int(st, key, json_object_get_int64(sv));
        }
        snprintf(key, sizeof(key), "ready/%zu", v);
        put_int(st, key, json_object_get_int64(get(vc, "ready")));
        struct json_object *head = get(vc, "head");
        for (size_t q = 0; head && q < json_object_array_length(head); q++) {
            snprintf(key, sizeof(key), "head/%zu/%zu", v, q);
            put_int(st, key, json_object_get_int64(json_object_array_get_idx(head, q)));
        }
    }
    json_object_put(empty);
}

static bool same_json(struct json_object *a, struct json_object *b)
{
    if (!a || !b)
        return !a && !b;
    return !strcmp(json_object_to_json_string(a), json_object_to_json_string(b));
}

/* Applies one change to the domain's state: 0, or 1 (with the message in why). */
static int apply(struct json_object *st, struct json_object *c, char *why, size_t len)
{
    char key[64];
    struct json_object *cur;
    const char *k = json_object_get_string(get(c, "k"));

    if (!k)
        return snprintf(why, len, "a change without k"), 1;
    state_key(c, key, sizeof(key));
    cur = get(st, key);
    if (!strcmp(k, "chan")) {
        if (!same_json(cur, get(c, "from")))
            return snprintf(why, len, "%s: from %s, but the state holds %s", key,
                            json_object_to_json_string(get(c, "from")),
                            cur ? json_object_to_json_string(cur) : "null"),
                   1;
        struct json_object *to = get(c, "to");
        if (to)
            json_object_object_add(st, key, json_object_get(to));
        else
            json_object_object_del(st, key);
        return 0;
    }
    /* Absent: 0, or -1 for an ioreq slot or ring (no such server yet). */
    int64_t none = !strcmp(k, "ioreq") || !strcmp(k, "bufq") ? -1 : 0;
    int64_t have = cur ? json_object_get_int64(cur) : none,
            from = json_object_get_int64(get(c, "from"));
    if (have != from)
        return snprintf(why, len, "%s: from %lld, but the state holds %lld", key, (long long)from,
                        (long long)have),
               1;
    put_int(st, key, json_object_get_int64(get(c, "to")));
    return 0;
}

static int check_spans(struct json_object *vcpus, int64_t end)
{
    for (size_t i = 0; i < json_object_array_length(vcpus); i++) {
        struct json_object *sp = get(json_object_array_get_idx(vcpus, i), "spans");
        int64_t prev = -1;
        for (size_t k = 0; sp && k < json_object_array_length(sp); k++) {
            struct json_object *s = json_object_array_get_idx(sp, k);
            int64_t from = json_object_get_int64(get(s, "from")),
                    to = json_object_get_int64(get(s, "to"));
            if (from > to || to > end || (prev >= 0 && from != prev) || !get(s, "state"))
                return fail("runstate spans out of order, apart, or past the end", -1);
            prev = to;
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: explain_check FILE.json [MIN_STEPS]\n");
        return 2;
    }
    struct json_object *doc = json_object_from_file(argv[1]);
    if (!doc)
        return fail("not JSON", -1);
    const char *format = json_object_get_string(get(doc, "format"));
    struct json_object *init = get(get(doc, "initial"), "domains"), *steps = get(doc, "steps");
    if (!format || strcmp(format, "evsim-explain/1") || !get(doc, "cpu_hz") ||
        !get(doc, "end_cycles") || !get(doc, "domains") || !init || !steps || !get(doc, "vcpus"))
        return fail("missing format, cpu_hz, end_cycles, domains, initial, steps or vcpus", -1);
    size_t nd = json_object_array_length(init);
    if (nd != json_object_array_length(get(doc, "domains")))
        return fail("initial and domains disagree on the domains", -1);
    struct json_object **st = calloc(nd, sizeof(*st));
    for (size_t d = 0; d < nd; d++) {
        st[d] = json_object_new_object();
        load_initial(json_object_array_get_idx(init, d), st[d]);
    }
    struct json_object *raised = json_object_new_object();
    size_t n = json_object_array_length(steps), changes = 0, flows = 0;
    for (size_t i = 0; i < n; i++) {
        struct json_object *s = json_object_array_get_idx(steps, i), *ch = get(s, "changes");
        char why[512];
        if (json_object_get_int64(get(s, "i")) != (int64_t)i || !get(s, "kind") || !get(s, "fn") ||
            !get(s, "text") || !get(s, "who") || !ch)
            return fail("misnumbered, or without kind, fn, text, who or changes", (long long)i);
        for (size_t k = 0; k < json_object_array_length(ch); k++) {
            struct json_object *c = json_object_array_get_idx(ch, k);
            size_t dom = (size_t)json_object_get_int(get(c, "dom"));
            if (dom >= nd)
                return fail("a change to a domain that does not exist", (long long)i);
            if (apply(st[dom], c, why, sizeof(why)))
                return fail(why, (long long)i);
            changes++;
        }
        struct json_object *flow = get(s, "flow");
        const char *kind = json_object_get_string(get(s, "kind"));
        if (!flow)
            continue;
        char id[32];
        snprintf(id, sizeof(id), "%lld", (long long)json_object_get_int64(flow));
        if (!strcmp(kind, "set_pending")) {
            json_object_object_add(raised, id, json_object_new_int(1));
            flows++;
        } else if (!strcmp(kind, "consume")) {
            struct json_object *r = get(raised, id);
            if (!r || json_object_get_int(r) != 1)
                return fail("consumes an event never raised, or raised once and consumed twice",
                            (long long)i);
            json_object_object_add(raised, id, json_object_new_int(2));
        }
    }
    if (check_spans(get(doc, "vcpus"), json_object_get_int64(get(doc, "end_cycles"))))
        return 1;
    if (argc == 3 && n < strtoull(argv[2], NULL, 10))
        return fail("fewer steps than expected", -1);
    printf("explain_check: %zu steps, %zu changes, %zu events raised: consistent\n", n, changes,
           flows);
    for (size_t d = 0; d < nd; d++)
        json_object_put(st[d]);
    free(st);
    json_object_put(raised);
    json_object_put(doc);
    return 0;
}
