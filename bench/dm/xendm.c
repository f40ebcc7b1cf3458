/*
 * xendm: a device model for Xen written against Xen's own libraries only (xenevtchn.h,
 * xendevicemodel.h, xenforeignmemory.h, xenctrl.h), in the way demu and QEMU's Xen backend
 * are: the same program builds against Debian's libxen-dev for a real Xen host, or with
 * `evsim dm-cc` to run as the device model of a domain simulated by evsim
 * (docs/emulators.md):
 *
 *   cc -o xendm xendm.c devices.c -lxenevtchn -lxendevicemodel -lxenforeignmemory -lxenctrl
 *   evsim dm-cc -o xendm xendm.c devices.c
 *
 * It emulates the UART, PCI function and VGA memory of guests/devices.c for one HVM domain:
 *
 *   xendm DOMID [UART_PORT [PCI_BDF]]     (defaults: 0x3f8 and 0x18, i.e. 00:03.0)
 *
 * Steps: an ioreq server without a buffered ring; its ioreq page mapped with
 * xenforeignmemory_map_resource; the UART's ports and the PCI function claimed; the server
 * enabled; each vcpu's port bound; the domain unpaused (it was created paused, as a toolstack
 * does); then requests served from poll() on the event channel descriptor, until
 * VIRQ_DOM_EXC says a domain went away. It prints what it served and exits 0.
 *
 * A data_is_ptr request (a rep ins/outs: count elements in guest memory) is served as QEMU
 * serves it: the guest's frames mapped with xenforeignmemory_map into a small map cache, and
 * the elements moved between it and the device.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <xenctrl.h>
#include <xendevicemodel.h>
#include <xenevtchn.h>
#include <xenforeignmemory.h>
#include <xen/hvm/ioreq.h>
#include <xen/hvm/params.h>

#include "devices.h"

#define MAX_VCPUS 128
/* The map cache (QEMU's xen-mapcache.c in small): guest memory mapped with
 * xenforeignmemory_map in buckets of BUCKET_PAGES pages, BUCKETS of them kept. */
#define PAGE_SHIFT_4K 12
#define BUCKET_PAGES 16u
#define BUCKETS 4u

struct bucket {
    uint64_t first; /* the bucket's first guest frame (a multiple of BUCKET_PAGES) */
    uint8_t *va;    /* NULL: unused */
    int err[BUCKET_PAGES];
};

struct dm {
    domid_t domid;
    ioservid_t id;
    xenevtchn_handle *xce;
    xendevicemodel_handle *dmod;
    xenforeignmemory_handle *fmem;
    xenforeignmemory_resource_handle *res;
    xc_interface *xch;
    shared_iopage_t *iopage;
    unsigned nr_vcpus;
    evtchn_port_t port[MAX_VCPUS]; /* our end of each vcpu's ioreq channel */
    evtchn_port_t dom_exc;
    struct devices dev;
    unsigned long requests;
    struct bucket cache[BUCKETS];
    unsigned next_bucket; /* replaced next */
    unsigned long buckets_mapped;
};

static void die(const char *what)
{
    fprintf(stderr, "xendm: %s: %s\n", what, strerror(errno));
    exit(1);
}

static void uart_line(void *opaque, const char *line)
{
    (void)opaque;
    printf("xendm: uart: %s\n", line);
}

static void map_range(void *opaque, uint32_t type, uint64_t start, uint64_t end, bool map)
{
    struct dm *dm = opaque;
    int mmio = type == XEN_DMOP_IO_RANGE_MEMORY;
    int rc = map ? xendevicemodel_map_io_range_to_ioreq_server(dm->dmod, dm->domid, dm->id, mmio,
                                                               start, end)
                 : xendevicemodel_unmap_io_range_from_ioreq_server(dm->dmod, dm->domid, dm->id,
                                                                   mmio, start, end);
    if (rc)
        die(map ? "map a BAR" : "unmap a BAR");
}

/* ---- guest memory, for data_is_ptr requests ----------------------------------------------- */

/* The bucket holding guest frame gfn, mapped now if it is not (the oldest replaced). A page Xen
 * refused stays in err[] and is unreachable. */
