/* The report's "replay" section (docs/report.md): how a recording's steps were played, and what
 * did not go as recorded. */
#include <inttypes.h>

#include "models/cost.h"
#include "models/xen_public.h"
#include "sim/machine.h"
#include "sim/replay_int.h"
#include "sim/report_json.h"

static uint64_t bodies_run(const struct replay_vcpu *v)
{
    uint64_t n = 0;
    for (size_t i = 0; i < v->nr_body; i++)
        n += v->body[i].run;
    return n;
}

/* An array of one object per replayed vcpu, as `one` describes it (NULL: that vcpu has none). */
static struct json_object *each_vcpu(const struct machine *m,
                                     struct json_object *(*one)(const struct sim_vcpu *sv))
{
    struct json_object *a = json_object_new_array();
    for (unsigned i = 0; i < m->nr_dom; i++)
        for (unsigned k = 0; k < m->dom[i].nr_vcpus; k++) {
            const struct sim_vcpu *sv = &m->dom[i].vcpu[k];
            struct json_object *o = sv->rp ? one(sv) : NULL;
            if (o)
                json_object_array_add(a, o);
        }
    return a;
}

/* A vcpu whose replay did not go as recorded: steps left, events whose recorded work never
 * became due, waits. */
static struct json_object *vcpu_json(const struct sim_vcpu *sv)
{
    const struct replay_vcpu *v = sv->rp;
    if (v->next_main >= v->nr_main && bodies_run(v) == v->nr_body && !v->waits &&
        !v->events_unrecorded && !v->waits_skipped)
        return NULL;
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
    return o;
}

/* A real host's recording: what was inferred, and each vcpu's and each address's times, as
 * recorded and as replayed. */
static struct json_object *real_vcpu_json(const struct sim_vcpu *sv)
{
    const struct replay_vcpu *v = sv->rp;
    struct json_object *o = json_object_new_object();
    put_u64(o, "domain", sv->sd->d->domid);
    put_u64(o, "recorded_domain", v->rr.recorded_domid);
    put_u64(o, "vcpu", sv->v->vcpu_id);
    put_u64(o, "steps", v->rr.n);
    put_u64(o, "steps_played", v->rr.next);
    put_u64(o, "recorded_end_ns", v->rr.rec_end_ns);
    put_u64(o, "replayed_end_ns", v->rr.end_ns);
    return o;
}

static struct json_object *real_ports_json(const struct machine *m)
{
    const struct sim_replay *rp = m->replay;
    struct json_object *a = json_object_new_array();
    for (size_t i = 0; i < rp->nr_port; i++) {
        const struct rr_port *p = &rp->port[i];
        struct json_object *o = json_object_new_object();
        json_object_object_add(
            o, "type", json_object_new_string(p->type == IOREQ_TYPE_COPY ? "mmio" : "port"));
        put_u64(o, "address", p->addr);
        json_object_object_add(o, "dir",
                               json_object_new_string(p->dir == IOREQ_READ ? "read" : "write"));
        put_u64(o, "recorded", p->rec_n);
        put_u64(o, "recorded_mean_ns",
                p->rec_n ? (uint64_t)((unsigned __int128)p->rec_cycles * 1000000u / p->rec_n /
                                      rp->rec_khz)
                         : 0);
        put_u64(o, "recorded_arc_unknown", p->rec_unknown);
        put_u64(o, "replayed", p->rep_n);
        put_u64(o, "replayed_mean_ns",
                p->rep_n ? cost_cycles_to_ns(m->cost, p->rep_cycles / p->rep_n) : 0);
        json_object_array_add(a, o);
    }
    return a;
}

/* The domain id a domain of the replay's machine had in the recording (the report names domains
 * as recorded). */
static uint64_t recorded_domid(const struct machine *m, uint32_t domid)
{
    if (domid < m->nr_dom)
        for (unsigned k = 0; k < m->dom[domid].nr_vcpus; k++)
            if (m->dom[domid].vcpu[k].rp)
                return m->dom[domid].vcpu[k].rp->rr.recorded_domid;
    return domid;
}

