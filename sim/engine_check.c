/* What evsim needs of the Unicorn library it runs on, checked by running a few instructions:
 * the version, guest paging honoured, guest stores on the fast path (timed against a store-free
 * loop in the same process, so only the ratio matters, not the machine's speed), and the two
 * traps evsim is built on: syscall as the hypercall instruction and a code hook that skips an
 * RDTSC. Debian 12's Unicorn 2.0.1 fails paging and stores; 2.1.4 fails stores.
 *
 * Self-contained (Unicorn and libc only) so that CMake can compile this file alone with
 * -DENGINE_CHECK_MAIN and run it at configure time, before anything else is built. */
#define _GNU_SOURCE /* dladdr: which library file answered */
#include "sim/engine_check.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unicorn/unicorn.h>

#define CHK_RAM_SIZE (4u << 20)
#define CHK_CODE 0x1000u
#define CHK_DATA 0x8000u
#define CHK_PML4 0x10000u
#define CHK_PDPT 0x11000u
#define CHK_PD 0x12000u
#define CHK_ALIAS 0x200000u /* virtual 2 MB..4 MB maps physical 0..2 MB */
#define CHK_MARK 0x100u
#define CHK_LOOPS 100000u
#define CHK_TRIALS 5
#define CHK_ATTEMPTS 4

#define X86_CR0_PE 0x1u
#define X86_CR0_PG 0x80000000u
#define X86_CR4_PAE 0x20u
#define PTE_P 0x1u
#define PTE_RW 0x2u
#define PTE_PS 0x80u

/* loop: mov [rdi], rax; add rax, 1; dec rcx; jnz loop  -- one store per iteration */
static const uint8_t code_store_loop[] = {0x48, 0x89, 0x07, 0x48, 0x83, 0xc0,
                                          0x01, 0x48, 0xff, 0xc9, 0x75, 0xf4};
/* loop: mov rdx, rax; add rax, 1; dec rcx; jnz loop  -- the same loop without the store */
static const uint8_t code_plain_loop[] = {0x48, 0x89, 0xc2, 0x48, 0x83, 0xc0,
                                          0x01, 0x48, 0xff, 0xc9, 0x75, 0xf4};
/* mov rax, [CHK_ALIAS + CHK_MARK] */
static const uint8_t code_alias_load[] = {0x48, 0x8b, 0x04, 0x25, 0x00, 0x01, 0x20, 0x00};
/* rdtsc; mov rbx, rax */
static const uint8_t code_rdtsc[] = {0x0f, 0x31, 0x48, 0x89, 0xc3};
/* mov eax, 0x2a; syscall; mov rbx, rax */
static const uint8_t code_syscall[] = {0xb8, 0x2a, 0x00, 0x00, 0x00, 0x0f, 0x05, 0x48, 0x89, 0xc3};

#define RDTSC_VALUE 0x5eed0000feedull
#define SYSCALL_VALUE 0x600dull

struct chk {
    uc_engine *uc;
    uint8_t *ram;
    unsigned hook_calls;
};

static int chk_open(struct chk *k, uint8_t *ram)
{
    k->ram = ram;
    k->hook_calls = 0;
    if (uc_open(UC_ARCH_X86, UC_MODE_64, &k->uc) != UC_ERR_OK)
        return -1;
    /* Mapped by pointer, as evsim maps guest RAM. */
    if (uc_mem_map_ptr(k->uc, 0, CHK_RAM_SIZE, UC_PROT_ALL, ram) != UC_ERR_OK) {
        uc_close(k->uc);
        return -1;
    }
    return 0;
}

static uint64_t reg(uc_engine *uc, int id)
{
    uint64_t v = 0;
    uc_reg_read(uc, id, &v);
    return v;
}

static void set_reg(uc_engine *uc, int id, uint64_t v)
{
    uc_reg_write(uc, id, &v);
}

static uc_err chk_run(struct chk *k, const uint8_t *code, size_t len)
{
    memcpy(k->ram + CHK_CODE, code, len);
    uc_ctl_remove_cache(k->uc, CHK_CODE, CHK_CODE + 64);
    return uc_emu_start(k->uc, CHK_CODE, CHK_CODE + len, 0, 0);
}

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* The fastest of a few runs: the first also translates, and the machine may be busy. */
static double loop_ns(struct chk *k, const uint8_t *code, size_t len)
{
    double best = 0;
    memcpy(k->ram + CHK_CODE, code, len);
    uc_ctl_remove_cache(k->uc, CHK_CODE, CHK_CODE + 64);
    for (int t = 0; t < CHK_TRIALS; t++) {
        set_reg(k->uc, UC_X86_REG_RCX, CHK_LOOPS);
        set_reg(k->uc, UC_X86_REG_RDI, CHK_DATA);
        double start = now_ns();
        if (uc_emu_start(k->uc, CHK_CODE, CHK_CODE + len, 0, 0) != UC_ERR_OK)
            return -1;
        double ns = (now_ns() - start) / CHK_LOOPS;
        if (t == 0 || ns < best)
            best = ns;
    }
    return best;
}

