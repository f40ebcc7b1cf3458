/* kvm-calibrate: measures this host's KVM exit round trips and writes a CPU profile whose
 * hvm_exit is the measured figure (docs/benchmarks.md, "kvm-calibrate").
 *
 *   kvm-calibrate [--n N] [--out FILE] [--base NAME] [--no-write]
 *
 * A one-vcpu VM runs a 64-bit guest loop N times around one exiting instruction:
 *   - out 0xe9, al   an I/O exit that KVM hands to user space (KVM_EXIT_IO); this program
 *                    re-enters at once, so the loop times the whole round trip through user space;
 *   - vmcall         (vmmcall on AMD) a hypercall that KVM answers in the kernel without
 *                    returning to user space: the analogue of the profile's hvm_exit;
 *   - cpuid          an exit that KVM also answers in the kernel, from the vcpu's CPUID table.
 * The vcpu's "hypercalls" statistic tells whether this KVM answered the vmcalls. Nested under KVM
 * PVM it does not (the outer hypervisor does), and hvm_exit then comes from the cpuid loop.
 * Each loop is timed on the host with the TSC and CLOCK_MONOTONIC, and the same loop with the
 * exiting instruction replaced by NOPs is subtracted. Where KVM is unusable (no /dev/kvm, no
 * permission, no nested virtualization) it says why in one line and exits 0, because the test
 * suite runs it everywhere. Bad flags (an unreadable --base too) exit 2; failing to write the
 * profile exits 1. */
#define _GNU_SOURCE /* setitimer and gethostname beyond _POSIX_C_SOURCE */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#if defined(__x86_64__)
#include <linux/kvm.h>
#include <linux/kvm_para.h>
#endif

#include "sim/inifile.h"

#ifndef EVSIM_PROFILE_DIR
#define EVSIM_PROFILE_DIR "sim/profiles"
#endif

#define DEFAULT_N 100000ul
#define MAX_N 100000000ul
#define DEFAULT_BASE "sandy-bridge-en"
/* Each kind is timed this many times, interleaved with the others so that a burst of load on
 * the host hits all of them alike; the median is kept. */
#define REPEATS 3
/* The first runs fault in guest memory and fill KVM's caches; they are not timed. */
#define WARMUP_N 1000ul

enum {
    EXIT_SKIPPED = 0, /* KVM unusable here: by default not a failure of this program */
    EXIT_FAILED = 1,
    EXIT_USAGE = 2,
};

struct options {
    unsigned long n;
    const char *out; /* NULL: kvm-measured-<hostname>.ini */
    const char *base;
    bool write;
    int unusable_status; /* exit status when KVM cannot be used here */
};

/* The host as /proc/cpuinfo and /sys describe it. */
struct host_info {
    char cpu_model[96];
    bool amd;                /* AMD or Hygon: the hypercall instruction is vmmcall */
    bool constant_tsc;       /* the TSC ticks at a fixed rate (constant_tsc and nonstop_tsc) */
    char nesting[160];       /* "nested: ..." or "not nested ..." */
    const char *nesting_tag; /* the same in a few words, for the profile */
    char hostname[64];
};

enum loop_kind { LOOP_EMPTY, LOOP_IO, LOOP_HYPERCALL, LOOP_CPUID, LOOP_KINDS };

/* One timed run of a loop: totals, not per round trip. */
struct loop_timing {
    uint64_t tsc;
    uint64_t ns;
    uint64_t hypercalls; /* counted by this KVM during the run; NOT_COUNTED without its stats */
};

#define NOT_COUNTED UINT64_MAX

/* Who answered the hypercalls: nested without VMX/SVM (KVM PVM), the guest's vmcall is a VM exit
 * of this VM itself, which the outer hypervisor answers without this KVM ever seeing it. */
enum answered_by { BY_THIS_KVM, BY_OUTER_HYPERVISOR, BY_UNKNOWN };

/* What the table and the profile report for one kind. */
struct measurement {
    uint64_t median_tsc, median_ns;
    double cycles_each, ns_each; /* the empty loop subtracted, except for the empty loop itself */
};

struct results {
    unsigned long n;
    double tsc_mhz;
    bool hypercall_vmmcall;
    enum answered_by hypercall_answered_by;
    struct measurement m[LOOP_KINDS];
};

static void usage(FILE *to)
{
    fprintf(to,
            "usage: kvm-calibrate [--n N] [--out FILE] [--base NAME] [--no-write]\n"
            "  Times KVM exit round trips on this host (an I/O exit to user space, and exits\n"
            "  handled in the kernel: vmcall/vmmcall and cpuid) and writes a CPU profile whose\n"
            "  hvm_exit is the measured hypercall round trip.\n"
            "  --n N        round trips per loop (default %lu)\n"
            "  --out FILE   profile to write (default kvm-measured-<hostname>.ini)\n"
            "  --base NAME  profile the other constants are copied from (default %s,\n"
            "               read from %s/NAME.ini; a path ending in .ini also works)\n"
            "  --no-write   measure and print only\n"
            "  --unusable-status N  exit status when KVM is unusable here (default 0: not a\n"
            "               failure; the test suite asks for 77, which ctest shows as skipped)\n",
            DEFAULT_N, DEFAULT_BASE, EVSIM_PROFILE_DIR);
}

/* ---- options ---------------------------------------------------------------------------- */

static bool parse_count(const char *s, unsigned long *out)
{
    char *end;
    if (!s || *s < '0' || *s > '9')
        return false;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || *end || v == 0 || v > MAX_N)
        return false;
    *out = v;
    return true;
}

/* "--name value" or "--name=value"; advances *i past what it consumed. NULL when absent. */
static const char *option_value(int argc, char **argv, int *i, const char *name)
{
    size_t len = strlen(name);
    if (strncmp(argv[*i], name, len))
        return NULL;
    if (argv[*i][len] == '=')
        return argv[*i] + len + 1;
    if (argv[*i][len] || *i + 1 >= argc)
        return NULL;
    return argv[++*i];
}

