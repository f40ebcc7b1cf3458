/* Ioreq servers: Xen 4.22's xen/common/ioreq.c, the x86 parts of xen/arch/x86/hvm/ioreq.c and
 * the rangesets of xen/common/rangeset.c they use. Checks come in Xen's order, since the order
 * decides which error an emulator sees. See models/ioreq.h for the round trip. */
#include <stdlib.h>
#include <string.h>

#include "models/evtchn.h"
#include "models/hv_sink.h"
#include "models/ioreq.h"

/* ---- rangesets ---- */

/* Xen's find_range: the last range starting at or below s, -1 if none. */
static int rangeset_find(const struct ioreq_rangeset *r, uint64_t s)
{
    int i = -1;

    while ((unsigned)(i + 1) < r->nr && r->r[i + 1].s <= s)
        i++;
    return i;
}

static void rangeset_delete(struct ioreq_rangeset *r, int i)
{
    memmove(&r->r[i], &r->r[i + 1], (r->nr - (unsigned)i - 1) * sizeof(r->r[0]));
    r->nr--;
}

/* A new range after index i; false at the limit (Xen's alloc_range). */
static bool rangeset_insert(struct ioreq_rangeset *r, int i, uint64_t s, uint64_t e)
{
    if (r->nr >= MAX_NR_IO_RANGES)
        return false;
    memmove(&r->r[i + 2], &r->r[i + 1], (r->nr - (unsigned)(i + 1)) * sizeof(r->r[0]));
    r->r[i + 1].s = s;
    r->r[i + 1].e = e;
    r->nr++;
    return true;
}

int ioreq_rangeset_add(struct ioreq_rangeset *r, uint64_t s, uint64_t e)
{
    int x = rangeset_find(r, s);

    /* Xen extends a left neighbour in place, else allocates first, merging right after. */
    if (x < 0 || (r->r[x].e < s && r->r[x].e + 1 != s)) {
        if (!rangeset_insert(r, x, s, e))
            return -XEN_ENOMEM;
        x++;
    } else if (r->r[x].e < e) {
        r->r[x].e = e;
    }
    if ((unsigned)x + 1 < r->nr && r->r[x].e + 1 == r->r[x + 1].s) {
        r->r[x].e = r->r[x + 1].e;
        rangeset_delete(r, x + 1);
    }
    return 0;
}

int ioreq_rangeset_remove(struct ioreq_rangeset *r, uint64_t s, uint64_t e)
{
    int x = rangeset_find(r, s);

    if (x < 0 || r->r[x].e < s)
        return 0;
    if (r->r[x].s < s && r->r[x].e > e) {
        if (!rangeset_insert(r, x, e + 1, r->r[x].e))
            return -XEN_ENOMEM;
        r->r[x].e = s - 1;
    } else if (r->r[x].s == s && r->r[x].e <= e) {
        rangeset_delete(r, x);
    } else if (r->r[x].s == s) {
        r->r[x].s = e + 1;
    } else if (r->r[x].e <= e) {
        r->r[x].e = s - 1;
    }
    return 0;
}

bool ioreq_rangeset_contains(const struct ioreq_rangeset *r, uint64_t s, uint64_t e)
{
    int x = rangeset_find(r, s);

    return x >= 0 && r->r[x].e >= e;
}

bool ioreq_rangeset_overlaps(const struct ioreq_rangeset *r, uint64_t s, uint64_t e)
{
    int x = rangeset_find(r, e);

    return x >= 0 && s <= r->r[x].e;
}

/* ---- servers ---- */

#define HANDLE_BUFIOREQ(s) ((s)->bufioreq_handling != HVM_IOREQSRV_BUFIOREQ_OFF)

struct ioreq_server *ioreq_server_get(const struct domain *d, unsigned id)
{
    if (!d->ioreq || id >= MAX_NR_IOREQ_SERVERS)
        return NULL;
    return d->ioreq->server[id];
}

/* The server id, if it exists and `emulator` created it: 0, -ENOENT or -EPERM. */
static int ioreq_server_own(struct domain *d, struct domain *emulator, unsigned id,
                            struct ioreq_server **out)
{
    struct ioreq_server *s = ioreq_server_get(d, id);

    if (!s)
        return -XEN_ENOENT;
    if (s->emulator != emulator->domid)
        return -XEN_EPERM;
    *out = s;
    return 0;
}

static ioreq_t *ioreq_slot(struct ioreq_server *s, const struct vcpu *v)
{
    return s->ioreq.va ? &((shared_iopage_t *)s->ioreq.va)->vcpu_ioreq[v->vcpu_id] : NULL;
}

