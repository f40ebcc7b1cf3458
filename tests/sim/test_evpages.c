/* The event pages the simulator maps as device-like memory (sim/evpages.c): which announced
 * pages it keeps, and which a return to the 2-level ABI releases. No engine: only the domain's
 * page list, which every engine's mapping follows. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "sim/evpages.h"

#define RAM (1u << 20)

static struct sim_domain *domain_new(void)
{
    struct sim_domain *sd = test_calloc(1, sizeof(*sd));
    sd->ram_size = RAM;
    sd->shared_info_gpa = RAM; /* just past RAM, as the domain builder puts it */
    return sd;
}

static void domain_free(struct sim_domain *sd)
{
    sim_evpages_free_domain(sd);
    test_free(sd);
}

static bool mapped(const struct sim_domain *sd, uint64_t gpa)
{
    for (unsigned i = 0; i < sd->nr_evpage; i++)
        if (sd->evpage[i].gpa == gpa && !sd->evpage[i].released)
            return true;
    return false;
}

/* Pages outside RAM are not event pages: shared_info is device-like memory already, and
 * nothing else outside RAM can be announced. */
static void test_only_ram_pages(void **state)
{
    struct sim_domain *sd = domain_new();
    (void)state;
    sim_evpages_add(sd, RAM, HV_PAGE_VCPU_INFO, 40);
    sim_evpages_add(sd, 0, HV_PAGE_FIFO_CONTROL, 0);
    sim_evpages_add(sd, RAM + 4096, HV_PAGE_FIFO_ARRAY, 0);
    assert_int_equal(sd->nr_evpage, 0);
    assert_int_equal(sd->evpage_gen, 0);
    sim_evpages_add(sd, RAM - 4096, HV_PAGE_VCPU_INFO, 40);
    assert_int_equal(sd->nr_evpage, 1);
    assert_int_equal(sd->evpage_gen, 1);
    domain_free(sd);
}

/* A page holding vcpu_infos stays shared when the domain goes back to 2-level; the ABI's pages
 * become RAM again. Several vcpu_infos in one page: one entry. */
static void test_vcpu_info_pages_survive_release(void **state)
{
    struct sim_domain *sd = domain_new();
    (void)state;
    sim_evpages_add(sd, 0x10000, HV_PAGE_FIFO_CONTROL, 0);
    sim_evpages_add(sd, 0x11000, HV_PAGE_FIFO_ARRAY, 0);
    for (unsigned v = 32; v < 64; v++)
        sim_evpages_add(sd, 0x20000, HV_PAGE_VCPU_INFO, v);
    assert_int_equal(sd->nr_evpage, 3);
    unsigned gen = sd->evpage_gen;
    sim_evpages_release(sd);
    assert_int_not_equal(sd->evpage_gen, gen);
    assert_false(mapped(sd, 0x10000));
    assert_false(mapped(sd, 0x11000));
    assert_true(mapped(sd, 0x20000));
    /* and again on FIFO: the control page comes back, the vcpu_info page is not doubled */
    sim_evpages_add(sd, 0x10000, HV_PAGE_FIFO_CONTROL, 0);
    sim_evpages_add(sd, 0x20000, HV_PAGE_VCPU_INFO, 33);
    assert_int_equal(sd->nr_evpage, 4);
    assert_true(mapped(sd, 0x10000));
    domain_free(sd);
}

/* A vcpu_info registered in a page an ABI announced first keeps that page for good. */
static void test_vcpu_info_in_abi_page(void **state)
{
    struct sim_domain *sd = domain_new();
    (void)state;
    sim_evpages_add(sd, 0x10000, HV_PAGE_FIFO_CONTROL, 0);
    sim_evpages_add(sd, 0x10000, HV_PAGE_VCPU_INFO, 1);
    assert_int_equal(sd->nr_evpage, 1);
    sim_evpages_release(sd);
    assert_true(mapped(sd, 0x10000));
    domain_free(sd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_only_ram_pages),
        cmocka_unit_test(test_vcpu_info_pages_survive_release),
        cmocka_unit_test(test_vcpu_info_in_abi_page),
    };
    return cmocka_run_group_tests_name("evpages", tests, NULL, NULL);
}
