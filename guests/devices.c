/* The example device models' devices: see devices.h. */
#include "devices.h"

/* ---- the UART ----------------------------------------------------------------------------- */

void devices_flush(struct devices *d)
{
    if (!d->uart.len)
        return;
    d->uart.line[d->uart.len] = '\0';
    d->ops.uart_line(d->ops.opaque, d->uart.line);
    d->uart.len = 0;
}

static uint64_t uart_read(struct devices *d, unsigned reg)
{
    bool dlab = d->uart.lcr & 0x80;
    switch (reg) {
    case 0:
        return dlab ? d->uart.dll : 0; /* no input */
    case 1:
        return dlab ? d->uart.dlm : d->uart.ier;
    case 2:
        return 0x01; /* IIR: no interrupt pending */
    case 3:
        return d->uart.lcr;
    case 4:
        return d->uart.mcr;
    case 5:
        return 0x60; /* LSR: transmitter empty, holding register empty */
    case 6:
        return 0xb0; /* MSR: DCD, DSR, CTS */
    default:
        return d->uart.scr;
    }
}

static void uart_write(struct devices *d, unsigned reg, uint8_t v)
{
    bool dlab = d->uart.lcr & 0x80;
    switch (reg) {
    case 0:
        if (dlab) {
            d->uart.dll = v;
        } else {
            d->uart.chars++;
            if (v == '\n' || d->uart.len == sizeof(d->uart.line) - 1) {
                d->uart.line[d->uart.len] = '\0';
                d->ops.uart_line(d->ops.opaque, d->uart.line);
                d->uart.len = 0;
            }
            if (v != '\n' && v != '\r')
                d->uart.line[d->uart.len++] = (char)v;
        }
        return;
    case 1:
        if (dlab)
            d->uart.dlm = v;
        else
            d->uart.ier = v & 0x0f;
        return;
    case 3:
        d->uart.lcr = v;
        return;
    case 4:
        d->uart.mcr = v & 0x1f;
        return;
    case 7:
        d->uart.scr = v;
        return;
    default:
        return; /* FCR, LSR and MSR writes */
    }
}

/* ---- the PCI function ----------------------------------------------------------------------- */

static uint32_t cfg_read32(const struct devices *d, unsigned reg)
{
    uint32_t v = 0;
    for (unsigned i = 0; i < 4; i++)
        v |= (uint32_t)d->pci.cfg[reg + i] << (8 * i);
    return v;
}

static void cfg_write32(struct devices *d, unsigned reg, uint32_t v)
{
    for (unsigned i = 0; i < 4; i++)
        d->pci.cfg[reg + i] = (uint8_t)(v >> (8 * i));
}

static void pci_init(struct devices *d)
{
    cfg_write32(d, 0x00, 0x11e81234); /* device, vendor */
    cfg_write32(d, 0x08, 0x00ff0000); /* class: unassigned, revision 0 */
    cfg_write32(d, 0x10, 0x1);        /* BAR0: I/O space */
    cfg_write32(d, 0x14, 0x0);        /* BAR1: 32-bit memory */
    d->pci.bar_mask[0] = ~(DEV_BAR0_SIZE - 1);
    d->pci.bar_mask[1] = ~(DEV_BAR1_SIZE - 1);
    cfg_write32(d, 0x2c, 0x00011234); /* subsystem */
}

/* Move one BAR's claim from *mapped to want (0: none). */
static void remap(struct devices *d, uint32_t type, uint64_t *mapped, uint64_t want, uint64_t size)
{
    if (want == *mapped)
        return;
    if (*mapped)
        d->ops.map_range(d->ops.opaque, type, *mapped, *mapped + size - 1, false);
    if (want)
        d->ops.map_range(d->ops.opaque, type, want, want + size - 1, true);
    *mapped = want;
}

