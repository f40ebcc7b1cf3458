/*
 * ioemu: a device model for an HVM domain, run in a PV domain (usually dom0) the way QEMU or
 * demu runs, through hypercalls only (docs/ioreq.md):
 *
 *   1. XEN_DMOP_create_ioreq_server for the target, with or without a buffered ring;
 *   2. XENMEM_acquire_resource: the server's pages mapped at two pages of our own;
 *   3. XEN_DMOP_map_io_range_to_ioreq_server: the UART's ports and the PCI function;
 *   4. XEN_DMOP_set_ioreq_server_state: enabled (Xen writes each vcpu's port in its slot);
 *   5. EVTCHNOP_bind_interdomain to each of those ports, and to the buffered ring's;
 *   6. XEN_DOMCTL_unpausedomain: as the toolstack, once the devices are ready;
 *   7. serve: each notification on a vcpu's port means its slot is READY; the answer goes in
 *      the slot (IORESP_READY) and back through the same port;
 *   8. VIRQ_DOM_EXC (a domain shut down): the server is destroyed and the program ends.
 *
 * Devices:
 *   - a 16550-style UART at uart= (default 0x3f8; 0 for none): divisor latch, scratch, line
 *     status always ready to send; what the guest writes is printed line by line;
 *   - a PCI function at pci= (bus:dev.fn as a number, default 0x18 = 00:03.0; 0xffff for none):
 *     vendor 0x1234 device 0x11e8, BAR0 an I/O BAR of 32 ports, BAR1 a 4 KiB memory BAR.
 *     Configuration space is reached through 0xCF8/0xCFC (Xen turns those accesses into
 *     IOREQ_TYPE_PCI_CONFIG); when the guest programs a BAR with decoding enabled in the
 *     command register, its range is mapped into the server (and the old one unmapped).
 *     Registers of both BARs: 0 identification (0x11e81234), 4 scratch (read/write), 8 the
 *     requests the device has served, 12 a doorbell (writes are counted).
 *
 * Parameters: target=<domid> (default 1)  uart=<port>  pci=<bdf>
 *             bufioreq=1   ask for a buffered ring (HVM_IOREQSRV_BUFIOREQ_ATOMIC)
 *             servers=<n>  servers this program creates in all (default 1, at most 8): the
 *                          others claim unused ports only, so selection has more to search
 *             ranges=<n>   ranges each server claims (default: the devices' own; more are
 *                          unused ports, at most 256)
 *             unpause=0    leave the target paused (the toolstack unpauses it)
 *
 * To see what Xen does with a device model that misbehaves (tests, docs/ioreq.md):
 *             answer=<n>   answer the first n requests only, then none: the guest's vcpu
 *                          waits in Xen for good and the report says on which server
 *             bad_state=<n> answer request n with an illegal slot state: Xen crashes the
 *                          guest ("Weird HVM ioreq state transition")
 */
#define __XEN_TOOLS__ 1 /* dm_op and domctl are the tools' interfaces */
#include "rt.h"

#include <xen/hvm/dm_op.h>
#include <xen/hvm/hvm_op.h>
#include <xen/hvm/ioreq.h>
#include <xen/memory.h>
/* domctl.h pulls in hvm/save.h, which refuses a strict ISO C compilation because of its
 * anonymous unions; the compiler accepts them as the extension they are. */
#undef __STRICT_ANSI__
#include <xen/domctl.h>

#define MAX_SERVERS 8
#define MAX_TARGET_VCPUS 32
#define UART_PORTS 8
#define BAR0_SIZE 32u      /* I/O ports */
#define BAR1_SIZE 4096u    /* bytes */
#define DECOY_PORT 0x6000u /* unused ports claimed by decoy servers and ranges */

