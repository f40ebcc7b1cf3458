/*
 * An HVM guest's CPU set-up for events (docs/guests.md, "HVM guests"): Xen delivers them as an
 * interrupt vector, so the guest needs what any x86-64 kernel has before it takes interrupts:
 * a GDT with a 64-bit code segment in CS (iretq reloads CS from the frame, and a null selector
 * faults), and an IDT whose gate for the vector points at the upcall handler (head.S,
 * hvm_callback_<abi>). The vector is announced with HVM_PARAM_CALLBACK_IRQ, the type Linux
 * uses on HVM ("callback via vector").
 */
#include "rt_internal.h"

#include <xen/hvm/hvm_op.h>
#include <xen/hvm/params.h>
#include <xen/memory.h>

#define RT_UPCALL_VECTOR 0xf3 /* Linux's HYPERVISOR_CALLBACK_VECTOR */
#define CODE64_SEL 0x08
#define DATA_SEL 0x10

bool rt_hvm;

static const uint64_t gdt[] = {
    0,                     /* null */
    0x00af9a000000ffffull, /* 0x08: 64-bit code, present, ring 0 */
    0x00cf92000000ffffull, /* 0x10: data, present, ring 0 */
};

struct idt_gate {
    uint16_t offset_lo, selector;
    uint8_t ist, type_attr;
    uint16_t offset_mid;
    uint32_t offset_hi, reserved;
};
static struct idt_gate idt[256];

struct __attribute__((packed)) desc_ptr {
    uint16_t limit;
    uint64_t base;
};

bool rt_hvm_detect(void)
{
    xen_feature_info_t fi = {.submap_idx = 0};
    rt_hvm = HYPERVISOR_xen_version(XENVER_get_features, &fi) == 0 &&
             (fi.submap & (1u << XENFEAT_hvm_callback_vector));
    return rt_hvm;
}

/* An HVM guest asks Xen to put shared_info at a frame of its own, as Linux does
 * (xen_hvm_init_shared_info): the page it allocated gives way to it. */
void rt_hvm_map_shared_info(void)
{
    void *page = rt_alloc_pages(1);
    struct xen_add_to_physmap x = {.domid = DOMID_SELF,
                                   .space = XENMAPSPACE_shared_info,
                                   .idx = 0,
                                   .gpfn = (uintptr_t)page >> 12};
    rt_check(HYPERVISOR_memory_op(XENMEM_add_to_physmap, &x),
             "XENMEM_add_to_physmap(XENMAPSPACE_shared_info)");
    rt_shared = page;
}

/* On each vcpu, before it takes interrupts. */
void rt_hvm_cpu_setup(void)
{
    struct desc_ptr g = {sizeof(gdt) - 1, (uintptr_t)gdt}, i = {sizeof(idt) - 1, (uintptr_t)idt};
    __asm__ __volatile__("lgdt %0\n\t"
                         "pushq %1\n\t"
                         "leaq 1f(%%rip), %%rax\n\t"
                         "pushq %%rax\n\t"
                         "lretq\n"
                         "1:\n\t"
                         "mov %2, %%eax\n\t"
                         "mov %%eax, %%ss\n\t"
                         "mov %%eax, %%ds\n\t"
                         "mov %%eax, %%es\n\t"
                         "lidt %3"
                         :
                         : "m"(g), "i"(CODE64_SEL), "i"(DATA_SEL), "m"(i)
                         : "rax", "memory");
}

/* Once, on vcpu 0: the vector's gate, then the callback for every vcpu of the domain. */
void rt_hvm_set_upcall(const char *handler)
{
    uintptr_t a = (uintptr_t)handler;
    idt[RT_UPCALL_VECTOR] = (struct idt_gate){.offset_lo = (uint16_t)a,
                                              .selector = CODE64_SEL,
                                              .type_attr = 0x8e, /* present, interrupt gate */
                                              .offset_mid = (uint16_t)(a >> 16),
                                              .offset_hi = (uint32_t)(a >> 32)};
    struct xen_hvm_param p = {.domid = DOMID_SELF,
                              .index = HVM_PARAM_CALLBACK_IRQ,
                              .value = (uint64_t)HVM_PARAM_CALLBACK_TYPE_VECTOR << 56 |
                                       RT_UPCALL_VECTOR};
    rt_check(HYPERVISOR_hvm_op(HVMOP_set_param, &p), "HVMOP_set_param(HVM_PARAM_CALLBACK_IRQ)");
}
