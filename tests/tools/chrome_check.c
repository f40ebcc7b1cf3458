/* chrome_check FILE.json [MIN_FLOWS]: checks a timeline written by `evsim trace export
 * --chrome` (or `evsim run --timeline`) against the Chrome trace-event format that Perfetto's
 * UI and chrome://tracing read:
 * - a root object with a traceEvents array and a displayTimeUnit;
 * - every event has ph, name, pid, tid; timed ones a ts >= 0; "X" a dur >= 0; flows ("s", "f")
 *   a cat and an id, the finish binding to its enclosing slice ("bp": "e");
 * - every flow id starts once and finishes once, no earlier than it started;
 * - every track in use is named by metadata (process_name, thread_name);
 * - the spans ("X") of one track nest: two either do not overlap or one holds the other (a
 *   viewer cannot draw partial overlaps on one track; Perfetto rejects them).
 * Spans that touch (one ends where the next starts) count as not overlapping.
 * Prints the counts and exits 0, or names the first violation and exits 1. */
#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct track {
    int64_t pid, tid;
    bool named, used;
};

struct span {
    size_t track, event;
    double start, end;
};

struct flow {
    int64_t id;
    double start, finish;
    int starts, finishes;
};

struct check {
    struct track *t;
    size_t nt;
    struct flow *f;
    size_t nf;
    bool *process_named; /* by pid, up to max_pid */
    int64_t max_pid;
    struct span *s;
    size_t ns;
    long instants;
};

static int bad(const char *what, size_t i)
{
    fprintf(stderr, "chrome_check: event %zu: %s\n", i, what);
    return 1;
}

static struct track *track(struct check *c, int64_t pid, int64_t tid)
{
    for (size_t i = 0; i < c->nt; i++)
        if (c->t[i].pid == pid && c->t[i].tid == tid)
            return &c->t[i];
    c->t = realloc(c->t, (c->nt + 1) * sizeof(*c->t));
    c->t[c->nt] = (struct track){pid, tid, false, false};
    return &c->t[c->nt++];
}

static struct flow *flow(struct check *c, int64_t id)
{
    for (size_t i = 0; i < c->nf; i++)
        if (c->f[i].id == id)
            return &c->f[i];
    c->f = realloc(c->f, (c->nf + 1) * sizeof(*c->f));
    c->f[c->nf] = (struct flow){id, 0, 0, 0, 0};
    return &c->f[c->nf++];
}

static bool get(struct json_object *o, const char *key, enum json_type type,
                struct json_object **out)
{
    return json_object_object_get_ex(o, key, out) &&
           (json_object_get_type(*out) == type ||
            (type == json_type_double && json_object_get_type(*out) == json_type_int));
}

static int metadata(struct check *c, struct json_object *e, int64_t pid, int64_t tid, size_t i)
{
    struct json_object *name, *args, *n;

    if (!get(e, "name", json_type_string, &name) || !get(e, "args", json_type_object, &args) ||
        !get(args, "name", json_type_string, &n))
        return bad("metadata without name and args.name", i);
    if (!strcmp(json_object_get_string(name), "thread_name")) {
        track(c, pid, tid)->named = true;
    } else if (!strcmp(json_object_get_string(name), "process_name")) {
        if (pid > c->max_pid) {
            c->process_named = realloc(c->process_named, (size_t)(pid + 1) * sizeof(bool));
            memset(c->process_named + c->max_pid + 1, 0, (size_t)(pid - c->max_pid));
            c->max_pid = pid;
        }
        c->process_named[pid] = true;
    } else {
        return bad("metadata other than process_name or thread_name", i);
    }
    return 0;
}

static int timed(struct check *c, struct json_object *e, const char *ph, int64_t pid, int64_t tid,
                 size_t i)
{
    struct json_object *ts, *dur, *cat, *id, *bp;
    double t;
    struct track *tr = track(c, pid, tid);

    tr->used = true;
    if (!get(e, "ts", json_type_double, &ts) || (t = json_object_get_double(ts)) < 0)
        return bad("no ts >= 0", i);
    if (!strcmp(ph, "X")) {
        if (!get(e, "dur", json_type_double, &dur) || json_object_get_double(dur) < 0)
            return bad("a span without dur >= 0", i);
        c->s = realloc(c->s, (c->ns + 1) * sizeof(*c->s));
        c->s[c->ns++] = (struct span){(size_t)(tr - c->t), i, t, t + json_object_get_double(dur)};
        return 0;
    }
    if (!strcmp(ph, "i")) {
        c->instants++;
        return 0;
    }
    if (!get(e, "cat", json_type_string, &cat) || !get(e, "id", json_type_int, &id))
        return bad("a flow without cat and id", i);
    struct flow *f = flow(c, json_object_get_int64(id));
    if (!strcmp(ph, "s")) {
        f->starts++;
        f->start = t;
    } else {
        if (!get(e, "bp", json_type_string, &bp) || strcmp(json_object_get_string(bp), "e"))
            return bad("a flow finish not bound to its enclosing slice (bp \"e\")", i);
        f->finishes++;
        f->finish = t;
    }
    return 0;
}