/* Page tables: virtual 0..2 MB and 2..4 MB both map physical 0..2 MB with one large page
 * each, so a load from the alias reads physical memory only if paging is honoured. */
static void build_page_tables(struct chk *k)
{
    uint64_t pml4e = CHK_PDPT | PTE_P | PTE_RW, pdpte = CHK_PD | PTE_P | PTE_RW;
    uint64_t pde = 0 | PTE_P | PTE_RW | PTE_PS;
    memcpy(k->ram + CHK_PML4, &pml4e, 8);
    memcpy(k->ram + CHK_PDPT, &pdpte, 8);
    memcpy(k->ram + CHK_PD, &pde, 8);
    memcpy(k->ram + CHK_PD + 8, &pde, 8);
}

static void paging_on(struct chk *k)
{
    set_reg(k->uc, UC_X86_REG_CR4, reg(k->uc, UC_X86_REG_CR4) | X86_CR4_PAE);
    set_reg(k->uc, UC_X86_REG_CR3, CHK_PML4);
    set_reg(k->uc, UC_X86_REG_CR0, reg(k->uc, UC_X86_REG_CR0) | X86_CR0_PE | X86_CR0_PG);
}

static bool check_paging(struct chk *k)
{
    const uint64_t physical = 0x1111, unpaged = 0x2222;
    build_page_tables(k);
    memcpy(k->ram + CHK_MARK, &physical, 8);
    memcpy(k->ram + CHK_ALIAS + CHK_MARK, &unpaged, 8);
    paging_on(k);
    if (chk_run(k, code_alias_load, sizeof(code_alias_load)) != UC_ERR_OK)
        return false;
    return reg(k->uc, UC_X86_REG_RAX) == physical;
}

static void on_rdtsc(uc_engine *uc, uint64_t addr, uint32_t size, void *opaque)
{
    struct chk *k = opaque;
    k->hook_calls++;
    set_reg(uc, UC_X86_REG_RAX, RDTSC_VALUE);
    set_reg(uc, UC_X86_REG_RDX, 0);
    set_reg(uc, UC_X86_REG_RIP, addr + size);
}

/* evsim's way of owning the TSC: a code hook on the RDTSC that writes the result and moves
 * RIP past it. The instruction must not run afterwards (it would overwrite RAX). */
static bool check_rdtsc_hook(struct chk *k)
{
    uc_hook h;
    if (uc_hook_add(k->uc, &h, UC_HOOK_CODE, on_rdtsc, k, CHK_CODE, CHK_CODE) != UC_ERR_OK)
        return false;
    uc_err err = chk_run(k, code_rdtsc, sizeof(code_rdtsc));
    uc_hook_del(k->uc, h);
    return err == UC_ERR_OK && k->hook_calls == 1 && reg(k->uc, UC_X86_REG_RBX) == RDTSC_VALUE;
}

static void on_syscall(uc_engine *uc, void *opaque)
{
    struct chk *k = opaque;
    k->hook_calls++;
    if (reg(uc, UC_X86_REG_RAX) == 0x2a)
        set_reg(uc, UC_X86_REG_RAX, SYSCALL_VALUE);
}

static bool check_syscall_hook(struct chk *k)
{
    uc_hook h;
    k->hook_calls = 0;
    if (uc_hook_add(k->uc, &h, UC_HOOK_INSN, on_syscall, k, 1, 0, UC_X86_INS_SYSCALL) != UC_ERR_OK)
        return false;
    uc_err err = chk_run(k, code_syscall, sizeof(code_syscall));
    uc_hook_del(k->uc, h);
    return err == UC_ERR_OK && k->hook_calls == 1 && reg(k->uc, UC_X86_REG_RBX) == SYSCALL_VALUE;
}

static void library_path(struct engine_check *c)
{
    Dl_info info;
    snprintf(c->library, sizeof(c->library), "(unknown)");
    if (dladdr((void *)uc_version, &info) && info.dli_fname)
        snprintf(c->library, sizeof(c->library), "%s", info.dli_fname);
}

static void version_of(struct engine_check *c)
{
    unsigned major = 0, minor = 0;
    unsigned v = uc_version(&major, &minor);
    /* Since 2.0 the full value is major << 24 | minor << 16 | patch << 8 | extra. */
    c->version = v >> 8;
    snprintf(c->version_text, sizeof(c->version_text), "%u.%u.%u", (v >> 24) & 0xff,
             (v >> 16) & 0xff, (v >> 8) & 0xff);
}

