/* HYPERVISOR_console_io (xen/drivers/char/console.c) and HYPERVISOR_xen_version
 * (xen/common/kernel.c). */
#include <stdio.h>
#include <string.h>

#include "models/hypercall.h"
#include "models/loglvl.h"
#include "models/hv_sink.h"

/* ---- console_io ---- */

/* printk's rate limit, __printk_ratelimit(5000 ms, burst 10): a token bucket in Xen's time,
 * shared by every domain. Each message takes 5000 tokens; one token comes back per ms, at most
 * ten messages' worth. A message let through after some were held back is preceded by Xen's
 * "printk: N messages suppressed." */
#define PRINTK_RATELIMIT_MS 5000u
#define PRINTK_RATELIMIT_BURST 10u

static bool printk_ratelimit(struct vcpu *v)
{
    struct hv_console *c = &v->domain->hv->console;
    uint64_t ms = vcpu_now_ns(v) / 1000000;
    char line[64];

    c->toks += ms - c->last_ms;
    c->last_ms = ms;
    if (c->toks > PRINTK_RATELIMIT_BURST * PRINTK_RATELIMIT_MS)
        c->toks = PRINTK_RATELIMIT_BURST * PRINTK_RATELIMIT_MS;
    if (c->toks < PRINTK_RATELIMIT_MS) {
        c->missed++;
        return false;
    }
    c->toks -= PRINTK_RATELIMIT_MS;
    if (c->missed) {
        snprintf(line, sizeof(line), "printk: %u messages suppressed.", c->missed);
        sink_xen_line(v->domain, line);
    }
    c->missed = 0;
    return true;
}

/* guest_printk(d, XENLOG_G_DEBUG ...): printed, held back by the rate limit, or discarded by
 * guest_loglvl; counted either way. */
static void guest_printk_line(struct vcpu *v, const char *text, size_t len)
{
    const struct hv_console *c = &v->domain->hv->console;
    struct limit_stats *st = &v->domain->stats.limits;

    if (CONSOLE_LOG_GUEST_LINE >= c->upper) {
        st->console_discarded++;
        return;
    }
    if (CONSOLE_LOG_GUEST_LINE >= c->lower && !printk_ratelimit(v)) {
        st->console_suppressed++;
        return;
    }
    st->console_lines++;
    sink_console(v, text, len);
}

/* Xen's isprint is Latin-1's: 0x20-0x7e and 0xa0-0xff. */
static bool is_console_printable(unsigned char c)
{
    return (c >= 0x20 && c < 0x7f) || c >= 0xa0 || c == '\n' || c == '\t';
}

/* One chunk of a domain other than the hardware domain (guest_console_write's else branch):
 * up to the first newline, non-printable bytes stripped, gathered in the domain's buffer; a
 * newline, or a buffer that would fill, ends the line. Returns the bytes consumed. */
static unsigned console_gather(struct vcpu *v, const char *chunk, unsigned count)
{
    struct domain *d = v->domain;
    char kbuf[CONSOLE_CHUNK + 1];
    unsigned in = 0, out = 0;
    char c = 0;

    do {
        c = chunk[in++];
        if (c == '\n')
            break;
        if (is_console_printable((unsigned char)c))
            kbuf[out++] = c;
    } while (in < count);
    if (c != '\n' && d->console.idx + out < sizeof(d->console.buf) - 1) {
        memcpy(d->console.buf + d->console.idx, kbuf, out);
        d->console.idx += out;
        return in;
    }
    /* "%s%s\n": what was gathered, then this chunk's text: the line may exceed the buffer. */
    char line[sizeof(d->console.buf) + CONSOLE_CHUNK + 1];
    memcpy(line, d->console.buf, d->console.idx);
    memcpy(line + d->console.idx, kbuf, out);
    line[d->console.idx + out] = '\n';
    guest_printk_line(v, line, d->console.idx + out + 1);
    d->console.idx = 0;
    return in;
}

/* Xen's guest_console_write: the text is copied in chunks of at most 127 bytes; between two
 * chunks the call may be preempted (an event to take), and the guest re-issues it for what is
 * left (the continuation's count and buffer). The hardware domain's text goes out as it is
 * (its console may be interactive); any other domain's goes through console_gather. */
