/*
 * highbase: a PV guest written as a kernel outside evsim is, to check the domain builder's
 * layout the way such a kernel sees it. It does not use evsim's runtime (guests/rt): its own
 * ELF notes, hypercall page, entry and linker script (highbase.ld), linked where Linux is, at
 * XEN_ELFNOTE_VIRT_BASE 0xffffffff80000000 with code model "kernel". It names frames by their
 * MFN from the p2m list (start_info.mfn_list), as Linux's virt_to_mfn does.
 *
 * It prints one line per check and powers off; mode=fault (on the command line) then writes
 * past its memory, which must crash it with the address it wrote to.
 */
#define __XEN_INTERFACE_VERSION__ 0x00040e00
#include <stddef.h>
#include <stdint.h>

#include <xen/event_channel.h>
#include <xen/sched.h>
#include <xen/vcpu.h>
#include <xen/xen.h>

#define VIRT_BASE 0xffffffff80000000ul
#define PAGE_SIZE 4096ul

/* ---- notes, hypercall page, entry ---- */

#define NOTE(type, desc)                                                                           \
    ".pushsection .note.Xen, \"a\", @note\n .balign 4\n .long 4\n .long 8\n .long " #type          \
    "\n .asciz \"Xen\"\n .balign 4\n " desc "\n .balign 4\n .popsection\n"

__asm__(NOTE(3, ".quad 0xffffffff80000000") /* XEN_ELFNOTE_VIRT_BASE */
        NOTE(4, ".quad 0")                  /* XEN_ELFNOTE_PADDR_OFFSET */
        NOTE(1, ".quad _start")             /* XEN_ELFNOTE_ENTRY */
        NOTE(2, ".quad hypercall_page")     /* XEN_ELFNOTE_HYPERCALL_PAGE */
        ".section .text.hypercall_page, \"ax\", @progbits\n"
        ".balign 4096\n.globl hypercall_page\nhypercall_page:\n.fill 4096, 1, 0xcc\n"
        ".text\n.globl _start\n_start:\n"
        "  mov %rsi, %rdi\n" /* start_info */
        "  lea stack_top(%rip), %rsp\n"
        "  call guest_main\n"
        "  ud2\n");

/* The faulting store, at a fixed place (highbase.ld) with fixed code, so that the crash's
 * diagnostic does not depend on how the compiler laid out the rest. */
__asm__(".section .text.fault, \"ax\", @progbits\n.globl fault_store\nfault_store:\n"
        "  movq $1, (%rdi)\n  ret\n.text\n");
void fault_store(volatile uint64_t *p);

static uint8_t stack[4 * PAGE_SIZE] __attribute__((aligned(16), used));
__asm__(".globl stack_top\n.set stack_top, stack + 4 * 4096\n");

static long hypercall3(unsigned nr, unsigned long a1, unsigned long a2, unsigned long a3)
{
    extern char hypercall_page[];
    register unsigned long r10 __asm__("r10") = 0;
    long res;
    __asm__ __volatile__("call *%[stub]"
                         : "=a"(res), "+D"(a1), "+S"(a2), "+d"(a3), "+r"(r10)
                         : [stub] "r"(hypercall_page + nr * 32)
                         : "memory", "rcx", "r11", "r8", "r9");
    return res;
}

/* ---- printing ---- */

static void put(const char *s)
{
    size_t n = 0;
    while (s[n])
        n++;
    hypercall3(__HYPERVISOR_console_io, CONSOLEIO_write, n, (unsigned long)s);
}

static void put_hex(const char *label, uint64_t v)
{
    char buf[64];
    size_t n = 0;
    while (label[n] && n < 40) {
        buf[n] = label[n];
        n++;
    }
    buf[n++] = '0';
    buf[n++] = 'x';
    int digits = 1;
    for (uint64_t t = v >> 4; t; t >>= 4)
        digits++;
    for (int i = digits - 1; i >= 0; i--)
        buf[n++] = "0123456789abcdef"[(v >> (4 * i)) & 15];
    buf[n++] = '\n';
    buf[n] = 0;
    put(buf);
}

static void check(const char *what, int ok)
{
    put(ok ? "highbase: ok   " : "highbase: FAIL ");
    put(what);
    put("\n");
}

/* ---- frames, as a PV kernel names them ---- */

static const start_info_t *si;

static uint64_t mfn_of(const void *va)
{
    const uint64_t *p2m = (const uint64_t *)si->mfn_list;
    return p2m[((uintptr_t)va - VIRT_BASE) / PAGE_SIZE];
}

static uint8_t vcpu_info_page[PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));
static uint8_t control_page[PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));
static uint8_t array_page[PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));

