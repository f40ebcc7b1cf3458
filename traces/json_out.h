/* JSON files written whole or not at all: through a temporary name, renamed when complete. */
#ifndef EVSIM_TRACES_JSON_OUT_H
#define EVSIM_TRACES_JSON_OUT_H

struct json_object;

/* Writes o to path with json-c's flags (JSON_C_TO_STRING_*); o is not released. 0, or -1 with
 * errno set and nothing left under either name. */
int xt_json_write(const char *path, struct json_object *o, int flags);

#endif
