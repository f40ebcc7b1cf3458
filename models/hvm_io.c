/* HVM I/O exits: Xen's handling of an intercepted port or MMIO access up to the point where an
 * ioreq server would take it. The steps, in Xen's order (hvmemul_do_io):
 *   1. Xen's internal handlers (hvm_io_intercept): the first whose range holds the access is
 *      asked; here only the CF8 latch (hvm_access_cf8), which always declines so that the write
 *      still reaches the catch-all emulator. vLAPIC, PIT, RTC, PM timer, HPET, stdvga and vPCI
 *      are not modelled.
 *   2. ioreq server selection (ioreq_server_select, models/ioreq.c).
 *   3. The null handler (null_read / null_write in emulate.c) when nothing claimed it. */
#include "models/hvm_io.h"

#include "models/ioreq.h"

#include <stddef.h>

/* xen/arch/x86/include/asm/pci.h */
#define CF8_BDF(cf8) (((cf8)&0x00ffff00u) >> 8)
#define CF8_ADDR_LO(cf8) ((cf8)&0x000000fcu)
#define CF8_ENABLED(cf8) (((cf8)&0x80000000u) != 0)
#define PCI_CONFIG_ADDRESS 0xcf8u
#define PCI_CONFIG_DATA 0xcfcu

const char *const hvm_io_kind_names[HVM_IO_KINDS] = {
    [HVM_IO_PIO] = "pio",
    [HVM_IO_MMIO] = "mmio",
    [HVM_IO_PCI_CONFIG] = "pci_config",
};
const char *const hvm_io_dir_names[2] = {[IOREQ_WRITE] = "write", [IOREQ_READ] = "read"};
const char *const hvm_io_outcome_names[HVM_IO_OUTCOMES] = {
    [HVM_IO_INTERNAL] = "internal",
    [HVM_IO_UNCLAIMED] = "unclaimed",
    [HVM_IO_FORWARDED] = "forwarded",
};

/* Xen's X86EMUL_OKAY (the handler completed the access) and X86EMUL_UNHANDLEABLE (pass it on). */
enum io_rc { IO_OKAY, IO_UNHANDLEABLE };

struct io_handler {
    uint32_t type;       /* IOREQ_TYPE_PIO or IOREQ_TYPE_COPY */
    uint64_t start, len; /* the range it registered */
    enum io_rc (*fn)(struct vcpu *v, ioreq_t *p);
};

/* hvm_access_cf8: a 4-byte write latches the config address (Xen's d->arch.hvm.pci_cf8); the
 * access itself is left to the emulator, which is how a device model sees CF8 writes too. */
static enum io_rc access_cf8(struct vcpu *v, ioreq_t *p)
{
    if (p->dir == IOREQ_WRITE && p->size == 4)
        v->domain->pci_cf8 = (uint32_t)p->data;
    return IO_UNHANDLEABLE;
}

/* Xen registers these per domain (arch_ioreq_domain_init and the hvm_domain_initialise
 * handlers); they are the same for every domain here, so one constant table serves all. */
static const struct io_handler io_handlers[] = {
    {IOREQ_TYPE_PIO, PCI_CONFIG_ADDRESS, 4, access_cf8},
};

/* hvm_portio_accept / hvm_mmio_accept for a single element: the access lies inside the range. */
static bool handler_accepts(const struct io_handler *h, const ioreq_t *p)
{
    return h->type == p->type && p->addr >= h->start && p->addr - h->start < h->len &&
           p->size <= h->len - (p->addr - h->start);
}

static const struct io_handler *find_handler(const ioreq_t *p)
{
    for (size_t i = 0; i < sizeof(io_handlers) / sizeof(io_handlers[0]); i++)
        if (handler_accepts(&io_handlers[i], p))
            return &io_handlers[i];
    return NULL;
}

bool hvm_io_route(const struct domain *d, const ioreq_t *p, struct hvm_io_route *r)
{
    uint32_t cf8 = d->pci_cf8;

    if (p->type != IOREQ_TYPE_PIO && p->type != IOREQ_TYPE_COPY)
        return false;
    if (p->type == IOREQ_TYPE_PIO && (p->addr & ~3ull) == PCI_CONFIG_DATA && CF8_ENABLED(cf8)) {
        /* hvm_pci_decode_addr: segment 0, bus/dev/fn from CF8; the register's low two bits
         * come from which of 0xCFC-0xCFF was accessed. */
        uint64_t sbdf = CF8_BDF(cf8);
        uint32_t reg = CF8_ADDR_LO(cf8) | (uint32_t)(p->addr & 3);
        r->type = XEN_DMOP_IO_RANGE_PCI;
        r->addr = sbdf << 32 | reg;
        return true;
    }
    r->type = p->type == IOREQ_TYPE_PIO ? XEN_DMOP_IO_RANGE_PORT : XEN_DMOP_IO_RANGE_MEMORY;
    r->addr = p->addr;
    return true;
}

