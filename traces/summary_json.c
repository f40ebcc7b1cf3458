/* The summary as JSON (`evsim trace summary --json`): the same figures as the text, in cycles
 * with seconds beside them, for scripts and plots. docs/traces.md gives the layout. */
#include <json-c/json.h>
#include <stdio.h>

#include "traces/summary.h"

static void put_u64(struct json_object *o, const char *key, uint64_t v)
{
    json_object_object_add(o, key, json_object_new_uint64(v));
}

static void put_double(struct json_object *o, const char *key, double v)
{
    json_object_object_add(o, key, json_object_new_double(v));
}

static double seconds(const struct xt_summary *s, uint64_t cycles)
{
    return (double)cycles / (double)xt_summary_cpu_hz(s);
}

/* count, cycles, seconds, mean and percentiles; weighted: xenalyze's runstate percentiles */
static struct json_object *cycles_json(const struct xt_summary *s, const struct xt_cycles *c,
                                       bool weighted)
{
    struct json_object *o = json_object_new_object();
    uint64_t p[3] = {0, 0, 0};

    if (weighted)
        xt_cycles_weighted_percentiles(c, p);
    else
        xt_cycles_percentiles(c, p);
    put_u64(o, "events", c->events);
    put_u64(o, "count", c->count);
    put_u64(o, "cycles", c->cycles);
    put_double(o, "seconds", seconds(s, c->cycles));
    put_u64(o, "mean", c->count ? c->cycles / c->count : 0);
    put_u64(o, "p5", p[0]);
    put_u64(o, "p50", p[1]);
    put_u64(o, "p95", p[2]);
    return o;
}

static struct json_object *runstates_json(const struct xt_summary *s, const struct xt_vcpu *v)
{
    static const char *const kinds[XT_RUNNABLE_KINDS] = {"runnable_wake", "runnable_preempt",
                                                         "runnable_other"};
    struct json_object *o = json_object_new_object();

    for (unsigned i = 0; i < XT_STATES; i++)
        json_object_object_add(o, xt_runstate_name(i), cycles_json(s, &v->runstate[i], true));
    for (unsigned k = 0; k < XT_RUNNABLE_KINDS; k++)
        json_object_object_add(o, kinds[k], cycles_json(s, &v->runnable[k], true));
    return o;
}

/* xenalyze's domain runstates, by name with '_' for its spaces ("partial_run") */
static struct json_object *domain_runstates_json(const struct xt_summary *s,
                                                 const struct xt_domain *d)
{
    struct json_object *o = json_object_new_object();

    for (unsigned i = 0; i < XT_DOM_STATES; i++) {
        char key[32];
        snprintf(key, sizeof(key), "%s", xt_domain_state_name(i));
        for (char *c = key; *c; c++)
            *c = *c == ' ' ? '_' : *c;
        json_object_object_add(o, key, cycles_json(s, &d->runstate[i], true));
    }
    return o;
}

enum table_kind { T_EXITS, T_HYPERCALLS, T_VECTORS, T_ADDRESSES };

/* One row per key: its name and what was counted (reads and writes apart for addresses). */
static struct json_object *table_json(const struct xt_summary *s, const struct xt_table *t,
                                      enum table_kind kind, const char *key_name)
{
    struct json_object *a = json_object_new_array();

    for (uint32_t i = 0; i < t->n; i++) {
        const struct xt_keyed *e = t->e + i;
        struct json_object *row = json_object_new_object();
        uint32_t key = (uint32_t)e->key;

        put_u64(row, key_name, kind == T_ADDRESSES ? e->key : key);
        if (kind == T_EXITS)
            json_object_object_add(row, "name",
                                   json_object_new_string(xt_exit_reason_name(
                                       e->key >> 32 ? TRC_HVM_SVM_EXIT : TRC_HVM_VMX_EXIT, key)));
        if (kind == T_EXITS)
            json_object_object_add(row, "svm", json_object_new_boolean(e->key >> 32 != 0));
        if (kind == T_HYPERCALLS)
            json_object_object_add(row, "name", json_object_new_string(xt_hypercall_name(key)));
        if (kind == T_ADDRESSES) {
            json_object_object_add(row, "reads", cycles_json(s, &e->c[0], false));
            json_object_object_add(row, "writes", cycles_json(s, &e->c[1], false));
        } else if (kind == T_VECTORS) {
            put_u64(row, "count", e->c[0].events);
        } else {
            json_object_object_add(row, "time", cycles_json(s, &e->c[0], false));
        }
        json_object_array_add(a, row);
    }
    return a;
}

static struct json_object *vcpu_json(const struct xt_summary *s, const struct xt_vcpu *v)
{
    struct json_object *o = json_object_new_object();

