/* The ELF loader and the hypercall page: byte layout as Xen writes it, Xen notes, and bad
 * images rejected with the file and offset named. */
#include <elf.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "models/xen_public.h"
#include "sim/loader.h"

static void hypercall_stub_layout(void **state)
{
    (void)state;
    static uint8_t page[4096];
    hypercall_page_fill(page);
    /* push %rcx; push %r11; mov $32,%eax; syscall; pop %r11; pop %rcx; ret */
    const uint8_t send[] = {0x51, 0x41, 0x53, 0xb8, 32,   0,    0,
                            0,    0x0f, 0x05, 0x41, 0x5b, 0x59, 0xc3};
    assert_memory_equal(page + 32 * 32, send, sizeof(send));
    /* iret: push %rcx; push %r11; push %rax; mov $23,%eax; syscall */
    const uint8_t iret[] = {0x51, 0x41, 0x53, 0x50, 0xb8, 23, 0, 0, 0, 0x0f, 0x05};
    assert_memory_equal(page + 23 * 32, iret, sizeof(iret));
    assert_int_equal(page + 23 * 32 + sizeof(iret) < page + 24 * 32 ? page[23 * 32 + 11] : 0, 0xcc);
    assert_int_equal(page[4095], 0xcc);
}

static const char *write_temp(const void *data, size_t len)
{
    static char path[64];
    snprintf(path, sizeof(path), "/tmp/evsim-loader-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, len), (ssize_t)len);
    close(fd);
    return path;
}

struct bad_image {
    const char *name;
    void (*mutate)(Elf64_Ehdr *eh);
    const char *error;
};

static void not_elf(Elf64_Ehdr *eh)
{
    eh->e_ident[0] = 'X';
}
static void elf32(Elf64_Ehdr *eh)
{
    eh->e_ident[EI_CLASS] = ELFCLASS32;
}
static void arm(Elf64_Ehdr *eh)
{
    eh->e_machine = EM_AARCH64;
}
static void pie(Elf64_Ehdr *eh)
{
    eh->e_type = ET_DYN;
}
static void phdrs_outside(Elf64_Ehdr *eh)
{
    eh->e_phoff = 1u << 20;
}
static void no_segments(Elf64_Ehdr *eh)
{
    eh->e_phnum = 0;
}

static const struct bad_image bad_images[] = {
    {"not an ELF", not_elf, "offset 0x0: not an ELF file"},
    {"ELF32", elf32, "offset 0x4: not a little-endian ELF64 file"},
    {"wrong machine", arm, "offset 0x12: machine 183 is not x86-64"},
    {"position independent", pie, "offset 0x10: not a static executable"},
    {"program headers outside", phdrs_outside, "offset 0x100000: program headers out of"},
    {"no segments", no_segments, "no loadable segment"},
};

static void rejects_bad_image(void **state)
{
    const struct bad_image *c = *state;
    Elf64_Ehdr eh = {0};
    memcpy(eh.e_ident, ELFMAG, SELFMAG);
    eh.e_ident[EI_CLASS] = ELFCLASS64;
    eh.e_ident[EI_DATA] = ELFDATA2LSB;
    eh.e_type = ET_EXEC;
    eh.e_machine = EM_X86_64;
    eh.e_phentsize = sizeof(Elf64_Phdr);
    eh.e_phoff = sizeof(eh);
    eh.e_phnum = 0;
    c->mutate(&eh);
    const char *path = write_temp(&eh, sizeof(eh));
    struct guest_image img;
    struct diag d = {{0}};
    assert_int_equal(guest_image_load(path, &img, &d), -1);
    if (!strstr(d.msg, c->error) || !strstr(d.msg, path))
        fail_msg("message '%s' lacks '%s' or the path", d.msg, c->error);
    guest_image_free(&img);
    unlink(path);
}

/* A Xen note may name any address: one at the top of the address space must be refused with
 * the note's offset, not wrap around and be written before guest memory. */
static void hypercall_note_outside_image(void **state)
{
    (void)state;
    struct {
        Elf64_Ehdr eh;
        Elf64_Phdr ph[2];
        Elf64_Nhdr nh;
        char name[4];
        uint64_t desc;
        uint8_t code[4096];
    } f;
    memset(&f, 0, sizeof(f));
    memcpy(f.eh.e_ident, ELFMAG, SELFMAG);
    f.eh.e_ident[EI_CLASS] = ELFCLASS64;
    f.eh.e_ident[EI_DATA] = ELFDATA2LSB;
    f.eh.e_type = ET_EXEC;
    f.eh.e_machine = EM_X86_64;
    f.eh.e_phentsize = sizeof(Elf64_Phdr);
    f.eh.e_phoff = offsetof(__typeof__(f), ph);
    f.eh.e_phnum = 2;
    f.eh.e_entry = 0x100000;
    f.ph[0] = (Elf64_Phdr){.p_type = PT_LOAD,
                           .p_flags = PF_R | PF_X,
                           .p_offset = offsetof(__typeof__(f), code),
                           .p_vaddr = 0x100000,
                           .p_filesz = 4096,
                           .p_memsz = 4096};
    f.ph[1] = (Elf64_Phdr){.p_type = PT_NOTE,
                           .p_offset = offsetof(__typeof__(f), nh),
                           .p_filesz = sizeof(f.nh) + 4 + 8};
    f.nh = (Elf64_Nhdr){.n_namesz = 4, .n_descsz = 8, .n_type = XEN_ELFNOTE_HYPERCALL_PAGE};
    memcpy(f.name, "Xen", 4);
    f.desc = 0xfffffffffffff000ull;
    const char *path = write_temp(&f, sizeof(f));
    struct guest_image img;
    struct diag d = {{0}};
    assert_int_equal(guest_image_load(path, &img, &d), -1);
    char want[128];
    snprintf(want, sizeof(want), "offset 0x%zx: XEN_ELFNOTE_HYPERCALL_PAGE 0xfffffffffffff000",
             offsetof(__typeof__(f), desc));
    if (!strstr(d.msg, want))
        fail_msg("message '%s' lacks '%s'", d.msg, want);
    guest_image_free(&img);
    unlink(path);
}

static void missing_file(void **state)
{
    (void)state;
    struct guest_image img;
    struct diag d = {{0}};
    assert_int_equal(guest_image_load("/nonexistent/x.elf", &img, &d), -1);
    assert_non_null(strstr(d.msg, "/nonexistent/x.elf: cannot open guest image"));
    guest_image_free(&img);
}

/* A real guest built by the project: entry and hypercall page come from the Xen notes. */
static void real_guest_notes(void **state)
{
    (void)state;
    struct guest_image img;
    struct diag d = {{0}};
    if (guest_image_load(EVSIM_TEST_GUEST, &img, &d) < 0)
        fail_msg("%s", d.msg);
    assert_int_equal(img.hypercall_page, guest_image_symbol(&img, "hypercall_page"));
    assert_int_equal(img.entry, guest_image_symbol(&img, "_start"));
    assert_int_equal(img.hypercall_page % 4096, 0);
    assert_true(img.lowest >= 0x100000);
    static uint8_t ram[4u << 20];
    assert_int_equal(guest_image_place(&img, ram, sizeof(ram), &d), 0);
    assert_int_equal(ram[img.hypercall_page + 32 * 32 + 3], 0xb8);
    /* Too little memory: named, not overflowed. */
    assert_int_equal(guest_image_place(&img, ram, 1u << 20, &d), -1);
    assert_non_null(strstr(d.msg, "does not fit the domain's memory"));
    guest_image_free(&img);
}

static uint8_t *read_guest(size_t *size)
{
    FILE *f = fopen(EVSIM_TEST_GUEST, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    *size = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = test_malloc(*size + 1024); /* room to move headers */
    assert_int_equal(fread(buf, 1, *size, f), *size);
    fclose(f);
    return buf;
}

/* Offsets come from the file and need not be aligned: the program headers moved to an odd
 * offset load the same image (read in place they would be misaligned accesses, which the
 * sanitizer build reports). */
static void headers_at_odd_offset(void **state)
{
    (void)state;
    size_t size;
    uint8_t *buf = read_guest(&size);
    Elf64_Ehdr eh;
    memcpy(&eh, buf, sizeof(eh));
    size_t moved = size + 1, len = (size_t)eh.e_phnum * sizeof(Elf64_Phdr);
    assert_true(len < 1023);
    memcpy(buf + moved, buf + eh.e_phoff, len);
    eh.e_phoff = moved;
    memcpy(buf, &eh, sizeof(eh));
    struct guest_image a, b;
    struct diag d = {{0}};
    assert_int_equal(guest_image_load(EVSIM_TEST_GUEST, &a, &d), 0);
    if (guest_image_parse("<moved>", buf, moved + len, &b, &d) < 0)
        fail_msg("%s", d.msg);
    assert_int_equal(b.entry, a.entry);
    assert_int_equal(b.hypercall_page, a.hypercall_page);
    assert_int_equal(b.nr_seg, a.nr_seg);
    guest_image_free(&a);
    guest_image_free(&b);
    test_free(buf);
}

/* A loadable segment whose end wraps around the address space is refused with its offset. */
static void segment_wraps(void **state)
{
    (void)state;
    size_t size;
    uint8_t *buf = read_guest(&size);
    Elf64_Ehdr eh;
    Elf64_Phdr ph;
    memcpy(&eh, buf, sizeof(eh));
    for (unsigned i = 0; i < eh.e_phnum; i++) {
        memcpy(&ph, buf + eh.e_phoff + i * sizeof(ph), sizeof(ph));
        if (ph.p_type != PT_LOAD)
            continue;
        ph.p_vaddr = 0xfffffffffffff000ull;
        memcpy(buf + eh.e_phoff + i * sizeof(ph), &ph, sizeof(ph));
        break;
    }
    struct guest_image img;
    struct diag d = {{0}};
    assert_int_equal(guest_image_parse("<wraps>", buf, size, &img, &d), -1);
    if (!strstr(d.msg, "<wraps>: offset 0x") || !strstr(d.msg, "wraps around the address space"))
        fail_msg("message '%s'", d.msg);
    guest_image_free(&img);
    test_free(buf);
}

int main(void)
{
    struct CMUnitTest tests[16];
    size_t n = 0;
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(hypercall_stub_layout);
    for (size_t i = 0; i < sizeof(bad_images) / sizeof(bad_images[0]); i++)
        tests[n++] = (struct CMUnitTest){bad_images[i].name, rejects_bad_image, NULL, NULL,
                                         (void *)&bad_images[i]};
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(missing_file);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(hypercall_note_outside_image);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(real_guest_notes);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(headers_at_odd_offset);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(segment_wraps);
    return _cmocka_run_group_tests("loader", tests, n, NULL, NULL);
}
