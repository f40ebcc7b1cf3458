/* A translated domain's physmap: see physmap.h. Xen 4.22's XENMEM_add_to_physmap_batch,
 * xenmem_add_to_physmap_one (x86), p2m_add_foreign and XENMEM_remove_from_physmap, with their
 * checks in Xen's order. */
#include "models/physmap.h"

#include <stdlib.h>

#include "models/hv_sink.h"
#include "models/hypercall.h"
#include "models/ioreq.h"
#include "models/shared_info.h"

/* ---- the table of foreign frames ---------------------------------------------------------- */

static struct foreign_map *foreign_slot(const struct domain *d, uint64_t gfn)
{
    for (unsigned i = 0; i < d->nr_foreign; i++)
        if (d->foreign[i].gfn == gfn)
            return &d->foreign[i];
    return NULL;
}

const struct foreign_map *physmap_foreign_at(const struct domain *d, uint64_t gfn)
{
    return foreign_slot(d, gfn);
}

/* Room for one more entry (the table grows as Xen's p2m does; failing, set_foreign_p2m_entry's
 * -ENOMEM). */
static int foreign_grow(struct domain *d)
{
    if (d->nr_foreign < d->cap_foreign)
        return 0;
    unsigned cap = d->cap_foreign ? 2 * d->cap_foreign : 16;
    struct foreign_map *m = realloc(d->foreign, cap * sizeof(*m));
    if (!m)
        return -XEN_ENOMEM;
    d->foreign = m;
    d->cap_foreign = cap;
    return 0;
}

static void foreign_drop(struct domain *d, struct foreign_map *m)
{
    *m = d->foreign[--d->nr_foreign];
}

void physmap_free(struct domain *d)
{
    free(d->foreign);
    d->foreign = NULL;
    d->nr_foreign = d->cap_foreign = 0;
}

/* ---- one mapping ---------------------------------------------------------------------------- */

/* The model's shared_info page moves to gpfn (xenmem_add_to_physmap_one, shared_info): it
 * leaves the frame it was added at before. */
static int add_shared_info(struct domain *d, uint64_t idx, uint64_t gpfn)
{
    if (idx != 0)
        return -XEN_EINVAL;
    if (d->shared_info_gfn_mapped && d->shared_info_gfn != gpfn)
        sink_ioreq_page(d, d->shared_info_gfn, NULL);
    d->shared_info_gfn = gpfn;
    d->shared_info_gfn_mapped = true;
    sink_ioreq_page(d, gpfn, shared_info_ptr(d));
    return 0;
}

/* The foreign domain, as p2m_add_foreign locks it: rcu_lock_remote_domain_by_id (no such
 * domain: -ESRCH; the caller itself: -EPERM), then not the physmap's own domain (-EINVAL).
 * DOMID_XEN's pages (xentrace's buffers) are none the model shares: -EINVAL, as
 * get_page_from_gfn failing. */
static int foreign_domain(struct domain *caller, struct domain *d, domid_t fdomid,
                          struct domain **out)
{
    if (fdomid == DOMID_XEN)
        return -XEN_EINVAL;
    struct domain *f = fdomid < HV_MAX_DOMAINS ? caller->hv->domain[fdomid] : NULL;
    if (!f)
        return -XEN_ESRCH;
    if (f == caller)
        return -XEN_EPERM;
    if (f == d)
        return -XEN_EINVAL;
    *out = f;
    return 0;
}

/* xsm_map_gmfn_foreign(XSM_TARGET, d, f): the physmap's domain must be privileged or f's
 * device model (XEN_DOMCTL_set_target). */
static bool may_map_foreign(const struct domain *d, const struct domain *f)
{
    return d->privileged || (d->has_target && d->target == f->domid);
}

/* p2m_add_foreign: f's RAM frame fgfn appears at gpfn of d; whatever was at gpfn before goes
 * (a foreign frame is unhooked, the domain's own RAM hidden until the mapping is removed). */
static int add_foreign(struct domain *caller, struct domain *d, domid_t fdomid, uint64_t fgfn,
                       uint64_t gpfn)
{
    struct domain *f;
    int rc = foreign_domain(caller, d, fdomid, &f);
    if (rc)
        return rc;
    if (!may_map_foreign(d, f))
        return -XEN_EPERM;
    /* Not RAM of f (get_page_from_gfn fails, or the type is not p2m_ram), or an enabled ioreq
     * server's GFN-mapped page, which enabling took out of f's physmap (a hole). A disabled
     * server's page is f's own frame, and maps: how QEMU once mapped them. */
    void *page = guest_frame_ptr(f, fgfn, NULL);
    if (!page || ioreq_gfn_is_hole(f, fgfn))
        return -XEN_EINVAL;
    struct foreign_map *m = foreign_slot(d, gpfn);
    if (!m) {
        rc = foreign_grow(d);
        if (rc)
            return rc;
        m = &d->foreign[d->nr_foreign++];
    }
    *m = (struct foreign_map){.gfn = gpfn, .fgfn = fgfn, .fdomid = f->domid};
    sink_ioreq_page(d, gpfn, page);
    return 0;
}

int physmap_add_one(struct domain *caller, struct domain *d, unsigned space, domid_t foreign,
                    uint64_t idx, uint64_t gpfn)
{
    switch (space) {
    case XENMAPSPACE_shared_info:
        return add_shared_info(d, idx, gpfn);
    case XENMAPSPACE_gmfn_foreign:
        return add_foreign(caller, d, foreign, idx, gpfn);
    default:
        /* grant tables, moving the domain's own frames, device MMIO: not modelled (evsim's
         * -EOPNOTSUPP); beyond the last space, Xen's -EINVAL */
        return space <= XENMAPSPACE_dev_mmio ? -XEN_EOPNOTSUPP : -XEN_EINVAL;
    }
}

