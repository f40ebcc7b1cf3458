/* Guest ELF images: validation, the Xen ELF notes (entry point and hypercall page), placement in
 * guest RAM, and the hypercall page as Xen writes it for 64-bit PV guests. */
#ifndef EVSIM_SIM_LOADER_H
#define EVSIM_SIM_LOADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sim/diag.h"

#define GUEST_MAX_SEGMENTS 16

struct guest_segment {
    uint64_t vaddr, memsz, filesz;
    const uint8_t *data; /* filesz bytes inside the image file */
    bool exec, write;
};

struct guest_image {
    char *path;
    uint8_t *file;
    size_t file_size;
    uint64_t entry;
    uint64_t hypercall_page;     /* 0 when the guest has none */
    uint64_t hypercall_page_off; /* file offset of its note, 0 if from the symbol */
    struct guest_segment seg[GUEST_MAX_SEGMENTS];
    unsigned nr_seg;
    uint64_t lowest, highest; /* [lowest, highest) spans every loadable segment */
    /* XEN_ELFNOTE_VIRT_BASE (0 without it): segments are placed in guest-physical memory at
     * their virtual address minus this, as Xen's builder places them. */
    uint64_t virt_base;
};

/* Where the byte at virtual address va of img goes in guest-physical memory. */
static inline uint64_t guest_image_pa(const struct guest_image *img, uint64_t va)
{
    return va - img->virt_base;
}

/* Read and validate an ELF64 x86-64 executable. 0, or -1 with d naming the file and offset. */
int guest_image_load(const char *path, struct guest_image *img, struct diag *d);
/* The same from an image already in memory (data is copied); name stands for the path in
 * messages. */
int guest_image_parse(const char *name, const void *data, size_t size, struct guest_image *img,
                      struct diag *d);
void guest_image_free(struct guest_image *img);
/* Address of a symbol from the image's symbol table, 0 if absent. */
uint64_t guest_image_symbol(const struct guest_image *img, const char *name);
/* The name of a symbol at addr (a function or object label), or NULL. */
const char *guest_image_symbol_at(const struct guest_image *img, uint64_t addr);
/* Copy the segments into ram ([0, ram_size) guest-physical, page 0 excluded, all zero: what a
 * segment holds beyond its file bytes is left as it is) and fill the hypercall page.
 * 0, or -1 when a segment does not fit. */
int guest_image_place(const struct guest_image *img, uint8_t *ram, uint64_t ram_size,
                      struct diag *d);
/* One 32-byte stub per hypercall, as Xen's pv_ring3_init_hypercall_page writes them. */
void hypercall_page_fill(uint8_t page[4096]);

#endif