int ioreq_view_slot_state(const struct domain *d, unsigned id, unsigned vcpu)
{
    struct ioreq_server *s = ioreq_server_get(d, id);
    const volatile ioreq_t *p;

    if (!s || !s->ioreq.va || vcpu >= d->max_vcpus)
        return -1;
    p = &((const shared_iopage_t *)s->ioreq.va)->vcpu_ioreq[vcpu];
    return p->state;
}

int64_t ioreq_view_ring_queued(const struct domain *d, unsigned id)
{
    struct ioreq_server *s = ioreq_server_get(d, id);
    const volatile buffered_iopage_t *pg;

    if (!s || !s->bufioreq.va)
        return -1;
    pg = s->bufioreq.va;
    return (uint32_t)(pg->write_pointer - pg->read_pointer);
}

/* vp_eport is written only once the server is enabled and its page exists. */
static void ioreq_server_update_evtchns(struct ioreq_server *s)
{
    for (unsigned i = 0; i < s->target->max_vcpus && s->ioreq.va; i++)
        ioreq_slot(s, s->target->vcpu[i])->vp_eport = s->vcpu[i].ioreq_evtchn;
}

static void ioreq_server_free_ports(struct ioreq_server *s)
{
    for (unsigned i = 0; i < s->target->max_vcpus; i++)
        if (s->vcpu[i].ioreq_evtchn)
            (void)evtchn_close(s->target, s->vcpu[i].ioreq_evtchn, false);
    if (s->bufioreq_evtchn)
        (void)evtchn_close(s->target, s->bufioreq_evtchn, false);
}

/* Xen's ioreq_server_add_vcpu for every vcpu: a Xen-attached port in the target for each,
 * offered to the emulator, and with vcpu 0 the buffered ring's. */
static int ioreq_server_alloc_ports(struct ioreq_server *s)
{
    for (unsigned i = 0; i < s->target->max_vcpus; i++) {
        int port = evtchn_alloc_unbound_xen(s->target, i, s->emulator);

        if (port < 0)
            return port;
        s->vcpu[i].ioreq_evtchn = (uint32_t)port;
        if (i == 0 && HANDLE_BUFIOREQ(s)) {
            port = evtchn_alloc_unbound_xen(s->target, 0, s->emulator);
            if (port < 0)
                return port;
            s->bufioreq_evtchn = (uint32_t)port;
        }
    }
    return 0;
}

static struct ioreq_domain *ioreq_domain_get(struct domain *d)
{
    if (!d->ioreq) {
        d->ioreq = calloc(1, sizeof(*d->ioreq));
        if (d->ioreq)
            d->ioreq->io_req = calloc(d->max_vcpus, sizeof(ioreq_t));
        if (d->ioreq && !d->ioreq->io_req) {
            free(d->ioreq);
            d->ioreq = NULL;
        }
    }
    return d->ioreq;
}

static struct ioreq_server *ioreq_server_alloc(struct domain *d, domid_t emulator, unsigned id,
                                               int bufioreq_handling)
{
    struct ioreq_server *s = calloc(1, sizeof(*s));

    if (!s)
        return NULL;
    s->vcpu = calloc(d->max_vcpus, sizeof(*s->vcpu));
    if (!s->vcpu) {
        free(s);
        return NULL;
    }
    s->target = d;
    s->emulator = emulator;
    s->id = id;
    s->bufioreq_handling = (uint8_t)bufioreq_handling;
    s->ioreq.gfn = s->bufioreq.gfn = IOREQ_INVALID_GFN;
    return s;
}

static void ioreq_server_free(struct ioreq_server *s)
{
    free(s->vcpu);
    free(s);
}

int ioreq_server_create(struct domain *d, struct domain *emulator, int bufioreq_handling,
                        ioservid_t *id)
{
    struct ioreq_domain *iod;
    struct ioreq_server *s;
    unsigned i;
    int rc;

    if (bufioreq_handling > HVM_IOREQSRV_BUFIOREQ_ATOMIC)
        return -XEN_EINVAL;
    /* Xen has no HVM domain beyond 128 vcpus; the model's would not fit one page. */
    if (d->max_vcpus > IOREQ_MAX_VCPUS)
        return -XEN_EINVAL;
    iod = ioreq_domain_get(d);
    if (!iod)
        return -XEN_ENOMEM;
    for (i = 0; i < MAX_NR_IOREQ_SERVERS && iod->server[i]; i++)
        ;
    if (i >= MAX_NR_IOREQ_SERVERS)
        return -XEN_ENOSPC;
    s = ioreq_server_alloc(d, emulator->domid, i, bufioreq_handling);
    if (!s)
        return -XEN_ENOMEM;
    rc = ioreq_server_alloc_ports(s);
    if (rc) {
        ioreq_server_free_ports(s);
        ioreq_server_free(s);
        return rc;
    }
    iod->server[i] = s;
    *id = (ioservid_t)i;
    return 0;
}

