/* Guest memory access: everything the model reads or writes in a guest goes through the
 * translation sim/ (or a test) installed in struct hv. Copies fail as a whole with -EFAULT,
 * as Xen's copy_{from,to}_guest do when any byte is not mapped. */
#include <string.h>

#include "models/domain.h"

void *guest_ptr(struct domain *d, uint64_t gpa, size_t len)
{
    const struct hv *hv = d->hv;

    if (!hv->mem || !hv->mem->translate)
        return NULL;
    if (gpa + len < gpa) /* the range wraps around the address space */
        return NULL;
    return hv->mem->translate(hv->mem_opaque, d, gpa, len);
}

int copy_from_guest(struct domain *d, void *dst, uint64_t gpa, size_t len)
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

int copy_to_guest(struct domain *d, uint64_t gpa, const void *src, size_t len)
{
    void *dst;

    if (len == 0)
        return 0;
    dst = guest_ptr(d, gpa, len);
    if (!dst)
        return -XEN_EFAULT;
    memcpy(dst, src, len);
    return 0;
}

/* Bit `nr` of the bitmap starting at `word` (nr may exceed 63, as with Xen's bitops). */
bool guest_test_and_set_bit(unsigned nr, volatile uint64_t *word)
{
    uint64_t mask = UINT64_C(1) << (nr % 64);

    return (__atomic_fetch_or(&word[nr / 64], mask, __ATOMIC_SEQ_CST) & mask) != 0;
}

bool guest_test_and_clear_bit(unsigned nr, volatile uint64_t *word)
{
    uint64_t mask = UINT64_C(1) << (nr % 64);

    return (__atomic_fetch_and(&word[nr / 64], ~mask, __ATOMIC_SEQ_CST) & mask) != 0;
}

bool guest_test_bit(unsigned nr, const volatile uint64_t *word)
{
    return (__atomic_load_n(&word[nr / 64], __ATOMIC_SEQ_CST) >> (nr % 64)) & 1;
}

uint32_t guest_cmpxchg32(volatile uint32_t *p, uint32_t old, uint32_t new_value)
{
    __atomic_compare_exchange_n(p, &old, new_value, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
    return old; /* the value found, as Xen's cmpxchg returns it */
}

uint64_t guest_xchg64(volatile uint64_t *p, uint64_t v)
{
    return __atomic_exchange_n(p, v, __ATOMIC_SEQ_CST);
}

uint8_t guest_xchg8(volatile uint8_t *p, uint8_t v)
{
    return __atomic_exchange_n(p, v, __ATOMIC_SEQ_CST);
}
