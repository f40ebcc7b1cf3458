/*
 * Hypercalls for a 64-bit PV guest.
 *
 * Hypercall i is a call to hypercall_page + i*32, a stub the hypervisor
 * wrote there ("push %rcx; push %r11; mov $i,%eax; syscall; ...").
 * Arguments go in rdi, rsi, rdx, r10, r8; the result comes back in rax
 * (a negative Xen errno on failure).  We tell the compiler that the
 * argument registers, rcx, r11 and memory may all change.
 */
#ifndef EVGUEST_HYPERCALL_H
#define EVGUEST_HYPERCALL_H

#include "xen_public.h"

extern char hypercall_page[4096];

#define _hypercall(nr, a1, a2, a3, a4, a5)                                                         \
    __extension__({                                                                                \
        unsigned long __a1 = (unsigned long)(a1);                                                  \
        unsigned long __a2 = (unsigned long)(a2);                                                  \
        unsigned long __a3 = (unsigned long)(a3);                                                  \
        register unsigned long __a4 __asm__("r10") = (unsigned long)(a4);                          \
        register unsigned long __a5 __asm__("r8") = (unsigned long)(a5);                           \
        long __res;                                                                                \
        __asm__ __volatile__("call hypercall_page + %c[off]"                                       \
                             : "=a"(__res), "+D"(__a1), "+S"(__a2), "+d"(__a3), "+r"(__a4),        \
                               "+r"(__a5)                                                          \
                             : [off] "i"((nr)*32)                                                  \
                             : "memory", "rcx", "r11", "r9");                                      \
        __res;                                                                                     \
    })

#define _hypercall0(nr) _hypercall(nr, 0, 0, 0, 0, 0)
#define _hypercall1(nr, a) _hypercall(nr, a, 0, 0, 0, 0)
#define _hypercall2(nr, a, b) _hypercall(nr, a, b, 0, 0, 0)
#define _hypercall3(nr, a, b, c) _hypercall(nr, a, b, c, 0, 0)
#define _hypercall4(nr, a, b, c, d) _hypercall(nr, a, b, c, d, 0)
#define _hypercall5(nr, a, b, c, d, e) _hypercall(nr, a, b, c, d, e)

static inline long HYPERVISOR_set_timer_op(uint64_t deadline_ns)
{
    return _hypercall1(__HYPERVISOR_set_timer_op, deadline_ns);
}

static inline long HYPERVISOR_xen_version(int cmd, void *arg)
{
    return _hypercall2(__HYPERVISOR_xen_version, cmd, arg);
}

static inline long HYPERVISOR_console_io(int cmd, unsigned long len, const char *buf)
{
    return _hypercall3(__HYPERVISOR_console_io, cmd, len, buf);
}

static inline long HYPERVISOR_vcpu_op(int cmd, unsigned int vcpu, void *arg)
{
    return _hypercall3(__HYPERVISOR_vcpu_op, cmd, vcpu, arg);
}

static inline long HYPERVISOR_sched_op(int cmd, void *arg)
{
    return _hypercall2(__HYPERVISOR_sched_op, cmd, arg);
}

static inline long HYPERVISOR_callback_op(int cmd, void *arg)
{
    return _hypercall2(__HYPERVISOR_callback_op, cmd, arg);
}

static inline long HYPERVISOR_event_channel_op(int cmd, void *arg)
{
    return _hypercall2(__HYPERVISOR_event_channel_op, cmd, arg);
}

static inline long HYPERVISOR_physdev_op(int cmd, void *arg)
{
    return _hypercall2(__HYPERVISOR_physdev_op, cmd, arg);
}

static inline long HYPERVISOR_memory_op(unsigned int cmd, void *arg)
{
    return _hypercall2(__HYPERVISOR_memory_op, cmd, arg);
}

/* A device model's operations on the domain it serves (xen/hvm/dm_op.h). */
static inline long HYPERVISOR_dm_op(domid_t domid, unsigned int nr_bufs, void *bufs)
{
    return _hypercall3(__HYPERVISOR_dm_op, domid, nr_bufs, bufs);
}

/* HVM parameters and upcall vectors (xen/hvm/hvm_op.h). */
static inline long HYPERVISOR_hvm_op(unsigned int op, void *arg)
{
    return _hypercall2(__HYPERVISOR_hvm_op, op, arg);
}

/* The toolstack's domain control (struct xen_domctl, tools-only xen/domctl.h). */
static inline long HYPERVISOR_domctl(void *op)
{
    return _hypercall1(__HYPERVISOR_domctl, op);
}

/* HYPERVISOR_iret is not here: only the upcall exit in head.S uses it, and
 * it is jumped to, not called. */

#endif
