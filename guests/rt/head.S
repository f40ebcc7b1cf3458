/*
 * evsim guest runtime: the assembly part.
 *
 *   - the Xen ELF notes that tell the loader what this image is,
 *   - hypercall_page, which the hypervisor (the simulator) fills in,
 *   - _start (vcpu 0) and rt_secondary_entry (vcpus started later),
 *   - hypervisor_callback_{2l,3l,fifo}, the event upcall entry points,
 *   - the per-vcpu stacks.
 *
 * Everything else is C.
 */
#ifndef __ASSEMBLY__
#define __ASSEMBLY__            /* what the Xen headers test for */
#endif
#define __XEN_INTERFACE_VERSION__ 0x00040e00
#include <xen/elfnote.h>
#include <xen/xen.h>
#include "config.h"

/* ------------------------------------------------------------------ */
/* Xen ELF notes: name "Xen", type from xen/elfnote.h, then the value. */

.macro xen_note type:req, desc:vararg
    .pushsection .note.Xen, "a", @note
    .balign 4
    .long 2f - 1f               /* namesz */
    .long 4f - 3f               /* descsz */
    .long \type
1:  .asciz "Xen"
2:  .balign 4
3:  \desc
4:  .balign 4
    .popsection
.endm

    xen_note XEN_ELFNOTE_GUEST_OS,       .asciz "evsim"
    xen_note XEN_ELFNOTE_GUEST_VERSION,  .asciz "0.1"
    xen_note XEN_ELFNOTE_XEN_VERSION,    .asciz "xen-3.0"
    xen_note XEN_ELFNOTE_LOADER,         .asciz "generic"
    xen_note XEN_ELFNOTE_VIRT_BASE,      .quad 0
    xen_note XEN_ELFNOTE_PADDR_OFFSET,   .quad 0
    xen_note XEN_ELFNOTE_ENTRY,          .quad _start
    xen_note XEN_ELFNOTE_HYPERCALL_PAGE, .quad hypercall_page

/* ------------------------------------------------------------------ */
/*
 * The hypercall page: 128 stubs of 32 bytes.  Xen (here: the simulator)
 * writes stub i as "push %rcx; push %r11; mov $i,%eax; syscall;
 * pop %r11; pop %rcx; ret".  We fill it with int3 so that calling it
 * before it has been filled traps at once.
 */
    .section .text.hypercall_page, "ax", @progbits
    .balign 4096
    .globl hypercall_page
    .type hypercall_page, @object
hypercall_page:
    .fill 4096, 1, 0xcc
    .size hypercall_page, 4096

/* ------------------------------------------------------------------ */
    .section .text.entry, "ax", @progbits

/*
 * vcpu 0 starts here with %rsi = start_info.  Zero .bss (unless the loader
 * put start_info inside it, or the program trusts the builder's zeroed .bss
 * by defining rt_bss_zeroed: guest.ld), switch to vcpu 0's stack and call
 * rt_start(start_info), which never returns.
 */
    .globl _start
    .type _start, @function
_start:
    cld
    lea __bss_start(%rip), %rdi
    lea __bss_clear_end(%rip), %rcx /* guest.ld: __bss_start if rt_bss_zeroed */
    cmp %rdi, %rsi
    jb 1f                       /* start_info below .bss: zero it */
    cmp %rcx, %rsi
    jb 2f                       /* start_info inside .bss: leave it */
1:  sub %rdi, %rcx
    shr $3, %rcx                /* the linker script keeps .bss 8-byte aligned */
    xor %eax, %eax
    rep stosq
2:  lea rt_stacks + RT_STACK_SIZE(%rip), %rsp
    mov %rsi, %rdi
    call rt_start
    ud2
    .size _start, . - _start

/*
 * Other vcpus start here (VCPUOP_initialise sets rip and rsp; rsp is the top
 * of that vcpu's stack in rt_stacks).  rt_secondary_start() finds out which
 * vcpu it is from the stack and never returns.
 */
    .globl rt_secondary_entry
    .type rt_secondary_entry, @function
rt_secondary_entry:
    cld
    call rt_secondary_start
    ud2
    .size rt_secondary_entry, . - rt_secondary_entry

