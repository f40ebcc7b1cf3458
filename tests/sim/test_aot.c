/* The ahead-of-time annotator: block costs from prefix sums for any block boundaries, RDTSC
 * sites, the first-sight path, and disassembly for diagnostics. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "sim/aot.h"
#include "sim/profile.h"

/* 0x1000: xor eax,eax (2) | 0x1002: rdtsc (2) | 0x1004: add rax,1 (4) | 0x1008: syscall (2)
 * 0x100a: ret (1) | 0x100b: rdtscp (3) | 0x100e: nop (1) */
static const uint8_t code[] = {0x31, 0xc0, 0x0f, 0x31, 0x48, 0x83, 0xc0, 0x01,
                               0x0f, 0x05, 0xc3, 0x0f, 0x01, 0xf9, 0x90};
#define BASE 0x1000u

static struct aot_image aot;
static uint8_t ram[BASE + sizeof(code)];
static struct cost_profile prof;

static uint64_t C(enum cost_id id)
{
    return cost_cycles(&prof, id);
}

static int setup(void **state)
{
    (void)state;
    struct diag d;
    if (profile_load(&prof, PROFILE_DEFAULT, NULL, &d) < 0)
        return -1;
    memcpy(ram + BASE, code, sizeof(code));
    struct guest_image img = {.nr_seg = 1};
    img.seg[0] = (struct guest_segment){
        .vaddr = BASE, .memsz = sizeof(code), .filesz = sizeof(code), .exec = true};
    return aot_annotate(&aot, &img, ram, &prof, &d);
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
    /* instructions by class: alu, serializing, ret (load + taken branch) */
    unsigned alu, serializing, ret;
};

static const struct block_case blocks[] = {
    {"whole segment", BASE, sizeof(code), 7, 4, 2, 1}, {"first instruction", BASE, 2, 1, 1, 0, 0},
    {"syscall block", BASE, 10, 4, 3, 1, 0},           {"after syscall", BASE + 10, 5, 3, 1, 1, 1},
    {"single nop", BASE + 14, 1, 1, 1, 0, 0},
};

static void block_costs(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(blocks) / sizeof(blocks[0]); i++) {
        const struct block_case *b = &blocks[i];
        uint32_t insns, cycles;
        bool cond;
        if (!aot_fast_cost(&aot, b->addr, b->size, &insns, &cycles, &cond))
            fail_msg("%s: not found", b->name);
        assert_int_equal(insns, b->insns);
        assert_int_equal(cycles, b->alu * C(COST_INSN_ALU) +
                                     b->serializing * C(COST_INSN_SERIALIZING) +
                                     b->ret * (C(COST_INSN_LOAD) + C(COST_INSN_BRANCH_TAKEN)));
        assert_false(cond);
    }
}

/* One instruction, classified: what it costs under the profile. */
struct class_case {
    const char *name;
    uint8_t bytes[8];
    unsigned len;
    enum cost_id a, b; /* the cost is C(a) + C(b); COST_IDS: nothing */
    bool conditional;
};