static void pci_update_mappings(struct devices *d)
{
    uint16_t cmd = (uint16_t)cfg_read32(d, 0x04);
    remap(d, XEN_DMOP_IO_RANGE_PORT, &d->pci.mapped_io, (cmd & 1) ? (cfg_read32(d, 0x10) & ~3u) : 0,
          DEV_BAR0_SIZE);
    remap(d, XEN_DMOP_IO_RANGE_MEMORY, &d->pci.mapped_mem,
          (cmd & 2) ? (cfg_read32(d, 0x14) & ~15u) : 0, DEV_BAR1_SIZE);
}

static uint64_t pci_config_read(const struct devices *d, unsigned reg, unsigned size)
{
    uint32_t word = reg < 256 ? cfg_read32(d, reg & ~3u) : 0xffffffffu;
    uint64_t v = word >> (8 * (reg & 3));
    return size >= 4 ? v : v & ((1u << (8 * size)) - 1);
}

static void pci_config_write(struct devices *d, unsigned reg, unsigned size, uint32_t v)
{
    if (reg >= 256 || reg + size > 256)
        return;
    unsigned aligned = reg & ~3u;
    uint32_t old = cfg_read32(d, aligned), mask = size >= 4 ? ~0u : ((1u << (8 * size)) - 1);
    unsigned shift = 8 * (reg & 3);
    uint32_t merged = (old & ~(mask << shift)) | ((v & mask) << shift);
    switch (aligned) {
    case 0x04: /* command: I/O and memory decoding, bus master */
        cfg_write32(d, aligned, (old & 0xffff0000u) | (merged & 0x7));
        break;
    case 0x10: /* BAR0: I/O, bit 0 reads 1 */
        cfg_write32(d, aligned, (merged & d->pci.bar_mask[0]) | 1);
        break;
    case 0x14: /* BAR1: 32-bit memory */
        cfg_write32(d, aligned, merged & d->pci.bar_mask[1]);
        break;
    case 0x3c: /* interrupt line */
        cfg_write32(d, aligned, (old & ~0xffu) | (merged & 0xff));
        break;
    default:
        return; /* read-only */
    }
    pci_update_mappings(d);
}

static uint64_t bar_read(struct devices *d, unsigned off)
{
    d->pci.requests++;
    switch (off & ~3u) {
    case 0:
        return cfg_read32(d, 0);
    case 4:
        return d->pci.scratch;
    case 8:
        return d->pci.requests;
    default:
        return (off & ~3u) == 16 ? dev_sequence(d->seq++) : d->pci.doorbells;
    }
}

static void bar_write(struct devices *d, unsigned off, uint64_t v)
{
    d->pci.requests++;
    if ((off & ~3u) == 4)
        d->pci.scratch = (uint32_t)v;
    else if ((off & ~3u) == 12)
        d->pci.doorbells++;
}

/* ---- requests --------------------------------------------------------------------------- */

void devices_init(struct devices *d, uint16_t uart_base, uint32_t pci_sbdf,
                  const struct dev_host_ops *ops)
{
    for (size_t i = 0; i < sizeof(*d); i++)
        ((uint8_t *)d)[i] = 0;
    d->ops = *ops;
    d->uart_base = uart_base;
    d->pci_sbdf = pci_sbdf;
    if (pci_sbdf < DEV_NO_PCI)
        pci_init(d);
}

static bool in_range(uint64_t addr, uint64_t base, uint64_t len)
{
    return base && addr >= base && addr - base < len;
}

/* The register an access reaches, by kind: a port of the UART or of BAR0, an address of BAR1,
 * or the function's configuration space. */
