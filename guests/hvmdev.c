/*
 * hvmdev: an HVM guest that drives the devices of an emulator (guests/ioemu.c, or a device
 * model on the host) as a driver would, every access a VM exit that Xen forwards to the
 * emulator and waits for (docs/ioreq.md):
 *
 *   1. the UART at uart= (default 0x3f8): line control with the divisor latch, the scratch
 *      register written and read back, then a line of text sent character by character, each
 *      after polling the line status register;
 *   2. the PCI function at pci= (bus:dev.fn, default 0x18 = 00:03.0), through 0xCF8/0xCFC:
 *      vendor and device read, both BARs sized (all ones written, the size mask read back),
 *      programmed (BAR0 at io= default 0xc000, BAR1 at mmio= default 0xe0000000, above RAM)
 *      and decoding enabled in the command register;
 *   3. the BARs: the identification register through the I/O BAR, the scratch register
 *      written and read back through the memory BAR, the doorbell rung;
 *   4. timing: rounds= (default 100) of each of a UART status read (inb), a read through the
 *      I/O BAR (inl) and a write through the memory BAR (movl), each timed with rdtsc; the
 *      mean round trip of each is printed in TSC cycles. With vga=1 also a 4-byte write to VGA
 *      memory (0xA0000 on), which Xen buffers when the device model has a ring.
 *
 * check=0 reads without checking (no device model at all: Xen's null handler answers, and the
 * times are Xen's own handling); setup=0 skips steps 1-3 (times only).
 *
 * A value read that is not what the device must answer is reported ("MISMATCH") and the
 * domain crashes, so a test sees it.
 */
#include "portio.h"
#include "rt.h"

static uint32_t mmio_read32(uint64_t addr)
{
    uint32_t v;
    __asm__ volatile("movl (%1), %0" : "=r"(v) : "r"(addr) : "memory");
    return v;
}
static void mmio_write32(uint64_t addr, uint32_t v)
{
    __asm__ volatile("movl %0, (%1)" : : "r"(v), "r"(addr) : "memory");
}

#define VGA_BASE 0xa0000u

static unsigned failures;
static bool checking = true;

static void expect(const char *what, uint64_t got, uint64_t want)
{
    if (got == want || !checking)
        return;
    rt_printf("hvmdev: MISMATCH %s: read 0x%lx, expected 0x%lx\n", what, (unsigned long)got,
              (unsigned long)want);
    failures++;
}

/* ---- UART ---- */

static uint16_t uart;

static void uart_putc(char c)
{
    while (!(inb_dx(uart + 5) & 0x20)) /* LSR: transmit holding register empty */
        ;
    outb_dx(uart, (uint8_t)c);
}

static void uart_puts(const char *s)
{
    while (*s)
        uart_putc(*s++);
}

static void uart_setup(void)
{
    outb_dx(uart + 3, 0x80); /* LCR: divisor latch access */
    outb_dx(uart + 0, 0x01); /* 115200 baud */
    outb_dx(uart + 1, 0x00);
    outb_dx(uart + 3, 0x03); /* 8N1 */
    expect("uart LCR", inb_dx(uart + 3), 0x03);
    outb_dx(uart + 7, 0x5a);
    expect("uart scratch", inb_dx(uart + 7), 0x5a);
    uart_puts("hello from an HVM guest through its emulator\n");
}

/* ---- PCI ---- */

static uint32_t pci_cf8(uint32_t bdf, unsigned reg)
{
    return 0x80000000u | bdf << 8 | (reg & 0xfc);
}
static uint32_t pci_read32(uint32_t bdf, unsigned reg)
{
    outl_dx(0xcf8, pci_cf8(bdf, reg));
    return inl_dx(0xcfc);
}
static void pci_write32(uint32_t bdf, unsigned reg, uint32_t v)
{
    outl_dx(0xcf8, pci_cf8(bdf, reg));
    outl_dx(0xcfc, v);
}

/* Size a BAR as firmware does: all ones in, the writable bits out. */
static uint32_t bar_size(uint32_t bdf, unsigned reg, uint32_t flag_bits)
{
    uint32_t old = pci_read32(bdf, reg);
    pci_write32(bdf, reg, 0xffffffffu);
    uint32_t mask = pci_read32(bdf, reg) & ~flag_bits;
    pci_write32(bdf, reg, old);
    return ~mask + 1;
}