/*
 * Event upcall.  Xen enters with events masked (CALLBACKF_mask_events) and
 * this bounce frame on the stack, lowest address first:
 *
 *     rcx, r11, rip, cs, rflags, rsp, ss
 *
 * Popping rcx and r11 leaves an iret frame.  We save every general register
 * (the interrupted code may be anywhere), run the ABI's consumer on a
 * 16-byte aligned stack, restore, and leave through HYPERVISOR_iret: push
 * "flags" (0) and jump to its stub, which pushes rcx, r11, rax and traps.
 * Xen then restores the interrupted context, unmasks events again
 * (rflags.IF in the frame) and re-delivers anything that became pending
 * meanwhile.
 *
 * One entry per event-channel ABI, each calling its consumer directly (no
 * indirect call on the event path); the runtime registers the one of the
 * ABI chosen at boot (rt_evtchn->entry).
 */
.macro UPCALL_ENTRY name, consumer
    .globl \name
    .type \name, @function
\name:
    pop %rcx
    pop %r11
    push %rax
    push %rbx
    push %rcx
    push %rdx
    push %rsi
    push %rdi
    push %rbp
    push %r8
    push %r9
    push %r10
    push %r11
    push %r12
    push %r13
    push %r14
    push %r15
    mov %rsp, %rbp              /* rbp is callee-saved: keeps our frame */
    and $-16, %rsp
    cld
    call \consumer
    mov %rbp, %rsp
    pop %r15
    pop %r14
    pop %r13
    pop %r12
    pop %r11
    pop %r10
    pop %r9
    pop %r8
    pop %rbp
    pop %rdi
    pop %rsi
    pop %rdx
    pop %rcx
    pop %rbx
    pop %rax
    pushq $0                    /* iret flags: not VGCF_in_syscall */
    jmp hypercall_page + __HYPERVISOR_iret * 32
    .size \name, . - \name
.endm

    .text
    UPCALL_ENTRY hypervisor_callback_2l, rt_upcall_2l
    UPCALL_ENTRY hypervisor_callback_3l, rt_upcall_3l
    UPCALL_ENTRY hypervisor_callback_fifo, rt_upcall_fifo

/*
 * The same for an HVM guest: Xen injects the upcall vector (HVM_PARAM_CALLBACK_IRQ), and the
 * CPU enters through the IDT's interrupt gate with interrupts off and this frame on the stack:
 *
 *     rip, cs, rflags, rsp, ss
 *
 * The handler saves what the C calling convention lets the consumer change, runs it on a
 * 16-byte aligned stack, and leaves with iretq (which turns interrupts back on).
 */
.macro HVM_UPCALL_ENTRY name, consumer
    .globl \name
    .type \name, @function
\name:
    push %rax
    push %rcx
    push %rdx
    push %rsi
    push %rdi
    push %r8
    push %r9
    push %r10
    push %r11
    push %rbp
    mov %rsp, %rbp
    and $-16, %rsp
    cld
    call \consumer
    mov %rbp, %rsp
    pop %rbp
    pop %r11
    pop %r10
    pop %r9
    pop %r8
    pop %rdi
    pop %rsi
    pop %rdx
    pop %rcx
    pop %rax
    iretq
    .size \name, . - \name
.endm

    HVM_UPCALL_ENTRY hvm_callback_2l, rt_upcall_2l
    HVM_UPCALL_ENTRY hvm_callback_3l, rt_upcall_3l
    HVM_UPCALL_ENTRY hvm_callback_fifo, rt_upcall_fifo

/* ------------------------------------------------------------------ */
/* One stack per vcpu; vcpu v uses [rt_stacks + v*SIZE, rt_stacks + (v+1)*SIZE).
 * Only the first RT_STATIC_VCPUS: rt.c allocates the others' (config.h). */
    .section .bss.stacks, "aw", @nobits
    .balign 4096
    .globl rt_stacks
    .type rt_stacks, @object
rt_stacks:
    .skip RT_STATIC_VCPUS * RT_STACK_SIZE
    .size rt_stacks, . - rt_stacks

    .section .note.GNU-stack, "", @progbits
