/* The one place evsim includes Xen's public headers (Debian libxen-dev, /usr/include/xen).
 * Every guest-visible struct and constant comes from there; this file only pins the interface
 * version and asserts the layouts the model relies on. */
#ifndef EVSIM_MODELS_XEN_PUBLIC_H
#define EVSIM_MODELS_XEN_PUBLIC_H

#include <stddef.h>
#include <stdint.h>

#include <xen/xen.h>
#include <xen/event_channel.h>
#include <xen/sched.h>
#include <xen/vcpu.h>
#include <xen/callback.h>
#include <xen/version.h>
#include <xen/elfnote.h>

/* Xen's errno values (xen/errno.h), as an enum of XEN_E* names. */
#include <xen/errno.h>

_Static_assert(sizeof(xen_ulong_t) == 8, "64-bit x86 Xen ABI expected");
_Static_assert(sizeof(struct vcpu_info) == 64, "vcpu_info is one cache line");
_Static_assert(offsetof(struct shared_info, evtchn_pending) == 2048, "2-level pending at 2048");
_Static_assert(offsetof(struct shared_info, evtchn_mask) == 2560, "2-level mask at 2560");
_Static_assert(sizeof(struct iret_context) == 9 * 8, "iret_context is 9 words");
_Static_assert(sizeof(struct evtchn_status) == 24, "evtchn_status layout");

#define XEN_PAGE_SIZE 4096u
#define HYPERCALL_STUB_SIZE 32u /* one stub per hypercall in the hypercall page */

#endif
