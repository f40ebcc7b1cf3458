// The SystemC kernel behind sim/kernel.h. Deliberately thin: processes, events and time only;
// everything the simulator decides (scheduling, quanta, latencies) lives in C.
#include "sim/kernel.h"

#define SC_INCLUDE_DYNAMIC_PROCESSES // sc_spawn
#include <cstdio>
#include <cstdlib>
#include <systemc>

using namespace sc_core;

struct simk_event {
    sc_event ev;
    explicit simk_event(const char *name) : ev(sc_gen_unique_name(name))
    {
    }
};

namespace
{
// SystemC is set up when this library is loaded: when the program starts for the tests and
// evbench, which link it, and at the first call that needs it for the evsim program, which loads
// it then (sim/lazy_libs.c). Before any sc_time exists, as sc_set_time_resolution requires.
struct simk_setup {
    simk_setup()
    {
        setenv("SYSTEMC_DISABLE_COPYRIGHT_MESSAGE", "1", 1);
        // One resolution for the whole run: picoseconds hold 213 days in 64 bits.
        sc_set_time_resolution(1, SC_PS);
        // sc_stop() is how a run ends when every domain has stopped: not worth a message.
        sc_report_handler::set_actions("/OSCI/SystemC", SC_INFO, SC_DO_NOTHING);
    }
} setup_at_load;
} // namespace

// libsystemc's own main() calls sc_main, so the library cannot be loaded without one. evsim and
// evbench have their own main(), which does not go through sc_elab_and_sim: this is never called.
int sc_main(int, char **)
{
    std::fputs("evsim: internal error: SystemC's main() ran\n", stderr);
    return EXIT_FAILURE;
}

extern "C" {

void simk_init(void)
{
    // set up when this library was loaded (setup_at_load)
}

void simk_spawn_thread(const char *name, simk_fn fn, void *arg, size_t stack_bytes)
{
    sc_spawn_options opts;
    opts.set_stack_size(static_cast<int>(stack_bytes));
    sc_spawn([fn, arg]() { fn(arg); }, sc_gen_unique_name(name), &opts);
}

struct simk_event *simk_event_create(const char *name)
{
    return new simk_event(name);
}

void simk_method_on(const char *name, struct simk_event *ev, simk_fn fn, void *arg)
{
    sc_spawn_options opts;
    opts.spawn_method();
    opts.dont_initialize();
    opts.set_sensitivity(&ev->ev);
    sc_spawn([fn, arg]() { fn(arg); }, sc_gen_unique_name(name), &opts);
}

void simk_event_notify(struct simk_event *ev, uint64_t delay_ps)
{
    ev->ev.notify(sc_time::from_value(delay_ps));
}

void simk_event_rearm(struct simk_event *ev, uint64_t delay_ps)
{
    ev->ev.cancel();
    ev->ev.notify(sc_time::from_value(delay_ps));
}

void simk_event_cancel(struct simk_event *ev)
{
    ev->ev.cancel();
}

uint64_t simk_now_ps(void)
{
    return sc_time_stamp().value();
}

bool simk_pending_activity(void)
{
    return sc_pending_activity(sc_get_curr_simcontext());
}

uint64_t simk_next_activity_ps(void)
{
    sc_time to_next = sc_time_to_pending_activity(sc_get_curr_simcontext());
    uint64_t now = sc_time_stamp().value(), delta = to_next.value();
    return delta > SIMK_FOREVER - now ? SIMK_FOREVER : now + delta;
}

void simk_wait_ps(uint64_t delay_ps)
{
    wait(sc_time::from_value(delay_ps));
}

void simk_wait_event(struct simk_event *ev, uint64_t timeout_ps)
{
    if (timeout_ps == SIMK_FOREVER)
        wait(ev->ev);
    else
        wait(sc_time::from_value(timeout_ps), ev->ev);
}

// What sc_elab_and_sim would have caught: SystemC reports an error by throwing, and a C caller
// cannot catch it. Every such error is evsim's misuse of the kernel.
void simk_run(uint64_t until_ps)
{
    try {
        if (until_ps == SIMK_FOREVER)
            sc_start();
        else
            sc_start(sc_time::from_value(until_ps), SC_EXIT_ON_STARVATION);
    } catch (const std::exception &e) {
        std::fprintf(stderr, "evsim: internal error in the SystemC kernel: %s\n", e.what());
        std::abort();
    }
}

void simk_stop(void)
{
    sc_stop();
}

} // extern "C"
