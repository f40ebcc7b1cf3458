/* HYPERVISOR_dm_op: Xen 4.22's xen/common/dm.c (the buffer array), xen/arch/x86/hvm/dm.c (the
 * generic checks) and ioreq_server_dm_op (the ioreq server operations), with Xen's checks in
 * Xen's order, dispatched through one table of {op, name, payload size, handler, copy-out}.
 *
 * The caller passes up to two {handle, size} buffers; buffer 0 holds struct xen_dm_op. Only
 * what the caller gave is read (XSA-506): no buffer is -ENODATA, more than Xen has room for
 * -E2BIG, and a buffer 0 too short for the header or for the operation's payload -EFAULT. */
#include <string.h>

#include "models/hv_sink.h"
#include "models/hypercall.h"
#include "models/ioreq.h"

/* Xen's struct dmop_args: room for the two buffers any operation uses. */
#define DMOP_MAX_BUFS 2u

struct dmop_args {
    domid_t domid;
    unsigned nr_bufs;
    struct xen_dm_op_buf buf[DMOP_MAX_BUFS];
};

typedef long (*dm_op_fn)(struct domain *caller, struct domain *d, struct xen_dm_op *op);

static long dm_create_ioreq_server(struct domain *caller, struct domain *d, struct xen_dm_op *op)
{
    struct xen_dm_op_create_ioreq_server *data = &op->u.create_ioreq_server;

    if (data->pad[0] || data->pad[1] || data->pad[2])
        return -XEN_EINVAL;
    if (!sink_runs_ioreq_servers(d))
        return -XEN_EOPNOTSUPP; /* not Xen's: the simulator cannot serve them yet */
    return ioreq_server_create(d, caller, data->handle_bufioreq, &data->id);
}

static long dm_get_ioreq_server_info(struct domain *caller, struct domain *d, struct xen_dm_op *op)
{
    struct xen_dm_op_get_ioreq_server_info *data = &op->u.get_ioreq_server_info;
    bool no_gfns = data->flags & XEN_DMOP_no_gfns;

    if (data->flags & ~XEN_DMOP_no_gfns)
        return -XEN_EINVAL;
    return ioreq_server_get_info(d, caller, data->id, no_gfns ? NULL : &data->ioreq_gfn,
                                 no_gfns ? NULL : &data->bufioreq_gfn, &data->bufioreq_port);
}

static long dm_map_io_range(struct domain *caller, struct domain *d, struct xen_dm_op *op)
{
    const struct xen_dm_op_ioreq_server_range *data = &op->u.map_io_range_to_ioreq_server;

    if (data->pad)
        return -XEN_EINVAL;
    return ioreq_server_map_io_range(d, caller, data->id, data->type, data->start, data->end);
}

static long dm_unmap_io_range(struct domain *caller, struct domain *d, struct xen_dm_op *op)
{
    const struct xen_dm_op_ioreq_server_range *data = &op->u.unmap_io_range_from_ioreq_server;

    if (data->pad)
        return -XEN_EINVAL;
    return ioreq_server_unmap_io_range(d, caller, data->id, data->type, data->start, data->end);
}

static long dm_set_ioreq_server_state(struct domain *caller, struct domain *d, struct xen_dm_op *op)
{
    const struct xen_dm_op_set_ioreq_server_state *data = &op->u.set_ioreq_server_state;

    if (data->pad)
        return -XEN_EINVAL;
    return ioreq_server_set_state(d, caller, data->id, data->enabled != 0);
}

static long dm_destroy_ioreq_server(struct domain *caller, struct domain *d, struct xen_dm_op *op)
{
    const struct xen_dm_op_destroy_ioreq_server *data = &op->u.destroy_ioreq_server;

    if (data->pad)
        return -XEN_EINVAL;
    return ioreq_server_destroy(d, caller, data->id);
}

static long dm_remote_shutdown(struct domain *caller, struct domain *d, struct xen_dm_op *op)
{
    (void)caller;
    domain_shutdown(d, op->u.remote_shutdown.reason);
    return 0;
}

static long dm_nr_vcpus(struct domain *caller, struct domain *d, struct xen_dm_op *op)
{
    (void)caller;
    op->u.nr_vcpus.vcpus = d->max_vcpus;
    return 0;
}

/* X(op, payload struct, handler or NULL (not modelled: -EOPNOTSUPP), copy the payload back).
 * Every operation Xen 4.22's op_size[] knows is listed, so that the size checks are Xen's. */
