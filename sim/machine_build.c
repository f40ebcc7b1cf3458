/* The domain builder (part of the machine, sim/machine.c): a domain's memory, its image placed
 * and decoded, and for a PV domain its place in the machine's physical space, page tables and
 * boot pages laid out as Xen's PV builder does (xg_dom_x86.c, docs/memory.md), its start_info,
 * its model domain and vcpus. Domains running one program share its image, decode and text. */
#define _GNU_SOURCE /* MAP_ANONYMOUS, MAP_NORESERVE (guest RAM committed lazily), memfd_create */
#include "sim/machine.h"
#include "sim/machine_int.h"
#include "sim/host_dm.h"
#include "sim/replay.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sim/kernel.h"
#include "sim/sched.h"
#include "sim/vcpu.h"

static bool is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

int guest_resolve(const char *guest, const char *base_dir, const char *guest_dir, char *out,
                  size_t outlen, struct diag *d)
{
    bool is_path = strchr(guest, '/') || strstr(guest, ".elf");
    if (is_path) {
        if (guest[0] != '/' && base_dir && base_dir[0])
            snprintf(out, outlen, "%s/%s", base_dir, guest);
        else
            snprintf(out, outlen, "%s", guest);
        if (!is_file(out))
            return diag_set(d, "guest image %s: no such file", out);
        return 0;
    }
    snprintf(out, outlen, "%s/%s.elf", guest_dir, guest);
    if (!is_file(out))
        return diag_set(d,
                        "guest program '%s' not found (looked for %s); name one of the "
                        "programs in guests/ or give a path to an ELF",
                        guest, out);
    return 0;
}

/* Guest RAM: zero pages the host commits only when the guest (or the loader) first touches
 * them, so a 4 GiB domain that uses 2 MiB costs 2 MiB. */
static uint8_t *guest_pages_alloc(uint64_t size)
{
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                   -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

void machine_guest_pages_free(uint8_t *p, uint64_t size)
{
    if (p)
        munmap(p, size);
}

/* The same, as a memfd a device model on the host can map too (sim/host_dm.c): *fd, or NULL. */
static uint8_t *guest_pages_alloc_shared(uint64_t size, int *fd)
{
    *fd = memfd_create("evsim-guest-ram", MFD_CLOEXEC);
    if (*fd < 0)
        return NULL;
    void *p = ftruncate(*fd, (off_t)size) < 0
                  ? MAP_FAILED
                  : mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, *fd, 0);
    if (p == MAP_FAILED) {
        close(*fd);
        *fd = -1;
        return NULL;
    }
    return p;
}

/* A device model on the host maps guests' RAM: does the scenario run one? */
static bool machine_has_host_dm(const struct machine *m)
{
    for (unsigned i = 0; i < m->sc->nr_dom; i++)
        if (m->sc->dom[i].device_model[0])
            return true;
    return false;
}

static uint64_t page_up(uint64_t x)
{
    return (x + XEN_PAGE_SIZE - 1) & ~(uint64_t)(XEN_PAGE_SIZE - 1);
}

/* After the image, as Xen's PV domain builder lays it out (physmem.h): the p2m list,
 * start_info, the xenstore and console pages, the page tables and a bootstrap stack; the
 * shared_info page is mapped just past RAM. An HVM guest gets start_info and the stack only
 * (evsim enters it in 64-bit mode, with no paging). */
static int domain_layout(struct sim_domain *sd, struct diag *d)
{
    int rc = 0;
    if (sd->paged) {
        rc = phys_layout_plan(&sd->layout, guest_image_pa(&sd->img, sd->img.highest), sd->ram_size,
                              BOOT_STACK_BYTES, sd->virt_base);
        sd->start_info_gpa = sd->layout.start_info;
        sd->stack_top = sd->layout.stack_top;
    } else {
        sd->start_info_gpa = page_up(sd->img.highest);
        sd->stack_top = sd->start_info_gpa + XEN_PAGE_SIZE + BOOT_STACK_BYTES;
        rc = sd->stack_top > sd->ram_size ? -1 : 0;
    }
    if (rc < 0)
        return diag_set(d, "%s:%u: domain '%s' needs more than %" PRIu64 " MiB of memory",
                        sd->m->sc->source, sd->cfg->line, sd->cfg->name, sd->ram_size >> 20);
    sd->shared_info_gpa = sd->ram_size;
    return 0;
}

