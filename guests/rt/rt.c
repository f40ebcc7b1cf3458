/*
 * evsim guest runtime: boot, command line, vcpus, exit, string helpers.
 */
#include "rt.h"
#include "rt_internal.h"

start_info_t *rt_start_info;
shared_info_t *rt_shared;
unsigned int rt_domid;

/* ---- command line ----------------------------------------------------- */

#define MAX_ARGS 32
static char cmdline[MAX_GUEST_CMDLINE];
static struct {
    const char *key, *value;
} args[MAX_ARGS];
static unsigned int nr_args;

/* Split a copy of the command line into key=value words (a word without '='
 * has an empty value). */
static void parse_cmdline(const char *src)
{
    size_t n = 0;
    while (n + 1 < sizeof(cmdline) && src[n] != '\0') {
        cmdline[n] = src[n];
        n++;
    }
    cmdline[n] = '\0';

    char *p = cmdline;
    while (*p != '\0' && nr_args < MAX_ARGS) {
        while (*p == ' ' || *p == '\t')
            *p++ = '\0';
        if (*p == '\0')
            break;
        char *eq = NULL;
        args[nr_args].key = p;
        args[nr_args].value = "";
        while (*p != '\0' && *p != ' ' && *p != '\t') {
            if (*p == '=' && eq == NULL)
                eq = p;
            p++;
        }
        if (eq != NULL) {
            *eq = '\0';
            args[nr_args].value = eq + 1;
        }
        nr_args++;
    }
}

const char *rt_arg_str(const char *key, const char *def)
{
    /* The last occurrence wins, so a scenario can override a default. */
    const char *v = def;
    for (unsigned int i = 0; i < nr_args; i++)
        if (strcmp(args[i].key, key) == 0)
            v = args[i].value;
    return v;
}

bool rt_arg_is(const char *key, const char *value)
{
    const char *v = rt_arg_str(key, NULL);
    return v != NULL && strcmp(v, value) == 0;
}

uint64_t rt_arg_u64(const char *key, uint64_t def)
{
    const char *s = rt_arg_str(key, NULL);
    if (s == NULL || *s == '\0')
        return def;
    unsigned int base = 10;
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        s += 2;
    }
    uint64_t v = 0;
    for (; *s != '\0'; s++) {
        unsigned int d;
        if (*s >= '0' && *s <= '9')
            d = (unsigned int)(*s - '0');
        else if (base == 16 && *s >= 'a' && *s <= 'f')
            d = (unsigned int)(*s - 'a' + 10);
        else if (base == 16 && *s >= 'A' && *s <= 'F')
            d = (unsigned int)(*s - 'A' + 10);
        else
            rt_panic("bad number for %s: %s", key, rt_arg_str(key, ""));
        v = v * base + d;
    }
    return v;
}

/* ---- memory: a bump allocator over the RAM after the image -------------- */

extern char _end[]; /* guest.ld: the end of .bss */

static uintptr_t heap_next, heap_end;

static uintptr_t page_up(uintptr_t a)
{
    return (a + RT_PAGE_SIZE - 1) & ~(uintptr_t)(RT_PAGE_SIZE - 1);
}

static uintptr_t max_addr(uintptr_t a, uintptr_t b)
{
    return a > b ? a : b;
}

/* Free RAM starts after the image and what the domain builder put after it: start_info (and,
 * on a real Xen, the bootstrap page tables). The builder's boot stack lies there too; nothing
 * uses it once _start has switched to rt_stacks. It ends at nr_pages, or at shared_info if
 * that is mapped inside RAM. */
static void heap_init(const start_info_t *si)
{
    uintptr_t start = page_up((uintptr_t)_end);
    start = max_addr(start, page_up((uintptr_t)si + sizeof(*si)));
    if (si->nr_pt_frames != 0)
        start = max_addr(start, page_up(si->pt_base + si->nr_pt_frames * RT_PAGE_SIZE));
    uintptr_t end = (uintptr_t)si->nr_pages * RT_PAGE_SIZE;
    if (si->shared_info >= start && si->shared_info < end)
        end = si->shared_info;
    heap_next = start;
    heap_end = end > start ? end : start;
}

