/* Ioreq servers (Xen 4.22's xen/common/ioreq.c with x86's xen/arch/x86/hvm/ioreq.c): device
 * models in other domains ("emulators") that handle an HVM domain's port I/O, MMIO and PCI
 * config accesses Xen does not emulate itself.
 *
 * The control side is HYPERVISOR_dm_op (models/dm_op.c) and XENMEM_acquire_resource
 * (models/memory_op.c). This header is the I/O side, for the simulator:
 *
 *   1. A vcpu of the target exits on an access Xen does not handle; the simulator decodes it
 *      into an ioreq_t (type IOREQ_TYPE_PIO or IOREQ_TYPE_COPY; a 0xCFC-0xCFF access while
 *      the latched 0xCF8 value has bit 31 set is IOREQ_TYPE_PCI_CONFIG with
 *      addr = sbdf << 32 | reg, decoded by the caller) and calls ioreq_send.
 *   2. IOREQ_WAIT: the request is in the server's shared slot in state READY and the
 *      emulator's port for that vcpu was raised; v->blocked_in_xen is set and the sink's
 *      xen_wait(v, true) said so. The vcpu must not run.
 *   3. The emulator answers (slot state IORESP_READY) and sends on its port: Xen's consumer
 *      of the target's port clears blocked_in_xen and calls xen_wait(v, false)
 *      (evtchn_xen_consumer_notify, from EVTCHNOP_send).
 *   4. Before the vcpu runs again the simulator calls ioreq_complete, which is Xen's
 *      vcpu_ioreq_handle_completion/wait_for_io: the slot goes back to NONE and the response
 *      data is handed over, or the vcpu waits again (still READY/INPROCESS: a spurious
 *      notification), or Xen crashed the domain (the slot's state went backwards or is not a
 *      state at all).
 *
 * Buffered requests (stdvga writes, TIMEOFFSET) go into the server's ring and complete at
 * once. Broadcasts (INVALIDATE, TIMEOFFSET) go to every enabled server. */
#ifndef EVSIM_MODELS_IOREQ_H
#define EVSIM_MODELS_IOREQ_H

#include <stdbool.h>
#include <stdint.h>

#include "models/domain.h"

#define MAX_NR_IOREQ_SERVERS 8u /* Xen's d->ioreq_server.server[] */
#define MAX_NR_IO_RANGES 256u   /* per rangeset (rangeset_limit) */
#define NR_IO_RANGE_TYPES (XEN_DMOP_IO_RANGE_PCI + 1)
#define IOREQ_INVALID_GFN UINT64_MAX
/* One shared page of 32-byte slots: HVM domains have at most 128 vcpus (HVM_MAX_VCPUS), and
 * Xen 4.22 maps one ioreq frame. */
#define IOREQ_MAX_VCPUS (XEN_PAGE_SIZE / sizeof(ioreq_t))
/* Resource mappings of one page the model remembers, to take them back on destroy. */
#define IOREQ_PAGE_MAX_MAPS 4u

/* Xen's rangeset with the ioreq limit: sorted, disjoint, adjacent ranges merged. */
struct ioreq_rangeset {
    unsigned nr;
    struct {
        uint64_t s, e; /* inclusive */
    } r[MAX_NR_IO_RANGES];
};

/* Xen's struct ioreq_page: the sync page or the buffered ring. Either the target's own frame
 * taken from the ioreq gfn pool (get_ioreq_server_info without XEN_DMOP_no_gfns: gfn valid,
 * va is that frame's host memory) or a page the model allocated for XENMEM_acquire_resource
 * (gfn IOREQ_INVALID_GFN, va owned), never both (each way refuses the other with -EPERM). */
struct ioreq_page {
    uint64_t gfn;
    void *va;
    bool owned;
    unsigned nr_maps; /* where acquire_resource mapped it in the emulator */
    uint64_t map_gfn[IOREQ_PAGE_MAX_MAPS];
};

/* Xen's struct ioreq_vcpu: one per target vcpu per server. */
struct ioreq_vcpu {
    uint32_t ioreq_evtchn; /* Xen-consumed port of the target, offered to the emulator */
    bool pending;          /* a synchronous request awaits its answer */
    uint8_t prev_state;    /* wait_for_io's prev_state, kept across the wait */
};

