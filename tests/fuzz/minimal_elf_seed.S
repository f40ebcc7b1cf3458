/* The smallest guest image the ELF loader accepts with everything it looks at: a Xen entry
 * note, a hypercall-page note, a symbol table naming hypercall_page, code with a TSC read and
 * a call into the page. Seed of fuzz_elf (corpus/elf/minimal.elf), built with:
 *   gcc -nostdlib -static -no-pie -Wl,-z,max-page-size=0x1000 -Wl,-Ttext=0x100000 \
 *       -Wl,--section-start=.note.Xen=0x103000 -Wl,--build-id=none \
 *       -o corpus/elf/minimal.elf minimal_elf_seed.S
 */
    .section .note.Xen,"a",@note
    .align 4
    .long 4, 8, 1          /* XEN_ELFNOTE_ENTRY */
    .asciz "Xen"
    .quad _start
    .align 4
    .long 4, 8, 2          /* XEN_ELFNOTE_HYPERCALL_PAGE */
    .asciz "Xen"
    .quad hypercall_page
    .text
    .globl _start
_start:
    mov $1, %eax
    xor %edi, %edi
    rdtsc
    test %eax, %eax
    jnz 1f
    call hypercall_page + 29*32
1:  hlt
    .p2align 12
    .globl hypercall_page
hypercall_page:
    .fill 4096, 1, 0xc3
