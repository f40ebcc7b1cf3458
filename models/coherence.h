/* The coherence model: cache lines of the memory that Xen and guests share (shared_info,
 * vcpu_info, event bitmaps and words, FIFO control blocks, ioreq pages), with the physical CPUs
 * that hold each line and the last one that wrote it. An access from a CPU that does not hold
 * the line pays a transfer from the nearest holder: same socket or across sockets, as the
 * profile prices them. A MESI-like protocol reduced to what costs time: reads share a line,
 * writes (and locked read-modify-writes) take it exclusively.
 *
 * Lines are keyed by host address (guest memory is host memory), so Xen-side and guest-side
 * accesses to the same line meet. Pure C, no engine: sim/ reports the accesses. */
#ifndef EVSIM_MODELS_COHERENCE_H
#define EVSIM_MODELS_COHERENCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "models/cost.h"

#define COHERENCE_LINE 64u

enum coh_access {
    COH_READ,
    COH_WRITE,
    COH_LOCKED, /* a locked read-modify-write: needs the line exclusively, like a write */
};

/* Where the line came from, for the statistics. */
enum coh_source {
    COH_HIT,    /* already held by this CPU (exclusively for a write) */
    COH_SOCKET, /* from another core of this socket (or this socket's shared cache) */
    COH_REMOTE, /* from another socket */
    COH_SOURCES
};

struct coh_stats {
    uint64_t accesses[3];       /* by enum coh_access */
    uint64_t from[COH_SOURCES]; /* by where the line came from */
    uint64_t transfer_cycles;   /* cycles charged beyond line_local */
};

struct coherence; /* opaque: lines in a hash table */

/* nr_pcpus physical CPUs, cores_per_socket of them per socket (pcpu p is on socket
 * p / cores_per_socket). NULL on allocation failure. */
struct coherence *coherence_create(unsigned nr_pcpus, unsigned cores_per_socket);
void coherence_destroy(struct coherence *c);

/* An access of len bytes at host address addr by physical CPU pcpu: updates every line it
 * touches and returns the cycles it costs under profile p (line_local for a hit, line_socket or
 * line_remote for a transfer, the largest over the lines touched). A line nobody holds yet
 * comes from the socket's shared cache (line_socket). */
uint64_t coherence_access(struct coherence *c, const struct cost_profile *p, unsigned pcpu,
                          const volatile void *addr, size_t len, enum coh_access kind);

/* Forget every line of [addr, addr + len) (memory freed or remapped). */
void coherence_forget(struct coherence *c, const volatile void *addr, size_t len);

const struct coh_stats *coherence_stats(const struct coherence *c);
/* Lines currently tracked (for memory accounting in reports and benchmarks). */
size_t coherence_lines(const struct coherence *c);
/* Socket of a physical CPU. */
unsigned coherence_socket(const struct coherence *c, unsigned pcpu);

/* The state of the line of addr, for tests and reports: whether pcpu holds it, and which pcpu
 * holds it modified (after a write, until another CPU reads it), -1 if none or untracked. */
bool coherence_holds(const struct coherence *c, unsigned pcpu, const volatile void *addr);
int coherence_owner(const struct coherence *c, const volatile void *addr);

#endif
