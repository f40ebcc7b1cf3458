/* Port I/O and MMIO from an HVM domain (scenario hvmio): every form of IN and OUT (imm8 and dx
 * ports; 1, 2 and 4 bytes; rep insb and rep outsb with the direction flag clear and set), the
 * PCI config mechanism (CF8 then CFC-CFF) and accesses of each size to an address above RAM
 * (mmio=, default 0xf0000000). Nothing claims them, so Xen's null handler answers: reads return
 * all ones of their size and writes vanish; the guest prints what it read and the report counts
 * the accesses. */
#include "portio.h"
#include "rt.h"

#define PORT_HI 0x510 /* above 0xff: reachable only through dx */

/* rep insb / rep outsb of n bytes at buf; with df the string runs downwards from buf's last
 * byte, as a backwards copy would. The flag is cleared again before any C code runs. */
static void rep_insb(uint16_t port, uint8_t *buf, uint64_t n, bool df)
{
    uint8_t *at = df ? buf + n - 1 : buf;
    if (df)
        __asm__ volatile("std; rep insb; cld" : "+D"(at), "+c"(n) : "d"(port) : "memory");
    else
        __asm__ volatile("rep insb" : "+D"(at), "+c"(n) : "d"(port) : "memory");
}
static void rep_outsb(uint16_t port, const uint8_t *buf, uint64_t n, bool df)
{
    const uint8_t *at = df ? buf + n - 1 : buf;
    if (df)
        __asm__ volatile("std; rep outsb; cld" : "+S"(at), "+c"(n) : "d"(port) : "memory");
    else
        __asm__ volatile("rep outsb" : "+S"(at), "+c"(n) : "d"(port) : "memory");
}

static void print_buf(const char *what, const uint8_t *b, unsigned n)
{
    rt_printf("hvmio: %s", what);
    for (unsigned i = 0; i < n; i++)
        rt_printf(" %02x", b[i]);
    rt_printf("\n");
}

static void ports(void)
{
    uint8_t b8;
    uint16_t b16;
    uint32_t b32;
    /* imm8 forms */
    __asm__ volatile("inb $0x71, %%al" : "=a"(b8));
    __asm__ volatile("inw $0x72, %%ax" : "=a"(b16));
    __asm__ volatile("inl $0x74, %%eax" : "=a"(b32));
    rt_printf("hvmio: in imm8 b=0x%x w=0x%x l=0x%x\n", b8, b16, b32);
    __asm__ volatile("outb %%al, $0x80" : : "a"((uint8_t)0x12));
    __asm__ volatile("outw %%ax, $0x80" : : "a"((uint16_t)0x1234));
    __asm__ volatile("outl %%eax, $0x80" : : "a"((uint32_t)0x12345678));
    /* dx forms */
    rt_printf("hvmio: in dx b=0x%x w=0x%x l=0x%x\n", inb_dx(PORT_HI), inw_dx(PORT_HI),
              inl_dx(PORT_HI));
    outb_dx(PORT_HI, 0x9a);
    outw_dx(PORT_HI, 0x9abc);
    outl_dx(PORT_HI, 0x9abcdef0);
    rt_printf("hvmio: out imm8 and dx done\n");
}

static void strings(void)
{
    uint8_t buf[12];
    memset(buf, 0x11, sizeof(buf));
    rep_insb(0x60, buf + 2, 8, false);
    print_buf("rep insb df=0", buf, sizeof(buf));
    memset(buf, 0x22, sizeof(buf));
    rep_insb(0x60, buf + 2, 4, true);
    print_buf("rep insb df=1", buf, sizeof(buf));
    uint8_t out[4] = {1, 2, 3, 4};
    rep_outsb(0x61, out, sizeof(out), false);
    rep_outsb(0x61, out, sizeof(out), true);
    uint64_t flags;
    __asm__ volatile("pushfq; popq %0" : "=r"(flags));
    rt_printf("hvmio: rep outsb df=0 and df=1 done, df now %lu\n", (flags >> 10) & 1);
}

static void pci_config(void)
{
    /* bus 0, device 3, function 1, register 0x08: enable bit, then BDF << 8 | reg */
    uint32_t addr = 0x80000000u | (3u << 11) | (1u << 8) | 0x08u;
    outl_dx(0xcf8, addr);
    uint32_t l = inl_dx(0xcfc);
    uint16_t w = inw_dx(0xcfe);
    uint8_t b = inb_dx(0xcff);
    outl_dx(0xcfc, 0xdeadbeef);
    rt_printf("hvmio: pci 0x%x: cfc l=0x%x cfe w=0x%x cff b=0x%x cf8 reads 0x%x\n", addr, l, w, b,
              inl_dx(0xcf8));
    outl_dx(0xcf8, 0); /* disabled: 0xCFC is a plain port again */
    rt_printf("hvmio: pci disabled: cfc l=0x%x\n", inl_dx(0xcfc));
}

static void mmio(uint64_t base)
{
    volatile uint8_t *p8 = (volatile uint8_t *)base;
    volatile uint16_t *p16 = (volatile uint16_t *)(base + 0x10);
    volatile uint32_t *p32 = (volatile uint32_t *)(base + 0x20);
    volatile uint64_t *p64 = (volatile uint64_t *)(base + 0x30);
    rt_printf("hvmio: mmio 0x%lx b=0x%x w=0x%x l=0x%x q=0x%lx\n", base, *p8, *p16, *p32, *p64);
    *p8 = 0x5a;
    *p16 = 0x5a5a;
    *p32 = 0x5a5a5a5a;
    *p64 = 0x5a5a5a5a5a5a5a5aull;
    rt_printf("hvmio: mmio after writes b=0x%x, next page l=0x%x\n", *p8,
              *(volatile uint32_t *)(base + 0x1000));
}

int main(void)
{
    ports();
    strings();
    pci_config();
    mmio(rt_arg_u64("mmio", 0xf0000000ull));
    return 0;
}