/* ---- pages ---- */

static void ioreq_page_clear(struct ioreq_page *p)
{
    memset(p->va, 0, XEN_PAGE_SIZE);
}

/* Xen's ioreq_server_alloc_mfn: a page outside the guest's physmap, for acquire_resource. */
static int ioreq_page_alloc(struct hv *hv, struct ioreq_page *p)
{
    if (p->va)
        return p->gfn != IOREQ_INVALID_GFN ? -XEN_EPERM : 0;
    p->va = hv_page_alloc(hv);
    if (!p->va)
        return -XEN_ENOMEM;
    p->owned = true;
    ioreq_page_clear(p);
    return 0;
}

/* Xen's ioreq_server_free_mfn; the emulator's mappings are taken back (in Xen they keep the
 * page alive, unused, until the emulator unmaps it; the model has no reference counts). */
static void ioreq_page_free(struct hv *hv, struct domain *emulator, struct ioreq_page *p)
{
    if (!p->va || !p->owned)
        return;
    for (unsigned i = 0; i < p->nr_maps && emulator; i++)
        sink_ioreq_page(emulator, p->map_gfn[i], NULL);
    hv_page_free(hv, p->va);
    memset(p, 0, sizeof(*p));
    p->gfn = IOREQ_INVALID_GFN;
}

static int ioreq_server_alloc_pages(struct ioreq_server *s)
{
    int rc = ioreq_page_alloc(s->target->hv, &s->ioreq);

    if (!rc && HANDLE_BUFIOREQ(s))
        rc = ioreq_page_alloc(s->target->hv, &s->bufioreq);
    if (rc)
        ioreq_page_free(s->target->hv, NULL, &s->ioreq);
    return rc;
}

/* Xen's hvm_alloc_ioreq_gfn (the legacy HVM_PARAM_IOREQ_PFN frames are not modelled). */
static uint64_t ioreq_gfn_alloc(struct ioreq_domain *iod)
{
    for (unsigned i = 0; i < 64; i++)
        if (iod->gfn_mask & (UINT64_C(1) << i)) {
            iod->gfn_mask &= ~(UINT64_C(1) << i);
            return iod->gfn_base + i;
        }
    return IOREQ_INVALID_GFN;
}

static void ioreq_gfn_unmap(struct ioreq_server *s, struct ioreq_page *p)
{
    if (p->gfn == IOREQ_INVALID_GFN)
        return;
    s->target->ioreq->gfn_mask |= UINT64_C(1) << (p->gfn - s->target->ioreq->gfn_base);
    p->gfn = IOREQ_INVALID_GFN;
    p->va = NULL;
}

/* Xen's hvm_map_ioreq_gfn: a frame of the pool, which is the target's own memory. */
static int ioreq_gfn_map(struct ioreq_server *s, struct ioreq_page *p)
{
    struct domain *d = s->target;

    if (p->va)
        return p->gfn == IOREQ_INVALID_GFN ? -XEN_EPERM : 0;
    if (d->is_dying)
        return -XEN_EINVAL;
    p->gfn = ioreq_gfn_alloc(d->ioreq);
    if (p->gfn == IOREQ_INVALID_GFN)
        return -XEN_ENOMEM;
    p->va = guest_ptr(d, p->gfn * XEN_PAGE_SIZE, XEN_PAGE_SIZE);
    if (!p->va) { /* prepare_ring_for_helper: not a frame of the guest's */
        ioreq_gfn_unmap(s, p);
        return -XEN_EINVAL;
    }
    return 0;
}

static int ioreq_server_map_pages(struct ioreq_server *s)
{
    int rc = ioreq_gfn_map(s, &s->ioreq);

    if (!rc && HANDLE_BUFIOREQ(s))
        rc = ioreq_gfn_map(s, &s->bufioreq);
    if (rc)
        ioreq_gfn_unmap(s, &s->ioreq);
    return rc;
}

/* Enabling takes GFN-mapped pages out of the guest's physmap (so it cannot forge requests)
 * and clears them; disabling clears them and puts them back. */
