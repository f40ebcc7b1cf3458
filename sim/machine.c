/* The machine: builds domains from a scenario and runs the simulation; its physical CPUs are
 * sim/machine_cpu.c, and the model's two interfaces (guest memory, event sink) on top of them
 * sim/machine_sink.c.
 *
 * Time (docs/timing.md): each physical CPU is a SystemC thread with a local time. A CPU runs its
 * vcpu ahead of the kernel, then waits for the kernel to catch up. How far it may run is what
 * keeps cross-CPU effects exact: never past the next timed callback (a vcpu timer, a PIRQ), and
 * never more than one lookahead past the earliest time another CPU may act, where the lookahead
 * is the least time between a CPU's action and its effect on another (a hypercall's trap and
 * dispatch come before Xen touches anything). So an IPI, a wake-up or a timer always finds its
 * target at or before its time, and the target stops exactly there. Results do not depend on
 * the quantum, which no longer affects anything. */
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS, MAP_NORESERVE: guest RAM committed lazily */
#include "sim/machine.h"
#include "sim/machine_int.h"
#include "sim/evpages.h"
#include "sim/hvm_exits.h"
#include "sim/host_dm.h"
#include "sim/explain.h"
#include "sim/record.h"
#include "sim/replay.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "models/evtchn.h"
#include "models/hypercall.h"
#include "models/pirq.h"
#include "models/pv.h"
#include "sim/kernel.h"
#include "sim/profile.h"
#include "sim/sched.h"
#include "sim/vcpu.h"

#define PCPU_STACK_BYTES (16u << 20) /* Unicorn's translator recurses deeply */
#define BOOT_STACK_BYTES (64u << 10)

/* ---- time ------------------------------------------------------------------------------ */

uint64_t machine_cycles_to_ps(const struct machine *m, uint64_t cycles)
{
    /* rounded up, so that machine_ps_to_cycles(machine_cycles_to_ps(c)) == c; saturating (213 days)
     */
    unsigned __int128 num = (unsigned __int128)cycles * 1000000000u;
    unsigned __int128 ps = (num + m->cost->cpu_khz - 1) / m->cost->cpu_khz;
    return ps > UINT64_MAX ? UINT64_MAX : (uint64_t)ps;
}

uint64_t machine_ps_to_cycles(const struct machine *m, uint64_t ps)
{
    return (uint64_t)(((unsigned __int128)ps * m->cost->cpu_khz) / 1000000000u);
}

uint64_t machine_now_cycles(const struct machine *m)
{
    return machine_ps_to_cycles(m, simk_now_ps());
}

uint64_t machine_end_cycles(const struct machine *m)
{
    uint64_t now = machine_now_cycles(m);
    return m->end_cycles > now ? m->end_cycles : now;
}

/* The time of whoever is acting now: the running pcpu's local time inside a vcpu, else the
 * kernel's (timers and platform events run as methods at exact kernel time). */
uint64_t machine_acting_cycles(const struct machine *m)
{
    uint64_t now = machine_now_cycles(m);
    if (!m->acting.cpu)
        return now;
    /* Inside a hypercall, what it was charged so far has already passed for the sender. */
    const struct vcpu *cur = m->hv.current;
    uint64_t t = m->acting.cpu->local + (cur ? cur->hcall_cycles : 0);
    return t > now ? t : now;
}

uint64_t machine_delay_ps_until(const struct machine *m, uint64_t at_cycles)
{
    uint64_t target = machine_cycles_to_ps(m, at_cycles), now = simk_now_ps();
    return target > now ? target - now : 0;
}

/* Arm a timed callback (its event and its timeline slot) for Xen system time deadline_ns; a
 * deadline past what simulated time can reach arms nothing (it would never fire). A running
 * CPU's slice limit may now be nearer: it is asked again after the hypercall. */
void machine_timed_call(struct machine *m, struct simk_event *ev, unsigned slot,
                        uint64_t deadline_ns)
{
    uint64_t at = cost_ns_to_cycles(m->cost, deadline_ns);
    if (at == UINT64_MAX || machine_cycles_to_ps(m, at) == UINT64_MAX)
        return;
    uint64_t now = machine_now_cycles(m);
    simk_event_notify(ev, machine_delay_ps_until(m, at));
    timeline_arm(&m->timeline, slot, at > now ? at : now);
    m->limits_stale = true;
}

/* The least time between what a vcpu does and its effect on another CPU: Xen charges a
 * hypercall's trap (a VM exit for HVM) and dispatch before it touches anything shared, and
 * every cross-CPU effect (an IPI, a wake-up, a write to shared memory) starts in a hypercall. */
