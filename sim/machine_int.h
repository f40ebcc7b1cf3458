/* Internal to the machine (sim/machine.c, machine_cpu.c, machine_sink.c): what its three parts
 * share. Not for the rest of sim/. */
#ifndef EVSIM_SIM_MACHINE_INT_H
#define EVSIM_SIM_MACHINE_INT_H

#include <stdint.h>

#include "sim/machine.h"

#define XEN_TICK_NS 10000000u /* credit1's tick: 10 ms, three per 30 ms time slice */

struct simk_event;

/* Time (machine.c): cycles of the profile's clock and the kernel's picoseconds, rounded so that
 * machine_ps_to_cycles(machine_cycles_to_ps(c)) == c. */
uint64_t machine_cycles_to_ps(const struct machine *m, uint64_t cycles);
uint64_t machine_ps_to_cycles(const struct machine *m, uint64_t ps);
/* Arm a timed callback (its event and its timeline slot) for Xen system time deadline_ns. */
void machine_timed_call(struct machine *m, struct simk_event *ev, unsigned slot,
                        uint64_t deadline_ns);
/* Progress on stderr, as simulated time passes (machine.c). */
void machine_progress(struct machine *m);

/* The model's interfaces (machine_sink.c). */
extern const struct hv_mem_ops machine_mem_ops;
extern const struct hv_sink_ops machine_sink_ops;
/* Print what a vcpu wrote to the console and did not end with a newline yet. */
void machine_console_flush_line(struct sim_vcpu *sv);

/* Physical CPUs and timed callbacks (machine_cpu.c). */
void machine_pcpu_main(void *arg); /* a CPU's thread; arg: its struct sim_pcpu */
/* Publish the time scale and the time `now` in sv's vcpu_info, as Xen does when it schedules a
 * vcpu in. */
void machine_vcpu_publish_time(struct sim_vcpu *sv, uint64_t now);
void machine_on_vcpu_timer(void *arg);     /* arg: a struct sim_timer_ctx */
void machine_on_pirq(void *arg);           /* arg: a struct sim_pirq_source */
void machine_on_pirq_eoi_timer(void *arg); /* the same */
/* Arm a PIRQ source's next raise. */
void machine_pirq_schedule(struct sim_pirq_source *src);

#endif
