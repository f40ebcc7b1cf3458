/* Lab 8, reference solution: the checker gives it full points (tests/labs/CMakeLists.txt). */
#include "rt.h"
#include "rt_hooks.h"

/* Where the next scan starts: just after the last port handled (Linux's per-cpu
 * current_word_idx and current_bit_idx in events_2l.c). */
static unsigned int resume_word, resume_bit;

/* Handle the pending, unmasked ports of word w among `keep`, lowest first. */
static void scan_word(unsigned int w, xen_ulong_t keep)
{
    xen_ulong_t bits = rt_shared->evtchn_pending[w] & ~rt_shared->evtchn_mask[w] & keep;
    while (bits != 0) {
        unsigned int b = (unsigned int)__builtin_ctzl(bits);
        bits &= bits - 1;
        evtchn_port_t port = w * 64 + b;
        rt_sync_clear_bit(port, rt_shared->evtchn_pending);
        rt_call_handler(port);
        resume_word = b == 63 ? (w + 1) % 64 : w;
        resume_bit = (b + 1) % 64;
    }
}

/* Every selected word once, going round from the resume point: the resume word from the
 * resume bit up, the words after it, the words before it, the resume word's low bits. */
static void scan(xen_ulong_t sel)
{
    unsigned int w0 = resume_word, b0 = resume_bit;
    bool first = (sel >> w0) & 1;
    if (first)
        scan_word(w0, ~(xen_ulong_t)0 << b0);
    for (unsigned int k = 1; k < 64; k++)
        if ((sel >> ((w0 + k) % 64)) & 1)
            scan_word((w0 + k) % 64, ~(xen_ulong_t)0);
    if (first && b0 != 0)
        scan_word(w0, ((xen_ulong_t)1 << b0) - 1);
}

void rt_upcall_2l(void)
{
    struct vcpu_info *vi = rt_vcpu_info();
    volatile uint8_t *upcall_pending = &vi->evtchn_upcall_pending;
    do {
        *upcall_pending = 0;
        scan(__atomic_exchange_n(&vi->evtchn_pending_sel, 0, __ATOMIC_SEQ_CST));
    } while (*upcall_pending);
}

/* ---- the rest is the lab's test harness: leave it as it is ------------------------------- */

static uint64_t work;
static volatile uint64_t floods, victims;
static volatile bool done;

static void on_flood(evtchn_port_t port, void *arg)
{
    (void)port;
    (void)arg;
    uint64_t until = rt_now_ns() + work; /* a slow handler: the flood re-raises meanwhile */
    while (rt_now_ns() < until)
        rt_barrier();
    floods++;
}

static void on_victim(evtchn_port_t port, void *arg)
{
    (void)port;
    (void)arg;
    victims++;
}

static void on_done(evtchn_port_t port, void *arg)
{
    (void)port;
    (void)arg;
    done = true;
}

int main(void)
{
    work = rt_arg_u64("work", 2000);
    evtchn_port_t victim = (evtchn_port_t)rt_arg_u64("victim", 40);
    /* `flood` (port 1, or one above the victim) is flooded, `victim` gets an event now and
     * then, victim + 1 says done */
    evtchn_port_t flood = (evtchn_port_t)rt_arg_u64("floodport", 1);
    evtchn_port_t last = flood > victim + 1 ? flood : victim + 1;
    for (evtchn_port_t p = 1; p <= last; p++)
        if (rt_alloc_unbound(0) != p)
            rt_panic("alloc_unbound: expected port %u", p);
    rt_bind_handler(flood, on_flood, NULL);
    rt_bind_handler(victim, on_victim, NULL);
    rt_bind_handler(victim + 1, on_done, NULL);
    rt_wait(&done);
    rt_printf("lab: floods=%lu victims=%lu\n", floods, victims);
    return 0;
}