/* The device models the recording shows, and what became of them. */
static struct json_object *real_dms_json(const struct machine *m)
{
    const struct sim_replay *rp = m->replay;
    struct json_object *a = json_object_new_array();
    for (size_t i = 0; i < rp->nr_rdm; i++) {
        const struct rr_dm *dm = &rp->rdm[i];
        struct json_object *o = json_object_new_object();
        uint64_t requests = 0, notifies = 0;
        for (unsigned k = 0; k < RP_MAX_VCPUS; k++) {
            requests += dm->requests[k];
            notifies += dm->notifies[k];
        }
        put_u64(o, "domain", dm->target);
        put_u64(o, "emulator_domain", dm->emulator);
        put_u64(o, "recorded_domain", recorded_domid(m, dm->target));
        put_u64(o, "recorded_emulator_domain", recorded_domid(m, dm->emulator));
        put_u64(o, "requests_inferred", requests);
        put_u64(o, "notifications_inferred", notifies);
        put_u64(o, "ranges", dm->nr_range);
        put_u64(o, "ranges_refused", dm->ranges_refused);
        json_object_object_add(o, "replayed", json_object_new_boolean(dm->ready));
        if (dm->ready)
            put_u64(o, "ioreq_server", dm->server);
        if (dm->unused)
            json_object_object_add(o, "not_replayed_because", json_object_new_string(dm->unused));
        json_object_array_add(a, o);
    }
    return a;
}

/* The channels a guest's sends were inferred on, and what the replay sent on them. */
static struct json_object *real_chans_json(const struct machine *m)
{
    const struct sim_replay *rp = m->replay;
    struct json_object *a = json_object_new_array();
    for (size_t i = 0; i < rp->nr_chan; i++) {
        const struct rr_chan *c = &rp->chan[i];
        struct json_object *o = json_object_new_object();
        put_u64(o, "from_domain", c->from);
        put_u64(o, "to_domain", c->to >> 16);
        put_u64(o, "to_vcpu", c->to & 0xffff);
        put_u64(o, "recorded_from_domain", recorded_domid(m, c->from));
        put_u64(o, "recorded_to_domain", recorded_domid(m, c->to >> 16));
        json_object_object_add(o, "ipi", json_object_new_boolean(c->from == c->to >> 16));
        put_u64(o, "sends_inferred", c->sends);
        put_u64(o, "sent", c->sent);
        json_object_object_add(o, "replayed", json_object_new_boolean(c->active));
        json_object_array_add(a, o);
    }
    return a;
}

static struct json_object *real_json(const struct machine *m)
{
    const struct sim_replay *rp = m->replay;
    struct json_object *o = json_object_new_object();
    put_u64(o, "cpu_hz", rp->rec_khz * 1000u);
    json_object_object_add(o, "cpu_hz_default", json_object_new_boolean(rp->hz_default));
    put_u64(o, "cpus", rp->real_cpus);
    put_u64(o, "span_ns", rp->real_span_ns);
    put_u64(o, "lost_records", rp->lost_records);
    put_u64(o, "truncated_at", rp->truncated_at);
    put_u64(o, "records_unattributed", rp->records_unattributed);
    put_u64(o, "steps_inferred", rp->steps_inferred);
    put_u64(o, "wakes_inferred", rp->wakes_inferred);
    put_u64(o, "waits", rp->waits_real);
    put_u64(o, "waits_passed", rp->waits_passed);
    put_u64(o, "exits", rp->exits_seen);
    put_u64(o, "exit_cycles_as_recorded", rp->exit_cycles_as_recorded);
    put_u64(o, "hypercalls_recorded", rp->hypercalls_seen);
    put_u64(o, "vectors_injected", rp->vectors_injected);
    put_u64(o, "io_outside_exits", rp->io_outside_exits);
    json_object_object_add(o, "device_model", json_object_new_boolean(rp->real_dm));
    put_u64(o, "ioreq_events_inferred", rp->ioreq_events_inferred);
    put_u64(o, "notifications_inferred", rp->notifies_inferred);
    put_u64(o, "notifications_sent", rp->notifies_played);
    put_u64(o, "notifications_without_request", rp->notifies_unmatched);
    put_u64(o, "events_taken", rp->dm_events_taken);
    put_u64(o, "waits_already_met", rp->dm_waits_met);
    put_u64(o, "requests_answered_at_once", rp->dm_answered_at_once);
    json_object_object_add(o, "inferred_device_models", real_dms_json(m));
    put_u64(o, "sends_inferred", rp->sends_inferred);
    put_u64(o, "handoffs_inferred", rp->handoffs_inferred);
    put_u64(o, "sends_made", rp->sends_played);
    put_u64(o, "receivers_woken_without_event", rp->sends_kicked);
    json_object_object_add(o, "inferred_channels", real_chans_json(m));
    json_object_object_add(o, "vcpus", each_vcpu(m, real_vcpu_json));
    json_object_object_add(o, "io", real_ports_json(m));
    return o;
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
    json_object_object_add(o, "vcpus", each_vcpu(m, vcpu_json));
    if (rp->real)
        json_object_object_add(o, "real_recording", real_json(m));
    return o;
}