/* 0 to run, 1 after --help, EXIT_USAGE on a bad flag (message printed). */
static int parse_options(int argc, char **argv, struct options *o)
{
    *o = (struct options){
        .n = DEFAULT_N, .base = DEFAULT_BASE, .write = true, .unusable_status = EXIT_SKIPPED};
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i], *v;
        if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
            usage(stdout);
            return 1;
        } else if (!strcmp(arg, "--no-write")) {
            o->write = false;
        } else if (!strncmp(arg, "--n", 3) && (arg[3] == 0 || arg[3] == '=')) {
            v = option_value(argc, argv, &i, "--n");
            if (!parse_count(v, &o->n)) {
                fprintf(stderr, "kvm-calibrate: --n needs a count from 1 to %lu\n", MAX_N);
                return EXIT_USAGE;
            }
        } else if ((v = option_value(argc, argv, &i, "--unusable-status"))) {
            unsigned long status;
            if (!parse_count(v, &status) || status > 255) {
                fprintf(stderr, "kvm-calibrate: --unusable-status needs a status from 1 to 255\n");
                return EXIT_USAGE;
            }
            o->unusable_status = (int)status;
        } else if ((v = option_value(argc, argv, &i, "--out")) && *v) {
            o->out = v;
        } else if ((v = option_value(argc, argv, &i, "--base")) && *v) {
            o->base = v;
        } else {
            fprintf(stderr, "kvm-calibrate: unknown or incomplete option '%s'\n", arg);
            usage(stderr);
            return EXIT_USAGE;
        }
    }
    return 0;
}

/* ---- time ------------------------------------------------------------------------------- */

#if defined(__x86_64__)

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t read_tsc(void)
{
    uint32_t lo, hi;
    /* lfence keeps earlier instructions from drifting past the read. */
    __asm__ volatile("lfence; rdtsc" : "=a"(lo), "=d"(hi)::"memory");
    return ((uint64_t)hi << 32) | lo;
}

/* TSC ticks against CLOCK_MONOTONIC over about 100 ms of busy waiting (sleeping would let the
 * CPU idle, which is harmless with constant_tsc but would hide a TSC that is not). Each end reads
 * the TSC between two clock reads and pairs it with their midpoint. */
static double measure_tsc_mhz(void)
{
    uint64_t a0 = now_ns(), t0 = read_tsc(), b0 = now_ns();
    uint64_t mid0 = a0 + (b0 - a0) / 2;
    while (now_ns() - mid0 < 100000000u)
        ;
    uint64_t a1 = now_ns(), t1 = read_tsc(), b1 = now_ns();
    uint64_t mid1 = a1 + (b1 - a1) / 2;
    return (double)(t1 - t0) * 1000.0 / (double)(mid1 - mid0);
}

/* ---- the host --------------------------------------------------------------------------- */

static bool has_flag(const char *flags_line, const char *flag)
{
    size_t len = strlen(flag);
    for (const char *p = strstr(flags_line, flag); p; p = strstr(p + 1, flag))
        if ((p == flags_line || p[-1] == ' ' || p[-1] == '\t') &&
            (p[len] == ' ' || p[len] == '\n' || !p[len]))
            return true;
    return false;
}

static bool path_exists(const char *path)
{
    return access(path, F_OK) == 0;
}

/* Nested or not: a host that is itself a VM has the "hypervisor" CPUID flag. Inside one, KVM
 * runs either on the outer hypervisor's VMX/SVM (nested hardware virtualization) or, without
 * them, as KVM PVM (module kvm_pvm), which runs guest code in ring 3 of this VM under shadow
 * page tables, every exit being a fault taken by this VM's kernel. */
static void describe_nesting(struct host_info *h, const char *flags)
{
    bool vmx = has_flag(flags, "vmx"), svm = has_flag(flags, "svm");
    if (!has_flag(flags, "hypervisor")) {
        h->nesting_tag = "not nested";
        snprintf(h->nesting, sizeof(h->nesting), "not nested (no hypervisor CPUID flag)");
    } else if (path_exists("/sys/module/kvm_pvm")) {
        h->nesting_tag = "nested, KVM PVM";
        snprintf(h->nesting, sizeof(h->nesting),
                 "nested: this host is a VM and KVM runs as KVM PVM (no VMX/SVM inside it)");
    } else if (vmx || svm) {
        h->nesting_tag = vmx ? "nested, VMX" : "nested, SVM";
        snprintf(h->nesting, sizeof(h->nesting),
                 "nested: this host is a VM with %s from the outer hypervisor",
                 vmx ? "VMX" : "SVM");
    } else {
        h->nesting_tag = "nested";
        snprintf(h->nesting, sizeof(h->nesting), "nested: this host is a VM");
    }
}

/* "key<tabs>: value" from a /proc/cpuinfo line into out, if the line has that key. */
static bool cpuinfo_value(const char *line, const char *key, char *out, size_t size)
{
    size_t len = strlen(key);
    if (strncmp(line, key, len) || (line[len] != ' ' && line[len] != '\t' && line[len] != ':'))
        return false;
    const char *v = strchr(line, ':');
    if (!v)
        return false;
    v += strspn(v + 1, " \t") + 1;
    snprintf(out, size, "%.*s", (int)strcspn(v, "\n"), v);
    return true;
}

static void read_host_info(struct host_info *h)
{
    char line[8192], vendor[64] = "", flags[8192] = "";
    *h = (struct host_info){.cpu_model = "unknown x86-64 CPU"};
    FILE *f = fopen("/proc/cpuinfo", "r");
    while (f && fgets(line, sizeof(line), f) && !flags[0]) { /* the first CPU is enough */
        cpuinfo_value(line, "model name", h->cpu_model, sizeof(h->cpu_model));
        cpuinfo_value(line, "vendor_id", vendor, sizeof(vendor));
        if (cpuinfo_value(line, "flags", flags + 1, sizeof(flags) - 1))
            flags[0] = ' '; /* so that the first flag has a separator before it too */
    }
    if (f)
        fclose(f);
    h->amd = !strcmp(vendor, "AuthenticAMD") || !strcmp(vendor, "HygonGenuine");
    h->constant_tsc = has_flag(flags, "constant_tsc") && has_flag(flags, "nonstop_tsc");
    describe_nesting(h, flags);
    if (gethostname(h->hostname, sizeof(h->hostname)) != 0 || !h->hostname[0])
        snprintf(h->hostname, sizeof(h->hostname), "localhost");
    h->hostname[sizeof(h->hostname) - 1] = 0;
}

/* ---- the guest ---------------------------------------------------------------------------- */