static domid_t target;
static ioservid_t server[MAX_SERVERS];
static unsigned nr_servers;
static shared_iopage_t *iopage;
static buffered_iopage_t *bufpage;
static evtchn_port_t vcpu_port[MAX_TARGET_VCPUS];
static unsigned nr_target_vcpus;
static volatile bool done;
static uint64_t served[3], buffered_served; /* by IOREQ_TYPE_PIO, _COPY, _PCI_CONFIG */
static uint64_t requests, answer_limit = UINT64_MAX, bad_state_at;

/* ---- hypercall helpers ------------------------------------------------------------------ */

static long dm_op(struct xen_dm_op *op)
{
    struct xen_dm_op_buf buf = {.size = sizeof(*op)};
    set_xen_guest_handle(buf.h, op);
    return HYPERVISOR_dm_op(target, 1, &buf);
}

static void map_range(ioservid_t id, uint32_t type, uint64_t start, uint64_t end, bool map)
{
    struct xen_dm_op op = {.op = map ? XEN_DMOP_map_io_range_to_ioreq_server
                                     : XEN_DMOP_unmap_io_range_from_ioreq_server};
    op.u.map_io_range_to_ioreq_server =
        (struct xen_dm_op_ioreq_server_range){.id = id, .type = type, .start = start, .end = end};
    rt_check(dm_op(&op), "%s range %u 0x%lx-0x%lx", map ? "map" : "unmap", type,
             (unsigned long)start, (unsigned long)end);
}

/* ---- the UART ----------------------------------------------------------------------------- */

static uint16_t uart_base;
static struct {
    uint8_t ier, lcr, mcr, scr, dll, dlm;
    char line[128];
    unsigned len;
    uint64_t chars;
} uart;

static void uart_flush(void)
{
    uart.line[uart.len] = '\0';
    rt_printf("ioemu: uart: %s\n", uart.line);
    uart.len = 0;
}

static uint64_t uart_read(unsigned reg)
{
    bool dlab = uart.lcr & 0x80;
    switch (reg) {
    case 0:
        return dlab ? uart.dll : 0; /* no input */
    case 1:
        return dlab ? uart.dlm : uart.ier;
    case 2:
        return 0x01; /* IIR: no interrupt pending */
    case 3:
        return uart.lcr;
    case 4:
        return uart.mcr;
    case 5:
        return 0x60; /* LSR: transmitter empty, holding register empty */
    case 6:
        return 0xb0; /* MSR: DCD, DSR, CTS */
    default:
        return uart.scr;
    }
}

static void uart_write(unsigned reg, uint8_t v)
{
    bool dlab = uart.lcr & 0x80;
    switch (reg) {
    case 0:
        if (dlab) {
            uart.dll = v;
        } else {
            uart.chars++;
            if (v == '\n' || uart.len == sizeof(uart.line) - 1)
                uart_flush();
            if (v != '\n' && v != '\r')
                uart.line[uart.len++] = (char)v;
        }
        return;
    case 1:
        if (dlab)
            uart.dlm = v;
        else
            uart.ier = v & 0x0f;
        return;
    case 3:
        uart.lcr = v;
        return;
    case 4:
        uart.mcr = v & 0x1f;
        return;
    case 7:
        uart.scr = v;
        return;
    default:
        return; /* FCR, LSR and MSR writes */
    }
}

/* ---- the PCI function ----------------------------------------------------------------------- */

static uint32_t pci_sbdf = 0xffff;
static struct {
    uint8_t cfg[256];
    uint32_t bar_mask[2];           /* size probing: writable bits */
    uint64_t mapped_io, mapped_mem; /* ranges in the server now (0: none) */
    uint32_t scratch;
    uint64_t requests, doorbells;
} pci;

static uint32_t cfg_read32(unsigned reg)
{
    uint32_t v = 0;
    for (unsigned i = 0; i < 4; i++)
        v |= (uint32_t)pci.cfg[reg + i] << (8 * i);
    return v;
}

static void cfg_write32(unsigned reg, uint32_t v)
{
    for (unsigned i = 0; i < 4; i++)
        pci.cfg[reg + i] = (uint8_t)(v >> (8 * i));
}

