/* libFuzzer harness: the xentrace reader and the summary on any bytes (a user's recording).
 *
 * The first byte is not part of the file: its low bit sets allow_truncated, so that one corpus
 * reaches both the strict reader and the one that reads up to a cut. The rest is read as a
 * memory source to its end or its first error, every record goes to the summary, and the
 * summary is printed (to /dev/null) so that its formatting runs over whatever it gathered.
 *
 * Beyond not crashing, the reader must keep its promises on any file: records in global
 * (TSC, CPU) order, each CPU's records ending with the one flagged cpu_last, as many records
 * as its statistics count, and a message with every rejection. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "traces/summary.h"
#include "traces/xentrace.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok)
{
    if (!ok)
        abort();
}

/* Every record of an opened reader into s, to the end or the first error. */
static void read_all(struct xt_reader *r, struct xt_summary *s)
{
    static bool done[XT_MAX_CPUS]; /* the CPU's cpu_last record came */
    const struct xt_stats *st = xt_stats(r);
    struct xt_rec rec, prev = {0};
    struct xt_error err;
    uint64_t n = 0;
    int got;

    memset(done, 0, sizeof(done));
    while ((got = xt_next(r, &rec, &err)) > 0) {
        check(rec.n <= 7 && rec.cpu < st->nr_cpus && !done[rec.cpu]);
        check(!n || prev.tsc < rec.tsc || (prev.tsc == rec.tsc && prev.cpu <= rec.cpu));
        done[rec.cpu] = rec.cpu_last;
        prev = rec;
        n++;
        xt_summary_add(s, &rec);
    }
    check(got == 0 || err.msg[0]); /* a rejection always says why */
    if (got < 0)
        return;
    check(n == st->records);
    for (uint32_t cpu = 0; cpu < st->nr_cpus; cpu++)
        check(done[cpu] == (st->cpu[cpu].records > 0));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct xt_options opt = {0};
    struct xt_source src;
    struct xt_reader *r;
    struct xt_error err;
    struct xt_summary s;
    FILE *null;

    if (size < 1)
        return 0;
    opt.allow_truncated = data[0] & 1;
    xt_source_memory(&src, data + 1, size - 1);
    if (xt_open(&r, &src, &opt, &err) < 0) {
        check(err.msg[0] && !r); /* a rejection says why and leaves no reader */
        return 0;
    }
    if (xt_summary_init(&s, NULL) < 0) {
        xt_close(r);
        return 0;
    }
    read_all(r, &s);
    null = fopen("/dev/null", "w");
    if (null) {
        xt_summary_print(null, &s, xt_stats(r));
        fclose(null);
    }
    xt_summary_free(&s);
    xt_close(r);
    return 0;
}
