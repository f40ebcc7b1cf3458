/*
 * evsim guest runtime: event channels, the part every ABI shares.
 *
 * The ABI is chosen at boot from the command line word abi=2l|3l|fifo
 * (default 2l).  Everything that depends on it goes through the chosen
 * struct rt_evtchn_ops (events.h): events_2l.c, events_3l.c, events_fifo.c.
 * What is here is the same for all three: the event callback, enabling
 * and waiting, the handler table and the EVTCHNOP wrappers.
 */
#include "events.h"
#include "rt_internal.h"

const struct rt_evtchn_ops *rt_evtchn = &rt_evtchn_ops_2l;

/* ---- the current ABI's per-port state (no hypercall) ------------------- */

void rt_mask(evtchn_port_t port)
{
    rt_evtchn->mask(port);
}

void rt_clear_pending(evtchn_port_t port)
{
    rt_evtchn->clear_pending(port);
}

bool rt_is_pending(evtchn_port_t port)
{
    return rt_evtchn->is_pending(port);
}

bool rt_is_masked(evtchn_port_t port)
{
    return rt_evtchn->is_masked(port);
}

void rt_unmask(evtchn_port_t port)
{
    rt_evtchn->unmask(port);
}

const char *rt_evtchn_abi(void)
{
    return rt_evtchn->name;
}

/* ---- handlers ----------------------------------------------------------- */

/* What to call for each port: ports below 4096 here... */
struct rt_handler rt_handlers[RT_LOW_PORTS];

/* ... the others (3-level, FIFO) in pages of 256 slots, found through a
 * directory; both are allocated when the first handler needs them. */
#define SLOTS_PER_PAGE (RT_PAGE_SIZE / sizeof(struct rt_handler))
#define DIR_ENTRIES ((RT_MAX_PORTS - RT_LOW_PORTS) / SLOTS_PER_PAGE)
#define DIR_PAGES ((DIR_ENTRIES * sizeof(struct rt_handler *) + RT_PAGE_SIZE - 1) / RT_PAGE_SIZE)

static struct rt_handler **handler_dir;
static volatile int handler_lock;

struct rt_handler *rt_handler_high(evtchn_port_t port)
{
    struct rt_handler **dir = __atomic_load_n(&handler_dir, __ATOMIC_ACQUIRE);
    unsigned int i = (port - RT_LOW_PORTS) / SLOTS_PER_PAGE;
    if (dir == NULL || port >= RT_MAX_PORTS)
        return NULL;
    struct rt_handler *page = __atomic_load_n(&dir[i], __ATOMIC_ACQUIRE);
    return page != NULL ? &page[(port - RT_LOW_PORTS) % SLOTS_PER_PAGE] : NULL;
}

/* The slot of `port`, allocating its page if needed. */
static struct rt_handler *handler_slot(evtchn_port_t port)
{
    if (port < RT_LOW_PORTS)
        return &rt_handlers[port];
    if (port >= RT_MAX_PORTS)
        rt_panic("rt_bind_handler: bad port %u", port);
    struct rt_handler *h = rt_handler_high(port);
    if (h == NULL) {
        uint8_t ev = rt_lock(&handler_lock);
        if (handler_dir == NULL)
            __atomic_store_n(&handler_dir, rt_alloc_pages(DIR_PAGES), __ATOMIC_RELEASE);
        unsigned int i = (port - RT_LOW_PORTS) / SLOTS_PER_PAGE;
        if (handler_dir[i] == NULL)
            __atomic_store_n(&handler_dir[i], rt_alloc_pages(1), __ATOMIC_RELEASE);
        rt_unlock(&handler_lock, ev);
        h = rt_handler_high(port);
    }
    return h;
}

/* ---- enabling and waiting ------------------------------------------- */

void rt_events_disable(void)
{
    if (rt_hvm)
        __asm__ __volatile__("cli" ::: "memory");
    else
        *(volatile uint8_t *)&rt_vcpu_info()->evtchn_upcall_mask = 1;
    rt_barrier();
}

