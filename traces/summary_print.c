/* The summary as text, in xenalyze's layout and line formats (print_cycle_summary and
 * PRINT_SUMMARY in tools/xentrace/xenalyze.c), so that the two can be read side by side:
 * "count seconds avg {p5|p50|p95}" with cycles; runstates use the self-weighted percentiles
 * xenalyze gives them, the other tables plain percentiles. */
#include <inttypes.h>

#include "traces/summary.h"

static double seconds(const struct xt_summary *s, uint64_t cycles)
{
    return (double)cycles / (double)xt_summary_cpu_hz(s);
}

static void runstate_line(FILE *out, const struct xt_summary *s, const char *label,
                          const struct xt_cycles *c)
{
    uint64_t p[3];

    if (!c->count)
        return;
    xt_cycles_weighted_percentiles(c, p);
    fprintf(out, "%s: %7" PRIu64 " %5.2fs %6" PRIu64 " {%6" PRIu64 "|%6" PRIu64 "|%6" PRIu64 "}\n",
            label, c->count, seconds(s, c->cycles), c->cycles / c->count, p[0], p[1], p[2]);
}

/* xenalyze's print_cpu_affinity: "count avg {p5|p50|p95}", plain percentiles */
static void affinity_line(FILE *out, const char *label, const struct xt_cycles *c)
{
    uint64_t p[3];

    if (!c->count)
        return;
    xt_cycles_percentiles(c, p);
    fprintf(out, "%s: %7" PRIu64 " %6" PRIu64 " {%6" PRIu64 "|%6" PRIu64 "|%6" PRIu64 "}\n", label,
            c->count, c->cycles / c->count, p[0], p[1], p[2]);
}

/* label, then " count seconds percent avg cyc {p5|p50|p95}"; events without cycles (PV
 * hypercalls, vectors) print their count alone. */
static void table_line(FILE *out, const struct xt_summary *s, const char *label,
                       const struct xt_cycles *c)
{
    uint64_t total = s->last_tsc - s->first_tsc, p[3];

    if (!c->events)
        return;
    if (!c->count) {
        fprintf(out, "%s %7" PRIu64 "\n", label, c->events);
        return;
    }
    xt_cycles_percentiles(c, p);
    fprintf(out,
            "%s %7" PRIu64 " %5.2fs %5.2f%% %5" PRIu64 " cyc {%5" PRIu64 "|%5" PRIu64 "|%5" PRIu64
            "}\n",
            label, c->events, seconds(s, c->cycles),
            total ? 100.0 * (double)c->cycles / (double)total : 0.0, c->cycles / c->count, p[0],
            p[1], p[2]);
}

/* xenalyze's sched_summary_vcpu: the runstates, then the cpu affinity. */
static void vcpu_sched(FILE *out, const struct xt_summary *s, const struct xt_vcpu *v)
{
    static const char *const kinds[XT_RUNNABLE_KINDS] = {"wake", "preempt", "other"};
    char label[40];

    fprintf(out, " Runstates:\n");
    for (unsigned i = 0; i < XT_STATES; i++) {
        snprintf(label, sizeof(label), "  %8s", xt_runstate_name(i));
        runstate_line(out, s, label, &v->runstate[i]);
        if (i != XT_RUNNABLE)
            continue;
        for (unsigned k = 0; k < XT_RUNNABLE_KINDS; k++) {
            snprintf(label, sizeof(label), "    %8s", kinds[k]);
            runstate_line(out, s, label, &v->runnable[k]);
        }
    }
    affinity_line(out, " cpu affinity", &v->affinity);
    for (uint32_t cpu = 0; cpu < v->affinity_cpus; cpu++) {
        snprintf(label, sizeof(label), "   [%u]", cpu);
        affinity_line(out, label, &v->affinity_cpu[cpu]);
    }
}

static void exits(FILE *out, const struct xt_summary *s, const struct xt_vcpu *v)
{
    char label[64];

    if (!v->exits.n)
        return;
    fprintf(out, " Exit reasons:\n");
    for (uint32_t i = 0; i < v->exits.n; i++) {
        const struct xt_keyed *e = v->exits.e + i;
        uint32_t reason = (uint32_t)e->key;
        uint32_t id = e->key >> 32 ? TRC_HVM_SVM_EXIT : TRC_HVM_VMX_EXIT;

        snprintf(label, sizeof(label), "   %-28s[%3u]:", xt_exit_reason_name(id, reason), reason);
        table_line(out, s, label, &e->c[0]);
    }
}

static void hypercalls(FILE *out, const struct xt_summary *s, const struct xt_vcpu *v)
{
    char label[64];

    if (!v->hypercalls.n)
        return;
    fprintf(out, " Hypercalls:\n");
    for (uint32_t i = 0; i < v->hypercalls.n; i++) {
        const struct xt_keyed *e = v->hypercalls.e + i;

        snprintf(label, sizeof(label),
                 "   %-24s[%2" PRIu64 "]:", xt_hypercall_name((uint32_t)e->key), e->key);
        table_line(out, s, label, &e->c[0]);
    }
}

static void vectors(FILE *out, const struct xt_summary *s, const struct xt_vcpu *v)
{
    char label[32];

    if (!v->vectors.n)
        return;
    fprintf(out, " Guest interrupt counts:\n");
    for (uint32_t i = 0; i < v->vectors.n; i++) {
        snprintf(label, sizeof(label), "   [%3" PRIu64 "]:", v->vectors.e[i].key);
        table_line(out, s, label, &v->vectors.e[i].c[0]);
    }
}

