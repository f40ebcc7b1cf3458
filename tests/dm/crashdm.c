/* A device model that misbehaves on purpose (tests/scenarios/ioreq_host_crash.ini): it sets
 * up like bench/dm/xendm.c, answers `answers` requests (argv[2], default 3) and then crashes
 * with a segmentation fault, as a buggy device model would. The guest's vcpu is left waiting
 * in Xen, and evsim says so. Written against Xen's libraries only. */
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>

#include <xenctrl.h>
#include <xendevicemodel.h>
#include <xenevtchn.h>
#include <xenforeignmemory.h>
#include <xen/hvm/ioreq.h>

int main(int argc, char **argv)
{
    domid_t domid = (domid_t)(argc > 1 ? atoi(argv[1]) : 1);
    int answers = argc > 2 ? atoi(argv[2]) : 3;
    xenevtchn_handle *xce = xenevtchn_open(NULL, 0);
    xendevicemodel_handle *dmod = xendevicemodel_open(NULL, 0);
    xenforeignmemory_handle *fmem = xenforeignmemory_open(NULL, 0);
    xc_interface *xch = xc_interface_open(NULL, NULL, 0);
    ioservid_t id;
    void *addr = NULL;
    if (!xce || !dmod || !fmem || !xch ||
        xendevicemodel_create_ioreq_server(dmod, domid, HVM_IOREQSRV_BUFIOREQ_OFF, &id) ||
        !xenforeignmemory_map_resource(fmem, domid, XENMEM_resource_ioreq_server, id,
                                       XENMEM_resource_ioreq_server_frame_ioreq(0), 1, &addr,
                                       PROT_READ | PROT_WRITE, 0) ||
        xendevicemodel_map_io_range_to_ioreq_server(dmod, domid, id, 0, 0x3f8, 0x3ff) ||
        xendevicemodel_set_ioreq_server_state(dmod, domid, id, 1))
        return 1;
    shared_iopage_t *page = addr;
    int port = xenevtchn_bind_interdomain(xce, domid, page->vcpu_ioreq[0].vp_eport);
    if (port < 0 || xc_domain_unpause(xch, domid))
        return 1;
    printf("crashdm: serving dom%u, crashing after %d answers\n", domid, answers);
    fflush(stdout);
    for (;;) {
        int p = xenevtchn_pending(xce);
        volatile ioreq_t *slot = &page->vcpu_ioreq[0];
        if (p == port && slot->state == STATE_IOREQ_READY) {
            if (answers-- == 0)
                raise(SIGSEGV);
            slot->data = 0x60; /* a line status with room to send: good enough to get going */
            slot->state = STATE_IORESP_READY;
            xenevtchn_notify(xce, (evtchn_port_t)port);
        }
        if (p >= 0)
            xenevtchn_unmask(xce, (evtchn_port_t)p);
    }
}
