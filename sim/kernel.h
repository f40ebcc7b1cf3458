/* The SystemC timing kernel behind a C API: the only C++ in evsim. Time is in picoseconds of
 * simulated time. Threads are SystemC SC_THREADs (coroutines: only one runs at a time, and a
 * thread runs until it waits), methods are SC_METHODs triggered by an event. Only one kernel may
 * exist per process (a SystemC restriction). */
#ifndef EVSIM_SIM_KERNEL_H
#define EVSIM_SIM_KERNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SIMK_FOREVER UINT64_MAX

struct simk_event;
typedef void (*simk_fn)(void *arg);

/* Set the kernel up now rather than at the first call that needs it (the evsim program loads it
 * then: sim/lazy_libs.c), for a measurement that should not count loading it. */
void simk_init(void);
/* A thread whose body is fn(arg), with its own stack (Unicorn needs a deep one). */
void simk_spawn_thread(const char *name, simk_fn fn, void *arg, size_t stack_bytes);
struct simk_event *simk_event_create(const char *name);
/* An SC_METHOD calling fn(arg) every time ev is triggered. */
void simk_method_on(const char *name, struct simk_event *ev, simk_fn fn, void *arg);
/* Trigger ev after delay_ps; an earlier pending notification wins (a doorbell). */
void simk_event_notify(struct simk_event *ev, uint64_t delay_ps);
/* Cancel any pending notification and trigger after delay_ps (a timer being re-armed). */
void simk_event_rearm(struct simk_event *ev, uint64_t delay_ps);
void simk_event_cancel(struct simk_event *ev);

uint64_t simk_now_ps(void);
/* When the kernel next has something to do (a timed notification, a process to resume), or
 * SIMK_FOREVER. Nothing else can happen before then, so a thread may run ahead that far. */
uint64_t simk_next_activity_ps(void);
/* Is anything at all still to happen (now or later)? */
bool simk_pending_activity(void);
/* In a thread: let delay_ps of simulated time pass. */
void simk_wait_ps(uint64_t delay_ps);
/* In a thread: wait for ev or until timeout_ps passes (SIMK_FOREVER: no timeout). */
void simk_wait_event(struct simk_event *ev, uint64_t timeout_ps);

/* Simulate until simk_stop() is called, until_ps is reached, or nothing is left to happen (then
 * time stays at the last activity). */
void simk_run(uint64_t until_ps);
void simk_stop(void);

#ifdef __cplusplus
}
#endif

#endif
