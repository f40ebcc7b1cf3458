/* HYPERVISOR_memory_op: XENMEM_acquire_resource for XENMEM_resource_ioreq_server (Xen 4.22's
 * xen/common/memory.c), which maps an ioreq server's pages into its emulator, and
 * XENMEM_add_to_physmap for an HVM guest's shared_info, XENMEM_add_to_physmap_batch (foreign
 * frames: how a device model maps its guest's memory) and XENMEM_remove_from_physmap
 * (models/physmap.c); every other XENMEM command is -ENOSYS.
 *
 * Frames are mapped with a translated caller's semantics whatever the caller: frame_list holds
 * the caller's guest frames, where the simulator is asked to map the pages (the sink's
 * ioreq_page). Xen gives a PV caller machine frame numbers instead, which the model does not
 * have. */
#include <string.h>

#include "models/hv_sink.h"
#include "models/hypercall.h"
#include "models/ioreq.h"
#include "models/physmap.h"

/* Xen's mfn_list[32]: the stride of one batch. */
#define ACQUIRE_BATCH 32u

/* The target, as for dm_op: rcu_lock_remote_domain_by_id and xsm_domain_resource_map
 * (XSM_DM_PRIV: privileged, or the caller's own target). */
static long acquire_target(struct domain *caller, domid_t domid, struct domain **out)
{
    struct domain *d = domid < HV_MAX_DOMAINS ? caller->hv->domain[domid] : NULL;

    if (!d)
        return -XEN_ESRCH;
    if (d == caller)
        return -XEN_EPERM;
    if (!caller->privileged && !(caller->has_target && caller->target == d->domid))
        return -XEN_EPERM;
    *out = d;
    return 0;
}

/* Xen's resource_max_frames: 0 for what it cannot map (a type other than ioreq servers, whose
 * grant tables and vmtrace buffers the model lacks, or a target that is not HVM). */
static unsigned acquire_max_frames(const struct domain *d, unsigned type)
{
    if (type != XENMEM_resource_ioreq_server || !d->hvm)
        return 0;
    return ioreq_server_max_frames(d);
}

/* Xen's acquire_ioreq_server: every frame of the batch, before any is mapped. */
static long acquire_ioreq_frames(struct domain *caller, struct domain *d, uint32_t id,
                                 uint64_t frame, unsigned n, void **pages)
{
    if (id != (ioservid_t)id)
        return -XEN_EINVAL;
    for (unsigned i = 0; i < n; i++) {
        int rc =
            ioreq_server_get_frame(d, caller, (ioservid_t)id, (unsigned)(frame + i), &pages[i]);

        if (rc)
            return rc;
    }
    return 0;
}

/* Map a batch at the caller's frames; an error after the first frame is -EIO, as Xen's. */
static long acquire_map(struct domain *caller, struct domain *d, uint64_t list_gpa, unsigned n,
                        void **pages)
{
    xen_pfn_t gfn[ACQUIRE_BATCH];

    if (copy_from_guest(caller, gfn, list_gpa, n * sizeof(gfn[0])))
        return -XEN_EFAULT;
    for (unsigned i = 0; i < n; i++) {
        int rc = ioreq_server_note_mapping(d, caller, pages[i], gfn[i]);

        if (rc)
            return i ? -XEN_EIO : rc;
    }
    return 0;
}

static long acquire_frames(struct vcpu *v, struct domain *d, struct xen_mem_acquire_resource *x)
{
    uint64_t list = (uint64_t)(uintptr_t)x->frame_list.p;

    if (x->nr_frames > (UINT32_MAX >> MEMOP_EXTENT_SHIFT))
        return -XEN_EINVAL;
    while (x->nr_frames) {
        void *pages[ACQUIRE_BATCH];
        unsigned todo = x->nr_frames < ACQUIRE_BATCH ? x->nr_frames : ACQUIRE_BATCH;
        long rc = acquire_ioreq_frames(v->domain, d, x->id, x->frame, todo, pages);

        if (!rc)
            rc = acquire_map(v->domain, d, list, todo, pages);
        if (rc)
            return rc;
        x->nr_frames -= todo;
        x->frame += todo;
        list += todo * sizeof(xen_pfn_t);
    }
    return 0;
}

