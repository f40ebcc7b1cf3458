/*
 * evsim guest runtime: event channels, FIFO ABI (abi=fifo), as Linux's
 * drivers/xen/events/events_fifo.c does it.
 *
 * Each port has a 32-bit event word in the event array, guest pages of
 * 1024 words that the guest hands to Xen one at a time (EVTCHNOP_expand_array)
 * as it binds higher ports:
 *
 *   bit 31 PENDING, 30 MASKED, 29 LINKED, 28 BUSY (Xen is editing the word),
 *   bits 0-16 LINK: the next port in the same queue (0: the last one).
 *
 * Each vcpu has a control block (EVTCHNOP_init_control): `ready`, one bit
 * per priority (0 highest .. 15) with a non-empty queue, and head[16], each
 * queue's first port.  Xen appends a port that becomes pending (and is not
 * masked) to the tail of its queue, sets the ready bit and raises the
 * upcall; the guest takes events from the heads, highest priority first.
 *
 * The first init_control switches the domain from 2-level to FIFO (Xen
 * carries the pending 2-level bits over).  Every new event-array page is
 * filled with MASKED words before Xen sees it, so every port starts masked.
 */
#include "events.h"
#include "rt_internal.h"

#define WORDS_PER_PAGE (RT_PAGE_SIZE / sizeof(event_word_t))       /* 1024 */
#define MAX_ARRAY_PAGES (EVTCHN_FIFO_NR_CHANNELS / WORDS_PER_PAGE) /* 128 */
#define MAX_QUEUES EVTCHN_FIFO_MAX_QUEUES                          /* 16 */
#define PENDING_BIT ((event_word_t)1 << EVTCHN_FIFO_PENDING)
#define MASKED_BIT ((event_word_t)1 << EVTCHN_FIFO_MASKED)
#define LINKED_BIT ((event_word_t)1 << EVTCHN_FIFO_LINKED)
#define BUSY_BIT ((event_word_t)1 << EVTCHN_FIFO_BUSY)
#define LINK_MASK ((event_word_t)EVTCHN_FIFO_LINK_MASK)

_Static_assert(EVTCHN_FIFO_NR_CHANNELS <= RT_MAX_PORTS, "the handler table covers every port");

/* The runtime's FIFO state, in a page allocated at setup (not in .bss, which
 * every ABI would pay to zero at boot). */
static struct fifo_state {
    /* The event array: page i holds the words of ports i*1024 .. i*1024+1023.
     * A page is published here before Xen is told about it; array_pages
     * counts the pages Xen has. */
    event_word_t *event_array[MAX_ARRAY_PAGES];
    unsigned int array_pages;
    volatile int expand_lock;
    struct {
        struct evtchn_fifo_control_block *control; /* shared with Xen */
        uint32_t head[MAX_QUEUES]; /* where each queue goes on: Linux's per-cpu cpu_queue */
        uint32_t link_bits;        /* from init_control */
    } vcpu[RT_MAX_VCPUS];
} * fifo;

#define FIFO_STATE_PAGES ((sizeof(struct fifo_state) + RT_PAGE_SIZE - 1) / RT_PAGE_SIZE)
_Static_assert(RT_MAX_VCPUS > 8 || FIFO_STATE_PAGES == 1, "the default runtime's fits a page");

/* The port's event word, or NULL if the event array does not reach it. */
static inline volatile event_word_t *word_of(evtchn_port_t port)
{
    unsigned int page = port / WORDS_PER_PAGE;
    if (page >= MAX_ARRAY_PAGES)
        return NULL;
    event_word_t *words = __atomic_load_n(&fifo->event_array[page], __ATOMIC_ACQUIRE);
    return words != NULL ? words + port % WORDS_PER_PAGE : NULL;
}

/* ---- growing the event array ------------------------------------------- */