static void pci_setup(uint32_t bdf, uint16_t io, uint32_t mmio)
{
    expect("pci vendor/device", pci_read32(bdf, 0x00), 0x11e81234);
    expect("pci BAR0 size", bar_size(bdf, 0x10, 3), 32);
    expect("pci BAR1 size", bar_size(bdf, 0x14, 15), 4096);
    pci_write32(bdf, 0x10, io);
    pci_write32(bdf, 0x14, mmio);
    pci_write32(bdf, 0x04, 0x3); /* command: I/O and memory decoding */
    expect("pci BAR0", pci_read32(bdf, 0x10), (uint32_t)io | 1);
    expect("pci BAR1", pci_read32(bdf, 0x14), mmio);
    expect("BAR0 id", inl_dx(io), 0x11e81234);
    mmio_write32(mmio + 4, 0xfeedf00d);
    expect("BAR1 scratch", mmio_read32(mmio + 4), 0xfeedf00d);
    mmio_write32(mmio + 12, 1); /* doorbell */
}

/* ---- timing ---- */

struct timed {
    const char *what;
    uint64_t sum, min, max;
};

static void time_one(struct timed *t, uint64_t start, uint64_t end)
{
    uint64_t d = end - start;
    t->sum += d;
    t->min = t->min && t->min < d ? t->min : d;
    t->max = d > t->max ? d : t->max;
}

static void print_timed(const struct timed *t, uint64_t rounds)
{
    rt_printf("hvmdev: %s rounds=%lu mean=%lu min=%lu max=%lu tsc cycles\n", t->what,
              (unsigned long)rounds, (unsigned long)(t->sum / rounds), (unsigned long)t->min,
              (unsigned long)t->max);
}

int main(void)
{
    uart = (uint16_t)rt_arg_u64("uart", 0x3f8);
    uint32_t bdf = (uint32_t)rt_arg_u64("pci", 0x18);
    uint16_t io = (uint16_t)rt_arg_u64("io", 0xc000);
    uint32_t mmio = (uint32_t)rt_arg_u64("mmio", 0xe0000000u);
    uint64_t rounds = rt_arg_u64("rounds", 100);
    bool vga = rt_arg_u64("vga", 0) != 0;
    checking = rt_arg_u64("check", 1) != 0;

    if (rt_arg_u64("setup", 1)) {
        uart_setup();
        pci_setup(bdf, io, mmio);
        rt_printf("hvmdev: devices ready: uart 0x%x, pci BAR0 0x%x BAR1 0x%x\n", uart, io, mmio);
    }

    struct timed t_uart = {.what = "uart inb"}, t_bar = {.what = "bar inl"};
    struct timed t_mmio = {.what = "mmio write"}, t_vga = {.what = "vga write"};
    for (uint64_t i = 0; vga && i < rounds; i++) {
        uint64_t a = rt_rdtsc();
        mmio_write32(VGA_BASE + 4 * (i % 1024), (uint32_t)i);
        time_one(&t_vga, a, rt_rdtsc());
    }
    for (uint64_t i = 0; i < rounds; i++) {
        uint64_t a = rt_rdtsc();
        expect("uart LSR", inb_dx(uart + 5) & 0x60, 0x60);
        uint64_t b = rt_rdtsc();
        expect("BAR0 id", inl_dx(io), 0x11e81234);
        uint64_t c = rt_rdtsc();
        mmio_write32(mmio + 12, (uint32_t)i);
        uint64_t d = rt_rdtsc();
        time_one(&t_uart, a, b);
        time_one(&t_bar, b, c);
        time_one(&t_mmio, c, d);
    }
    if (rounds) {
        print_timed(&t_uart, rounds);
        print_timed(&t_bar, rounds);
        print_timed(&t_mmio, rounds);
        if (vga)
            print_timed(&t_vga, rounds);
    }
    uart_puts("bye\n");
    if (failures)
        rt_panic("hvmdev: %u mismatches", failures);
    return 0;
}
