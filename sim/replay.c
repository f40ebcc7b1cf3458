/* Replay: see replay.h. The recording is read once into per-vcpu step lists (TRC_EVSIM_G_*
 * records, docs/traces.md); the machine then runs with a replay_vcpu where each vcpu's engine
 * would be. */
#define _DEFAULT_SOURCE /* MADV_POPULATE_WRITE */
#include "sim/replay.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

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
#include "traces/summary.h"
#include "traces/xentrace.h"

/* ---- reading ------------------------------------------------------------------------------ */

/* Arrays fill a window at a time: when an element is the first in a window, that window and the
 * next are prefaulted in one call. A recording's millions of steps otherwise fault in a page at
 * a time, and in a virtual machine a fault costs microseconds: they were a third of loading. */
#define RP_WINDOW ((size_t)256 << 10)
#define RP_PAGE ((uintptr_t)4096)

/* need elements of size bytes are used of cap; the last was just added. */
static void prefault(void *p, size_t cap, size_t need, size_t size)
{
#ifdef MADV_POPULATE_WRITE
    size_t last = need * size - 1, window = last / RP_WINDOW;
    if (window == (last - size) / RP_WINDOW)
        return; /* the element before it was in the same window */
    size_t from = window * RP_WINDOW, to = from + 2 * RP_WINDOW;
    uintptr_t lo = ((uintptr_t)p + from + RP_PAGE - 1) & ~(RP_PAGE - 1),
              hi = ((uintptr_t)p + (to < cap * size ? to : cap * size)) & ~(RP_PAGE - 1);
    if (hi > lo) /* advice: a kernel before 5.14 refuses it, and the pages fault in as before */
        (void)madvise((void *)lo, hi - lo, MADV_POPULATE_WRITE);
#else
    (void)p, (void)cap, (void)need, (void)size;
#endif
}

bool replay_grow(void **p, size_t *cap, size_t need, size_t size)
{
    if (need > *cap) {
        size_t n = *cap ? *cap : 64;
        while (n < need)
            n *= 2;
        void *q = realloc(*p, n * size);
        if (!q)
            return false;
        *p = q;
        *cap = n;
    }
    if (need * size > RP_WINDOW) /* a small array is not worth a call */
        prefault(*p, *cap, need, size);
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
        *d->vcpu[id] = (struct replay_vcpu){.dom = d,
                                            .domid = domid,
                                            .vcpu = id,
                                            .any_iret = -1,
                                            .seg.open_body = -1,
                                            .range_body = -1,
                                            .chain_port = -1,
                                            .inv_iret = -1};
    return d->vcpu[id];
}

/* ---- interning: identical entries kept once -------------------------------------------------
 * An open-addressing table of entry indexes by hash, for loading only. */
struct intern_slot {
    uint32_t index1; /* the entry's index + 1; 0: an empty slot */
    uint32_t hash;
};

struct intern {
    struct intern_slot *slot;
    size_t cap, n; /* cap: a power of two */
};

static uint64_t mix(uint64_t h, uint64_t v)
{
    h = (h ^ v) * UINT64_C(0x9e3779b97f4a7c15);
    return h ^ (h >> 29);
}

/* The index of an entry equal to the one hashed (same(ctx, index) says), or UINT32_MAX. */
static uint32_t intern_find(const struct intern *t, uint32_t hash,
                            bool (*same)(const void *ctx, uint32_t index), const void *ctx)
{
    for (size_t i = hash & (t->cap - 1); t->cap && t->slot[i].index1; i = (i + 1) & (t->cap - 1))
        if (t->slot[i].hash == hash && same(ctx, t->slot[i].index1 - 1))
            return t->slot[i].index1 - 1;
    return UINT32_MAX;
}

static void intern_put(struct intern *t, uint32_t hash, uint32_t index)
{
    size_t i = hash & (t->cap - 1);
    while (t->slot[i].index1)
        i = (i + 1) & (t->cap - 1);
    t->slot[i] = (struct intern_slot){index + 1, hash};
    t->n++;
}

