/* libFuzzer harness: the CPU-profile reader on any text (a user's --cpu FILE.ini). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sim/profile.h"

/* The reader alone: no built-in profiles in this program. */
const struct profile_builtin profile_builtins[1];
const unsigned profile_nr_builtins = 0;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    struct cost_profile *p = malloc(sizeof(*p));
    struct diag d;
    if (!text || !p) {
        free(text);
        free(p);
        return 0;
    }
    memcpy(text, data, size);
    text[size] = 0;
    if (profile_parse_text(p, "fuzz.ini", text, &d) < 0 && !d.msg[0])
        abort(); /* a rejection always says why */
    free(p);
    free(text);
    return 0;
}
