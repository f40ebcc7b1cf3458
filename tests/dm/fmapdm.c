/* xenforeignmemory_map as a device model sees it (tests/scenarios/fmap_host.ini.in): written
 * against Xen's libraries only, it maps pages of the HVM domain given as argv[1] and prints
 * what the library answered, page by page, then unpauses the domain and exits:
 *   - frames of RAM mapped with err[]: each 0, the guest's bytes readable, and a write through
 *     one mapping seen through another mapping of the same frame;
 *   - a frame beyond the domain's RAM among them: its err[] is -EINVAL, the others map;
 *   - the same without err[]: NULL, errno EINVAL, nothing left mapped;
 *   - a domain that does not exist: err[] -ESRCH;
 *   - xenforeignmemory_unmap of a range it did not return: -1, EINVAL;
 * and xenevtchn_fdopen's answers (evtchn_fdopen). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <xenctrl.h>
#include <xenevtchn.h>
#include <xenforeignmemory.h>

#define BEYOND_RAM 0x7ffffu /* a frame far above any test domain's RAM */

static void print_errs(const char *what, const int *err, size_t n)
{
    printf("fmapdm: %s:", what);
    for (size_t i = 0; i < n; i++)
        printf(" %d", err[i]);
    printf("\n");
}

/* Frame 0x100 (where the guest's image starts) and 0x101, mapped twice: a byte written
 * through one mapping is read through the other, and the guest's own bytes are there. */
static void map_ram(xenforeignmemory_handle *fmem, uint32_t dom)
{
    xen_pfn_t frames[2] = {0x100, 0x101};
    int err[2] = {1, 1}, err2[2] = {1, 1};
    uint8_t *a = xenforeignmemory_map(fmem, dom, PROT_READ | PROT_WRITE, 2, frames, err);
    uint8_t *b = xenforeignmemory_map(fmem, dom, PROT_READ | PROT_WRITE, 2, frames, err2);
    if (!a || !b) {
        printf("fmapdm: map RAM: %s\n", strerror(errno));
        exit(1);
    }
    print_errs("RAM frames 0x100 0x101", err, 2);
    unsigned sum = 0;
    for (unsigned i = 0; i < 4096; i++)
        sum = sum * 31 + a[i];
    uint8_t old = a[4096 + 4095];
    a[4096 + 4095] = 0x5a;
    printf("fmapdm: frame 0x100 checksum 0x%08x; a byte written through one mapping reads "
           "0x%02x through the other\n",
           sum, b[4096 + 4095]);
    a[4096 + 4095] = old;
    if (xenforeignmemory_unmap(fmem, a, 2) || xenforeignmemory_unmap(fmem, b, 2))
        printf("fmapdm: unmap: %s\n", strerror(errno));
}

static void map_beyond(xenforeignmemory_handle *fmem, uint32_t dom)
{
    xen_pfn_t frames[3] = {0x100, BEYOND_RAM, 0x102};
    int err[3] = {1, 1, 1};
    uint8_t *p = xenforeignmemory_map(fmem, dom, PROT_READ, 3, frames, err);
    print_errs("frames 0x100, one beyond RAM, 0x102", err, 3);
    /* its third page is frame 0x102 (whatever the compiler put there): as mapped alone */
    xen_pfn_t alone = 0x102;
    int err_alone = 1;
    uint8_t *q = xenforeignmemory_map(fmem, dom, PROT_READ, 1, &alone, &err_alone);
    printf("fmapdm: the mapping %s; its third page %s frame 0x102 mapped alone\n",
           p ? "is there" : "failed",
           p && q && !memcmp(p + 2 * 4096, q, 4096) ? "equals" : "differs from");
    if (q)
        xenforeignmemory_unmap(fmem, q, 1);
    if (p)
        xenforeignmemory_unmap(fmem, p, 3);
    errno = 0;
    p = xenforeignmemory_map(fmem, dom, PROT_READ, 3, frames, NULL);
    printf("fmapdm: the same without err[]: %s, errno %s\n", p ? "mapped" : "NULL",
           strerror(errno));
}

/* xenevtchn_fdopen, as a daemon that re-executed itself calls it: with the descriptor
 * xenevtchn_fd gave, it gets its handle back; with XENEVTCHN_NO_CLOEXEC, EINVAL; with another
 * descriptor, EBADF. */
static void evtchn_fdopen(void)
{
    xenevtchn_handle *xce = xenevtchn_open(NULL, 0);
    int fd = xce ? xenevtchn_fd(xce) : -1;
    xenevtchn_handle *again = xenevtchn_fdopen(NULL, fd, 0);
    printf("fmapdm: xenevtchn_fdopen(its fd): %s\n", again ? "the handle" : strerror(errno));
    again = xenevtchn_fdopen(NULL, fd, XENEVTCHN_NO_CLOEXEC);
    printf("fmapdm: xenevtchn_fdopen(its fd, NO_CLOEXEC): %s\n",
           again ? "a handle" : strerror(errno));
    again = xenevtchn_fdopen(NULL, 0, 0);
    printf("fmapdm: xenevtchn_fdopen(stdin): %s\n", again ? "a handle" : strerror(errno));
    if (xce)
        xenevtchn_close(xce);
}

int main(int argc, char **argv)
{
    uint32_t dom = argc > 1 ? (uint32_t)atoi(argv[1]) : 1;
    xenforeignmemory_handle *fmem = xenforeignmemory_open(NULL, 0);
    xc_interface *xch = xc_interface_open(NULL, NULL, 0);
    if (!fmem || !xch) {
        printf("fmapdm: open: %s\n", strerror(errno));
        return 1;
    }
    map_ram(fmem, dom);
    map_beyond(fmem, dom);
    xen_pfn_t frame = 0x100;
    int err = 1;
    void *p = xenforeignmemory_map(fmem, 9, PROT_READ, 1, &frame, &err);
    print_errs("a domain that does not exist", &err, 1);
    if (p)
        xenforeignmemory_unmap(fmem, p, 1);
    int rc = xenforeignmemory_unmap(fmem, &frame, 1);
    printf("fmapdm: unmap of a range never mapped: %d, %s\n", rc, strerror(errno));
    evtchn_fdopen();
    if (xc_domain_unpause(xch, dom))
        printf("fmapdm: unpause: %s\n", strerror(errno));
    xenforeignmemory_close(fmem);
    xc_interface_close(xch);
    return 0;
}
