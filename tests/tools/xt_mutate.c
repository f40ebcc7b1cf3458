/* xt_mutate SEED IN OUT: IN with a few bytes changed, the same ones for the same SEED (a
 * xorshift generator): broken recordings for the replay's robustness test
 * (tests/scenarios/replay_mutated.cmake). Exit status 0, or 1 if a file cannot be read or
 * written. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static uint64_t next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: xt_mutate SEED IN OUT\n");
        return 2;
    }
    uint64_t s = strtoull(argv[1], NULL, 0) * 2654435761u + 1;
    FILE *in = fopen(argv[2], "rb");
    if (!in || fseek(in, 0, SEEK_END) < 0) {
        perror(argv[2]);
        return 1;
    }
    long size = ftell(in);
    unsigned char *b = size > 0 ? malloc((size_t)size) : NULL;
    rewind(in);
    if (!b || fread(b, 1, (size_t)size, in) != (size_t)size) {
        fprintf(stderr, "xt_mutate: cannot read %s\n", argv[2]);
        return 1;
    }
    fclose(in);
    unsigned changes = 1 + (unsigned)(next(&s) % 24);
    for (unsigned i = 0; i < changes; i++)
        b[next(&s) % (uint64_t)size] = (unsigned char)next(&s);
    FILE *out = fopen(argv[3], "wb");
    if (!out || fwrite(b, 1, (size_t)size, out) != (size_t)size || fclose(out) != 0) {
        fprintf(stderr, "xt_mutate: cannot write %s\n", argv[3]);
        return 1;
    }
    free(b);
    return 0;
}
