#include "sim/loader.h"

#include <elf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/xen_public.h"

static int read_whole_file(const char *path, struct guest_image *img, struct diag *d)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return diag_set(d, "%s: cannot open guest image: %s", path, strerror(errno));
    long size = (fseek(f, 0, SEEK_END) == 0) ? ftell(f) : -1;
    if (size <= 0 || fseek(f, 0, SEEK_SET) != 0) {
        fclose(f);
        return diag_set(d, "%s: cannot read guest image (empty or not a regular file)", path);
    }
    img->file = malloc((size_t)size);
    img->file_size = (size_t)size;
    size_t got = img->file ? fread(img->file, 1, (size_t)size, f) : 0;
    fclose(f);
    if (got != (size_t)size)
        return diag_set(d, "%s: short read of guest image", path);
    return 0;
}

static bool range_in_file(const struct guest_image *img, uint64_t off, uint64_t len)
{
    return off <= img->file_size && len <= img->file_size - off;
}

static int check_header(const struct guest_image *img, Elf64_Ehdr *eh, struct diag *d)
{
    const char *p = img->path;
    if (img->file_size < sizeof(*eh) || memcmp(img->file, ELFMAG, SELFMAG) != 0)
        return diag_set(d, "%s: offset 0x0: not an ELF file", p);
    memcpy(eh, img->file, sizeof(*eh));
    if (eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_ident[EI_DATA] != ELFDATA2LSB)
        return diag_set(d, "%s: offset 0x4: not a little-endian ELF64 file", p);
    if (eh->e_machine != EM_X86_64)
        return diag_set(d, "%s: offset 0x12: machine %u is not x86-64", p, eh->e_machine);
    if (eh->e_type != ET_EXEC)
        return diag_set(d,
                        "%s: offset 0x10: not a static executable (ET_EXEC); link with "
                        "-static -no-pie",
                        p);
    if (eh->e_phentsize != sizeof(Elf64_Phdr) ||
        !range_in_file(img, eh->e_phoff, (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr)))
        return diag_set(d, "%s: offset 0x%llx: program headers out of the file", p,
                        (unsigned long long)eh->e_phoff);
    return 0;
}

/* XEN_ELFNOTE_ENTRY, _HYPERCALL_PAGE and _VIRT_BASE from one PT_NOTE segment. */
static void scan_xen_notes(struct guest_image *img, const Elf64_Phdr *ph, bool *has_entry)
{
    uint64_t off = ph->p_offset, end = ph->p_offset + ph->p_filesz;
    while (off + sizeof(Elf64_Nhdr) <= end) {
        Elf64_Nhdr nh;
        memcpy(&nh, img->file + off, sizeof(nh));
        /* Sizes padded in 64 bits: a size near 4 GiB must not wrap to a small one. */
        uint64_t name_off = off + sizeof(nh);
        uint64_t desc_off = name_off + (((uint64_t)nh.n_namesz + 3u) & ~3ull);
        uint64_t next = desc_off + (((uint64_t)nh.n_descsz + 3u) & ~3ull);
        if (next > end)
            return;
        bool is_xen = nh.n_namesz == 4 && memcmp(img->file + name_off, "Xen", 4) == 0;
        if (is_xen && nh.n_descsz == 8 && nh.n_type == XEN_ELFNOTE_HYPERCALL_PAGE)
            img->hypercall_page_off = desc_off;
        uint64_t value = 0;
        if (is_xen && nh.n_descsz == 8)
            memcpy(&value, img->file + desc_off, 8);
        if (is_xen && nh.n_descsz == 8 && nh.n_type == XEN_ELFNOTE_ENTRY) {
            img->entry = value;
            *has_entry = true;
        }
        if (is_xen && nh.n_descsz == 8 && nh.n_type == XEN_ELFNOTE_HYPERCALL_PAGE)
            img->hypercall_page = value;
        if (is_xen && nh.n_descsz == 8 && nh.n_type == XEN_ELFNOTE_VIRT_BASE)
            img->virt_base = value;
        off = next;
    }
}

