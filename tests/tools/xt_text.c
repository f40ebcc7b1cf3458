/* xt_text IN.txt OUT: a xentrace recording written from a text one, a record a line:
 * "CPU TSC EVENT D0 D1 ...", the event in hex, the TSC in cycles after 1,000,000, the words in
 * C notation; '#' starts a comment line. Hand-made recordings of what a real host may write
 * (lost records, partial round trips) test the replay of real recordings
 * (tests/scenarios/replay_real_text.cmake). Exit status: 0, 1 on a read, write or syntax error
 * (with a message). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "traces/writer.h"

#define MAX_RECS 4096
#define MAX_WORDS 7

struct text_rec {
    uint32_t cpu, event, d[MAX_WORDS];
    uint64_t tsc;
    unsigned n;
};

/* One line's record: false if it has none (blank, a comment) or is malformed (*bad set). */
static bool parse_line(const char *line, struct text_rec *r, bool *bad)
{
    char *end;
    while (*line == ' ' || *line == '\t')
        line++;
    if (*line == '#' || *line == '\n' || !*line)
        return false;
    r->cpu = (uint32_t)strtoul(line, &end, 0);
    r->tsc = strtoull(end, &end, 0);
    r->event = (uint32_t)strtoul(end, &end, 16);
    for (r->n = 0; r->n < MAX_WORDS; r->n++) {
        char *next;
        unsigned long w = strtoul(end, &next, 0);
        if (next == end)
            break;
        r->d[r->n] = (uint32_t)w;
        end = next;
    }
    *bad = !r->event || r->cpu > 255;
    return !*bad;
}

int main(int argc, char **argv)
{
    static struct text_rec recs[MAX_RECS];
    char line[512];
    size_t n = 0;
    uint32_t cpus = 1;
    struct xt_writer *w = NULL;
    struct xt_error err;
    if (argc != 3) {
        fprintf(stderr, "usage: xt_text IN.txt OUT\n");
        return 2;
    }
    FILE *in = fopen(argv[1], "r");
    if (!in) {
        perror(argv[1]);
        return 1;
    }
    for (unsigned no = 1; fgets(line, sizeof(line), in); no++) {
        bool bad = false;
        if (n < MAX_RECS && parse_line(line, &recs[n], &bad)) {
            cpus = recs[n].cpu >= cpus ? recs[n].cpu + 1 : cpus;
            n++;
        } else if (bad || n == MAX_RECS) {
            fprintf(stderr, "xt_text: %s:%u: not a record, or too many\n", argv[1], no);
            fclose(in);
            return 1;
        }
    }
    fclose(in);
    if (xt_writer_open(&w, argv[2], cpus, &err) < 0) {
        fprintf(stderr, "xt_text: %s: %s\n", argv[2], err.msg);
        return 1;
    }
    for (size_t i = 0; i < n; i++)
        xt_writer_add(w, recs[i].cpu, recs[i].event, true, 1000000 + recs[i].tsc, recs[i].n,
                      recs[i].d);
    if (xt_writer_close(w, NULL, &err) < 0) {
        fprintf(stderr, "xt_text: %s: %s\n", argv[2], err.msg);
        return 1;
    }
    return 0;
}