static void addresses(FILE *out, const struct xt_summary *s, const struct xt_table *t,
                      const char *title)
{
    char label[48];

    if (!t->n)
        return;
    fprintf(out, " %s\n", title);
    for (uint32_t i = 0; i < t->n; i++) {
        snprintf(label, sizeof(label), "   %8" PRIx64 ":[r]", t->e[i].key);
        table_line(out, s, label, &t->e[i].c[0]);
        snprintf(label, sizeof(label), "   %8" PRIx64 ":[w]", t->e[i].key);
        table_line(out, s, label, &t->e[i].c[1]);
    }
}

/* Counts only: these accesses have no exit to take a time from. */
static void late_addresses(FILE *out, const struct xt_table *t, const char *title)
{
    if (!t->n)
        return;
    fprintf(out, " %s\n", title);
    for (uint32_t i = 0; i < t->n; i++)
        for (unsigned w = 0; w < 2; w++)
            if (t->e[i].c[w].events)
                fprintf(out, "   %8" PRIx64 ":[%c] %7" PRIu64 "\n", t->e[i].key, w ? 'w' : 'r',
                        t->e[i].c[w].events);
}

/* xenalyze's sched_summary_domain: what the domain's vcpus did together. */
static void domain_runstates(FILE *out, const struct xt_summary *s, const struct xt_domain *d)
{
    char label[40];

    fprintf(out, " Runstates:\n");
    for (unsigned i = 0; i < XT_DOM_STATES; i++) {
        snprintf(label, sizeof(label), "  %8s", xt_domain_state_name(i));
        runstate_line(out, s, label, &d->runstate[i]);
    }
}

static void header(FILE *out, const struct xt_summary *s, const struct xt_stats *st)
{
    uint64_t hz = xt_summary_cpu_hz(s);

    fprintf(out, "Total time: %.2f seconds (using cpu speed %.2f GHz%s)\n",
            seconds(s, s->last_tsc - s->first_tsc), (double)hz / 1e9,
            s->opt.cpu_hz    ? ""
            : s->file_cpu_hz ? ", from the recording"
                             : ", the default");
    fprintf(out, "Records: %" PRIu64 " in %" PRIu64 " windows, %" PRIu64 " unknown ids\n",
            st->records, st->windows, s->unknown);
    if (st->truncated)
        fprintf(out,
                "Truncated: the records stop at offset %" PRIu64 "; the last window lacks %" PRIu64
                " bytes\n",
                st->truncated_at, st->truncated_bytes);
    fprintf(out, "--- Log volume summary ---\n");
    for (uint32_t cpu = 0; cpu < st->nr_cpus; cpu++) {
        const struct xt_cpu_stats *c = st->cpu + cpu;

        if (!c->present)
            continue;
        fprintf(out, " - cpu %u -\n", cpu);
        for (unsigned k = 0; k < XT_CLASSES; k++) {
            if (c->class_bytes[k])
                fprintf(out, " %-6s: %10" PRIu64 "\n", xt_class_name(k), c->class_bytes[k]);
            for (unsigned h = 0; k == XT_CLS_HVM && h < XT_HVM_VOLUMES; h++)
                if (c->hvm_bytes[h])
                    fprintf(out, " +-%-7s: %10" PRIu64 "\n", xt_hvm_volume_name(h),
                            c->hvm_bytes[h]);
        }
    }
}

static void lost(FILE *out, const struct xt_summary *s, const struct xt_stats *st)
{
    bool any = false;

    for (uint32_t cpu = 0; cpu < st->nr_cpus; cpu++) {
        const struct xt_cpu_stats *c = st->cpu + cpu;

        if (!c->lost_events && !c->out_of_order)
            continue;
        if (!any)
            fprintf(out, "--- Lost and out-of-order records ---\n");
        any = true;
        fprintf(out,
                " cpu %u: %" PRIu64 " records lost in %" PRIu64 " gaps (%.6f s); %" PRIu64
                " records with a TSC before their predecessor's\n",
                cpu, c->lost_records, c->lost_events, seconds(s, c->lost_cycles), c->out_of_order);
    }
}

void xt_summary_print(FILE *out, const struct xt_summary *s, const struct xt_stats *st)
{
    header(out, s, st);
    for (uint32_t id = 0; xt_idmap_next(&s->dom, &id); id++) {
        const struct xt_domain *d = xt_summary_domain(s, id);

        fprintf(out, "|-- Domain %u --|\n", d->id);
        domain_runstates(out, s, d);
        for (uint32_t k = 0; xt_idmap_next(&d->vcpus, &k); k++) {
            const struct xt_vcpu *v = xt_domain_vcpu(d, k);

            fprintf(out, "-- v%u --\n", v->vid);
            vcpu_sched(out, s, v);
            exits(out, s, v);
            hypercalls(out, s, v);
            vectors(out, s, v);
            addresses(out, s, &v->pio, "IO address summary:");
            addresses(out, s, &v->mmio, "MMIO address summary:");
            late_addresses(out, &v->late_pio, "IO accesses after their exit ended:");
            late_addresses(out, &v->late_mmio, "MMIO accesses after their exit ended:");
        }
    }
    lost(out, s, st);
    if (s->unattributed)
        fprintf(
            out,
            "Vcpu records charged to no vcpu (none known on the CPU, the idle vcpu, or the other "
            "kind of guest's): %" PRIu64 "\n",
            s->unattributed);
    if (s->outside_exit)
        fprintf(out,
                "Accesses and VMMCALLs after their exit ended (in no exit's time, as in xenalyze): "
                "%" PRIu64 "\n",
                s->outside_exit);
}