static struct bucket *bucket_of(struct dm *dm, uint64_t gfn)
{
    uint64_t first = gfn - gfn % BUCKET_PAGES;
    for (unsigned i = 0; i < BUCKETS; i++)
        if (dm->cache[i].va && dm->cache[i].first == first)
            return &dm->cache[i];
    struct bucket *b = &dm->cache[dm->next_bucket++ % BUCKETS];
    if (b->va)
        xenforeignmemory_unmap(dm->fmem, b->va, BUCKET_PAGES);
    xen_pfn_t frames[BUCKET_PAGES];
    for (unsigned i = 0; i < BUCKET_PAGES; i++)
        frames[i] = (xen_pfn_t)(first + i);
    b->first = first;
    b->va = xenforeignmemory_map(dm->fmem, dm->domid, PROT_READ | PROT_WRITE, BUCKET_PAGES, frames,
                                 b->err);
    if (!b->va)
        return NULL;
    dm->buckets_mapped++;
    return b;
}

/* dev_host_ops.guest_rw: QEMU's address_space_rw over guest-physical memory, byte by byte so
 * that an element may straddle two pages (or buckets). */
static bool guest_rw(void *opaque, uint64_t gpa, void *buf, unsigned len, bool write)
{
    struct dm *dm = opaque;
    for (unsigned i = 0; i < len; i++) {
        uint64_t gfn = (gpa + i) >> PAGE_SHIFT_4K;
        struct bucket *b = bucket_of(dm, gfn);
        if (!b || b->err[gfn - b->first])
            return false;
        volatile uint8_t *at = b->va + ((gpa + i) - (b->first << PAGE_SHIFT_4K));
        if (write)
            *at = ((const uint8_t *)buf)[i];
        else
            ((uint8_t *)buf)[i] = *at;
    }
    return true;
}

static void unmap_cache(struct dm *dm)
{
    for (unsigned i = 0; i < BUCKETS; i++)
        if (dm->cache[i].va) {
            xenforeignmemory_unmap(dm->fmem, dm->cache[i].va, BUCKET_PAGES);
            dm->cache[i].va = NULL;
        }
}

static void setup(struct dm *dm, uint16_t uart, uint32_t bdf)
{
    void *addr = NULL;
    dm->xce = xenevtchn_open(NULL, 0);
    dm->dmod = xendevicemodel_open(NULL, 0);
    dm->fmem = xenforeignmemory_open(NULL, 0);
    dm->xch = xc_interface_open(NULL, NULL, 0);
    if (!dm->xce || !dm->dmod || !dm->fmem || !dm->xch)
        die("open Xen's libraries");
    if (xendevicemodel_create_ioreq_server(dm->dmod, dm->domid, HVM_IOREQSRV_BUFIOREQ_OFF, &dm->id))
        die("create an ioreq server");
    dm->res = xenforeignmemory_map_resource(dm->fmem, dm->domid, XENMEM_resource_ioreq_server,
                                            dm->id, XENMEM_resource_ioreq_server_frame_ioreq(0), 1,
                                            &addr, PROT_READ | PROT_WRITE, 0);
    if (!dm->res)
        die("map the ioreq page");
    dm->iopage = addr;
    if (xendevicemodel_nr_vcpus(dm->dmod, dm->domid, &dm->nr_vcpus) || dm->nr_vcpus > MAX_VCPUS)
        die("count the vcpus");
    static const struct dev_host_ops ops = {
        .uart_line = uart_line, .map_range = map_range, .guest_rw = guest_rw};
    struct dev_host_ops mine = ops;
    mine.opaque = dm;
    devices_init(&dm->dev, uart, bdf, &mine);
    dm->dev.vga = true;
    if (xendevicemodel_map_io_range_to_ioreq_server(dm->dmod, dm->domid, dm->id, 0, uart,
                                                    uart + DEV_UART_PORTS - 1) ||
        xendevicemodel_map_io_range_to_ioreq_server(dm->dmod, dm->domid, dm->id, 1, DEV_VGA_BASE,
                                                    DEV_VGA_BASE + DEV_VGA_SIZE - 1) ||
        xendevicemodel_map_pcidev_to_ioreq_server(dm->dmod, dm->domid, dm->id, 0,
                                                  (uint8_t)(bdf >> 8), (uint8_t)((bdf >> 3) & 0x1f),
                                                  (uint8_t)(bdf & 7)))
        die("claim the devices");
    if (xendevicemodel_set_ioreq_server_state(dm->dmod, dm->domid, dm->id, 1))
        die("enable the server");
    for (unsigned i = 0; i < dm->nr_vcpus; i++) {
        int p = xenevtchn_bind_interdomain(dm->xce, dm->domid, dm->iopage->vcpu_ioreq[i].vp_eport);
        if (p < 0)
            die("bind a vcpu's port");
        dm->port[i] = (evtchn_port_t)p;
    }
    int exc = xenevtchn_bind_virq(dm->xce, VIRQ_DOM_EXC);
    if (exc < 0)
        die("bind VIRQ_DOM_EXC");
    dm->dom_exc = (evtchn_port_t)exc;
    if (xc_domain_unpause(dm->xch, dm->domid))
        die("unpause the domain");
    printf("xendm: dom%u: ioreq server %u, %u vcpu%s, uart 0x%x, pci %02x:%02x.%x\n", dm->domid,
           dm->id, dm->nr_vcpus, dm->nr_vcpus == 1 ? "" : "s", uart, bdf >> 8, (bdf >> 3) & 0x1f,
           bdf & 7);
    fflush(stdout);
}

