/* A recording as a Chrome trace-event timeline (the JSON format Perfetto's UI and
 * chrome://tracing open), built one record at a time in global time order:
 * - a track per physical CPU with the vcpu it runs;
 * - per vcpu a track of its runstates and a track of its event paths: HVM exits (exit to entry),
 *   upcalls (injection to return), ioreqs (send to answer);
 * - flow arrows from each event-channel send, through its set_pending, to the upcall that
 *   delivers it, and from each ioreq to the vcpu's resumption.
 * Times are microseconds since the first timed record. */
#ifndef EVSIM_TRACES_CHROME_H
#define EVSIM_TRACES_CHROME_H

#include <stdbool.h>
#include <stdint.h>

#include "traces/xentrace.h"

struct xt_chrome;

/* cpu_hz: the TSC frequency (0: the recording's, else 2.4 GHz). NULL when out of memory. */
struct xt_chrome *xt_chrome_new(uint64_t cpu_hz);
void xt_chrome_add(struct xt_chrome *c, const struct xt_rec *rec);
/* Closes what is still open at the end and writes the JSON to path (whole or not at all):
 * 0, or -1 with errno set. */
int xt_chrome_write(struct xt_chrome *c, const char *path);
void xt_chrome_free(struct xt_chrome *c);

#endif
