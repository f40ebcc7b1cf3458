/* shared_info and vcpu_info fields in the guest's layout, native or compat (see the header). */
#include "models/shared_info.h"

_Static_assert(offsetof(struct shared_info_x86_32, evtchn_pending) % 8 == 0 &&
                   offsetof(struct shared_info_x86_32, evtchn_mask) % 8 == 0,
               "compat bitmaps can be read as 64-bit model words");

static volatile uint32_t *vcpu_info_compat_sel(struct vcpu_info *vi)
{
    return (volatile uint32_t *)((unsigned char *)vi +
                                 offsetof(struct vcpu_info_x86_32, evtchn_pending_sel));
}

static volatile uint64_t *vcpu_info_native_sel(struct vcpu_info *vi)
{
    return (volatile uint64_t *)&vi->evtchn_pending_sel;
}

bool vcpu_info_sel_test_and_set(struct domain *d, struct vcpu_info *vi, unsigned bit)
{
    if (shared_info_is_compat(d))
        return guest_test_and_set_bit32(d->hv, bit, vcpu_info_compat_sel(vi));
    return guest_test_and_set_bit(d->hv, bit, vcpu_info_native_sel(vi));
}

uint64_t vcpu_info_sel_xchg(struct domain *d, struct vcpu_info *vi, uint64_t value)
{
    if (shared_info_is_compat(d))
        return guest_xchg32(d->hv, vcpu_info_compat_sel(vi), (uint32_t)value);
    return guest_xchg64(d->hv, vcpu_info_native_sel(vi), value);
}

uint64_t vcpu_info_sel_peek(const struct domain *d, const struct vcpu_info *vi)
{
    struct vcpu_info *w = (struct vcpu_info *)(uintptr_t)vi;

    if (shared_info_is_compat(d))
        return *vcpu_info_compat_sel(w);
    return *vcpu_info_native_sel(w);
}

void vcpu_info_time_store(struct vcpu_info *vi, size_t offset, const void *value, size_t len)
{
    volatile uint8_t *t = (volatile uint8_t *)(uintptr_t)vi + offsetof(struct vcpu_info, time);
    const uint8_t *v = value;
    for (size_t i = 0; i < len; i++)
        t[offset + i] = v[i];
}

uint32_t vcpu_info_time_version(const struct vcpu_info *vi)
{
    const volatile uint8_t *t =
        (const volatile uint8_t *)(uintptr_t)vi + offsetof(struct vcpu_info, time);
    uint32_t version = 0;
    for (size_t i = 0; i < sizeof(version); i++)
        version |= (uint32_t)t[offsetof(struct vcpu_time_info, version) + i] << (8 * i);
    return version;
}