/* Xen's acquire_resource, without continuations: the model's resource has at most 2 frames. */
static long acquire_resource(struct vcpu *v, uint64_t arg_gpa)
{
    struct xen_mem_acquire_resource x;
    struct domain *d;
    unsigned max;
    long rc;

    if (copy_from_guest(v->domain, &x, arg_gpa, sizeof(x)))
        return -XEN_EFAULT;
    if (x.pad != 0)
        return -XEN_EINVAL;
    if ((x.frame >> 32) || ((x.frame + x.nr_frames) >> 32))
        return -XEN_EINVAL;
    rc = acquire_target(v->domain, x.domid, &d);
    if (rc)
        return rc;
    max = acquire_max_frames(d, x.type);
    if (!max)
        return -XEN_EINVAL;
    if (!x.frame_list.p) { /* a query of the size */
        if (x.nr_frames)
            return -XEN_EINVAL;
        x.nr_frames = max;
        return copy_to_guest(v->domain,
                             arg_gpa + offsetof(struct xen_mem_acquire_resource, nr_frames),
                             &x.nr_frames, sizeof(x.nr_frames))
                   ? -XEN_EFAULT
                   : 0;
    }
    if (x.nr_frames == 0)
        return -XEN_EINVAL; /* start_extent 0 >= nr_frames */
    return acquire_frames(v, d, &x);
}

/* Xen's XENMEM_add_to_physmap for the one space the model has, shared_info (how an HVM guest
 * maps it: xenmem_add_to_physmap_one). Xen's checks in order: the copy, a foreign space (only
 * the batched call), the domain, a translated target (a PV domain has no physmap: -EACCES),
 * XSM_TARGET, an invalid gfn, the space and its index (physmap.c). */
static long add_to_physmap(struct vcpu *v, uint64_t arg_gpa)
{
    struct domain *caller = v->domain, *d;
    struct xen_add_to_physmap x;

    if (copy_from_guest(caller, &x, arg_gpa, sizeof(x)))
        return -XEN_EFAULT;
    if (x.space == XENMAPSPACE_gmfn_foreign)
        return -XEN_ENOSYS;
    d = domain_lookup(caller->hv, caller, x.domid);
    if (!d)
        return -XEN_ESRCH;
    if (!d->hvm)
        return -XEN_EACCES;
    if (d != caller && !caller->privileged && !(caller->has_target && caller->target == d->domid))
        return -XEN_EPERM;
    if (x.gpfn == (xen_pfn_t)~0ull)
        return -XEN_EINVAL;
    return physmap_add_one(caller, d, x.space, DOMID_INVALID, x.idx, x.gpfn);
}

long do_memory_op(struct vcpu *v, uint64_t cmd, uint64_t arg_gpa)
{
    unsigned op = (unsigned)(cmd & MEMOP_CMD_MASK);
    unsigned start_extent = (unsigned)(cmd >> MEMOP_EXTENT_SHIFT);

    switch (op) {
    case XENMEM_acquire_resource:
        /* A continuation's start extent: the model never makes one. */
        if (start_extent)
            return -XEN_EINVAL;
        vcpu_charge(v, COST_EVTCHN_OP);
        return acquire_resource(v, arg_gpa);
    case XENMEM_add_to_physmap:
        if (start_extent)
            return -XEN_EDOM;
        vcpu_charge(v, COST_EVTCHN_OP);
        return add_to_physmap(v, arg_gpa);
    case XENMEM_add_to_physmap_batch:
        vcpu_charge(v, COST_EVTCHN_OP);
        return physmap_add_batch(v, arg_gpa, start_extent);
    case XENMEM_remove_from_physmap:
        vcpu_charge(v, COST_EVTCHN_OP);
        return physmap_remove(v, arg_gpa, start_extent);
    default:
        return -XEN_ENOSYS;
    }
}