static long evtchn_op(unsigned cmd, void *arg)
{
    return hypercall3(__HYPERVISOR_event_channel_op, cmd, (unsigned long)arg, 0);
}

static evtchn_port_t send_to_self(void)
{
    struct evtchn_bind_ipi bind = {.vcpu = 0};
    if (evtchn_op(EVTCHNOP_bind_ipi, &bind) != 0)
        return 0;
    struct evtchn_send send = {.port = bind.port};
    return evtchn_op(EVTCHNOP_send, &send) == 0 ? bind.port : 0;
}

static void check_layout(void)
{
    uint64_t end = VIRT_BASE + si->nr_pages * PAGE_SIZE;
    check("start_info is in the high half", (uintptr_t)si >= VIRT_BASE && (uintptr_t)si < end);
    check("pt_base is in the high half", si->pt_base >= VIRT_BASE && si->pt_base < end);
    const uint64_t *l4 = (const uint64_t *)si->pt_base;
    check("the L4 maps the top 512 GiB only", (l4[511] & 1) && !(l4[0] & 1));
    check("mfn_list is in the high half", si->mfn_list >= VIRT_BASE && si->mfn_list < end);
    check("a frame's MFN is not its PFN",
          mfn_of(vcpu_info_page) != ((uintptr_t)vcpu_info_page - VIRT_BASE) / PAGE_SIZE);
}

/* 2-level: Xen marks the event in shared_info and in the vcpu_info registered by MFN. */
static void check_vcpu_info(void)
{
    struct shared_info *sh = (struct shared_info *)si->shared_info;
    /* No event callback: upcalls stay masked (the registration copies the mask over, and
     * marks events pending, which would otherwise be delivered at once). */
    sh->vcpu_info[0].evtchn_upcall_mask = 1;
    struct vcpu_register_vcpu_info reg = {.mfn = mfn_of(vcpu_info_page), .offset = 0};
    long rc = hypercall3(__HYPERVISOR_vcpu_op, VCPUOP_register_vcpu_info, 0, (unsigned long)&reg);
    check("VCPUOP_register_vcpu_info by MFN", rc == 0);
    const struct vcpu_info *vi = (const struct vcpu_info *)vcpu_info_page;
    check("the mask came along", vi->evtchn_upcall_mask == 1);
    evtchn_port_t port = send_to_self();
    check("an IPI to itself", port != 0);
    check("pending in shared_info", (sh->evtchn_pending[port / 64] >> (port % 64)) & 1);
    check("selector in the registered vcpu_info", (vi->evtchn_pending_sel >> (port / 64)) & 1);
}

/* FIFO: control block and event array named by MFN. */
static void check_fifo(void)
{
    struct evtchn_init_control init = {.control_gfn = mfn_of(control_page), .vcpu = 0};
    check("EVTCHNOP_init_control by MFN", evtchn_op(EVTCHNOP_init_control, &init) == 0);
    struct evtchn_expand_array expand = {.array_gfn = mfn_of(array_page)};
    check("EVTCHNOP_expand_array by MFN", evtchn_op(EVTCHNOP_expand_array, &expand) == 0);
    evtchn_port_t port = send_to_self();
    const event_word_t *words = (const event_word_t *)array_page;
    const struct evtchn_fifo_control_block *cb = (const void *)control_page;
    check("a FIFO IPI to itself", port != 0);
    check("PENDING in the event array", (words[port] >> EVTCHN_FIFO_PENDING) & 1);
    check("READY in the control block", (cb->ready >> EVTCHN_FIFO_PRIORITY_DEFAULT) & 1);
}

static int has_word(const char *line, const char *word)
{
    for (const char *p = line; *p; p++) {
        size_t i = 0;
        while (word[i] && p[i] == word[i])
            i++;
        if (!word[i] && (p == line || p[-1] == ' ') && (p[i] == ' ' || !p[i]))
            return 1;
    }
    return 0;
}

void guest_main(const start_info_t *start);
void guest_main(const start_info_t *start)
{
    si = start;
    check("running in the high half", (uintptr_t)&guest_main >= VIRT_BASE);
    check_layout();
    check_vcpu_info();
    check_fifo();
    if (has_word((const char *)si->cmd_line, "mode=fault")) {
        volatile uint64_t *past =
            (volatile uint64_t *)(VIRT_BASE + si->nr_pages * PAGE_SIZE + (2ul << 20));
        put_hex("highbase: writing to ", (uintptr_t)past);
        fault_store(past);
    }
    struct sched_shutdown down = {.reason = SHUTDOWN_poweroff};
    hypercall3(__HYPERVISOR_sched_op, SCHEDOP_shutdown, (unsigned long)&down, 0);
}
