/*
 * evsim guest runtime: event channels, 2-level ABI.
 *
 * shared_info holds two bitmaps of 4096 bits each (64 words of 64 bits):
 * evtchn_pending[] and evtchn_mask[].  Each vcpu_info holds
 * evtchn_upcall_pending (a byte), evtchn_upcall_mask (a byte: "events off")
 * and evtchn_pending_sel (one bit per pending[] word with work in it).
 *
 * When a port becomes pending and is not masked, Xen sets its word's bit in
 * pending_sel and upcall_pending of the port's vcpu, and enters our
 * callback (head.S: hypervisor_callback -> rt_upcall) once that vcpu has
 * events enabled (upcall_mask == 0).
 */
#include "rt.h"
#include "rt_internal.h"

#define WORD_BITS (sizeof(xen_ulong_t) * 8) /* 64 */
#define NR_WORDS (sizeof(((shared_info_t *)0)->evtchn_pending) / sizeof(xen_ulong_t))
#define NR_PORTS (NR_WORDS * WORD_BITS) /* 4096 */

/* What to call for each port. */
static struct {
    rt_handler_t fn;
    void *arg;
} handlers[NR_PORTS];

/* Which ports each vcpu handles (Linux keeps the same per-cpu bitmap): a
 * pending word can hold ports of several vcpus, and each must only take
 * its own. */
static xen_ulong_t vcpu_ports[RT_MAX_VCPUS][NR_WORDS];

/* Fairness: where each vcpu's next scan starts (just after the last port
 * it handled), as Linux's events_2l.c does, so that a busy low port cannot
 * starve the ports above it. */
static struct {
    unsigned int word, bit;
} resume[RT_MAX_VCPUS];

/* ---- atomic bit operations on the shared bitmaps -------------------- */
/* "lock" makes each read-modify-write atomic with respect to Xen and the
 * other vcpus, which update the same words concurrently. */

static inline void sync_set_bit(unsigned int nr, volatile xen_ulong_t *words)
{
    __asm__ __volatile__("lock btsq %1, %0"
                         : "+m"(words[nr / WORD_BITS])
                         : "r"((xen_ulong_t)(nr % WORD_BITS))
                         : "memory");
}

static inline void sync_clear_bit(unsigned int nr, volatile xen_ulong_t *words)
{
    __asm__ __volatile__("lock btrq %1, %0"
                         : "+m"(words[nr / WORD_BITS])
                         : "r"((xen_ulong_t)(nr % WORD_BITS))
                         : "memory");
}

static inline bool test_bit(unsigned int nr, const volatile xen_ulong_t *words)
{
    return (words[nr / WORD_BITS] >> (nr % WORD_BITS)) & 1;
}

void rt_mask(evtchn_port_t port)
{
    sync_set_bit(port, rt_shared->evtchn_mask);
}

void rt_clear_pending(evtchn_port_t port)
{
    sync_clear_bit(port, rt_shared->evtchn_pending);
}

bool rt_is_pending(evtchn_port_t port)
{
    return test_bit(port, rt_shared->evtchn_pending);
}

bool rt_is_masked(evtchn_port_t port)
{
    return test_bit(port, rt_shared->evtchn_mask);
}

/* ---- the upcall --------------------------------------------------------- */

static void handle_port(evtchn_port_t port)
{
    rt_clear_pending(port); /* first, so a new send while we run is kept */
    if (handlers[port].fn != NULL)
        handlers[port].fn(port, handlers[port].arg);
}

/*
 * Handle every pending, unmasked port of this vcpu in the words named by
 * `sel`.  The scan starts at the resume point and goes round once: the
 * starting word is visited twice, first from the resume bit up, and at the
 * end for the bits below it.
 */
