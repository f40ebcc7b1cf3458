/* The machine-physical space PV domains share, and their page tables (see physmem.h). */
#define _GNU_SOURCE /* MAP_ANONYMOUS, MAP_NORESERVE */
#include "sim/physmem.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "models/xen_public.h"

#define PT_ENTRIES 512u
#define L1_SPAN (PT_ENTRIES * (uint64_t)XEN_PAGE_SIZE) /* 2 MiB */
#define L2_SPAN (PT_ENTRIES * L1_SPAN)                 /* 1 GiB */
#define DOMAIN_ALIGN L1_SPAN
#define HOLE_L2_TABLES PT_ENTRIES /* one per L3 entry: 512 GiB of virtual addresses */
#define SHARED_BYTES ((uint64_t)HOLE_L2_TABLES * XEN_PAGE_SIZE)
#define RAM_LIMIT PHYS_WINDOW_BASE
#define TEXT_BYTES (256ull << 20) /* address space for programs' shared text */

static uint64_t round_up(uint64_t x, uint64_t to)
{
    return (x + to - 1) / to * to;
}

static uint64_t *table_at(struct phys_space *ps, uint64_t machine)
{
    return (uint64_t *)(ps->host + machine);
}

/* 2 MiB pages of the hole for every L3 entry without RAM, the same for every domain. */
static void hole_tables_build(struct phys_space *ps)
{
    for (unsigned t = 0; t < HOLE_L2_TABLES; t++) {
        uint64_t *l2 = table_at(ps, ps->hole_l2 + (uint64_t)t * XEN_PAGE_SIZE);
        uint64_t va = (uint64_t)t * L2_SPAN;
        for (unsigned i = 0; i < PT_ENTRIES; i++)
            l2[i] = (PHYS_HOLE_BASE + va + i * L1_SPAN) | PTE_L1_FLAGS | PTE_PSE;
    }
}

int phys_space_init(struct phys_space *ps, uint64_t bytes, struct diag *d)
{
    memset(ps, 0, sizeof(*ps));
    uint64_t size = round_up(SHARED_BYTES, DOMAIN_ALIGN) + TEXT_BYTES + bytes;
    if (size > RAM_LIMIT)
        return diag_set(d,
                        "the PV domains need %llu GiB of machine memory together; evsim's "
                        "machine space holds %llu GiB: give the domains less memory",
                        (unsigned long long)(size >> 30), (unsigned long long)(RAM_LIMIT >> 30));
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                   -1, 0);
    if (p == MAP_FAILED)
        return diag_set(d, "cannot reserve %llu MiB of address space for guest memory",
                        (unsigned long long)(size >> 20));
    ps->host = p;
    ps->size = size;
    ps->hole_l2 = 0;
    ps->text = round_up(SHARED_BYTES, DOMAIN_ALIGN);
    ps->used = ps->text + TEXT_BYTES;
    hole_tables_build(ps);
    ps->nr_slots = 1; /* slot 0 means none */
    return 0;
}

void phys_space_free(struct phys_space *ps)
{
    if (ps->host)
        munmap(ps->host, ps->size);
    free(ps->slot);
    memset(ps, 0, sizeof(*ps));
}

uint64_t phys_domain_bytes(uint64_t ram_size)
{
    return round_up(ram_size, DOMAIN_ALIGN);
}

uint64_t phys_domain_alloc(struct phys_space *ps, uint64_t ram_size)
{
    uint64_t need = phys_domain_bytes(ram_size);
    if (!ps->host || need > ps->size - ps->used)
        return UINT64_MAX;
    uint64_t base = ps->used;
    ps->used += need;
    return base;
}

/* L1 tables cover RAM and the page after it (shared_info's); L2s cover the L1s. */
static void layout_tables(struct phys_layout *l, uint64_t ram_size)
{
    uint64_t pages = ram_size / XEN_PAGE_SIZE + 1;
    l->nr_l1 = (unsigned)((pages + PT_ENTRIES - 1) / PT_ENTRIES);
    l->nr_l2 = (l->nr_l1 + PT_ENTRIES - 1) / PT_ENTRIES;
    l->nr_pt_frames = 1 + 1 + l->nr_l2 + l->nr_l1; /* L4, L3, L2s, L1s */
}