static void ioreq_gfn_remove(struct ioreq_server *s, struct ioreq_page *p)
{
    if (p->gfn == IOREQ_INVALID_GFN)
        return;
    sink_ioreq_page(s->target, p->gfn, NULL);
    ioreq_page_clear(p);
}

static void ioreq_gfn_add(struct ioreq_server *s, struct ioreq_page *p)
{
    if (p->gfn == IOREQ_INVALID_GFN)
        return;
    ioreq_page_clear(p);
    sink_ioreq_page(s->target, p->gfn, p->va);
}

static void ioreq_server_enable(struct ioreq_server *s)
{
    if (s->enabled)
        return;
    ioreq_gfn_remove(s, &s->ioreq);
    ioreq_gfn_remove(s, &s->bufioreq);
    s->enabled = true;
    ioreq_server_update_evtchns(s);
}

static void ioreq_server_disable(struct ioreq_server *s)
{
    if (!s->enabled)
        return;
    ioreq_gfn_add(s, &s->bufioreq);
    ioreq_gfn_add(s, &s->ioreq);
    s->enabled = false;
}

/* Xen's ioreq_server_deinit after the disable: ports, pages, the server. */
static void ioreq_server_teardown(struct ioreq_server *s)
{
    struct domain *emulator = domain_lookup(s->target->hv, NULL, s->emulator);

    ioreq_server_disable(s);
    ioreq_server_free_ports(s);
    ioreq_gfn_unmap(s, &s->bufioreq);
    ioreq_gfn_unmap(s, &s->ioreq);
    ioreq_page_free(s->target->hv, emulator, &s->bufioreq);
    ioreq_page_free(s->target->hv, emulator, &s->ioreq);
    s->target->ioreq->server[s->id] = NULL;
    ioreq_server_free(s);
}

int ioreq_server_destroy(struct domain *d, struct domain *emulator, ioservid_t id)
{
    struct ioreq_server *s;
    int rc = ioreq_server_own(d, emulator, id, &s);

    if (rc)
        return rc;
    ioreq_server_teardown(s);
    return 0;
}

int ioreq_server_get_info(struct domain *d, struct domain *emulator, ioservid_t id,
                          uint64_t *ioreq_gfn, uint64_t *bufioreq_gfn, evtchn_port_t *port)
{
    struct ioreq_server *s;
    int rc = ioreq_server_own(d, emulator, id, &s);

    if (rc)
        return rc;
    if (ioreq_gfn || bufioreq_gfn) {
        rc = ioreq_server_map_pages(s);
        if (rc)
            return rc;
    }
    if (ioreq_gfn)
        *ioreq_gfn = s->ioreq.gfn;
    if (HANDLE_BUFIOREQ(s)) {
        if (bufioreq_gfn)
            *bufioreq_gfn = s->bufioreq.gfn;
        *port = s->bufioreq_evtchn;
    }
    return 0;
}

int ioreq_server_get_frame(struct domain *d, struct domain *emulator, ioservid_t id, unsigned idx,
                           void **page)
{
    struct ioreq_server *s;
    int rc = ioreq_server_own(d, emulator, id, &s);

    if (rc)
        return rc;
    /* Xen allocates both pages before it looks at the index. */
    rc = ioreq_server_alloc_pages(s);
    if (rc)
        return rc;
    if (idx == XENMEM_resource_ioreq_server_frame_bufioreq) {
        if (!HANDLE_BUFIOREQ(s))
            return -XEN_ENOENT;
        *page = s->bufioreq.va;
        return 0;
    }
    if (idx == XENMEM_resource_ioreq_server_frame_ioreq(0)) {
        *page = s->ioreq.va;
        return 0;
    }
    return -XEN_EINVAL;
}

static struct ioreq_page *ioreq_page_of(struct domain *d, void *va)
{
    bool buffered;
    struct ioreq_server *s = ioreq_server_of_page(d, va, &buffered);

    return !s ? NULL : buffered ? &s->bufioreq : &s->ioreq;
}

int ioreq_server_note_mapping(struct domain *d, struct domain *emulator, void *page, uint64_t gfn)
{
    struct ioreq_page *p = ioreq_page_of(d, page);

    if (!p)
        return -XEN_EINVAL;
    if (p->nr_maps >= IOREQ_PAGE_MAX_MAPS)
        return -XEN_ENOMEM; /* the model's bound (set_foreign_p2m_entry may fail so too) */
    p->map_gfn[p->nr_maps++] = gfn;
    sink_ioreq_page(emulator, gfn, page);
    return 0;
}

