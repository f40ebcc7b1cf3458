/* `evsim trace dump`: a record as one line of text. */
#ifndef EVSIM_TRACES_DUMP_H
#define EVSIM_TRACES_DUMP_H

#include <stdio.h>

#include "traces/xentrace.h"

/* "   0.000123456 cpu3  name payload": the time is since base_tsc at cpu_hz. */
void xt_dump_record(FILE *out, const struct xt_rec *r, uint64_t base_tsc, uint64_t cpu_hz);

#endif