/* Adds entry index under hash (not there yet): false when out of memory. */
static bool intern_add(struct intern *t, uint32_t hash, uint32_t index)
{
    if (2 * (t->n + 1) > t->cap) { /* at most half full: probes stay short */
        struct intern old = *t;
        t->cap = old.cap ? 2 * old.cap : 256;
        t->n = 0;
        if (!(t->slot = calloc(t->cap, sizeof(*t->slot)))) {
            *t = old;
            return false;
        }
        for (size_t i = 0; i < old.cap; i++)
            if (old.slot[i].index1)
                intern_put(t, old.slot[i].hash, old.slot[i].index1 - 1);
        free(old.slot);
    }
    intern_put(t, hash, index);
    return true;
}

struct reader {
    struct sim_replay *rp;
    const char *path;
    struct diag *d;
    struct intern hcalls, writes;
    uint64_t evsim_records; /* none: a real host's recording ... */
    uint64_t cpu_hz;        /* ... at this TSC frequency (0: xenalyze's default) */
};

static int bad(struct reader *r, const struct xt_rec *rec, const char *what)
{
    return diag_set(r->d, "%s: offset %" PRIu64 ": %s", r->path, rec->offset, what);
}

/* ---- a vcpu's open call ------------------------------------------------------------------- */

static uint32_t call_hash(const struct rp_open_call *c)
{
    const struct rp_hcall *h = &c->h;
    uint64_t x = mix(mix(h->rc, h->rsp), (uint64_t)h->rflags << 32 | h->at);
    x = mix(x, (uint64_t)h->bound << 32 | h->mem_n << 2 | h->continued << 1 | h->have_result);
    for (unsigned i = 0; i < 6; i++)
        x = mix(x, h->args[i]);
    for (size_t i = 0; i < c->nr_mem; i++)
        x = mix(x, c->mem[i].gpa ^ (uint64_t)c->mem[i].len << 56);
    for (size_t i = 0; i < c->nr_bytes; i++)
        x = mix(x, c->bytes[i]);
    return (uint32_t)(x ^ x >> 32);
}

struct call_ctx {
    const struct sim_replay *rp;
    const struct rp_open_call *c;
};

/* Is hcall[index] the open call: the same registers, result and memory? */
static bool same_call(const void *ctx, uint32_t index)
{
    const struct call_ctx *x = ctx;
    const struct rp_hcall *a = &x->rp->hcall[index], *b = &x->c->h;
    if (memcmp(a->args, b->args, sizeof(a->args)) || a->rc != b->rc || a->rsp != b->rsp ||
        a->rflags != b->rflags || a->at != b->at || a->mem_n != b->mem_n || a->bound != b->bound ||
        a->continued != b->continued || a->have_result != b->have_result)
        return false;
    for (uint32_t i = 0; i < a->mem_n; i++) {
        const struct rp_mem *m = &x->rp->mem[a->mem_first + i], *n = &x->c->mem[i];
        if (m->gpa != n->gpa || m->len != n->len ||
            (m->data == RP_ZEROS) != (n->data == RP_ZEROS) ||
            (n->data != RP_ZEROS && memcmp(x->rp->bytes + m->data, x->c->bytes + n->data, m->len)))
            return false;
    }
    return true;
}

/* A new hcall entry for the open call, its memory with it: false when out of memory. */
static bool add_hcall(struct sim_replay *rp, struct rp_open_call *c)
{
    if (!replay_grow((void **)&rp->hcall, &rp->cap_hcall, rp->nr_hcall + 1, sizeof(*rp->hcall)) ||
        !replay_grow((void **)&rp->mem, &rp->cap_mem, rp->nr_mem + c->nr_mem, sizeof(*rp->mem)) ||
        !replay_grow((void **)&rp->bytes, &rp->cap_bytes, rp->nr_bytes + c->nr_bytes, 1))
        return false;
    c->h.mem_first = (uint32_t)rp->nr_mem;
    for (size_t i = 0; i < c->nr_mem; i++) {
        struct rp_mem m = c->mem[i];
        if (m.data != RP_ZEROS)
            m.data += (uint32_t)rp->nr_bytes;
        rp->mem[rp->nr_mem++] = m;
    }
    if (c->nr_bytes)
        memcpy(rp->bytes + rp->nr_bytes, c->bytes, c->nr_bytes);
    rp->nr_bytes += c->nr_bytes;
    rp->hcall[rp->nr_hcall++] = c->h;
    return true;
}

