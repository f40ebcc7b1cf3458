/* A translated domain's physmap as far as the model keeps one (Xen's xen/common/memory.c and
 * p2m_add_foreign): shared_info placed at a frame, and frames of other domains mapped in by
 * XENMEM_add_to_physmap_batch with XENMAPSPACE_gmfn_foreign, which is how a translated
 * (PVH/HVM) dom0's device model reaches its guest's memory. XENMEM_remove_from_physmap takes
 * either away again.
 *
 * The domain's own RAM is not managed: a page mapped at a frame of it hides the RAM there, and
 * removing the mapping brings the RAM back (Xen would have freed it). The simulator is told of
 * every change through the sink's ioreq_page hook ("this page now appears at that frame"), as
 * for the ioreq server pages acquire_resource maps. */
#ifndef EVSIM_MODELS_PHYSMAP_H
#define EVSIM_MODELS_PHYSMAP_H

#include "models/domain.h"

/* One foreign frame in a domain's physmap (Xen's p2m_map_foreign_rw entry). */
struct foreign_map {
    uint64_t gfn;  /* where it appears in the domain */
    uint64_t fgfn; /* its frame in the foreign domain */
    domid_t fdomid;
};

/* XENMEM_add_to_physmap_batch, from extent start_extent (a continuation's). */
long physmap_add_batch(struct vcpu *v, uint64_t arg_gpa, unsigned start_extent);
/* XENMEM_remove_from_physmap; start_extent must be 0. */
long physmap_remove(struct vcpu *v, uint64_t arg_gpa, unsigned start_extent);
/* One mapping of xenmem_add_to_physmap_one for space (shared_info or gmfn_foreign) into d's
 * physmap at gpfn, made by caller; a negative Xen errno or 0. */
int physmap_add_one(struct domain *caller, struct domain *d, unsigned space, domid_t foreign,
                    uint64_t idx, uint64_t gpfn);
/* The foreign frame at gfn of d, or NULL. */
const struct foreign_map *physmap_foreign_at(const struct domain *d, uint64_t gfn);
/* Drop d's table (domain teardown). */
void physmap_free(struct domain *d);

#endif