static const struct class_case classes[] = {
    {"mov r,r", {0x48, 0x89, 0xd8}, 3, COST_INSN_ALU, COST_IDS, false},
    {"load", {0x48, 0x8b, 0x03}, 3, COST_INSN_LOAD, COST_IDS, false},
    {"store", {0x48, 0x89, 0x03}, 3, COST_INSN_STORE, COST_IDS, false},
    {"add r,[m]: load only", {0x48, 0x03, 0x03}, 3, COST_INSN_LOAD, COST_IDS, false},
    {"add [m],r: read-modify-write", {0x48, 0x01, 0x03}, 3, COST_INSN_LOAD, COST_INSN_STORE, false},
    {"lock add", {0xf0, 0x48, 0x01, 0x03}, 4, COST_INSN_LOCKED, COST_IDS, false},
    {"lock bts", {0xf0, 0x48, 0x0f, 0xab, 0x03}, 5, COST_INSN_LOCKED, COST_IDS, false},
    {"xchg with memory is locked", {0x48, 0x87, 0x03}, 3, COST_INSN_LOCKED, COST_IDS, false},
    {"lock cmpxchg", {0xf0, 0x48, 0x0f, 0xb1, 0x0b}, 5, COST_INSN_LOCKED, COST_IDS, false},
    {"imul r,r", {0x48, 0x0f, 0xaf, 0xc3}, 4, COST_INSN_MUL, COST_IDS, false},
    {"imul r,[m]", {0x48, 0x0f, 0xaf, 0x03}, 4, COST_INSN_LOAD, COST_INSN_MUL, false},
    {"div", {0x48, 0xf7, 0xf3}, 3, COST_INSN_DIV, COST_IDS, false},
    {"cpuid", {0x0f, 0xa2}, 2, COST_INSN_SERIALIZING, COST_IDS, false},
    {"rdtsc", {0x0f, 0x31}, 2, COST_INSN_SERIALIZING, COST_IDS, false},
    {"push", {0x50}, 1, COST_INSN_STORE, COST_IDS, false},
    {"pop", {0x58}, 1, COST_INSN_LOAD, COST_IDS, false},
    {"call", {0xe8, 0, 0, 0, 0}, 5, COST_INSN_STORE, COST_INSN_BRANCH_TAKEN, false},
    {"ret", {0xc3}, 1, COST_INSN_LOAD, COST_INSN_BRANCH_TAKEN, false},
    {"jmp", {0xeb, 0x00}, 2, COST_INSN_BRANCH_TAKEN, COST_IDS, false},
    {"jne", {0x75, 0x00}, 2, COST_INSN_BRANCH_NOT_TAKEN, COST_IDS, true},
    {"jrcxz", {0xe3, 0x00}, 2, COST_INSN_BRANCH_NOT_TAKEN, COST_IDS, true},
};

static void instruction_classes(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(classes) / sizeof(classes[0]); i++) {
        const struct class_case *c = &classes[i];
        uint8_t mem[0x2000] = {0};
        memcpy(mem + 0x1000, c->bytes, c->len);
        struct guest_image img = {.nr_seg = 1};
        img.seg[0] = (struct guest_segment){
            .vaddr = 0x1000, .memsz = c->len, .filesz = c->len, .exec = true};
        struct aot_image one;
        struct diag d;
        assert_int_equal(aot_annotate(&one, &img, mem, &prof, &d), 0);
        uint32_t insns, cycles;
        bool cond;
        assert_true(aot_fast_cost(&one, 0x1000, c->len, &insns, &cycles, &cond));
        print_message("%s\n", c->name);
        assert_int_equal(insns, 1);
        assert_int_equal(cycles, C(c->a) + (c->b == COST_IDS ? 0 : C(c->b)));
        assert_int_equal(cond, c->conditional);
        aot_free(&one);
    }
}

static void outside_or_misaligned_is_slow(void **state)
{
    (void)state;
    uint32_t insns, cycles;
    bool cond;
    assert_false(aot_fast_cost(&aot, BASE + 5, 3, &insns, &cycles, &cond)); /* inside add */
    assert_false(aot_fast_cost(&aot, 0x2000, 4, &insns, &cycles, &cond));
    assert_false(aot_fast_cost(&aot, BASE + 14, 2, &insns, &cycles, &cond)); /* past the end */
    /* First sight decodes and caches: the same answer twice. */
    const uint8_t nops[] = {0x90, 0x90, 0x90};
    aot_slow_cost(&aot, 0x9000, 3, nops, &insns, &cycles, &cond);
    assert_int_equal(insns, 3);
    aot_slow_cost(&aot, 0x9000, 3, nops, &insns, &cycles, &cond);
    assert_int_equal(insns, 3);
    assert_int_equal(aot.slow_used, 1);
}

