/*
 * hvmstr: an HVM guest that does string port I/O to the devices of an emulator
 * (guests/ioemu.c, or bench/dm/xendm.c on the host): every rep ins or rep outs that reaches the
 * emulator is a batch Xen sends as one data_is_ptr request (docs/ioreq.md), whose elements the
 * emulator moves through the guest's memory it mapped.
 *
 *   1. the PCI function at pci= (default 0x18 = 00:03.0) gets its I/O BAR at io= (default
 *      0xc000) with I/O decoding on, through 0xCF8/0xCFC;
 *   2. rep outsb of a line to the UART at uart= (default 0x3f8), then of another backwards
 *      with DF set (the emulator prints both);
 *   3. rep insb, insw and insl from the I/O BAR's sequence register (offset 16, whose n-th
 *      read gives dev_sequence(n), guests/devices.h) into buffers: forwards and backwards,
 *      across page boundaries, with an element straddling two pages, with RCX 1 and 0, and an
 *      insl without rep. Every element, the bytes around the buffer, RCX and RDI are checked.
 *
 * A value that is not what it must be is reported ("MISMATCH") and the domain crashes, so a
 * test sees it.
 */
#include "portio.h"
#include "rt.h"

#include "devices.h"

static unsigned failures;
static uint16_t uart;

static void expect(const char *what, uint64_t got, uint64_t want)
{
    if (got == want)
        return;
    rt_printf("hvmstr: MISMATCH %s: read 0x%lx, expected 0x%lx\n", what, (unsigned long)got,
              (unsigned long)want);
    failures++;
}

/* The function's I/O BAR at io, I/O decoding on (the emulator then claims its ports). */
static void pci_setup(uint32_t bdf, uint16_t io)
{
    uint32_t cf8 = 0x80000000u | bdf << 8;
    outl_dx(0xcf8, cf8 | 0x10);
    outl_dx(0xcfc, io);
    outl_dx(0xcf8, cf8 | 0x04);
    outl_dx(0xcfc, 0x1); /* command: I/O decoding */
    outl_dx(0xcf8, cf8 | 0x10);
    expect("pci BAR0", inl_dx(0xcfc), (uint32_t)io | 1);
}

/* One string instruction of size 1, 2 or 4 on port, n repetitions from buf, DF as df (rep:
 * with a rep prefix, else one element). The registers it leaves: RCX and RSI/RDI. */
struct string_io {
    uint64_t rcx;
    uintptr_t ptr;
};

#define STRING_INSN(insn)                                                                          \
    __asm__ volatile("pushfq; cmpb $0, %b[df]; je 1f; std; 1: " insn "; popfq"                     \
                     : "+D"(r.ptr), "+c"(r.rcx)                                                    \
                     : "d"(port), [df] "q"((uint8_t)df)                                            \
                     : "memory", "cc")
#define STRING_OUT(insn)                                                                           \
    __asm__ volatile("pushfq; cmpb $0, %b[df]; je 1f; std; 1: " insn "; popfq"                     \
                     : "+S"(r.ptr), "+c"(r.rcx)                                                    \
                     : "d"(port), [df] "q"((uint8_t)df)                                            \
                     : "memory", "cc")

static struct string_io ins(unsigned size, uint16_t port, void *buf, uint64_t n, bool df, bool rep)
{
    struct string_io r = {n, (uintptr_t)buf};
    if (rep && size == 1)
        STRING_INSN("rep insb");
    else if (rep && size == 2)
        STRING_INSN("rep insw");
    else if (rep)
        STRING_INSN("rep insl");
    else if (size == 1)
        STRING_INSN("insb");
    else if (size == 2)
        STRING_INSN("insw");
    else
        STRING_INSN("insl");
    return r;
}

static struct string_io outsb(uint16_t port, const void *buf, uint64_t n, bool df)
{
    struct string_io r = {n, (uintptr_t)buf};
    STRING_OUT("rep outsb");
    return r;
}

#define SEQ_REG 16u     /* BAR0's sequence register (guests/devices.h) */
#define UNTOUCHED 0xa5u /* the buffers' bytes before an ins */

static uint8_t *rep_area;  /* 4 pages, and one for the strings */
static uint64_t seq_reads; /* of the sequence register so far: the next value's index */

