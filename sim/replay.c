/* Replay: see replay.h. The recording is read once into per-vcpu step lists (TRC_EVSIM_G_*
 * records, docs/traces.md); the machine then runs with a replay_vcpu where each vcpu's engine
 * would be. */
#include "sim/replay.h"

#include <inttypes.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "models/domain.h"
#include "models/evtchn.h"
#include "models/xen_public.h"
#include "sim/evpages.h"
#include "sim/machine.h"
#include "sim/record.h"
#include "sim/vcpu.h"
#include "sim/record.h"
#include "sim/replay_int.h"
#include "traces/xentrace.h"

/* ---- reading ------------------------------------------------------------------------------ */

static bool grow(void **p, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return true;
    size_t n = *cap ? *cap : 64;
    while (n < need)
        n *= 2;
    void *q = realloc(*p, n * size);
    if (!q)
        return false;
    *p = q;
    *cap = n;
    return true;
}

struct rp_domain *replay_domain_of(struct sim_replay *rp, uint32_t domid, bool create)
{
    struct rp_domain *d = xt_idmap_get(&rp->dom, domid);
    if (!d && create && (d = calloc(1, sizeof(*d))) && !xt_idmap_set(&rp->dom, domid, d)) {
        free(d);
        d = NULL;
    }
    return d;
}

struct replay_vcpu *replay_vcpu_of(struct sim_replay *rp, uint32_t dv)
{
    uint32_t domid = dv >> 16, id = dv & 0xffff;
    struct rp_domain *d = id < RP_MAX_VCPUS ? replay_domain_of(rp, domid, true) : NULL;
    if (!d)
        return NULL;
    if (!d->vcpu[id] && (d->vcpu[id] = calloc(1, sizeof(*d->vcpu[id]))))
        *d->vcpu[id] = (struct replay_vcpu){.domid = domid, .vcpu = id};
    return d->vcpu[id];
}

struct reader {
    struct sim_replay *rp;
    const char *path;
    struct diag *d;
};

static int bad(struct reader *r, const struct xt_rec *rec, const char *what)
{
    return diag_set(r->d, "%s: offset %" PRIu64 ": %s", r->path, rec->offset, what);
}

static struct rp_step *step_add(struct reader *r, const struct xt_rec *rec, enum rp_kind kind)
{
    struct replay_vcpu *v = replay_vcpu_of(r->rp, rec->d[0]);
    if (!v || !grow((void **)&v->step, &v->cap, v->n + 1, sizeof(*v->step)))
        return NULL;
    struct rp_step *s = &v->step[v->n++];
    *s = (struct rp_step){.delta = v->carry + rec->d[1], .kind = (uint8_t)kind};
    v->carry = 0;
    return s;
}

/* The hypercall the untimed records after HCALL belong to: the vcpu's last step. */
static struct rp_hcall *last_hcall(struct reader *r, const struct xt_rec *rec)
{
    struct replay_vcpu *v = replay_vcpu_of(r->rp, rec->d[0]);
    if (!v || !v->n || v->step[v->n - 1].kind != RP_HCALL)
        return NULL;
    return &r->rp->hcall[v->step[v->n - 1].hc];
}

static uint64_t u64(const uint32_t *w)
{
    return (uint64_t)w[0] | (uint64_t)w[1] << 32;
}

static int read_scenario(struct reader *r, const struct xt_rec *rec)
{
    unsigned part = rec->d[0] >> 16, n = rec->d[0] & 0xffff;
    struct sim_replay *rp = r->rp;
    size_t cap = 0;
    if (rec->n < 7 || part > 1 || n > 24)
        return bad(r, rec, "a scenario record with a bad size or part");
    cap = rp->text_len[part] + n + 1;
    char *t = realloc(rp->text[part], cap);
    if (!t)
        return bad(r, rec, "out of memory");
    memcpy(t + rp->text_len[part], &rec->d[1], n);
    rp->text_len[part] += n;
    t[rp->text_len[part]] = 0;
    rp->text[part] = t;
    return 0;
}

static int read_compute(struct reader *r, const struct xt_rec *rec)
{
    struct replay_vcpu *v = rec->n >= 3 ? replay_vcpu_of(r->rp, rec->d[0]) : NULL;
    if (!v)
        return bad(r, rec, "a COMPUTE record without its vcpu and cycles");
    v->carry += u64(&rec->d[1]);
    return 0;
}