static void tsc_sites(void **state)
{
    (void)state;
    assert_int_equal(aot.nr_sites, 2);
    assert_int_equal(aot.site[0].addr, BASE + 2);
    assert_int_equal(aot.site[0].len, 2);
    assert_int_equal(aot.site[0].kind, AOT_SITE_RDTSC);
    assert_int_equal(aot.site[1].addr, BASE + 11);
    assert_int_equal(aot.site[1].len, 3);
    assert_int_equal(aot.site[1].kind, AOT_SITE_RDTSCP);
    assert_null(aot_site_at(&aot, BASE + 3));
    /* A REX-prefixed rdtsc is 3 bytes long but still rdtsc; first sight records it. */
    const uint8_t rex_rdtsc[] = {0x48, 0x0f, 0x31, 0xc3};
    uint32_t insns, cycles;
    bool cond;
    assert_int_equal(
        aot_slow_cost(&aot, 0xa000, sizeof(rex_rdtsc), rex_rdtsc, &insns, &cycles, &cond), 1);
    const struct aot_site *s = aot_site_at(&aot, 0xa000);
    assert_non_null(s);
    assert_int_equal(s->len, 3);
    assert_int_equal(s->kind, AOT_SITE_RDTSC);
}

/* Every form of port I/O becomes a site that says which element it moves. */
static void port_io_sites(void **state)
{
    (void)state;
    static const struct {
        uint8_t bytes[4];
        uint8_t len;
        bool in, string, rep, imm_port;
        uint8_t size, port;
    } cases[] = {
        {{0xec}, 1, true, false, false, false, 1, 0},            /* in al, dx */
        {{0x66, 0xed}, 2, true, false, false, false, 2, 0},      /* in ax, dx */
        {{0xed}, 1, true, false, false, false, 4, 0},            /* in eax, dx */
        {{0xe4, 0x71}, 2, true, false, false, true, 1, 0x71},    /* in al, 0x71 */
        {{0xe7, 0x80}, 2, false, false, false, true, 4, 0x80},   /* out 0x80, eax */
        {{0xee}, 1, false, false, false, false, 1, 0},           /* out dx, al */
        {{0x66, 0xef}, 2, false, false, false, false, 2, 0},     /* out dx, ax */
        {{0x6c}, 1, true, true, false, false, 1, 0},             /* insb */
        {{0xf3, 0x6d}, 2, true, true, true, false, 4, 0},        /* rep insd */
        {{0xf3, 0x66, 0x6f}, 3, false, true, true, false, 2, 0}, /* rep outsw */
        /* GNU as writes rep insw/outsw with the operand-size prefix first, which capstone
         * decodes as insd/outsd */
        {{0x66, 0xf3, 0x6d}, 3, true, true, true, false, 2, 0},  /* rep insw */
        {{0x66, 0xf3, 0x6f}, 3, false, true, true, false, 2, 0}, /* rep outsw */
        {{0xf3, 0x6e}, 2, false, true, true, false, 1, 0},       /* rep outsb */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint64_t at = 0xb000 + 0x10 * i;
        uint8_t code_i[8] = {0};
        memcpy(code_i, cases[i].bytes, cases[i].len);
        code_i[cases[i].len] = 0xc3;
        uint32_t insns, cycles;
        bool cond;
        aot_slow_cost(&aot, at, cases[i].len + 1u, code_i, &insns, &cycles, &cond);
        const struct aot_site *s = aot_site_at(&aot, at);
        assert_non_null(s);
        assert_int_equal(s->kind, AOT_SITE_PORT_IO);
        assert_int_equal(s->len, cases[i].len);
        assert_int_equal(s->in, cases[i].in);
        assert_int_equal(s->string, cases[i].string);
        assert_int_equal(s->rep, cases[i].rep);
        assert_int_equal(s->imm_port, cases[i].imm_port);
        assert_int_equal(s->size, cases[i].size);
        assert_int_equal(s->port, cases[i].port);
    }
}

static void range_and_disasm(void **state)
{
    (void)state;
    uint32_t insns, cycles;
    aot_range_cost(&aot, BASE + 4, BASE + 10, code + 4, &insns, &cycles);
    assert_int_equal(insns, 2);
    assert_int_equal(cycles, 2 * C(COST_INSN_ALU)); /* add, syscall */
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
        cmocka_unit_test(instruction_classes),
        cmocka_unit_test(outside_or_misaligned_is_slow),
        cmocka_unit_test(tsc_sites),
        cmocka_unit_test(port_io_sites),
        cmocka_unit_test(range_and_disasm),
    };
    return cmocka_run_group_tests_name("aot", tests, setup, teardown);
}