/* rep ins of n elements of size at rep_area + at (the first element's offset; with df the
 * highest) from the sequence register; every element checked, the bytes around it
 * untouched, and RCX and RDI as the instruction must leave them. */
static void check_ins(const char *what, uint16_t io, unsigned size, size_t at, uint64_t n, bool df,
                      bool rep)
{
    for (size_t i = 0; i < 4 * 4096; i++)
        rep_area[i] = UNTOUCHED;
    struct string_io r = ins(size, io + SEQ_REG, rep_area + at, n, df, rep);
    uint64_t done = rep ? n : 1, mask = size == 4 ? 0xffffffffu : (1u << (8 * size)) - 1;
    size_t lo = df ? at - (done ? done - 1 : 0) * size : at, hi = lo + done * size;
    for (uint64_t i = 0; i < done; i++) {
        uint32_t v = 0;
        size_t off = df ? at - i * size : at + i * size;
        for (unsigned b = 0; b < size; b++)
            v |= (uint32_t)rep_area[off + b] << (8 * b);
        if (v != (dev_sequence(seq_reads + i) & mask)) {
            expect(what, v, dev_sequence(seq_reads + i) & mask);
            break;
        }
    }
    seq_reads += done;
    for (size_t i = 0; i < 4 * 4096; i++)
        if ((i < lo || i >= hi) && rep_area[i] != UNTOUCHED) {
            expect(what, rep_area[i], UNTOUCHED);
            break;
        }
    expect(what, r.rcx, rep ? 0 : n);
    uintptr_t want = (uintptr_t)(rep_area + at);
    want = df ? want - done * size : want + done * size;
    expect(what, r.ptr, want);
    rt_printf("hvmstr: %s: %lu element%s of %u byte%s checked\n", what, (unsigned long)done,
              done == 1 ? "" : "s", size, size == 1 ? "" : "s");
}

static void string_io(uint16_t io)
{
    static const char line_text[] = "a line through rep outsb\n";
    static const char back_text[] = "\nrewol ot hgih morf ,tes FD htiw";
    rep_area = rt_alloc_pages(5);
    /* The strings go out from a page of their own, whose address does not move with the size
     * of the code the compiler made (the page after the image's). */
    char *line = (char *)rep_area + 4 * 4096, *back = line + sizeof(line_text);
    for (size_t i = 0; i < sizeof(line_text); i++)
        line[i] = line_text[i];
    for (size_t i = 0; i < sizeof(back_text); i++)
        back[i] = back_text[i];
    struct string_io r = outsb(uart, line, sizeof(line_text) - 1, false);
    expect("rep outsb rcx", r.rcx, 0);
    expect("rep outsb rsi", r.ptr, (uintptr_t)line + sizeof(line_text) - 1);
    /* Backwards from its last character: the UART sees it reversed. */
    r = outsb(uart, back + sizeof(back_text) - 2, sizeof(back_text) - 1, true);
    expect("rep outsb df rsi", r.ptr, (uintptr_t)back - 1);
    check_ins("rep insb", io, 1, 100, 64, false, true);
    check_ins("rep insw across a page", io, 2, 4096 - 6, 8, false, true);
    check_ins("rep insl over three pages", io, 4, 8, 3000, false, true);
    check_ins("rep insl with DF", io, 4, 4096 + 36, 10, true, true);
    check_ins("rep insw with DF across a page", io, 2, 4096 + 2, 6, true, true);
    check_ins("rep insw straddling a page", io, 2, 4096 - 1, 3, false, true);
    check_ins("rep insb with rcx 1", io, 1, 200, 1, false, true);
    check_ins("rep insl with rcx 0", io, 4, 300, 0, false, true);
    check_ins("insl without rep", io, 4, 400, 7, false, false);
}

int main(void)
{
    uart = (uint16_t)rt_arg_u64("uart", 0x3f8);
    uint32_t bdf = (uint32_t)rt_arg_u64("pci", 0x18);
    uint16_t io = (uint16_t)rt_arg_u64("io", 0xc000);
    pci_setup(bdf, io);
    string_io(io);
    if (failures)
        rt_panic("hvmstr: %u mismatches", failures);
    return 0;
}
