/* HYPERVISOR_physdev_op (xen/arch/x86/physdev.c, Xen 4.22): the commands a PV guest uses to
 * take physical interrupts through event channels. Every pirq below nr_pirqs is mapped to the
 * domain by the platform (the scenario), so Xen's "no pirq_info" case cannot arise: an
 * unbound line answers as a mapped one does. The others (map_pirq, apic_*, PCI management,
 * ...) are not modelled: -ENOSYS. */
#include "models/hypercall.h"
#include "models/pirq.h"

/* PHYSDEVOP_eoi: the guest has handled the line (Linux's eoi_pirq). */
static long physdev_eoi(struct vcpu *v, uint64_t arg_gpa)
{
    struct physdev_eoi eoi;

    if (copy_from_guest(v->domain, &eoi, arg_gpa, sizeof(eoi)))
        return -XEN_EFAULT;
    if (eoi.irq >= v->domain->nr_pirqs)
        return -XEN_EINVAL;
    pirq_guest_eoi(v->domain, eoi.irq);
    return 0;
}

/* PHYSDEVOP_irq_status_query: XENIRQSTAT_needs_eoi always (a guest without the EOI bitmap
 * must EOI every line, edge or level); XENIRQSTAT_shared never (one guest per line). */
static long physdev_irq_status_query(struct vcpu *v, uint64_t arg_gpa)
{
    struct physdev_irq_status_query q;

    if (copy_from_guest(v->domain, &q, arg_gpa, sizeof(q)))
        return -XEN_EFAULT;
    if ((int32_t)q.irq < 0 || q.irq >= v->domain->nr_pirqs)
        return -XEN_EINVAL;
    q.flags = XENIRQSTAT_needs_eoi;
    return copy_to_guest(v->domain, arg_gpa, &q, sizeof(q)) ? -XEN_EFAULT : 0;
}

/* PHYSDEVOP_pirq_eoi_gmfn_v1/v2: the page is looked up first (-EINVAL if it is not guest
 * memory), then the registration is claimed (-EBUSY if there is one: v1 and v2 alike). Xen's
 * -ENOSPC (no room to map the page) cannot arise. The page is used as the guest left it: the
 * bits of lines bound before the registration are not written. v1 also makes PHYSDEVOP_eoi
 * unmask the line's port. */
static long physdev_pirq_eoi_gmfn(struct vcpu *v, uint64_t arg_gpa, bool v1)
{
    struct physdev_pirq_eoi_gmfn info;
    struct domain *d = v->domain;
    void *page;

    if (copy_from_guest(d, &info, arg_gpa, sizeof(info)))
        return -XEN_EFAULT;
    page = info.gmfn <= UINT64_MAX / XEN_PAGE_SIZE ? guest_frame_ptr(d, info.gmfn, NULL) : NULL;
    if (!page)
        return -XEN_EINVAL;
    if (d->pirq_eoi_map)
        return -XEN_EBUSY;
    d->pirq_eoi_map = page;
    d->pirq_eoi_map_gfn = info.gmfn;
    if (v1)
        d->auto_unmask = true;
    return 0;
}

static long physdev_pirq_eoi_gmfn_v1(struct vcpu *v, uint64_t arg_gpa)
{
    return physdev_pirq_eoi_gmfn(v, arg_gpa, true);
}

static long physdev_pirq_eoi_gmfn_v2(struct vcpu *v, uint64_t arg_gpa)
{
    return physdev_pirq_eoi_gmfn(v, arg_gpa, false);
}

/* The legacy PHYSDEVOP_IRQ_UNMASK_NOTIFY (no argument): pirq_guest_unmask. */
static long physdev_irq_unmask_notify(struct vcpu *v, uint64_t arg_gpa)
{
    (void)arg_gpa;
    pirq_guest_unmask(v->domain);
    return 0;
}

/* X(command, handler), in the order of the report's columns. */
#define PHYSDEV_OPS(X)                                                                             \
    X(IRQ_UNMASK_NOTIFY, physdev_irq_unmask_notify)                                                \
    X(irq_status_query, physdev_irq_status_query)                                                  \
    X(eoi, physdev_eoi)                                                                            \
    X(pirq_eoi_gmfn_v1, physdev_pirq_eoi_gmfn_v1)                                                  \
    X(pirq_eoi_gmfn_v2, physdev_pirq_eoi_gmfn_v2)

struct physdev_op_desc {
    unsigned cmd;
    long (*handler)(struct vcpu *v, uint64_t arg_gpa);
};

#define PHYSDEV_OP_ENTRY(cmd_, fn_) {PHYSDEVOP_##cmd_, fn_},
static const struct physdev_op_desc physdev_op_table[] = {PHYSDEV_OPS(PHYSDEV_OP_ENTRY)};
#define PHYSDEV_OP_NR (sizeof(physdev_op_table) / sizeof(physdev_op_table[0]))

#define PHYSDEV_OP_NAME(cmd_, fn_) #cmd_,
const char *const physdev_op_names[PHYSDEV_OP_NR + 1] = {PHYSDEV_OPS(PHYSDEV_OP_NAME) NULL};

_Static_assert(PHYSDEV_OP_NR < HC_STATS_SUB, "a stats column per modelled command");

/* The commands' numbers are sparse (4 ... 28): the report counts them in the table's order,
 * the others together in the last column. */
unsigned physdev_op_column(uint64_t cmd)
{
    for (unsigned i = 0; i < PHYSDEV_OP_NR; i++)
        if (physdev_op_table[i].cmd == cmd)
            return i;
    return HC_STATS_SUB - 1;
}

long do_physdev_op(struct vcpu *v, unsigned cmd, uint64_t arg_gpa)
{
    unsigned col = physdev_op_column(cmd);

    if (col >= PHYSDEV_OP_NR)
        return -XEN_ENOSYS;
    return physdev_op_table[col].handler(v, arg_gpa);
}
