/* Test scaffolding for models/: a fake guest memory (one plain buffer per domain) and a sink
 * that records what the model asked the simulator to do. */
#ifndef EVSIM_TESTS_FAKE_XEN_H
#define EVSIM_TESTS_FAKE_XEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "models/evtchn.h"
#include "models/hypercall.h"

#define FX_MAX_DOMAINS 4u
#define FX_MAX_VCPUS 64u
#define FX_MEM_SIZE 0x100000u        /* 1 MiB of guest memory per domain */
#define FX_SHINFO_GPA 0x1000u        /* shared_info page */
#define FX_ARG_GPA 0x3000u           /* hypercall argument area */
#define FX_BUF_GPA 0x4000u           /* a second area (poll port lists, console text) */
#define FX_STACK_GPA 0x20000u        /* top of a guest stack */
#define FX_BAD_GPA 0x7fff0000u       /* not guest memory */
#define FX_FIFO_CONTROL_GPA 0x30000u /* FIFO control blocks, one per vcpu (fx_fifo_init) */
#define FX_FIFO_CONTROL_STRIDE 128u  /* bytes between two vcpus' control blocks */
#define FX_FIFO_ARRAY_GPA 0x40000u   /* FIFO event-array page n at + n * 4096 (128 pages) */
#define FX_MAX_EVENT_PAGES 256u

struct fx_timer {
    unsigned calls;
    enum hv_timer_kind kind;
    uint64_t deadline;
};

struct fx_vcpu_rec {
    unsigned kicks, wakes, ups, downs;
    unsigned time_updates; /* sink->update_time */
    struct fx_timer timer[HV_TIMER_KINDS];
};

/* One sink->event_page call. */
struct fx_event_page {
    uint64_t gpa;
    enum hv_event_page_kind kind;
    unsigned index;
};

/* One sink->ioreq_page call: a page of Xen's at (or, page NULL, gone from) a frame. */
struct fx_page_map {
    domid_t domid;
    uint64_t gfn;
    void *page;
};
#define FX_MAX_PAGE_MAPS 16u

struct fake_xen;
/* Called on every access Xen reports to shared guest memory (mem->touch), before the access
 * is made: a test may change the word under Xen's feet, as a guest on another CPU would. */
typedef void (*fx_touch_hook)(struct fake_xen *fx, volatile void *addr, size_t len,
                              enum guest_access k);

struct fake_xen {
    struct hv hv;
    unsigned char *mem[FX_MAX_DOMAINS];
    /* Make the n-th translation (1-based) covering fail_gpa fail; 0 disables. */
    uint64_t fail_gpa;
    unsigned fail_at, seen;
    struct fx_vcpu_rec rec[FX_MAX_DOMAINS][FX_MAX_VCPUS];
    char console[4096];
    size_t console_len;
    unsigned console_calls;
    int shutdown_reason[FX_MAX_DOMAINS];
    uint64_t now_ns;
    struct cost_profile profile; /* cycles 100, 200, ... by cost id; 1 GHz */
    /* Event pages announced (sink->event_page), in order, and releases. */
    struct fx_event_page event_page[FX_MAX_EVENT_PAGES];
    unsigned nr_event_pages;
    unsigned event_pages_released;
    /* sink->pirq_timer: calls, and the last deadline asked for each line (0: stopped). */
    unsigned pirq_timer_calls;
    uint64_t pirq_timer[FX_MAX_DOMAINS][256];
    fx_touch_hook touch_hook;
    void *touch_opaque;  /* for the hook's own use */
    unsigned touches[3]; /* accesses Xen reported to shared memory, by enum guest_access */
    struct fx_page_map page_map[FX_MAX_PAGE_MAPS]; /* the last ioreq_page calls, in a ring */
    unsigned nr_page_maps;
};

/* Where a conformance row's hypercall argument lives: FX_ARG_GPA, or memory that is not the
 * guest's (unmapped), or FX_ARG_GPA set up so that the copy-in works and the copy-out fails. */
uint64_t fx_arg_gpa(struct fake_xen *fx, bool unmapped, bool copy_out_fails);

/* What the accesses counted in fx->touches cost Xen inside an ABI operation. */
uint64_t fx_touch_cycles(const struct fake_xen *fx);

/* hv_init with the fake memory and sink; fx_destroy frees everything. */
void fx_init(struct fake_xen *fx);

