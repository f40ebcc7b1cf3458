#include "traces/cycles.h"

#include <stdlib.h>
#include <string.h>

/* xorshift64*: a fixed sequence per summary, so reservoirs are reproducible. */
static uint64_t next_random(uint64_t *state)
{
    uint64_t x = *state ? *state : 0x9e3779b97f4a7c15ull;

    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 0x2545f4914f6cdd1dull;
}

bool xt_cycles_add(struct xt_cycles *s, uint64_t c, uint32_t cap)
{
    s->events++;
    if (!c)
        return true;
    s->count++;
    s->cycles += c;
    if (s->n < cap) {
        if (s->n == s->cap) {
            uint32_t ncap = s->cap ? 2 * s->cap : 16;
            uint64_t *ns;

            if (ncap > cap)
                ncap = cap;
            ns = realloc(s->sample, ncap * sizeof(*ns));
            if (!ns)
                return false;
            s->sample = ns;
            s->cap = ncap;
        }
        s->sample[s->n++] = c;
    } else {
        uint64_t j = next_random(&s->rng) % s->count;

        if (j < s->n)
            s->sample[j] = c;
    }
    return true;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

/* Sorting in place is harmless: a summary is printed after its last interval. */
static void sort_sample(const struct xt_cycles *s)
{
    qsort(s->sample, s->n, sizeof(*s->sample), cmp_u64);
}

static uint64_t sorted_percentile(const struct xt_cycles *s, unsigned ple)
{
    return s->sample[ple >= 100 ? s->n - 1 : (uint64_t)s->n * ple / 100];
}

uint64_t xt_cycles_percentile(const struct xt_cycles *s, unsigned ple)
{
    if (!s->n)
        return 0;
    sort_sample(s);
    return sorted_percentile(s, ple);
}

void xt_cycles_percentiles(const struct xt_cycles *s, uint64_t out[3])
{
    out[0] = out[1] = out[2] = 0;
    if (!s->n)
        return;
    sort_sample(s);
    out[0] = sorted_percentile(s, 5);
    out[1] = sorted_percentile(s, 50);
    out[2] = sorted_percentile(s, 95);
}

/* xenalyze's self_weighted_percentile (tools/xentrace/xenalyze.c): a partial quickselect that
 * narrows [L, R] around the element whose lighter side holds the target weight, reordering A as
 * it goes. Its answer depends on A's order, so it is given the samples in recorded order and
 * called in xenalyze's order, for the same figures. */
static uint64_t xenalyze_weighted(uint64_t *a, uint32_t n, unsigned ple)
{
    /* xenalyze sums in long long; 128 bits keep a corrupt recording's huge intervals from
     * overflowing, and give the same answer otherwise */
    typedef __int128 weight;
    int64_t l = 0, r = (int64_t)n - 1, i, j, k;
    weight total = 0, target, lw = 0, rw, iw, jw;
    uint64_t x, t;

    for (uint32_t q = 0; q < n; q++)
        total += a[q];
    target = total * ple / 100;
    rw = total - a[r];
    while (l < r) {
        k = (l + r) >> 1;
        x = a[k];
        i = l, iw = lw;
        j = r, jw = rw;
        do {
            while (a[i] < x)
                iw += a[i++];
            while (x < a[j])
                jw -= a[j--];
            if (i <= j) {
                t = a[i], a[i] = a[j], a[j] = t;
                iw += a[i++];
                jw -= a[j--];
            }
        } while (i <= j);
        if (jw < target)
            l = i, lw = iw;
        if (target < iw)
            r = j, rw = jw;
    }
    return a[l];
}

bool xt_cycles_weighted_percentiles(const struct xt_cycles *s, uint64_t out[3])
{
    uint64_t *a;

    out[0] = out[1] = out[2] = 0;
    if (!s->n)
        return true;
    if (!(a = malloc(s->n * sizeof(*a))))
        return false;
    memcpy(a, s->sample, s->n * sizeof(*a));
    out[1] = xenalyze_weighted(a, s->n, 50);
    out[0] = xenalyze_weighted(a, s->n, 5);
    out[2] = xenalyze_weighted(a, s->n, 95);
    free(a);
    return true;
}

void xt_cycles_free(struct xt_cycles *s)
{
    free(s->sample);
    s->sample = NULL;
    s->n = s->cap = 0;
}