/* The vcpu's open call is complete (its next step came, or the recording ended): its call
 * names an equal hcall entry, a new one if there is none. 0, or -1 out of memory. */
static int close_call(struct reader *r, struct replay_vcpu *v)
{
    struct sim_replay *rp = r->rp;
    struct rp_open_call *c = &v->open_call;
    if (!c->open)
        return 0;
    c->h.mem_n = (uint32_t)c->nr_mem;
    uint32_t hash = call_hash(c),
             index = intern_find(&r->hcalls, hash, same_call, &(struct call_ctx){rp, c});
    if (index == UINT32_MAX) {
        index = (uint32_t)rp->nr_hcall;
        if (!add_hcall(rp, c) || !intern_add(&r->hcalls, hash, index))
            return -1;
    }
    rp->call[c->call].hcall = index;
    c->open = false;
    c->nr_mem = c->nr_bytes = 0;
    return 0;
}

/* A new step of the record's vcpu, its delta set; NULL with d set. */
static struct rp_step *step_add(struct reader *r, const struct xt_rec *rec, enum rp_kind kind,
                                const char *what)
{
    struct replay_vcpu *v = replay_vcpu_of(r->rp, rec->d[0]);
    /* the vcpu's last step is complete now (its CONSUMEs, its call's records came before):
     * sorted out at once */
    if (!v || close_call(r, v) < 0 ||
        (v->n && replay_segment_step(v, r->rp, (uint32_t)v->n - 1) < 0) ||
        !replay_grow((void **)&v->step, &v->cap, v->n + 1, sizeof(*v->step))) {
        bad(r, rec, what);
        return NULL;
    }
    uint64_t delta = v->carry + rec->d[1];
    if (delta > RP_DELTA_MAX - v->span) {
        bad(r, rec, "a vcpu's steps span more than 2^48 guest cycles: too long to replay");
        return NULL;
    }
    v->span += delta;
    v->carry = 0;
    struct rp_step *s = &v->step[v->n++];
    *s = (struct rp_step){.kind = kind & 0xf};
    rp_set_delta(s, delta);
    return s;
}

/* The call the untimed records after HCALL belong to: the vcpu's last step's, still open. */
static struct rp_open_call *last_call(struct reader *r, const struct xt_rec *rec)
{
    struct replay_vcpu *v = replay_vcpu_of(r->rp, rec->d[0]);
    if (!v || !v->n || v->step[v->n - 1].kind != RP_HCALL || !v->open_call.open)
        return NULL;
    return &v->open_call;
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
    uint64_t cycles = u64(&rec->d[1]);
    if (cycles > RP_DELTA_MAX - v->carry) /* step_add's check, before the sum can wrap */
        return bad(r, rec, "a vcpu's steps span more than 2^48 guest cycles: too long to replay");
    v->carry += cycles;
    return 0;
}

/* Where the engine's slice ended before the vcpu's next step (at the index it will have). */
static int read_cut(struct reader *r, const struct xt_rec *rec)
{
    struct replay_vcpu *v = rec->n >= 3 ? replay_vcpu_of(r->rp, rec->d[0]) : NULL;
    if (!v)
        return bad(r, rec, "a CUT record without its vcpu and cycles");
    if (!replay_grow((void **)&v->cut, &v->cap_cut, v->nr_cut + 1, sizeof(*v->cut)))
        return bad(r, rec, "out of memory");
    v->cut[v->nr_cut++] = (struct rp_cut){(uint32_t)v->n, (int64_t)(v->carry + u64(&rec->d[1]))};
    return 0;
}