const char *phys_virt_base_problem(uint64_t virt_base, uint64_t ram_size)
{
    /* canonical: bits 63..47 all equal */
    uint64_t top = virt_base >> 47;
    if (top != 0 && top != (UINT64_MAX >> 47))
        return "not a canonical address";
    if (virt_base % L2_SPAN)
        return "not aligned to 1 GiB (evsim maps a domain's memory with whole L2 tables)";
    uint64_t first = virt_base / L2_SPAN % PT_ENTRIES;
    if (round_up(ram_size + XEN_PAGE_SIZE, L2_SPAN) / L2_SPAN > PT_ENTRIES - first)
        return "too close to the end of its 512 GiB for the domain's memory and shared_info page "
               "(evsim maps them with one L3 table): give the domain less memory";
    return NULL;
}

int phys_layout_plan(struct phys_layout *l, uint64_t image_end, uint64_t ram_size,
                     uint64_t stack_bytes, uint64_t virt_base)
{
    uint64_t v = round_up(image_end, XEN_PAGE_SIZE);
    memset(l, 0, sizeof(*l));
    layout_tables(l, ram_size);
    l->virt_base = virt_base;
    l->l4_slot = (unsigned)(virt_base / PHYS_HOLE_SPAN % PT_ENTRIES);
    l->l3_first = (unsigned)(virt_base / L2_SPAN % PT_ENTRIES);
    if (l->nr_l2 > PT_ENTRIES - l->l3_first)
        return -1; /* past virt_base's 512 GiB */
    l->p2m = v;
    v += round_up(ram_size / XEN_PAGE_SIZE * sizeof(uint64_t), XEN_PAGE_SIZE);
    l->start_info = v;
    l->xenstore = v + XEN_PAGE_SIZE;
    l->console = v + 2 * XEN_PAGE_SIZE;
    l->pt_base = v + 3 * XEN_PAGE_SIZE;
    v = l->pt_base + (uint64_t)l->nr_pt_frames * XEN_PAGE_SIZE;
    l->stack_top = v + stack_bytes;
    return l->stack_top > ram_size ? -1 : 0;
}

/* Machine addresses of the domain's tables: L4, L3, then the L2s, then the L1s. */
static uint64_t l3_at(const struct phys_layout *l, uint64_t base)
{
    return base + l->pt_base + XEN_PAGE_SIZE;
}

static uint64_t l2_at(const struct phys_layout *l, uint64_t base, unsigned i)
{
    return base + l->pt_base + (2 + (uint64_t)i) * XEN_PAGE_SIZE;
}

static uint64_t l1_at(const struct phys_layout *l, uint64_t base, unsigned i)
{
    return base + l->pt_base + (2 + (uint64_t)l->nr_l2 + i) * XEN_PAGE_SIZE;
}

static uint64_t *pte_of(struct phys_space *ps, const struct phys_layout *l, uint64_t base,
                        uint64_t pa)
{
    uint64_t page = pa / XEN_PAGE_SIZE;
    return table_at(ps, l1_at(l, base, (unsigned)(page / PT_ENTRIES))) + page % PT_ENTRIES;
}

static bool is_table_page(const struct phys_layout *l, uint64_t pa)
{
    return pa >= l->pt_base && pa < l->pt_base + (uint64_t)l->nr_pt_frames * XEN_PAGE_SIZE;
}

/* Where the hole stands for the page of pa: its virtual address within the 512 GiB. */
static uint64_t hole_of(const struct phys_layout *l, uint64_t pa)
{
    return PHYS_HOLE_BASE + (uint64_t)l->l3_first * L2_SPAN + pa;
}

/* L4 entry l4_slot to the L3; its entries from l3_first to the L2s of RAM, the others to the
 * hole's. */
