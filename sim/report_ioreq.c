/* The report's ioreq part: per server of an HVM domain, the requests it was sent, their round
 * trips stage by stage (sim/ioreq_rt.h), the ranges they hit; and the vcpus still waiting for
 * an emulator when the run ended. */
#include <inttypes.h>

#include "models/hvm_io.h"
#include "sim/report_json.h"

static const char *const range_type_names[NR_IO_RANGE_TYPES] = {
    [XEN_DMOP_IO_RANGE_PORT] = "port",
    [XEN_DMOP_IO_RANGE_MEMORY] = "memory",
    [XEN_DMOP_IO_RANGE_PCI] = "pci",
};

static struct json_object *requests_json(const struct rt_server *rs)
{
    struct json_object *o = json_object_new_object();
    for (unsigned t = 0; t < NR_IO_RANGE_TYPES; t++) {
        struct json_object *k = json_object_new_object();
        put_u64(k, "read", rs->n[t][IOREQ_READ]);
        put_u64(k, "write", rs->n[t][IOREQ_WRITE]);
        json_object_object_add(o, range_type_names[t], k);
    }
    return o;
}

static struct json_object *ranges_json(const struct rt_server *rs)
{
    struct json_object *arr = json_object_new_array();
    for (unsigned i = 0; i < rs->nr_range; i++) {
        const struct rt_range *r = &rs->range[i];
        struct json_object *o = json_object_new_object();
        put_str(o, "type", range_type_names[r->type]);
        put_u64(o, "start", r->start);
        put_u64(o, "end", r->end);
        put_u64(o, "requests", r->requests);
        json_object_array_add(arr, o);
    }
    return arr;
}

static struct json_object *server_json(const struct machine *m, unsigned id, struct rt_server *rs)
{
    struct json_object *o = json_object_new_object(), *st = json_object_new_object();
    put_u64(o, "id", id);
    put_u64(o, "emulator", rs->emulator);
    json_object_object_add(o, "requests", requests_json(rs));
    put_u64(o, "synchronous", rs->synchronous);
    put_u64(o, "buffered", rs->buffered);
    put_u64(o, "ring_full", rs->ring_full);
    put_u64(o, "bad_state", rs->bad_state);
    json_object_object_add(o, "round_trip", distribution_json(m, &rs->round_trip));
    json_object_object_add(o, "buffered_cost", distribution_json(m, &rs->buffered_cost));
    for (unsigned k = 0; k < RT_STAGES; k++)
        json_object_object_add(st, rt_stage_names[k], distribution_json(m, &rs->stage[k]));
    json_object_object_add(o, "stages", st);
    json_object_object_add(o, "ranges", ranges_json(rs));
    return o;
}

/* Vcpus the run ended with waiting for an emulator: which server, and since when. */
static struct json_object *waiting_json(const struct sim_domain *sd)
{
    struct json_object *arr = json_object_new_array();
    for (unsigned i = 0; i < sd->nr_vcpus; i++) {
        const struct sim_hvm_io *io = &sd->vcpu[i].hvm_io;
        if (!io->waiting)
            continue;
        struct json_object *o = json_object_new_object();
        put_u64(o, "vcpu", i);
        put_u64(o, "server", io->flight.server);
        put_u64(o, "port_or_address", io->access.addr);
        put_u64(o, "since_ns", cost_cycles_to_ns(sd->m->cost, io->flight.t[RT_EXIT]));
        json_object_array_add(arr, o);
    }
    return arr;
}

struct json_object *report_ioreq_json(struct sim_domain *sd)
{
    struct json_object *o = json_object_new_object(), *arr = json_object_new_array();
    uint64_t late = 0, unclaimed = 0;
    for (unsigned i = 0; i < sd->nr_vcpus; i++)
        late += sd->vcpu[i].hvm_io.late_claims;
    const struct hvm_io_stats *st = &sd->d->stats.hvm_io;
    for (unsigned k = 0; k < HVM_IO_KINDS; k++)
        for (unsigned dir = 0; dir < 2; dir++)
            unclaimed += st->n[k][dir][HVM_IO_UNCLAIMED];
    for (unsigned id = 0; id < MAX_NR_IOREQ_SERVERS; id++)
        if (sd->ioreq_rt.server[id].used)
            json_object_array_add(arr, server_json(sd->m, id, &sd->ioreq_rt.server[id]));
    json_object_object_add(o, "servers", arr);
    put_u64(o, "unclaimed", unclaimed);
    put_u64(o, "late_claims", late);
    json_object_object_add(o, "waiting", waiting_json(sd));
    return o;
}

static uint64_t mean_of(struct json_object *o, const char *k)
{
    struct json_object *v;
    return json_object_object_get_ex(o, k, &v) ? get_u64(v, "mean") : 0;
}

/* Each server of each domain, in order, with what the printers share. */
struct server_printer {
    FILE *out;
    bool header; /* printed already */
    void (*row)(struct server_printer *p, struct json_object *dom, struct json_object *server);
};

