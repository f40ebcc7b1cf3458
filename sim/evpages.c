/* Event pages of the FIFO and 3-level ABIs as device-like memory (see evpages.h). */
#include <stdlib.h>
#include <string.h>

#include <unicorn/unicorn.h>

#include "sim/evpages.h"
#include "sim/hvm_exits.h"
#include "models/ioreq.h"
#include "sim/explain.h"
#include "sim/record.h"
#include "sim/vcpu.h"

#include "evsim/xen_3l.h"

/* One page in one engine: what its callbacks need. */
struct sim_evpage_ctx {
    struct sim_vcpu *sv;
    unsigned page; /* index into sd->evpage */
    bool mapped;
};

/* Room for one more page (false: the domain crashed, out of memory). */
static bool evpage_append(struct sim_domain *sd)
{
    if (sd->nr_evpage < sd->cap_evpage)
        return true;
    unsigned cap = sd->cap_evpage ? 2 * sd->cap_evpage : 16;
    struct sim_event_page *p = realloc(sd->evpage, cap * sizeof(*p));
    if (!p) {
        sim_domain_crash(sd, "out of memory for event pages");
        return false;
    }
    sd->evpage = p;
    sd->cap_evpage = cap;
    return true;
}

void sim_evpages_add(struct sim_domain *sd, uint64_t gpa, enum hv_event_page_kind kind,
                     unsigned index)
{
    bool vcpu_info = kind == HV_PAGE_VCPU_INFO;

    /* Only RAM pages: shared_info (the one page Xen shares outside RAM) is device-like
     * memory already. */
    if (gpa < XEN_PAGE_SIZE || gpa >= sd->ram_size || sd->ram_size - gpa < XEN_PAGE_SIZE)
        return;
    /* Several registrations may share a page (control blocks or vcpu_infos of different
     * vcpus). A vcpu_info keeps its page mapped for good, whatever else shares it. */
    for (unsigned i = 0; i < sd->nr_evpage; i++)
        if (sd->evpage[i].gpa == gpa && !sd->evpage[i].released) {
            sd->evpage[i].keep |= vcpu_info;
            return;
        }
    if (!evpage_append(sd))
        return;
    sd->evpage[sd->nr_evpage++] = (struct sim_event_page){
        .gpa = gpa, .kind = kind, .index = index, .keep = vcpu_info, .host = sd->ram + gpa};
    sd->evpage_gen++;
}

/* The domain (of the machine) one of whose ioreq servers owns page. */
static struct sim_domain *ioreq_page_target(const struct machine *m, const void *page)
{
    for (unsigned i = 0; i < m->nr_dom; i++) {
        bool buffered;
        if (m->dom[i].d && ioreq_server_of_page(m->dom[i].d, page, &buffered))
            return &m->dom[i];
    }
    return NULL;
}

void sim_evpages_ioreq(struct sim_domain *sd, uint64_t gpa, void *page)
{
    if (gpa < XEN_PAGE_SIZE || gpa >= sd->ram_size || sd->ram_size - gpa < XEN_PAGE_SIZE)
        return;
    struct sim_event_page *cur = NULL;
    for (unsigned i = 0; i < sd->nr_evpage; i++)
        if (sd->evpage[i].gpa == gpa && !sd->evpage[i].released &&
            (sd->evpage[i].kind == HV_PAGE_IOREQ || sd->evpage[i].kind == HV_PAGE_SHARED_INFO))
            cur = &sd->evpage[i];
    /* One of Xen's pages replacing another at the same frame (a device model's map cache
     * mapping another foreign frame there): the entry, its mapping and its window slot stay,
     * only the memory behind them changes, so that remapping frames does not grow the list. */
    bool own_frame = page == sd->ram + gpa, shared_info = page == (void *)sd->shared_info;
    if (cur && page && !own_frame && !shared_info && cur->kind == HV_PAGE_IOREQ && !cur->hole) {
        cur->host = page;
        cur->target = ioreq_page_target(sd->m, page);
        return;
    }
    /* Whatever was there goes; what comes (a page, or a hole) is a new entry. */
    if (cur)
        cur->released = true;
    sd->evpage_gen++;
    if ((page && own_frame) || (!page && cur && !cur->hole))
        return;
    if (!evpage_append(sd))
        return;
    sd->evpage[sd->nr_evpage++] =
        (struct sim_event_page){.gpa = gpa,
                                .kind = page && shared_info ? HV_PAGE_SHARED_INFO : HV_PAGE_IOREQ,
                                .keep = true,
                                .host = page,
                                .target = page ? ioreq_page_target(sd->m, page) : NULL,
                                .hole = !page};
}

