/* Guest memory access: everything the model reads or writes in a guest goes through the
 * translation sim/ (or a test) installed in struct hv. Copies fail as a whole with -EFAULT,
 * as Xen's copy_{from,to}_guest do when any byte is not mapped. */
#include <stdlib.h>
#include <string.h>

#include "models/coherence.h"
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

void *guest_phys_ptr(struct domain *d, uint64_t gpa, size_t len)
{
    const struct hv *hv = d->hv;

    if (!hv->mem || !hv->mem->translate_phys)
        return guest_ptr(d, gpa, len);
    if (gpa + len < gpa)
        return NULL;
    return hv->mem->translate_phys(hv->mem_opaque, d, gpa, len);
}

uint64_t guest_frame_gpa(struct domain *d, uint64_t frame)
{
    const struct hv *hv = d->hv;

    if (hv->mem && hv->mem->frame_gpa)
        return hv->mem->frame_gpa(hv->mem_opaque, d, frame);
    return frame > UINT64_MAX / XEN_PAGE_SIZE ? UINT64_MAX : frame * XEN_PAGE_SIZE;
}

void *guest_frame_ptr(struct domain *d, uint64_t frame, uint64_t *gpa)
{
    uint64_t at = guest_frame_gpa(d, frame);

    if (at == UINT64_MAX)
        return NULL;
    if (gpa)
        *gpa = at;
    return guest_phys_ptr(d, at, XEN_PAGE_SIZE);
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

/* What an access costs Xen when it is priced: its kind's cost, and beyond the L1 hit that
 * includes, whatever the coherence model says fetching the line costs. */
static const enum cost_id access_cost[] = {
    [GUEST_READ] = COST_XEN_READ, [GUEST_WRITE] = COST_XEN_WRITE, [GUEST_LOCKED] = COST_XEN_LOCKED};

_Static_assert(GUEST_READ == (int)COH_READ && GUEST_WRITE == (int)COH_WRITE &&
                   GUEST_LOCKED == (int)COH_LOCKED,
               "an access kind is its coherence kind");

/* What the line costs beyond a local hit, which the access's own cost includes. */
static inline uint64_t coherence_line_cost(const struct hv *hv, const volatile void *addr,
                                           size_t len, enum guest_access k)
{
    uint64_t c = coherence_access(hv->coh, hv->cost, *hv->coh_pcpu, addr, len, (enum coh_access)k);
    uint64_t local = hv->cycles[COST_LINE_LOCAL];
    return c > local ? c - local : 0;
}

/* Inline in the bit operations below: one call fewer on every access Xen makes. */
static inline void touch(struct hv *hv, const volatile void *addr, size_t len, enum guest_access k)
{
    if (!hv || hv->accounting)
        return;
    uint64_t cycles = 0;
    if (hv->coh)
        cycles = coherence_line_cost(hv, addr, len, k);
    else if (hv->mem && hv->mem->touch)
        cycles = hv->mem->touch(hv->mem_opaque, addr, len, k);
    if (hv->abi_depth) /* the dense row: 0 without a profile, as no price at all */
        cycles += hv->cycles[access_cost[k]];
    if (hv->current)
        hv->current->hcall_cycles += cycles;
}

void guest_touch(struct hv *hv, const volatile void *addr, size_t len, enum guest_access k)
{
    touch(hv, addr, len, k);
}

/* Bit `nr` of the bitmap starting at `word` (nr may exceed 63, as with Xen's bitops).
 *
 * The locked access is priced (touch) whatever the bit was; on the host, a bit that is already
 * as wanted is found by a plain atomic load, without the locked instruction (tens of cycles,
 * and a busy port finds its pending bit set on every send): the read-modify-write would have
 * changed nothing, so the load is the same operation, taken at the same point. */
bool guest_test_and_set_bit(struct hv *hv, unsigned nr, volatile uint64_t *word)
{
    uint64_t mask = UINT64_C(1) << (nr % 64);
    volatile uint64_t *w = &word[nr / 64];

    touch(hv, w, 8, GUEST_LOCKED);
    if (__atomic_load_n(w, __ATOMIC_SEQ_CST) & mask)
        return true;
    return (__atomic_fetch_or(w, mask, __ATOMIC_SEQ_CST) & mask) != 0;
}

bool guest_test_and_clear_bit(struct hv *hv, unsigned nr, volatile uint64_t *word)
{
    uint64_t mask = UINT64_C(1) << (nr % 64);
    volatile uint64_t *w = &word[nr / 64];

    touch(hv, w, 8, GUEST_LOCKED);
    if (!(__atomic_load_n(w, __ATOMIC_SEQ_CST) & mask))
        return false;
    return (__atomic_fetch_and(w, ~mask, __ATOMIC_SEQ_CST) & mask) != 0;
}

bool guest_test_bit(struct hv *hv, unsigned nr, const volatile uint64_t *word)
{
    touch(hv, &word[nr / 64], 8, GUEST_READ);
    return (__atomic_load_n(&word[nr / 64], __ATOMIC_SEQ_CST) >> (nr % 64)) & 1;
}

uint32_t guest_cmpxchg32(struct hv *hv, volatile uint32_t *p, uint32_t old, uint32_t new_value)
{
    touch(hv, p, 4, GUEST_LOCKED);
    __atomic_compare_exchange_n(p, &old, new_value, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
    return old; /* the value found, as Xen's cmpxchg returns it */
}

uint64_t guest_cmpxchg64(struct hv *hv, volatile uint64_t *p, uint64_t old, uint64_t new_value)
{
    touch(hv, p, 8, GUEST_LOCKED);
    __atomic_compare_exchange_n(p, &old, new_value, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
    return old;
}

uint64_t guest_xchg64(struct hv *hv, volatile uint64_t *p, uint64_t v)
{
    touch(hv, p, 8, GUEST_LOCKED);
    return __atomic_exchange_n(p, v, __ATOMIC_SEQ_CST);
}

void guest_or64(struct hv *hv, volatile uint64_t *p, uint64_t v)
{
    touch(hv, p, 8, GUEST_LOCKED);
    __atomic_fetch_or(p, v, __ATOMIC_SEQ_CST);
}

uint32_t guest_xchg32(struct hv *hv, volatile uint32_t *p, uint32_t v)
{
    touch(hv, p, 4, GUEST_LOCKED);
    return __atomic_exchange_n(p, v, __ATOMIC_SEQ_CST);
}

uint8_t guest_xchg8(struct hv *hv, volatile uint8_t *p, uint8_t v)
{
    touch(hv, p, 1, GUEST_LOCKED);
    return __atomic_exchange_n(p, v, __ATOMIC_SEQ_CST);
}

bool guest_test_and_set_bit32(struct hv *hv, unsigned nr, volatile uint32_t *word)
{
    uint32_t mask = UINT32_C(1) << nr;

    touch(hv, word, 4, GUEST_LOCKED);
    if (__atomic_load_n(word, __ATOMIC_SEQ_CST) & mask) /* as guest_test_and_set_bit */
        return true;
    return (__atomic_fetch_or(word, mask, __ATOMIC_SEQ_CST) & mask) != 0;
}

bool guest_test_and_clear_bit32(struct hv *hv, unsigned nr, volatile uint32_t *word)
{
    uint32_t mask = UINT32_C(1) << nr;

    touch(hv, word, 4, GUEST_LOCKED);
    if (!(__atomic_load_n(word, __ATOMIC_SEQ_CST) & mask)) /* as guest_test_and_clear_bit */
        return false;
    return (__atomic_fetch_and(word, ~mask, __ATOMIC_SEQ_CST) & mask) != 0;
}

bool guest_test_bit32(struct hv *hv, unsigned nr, const volatile uint32_t *word)
{
    touch(hv, word, 4, GUEST_READ);
    return (__atomic_load_n(word, __ATOMIC_SEQ_CST) >> nr) & 1;
}

uint32_t guest_read32(struct hv *hv, const volatile uint32_t *p)
{
    touch(hv, p, 4, GUEST_READ);
    return __atomic_load_n(p, __ATOMIC_SEQ_CST);
}

void guest_write32(struct hv *hv, volatile uint32_t *p, uint32_t v)
{
    touch(hv, p, 4, GUEST_WRITE);
    __atomic_store_n(p, v, __ATOMIC_SEQ_CST);
}

void *hv_page_alloc(struct hv *hv)
{
    if (hv->mem && hv->mem->page_alloc)
        return hv->mem->page_alloc(hv->mem_opaque);
    void *p = aligned_alloc(XEN_PAGE_SIZE, XEN_PAGE_SIZE);
    if (p)
        memset(p, 0, XEN_PAGE_SIZE);
    return p;
}

void hv_page_free(struct hv *hv, void *page)
{
    if (!page)
        return;
    if (hv->mem && hv->mem->page_free)
        hv->mem->page_free(hv->mem_opaque, page);
    else
        free(page);
}
