/* libevsim-dm: Xen's device-model libraries (libxenevtchn, libxendevicemodel,
 * libxenforeignmemory, and the little of libxenctrl such programs call) for a device model
 * that evsim runs as a host process (docs/emulators.md). A program written against Debian's
 * xenevtchn.h, xendevicemodel.h and xenforeignmemory.h is built against this library instead
 * of Xen's (`evsim dm-cc`) and runs unchanged as the device model of a simulated HVM domain.
 *
 * Every call becomes what the real library does in the end, a hypercall of the device model's
 * domain, made by evsim's model of Xen (sim/dm/protocol.h). Each library's calls go through a
 * table of functions (struct evdm_backend) so that another backend could replace the sockets.
 * Errors are as Xen's libraries report them: -1 with errno set to the Xen errno's value. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <unistd.h>

#include <xenctrl.h>
#include <xendevicemodel.h>
#include <xenevtchn.h>
#include <xenforeignmemory.h>

#include "sim/dm/protocol.h"

/* ---- the connection to evsim ---------------------------------------------------------- */

static struct {
    int rpc, events, arena;
    struct evdm_hello hello;
    bool up, failed;
    uint32_t queue[64]; /* ports read from the events socket, not yet returned */
    unsigned nq;
} conn = {.rpc = -1, .events = -1, .arena = -1};

static bool connect_evsim(void)
{
    if (conn.up || conn.failed)
        return conn.up;
    const char *fds = getenv(EVDM_FDS_ENV);
    conn.failed = true;
    if (!fds || sscanf(fds, "%d,%d,%d", &conn.rpc, &conn.events, &conn.arena) != 3) {
        fprintf(stderr,
                "libevsim-dm: not started by evsim (%s is not set): a device model "
                "built with evsim dm-cc runs as a scenario's device_model\n",
                EVDM_FDS_ENV);
        return false;
    }
    if (recv(conn.rpc, &conn.hello, sizeof(conn.hello), 0) != (ssize_t)sizeof(conn.hello) ||
        conn.hello.version != EVDM_VERSION)
        return false;
    conn.up = true;
    conn.failed = false;
    return true;
}

/* One hypercall of the device model's domain; blob is guest memory at the scratch address,
 * read and written back. Returns Xen's result (a negative errno on failure). */
static long hypercall(unsigned nr, const uint64_t arg[5], void *blob, size_t len)
{
    static struct evdm_req req;
    static struct evdm_rep rep;
    if (!connect_evsim())
        return -ENOSYS;
    if (len > EVDM_BLOB_MAX)
        return -E2BIG;
    memset(&req, 0, offsetof(struct evdm_req, blob));
    req.op = EVDM_HYPERCALL;
    req.nr = nr;
    memcpy(req.arg, arg, sizeof(req.arg));
    req.blob_len = (uint32_t)len;
    memcpy(req.blob, blob, len);
    if (send(conn.rpc, &req, offsetof(struct evdm_req, blob) + len, 0) < 0 ||
        recv(conn.rpc, &rep, sizeof(rep), 0) < (ssize_t)offsetof(struct evdm_rep, blob))
        return -EIO; /* evsim is gone */
    memcpy(blob, rep.blob, len < rep.blob_len ? len : rep.blob_len);
    return (long)rep.rax;
}

/* Where the page Xen mapped at our frame gfn is: its offset in *fd, which is the arena or a
 * descriptor that came with the reply (a guest's RAM; the caller closes it). */
static int64_t where(uint64_t gfn, int *fd)
{
    struct evdm_req req = {.op = EVDM_WHERE, .gfn = gfn};
    static struct evdm_rep rep;
    union {
        struct cmsghdr h;
        char buf[CMSG_SPACE(sizeof(int))];
    } ctl;
    struct iovec iov = {.iov_base = &rep, .iov_len = sizeof(rep)};
    struct msghdr msg = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf, .msg_controllen = sizeof(ctl)};
    *fd = conn.arena;
    if (send(conn.rpc, &req, offsetof(struct evdm_req, blob), 0) < 0 ||
        recvmsg(conn.rpc, &msg, MSG_CMSG_CLOEXEC) < (ssize_t)offsetof(struct evdm_rep, blob))
        return -EIO;
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
        memcpy(fd, CMSG_DATA(c), sizeof(int));
    if (rep.where == EVDM_IN_RAM && *fd == conn.arena)
        return -EIO; /* the descriptor did not come */
    return rep.rax;
}

/* The device model is about to wait for events: evsim may let simulated time go on. */
static void say_idle(void)
{
    struct evdm_req req = {.op = EVDM_IDLE};
    if (conn.up)
        send(conn.rpc, &req, offsetof(struct evdm_req, blob), 0);
}

/* A call's result as the libraries report it. */
static int result(long rc)
{
    if (rc >= 0)
        return (int)rc;
    errno = (int)-rc;
    return -1;
}

/* Guest addresses of the blob's parts. */
static uint64_t gpa(size_t offset)
{
    return conn.hello.scratch_gpa + offset;
}

