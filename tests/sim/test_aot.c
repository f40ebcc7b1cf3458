/* The ahead-of-time annotator: block costs from prefix sums for any block boundaries, RDTSC
 * sites, the first-sight path, and disassembly for diagnostics. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "sim/aot.h"

/* 0x1000: xor eax,eax (2) | 0x1002: rdtsc (2) | 0x1004: add rax,1 (4) | 0x1008: syscall (2)
 * 0x100a: ret (1) | 0x100b: rdtscp (3) | 0x100e: nop (1) */
static const uint8_t code[] = {0x31, 0xc0, 0x0f, 0x31, 0x48, 0x83, 0xc0, 0x01,
                               0x0f, 0x05, 0xc3, 0x0f, 0x01, 0xf9, 0x90};
#define BASE 0x1000u

static struct aot_image aot;
static uint8_t ram[BASE + sizeof(code)];

static int setup(void **state)
{
    (void)state;
    memcpy(ram + BASE, code, sizeof(code));
    struct guest_image img = {.nr_seg = 1};
    img.seg[0] = (struct guest_segment){
        .vaddr = BASE, .memsz = sizeof(code), .filesz = sizeof(code), .exec = true};
    struct diag d;
    return aot_annotate(&aot, &img, ram, cost_profile_default(), &d);
}

static int teardown(void **state)
{
    (void)state;
    aot_free(&aot);
    return 0;
}

struct block_case {
    const char *name;
    uint64_t addr;
    uint32_t size;
    uint32_t insns;
};

static const struct block_case blocks[] = {
    {"whole segment", BASE, sizeof(code), 7}, {"first instruction", BASE, 2, 1},
    {"syscall block", BASE, 10, 4},           {"after syscall", BASE + 10, 5, 3},
    {"single nop", BASE + 14, 1, 1},
};

static void block_costs(void **state)
{
    (void)state;
    uint64_t per_insn = cost_cycles(cost_profile_default(), COST_GUEST_INSN);
    for (size_t i = 0; i < sizeof(blocks) / sizeof(blocks[0]); i++) {
        uint32_t insns, cycles;
        if (!aot_fast_cost(&aot, blocks[i].addr, blocks[i].size, &insns, &cycles))
            fail_msg("%s: not found", blocks[i].name);
        assert_int_equal(insns, blocks[i].insns);
        assert_int_equal(cycles, blocks[i].insns * per_insn);
    }
}

static void outside_or_misaligned_is_slow(void **state)
{
    (void)state;
    uint32_t insns, cycles;
    assert_false(aot_fast_cost(&aot, BASE + 5, 3, &insns, &cycles)); /* inside add */
    assert_false(aot_fast_cost(&aot, 0x2000, 4, &insns, &cycles));
    assert_false(aot_fast_cost(&aot, BASE + 14, 2, &insns, &cycles)); /* runs past the end */
    /* First sight decodes and caches: the same answer twice. */
    const uint8_t nops[] = {0x90, 0x90, 0x90};
    aot_slow_cost(&aot, 0x9000, 3, nops, &insns, &cycles);
    assert_int_equal(insns, 3);
    aot_slow_cost(&aot, 0x9000, 3, nops, &insns, &cycles);
    assert_int_equal(insns, 3);
    assert_int_equal(aot.slow_used, 1);
}

static void tsc_sites(void **state)
{
    (void)state;
    assert_int_equal(aot.nr_tsc_sites, 2);
    assert_int_equal(aot.tsc_site[0].addr, BASE + 2);
    assert_int_equal(aot.tsc_site[0].len, 2);
    assert_false(aot.tsc_site[0].rdtscp);
    assert_int_equal(aot.tsc_site[1].addr, BASE + 11);
    assert_int_equal(aot.tsc_site[1].len, 3);
    assert_true(aot.tsc_site[1].rdtscp);
    assert_null(aot_tsc_site(&aot, BASE + 3));
    /* A REX-prefixed rdtsc is 3 bytes long but still rdtsc; first sight records it. */
    const uint8_t rex_rdtsc[] = {0x48, 0x0f, 0x31, 0xc3};
    uint32_t insns, cycles;
    assert_int_equal(aot_slow_cost(&aot, 0xa000, sizeof(rex_rdtsc), rex_rdtsc, &insns, &cycles), 1);
    const struct aot_tsc_site *s = aot_tsc_site(&aot, 0xa000);
    assert_non_null(s);
    assert_int_equal(s->len, 3);
    assert_false(s->rdtscp);
}

static void range_and_disasm(void **state)
{
    (void)state;
    uint64_t per_insn = cost_cycles(cost_profile_default(), COST_GUEST_INSN);
    uint32_t insns, cycles;
    aot_range_cost(&aot, BASE + 4, BASE + 10, code + 4, &insns, &cycles);
    assert_int_equal(insns, 2);
    assert_int_equal(cycles, 2 * per_insn);
    const uint8_t two_nops[] = {0x90, 0x90};
    aot_range_cost(&aot, 0x9100, 0x9102, two_nops, &insns, &cycles); /* outside: decoded */
    assert_int_equal(insns, 2);
    aot_range_cost(&aot, BASE + 4, BASE + 4, code + 4, &insns, &cycles);
    assert_int_equal(insns, 0);
    char text[64];
    aot_disasm_one(&aot, BASE + 4, code + 4, sizeof(code) - 4, text, sizeof(text));
    assert_string_equal(text, "add rax, 1");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(block_costs),
        cmocka_unit_test(outside_or_misaligned_is_slow),
        cmocka_unit_test(tsc_sites),
        cmocka_unit_test(range_and_disasm),
    };
    return cmocka_run_group_tests_name("aot", tests, setup, teardown);
}