/* Guest physical layout: one 2 MiB page, identity-mapped by a three-level table. */
#define GUEST_MEM_SIZE 0x200000u
#define PML4_GPA 0x2000u
#define PDPT_GPA 0x3000u
#define PD_GPA 0x4000u
#define CODE_GPA 0x10000u
#define LOOP_STRIDE 0x100u /* each kind's loop at CODE_GPA + kind * LOOP_STRIDE */
#define STACK_GPA 0x80000u

#define PORT_ROUND_TRIP 0xe9     /* the I/O exit being measured */
#define PORT_DONE 0xea           /* the guest's "loop finished" signal */
#define HYPERCALL_NR 0x0badc0deu /* no such KVM hypercall: KVM answers with an error */
#define CPUID_LEAF 0x40000000u   /* KVM's signature leaf, replaced by ours to prove KVM answered */
static const char cpuid_signature[12] = {'k', 'v', 'm', 'c', 'a', 'l',
                                         'i', 'b', 'r', 'a', 't', 'e'};

/* Page-table, control-register and flag bits (Intel SDM vol. 3, chapters 2 and 4). */
#define PTE_PRESENT 0x1u
#define PTE_WRITE 0x2u
#define PTE_USER 0x4u
#define PTE_LARGE 0x80u
#define CR0_PE 0x1u
#define CR0_ET 0x10u
#define CR0_NE 0x20u
#define CR0_PG 0x80000000u
#define CR4_PAE 0x20u
#define EFER_LME 0x100u
#define EFER_LMA 0x400u
#define RFLAGS_FIXED 0x2u
#define RFLAGS_IOPL3 0x3000u

struct kvm_vm {
    int kvm, vm, vcpu;
    struct kvm_run *run;
    size_t run_size;
    uint8_t *mem;
    int stats;           /* the vcpu's binary statistics (Linux 5.14+), or -1 */
    off_t hypercalls_at; /* where its "hypercalls" counter is, or -1 */
};

static const char *loop_name(const struct results *res, enum loop_kind k)
{
    bool outer = res->hypercall_answered_by == BY_OUTER_HYPERVISOR;
    switch (k) {
    case LOOP_EMPTY:
        return "loop without an exit (subtracted)";
    case LOOP_IO:
        return "I/O exit to user space (out)";
    case LOOP_HYPERCALL:
        if (outer)
            return res->hypercall_vmmcall ? "vmmcall, answered by the outer hypervisor"
                                          : "vmcall, answered by the outer hypervisor";
        return res->hypercall_vmmcall ? "exit handled in kernel (vmmcall)"
                                      : "exit handled in kernel (vmcall)";
    default:
        return "exit handled in kernel (cpuid)";
    }
}

/* The three bytes that make each loop what it is: the exiting instruction, NOP-padded so that
 * every loop has the same shape and the empty loop differs only by the exit. */
static void exiting_instruction(enum loop_kind k, bool vmmcall, uint8_t insn[3])
{
    static const uint8_t nops[3] = {0x90, 0x90, 0x90};
    static const uint8_t out[3] = {0xe6, PORT_ROUND_TRIP, 0x90}; /* out imm8, al; nop */
    static const uint8_t vmcall[3] = {0x0f, 0x01, 0xc1};
    static const uint8_t vmmcall_insn[3] = {0x0f, 0x01, 0xd9};
    static const uint8_t cpuid[3] = {0x0f, 0xa2, 0x90}; /* cpuid; nop */
    const uint8_t *src = k == LOOP_IO          ? out
                         : k == LOOP_HYPERCALL ? (vmmcall ? vmmcall_insn : vmcall)
                         : k == LOOP_CPUID     ? cpuid
                                               : nops;
    memcpy(insn, src, 3);
}

/* One loop, at CPL 3 in 64-bit mode:
 *   loop: mov eax, imm32    ; the hypercall number or CPUID leaf, reloaded since both clobber it
 *         <exit, 3 bytes>
 *         dec esi           ; esi = round trips left, set by the host
 *         jnz loop
 *         out 0xea, al      ; done: the host stops here
 *         jmp $             ; never reached */
static void write_loop(uint8_t *mem, enum loop_kind k, bool vmmcall)
{
    uint32_t eax = k == LOOP_HYPERCALL ? HYPERCALL_NR : k == LOOP_CPUID ? CPUID_LEAF : 0;
    /* clang-format off */
    uint8_t code[] = {
        0xb8, 0, 0, 0, 0, /* mov eax, imm32 (filled in below) */
        0x90, 0x90, 0x90, /* the exit (filled in below) */
        0xff, 0xce,       /* dec esi */
        0x75, 0xf4,       /* jnz loop (-12) */
        0xe6, PORT_DONE,  /* out PORT_DONE, al */
        0xeb, 0xfe,       /* jmp $ */
    };
    /* clang-format on */
    memcpy(code + 1, &eax, 4); /* the host is x86 too: the immediate's byte order */
    exiting_instruction(k, vmmcall, code + 5);
    memcpy(mem + CODE_GPA + (unsigned)k * LOOP_STRIDE, code, sizeof(code));
}

static void write_page_tables(uint8_t *mem)
{
    uint64_t pml4e = PDPT_GPA | PTE_PRESENT | PTE_WRITE | PTE_USER;
    uint64_t pdpte = PD_GPA | PTE_PRESENT | PTE_WRITE | PTE_USER;
    uint64_t pde = 0 | PTE_PRESENT | PTE_WRITE | PTE_USER | PTE_LARGE; /* 2 MiB at 0 */
    memcpy(mem + PML4_GPA, &pml4e, 8);
    memcpy(mem + PDPT_GPA, &pdpte, 8);
    memcpy(mem + PD_GPA, &pde, 8);
}

/* ---- KVM -------------------------------------------------------------------------------- */

static void close_vm(struct kvm_vm *v)
{
    if (v->run && v->run != MAP_FAILED)
        munmap(v->run, v->run_size);
    if (v->mem && v->mem != MAP_FAILED)
        munmap(v->mem, GUEST_MEM_SIZE);
    if (v->stats >= 0)
        close(v->stats);
    if (v->vcpu >= 0)
        close(v->vcpu);
    if (v->vm >= 0)
        close(v->vm);
    if (v->kvm >= 0)
        close(v->kvm);
}