struct ioreq_server {
    struct domain *target;
    domid_t emulator; /* the domain that created it: only it may operate on it */
    unsigned id;
    struct ioreq_page ioreq, bufioreq;
    struct ioreq_vcpu *vcpu; /* target->max_vcpus of them */
    uint32_t bufioreq_evtchn;
    struct ioreq_rangeset range[NR_IO_RANGE_TYPES];
    bool enabled;
    uint8_t bufioreq_handling; /* HVM_IOREQSRV_BUFIOREQ_* */
};

/* A domain's servers, and the toolstack's pool of frames for GFN-mapped pages (Xen's
 * HVM_PARAM_IOREQ_SERVER_PFN / HVM_PARAM_NR_IOREQ_SERVER_PAGES, ioreq_gfn.base/mask). */
struct ioreq_domain {
    struct ioreq_server *server[MAX_NR_IOREQ_SERVERS];
    uint64_t gfn_base;
    uint64_t gfn_mask; /* bit i: gfn_base + i is free */
    ioreq_t *io_req;   /* per vcpu: Xen's v->io.req, the private copy of the last request */
};

/* Xen's IOREQ_STATUS_* as the simulator needs them. */
enum ioreq_status {
    IOREQ_NO_SERVER, /* no enabled server claims it: Xen's null handler (reads give all
                      * ones, writes are dropped), the instruction completes */
    IOREQ_WAIT,      /* sent to a server: v waits for the emulator, then ioreq_complete */
    IOREQ_BUFFERED,  /* queued in a server's buffered ring: complete, nothing to wait for */
    IOREQ_UNHANDLED, /* the server's slot was not usable (the emulator left a state other
                      * than NONE, or another port in vp_eport; or no page): Xen logs "device
                      * model set bad IO state/event channel" and its caller fails the
                      * access (X86EMUL_UNHANDLEABLE: handle_pio crashes the domain) */
    IOREQ_SHUTDOWN,  /* the domain is shutting down: the access is abandoned (Xen's
                      * vcpu_start_shutdown_deferral failed; v is suspended) */
};

enum ioreq_completion {
    IOREQ_COMPLETE_NONE,    /* nothing was pending for v */
    IOREQ_COMPLETE_DONE,    /* every pending request answered: *req holds the one sent (Xen's
                             * v->io.req), state IORESP_READY and data the response when it
                             * needs one (reads, MMIO writes: ioreq_needs_completion), else
                             * state NONE */
    IOREQ_COMPLETE_WAIT,    /* still READY or INPROCESS: v waits again (xen_wait(v, true)) */
    IOREQ_COMPLETE_CRASHED, /* an illegal state transition: Xen crashed the domain */
};

/* The server that handles *p, newest (highest id) first, enabled ones only; NULL if none.
 * p->type: IOREQ_TYPE_PIO (PORT: [addr, addr + size - 1] inside one range), IOREQ_TYPE_COPY
 * (MEMORY: the first to the last byte of the whole access, count repetitions of size bytes,
 * downwards when df) or IOREQ_TYPE_PCI_CONFIG (PCI: addr >> 32, the SBDF, in the set). Any
 * other type: NULL. */
struct ioreq_server *ioreq_server_select(struct domain *d, const ioreq_t *p);

/* Xen's hvmemul_do_io from the selection on, for v's access *req (state and vp_eport are
 * Xen's to fill). buffered: try the server's ring first (Xen's stdvga path); a request the
 * ring cannot take (full, addr above 1 MiB, data_is_ptr, count != 1, odd size, or no ring)
 * falls back to the synchronous path, as stdvga's refusal does in Xen. */
enum ioreq_status ioreq_send(struct vcpu *v, ioreq_t *req, bool buffered);
/* The same to a server already selected (NULL: IOREQ_NO_SERVER). */
enum ioreq_status ioreq_send_to_server(struct ioreq_server *s, struct vcpu *v, ioreq_t *req,
                                       bool buffered);

/* Resume v after its emulator(s) answered (see above). req may be NULL. */
enum ioreq_completion ioreq_complete(struct vcpu *v, ioreq_t *req);

/* Xen's ioreq_broadcast from v: *req to every enabled server (with buffered, only those with
 * a ring). Returns how many servers could not take it. Synchronous broadcasts make v wait
 * for every server (ioreq_complete). */
unsigned ioreq_broadcast(struct vcpu *v, ioreq_t *req, bool buffered);
/* The two broadcasts x86 Xen makes: the map-cache INVALIDATE (synchronous, size 4, data ~0)
 * and the buffered 8-byte TIMEOFFSET (send_timeoffset_req). */
unsigned ioreq_signal_mapcache_invalidate(struct vcpu *v);
unsigned ioreq_send_timeoffset(struct vcpu *v, uint64_t offset);

