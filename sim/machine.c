/* The machine: builds itself from a scenario and runs the simulation; the domain builder is
 * sim/machine_build.c, its physical CPUs sim/machine_cpu.c, and the model's two interfaces
 * (guest memory, event sink) on top of them sim/machine_sink.c.
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
#include <stdlib.h>
#include <string.h>
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

/* ---- the machine ------------------------------------------------------------------------ */

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
        if (machine_domain_is_paged(m, &m->sc->dom[i]))
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
        pv |= machine_domain_is_paged(m, &sc->dom[i]);
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
    hv_set_steps(&m->hv, false);    /* only the narrator takes them (teach_start) */
    m->hv.raises_coalesced = false; /* only a recording keeps them (record_start) */
    console_set_loglvl(&m->hv, sc->guest_loglvl_lower, sc->guest_loglvl_upper);
    m->coh = coherence_create(sc->pcpus, sc->pcpus / sc->sockets);
    if (!m->coh)
        return diag_set(d, "out of memory for the coherence model");
    hv_set_coherence(&m->hv, m->coh, &m->acting.cpu_id); /* as mem_touch, called directly */
    unsigned total_vcpus = 0;
    for (unsigned i = 0; i < sc->nr_dom; i++)
        total_vcpus += sc->dom[i].vcpus;
    /* a replay of a real host's recording wakes each vcpu as recorded: a slot each more */
    unsigned slots = total_vcpus * HV_TIMER_KINDS + 2 * sc->nr_pirq +
                     (replay && replay_is_real(replay) ? total_vcpus : 0);
    if (timeline_init(&m->timeline, slots) < 0)
        return diag_set(d, "out of memory for the timers");
    m->lookahead = machine_lookahead(m->cost);
    pcpus_create(m, total_vcpus);
    if (pv_engines_create(m, d) < 0)
        return -1;
    m->dom = calloc(sc->nr_dom, sizeof(*m->dom));
    m->nr_dom = sc->nr_dom;
    unsigned next_pcpu = 0;
    for (unsigned i = 0; i < sc->nr_dom; i++) {
        if (machine_domain_build(m, &m->dom[i], i, &next_pcpu, d) < 0)
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
            machine_guest_pages_free(sd->ram, sd->ram_size);
        if (sd->ram_shared)
            close(sd->ram_fd);
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