/* A vcpu's slot holds a request (READY): answer it and notify the vcpu's port. */
static void serve_slot(struct dm *dm, unsigned vcpu)
{
    volatile ioreq_t *slot = &dm->iopage->vcpu_ioreq[vcpu];
    if (slot->state != STATE_IOREQ_READY)
        return;
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    slot->state = STATE_IOREQ_INPROCESS;
    ioreq_t req = *(ioreq_t *)slot;
    devices_handle(&dm->dev, &req);
    slot->data = req.data;
    __atomic_thread_fence(__ATOMIC_RELEASE);
    slot->state = STATE_IORESP_READY;
    dm->requests++;
    xenevtchn_notify(dm->xce, dm->port[vcpu]);
}

static void run(struct dm *dm)
{
    struct pollfd pfd = {.fd = xenevtchn_fd(dm->xce), .events = POLLIN};
    for (;;) {
        if (poll(&pfd, 1, -1) < 0 && errno != EINTR)
            die("poll");
        int port = xenevtchn_pending(dm->xce);
        if (port < 0)
            die("read an event");
        if ((evtchn_port_t)port == dm->dom_exc)
            return;
        for (unsigned i = 0; i < dm->nr_vcpus; i++)
            if (dm->port[i] == (evtchn_port_t)port)
                serve_slot(dm, i);
        xenevtchn_unmask(dm->xce, (evtchn_port_t)port);
    }
}

int main(int argc, char **argv)
{
    static struct dm dm;
    if (argc < 2) {
        fprintf(stderr, "usage: xendm DOMID [UART_PORT [PCI_BDF]]\n");
        return 2;
    }
    dm.domid = (domid_t)strtoul(argv[1], NULL, 0);
    uint16_t uart = (uint16_t)(argc > 2 ? strtoul(argv[2], NULL, 0) : 0x3f8);
    uint32_t bdf = (uint32_t)(argc > 3 ? strtoul(argv[3], NULL, 0) : 0x18);
    setup(&dm, uart, bdf);
    run(&dm);
    devices_flush(&dm.dev);
    unmap_cache(&dm);
    xendevicemodel_destroy_ioreq_server(dm.dmod, dm.domid, dm.id); /* may be gone already */
    xenforeignmemory_unmap_resource(dm.fmem, dm.res);
    printf("xendm: served %lu requests: pio=%lu mmio=%lu pci_config=%lu uart_chars=%lu "
           "bar_requests=%lu vga_writes=%lu\n",
           dm.requests, (unsigned long)dm.dev.served[IOREQ_TYPE_PIO],
           (unsigned long)dm.dev.served[IOREQ_TYPE_COPY],
           (unsigned long)dm.dev.served[IOREQ_TYPE_PCI_CONFIG], (unsigned long)dm.dev.uart.chars,
           (unsigned long)dm.dev.pci.requests, (unsigned long)dm.dev.vga_writes);
    if (dm.dev.ptr_requests)
        printf("xendm: data_is_ptr requests=%lu elements=%lu, guest memory mapped in %lu "
               "bucket%s of %u pages\n",
               (unsigned long)dm.dev.ptr_requests, (unsigned long)dm.dev.ptr_elements,
               dm.buckets_mapped, dm.buckets_mapped == 1 ? "" : "s", BUCKET_PAGES);
    xenevtchn_close(dm.xce);
    xendevicemodel_close(dm.dmod);
    xenforeignmemory_close(dm.fmem);
    xc_interface_close(dm.xch);
    return 0;
}