static void scan_ports(unsigned int cpu, xen_ulong_t sel)
{
    volatile xen_ulong_t *pending = rt_shared->evtchn_pending;
    volatile xen_ulong_t *mask = rt_shared->evtchn_mask;
    unsigned int w0 = resume[cpu].word, b0 = resume[cpu].bit;

    for (unsigned int k = 0; k <= NR_WORDS; k++) {
        unsigned int w = (w0 + k) % NR_WORDS;
        if (!((sel >> w) & 1))
            continue;

        xen_ulong_t bits = pending[w] & ~mask[w] & vcpu_ports[cpu][w];
        if (k == 0)
            bits &= ~(xen_ulong_t)0 << b0; /* resume bit and up */
        else if (k == NR_WORDS)
            bits &= ((xen_ulong_t)1 << b0) - 1; /* the rest of it */

        while (bits != 0) {
            unsigned int b = (unsigned int)__builtin_ctzl(bits);
            bits &= bits - 1;
            handle_port((evtchn_port_t)(w * WORD_BITS + b));
            /* next time, start just after this port */
            resume[cpu].word = b + 1 < WORD_BITS ? w : (w + 1) % NR_WORDS;
            resume[cpu].bit = (b + 1) % WORD_BITS;
        }
    }
}

/* Called by hypervisor_callback (head.S), with events masked. */
void rt_upcall(void)
{
    unsigned int cpu = rt_vcpu_id();
    struct vcpu_info *vi = &rt_shared->vcpu_info[cpu];
    volatile uint8_t *upcall_pending = &vi->evtchn_upcall_pending;

    do {
        *upcall_pending = 0; /* clear first: a later event sets it again */
        xen_ulong_t sel = __atomic_exchange_n(&vi->evtchn_pending_sel, 0, __ATOMIC_SEQ_CST);
        scan_ports(cpu, sel);
    } while (*upcall_pending);
}

/* ---- enabling and waiting ------------------------------------------- */

void rt_events_disable(void)
{
    *(volatile uint8_t *)&rt_vcpu_info()->evtchn_upcall_mask = 1;
    rt_barrier();
}

void rt_events_enable(void)
{
    struct vcpu_info *vi = rt_vcpu_info();
    rt_barrier();
    *(volatile uint8_t *)&vi->evtchn_upcall_mask = 0;
    rt_barrier();
    /* Anything that arrived while masked is only delivered on the next
     * return from Xen: make one with a cheap hypercall, as Linux does. */
    if (*(volatile uint8_t *)&vi->evtchn_upcall_pending)
        HYPERVISOR_xen_version(XENVER_version, NULL);
}

void rt_wait(volatile bool *flag)
{
    for (;;) {
        /* Check with events off, so an event cannot slip in between the
         * check and the block.  SCHEDOP_block turns events back on and
         * returns at once if one is already waiting; its handler has run
         * by the time the hypercall returns. */
        rt_events_disable();
        if (*flag)
            break;
        HYPERVISOR_sched_op(SCHEDOP_block, NULL);
    }
    rt_events_enable();
}

void rt_yield(void)
{
    HYPERVISOR_sched_op(SCHEDOP_yield, NULL);
}

/* SCHEDOP_poll on no port with a timeout: Xen's way to sleep until then. */
void rt_sleep_ns(uint64_t ns)
{
    struct sched_poll poll = {.nr_ports = 0, .timeout = rt_now_ns() + ns};
    HYPERVISOR_sched_op(SCHEDOP_poll, &poll);
}

/* ---- setup ------------------------------------------------------------- */

extern char hypervisor_callback[]; /* head.S */

void rt_events_init(void)
{
    /* Start with every port masked; rt_bind_handler() unmasks ports as
     * handlers are installed (Linux and mini-os do the same). */
    for (unsigned int w = 0; w < NR_WORDS; w++)
        rt_shared->evtchn_mask[w] = ~(xen_ulong_t)0;
}