void rt_events_enable(void)
{
    struct vcpu_info *vi = rt_vcpu_info();
    rt_barrier();
    if (rt_hvm)
        __asm__ __volatile__("sti" ::: "memory");
    else
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
        if (rt_hvm) /* the vector comes after sti's one-instruction shadow: no wake-up lost */
            __asm__ __volatile__("sti; hlt" ::: "memory");
        else
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

static void register_callback(void)
{
    if (rt_hvm) { /* the vector covers every vcpu: each only needs its IDT */
        rt_hvm_cpu_setup();
        if (rt_vcpu_id() == 0)
            rt_hvm_set_upcall(rt_evtchn->hvm_entry);
        return;
    }
    struct callback_register cb = {
        .type = CALLBACKTYPE_event,
        .flags = CALLBACKF_mask_events,
        .address = (xen_callback_t)(uintptr_t)rt_evtchn->entry,
    };
    rt_check(HYPERVISOR_callback_op(CALLBACKOP_register, &cb),
             "CALLBACKOP_register(event) on vcpu %u", rt_vcpu_id());
}

/* Boot, on vcpu 0: choose the ABI, mask every port, register the callback,
 * set the ABI up and enable events. */
void rt_events_init(void)
{
    const char *abi = rt_arg_str("abi", "2l");
    if (strcmp(abi, "2l") == 0)
        rt_evtchn = &rt_evtchn_ops_2l;
    else if (strcmp(abi, "3l") == 0)
        rt_evtchn = &rt_evtchn_ops_3l;
    else if (strcmp(abi, "fifo") == 0)
        rt_evtchn = &rt_evtchn_ops_fifo;
    else
        rt_panic("unknown event channel ABI 'abi=%s': expected abi=2l, abi=3l or abi=fifo", abi);

    /* Start with every port masked; rt_bind_handler() unmasks ports as
     * handlers are installed (Linux and mini-os do the same).  The 3-level
     * ABI carries these bits over; FIFO starts its own words masked. */
    for (unsigned int w = 0; w < RT_ARRAY_SIZE(rt_shared->evtchn_mask); w++)
        rt_shared->evtchn_mask[w] = ~(xen_ulong_t)0;

    if (rt_evtchn != &rt_evtchn_ops_2l)
        rt_printf("rt: event channel ABI %s\n", rt_evtchn->name);
    register_callback();
    if (rt_evtchn->setup != NULL)
        rt_evtchn->setup();
    rt_events_setup_vcpu(0);
    rt_events_enable();
}

/* Per-vcpu registration, once per vcpu (a vcpu may be started again). */
void rt_events_setup_vcpu(unsigned int vcpu)
{
    static bool done[RT_MAX_VCPUS];
    if (rt_evtchn->setup_vcpu != NULL && !done[vcpu]) {
        rt_evtchn->setup_vcpu(vcpu);
        done[vcpu] = true;
    }
}

/* On every other vcpu, at its start. */
void rt_events_init_vcpu(void)
{
    register_callback();
    rt_events_enable();
}

/* ---- binding ------------------------------------------------------------ */

static evtchn_port_t backed(evtchn_port_t port)
{
    if (rt_evtchn->ensure_port != NULL)
        rt_evtchn->ensure_port(port);
    return port;
}

void rt_bind_handler(evtchn_port_t port, rt_handler_t fn, void *arg)
{
    const struct rt_evtchn_ops *ops = rt_evtchn;
    unsigned int cpu = rt_vcpu_id();
    if (port == 0 || port >= ops->nr_ports)
        rt_panic("rt_bind_handler: bad port %u", port);
    struct rt_handler *h = handler_slot(port);
    h->fn = fn;
    h->arg = arg;
    if (ops->set_owner != NULL)
        ops->set_owner(port, cpu);
    backed(port);
    ops->unmask(port);
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
    return backed(op.port);
}

evtchn_port_t rt_bind_virq(uint32_t virq, uint32_t vcpu)
{
    struct evtchn_bind_virq op = {.virq = virq, .vcpu = vcpu};
    rt_check(rt_evtchn_op(EVTCHNOP_bind_virq, &op), "EVTCHNOP_bind_virq(virq %u, vcpu %u)", virq,
             vcpu);
    return backed(op.port);
}

evtchn_port_t rt_bind_ipi(uint32_t vcpu)
{
    struct evtchn_bind_ipi op = {.vcpu = vcpu};
    rt_check(rt_evtchn_op(EVTCHNOP_bind_ipi, &op), "EVTCHNOP_bind_ipi(vcpu %u)", vcpu);
    return backed(op.port);
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
            return backed(op.local_port);
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

/* As Linux unbinds an event channel: mask it, forget its handler, then close it. */
void rt_close(evtchn_port_t port)
{
    struct evtchn_close op = {.port = port};
    struct rt_handler *h;

    rt_mask(port);
    h = port < RT_LOW_PORTS ? &rt_handlers[port] : rt_handler_high(port);
    if (h != NULL) {
        h->fn = NULL;
        h->arg = NULL;
    }
    rt_check(rt_evtchn_op(EVTCHNOP_close, &op), "EVTCHNOP_close(port %u)", port);
}

void rt_set_priority(evtchn_port_t port, unsigned int priority)
{
    struct evtchn_set_priority op = {.port = port, .priority = priority};
    rt_check(rt_evtchn_op(EVTCHNOP_set_priority, &op), "EVTCHNOP_set_priority(port %u, %u)", port,
             priority);
}

const char *rt_events_entry(void)
{
    return rt_evtchn->entry;
}