/* ---- XENMEM_add_to_physmap_batch ------------------------------------------------------------ */

/* Xen's xatp_permission_check: a translated domain (the caller itself counts as one: the model
 * maps frames with a translated caller's semantics, see memory_op.c), device MMIO only into
 * the hardware domain itself, then XSM_TARGET. */
static int xatp_permission_check(struct domain *caller, struct domain *d, unsigned space)
{
    if (!d->hvm && d != caller)
        return -XEN_EACCES;
    if (space == XENMAPSPACE_dev_mmio && (!d->privileged || d != caller))
        return -XEN_EACCES;
    if (d != caller && !caller->privileged && !(caller->has_target && caller->target == d->domid))
        return -XEN_EPERM;
    return 0;
}

/* Every array of the batch is guest memory from extent on (guest_handle_subrange_okay). */
static bool batch_arrays_ok(struct domain *caller, const struct xen_add_to_physmap_batch *x,
                            unsigned extent)
{
    size_t n = x->size - extent;
    return guest_ptr(caller, (uint64_t)(uintptr_t)x->idxs.p + extent * sizeof(xen_ulong_t),
                     n * sizeof(xen_ulong_t)) &&
           guest_ptr(caller, (uint64_t)(uintptr_t)x->gpfns.p + extent * sizeof(xen_pfn_t),
                     n * sizeof(xen_pfn_t)) &&
           guest_ptr(caller, (uint64_t)(uintptr_t)x->errs.p + extent * sizeof(int),
                     n * sizeof(int));
}

/* xenmem_add_to_physmap_batch: each entry's result goes into errs[]; only a fault in the
 * arrays fails the call. The model never preempts, so no continuation is made. */
static long batch_entries(struct domain *caller, struct domain *d,
                          const struct xen_add_to_physmap_batch *x, unsigned extent)
{
    uint64_t idxs = (uint64_t)(uintptr_t)x->idxs.p, gpfns = (uint64_t)(uintptr_t)x->gpfns.p;
    uint64_t errs = (uint64_t)(uintptr_t)x->errs.p;
    for (; extent < x->size; extent++) {
        xen_ulong_t idx;
        xen_pfn_t gpfn;
        if (copy_from_guest(caller, &idx, idxs + extent * sizeof(idx), sizeof(idx)) ||
            copy_from_guest(caller, &gpfn, gpfns + extent * sizeof(gpfn), sizeof(gpfn)))
            return -XEN_EFAULT;
        int rc = physmap_add_one(caller, d, x->space, x->u.foreign_domid, idx, gpfn);
        if (copy_to_guest(caller, errs + extent * sizeof(rc), &rc, sizeof(rc)))
            return -XEN_EFAULT;
    }
    return 0;
}

long physmap_add_batch(struct vcpu *v, uint64_t arg_gpa, unsigned start_extent)
{
    struct domain *caller = v->domain;
    struct xen_add_to_physmap_batch x;

    if (copy_from_guest(caller, &x, arg_gpa, sizeof(x)))
        return -XEN_EFAULT;
    if (x.space == XENMAPSPACE_gmfn_range) /* unsupported for this hypercall */
        return -XEN_EOPNOTSUPP;
    struct domain *d = domain_lookup(caller->hv, caller, x.domid);
    if (!d)
        return -XEN_ESRCH;
    int rc = xatp_permission_check(caller, d, x.space);
    if (rc)
        return rc;
    if (x.size < start_extent)
        return -XEN_EILSEQ;
    if (x.size == start_extent)
        return start_extent ? -XEN_EILSEQ : 0;
    if (!batch_arrays_ok(caller, &x, start_extent))
        return -XEN_EFAULT;
    if (x.space == XENMAPSPACE_dev_mmio && x.u.res0) /* reserved for future use */
        return -XEN_EOPNOTSUPP;
    return batch_entries(caller, d, &x, start_extent);
}

/* ---- XENMEM_remove_from_physmap ---------------------------------------------------------------
 */

long physmap_remove(struct vcpu *v, uint64_t arg_gpa, unsigned start_extent)
{
    struct domain *caller = v->domain;
    struct xen_remove_from_physmap x;

    if (start_extent)
        return -XEN_EINVAL;
    if (copy_from_guest(caller, &x, arg_gpa, sizeof(x)))
        return -XEN_EFAULT;
    struct domain *d = domain_lookup(caller->hv, caller, x.domid);
    if (!d)
        return -XEN_ESRCH;
    if (d != caller && !caller->privileged && !(caller->has_target && caller->target == d->domid))
        return -XEN_EPERM; /* xsm_remove_from_physmap, XSM_TARGET */
    struct foreign_map *m = foreign_slot(d, x.gpfn);
    if (m) {
        foreign_drop(d, m);
        sink_ioreq_page(d, x.gpfn, NULL);
        return 0;
    }
    if (d->shared_info_gfn_mapped && d->shared_info_gfn == x.gpfn) {
        d->shared_info_gfn_mapped = false;
        sink_ioreq_page(d, x.gpfn, NULL);
        return 0;
    }
    /* The domain's own RAM: the model keeps it in place (evsim's -EOPNOTSUPP); no page at all:
     * get_page_from_gfn fails, Xen's -ENOENT. */
    return guest_frame_ptr(d, x.gpfn, NULL) ? -XEN_EOPNOTSUPP : -XEN_ENOENT;
}
