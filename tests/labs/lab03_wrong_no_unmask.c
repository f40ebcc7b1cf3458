/* Lab 3, known wrong: never unmasks the port. */
#include "rt.h"

static void unmask_data(evtchn_port_t port)
{
    (void)port; /* WRONG: the port stays masked */
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
