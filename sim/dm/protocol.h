/* The protocol between evsim and a device model it runs as a host process (sim/host_dm.c, and
 * sim/dm/libevsim-dm.c which the device model links): what crosses the two sockets and the
 * shared page arena. Private to evsim: device models see only Xen's library headers.
 *
 * The device model is a child process started with three inherited descriptors, named by the
 * environment variable EVSIM_DM_FDS="rpc,events,arena":
 *   rpc     SOCK_SEQPACKET: requests (struct evdm_req) and their replies (struct evdm_rep), one
 *           at a time; evsim answers every request but EVDM_IDLE.
 *   events  SOCK_SEQPACKET: evsim -> device model, one uint32_t port per message, for ports of
 *           the device model's domain that became pending (what /dev/xen/evtchn reads give).
 *   arena   a memfd of pages evsim shares with the device model: Xen's pages for it (ioreq
 *           server pages) are allocated there, and mapped by offset.
 * A guest's RAM (an HVM domain's, a memfd of its own when the scenario runs a device model on
 * the host) is mapped the same way: EVDM_WHERE answers its offset, and the memfd comes with
 * that reply (SCM_RIGHTS), for the device model to map and close.
 * evsim first sends a struct evdm_hello on rpc.
 *
 * Lockstep: evsim runs the device model only while simulated time stands still. After it has
 * sent events (or at start), it serves requests until the device model says EVDM_IDLE (it is
 * about to block waiting for events: xenevtchn_pending, or poll/select on xenevtchn_fd), so
 * the run is the same every time. */
#ifndef EVSIM_SIM_DM_PROTOCOL_H
#define EVSIM_SIM_DM_PROTOCOL_H

#include <stdint.h>

#define EVDM_FDS_ENV "EVSIM_DM_FDS"
#define EVDM_BLOB_MAX 8192u /* bytes of guest memory a request carries (arguments) */

enum evdm_op {
    EVDM_HYPERCALL = 1, /* a hypercall from the device model's domain */
    EVDM_IDLE,          /* about to wait for events: no reply */
    EVDM_WHERE,         /* where the page Xen mapped at gfn is (map_resource, foreign map) */
};

/* evdm_rep.where for EVDM_WHERE: the page is at offset rax of ... */
enum evdm_where {
    EVDM_IN_ARENA = 0, /* the arena */
    EVDM_IN_RAM,       /* the memfd sent with the reply (a guest's RAM) */
};

struct evdm_hello {
    uint32_t version;     /* EVDM_VERSION */
    uint32_t domid;       /* the device model's own domain */
    uint64_t scratch_gpa; /* where a request's blob lands in that domain's memory */
    uint64_t arena_bytes;
};
#define EVDM_VERSION 2u

struct evdm_req {
    uint32_t op;
    uint32_t nr;     /* EVDM_HYPERCALL: __HYPERVISOR_* */
    uint64_t arg[5]; /* rdi, rsi, rdx, r10, r8: guest addresses point into the blob */
    uint64_t gfn;    /* EVDM_WHERE */
    uint32_t blob_len;
    uint32_t pad;
    uint8_t blob[EVDM_BLOB_MAX]; /* guest memory at scratch_gpa, as the call reads it */
};

struct evdm_rep {
    int64_t rax; /* the hypercall's result (a negative Xen errno), or EVDM_WHERE's offset */
    uint32_t blob_len;
    uint32_t where;              /* EVDM_WHERE: enum evdm_where */
    uint8_t blob[EVDM_BLOB_MAX]; /* the same memory after the call */
};

#endif