void *rt_alloc_pages(unsigned int n)
{
    uintptr_t size = (uintptr_t)n * RT_PAGE_SIZE;
    uintptr_t p = __atomic_load_n(&heap_next, __ATOMIC_RELAXED);
    do {
        if (n == 0 || size > heap_end - p)
            rt_panic("rt_alloc_pages(%u): out of memory (%lu pages left of RAM's %lu; give the "
                     "domain more memory)",
                     n, (unsigned long)((heap_end - p) / RT_PAGE_SIZE),
                     (unsigned long)rt_start_info->nr_pages);
    } while (!__atomic_compare_exchange_n(&heap_next, &p, p + size, false, __ATOMIC_RELAXED,
                                          __ATOMIC_RELAXED));
    /* Zeroed here: the runtime does not count on the builder's zeroed RAM. */
    rt_fill64((void *)p, 0, size / sizeof(uint64_t));
    return (void *)p;
}

/* ---- boot ---------------------------------------------------------------- */

/* Called from _start on vcpu 0's stack. */
__attribute__((noreturn)) void rt_start(start_info_t *si)
{
    rt_start_info = si;
    if (si == NULL || strncmp(si->magic, "xen-3.0-x86_64", 14) != 0)
        rt_panic("bad start_info magic");
    rt_shared = (shared_info_t *)si->shared_info;
    parse_cmdline((const char *)si->cmd_line);
    rt_domid = (unsigned int)rt_arg_u64("domid", 0);
    heap_init(si);
    if (rt_hvm_detect())
        rt_hvm_map_shared_info();

    /* abi=: mask all ports (like Linux and mini-os), callback on vcpu 0, the
     * ABI's registration, events enabled */
    rt_events_init();

    int rc = main();
    rt_exit(rc == 0 ? SHUTDOWN_poweroff : SHUTDOWN_crash);
}

/* ---- vcpus ---------------------------------------------------------------- */

extern char rt_stacks[RT_STATIC_VCPUS][RT_STACK_SIZE]; /* head.S */
extern char rt_secondary_entry[];                      /* head.S */

static struct {
    void (*fn)(void *);
    void *arg;
} vcpu_start[RT_MAX_VCPUS];

#if RT_MAX_VCPUS > RT_STATIC_VCPUS
#define EXTRA_VCPUS (RT_MAX_VCPUS - RT_STATIC_VCPUS)
/* The stacks of vcpus RT_STATIC_VCPUS.., side by side as in rt_stacks, in
 * pages allocated when the first of those vcpus is started. */
static char (*extra_stacks)[RT_STACK_SIZE];

unsigned int rt_vcpu_id(void)
{
    uintptr_t sp;
    __asm__("mov %%rsp, %0" : "=r"(sp));
    uintptr_t base = (uintptr_t)rt_stacks;
    if (sp > base && sp <= base + sizeof(rt_stacks))
        return (unsigned int)((sp - base - 1) / RT_STACK_SIZE);
    base = (uintptr_t)__atomic_load_n(&extra_stacks, __ATOMIC_ACQUIRE);
    if (base == 0 || sp <= base || sp > base + (uintptr_t)EXTRA_VCPUS * RT_STACK_SIZE)
        return 0; /* not on one of our stacks (early boot) */
    return RT_STATIC_VCPUS + (unsigned int)((sp - base - 1) / RT_STACK_SIZE);
}

static uintptr_t stack_top(unsigned int id)
{
    if (id < RT_STATIC_VCPUS)
        return (uintptr_t)rt_stacks[id] + RT_STACK_SIZE;
    if (extra_stacks == NULL)
        __atomic_store_n(&extra_stacks, rt_alloc_pages(EXTRA_VCPUS * RT_STACK_SIZE / RT_PAGE_SIZE),
                         __ATOMIC_RELEASE);
    return (uintptr_t)extra_stacks[id - RT_STATIC_VCPUS] + RT_STACK_SIZE;
}
#else
unsigned int rt_vcpu_id(void)
{
    uintptr_t sp;
    __asm__("mov %%rsp, %0" : "=r"(sp));
    uintptr_t base = (uintptr_t)rt_stacks;
    if (sp <= base || sp > base + sizeof(rt_stacks))
        return 0; /* not on one of our stacks (early boot) */
    return (unsigned int)((sp - base - 1) / RT_STACK_SIZE);
}