static void each_server(struct json_object *doms, struct server_printer *p)
{
    for (size_t i = 0; i < json_object_array_length(doms); i++) {
        struct json_object *d = json_object_array_get_idx(doms, i), *io, *srv;
        if (!json_object_object_get_ex(d, "ioreq", &io) || !(srv = get_arr(io, "servers")))
            continue;
        for (size_t k = 0; k < json_object_array_length(srv); k++)
            p->row(p, d, json_object_array_get_idx(srv, k));
    }
}

static void server_row(struct server_printer *p, struct json_object *d, struct json_object *s)
{
    struct json_object *rt = NULL, *buf = NULL;
    json_object_object_get_ex(s, "round_trip", &rt);
    json_object_object_get_ex(s, "buffered_cost", &buf);
    if (!p->header)
        fprintf(p->out, "\nioreq servers: round trips in cycles (exit to the guest running "
                        "again)\n  dom  server  emulator      sync  buffered ring_full "
                        "     mean       p50       p95       p99       max   mean ns  buf mean\n");
    p->header = true;
    fprintf(p->out,
            "  %-4" PRIu64 " %-7" PRIu64 " d%-8" PRIu64 " %9" PRIu64 " %9" PRIu64 " %9" PRIu64
            " %9" PRIu64 " %9" PRIu64 " %9" PRIu64 " %9" PRIu64 " %9" PRIu64 " %9" PRIu64
            " %9" PRIu64 "\n",
            get_u64(d, "domid"), get_u64(s, "id"), get_u64(s, "emulator"),
            get_u64(s, "synchronous"), get_u64(s, "buffered"), get_u64(s, "ring_full"),
            get_u64(rt, "mean"), get_u64(rt, "p50"), get_u64(rt, "p95"), get_u64(rt, "p99"),
            get_u64(rt, "max"), get_u64(rt, "mean_ns"), get_u64(buf, "mean"));
}

static int stage_width(unsigned k)
{
    return k == RT_EMULATOR_WAKE ? 13 : 9;
}

static void stage_row(struct server_printer *p, struct json_object *d, struct json_object *s)
{
    struct json_object *st = NULL;
    json_object_object_get_ex(s, "stages", &st);
    if (!p->header) {
        fprintf(p->out, "\nioreq round trips: mean cycles by stage\n  dom  server");
        for (unsigned k = 0; k < RT_STAGES; k++)
            fprintf(p->out, " %*s", stage_width(k), rt_stage_names[k]);
        fprintf(p->out, "\n");
    }
    p->header = true;
    fprintf(p->out, "  %-4" PRIu64 " %-6" PRIu64, get_u64(d, "domid"), get_u64(s, "id"));
    for (unsigned k = 0; k < RT_STAGES; k++)
        fprintf(p->out, " %*" PRIu64, stage_width(k), mean_of(st, rt_stage_names[k]));
    fprintf(p->out, "\n");
}

static void range_rows(struct server_printer *p, struct json_object *d, struct json_object *s)
{
    struct json_object *ranges = get_arr(s, "ranges");
    for (size_t r = 0; ranges && r < json_object_array_length(ranges); r++) {
        struct json_object *g = json_object_array_get_idx(ranges, r);
        if (!p->header)
            fprintf(p->out, "\nioreq ranges hit\n  dom  server  type    start              "
                            "end                  requests\n");
        p->header = true;
        fprintf(p->out,
                "  %-4" PRIu64 " %-7" PRIu64 " %-7s 0x%-16" PRIx64 " 0x%-16" PRIx64 " %9" PRIu64
                "\n",
                get_u64(d, "domid"), get_u64(s, "id"), get_str(g, "type"), get_u64(g, "start"),
                get_u64(g, "end"), get_u64(g, "requests"));
    }
}

static void print_waiting(struct json_object *doms, FILE *out)
{
    for (size_t i = 0; i < json_object_array_length(doms); i++) {
        struct json_object *d = json_object_array_get_idx(doms, i), *io, *w;
        if (!json_object_object_get_ex(d, "ioreq", &io) || !(w = get_arr(io, "waiting")))
            continue;
        for (size_t k = 0; k < json_object_array_length(w); k++) {
            struct json_object *x = json_object_array_get_idx(w, k);
            fprintf(out,
                    "\nwaiting: d%" PRIu64 "v%" PRIu64 " waits on ioreq server %" PRIu64
                    " (access to 0x%" PRIx64 " since %" PRIu64 " ns): its emulator never "
                    "answered\n",
                    get_u64(d, "domid"), get_u64(x, "vcpu"), get_u64(x, "server"),
                    get_u64(x, "port_or_address"), get_u64(x, "since_ns"));
        }
    }
}

void report_ioreq_print(struct json_object *doms, FILE *out)
{
    struct server_printer p[] = {
        {out, false, server_row}, {out, false, stage_row}, {out, false, range_rows}};
    for (size_t i = 0; i < sizeof(p) / sizeof(p[0]); i++)
        each_server(doms, &p[i]);
    print_waiting(doms, out);
}
