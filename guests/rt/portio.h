/* Port I/O for HVM guests (an access exits to Xen: docs/guests.md): the dx forms of in and
 * out, 1, 2 and 4 bytes. */
#ifndef EVGUEST_PORTIO_H
#define EVGUEST_PORTIO_H

#include <stdint.h>

static inline uint8_t inb_dx(uint16_t port)
{
    uint8_t v;
    __asm__ __volatile__("inb %%dx, %%al" : "=a"(v) : "d"(port));
    return v;
}
static inline uint16_t inw_dx(uint16_t port)
{
    uint16_t v;
    __asm__ __volatile__("inw %%dx, %%ax" : "=a"(v) : "d"(port));
    return v;
}
static inline uint32_t inl_dx(uint16_t port)
{
    uint32_t v;
    __asm__ __volatile__("inl %%dx, %%eax" : "=a"(v) : "d"(port));
    return v;
}
static inline void outb_dx(uint16_t port, uint8_t v)
{
    __asm__ __volatile__("outb %%al, %%dx" : : "a"(v), "d"(port));
}
static inline void outw_dx(uint16_t port, uint16_t v)
{
    __asm__ __volatile__("outw %%ax, %%dx" : : "a"(v), "d"(port));
}
static inline void outl_dx(uint16_t port, uint32_t v)
{
    __asm__ __volatile__("outl %%eax, %%dx" : : "a"(v), "d"(port));
}

#endif
