/*
 * evsim guest runtime: compile-time limits.  Plain #defines only, because
 * this file is included by head.S as well as by C.
 */
#ifndef EVGUEST_CONFIG_H
#define EVGUEST_CONFIG_H

/* The most vcpus the runtime supports (vcpu ids 0..63).  Beyond
 * XEN_LEGACY_MAX_VCPUS (32) a vcpu has no vcpu_info in shared_info: the
 * runtime registers one for it (VCPUOP_register_vcpu_info) before starting it. */
#define RT_VCPUS_LIMIT 64

/* Highest number of vcpus a guest program may use (vcpu ids 0..N-1).  It
 * sizes per-vcpu state in .bss, which _start zeroes 8 bytes at a time, so
 * programs keep the small default unless they need more: guests/CMakeLists.txt
 * builds those (EVSIM_GUEST_PROGRAMS_64) and a second copy of the runtime with
 * -DRT_MAX_VCPUS=64. */
#ifndef RT_MAX_VCPUS
#define RT_MAX_VCPUS 8
#endif
#if RT_MAX_VCPUS < 1 || RT_MAX_VCPUS > RT_VCPUS_LIMIT
#error "RT_MAX_VCPUS must be 1 to RT_VCPUS_LIMIT"
#endif

/* Vcpus whose stacks are in .bss (rt_stacks in head.S); the stacks of the
 * others are allocated when the first of them is started. */
#if RT_MAX_VCPUS > 8
#define RT_STATIC_VCPUS 8
#else
#define RT_STATIC_VCPUS RT_MAX_VCPUS
#endif

/* The page size (x86: 4 KiB).  Memory is flat: a page's gfn is its address / RT_PAGE_SIZE. */
#define RT_PAGE_SIZE 4096

/* Stack per vcpu.  The stacks sit side by side, in .bss for the first
 * RT_STATIC_VCPUS and in allocated pages for the others, which is also how
 * rt_vcpu_id() tells vcpus apart: by the stack the code is running on. */
#define RT_STACK_SIZE 16384

#endif
