/* Internal to the machine (sim/machine.c, machine_build.c, machine_cpu.c, machine_sink.c): what
 * its parts share. Not for the rest of sim/. */
#ifndef EVSIM_SIM_MACHINE_INT_H
#define EVSIM_SIM_MACHINE_INT_H

#include <stdint.h>

#include "sim/machine.h"

#define XEN_TICK_NS 10000000u        /* credit1's tick: 10 ms, three per 30 ms time slice */
#define BOOT_STACK_BYTES (64u << 10) /* a PV guest's bootstrap stack (Xen gives one page) */

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

/* Building domains (machine_build.c): domain index of the scenario into sd, its vcpus placed
 * from *next_pcpu on. 0, or -1 with d naming the scenario line. */
int machine_domain_build(struct machine *m, struct sim_domain *sd, unsigned index,
                         unsigned *next_pcpu, struct diag *d);
/* Whether a domain of the scenario runs with paging on its CPU's engine (PV guests). */
bool machine_domain_is_paged(const struct machine *m, const struct scenario_domain *cfg);
void machine_guest_pages_free(uint8_t *p, uint64_t size);

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