static long console_write(struct vcpu *v, unsigned *count, uint64_t *buf_gpa)
{
    unsigned kcount = 0;

    while (*count > 0) {
        if (kcount && hypercall_preempt_check(v)) {
            v->hcall_continuation = true;
            return 0;
        }
        kcount = *count < CONSOLE_CHUNK ? *count : CONSOLE_CHUNK;
        const char *chunk = guest_ptr(v->domain, *buf_gpa, kcount);
        if (!chunk)
            return -XEN_EFAULT;
        if (v->domain->domid == 0)
            sink_console(v, chunk, kcount);
        else
            kcount = console_gather(v, chunk, kcount);
        *buf_gpa += kcount;
        *count -= kcount;
    }
    return 0;
}

/* Reading Xen's console ring is for the control domain; the model's ring is always empty. */
static long console_read(struct vcpu *v, unsigned *count, uint64_t *buf_gpa)
{
    (void)count;
    (void)buf_gpa;
    return v->domain->privileged ? 0 : -XEN_EPERM;
}

#define CONSOLE_OPS(X)                                                                             \
    X(write, console_write)                                                                        \
    X(read, console_read)

static long (*const console_io_table[])(struct vcpu *, unsigned *, uint64_t *) = {
#define CONSOLE_OP_ENTRY(cmd_, fn_) [CONSOLEIO_##cmd_] = fn_,
    CONSOLE_OPS(CONSOLE_OP_ENTRY)};

#define CONSOLE_OP_NAME(cmd_, fn_) [CONSOLEIO_##cmd_] = #cmd_,
const char *const console_io_names[] = {CONSOLE_OPS(CONSOLE_OP_NAME) NULL};

long do_console_io(struct vcpu *v, unsigned cmd, unsigned *count, uint64_t *buf_gpa)
{
    if (cmd >= sizeof(console_io_table) / sizeof(console_io_table[0]))
        return -XEN_ENOSYS;
    return console_io_table[cmd](v, count, buf_gpa);
}

void console_set_loglvl(struct hv *hv, int lower, int upper)
{
    hv->console.lower = lower;
    hv->console.upper = upper;
    hv->console.toks = PRINTK_RATELIMIT_BURST * PRINTK_RATELIMIT_MS;
    hv->console.last_ms = 0;
    hv->console.missed = 0;
}

/* ---- xen_version ---- */

/* The Xen the model follows (docs/model.md): 4.22.0. The public headers it is built against are
 * Debian's libxen-dev (4.17), whose interface is unchanged for everything the model uses. */
#define EVSIM_XEN_MAJOR 4
#define EVSIM_XEN_MINOR 22
#define EVSIM_XEN_EXTRA ".0-evsim"
#define EVSIM_XEN_VIRT_START 0xFFFF800000000000ull /* HYPERVISOR_VIRT_START, x86-64 */

static long xenver_version(struct vcpu *v, uint64_t arg_gpa)
{
    (void)v;
    (void)arg_gpa;
    return (EVSIM_XEN_MAJOR << 16) | EVSIM_XEN_MINOR;
}

/* Fixed-size string answers are zero-padded to the full guest buffer, as Xen copies them. */
static long xenver_copy_string(struct vcpu *v, uint64_t arg_gpa, const char *s, size_t size)
{
    char buf[1024] = {0};

    strncpy(buf, s, size - 1);
    return copy_to_guest(v->domain, arg_gpa, buf, size) ? -XEN_EFAULT : 0;
}

static long xenver_extraversion(struct vcpu *v, uint64_t arg_gpa)
{
    return xenver_copy_string(v, arg_gpa, EVSIM_XEN_EXTRA, sizeof(xen_extraversion_t));
}

static long xenver_compile_info(struct vcpu *v, uint64_t arg_gpa)
{
    struct xen_compile_info info;

    memset(&info, 0, sizeof(info));
    strncpy(info.compiler, "evsim model", sizeof(info.compiler) - 1);
    strncpy(info.compile_by, "evsim", sizeof(info.compile_by) - 1);
    strncpy(info.compile_domain, "evsim", sizeof(info.compile_domain) - 1);
    /* A fixed date keeps every run byte-identical. */
    strncpy(info.compile_date, "Thu Jan  1 00:00:00 UTC 1970", sizeof(info.compile_date) - 1);
    return copy_to_guest(v->domain, arg_gpa, &info, sizeof(info)) ? -XEN_EFAULT : 0;
}