static int read_hcall(struct reader *r, const struct xt_rec *rec)
{
    struct sim_replay *rp = r->rp;
    if (rec->n < 7)
        return bad(r, rec, "a HCALL record shorter than 7 words");
    if (!replay_grow((void **)&rp->call, &rp->cap_call, rp->nr_call + 1, sizeof(*rp->call)))
        return bad(r, rec, "out of memory");
    struct rp_step *s =
        step_add(r, rec, RP_HCALL, "a HCALL record of a vcpu beyond 63, or out of memory");
    if (!s)
        return -1;
    struct rp_open_call *c = &replay_vcpu_of(rp, rec->d[0])->open_call;
    s->arg = rec->d[2];
    s->ref = (uint32_t)rp->nr_call;
    rp->call[rp->nr_call++] =
        (struct rp_call){.cycles = rec->tsc > XT_EVSIM_TSC_BASE ? rec->tsc - XT_EVSIM_TSC_BASE : 0,
                         .hcall = UINT32_MAX /* close_call names it */};
    c->open = true;
    c->call = s->ref;
    c->h = (struct rp_hcall){.rsp = u64(&rec->d[3]), .rflags = rec->d[5], .at = rec->d[6]};
    return 0;
}

static int read_args(struct reader *r, const struct xt_rec *rec)
{
    struct rp_open_call *c = rec->n >= 7 ? last_call(r, rec) : NULL;
    if (!c)
        return bad(r, rec, "hypercall arguments that follow no HCALL record of their vcpu");
    unsigned first = rec->event == TRC_EVSIM_G_ARGS ? 0 : 3;
    for (unsigned i = 0; i < 3; i++)
        c->h.args[first + i] = u64(&rec->d[1 + 2 * i]);
    return 0;
}

static int read_mem(struct reader *r, const struct xt_rec *rec)
{
    struct rp_open_call *c = rec->n >= 4 ? last_call(r, rec) : NULL;
    bool zeros = rec->d[3] & XT_MEM_ZERO;
    uint32_t len = rec->d[3] & ~XT_MEM_ZERO;
    if (!c)
        return bad(r, rec, "guest memory that follows no HCALL record of its vcpu");
    if (!zeros && (len > 12 || rec->n < 4 + (len + 3) / 4))
        return bad(r, rec, "a MEM record whose length and size disagree");
    if (!replay_grow((void **)&c->mem, &c->cap_mem, c->nr_mem + 1, sizeof(*c->mem)) ||
        (!zeros && !replay_grow((void **)&c->bytes, &c->cap_bytes, c->nr_bytes + len, 1)))
        return bad(r, rec, "out of memory");
    c->mem[c->nr_mem++] = (struct rp_mem){
        .gpa = u64(&rec->d[1]), .len = len, .data = zeros ? RP_ZEROS : (uint32_t)c->nr_bytes};
    if (!zeros) {
        memcpy(c->bytes + c->nr_bytes, &rec->d[4], len);
        c->nr_bytes += len;
    }
    return 0;
}

static int read_result(struct reader *r, const struct xt_rec *rec)
{
    struct rp_open_call *c = rec->n >= 4 ? last_call(r, rec) : NULL;
    if (!c)
        return bad(r, rec, "a hypercall result that follows no HCALL record of its vcpu");
    c->h.rc = u64(&rec->d[1]);
    c->h.continued = rec->d[3] & 1;
    c->h.bound = rec->n >= 5 ? rec->d[4] : 0;
    c->h.have_result = true;
    return 0;
}

/* ---- writes: a change that consumed no event is kept once ------------------------------------ */

struct write_ctx {
    const struct sim_replay *rp;
    struct rp_write w;
};

static bool same_write(const void *ctx, uint32_t index)
{
    const struct write_ctx *x = ctx;
    const struct rp_write *w = &x->rp->write[index];
    return w->clear == x->w.clear && w->set == x->w.set && !w->nr_deps;
}

/* The write entry for a change (its CONSUMEs come later: read_consume gives the write an entry
 * of its own then): its index, or UINT32_MAX out of memory. */
static uint32_t write_entry(struct reader *r, uint64_t clear, uint64_t set)
{
    struct sim_replay *rp = r->rp;
    struct write_ctx x = {rp, {.clear = clear, .set = set}};
    uint64_t h = mix(mix(0, clear), set);
    uint32_t hash = (uint32_t)(h ^ h >> 32), index = intern_find(&r->writes, hash, same_write, &x);
    if (index != UINT32_MAX)
        return index;
    if (!replay_grow((void **)&rp->write, &rp->cap_write, rp->nr_write + 1, sizeof(*rp->write)) ||
        !intern_add(&r->writes, hash, (uint32_t)rp->nr_write))
        return UINT32_MAX;
    rp->write[rp->nr_write] = x.w;
    return (uint32_t)rp->nr_write++;
}

