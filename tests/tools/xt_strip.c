/* xt_strip IN OUT: IN (an evsim recording) without evsim's own records, as a real Xen host's
 * xentrace would have written it: only Xen's records (scheduler, HVM, PV, lost records) are
 * kept, each on its CPU with its TSC. The replay of real recordings is tested on such files
 * (tests/scenarios/replay_real.cmake), since the one real sample has scheduler records only.
 * Exit status: 0, 1 on a read or write error (with a message). */
#include <stdio.h>

#include "traces/writer.h"
#include "traces/xentrace.h"
#include "traces/xt_ids.h"

static bool kept(uint32_t event)
{
    return xt_class_of(event) != XT_CLS_EVSIM;
}

int main(int argc, char **argv)
{
    struct xt_source src;
    struct xt_error err;
    struct xt_reader *r = NULL;
    struct xt_writer *w = NULL;
    struct xt_options opt = {0};
    struct xt_rec rec;
    int rc;
    if (argc != 3) {
        fprintf(stderr, "usage: xt_strip IN OUT\n");
        return 2;
    }
    if (xt_source_file(&src, argv[1], &err) < 0 || xt_open(&r, &src, &opt, &err) < 0) {
        fprintf(stderr, "xt_strip: %s: %s\n", argv[1], err.msg);
        return 1;
    }
    if (xt_writer_open(&w, argv[2], xt_stats(r)->nr_cpus, &err) < 0) {
        fprintf(stderr, "xt_strip: %s: %s\n", argv[2], err.msg);
        return 1;
    }
    while ((rc = xt_next(r, &rec, &err)) > 0)
        if (kept(rec.event))
            xt_writer_add(w, rec.cpu, rec.event, rec.has_tsc, rec.tsc, rec.n, rec.d);
    if (rc < 0)
        fprintf(stderr, "xt_strip: %s: %s\n", argv[1], err.msg);
    xt_close(r);
    xt_source_file_close(&src);
    if (rc < 0) {
        xt_writer_discard(w);
        return 1;
    }
    if (xt_writer_close(w, NULL, &err) < 0) {
        fprintf(stderr, "xt_strip: %s: %s\n", argv[2], err.msg);
        return 1;
    }
    return 0;
}