/* A PV domain's page tables, and the window slot its shared_info page is reached through. */
static int domain_tables(struct sim_domain *sd, struct diag *d)
{
    struct phys_space *ps = &sd->m->phys;
    unsigned slot = phys_slot_add(ps, sd, PHYS_SLOT_SHARED_INFO);
    sd->tb_epoch = calloc(sd->m->nr_pcpus, sizeof(*sd->tb_epoch));
    if (!slot || !sd->tb_epoch)
        return diag_set(d, "out of memory for domain '%s'", sd->cfg->name);
    phys_tables_build(ps, &sd->layout, sd->mach_base, sd->ram_size, slot);
    return 0;
}

static void write_start_info(struct sim_domain *sd, uint64_t seed)
{
    start_info_t *si = (start_info_t *)(sd->ram + sd->start_info_gpa);
    memset(si, 0, sizeof(*si));
    snprintf(si->magic, sizeof(si->magic), "xen-3.0-x86_64");
    si->nr_pages = sd->ram_size / XEN_PAGE_SIZE;
    /* Xen gives the machine address of shared_info, which a kernel maps itself; evsim's page
     * tables map it at this address already (docs/memory.md). */
    si->shared_info = sd->virt_base + sd->shared_info_gpa;
    if (sd->paged) {
        const struct phys_layout *l = &sd->layout;
        uint64_t mfn0 = sd->mach_base / XEN_PAGE_SIZE;
        si->pt_base = sd->virt_base + l->pt_base;
        si->nr_pt_frames = l->nr_pt_frames;
        si->mfn_list = sd->virt_base + l->p2m;
        si->store_mfn = mfn0 + l->xenstore / XEN_PAGE_SIZE;
        si->console.domU.mfn = mfn0 + l->console / XEN_PAGE_SIZE;
    }
    si->flags = sd->cfg->privileged ? (SIF_PRIVILEGED | SIF_INITDOMAIN) : 0;
    /* The domain id is not part of start_info; guests get it, and a per-domain seed derived from
     * the scenario's, on the command line (the scenario's own words follow). */
    uint64_t dseed = seed * 0x9e3779b97f4a7c15ull + sd->d->domid + 1;
    char line[2 * MAX_GUEST_CMDLINE];
    size_t n = (size_t)snprintf(line, sizeof(line), "domid=%u", sd->d->domid);
    if (!strstr(sd->cfg->cmdline, "seed="))
        n += (size_t)snprintf(line + n, sizeof(line) - n, " seed=%" PRIu64, dseed);
    /* 2-level is every guest's default: only the others are spelled out. */
    if (sd->cfg->abi != ABI_2L)
        n += (size_t)snprintf(line + n, sizeof(line) - n, " abi=%s",
                              scenario_abi_names[sd->cfg->abi]);
    snprintf(line + n, sizeof(line) - n, " %s", sd->cfg->cmdline);
    size_t len = strlen(line) < MAX_GUEST_CMDLINE - 1 ? strlen(line) : MAX_GUEST_CMDLINE - 1;
    memcpy(si->cmd_line, line, len); /* the scenario parser keeps cmdline well below this */
    si->cmd_line[len] = 0;
}

static int domain_model_create(struct machine *m, struct sim_domain *sd, unsigned index,
                               struct diag *d)
{
    struct domain_config cfg = {
        .domid = (domid_t)index,
        .privileged = sd->cfg->privileged,
        .paused = sd->cfg->paused,
        .hvm = sd->cfg->hvm,
        .max_vcpus = sd->cfg->vcpus,
        .guest_word_bits = 64,
        .max_evtchn_port = sd->cfg->max_evtchn_port,
        .shared_info_gpa = sd->shared_info_gpa,
    };
    int rc = domain_create(&m->hv, &cfg, &sd->d);
    if (rc < 0)
        return diag_set(d, "%s:%u: cannot create domain '%s' (Xen error %d)", m->sc->source,
                        sd->cfg->line, sd->cfg->name, rc);
    sd->d->sim = sd;
    return 0;
}

