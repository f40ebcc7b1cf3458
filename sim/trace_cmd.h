/* `evsim trace`: read xentrace recordings (traces/). */
#ifndef EVSIM_SIM_TRACE_CMD_H
#define EVSIM_SIM_TRACE_CMD_H

#include <stdbool.h>
#include <stdint.h>

/* A TSC frequency as users write it: "2400000000", "2.4e9", "2.4GHz", "2400MHz" (1 MHz to
 * 100 GHz). */
bool trace_parse_hz(const char *s, uint64_t *out);
/* argv[0] is "trace"; the exit status. */
int cmd_trace(int argc, char **argv);
/* The recording as a Chrome trace-event timeline in out (cpu_hz 0: the recording's). 0, or 2
 * with a message on stderr. */
int trace_export_chrome(const char *recording, const char *out, uint64_t cpu_hz,
                        bool allow_truncated);

#endif