/* A library's handle: there is one of each, valid once evsim is connected. */
static void *opened(void *handle)
{
    if (connect_evsim())
        return handle;
    errno = ENOENT;
    return NULL;
}

/* ---- the backend table: each library's calls ------------------------------------------- */

struct evdm_backend {
    long (*evtchn_op)(unsigned cmd, void *arg, size_t size);
    long (*dm_op)(domid_t domid, struct xen_dm_op *op);
    long (*acquire)(struct xen_mem_acquire_resource *r, xen_pfn_t *gfns);
    long (*domctl)(struct xen_domctl *op);
    /* XENMEM_add_to_physmap_batch of n foreign frames at our gfns (errs per frame), and
     * XENMEM_remove_from_physmap of one of ours. */
    long (*map_foreign)(domid_t domid, unsigned n, const xen_pfn_t *frames, const xen_pfn_t *gfns,
                        int *errs);
    long (*unmap_frame)(xen_pfn_t gfn);
};

static long socket_evtchn_op(unsigned cmd, void *arg, size_t size)
{
    uint64_t a[5] = {cmd, gpa(0)};
    return hypercall(__HYPERVISOR_event_channel_op, a, arg, size);
}

static long socket_dm_op(domid_t domid, struct xen_dm_op *op)
{
    struct {
        struct xen_dm_op_buf buf;
        struct xen_dm_op op;
    } b;
    memset(&b, 0, sizeof(b));
    b.buf.h.p = (void *)(uintptr_t)gpa(offsetof(__typeof__(b), op));
    b.buf.size = sizeof(b.op);
    b.op = *op;
    uint64_t a[5] = {domid, 1, gpa(0)};
    long rc = hypercall(__HYPERVISOR_dm_op, a, &b, sizeof(b));
    *op = b.op;
    return rc;
}

static long socket_acquire(struct xen_mem_acquire_resource *r, xen_pfn_t *gfns)
{
    struct {
        struct xen_mem_acquire_resource r;
        xen_pfn_t gfn[64];
    } b;
    if (r->nr_frames > 64)
        return -E2BIG;
    memset(&b, 0, sizeof(b));
    b.r = *r;
    memcpy(b.gfn, gfns, r->nr_frames * sizeof(*gfns));
    b.r.frame_list.p =
        r->nr_frames ? (xen_pfn_t *)(uintptr_t)gpa(offsetof(__typeof__(b), gfn)) : NULL;
    uint64_t a[5] = {XENMEM_acquire_resource, gpa(0)};
    long rc = hypercall(__HYPERVISOR_memory_op, a, &b, sizeof(b));
    r->nr_frames = b.r.nr_frames;
    return rc;
}

static long socket_domctl(struct xen_domctl *op)
{
    uint64_t a[5] = {gpa(0)};
    return hypercall(__HYPERVISOR_domctl, a, op, sizeof(*op));
}

/* Frames per XENMEM_add_to_physmap_batch: its arrays fit in a request's blob. */
#define FOREIGN_BATCH 256u

static long socket_map_foreign(domid_t domid, unsigned n, const xen_pfn_t *frames,
                               const xen_pfn_t *gfns, int *errs)
{
    struct {
        struct xen_add_to_physmap_batch b;
        xen_ulong_t idx[FOREIGN_BATCH];
        xen_pfn_t gpfn[FOREIGN_BATCH];
        int err[FOREIGN_BATCH];
    } b;
    if (n > FOREIGN_BATCH)
        return -E2BIG;
    memset(&b, 0, sizeof(b));
    b.b = (struct xen_add_to_physmap_batch){
        .domid = DOMID_SELF, .space = XENMAPSPACE_gmfn_foreign, .size = (uint16_t)n};
    b.b.u.foreign_domid = domid;
    b.b.idxs.p = (xen_ulong_t *)(uintptr_t)gpa(offsetof(__typeof__(b), idx));
    b.b.gpfns.p = (xen_pfn_t *)(uintptr_t)gpa(offsetof(__typeof__(b), gpfn));
    b.b.errs.p = (int *)(uintptr_t)gpa(offsetof(__typeof__(b), err));
    for (unsigned i = 0; i < n; i++) {
        b.idx[i] = frames[i];
        b.gpfn[i] = gfns[i];
    }
    uint64_t a[5] = {XENMEM_add_to_physmap_batch, gpa(0)};
    long rc = hypercall(__HYPERVISOR_memory_op, a, &b, sizeof(b));
    memcpy(errs, b.err, n * sizeof(*errs));
    return rc;
}

static long socket_unmap_frame(xen_pfn_t gfn)
{
    struct xen_remove_from_physmap r = {.domid = DOMID_SELF, .gpfn = gfn};
    uint64_t a[5] = {XENMEM_remove_from_physmap, gpa(0)};
    return hypercall(__HYPERVISOR_memory_op, a, &r, sizeof(r));
}

static const struct evdm_backend socket_backend = {
    .evtchn_op = socket_evtchn_op,
    .dm_op = socket_dm_op,
    .acquire = socket_acquire,
    .domctl = socket_domctl,
    .map_foreign = socket_map_foreign,
    .unmap_frame = socket_unmap_frame,
};
static const struct evdm_backend *backend = &socket_backend;

