/* evsim guest runtime: functions shared between the runtime's own files. */
#ifndef EVGUEST_RT_INTERNAL_H
#define EVGUEST_RT_INTERNAL_H

#include "rt.h"

__attribute__((noreturn)) void rt_start(start_info_t *si); /* from _start */
__attribute__((noreturn)) void rt_secondary_start(void);   /* from head.S */
void rt_upcall(void);                                      /* from hypervisor_callback */
void rt_events_init(void);                                 /* once, on vcpu 0 */
void rt_events_init_vcpu(void);                            /* on every vcpu, at its start */

#endif