static uintptr_t stack_top(unsigned int id)
{
    return (uintptr_t)rt_stacks[id] + RT_STACK_SIZE;
}
#endif

#if RT_MAX_VCPUS > XEN_LEGACY_MAX_VCPUS
struct vcpu_info *rt_vcpu_info_hi;

/* Vcpus beyond shared_info's legacy slots get their vcpu_info in a page of
 * ours, vcpu v at slot v - XEN_LEGACY_MAX_VCPUS (Linux registers every vcpu's,
 * in its per-cpu data).  Xen refuses VCPUOP_initialise until there is one.
 * Xen starts it zeroed with events masked, then marks everything pending: the
 * vcpu's first upcall scans once for nothing. */
static void register_vcpu_info(unsigned int id)
{
    static bool registered[RT_MAX_VCPUS];
    if (id < XEN_LEGACY_MAX_VCPUS || registered[id])
        return;
    if (rt_vcpu_info_hi == NULL)
        rt_vcpu_info_hi = rt_alloc_pages(1); /* a page of its own: Xen shares it */
    uintptr_t addr = (uintptr_t)&rt_vcpu_info_hi[id - XEN_LEGACY_MAX_VCPUS];
    struct vcpu_register_vcpu_info info = {
        .mfn = addr / RT_PAGE_SIZE,
        .offset = (uint32_t)(addr % RT_PAGE_SIZE),
    };
    rt_check(HYPERVISOR_vcpu_op(VCPUOP_register_vcpu_info, id, &info),
             "VCPUOP_register_vcpu_info(vcpu %u)", id);
    registered[id] = true;
}
#else
static void register_vcpu_info(unsigned int id)
{
    (void)id;
}
#endif

struct vcpu_info *rt_vcpu_info(void)
{
#if RT_MAX_VCPUS > XEN_LEGACY_MAX_VCPUS
    return rt_vcpu_info_of(rt_vcpu_id());
#else
    /* rt_vcpu_info_of(rt_vcpu_id()) as it was written before: GCC orders the
     * loads of that form differently, and the default runtime's code (whose
     * instruction counts the golden tests hold) is kept as it was. */
    return &rt_shared->vcpu_info[rt_vcpu_id()];
#endif
}

/* Called from rt_secondary_entry on the new vcpu's own stack. */
__attribute__((noreturn)) void rt_secondary_start(void)
{
    unsigned int id = rt_vcpu_id();
    rt_events_init_vcpu();
    vcpu_start[id].fn(vcpu_start[id].arg);

    /* Done: take this vcpu down.  If that is not supported, idle. */
    HYPERVISOR_vcpu_op(VCPUOP_down, id, NULL);
    for (;;)
        HYPERVISOR_sched_op(SCHEDOP_block, NULL);
}

void rt_start_vcpu(unsigned int id, void (*fn)(void *), void *arg)
{
    static struct vcpu_guest_context ctxt; /* ~5 KiB: keep it off the stack */

    if (id == 0 || id >= RT_MAX_VCPUS)
        rt_panic("rt_start_vcpu: bad vcpu id %u", id);
    vcpu_start[id].fn = fn;
    vcpu_start[id].arg = arg;

    uintptr_t top = stack_top(id);
    memset(&ctxt, 0, sizeof(ctxt));
    ctxt.flags = VGCF_in_kernel | VGCF_online;
    ctxt.user_regs.rip = (uintptr_t)rt_secondary_entry;
    ctxt.user_regs.rsp = top;
    ctxt.user_regs.rdi = id;
    ctxt.user_regs.cs = FLAT_KERNEL_CS;
    ctxt.user_regs.ss = FLAT_KERNEL_SS;
    ctxt.user_regs.rflags = 0x2; /* the always-one bit */
    ctxt.kernel_ss = FLAT_KERNEL_SS;
    ctxt.kernel_sp = top;
    ctxt.event_callback_eip = (uintptr_t)rt_events_entry();

    /* An HVM vcpu starts from an HVM context: 64-bit mode (paging, PAE, long mode on). */
    vcpu_hvm_context_t hctx = {.mode = VCPU_HVM_MODE_64B};
    hctx.cpu_regs.x86_64 = (struct vcpu_hvm_x86_64){.rip = (uintptr_t)rt_secondary_entry,
                                                    .rsp = top,
                                                    .rdi = id,
                                                    .rflags = 0x2,
                                                    .cr0 = 0x80000001u, /* PG, PE */
                                                    .cr4 = 0x20u,       /* PAE */
                                                    .efer = 0x500u};    /* LME, LMA */

    register_vcpu_info(id); /* first: Xen needs it to initialise the vcpu */
    rt_check(HYPERVISOR_vcpu_op(VCPUOP_initialise, id, rt_hvm ? (void *)&hctx : (void *)&ctxt),
             "VCPUOP_initialise(vcpu %u)", id);
    rt_events_setup_vcpu(id); /* FIFO control block, 3-level L2 selector */
    rt_check(HYPERVISOR_vcpu_op(VCPUOP_up, id, NULL), "VCPUOP_up(vcpu %u)", id);
}

