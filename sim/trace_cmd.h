/* `evsim trace`: read xentrace recordings (traces/). */
#ifndef EVSIM_SIM_TRACE_CMD_H
#define EVSIM_SIM_TRACE_CMD_H

#include <stdbool.h>
#include <stdint.h>

/* argv[0] is "trace"; the exit status. */
int cmd_trace(int argc, char **argv);
/* The recording as a Chrome trace-event timeline in out (cpu_hz 0: the recording's). 0, or 2
 * with a message on stderr. */
int trace_export_chrome(const char *recording, const char *out, uint64_t cpu_hz,
                        bool allow_truncated);

#endif
