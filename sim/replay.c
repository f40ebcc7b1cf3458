/* Replay: see replay.h. The recording is read once into per-vcpu step lists (TRC_EVSIM_G_*
 * records, docs/traces.md); the machine then runs with a replay_vcpu where each vcpu's engine
 * would be. */
#include "sim/replay.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "models/domain.h"
#include "models/evtchn.h"
#include "models/xen_public.h"
#include "sim/evpages.h"
#include "sim/machine.h"
#include "sim/record.h"
#include "sim/scenario.h"
#include "sim/vcpu.h"
#include "sim/record.h"
#include "sim/replay_int.h"
#include "traces/xentrace.h"

/* ---- reading ------------------------------------------------------------------------------ */

bool replay_grow(void **p, size_t *cap, size_t need, size_t size)
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
    if (!v || !replay_grow((void **)&v->step, &v->cap, v->n + 1, sizeof(*v->step)))
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
    unsigned n = rec->d[0];
    struct sim_replay *rp = r->rp;
    size_t cap = 0;
    if (rec->n < 7 || n > 24)
        return bad(r, rec, "a scenario record with a bad size");
    cap = rp->text_len + n + 1;
    char *t = realloc(rp->text, cap);
    if (!t)
        return bad(r, rec, "out of memory");
    memcpy(t + rp->text_len, &rec->d[1], n);
    rp->text_len += n;
    t[rp->text_len] = 0;
    rp->text = t;
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
    if (!replay_grow((void **)&rp->hcall, &rp->cap_hcall, rp->nr_hcall + 1, sizeof(*rp->hcall)))
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
    if (!replay_grow((void **)&rp->mem, &rp->cap_mem, rp->nr_mem + 1, sizeof(*rp->mem)) ||
        (!zeros && !replay_grow((void **)&rp->bytes, &rp->cap_bytes, rp->nr_bytes + len, 1)))
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
    h->bound = rec->n >= 5 ? rec->d[4] : 0;
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
    if (!replay_grow((void **)&rp->dep, &rp->cap_dep, rp->nr_dep + 1, sizeof(*rp->dep)))
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
    d->pages.kind[rec->d[1]] =
        (uint8_t)(rec->n >= 6 && rec->d[4] < HV_PAGE_KINDS ? rec->d[4] : HV_PAGE_KINDS);
    d->pages.index[rec->d[1]] = rec->n >= 6 ? rec->d[5] : 0;
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
    if (rec->n >= 2)
        r->rp->rec_khz = u64(rec->d) / 1000;
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
    if (!r->rp->text)
        return diag_set(r->d,
                        "%s: not a recording evsim can replay: it has no scenario (only "
                        "recordings of `evsim run --record` carry what each vcpu did; "
                        "replaying a real host's xentrace recording is not supported yet)",
                        r->path);
    if (!r->rp->rec_khz)
        return diag_set(r->d,
                        "%s: not a recording evsim can replay: it does not say its CPU's "
                        "frequency (evsim_cpu_hz)",
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
        free(d->to_new);
        free(d->to_rec);
        free(d);
    }
    xt_idmap_free(&rp->dom);
    free(rp->text);
    free(rp->hcall);
    free(rp->mem);
    free(rp->bytes);
    free(rp->dep);
    free(rp);
}

const char *replay_scenario_text(const struct sim_replay *rp)
{
    return rp->text ? rp->text : "";
}

int replay_set_abis(struct sim_replay *rp, const struct scenario *recorded,
                    const struct scenario *replayed, struct diag *d)
{
    for (unsigned i = 0; i < replayed->nr_dom; i++) {
        struct rp_domain *dom = replay_domain_of(rp, i, true);
        if (!dom)
            return diag_set(d, "out of memory");
        dom->recorded_abi = recorded->dom[i].abi;
        dom->abi = replayed->dom[i].abi;
    }
    return 0;
}

uint64_t replay_steps(const struct sim_replay *rp)
{
    return rp->steps;
}
