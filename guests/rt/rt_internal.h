/* evsim guest runtime: functions shared between the runtime's own files. */
#ifndef EVGUEST_RT_INTERNAL_H
#define EVGUEST_RT_INTERNAL_H

#include "rt.h"

__attribute__((noreturn)) void rt_start(start_info_t *si); /* from _start */
__attribute__((noreturn)) void rt_secondary_start(void);   /* from head.S */
/* Once, on vcpu 0 at boot: choose the event-channel ABI (abi=), register the
 * callback, set the ABI up (with vcpu 0's part) and enable events. */
void rt_events_init(void);
void rt_events_setup_vcpu(unsigned int vcpu); /* vcpu 0, before VCPUOP_up of `vcpu` */
void rt_events_init_vcpu(void);               /* on every other vcpu, at its start */
const char *rt_events_entry(void);            /* the callback entry registered */
/* HVM guests (hvm.c): whether this is one (sets rt_hvm), each vcpu's GDT and IDT, and the
 * upcall vector's handler announced to Xen (once). */
bool rt_hvm_detect(void);
void rt_hvm_map_shared_info(void);
void rt_hvm_cpu_setup(void);
void rt_hvm_set_upcall(const char *handler);

/* vcpu `vcpu`'s vcpu_info: its slot in shared_info, or beyond the legacy
 * slots the one the runtime registered for it (rt.c). */
#if RT_MAX_VCPUS > XEN_LEGACY_MAX_VCPUS
extern struct vcpu_info *rt_vcpu_info_hi; /* vcpus XEN_LEGACY_MAX_VCPUS.. */
_Static_assert((RT_MAX_VCPUS - XEN_LEGACY_MAX_VCPUS) * sizeof(struct vcpu_info) <= RT_PAGE_SIZE,
               "the registered vcpu_infos fit a page");
#endif
static inline struct vcpu_info *rt_vcpu_info_of(unsigned int vcpu)
{
#if RT_MAX_VCPUS > XEN_LEGACY_MAX_VCPUS
    if (vcpu >= XEN_LEGACY_MAX_VCPUS)
        return &rt_vcpu_info_hi[vcpu - XEN_LEGACY_MAX_VCPUS];
#endif
    return &rt_shared->vcpu_info[vcpu];
}

/* Store `value` in n 64-bit words from d: one rep stosq, as _start zeroes .bss. */
static inline void rt_fill64(void *d, uint64_t value, size_t n)
{
    __asm__ __volatile__("rep stosq" : "+D"(d), "+c"(n) : "a"(value) : "memory");
}

#endif
