/* The event sink: how the model tells the simulator that something outside the model must happen
 * (a vcpu must be kicked or woken, a timer armed, a line printed). sim/ implements it on top of
 * SystemC; tests record the calls. Every callback may read v->hcall_cycles, the cycles the current
 * hypercall has been charged so far. */
#ifndef EVSIM_MODELS_SINK_H
#define EVSIM_MODELS_SINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vcpu;
struct domain;

enum hv_timer_kind {
    HV_TIMER_SINGLESHOT, /* set_timer_op: expiry raises VIRQ_TIMER */
    HV_TIMER_POLL,       /* SCHEDOP_poll timeout: expiry ends the poll */
    HV_TIMER_PERIODIC,   /* the PV periodic ticker (100 Hz unless changed): raises VIRQ_TIMER */
    HV_TIMER_KINDS
};

/* Guest pages that the FIFO and 3-level ABIs share with Xen (the 2-level ABI only uses
 * shared_info), and the pages vcpus moved their vcpu_info to (any ABI). `index` is the page's
 * place in its array: the ports it holds start at index * ports-per-page (1024 for a FIFO
 * event-array page, 32768 for a 64-bit 3-level bitmap page); 0 for control blocks and
 * selectors; the vcpu id for a vcpu_info. */
enum hv_event_page_kind {
    HV_PAGE_FIFO_CONTROL, /* a vcpu's control block (init_control) */
    HV_PAGE_FIFO_ARRAY,   /* an event-array page (expand_array) */
    HV_PAGE_3L_PENDING,   /* a pending bitmap page (register_extended phase 1) */
    HV_PAGE_3L_MASK,      /* a mask bitmap page */
    HV_PAGE_3L_L2SEL,     /* a vcpu's second-level selector (phase 2) */
    HV_PAGE_VCPU_INFO,    /* a vcpu's vcpu_info (VCPUOP_register_vcpu_info); index: vcpu id */
    HV_PAGE_IOREQ,        /* an ioreq server's page (the ioreq_page hook; never event_page) */
    HV_PAGE_SHARED_INFO,  /* shared_info where add_to_physmap put it (the ioreq_page hook) */
    HV_PAGE_KINDS
};

/* Steps of an event path the model takes, named for the teaching mode (sim/explain.c). Each is
 * announced as it begins; what it changed is what the shared state shows when the next one
 * begins (docs/teaching.md). */
enum hv_step_kind {
    HV_STEP_SEND,           /* evtchn_send: port of d, by v */
    HV_STEP_SET_PENDING,    /* evtchn_port_set_pending: the ABI raises port of d on v */
    HV_STEP_MARK,           /* vcpu_mark_events_pending: v's upcall may become pending */
    HV_STEP_UNMASK,         /* evtchn_port_unmask: port of d */
    HV_STEP_BIND,           /* a port of d became bound (its state, notify vcpu) */
    HV_STEP_CLOSE,          /* evtchn_close: port of d */
    HV_STEP_VIRQ,           /* send_guest_*_virq: arg is the VIRQ, port the one bound (0: none) */
    HV_STEP_PIRQ,           /* pirq_raise: arg is the line, port the one bound (0: none) */
    HV_STEP_NOTIFY_XEN,     /* notify_via_xen_event_channel: Xen raises the remote end of port */
    HV_STEP_XEN_CONSUMER,   /* a port consumed inside Xen (an ioreq port) was notified */
    HV_STEP_IOREQ_SEND,     /* ioreq_send: v's access goes to server arg's slot; port: its port */
    HV_STEP_IOREQ_BUFFERED, /* ioreq_send_buffered: into server arg's ring; port: its port */
    HV_STEP_IOREQ_COMPLETE, /* vcpu_ioreq_handle_completion: v's access is answered */
    HV_STEP_POLL_WAKE,      /* evtchn_check_pollers: port of d went pending, v polled it */
    HV_STEP_POLL_TIMEOUT,   /* poll_timer_fn: v's SCHEDOP_poll timed out */
    HV_STEP_KINDS
};