/* The stats' kind of a route, indexed by XEN_DMOP_IO_RANGE_*. */
static const enum hvm_io_kind route_kind[] = {
    [XEN_DMOP_IO_RANGE_PORT] = HVM_IO_PIO,
    [XEN_DMOP_IO_RANGE_MEMORY] = HVM_IO_MMIO,
    [XEN_DMOP_IO_RANGE_PCI] = HVM_IO_PCI_CONFIG,
};

/* Xen's ioreq_server_select on the access as routed: a PCI config access is offered as
 * IOREQ_TYPE_PCI_CONFIG with its SBDF and register. */
static struct ioreq_server *select_ioreq_server(const struct domain *d, const ioreq_t *p,
                                                const struct hvm_io_route *route)
{
    ioreq_t routed = *p;

    if (route->type == XEN_DMOP_IO_RANGE_PCI) {
        routed.type = IOREQ_TYPE_PCI_CONFIG;
        routed.addr = route->addr;
    }
    return ioreq_server_select((struct domain *)d, &routed);
}

/* null_read / null_write: a read of nothing sees a floating bus, all ones of the access size. */
static void null_handler(ioreq_t *p)
{
    if (p->dir == IOREQ_READ)
        p->data = p->size >= 8 ? ~0ull : (1ull << (8 * p->size)) - 1;
}

static void count(struct domain *d, const ioreq_t *p, enum hvm_io_kind kind,
                  enum hvm_io_outcome outcome)
{
    d->stats.hvm_io.n[kind][p->dir ? IOREQ_READ : IOREQ_WRITE][outcome]++;
}

#define VGA_MEM_BASE 0xa0000u
#define VGA_MEM_SIZE 0x20000u

bool hvm_io_buffered(const struct domain *d, const ioreq_t *p)
{
    uint64_t first = p->addr, last = p->addr + (uint64_t)p->size * p->count - 1;

    return d->hvm && p->type == IOREQ_TYPE_COPY && p->dir == IOREQ_WRITE && !p->data_is_ptr &&
           p->count == 1 && first >= VGA_MEM_BASE && last < VGA_MEM_BASE + VGA_MEM_SIZE;
}

uint64_t hvm_io_rep_count(uint64_t gpa, uint64_t reps, unsigned size, bool df, bool *two_pages)
{
    uint64_t off = gpa & (XEN_PAGE_SIZE - 1);
    uint64_t fit =
        df ? ((off + size - 1) & (XEN_PAGE_SIZE - 1)) / size : (XEN_PAGE_SIZE - off) / size;

    if (reps > HVM_IO_REP_MAX)
        reps = HVM_IO_REP_MAX;
    *two_pages = fit == 0;
    if (fit == 0)
        return 1;
    return reps < fit ? reps : fit;
}

bool hvm_io_forwards(const struct domain *d, const ioreq_t *p)
{
    struct hvm_io_route route;

    return d->ioreq && hvm_io_route(d, p, &route) && select_ioreq_server(d, p, &route) != NULL;
}

bool hvm_io_intercept(struct vcpu *v, ioreq_t *p)
{
    struct domain *d = v->domain;
    struct hvm_io_route route = {XEN_DMOP_IO_RANGE_PORT, p->addr};
    const struct io_handler *h = find_handler(p);
    enum io_rc rc = h ? h->fn(v, p) : IO_UNHANDLEABLE;

    /* Routed after the internal handlers, as in Xen: a CF8 write just latched decides how the
     * next 0xCFC access is routed, never itself (it is not in 0xCFC-0xCFF). */
    if (!hvm_io_route(d, p, &route))
        route.type = p->type == IOREQ_TYPE_PIO ? XEN_DMOP_IO_RANGE_PORT : XEN_DMOP_IO_RANGE_MEMORY;
    enum hvm_io_kind kind = route_kind[route.type];
    if (rc == IO_OKAY) {
        count(d, p, kind, HVM_IO_INTERNAL);
        return true;
    }
    if (select_ioreq_server(d, p, &route)) {
        /* A claimed PCI config access reaches its server rewritten (ioreq_server_select). */
        if (route.type == XEN_DMOP_IO_RANGE_PCI) {
            p->type = IOREQ_TYPE_PCI_CONFIG;
            p->addr = route.addr;
        }
        count(d, p, kind, HVM_IO_FORWARDED);
        return false;
    }
    null_handler(p);
    count(d, p, kind, HVM_IO_UNCLAIMED);
    return true;
}
