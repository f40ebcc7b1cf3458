/* Lab 11, known wrong: notifies Xen without marking the answer ready. */
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

static shared_iopage_t *iopage; /* the server's page: one ioreq_t slot per guest vcpu */
static uint32_t reg;            /* the device's register */
static uint64_t served;

/* The device: a write stores the value, a read answers the last value written plus one. */
static void device_access(ioreq_t *req)
{
    if (req->dir == IOREQ_WRITE)
        reg = (uint32_t)req->data;
    else
        req->data = reg + 1;
    served++;
}

/* `port` is our end of vcpu `arg`'s event channel. */
static void on_ioreq(evtchn_port_t port, void *arg)
{
    volatile ioreq_t *slot = &iopage->vcpu_ioreq[(uintptr_t)arg];
    if (slot->state != STATE_IOREQ_READY)
        return;                              /* not a request: e.g. the event of our own binding */
    __atomic_thread_fence(__ATOMIC_ACQUIRE); /* the request's fields after its state */
    ioreq_t req = *(ioreq_t *)slot;
    slot->state = STATE_IOREQ_INPROCESS;
    device_access(&req);
    slot->data = req.data;
    __atomic_thread_fence(__ATOMIC_RELEASE); /* the data before the state */
    /* WRONG: the state stays STATE_IOREQ_INPROCESS */
    rt_send(port);
}

/* ---- the rest is the lab's test harness: leave it as it is ------------------------------- */

static domid_t target;
static volatile bool done;

static long dm_op(struct xen_dm_op *op)
{
    struct xen_dm_op_buf buf = {.size = sizeof(*op)};
    set_xen_guest_handle(buf.h, op);
    return HYPERVISOR_dm_op(target, 1, &buf);
}

static void on_dom_exc(evtchn_port_t port, void *arg)
{
    (void)port, (void)arg;
    done = true; /* a domain shut down: the guest is done */
}

static ioservid_t set_up_server(uint16_t io_port)
{
    struct xen_dm_op op = {.op = XEN_DMOP_create_ioreq_server};
    op.u.create_ioreq_server.handle_bufioreq = HVM_IOREQSRV_BUFIOREQ_OFF;
    rt_check(dm_op(&op), "XEN_DMOP_create_ioreq_server");
    ioservid_t id = op.u.create_ioreq_server.id;

    iopage = rt_alloc_pages(1); /* frame 1 of the server: the slots */
    xen_pfn_t gfn = (uintptr_t)iopage >> 12;
    struct xen_mem_acquire_resource r = {.domid = target,
                                         .type = XENMEM_resource_ioreq_server,
                                         .id = id,
                                         .nr_frames = 1,
                                         .frame = 1};
    set_xen_guest_handle(r.frame_list, &gfn);
    rt_check(HYPERVISOR_memory_op(XENMEM_acquire_resource, &r), "XENMEM_acquire_resource");

    op = (struct xen_dm_op){.op = XEN_DMOP_map_io_range_to_ioreq_server};
    op.u.map_io_range_to_ioreq_server = (struct xen_dm_op_ioreq_server_range){
        .id = id, .type = XEN_DMOP_IO_RANGE_PORT, .start = io_port, .end = io_port + 3u};
    rt_check(dm_op(&op), "XEN_DMOP_map_io_range_to_ioreq_server");
    op = (struct xen_dm_op){.op = XEN_DMOP_set_ioreq_server_state};
    op.u.set_ioreq_server_state.id = id;
    op.u.set_ioreq_server_state.enabled = 1;
    rt_check(dm_op(&op), "XEN_DMOP_set_ioreq_server_state");
    return id;
}

int main(void)
{
    target = (domid_t)rt_arg_u64("target", 1);
    uint16_t io_port = (uint16_t)rt_arg_u64("port", 0x5000);
    rt_bind_handler(rt_bind_virq(VIRQ_DOM_EXC, 0), on_dom_exc, NULL);
    ioservid_t id = set_up_server(io_port);
    struct xen_dm_op op = {.op = XEN_DMOP_nr_vcpus};
    rt_check(dm_op(&op), "XEN_DMOP_nr_vcpus");
    for (unsigned int v = 0; v < op.u.nr_vcpus.vcpus; v++) /* Xen put each port in its slot */
        rt_bind_handler(rt_bind_interdomain(target, iopage->vcpu_ioreq[v].vp_eport), on_ioreq,
                        (void *)(uintptr_t)v);
    struct xen_domctl unpause = {.cmd = XEN_DOMCTL_unpausedomain,
                                 .interface_version = XEN_DOMCTL_INTERFACE_VERSION,
                                 .domain = target};
    rt_check(HYPERVISOR_domctl(&unpause), "XEN_DOMCTL_unpausedomain");
    rt_wait(&done);
    op = (struct xen_dm_op){.op = XEN_DMOP_destroy_ioreq_server};
    op.u.destroy_ioreq_server.id = id;
    dm_op(&op);
    rt_printf("lab: served=%lu\n", served);
    return 0;
}