unsigned ioreq_server_max_frames(const struct domain *d)
{
    return 1 + (unsigned)((d->max_vcpus * sizeof(ioreq_t) + XEN_PAGE_SIZE - 1) / XEN_PAGE_SIZE);
}

static struct ioreq_rangeset *ioreq_range(struct ioreq_server *s, uint32_t type)
{
    return type < NR_IO_RANGE_TYPES ? &s->range[type] : NULL;
}

/* The range set a map or unmap acts on, after Xen's checks in Xen's order: the range, the
 * caller's ownership of the server, the type. */
static int ioreq_server_range_op(struct domain *d, struct domain *emulator, ioservid_t id,
                                 uint32_t type, uint64_t start, uint64_t end,
                                 struct ioreq_rangeset **out)
{
    struct ioreq_server *s;
    int rc;

    if (start > end)
        return -XEN_EINVAL;
    rc = ioreq_server_own(d, emulator, id, &s);
    if (rc)
        return rc;
    *out = ioreq_range(s, type);
    return *out ? 0 : -XEN_EINVAL;
}

int ioreq_server_map_io_range(struct domain *d, struct domain *emulator, ioservid_t id,
                              uint32_t type, uint64_t start, uint64_t end)
{
    struct ioreq_rangeset *r;
    int rc = ioreq_server_range_op(d, emulator, id, type, start, end, &r);

    if (rc)
        return rc;
    if (ioreq_rangeset_overlaps(r, start, end))
        return -XEN_EEXIST;
    return ioreq_rangeset_add(r, start, end);
}

int ioreq_server_unmap_io_range(struct domain *d, struct domain *emulator, ioservid_t id,
                                uint32_t type, uint64_t start, uint64_t end)
{
    struct ioreq_rangeset *r;
    int rc = ioreq_server_range_op(d, emulator, id, type, start, end, &r);

    if (rc)
        return rc;
    if (!ioreq_rangeset_contains(r, start, end))
        return -XEN_ENOENT;
    return ioreq_rangeset_remove(r, start, end);
}

int ioreq_server_set_state(struct domain *d, struct domain *emulator, ioservid_t id, bool enabled)
{
    struct ioreq_server *s;
    int rc = ioreq_server_own(d, emulator, id, &s);

    if (rc)
        return rc;
    if (enabled)
        ioreq_server_enable(s);
    else
        ioreq_server_disable(s);
    return 0;
}

int ioreq_set_gfn_pool(struct domain *d, uint64_t base, unsigned nr)
{
    struct ioreq_domain *iod;

    if (nr > 64)
        return -XEN_EINVAL;
    iod = ioreq_domain_get(d);
    if (!iod)
        return -XEN_ENOMEM;
    iod->gfn_base = base;
    iod->gfn_mask = nr == 64 ? UINT64_MAX : (UINT64_C(1) << nr) - 1;
    return 0;
}

void ioreq_domain_destroy(struct domain *d)
{
    if (!d->ioreq)
        return;
    for (unsigned i = 0; i < MAX_NR_IOREQ_SERVERS; i++)
        if (d->ioreq->server[i])
            ioreq_server_teardown(d->ioreq->server[i]);
    free(d->ioreq->io_req);
    free(d->ioreq);
    d->ioreq = NULL;
}

/* ---- selection ---- */

static uint64_t ioreq_mmio_first_byte(const ioreq_t *p)
{
    return p->df ? p->addr - (p->count - UINT64_C(1)) * p->size : p->addr;
}

static uint64_t ioreq_mmio_last_byte(const ioreq_t *p)
{
    return p->df ? p->addr + p->size - 1 : p->addr + (uint64_t)p->count * p->size - 1;
}

/* Xen's rangeset is a sorted list walked from its head until a range starts beyond the
 * address: each node visited is a load, which the vcpu whose access is being routed pays. */
static bool claims_range(struct hv *hv, const struct ioreq_rangeset *r, uint64_t s, uint64_t e)
{
    int x = rangeset_find(r, s);
    unsigned visited = (unsigned)(x + 1) < r->nr ? (unsigned)(x + 2) : r->nr;

    for (unsigned i = 0; i < visited; i++)
        hv_charge_current(hv, COST_XEN_READ);
    return x >= 0 && r->r[x].e >= e;
}