/* /dev/kvm, the VM, its memory and the vcpu. false with why set when KVM is unusable. */
static bool open_vm(struct kvm_vm *v, char *why, size_t size)
{
    *v = (struct kvm_vm){.kvm = -1, .vm = -1, .vcpu = -1, .stats = -1, .hypercalls_at = -1};
    v->kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (v->kvm < 0)
        return snprintf(why, size, "cannot open /dev/kvm: %s", strerror(errno)), false;
    int api = ioctl(v->kvm, KVM_GET_API_VERSION, 0);
    if (api < 0)
        return snprintf(why, size, "/dev/kvm does not answer KVM_GET_API_VERSION: %s",
                        strerror(errno)),
               false;
    if (api != KVM_API_VERSION)
        return snprintf(why, size, "/dev/kvm speaks KVM API %d, not %d", api, KVM_API_VERSION),
               false;
    v->vm = ioctl(v->kvm, KVM_CREATE_VM, 0);
    if (v->vm < 0)
        return snprintf(why, size,
                        "KVM_CREATE_VM failed: %s (virtualization disabled, or nested "
                        "virtualization off in the outer hypervisor?)",
                        strerror(errno)),
               false;
    v->mem = mmap(NULL, GUEST_MEM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (v->mem == MAP_FAILED)
        return snprintf(why, size, "cannot map guest memory: %s", strerror(errno)), false;
    struct kvm_userspace_memory_region region = {.slot = 0,
                                                 .guest_phys_addr = 0,
                                                 .memory_size = GUEST_MEM_SIZE,
                                                 .userspace_addr = (uint64_t)(uintptr_t)v->mem};
    if (ioctl(v->vm, KVM_SET_USER_MEMORY_REGION, &region) < 0)
        return snprintf(why, size, "KVM_SET_USER_MEMORY_REGION failed: %s", strerror(errno)), false;
    v->vcpu = ioctl(v->vm, KVM_CREATE_VCPU, 0);
    if (v->vcpu < 0)
        return snprintf(why, size, "KVM_CREATE_VCPU failed: %s", strerror(errno)), false;
    int run_size = ioctl(v->kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
    if (run_size <= 0)
        return snprintf(why, size, "KVM_GET_VCPU_MMAP_SIZE failed: %s", strerror(errno)), false;
    v->run_size = (size_t)run_size;
    v->run = mmap(NULL, v->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->vcpu, 0);
    if (v->run == MAP_FAILED)
        return snprintf(why, size, "cannot map the vcpu's kvm_run: %s", strerror(errno)), false;
    return true;
}

/* The offset of one u64 counter in a KVM binary statistics file, or -1. */
static off_t find_stat(int fd, const char *name)
{
    struct kvm_stats_header h;
    if (pread(fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h))
        return -1;
    size_t desc_size = sizeof(struct kvm_stats_desc) + h.name_size;
    struct kvm_stats_desc *d = malloc(desc_size);
    off_t at = -1;
    for (uint32_t i = 0; d && i < h.num_desc && at < 0; i++) {
        off_t where = (off_t)h.desc_offset + (off_t)(i * desc_size);
        if (pread(fd, d, desc_size, where) != (ssize_t)desc_size)
            break;
        if (!strncmp(d->name, name, h.name_size) && d->size == 1)
            at = (off_t)h.data_offset + d->offset;
    }
    free(d);
    return at;
}

/* The vcpu's "hypercalls" counter, to tell whether this KVM answered the guest's hypercalls.
 * Optional: older kernels have no binary statistics, and then nobody can tell. */
static void open_hypercall_counter(struct kvm_vm *v)
{
    v->stats = ioctl(v->vcpu, KVM_GET_STATS_FD, 0);
    if (v->stats >= 0)
        v->hypercalls_at = find_stat(v->stats, "hypercalls");
}

static uint64_t read_hypercall_counter(const struct kvm_vm *v)
{
    uint64_t count;
    if (v->hypercalls_at < 0 ||
        pread(v->stats, &count, sizeof(count), v->hypercalls_at) != (ssize_t)sizeof(count))
        return NOT_COUNTED;
    return count;
}

/* KVM's supported CPUID table with the signature leaf replaced by ours: the cpuid loop then
 * proves each answer came from KVM, not from the CPU (which, nested, would give the outer
 * hypervisor's signature, possibly KVM's too). */
static bool set_guest_cpuid(struct kvm_vm *v, char *why, size_t size)
{
    struct kvm_cpuid2 *table = NULL;
    for (unsigned nent = 64; nent <= 4096; nent *= 2) {
        free(table);
        table = calloc(1, sizeof(*table) + nent * sizeof(table->entries[0]));
        if (!table)
            return snprintf(why, size, "out of memory"), false;
        table->nent = nent;
        if (ioctl(v->kvm, KVM_GET_SUPPORTED_CPUID, table) == 0 || errno != E2BIG)
            break;
    }
    bool ok = false;
    struct kvm_cpuid_entry2 *leaf = NULL;
    for (unsigned i = 0; i < table->nent && !leaf; i++)
        if (table->entries[i].function == CPUID_LEAF)
            leaf = &table->entries[i];
    if (leaf) {
        memcpy(&leaf->ebx, cpuid_signature, 4);
        memcpy(&leaf->ecx, cpuid_signature + 4, 4);
        memcpy(&leaf->edx, cpuid_signature + 8, 4);
        ok = ioctl(v->vcpu, KVM_SET_CPUID2, table) == 0;
        if (!ok)
            snprintf(why, size, "KVM_SET_CPUID2 failed: %s", strerror(errno));
    } else {
        snprintf(why, size, "KVM offers no CPUID leaf 0x%x (KVM_GET_SUPPORTED_CPUID: %s)",
                 CPUID_LEAF, strerror(errno));
    }
    free(table);
    return ok;
}

static struct kvm_segment flat_segment(uint16_t selector, uint8_t type, bool code)
{
    return (struct kvm_segment){.base = 0,
                                .limit = 0xffffffff,
                                .selector = selector,
                                .type = type,
                                .present = 1,
                                .dpl = 3,
                                .db = !code,
                                .s = 1,
                                .l = code,
                                .g = 1};
}

/* 64-bit mode at CPL 3 with IOPL 3. CPL 3 because under KVM PVM (nested without VMX/SVM) ring-0
 * code of a guest that is not a PVM kernel is emulated (about 2,500 TSC cycles per instruction
 * when this was written), while ring-3 code runs natively; with VMX/SVM all three instructions
 * exit at any CPL. IOPL 3 lets `out` reach the I/O exit instead of faulting. There is no IDT: a
 * guest fault ends in a triple fault (KVM_EXIT_SHUTDOWN). */
static bool set_guest_mode(struct kvm_vm *v, char *why, size_t size)
{
    struct kvm_sregs s;
    if (ioctl(v->vcpu, KVM_GET_SREGS, &s) < 0)
        return snprintf(why, size, "KVM_GET_SREGS failed: %s", strerror(errno)), false;
    s.cs = flat_segment(0x18 | 3, 0xb, true); /* execute/read, accessed */
    s.ds = s.es = s.fs = s.gs = s.ss = flat_segment(0x20 | 3, 0x3, false); /* read/write */
    s.idt.base = s.gdt.base = 0;
    s.idt.limit = s.gdt.limit = 0;
    s.cr0 = CR0_PE | CR0_ET | CR0_NE | CR0_PG;
    s.cr3 = PML4_GPA;
    s.cr4 = CR4_PAE;
    s.efer = EFER_LME | EFER_LMA;
    if (ioctl(v->vcpu, KVM_SET_SREGS, &s) < 0)
        return snprintf(why, size, "KVM_SET_SREGS (64-bit mode) failed: %s", strerror(errno)),
               false;
    return true;
}

static bool prepare_guest(struct kvm_vm *v, bool vmmcall, char *why, size_t size)
{
    write_page_tables(v->mem);
    for (int k = 0; k < LOOP_KINDS; k++)
        write_loop(v->mem, (enum loop_kind)k, vmmcall);
    open_hypercall_counter(v);
    return set_guest_cpuid(v, why, size) && set_guest_mode(v, why, size);
}

/* SIGALRM only interrupts KVM_RUN (EINTR) so that a guest that never exits is noticed. */
static void interrupt_only(int sig)
{
    (void)sig;
}

static void arm_watchdog(bool on)
{
    struct sigaction sa = {.sa_handler = on ? interrupt_only : SIG_DFL};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGALRM, &sa, NULL); /* no SA_RESTART: KVM_RUN must return */
    struct itimerval every = {.it_interval = {.tv_usec = on ? 200000 : 0},
                              .it_value = {.tv_usec = on ? 200000 : 0}};
    setitimer(ITIMER_REAL, &every, NULL);
}

static const char *exit_reason_name(uint32_t reason)
{
    switch (reason) {
    case KVM_EXIT_SHUTDOWN:
        return "KVM_EXIT_SHUTDOWN (the guest faulted)";
    case KVM_EXIT_INTERNAL_ERROR:
        return "KVM_EXIT_INTERNAL_ERROR";
    case KVM_EXIT_FAIL_ENTRY:
        return "KVM_EXIT_FAIL_ENTRY (the CPU refused the guest state)";
    case KVM_EXIT_HLT:
        return "KVM_EXIT_HLT";
    case KVM_EXIT_MMIO:
        return "KVM_EXIT_MMIO";
    case KVM_EXIT_IO:
        return "KVM_EXIT_IO on an unexpected port";
    default:
        return "an unexpected exit";
    }
}

/* Run the vcpu until the guest signals PORT_DONE, re-entering at once after each measured I/O
 * exit. Counts those exits; false with why set on anything else. */
static bool run_until_done(struct kvm_vm *v, uint64_t deadline_ns, unsigned long *io_exits,
                           char *why, size_t size)
{
    struct kvm_run *run = v->run;
    *io_exits = 0;
    for (;;) {
        if (ioctl(v->vcpu, KVM_RUN, 0) < 0) {
            if (errno == EINTR && now_ns() < deadline_ns)
                continue;
            return snprintf(why, size, "KVM_RUN: %s",
                            errno == EINTR ? "the guest did not finish in time" : strerror(errno)),
                   false;
        }
        bool is_out = run->exit_reason == KVM_EXIT_IO && run->io.direction == KVM_EXIT_IO_OUT;
        if (is_out && run->io.port == PORT_ROUND_TRIP) {
            ++*io_exits;
            continue;
        }
        if (is_out && run->io.port == PORT_DONE)
            return true;
        return snprintf(why, size, "the guest stopped with %s (exit reason %u)",
                        exit_reason_name(run->exit_reason), run->exit_reason),
               false;
    }
}

/* The registers after a loop show that each exit did what was meant: the counter ran out, KVM
 * answered the hypercall with an error code, and the CPUID answers were KVM's table. */
static bool check_guest_result(const struct kvm_regs *r, enum loop_kind k, unsigned long io_exits,
                               unsigned long n, char *why, size_t size)
{
    uint32_t sig[3];
    memcpy(sig, cpuid_signature, sizeof(sig));
    if ((uint32_t)r->rsi != 0)
        return snprintf(why, size, "the guest loop ended with %u round trips left",
                        (unsigned)r->rsi),
               false;
    if (io_exits != (k == LOOP_IO ? n : 0))
        return snprintf(why, size, "%lu I/O exits to user space instead of %lu", io_exits,
                        k == LOOP_IO ? n : 0),
               false;
    if (k == LOOP_HYPERCALL && r->rax != (uint64_t)-KVM_EPERM && r->rax != (uint64_t)-KVM_ENOSYS)
        return snprintf(why, size, "the hypercall returned 0x%llx, not -KVM_EPERM or -KVM_ENOSYS",
                        (unsigned long long)r->rax),
               false;
    if (k == LOOP_CPUID && (r->rbx != sig[0] || r->rcx != sig[1] || r->rdx != sig[2]))
        return snprintf(why, size, "cpuid did not return the vcpu's CPUID table (not an exit?)"),
               false;
    return true;
}

/* One run of one loop, timed from just before the first KVM_RUN to just after the last. */
static bool time_loop(struct kvm_vm *v, enum loop_kind k, unsigned long n, struct loop_timing *t,
                      char *why, size_t size)
{
    struct kvm_regs r = {.rip = CODE_GPA + (unsigned)k * LOOP_STRIDE,
                         .rsi = n,
                         .rsp = STACK_GPA,
                         .rflags = RFLAGS_FIXED | RFLAGS_IOPL3};
    if (ioctl(v->vcpu, KVM_SET_REGS, &r) < 0)
        return snprintf(why, size, "KVM_SET_REGS failed: %s", strerror(errno)), false;
    /* Generous: 200 us per round trip is ten times the slowest exit seen nested. */
    uint64_t deadline = now_ns() + 5000000000u + (uint64_t)n * 200000u;
    unsigned long io_exits;
    uint64_t hypercalls0 = read_hypercall_counter(v);
    uint64_t tsc0 = read_tsc(), ns0 = now_ns();
    bool ok = run_until_done(v, deadline, &io_exits, why, size);
    uint64_t ns1 = now_ns(), tsc1 = read_tsc();
    uint64_t hypercalls1 = read_hypercall_counter(v);
    if (!ok)
        return false;
    if (ioctl(v->vcpu, KVM_GET_REGS, &r) < 0)
        return snprintf(why, size, "KVM_GET_REGS failed: %s", strerror(errno)), false;
    bool counted = hypercalls0 != NOT_COUNTED && hypercalls1 != NOT_COUNTED;
    *t = (struct loop_timing){.tsc = tsc1 - tsc0,
                              .ns = ns1 - ns0,
                              .hypercalls = counted ? hypercalls1 - hypercalls0 : NOT_COUNTED};
    return check_guest_result(&r, k, io_exits, n, why, size);
}

static int compare_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static uint64_t median(uint64_t *v, size_t count)
{
    qsort(v, count, sizeof(*v), compare_u64);
    return v[count / 2];
}

/* Medians per kind, then per round trip with the empty loop's cost taken off. */
static void summarize(struct results *res, uint64_t tsc[LOOP_KINDS][REPEATS],
                      uint64_t ns[LOOP_KINDS][REPEATS])
{
    for (int k = 0; k < LOOP_KINDS; k++) {
        res->m[k].median_tsc = median(tsc[k], REPEATS);
        res->m[k].median_ns = median(ns[k], REPEATS);
    }
    const struct measurement *empty = &res->m[LOOP_EMPTY];
    for (int k = 0; k < LOOP_KINDS; k++) {
        struct measurement *m = &res->m[k];
        double base_tsc = k == LOOP_EMPTY ? 0 : (double)empty->median_tsc;
        double base_ns = k == LOOP_EMPTY ? 0 : (double)empty->median_ns;
        m->cycles_each = ((double)m->median_tsc - base_tsc) / (double)res->n;
        m->ns_each = ((double)m->median_ns - base_ns) / (double)res->n;
    }
}

/* Warm-up, then REPEATS rounds of every kind. false with why set if a loop fails. */
static bool measure_all(struct kvm_vm *v, struct results *res, char *why, size_t size)
{
    uint64_t tsc[LOOP_KINDS][REPEATS], ns[LOOP_KINDS][REPEATS];
    struct loop_timing t = {0, 0, NOT_COUNTED};
    bool ok = true;
    arm_watchdog(true);
    for (int k = 0; k < LOOP_KINDS && ok; k++)
        ok = time_loop(v, (enum loop_kind)k, res->n < WARMUP_N ? res->n : WARMUP_N, &t, why, size);
    for (int r = 0; r < REPEATS && ok; r++)
        for (int k = 0; k < LOOP_KINDS && ok; k++) {
            ok = time_loop(v, (enum loop_kind)k, res->n, &t, why, size);
            tsc[k][r] = t.tsc;
            ns[k][r] = t.ns;
            if (k == LOOP_HYPERCALL)
                res->hypercall_answered_by = t.hypercalls == NOT_COUNTED ? BY_UNKNOWN
                                             : t.hypercalls >= res->n    ? BY_THIS_KVM
                                                                         : BY_OUTER_HYPERVISOR;
        }
    arm_watchdog(false);
    if (ok)
        summarize(res, tsc, ns);
    return ok;
}

/* ---- the profile ------------------------------------------------------------------------ */

/* The base profile's cost sections as written, in file order ([profile] is replaced). */
#define MAX_SECTIONS 64

struct base_section {
    char name[48];
    char value[32], unit[16], confidence[4];
    char source[512];
};

struct base_profile {
    struct base_section s[MAX_SECTIONS];
    unsigned count;
    bool in_profile; /* inside [profile], whose keys are not copied */
};

static bool base_on_section(struct inifile *f, void *user, const char *name)
{
    struct base_profile *b = user;
    b->in_profile = !strcmp(name, "profile");
    if (b->in_profile)
        return true;
    if (b->count == MAX_SECTIONS || strlen(name) >= sizeof(b->s[0].name))
        return inifile_fail(f, "too many sections, or a section name too long");
    snprintf(b->s[b->count++].name, sizeof(b->s[0].name), "%s", name);
    return true;
}

static bool copy_key(struct inifile *f, char *dst, size_t size, const char *key, const char *v)
{
    if (strlen(v) >= size)
        return inifile_fail(f, "%s is too long", key);
    snprintf(dst, size, "%s", v);
    return true;
}

static bool base_on_key(struct inifile *f, void *user, const char *key, const char *value)
{
    struct base_profile *b = user;
    if (b->in_profile)
        return true;
    if (!b->count)
        return inifile_fail(f, "'%s' outside any section", key);
    struct base_section *s = &b->s[b->count - 1];
    if (!strcmp(key, "value"))
        return copy_key(f, s->value, sizeof(s->value), key, value);
    if (!strcmp(key, "unit"))
        return copy_key(f, s->unit, sizeof(s->unit), key, value);
    if (!strcmp(key, "confidence"))
        return copy_key(f, s->confidence, sizeof(s->confidence), key, value);
    if (!strcmp(key, "source"))
        return copy_key(f, s->source, sizeof(s->source), key, value);
    return inifile_fail(f, "unknown key '%s'", key);
}

/* NAME -> EVSIM_PROFILE_DIR/NAME.ini; a path (with '/' or ending in .ini) is taken as it is,
 * as evsim's --cpu does. */
static void base_path(const char *base, char *path, size_t size)
{
    size_t n = strlen(base);
    if (strchr(base, '/') || (n > 4 && !strcmp(base + n - 4, ".ini")))
        snprintf(path, size, "%s", base);
    else
        snprintf(path, size, "%s/%s.ini", EVSIM_PROFILE_DIR, base);
}

/* The base's name for the "from <base>: " prefix: the file name without directory or .ini. */
static void base_label(const char *base, char *label, size_t size)
{
    const char *slash = strrchr(base, '/');
    const char *name = slash ? slash + 1 : base;
    size_t n = strlen(name);
    if (n > 4 && !strcmp(name + n - 4, ".ini"))
        n -= 4;
    snprintf(label, size, "%.*s", (int)n, name);
}

/* What the written profile needs from the base: every section complete, room for the "from
 * <base>: " prefix within evsim's 511-character sources, and an [hvm_exit] to replace. */
static bool check_base(const char *path, const struct base_profile *b)
{
    bool have_hvm_exit = false;
    for (unsigned i = 0; i < b->count; i++) {
        const struct base_section *s = &b->s[i];
        have_hvm_exit |= !strcmp(s->name, "hvm_exit");
        if (!s->value[0] || !s->unit[0] || !s->confidence[0] || !s->source[0]) {
            fprintf(stderr, "kvm-calibrate: %s: [%s] lacks a key\n", path, s->name);
            return false;
        }
        if (strlen(s->source) + sizeof("from : ") + 64 > 511) {
            fprintf(stderr, "kvm-calibrate: %s: [%s] source too long to prefix\n", path, s->name);
            return false;
        }
    }
    if (!have_hvm_exit)
        fprintf(stderr, "kvm-calibrate: %s has no [hvm_exit] to replace\n", path);
    return have_hvm_exit;
}

static bool load_base(const char *base, struct base_profile *b)
{
    char path[1024];
    base_path(base, path, sizeof(path));
    FILE *file = fopen(path, "r");
    if (!file) {
        fprintf(stderr, "kvm-calibrate: cannot open base profile %s: %s\n", path, strerror(errno));
        return false;
    }
    struct diag d = {{0}};
    memset(b, 0, sizeof(*b));
    struct inifile f = {.name = path,
                        .d = &d,
                        .section = base_on_section,
                        .key = base_on_key,
                        .user = b,
                        .file = file};
    int rc = inifile_parse(&f);
    fclose(file);
    if (rc < 0) {
        fprintf(stderr, "kvm-calibrate: %s\n", d.msg);
        return false;
    }
    return check_base(path, b);
}

static void today_utc(char *out, size_t size)
{
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(out, size, "%Y-%m-%d", &tm);
}

/* The command as typed, for the profile's sources. */
static void command_line(int argc, char **argv, char *out, size_t size)
{
    size_t used = (size_t)snprintf(out, size, "kvm-calibrate");
    for (int i = 1; i < argc && used < size; i++)
        used += (size_t)snprintf(out + used, size - used, " %s", argv[i]);
}

/* Everything the written profile says about where its numbers came from. */
struct provenance {
    const struct host_info *host;
    char label[64]; /* the base's name */
    char command[256];
    char date[16];
};

/* The loop whose figure becomes hvm_exit: the hypercall, unless this KVM did not answer it;
 * then cpuid, which the CPUID signature check proves this KVM answered. */
static enum loop_kind hvm_exit_loop(const struct results *res)
{
    return res->hypercall_answered_by == BY_OUTER_HYPERVISOR ? LOOP_CPUID : LOOP_HYPERCALL;
}

static void write_header(FILE *out, const struct results *res, const struct provenance *p)
{
    const struct host_info *h = p->host;
    fprintf(out, "# Measured by bench/kvm-calibrate on host %s, %s: `%s`\n", h->hostname, p->date,
            p->command);
    fprintf(out, "# %s; %s\n", h->cpu_model, h->nesting);
    fprintf(out,
            "# Median of %d loops of %lu round trips each, minus the same loop without the "
            "exit (host TSC cycles):\n",
            REPEATS, res->n);
    for (int k = LOOP_IO; k < LOOP_KINDS; k++)
        fprintf(out, "#   %-42s %10.0f cycles  %9.0f ns\n", loop_name(res, (enum loop_kind)k),
                res->m[k].cycles_each, res->m[k].ns_each);
    fprintf(out, "# hvm_exit is the \"%s\" row; every other constant is copied from %s.\n",
            loop_name(res, hvm_exit_loop(res)), p->label);
    fprintf(out, "[profile]\n");
    fprintf(out, "cpu = %.60s (measured by kvm-calibrate, %s)\n", h->cpu_model, h->nesting_tag);
    fprintf(out, "clock_mhz = %.0f\n", res->tsc_mhz);
    fprintf(out,
            "clock_source = TSC ticks counted against CLOCK_MONOTONIC over 100 ms by "
            "kvm-calibrate on %s: %.2f MHz%s\n",
            p->date, res->tsc_mhz,
            h->constant_tsc ? " (constant_tsc, nonstop_tsc)"
                            : " (no constant_tsc flag: the "
                              "TSC rate may vary)");
}

/* How the hvm_exit loop ran, for its source: the instruction, what it asked, who answered. */
static void describe_hvm_exit_loop(const struct results *res, char *out, size_t size)
{
    const char *insn = res->hypercall_vmmcall ? "vmmcall" : "vmcall";
    if (hvm_exit_loop(res) == LOOP_CPUID)
        snprintf(out, size,
                 "cpuid (leaf 0x%x, from the vcpu's CPUID table) at CPL 3 in a 64-bit KVM guest "
                 "(loop: mov eax, leaf; cpuid; dec esi; jnz), answered by this host's KVM; not %s, "
                 "which the outer hypervisor answered (%.0f cycles)",
                 CPUID_LEAF, insn, res->m[LOOP_HYPERCALL].cycles_each);
    else
        snprintf(out, size,
                 "%s with an unknown hypercall number at CPL 3 in a 64-bit KVM guest (loop: mov "
                 "eax, nr; %s; dec esi; jnz), answered by KVM in the kernel%s",
                 insn, insn,
                 res->hypercall_answered_by == BY_UNKNOWN ? " (no KVM statistics to confirm it)"
                                                          : "");
}

/* The source must stay under evsim's 511 characters: without the command if need be (the
 * file's header comments have it too). */
static void write_measured_hvm_exit(FILE *out, const struct results *res,
                                    const struct provenance *p)
{
    const struct measurement *m = &res->m[hvm_exit_loop(res)];
    char loop[320], source[1024];
    describe_hvm_exit_loop(res, loop, sizeof(loop));
    const char *fmt = "measured by `%.120s` on %.40s, %s (%s): %s; median of %d loops of %lu minus "
                      "the loop without the exit; host TSC cycles, %.0f ns";
    snprintf(source, sizeof(source), fmt, p->command, p->host->hostname, p->date,
             p->host->nesting_tag, loop, REPEATS, res->n, m->ns_each);
    if (strlen(source) > 510)
        snprintf(source, sizeof(source), fmt, "kvm-calibrate", p->host->hostname, p->date,
                 p->host->nesting_tag, loop, REPEATS, res->n, m->ns_each);
    fprintf(out, "\n[hvm_exit]\nvalue = %.0f\nunit = cycles\nconfidence = M\nsource = %.510s\n",
            m->cycles_each, source);
}

static void write_copied_section(FILE *out, const struct base_section *s, const char *label)
{
    fprintf(out, "\n[%s]\nvalue = %s\nunit = %s\nconfidence = %s\nsource = from %s: %s\n", s->name,
            s->value, s->unit, s->confidence, label, s->source);
}

/* The base's sections in its order, [hvm_exit] replaced (load_base checked it is there). */
static bool write_profile(const char *path, const struct base_profile *b, const struct results *res,
                          const struct provenance *p)
{
    FILE *out = fopen(path, "w");
    if (!out) {
        fprintf(stderr, "kvm-calibrate: cannot write %s: %s\n", path, strerror(errno));
        return false;
    }
    struct stat st;
    bool regular = fstat(fileno(out), &st) == 0 && S_ISREG(st.st_mode);
    write_header(out, res, p);
    for (unsigned i = 0; i < b->count; i++) {
        if (!strcmp(b->s[i].name, "hvm_exit"))
            write_measured_hvm_exit(out, res, p);
        else
            write_copied_section(out, &b->s[i], p->label);
    }
    bool failed = ferror(out) != 0;
    if (fclose(out) != 0 || failed) {
        fprintf(stderr, "kvm-calibrate: writing %s failed\n", path);
        if (regular) /* never leave half a profile behind, but never remove a device */
            remove(path);
        return false;
    }
    return true;
}

/* ---- output ----------------------------------------------------------------------------- */

static void print_table(const struct results *res, const struct host_info *h)
{
    printf("kvm-calibrate: %s, TSC %.1f MHz; %s\n", h->cpu_model, res->tsc_mhz, h->nesting);
    printf("median of %d runs; the loop without an exit is subtracted from the others\n\n",
           REPEATS);
    printf("%-42s %12s %12s %10s\n", "kind", "round trips", "cycles each", "ns each");
    for (int k = 0; k < LOOP_KINDS; k++)
        printf("%-42s %12lu %12.1f %10.1f\n", loop_name(res, (enum loop_kind)k), res->n,
               res->m[k].cycles_each, res->m[k].ns_each);
    if (res->hypercall_answered_by == BY_OUTER_HYPERVISOR)
        printf("\nthis KVM counted none of the hypercalls: the outer hypervisor answered them, so "
               "hvm_exit is the cpuid exit\n");
}

static void default_out_path(const struct host_info *h, char *path, size_t size)
{
    snprintf(path, size, "kvm-measured-%s.ini", h->hostname);
}

/* Print the table and write the profile if asked (base is NULL with --no-write); returns the
 * exit status. */
static int finish(const struct options *o, const struct base_profile *base,
                  const struct results *res, const struct host_info *h, int argc, char **argv)
{
    print_table(res, h);
    if (!base)
        return 0;
    struct provenance p = {.host = h};
    base_label(o->base, p.label, sizeof(p.label));
    command_line(argc, argv, p.command, sizeof(p.command));
    today_utc(p.date, sizeof(p.date));
    char path[1024];
    if (o->out)
        snprintf(path, sizeof(path), "%s", o->out);
    else
        default_out_path(h, path, sizeof(path));
    if (!write_profile(path, base, res, &p))
        return EXIT_FAILED;
    printf("\nprofile written: %s (hvm_exit = %.0f cycles, M; the rest from %s)\n", path,
           res->m[hvm_exit_loop(res)].cycles_each, p.label);
    return 0;
}

/* Measure, then finish; KVM being unusable is reported in one line and is not a failure. */
static int calibrate(const struct options *o, const struct base_profile *base, int argc,
                     char **argv)
{
    struct host_info host;
    read_host_info(&host);
    struct results res = {
        .n = o->n, .hypercall_vmmcall = host.amd, .hypercall_answered_by = BY_UNKNOWN};
    struct kvm_vm vm;
    char why[512];
    if (!open_vm(&vm, why, sizeof(why)) || !prepare_guest(&vm, host.amd, why, sizeof(why))) {
        printf("kvm-calibrate: KVM not usable here, nothing measured: %s\n", why);
        close_vm(&vm);
        return o->unusable_status;
    }
    res.tsc_mhz = measure_tsc_mhz();
    bool ok = measure_all(&vm, &res, why, sizeof(why));
    close_vm(&vm);
    if (!ok) {
        printf("kvm-calibrate: KVM cannot run the calibration guest here, nothing measured: %s\n",
               why);
        return o->unusable_status;
    }
    return finish(o, base, &res, &host, argc, argv);
}

int main(int argc, char **argv)
{
    struct options o;
    int rc = parse_options(argc, argv, &o);
    if (rc)
        return rc == 1 ? 0 : rc;
    /* The base profile is read first: a bad --base is a bad flag, found before seconds of
     * measuring rather than after. */
    struct base_profile *base = NULL;
    if (o.write) {
        base = calloc(1, sizeof(*base)); /* about 40 KB */
        if (!base || !load_base(o.base, base)) {
            free(base);
            return EXIT_USAGE;
        }
    }
    rc = calibrate(&o, base, argc, argv);
    free(base);
    return rc;
}

#else /* not x86-64 */

int main(int argc, char **argv)
{
    struct options o;
    int rc = parse_options(argc, argv, &o);
    if (rc)
        return rc == 1 ? 0 : rc;
    printf("kvm-calibrate: not an x86-64 host, nothing measured (the guest loops are x86)\n");
    return o.unusable_status;
}

#endif
