/*
 * The Xen public interface, as shipped in /usr/include/xen (Debian
 * libxen-dev).  Every struct and constant the guests share with the
 * hypervisor comes from these headers.
 */
#ifndef EVGUEST_XEN_PUBLIC_H
#define EVGUEST_XEN_PUBLIC_H

/* Without this the headers give the pre-3.2 ABI, where sched_op and
 * event_channel_op are the old "compat" hypercalls 6 and 16. */
#define __XEN_INTERFACE_VERSION__ 0x00040e00

#include <stdint.h> /* the Xen headers need these, and do not include them */
#include <stddef.h>

#include <xen/xen.h>
#include <xen/event_channel.h>
#include <xen/sched.h>
#include <xen/vcpu.h>
#include <xen/callback.h>
#include <xen/physdev.h>
#include <xen/version.h>
#include <xen/errno.h>
#include <xen/hvm/hvm_vcpu.h>

#endif