static uint64_t access(struct devices *d, const ioreq_t *p, bool read)
{
    if (p->type == IOREQ_TYPE_PIO && in_range(p->addr, d->uart_base, DEV_UART_PORTS)) {
        if (read)
            return uart_read(d, (unsigned)(p->addr - d->uart_base));
        uart_write(d, (unsigned)(p->addr - d->uart_base), (uint8_t)p->data);
    } else if (p->type == IOREQ_TYPE_PIO && in_range(p->addr, d->pci.mapped_io, DEV_BAR0_SIZE)) {
        if (read)
            return bar_read(d, (unsigned)(p->addr - d->pci.mapped_io));
        bar_write(d, (unsigned)(p->addr - d->pci.mapped_io), p->data);
    } else if (p->type == IOREQ_TYPE_COPY && in_range(p->addr, d->pci.mapped_mem, DEV_BAR1_SIZE)) {
        if (read)
            return bar_read(d, (unsigned)(p->addr - d->pci.mapped_mem));
        bar_write(d, (unsigned)(p->addr - d->pci.mapped_mem), p->data);
    } else if (p->type == IOREQ_TYPE_COPY && d->vga &&
               in_range(p->addr, DEV_VGA_BASE, DEV_VGA_SIZE)) {
        if (read)
            return 0;
        d->vga_writes++;
    } else if (p->type == IOREQ_TYPE_PCI_CONFIG && (p->addr >> 32) == d->pci_sbdf) {
        if (read)
            return pci_config_read(d, (unsigned)(p->addr & 0xfff), p->size);
        pci_config_write(d, (unsigned)(p->addr & 0xfff), p->size, (uint32_t)p->data);
    }
    return ~0ull; /* nothing there: a floating bus */
}

/* A data_is_ptr request, as QEMU's cpu_ioreq_pio and cpu_ioreq_move: count elements, each
 * moved between the device and guest memory at p->data, stepping by size (backwards with df).
 * A port stays where it is; an MMIO address steps with the buffer. An element whose guest
 * memory cannot be reached is dropped (a write) or lost (a read), as QEMU's address_space_rw
 * ignores an access to unassigned memory. Each element is one request of its own to
 * devices_handle; the request counts once in served[], its elements not. */
static void handle_ptr(struct devices *d, const ioreq_t *p)
{
    uint64_t served = d->served[p->type];
    d->ptr_requests++;
    d->ptr_elements += p->count;
    for (uint32_t i = 0; i < p->count; i++) {
        uint64_t step = (uint64_t)i * p->size;
        uint64_t gpa = p->df ? p->data - step : p->data + step;
        ioreq_t one = *p;
        one.count = 1;
        one.data_is_ptr = 0;
        one.data = 0;
        if (p->type == IOREQ_TYPE_COPY)
            one.addr = p->df ? p->addr - step : p->addr + step;
        if (p->dir == IOREQ_READ) {
            devices_handle(d, &one);
            d->ops.guest_rw(d->ops.opaque, gpa, &one.data, p->size, true);
        } else if (d->ops.guest_rw(d->ops.opaque, gpa, &one.data, p->size, false)) {
            devices_handle(d, &one);
        }
    }
    d->served[p->type] = served; /* devices_handle counted the request itself already */
}

/* What devices_handle does not answer itself: a data_is_ptr request (when the device model
 * reaches guest memory), or a repetition without one (unsupported: a read sees all ones). Out
 * of line, and reached by a tail call, so that the single accesses' path stays as short as it
 * was. */
__attribute__((noinline)) static void not_single(struct devices *d, ioreq_t *p)
{
    if (p->data_is_ptr && d->ops.guest_rw && p->size >= 1 && p->size <= 8 &&
        p->type <= IOREQ_TYPE_COPY) {
        handle_ptr(d, p);
        return;
    }
    d->unsupported++;
    if (p->dir == IOREQ_READ)
        p->data = p->size >= 8 ? ~0ull : (1ull << (8 * p->size)) - 1;
}

void devices_handle(struct devices *d, ioreq_t *p)
{
    bool read = p->dir == IOREQ_READ;
    if (p->type <= IOREQ_TYPE_PCI_CONFIG)
        d->served[p->type]++;
    if (p->type == IOREQ_TYPE_INVALIDATE || p->type == IOREQ_TYPE_TIMEOFFSET)
        return;                                                  /* no map cache, no RTC */
    if (__builtin_expect(!p->data_is_ptr && p->count == 1, 1)) { /* the common case */
        uint64_t v = access(d, p, read);
        if (read)
            p->data = p->size >= 8 ? v : v & ((1ull << (8 * p->size)) - 1);
        return;
    }
    not_single(d, p);
}