/* ---- ending ------------------------------------------------------------- */

void rt_exit(unsigned int reason)
{
    struct sched_shutdown sd = {.reason = reason};
    for (;;)
        HYPERVISOR_sched_op(SCHEDOP_shutdown, &sd);
}

void rt_panic(const char *fmt, ...)
{
    char buf[200];
    va_list ap;
    va_start(ap, fmt);
    rt_vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    rt_printf("PANIC: %s\n", buf);
    rt_exit(SHUTDOWN_crash);
}

const char *rt_strerror(long rc)
{
    switch (-rc) {
    case 0:
        return "ok";
    case XEN_EPERM:
        return "EPERM";
    case XEN_ENOENT:
        return "ENOENT";
    case XEN_ESRCH:
        return "ESRCH";
    case XEN_EAGAIN:
        return "EAGAIN";
    case XEN_ENOMEM:
        return "ENOMEM";
    case XEN_EFAULT:
        return "EFAULT";
    case XEN_EBUSY:
        return "EBUSY";
    case XEN_EEXIST:
        return "EEXIST";
    case XEN_EINVAL:
        return "EINVAL";
    case XEN_ENOSPC:
        return "ENOSPC";
    case XEN_ENOSYS:
        return "ENOSYS";
    case XEN_EOPNOTSUPP:
        return "EOPNOTSUPP";
    default:
        return "?";
    }
}

long rt_check(long rc, const char *what, ...)
{
    if (rc < 0) {
        char buf[120];
        va_list ap;
        va_start(ap, what);
        rt_vsnprintf(buf, sizeof(buf), what, ap);
        va_end(ap);
        rt_panic("%s failed: %ld (%s)", buf, rc, rt_strerror(rc));
    }
    return rc;
}

/* ---- string helpers (the compiler may also call these) --------------- */

void *memset(void *d, int c, size_t n)
{
    unsigned char *p = d;
    while (n--)
        *p++ = (unsigned char)c;
    return d;
}

void *memcpy(void *d, const void *s, size_t n)
{
    unsigned char *p = d;
    const unsigned char *q = s;
    while (n--)
        *p++ = *q++;
    return d;
}

void *memmove(void *d, const void *s, size_t n)
{
    unsigned char *p = d;
    const unsigned char *q = s;
    if (p < q) {
        while (n--)
            *p++ = *q++;
    } else {
        while (n--)
            p[n] = q[n];
    }
    return d;
}

int memcmp(const void *a, const void *b, size_t n)
{
    const unsigned char *p = a, *q = b;
    for (; n; n--, p++, q++)
        if (*p != *q)
            return *p - *q;
    return 0;
}

size_t strlen(const char *s)
{
    size_t n = 0;
    while (s[n] != '\0')
        n++;
    return n;
}

int strncmp(const char *a, const char *b, size_t n)
{
    for (; n; n--, a++, b++) {
        if (*a != *b)
            return (unsigned char)*a - (unsigned char)*b;
        if (*a == '\0')
            break;
    }
    return 0;
}

int strcmp(const char *a, const char *b)
{
    return strncmp(a, b, (size_t)-1);
}
