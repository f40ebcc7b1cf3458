/* libFuzzer harness: the guest ELF loader and the ahead-of-time decoder on any bytes. The image is
 * parsed as `evsim run` loads a guest, placed in a guest RAM of GUEST_RAM bytes, its symbols looked
 * up, its executable segments decoded with capstone, and a few blocks anywhere in RAM costed the
 * way a guest jumping there would have them costed. It must return (the image accepted, or
 * refused with a message), never crash, read out of bounds or leak. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sim/aot.h"
#include "sim/loader.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Large enough for the seeds (guests link at 1 MiB), small enough that decoding a whole RAM of
 * junk stays well under a second. */
#define GUEST_RAM (2u << 20)

static uint8_t ram[GUEST_RAM];

static struct cost_profile cost_for_fuzzing(void)
{
    struct cost_profile p = {.name = "fuzz", .cpu_khz = 1000000};
    for (unsigned i = 0; i < COST_IDS; i++)
        p.c[i].cycles = i + 1; /* distinct, so mix-ups in the decoder's sums cannot hide */
    return p;
}

/* Blocks a guest could run: at the entry, the hypercall page, and at offsets drawn from the
 * input's last bytes, anywhere in RAM (code outside the sweep takes the slow path). */
static void cost_some_blocks(struct aot_image *a, const struct guest_image *img,
                             const uint8_t *data, size_t size)
{
    uint64_t at[4] = {img->entry, img->hypercall_page, 0, 0};
    for (unsigned k = 2; k < 4 && size >= 4 * (k - 1); k++)
        at[k] = (uint64_t)data[size - 4 * (k - 1)] << 16 | data[size - 4 * (k - 1) + 1] << 8 |
                data[size - 4 * (k - 1) + 2];
    for (unsigned k = 0; k < 4; k++) {
        uint64_t addr = at[k] % GUEST_RAM;
        uint32_t len = (uint32_t)(GUEST_RAM - addr < 64 ? GUEST_RAM - addr : 64);
        uint32_t insns, cycles;
        bool cond;
        if (!aot_fast_cost(a, addr, len, &insns, &cycles, &cond))
            aot_slow_cost(a, addr, len, ram + addr, &insns, &cycles, &cond);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct cost_profile cost;
    if (!cost.cpu_khz)
        cost = cost_for_fuzzing();
    struct guest_image img;
    struct diag d = {0};
    if (guest_image_parse("<fuzz>", data, size, &img, &d) < 0 ||
        guest_image_place(&img, ram, GUEST_RAM, &d) < 0) {
        if (!d.msg[0])
            abort(); /* a refusal always says why */
        guest_image_free(&img);
        return 0;
    }
    (void)guest_image_symbol(&img, "hypercall_page");
    (void)guest_image_symbol_at(&img, img.entry);
    struct aot_image a;
    if (aot_annotate(&a, &img, ram, &cost, &d) == 0)
        cost_some_blocks(&a, &img, data, size);
    else if (!d.msg[0])
        abort();
    aot_free(&a);
    guest_image_free(&img);
    return 0;
}