static int add_load_segment(struct guest_image *img, const Elf64_Phdr *ph, unsigned idx,
                            uint64_t phoff, struct diag *d)
{
    if (img->nr_seg == GUEST_MAX_SEGMENTS)
        return diag_set(d, "%s: offset 0x%llx: more than %d loadable segments", img->path,
                        (unsigned long long)phoff, GUEST_MAX_SEGMENTS);
    if (ph->p_filesz > ph->p_memsz || !range_in_file(img, ph->p_offset, ph->p_filesz))
        return diag_set(d, "%s: offset 0x%llx: segment %u data lies outside the file", img->path,
                        (unsigned long long)phoff, idx);
    if (ph->p_vaddr + ph->p_memsz < ph->p_vaddr)
        return diag_set(d, "%s: offset 0x%llx: segment %u wraps around the address space",
                        img->path, (unsigned long long)phoff, idx);
    struct guest_segment *s = &img->seg[img->nr_seg++];
    s->vaddr = ph->p_vaddr;
    s->memsz = ph->p_memsz;
    s->filesz = ph->p_filesz;
    s->data = img->file + ph->p_offset;
    s->exec = (ph->p_flags & PF_X) != 0;
    s->write = (ph->p_flags & PF_W) != 0;
    if (img->nr_seg == 1 || s->vaddr < img->lowest)
        img->lowest = s->vaddr;
    if (s->vaddr + s->memsz > img->highest)
        img->highest = s->vaddr + s->memsz;
    return 0;
}

/* Visit the symbol table: fn returns true to stop. */
static void symbols_each(const struct guest_image *img,
                         bool (*fn)(const char *name, const Elf64_Sym *sym, void *arg), void *arg)
{
    Elf64_Ehdr eh;
    memcpy(&eh, img->file, sizeof(eh));
    if (eh.e_shentsize != sizeof(Elf64_Shdr) ||
        !range_in_file(img, eh.e_shoff, (uint64_t)eh.e_shnum * sizeof(Elf64_Shdr)))
        return;
    const uint8_t *sh = img->file + eh.e_shoff;
    for (unsigned i = 0; i < eh.e_shnum; i++) {
        Elf64_Shdr symtab, strtab;
        memcpy(&symtab, sh + i * sizeof(Elf64_Shdr), sizeof(symtab));
        if (symtab.sh_type != SHT_SYMTAB || symtab.sh_link >= eh.e_shnum)
            continue;
        memcpy(&strtab, sh + symtab.sh_link * sizeof(Elf64_Shdr), sizeof(strtab));
        if (!range_in_file(img, symtab.sh_offset, symtab.sh_size) ||
            !range_in_file(img, strtab.sh_offset, strtab.sh_size) || strtab.sh_size == 0)
            return;
        const char *names = (const char *)(img->file + strtab.sh_offset);
        if (names[strtab.sh_size - 1] != 0)
            return; /* the last name would run off the table */
        for (uint64_t k = 0; k < symtab.sh_size / sizeof(Elf64_Sym); k++) {
            Elf64_Sym sym;
            memcpy(&sym, img->file + symtab.sh_offset + k * sizeof(sym), sizeof(sym));
            if (sym.st_name < strtab.sh_size && fn(names + sym.st_name, &sym, arg))
                return;
        }
    }
}

struct sym_query {
    const char *name;
    uint64_t addr;
    const char *found;
};

static bool match_name(const char *name, const Elf64_Sym *sym, void *arg)
{
    struct sym_query *q = arg;
    if (strcmp(name, q->name))
        return false;
    q->addr = sym->st_value;
    return true;
}

static bool match_addr(const char *name, const Elf64_Sym *sym, void *arg)
{
    struct sym_query *q = arg;
    if (sym->st_value != q->addr || !*name || ELF64_ST_TYPE(sym->st_info) == STT_SECTION ||
        ELF64_ST_TYPE(sym->st_info) == STT_FILE)
        return false;
    q->found = name;
    return true;
}

uint64_t guest_image_symbol(const struct guest_image *img, const char *name)
{
    struct sym_query q = {.name = name};
    symbols_each(img, match_name, &q);
    return q.addr;
}

const char *guest_image_symbol_at(const struct guest_image *img, uint64_t addr)
{
    struct sym_query q = {.addr = addr};
    symbols_each(img, match_addr, &q);
    return q.found;
}

/* The hypercall page must be a whole, aligned page of a loadable segment (written over
 * overflow-safe bounds: the address comes from the file). */
static int check_hypercall_page(const struct guest_image *img, struct diag *d)
{
    uint64_t hp = img->hypercall_page;
    if (!hp)
        return 0;
    bool inside = false;
    for (unsigned i = 0; i < img->nr_seg && !inside; i++) {
        const struct guest_segment *s = &img->seg[i];
        inside = hp >= s->vaddr && s->memsz >= XEN_PAGE_SIZE &&
                 hp - s->vaddr <= s->memsz - XEN_PAGE_SIZE;
    }
    if (!(hp & (XEN_PAGE_SIZE - 1)) && inside)
        return 0;
    if (img->hypercall_page_off)
        return diag_set(d,
                        "%s: offset 0x%llx: XEN_ELFNOTE_HYPERCALL_PAGE 0x%llx is not an aligned "
                        "page inside a loadable segment",
                        img->path, (unsigned long long)img->hypercall_page_off,
                        (unsigned long long)hp);
    return diag_set(d,
                    "%s: symbol hypercall_page 0x%llx is not an aligned page inside a "
                    "loadable segment",
                    img->path, (unsigned long long)hp);
}