void rt_events_init_vcpu(void)
{
    struct callback_register cb = {
        .type = CALLBACKTYPE_event,
        .flags = CALLBACKF_mask_events,
        .address = (xen_callback_t)hypervisor_callback,
    };
    rt_check(HYPERVISOR_callback_op(CALLBACKOP_register, &cb),
             "CALLBACKOP_register(event) on vcpu %u", rt_vcpu_id());
    rt_events_enable();
}

/* ---- binding ------------------------------------------------------------ */

void rt_bind_handler(evtchn_port_t port, rt_handler_t fn, void *arg)
{
    unsigned int cpu = rt_vcpu_id();
    if (port == 0 || port >= NR_PORTS)
        rt_panic("rt_bind_handler: bad port %u", port);
    handlers[port].fn = fn;
    handlers[port].arg = arg;
    for (unsigned int v = 0; v < RT_MAX_VCPUS; v++)
        sync_clear_bit(port, vcpu_ports[v]);
    sync_set_bit(port, vcpu_ports[cpu]);
    rt_unmask(port);
}

long rt_evtchn_op(int cmd, void *arg)
{
    return HYPERVISOR_event_channel_op(cmd, arg);
}

evtchn_port_t rt_alloc_unbound(domid_t remote_dom)
{
    struct evtchn_alloc_unbound op = {.dom = DOMID_SELF, .remote_dom = remote_dom};
    rt_check(rt_evtchn_op(EVTCHNOP_alloc_unbound, &op), "EVTCHNOP_alloc_unbound(remote dom %u)",
             remote_dom);
    return op.port;
}

evtchn_port_t rt_bind_virq(uint32_t virq, uint32_t vcpu)
{
    struct evtchn_bind_virq op = {.virq = virq, .vcpu = vcpu};
    rt_check(rt_evtchn_op(EVTCHNOP_bind_virq, &op), "EVTCHNOP_bind_virq(virq %u, vcpu %u)", virq,
             vcpu);
    return op.port;
}

evtchn_port_t rt_bind_ipi(uint32_t vcpu)
{
    struct evtchn_bind_ipi op = {.vcpu = vcpu};
    rt_check(rt_evtchn_op(EVTCHNOP_bind_ipi, &op), "EVTCHNOP_bind_ipi(vcpu %u)", vcpu);
    return op.port;
}

/* The peer may come up late (another CPU's queue, a busy machine): keep trying for a second of
 * Xen time, sleeping in between rather than spinning. */
#define BIND_WAIT_NS 1000000000ull
#define BIND_RETRY_SLEEP_NS 50000ull

evtchn_port_t rt_bind_interdomain(domid_t remote_dom, evtchn_port_t remote_port)
{
    struct evtchn_bind_interdomain op = {
        .remote_dom = remote_dom,
        .remote_port = remote_port,
    };
    uint64_t give_up = rt_now_ns() + BIND_WAIT_NS;
    for (unsigned int tries = 1;; tries++) {
        long rc = rt_evtchn_op(EVTCHNOP_bind_interdomain, &op);
        if (rc == 0)
            return op.local_port;
        /* -EINVAL: the peer has not allocated that port yet;
         * -ESRCH: the peer domain does not exist (yet). */
        if ((rc != -XEN_EINVAL && rc != -XEN_ESRCH) || rt_now_ns() >= give_up)
            rt_check(rc, "EVTCHNOP_bind_interdomain(dom %u, port %u) after %u tries", remote_dom,
                     remote_port, tries);
        rt_sleep_ns(BIND_RETRY_SLEEP_NS);
    }
}

void rt_send(evtchn_port_t port)
{
    struct evtchn_send op = {.port = port};
    rt_check(rt_evtchn_op(EVTCHNOP_send, &op), "EVTCHNOP_send(port %u)", port);
}

void rt_unmask(evtchn_port_t port)
{
    struct evtchn_unmask op = {.port = port};
    rt_check(rt_evtchn_op(EVTCHNOP_unmask, &op), "EVTCHNOP_unmask(port %u)", port);
}