static void pci_init(void)
{
    cfg_write32(0x00, 0x11e81234); /* device, vendor */
    cfg_write32(0x08, 0x00ff0000); /* class: unassigned, revision 0 */
    cfg_write32(0x10, 0x1);        /* BAR0: I/O space */
    cfg_write32(0x14, 0x0);        /* BAR1: 32-bit memory */
    pci.bar_mask[0] = ~(BAR0_SIZE - 1);
    pci.bar_mask[1] = ~(BAR1_SIZE - 1);
    cfg_write32(0x2c, 0x00011234); /* subsystem */
}

/* The BARs as the guest programmed them go into the server whenever decoding is on: what
 * QEMU's pci_update_mappings does through xen_map_io_section. */
static void pci_update_mappings(void)
{
    uint16_t cmd = (uint16_t)cfg_read32(0x04);
    uint64_t io = (cmd & 1) ? (cfg_read32(0x10) & ~3u) : 0;
    uint64_t mem = (cmd & 2) ? (cfg_read32(0x14) & ~15u) : 0;
    if (io != pci.mapped_io) {
        if (pci.mapped_io)
            map_range(server[0], XEN_DMOP_IO_RANGE_PORT, pci.mapped_io,
                      pci.mapped_io + BAR0_SIZE - 1, false);
        if (io)
            map_range(server[0], XEN_DMOP_IO_RANGE_PORT, io, io + BAR0_SIZE - 1, true);
        pci.mapped_io = io;
    }
    if (mem != pci.mapped_mem) {
        if (pci.mapped_mem)
            map_range(server[0], XEN_DMOP_IO_RANGE_MEMORY, pci.mapped_mem,
                      pci.mapped_mem + BAR1_SIZE - 1, false);
        if (mem)
            map_range(server[0], XEN_DMOP_IO_RANGE_MEMORY, mem, mem + BAR1_SIZE - 1, true);
        pci.mapped_mem = mem;
    }
}

static uint64_t pci_config_read(unsigned reg, unsigned size)
{
    uint32_t word = reg < 256 ? cfg_read32(reg & ~3u) : 0xffffffffu;
    uint64_t v = word >> (8 * (reg & 3));
    return size >= 4 ? v : v & ((1u << (8 * size)) - 1);
}

static void pci_config_write(unsigned reg, unsigned size, uint32_t v)
{
    if (reg >= 256 || reg + size > 256)
        return;
    unsigned aligned = reg & ~3u;
    uint32_t old = cfg_read32(aligned), mask = size >= 4 ? ~0u : ((1u << (8 * size)) - 1);
    unsigned shift = 8 * (reg & 3);
    uint32_t merged = (old & ~(mask << shift)) | ((v & mask) << shift);
    switch (aligned) {
    case 0x04: /* command: I/O and memory decoding, bus master */
        cfg_write32(aligned, (old & 0xffff0000u) | (merged & 0x7));
        break;
    case 0x10: /* BAR0: I/O, bit 0 reads 1 */
        cfg_write32(aligned, (merged & pci.bar_mask[0]) | 1);
        break;
    case 0x14: /* BAR1: 32-bit memory */
        cfg_write32(aligned, merged & pci.bar_mask[1]);
        break;
    case 0x3c: /* interrupt line */
        cfg_write32(aligned, (old & ~0xffu) | (merged & 0xff));
        break;
    default:
        return; /* read-only */
    }
    pci_update_mappings();
}

static uint64_t bar_read(unsigned off)
{
    pci.requests++;
    switch (off & ~3u) {
    case 0:
        return cfg_read32(0);
    case 4:
        return pci.scratch;
    case 8:
        return pci.requests;
    default:
        return pci.doorbells;
    }
}

static void bar_write(unsigned off, uint64_t v)
{
    pci.requests++;
    if ((off & ~3u) == 4)
        pci.scratch = (uint32_t)v;
    else if ((off & ~3u) == 12)
        pci.doorbells++;
}