#define DM_OPS(X)                                                                                  \
    X(create_ioreq_server, create_ioreq_server, dm_create_ioreq_server, true)                      \
    X(get_ioreq_server_info, get_ioreq_server_info, dm_get_ioreq_server_info, true)                \
    X(map_io_range_to_ioreq_server, ioreq_server_range, dm_map_io_range, false)                    \
    X(unmap_io_range_from_ioreq_server, ioreq_server_range, dm_unmap_io_range, false)              \
    X(set_ioreq_server_state, set_ioreq_server_state, dm_set_ioreq_server_state, false)            \
    X(destroy_ioreq_server, destroy_ioreq_server, dm_destroy_ioreq_server, false)                  \
    X(track_dirty_vram, track_dirty_vram, NULL, false)                                             \
    X(set_pci_intx_level, set_pci_intx_level, NULL, false)                                         \
    X(set_isa_irq_level, set_isa_irq_level, NULL, false)                                           \
    X(set_pci_link_route, set_pci_link_route, NULL, false)                                         \
    X(modified_memory, modified_memory, NULL, false)                                               \
    X(set_mem_type, set_mem_type, NULL, false)                                                     \
    X(inject_event, inject_event, NULL, false)                                                     \
    X(inject_msi, inject_msi, NULL, false)                                                         \
    X(map_mem_type_to_ioreq_server, map_mem_type_to_ioreq_server, NULL, false)                     \
    X(remote_shutdown, remote_shutdown, dm_remote_shutdown, false)                                 \
    X(relocate_memory, relocate_memory, NULL, false)                                               \
    X(pin_memory_cacheattr, pin_memory_cacheattr, NULL, false)                                     \
    X(nr_vcpus, nr_vcpus, dm_nr_vcpus, true)

struct dm_op_desc {
    const char *name;
    size_t size; /* of the payload after the 8-byte header */
    dm_op_fn fn;
    bool copy_out;
};

#define DM_OP_ENTRY(op_, type_, fn_, out_)                                                         \
    [XEN_DMOP_##op_] = {#op_, sizeof(struct xen_dm_op_##type_), fn_, out_},
/* Xen's op_size[] ends at XEN_DMOP_nr_vcpus; 0 and XEN_DMOP_set_irq_level (Arm) have no
 * payload there and fall through to -EOPNOTSUPP. */
#define DM_OP_NR (XEN_DMOP_nr_vcpus + 1)
static const struct dm_op_desc dm_op_table[DM_OP_NR] = {DM_OPS(DM_OP_ENTRY)};

#define DM_OP_HDR offsetof(struct xen_dm_op, u)

/* Xen's rcu_lock_remote_domain_by_id, is_hvm_domain and xsm_dm_op(XSM_DM_PRIV): the target
 * must exist (DOMID_SELF is not resolved: -ESRCH), not be the caller, be HVM, and be the
 * caller's target (d->target) unless the caller is privileged. */
static long dm_op_target(struct domain *caller, domid_t domid, struct domain **out)
{
    struct domain *d = domid < HV_MAX_DOMAINS ? caller->hv->domain[domid] : NULL;

    if (!d)
        return -XEN_ESRCH;
    if (d == caller)
        return -XEN_EPERM;
    if (!d->hvm)
        return -XEN_EINVAL;
    if (!caller->privileged && !(caller->has_target && caller->target == d->domid))
        return -XEN_EPERM;
    *out = d;
    return 0;
}

/* Header then payload from buffer 0, each only if the buffer is long enough. */
static long dm_op_copy_in(struct domain *caller, const struct dmop_args *a, struct xen_dm_op *op,
                          const struct dm_op_desc **desc)
{
    uint64_t h = (uint64_t)(uintptr_t)a->buf[0].h.p;

    if (a->buf[0].size < DM_OP_HDR || copy_from_guest(caller, op, h, DM_OP_HDR))
        return -XEN_EFAULT;
    if (op->op >= DM_OP_NR)
        return -XEN_EOPNOTSUPP;
    *desc = &dm_op_table[op->op];
    if (a->buf[0].size < DM_OP_HDR + (*desc)->size ||
        copy_from_guest(caller, &op->u, h + DM_OP_HDR, (*desc)->size))
        return -XEN_EFAULT;
    return op->pad ? -XEN_EINVAL : 0;
}

/* Xen's dm_op(). */
static long dm_op(struct vcpu *v, const struct dmop_args *a)
{
    struct domain *caller = v->domain, *d;
    const struct dm_op_desc *desc;
    struct xen_dm_op op;
    long rc;

    memset(&op, 0, sizeof(op));
    rc = dm_op_target(caller, a->domid, &d);
    if (!rc)
        rc = dm_op_copy_in(caller, a, &op, &desc);
    if (rc)
        return rc;
    vcpu_charge(v, COST_EVTCHN_OP);
    rc = desc->fn ? desc->fn(caller, d, &op) : -XEN_EOPNOTSUPP;
    if (rc == 0 && desc->copy_out &&
        copy_to_guest(caller, (uint64_t)(uintptr_t)a->buf[0].h.p + DM_OP_HDR, &op.u, desc->size))
        rc = -XEN_EFAULT;
    return rc;
}

long do_dm_op(struct vcpu *v, domid_t domid, unsigned nr_bufs, uint64_t bufs_gpa)
{
    struct dmop_args a = {.domid = domid, .nr_bufs = nr_bufs};

    if (!nr_bufs)
        return -XEN_ENODATA;
    if (nr_bufs > DMOP_MAX_BUFS)
        return -XEN_E2BIG;
    if (copy_from_guest(v->domain, a.buf, bufs_gpa, nr_bufs * sizeof(a.buf[0])))
        return -XEN_EFAULT;
    return dm_op(v, &a);
}