void fx_destroy(struct fake_xen *fx);
/* cmocka teardown for a test_calloc'ed state whose first member is a struct fake_xen. */
int fx_teardown(void **state);
/* Create domain `domid` (< FX_MAX_DOMAINS) with shared_info at FX_SHINFO_GPA; 0 for defaults. */
struct domain *fx_domain(struct fake_xen *fx, domid_t domid, bool privileged, unsigned max_vcpus,
                         unsigned word_bits, unsigned max_evtchn_port);
void *fx_gpa(struct fake_xen *fx, struct domain *d, uint64_t gpa);
struct fx_vcpu_rec *fx_rec(struct fake_xen *fx, const struct vcpu *v);

/* Issue a hypercall as the guest would: registers in, rax out. */
long fx_hypercall(struct vcpu *v, unsigned nr, uint64_t a1, uint64_t a2, uint64_t a3);
/* EVTCHNOP through hypercall_dispatch with the argument at FX_ARG_GPA, copied back after. */
long fx_evtchn_op(struct fake_xen *fx, struct vcpu *v, unsigned cmd, void *arg, size_t size);

/* Shortcuts for state set-up (assert success). */
uint32_t fx_alloc_unbound(struct fake_xen *fx, struct vcpu *v, domid_t dom, domid_t remote);
uint32_t fx_bind_ipi(struct fake_xen *fx, struct vcpu *v, unsigned vcpu);
uint32_t fx_bind_virq(struct fake_xen *fx, struct vcpu *v, unsigned virq, unsigned vcpu);
uint32_t fx_bind_interdomain(struct fake_xen *fx, struct vcpu *v, domid_t rdom, uint32_t rport);
/* Bind ports until the table is full; returns how many were bound. */
unsigned fx_fill_table(struct fake_xen *fx, struct vcpu *v);

/* The 2-level bits in d's shared_info and v's selector, where the guest's layout puts them
 * (a 32-bit guest's: Xen's compat layout, mask at 2176, a 32-bit selector at offset 4). */
bool fx_pending(struct domain *d, uint32_t port);
bool fx_masked(struct domain *d, uint32_t port);
void fx_set_pending(struct domain *d, uint32_t port, bool on);
void fx_set_mask(struct domain *d, uint32_t port, bool on);
volatile void *fx_sel_ptr(struct vcpu *v); /* a uint64_t, or a uint32_t for a 32-bit guest */
uint64_t fx_sel(struct vcpu *v);
void fx_set_sel(struct vcpu *v, uint64_t sel);
void fx_sel_set_bit(struct vcpu *v, unsigned bit);
uint8_t fx_upcall_pending(struct vcpu *v);
uint8_t fx_upcall_mask(struct vcpu *v);
void fx_set_upcall_mask(struct vcpu *v, uint8_t m);
void fx_set_upcall_pending(struct vcpu *v, uint8_t p);

/* Assert what holds for every domain between any two operations of Xen, whatever ran
 * before: every valid port has storage and counters; active_evtchns and xen_evtchns count the
 * ports in use; no guest port lies at or beyond domain_max_evtchns; interdomain ports name each
 * other; virq_to_evtchn and pirq_to_evtchn agree with the VIRQ and PIRQ ports both ways; the
 * ABI ops table agrees with the ABI state, which is complete (FIFO queues and event-array
 * pages, 3-level bitmaps and selectors, all mapped where the guest put them); every port
 * below the lowest-free hint is in use; a reset in progress stops at a valid port. Touches no
 * guest memory. */
void fx_check_consistency(struct fake_xen *fx);
/* The part of it that holds even in the middle of an operation, for a probe that looks at d as
 * another CPU would (from a touch hook): the ops table names an ABI whose state exists, and
 * whatever extended-ABI state exists is complete: every vcpu's FIFO queues, heads pointing
 * into a control block once one is published, every event-array page below num_evtchns
 * mapped, the 3-level bitmaps and published selectors mapped. Touches no guest memory. */
void fx_check_abi_published(struct fake_xen *fx, struct domain *d);

/* EVTCHNOP_reset of dom as a guest issues it, re-executed while the model asks for a
 * continuation, the guest taking the event that preempted it before each re-issue (as the
 * simulator delivers it); returns the final result. */
