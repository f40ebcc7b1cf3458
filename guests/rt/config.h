/*
 * evsim guest runtime: compile-time limits.  Plain #defines only, because
 * this file is included by head.S as well as by C.
 */
#ifndef EVGUEST_CONFIG_H
#define EVGUEST_CONFIG_H

/* Highest number of vcpus a guest program may use (vcpu ids 0..N-1). */
#define RT_MAX_VCPUS 9

/* The page size (x86: 4 KiB).  Memory is flat: a page's gfn is its address / RT_PAGE_SIZE. */
#define RT_PAGE_SIZE 4096

/* Stack per vcpu.  The stacks sit side by side in .bss, which is also how
 * rt_vcpu_id() tells vcpus apart: by the stack the code is running on. */
#define RT_STACK_SIZE 16384

#endif
