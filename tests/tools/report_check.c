/* report_check REPORT.json: the invariants every evsim report must satisfy, whatever the
 * scenario. Prints each violation with where it is and exits 1 if there is any; 2 if the file
 * cannot be read. Run on the JSON of every scenario test (golden.cmake).
 *
 * The invariants:
 * - per port: delivered + coalesced + pending_at_end <= raised, with equality unless the domain
 *   closed or reset ports (Xen clears their pending bits) or the ABI lost events;
 *   send_to_handler count <= delivered;
 * - per domain: hypercalls = the sum of its operations' calls; errors <= calls per operation;
 *   the sends counted on its ports = its successful EVTCHNOP_send calls;
 * - the report's guest instructions = the sum of the domains';
 * - every distribution: p50 <= p95 <= p99 <= max, mean <= max, max below the run's length (a
 *   negative stage time would show as a huge unsigned one);
 * - per physical CPU: busy cycles <= simulated cycles;
 * - cache lines: hits + socket + remote transfers = reads + writes + locked accesses;
 * - no cross-CPU effect (IPI, wake-up) arrived after its target had run past its time. */
#include <inttypes.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

struct check {
    const char *file;
    unsigned failures;
    uint64_t run_cycles;
};

static void fail(struct check *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void fail(struct check *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: ", c->file);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    c->failures++;
}

static struct json_object *get(struct json_object *o, const char *key)
{
    struct json_object *v = NULL;
    json_object_object_get_ex(o, key, &v);
    return v;
}

static uint64_t u64(struct json_object *o, const char *key)
{
    return (uint64_t)json_object_get_int64(get(o, key));
}

static bool domain_ran(struct json_object *dom, const char *const *ops, size_t n)
{
    struct json_object *list = get(dom, "hypercall_ops");
    for (size_t i = 0; list && i < json_object_array_length(list); i++) {
        const char *op = json_object_get_string(get(json_object_array_get_idx(list, i), "op"));
        for (size_t k = 0; op && k < n; k++)
            if (!strcmp(op, ops[k]) && u64(json_object_array_get_idx(list, i), "calls"))
                return true;
    }
    return false;
}

static void check_distribution(struct check *c, struct json_object *d, const char *where)
{
    uint64_t p50 = u64(d, "p50"), p95 = u64(d, "p95"), p99 = u64(d, "p99"), max = u64(d, "max");
    if (!u64(d, "count"))
        return;
    if (p50 > p95 || p95 > p99 || p99 > max || u64(d, "mean") > max)
        fail(c,
             "%s: percentiles out of order (p50 %" PRIu64 " p95 %" PRIu64 " p99 %" PRIu64
             " max %" PRIu64 ")",
             where, p50, p95, p99, max);
    if (max > c->run_cycles)
        fail(c, "%s: max %" PRIu64 " cycles exceeds the run (%" PRIu64 ")", where, max,
             c->run_cycles);
}

static void check_paths(struct check *c, struct json_object *port, const char *where)
{
    struct json_object *path = get(port, "path");
    if (!path)
        return;
    char at[160];
    struct json_object *s2h = get(path, "send_to_handler");
    snprintf(at, sizeof(at), "%s send_to_handler", where);
    if (s2h) {
        check_distribution(c, s2h, at);
        if (u64(s2h, "count") > u64(port, "delivered"))
            fail(c, "%s: %" PRIu64 " timed events but %" PRIu64 " delivered", at, u64(s2h, "count"),
                 u64(port, "delivered"));
    }
    struct json_object *stages = get(path, "stages");
    if (!stages)
        return;
    json_object_object_foreach(stages, name, st)
    {
        snprintf(at, sizeof(at), "%s stage %s", where, name);
        check_distribution(c, st, at);
    }
}

static const char *const port_clearing_ops[] = {"event_channel_op/close", "event_channel_op/reset"};

static void check_ports(struct check *c, struct json_object *dom, uint64_t *sends)
{
    struct json_object *ports = get(dom, "ports");
    bool exact = !domain_ran(dom, port_clearing_ops, 2) && !u64(dom, "abi_lost_events");
    for (size_t i = 0; ports && i < json_object_array_length(ports); i++) {
        struct json_object *p = json_object_array_get_idx(ports, i);
        char where[64];
        snprintf(where, sizeof(where), "dom %" PRIu64 " port %" PRIu64, u64(dom, "domid"),
                 u64(p, "port"));
        uint64_t accounted = u64(p, "delivered") + u64(p, "coalesced") + u64(p, "pending_at_end");
        if (accounted > u64(p, "raised") || (exact && accounted != u64(p, "raised")))
            fail(c, "%s: raised %" PRIu64 " but delivered + coalesced + pending_at_end = %" PRIu64,
                 where, u64(p, "raised"), accounted);
        *sends += u64(p, "sends");
        check_paths(c, p, where);
    }
}

static void check_hypercalls(struct check *c, struct json_object *dom, uint64_t port_sends)
{
    struct json_object *ops = get(dom, "hypercall_ops");
    uint64_t total = 0, sends_ok = 0;
    for (size_t i = 0; ops && i < json_object_array_length(ops); i++) {
        struct json_object *op = json_object_array_get_idx(ops, i);
        const char *name = json_object_get_string(get(op, "op"));
        total += u64(op, "calls");
        if (u64(op, "errors") > u64(op, "calls"))
            fail(c, "dom %" PRIu64 " %s: more errors than calls", u64(dom, "domid"), name);
        if (name && !strcmp(name, "event_channel_op/send"))
            sends_ok = u64(op, "calls") - u64(op, "errors");
    }
    if (total != u64(dom, "hypercalls"))
        fail(c, "dom %" PRIu64 ": %" PRIu64 " hypercalls but its operations add up to %" PRIu64,
             u64(dom, "domid"), u64(dom, "hypercalls"), total);
    if (port_sends != sends_ok)
        fail(c,
             "dom %" PRIu64 ": its ports count %" PRIu64 " sends but %" PRIu64
             " EVTCHNOP_send calls succeeded",
             u64(dom, "domid"), port_sends, sends_ok);
}

static void check_machine(struct check *c, struct json_object *r, uint64_t domain_insns)
{
    if (domain_insns != u64(r, "guest_instructions"))
        fail(c, "guest instructions %" PRIu64 " but the domains add up to %" PRIu64,
             u64(r, "guest_instructions"), domain_insns);
    struct json_object *cpus = get(r, "pcpu_stats");
    for (size_t i = 0; cpus && i < json_object_array_length(cpus); i++) {
        struct json_object *p = json_object_array_get_idx(cpus, i);
        if (u64(p, "busy_cycles") > c->run_cycles)
            fail(c, "pcpu %zu busy %" PRIu64 " cycles of a %" PRIu64 "-cycle run", i,
                 u64(p, "busy_cycles"), c->run_cycles);
    }
    if (u64(r, "late_cross_cpu_effects"))
        fail(c, "%" PRIu64 " cross-CPU effects arrived late", u64(r, "late_cross_cpu_effects"));
    struct json_object *lines = get(r, "cache_lines");
    if (lines &&
        u64(lines, "hits") + u64(lines, "socket_transfers") + u64(lines, "remote_transfers") !=
            u64(lines, "reads") + u64(lines, "writes") + u64(lines, "locked"))
        fail(c, "cache lines: hits and transfers do not add up to the accesses");
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: report_check REPORT.json\n");
        return 2;
    }
    struct check c = {.file = argv[1]};
    struct json_object *r = json_object_from_file(argv[1]);
    if (!r) {
        fprintf(stderr, "%s: cannot read a JSON report\n", argv[1]);
        return 2;
    }
    c.run_cycles = u64(r, "simulated_cycles");
    struct json_object *doms = get(r, "domains");
    uint64_t insns = 0;
    for (size_t i = 0; doms && i < json_object_array_length(doms); i++) {
        struct json_object *d = json_object_array_get_idx(doms, i);
        uint64_t sends = 0;
        check_ports(&c, d, &sends);
        check_hypercalls(&c, d, sends);
        insns += u64(d, "guest_instructions");
    }
    check_machine(&c, r, insns);
    json_object_put(r);
    return c.failures ? 1 : 0;
}
