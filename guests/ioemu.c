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
 *      the slot (IORESP_READY) and back through the same port. A data_is_ptr request (a rep
 *      ins/outs) moves its elements through the target's memory, mapped at pages of ours
 *      with XENMEM_add_to_physmap_batch(XENMAPSPACE_gmfn_foreign), as a translated dom0
 *      does for QEMU;
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
 *             vga=1        claim VGA memory 0xA0000-0xBFFFF too (writes there go through the
 *                          ring when there is one)
 *             busy=1       never block: wait for requests by spinning with events on, so that
 *                          a request finds the vcpu running (an IPI, not a wake-up)
 *             servers=<n>  servers this program creates in all (default 1, at most 8): the
 *                          others claim unused ports only, so selection has more to search
 *             oldest=1     create the device's server before the others (Xen searches the
 *                          newest first: it is then searched last)
 *             ranges=<n>   ranges each server claims (default: the devices' own; more are
 *                          unused ports, at most 256)
 *             unpause=0    leave the target paused (the toolstack unpauses it)
 *
 * To see what Xen does with a device model that misbehaves (tests, docs/ioreq.md):
 *             answer=<n>   answer the first n requests only, then none: the guest's vcpu
 *                          waits in Xen for good and the report says on which server
 *             bad_state=<n> answer request n with an illegal slot state: Xen crashes the
 *                          guest ("Weird HVM ioreq state transition")
 *             limits=1     before serving, try what Xen refuses (a server too many, a range
 *                          that overlaps, a range too many, a server never created) and
 *                          print each answer
 */
#define __XEN_TOOLS__ 1 /* dm_op and domctl are the tools' interfaces */
#include "rt.h"

#include "devices.h"

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
#define DECOY_PORT 0x6000u /* unused ports claimed by decoy servers and ranges */

static domid_t target;
static ioservid_t server[MAX_SERVERS];
static unsigned nr_servers;
static shared_iopage_t *iopage;
static buffered_iopage_t *bufpage;
static evtchn_port_t vcpu_port[MAX_TARGET_VCPUS];
static unsigned nr_target_vcpus;
static volatile bool done;
static uint64_t buffered_served;
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

/* ---- the devices (guests/devices.c) ------------------------------------------------- */

static struct devices dev;

static void uart_line(void *opaque, const char *line)
{
    (void)opaque;
    rt_printf("ioemu: uart: %s\n", line);
}

static void dev_map_range(void *opaque, uint32_t type, uint64_t start, uint64_t end, bool map)
{
    (void)opaque;
    map_range(server[0], type, start, end, map);
}

/* ---- the target's memory: a map cache ------------------------------------------------------
 * A data_is_ptr request names a buffer in the target's guest-physical memory. As a translated
 * (PVH or HVM) dom0 does for QEMU's map cache, the target's frames are mapped at frames of our
 * own with XENMEM_add_to_physmap_batch(XENMAPSPACE_gmfn_foreign); MAP_SLOTS of them stay
 * mapped, the oldest replaced first, and XENMEM_remove_from_physmap takes them away at the
 * end. */

#define MAP_SLOTS 8u
#define NO_FRAME (~(uint64_t)0)

static uint8_t *map_area;             /* MAP_SLOTS pages of ours */
static uint64_t map_frame[MAP_SLOTS]; /* the target's frame in each, or NO_FRAME */
static unsigned map_next;             /* the slot to replace next */
static uint64_t maps_made, map_failures;

static xen_pfn_t slot_gfn(unsigned slot)
{
    return ((uintptr_t)map_area >> 12) + slot;
}

/* The target's frame mapped at slot: 0, or the call's error, or errs[0]. */
static long map_foreign(unsigned slot, uint64_t frame)
{
    xen_ulong_t idx = frame;
    xen_pfn_t gpfn = slot_gfn(slot);
    int err = 0;
    struct xen_add_to_physmap_batch b = {
        .domid = DOMID_SELF, .space = XENMAPSPACE_gmfn_foreign, .size = 1};
    b.u.foreign_domid = target;
    set_xen_guest_handle(b.idxs, &idx);
    set_xen_guest_handle(b.gpfns, &gpfn);
    set_xen_guest_handle(b.errs, &err);
    long rc = HYPERVISOR_memory_op(XENMEM_add_to_physmap_batch, &b);
    return rc ? rc : err;
}