/* The vcpus of sd; with no guest (a host device model's domain) they get no engine and never
 * run. */
static int domain_vcpus_create(struct machine *m, struct sim_domain *sd, unsigned *next_pcpu,
                               struct diag *d)
{
    bool guest = !sd->dm && !m->replay;
    sd->nr_vcpus = sd->cfg->vcpus;
    sd->vcpu = calloc(sd->nr_vcpus, sizeof(*sd->vcpu));
    for (unsigned i = 0; i < sd->nr_vcpus; i++) {
        struct sim_vcpu *sv = &sd->vcpu[i];
        sv->sd = sd;
        sv->stages.handling = -1;
        sv->v = domain_vcpu(sd->d, i);
        sv->v->sim = sv;
        unsigned home = sd->cfg->pin >= 0 ? (unsigned)sd->cfg->pin + i : (*next_pcpu)++;
        sched_place(sv, &m->pcpu[home % m->nr_pcpus], sd->cfg->pin >= 0);
        if (guest && sim_vcpu_create_engine(sv, d) < 0)
            return -1;
        /* a device model's domain runs its program again: what it did is not replayed */
        if (m->replay && !sd->dm && replay_attach(m->replay, sv) < 0)
            return diag_set(d, "out of memory for the replay of domain '%s'", sd->cfg->name);
        sv->timer_slot = m->timeline_used;
        m->timeline_used += HV_TIMER_KINDS;
        for (unsigned k = 0; k < HV_TIMER_KINDS; k++) {
            sv->timer_ctx[k] = (struct sim_timer_ctx){sv, (enum hv_timer_kind)k};
            sv->timer_ev[k] = simk_event_create("vcpu_timer");
            simk_method_on("vcpu_timer", sv->timer_ev[k], machine_on_vcpu_timer, &sv->timer_ctx[k]);
        }
    }
    struct sim_vcpu *boot = &sd->vcpu[0];
    if (!guest && (!m->replay || sd->dm))
        return 0;
    struct hv_regs r = {.rip = sd->img.entry,
                        .rsi = sd->virt_base + sd->start_info_gpa,
                        .rsp = sd->virt_base + sd->stack_top,
                        .rflags = 0x202};
    sim_vcpu_set_regs(boot, &r);
    machine_vcpu_publish_time(boot, 0);
    if (!sd->d->paused) /* else the unpause wakes it */
        sched_ready_at(boot, 0, false);
    return 0;
}

/* Name the scenario line of the domain in front of a guest image's error. */
static int domain_error(const struct machine *m, const struct sim_domain *sd, struct diag *d)
{
    struct diag inner = *d;
    if (sd->cfg->line)
        return diag_set(d, "%s:%u: domain '%s': %s", m->sc->source, sd->cfg->line, sd->cfg->name,
                        inner.msg);
    return diag_set(d, "domain %s (--guest): %s", sd->cfg->name, inner.msg);
}

/* A host device model's domain: memory for its hypercalls' arguments, shared_info where a
 * guest has it (its events are read from there), no guest image. */
static int dm_domain_build(struct machine *m, struct sim_domain *sd, unsigned index,
                           unsigned *next_pcpu, struct diag *d)
{
    sd->ram_size = 1u << 20;
    sd->ram = guest_pages_alloc(sd->ram_size);
    sd->shared_info = aligned_alloc(XEN_PAGE_SIZE, XEN_PAGE_SIZE);
    if (!sd->ram || !sd->shared_info)
        return diag_set(d, "out of memory for domain '%s'", sd->cfg->name);
    memset(sd->shared_info, 0, XEN_PAGE_SIZE);
    sd->shared_info_gpa = sd->ram_size;
    if (domain_model_create(m, sd, index, d) < 0 || host_dm_domain_build(m, sd, index, d) < 0)
        return -1;
    return domain_vcpus_create(m, sd, next_pcpu, d);
}

/* A guest's RAM (committed as it is touched) and its shared_info page, zeroed. A PV guest's
 * RAM is its place in the machine's physical space. */
