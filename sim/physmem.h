/* The machine-physical space that PV domains share, and their page tables.
 *
 * Every PV domain's RAM lives at its own place in one machine-physical space, which every
 * physical CPU's engine maps whole; a domain is an address space, its page tables (built as
 * Xen's PV domain builder does, xg_dom_x86.c) say what its virtual addresses reach. Two windows
 * sit above RAM in that space:
 *   - the MMIO window: one machine page per "slot", standing for a domain's shared_info or one
 *     of the event pages it shares with Xen. A PTE pointing into it makes the guest's accesses
 *     go through the window's callbacks (priced, recorded, narrated);
 *   - the hole: machine address PHYS_HOLE_BASE + (va mod 512 GiB) is never mapped, and every
 *     virtual page a domain has no memory at points there, so that Unicorn reports an access
 *     to it as an unmapped access at an address from which the guest's own address is
 *     recovered.
 * A domain's RAM is mapped at its virt_base (XEN_ELFNOTE_VIRT_BASE: 0 for evsim's guests,
 * 0xffffffff80000000 for Linux), guest-physical address pa at virt_base + pa. Virtual
 * addresses outside the 512 GiB that virt_base's L4 entry covers have no page-table entry at
 * all: a page fault. */
#ifndef EVSIM_SIM_PHYSMEM_H
#define EVSIM_SIM_PHYSMEM_H

#include <stdbool.h>
#include <stdint.h>

#include "sim/diag.h"

#define PHYS_WINDOW_BASE (1ull << 38)
#define PHYS_WINDOW_SLOTS (1u << 20) /* 4 GiB of machine addresses: no memory behind them */
#define PHYS_HOLE_BASE (1ull << 39)
#define PHYS_HOLE_SPAN (1ull << 39) /* the 512 GiB of guest virtual addresses one L4 entry maps */

/* x86-64 page-table entry bits. */
#define PTE_PRESENT 0x1ull
#define PTE_RW 0x2ull
#define PTE_USER 0x4ull
#define PTE_ACCESSED 0x20ull
#define PTE_DIRTY 0x40ull
#define PTE_PSE 0x80ull
/* Xen's builder: L1 entries PRESENT|RW|ACCESSED (read-only for a page-table page), upper
 * levels PRESENT|RW|ACCESSED|DIRTY|USER. */
#define PTE_L1_FLAGS (PTE_PRESENT | PTE_RW | PTE_ACCESSED)
#define PTE_L1_RO_FLAGS (PTE_PRESENT | PTE_ACCESSED)
#define PTE_UPPER_FLAGS (PTE_PRESENT | PTE_RW | PTE_ACCESSED | PTE_DIRTY | PTE_USER)

struct sim_domain;

/* What one window slot stands for. */
struct phys_slot {
    struct sim_domain *sd; /* the domain whose page tables point at it */
    int page;              /* PHYS_SLOT_SHARED_INFO, or an index into sd->evpage */
};
#define PHYS_SLOT_SHARED_INFO (-1)

struct phys_space {
    uint8_t *host;            /* machine address 0 in the host (reserved, committed on touch) */
    uint64_t size, used;      /* bytes reserved, handed out */
    uint64_t hole_l2;         /* machine address of the shared hole L2 tables (512 of them) */
    uint64_t text, text_used; /* machine address of the programs' shared text pages, used */
    struct phys_slot *slot;   /* slot 0 is never used: 0 means "none" */
    unsigned nr_slots, cap_slots;
};

/* The page tables and boot pages of one PV domain, as the builder laid them out (guest-physical
 * addresses; RAM is mapped at virt_base + pa). */
struct phys_layout {
    uint64_t p2m, start_info, xenstore, console, pt_base, stack_top;
    unsigned nr_pt_frames, nr_l1, nr_l2;
    uint64_t virt_base;
    unsigned l4_slot, l3_first; /* virt_base's L4 entry, and the L3 entry of its first GiB */
};

/* Reserve `bytes` of machine RAM (plus the shared tables) for the PV domains of a run. */
int phys_space_init(struct phys_space *ps, uint64_t bytes, struct diag *d);
void phys_space_free(struct phys_space *ps);
/* The machine RAM a domain of ram_size bytes takes (its place is aligned to 2 MiB). */
uint64_t phys_domain_bytes(uint64_t ram_size);
/* A domain's place: its RAM's machine address, or UINT64_MAX when the space is full. */
uint64_t phys_domain_alloc(struct phys_space *ps, uint64_t ram_size);

/* Why RAM of ram_size bytes cannot be mapped at virt_base, or NULL when it can: evsim maps it
 * with one L3 table, so virt_base must be a canonical address aligned to 1 GiB and RAM must
 * end within virt_base's 512 GiB. */
const char *phys_virt_base_problem(uint64_t virt_base, uint64_t ram_size);
/* Lay out the boot pages after an image ending at guest-physical image_end, in Xen's order:
 * p2m list, start_info, xenstore and console pages, page tables, boot stack; RAM mapped at
 * virt_base (phys_virt_base_problem says none). -1 when they do not fit. */
int phys_layout_plan(struct phys_layout *l, uint64_t image_end, uint64_t ram_size,
                     uint64_t stack_bytes, uint64_t virt_base);
/* Write the p2m list and the page tables of a domain whose RAM is at machine address base:
 * all of RAM at virt_base (page-table pages read-only), the page after it (shared_info's) to
 * the window slot si_slot, everything else in virt_base's 512 GiB to the hole. */
void phys_tables_build(struct phys_space *ps, const struct phys_layout *l, uint64_t base,
                       uint64_t ram_size, unsigned si_slot);
/* Point the 4 KiB page of guest-physical address pa (virtual virt_base + pa) of the domain (RAM
 * at base) elsewhere: its own RAM, a window slot, or the hole. pa must lie in the range its L1
 * tables cover (RAM and one page more). */
void phys_map_ram(struct phys_space *ps, const struct phys_layout *l, uint64_t base, uint64_t pa);
void phys_map_slot(struct phys_space *ps, const struct phys_layout *l, uint64_t base, uint64_t pa,
                   unsigned slot);
void phys_map_hole(struct phys_space *ps, const struct phys_layout *l, uint64_t base, uint64_t pa);
/* Room for bytes of a program's text, shared read-only by the domains running it: its machine
 * address, or UINT64_MAX when the room set aside is used up (the domains keep their own). */
uint64_t phys_text_alloc(struct phys_space *ps, uint64_t bytes);
/* Point the page of pa to machine address at, read-only (a program's shared text). */
void phys_map_shared(struct phys_space *ps, const struct phys_layout *l, uint64_t base, uint64_t pa,
                     uint64_t at);
/* A new window slot standing for (sd, page): its number, or 0 when out of memory or slots. */
unsigned phys_slot_add(struct phys_space *ps, struct sim_domain *sd, int page);

/* The guest virtual address the hole stands for, from the machine address Unicorn reported. */
static inline uint64_t phys_fault_address(const struct phys_layout *l, uint64_t machine)
{
    if (machine < PHYS_HOLE_BASE)
        return machine;
    return (l->virt_base & ~(PHYS_HOLE_SPAN - 1)) + (machine - PHYS_HOLE_BASE);
}

#endif