static int read_hcall(struct reader *r, const struct xt_rec *rec)
{
    struct sim_replay *rp = r->rp;
    if (rec->n < 7)
        return bad(r, rec, "a HCALL record shorter than 7 words");
    if (!grow((void **)&rp->hcall, &rp->cap_hcall, rp->nr_hcall + 1, sizeof(*rp->hcall)))
        return bad(r, rec, "out of memory");
    struct rp_step *s = step_add(r, rec, RP_HCALL);
    if (!s)
        return bad(r, rec, "a HCALL record of a vcpu beyond 63, or out of memory");
    s->arg = rec->d[2];
    s->a = u64(&rec->d[3]);
    s->b = rec->d[5];
    s->hc = (uint32_t)rp->nr_hcall;
    rp->hcall[rp->nr_hcall++] = (struct rp_hcall){
        .at = rec->d[6],
        .mem_first = (uint32_t)rp->nr_mem,
        .cycles = rec->tsc > XT_EVSIM_TSC_BASE ? rec->tsc - XT_EVSIM_TSC_BASE : 0};
    return 0;
}

static int read_args(struct reader *r, const struct xt_rec *rec)
{
    struct rp_hcall *h = rec->n >= 7 ? last_hcall(r, rec) : NULL;
    if (!h)
        return bad(r, rec, "hypercall arguments that follow no HCALL record of their vcpu");
    unsigned first = rec->event == TRC_EVSIM_G_ARGS ? 0 : 3;
    for (unsigned i = 0; i < 3; i++)
        h->args[first + i] = u64(&rec->d[1 + 2 * i]);
    return 0;
}

static int read_mem(struct reader *r, const struct xt_rec *rec)
{
    struct sim_replay *rp = r->rp;
    struct rp_hcall *h = rec->n >= 4 ? last_hcall(r, rec) : NULL;
    bool zeros = rec->d[3] & XT_MEM_ZERO;
    uint32_t len = rec->d[3] & ~XT_MEM_ZERO;
    if (!h)
        return bad(r, rec, "guest memory that follows no HCALL record of its vcpu");
    if (!zeros && (len > 12 || rec->n < 4 + (len + 3) / 4))
        return bad(r, rec, "a MEM record whose length and size disagree");
    if (!grow((void **)&rp->mem, &rp->cap_mem, rp->nr_mem + 1, sizeof(*rp->mem)) ||
        (!zeros && !grow((void **)&rp->bytes, &rp->cap_bytes, rp->nr_bytes + len, 1)))
        return bad(r, rec, "out of memory");
    rp->mem[rp->nr_mem++] = (struct rp_mem){
        .gpa = u64(&rec->d[1]), .len = len, .data = zeros ? RP_ZEROS : (uint32_t)rp->nr_bytes};
    if (!zeros) {
        memcpy(rp->bytes + rp->nr_bytes, &rec->d[4], len);
        rp->nr_bytes += len;
    }
    h->mem_n++;
    return 0;
}

static int read_result(struct reader *r, const struct xt_rec *rec)
{
    struct rp_hcall *h = rec->n >= 4 ? last_hcall(r, rec) : NULL;
    if (!h)
        return bad(r, rec, "a hypercall result that follows no HCALL record of its vcpu");
    h->rc = u64(&rec->d[1]);
    h->continued = rec->d[3] & 1;
    h->have_result = true;
    return 0;
}

static int read_access(struct reader *r, const struct xt_rec *rec)
{
    uint32_t info = rec->n >= 3 ? rec->d[2] : 0;
    bool write = (info >> 24) & 1;
    unsigned size = (info >> 20) & 0xf, offset = (info >> 8) & 0xfff;
    if (rec->n < (write ? 7u : 3u) || !size || size > 8 || offset + size > XEN_PAGE_SIZE)
        return bad(r, rec, "an ACCESS record with a bad size or offset");
    struct rp_step *s = step_add(r, rec, write ? RP_WRITE : RP_READ);
    if (!s)
        return bad(r, rec, "an ACCESS record of a vcpu beyond 63, or out of memory");
    s->slot = (uint8_t)(info & 0xff);
    s->size = (uint8_t)size;
    s->arg = offset;
    if (write) {
        s->a = u64(&rec->d[3]);
        s->b = u64(&rec->d[5]);
    }
    return 0;
}

static int read_consume(struct reader *r, const struct xt_rec *rec)
{
    struct sim_replay *rp = r->rp;
    struct replay_vcpu *v = rec->n >= 4 ? replay_vcpu_of(rp, rec->d[0]) : NULL;
    struct rp_step *s = v && v->n ? &v->step[v->n - 1] : NULL;
    if (!s || s->kind != RP_WRITE)
        return bad(r, rec, "a CONSUME record that follows no write of its vcpu");
    if (!grow((void **)&rp->dep, &rp->cap_dep, rp->nr_dep + 1, sizeof(*rp->dep)))
        return bad(r, rec, "out of memory");
    if (!s->nr_deps)
        s->hc = (uint32_t)rp->nr_dep;
    s->nr_deps++;
    rp->dep[rp->nr_dep++] = (struct rp_dep){rec->d[1], u64(&rec->d[2])};
    return 0;
}