/* Linux's evtchn_fifo_setup: add pages until the array holds `port`. */
static void ensure_port_fifo(evtchn_port_t port)
{
    unsigned int need = port / WORDS_PER_PAGE + 1;
    if (need > MAX_ARRAY_PAGES)
        rt_panic("rt: port %u is beyond the FIFO ABI's %u ports", port, EVTCHN_FIFO_NR_CHANNELS);
    if (__atomic_load_n(&fifo->array_pages, __ATOMIC_ACQUIRE) >= need)
        return;

    uint8_t ev = rt_lock(&fifo->expand_lock);
    while (fifo->array_pages < need) {
        event_word_t *words = rt_alloc_pages(1);
        /* mask every port before Xen can see it (two MASKED words at a time) */
        rt_fill64(words, (uint64_t)MASKED_BIT << 32 | MASKED_BIT, RT_PAGE_SIZE / sizeof(uint64_t));
        __atomic_store_n(&fifo->event_array[fifo->array_pages], words, __ATOMIC_RELEASE);
        struct evtchn_expand_array op = {.array_gfn = (uintptr_t)words / RT_PAGE_SIZE};
        rt_check(rt_evtchn_op(EVTCHNOP_expand_array, &op), "EVTCHNOP_expand_array(page %u)",
                 fifo->array_pages);
        __atomic_store_n(&fifo->array_pages, fifo->array_pages + 1, __ATOMIC_RELEASE);
    }
    rt_unlock(&fifo->expand_lock, ev);
}

/* ---- per-port state ----------------------------------------------------- */

static void mask_fifo(evtchn_port_t port)
{
    volatile event_word_t *w = word_of(port);
    if (w != NULL)
        __atomic_fetch_or(w, MASKED_BIT, __ATOMIC_SEQ_CST);
}

static void clear_pending_fifo(evtchn_port_t port)
{
    volatile event_word_t *w = word_of(port);
    if (w != NULL)
        __atomic_fetch_and(w, ~PENDING_BIT, __ATOMIC_SEQ_CST);
}

static bool is_pending_fifo(evtchn_port_t port)
{
    volatile event_word_t *w = word_of(port);
    return w != NULL && (*w & PENDING_BIT) != 0;
}

/* A port beyond the array cannot be delivered: Xen counts it as masked too. */
static bool is_masked_fifo(evtchn_port_t port)
{
    volatile event_word_t *w = word_of(port);
    return w == NULL || (*w & MASKED_BIT) != 0;
}

/* Clear MASKED, but never while Xen has the word BUSY (it may be linking
 * it): the compare-exchange only succeeds against a value without BUSY. */
static void clear_masked(volatile event_word_t *word)
{
    event_word_t w = *word;
    for (;;) {
        event_word_t old = w & ~BUSY_BIT;
        w = old;
        if (__atomic_compare_exchange_n(word, &w, old & ~MASKED_BIT, false, __ATOMIC_SEQ_CST,
                                        __ATOMIC_SEQ_CST))
            return;
        __asm__ __volatile__("pause");
    }
}

/* Linux's evtchn_fifo_unmask: clear MASKED; an event that came while masked
 * is PENDING but not linked, so ask Xen to link it. */
static void unmask_fifo(evtchn_port_t port)
{
    volatile event_word_t *w = word_of(port);
    if (w == NULL) {
        ensure_port_fifo(port);
        w = word_of(port);
    }
    clear_masked(w);
    if (*w & PENDING_BIT) {
        struct evtchn_unmask op = {.port = port};
        rt_check(rt_evtchn_op(EVTCHNOP_unmask, &op), "EVTCHNOP_unmask(port %u)", port);
    }
}

/* ---- the upcall --------------------------------------------------------- */

/* Take the port off its queue: clear LINKED and LINK together, and return
 * the LINK it had (the next port of the queue, 0 if it was the last). */