long fx_reset_until_done(struct fake_xen *fx, struct vcpu *v, domid_t dom);

/* FIFO ABI, guest side. init_control for `vcpu` of v's domain at gfn:offset, as v. */
long fx_fifo_init_control(struct fake_xen *fx, struct vcpu *v, unsigned vcpu, uint64_t gfn,
                          uint32_t offset);
/* expand_array with event-array page `page` (FX_FIFO_ARRAY_GPA + page * 4096), as v. */
long fx_fifo_expand(struct fake_xen *fx, struct vcpu *v, unsigned page);
/* Switch d to FIFO: a control block for every vcpu at FX_FIFO_CONTROL_GPA + i * stride and
 * `pages` event-array pages (asserts success). */
void fx_fifo_init(struct fake_xen *fx, struct domain *d, unsigned pages);
/* Guest views of the FIFO memory fx_fifo_init laid out. */
volatile uint32_t *fx_fifo_word(struct fake_xen *fx, struct domain *d, uint32_t port);
volatile struct evtchn_fifo_control_block *fx_fifo_control(struct fake_xen *fx,
                                                           const struct vcpu *v);

#include "evsim/xen_3l.h"

/* 3-level ABI, guest side. Bitmap page k at FX_3L_PENDING_GPA / FX_3L_MASK_GPA + k * 4096
 * (contiguous, so the tests read each bitmap as one array); every vcpu's selector in one page,
 * vcpu i at FX_3L_L2SEL_GPA + i * FX_3L_L2SEL_STRIDE. */
#define FX_3L_PENDING_GPA 0xc0000u
#define FX_3L_MASK_GPA 0xc8000u
#define FX_3L_L2SEL_GPA 0xd0000u
#define FX_3L_L2SEL_STRIDE 512u
/* Phase 1 as a guest does it: its new pages initialised (every mask bit set, pending clear),
 * then register_extended(L3_BITMAPS) with nr_pages of them, as v. */
long fx_3l_register_bitmaps(struct fake_xen *fx, struct vcpu *v, unsigned nr_pages);
/* Phase 2 for `vcpu` of v's domain: its selector cleared, then register_extended(L3_L2SEL). */
long fx_3l_register_l2sel(struct fake_xen *fx, struct vcpu *v, unsigned vcpu);
/* Switch d to 3-level: phase 1 with the pages its word size needs, phase 2 for every vcpu. */
void fx_3l_init(struct fake_xen *fx, struct domain *d);
/* Guest views of what fx_3l_init laid out. */
volatile uint64_t *fx_3l_pending_map(struct fake_xen *fx, struct domain *d);
volatile uint64_t *fx_3l_mask_map(struct fake_xen *fx, struct domain *d);
volatile uint64_t *fx_3l_l2sel(struct fake_xen *fx, const struct vcpu *v);
bool fx_3l_pending(struct fake_xen *fx, struct domain *d, uint32_t port);
bool fx_3l_masked(struct fake_xen *fx, struct domain *d, uint32_t port);
void fx_3l_set_pending(struct fake_xen *fx, struct domain *d, uint32_t port, bool on);
void fx_3l_set_mask(struct fake_xen *fx, struct domain *d, uint32_t port, bool on);
/* Bind an IPI to `vcpu` at exactly `port` through the port-table API (no hypercall): far
 * ports without binding every port below them. */
void fx_3l_claim_ipi(struct domain *d, uint32_t port, unsigned vcpu);

/* ---- ioreq servers (models/ioreq.h) ---- */

/* A domain as fx_domain makes it, made HVM (its hypercalls and I/O as an HVM guest's). */
struct domain *fx_hvm_domain(struct fake_xen *fx, domid_t domid, bool privileged,
                             unsigned max_vcpus);
/* HYPERVISOR_dm_op(dom, 1, bufs) as v: *op (size bytes) at FX_ARG_GPA, the one buffer
 * {FX_ARG_GPA, size} at FX_BUF_GPA; the payload copied back after. */
long fx_dm_op(struct fake_xen *fx, struct vcpu *v, domid_t dom, struct xen_dm_op *op, size_t size);
/* create_ioreq_server on dom as v (asserts success); returns the id. */
ioservid_t fx_ioreq_create(struct fake_xen *fx, struct vcpu *v, domid_t dom, uint8_t bufioreq);

#endif