static int read_page(struct reader *r, const struct xt_rec *rec)
{
    struct rp_domain *d = rec->n >= 4 ? replay_domain_of(r->rp, rec->d[0] >> 16, true) : NULL;
    if (!d || rec->d[1] == 0 || rec->d[1] > XT_ACCESS_SLOTS)
        return bad(r, rec, "a PAGE record with a bad slot");
    d->pages.gpa[rec->d[1]] = u64(&rec->d[2]);
    return 0;
}

static int read_step(struct reader *r, const struct xt_rec *rec)
{
    static const int kinds[] = {[XT_STEP_UPCALL] = RP_UPCALL,
                                [XT_STEP_HVM_IRET] = RP_HVM_IRET,
                                [XT_STEP_HLT] = RP_HLT,
                                [XT_STEP_IO] = -1};
    uint32_t k = rec->n >= 4 ? rec->d[2] : 0;
    if (k == 0 || k >= sizeof(kinds) / sizeof(kinds[0]))
        return bad(r, rec, "a STEP record of an unknown kind");
    if (kinds[k] < 0)
        return diag_set(r->d,
                        "%s: offset %" PRIu64 ": d%uv%u made HVM port or MMIO I/O: replaying "
                        "I/O to device models is not supported yet",
                        r->path, rec->offset, rec->d[0] >> 16, rec->d[0] & 0xffff);
    struct rp_step *s = step_add(r, rec, (enum rp_kind)kinds[k]);
    if (!s)
        return bad(r, rec, "a STEP record of a vcpu beyond 63, or out of memory");
    s->arg = rec->d[3];
    return 0;
}

static int read_cpu_hz(struct reader *r, const struct xt_rec *rec)
{
    if (rec->n >= 2) {
        r->rp->cpu_hz = u64(rec->d);
        r->rp->rec_khz = r->rp->cpu_hz / 1000;
    }
    return 0;
}

static const struct {
    uint32_t event;
    int (*read)(struct reader *r, const struct xt_rec *rec);
} readers[] = {
    {TRC_EVSIM_SCENARIO, read_scenario}, {TRC_EVSIM_G_COMPUTE, read_compute},
    {TRC_EVSIM_G_HCALL, read_hcall},     {TRC_EVSIM_G_ARGS, read_args},
    {TRC_EVSIM_G_ARGS2, read_args},      {TRC_EVSIM_G_MEM, read_mem},
    {TRC_EVSIM_G_RESULT, read_result},   {TRC_EVSIM_G_ACCESS, read_access},
    {TRC_EVSIM_G_PAGE, read_page},       {TRC_EVSIM_G_STEP, read_step},
    {TRC_EVSIM_G_CONSUME, read_consume}, {TRC_EVSIM_CPU_HZ, read_cpu_hz},
};

static int read_record(struct reader *r, const struct xt_rec *rec)
{
    for (size_t i = 0; i < sizeof(readers) / sizeof(readers[0]); i++)
        if (readers[i].event == rec->event)
            return readers[i].read(r, rec);
    return 0; /* Xen's records and evsim's others: the replay does not need them */
}

static int read_all(struct reader *r, struct xt_reader *x)
{
    struct xt_rec rec;
    struct xt_error err;
    int rc;
    while ((rc = xt_next(x, &rec, &err)) > 0)
        if (read_record(r, &rec) < 0)
            return -1;
    if (rc < 0)
        return diag_set(r->d, "%s: %s", r->path, err.msg);
    if (!r->rp->rec_khz)
        return diag_set(r->d,
                        "%s: not a recording evsim can replay: it does not say its CPU's "
                        "frequency (evsim_cpu_hz)",
                        r->path);
    if (!r->rp->text[0])
        return diag_set(r->d,
                        "%s: not a recording evsim can replay: it has no scenario (only "
                        "recordings of `evsim run --record` made since replay exists carry "
                        "what each vcpu did)",
                        r->path);
    return 0;
}

int replay_load(const char *path, struct sim_replay **out, struct diag *d)
{
    struct xt_source src;
    struct xt_error err;
    struct xt_reader *x = NULL;
    struct xt_options opt = {0};
    struct sim_replay *rp = calloc(1, sizeof(*rp));
    *out = NULL;
    if (!rp)
        return diag_set(d, "%s: out of memory", path);
    if (xt_source_file(&src, path, &err) < 0) {
        free(rp);
        return diag_set(d, "%s: %s", path, err.msg);
    }
    struct reader r = {rp, path, d};
    int rc =
        xt_open(&x, &src, &opt, &err) < 0 ? diag_set(d, "%s: %s", path, err.msg) : read_all(&r, x);
    if (x)
        xt_close(x);
    xt_source_file_close(&src);
    if (rc < 0) {
        replay_free(rp);
        return -1;
    }
    *out = rp;
    return 0;
}

