/* The event-channel fields of shared_info and vcpu_info in the layout the guest uses: Xen's
 * shared_info(d, field) and vcpu_info(v, field) accessors, which pick the native (64-bit)
 * layout or, for a 32-bit PV guest (has_32bit_shinfo), the compat one of
 * <xen/foreign/x86_32.h>. The two differ only in the 2-level fields: the compat bitmaps are 32
 * words of 32 bits (evtchn_mask at 2176, not 2560) and the compat evtchn_pending_sel is 32 bits
 * at offset 4 of vcpu_info (not 64 bits at 8). upcall_pending, upcall_mask, time and the
 * 64-byte legacy slots are where the native struct has them (asserted in models/xen_public.h).
 * A 32-bit guest's registered vcpu_info need only be 4-aligned, so the model reaches those
 * fields by their byte address (the accessors below), never through a struct vcpu_info member:
 * that would assume the native struct's 8-byte alignment. */
#ifndef EVSIM_MODELS_SHARED_INFO_H
#define EVSIM_MODELS_SHARED_INFO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "models/domain.h"

/* vi's evtchn_upcall_pending and evtchn_upcall_mask bytes, in either layout. */
static inline volatile uint8_t *vcpu_info_upcall_pending(const struct vcpu_info *vi)
{
    return (volatile uint8_t *)(uintptr_t)vi + offsetof(struct vcpu_info, evtchn_upcall_pending);
}

static inline volatile uint8_t *vcpu_info_upcall_mask(const struct vcpu_info *vi)
{
    return (volatile uint8_t *)(uintptr_t)vi + offsetof(struct vcpu_info, evtchn_upcall_mask);
}

/* Xen's local_events_need_delivery() on v's vcpu_info, inline: the simulator asks after every
 * hypercall (vcpu_local_events_need_delivery is the same, out of line). */
static inline bool vcpu_events_need_delivery(struct vcpu *v)
{
    const struct vcpu_info *vi = vcpu_info_ptr(v);

    return vi && *vcpu_info_upcall_pending(vi) && !*vcpu_info_upcall_mask(vi);
}

/* Store `len` bytes at `offset` of vi's vcpu_time_info, whatever vi's alignment. */
void vcpu_info_time_store(struct vcpu_info *vi, size_t offset, const void *value, size_t len);
uint32_t vcpu_info_time_version(const struct vcpu_info *vi);

/* Xen's has_32bit_shinfo: a 32-bit PV guest sees the compat layout. */
static inline bool shared_info_is_compat(const struct domain *d)
{
    return d->guest_word_bits == 32;
}

/* Bits in one of d's bitmap and selector words (Xen's BITS_PER_EVTCHN_WORD(d)): 64, or 32.
 * Inline, as the accessors below: every send asks several times. */
static inline unsigned evtchn_word_bits(const struct domain *d)
{
    return shared_info_is_compat(d) ? 32u : 64u;
}

static inline volatile uint64_t *shared_info_field(struct domain *d, size_t native, size_t compat)
{
    unsigned char *s = (unsigned char *)shared_info_ptr(d);

    if (!s)
        return NULL;
    return (volatile uint64_t *)(s + (shared_info_is_compat(d) ? compat : native));
}

/* d's 2-level bitmaps as model words, NULL without shared_info. Bit n of a little-endian
 * bitmap is the same bit read as 32- or 64-bit words, and the compat arrays are 128 bytes
 * starting 8-aligned, so the model's 64-bit bit operations serve both layouts. */
static inline volatile uint64_t *shared_info_evtchn_pending(struct domain *d)
{
    return shared_info_field(d, offsetof(struct shared_info, evtchn_pending),
                             offsetof(struct shared_info_x86_32, evtchn_pending));
}

static inline volatile uint64_t *shared_info_evtchn_mask(struct domain *d)
{
    return shared_info_field(d, offsetof(struct shared_info, evtchn_mask),
                             offsetof(struct shared_info_x86_32, evtchn_mask));
}

/* evtchn_pending_sel of vi, one of d's vcpu_infos, in the guest's width and place. */
/* Test-and-set bit `bit` (below evtchn_word_bits(d)): true if it was already set. */
bool vcpu_info_sel_test_and_set(struct domain *d, struct vcpu_info *vi, unsigned bit);
/* Exchange the whole word; `value` is cut to the guest's width. Returns the old word. */
uint64_t vcpu_info_sel_xchg(struct domain *d, struct vcpu_info *vi, uint64_t value);
/* Read the word as an onlooker (teaching views): no cost, no coherence traffic. */
uint64_t vcpu_info_sel_peek(const struct domain *d, const struct vcpu_info *vi);

#endif