/* ---- libxenevtchn --------------------------------------------------------------------------- */

struct xenevtchn_handle {
    int unused;
};
static struct xenevtchn_handle the_evtchn;

xenevtchn_handle *xenevtchn_open(struct xentoollog_logger *logger, unsigned int flags)
{
    (void)logger, (void)flags;
    return opened(&the_evtchn);
}

/* A self-re-executing daemon's way back to its handle: the descriptor it inherited must be the
 * one xenevtchn_fd gives (evsim's event stream); XENEVTCHN_NO_CLOEXEC is rejected, as by Xen's
 * library. */
xenevtchn_handle *xenevtchn_fdopen(struct xentoollog_logger *logger, int fd, unsigned open_flags)
{
    (void)logger;
    if (open_flags & XENEVTCHN_NO_CLOEXEC) {
        errno = EINVAL;
        return NULL;
    }
    xenevtchn_handle *h = opened(&the_evtchn);
    if (h && fd != conn.events) {
        errno = EBADF;
        return NULL;
    }
    return h;
}

int xenevtchn_close(xenevtchn_handle *xce)
{
    (void)xce;
    return 0;
}

int xenevtchn_fd(xenevtchn_handle *xce)
{
    (void)xce;
    return conn.events;
}

int xenevtchn_notify(xenevtchn_handle *xce, evtchn_port_t port)
{
    struct evtchn_send s = {.port = port};
    (void)xce;
    return result(backend->evtchn_op(EVTCHNOP_send, &s, sizeof(s)));
}

xenevtchn_port_or_error_t xenevtchn_bind_unbound_port(xenevtchn_handle *xce, uint32_t domid)
{
    struct evtchn_alloc_unbound a = {.dom = DOMID_SELF, .remote_dom = (domid_t)domid};
    (void)xce;
    long rc = backend->evtchn_op(EVTCHNOP_alloc_unbound, &a, sizeof(a));
    return rc < 0 ? result(rc) : (xenevtchn_port_or_error_t)a.port;
}

xenevtchn_port_or_error_t xenevtchn_bind_interdomain(xenevtchn_handle *xce, uint32_t domid,
                                                     evtchn_port_t remote_port)
{
    struct evtchn_bind_interdomain b = {.remote_dom = (domid_t)domid, .remote_port = remote_port};
    (void)xce;
    long rc = backend->evtchn_op(EVTCHNOP_bind_interdomain, &b, sizeof(b));
    return rc < 0 ? result(rc) : (xenevtchn_port_or_error_t)b.local_port;
}

xenevtchn_port_or_error_t xenevtchn_bind_virq(xenevtchn_handle *xce, unsigned int virq)
{
    struct evtchn_bind_virq b = {.virq = virq, .vcpu = 0};
    (void)xce;
    long rc = backend->evtchn_op(EVTCHNOP_bind_virq, &b, sizeof(b));
    return rc < 0 ? result(rc) : (xenevtchn_port_or_error_t)b.port;
}

int xenevtchn_unbind(xenevtchn_handle *xce, evtchn_port_t port)
{
    struct evtchn_close c = {.port = port};
    (void)xce;
    return result(backend->evtchn_op(EVTCHNOP_close, &c, sizeof(c)));
}

/* Blocking, as reading /dev/xen/evtchn is: evsim hears that the device model waits. */
xenevtchn_port_or_error_t xenevtchn_pending(xenevtchn_handle *xce)
{
    (void)xce;
    if (!conn.up) {
        errno = EBADF;
        return -1;
    }
    if (conn.nq) {
        uint32_t p = conn.queue[0];
        memmove(conn.queue, conn.queue + 1, --conn.nq * sizeof(conn.queue[0]));
        return (xenevtchn_port_or_error_t)p;
    }
    struct pollfd pfd = {.fd = conn.events, .events = POLLIN};
    if (poll(&pfd, 1, 0) == 0) /* nothing yet: the device model is about to wait */
        say_idle();
    uint32_t port;
    ssize_t n = recv(conn.events, &port, sizeof(port), 0);
    if (n != (ssize_t)sizeof(port)) {
        errno = n == 0 ? ECONNRESET : errno;
        return -1;
    }
    return (xenevtchn_port_or_error_t)port;
}

int xenevtchn_unmask(xenevtchn_handle *xce, evtchn_port_t port)
{
    struct evtchn_unmask u = {.port = port};
    (void)xce;
    return result(backend->evtchn_op(EVTCHNOP_unmask, &u, sizeof(u)));
}

int xenevtchn_restrict(xenevtchn_handle *xce, domid_t domid)
{
    (void)xce, (void)domid;
    return 0;
}

/* ---- waiting on xenevtchn_fd(): poll and select ------------------------------------------- */

/* Calls to poll() and select() in the device model come here first (this library precedes
 * libc in its link order). With the events descriptor among those watched and nothing ready
 * yet, the device model is about to wait: evsim is told, then the real call blocks. */
