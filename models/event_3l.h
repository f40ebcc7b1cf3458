/* The 3-level event-channel ABI (models/event_3l.c): Xen's per-domain and per-vcpu state, and
 * the few queries the report and the tests make. The guest-visible protocol (command number,
 * argument structs) is include/evsim/xen_3l.h; this header is the hypervisor side only.
 *
 * THE PROJECT'S RECONSTRUCTION of the 2013 RFC series "Implement 3-level event channel" (Wei Liu,
 * xen-devel, never merged). Where the series left a choice open, event_3l.c says which one the
 * model takes and why. */
#ifndef EVSIM_MODELS_EVENT_3L_H
#define EVSIM_MODELS_EVENT_3L_H

#include <stddef.h>
#include <stdint.h>

#include "models/evtchn.h"
#include "evsim/xen_3l.h"

/* One 4 KiB bitmap page holds 32,768 ports (page k: ports 32768k .. 32768k + 32767). */
#define EVTCHN_3L_PORTS_PER_PAGE (XEN_PAGE_SIZE * 8u)

/* Phase 1: the shared pending and mask bitmaps, page k of each as the guest listed it. The
 * pointers are Xen's global mappings of the pages (map_domain_page_global in the RFC), taken
 * once at registration; guest RAM never moves, so they stay valid until reset. */
struct evtchn_3l_domain {
    unsigned nr_pages; /* pages per bitmap: 8 for 64-bit guests, 1 for 32-bit */
    uint64_t pending_gfn[EVTCHN_3L_MAX_BITMAP_PAGES];
    uint64_t mask_gfn[EVTCHN_3L_MAX_BITMAP_PAGES];
    volatile uint64_t *pending[EVTCHN_3L_MAX_BITMAP_PAGES];
    volatile uint64_t *mask[EVTCHN_3L_MAX_BITMAP_PAGES];
    unsigned nr_l2sel; /* vcpus that completed phase 2 */
};

/* Phase 2: one vcpu's second-level selector, word_bits words at gfn:offset. Bit b of the
 * selector is bit (first_bit + b) of the 8-byte aligned word `sel`: a 32-bit guest may place
 * its selector at a 4-byte boundary, and the model keeps every bitmap as 64-bit words (bit n of
 * a little-endian bitmap is the same bit whatever the word size it is read with). */
struct evtchn_3l_vcpu {
    uint64_t gfn;
    uint32_t offset;
    unsigned first_bit; /* 0, or 32 for a selector at offset 4 mod 8 */
    volatile uint64_t *sel;
};

/* Ports the 3-level ABI addresses for a guest of `word_bits` (64 or 32): word_bits^3,
 * 262,144 or 32,768. */
unsigned evtchn_3l_abi_ports(unsigned word_bits);
/* Pages per bitmap that phase 1 requires of d: 8 for a 64-bit guest, 1 for a 32-bit one. */
unsigned evtchn_3l_bitmap_pages(const struct domain *d);
/* Bytes of one vcpu's second-level selector: 512 for a 64-bit guest, 128 for a 32-bit one. */
unsigned evtchn_3l_selector_bytes(const struct domain *d);
/* The model's own 3-level state for d in bytes (0 unless on 3-level), for the report. */
size_t evtchn_3l_model_bytes(const struct domain *d);
/* Guest pages d shares with Xen for the 3-level ABI: both bitmaps plus every distinct
 * selector page (0 unless on 3-level). shared_info is not counted. */
unsigned evtchn_3l_guest_pages(const struct domain *d);

#endif