static int domain_memory(struct sim_domain *sd, struct diag *d)
{
    sd->ram_size = sd->cfg->memory_bytes;
    if (sd->paged) {
        sd->mach_base = phys_domain_alloc(&sd->m->phys, sd->ram_size);
        sd->mfn0 = sd->mach_base / XEN_PAGE_SIZE;
        sd->ram = sd->mach_base == UINT64_MAX ? NULL : sd->m->phys.host + sd->mach_base;
    } else if (sd->cfg->hvm && machine_has_host_dm(sd->m)) {
        sd->ram = guest_pages_alloc_shared(sd->ram_size, &sd->ram_fd);
        sd->ram_shared = sd->ram != NULL;
    } else {
        sd->ram = guest_pages_alloc(sd->ram_size);
    }
    sd->shared_info = aligned_alloc(XEN_PAGE_SIZE, XEN_PAGE_SIZE);
    if (!sd->ram || !sd->shared_info)
        return diag_set(d, "out of memory for domain '%s'", sd->cfg->name);
    memset(sd->shared_info, 0, XEN_PAGE_SIZE);
    return 0;
}

/* A replayed domain: its memory (empty: only what Xen reads is filled in, from the recording)
 * and shared_info as a guest's, no image, vcpus that play their recorded steps. */
static int replay_domain_build(struct machine *m, struct sim_domain *sd, unsigned index,
                               unsigned *next_pcpu, struct diag *d)
{
    if (domain_memory(sd, d) < 0)
        return -1;
    sd->shared_info_gpa = sd->ram_size;
    replay_domain_layout(m->replay, index, &sd->virt_base, &sd->mfn0);
    if (domain_model_create(m, sd, index, d) < 0)
        return -1;
    return domain_vcpus_create(m, sd, next_pcpu, d);
}

/* The first domain running the program at path (as resolved), or NULL. */
static struct sim_domain *program_domain(const struct machine *m, const char *path)
{
    for (unsigned i = 0; i < m->nr_programs; i++)
        if (!strcmp(m->program[i]->img.path, path))
            return m->program[i];
    return NULL;
}

/* Decode sd's code, or share what the first domain running its program decoded (its image is
 * placed the same way, and read only). */
static int domain_annotate(struct machine *m, struct sim_domain *sd, struct sim_domain *same,
                           struct diag *d)
{
    if (same)
        return aot_share(&sd->aot, &same->aot) < 0
                   ? diag_set(d, "out of memory for domain '%s'", sd->cfg->name)
                   : 0;
    if (aot_annotate(&sd->aot, &sd->img, sd->ram, m->cost, d) < 0)
        return -1;
    struct sim_domain **p = realloc(m->program, (m->nr_programs + 1) * sizeof(*p));
    if (!p)
        return diag_set(d, "out of memory for domain '%s'", sd->cfg->name);
    m->program = p;
    m->program[m->nr_programs++] = sd;
    return 0;
}

/* The whole pages of img's first read-only executable segment that no writable one touches. */
static void text_range(const struct guest_image *img, uint64_t *from, uint64_t *to)
{
    *from = *to = 0;
    for (unsigned i = 0; i < img->nr_seg && *from == *to; i++)
        if (img->seg[i].exec && !img->seg[i].write) {
            *from = page_up(img->seg[i].vaddr);
            *to = (img->seg[i].vaddr + img->seg[i].memsz) & ~(uint64_t)(XEN_PAGE_SIZE - 1);
        }
    for (unsigned i = 0; i < img->nr_seg; i++) {
        const struct guest_segment *s = &img->seg[i];
        uint64_t lo = s->vaddr & ~(uint64_t)(XEN_PAGE_SIZE - 1), hi = page_up(s->vaddr + s->memsz);
        if (!s->write || hi <= *from || lo >= *to)
            continue;
        if (lo > *from)
            *to = lo;
        else
            *from = hi < *to ? hi : *to;
    }
    if (*to < *from)
        *to = *from;
}

/* Domains running one program read its text from one copy (made from the first one's, before
 * anything ran), so that a CPU's engine translates it once for them all. Each domain keeps its
 * own copy in its RAM, and gets it back the moment it writes to its text (sim/vcpu.c). */
