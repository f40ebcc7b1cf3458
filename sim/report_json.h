/* Helpers shared by the report's parts (sim/report.c, sim/report_ioreq.c): building and reading
 * the JSON document the text report is rendered from. */
#ifndef EVSIM_SIM_REPORT_JSON_H
#define EVSIM_SIM_REPORT_JSON_H

#include <json-c/json.h>
#include <stdint.h>
#include <stdio.h>

#include "sim/machine.h"

static inline void put_u64(struct json_object *o, const char *k, uint64_t v)
{
    json_object_object_add(o, k, json_object_new_uint64(v));
}

static inline void put_str(struct json_object *o, const char *k, const char *v)
{
    json_object_object_add(o, k, json_object_new_string(v));
}

static inline uint64_t get_u64(struct json_object *o, const char *k)
{
    struct json_object *v;
    return json_object_object_get_ex(o, k, &v) ? json_object_get_uint64(v) : 0;
}

static inline const char *get_str(struct json_object *o, const char *k)
{
    struct json_object *v;
    return json_object_object_get_ex(o, k, &v) ? json_object_get_string(v) : "";
}

static inline struct json_object *get_arr(struct json_object *o, const char *k)
{
    struct json_object *v;
    return json_object_object_get_ex(o, k, &v) ? v : NULL;
}

/* count, mean, p50, p95, p99, max, each also in ns (sorts s). */
struct json_object *distribution_json(const struct machine *m, struct samples *s);

/* A domain's ioreq servers (sim/report_ioreq.c): requests, round trips, stages, ranges, and
 * the vcpus still waiting for an answer at the end. */
struct json_object *report_ioreq_json(struct sim_domain *sd);
void report_ioreq_print(struct json_object *doms, FILE *out);

#endif
