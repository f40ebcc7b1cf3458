/* Guest memory as the model sees it: a translation from guest-physical addresses to host memory,
 * implemented by sim/ (Unicorn-mapped RAM) and by tests (a plain buffer). The model never keeps a
 * translated pointer across a call that may change the mapping; in practice RAM never moves. */
#ifndef EVSIM_MODELS_GUEST_MEM_H
#define EVSIM_MODELS_GUEST_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "models/xen_public.h"

struct domain;
struct hv;

/* How Xen touches a line it shares with guests (for the coherence model). */
enum guest_access {
    GUEST_READ,
    GUEST_WRITE,
    GUEST_LOCKED, /* a locked read-modify-write */
};

struct hv_mem_ops {
    /* Host pointer to [addr, addr+len) of domain d as its hypercalls name memory, or NULL when
     * any byte of it is not guest memory: a guest virtual address for a PV guest (Xen's
     * copy_from_guest walks its page tables), a guest-physical one for an HVM guest. */
    void *(*translate)(void *opaque, struct domain *d, uint64_t gpa, size_t len);
    /* Optional: the same for a guest-physical address (default: translate). */
    void *(*translate_phys)(void *opaque, struct domain *d, uint64_t gpa, size_t len);
    /* Optional: the guest-physical address of a frame as a hypercall names it (an MFN for a PV
     * guest, a GFN for an HVM one), or UINT64_MAX when it is none of d's (default: the frame
     * is the guest-physical frame). */
    uint64_t (*frame_gpa)(void *opaque, struct domain *d, uint64_t frame);
    /* Optional: Xen touches shared memory at host address addr; returns the cycles the access
     * costs (cache-line transfers), which are charged to the hypercall being handled. */
    uint64_t (*touch)(void *opaque, const volatile void *addr, size_t len, enum guest_access k);
    /* Optional: a zeroed page Xen shares with an emulator (an ioreq server's pages), and its
     * release. The simulator hands out pages that a device model in another process can map
     * too; without these the model uses the C heap. */
    void *(*page_alloc)(void *opaque);
    void (*page_free)(void *opaque, void *page);
};

/* Xen's page for sharing (hv->mem->page_alloc, else the heap), or NULL; and its release. */
void *hv_page_alloc(struct hv *hv);
void hv_page_free(struct hv *hv, void *page);

void *guest_ptr(struct domain *d, uint64_t gpa, size_t len);
/* 0 or -XEN_EFAULT. Inline: a hypercall's argument has a constant size, and its copy is then a
 * move rather than a call to memcpy. */
static inline int copy_from_guest(struct domain *d, void *dst, uint64_t gpa, size_t len)
{
    const void *src;

    if (len == 0)
        return 0;
    src = guest_ptr(d, gpa, len);
    if (!src)
        return -XEN_EFAULT;
    memcpy(dst, src, len);
    return 0;
}
int copy_to_guest(struct domain *d, uint64_t gpa, const void *src, size_t len);
/* Host pointer to [gpa, gpa+len) of d's guest-physical memory, or NULL. */
void *guest_phys_ptr(struct domain *d, uint64_t gpa, size_t len);
/* Host pointer to the page of frame `frame` as a hypercall names it (hv_mem_ops.frame_gpa),
 * with its guest-physical address in *gpa (if gpa is not NULL); NULL when it is no page of
 * d's RAM. */
void *guest_frame_ptr(struct domain *d, uint64_t frame, uint64_t *gpa);
/* The guest-physical address of that frame, or UINT64_MAX. */
uint64_t guest_frame_gpa(struct domain *d, uint64_t frame);

/* Report a plain access Xen makes to shared memory (hv may be NULL: nothing to report). */
void guest_touch(struct hv *hv, const volatile void *addr, size_t len, enum guest_access k);

/* Atomic read-modify-write on guest words, as Xen does them on shared pages. The simulator is
 * single-threaded, but the operations are written as the atomics Xen uses so that the cost and
 * coherence models (and a reader of the code) see exactly which accesses are locked; each one
 * reports its access through hv (which may be NULL). */
bool guest_test_and_set_bit(struct hv *hv, unsigned nr, volatile uint64_t *word);
bool guest_test_and_clear_bit(struct hv *hv, unsigned nr, volatile uint64_t *word);
bool guest_test_bit(struct hv *hv, unsigned nr, const volatile uint64_t *word);
uint32_t guest_cmpxchg32(struct hv *hv, volatile uint32_t *p, uint32_t old, uint32_t new_value);
/* The 64-bit cmpxchg Xen canonicalises a buffered ioreq ring's pointer pair with. */
uint64_t guest_cmpxchg64(struct hv *hv, volatile uint64_t *p, uint64_t old, uint64_t new_value);
uint64_t guest_xchg64(struct hv *hv, volatile uint64_t *p, uint64_t v);
void guest_or64(struct hv *hv, volatile uint64_t *p, uint64_t v); /* locked OR */
uint8_t guest_xchg8(struct hv *hv, volatile uint8_t *p, uint8_t v);
/* The same on one 32-bit word (FIFO event words, control-block READY, a 32-bit guest's
 * selector), nr < 32, plus the plain 32-bit read and write Xen's read_atomic/write_atomic
 * make. */
bool guest_test_and_set_bit32(struct hv *hv, unsigned nr, volatile uint32_t *word);
bool guest_test_and_clear_bit32(struct hv *hv, unsigned nr, volatile uint32_t *word);
bool guest_test_bit32(struct hv *hv, unsigned nr, const volatile uint32_t *word);
uint32_t guest_xchg32(struct hv *hv, volatile uint32_t *p, uint32_t v);
uint32_t guest_read32(struct hv *hv, const volatile uint32_t *p);
void guest_write32(struct hv *hv, volatile uint32_t *p, uint32_t v);

#endif