static int read_access(struct reader *r, const struct xt_rec *rec)
{
    uint32_t info = rec->n >= 3 ? rec->d[2] : 0;
    bool write = (info >> 24) & 1;
    unsigned size = (info >> 20) & 0xf, offset = (info >> 8) & 0xfff;
    if (rec->n < (write ? 7u : 3u) || !size || size > 8 || offset + size > XEN_PAGE_SIZE)
        return bad(r, rec, "an ACCESS record with a bad size or offset");
    uint32_t ref = write ? write_entry(r, u64(&rec->d[3]), u64(&rec->d[5])) : 0;
    if (ref == UINT32_MAX)
        return bad(r, rec, "out of memory");
    struct rp_step *s = step_add(r, rec, write ? RP_WRITE : RP_READ,
                                 "an ACCESS record of a vcpu beyond 63, or out of memory");
    if (!s)
        return -1;
    s->slot = info & 0xff;
    s->size = size;
    s->arg = offset;
    s->ref = ref;
    return 0;
}

static int read_consume(struct reader *r, const struct xt_rec *rec)
{
    struct sim_replay *rp = r->rp;
    struct replay_vcpu *v = rec->n >= 4 ? replay_vcpu_of(rp, rec->d[0]) : NULL;
    struct rp_step *s = v && v->n ? &v->step[v->n - 1] : NULL;
    if (!s || s->kind != RP_WRITE)
        return bad(r, rec, "a CONSUME record that follows no write of its vcpu");
    if (!replay_grow((void **)&rp->dep, &rp->cap_dep, rp->nr_dep + 1, sizeof(*rp->dep)) ||
        !replay_grow((void **)&rp->write, &rp->cap_write, rp->nr_write + 1, sizeof(*rp->write)))
        return bad(r, rec, "out of memory");
    if (!rp->write[s->ref].nr_deps) { /* the first: an entry of its own, its deps follow */
        rp->write[rp->nr_write] = rp->write[s->ref];
        rp->write[rp->nr_write].first_dep = (uint32_t)rp->nr_dep;
        s->ref = (uint32_t)rp->nr_write++;
    }
    rp->write[s->ref].nr_deps++;
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
                        "%s: offset %" PRIu64 ": d%uv%u made HVM port or MMIO I/O, recorded by "
                        "an evsim that did not keep what replay needs of it (record it again)",
                        r->path, rec->offset, rec->d[0] >> 16, rec->d[0] & 0xffff);
    struct rp_step *s = step_add(r, rec, (enum rp_kind)kinds[k],
                                 "a STEP record of a vcpu beyond 63, or out of memory");
    if (!s)
        return -1;
    s->arg = rec->d[3];
    return 0;
}

static int read_io(struct reader *r, const struct xt_rec *rec)
{
    struct sim_replay *rp = r->rp;
    if (rec->n < 7)
        return bad(r, rec, "an IO record of fewer than 7 words");
    uint32_t info = rec->d[2], size = XT_IO_SIZE(info);
    if (XT_IO_TYPE(info) > IOREQ_TYPE_PCI_CONFIG ||
        (size != 1 && size != 2 && size != 4 && size != 8) || XT_IO_COUNT(info) == 0)
        return bad(r, rec, "an IO record with a bad type, size or count");
    if (!replay_grow((void **)&rp->io, &rp->cap_io, rp->nr_io + 1, sizeof(*rp->io)))
        return bad(r, rec, "out of memory");
    struct rp_step *s =
        step_add(r, rec, RP_IO, "an IO record of a vcpu beyond 63, or out of memory");
    if (!s)
        return -1;
    s->ref = (uint32_t)rp->nr_io;
    rp->io[rp->nr_io++] = (struct rp_io){u64(&rec->d[3]), u64(&rec->d[5]), info};
    return 0;
}