    put_u64(o, "vcpu", v->vid);
    json_object_object_add(o, "runstates", runstates_json(s, v));
    json_object_object_add(o, "cpu_affinity", cycles_json(s, &v->affinity, false));
    struct json_object *by_cpu = json_object_new_array();
    for (uint32_t cpu = 0; cpu < v->affinity_cpus; cpu++) {
        if (!v->affinity_cpu[cpu].count)
            continue;
        struct json_object *c = cycles_json(s, &v->affinity_cpu[cpu], false);
        put_u64(c, "cpu", cpu);
        json_object_array_add(by_cpu, c);
    }
    json_object_object_add(o, "cpu_affinity_by_cpu", by_cpu);
    json_object_object_add(o, "exits", table_json(s, &v->exits, T_EXITS, "reason"));
    json_object_object_add(o, "hypercalls", table_json(s, &v->hypercalls, T_HYPERCALLS, "nr"));
    json_object_object_add(o, "vectors", table_json(s, &v->vectors, T_VECTORS, "vector"));
    json_object_object_add(o, "io_ports", table_json(s, &v->pio, T_ADDRESSES, "port"));
    json_object_object_add(o, "mmio", table_json(s, &v->mmio, T_ADDRESSES, "address"));
    json_object_object_add(o, "io_ports_after_exit",
                           table_json(s, &v->late_pio, T_ADDRESSES, "port"));
    json_object_object_add(o, "mmio_after_exit",
                           table_json(s, &v->late_mmio, T_ADDRESSES, "address"));
    return o;
}

static struct json_object *cpus_json(const struct xt_summary *s, const struct xt_stats *st)
{
    struct json_object *a = json_object_new_array();

    for (uint32_t cpu = 0; cpu < st->nr_cpus; cpu++) {
        const struct xt_cpu_stats *c = st->cpu + cpu;
        struct json_object *o, *volume;

        if (!c->present)
            continue;
        o = json_object_new_object();
        volume = json_object_new_object();
        put_u64(o, "cpu", cpu);
        put_u64(o, "records", c->records);
        put_u64(o, "bytes", c->bytes);
        for (unsigned k = 0; k < XT_CLASSES; k++)
            if (c->class_bytes[k])
                put_u64(volume, xt_class_name(k), c->class_bytes[k]);
        json_object_object_add(o, "volume", volume);
        struct json_object *hvm = json_object_new_object();
        for (unsigned h = 0; h < XT_HVM_VOLUMES; h++)
            if (c->hvm_bytes[h])
                put_u64(hvm, xt_hvm_volume_name(h), c->hvm_bytes[h]);
        json_object_object_add(o, "hvm_volume", hvm);
        put_u64(o, "lost_records", c->lost_records);
        put_u64(o, "lost_gaps", c->lost_events);
        put_double(o, "lost_seconds", seconds(s, c->lost_cycles));
        put_u64(o, "out_of_order", c->out_of_order);
        json_object_array_add(a, o);
    }
    return a;
}

struct json_object *xt_summary_json(const struct xt_summary *s, const struct xt_stats *st)
{
    struct json_object *o = json_object_new_object(), *doms = json_object_new_array();

    put_u64(o, "cpu_hz", xt_summary_cpu_hz(s));
    json_object_object_add(o, "cpu_hz_from",
                           json_object_new_string(s->opt.cpu_hz    ? "option"
                                                  : s->file_cpu_hz ? "recording"
                                                                   : "default"));
    put_u64(o, "first_tsc", s->first_tsc);
    put_u64(o, "last_tsc", s->last_tsc);
    put_double(o, "total_seconds", seconds(s, s->last_tsc - s->first_tsc));
    put_u64(o, "records", st->records);
    put_u64(o, "windows", st->windows);
    put_u64(o, "unknown_ids", s->unknown);
    put_u64(o, "unattributed", s->unattributed);
    put_u64(o, "outside_exit", s->outside_exit);
    if (st->truncated) {
        struct json_object *t = json_object_new_object();

        put_u64(t, "records_stop_at", st->truncated_at);
        put_u64(t, "lacking_bytes", st->truncated_bytes);
        json_object_object_add(o, "truncated", t);
    } else {
        json_object_object_add(o, "truncated", NULL);
    }
    json_object_object_add(o, "cpus", cpus_json(s, st));
    for (uint32_t id = 0; xt_idmap_next(&s->dom, &id); id++) {
        const struct xt_domain *d = xt_summary_domain(s, id);
        struct json_object *dom = json_object_new_object(), *vcpus = json_object_new_array();

        put_u64(dom, "domain", d->id);
        json_object_object_add(dom, "runstates", domain_runstates_json(s, d));
        for (uint32_t k = 0; xt_idmap_next(&d->vcpus, &k); k++)
            json_object_array_add(vcpus, vcpu_json(s, xt_domain_vcpu(d, k)));
        json_object_object_add(dom, "vcpus", vcpus);
        json_object_array_add(doms, dom);
    }
    json_object_object_add(o, "domains", doms);
    return o;
}
