/*
 * evsim guest runtime: what the event-channel files share (internal).
 *
 * events.c is the ABI-independent part: choosing the ABI at boot (abi=2l|3l|fifo), the event
 * callback, enabling and waiting, the handler table, the bind wrappers and the rt_mask /
 * rt_unmask / ... entry points, which call the chosen ABI's ops.  Each ABI is one file behind
 * a const struct rt_evtchn_ops:
 *
 *   events_2l.c    2-level: shared_info bitmaps, one selector word per vcpu (4096 ports)
 *   events_3l.c    3-level: 8-page bitmaps, L1 selector in vcpu_info + an L2 selector page
 *                  per vcpu (262,144 ports; EVTCHNOP_register_extended, include/evsim/xen_3l.h)
 *   events_fifo.c  FIFO: an event word per port in event-array pages, a control block per
 *                  vcpu with 16 priority queues (131,072 ports)
 *
 * The upcall itself is not an indirect call: head.S has one callback entry per ABI, each
 * calling its consumer directly, and the chosen ABI's entry is the one registered.
 */
#ifndef EVGUEST_EVENTS_H
#define EVGUEST_EVENTS_H

#include "rt.h"

struct rt_evtchn_ops {
    const char *name;      /* as in abi=<name> */
    unsigned int nr_ports; /* ports the ABI can name: 0 .. nr_ports-1 */
    const char *entry;     /* head.S callback entry that calls upcall() (CALLBACKOP_register) */
    const char *hvm_entry; /* the same as an HVM interrupt handler (the upcall vector's gate) */
    void (*upcall)(void);  /* the consumer: handle this vcpu's events (events masked) */
    /* Boot, on vcpu 0, after its callback is registered and before events are enabled;
     * NULL: nothing to do.  setup_vcpu(0) follows setup(). */
    void (*setup)(void);
    /* Per-vcpu registration; for vcpus other than 0 called on vcpu 0 by rt_start_vcpu
     * between VCPUOP_initialise and VCPUOP_up (Linux does it at CPU_UP_PREPARE).  NULL: none. */
    void (*setup_vcpu)(unsigned int vcpu);
    /* Make sure the guest has the memory that holds a bound port's state (FIFO: expand the
     * event array); called by the bind wrappers and rt_bind_handler.  NULL: always backed. */
    void (*ensure_port)(evtchn_port_t port);
    /* rt_bind_handler: `port` is handled on `vcpu` from now on.  NULL: the ABI needs no
     * per-vcpu filter (FIFO queues are per vcpu already). */
    void (*set_owner)(evtchn_port_t port, unsigned int vcpu);
    void (*mask)(evtchn_port_t port);
    void (*unmask)(evtchn_port_t port); /* re-raises the port if it is pending */
    void (*clear_pending)(evtchn_port_t port);
    bool (*is_pending)(evtchn_port_t port);
    bool (*is_masked)(evtchn_port_t port);
};

extern const struct rt_evtchn_ops rt_evtchn_ops_2l, rt_evtchn_ops_3l, rt_evtchn_ops_fifo;
extern const struct rt_evtchn_ops *rt_evtchn; /* the ABI chosen at boot */

/* head.S: the callback entries, and the consumers they call. */
extern char hypervisor_callback_2l[], hypervisor_callback_3l[], hypervisor_callback_fifo[];
extern char hvm_callback_2l[], hvm_callback_3l[], hvm_callback_fifo[];
void rt_upcall_2l(void);
void rt_upcall_3l(void);
void rt_upcall_fifo(void);

/* ---- handlers ----------------------------------------------------------- */

struct rt_handler {
    rt_handler_t fn;
    void *arg;
};

/* Ports below 4096 (every 2-level port) have a static slot; higher ones (3-level, FIFO) get
 * theirs in pages from rt_alloc_pages, allocated when a handler is bound. */
#define RT_LOW_PORTS EVTCHN_2L_NR_CHANNELS
#define RT_MAX_PORTS 262144u /* the most any ABI has: 3-level, 64-bit guest */
extern struct rt_handler rt_handlers[RT_LOW_PORTS];
struct rt_handler *rt_handler_high(evtchn_port_t port); /* NULL: none bound */

/* Run the handler of `port`, if it has one (its pending bit already cleared). */
static inline void rt_run_handler(evtchn_port_t port)
{
    const struct rt_handler *h = port < RT_LOW_PORTS ? &rt_handlers[port] : rt_handler_high(port);
    if (h != NULL && h->fn != NULL)
        h->fn(port, h->arg);
}

/* ---- atomic bit operations on bitmaps shared with Xen ------------------ */
/* "lock" makes each read-modify-write atomic with respect to Xen and the
 * other vcpus, which update the same words concurrently. */

#define RT_WORD_BITS (sizeof(xen_ulong_t) * 8) /* 64 */

static inline void rt_sync_set_bit(unsigned int nr, volatile xen_ulong_t *words)
{
    __asm__ __volatile__("lock btsq %1, %0"
                         : "+m"(words[nr / RT_WORD_BITS])
                         : "r"((xen_ulong_t)(nr % RT_WORD_BITS))
                         : "memory");
}

static inline void rt_sync_clear_bit(unsigned int nr, volatile xen_ulong_t *words)
{
    __asm__ __volatile__("lock btrq %1, %0"
                         : "+m"(words[nr / RT_WORD_BITS])
                         : "r"((xen_ulong_t)(nr % RT_WORD_BITS))
                         : "memory");
}

static inline bool rt_test_bit(unsigned int nr, const volatile xen_ulong_t *words)
{
    return (words[nr / RT_WORD_BITS] >> (nr % RT_WORD_BITS)) & 1;
}

/* ---- events off around short critical sections --------------------------- */

/* Mask this vcpu's upcalls; returns the previous mask for rt_events_restore. An HVM guest
 * masks them with its interrupt flag (Xen injects the upcall vector only with IF set). */
static inline uint8_t rt_events_save(void)
{
    if (rt_hvm) {
        uint64_t flags;
        __asm__ __volatile__("pushfq; pop %0; cli" : "=r"(flags) : : "memory");
        return (flags & 0x200) ? 0 : 1;
    }
    volatile uint8_t *m = &rt_vcpu_info()->evtchn_upcall_mask;
    uint8_t old = *m;
    *m = 1;
    rt_barrier();
    return old;
}

static inline void rt_events_restore(uint8_t old)
{
    if (old == 0)
        rt_events_enable();
}

/* A spinlock for the runtime's slow paths (growing tables), taken with events off so that a
 * handler on the same vcpu cannot deadlock on it. */
static inline uint8_t rt_lock(volatile int *lock)
{
    uint8_t ev = rt_events_save();
    while (__atomic_exchange_n(lock, 1, __ATOMIC_ACQUIRE) != 0)
        while (*lock != 0)
            __asm__ __volatile__("pause" ::: "memory");
    return ev;
}

static inline void rt_unlock(volatile int *lock, uint8_t ev)
{
    __atomic_store_n(lock, 0, __ATOMIC_RELEASE);
    rt_events_restore(ev);
}

#endif
