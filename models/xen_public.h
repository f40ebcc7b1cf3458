/* The one place evsim includes Xen's public headers (Debian libxen-dev, /usr/include/xen).
 * Every guest-visible struct and constant comes from there; this file only pins the interface
 * version and asserts the layouts the model relies on. */
#ifndef EVSIM_MODELS_XEN_PUBLIC_H
#define EVSIM_MODELS_XEN_PUBLIC_H

#include <stddef.h>
#include <stdint.h>

/* Outside Xen and its tools the headers default to the pre-3.2 interface, in which sched_op and
 * event_channel_op are the old compat hypercalls 6 and 16: ask for the interface of the Xen
 * 4.17 headers Debian ships. */
#ifndef __XEN_INTERFACE_VERSION__
#define __XEN_INTERFACE_VERSION__ 0x00040e00
#endif

#include <xen/xen.h>
#include <xen/event_channel.h>
#include <xen/sched.h>
#include <xen/vcpu.h>
#include <xen/callback.h>
#include <xen/version.h>
#include <xen/elfnote.h>
#include <xen/features.h>
#include <xen/physdev.h>
/* Ioreq servers (models/ioreq.c, dm_op.c, memory_op.c): the shared ioreq page and buffered ring,
 * HYPERVISOR_dm_op's structs, XENMEM_acquire_resource. */
#include <xen/hvm/ioreq.h>
#include <xen/hvm/dm_op.h>
#include <xen/hvm/hvm_op.h>
#include <xen/hvm/params.h>
#include <xen/hvm/hvm_vcpu.h>
#include <xen/memory.h>
/* The 32-bit x86 layouts (struct shared_info_x86_32, vcpu_info_x86_32): what Xen calls the
 * compat shared_info, used for 32-bit PV guests (models/shared_info.c). */
#include <xen/foreign/x86_32.h>

/* Xen's errno values (xen/errno.h), as an enum of XEN_E* names. */
#include <xen/errno.h>

_Static_assert(__HYPERVISOR_sched_op == 29 && __HYPERVISOR_event_channel_op == 32,
               "current hypercall numbers");
_Static_assert(sizeof(xen_ulong_t) == 8, "64-bit x86 Xen ABI expected");
_Static_assert(sizeof(struct vcpu_info) == 64, "vcpu_info is one cache line");
_Static_assert(offsetof(struct shared_info, evtchn_pending) == 2048, "2-level pending at 2048");
_Static_assert(offsetof(struct shared_info, evtchn_mask) == 2560, "2-level mask at 2560");
/* The compat layout (Xen's compat_shared_info / compat_vcpu_info): the bitmaps are 32 words of
 * 32 bits, so the mask starts at 2176; the selector is 32 bits at offset 4. Everything else the
 * model touches (upcall_pending, upcall_mask, time, the 64-byte legacy slots) is where the
 * native layout has it. */
_Static_assert(sizeof(struct vcpu_info_x86_32) == sizeof(struct vcpu_info), "64-byte vcpu_info");
_Static_assert(offsetof(struct vcpu_info_x86_32, evtchn_upcall_pending) == 0 &&
                   offsetof(struct vcpu_info_x86_32, evtchn_upcall_mask) == 1,
               "compat upcall bytes where the native ones are");
_Static_assert(offsetof(struct vcpu_info_x86_32, evtchn_pending_sel) == 4,
               "compat selector: 32 bits at offset 4");
_Static_assert(offsetof(struct vcpu_info_x86_32, time) == offsetof(struct vcpu_info, time) &&
                   sizeof(struct vcpu_time_info_x86_32) == sizeof(struct vcpu_time_info),
               "compat vcpu_time_info where the native one is");
_Static_assert(offsetof(struct shared_info_x86_32, evtchn_pending) == 2048,
               "compat pending at 2048");
_Static_assert(offsetof(struct shared_info_x86_32, evtchn_mask) == 2176, "compat mask at 2176");
_Static_assert(sizeof(((struct shared_info_x86_32 *)0)->evtchn_pending) == 32 * 4,
               "compat bitmaps: 32 words of 32 bits");
_Static_assert(XEN_LEGACY_MAX_VCPUS_X86_32 == XEN_LEGACY_MAX_VCPUS, "32 legacy slots in both");
_Static_assert(sizeof(struct shared_info_x86_32) <= sizeof(struct shared_info),
               "the native shared_info covers the compat one");
_Static_assert(sizeof(struct iret_context) == 9 * 8, "iret_context is 9 words");
_Static_assert(sizeof(struct evtchn_status) == 24, "evtchn_status layout");

/* Xen-internal: the sub-op EVTCHNOP_reset continues with (public header, __XEN__ only). */
#ifndef EVTCHNOP_reset_cont
#define EVTCHNOP_reset_cont 14
#endif

/* Tools-only values of <xen/hvm/hvm_op.h> (its __XEN_TOOLS__ block, which the model does not
 * enable as it would change other headers too): create_ioreq_server's handle_bufioreq. */
#ifndef HVM_IOREQSRV_BUFIOREQ_OFF
#define HVM_IOREQSRV_BUFIOREQ_OFF 0
#define HVM_IOREQSRV_BUFIOREQ_LEGACY 1
#define HVM_IOREQSRV_BUFIOREQ_ATOMIC 2
#endif
/* memory_op's command word: the sub-op in the low bits, a continuation's start extent above
 * (Xen's MEMOP_EXTENT_SHIFT / MEMOP_CMD_MASK, xen/include/xen/mm.h). */
#define MEMOP_EXTENT_SHIFT 6
#define MEMOP_CMD_MASK ((1u << MEMOP_EXTENT_SHIFT) - 1)

_Static_assert(__HYPERVISOR_dm_op == 41 && __HYPERVISOR_memory_op == 12, "hypercall numbers");
_Static_assert(sizeof(ioreq_t) == 32, "one 32-byte ioreq_t slot per vcpu");
_Static_assert(sizeof(buf_ioreq_t) == 8 && sizeof(buffered_iopage_t) == 4096,
               "the buffered ring is one page of 511 slots");
_Static_assert(offsetof(buffered_iopage_t, write_pointer) == 4, "read, then write pointer");
_Static_assert(sizeof(struct xen_dm_op_buf) == 16, "dm_op buffer: handle and size");

#define XEN_PAGE_SIZE 4096u
#define HYPERCALL_STUB_SIZE 32u /* one stub per hypercall in the hypercall page */

#endif