struct hv_sink_ops {
    /* upcall_pending of v went 0 -> 1: v must notice (IPI if it runs elsewhere, nothing if here).
     */
    void (*kick)(void *opaque, struct vcpu *v);
    /* v was blocked (SCHEDOP_block or poll) and is runnable again. */
    void (*wake)(void *opaque, struct vcpu *v);
    /* Arm (deadline_ns != 0, absolute Xen system time) or stop (0) one of v's timers. */
    void (*timer)(void *opaque, struct vcpu *v, enum hv_timer_kind kind, uint64_t deadline_ns);
    /* VCPUOP_up on an initialised vcpu: start running it from v->initial_regs. */
    void (*vcpu_up)(void *opaque, struct vcpu *v);
    /* VCPUOP_down: stop running v. */
    void (*vcpu_down)(void *opaque, struct vcpu *v);
    /* HYPERVISOR_console_io(CONSOLEIO_write). */
    void (*console)(void *opaque, struct vcpu *v, const char *buf, size_t len);
    /* SCHEDOP_shutdown: the domain stops; reason is SHUTDOWN_*. */
    void (*shutdown)(void *opaque, struct domain *d, unsigned reason);
    /* Optional: port of d was raised for vcpu v. cycles_before/after: the current hypercall's
     * charges when set_pending began and ended (0 outside a hypercall); newly_pending: the port
     * went pending (an event to deliver), else it coalesced or was dropped (masked, closed). */
    void (*raise)(void *opaque, struct domain *d, uint32_t port, struct vcpu *v,
                  uint64_t cycles_before, uint64_t cycles_after, bool newly_pending);
    /* Xen system time now, as seen by v (its local time under the quantum keeper), in ns. */
    uint64_t (*now_ns)(void *opaque, struct vcpu *v);
    /* Optional: publish the time in v's vcpu_info now (Xen's force_update_vcpu_system_time),
     * as the simulator does when it schedules v in. */
    void (*update_time)(void *opaque, struct vcpu *v);
    /* Arm (deadline_ns != 0, absolute Xen system time) or stop (0) the EOI timer of d's pirq
     * (Xen's per-irq eoi_timer: 1 ms after a level line fired). Expiry:
     * pirq_eoi_timer_expired. */
    void (*pirq_timer)(void *opaque, struct domain *d, unsigned pirq, uint64_t deadline_ns);
    /* Optional: the guest page at gpa became event memory of d, shared with Xen (the simulator
     * prices guest accesses to it and watches it for consumed events). Called after the
     * registration succeeded, once per page. */
    void (*event_page)(void *opaque, struct domain *d, uint64_t gpa, enum hv_event_page_kind kind,
                       unsigned index);
    /* Optional: d went back to the 2-level ABI (reset, failed set-up, destruction): every page
     * event_page announced is ordinary memory again, except vcpu_info pages (HV_PAGE_VCPU_INFO),
     * which Xen keeps using whatever the ABI. */
    void (*event_pages_released)(void *opaque, struct domain *d);
    /* Optional: a line of Xen's own ("printk: 3 messages suppressed."), without newline. */
    void (*xen_line)(void *opaque, const char *text);
    /* Optional: v waits in Xen for an emulator (blocked: Xen's _VPF_blocked_in_xen was set by a
     * synchronous ioreq, v must not run), or may run again (!blocked: the emulator notified
     * v's ioreq port; the simulator then calls ioreq_complete, models/ioreq.h). */
    void (*xen_wait)(void *opaque, struct vcpu *v, bool blocked);
    /* Optional: a page of Xen's appears at, or (page NULL) disappears from, guest frame gfn of
     * d: XENMEM_acquire_resource mapped an ioreq server page into the emulator d (page: the
     * model's XEN_PAGE_SIZE bytes, which stay valid until the same call with NULL), enabling a
     * server took its GFN-mapped page out of the target d's physmap and disabling put the
     * guest's own frame back (page: that frame's host memory), or XENMEM_add_to_physmap put
     * d's shared_info there (page: shared_info_ptr(d)). */
    void (*ioreq_page)(void *opaque, struct domain *d, uint64_t gfn, void *page);
    /* Optional: the model begins a step of an event path (teaching mode). v may be NULL. */
    void (*step)(void *opaque, enum hv_step_kind kind, struct domain *d, uint32_t port,
                 struct vcpu *v, uint32_t arg);
};

#endif
