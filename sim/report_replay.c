/* The report's "replay" section (docs/report.md): how a recording's steps were played, and what
 * did not go as recorded. */
#include <inttypes.h>

#include "sim/replay_int.h"
#include "sim/report_json.h"

static uint64_t bodies_run(const struct replay_vcpu *v)
{
    uint64_t n = 0;
    for (size_t i = 0; i < v->nr_body; i++)
        n += v->body[i].run;
    return n;
}

/* The vcpus whose replay did not go as recorded: steps left, events whose recorded work never
 * became due, waits. */
static struct json_object *vcpus_json(const struct machine *m)
{
    struct json_object *a = json_object_new_array();
    for (unsigned i = 0; i < m->nr_dom; i++)
        for (unsigned k = 0; k < m->dom[i].nr_vcpus; k++) {
            const struct sim_vcpu *sv = &m->dom[i].vcpu[k];
            const struct replay_vcpu *v = sv->rp;
            if (!v || (v->next_main >= v->nr_main && bodies_run(v) == v->nr_body && !v->waits &&
                       !v->events_unrecorded && !v->waits_skipped))
                continue;
            struct json_object *o = json_object_new_object();
            put_u64(o, "domain", sv->sd->d->domid);
            put_u64(o, "vcpu", sv->v->vcpu_id);
            put_u64(o, "main_steps", v->nr_main);
            put_u64(o, "main_played", v->next_main);
            put_u64(o, "events", v->nr_body);
            put_u64(o, "events_handled", bodies_run(v));
            put_u64(o, "events_without_recorded_work", v->events_unrecorded);
            put_u64(o, "waits", v->waits);
            put_u64(o, "blocks_inserted", v->blocks_inserted);
            put_u64(o, "waits_skipped", v->waits_skipped);
            put_u64(o, "wait_cycles", v->wait_cycles);
            json_object_object_add(o, "waiting_at_end", json_object_new_boolean(v->waiting));
            json_object_array_add(a, o);
        }
    return a;
}

struct json_object *replay_report(const struct machine *m)
{
    const struct sim_replay *rp = m->replay;
    struct json_object *o = json_object_new_object();
    put_u64(o, "steps", rp->steps);
    put_u64(o, "hypercalls", rp->hypercalls);
    put_u64(o, "accesses", rp->accesses);
    put_u64(o, "io_accesses", rp->io_accesses);
    put_u64(o, "upcalls", rp->upcalls);
    put_u64(o, "results_changed", rp->result_changed);
    put_u64(o, "continuations_changed", rp->continuations);
    put_u64(o, "reexecutions_skipped", rp->skipped);
    put_u64(o, "accesses_to_pages_not_shared", rp->unknown_pages);
    put_u64(o, "main_line_consumptions", rp->consumptions);
    put_u64(o, "hypercalls_retried", rp->retries);
    put_u64(o, "recorded_retries_skipped", rp->repeats_skipped);
    put_u64(o, "timeouts_moved", rp->timeouts_moved);
    put_u64(o, "abi_setup_calls_skipped", rp->abi_calls_skipped);
    struct json_object *ex = json_object_new_array();
    for (unsigned i = 0; i < rp->nr_examples; i++) {
        const struct rp_divergence *e = &rp->example[i];
        struct json_object *x = json_object_new_object();
        put_u64(x, "domain", e->domid);
        put_u64(x, "vcpu", e->vcpu);
        put_u64(x, "hypercall", e->nr);
        json_object_object_add(x, "recorded", json_object_new_int64((int64_t)e->recorded));
        json_object_object_add(x, "replayed", json_object_new_int64((int64_t)e->replayed));
        put_u64(x, "cycles", e->at_cycles);
        json_object_array_add(ex, x);
    }
    json_object_object_add(o, "changed_results", ex);
    json_object_object_add(o, "vcpus", vcpus_json(m));
    return o;
}

void replay_print_text(struct json_object *r, FILE *out)
{
    struct json_object *o = get_arr(r, "replay"), *ex, *vcpus;
    if (!o)
        return;
    ex = get_arr(o, "changed_results");
    vcpus = get_arr(o, "vcpus");
#define U(k) (uint64_t) json_object_get_uint64(json_object_object_get(o, k))
    fprintf(out,
            "\nreplay\n  %" PRIu64 " recorded steps played: %" PRIu64 " hypercalls, %" PRIu64
            " accesses to event pages, %" PRIu64 " upcalls delivered\n",
            U("steps"), U("hypercalls"), U("accesses"), U("upcalls"));
    if (U("io_accesses"))
        fprintf(out, "  HVM port and MMIO accesses re-issued to Xen %" PRIu64 "\n",
                U("io_accesses"));
    fprintf(out, "  hypercall results that changed   %" PRIu64 "\n", U("results_changed"));
    fprintf(out,
            "  continuations that changed       %" PRIu64 " (%" PRIu64 " re-executions skipped)\n",
            U("continuations_changed"), U("reexecutions_skipped"));
    fprintf(out, "  accesses to pages not shared now %" PRIu64 "\n",
            U("accesses_to_pages_not_shared"));
    fprintf(out,
            "  hypercalls tried again           %" PRIu64 " (they failed where the recording's "
            "succeeded)\n",
            U("hypercalls_retried"));
    fprintf(out, "  recorded retries not needed      %" PRIu64 " (the call succeeded sooner)\n",
            U("recorded_retries_skipped"));
    fprintf(out, "  timeouts moved to the new time   %" PRIu64 "\n", U("timeouts_moved"));
    if (U("abi_setup_calls_skipped"))
        fprintf(out, "  the recorded ABI's set-up calls  %" PRIu64 " not made (another ABI)\n",
                U("abi_setup_calls_skipped"));

#undef U
    for (size_t i = 0; ex && i < json_object_array_length(ex); i++) {
        struct json_object *e = json_object_array_get_idx(ex, i);
#define E(k) json_object_get_int64(json_object_object_get(e, k))
        fprintf(out,
                "    d%" PRId64 "v%" PRId64 " hypercall %" PRId64 " at cycle %" PRId64
                ": recorded %" PRId64 ", now %" PRId64 "\n",
                E("domain"), E("vcpu"), E("hypercall"), E("cycles"), E("recorded"), E("replayed"));
#undef E
    }
    for (size_t i = 0; vcpus && i < json_object_array_length(vcpus); i++) {
        struct json_object *v = json_object_array_get_idx(vcpus, i);
#define V(k) (uint64_t) json_object_get_uint64(json_object_object_get(v, k))
        fprintf(out,
                "  d%" PRIu64 "v%" PRIu64 ": main line %" PRIu64 " of %" PRIu64
                " steps, recorded work for %" PRIu64 " of %" PRIu64 " events (%" PRIu64
                " events taken had none); waited %" PRIu64 " times (%" PRIu64
                " blocks added, %" PRIu64 " cycles polling), %" PRIu64
                " recorded waits not needed%s\n",
                V("domain"), V("vcpu"), V("main_played"), V("main_steps"), V("events_handled"),
                V("events"), V("events_without_recorded_work"), V("waits"), V("blocks_inserted"),
                V("wait_cycles"), V("waits_skipped"),
                json_object_get_boolean(json_object_object_get(v, "waiting_at_end"))
                    ? ", still waiting at the end"
                    : "");
#undef V
    }
    fprintf(out, "  guest console lines are the recording's (the guests' own figures are not "
                 "recomputed)\n");
}