/* ---- requests --------------------------------------------------------------------------- */

static bool in_range(uint64_t addr, uint64_t base, uint64_t len)
{
    return base && addr >= base && addr - base < len;
}

/* One element: the sim sends no data_is_ptr requests; a device model for real Xen must handle
 * them (count elements at guest address data), which this one reports as unsupported. */
static void handle(ioreq_t *p)
{
    bool read = p->dir == IOREQ_READ;
    uint64_t v = ~0ull;
    if (p->type <= IOREQ_TYPE_PCI_CONFIG)
        served[p->type]++;
    if (p->data_is_ptr || p->count != 1) {
        rt_printf("ioemu: request with data_is_ptr=%u count=%u not supported\n", p->data_is_ptr,
                  p->count);
    } else if (p->type == IOREQ_TYPE_PIO && in_range(p->addr, uart_base, UART_PORTS)) {
        if (read)
            v = uart_read((unsigned)(p->addr - uart_base));
        else
            uart_write((unsigned)(p->addr - uart_base), (uint8_t)p->data);
    } else if (p->type == IOREQ_TYPE_PIO && in_range(p->addr, pci.mapped_io, BAR0_SIZE)) {
        if (read)
            v = bar_read((unsigned)(p->addr - pci.mapped_io));
        else
            bar_write((unsigned)(p->addr - pci.mapped_io), p->data);
    } else if (p->type == IOREQ_TYPE_COPY && in_range(p->addr, pci.mapped_mem, BAR1_SIZE)) {
        if (read)
            v = bar_read((unsigned)(p->addr - pci.mapped_mem));
        else
            bar_write((unsigned)(p->addr - pci.mapped_mem), p->data);
    } else if (p->type == IOREQ_TYPE_PCI_CONFIG && (p->addr >> 32) == pci_sbdf) {
        if (read)
            v = pci_config_read((unsigned)(p->addr & 0xfff), p->size);
        else
            pci_config_write((unsigned)(p->addr & 0xfff), p->size, (uint32_t)p->data);
    } else if (p->type == IOREQ_TYPE_INVALIDATE || p->type == IOREQ_TYPE_TIMEOFFSET) {
        return; /* no map cache, no RTC */
    }
    if (read)
        p->data = p->size >= 8 ? v : v & ((1ull << (8 * p->size)) - 1);
}

/* A vcpu's slot: READY means a request; anything else is a notification we already answered. */
static void on_ioreq(evtchn_port_t port, void *arg)
{
    volatile ioreq_t *slot = &iopage->vcpu_ioreq[(uintptr_t)arg];
    if (slot->state != STATE_IOREQ_READY || requests >= answer_limit)
        return;
    __atomic_thread_fence(__ATOMIC_ACQUIRE); /* the request's fields after its state */
    slot->state = STATE_IOREQ_INPROCESS;
    ioreq_t req = *(ioreq_t *)slot;
    handle(&req);
    slot->data = req.data;
    __atomic_thread_fence(__ATOMIC_RELEASE); /* the data before the state */
    slot->state = ++requests == bad_state_at ? 0xf : STATE_IORESP_READY;
    rt_send(port);
}

/* The buffered ring: writes Xen queued without waiting (8-byte ones take two slots). */
static void on_bufioreq(evtchn_port_t port, void *arg)
{
    (void)port, (void)arg;
    volatile buffered_iopage_t *b = bufpage;
    uint32_t rp = b->read_pointer;
    while (rp != b->write_pointer) {
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        buf_ioreq_t bp = b->buf_ioreq[rp % IOREQ_BUFFER_SLOT_NUM];
        ioreq_t req = {.addr = bp.addr,
                       .size = 1u << bp.size,
                       .count = 1,
                       .dir = bp.dir,
                       .type = bp.type,
                       .data = bp.data,
                       .state = STATE_IOREQ_READY};
        unsigned n = 1;
        if (req.size == 8) {
            req.data |= (uint64_t)b->buf_ioreq[(rp + 1) % IOREQ_BUFFER_SLOT_NUM].data << 32;
            n = 2;
        }
        handle(&req);
        buffered_served++;
        rp += n;
        __atomic_thread_fence(__ATOMIC_RELEASE);
        b->read_pointer = rp; /* one atomic store: the ring's ATOMIC mode */
    }
}

