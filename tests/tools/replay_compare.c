/* replay_compare RUN.json REPLAY.json PCT: does a replay (evsim replay --json) agree with a run
 * of the guests under the same configuration (evsim run --json)? Prints each disagreement and
 * exits 1 if there is any; 2 if a file cannot be read.
 *
 * Compared, each within PCT percent of the run's value (0: equal):
 * - the simulated time, and each domain's status, upcalls and hypercalls (per operation);
 * - per port: sends, raised, delivered, and the mean send-to-handler latency; latencies are
 *   compared within max(PCT %, 1 %) with PCT 0, as replay's slices need not end on the
 *   engine's block boundaries;
 * - per HVM domain: its I/O exits (internal, unclaimed, forwarded), and per ioreq server its
 *   synchronous, buffered, ring-full and bad-state requests and mean round trip (as latencies);
 * - the replay itself: every vcpu played its whole main line and the recorded work of every
 *   event, and none was left waiting. */
#include <inttypes.h>
#include <json-c/json.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct cmp {
    double pct;
    unsigned failures;
};

static void fail(struct cmp *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void fail(struct cmp *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    c->failures++;
}

static struct json_object *get(struct json_object *o, const char *key)
{
    struct json_object *v = NULL;
    return o && json_object_object_get_ex(o, key, &v) ? v : NULL;
}

static double num(struct json_object *o, const char *key)
{
    return json_object_get_double(get(o, key));
}

/* b within pct % of a (and within `floor` absolute: counts of a few differ by one). */
static bool close_to(double a, double b, double pct, double floor)
{
    return fabs(a - b) <= floor || fabs(a - b) <= fabs(a) * pct / 100.0;
}

static void compare_num(struct cmp *c, const char *what, double a, double b, double pct,
                        double floor)
{
    if (!close_to(a, b, pct, floor))
        fail(c, "%s: run %.0f, replay %.0f (%+.2f %%, allowed %.2f %%)", what, a, b,
             a ? (b - a) * 100.0 / a : 0.0, pct);
}

static struct json_object *find(struct json_object *arr, const char *key, double value)
{
    for (size_t i = 0; arr && i < json_object_array_length(arr); i++) {
        struct json_object *o = json_object_array_get_idx(arr, i);
        if (num(o, key) == value)
            return o;
    }
    return NULL;
}

static void compare_ports(struct cmp *c, unsigned dom, struct json_object *a, struct json_object *b)
{
    static const char *const counts[] = {"sends", "raised", "delivered"};
    double lat_pct = c->pct > 1.0 ? c->pct : 1.0, floor = c->pct > 0 ? 1.0 : 0.0;
    for (size_t i = 0; i < json_object_array_length(a); i++) {
        struct json_object *pa = json_object_array_get_idx(a, i);
        double port = num(pa, "port");
        struct json_object *pb = find(b, "port", port);
        char what[96];
        if (!pb) {
            fail(c, "dom %u port %.0f: in the run, not in the replay", dom, port);
            continue;
        }
        for (size_t k = 0; k < sizeof(counts) / sizeof(counts[0]); k++) {
            snprintf(what, sizeof(what), "dom %u port %.0f %s", dom, port, counts[k]);
            compare_num(c, what, num(pa, counts[k]), num(pb, counts[k]), c->pct, floor);
        }
        struct json_object *la = get(get(pa, "path"), "send_to_handler"),
                           *lb = get(get(pb, "path"), "send_to_handler");
        if (la && lb && num(la, "count") > 0) {
            snprintf(what, sizeof(what), "dom %u port %.0f mean send-to-handler cycles", dom, port);
            compare_num(c, what, num(la, "mean"), num(lb, "mean"), lat_pct, 0);
        }
    }
}

/* An HVM domain's exits and each ioreq server's requests and round trips (replays of HVM I/O
 * re-issue each access to Xen, and a server's device model answers it again). */
static void compare_ioreq(struct cmp *c, unsigned dom, struct json_object *a, struct json_object *b,
                          double floor)
{
    static const char *const io_counts[] = {"exits", "internal", "unclaimed", "forwarded"};
    static const char *const server_counts[] = {"synchronous", "buffered", "ring_full",
                                                "bad_state"};
    char what[128];
    for (size_t k = 0; get(a, "hvm_io") && k < sizeof(io_counts) / sizeof(io_counts[0]); k++) {
        snprintf(what, sizeof(what), "dom %u HVM I/O %s", dom, io_counts[k]);
        compare_num(c, what, num(get(a, "hvm_io"), io_counts[k]),
                    num(get(b, "hvm_io"), io_counts[k]), c->pct, floor);
    }
    struct json_object *sa = get(get(a, "ioreq"), "servers"), *sb = get(get(b, "ioreq"), "servers");
    for (size_t i = 0; sa && i < json_object_array_length(sa); i++) {
        struct json_object *x = json_object_array_get_idx(sa, i);
        struct json_object *y = find(sb, "id", num(x, "id"));
        if (!y) {
            fail(c, "dom %u ioreq server %.0f: in the run, not in the replay", dom, num(x, "id"));
            continue;
        }
        for (size_t k = 0; k < sizeof(server_counts) / sizeof(server_counts[0]); k++) {
            snprintf(what, sizeof(what), "dom %u ioreq server %.0f %s", dom, num(x, "id"),
                     server_counts[k]);
            compare_num(c, what, num(x, server_counts[k]), num(y, server_counts[k]), c->pct, floor);
        }
        struct json_object *ra = get(x, "round_trip"), *rb = get(y, "round_trip");
        if (ra && rb && num(ra, "count") > 0) {
            snprintf(what, sizeof(what), "dom %u ioreq server %.0f mean round trip cycles", dom,
                     num(x, "id"));
            compare_num(c, what, num(ra, "mean"), num(rb, "mean"), c->pct > 1.0 ? c->pct : 1.0, 0);
        }
    }
}

static void compare_domain(struct cmp *c, struct json_object *a, struct json_object *b)
{
    unsigned dom = (unsigned)num(a, "domid");
    double floor = c->pct > 0 ? 1.0 : 0.0;
    char what[128];
    const char *sa = json_object_get_string(get(a, "status")),
               *sb = json_object_get_string(get(b, "status"));
    if (!sa || !sb || strcmp(sa, sb))
        fail(c, "dom %u status: run %s, replay %s", dom, sa ? sa : "?", sb ? sb : "?");
    snprintf(what, sizeof(what), "dom %u upcalls", dom);
    compare_num(c, what, num(a, "upcalls"), num(b, "upcalls"), c->pct, floor);
    struct json_object *ops = get(a, "hypercall_ops"), *opsb = get(b, "hypercall_ops");
    for (size_t i = 0; ops && i < json_object_array_length(ops); i++) {
        struct json_object *o = json_object_array_get_idx(ops, i);
        const char *name = json_object_get_string(get(o, "op"));
        struct json_object *ob = NULL;
        for (size_t k = 0; opsb && k < json_object_array_length(opsb); k++) {
            struct json_object *x = json_object_array_get_idx(opsb, k);
            const char *xn = json_object_get_string(get(x, "op"));
            if (name && xn && !strcmp(name, xn))
                ob = x;
        }
        snprintf(what, sizeof(what), "dom %u %s calls", dom, name ? name : "?");
        compare_num(c, what, num(o, "calls"), ob ? num(ob, "calls") : 0, c->pct, floor);
    }
    compare_ports(c, dom, get(a, "ports"), get(b, "ports"));
    compare_ioreq(c, dom, a, b, floor);
}

static void check_replay(struct cmp *c, struct json_object *r)
{
    struct json_object *vcpus = get(r, "vcpus");
    if (!r) {
        fail(c, "the second report is not a replay's (no \"replay\" section)");
        return;
    }
    for (size_t i = 0; vcpus && i < json_object_array_length(vcpus); i++) {
        struct json_object *v = json_object_array_get_idx(vcpus, i);
        if (num(v, "main_played") < num(v, "main_steps") ||
            num(v, "events_handled") < num(v, "events") ||
            json_object_get_boolean(get(v, "waiting_at_end")))
            fail(c,
                 "replay: d%.0fv%.0f played %.0f of %.0f main-line steps and the work of %.0f of "
                 "%.0f events%s",
                 num(v, "domain"), num(v, "vcpu"), num(v, "main_played"), num(v, "main_steps"),
                 num(v, "events_handled"), num(v, "events"),
                 json_object_get_boolean(get(v, "waiting_at_end")) ? ", still waiting" : "");
    }
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: replay_compare RUN.json REPLAY.json PCT\n");
        return 2;
    }
    struct cmp c = {.pct = atof(argv[3])};
    struct json_object *a = json_object_from_file(argv[1]), *b = json_object_from_file(argv[2]);
    if (!a || !b) {
        fprintf(stderr, "replay_compare: cannot read %s\n", a ? argv[2] : argv[1]);
        return 2;
    }
    compare_num(&c, "simulated cycles", num(a, "simulated_cycles"), num(b, "simulated_cycles"),
                c.pct > 1.0 ? c.pct : 1.0, 0);
    struct json_object *da = get(a, "domains"), *db = get(b, "domains");
    for (size_t i = 0; da && i < json_object_array_length(da); i++) {
        struct json_object *x = json_object_array_get_idx(da, i);
        struct json_object *y = find(db, "domid", num(x, "domid"));
        if (y)
            compare_domain(&c, x, y);
        else
            fail(&c, "dom %.0f: in the run, not in the replay", num(x, "domid"));
    }
    check_replay(&c, get(b, "replay"));
    if (!c.failures)
        printf("replay agrees with the run (within %g %%)\n", c.pct);
    json_object_put(a);
    json_object_put(b);
    return c.failures ? 1 : 0;
}