#define RU(o, k) (uint64_t) json_object_get_uint64(json_object_object_get(o, k))

/* The inferred device models: what the recording showed of each, and whether it was replayed. */
static void real_print_dms(struct json_object *o, FILE *out)
{
    struct json_object *dms = get_arr(o, "inferred_device_models");
    size_t n = dms ? json_object_array_length(dms) : 0;
    if (!n)
        return;
    fprintf(out,
            "  inferred event-channel steps: %" PRIu64 " ioreq events (Xen's send waking an "
            "emulator vcpu at an exit), %" PRIu64 " notifications (the emulator's EVTCHNOP_send "
            "waking the HVM vcpu)\n",
            RU(o, "ioreq_events_inferred"), RU(o, "notifications_inferred"));
    for (size_t i = 0; i < n; i++) {
        struct json_object *dm = json_object_array_get_idx(dms, i);
        fprintf(out,
                "  device model of d%" PRIu64 " in d%" PRIu64 ": %" PRIu64 " requests, %" PRIu64
                " address ranges; ",
                RU(dm, "recorded_domain"), RU(dm, "recorded_emulator_domain"),
                RU(dm, "requests_inferred"), RU(dm, "ranges"));
        if (json_object_get_boolean(json_object_object_get(dm, "replayed")))
            fprintf(out, "replayed as ioreq server %" PRIu64 " (%" PRIu64 " ranges refused)\n",
                    RU(dm, "ioreq_server"), RU(dm, "ranges_refused"));
        else
            fprintf(out, "not replayed: %s\n",
                    json_object_get_string(json_object_object_get(dm, "not_replayed_because")));
    }
    fprintf(out,
            "  replayed: %" PRIu64 " notifications sent, %" PRIu64 " without a request (Xen "
            "answered it), %" PRIu64 " events taken, %" PRIu64
            " waits for a request it had already\n",
            RU(o, "notifications_sent"), RU(o, "notifications_without_request"),
            RU(o, "events_taken"), RU(o, "waits_already_met"));
}

/* The inferred channels: sends per channel, recorded and made. */
static void real_print_chans(struct json_object *o, FILE *out)
{
    struct json_object *chans = get_arr(o, "inferred_channels");
    size_t n = chans ? json_object_array_length(chans) : 0;
    if (!n)
        return;
    fprintf(out,
            "  inferred sends: %" PRIu64 " (a vcpu's event_channel_op, then on its CPU the wake "
            "of a vcpu that waited",
            RU(o, "sends_inferred"));
    if (RU(o, "handoffs_inferred"))
        fprintf(out,
                "; %" PRIu64 " of them an emulator's handoff, with no PV hypercall traced: the "
                "vcpu an ioreq event woke wakes another of its domain",
                RU(o, "handoffs_inferred"));
    fprintf(out,
            "); the replay made %" PRIu64 " on %zu channels\n"
            "  from  to        kind          sends   made   replayed\n",
            RU(o, "sends_made"), n);
    for (size_t i = 0; i < n; i++) {
        struct json_object *c = json_object_array_get_idx(chans, i);
        char to[32];
        snprintf(to, sizeof(to), "d%" PRIu64 "v%" PRIu64, RU(c, "recorded_to_domain"),
                 RU(c, "to_vcpu"));
        fprintf(out, "  d%-4" PRIu64 "%-9s %-12s %6" PRIu64 " %6" PRIu64 "   %s\n",
                RU(c, "recorded_from_domain"), to,
                json_object_get_boolean(json_object_object_get(c, "ipi")) ? "ipi" : "interdomain",
                RU(c, "sends_inferred"), RU(c, "sent"),
                json_object_get_boolean(json_object_object_get(c, "replayed")) ? "yes" : "no");
    }
}