static long xenver_capabilities(struct vcpu *v, uint64_t arg_gpa)
{
    return xenver_copy_string(v, arg_gpa, "xen-3.0-x86_64 ", sizeof(xen_capabilities_info_t));
}

static long xenver_changeset(struct vcpu *v, uint64_t arg_gpa)
{
    return xenver_copy_string(v, arg_gpa, "evsim model", sizeof(xen_changeset_info_t));
}

static long xenver_platform_parameters(struct vcpu *v, uint64_t arg_gpa)
{
    struct xen_platform_parameters p = {.virt_start = EVSIM_XEN_VIRT_START};

    return copy_to_guest(v->domain, arg_gpa, &p, sizeof(p)) ? -XEN_EFAULT : 0;
}

/* Submap 0 as Xen 4.22 reports it: to a 64-bit PV guest (not translated, so direct-mapped) its
 * page-table bits; to an HVM guest (translated, not direct-mapped) the callback vector and safe
 * pvclock (no PIRQs: has_pirq is off); the control domain also sees dom0. Left out: the bits
 * that announce hypercalls the model does not have (memory_op_vnode_supported,
 * runstate_phys_area, vcpu_time_phys_area, dm_msix_all_writes; the last three are not even
 * named by the 4.17 headers). */
static uint32_t xenver_features_submap0(const struct domain *d)
{
    uint32_t m =
        d->hvm ? (1u << XENFEAT_writable_page_tables) | (1u << XENFEAT_auto_translated_physmap) |
                     (1u << XENFEAT_hvm_safe_pvclock) | (1u << XENFEAT_hvm_callback_vector) |
                     (1u << XENFEAT_not_direct_mapped)
               : (1u << XENFEAT_mmu_pt_update_preserve_ad) | (1u << XENFEAT_highmem_assist) |
                     (1u << XENFEAT_gnttab_map_avail_bits) | (1u << XENFEAT_direct_mapped);

    if (d->privileged)
        m |= 1u << XENFEAT_dom0;
    return m;
}

static long xenver_get_features(struct vcpu *v, uint64_t arg_gpa)
{
    struct xen_feature_info fi;

    if (copy_from_guest(v->domain, &fi, arg_gpa, sizeof(fi)))
        return -XEN_EFAULT;
    if (fi.submap_idx != 0)
        return -XEN_EINVAL;
    fi.submap = xenver_features_submap0(v->domain);
    return copy_to_guest(v->domain, arg_gpa, &fi, sizeof(fi)) ? -XEN_EFAULT : 0;
}

/* The answer is the return value: a buffer is refused. */
static long xenver_pagesize(struct vcpu *v, uint64_t arg_gpa)
{
    (void)v;
    if (arg_gpa)
        return -XEN_EINVAL;
    return XEN_PAGE_SIZE;
}

#define XENVER_OPS(X)                                                                              \
    X(version, xenver_version)                                                                     \
    X(extraversion, xenver_extraversion)                                                           \
    X(compile_info, xenver_compile_info)                                                           \
    X(capabilities, xenver_capabilities)                                                           \
    X(changeset, xenver_changeset)                                                                 \
    X(platform_parameters, xenver_platform_parameters)                                             \
    X(get_features, xenver_get_features)                                                           \
    X(pagesize, xenver_pagesize)

static long (*const xen_version_table[])(struct vcpu *, uint64_t) = {
#define XENVER_OP_ENTRY(cmd_, fn_) [XENVER_##cmd_] = fn_,
    XENVER_OPS(XENVER_OP_ENTRY)};

#define XENVER_OP_NAME(cmd_, fn_) [XENVER_##cmd_] = #cmd_,
const char *const xen_version_names[] = {XENVER_OPS(XENVER_OP_NAME) NULL};

long do_xen_version(struct vcpu *v, unsigned cmd, uint64_t arg_gpa)
{
    if (cmd >= sizeof(xen_version_table) / sizeof(xen_version_table[0]))
        return -XEN_ENOSYS;
    return xen_version_table[cmd](v, arg_gpa);
}