static bool watches_events(const struct pollfd *fds, nfds_t n)
{
    for (nfds_t i = 0; conn.up && i < n; i++)
        if (fds[i].fd == conn.events)
            return true;
    return false;
}

int poll(struct pollfd *fds, nfds_t n, int timeout)
{
    static int (*real)(struct pollfd *, nfds_t, int);
    if (!real)
        real = (int (*)(struct pollfd *, nfds_t, int))dlsym(RTLD_NEXT, "poll");
    if (watches_events(fds, n) && timeout != 0) {
        int ready = real(fds, n, 0);
        if (ready != 0)
            return ready;
        say_idle();
    }
    return real(fds, n, timeout);
}

int select(int nfds, fd_set *rd, fd_set *wr, fd_set *ex, struct timeval *timeout)
{
    static int (*real)(int, fd_set *, fd_set *, fd_set *, struct timeval *);
    if (!real)
        real = (int (*)(int, fd_set *, fd_set *, fd_set *, struct timeval *))dlsym(RTLD_NEXT,
                                                                                   "select");
    if (conn.up && rd && conn.events < nfds && FD_ISSET(conn.events, rd) &&
        !(timeout && !timeout->tv_sec && !timeout->tv_usec)) {
        struct pollfd pfd = {.fd = conn.events, .events = POLLIN};
        if (poll(&pfd, 1, 0) == 0)
            say_idle();
    }
    return real(nfds, rd, wr, ex, timeout);
}

/* ---- libxendevicemodel ------------------------------------------------------------------- */

struct xendevicemodel_handle {
    int unused;
};
static struct xendevicemodel_handle the_dm;

xendevicemodel_handle *xendevicemodel_open(struct xentoollog_logger *logger,
                                           unsigned int open_flags)
{
    (void)logger, (void)open_flags;
    return opened(&the_dm);
}

int xendevicemodel_close(xendevicemodel_handle *dmod)
{
    (void)dmod;
    return 0;
}

static int dm(domid_t domid, struct xen_dm_op *op)
{
    return result(backend->dm_op(domid, op));
}

int xendevicemodel_create_ioreq_server(xendevicemodel_handle *dmod, domid_t domid,
                                       int handle_bufioreq, ioservid_t *id)
{
    struct xen_dm_op op = {.op = XEN_DMOP_create_ioreq_server};
    (void)dmod;
    op.u.create_ioreq_server.handle_bufioreq = (uint8_t)handle_bufioreq;
    int rc = dm(domid, &op);
    if (rc == 0)
        *id = op.u.create_ioreq_server.id;
    return rc;
}

int xendevicemodel_get_ioreq_server_info(xendevicemodel_handle *dmod, domid_t domid, ioservid_t id,
                                         xen_pfn_t *ioreq_gfn, xen_pfn_t *bufioreq_gfn,
                                         evtchn_port_t *bufioreq_port)
{
    struct xen_dm_op op = {.op = XEN_DMOP_get_ioreq_server_info};
    struct xen_dm_op_get_ioreq_server_info *d = &op.u.get_ioreq_server_info;
    (void)dmod;
    d->id = id;
    /* As the real library: no frames asked for, none are mapped into the guest. */
    d->flags = !ioreq_gfn && !bufioreq_gfn ? XEN_DMOP_no_gfns : 0;
    int rc = dm(domid, &op);
    if (rc)
        return rc;
    if (ioreq_gfn)
        *ioreq_gfn = d->ioreq_gfn;
    if (bufioreq_gfn)
        *bufioreq_gfn = d->bufioreq_gfn;
    if (bufioreq_port)
        *bufioreq_port = d->bufioreq_port;
    return 0;
}

static int io_range(domid_t domid, ioservid_t id, bool map, uint32_t type, uint64_t start,
                    uint64_t end)
{
    struct xen_dm_op op = {.op = map ? XEN_DMOP_map_io_range_to_ioreq_server
                                     : XEN_DMOP_unmap_io_range_from_ioreq_server};
    struct xen_dm_op_ioreq_server_range *r = &op.u.map_io_range_to_ioreq_server;
    r->id = id;
    r->type = type;
    r->start = start;
    r->end = end;
    return dm(domid, &op);
}

int xendevicemodel_map_io_range_to_ioreq_server(xendevicemodel_handle *dmod, domid_t domid,
                                                ioservid_t id, int is_mmio, uint64_t start,
                                                uint64_t end)
{
    (void)dmod;
    return io_range(domid, id, true, is_mmio ? XEN_DMOP_IO_RANGE_MEMORY : XEN_DMOP_IO_RANGE_PORT,
                    start, end);
}

int xendevicemodel_unmap_io_range_from_ioreq_server(xendevicemodel_handle *dmod, domid_t domid,
                                                    ioservid_t id, int is_mmio, uint64_t start,
                                                    uint64_t end)
{
    (void)dmod;
    return io_range(domid, id, false, is_mmio ? XEN_DMOP_IO_RANGE_MEMORY : XEN_DMOP_IO_RANGE_PORT,
                    start, end);
}

