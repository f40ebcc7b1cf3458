/* The machine-physical space and a PV domain's page tables (sim/physmem.c): which virt_base
 * values can be mapped, and what a guest virtual address reaches through the tables the
 * builder writes, walked here as the CPU walks them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "sim/physmem.h"

#define MiB (1ull << 20)
#define GiB (1ull << 30)
#define LINUX_BASE 0xffffffff80000000ull

struct base_case {
    uint64_t virt_base, ram;
    bool ok;
};

static void test_virt_base_problems(void **state)
{
    (void)state;
    static const struct base_case cases[] = {
        {0, 4 * MiB, true},                      /* evsim's own guests */
        {0, 4096 * MiB, true},                   /* the largest domain, at 0 */
        {LINUX_BASE, 4 * MiB, true},             /* Linux's */
        {LINUX_BASE, 2 * GiB - 4096, true},      /* RAM and shared_info fill the last 2 GiB */
        {LINUX_BASE, 2 * GiB, false},            /* shared_info's page would wrap */
        {LINUX_BASE, 3 * GiB, false},            /* past the end of the top 512 GiB */
        {0xffff800000000000ull, 4 * MiB, true},  /* the lowest canonical upper-half address */
        {0x0000800000000000ull, 4 * MiB, false}, /* not canonical */
        {LINUX_BASE + 2 * MiB, 4 * MiB, false},  /* not 1 GiB aligned */
        {511 * GiB, 4 * MiB, true},              /* the last GiB of the lowest 512 GiB */
        {511 * GiB, 1 * GiB, false},             /* RAM and shared_info need 2 GiB from there */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *why = phys_virt_base_problem(cases[i].virt_base, cases[i].ram);
        if ((why == NULL) != cases[i].ok)
            fail_msg("case %zu: virt_base 0x%llx, %llu MiB: %s", i,
                     (unsigned long long)cases[i].virt_base,
                     (unsigned long long)(cases[i].ram / MiB), why ? why : "accepted");
    }
}

/* Walk va through the domain's tables (PRESENT checked at every level; 2 MiB pages at L2):
 * the machine address it reaches, with its L1 flags, or UINT64_MAX when not present. */
static uint64_t walk(const struct phys_space *ps, uint64_t cr3, uint64_t va, uint64_t *flags)
{
    uint64_t table = cr3;
    for (int level = 4; level >= 1; level--) {
        unsigned index = (unsigned)(va >> (12 + 9 * (level - 1))) & 511;
        uint64_t e;
        memcpy(&e, ps->host + table + 8ull * index, sizeof(e));
        if (!(e & PTE_PRESENT))
            return UINT64_MAX;
        uint64_t addr = e & 0x000ffffffffff000ull;
        if (level == 2 && (e & PTE_PSE)) {
            *flags = e & 0xfff;
            return (addr & ~(2 * MiB - 1)) + (va & (2 * MiB - 1));
        }
        if (level == 1) {
            *flags = e & 0xfff;
            return addr + (va & 4095);
        }
        table = addr;
    }
    return UINT64_MAX;
}

struct walk_case {
    uint64_t virt_base;
};

static void check_tables(uint64_t virt_base)
{
    const uint64_t ram = 8 * MiB;
    struct phys_space ps;
    struct phys_layout l;
    struct diag d;
    assert_int_equal(phys_space_init(&ps, phys_domain_bytes(ram), &d), 0);
    uint64_t base = phys_domain_alloc(&ps, ram);
    assert_int_not_equal(base, UINT64_MAX);
    assert_int_equal(phys_layout_plan(&l, 2 * MiB, ram, 64 * 1024, virt_base), 0);
    phys_tables_build(&ps, &l, base, ram, 7);
    uint64_t cr3 = base + l.pt_base, flags = 0;

    /* RAM: guest-physical pa at virt_base + pa, page-table pages read-only */
    assert_int_equal(walk(&ps, cr3, virt_base + 3 * MiB + 0x123, &flags), base + 3 * MiB + 0x123);
    assert_true(flags & PTE_RW);
    assert_int_equal(walk(&ps, cr3, virt_base + l.pt_base, &flags), base + l.pt_base);
    assert_false(flags & PTE_RW);
    /* shared_info's page, just past RAM: window slot 7 */
    assert_int_equal(walk(&ps, cr3, virt_base + ram, &flags), PHYS_WINDOW_BASE + 7 * 4096);
    /* page 0, and memory past RAM: the hole, which names the guest's own address */
    uint64_t m = walk(&ps, cr3, virt_base + 0x10, &flags);
    assert_true(m >= PHYS_HOLE_BASE);
    assert_int_equal(phys_fault_address(&l, m), virt_base + 0x10);
    m = walk(&ps, cr3, virt_base + ram + 3 * MiB + 8, &flags);
    assert_true(m >= PHYS_HOLE_BASE);
    assert_int_equal(phys_fault_address(&l, m), virt_base + ram + 3 * MiB + 8);
    /* another GiB of the same 512 GiB: the hole too */
    uint64_t other = (virt_base & ~(512 * GiB - 1)) + (virt_base % (512 * GiB) ? 0 : 5 * GiB);
    m = walk(&ps, cr3, other + 0x2000, &flags);
    assert_true(m >= PHYS_HOLE_BASE);
    assert_int_equal(phys_fault_address(&l, m), other + 0x2000);
    /* outside that 512 GiB: no entry at all */
    assert_int_equal(walk(&ps, cr3, virt_base ^ (1ull << 40), &flags), UINT64_MAX);
    phys_space_free(&ps);
}

static void test_tables_at_zero(void **state)
{
    (void)state;
    check_tables(0);
}

static void test_tables_at_linux_base(void **state)
{
    (void)state;
    check_tables(LINUX_BASE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_virt_base_problems),
        cmocka_unit_test(test_tables_at_zero),
        cmocka_unit_test(test_tables_at_linux_base),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