/* Our mapping of the target's frame, or NULL when Xen refused it (said once). */
static uint8_t *target_page(uint64_t frame)
{
    if (!map_area) {
        map_area = rt_alloc_pages(MAP_SLOTS);
        for (unsigned i = 0; i < MAP_SLOTS; i++)
            map_frame[i] = NO_FRAME;
    }
    for (unsigned i = 0; i < MAP_SLOTS; i++)
        if (map_frame[i] == frame)
            return map_area + (size_t)i * 4096;
    unsigned slot = map_next++ % MAP_SLOTS;
    long rc = map_foreign(slot, frame);
    map_frame[slot] = rc ? NO_FRAME : frame;
    if (rc) {
        if (map_failures++ == 0)
            rt_printf("ioemu: mapping dom%u's frame 0x%lx: %s\n", target, (unsigned long)frame,
                      rt_strerror(rc));
        return NULL;
    }
    maps_made++;
    return map_area + (size_t)slot * 4096;
}

/* dev_host_ops.guest_rw: byte by byte, so that an element may straddle two frames. */
static bool guest_rw(void *opaque, uint64_t gpa, void *buf, unsigned len, bool write)
{
    (void)opaque;
    for (unsigned i = 0; i < len; i++) {
        uint8_t *page = target_page((gpa + i) >> 12);
        if (!page)
            return false;
        volatile uint8_t *at = page + ((gpa + i) & 4095);
        if (write)
            *at = ((const uint8_t *)buf)[i];
        else
            ((uint8_t *)buf)[i] = *at;
    }
    return true;
}

static void unmap_target_pages(void)
{
    for (unsigned i = 0; map_area && i < MAP_SLOTS; i++) {
        if (map_frame[i] == NO_FRAME)
            continue;
        struct xen_remove_from_physmap r = {.domid = DOMID_SELF, .gpfn = slot_gfn(i)};
        rt_check(HYPERVISOR_memory_op(XENMEM_remove_from_physmap, &r),
                 "XENMEM_remove_from_physmap 0x%lx", (unsigned long)r.gpfn);
        map_frame[i] = NO_FRAME;
    }
}

static const struct dev_host_ops dev_ops = {
    .uart_line = uart_line, .map_range = dev_map_range, .guest_rw = guest_rw};

