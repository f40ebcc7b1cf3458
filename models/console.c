/* HYPERVISOR_console_io (xen/drivers/char/console.c) and HYPERVISOR_xen_version
 * (xen/common/kernel.c). */
#include <string.h>

#include "models/hypercall.h"
#include "models/hv_sink.h"

/* ---- console_io ---- */

/* Every domain may write, as a debug Xen (CONFIG_VERBOSE_DEBUG) allows; the model prints
 * the whole buffer in one sink call, or nothing (-EFAULT) if any byte is not guest memory. */
static long console_write(struct vcpu *v, unsigned count, uint64_t buf_gpa)
{
    const char *buf;

    if (count == 0)
        return 0;
    buf = guest_ptr(v->domain, buf_gpa, count);
    if (!buf)
        return -XEN_EFAULT;
    sink_console(v, buf, count);
    return 0;
}

/* Reading Xen's console ring is for the control domain; the model's ring is always empty. */
static long console_read(struct vcpu *v, unsigned count, uint64_t buf_gpa)
{
    (void)count;
    (void)buf_gpa;
    return v->domain->privileged ? 0 : -XEN_EPERM;
}

#define CONSOLE_OPS(X)                                                                             \
    X(write, console_write)                                                                        \
    X(read, console_read)

static long (*const console_io_table[])(struct vcpu *, unsigned, uint64_t) = {
#define CONSOLE_OP_ENTRY(cmd_, fn_) [CONSOLEIO_##cmd_] = fn_,
    CONSOLE_OPS(CONSOLE_OP_ENTRY)};

#define CONSOLE_OP_NAME(cmd_, fn_) [CONSOLEIO_##cmd_] = #cmd_,
const char *const console_io_names[] = {CONSOLE_OPS(CONSOLE_OP_NAME) NULL};

long do_console_io(struct vcpu *v, unsigned cmd, unsigned count, uint64_t buf_gpa)
{
    if (cmd >= sizeof(console_io_table) / sizeof(console_io_table[0]))
        return -XEN_ENOSYS;
    return console_io_table[cmd](v, count, buf_gpa);
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

/* Submap 0 as Xen 4.22 reports it to a 64-bit PV guest (not translated, so direct-mapped); the
 * control domain also sees dom0. Left out: the bits that announce hypercalls the model does not
 * have (memory_op_vnode_supported, runstate_phys_area, vcpu_time_phys_area,
 * dm_msix_all_writes; the last three are not even named by the 4.17 headers). */
static uint32_t xenver_features_submap0(const struct domain *d)
{
    uint32_t m = (1u << XENFEAT_mmu_pt_update_preserve_ad) | (1u << XENFEAT_highmem_assist) |
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
