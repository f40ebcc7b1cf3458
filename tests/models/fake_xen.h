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
#define FX_MAX_VCPUS 4u
#define FX_MEM_SIZE 0x40000u   /* 256 KiB of guest memory per domain */
#define FX_SHINFO_GPA 0x1000u  /* shared_info page */
#define FX_ARG_GPA 0x3000u     /* hypercall argument area */
#define FX_BUF_GPA 0x4000u     /* a second area (poll port lists, console text) */
#define FX_STACK_GPA 0x20000u  /* top of a guest stack */
#define FX_BAD_GPA 0x7fff0000u /* not guest memory */

struct fx_timer {
    unsigned calls;
    enum hv_timer_kind kind;
    uint64_t deadline;
};

struct fx_vcpu_rec {
    unsigned kicks, wakes, ups, downs;
    struct fx_timer timer[HV_TIMER_KINDS];
};

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
};

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

/* The 2-level bits in d's shared_info. */
bool fx_pending(struct domain *d, uint32_t port);
bool fx_masked(struct domain *d, uint32_t port);
void fx_set_pending(struct domain *d, uint32_t port, bool on);
void fx_set_mask(struct domain *d, uint32_t port, bool on);
uint64_t fx_sel(struct vcpu *v);
uint8_t fx_upcall_pending(struct vcpu *v);
uint8_t fx_upcall_mask(struct vcpu *v);
void fx_set_upcall_mask(struct vcpu *v, uint8_t m);
void fx_set_upcall_pending(struct vcpu *v, uint8_t p);

#endif