static void on_dom_exc(evtchn_port_t port, void *arg)
{
    (void)port, (void)arg;
    done = true;
}

/* ---- set-up -------------------------------------------------------------------------------- */

static ioservid_t create_server(bool bufioreq)
{
    struct xen_dm_op op = {.op = XEN_DMOP_create_ioreq_server};
    op.u.create_ioreq_server.handle_bufioreq =
        bufioreq ? HVM_IOREQSRV_BUFIOREQ_ATOMIC : HVM_IOREQSRV_BUFIOREQ_OFF;
    rt_check(dm_op(&op), "XEN_DMOP_create_ioreq_server for dom%u", target);
    return op.u.create_ioreq_server.id;
}

/* The server's frames (0: the buffered ring, 1: the slots) at two pages of ours. */
static void acquire_pages(ioservid_t id, bool bufioreq)
{
    void *pages = rt_alloc_pages(2);
    xen_pfn_t gfn[2] = {(uintptr_t)pages >> 12, ((uintptr_t)pages >> 12) + 1};
    struct xen_mem_acquire_resource r = {.domid = target,
                                         .type = XENMEM_resource_ioreq_server,
                                         .id = id,
                                         .nr_frames = bufioreq ? 2 : 1,
                                         .frame = bufioreq ? 0 : 1};
    set_xen_guest_handle(r.frame_list, bufioreq ? gfn : gfn + 1);
    rt_check(HYPERVISOR_memory_op(XENMEM_acquire_resource, &r), "XENMEM_acquire_resource");
    bufpage = bufioreq ? pages : NULL;
    iopage = (shared_iopage_t *)((char *)pages + 4096);
}

static void set_state(ioservid_t id, bool enabled)
{
    struct xen_dm_op op = {.op = XEN_DMOP_set_ioreq_server_state};
    op.u.set_ioreq_server_state.id = id;
    op.u.set_ioreq_server_state.enabled = enabled;
    rt_check(dm_op(&op), "XEN_DMOP_set_ioreq_server_state");
}

static evtchn_port_t bufioreq_port(ioservid_t id)
{
    struct xen_dm_op op = {.op = XEN_DMOP_get_ioreq_server_info};
    op.u.get_ioreq_server_info.id = id;
    op.u.get_ioreq_server_info.flags = XEN_DMOP_no_gfns;
    rt_check(dm_op(&op), "XEN_DMOP_get_ioreq_server_info");
    return op.u.get_ioreq_server_info.bufioreq_port;
}

static unsigned target_vcpus(void)
{
    struct xen_dm_op op = {.op = XEN_DMOP_nr_vcpus};
    rt_check(dm_op(&op), "XEN_DMOP_nr_vcpus");
    return op.u.nr_vcpus.vcpus;
}

/* Decoy servers and ranges: unused ports, so that selection searches more. */
static void claim_decoys(ioservid_t id, unsigned first, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        uint64_t port = DECOY_PORT + 2u * (first + i);
        map_range(id, XEN_DMOP_IO_RANGE_PORT, port, port, true);
    }
}

static void unpause_target(void)
{
    struct xen_domctl op = {.cmd = XEN_DOMCTL_unpausedomain,
                            .interface_version = XEN_DOMCTL_INTERFACE_VERSION,
                            .domain = target};
    rt_check(HYPERVISOR_domctl(&op), "XEN_DOMCTL_unpausedomain dom%u", target);
}

