/* libFuzzer harness: the scenario parser and the machine checks on any text. It must return
 * (0 or an error with a message), never crash, read out of bounds or leak. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sim/scenario.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The scenario is large (every possible domain): one for the whole run, reused. */
static struct scenario scenario_buffer;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    struct scenario *sc = &scenario_buffer;
    struct diag d;
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = 0;
    if (scenario_load_string(sc, "<fuzz>", text, &d) == 0)
        (void)scenario_check_machine(sc, &d);
    else if (!d.msg[0])
        abort(); /* a rejection always says why */
    free(text);
    return 0;
}