static bool ioreq_server_claims(const struct ioreq_server *s, const ioreq_t *p)
{
    struct hv *hv = s->target->hv;

    switch (p->type) {
    case IOREQ_TYPE_PIO:
        return claims_range(hv, &s->range[XEN_DMOP_IO_RANGE_PORT], p->addr, p->addr + p->size - 1);
    case IOREQ_TYPE_COPY:
        return claims_range(hv, &s->range[XEN_DMOP_IO_RANGE_MEMORY], ioreq_mmio_first_byte(p),
                            ioreq_mmio_last_byte(p));
    case IOREQ_TYPE_PCI_CONFIG:
        return claims_range(hv, &s->range[XEN_DMOP_IO_RANGE_PCI], p->addr >> 32, p->addr >> 32);
    default:
        return false;
    }
}

/* Newest first: Xen scans from id 7 down, as its old list favoured recent servers. */
struct ioreq_server *ioreq_server_select(struct domain *d, const ioreq_t *p)
{
    for (unsigned id = MAX_NR_IOREQ_SERVERS; id-- > 0;) {
        struct ioreq_server *s = ioreq_server_get(d, id);

        if (s && s->enabled && ioreq_server_claims(s, p))
            return s;
    }
    return NULL;
}

bool ioreq_claims_memory(const struct domain *d)
{
    for (unsigned id = 0; d->ioreq && id < MAX_NR_IOREQ_SERVERS; id++) {
        const struct ioreq_server *s = d->ioreq->server[id];

        if (s && s->enabled && s->range[XEN_DMOP_IO_RANGE_MEMORY].nr)
            return true;
    }
    return false;
}

bool ioreq_gfn_is_hole(const struct domain *d, uint64_t gfn)
{
    for (unsigned id = 0; d->ioreq && gfn != IOREQ_INVALID_GFN && id < MAX_NR_IOREQ_SERVERS; id++) {
        const struct ioreq_server *s = d->ioreq->server[id];

        if (s && s->enabled && (s->ioreq.gfn == gfn || s->bufioreq.gfn == gfn))
            return true;
    }
    return false;
}

struct ioreq_server *ioreq_server_of_page(const struct domain *d, const void *page, bool *buffered)
{
    for (unsigned id = 0; d->ioreq && page && id < MAX_NR_IOREQ_SERVERS; id++) {
        struct ioreq_server *s = d->ioreq->server[id];

        if (s && (s->ioreq.va == page || s->bufioreq.va == page)) {
            *buffered = s->bufioreq.va == page;
            return s;
        }
    }
    return NULL;
}

/* ---- sending ---- */

/* buf_ioreq_t's 2-bit size: 1, 2, 4, 8 bytes as 0-3; -1 for any other size. */
static int ioreq_buf_size(uint32_t size)
{
    switch (size) {
    case 1:
        return 0;
    case 2:
        return 1;
    case 4:
        return 2;
    case 8:
        return 3;
    default:
        return -1;
    }
}

/* With HVM_IOREQSRV_BUFIOREQ_ATOMIC the emulator promises atomic pointer updates, so Xen
 * brings both pointers back below 511 (a 32-bit pointer wrapping at 2^32 would break the
 * ring's modulo 511), with a 64-bit cmpxchg of the pair. */
static void ioreq_buf_canonicalise(struct hv *hv, buffered_iopage_t *pg, int qw)
{
    volatile uint64_t *full = (volatile uint64_t *)(void *)&pg->read_pointer;

    while (qw++ < IOREQ_BUFFER_SLOT_NUM && pg->read_pointer >= IOREQ_BUFFER_SLOT_NUM) {
        uint64_t old = *full;
        uint32_t rp = (uint32_t)old, wp = (uint32_t)(old >> 32);
        uint32_t n = rp / IOREQ_BUFFER_SLOT_NUM * IOREQ_BUFFER_SLOT_NUM;

        guest_cmpxchg64(hv, full, old, (uint64_t)(wp - n) << 32 | (rp - n));
    }
}