/* A vcpu's slot: READY means a request; anything else is a notification we already answered. */
static void on_ioreq(evtchn_port_t port, void *arg)
{
    volatile ioreq_t *slot = &iopage->vcpu_ioreq[(uintptr_t)arg];
    if (slot->state != STATE_IOREQ_READY || requests >= answer_limit)
        return;
    __atomic_thread_fence(__ATOMIC_ACQUIRE); /* the request's fields after its state */
    slot->state = STATE_IOREQ_INPROCESS;
    ioreq_t req = *(ioreq_t *)slot;
    devices_handle(&dev, &req);
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
        devices_handle(&dev, &req);
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

static long range_op(ioservid_t id, bool map, uint64_t start, uint64_t end)
{
    struct xen_dm_op op = {.op = map ? XEN_DMOP_map_io_range_to_ioreq_server
                                     : XEN_DMOP_unmap_io_range_from_ioreq_server};
    op.u.map_io_range_to_ioreq_server = (struct xen_dm_op_ioreq_server_range){
        .id = id, .type = XEN_DMOP_IO_RANGE_PORT, .start = start, .end = end};
    return dm_op(&op);
}

/* Xen's answers to what a device model may not do, each printed; everything is undone after. */
static void probe_limits(uint16_t uart_base)
{
    ioservid_t extra[MAX_SERVERS];
    unsigned made = 0;
    long rc;
    for (;;) {
        struct xen_dm_op op = {.op = XEN_DMOP_create_ioreq_server};
        if ((rc = dm_op(&op)) != 0 || made == MAX_SERVERS)
            break;
        extra[made++] = op.u.create_ioreq_server.id;
    }
    rt_printf("ioemu: limits: server %u of dom%u: %s\n", nr_servers + made + 1, target,
              rt_strerror(rc));
    for (unsigned i = 0; i < made; i++) {
        struct xen_dm_op op = {.op = XEN_DMOP_destroy_ioreq_server};
        op.u.destroy_ioreq_server.id = extra[i];
        rt_check(dm_op(&op), "destroy server %u", extra[i]);
    }
    if (uart_base)
        rt_printf("ioemu: limits: a range over the UART's again: %s\n",
                  rt_strerror(range_op(server[0], true, uart_base + 1, uart_base + 2)));
    unsigned added = 0;
    while ((rc = range_op(server[0], true, DECOY_PORT + 2u * added, DECOY_PORT + 2u * added)) == 0)
        added++;
    rt_printf("ioemu: limits: %u more ranges, then: %s\n", added, rt_strerror(rc));
    for (unsigned i = 0; i < added; i++)
        rt_check(range_op(server[0], false, DECOY_PORT + 2u * i, DECOY_PORT + 2u * i),
                 "unmap range %u", i);
    struct xen_dm_op op = {.op = XEN_DMOP_set_ioreq_server_state};
    op.u.set_ioreq_server_state.id = (ioservid_t)(server[0] + 1);
    op.u.set_ioreq_server_state.enabled = 1;
    rt_printf("ioemu: limits: a server never created (%u): %s\n", server[0] + 1,
              rt_strerror(dm_op(&op)));
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
    uint16_t uart_base = (uint16_t)rt_arg_u64("uart", 0x3f8);
    uint32_t pci_sbdf = (uint32_t)rt_arg_u64("pci", 0x18);
    if (pci_sbdf >= 0xffff)
        pci_sbdf = DEV_NO_PCI;
    devices_init(&dev, uart_base, pci_sbdf, &dev_ops);
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

    /* The decoys first, so that the device's server is the newest, which Xen searches first;
     * or (oldest=1) after it, so that Xen searches every decoy before it. */
    bool oldest = rt_arg_u64("oldest", 0) != 0;
    if (oldest)
        server[0] = create_server(bufioreq);
    for (unsigned i = 1; i < nr_servers; i++) {
        server[i] = create_server(false);
        claim_decoys(server[i], i * 256, ranges ? ranges : 1);
        set_state(server[i], true);
    }
    if (!oldest)
        server[0] = create_server(bufioreq);
    acquire_pages(server[0], bufioreq);
    nr_target_vcpus = target_vcpus();
    if (nr_target_vcpus > MAX_TARGET_VCPUS)
        rt_panic("ioemu: dom%u has %u vcpus, at most %u served", target, nr_target_vcpus,
                 MAX_TARGET_VCPUS);
    unsigned own = 0;
    if (uart_base) {
        map_range(server[0], XEN_DMOP_IO_RANGE_PORT, uart_base, uart_base + DEV_UART_PORTS - 1u,
                  true);
        own++;
    }
    if (pci_sbdf != DEV_NO_PCI) {
        map_range(server[0], XEN_DMOP_IO_RANGE_PCI, pci_sbdf, pci_sbdf, true);
        own++;
    }
    if (rt_arg_u64("vga", 0)) {
        dev.vga = true;
        map_range(server[0], XEN_DMOP_IO_RANGE_MEMORY, DEV_VGA_BASE,
                  DEV_VGA_BASE + DEV_VGA_SIZE - 1, true);
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
    if (rt_arg_u64("limits", 0))
        probe_limits(uart_base);
    if (rt_arg_u64("unpause", 1))
        unpause_target();

    if (rt_arg_u64("busy", 0))
        while (!done)
            __asm__ __volatile__("pause" ::: "memory");
    else
        rt_wait(&done);
    devices_flush(&dev);
    unmap_target_pages();
    for (unsigned i = 0; i < nr_servers; i++) {
        struct xen_dm_op op = {.op = XEN_DMOP_destroy_ioreq_server};
        op.u.destroy_ioreq_server.id = server[i];
        dm_op(&op); /* the target may be gone already: nothing to check */
    }
    rt_printf("ioemu: served pio=%lu mmio=%lu pci_config=%lu buffered=%lu uart_chars=%lu "
              "bar_requests=%lu vga_writes=%lu\n",
              (unsigned long)dev.served[IOREQ_TYPE_PIO], (unsigned long)dev.served[IOREQ_TYPE_COPY],
              (unsigned long)dev.served[IOREQ_TYPE_PCI_CONFIG], (unsigned long)buffered_served,
              (unsigned long)dev.uart.chars, (unsigned long)dev.pci.requests,
              (unsigned long)dev.vga_writes);
    if (dev.ptr_requests)
        rt_printf("ioemu: data_is_ptr requests=%lu elements=%lu, dom%u frames mapped=%lu\n",
                  (unsigned long)dev.ptr_requests, (unsigned long)dev.ptr_elements, target,
                  (unsigned long)maps_made);
    return 0;
}
