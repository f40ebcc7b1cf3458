/* A cycle summary: how many intervals, their total, and a bounded sample for percentiles.
 *
 * Samples are kept whole up to the cap (as xenalyze keeps them), and past it by reservoir
 * sampling with a fixed seed, so memory stays bounded, and equal inputs give equal output. */
#ifndef EVSIM_TRACES_CYCLES_H
#define EVSIM_TRACES_CYCLES_H

#include <stdbool.h>
#include <stdint.h>

#define XT_SAMPLE_CAP_DEFAULT 4096u

struct xt_cycles {
    uint64_t events; /* every interval, zero-length ones included */
    uint64_t count;  /* intervals longer than zero */
    uint64_t cycles;
    uint64_t *sample;
    uint32_t n, cap;
    uint64_t rng;
};

/* Adds one interval; false when out of memory (the interval still counts). */
bool xt_cycles_add(struct xt_cycles *s, uint64_t c, uint32_t cap);
/* The sample's ple-th percentile: the element at index n * ple / 100 in ascending order (the
 * last for 100). It sorts the sample: runstate summaries, which need it in recorded order for
 * xt_cycles_weighted_percentiles, never ask for this. */
uint64_t xt_cycles_percentile(const struct xt_cycles *s, unsigned ple);
/* p5, p50 and p95 as xt_cycles_percentile gives them, sorting once (zero with no sample). */
void xt_cycles_percentiles(const struct xt_cycles *s, uint64_t out[3]);
/* The self-weighted p5, p50 and p95 xenalyze gives for runstates, computed as xenalyze does
 * (its partial quickselect over the samples in recorded order), so that the figures agree: a
 * value near the sample at which the samples up to it hold that share of the cycles. false when
 * out of memory (out is zero). */
bool xt_cycles_weighted_percentiles(const struct xt_cycles *s, uint64_t out[3]);
void xt_cycles_free(struct xt_cycles *s);

#endif
