/* A guest that misbehaves on purpose, for the crash tests: the simulator must crash this domain
 * with a diagnostic and let the others go on.
 *   mode=null    read through a NULL pointer (page 0 is never mapped)
 *   mode=ud      execute ud2 (invalid instruction)
 *   mode=hlt     execute hlt (privileged in a PV guest)
 *   mode=stack   recurse until the stack runs off the bottom of guest memory
 *   mode=crash   shut down with SHUTDOWN_crash after printing a line
 *   mode=text    write to its own text (no fault: Xen maps it writable) and read it back; two
 *                domains doing it must each see only their own write, though they start out
 *                sharing the program's text */
#include "rt.h"

/* Recursion with no base case the compiler can see: the depth limit is the stack. */
__attribute__((noinline)) static uint64_t recurse(volatile uint64_t *depth)
{
    volatile uint64_t pad[64];
    pad[0] = ++*depth;
    if (*depth == 0) /* never: depth only grows */
        return pad[0];
    return recurse(depth) + pad[0];
}

/* Never runs: mode=text writes over its first byte. */
__attribute__((noinline, used)) static void never_run(void)
{
    __asm__ volatile("nop");
}

int main(void)
{
    rt_printf("fault: mode=%s\n", rt_arg_str("mode", "null"));
    if (rt_arg_is("mode", "null"))
        return (int)*(volatile uint64_t *)(uintptr_t)rt_arg_u64("addr", 0x10);
    if (rt_arg_is("mode", "ud"))
        __asm__ volatile("ud2");
    if (rt_arg_is("mode", "hlt"))
        __asm__ volatile("hlt");
    if (rt_arg_is("mode", "stack")) {
        /* Move to the lowest mapped page first so the overflow reaches page 0 quickly. */
        static volatile uint64_t depth;
        __asm__ volatile("mov $0x3000, %%rsp" ::: "memory");
        return (int)recurse(&depth);
    }
    if (rt_arg_is("mode", "crash"))
        rt_exit(SHUTDOWN_crash);
    if (rt_arg_is("mode", "text")) {
        volatile uint8_t *p = (volatile uint8_t *)(uintptr_t)&never_run;
        unsigned before = *p;
        *p = (uint8_t)(before ^ 0xff);
        rt_printf("fault: text byte 0x%x, written 0x%x\n", before, (unsigned)*p);
    }
    return 0;
}