/* Xen's ioreq_send_buffered: false where Xen answers IOREQ_STATUS_UNHANDLED. */
static bool ioreq_send_buffered(struct ioreq_server *s, const ioreq_t *p)
{
    buffered_iopage_t *pg = s->bufioreq.va;
    struct hv *hv = s->target->hv;
    buf_ioreq_t bp = {.type = p->type, .dir = p->dir, .addr = (uint32_t)p->addr & 0xfffff};
    int size = ioreq_buf_size(p->size), qw = p->size == 8;

    /* The ring has 20 address bits, no pointers and no repetitions. */
    if (!pg || p->addr > 0xfffff || p->data_is_ptr || p->count != 1 || size < 0)
        return false;
    bp.size = (uint8_t)size;
    if (guest_read32(hv, &pg->write_pointer) - guest_read32(hv, &pg->read_pointer) >=
        (uint32_t)(IOREQ_BUFFER_SLOT_NUM - qw))
        return false; /* full: the synchronous path takes it */
    sink_step(HV_STEP_IOREQ_BUFFERED, s->target, s->bufioreq_evtchn, NULL, s->id);
    bp.data = (uint32_t)p->data;
    pg->buf_ioreq[pg->write_pointer % IOREQ_BUFFER_SLOT_NUM] = bp;
    if (qw) {
        bp.data = (uint32_t)(p->data >> 32);
        pg->buf_ioreq[(pg->write_pointer + 1) % IOREQ_BUFFER_SLOT_NUM] = bp;
    }
    guest_touch(hv, &pg->buf_ioreq[0], sizeof(bp) << qw, GUEST_WRITE);
    /* The slots are visible before the write pointer moves (Xen's smp_wmb). */
    guest_write32(hv, &pg->write_pointer, pg->write_pointer + (qw ? 2 : 1));
    if (s->bufioreq_handling == HVM_IOREQSRV_BUFIOREQ_ATOMIC)
        ioreq_buf_canonicalise(hv, pg, qw);
    evtchn_notify_via_xen(s->target, s->bufioreq_evtchn);
    return true;
}

/* Xen's prepare_wait_on_xen_event_channel: v stops until its emulator notifies. */
static void ioreq_block(struct vcpu *v)
{
    v->blocked_in_xen = true;
    v->stats.blocks++;
    sink_xen_wait(v, true);
}

/* Xen's ioreq_send, synchronous: fill v's slot, block, mark it READY, notify. */
static enum ioreq_status ioreq_send_sync(struct ioreq_server *s, struct vcpu *v, ioreq_t *req)
{
    struct ioreq_vcpu *sv = &s->vcpu[v->vcpu_id];
    ioreq_t *p = ioreq_slot(s, v);

    if (!p)
        return IOREQ_UNHANDLED; /* no page yet: Xen asserts; the emulator never mapped one */
    guest_touch(v->domain->hv, p, sizeof(*p), GUEST_READ);
    if (p->state != STATE_IOREQ_NONE || p->vp_eport != sv->ioreq_evtchn)
        return IOREQ_UNHANDLED; /* "device model set bad IO state/event channel" */
    sink_step(HV_STEP_IOREQ_SEND, v->domain, sv->ioreq_evtchn, v, s->id);
    req->state = STATE_IOREQ_NONE;
    req->vp_eport = sv->ioreq_evtchn;
    *p = *req;
    ioreq_block(v);
    p->state = STATE_IOREQ_READY;
    guest_touch(v->domain->hv, p, sizeof(*p), GUEST_WRITE);
    evtchn_notify_via_xen(v->domain, sv->ioreq_evtchn);
    sv->pending = true;
    sv->prev_state = STATE_IOREQ_NONE;
    return IOREQ_WAIT;
}

static enum ioreq_status ioreq_send_to(struct ioreq_server *s, struct vcpu *v, ioreq_t *req,
                                       bool buffered)
{
    if (buffered)
        return ioreq_send_buffered(s, req) ? IOREQ_BUFFERED : IOREQ_UNHANDLED;
    if (v->domain->shutdown_reason >= 0)
        return IOREQ_SHUTDOWN;
    return ioreq_send_sync(s, v, req);
}

enum ioreq_status ioreq_send_to_server(struct ioreq_server *s, struct vcpu *v, ioreq_t *req,
                                       bool buffered)
{
    enum ioreq_status st;

    if (!s)
        return IOREQ_NO_SERVER;
    if (buffered && ioreq_send_to(s, v, req, true) == IOREQ_BUFFERED)
        return IOREQ_BUFFERED;
    req->state = STATE_IOREQ_READY;
    v->domain->ioreq->io_req[v->vcpu_id] = *req;
    st = ioreq_send_to(s, v, req, false);
    if (st != IOREQ_WAIT)
        v->domain->ioreq->io_req[v->vcpu_id].state = STATE_IOREQ_NONE;
    return st;
}

enum ioreq_status ioreq_send(struct vcpu *v, ioreq_t *req, bool buffered)
{
    return ioreq_send_to_server(ioreq_server_select(v->domain, req), v, req, buffered);
}