static void add_failure(struct engine_check *c, const char *what)
{
    size_t used = strlen(c->failures);
    snprintf(c->failures + used, sizeof(c->failures) - used, "%s%s", used ? "; " : "", what);
}

/* The store loop's time over the store-free loop's, each timed now, back to back. A busy
 * machine (or valgrind) can spoil one measurement; a slow path spoils every one: a ratio above
 * the bound is measured again, a few times, and the best kept. */
static double store_ratio(struct chk *k, double *plain_ns, double *store_ns)
{
    double best = 0;
    for (int attempt = 0; attempt < CHK_ATTEMPTS; attempt++) {
        double plain = loop_ns(k, code_plain_loop, sizeof(code_plain_loop));
        double store = loop_ns(k, code_store_loop, sizeof(code_store_loop));
        double ratio = plain > 0 && store > 0 ? store / plain : 0;
        if (ratio > 0 && (best == 0 || ratio < best)) {
            best = ratio;
            *plain_ns = plain;
            *store_ns = store;
        }
        if (best > 0 && best <= ENGINE_CHECK_MAX_STORE_RATIO)
            break;
    }
    return best;
}

/* Stores are timed twice: paging off (how evsim maps guests today) and paging on. */
static void check_stores(struct chk *k, struct engine_check *c)
{
    c->store_ratio = store_ratio(k, &c->plain_ns, &c->store_ns);
}

/* What the measurements mean: fills c->failures from the fields alone. */
int engine_check_judge(struct engine_check *c)
{
    c->failures[0] = 0;
    if (c->version < ENGINE_CHECK_MIN_VERSION)
        add_failure(c, "version older than " ENGINE_CHECK_MIN_TEXT);
    if (!c->engine) {
        add_failure(c, "cannot create an x86-64 engine");
        return -1;
    }
    if (!c->paging)
        add_failure(c, "guest paging is ignored (a load through CR3 read the unpaged address)");
    if (!(c->store_ratio > 0) || c->store_ratio > ENGINE_CHECK_MAX_STORE_RATIO ||
        (c->paging && !(c->store_ratio_paged > 0)) ||
        c->store_ratio_paged > ENGINE_CHECK_MAX_STORE_RATIO)
        add_failure(c, "guest stores take the slow path");
    if (!c->rdtsc_hook)
        add_failure(c, "RDTSC cannot be hooked and skipped");
    if (!c->syscall_hook)
        add_failure(c, "syscall cannot be hooked");
    return c->failures[0] ? -1 : 0;
}

static void measure(struct engine_check *c)
{
    struct chk k;
    uint8_t *ram = calloc(1, CHK_RAM_SIZE);
    if (!ram || chk_open(&k, ram) < 0) {
        free(ram);
        return;
    }
    c->engine = true;
    check_stores(&k, c);
    c->rdtsc_hook = check_rdtsc_hook(&k);
    c->syscall_hook = check_syscall_hook(&k);
    c->paging = check_paging(&k);
    if (c->paging) {
        double plain, store;
        c->store_ratio_paged = store_ratio(&k, &plain, &store);
    }
    uc_close(k.uc);
    free(ram);
}

int engine_check_run(struct engine_check *c)
{
    memset(c, 0, sizeof(*c));
    version_of(c);
    library_path(c);
    measure(c);
    return engine_check_judge(c);
}

void engine_check_print(const struct engine_check *c, FILE *out)
{
    fprintf(out, "unicorn        %s (%s)\n", c->version_text, c->library);
    fprintf(out, "paging         %s\n", c->paging ? "honoured" : "IGNORED");
    fprintf(out,
            "guest stores   %.1f ns per loop iteration against %.1f ns without the store:"
            " ratio %.1f, with paging %.1f (at most %.0f)\n",
            c->store_ns, c->plain_ns, c->store_ratio, c->store_ratio_paged,
            ENGINE_CHECK_MAX_STORE_RATIO);
    fprintf(out, "rdtsc hook     %s\n", c->rdtsc_hook ? "works" : "FAILS");
    fprintf(out, "syscall hook   %s\n", c->syscall_hook ? "works" : "FAILS");
    fprintf(out, "verdict        %s%s\n", c->failures[0] ? "unusable: " : "usable", c->failures);
}

#ifdef ENGINE_CHECK_MAIN
/* The configure-time check: prints the findings, exits 1 if evsim could not use the library. */
int main(void)
{
    struct engine_check c;
    int rc = engine_check_run(&c);
    engine_check_print(&c, stdout);
    return rc < 0 ? 1 : 0;
}
#endif
