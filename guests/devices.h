/*
 * The devices of evsim's example device models: a 16550-style UART and a PCI function with an
 * I/O BAR and a memory BAR, answering Xen's ioreq_t requests. Plain C with no library calls,
 * so that the same code serves a device model in a guest (guests/ioemu.c) and one on the host
 * (bench/dm/xendm.c): a comparison of the two measures where they run, not what they do.
 *
 * UART at uart_base (8 ports): divisor latch, scratch register, line status always "ready to
 * send", no input; what the guest writes is handed over line by line.
 * PCI function at pci_sbdf: vendor 0x1234, device 0x11e8; BAR0 an I/O BAR of 32 ports, BAR1 a
 * 4 KiB memory BAR. When the guest programs a BAR with decoding on in the command register,
 * its range is mapped into the device model's ioreq server (and the old one unmapped), as
 * QEMU's pci_update_mappings does. Registers of both BARs: 0 identification (0x11e81234),
 * 4 scratch (read/write), 8 the requests the BARs served, 12 a doorbell (writes counted),
 * 16 a sequence (each read gives the next dev_sequence value).
 * VGA memory at 0xA0000-0xBFFFF when `vga` is set: writes are counted (Xen sends single writes
 * there through the buffered ring when the server has one: its stdvga), reads give 0.
 */
#ifndef EVSIM_GUESTS_DEVICES_H
#define EVSIM_GUESTS_DEVICES_H

#ifndef __XEN_INTERFACE_VERSION__
#define __XEN_INTERFACE_VERSION__ 0x00040e00
#endif
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <xen/xen.h>
#include <xen/hvm/dm_op.h>
#include <xen/hvm/ioreq.h>

#define DEV_UART_PORTS 8u
#define DEV_BAR0_SIZE 32u   /* ports */
#define DEV_BAR1_SIZE 4096u /* bytes */
#define DEV_NO_PCI 0x10000u /* pci_sbdf: no PCI function */
#define DEV_VGA_BASE 0xa0000u
#define DEV_VGA_SIZE 0x20000u

/* What the devices need from the device model around them. */
struct dev_host_ops {
    void (*uart_line)(void *opaque, const char *line);
    /* Claim (map) or give back a range in the ioreq server: XEN_DMOP_IO_RANGE_PORT or _MEMORY. */
    void (*map_range)(void *opaque, uint32_t type, uint64_t start, uint64_t end, bool map);
    /* The guest's memory, for data_is_ptr requests (QEMU's address_space_rw on guest-physical
     * addresses, through its map cache): len bytes at gpa copied into buf (write false) or
     * from it (write true); false when that memory cannot be reached. NULL: no guest memory,
     * data_is_ptr requests are counted as unsupported. */
    bool (*guest_rw)(void *opaque, uint64_t gpa, void *buf, unsigned len, bool write);
    void *opaque;
};

/* BAR0 and BAR1's sequence register (offset 16): its n-th read (from 0) gives this, truncated
 * to the access's size; a guest checks what a rep ins stored. */
static inline uint32_t dev_sequence(uint64_t n)
{
    return (uint32_t)(n * 0x9e3779b1u) ^ (uint32_t)n;
}

struct devices {
    struct dev_host_ops ops;
    uint16_t uart_base; /* 0: no UART */
    uint32_t pci_sbdf;  /* DEV_NO_PCI: no PCI function */
    bool vga;           /* VGA memory (the caller claims its range) */
    uint64_t vga_writes;
    struct {
        uint8_t ier, lcr, mcr, scr, dll, dlm;
        char line[128];
        unsigned len;
        uint64_t chars;
    } uart;
    struct {
        uint8_t cfg[256];
        uint32_t bar_mask[2];           /* size probing: the writable bits */
        uint64_t mapped_io, mapped_mem; /* ranges claimed now (0: none) */
        uint32_t scratch;
        uint64_t requests, doorbells;
    } pci;
    uint64_t served[3]; /* by IOREQ_TYPE_PIO, _COPY, _PCI_CONFIG */
    uint64_t unsupported;
    uint64_t ptr_requests, ptr_elements; /* data_is_ptr requests and the elements they moved */
    uint64_t seq;                        /* reads of the PCI function's sequence register */
};

void devices_init(struct devices *d, uint16_t uart_base, uint32_t pci_sbdf,
                  const struct dev_host_ops *ops);
/* Answer one request: for a read, p->data is set. A data_is_ptr request (a rep ins/outs: count
 * elements in guest memory at p->data) goes through ops.guest_rw; a count above 1 without it
 * is counted as unsupported and answered with all ones. */
void devices_handle(struct devices *d, ioreq_t *p);
/* The UART's unfinished line, if any. */
void devices_flush(struct devices *d);

#endif