/* libxendevicemodel's check, then the SBDF as a one-function PCI range. */
static int pcidev(domid_t domid, ioservid_t id, bool map, uint16_t segment, uint8_t bus,
                  uint8_t device, uint8_t function)
{
    uint64_t sbdf = XEN_DMOP_PCI_SBDF(segment, bus, device, function);
    if (device > 0x1f || function > 0x7) {
        errno = EINVAL;
        return -1;
    }
    return io_range(domid, id, map, XEN_DMOP_IO_RANGE_PCI, sbdf, sbdf);
}

int xendevicemodel_map_pcidev_to_ioreq_server(xendevicemodel_handle *dmod, domid_t domid,
                                              ioservid_t id, uint16_t segment, uint8_t bus,
                                              uint8_t device, uint8_t function)
{
    (void)dmod;
    return pcidev(domid, id, true, segment, bus, device, function);
}

int xendevicemodel_unmap_pcidev_from_ioreq_server(xendevicemodel_handle *dmod, domid_t domid,
                                                  ioservid_t id, uint16_t segment, uint8_t bus,
                                                  uint8_t device, uint8_t function)
{
    (void)dmod;
    return pcidev(domid, id, false, segment, bus, device, function);
}

int xendevicemodel_destroy_ioreq_server(xendevicemodel_handle *dmod, domid_t domid, ioservid_t id)
{
    struct xen_dm_op op = {.op = XEN_DMOP_destroy_ioreq_server};
    (void)dmod;
    op.u.destroy_ioreq_server.id = id;
    return dm(domid, &op);
}

int xendevicemodel_set_ioreq_server_state(xendevicemodel_handle *dmod, domid_t domid, ioservid_t id,
                                          int enabled)
{
    struct xen_dm_op op = {.op = XEN_DMOP_set_ioreq_server_state};
    (void)dmod;
    op.u.set_ioreq_server_state.id = id;
    op.u.set_ioreq_server_state.enabled = !!enabled;
    return dm(domid, &op);
}

int xendevicemodel_nr_vcpus(xendevicemodel_handle *dmod, domid_t domid, unsigned int *vcpus)
{
    struct xen_dm_op op = {.op = XEN_DMOP_nr_vcpus};
    (void)dmod;
    int rc = dm(domid, &op);
    if (rc == 0)
        *vcpus = op.u.nr_vcpus.vcpus;
    return rc;
}

int xendevicemodel_shutdown(xendevicemodel_handle *dmod, domid_t domid, unsigned int reason)
{
    struct xen_dm_op op = {.op = XEN_DMOP_remote_shutdown};
    (void)dmod;
    op.u.remote_shutdown.reason = reason;
    return dm(domid, &op);
}

int xendevicemodel_restrict(xendevicemodel_handle *dmod, domid_t domid)
{
    (void)dmod, (void)domid;
    return 0;
}

/* Interrupt lines, MSIs, memory types and the rest: Xen's operations, which the model answers
 * (-EOPNOTSUPP where it has no emulated interrupt controller or memory types). */
int xendevicemodel_set_pci_intx_level(xendevicemodel_handle *dmod, domid_t domid, uint16_t segment,
                                      uint8_t bus, uint8_t device, uint8_t intx, unsigned int level)
{
    struct xen_dm_op op = {.op = XEN_DMOP_set_pci_intx_level};
    (void)dmod;
    op.u.set_pci_intx_level = (struct xen_dm_op_set_pci_intx_level){
        .domain = segment, .bus = bus, .device = device, .intx = intx, .level = (uint8_t)level};
    return dm(domid, &op);
}

int xendevicemodel_set_isa_irq_level(xendevicemodel_handle *dmod, domid_t domid, uint8_t irq,
                                     unsigned int level)
{
    struct xen_dm_op op = {.op = XEN_DMOP_set_isa_irq_level};
    (void)dmod;
    op.u.set_isa_irq_level.isa_irq = irq;
    op.u.set_isa_irq_level.level = (uint8_t)level;
    return dm(domid, &op);
}

int xendevicemodel_set_irq_level(xendevicemodel_handle *dmod, domid_t domid, unsigned int irq,
                                 unsigned int level)
{
    struct xen_dm_op op = {.op = XEN_DMOP_set_irq_level};
    (void)dmod;
    op.u.set_irq_level.irq = irq;
    op.u.set_irq_level.level = (uint8_t)level;
    return dm(domid, &op);
}

int xendevicemodel_set_pci_link_route(xendevicemodel_handle *dmod, domid_t domid, uint8_t link,
                                      uint8_t irq)
{
    struct xen_dm_op op = {.op = XEN_DMOP_set_pci_link_route};
    (void)dmod;
    op.u.set_pci_link_route.link = link;
    op.u.set_pci_link_route.isa_irq = irq;
    return dm(domid, &op);
}

int xendevicemodel_inject_msi(xendevicemodel_handle *dmod, domid_t domid, uint64_t msi_addr,
                              uint32_t msi_data)
{
    struct xen_dm_op op = {.op = XEN_DMOP_inject_msi};
    (void)dmod;
    op.u.inject_msi.addr = msi_addr;
    op.u.inject_msi.data = msi_data;
    return dm(domid, &op);
}