static uint32_t clear_linked(volatile event_word_t *word)
{
    event_word_t w = *word;
    while (!__atomic_compare_exchange_n(word, &w, w & ~(LINKED_BIT | LINK_MASK), false,
                                        __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
        ;
    return w & LINK_MASK;
}

/* Linux's consume_one_event: handle the head of queue q. */
static void consume_one_event(unsigned int cpu, struct evtchn_fifo_control_block *control,
                              unsigned int q, uint32_t *ready)
{
    uint32_t head = fifo->vcpu[cpu].head[q];

    /* Reached the tail last time?  Then the queue's new head is in the
     * control block (Xen writes it when it links into an empty queue). */
    if (head == 0) {
        rt_barrier(); /* x86: loads are not reordered with older loads */
        head = ((volatile uint32_t *)control->head)[q];
    }

    evtchn_port_t port = head;
    volatile event_word_t *word = word_of(port);
    if (word == NULL)
        rt_panic("rt: fifo queue %u of vcpu %u names port %u, beyond the event array", q, cpu,
                 port);
    head = clear_linked(word);

    /* A LINK of 0: the queue is empty now; drop it from our copy of ready
     * (Xen sets the bit again when it links a new head). */
    if (head == 0)
        *ready &= ~(1u << q);
    fifo->vcpu[cpu].head[q] = head;

    if ((*word & (PENDING_BIT | MASKED_BIT)) == PENDING_BIT) {
        __atomic_fetch_and(word, ~PENDING_BIT, __ATOMIC_SEQ_CST); /* first: keep new sends */
        rt_run_handler(port);
    }
}

/* Linux's __evtchn_fifo_handle_events: one event at a time, always from the
 * highest-priority queue that has one. */
static void handle_events(unsigned int cpu)
{
    struct evtchn_fifo_control_block *control = fifo->vcpu[cpu].control;
    if (control == NULL)
        return;
    uint32_t ready = __atomic_exchange_n(&control->ready, 0, __ATOMIC_SEQ_CST);
    while (ready != 0) {
        unsigned int q = (unsigned int)__builtin_ctz(ready);
        consume_one_event(cpu, control, q, &ready);
        ready |= __atomic_exchange_n(&control->ready, 0, __ATOMIC_SEQ_CST);
    }
}

/* Called by hypervisor_callback_fifo (head.S), with events masked. */
void rt_upcall_fifo(void)
{
    unsigned int cpu = rt_vcpu_id();
    volatile uint8_t *upcall_pending = &rt_vcpu_info_of(cpu)->evtchn_upcall_pending;

    do {
        *upcall_pending = 0; /* clear first: a later event sets it again */
        handle_events(cpu);
    } while (*upcall_pending);
}

/* ---- setup ------------------------------------------------------------- */

static void setup_fifo(void)
{
    fifo = rt_alloc_pages(FIFO_STATE_PAGES);
}

/* Linux's init_control_block: a zeroed page per vcpu, control block at
 * offset 0.  The first one switches the domain to FIFO. */
static void setup_vcpu_fifo(unsigned int vcpu)
{
    struct evtchn_fifo_control_block *control = rt_alloc_pages(1);
    for (unsigned int q = 0; q < MAX_QUEUES; q++)
        fifo->vcpu[vcpu].head[q] = 0;
    struct evtchn_init_control op = {
        .control_gfn = (uintptr_t)control / RT_PAGE_SIZE,
        .offset = 0,
        .vcpu = vcpu,
    };
    rt_check(rt_evtchn_op(EVTCHNOP_init_control, &op), "EVTCHNOP_init_control(vcpu %u)", vcpu);
    fifo->vcpu[vcpu].link_bits = op.link_bits;
    __atomic_store_n(&fifo->vcpu[vcpu].control, control, __ATOMIC_RELEASE);
}

const struct rt_evtchn_ops rt_evtchn_ops_fifo = {
    .name = "fifo",
    .nr_ports = EVTCHN_FIFO_NR_CHANNELS,
    .entry = hypervisor_callback_fifo,
    .hvm_entry = hvm_callback_fifo,
    .upcall = rt_upcall_fifo,
    .setup = setup_fifo,
    .setup_vcpu = setup_vcpu_fifo,
    .ensure_port = ensure_port_fifo,
    .set_owner = NULL, /* Xen queues each event on its vcpu */
    .mask = mask_fifo,
    .unmask = unmask_fifo,
    .clear_pending = clear_pending_fifo,
    .is_pending = is_pending_fifo,
    .is_masked = is_masked_fifo,
};