static uint64_t machine_lookahead(const struct cost_profile *cost)
{
    uint64_t trap = cost_cycles(cost, COST_PV_TRAP), exit = cost_cycles(cost, COST_HVM_EXIT);
    uint64_t l = (trap < exit ? trap : exit) + cost_cycles(cost, COST_HYPERCALL_DISPATCH);
    return l ? l : 1;
}

/* ---- building ---------------------------------------------------------------------------- */

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

static void guest_pages_free(uint8_t *p, uint64_t size)
{
    if (p)
        munmap(p, size);
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
        if (m->replay && replay_attach(m->replay, sv) < 0)
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
    if (!guest && !m->replay)
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
static bool domain_is_paged(const struct machine *m, const struct scenario_domain *cfg)
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

static int domain_build(struct machine *m, struct sim_domain *sd, unsigned index,
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
    sd->paged = domain_is_paged(m, sd->cfg);
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

static void pcpus_create(struct machine *m, unsigned total_vcpus)
{
    m->nr_pcpus = m->sc->pcpus;
    m->pcpu = calloc(m->nr_pcpus, sizeof(*m->pcpu));
    for (unsigned i = 0; i < m->nr_pcpus; i++) {
        struct sim_pcpu *p = &m->pcpu[i];
        p->m = m;
        p->id = i;
        p->rq_cap = total_vcpus + 1;
        p->runq = calloc(p->rq_cap, sizeof(*p->runq));
        p->waking = calloc(p->rq_cap, sizeof(*p->waking));
        p->doorbell = simk_event_create("pcpu_doorbell");
        p->parked = simk_event_create("pcpu_parked");
        p->interrupt_at = UINT64_MAX; /* sync_at 0: every CPU starts at time 0 */
        p->next_tick = cost_ns_to_cycles(m->cost, XEN_TICK_NS);
    }
}

/* The machine's physical space for its PV domains, and an engine on every CPU to run them. */
static int pv_engines_create(struct machine *m, struct diag *d)
{
    uint64_t bytes = 0;
    for (unsigned i = 0; i < m->sc->nr_dom; i++)
        if (domain_is_paged(m, &m->sc->dom[i]))
            bytes += phys_domain_bytes(m->sc->dom[i].memory_bytes);
    if (!bytes)
        return 0;
    if (phys_space_init(&m->phys, bytes, d) < 0) {
        struct diag inner = *d;
        return diag_set(d, "%s: %s", m->sc->source, inner.msg);
    }
    for (unsigned i = 0; i < m->nr_pcpus; i++)
        if (!(m->pcpu[i].eng = sim_engine_open_pcpu(m, i, d)))
            return -1;
    return 0;
}

static void pirqs_create(struct machine *m)
{
    m->pirq = calloc(m->sc->nr_pirq ? m->sc->nr_pirq : 1, sizeof(*m->pirq));
    for (unsigned i = 0; i < m->sc->nr_pirq; i++) {
        struct sim_pirq_source *src = &m->pirq[i];
        src->m = m;
        src->cfg = &m->sc->pirq[i];
        src->ev = simk_event_create("pirq");
        src->slot = m->timeline_used++;
        src->eoi_slot = m->timeline_used++;
        simk_method_on("pirq", src->ev, machine_on_pirq, src);
        src->eoi_timer = simk_event_create("pirq_eoi_timer");
        simk_method_on("pirq_eoi_timer", src->eoi_timer, machine_on_pirq_eoi_timer, src);
        pirq_set_level(m->dom[src->cfg->domain].d, src->cfg->line, src->cfg->level);
        if (src->cfg->count > 0)
            machine_pirq_schedule(src);
    }
}

/* The scenario's cpu (or the default profile); its line when it came from the file. */
static int machine_profile(struct machine *m, const struct scenario *sc, struct diag *d)
{
    const char *spec = sc->cpu[0] ? sc->cpu : PROFILE_DEFAULT;
    if (profile_load(&m->profile, spec, sc->cpu_line ? sc->base_dir : NULL, d) == 0) {
        m->cost = &m->profile;
        return 0;
    }
    if (!sc->cpu_line)
        return -1;
    struct diag inner = *d;
    return diag_set(d, "%s:%u: cpu = %s: %s", sc->source, sc->cpu_line, sc->cpu, inner.msg);
}

/* The host memory a run needs, as far as it can be known before it starts: its Unicorn
 * engines (one per CPU for PV domains, one per HVM vcpu; MACHINE_ENGINE_BYTES, measured:
 * 1,001 engines took 5.3 GB in the ABI study), every guest image (RAM is committed only where
 * touched, and a guest touches at least its image, start_info, page tables and boot stack),
 * and a fixed part for SystemC, the model and the reports. */
#define MACHINE_ENGINE_BYTES (5632ull << 10)
#define MACHINE_BASE_BYTES (64ull << 20)
#define MACHINE_DOMAIN_BYTES (BOOT_STACK_BYTES + 8 * XEN_PAGE_SIZE)

static uint64_t image_bytes(const struct machine *m, const struct scenario_domain *dom)
{
    char path[SCENARIO_PATH_MAX + 64];
    struct diag ignored;
    struct stat st;
    if (!dom->guest[0])
        return 0; /* a host device model's domain */
    if (guest_resolve(dom->guest, m->sc->base_dir, m->guest_dir, path, sizeof(path), &ignored) ||
        stat(path, &st) != 0)
        return 0; /* the build reports it, with the scenario line */
    return (uint64_t)st.st_size;
}

/* MemAvailable of /proc/meminfo in bytes, or 0 when it cannot be read (no check then). */
static uint64_t host_memory_available(void)
{
    FILE *f = fopen("/proc/meminfo", "r");
    char line[256];
    unsigned long long kb = 0;
    while (f && fgets(line, sizeof(line), f))
        if (sscanf(line, "MemAvailable: %llu kB", &kb) == 1)
            break;
    if (f)
        fclose(f);
    return (uint64_t)kb << 10;
}

/* A run that cannot fit is refused before it starts (rather than ending in the kernel's OOM
 * killer with nothing printed). */
static int machine_check_memory(const struct machine *m, struct diag *d)
{
    const struct scenario *sc = m->sc;
    uint64_t engines = 0, images = 0;
    bool pv = false;
    for (unsigned i = 0; i < sc->nr_dom && !m->replay; i++) {
        pv |= domain_is_paged(m, &sc->dom[i]);
        engines += sc->dom[i].hvm ? sc->dom[i].vcpus : 0;
        images += image_bytes(m, &sc->dom[i]) + MACHINE_DOMAIN_BYTES;
    }
    engines += pv ? sc->pcpus : 0;
    uint64_t need = MACHINE_BASE_BYTES + engines * MACHINE_ENGINE_BYTES + images;
    uint64_t have = host_memory_available();
    if (!have || need <= have)
        return 0;
    return diag_set(d,
                    "%s: the run needs about %" PRIu64 " MiB of host memory (%" PRIu64
                    " Unicorn engines of about %llu MiB each, %" PRIu64
                    " MiB of guest images and boot pages, %llu MiB for the rest) but this "
                    "machine has %" PRIu64 " MiB available; use fewer domains or vcpus",
                    sc->source, need >> 20, engines, MACHINE_ENGINE_BYTES >> 20, images >> 20,
                    MACHINE_BASE_BYTES >> 20, have >> 20);
}

int machine_build(struct machine *m, const struct scenario *sc, const char *guest_dir, FILE *out,
                  struct diag *d)
{
    return machine_build_replay(m, sc, guest_dir, NULL, out, d);
}

int machine_build_replay(struct machine *m, const struct scenario *sc, const char *guest_dir,
                         struct sim_replay *replay, FILE *out, struct diag *d)
{
    memset(m, 0, sizeof(*m));
    m->replay = replay;
    m->sc = sc;
    m->out = out;
    console_init(&m->console, out);
    if (machine_profile(m, sc, d) < 0)
        return -1;
    snprintf(m->guest_dir, sizeof(m->guest_dir), "%s", guest_dir);
    if (machine_check_memory(m, d) < 0)
        return -1;
    hv_init(&m->hv, &machine_mem_ops, m, &machine_sink_ops, m, m->cost);
    console_set_loglvl(&m->hv, sc->guest_loglvl_lower, sc->guest_loglvl_upper);
    m->coh = coherence_create(sc->pcpus, sc->pcpus / sc->sockets);
    if (!m->coh)
        return diag_set(d, "out of memory for the coherence model");
    unsigned total_vcpus = 0;
    for (unsigned i = 0; i < sc->nr_dom; i++)
        total_vcpus += sc->dom[i].vcpus;
    if (timeline_init(&m->timeline, total_vcpus * HV_TIMER_KINDS + 2 * sc->nr_pirq) < 0)
        return diag_set(d, "out of memory for the timers");
    m->lookahead = machine_lookahead(m->cost);
    pcpus_create(m, total_vcpus);
    if (pv_engines_create(m, d) < 0)
        return -1;
    m->dom = calloc(sc->nr_dom, sizeof(*m->dom));
    m->nr_dom = sc->nr_dom;
    unsigned next_pcpu = 0;
    for (unsigned i = 0; i < sc->nr_dom; i++) {
        if (domain_build(m, &m->dom[i], i, &next_pcpu, d) < 0)
            return -1;
        m->live_domains++;
    }
    pirqs_create(m);
    return 0;
}

/* Progress is drawn by the CPU threads as simulated time passes, never by an event of its own:
 * asking for it must not change what the kernel schedules (and so the results). */
void machine_progress(struct machine *m)
{
    static const unsigned steps = 50;
    if (!m->progress)
        return;
    uint64_t now = machine_now_cycles(m), end = m->run_end_cycles ? m->run_end_cycles : 1;
    unsigned done = (unsigned)((unsigned __int128)now * steps / end);
    if (done > steps)
        done = steps;
    if (done == m->progress_drawn && now)
        return;
    m->progress_drawn = done;
    fprintf(stderr, "\r[%-*.*s] %3u%% of %" PRIu64 " ms simulated", (int)steps, (int)done,
            "##################################################", done * 100 / steps,
            m->sc->run_ns / 1000000);
    fflush(stderr);
}

void machine_run(struct machine *m)
{
    for (unsigned i = 0; i < m->nr_pcpus; i++)
        simk_spawn_thread("pcpu", machine_pcpu_main, &m->pcpu[i], PCPU_STACK_BYTES);
    uint64_t end_ps = machine_cycles_to_ps(m, cost_ns_to_cycles(m->cost, m->sc->run_ns));
    m->run_end_cycles = machine_ps_to_cycles(m, end_ps);
    simk_run(end_ps);
    if (m->progress)
        fprintf(stderr, "\r%80s\r", "");
    if (!m->finished) {
        /* Stopped by the kernel: with something still to happen (a CPU or a timer beyond the
         * end), the run length was reached; with nothing at all (every vcpu blocked, no timer
         * armed), the system is idle for good and time stays at its last activity. */
        m->finished = true;
        bool idle = !simk_pending_activity();
        m->end = idle ? END_STARVED : END_RUN_LENGTH;
        m->end_cycles = idle ? machine_now_cycles(m) : m->run_end_cycles;
    }
    for (unsigned i = 0; i < m->nr_dom; i++)
        for (unsigned k = 0; k < m->dom[i].nr_vcpus; k++)
            if (m->dom[i].vcpu[k].line_len)
                machine_console_flush_line(&m->dom[i].vcpu[k]);
    console_flush(&m->console, UINT64_MAX);
}

int machine_exit_status(const struct machine *m)
{
    if (m->end == END_INTERRUPTED)
        return 128 + m->interrupted_by; /* as a shell reports a process the signal ended */
    for (unsigned i = 0; i < m->nr_dom; i++) {
        const struct sim_domain *sd = &m->dom[i];
        if (sd->status == SD_CRASHED ||
            (sd->status == SD_SHUTDOWN && sd->shutdown_reason == SHUTDOWN_crash))
            return 1;
    }
    return 0;
}

void machine_free(struct machine *m)
{
    record_discard(m);
    /* Device models first (they map pages the model frees), then the model: tearing domains
     * down still touches their shared_info. */
    for (unsigned i = 0; i < m->nr_dom; i++)
        host_dm_free(&m->dom[i]);
    hv_destroy(&m->hv);
    for (unsigned i = 0; i < m->nr_dom; i++) {
        struct sim_domain *sd = &m->dom[i];
        for (unsigned k = 0; k < sd->nr_vcpus; k++) {
            sim_vcpu_destroy_engine(&sd->vcpu[k]);
            sim_evpages_free_vcpu(&sd->vcpu[k]);
            stages_vcpu_free(&sd->vcpu[k].stages);
        }
        stages_domain_free(&sd->stages);
        rt_domain_free(&sd->ioreq_rt);
        free(sd->vcpu);
        aot_free(&sd->aot);
        if (!sd->img_borrowed)
            guest_image_free(&sd->img);
        free(sd->tb_epoch);
        if (!sd->paged)
            guest_pages_free(sd->ram, sd->ram_size);
        free(sd->shared_info);
        sim_evpages_free_domain(sd);
    }
    free(m->dom);
    free(m->program);
    sim_pcpu_engines_free(m); /* after the vcpus: each left its CPU's engine */
    for (unsigned i = 0; i < m->nr_pcpus; i++) {
        free(m->pcpu[i].runq);
        free(m->pcpu[i].waking);
    }
    free(m->pcpu);
    free(m->pirq);
    for (unsigned i = 0; i < m->nr_probes; i++) {
        simk_event_cancel(m->probe[i]->ev);
        free(m->probe[i]);
    }
    free(m->probe);
    phys_space_free(&m->phys);
    timeline_free(&m->timeline);
    console_free(&m->console);
    if (m->coh)
        coherence_destroy(m->coh);
    host_dm_arena_free(m);
    free(m->actor_sync);
}