int xendevicemodel_set_mem_type(xendevicemodel_handle *dmod, domid_t domid, hvmmem_type_t mem_type,
                                uint64_t first_pfn, uint32_t nr)
{
    struct xen_dm_op op = {.op = XEN_DMOP_set_mem_type};
    (void)dmod;
    op.u.set_mem_type.mem_type = mem_type;
    op.u.set_mem_type.first_pfn = first_pfn;
    op.u.set_mem_type.nr = nr;
    return dm(domid, &op);
}

int xendevicemodel_inject_event(xendevicemodel_handle *dmod, domid_t domid, int vcpu,
                                uint8_t vector, uint8_t type, uint32_t error_code, uint8_t insn_len,
                                uint64_t extra)
{
    struct xen_dm_op op = {.op = XEN_DMOP_inject_event};
    (void)dmod;
    op.u.inject_event.vcpuid = (uint32_t)vcpu;
    op.u.inject_event.vector = vector;
    op.u.inject_event.type = type;
    op.u.inject_event.error_code = error_code;
    op.u.inject_event.insn_len = insn_len;
    op.u.inject_event.cr2 = extra;
    return dm(domid, &op);
}

int xendevicemodel_map_mem_type_to_ioreq_server(xendevicemodel_handle *dmod, domid_t domid,
                                                ioservid_t id, uint16_t type, uint32_t flags)
{
    struct xen_dm_op op = {.op = XEN_DMOP_map_mem_type_to_ioreq_server};
    (void)dmod;
    op.u.map_mem_type_to_ioreq_server.id = id;
    op.u.map_mem_type_to_ioreq_server.type = type;
    op.u.map_mem_type_to_ioreq_server.flags = flags;
    return dm(domid, &op);
}

/* Dirty tracking and memory relocation: the model has no guest memory to manage, and answers
 * as it does (-EOPNOTSUPP). Their second buffer (a bitmap, extents) is not sent. */
int xendevicemodel_track_dirty_vram(xendevicemodel_handle *dmod, domid_t domid, uint64_t first_pfn,
                                    uint32_t nr, unsigned long *dirty_bitmap)
{
    struct xen_dm_op op = {.op = XEN_DMOP_track_dirty_vram};
    (void)dmod, (void)dirty_bitmap;
    op.u.track_dirty_vram.first_pfn = first_pfn;
    op.u.track_dirty_vram.nr = nr;
    return dm(domid, &op);
}

int xendevicemodel_modified_memory_bulk(xendevicemodel_handle *dmod, domid_t domid,
                                        struct xen_dm_op_modified_memory_extent extents[],
                                        uint32_t nr)
{
    struct xen_dm_op op = {.op = XEN_DMOP_modified_memory};
    (void)dmod, (void)extents;
    op.u.modified_memory.nr_extents = nr;
    return dm(domid, &op);
}

int xendevicemodel_modified_memory(xendevicemodel_handle *dmod, domid_t domid, uint64_t first_pfn,
                                   uint32_t nr)
{
    struct xen_dm_op_modified_memory_extent extent = {.first_pfn = first_pfn, .nr = nr};
    return xendevicemodel_modified_memory_bulk(dmod, domid, &extent, 1);
}

int xendevicemodel_relocate_memory(xendevicemodel_handle *dmod, domid_t domid, uint32_t size,
                                   uint64_t src_gfn, uint64_t dst_gfn)
{
    struct xen_dm_op op = {.op = XEN_DMOP_relocate_memory};
    (void)dmod;
    op.u.relocate_memory.size = size;
    op.u.relocate_memory.src_gfn = src_gfn;
    op.u.relocate_memory.dst_gfn = dst_gfn;
    return dm(domid, &op);
}

int xendevicemodel_pin_memory_cacheattr(xendevicemodel_handle *dmod, domid_t domid, uint64_t start,
                                        uint64_t end, uint32_t type)
{
    struct xen_dm_op op = {.op = XEN_DMOP_pin_memory_cacheattr};
    (void)dmod;
    op.u.pin_memory_cacheattr.start = start;
    op.u.pin_memory_cacheattr.end = end;
    op.u.pin_memory_cacheattr.type = type;
    return dm(domid, &op);
}

/* ---- libxenforeignmemory ------------------------------------------------------------------ */

/* A foreign mapping: where it is and the frames of ours Xen mapped the guest's pages at (0:
 * that page failed), which xenforeignmemory_unmap hands back. */
struct foreign_mapping {
    uint8_t *addr;
    size_t pages;
    xen_pfn_t *gfn;
    struct foreign_mapping *next;
};

struct xenforeignmemory_handle {
    struct foreign_mapping *mappings;
    xen_pfn_t next_gfn; /* the next frame of ours to map a guest's page at */
};
static struct xenforeignmemory_handle the_fmem;

struct xenforeignmemory_resource_handle {
    void *addr;
    unsigned long nr_frames;
};

/* gfns of the device model's own (scratch) memory where Xen is asked to map resource frames:
 * they only name the frames; the pages themselves come from the arena. Foreign frames (a
 * guest's RAM) are mapped at frames from FOREIGN_GFN_BASE on, each used once. */