static int read_layout(struct reader *r, const struct xt_rec *rec)
{
    struct rp_domain *d = rec->n >= 5 ? replay_domain_of(r->rp, rec->d[0] >> 16, true) : NULL;
    if (rec->n >= 5 && !d)
        return bad(r, rec, "out of memory");
    if (d) {
        d->virt_base = (uint64_t)rec->d[2] << 32 | rec->d[1];
        d->mfn0 = (uint64_t)rec->d[4] << 32 | rec->d[3];
    }
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
    {TRC_EVSIM_G_IO, read_io},           {TRC_EVSIM_G_CONSUME, read_consume},
    {TRC_EVSIM_G_CUT, read_cut},         {TRC_EVSIM_CPU_HZ, read_cpu_hz},
    {TRC_EVSIM_LAYOUT, read_layout},
};

static int read_record(struct reader *r, const struct xt_rec *rec)
{
    for (size_t i = 0; i < sizeof(readers) / sizeof(readers[0]); i++)
        if (readers[i].event == rec->event) {
            r->evsim_records++;
            return readers[i].read(r, rec);
        }
    return 0; /* Xen's records and evsim's others: the replay does not need them */
}

/* What each vcpu has left open, once all is read: its last call, steps to sort out. */
static int close_all(struct reader *r)
{
    struct sim_replay *rp = r->rp;
    for (uint32_t id = 0; xt_idmap_next(&rp->dom, &id); id++) {
        struct rp_domain *d = xt_idmap_get(&rp->dom, id);
        for (unsigned k = 0; k < RP_MAX_VCPUS; k++)
            if (d->vcpu[k] && (close_call(r, d->vcpu[k]) < 0 || replay_segment(d->vcpu[k], rp) < 0))
                return -1;
    }
    return 0;
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
    if (close_all(r) < 0)
        return diag_set(r->d, "%s: out of memory", r->path);
    bool cut = xt_stats(x)->truncated;
    if (!r->evsim_records) /* a real host's: what it shows becomes stimulus (replay_real.c) */
        return replay_real_load(r->rp, r->path, r->cpu_hz ? r->cpu_hz : XT_CPU_HZ_DEFAULT, cut,
                                r->d);
    if (cut)
        return diag_set(r->d,
                        "%s: offset %" PRIu64 ": an evsim recording cut short: its run's end is "
                        "lost, so it cannot be replayed (--allow-truncated reads a real host's)",
                        r->path, xt_stats(x)->truncated_at);
    if (!r->rp->text)
        return diag_set(r->d,
                        "%s: not a recording evsim can replay: it has evsim's records but no "
                        "scenario (a recording of `evsim run --record` cut short?)",
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
    return replay_load_hz(path, 0, false, out, d);
}

int replay_load_hz(const char *path, uint64_t cpu_hz, bool allow_truncated, struct sim_replay **out,
                   struct diag *d)
{
    struct xt_source src;
    struct xt_error err;
    struct xt_reader *x = NULL;
    struct xt_options opt = {.allow_truncated = allow_truncated};
    struct sim_replay *rp = calloc(1, sizeof(*rp));
    *out = NULL;
    if (!rp)
        return diag_set(d, "%s: out of memory", path);
    rp->own_config = -1;
    if (xt_source_file(&src, path, &err) < 0) {
        free(rp);
        return diag_set(d, "%s: %s", path, err.msg);
    }
    struct reader r = {.rp = rp, .path = path, .d = d, .cpu_hz = cpu_hz};
    rp->hz_default = !cpu_hz;
    int rc =
        xt_open(&x, &src, &opt, &err) < 0 ? diag_set(d, "%s: %s", path, err.msg) : read_all(&r, x);
    if (x)
        xt_close(x);
    xt_source_file_close(&src);
    free(r.hcalls.slot);
    free(r.writes.slot);
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
    free(rp->call);
    free(rp->hcall);
    free(rp->mem);
    free(rp->bytes);
    free(rp->dep);
    free(rp->write);
    free(rp->io);
    free(rp->port);
    rr_dm_free(rp);
    free(rp);
}

void replay_domain_layout(struct sim_replay *rp, uint32_t domid, uint64_t *virt_base,
                          uint64_t *mfn0)
{
    const struct rp_domain *d = replay_domain_of(rp, domid, false);
    *virt_base = d ? d->virt_base : 0;
    *mfn0 = d ? d->mfn0 : 0;
}

bool replay_is_real(const struct sim_replay *rp)
{
    return rp->real;
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