void replay_free(struct sim_replay *rp)
{
    if (!rp)
        return;
    for (uint32_t id = 0; xt_idmap_next(&rp->dom, &id); id++) {
        struct rp_domain *d = xt_idmap_get(&rp->dom, id);
        for (unsigned k = 0; k < RP_MAX_VCPUS; k++)
            if (d->vcpu[k])
                replay_vcpu_free(d->vcpu[k]);
        free(d);
    }
    xt_idmap_free(&rp->dom);
    free(rp->text[0]);
    free(rp->text[1]);
    free(rp->hcall);
    free(rp->mem);
    free(rp->bytes);
    free(rp->dep);
    free(rp);
}

const char *replay_scenario_text(const struct sim_replay *rp)
{
    return rp->text[0] ? rp->text[0] : "";
}

const char *replay_overrides(const struct sim_replay *rp)
{
    return rp->text[1] ? rp->text[1] : "";
}

uint64_t replay_cpu_hz(const struct sim_replay *rp)
{
    return rp->cpu_hz;
}

/* ---- the report ----------------------------------------------------------------------------- */

static void add_u64(struct json_object *o, const char *key, uint64_t v)
{
    json_object_object_add(o, key, json_object_new_uint64(v));
}

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
            add_u64(o, "domain", sv->sd->d->domid);
            add_u64(o, "vcpu", sv->v->vcpu_id);
            add_u64(o, "main_steps", v->nr_main);
            add_u64(o, "main_played", v->next_main);
            add_u64(o, "events", v->nr_body);
            add_u64(o, "events_handled", bodies_run(v));
            add_u64(o, "events_without_recorded_work", v->events_unrecorded);
            add_u64(o, "waits", v->waits);
            add_u64(o, "blocks_inserted", v->blocks_inserted);
            add_u64(o, "waits_skipped", v->waits_skipped);
            add_u64(o, "wait_cycles", v->wait_cycles);
            json_object_object_add(o, "waiting_at_end", json_object_new_boolean(v->waiting));
            json_object_array_add(a, o);
        }
    return a;
}

struct json_object *replay_report(const struct machine *m)
{
    const struct sim_replay *rp = m->replay;
    struct json_object *o = json_object_new_object();
    add_u64(o, "steps", rp->steps);
    add_u64(o, "hypercalls", rp->hypercalls);
    add_u64(o, "accesses", rp->accesses);
    add_u64(o, "upcalls", rp->upcalls);
    add_u64(o, "results_changed", rp->result_changed);
    add_u64(o, "continuations_changed", rp->continuations);
    add_u64(o, "reexecutions_skipped", rp->skipped);
    add_u64(o, "accesses_to_pages_not_shared", rp->unknown_pages);
    add_u64(o, "main_line_consumptions", rp->consumptions);
    add_u64(o, "hypercalls_retried", rp->retries);
    add_u64(o, "recorded_retries_skipped", rp->repeats_skipped);
    add_u64(o, "timeouts_moved", rp->timeouts_moved);
    struct json_object *ex = json_object_new_array();
    for (unsigned i = 0; i < rp->nr_examples; i++) {
        const struct rp_divergence *e = &rp->example[i];
        struct json_object *x = json_object_new_object();
        add_u64(x, "domain", e->domid);
        add_u64(x, "vcpu", e->vcpu);
        add_u64(x, "hypercall", e->nr);
        json_object_object_add(x, "recorded", json_object_new_int64((int64_t)e->recorded));
        json_object_object_add(x, "replayed", json_object_new_int64((int64_t)e->replayed));
        add_u64(x, "cycles", e->at_cycles);
        json_object_array_add(ex, x);
    }
    json_object_object_add(o, "changed_results", ex);
    json_object_object_add(o, "vcpus", vcpus_json(m));
    return o;
}

void replay_print_text(struct json_object *r, FILE *out)
{
    struct json_object *o, *ex, *vcpus;
    if (!json_object_object_get_ex(r, "replay", &o))
        return;
    json_object_object_get_ex(o, "changed_results", &ex);
    json_object_object_get_ex(o, "vcpus", &vcpus);
#define U(k) (uint64_t) json_object_get_uint64(json_object_object_get(o, k))
    fprintf(out,
            "\nreplay\n  %" PRIu64 " recorded steps played: %" PRIu64 " hypercalls, %" PRIu64
            " accesses to event pages, %" PRIu64 " upcalls delivered\n",
            U("steps"), U("hypercalls"), U("accesses"), U("upcalls"));
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