static void tables_upper(struct phys_space *ps, const struct phys_layout *l, uint64_t base)
{
    uint64_t *l4 = table_at(ps, base + l->pt_base), *l3 = table_at(ps, l3_at(l, base));
    l4[l->l4_slot] = l3_at(l, base) | PTE_UPPER_FLAGS;
    for (unsigned i = 0; i < PT_ENTRIES; i++) {
        unsigned t = i - l->l3_first; /* wraps for i below l3_first */
        l3[i] = t < l->nr_l2 ? l2_at(l, base, t) | PTE_UPPER_FLAGS
                             : (ps->hole_l2 + (uint64_t)i * XEN_PAGE_SIZE) | PTE_UPPER_FLAGS;
    }
    for (unsigned t = 0; t < l->nr_l2; t++) {
        uint64_t *l2 = table_at(ps, l2_at(l, base, t));
        for (unsigned i = 0; i < PT_ENTRIES; i++) {
            unsigned n = t * PT_ENTRIES + i;
            l2[i] = n < l->nr_l1 ? l1_at(l, base, n) | PTE_UPPER_FLAGS
                                 : hole_of(l, (uint64_t)n * L1_SPAN) | PTE_L1_FLAGS | PTE_PSE;
        }
    }
}

void phys_tables_build(struct phys_space *ps, const struct phys_layout *l, uint64_t base,
                       uint64_t ram_size, unsigned si_slot)
{
    uint64_t *p2m = (uint64_t *)(ps->host + base + l->p2m);
    for (uint64_t pfn = 0; pfn < ram_size / XEN_PAGE_SIZE; pfn++)
        p2m[pfn] = base / XEN_PAGE_SIZE + pfn;
    tables_upper(ps, l, base);
    uint64_t covered = (uint64_t)l->nr_l1 * L1_SPAN;
    for (uint64_t pa = 0; pa < covered; pa += XEN_PAGE_SIZE) {
        if (pa == 0 || pa >= ram_size)
            phys_map_hole(ps, l, base, pa); /* page 0 stays unmapped: NULL faults */
        else
            phys_map_ram(ps, l, base, pa);
    }
    phys_map_slot(ps, l, base, ram_size, si_slot);
}

void phys_map_ram(struct phys_space *ps, const struct phys_layout *l, uint64_t base, uint64_t pa)
{
    uint64_t flags = is_table_page(l, pa) ? PTE_L1_RO_FLAGS : PTE_L1_FLAGS;
    *pte_of(ps, l, base, pa) = (base + pa) | flags;
}

void phys_map_slot(struct phys_space *ps, const struct phys_layout *l, uint64_t base, uint64_t pa,
                   unsigned slot)
{
    *pte_of(ps, l, base, pa) = (PHYS_WINDOW_BASE + (uint64_t)slot * XEN_PAGE_SIZE) | PTE_L1_FLAGS;
}

void phys_map_hole(struct phys_space *ps, const struct phys_layout *l, uint64_t base, uint64_t pa)
{
    *pte_of(ps, l, base, pa) = hole_of(l, pa) | PTE_L1_FLAGS;
}

uint64_t phys_text_alloc(struct phys_space *ps, uint64_t bytes)
{
    bytes = round_up(bytes, XEN_PAGE_SIZE);
    if (bytes > TEXT_BYTES - ps->text_used)
        return UINT64_MAX;
    ps->text_used += bytes;
    return ps->text + ps->text_used - bytes;
}

void phys_map_shared(struct phys_space *ps, const struct phys_layout *l, uint64_t base, uint64_t pa,
                     uint64_t at)
{
    *pte_of(ps, l, base, pa) = at | PTE_L1_RO_FLAGS;
}

unsigned phys_slot_add(struct phys_space *ps, struct sim_domain *sd, int page)
{
    if (ps->nr_slots >= PHYS_WINDOW_SLOTS)
        return 0;
    if (ps->nr_slots >= ps->cap_slots) {
        unsigned cap = ps->cap_slots ? 2 * ps->cap_slots : 64;
        struct phys_slot *s = realloc(ps->slot, cap * sizeof(*s));
        if (!s)
            return 0;
        ps->slot = s;
        ps->cap_slots = cap;
    }
    ps->slot[ps->nr_slots] = (struct phys_slot){sd, page};
    return ps->nr_slots++;
}
