/* The scheduler of the simulated machine: credit-like, after Xen's credit scheduler (credit1),
 * reduced to what shapes event latency (docs/timing.md):
 *  - every vcpu earns credit at an equal share of the machine, and burns it while it runs;
 *  - priority BOOST (just woken from a block while not in debt), UNDER (credit left), OVER (in
 *    debt); a run queue per physical CPU, by priority, round robin within one;
 *  - a vcpu runs until it blocks or yields, until its time slice ends with others queued, or
 *    until a vcpu of higher priority is queued (a woken BOOST vcpu preempts);
 *  - a vcpu without a pin (hard affinity) is woken on an idle CPU when its own is busy, and an
 *    idle CPU steals queued vcpus from the others.
 * Times are cycles of the profile's clock. */
#ifndef EVSIM_SIM_SCHED_H
#define EVSIM_SIM_SCHED_H

#include <stdbool.h>
#include <stdint.h>

struct sim_vcpu;
struct sim_pcpu;

enum sched_prio { PRIO_BOOST, PRIO_UNDER, PRIO_OVER, PRIO_COUNT };
extern const char *const sched_prio_names[PRIO_COUNT];

/* Home CPU, and whether the vcpu is pinned there. */
void sched_place(struct sim_vcpu *sv, struct sim_pcpu *home, bool pinned);
/* sv becomes runnable at `at` (on its CPU, or an idle one); woken: it was blocked. */
void sched_ready_at(struct sim_vcpu *sv, uint64_t at, bool woken);
/* Take sv off every queue: it will not run until made ready again. */
void sched_park(struct sim_vcpu *sv);
/* Queue the vcpus of p whose wake-up time has come; the earliest still to come (or UINT64_MAX). */
uint64_t sched_collect_wakes(struct sim_pcpu *p, uint64_t now, bool *woke);
/* The running vcpu goes on without a scheduling decision (see sched.c). */
bool sched_continues(const struct sim_pcpu *p, bool woke);
/* The vcpu p runs next (NULL: none); *left is the vcpu that gave the CPU up (or NULL). */
struct sim_vcpu *sched_pick(struct sim_pcpu *p, struct sim_vcpu **left);
/* sv ran for `cycles`: burn its credit. */
void sched_ran(struct sim_vcpu *sv, uint64_t cycles);
/* Until when sv may run on without the scheduler having a say (slice end with others queued,
 * a wake-up due on its CPU), or UINT64_MAX. */
uint64_t sched_horizon(const struct sim_vcpu *sv);
enum sched_prio sched_prio(struct sim_vcpu *sv);

#endif