static int check_event(struct check *c, struct json_object *e, size_t i)
{
    struct json_object *ph, *name, *pid, *tid;
    const char *p;

    if (json_object_get_type(e) != json_type_object || !get(e, "ph", json_type_string, &ph) ||
        !get(e, "name", json_type_string, &name) || !get(e, "pid", json_type_int, &pid) ||
        !get(e, "tid", json_type_int, &tid))
        return bad("not an object with ph, name, pid and tid", i);
    if (json_object_get_int64(pid) < 0 || json_object_get_int64(tid) < 0)
        return bad("negative pid or tid", i);
    p = json_object_get_string(ph);
    if (!strcmp(p, "M"))
        return metadata(c, e, json_object_get_int64(pid), json_object_get_int64(tid), i);
    if (strcmp(p, "X") && strcmp(p, "i") && strcmp(p, "s") && strcmp(p, "f"))
        return bad("ph is none of M, X, i, s, f", i);
    return timed(c, e, p, json_object_get_int64(pid), json_object_get_int64(tid), i);
}

static int by_track_start(const void *a, const void *b)
{
    const struct span *x = a, *y = b;

    if (x->track != y->track)
        return x->track < y->track ? -1 : 1;
    if (x->start != y->start)
        return x->start < y->start ? -1 : 1;
    return x->end > y->end ? -1 : x->end < y->end; /* the longer first: it holds the other */
}

/* Sorted by track, then start: each span must end within every span still open around it. */
static int check_nesting(struct check *c)
{
    const double eps = 1e-6;
    size_t *open = malloc((c->ns + 1) * sizeof(*open)), depth = 0;
    int rc = 0;

    qsort(c->s, c->ns, sizeof(*c->s), by_track_start);
    for (size_t i = 0; !rc && i < c->ns; i++) {
        const struct span *s = &c->s[i];

        if (i && s->track != c->s[i - 1].track)
            depth = 0;
        while (depth && c->s[open[depth - 1]].end <= s->start + eps)
            depth--;
        if (depth && s->end > c->s[open[depth - 1]].end + eps) {
            fprintf(stderr,
                    "chrome_check: events %zu and %zu: spans of one track overlap without "
                    "nesting (%g-%g and %g-%g)\n",
                    c->s[open[depth - 1]].event, s->event, c->s[open[depth - 1]].start,
                    c->s[open[depth - 1]].end, s->start, s->end);
            rc = 1;
        }
        open[depth++] = i;
    }
    free(open);
    return rc;
}

static int check_links(const struct check *c, long min_flows)
{
    for (size_t i = 0; i < c->nf; i++) {
        const struct flow *f = &c->f[i];

        if (f->starts != 1 || f->finishes != 1 || f->finish + 1e-6 < f->start) {
            fprintf(stderr, "chrome_check: flow %lld: %d starts, %d finishes, %g -> %g\n",
                    (long long)f->id, f->starts, f->finishes, f->start, f->finish);
            return 1;
        }
    }
    for (size_t i = 0; i < c->nt; i++) {
        const struct track *t = &c->t[i];

        if (t->used && (!t->named || t->pid > c->max_pid || !c->process_named[t->pid])) {
            fprintf(stderr, "chrome_check: track pid %lld tid %lld has no name\n",
                    (long long)t->pid, (long long)t->tid);
            return 1;
        }
    }
    if ((long)c->nf < min_flows) {
        fprintf(stderr, "chrome_check: %zu flows, fewer than %ld\n", c->nf, min_flows);
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct json_object *root, *events, *unit;
    struct check c = {.max_pid = -1};
    int rc = 0;

    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: chrome_check FILE.json [MIN_FLOWS]\n");
        return 2;
    }
    if (!(root = json_object_from_file(argv[1]))) {
        fprintf(stderr, "chrome_check: %s: not JSON\n", argv[1]);
        return 1;
    }
    if (!get(root, "traceEvents", json_type_array, &events) ||
        !get(root, "displayTimeUnit", json_type_string, &unit)) {
        fprintf(stderr, "chrome_check: no traceEvents array and displayTimeUnit\n");
        json_object_put(root);
        return 1;
    }
    for (size_t i = 0; !rc && i < json_object_array_length(events); i++)
        rc = check_event(&c, json_object_array_get_idx(events, i), i);
    if (!rc)
        rc = check_links(&c, argc == 3 ? atol(argv[2]) : 0);
    if (!rc)
        rc = check_nesting(&c);
    if (!rc)
        printf("chrome_check: %zu events, %zu spans, %zu flows, %zu tracks\n",
               json_object_array_length(events), c.ns, c.nf, c.nt);
    json_object_put(root);
    free(c.t);
    free(c.f);
    free(c.s);
    free(c.process_named);
    return rc;
}
