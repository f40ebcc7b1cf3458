/*
 * evsim guest runtime (rt): everything a guest program needs to boot as a
 * 64-bit Xen PV guest, print, read the time and use event channels.
 *
 * A program provides   int main(void);
 * The runtime has already: parsed the command line, registered the event
 * callback on vcpu 0, masked every port and enabled event delivery.
 * Returning 0 from main powers the domain off; anything else crashes it.
 *
 * Conventions (see guests/README.md):
 *   - flat memory, guest virtual == guest physical, image linked at 1 MiB;
 *   - the event-channel ABI is chosen at boot by abi=2l|3l|fifo (default 2l);
 *     every rt_* event function works the same under each;
 *   - every port starts masked; rt_bind_handler() unmasks it;
 *   - a port is handled on the vcpu that called rt_bind_handler() for it;
 *   - rt_* helpers that "must" succeed print the error and crash the domain.
 */
#ifndef EVGUEST_RT_H
#define EVGUEST_RT_H

#include <stdarg.h>
#include <stdbool.h>

#include "config.h"
#include "hypercall.h"

/* ---- boot information ---------------------------------------------- */
extern start_info_t *rt_start_info; /* from %rsi at entry */
extern shared_info_t *rt_shared;    /* rt_start_info->shared_info */
extern unsigned int rt_domid;       /* from the "domid=" word */
/* An HVM guest (Xen offers XENFEAT_hvm_callback_vector): events come as an interrupt vector
 * through the IDT and are masked with the interrupt flag; waiting is sti; hlt. */
extern bool rt_hvm;

int main(void);

/* ---- memory ------------------------------------------------------------- */
/* n zeroed, page-aligned pages, from the RAM after the image (and after
 * start_info) up to start_info's nr_pages.  Never freed; crashes the domain
 * when RAM runs out.  Flat memory: the page's gfn is its address >> 12. */
void *rt_alloc_pages(unsigned int n);

/* ---- command line: "domid=1 role=front peer=0 rounds=100" ---------- */
const char *rt_arg_str(const char *key, const char *def);
uint64_t rt_arg_u64(const char *key, uint64_t def); /* decimal or 0x.. */
bool rt_arg_is(const char *key, const char *value); /* key=value given? */

/* ---- console --------------------------------------------------------- */
/* printf subset: %d %i %u %x %X %p %s %c %%, flags '-' '0', width, and the
 * length modifiers l ll z.  Print whole lines: the simulator prefixes each
 * line with d<domid>v<vcpu>. */
int rt_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int rt_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int rt_snprintf(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void rt_puts(const char *s); /* no newline added */

/* ---- ending ---------------------------------------------------------- */
__attribute__((noreturn)) void rt_exit(unsigned int reason); /* SHUTDOWN_* */
__attribute__((noreturn)) void rt_panic(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* rc < 0: print "<what> failed: <rc> (<name>)" and crash.  Returns rc.
 * `what` is a printf format: rt_check(rc, "bind port %u", port). */
long rt_check(long rc, const char *what, ...) __attribute__((format(printf, 2, 3)));
const char *rt_strerror(long rc); /* -XEN_EINVAL -> "EINVAL" */

/* ---- vcpus ------------------------------------------------------------ */
unsigned int rt_vcpu_id(void);        /* which vcpu is running this code */
struct vcpu_info *rt_vcpu_info(void); /* its vcpu_info (in shared_info below vcpu 32) */
/* Start vcpu `id` (1..RT_MAX_VCPUS-1) running fn(arg) on its own stack,
 * with its own event callback registered.  When fn returns, the vcpu goes
 * down (and idles forever if VCPUOP_down is not supported). */
void rt_start_vcpu(unsigned int id, void (*fn)(void *), void *arg);

/* ---- time ------------------------------------------------------------- */
uint64_t rt_now_ns(void); /* Xen system time, ns since boot */
uint64_t rt_rdtsc(void);

/* ---- event delivery --------------------------------------------------- */
/* Mask / unmask event delivery to this vcpu (vcpu_info.evtchn_upcall_mask),
 * like cli/sti.  Unmasking forces delivery of what arrived meanwhile. */
void rt_events_disable(void);
void rt_events_enable(void);
/* Sleep (SCHEDOP_block) until *flag becomes true; handlers set it.
 * Safe against the check-then-block race; events are enabled on return. */
void rt_wait(volatile bool *flag);
void rt_yield(void);           /* SCHEDOP_yield */
void rt_sleep_ns(uint64_t ns); /* SCHEDOP_poll on no port, with a timeout: sleep */

/* ---- event channels --------------------------------------------------- */
/* The ABI in use, as named by abi=: "2l", "3l" or "fifo". */
const char *rt_evtchn_abi(void);

typedef void (*rt_handler_t)(evtchn_port_t port, void *arg);

/* Handle `port` on the calling vcpu: fn(port, arg) runs from the upcall
 * with events masked and the port's pending bit already cleared.  The
 * port is then unmasked (EVTCHNOP_unmask, which re-raises it if it was
 * already pending).  Bind on the vcpu Xen notifies: the vcpu named in
 * bind_ipi/bind_virq; vcpu 0 for interdomain ports. */
void rt_bind_handler(evtchn_port_t port, rt_handler_t fn, void *arg);

/* Close `port` as Linux unbinds an event channel: mask it, forget its handler, then
 * EVTCHNOP_close (crashing on failure).  Safe from the port's own handler: Xen clears the
 * port's pending bit, so no later event reaches a handler under the old binding; the remote
 * end of an interdomain channel goes back to UNBOUND (its sends are dropped) until someone
 * binds it again.  A port bound again under the same number starts afresh.  As under Linux,
 * a handler must tolerate a call with nothing to do: a handler that closes and re-binds
 * another port of the same upcall's scan may have that port's new handler called once. */
void rt_close(evtchn_port_t port);

/* EVTCHNOP wrappers that crash on failure and return the port. */
evtchn_port_t rt_alloc_unbound(domid_t remote_dom);
evtchn_port_t rt_bind_virq(uint32_t virq, uint32_t vcpu);
evtchn_port_t rt_bind_ipi(uint32_t vcpu);
/* Retries (yielding in between) while the remote port is not yet
 * allocated (-EINVAL) or the remote domain is not there (-ESRCH). */
evtchn_port_t rt_bind_interdomain(domid_t remote_dom, evtchn_port_t remote_port);
void rt_send(evtchn_port_t port);
/* Clear the mask; if the port is pending, EVTCHNOP_unmask makes Xen raise it
 * again (2-level and 3-level always make the hypercall, FIFO only then). */
void rt_unmask(evtchn_port_t port);
/* EVTCHNOP_set_priority: FIFO only (0 highest .. 15, 7 the default); Xen
 * answers -ENOSYS under 2-level, which crashes the domain like any failure. */
void rt_set_priority(evtchn_port_t port, unsigned int priority);

/* Raw form: returns the hypercall's result (0 or -XEN_Exxx). */
long rt_evtchn_op(int cmd, void *arg);

/* Direct access to the current ABI's per-port state, no hypercall: the
 * shared_info bitmaps (2l), the registered bitmap pages (3l) or the port's
 * event word (fifo). */
void rt_mask(evtchn_port_t port);          /* set the mask bit */
void rt_clear_pending(evtchn_port_t port); /* clear the pending bit */
bool rt_is_pending(evtchn_port_t port);
bool rt_is_masked(evtchn_port_t port);

/* ---- small helpers ---------------------------------------------------- */
void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
void *memmove(void *d, const void *s, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);

#define RT_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define rt_barrier() __asm__ __volatile__("" ::: "memory")

#endif