void sim_evpages_release(struct sim_domain *sd)
{
    for (unsigned i = 0; i < sd->nr_evpage; i++)
        sd->evpage[i].released |= !sd->evpage[i].keep;
    sd->evpage_gen++;
}

/* The port whose PENDING bit is bit `bit` of byte `offset` of the page, or -1 if that bit is
 * not a pending bit. FIFO: one 32-bit event word per port, PENDING is bit 31. 3-level: one bit
 * per port. Control blocks, selectors and vcpu_infos hold none. */
static int64_t pending_bit_port(const struct sim_event_page *pg, uint64_t offset, unsigned bit)
{
    uint64_t b = offset * 8 + bit;

    switch (pg->kind) {
    case HV_PAGE_FIFO_ARRAY:
        return b % 32 == EVTCHN_FIFO_PENDING
                   ? (int64_t)pg->index * (XEN_PAGE_SIZE / 4) + (int64_t)(b / 32)
                   : -1;
    case HV_PAGE_3L_PENDING:
        return (int64_t)pg->index * (XEN_PAGE_SIZE * 8) + (int64_t)b;
    case HV_PAGE_SHARED_INFO: {
        const uint64_t base = offsetof(struct shared_info, evtchn_pending) * 8;
        const uint64_t bits = sizeof(((struct shared_info *)0)->evtchn_pending) * 8;
        return b >= base && b < base + bits ? (int64_t)(b - base) : -1;
    }
    default:
        return -1;
    }
}

uint64_t sim_evpage_read(struct sim_vcpu *sv, unsigned page, uint64_t offset, unsigned size)
{
    struct sim_domain *sd = sv->sd;
    const struct sim_event_page *pg = &sd->evpage[page];
    const uint8_t *p = pg->host + offset;
    uint64_t value = 0;
    memcpy(&value, p, size);
    record_guest_access(sv, pg->gpa, offset, size, false, value, value);
    *sv->clock += machine_line_cost(sd->m, sv->pcpu->id, p, size, COH_READ);
    if (pg->target)
        sim_hvm_ioreq_page_access(sv, pg->target, offset, size, value, value, false);
    return value;
}

void sim_evpage_write(struct sim_vcpu *sv, unsigned page, uint64_t offset, unsigned size,
                      uint64_t value)
{
    struct sim_domain *sd = sv->sd;
    const struct sim_event_page *pg = &sd->evpage[page];
    uint8_t *p = pg->host + offset;
    uint64_t old = 0;
    *sv->clock += machine_line_cost(sd->m, sv->pcpu->id, p, size, COH_WRITE);
    memcpy(&old, p, size);
    record_guest_access(sv, pg->gpa, offset, size, true, old, value);
    explain_guest_write(sd->m->explain, sv);
    memcpy(p, &value, size);
    explain_close(sd->m->explain);
    if (pg->target)
        sim_hvm_ioreq_page_access(sv, pg->target, offset, size, old, value, true);
    /* A cleared PENDING bit: the guest's upcall code reached that port. */
    for (uint64_t cleared = old & ~value; cleared; cleared &= cleared - 1) {
        int64_t port = pending_bit_port(pg, offset, (unsigned)__builtin_ctzll(cleared));
        if (port >= 0)
            sim_port_consumed(sv, (uint32_t)port);
    }
}

void sim_port_consumed(struct sim_vcpu *sv, uint32_t port)
{
    stages_cleared(&sv->sd->stages, &sv->stages, port, *sv->clock);
    record_guest_consume(sv, port);
}

static uint64_t evpage_read(uc_engine *uc, uint64_t offset, unsigned size, void *opaque)
{
    const struct sim_evpage_ctx *c = opaque;
    (void)uc;
    return sim_evpage_read(c->sv, c->page, offset, size);
}

static void evpage_write(uc_engine *uc, uint64_t offset, unsigned size, uint64_t value,
                         void *opaque)
{
    const struct sim_evpage_ctx *c = opaque;
    (void)uc;
    sim_evpage_write(c->sv, c->page, offset, size, value);
}

static int evpage_map(struct sim_vcpu *sv, unsigned i)
{
    struct sim_domain *sd = sv->sd;
    struct sim_evpage_ctx *c = sv->evctx[i];
    uint64_t gpa = sd->evpage[i].gpa;

    if (!c) {
        c = calloc(1, sizeof(*c));
        if (!c)
            return -1;
        *c = (struct sim_evpage_ctx){.sv = sv, .page = i};
        sv->evctx[i] = c;
    }
    if (uc_mem_unmap(sv->uc, gpa, XEN_PAGE_SIZE) != UC_ERR_OK ||
        (!sd->evpage[i].hole &&
         uc_mmio_map(sv->uc, gpa, XEN_PAGE_SIZE, evpage_read, c, evpage_write, c) != UC_ERR_OK))
        return -1;
    c->mapped = true;
    return 0;
}

