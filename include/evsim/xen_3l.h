/* The 3-level event-channel ABI: THE PROJECT'S RECONSTRUCTION, not a Xen header.
 *
 * The 2013 RFC series (Wei Liu, "Implement 3-level event channel", xen-devel, versions 1-7)
 * was never merged, so no public header carries its command number or structs. What the series
 * did, and this header keeps: an EVTCHNOP sub-command with a `cmd` selecting what to do, a query
 * of the supported extended ABIs, registration in two phases (first the shared pending and mask
 * bitmap pages, then one second-level selector per vcpu at a guest frame and offset), 262,144
 * ports for 64-bit guests (64^3) and 32,768 for 32-bit (32^3). What is ours: the number 0x100
 * (outside Xen's EVTCHNOP range so it can never collide with a real command), these struct
 * layouts, and one hypercall per vcpu for phase two (the RFC passed arrays). docs/model.md,
 * "3-level ABI", explains the differences.
 *
 * Plain C with fixed-width types only: included by the model and by the guests. */
#ifndef EVSIM_XEN_3L_H
#define EVSIM_XEN_3L_H

#include <stdint.h>

#define EVTCHNOP_register_extended 0x100

/* register_extended.cmd */
#define EVTCHN_EXTENDED_QUERY 0      /* out: abis, a bitmap of EVTCHN_EXTENDED_ABI_* */
#define EVTCHN_EXTENDED_L3_BITMAPS 1 /* phase 1: pending and mask bitmap pages */
#define EVTCHN_EXTENDED_L3_L2SEL 2   /* phase 2: one vcpu's second-level selector */

/* Bits of register_extended.abis (query) */
#define EVTCHN_EXTENDED_ABI_L3 (1u << 0)

/* 64-bit guests: 64^3 ports, 4096 pending words, 8 pages per bitmap; 32-bit: 32^3, 1 page. */
#define EVTCHN_3L_NR_PORTS_64 262144u
#define EVTCHN_3L_NR_PORTS_32 32768u
#define EVTCHN_3L_MAX_BITMAP_PAGES 8u

struct evtchn_3l_bitmaps {
    uint32_t nr_pages; /* IN: pages per bitmap: 8 for 64-bit guests, 1 for 32-bit */
    uint32_t _pad;
    uint64_t pending_gfn[EVTCHN_3L_MAX_BITMAP_PAGES]; /* IN */
    uint64_t mask_gfn[EVTCHN_3L_MAX_BITMAP_PAGES];    /* IN */
};

/* One vcpu's second-level selector: word_bits words (512 bytes for 64-bit guests) at
 * gfn:offset. Bit w of word s selects pending word s * word_bits + w; the first-level selector
 * is the vcpu_info's evtchn_pending_sel, bit s selecting selector word s. */
struct evtchn_3l_l2sel {
    uint32_t vcpu;   /* IN */
    uint32_t offset; /* IN: byte offset in the page, word aligned, the selector inside it */
    uint64_t gfn;    /* IN */
};

struct evtchn_register_extended {
    uint32_t cmd;  /* IN: EVTCHN_EXTENDED_* */
    uint32_t abis; /* OUT (query) */
    union {
        struct evtchn_3l_bitmaps bitmaps;
        struct evtchn_3l_l2sel l2sel;
    } u;
};

#endif