#define RESOURCE_GFN_BASE 0x80000u
#define FOREIGN_GFN_BASE 0x100000u

xenforeignmemory_handle *xenforeignmemory_open(struct xentoollog_logger *logger,
                                               unsigned int open_flags)
{
    (void)logger, (void)open_flags;
    if (!the_fmem.next_gfn)
        the_fmem.next_gfn = FOREIGN_GFN_BASE;
    return opened(&the_fmem);
}

int xenforeignmemory_close(xenforeignmemory_handle *fmem)
{
    (void)fmem;
    return 0;
}

/* One page of ours at addr: the page Xen mapped at our frame gfn, mapped from where evsim says
 * it is (0, or a negative errno). */
static int map_page_at(uint8_t *addr, int prot, xen_pfn_t gfn)
{
    int fd;
    int64_t off = where(gfn, &fd);
    if (off < 0)
        return (int)off;
    void *p = mmap(addr, XC_PAGE_SIZE, prot, MAP_SHARED | MAP_FIXED, fd, (off_t)off);
    int saved = errno;
    if (fd != conn.arena)
        close(fd);
    return p == MAP_FAILED ? -saved : 0;
}

/* Up to FOREIGN_BATCH pages of the mapping from page `first` on: one XENMEM_add_to_physmap_batch,
 * then each page Xen mapped placed in our address range. err[] gets each page's result (0 or
 * a negative errno, as privcmd's); a failed call fails every page of the batch. */
static void map_batch(struct foreign_mapping *m, uint32_t dom, int prot, size_t first, unsigned n,
                      const xen_pfn_t arr[], int err[])
{
    xen_pfn_t gfn[FOREIGN_BATCH];
    for (unsigned i = 0; i < n; i++)
        gfn[i] = the_fmem.next_gfn++;
    long rc = backend->map_foreign((domid_t)dom, n, arr + first, gfn, err + first);
    for (unsigned i = 0; i < n; i++) {
        int *e = &err[first + i];
        if (rc)
            *e = (int)rc;
        if (!*e)
            *e = map_page_at(m->addr + (first + i) * XC_PAGE_SIZE, prot, gfn[i]);
        if (!*e)
            m->gfn[first + i] = gfn[i];
        else if (!rc)
            backend->unmap_frame(gfn[i]); /* mapped by Xen, but not by us */
    }
}

static void mapping_release(struct foreign_mapping *m)
{
    for (size_t i = 0; i < m->pages; i++)
        if (m->gfn[i])
            backend->unmap_frame(m->gfn[i]);
    munmap(m->addr, m->pages * XC_PAGE_SIZE);
    free(m->gfn);
    free(m);
}

/* A new mapping of `pages` pages: its bookkeeping and an inaccessible address range (at addr,
 * a hint unless flags has MAP_FIXED), or NULL with errno set. */
static struct foreign_mapping *mapping_new(void *addr, int flags, size_t pages)
{
    struct foreign_mapping *m = calloc(1, sizeof(*m));
    if (!m || !(m->gfn = calloc(pages, sizeof(*m->gfn)))) {
        free(m);
        errno = ENOMEM;
        return NULL;
    }
    m->addr = mmap(addr, pages * XC_PAGE_SIZE, PROT_NONE,
                   MAP_PRIVATE | MAP_ANONYMOUS | (flags & MAP_FIXED), -1, 0);
    if (m->addr == MAP_FAILED) {
        free(m->gfn);
        free(m);
        return NULL;
    }
    m->pages = pages;
    return m;
}

/* The first page's error (a negative errno), or 0 when every page mapped. */
static int first_failure(const int *errs, size_t pages)
{
    for (size_t i = 0; i < pages; i++)
        if (errs[i])
            return errs[i];
    return 0;
}

/* A guest's pages, as Linux's privcmd maps them for a translated dom0: each frame of the guest
 * mapped at a frame of ours (XENMEM_add_to_physmap_batch, XENMAPSPACE_gmfn_foreign), then that
 * page mapped into our address range. With err, pages that failed are left inaccessible and
 * their err[] set (a negative errno); without, any failure undoes everything (errno the first
 * failure's). */
void *xenforeignmemory_map2(xenforeignmemory_handle *fmem, uint32_t dom, void *addr, int prot,
                            int flags, size_t pages, const xen_pfn_t arr[], int err[])
{
    if (!fmem || !connect_evsim() || pages == 0 || pages > SIZE_MAX / XC_PAGE_SIZE) {
        errno = EINVAL;
        return NULL;
    }
    int *errs = err ? err : calloc(pages, sizeof(*errs));
    struct foreign_mapping *m = errs ? mapping_new(addr, flags, pages) : NULL;
    if (!m) {
        if (!err)
            free(errs);
        errno = errs ? errno : ENOMEM;
        return NULL;
    }
    for (size_t first = 0; first < pages; first += FOREIGN_BATCH) {
        size_t n = pages - first < FOREIGN_BATCH ? pages - first : FOREIGN_BATCH;
        map_batch(m, dom, prot, first, (unsigned)n, arr, errs);
    }
    int failed = err ? 0 : first_failure(errs, pages);
    if (!err)
        free(errs);
    if (failed) {
        mapping_release(m);
        errno = -failed;
        return NULL;
    }
    m->next = fmem->mappings;
    fmem->mappings = m;
    return m->addr;
}