static int evpage_unmap(struct sim_vcpu *sv, unsigned i)
{
    struct sim_domain *sd = sv->sd;
    uint64_t gpa = sd->evpage[i].gpa;

    if ((!sd->evpage[i].hole && uc_mem_unmap(sv->uc, gpa, XEN_PAGE_SIZE) != UC_ERR_OK) ||
        uc_mem_map_ptr(sv->uc, gpa, XEN_PAGE_SIZE, UC_PROT_ALL, sd->ram + gpa) != UC_ERR_OK)
        return -1;
    sv->evctx[i]->mapped = false;
    return 0;
}

static int evctx_grow(struct sim_vcpu *sv, unsigned n)
{
    struct sim_evpage_ctx **c = realloc(sv->evctx, (size_t)n * sizeof(*c));
    if (!c)
        return -1;
    sv->evctx = c;
    return 0;
}

/* A PV domain's pages are reached through its page tables: each shared page's entry points
 * at its window slot (a hole at none), a released one's at its RAM again. Released entries go
 * first: a page re-registered at the same address is a newer entry. */
static int evpages_map_paged(struct sim_domain *sd)
{
    struct phys_space *ps = &sd->m->phys;
    const struct phys_layout *l = &sd->layout;
    for (unsigned i = 0; i < sd->nr_evpage; i++)
        if (sd->evpage[i].released)
            phys_map_ram(ps, l, sd->mach_base, sd->evpage[i].gpa);
    for (unsigned i = 0; i < sd->nr_evpage; i++) {
        struct sim_event_page *pg = &sd->evpage[i];
        if (pg->released)
            continue;
        if (pg->hole) {
            phys_map_hole(ps, l, sd->mach_base, pg->gpa);
            continue;
        }
        if (!pg->slot && !(pg->slot = phys_slot_add(ps, sd, (int)i)))
            return -1;
        phys_map_slot(ps, l, sd->mach_base, pg->gpa, pg->slot);
    }
    sd->pte_gen = sd->evpage_gen;
    return 0;
}

/* The page tables are the domain's, the TLB the engine's: the first of its vcpus to run after
 * a change rewrites the tables, each one flushes the engine it is in. */
static int evpages_sync_paged(struct sim_vcpu *sv)
{
    struct sim_domain *sd = sv->sd;
    if (sd->pte_gen != sd->evpage_gen && evpages_map_paged(sd) < 0) {
        sim_domain_crash(sd, "d%uv%u: out of window slots for the event pages", sd->d->domid,
                         sv->v->vcpu_id);
        return -1;
    }
    uc_ctl_flush_tlb(sv->uc);
    sv->evpage_gen = sd->evpage_gen;
    return 0;
}

int sim_evpages_sync(struct sim_vcpu *sv)
{
    struct sim_domain *sd = sv->sd;

    if (sv->evpage_gen == sd->evpage_gen)
        return 0;
    if (sd->paged)
        return evpages_sync_paged(sv);
    if (sd->nr_evpage > sv->nr_evctx) {
        if (evctx_grow(sv, sd->nr_evpage) < 0)
            goto fail;
        while (sv->nr_evctx < sd->nr_evpage)
            sv->evctx[sv->nr_evctx++] = NULL;
    }
    for (unsigned i = 0; i < sd->nr_evpage; i++) {
        bool mapped = sv->evctx[i] && sv->evctx[i]->mapped;
        bool want = !sd->evpage[i].released;
        if (want != mapped && (want ? evpage_map(sv, i) : evpage_unmap(sv, i)) < 0)
            goto fail;
    }
    sv->evpage_gen = sd->evpage_gen;
    return 0;
fail:
    sim_domain_crash(sd, "d%uv%u: cannot map the event pages the ABI shares with Xen", sd->d->domid,
                     sv->v->vcpu_id);
    return -1;
}

void sim_evpages_free_vcpu(struct sim_vcpu *sv)
{
    for (unsigned i = 0; i < sv->nr_evctx; i++)
        free(sv->evctx[i]);
    free(sv->evctx);
    sv->evctx = NULL;
    sv->nr_evctx = 0;
}

void sim_evpages_free_domain(struct sim_domain *sd)
{
    free(sd->evpage);
    sd->evpage = NULL;
    sd->nr_evpage = sd->cap_evpage = 0;
}