unsigned ioreq_broadcast(struct vcpu *v, ioreq_t *req, bool buffered)
{
    unsigned failed = 0;

    for (unsigned id = MAX_NR_IOREQ_SERVERS; id-- > 0;) {
        struct ioreq_server *s = ioreq_server_get(v->domain, id);

        if (!s || !s->enabled || (buffered && !HANDLE_BUFIOREQ(s)))
            continue;
        if (ioreq_send_to(s, v, req, buffered) == IOREQ_UNHANDLED)
            failed++;
    }
    return failed;
}

unsigned ioreq_signal_mapcache_invalidate(struct vcpu *v)
{
    ioreq_t p = {.type = IOREQ_TYPE_INVALIDATE, .size = 4, .dir = IOREQ_WRITE, .data = ~0ull};

    return ioreq_broadcast(v, &p, false);
}

unsigned ioreq_send_timeoffset(struct vcpu *v, uint64_t offset)
{
    ioreq_t p = {.type = IOREQ_TYPE_TIMEOFFSET,
                 .size = 8,
                 .count = 1,
                 .dir = IOREQ_WRITE,
                 .data = offset,
                 .state = STATE_IOREQ_READY};

    return ioreq_broadcast(v, &p, true);
}

/* ---- completion ---- */

static struct ioreq_server *ioreq_pending_server(struct vcpu *v)
{
    for (unsigned id = MAX_NR_IOREQ_SERVERS; id-- > 0;) {
        struct ioreq_server *s = ioreq_server_get(v->domain, id);

        if (s && s->vcpu[v->vcpu_id].pending)
            return s;
    }
    return NULL;
}

bool ioreq_vcpu_pending(struct vcpu *v)
{
    return ioreq_pending_server(v) != NULL;
}

/* Xen's ioreq_needs_completion on the private copy. */
static bool ioreq_needs_completion(const ioreq_t *p)
{
    return p->state == STATE_IOREQ_READY && !p->data_is_ptr &&
           (p->type != IOREQ_TYPE_PIO || p->dir != IOREQ_WRITE);
}

static enum ioreq_completion ioreq_crash(struct ioreq_vcpu *sv, struct vcpu *v)
{
    sv->pending = false;
    domain_crash(v->domain, "Weird HVM ioreq state transition");
    return IOREQ_COMPLETE_CRASHED;
}

/* Xen's wait_for_io, resumable: the wait on the event channel is a return to the simulator,
 * prev_state kept in sv. The emulator may only move the slot forwards: NONE -> READY (Xen)
 * -> INPROCESS -> IORESP_READY -> NONE (Xen). */
static enum ioreq_completion ioreq_wait_for_io(struct ioreq_server *s, struct vcpu *v)
{
    struct ioreq_vcpu *sv = &s->vcpu[v->vcpu_id];
    ioreq_t *p = ioreq_slot(s, v), *priv = &v->domain->ioreq->io_req[v->vcpu_id];
    unsigned state = p->state;
    uint64_t data = ~0ull; /* an emulator that died mid-request: all ones */

    guest_touch(v->domain->hv, p, sizeof(*p), GUEST_READ);
    if (state != STATE_IOREQ_NONE) {
        if (state < sv->prev_state)
            return ioreq_crash(sv, v);
        sv->prev_state = (uint8_t)state;
        if (state == STATE_IOREQ_READY || state == STATE_IOREQ_INPROCESS) {
            ioreq_block(v);
            return IOREQ_COMPLETE_WAIT;
        }
        if (state != STATE_IORESP_READY)
            return ioreq_crash(sv, v);
        p->state = STATE_IOREQ_NONE;
        data = p->data;
        guest_touch(v->domain->hv, p, sizeof(*p), GUEST_WRITE);
    }
    if (ioreq_needs_completion(priv))
        priv->data = data;
    sv->pending = false;
    return IOREQ_COMPLETE_DONE;
}

enum ioreq_completion ioreq_complete(struct vcpu *v, ioreq_t *req)
{
    struct ioreq_server *s = ioreq_pending_server(v);
    ioreq_t *priv;

    if (!s)
        return IOREQ_COMPLETE_NONE;
    sink_step(HV_STEP_IOREQ_COMPLETE, v->domain, s->vcpu[v->vcpu_id].ioreq_evtchn, v, s->id);
    for (; s; s = ioreq_pending_server(v)) {
        enum ioreq_completion c = ioreq_wait_for_io(s, v);

        if (c != IOREQ_COMPLETE_DONE)
            return c;
    }
    priv = &v->domain->ioreq->io_req[v->vcpu_id];
    priv->state = ioreq_needs_completion(priv) ? STATE_IORESP_READY : STATE_IOREQ_NONE;
    if (req)
        *req = *priv;
    return IOREQ_COMPLETE_DONE;
}
