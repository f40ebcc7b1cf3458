/*
 * evsim guest runtime: event channels, 2-level ABI (abi=2l, the default).
 *
 * shared_info holds two bitmaps of 4096 bits each (64 words of 64 bits):
 * evtchn_pending[] and evtchn_mask[].  Each vcpu_info holds
 * evtchn_upcall_pending (a byte), evtchn_upcall_mask (a byte: "events off")
 * and evtchn_pending_sel (one bit per pending[] word with work in it).
 *
 * When a port becomes pending and is not masked, Xen sets its word's bit in
 * pending_sel and upcall_pending of the port's vcpu, and enters our
 * callback (head.S: hypervisor_callback_2l -> rt_upcall_2l) once that vcpu
 * has events enabled (upcall_mask == 0).
 *
 * Every domain starts on this ABI: there is nothing to register.
 */
#include "events.h"
#include "rt_internal.h"

#define WORD_BITS RT_WORD_BITS /* 64 */
#define NR_WORDS (sizeof(((shared_info_t *)0)->evtchn_pending) / sizeof(xen_ulong_t))
#define NR_PORTS (NR_WORDS * WORD_BITS) /* 4096 */

_Static_assert(NR_PORTS == RT_LOW_PORTS, "every 2-level port has a static handler slot");

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

static inline void clear_pending_2l(evtchn_port_t port)
{
    rt_sync_clear_bit(port, rt_shared->evtchn_pending);
}

static void mask_2l(evtchn_port_t port)
{
    rt_sync_set_bit(port, rt_shared->evtchn_mask);
}

static void clear_pending_op_2l(evtchn_port_t port)
{
    clear_pending_2l(port);
}

static bool is_pending_2l(evtchn_port_t port)
{
    return rt_test_bit(port, rt_shared->evtchn_pending);
}

static bool is_masked_2l(evtchn_port_t port)
{
    return rt_test_bit(port, rt_shared->evtchn_mask);
}

/* Xen clears the mask bit and, if the port is pending, raises it again. */
static void unmask_2l(evtchn_port_t port)
{
    struct evtchn_unmask op = {.port = port};
    rt_check(rt_evtchn_op(EVTCHNOP_unmask, &op), "EVTCHNOP_unmask(port %u)", port);
}

static void set_owner_2l(evtchn_port_t port, unsigned int cpu)
{
    for (unsigned int v = 0; v < RT_MAX_VCPUS; v++)
        rt_sync_clear_bit(port, vcpu_ports[v]);
    rt_sync_set_bit(port, vcpu_ports[cpu]);
}

/* ---- the upcall --------------------------------------------------------- */

static void handle_port(evtchn_port_t port)
{
    clear_pending_2l(port); /* first, so a new send while we run is kept */
    if (rt_handlers[port].fn != NULL)
        rt_handlers[port].fn(port, rt_handlers[port].arg);
}

/* Handle this vcpu's pending, unmasked ports of word w among `keep`. */
static void scan_word(unsigned int cpu, unsigned int w, xen_ulong_t keep)
{
    xen_ulong_t bits =
        rt_shared->evtchn_pending[w] & ~rt_shared->evtchn_mask[w] & vcpu_ports[cpu][w] & keep;

    while (bits != 0) {
        unsigned int b = (unsigned int)__builtin_ctzl(bits);
        bits &= bits - 1;
        handle_port((evtchn_port_t)(w * WORD_BITS + b));
        /* next time, start just after this port */
        resume[cpu].word = b + 1 < WORD_BITS ? w : (w + 1) % NR_WORDS;
        resume[cpu].bit = (b + 1) % WORD_BITS;
    }
}

_Static_assert(NR_WORDS == WORD_BITS, "one selector bit per pending word");

/*
 * Handle every pending, unmasked port of this vcpu in the words named by
 * `sel`, visiting only those words (as Linux does, with find-first-set on
 * the selector), from the resume point round once: the starting word is
 * visited twice, first from the resume bit up, and at the end for the bits
 * below it.
 */
static void scan_ports(unsigned int cpu, xen_ulong_t sel)
{
    unsigned int w0 = resume[cpu].word, b0 = resume[cpu].bit;
    bool first = (sel >> w0) & 1;
    /* The selector rotated so that bit k names word w0 + k. */
    xen_ulong_t rest = w0 ? (sel >> w0) | (sel << (WORD_BITS - w0)) : sel;

    if (first)
        scan_word(cpu, w0, ~(xen_ulong_t)0 << b0);
    for (rest &= ~(xen_ulong_t)1; rest != 0; rest &= rest - 1)
        scan_word(cpu, (w0 + (unsigned int)__builtin_ctzl(rest)) % NR_WORDS, ~(xen_ulong_t)0);
    if (first && b0)
        scan_word(cpu, w0, ((xen_ulong_t)1 << b0) - 1);
}

/* Called by hypervisor_callback_2l (head.S), with events masked.  Weak: a program may
 * replace the 2-level consumer with its own (rt_hooks.h; the lab course, docs/labs/). */
__attribute__((weak)) void rt_upcall_2l(void)
{
    unsigned int cpu = rt_vcpu_id();
    struct vcpu_info *vi = rt_vcpu_info_of(cpu);
    volatile uint8_t *upcall_pending = &vi->evtchn_upcall_pending;

    do {
        *upcall_pending = 0; /* clear first: a later event sets it again */
        xen_ulong_t sel = __atomic_exchange_n(&vi->evtchn_pending_sel, 0, __ATOMIC_SEQ_CST);
        scan_ports(cpu, sel);
    } while (*upcall_pending);
}

const struct rt_evtchn_ops rt_evtchn_ops_2l = {
    .name = "2l",
    .nr_ports = NR_PORTS,
    .entry = hypervisor_callback_2l,
    .hvm_entry = hvm_callback_2l,
    .upcall = rt_upcall_2l,
    .setup = NULL,
    .setup_vcpu = NULL,
    .ensure_port = NULL,
    .set_owner = set_owner_2l,
    .mask = mask_2l,
    .unmask = unmask_2l,
    .clear_pending = clear_pending_op_2l,
    .is_pending = is_pending_2l,
    .is_masked = is_masked_2l,
};