static void domain_share_text(struct machine *m, struct sim_domain *sd, struct sim_domain *prog)
{
    uint64_t from, to;
    text_range(&sd->img, &from, &to);
    if (from == to)
        return;
    from = guest_image_pa(&sd->img, from);
    to = guest_image_pa(&sd->img, to);
    if (!prog->text_mach) {
        uint64_t at = phys_text_alloc(&m->phys, to - from);
        if (at == UINT64_MAX)
            return;
        memcpy(m->phys.host + at, sd->ram + from, to - from);
        prog->text_mach = at;
    }
    for (uint64_t va = from; va < to; va += XEN_PAGE_SIZE)
        phys_map_shared(&m->phys, &sd->layout, sd->mach_base, va, prog->text_mach + (va - from));
    sd->text_from = from;
    sd->text_to = to;
    sd->text_shared = true;
}

void sim_domain_unshare_text(struct sim_domain *sd)
{
    for (uint64_t va = sd->text_from; va < sd->text_to; va += XEN_PAGE_SIZE)
        phys_map_ram(&sd->m->phys, &sd->layout, sd->mach_base, va);
    sd->text_shared = false;
    sd->evpage_gen++; /* every engine running it flushes its TLB before it runs again */
}

/* PV guests run with paging, on their CPUs' engines; HVM guests, device models' domains and
 * replayed domains do not. */
bool machine_domain_is_paged(const struct machine *m, const struct scenario_domain *cfg)
{
    return !m->replay && !cfg->hvm && !cfg->device_model[0];
}

/* Where its image says its RAM is mapped (XEN_ELFNOTE_VIRT_BASE), if evsim can map it there. */
static int domain_virt_base(struct sim_domain *sd, struct diag *d)
{
    uint64_t vb = sd->img.virt_base;
    const char *why = NULL;
    if (vb && !sd->paged)
        why = "set, but the domain runs without paging (HVM, a device model's, or a replay): only "
              "a PV domain's memory is mapped away from address 0";
    else if (vb)
        why = phys_virt_base_problem(vb, sd->ram_size);
    if (why)
        return diag_set(d, "%s: XEN_ELFNOTE_VIRT_BASE 0x%" PRIx64 ": %s", sd->img.path, vb, why);
    sd->virt_base = vb;
    return 0;
}

int machine_domain_build(struct machine *m, struct sim_domain *sd, unsigned index,
                         unsigned *next_pcpu, struct diag *d)
{
    char path[SCENARIO_PATH_MAX + 64];
    sd->m = m;
    sd->cfg = &m->sc->dom[index];
    sd->status = SD_RUNNING;
    if (sd->cfg->device_model[0])
        return dm_domain_build(m, sd, index, next_pcpu, d);
    if (m->replay)
        return replay_domain_build(m, sd, index, next_pcpu, d);
    if (guest_resolve(sd->cfg->guest, m->sc->base_dir, m->guest_dir, path, sizeof(path), d) < 0)
        return domain_error(m, sd, d);
    struct sim_domain *same = program_domain(m, path);
    if (same) {
        sd->img = same->img;
        sd->img_borrowed = true;
    } else if (guest_image_load(path, &sd->img, d) < 0) {
        return domain_error(m, sd, d);
    }
    sd->paged = machine_domain_is_paged(m, sd->cfg);
    if (domain_memory(sd, d) < 0)
        return -1;
    if (domain_virt_base(sd, d) < 0)
        return domain_error(m, sd, d);
    if (guest_image_place(&sd->img, sd->ram, sd->ram_size, d) < 0)
        return domain_error(m, sd, d);
    if (domain_layout(sd, d) < 0 || (sd->paged && domain_tables(sd, d) < 0) ||
        domain_annotate(m, sd, same, d) < 0 || domain_model_create(m, sd, index, d) < 0)
        return -1;
    if (sd->paged)
        domain_share_text(m, sd, same ? same : sd);
    write_start_info(sd, m->sc->seed);
    return domain_vcpus_create(m, sd, next_pcpu, d);
}