/* The domain builder's pool of nr (<= 64) frames from gfn base for GFN-mapped server pages
 * (Xen's HVM_PARAM_IOREQ_SERVER_PFN and NR_IOREQ_SERVER_PAGES). 0 or -XEN_ENOMEM/EINVAL. */
int ioreq_set_gfn_pool(struct domain *d, uint64_t base, unsigned nr);

/* d's server id, NULL if none. */
struct ioreq_server *ioreq_server_get(const struct domain *d, unsigned id);
/* For onlookers (the teaching mode): the state of vcpu's slot in server id's page, and how many
 * requests wait in its buffered ring; -1 when there is no such server or page. No access is
 * reported to the cost or coherence models. */
int ioreq_view_slot_state(const struct domain *d, unsigned id, unsigned vcpu);
int64_t ioreq_view_ring_queued(const struct domain *d, unsigned id);
/* Whether an enabled server of d claims any guest-physical memory (the simulator then needs to
 * know which instruction makes each MMIO access, which costs it a hook per instruction). */
bool ioreq_claims_memory(const struct domain *d);
/* The server whose ioreq or bufioreq page is page (*buffered: which), NULL if none of d's. */
struct ioreq_server *ioreq_server_of_page(const struct domain *d, const void *page, bool *buffered);
/* Whether v has a synchronous request outstanding (Xen's vcpu_ioreq_pending). */
bool ioreq_vcpu_pending(struct vcpu *v);

/* The control operations, called by dm_op and acquire_resource with `emulator` the caller
 * (Xen's current->domain); 0 or a negative Xen errno, in Xen's order of checks. */
int ioreq_server_create(struct domain *d, struct domain *emulator, int bufioreq_handling,
                        ioservid_t *id);
int ioreq_server_get_info(struct domain *d, struct domain *emulator, ioservid_t id,
                          uint64_t *ioreq_gfn, uint64_t *bufioreq_gfn, evtchn_port_t *port);
int ioreq_server_map_io_range(struct domain *d, struct domain *emulator, ioservid_t id,
                              uint32_t type, uint64_t start, uint64_t end);
int ioreq_server_unmap_io_range(struct domain *d, struct domain *emulator, ioservid_t id,
                                uint32_t type, uint64_t start, uint64_t end);
int ioreq_server_set_state(struct domain *d, struct domain *emulator, ioservid_t id, bool enabled);
int ioreq_server_destroy(struct domain *d, struct domain *emulator, ioservid_t id);
/* Xen's ioreq_server_get_frame: the host page behind frame idx (0 the ring, 1 the slots),
 * allocated on first use. */
int ioreq_server_get_frame(struct domain *d, struct domain *emulator, ioservid_t id, unsigned idx,
                           void **page);
/* Whether d's frame gfn is a GFN-mapped server page taken out of its physmap (the server is
 * enabled): no page there for a foreign mapping (XENMEM_add_to_physmap_batch). */
bool ioreq_gfn_is_hole(const struct domain *d, uint64_t gfn);
/* Record that acquire_resource mapped page (a server page of d) at the emulator's gfn, and
 * tell the sink. 0, -XEN_EINVAL (not a page of d's) or -XEN_ENOMEM (the model's bound). */
int ioreq_server_note_mapping(struct domain *d, struct domain *emulator, void *page, uint64_t gfn);
/* Frames of the resource (ioreq_server_max_frames): the ring plus one per 128 vcpus. */
unsigned ioreq_server_max_frames(const struct domain *d);

/* Rangesets (Xen's rangeset.c, as the servers use them). add: [s, e] must not overlap the set
 * (map checks first); merges with neighbours; -XEN_ENOMEM when a new range is needed and 256
 * exist (a range that only touches its right neighbour needs one first, as in Xen). remove:
 * [s, e] must lie inside one range; -XEN_ENOMEM when splitting a range at the limit. */
int ioreq_rangeset_add(struct ioreq_rangeset *r, uint64_t s, uint64_t e);
int ioreq_rangeset_remove(struct ioreq_rangeset *r, uint64_t s, uint64_t e);
bool ioreq_rangeset_contains(const struct ioreq_rangeset *r, uint64_t s, uint64_t e);
bool ioreq_rangeset_overlaps(const struct ioreq_rangeset *r, uint64_t s, uint64_t e);

/* Domain destruction (Xen's ioreq_server_destroy_all): every server of d goes. */
void ioreq_domain_destroy(struct domain *d);

#endif