void *xenforeignmemory_map(xenforeignmemory_handle *fmem, uint32_t dom, int prot, size_t pages,
                           const xen_pfn_t arr[], int err[])
{
    return xenforeignmemory_map2(fmem, dom, NULL, prot, 0, pages, arr, err);
}

/* A mapping made by xenforeignmemory_map: Xen's frames handed back
 * (XENMEM_remove_from_physmap), the address range unmapped. */
int xenforeignmemory_unmap(xenforeignmemory_handle *fmem, void *addr, size_t pages)
{
    for (struct foreign_mapping **at = &fmem->mappings; *at; at = &(*at)->next) {
        struct foreign_mapping *m = *at;
        if (m->addr != addr || m->pages != pages)
            continue;
        *at = m->next;
        mapping_release(m);
        return 0;
    }
    errno = EINVAL;
    return -1;
}

int xenforeignmemory_restrict(xenforeignmemory_handle *fmem, domid_t domid)
{
    (void)fmem, (void)domid;
    return 0;
}

xenforeignmemory_resource_handle *
xenforeignmemory_map_resource(xenforeignmemory_handle *fmem, domid_t domid, unsigned int type,
                              unsigned int id, unsigned long frame, unsigned long nr_frames,
                              void **paddr, int prot, int flags)
{
    (void)fmem, (void)flags;
    xen_pfn_t gfn[64];
    if (nr_frames == 0 || nr_frames > 64) {
        errno = EINVAL;
        return NULL;
    }
    for (unsigned long i = 0; i < nr_frames; i++)
        gfn[i] = RESOURCE_GFN_BASE + i;
    struct xen_mem_acquire_resource r = {.domid = domid,
                                         .type = (uint16_t)type,
                                         .id = id,
                                         .nr_frames = (uint32_t)nr_frames,
                                         .frame = frame};
    if (result(backend->acquire(&r, gfn)) < 0)
        return NULL;
    /* One contiguous range of the caller's address space, each page the arena's. */
    uint8_t *base =
        mmap(*paddr, nr_frames * XC_PAGE_SIZE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (base == MAP_FAILED)
        return NULL;
    for (unsigned long i = 0; i < nr_frames; i++) {
        int rc = map_page_at(base + i * XC_PAGE_SIZE, prot, gfn[i]);
        if (rc) {
            munmap(base, nr_frames * XC_PAGE_SIZE);
            errno = -rc;
            return NULL;
        }
    }
    xenforeignmemory_resource_handle *h = malloc(sizeof(*h));
    if (!h) {
        munmap(base, nr_frames * XC_PAGE_SIZE);
        errno = ENOMEM;
        return NULL;
    }
    *h = (xenforeignmemory_resource_handle){base, nr_frames};
    *paddr = base;
    return h;
}

int xenforeignmemory_unmap_resource(xenforeignmemory_handle *fmem,
                                    xenforeignmemory_resource_handle *fres)
{
    (void)fmem;
    if (!fres)
        return 0;
    int rc = munmap(fres->addr, fres->nr_frames * XC_PAGE_SIZE);
    free(fres);
    return rc;
}

int xenforeignmemory_resource_size(xenforeignmemory_handle *fmem, domid_t domid, unsigned int type,
                                   unsigned int id, size_t *size)
{
    struct xen_mem_acquire_resource r = {.domid = domid, .type = (uint16_t)type, .id = id};
    (void)fmem;
    int rc = result(backend->acquire(&r, NULL));
    if (rc == 0)
        *size = (size_t)r.nr_frames * XC_PAGE_SIZE;
    return rc;
}

/* ---- the little of libxenctrl ------------------------------------------------------------ */

struct xc_interface_core {
    int unused;
};
static struct xc_interface_core the_xc;

xc_interface *xc_interface_open(xentoollog_logger *logger, xentoollog_logger *dombuild_logger,
                                unsigned open_flags)
{
    (void)logger, (void)dombuild_logger, (void)open_flags;
    return opened(&the_xc);
}

int xc_interface_close(xc_interface *xch)
{
    (void)xch;
    return 0;
}

static int domctl_pause(uint32_t domid, uint32_t cmd)
{
    struct xen_domctl op = {
        .cmd = cmd, .interface_version = XEN_DOMCTL_INTERFACE_VERSION, .domain = (domid_t)domid};
    return result(backend->domctl(&op));
}

int xc_domain_pause(xc_interface *xch, uint32_t domid)
{
    (void)xch;
    return domctl_pause(domid, XEN_DOMCTL_pausedomain);
}

int xc_domain_unpause(xc_interface *xch, uint32_t domid)
{
    (void)xch;
    return domctl_pause(domid, XEN_DOMCTL_unpausedomain);
}