/* The headers are copied out of the file, never read in place: their offsets come from the file
 * and need not be aligned. */
static int parse_image(struct guest_image *img, struct diag *d)
{
    Elf64_Ehdr eh;
    if (check_header(img, &eh, d) < 0)
        return -1;
    bool has_entry = false;
    for (unsigned i = 0; i < eh.e_phnum; i++) {
        uint64_t phoff = eh.e_phoff + (uint64_t)i * sizeof(Elf64_Phdr);
        Elf64_Phdr ph;
        memcpy(&ph, img->file + phoff, sizeof(ph));
        if (ph.p_type == PT_NOTE && range_in_file(img, ph.p_offset, ph.p_filesz))
            scan_xen_notes(img, &ph, &has_entry);
        if (ph.p_type == PT_LOAD && ph.p_memsz > 0 && add_load_segment(img, &ph, i, phoff, d) < 0)
            return -1;
    }
    if (img->nr_seg == 0)
        return diag_set(d, "%s: offset 0x%llx: no loadable segment", img->path,
                        (unsigned long long)eh.e_phoff);
    if (!has_entry)
        img->entry = eh.e_entry;
    if (!img->hypercall_page) /* no note: the symbol, as Linux names it */
        img->hypercall_page = guest_image_symbol(img, "hypercall_page");
    return check_hypercall_page(img, d);
}

int guest_image_load(const char *path, struct guest_image *img, struct diag *d)
{
    memset(img, 0, sizeof(*img));
    img->path = strdup(path);
    if (!img->path)
        return diag_set(d, "%s: out of memory", path);
    if (read_whole_file(path, img, d) < 0)
        return -1;
    return parse_image(img, d);
}

int guest_image_parse(const char *name, const void *data, size_t size, struct guest_image *img,
                      struct diag *d)
{
    memset(img, 0, sizeof(*img));
    img->path = strdup(name);
    img->file = malloc(size ? size : 1);
    if (!img->path || !img->file)
        return diag_set(d, "%s: out of memory", name);
    memcpy(img->file, data, size);
    img->file_size = size;
    return parse_image(img, d);
}

void guest_image_free(struct guest_image *img)
{
    free(img->file);
    free(img->path);
    memset(img, 0, sizeof(*img));
}

int guest_image_place(const struct guest_image *img, uint8_t *ram, uint64_t ram_size,
                      struct diag *d)
{
    for (unsigned i = 0; i < img->nr_seg; i++) {
        const struct guest_segment *s = &img->seg[i];
        uint64_t pa = guest_image_pa(img, s->vaddr);
        if (s->vaddr < img->virt_base || pa < XEN_PAGE_SIZE || pa > ram_size ||
            s->memsz > ram_size - pa)
            return diag_set(d,
                            "%s: segment at 0x%llx (0x%llx bytes) does not fit the domain's "
                            "memory [0x%llx, 0x%llx): give the domain more memory",
                            img->path, (unsigned long long)s->vaddr, (unsigned long long)s->memsz,
                            (unsigned long long)(img->virt_base + XEN_PAGE_SIZE),
                            (unsigned long long)(img->virt_base + ram_size));
        memcpy(ram + pa, s->data, s->filesz); /* the rest (.bss) is zero already */
    }
    if (img->hypercall_page) /* inside a segment (checked at load), so inside RAM now */
        hypercall_page_fill(ram + guest_image_pa(img, img->hypercall_page));
    return 0;
}

void hypercall_page_fill(uint8_t page[4096])
{
    /* int3 everywhere, so a guest calling past the stubs traps instead of sliding. */
    memset(page, 0xcc, 4096);
    for (uint32_t nr = 0; nr < 4096 / HYPERCALL_STUB_SIZE; nr++) {
        uint8_t *p = page + nr * HYPERCALL_STUB_SIZE;
        if (nr == __HYPERVISOR_iret) {
            /* Jumped to, not called: the frame is already on the stack; never returns. */
            const uint8_t stub[] = {0x51, 0x41, 0x53, 0x50, 0xb8, 0, 0, 0, 0, 0x0f, 0x05};
            memcpy(p, stub, sizeof(stub));
            memcpy(p + 5, &nr, 4);
            continue;
        }
        const uint8_t stub[] = {0x51, 0x41, 0x53, 0xb8, 0,    0,    0,
                                0,    0x0f, 0x05, 0x41, 0x5b, 0x59, 0xc3};
        memcpy(p, stub, sizeof(stub));
        memcpy(p + 4, &nr, 4);
    }
}