int main(void)
{
    target = (domid_t)rt_arg_u64("target", 1);
    uart_base = (uint16_t)rt_arg_u64("uart", 0x3f8);
    pci_sbdf = (uint32_t)rt_arg_u64("pci", 0x18);
    bool bufioreq = rt_arg_u64("bufioreq", 0) != 0;
    nr_servers = (unsigned)rt_arg_u64("servers", 1);
    unsigned ranges = (unsigned)rt_arg_u64("ranges", 0);
    answer_limit = rt_arg_u64("answer", UINT64_MAX);
    bad_state_at = rt_arg_u64("bad_state", 0);
    if (nr_servers < 1 || nr_servers > MAX_SERVERS)
        rt_panic("ioemu: servers=%u: expected 1 to %u", nr_servers, MAX_SERVERS);
    if (ranges > 256)
        rt_panic("ioemu: ranges=%u: at most 256 per server", ranges);
    rt_bind_handler(rt_bind_virq(VIRQ_DOM_EXC, 0), on_dom_exc, NULL);

    /* The decoys first: the device's server is the newest, which Xen searches first. */
    for (unsigned i = 1; i < nr_servers; i++) {
        server[i] = create_server(false);
        claim_decoys(server[i], i * 256, ranges ? ranges : 1);
        set_state(server[i], true);
    }
    server[0] = create_server(bufioreq);
    acquire_pages(server[0], bufioreq);
    nr_target_vcpus = target_vcpus();
    if (nr_target_vcpus > MAX_TARGET_VCPUS)
        rt_panic("ioemu: dom%u has %u vcpus, at most %u served", target, nr_target_vcpus,
                 MAX_TARGET_VCPUS);
    unsigned own = 0;
    if (uart_base) {
        map_range(server[0], XEN_DMOP_IO_RANGE_PORT, uart_base, uart_base + UART_PORTS - 1u, true);
        own++;
    }
    if (pci_sbdf < 0xffff) {
        pci_init();
        map_range(server[0], XEN_DMOP_IO_RANGE_PCI, pci_sbdf, pci_sbdf, true);
        own++;
    }
    if (ranges > own)
        claim_decoys(server[0], 0, ranges - own);
    set_state(server[0], true);
    for (unsigned i = 0; i < nr_target_vcpus; i++) {
        vcpu_port[i] = rt_bind_interdomain(target, iopage->vcpu_ioreq[i].vp_eport);
        rt_bind_handler(vcpu_port[i], on_ioreq, (void *)(uintptr_t)i);
    }
    if (bufioreq)
        rt_bind_handler(rt_bind_interdomain(target, bufioreq_port(server[0])), on_bufioreq, NULL);
    rt_printf(
        "ioemu: dom%u: %u server%s (device server %u), %u vcpu%s, uart 0x%x, pci %02x:%02x.%x%s\n",
        target, nr_servers, nr_servers == 1 ? "" : "s", server[0], nr_target_vcpus,
        nr_target_vcpus == 1 ? "" : "s", uart_base, (pci_sbdf >> 8) & 0xff, (pci_sbdf >> 3) & 0x1f,
        pci_sbdf & 7, bufioreq ? ", buffered ring" : "");
    if (rt_arg_u64("unpause", 1))
        unpause_target();

    rt_wait(&done);
    if (uart.len)
        uart_flush();
    for (unsigned i = 0; i < nr_servers; i++) {
        struct xen_dm_op op = {.op = XEN_DMOP_destroy_ioreq_server};
        op.u.destroy_ioreq_server.id = server[i];
        dm_op(&op); /* the target may be gone already: nothing to check */
    }
    rt_printf("ioemu: served pio=%lu mmio=%lu pci_config=%lu buffered=%lu uart_chars=%lu "
              "bar_requests=%lu\n",
              (unsigned long)served[IOREQ_TYPE_PIO], (unsigned long)served[IOREQ_TYPE_COPY],
              (unsigned long)served[IOREQ_TYPE_PCI_CONFIG], (unsigned long)buffered_served,
              (unsigned long)uart.chars, (unsigned long)pci.requests);
    return 0;
}