static void real_print_text(struct json_object *o, FILE *out)
{
    struct json_object *vcpus = get_arr(o, "vcpus"), *io = get_arr(o, "io");
    fprintf(out,
            "  a real host's recording: what xentrace shows became stimulus (docs/traces.md)\n"
            "  TSC at %" PRIu64 " Hz%s, %" PRIu64 " CPUs, %.6f s recorded, %" PRIu64
            " records lost\n",
            RU(o, "cpu_hz"),
            json_object_get_boolean(json_object_object_get(o, "cpu_hz_default"))
                ? " (xenalyze's default: --cpu-hz gives the host's)"
                : "",
            RU(o, "cpus"), (double)RU(o, "span_ns") / 1e9, RU(o, "lost_records"));
    if (RU(o, "truncated_at"))
        fprintf(out,
                "  cut short: its records stop at offset %" PRIu64
                " (--allow-truncated); each vcpu is replayed up to its last record\n",
                RU(o, "truncated_at"));
    uint64_t wakes = RU(o, "wakes_inferred"),
             caused = RU(o, "sends_inferred") + RU(o, "ioreq_events_inferred");
    fprintf(out,
            "  inferred: %" PRIu64 " steps; %" PRIu64 " wakes, %" PRIu64
            " of them by a send or an ioreq event (below), the others at their recorded times "
            "(their causes, timers or interrupts, are not recorded); %" PRIu64
            " of those passed before the replay came to the wait\n",
            RU(o, "steps_inferred"), wakes, caused < wakes ? caused : wakes, RU(o, "waits_passed"));
    fprintf(out,
            "  as recorded: %" PRIu64 " cycles in Xen for exits other than I/O and hlt (of %" PRIu64
            " exits); %" PRIu64 " hypercalls (xentrace keeps no arguments); %" PRIu64
            " injected vectors\n",
            RU(o, "exit_cycles_as_recorded"), RU(o, "exits"), RU(o, "hypercalls_recorded"),
            RU(o, "vectors_injected"));
    real_print_dms(o, out);
    real_print_chans(o, out);
    fprintf(out, "  vcpu            steps   recorded end ns   replayed end ns\n");
    for (size_t i = 0; vcpus && i < json_object_array_length(vcpus); i++) {
        struct json_object *v = json_object_array_get_idx(vcpus, i);
        char name[32];
        snprintf(name, sizeof(name), "d%" PRIu64 "v%" PRIu64, RU(v, "recorded_domain"),
                 RU(v, "vcpu"));
        char end[32] = "not reached";
        if (RU(v, "replayed_end_ns"))
            snprintf(end, sizeof(end), "%" PRIu64, RU(v, "replayed_end_ns"));
        fprintf(out, "  %-12s %8" PRIu64 " %17" PRIu64 " %17s\n", name, RU(v, "steps"),
                RU(v, "recorded_end_ns"), end);
    }
    if (!io || !json_object_array_length(io))
        return;
    fprintf(out,
            "  I/O answered %s against the recording's arcs (exit to entry or wake)\n"
            "  type  address             dir     recorded   mean ns   replayed   mean ns\n",
            json_object_get_boolean(json_object_object_get(o, "device_model"))
                ? "by the device model where its server claims the address, else in Xen,"
            : RU(o, "notifications_sent") ? "by the inferred device models where they answered "
                                            "in the recording, else in Xen,"
                                          : "in Xen");
    for (size_t i = 0; i < json_object_array_length(io); i++) {
        struct json_object *p = json_object_array_get_idx(io, i);
        fprintf(out,
                "  %-5s 0x%-17" PRIx64 " %-5s %10" PRIu64 " %9" PRIu64 " %10" PRIu64 " %9" PRIu64
                "\n",
                json_object_get_string(json_object_object_get(p, "type")), RU(p, "address"),
                json_object_get_string(json_object_object_get(p, "dir")), RU(p, "recorded"),
                RU(p, "recorded_mean_ns"), RU(p, "replayed"), RU(p, "replayed_mean_ns"));
    }
}

void replay_print_text(struct json_object *r, FILE *out)
{
    struct json_object *o = get_arr(r, "replay"), *ex, *vcpus;
    if (!o)
        return;
    ex = get_arr(o, "changed_results");
    vcpus = get_arr(o, "vcpus");
#define U(k) (uint64_t) json_object_get_uint64(json_object_object_get(o, k))
    struct json_object *real = get_arr(o, "real_recording");
    if (real) {
        fprintf(out,
                "\nreplay\n  %" PRIu64 " inferred steps played: %" PRIu64
                " waits (each a SCHEDOP_block or hlt until the recorded wake), %" PRIu64
                " HVM port and MMIO accesses re-issued to Xen\n",
                U("steps"), RU(real, "waits"), U("io_accesses"));
        real_print_text(real, out);
        return;
    }
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
