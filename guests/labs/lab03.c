/*
 * Lab 3: masking and the re-raise on unmask (docs/labs/lab03.md).
 *
 * A driver that defers its work (as Linux's threaded interrupts do) masks the port in the
 * handler, does the work later with events on, and unmasks the port when done.  Events that
 * arrive meanwhile only set the pending bit: no upcall, because the port is masked.  Write
 * unmask_data() so that such an event is not lost.
 *
 * The partner (dom0) sends on port 1 (data) `n` times, more often than the work takes, then
 * once on port 65 (done).  Check it with: evsim lab check 3 lab03.c
 */
#include "rt.h"

static void unmask_data(evtchn_port_t port)
{
    /* TODO: unmask `port` so that an event that arrived while it was masked is delivered.
     * Clearing its bit in rt_shared->evtchn_mask is not enough: why?  Ask Xen to do it with
     * EVTCHNOP_unmask (struct evtchn_unmask) through rt_evtchn_op(). */
    (void)port;
}

/* ---- the rest is the lab's test harness: leave it as it is ------------------------------- */

static volatile bool work_pending, done, wake;

static void on_data(evtchn_port_t port, void *arg)
{
    (void)arg;
    rt_mask(port); /* no more upcalls for it until the work is done */
    work_pending = wake = true;
}

static void on_done(evtchn_port_t port, void *arg)
{
    (void)port;
    (void)arg;
    done = wake = true;
}

int main(void)
{
    uint64_t work = rt_arg_u64("work", 30000), batches = 0;
    /* data is port 1; done is port 65, in another word of the bitmaps, so that its event
     * cannot make the upcall find a stranded data event by chance */
    evtchn_port_t data = rt_alloc_unbound(0), done_port = 0;
    while (done_port < 65)
        done_port = rt_alloc_unbound(0);
    rt_bind_handler(data, on_data, NULL);
    rt_bind_handler(done_port, on_done, NULL);
    while (!done || work_pending) {
        rt_wait(&wake);
        wake = false;
        if (work_pending) {
            work_pending = false;
            batches++;
            rt_sleep_ns(work); /* the deferred work, with events on */
            unmask_data(data);
        }
    }
    rt_printf("lab: batches=%lu still_masked=%d pending=%d\n", batches, rt_is_masked(data),
              rt_is_pending(data));
    return 0;
}
