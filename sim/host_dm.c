/* Device models on the host: see host_dm.h and sim/dm/protocol.h. */
#define _GNU_SOURCE
#include "sim/host_dm.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "models/hypercall.h"
#include "models/ioreq.h"
#include "sim/dm/protocol.h"
#include "sim/hvm_exits.h"
#include "sim/kernel.h"
#include "sim/sched.h"
#include "sim/vcpu.h"

#define DM_RAM_BYTES (1u << 20)    /* the domain's memory: hypercall arguments only */
#define DM_SCRATCH_GPA 0x10000u    /* where a request's blob lands */
#define DM_ANSWER_TIMEOUT_MS 10000 /* host time a device model may take without a word */
#define ARENA_PAGES 1024u          /* 4 MiB of pages shared with device models */
#define DM_MAX_ARGS 32u

struct host_dm {
    struct sim_domain *sd;
    pid_t pid;
    int rpc, events, output; /* our ends of the sockets, and the program's stdout/stderr */
    bool alive;
    bool rung;        /* an event came while the thread was not waiting for one ... */
    uint64_t ring_at; /* ... at this time (cycles): the sender's, ahead of the kernel's */
    uint64_t sync_at; /* when it may next act on the machine (machine.h, actor_sync) */
    struct simk_event *doorbell;
    uint64_t wake_ps, handle_ps;
    struct {
        uint64_t gfn;
        void *page;
    } * map; /* pages Xen mapped at its frames: resource pages, foreign frames */
    unsigned nr_map, cap_map;
    int rep_fd;     /* a descriptor the reply carries (EVDM_IN_RAM), else -1 */
    char line[256]; /* output not yet ended by a newline */
    size_t line_len;
    struct evdm_req req;
    struct evdm_rep rep;
};

struct host_dm_arena {
    int fd;
    uint8_t *base;
    uint8_t used[ARENA_PAGES];
};

static uint64_t ps_to_cycles(const struct machine *m, uint64_t ps)
{
    return cost_ns_to_cycles(m->cost, ps / 1000);
}

/* ---- the arena ---------------------------------------------------------------------------- */

static struct host_dm_arena *arena_get(struct machine *m)
{
    if (m->arena)
        return m->arena->base ? m->arena : NULL;
    m->arena = calloc(1, sizeof(*m->arena));
    if (!m->arena)
        return NULL;
    m->arena->fd = memfd_create("evsim-dm-arena", MFD_CLOEXEC);
    size_t bytes = (size_t)ARENA_PAGES * XEN_PAGE_SIZE;
    if (m->arena->fd < 0 || ftruncate(m->arena->fd, (off_t)bytes) < 0)
        return NULL;
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, m->arena->fd, 0);
    m->arena->base = p == MAP_FAILED ? NULL : p;
    return m->arena->base ? m->arena : NULL;
}

void *host_dm_page_alloc(void *opaque)
{
    struct host_dm_arena *a = arena_get(opaque);
    for (unsigned i = 0; a && i < ARENA_PAGES; i++)
        if (!a->used[i]) {
            a->used[i] = 1;
            memset(a->base + (size_t)i * XEN_PAGE_SIZE, 0, XEN_PAGE_SIZE);
            return a->base + (size_t)i * XEN_PAGE_SIZE;
        }
    void *p = aligned_alloc(XEN_PAGE_SIZE, XEN_PAGE_SIZE); /* not shareable, still usable */
    if (p)
        memset(p, 0, XEN_PAGE_SIZE);
    return p;
}

static int64_t arena_offset(const struct machine *m, const void *page)
{
    const struct host_dm_arena *a = m->arena;
    size_t bytes = (size_t)ARENA_PAGES * XEN_PAGE_SIZE;
    if (!a || !a->base || (const uint8_t *)page < a->base ||
        (const uint8_t *)page >= a->base + bytes)
        return -1;
    return (const uint8_t *)page - a->base;
}

void host_dm_page_free(void *opaque, void *page)
{
    struct machine *m = opaque;
    int64_t off = arena_offset(m, page);
    if (off >= 0)
        m->arena->used[off / XEN_PAGE_SIZE] = 0;
    else
        free(page);
}

void host_dm_arena_free(struct machine *m)
{
    if (!m->arena)
        return;
    if (m->arena->base)
        munmap(m->arena->base, (size_t)ARENA_PAGES * XEN_PAGE_SIZE);
    if (m->arena->fd >= 0)
        close(m->arena->fd);
    free(m->arena);
    m->arena = NULL;
}

/* ---- the program's output, line by line in simulated time ---------------------------------- */

static void output_drain(struct host_dm *dm)
{
    struct machine *m = dm->sd->m;
    char buf[1024];
    ssize_t n;
    while (dm->output >= 0 && (n = read(dm->output, buf, sizeof(buf))) > 0)
        for (ssize_t i = 0; i < n; i++) {
            if (buf[i] != '\n' && dm->line_len < sizeof(dm->line) - 1) {
                dm->line[dm->line_len++] = buf[i];
                continue;
            }
            dm->line[dm->line_len] = 0;
            console_printf(&m->console, machine_now_cycles(m), "d%u dm: %s", dm->sd->d->domid,
                           dm->line);
            dm->line_len = 0;
        }
}

/* ---- the program ---------------------------------------------------------------------------- */

/* The domain stops with the program: poweroff after a clean exit, else a crash saying why. */
static void dm_gone(struct host_dm *dm, const char *why)
{
    struct sim_domain *sd = dm->sd;
    int status = 0;
    if (!dm->alive)
        return;
    dm->alive = false;
    /* It never acts on the machine again: the CPUs no longer wait for it (a device model that
     * exits while its guest runs would otherwise hold every CPU at its last moment). */
    dm->sync_at = UINT64_MAX;
    output_drain(dm);
    if (dm->line_len) {
        dm->line[dm->line_len] = 0;
        console_printf(&sd->m->console, machine_now_cycles(sd->m), "d%u dm: %s", sd->d->domid,
                       dm->line);
        dm->line_len = 0;
    }
    if (why) {
        kill(dm->pid, SIGKILL);
        waitpid(dm->pid, &status, 0);
        sim_domain_crash(sd, "d%u: device model %s: %s", sd->d->domid, sd->cfg->device_model, why);
        return;
    }
    waitpid(dm->pid, &status, 0);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        domain_shutdown(sd->d, SHUTDOWN_poweroff);
        return;
    }
    char what[96];
    if (WIFSIGNALED(status))
        snprintf(what, sizeof(what), "killed by signal %d (%s)", WTERMSIG(status),
                 strsignal(WTERMSIG(status)));
    else
        snprintf(what, sizeof(what), "exited with status %d", WEXITSTATUS(status));
    sim_domain_crash(sd, "d%u: device model %s %s", sd->d->domid, sd->cfg->device_model, what);
}

/* argv from the program's path and its arguments (split on blanks). */
static int split_args(char *args, char *path, char **argv)
{
    int argc = 0;
    argv[argc++] = path;
    for (char *t = strtok(args, " \t"); t && argc < (int)DM_MAX_ARGS - 1; t = strtok(NULL, " \t"))
        argv[argc++] = t;
    argv[argc] = NULL;
    return argc;
}

static void child_exec(char *path, char **argv, int rpc, int events, int arena, int out)
{
    char fds[64];
    snprintf(fds, sizeof(fds), "%d,%d,%d", rpc, events, arena);
    setenv(EVDM_FDS_ENV, fds, 1);
    /* stdout and stderr go to evsim, which prints them in simulated time */
    dup2(out, STDOUT_FILENO);
    dup2(out, STDERR_FILENO);
    fcntl(rpc, F_SETFD, 0);
    fcntl(events, F_SETFD, 0);
    fcntl(arena, F_SETFD, 0);
    execv(path, argv);
    fprintf(stderr, "cannot run %s: %s\n", path, strerror(errno));
    _exit(127);
}

static int dm_spawn(struct host_dm *dm, const char *path, struct diag *d)
{
    struct sim_domain *sd = dm->sd;
    struct host_dm_arena *a = arena_get(sd->m);
    int rpc[2], ev[2], out[2];
    if (!a)
        return diag_set(d, "cannot create the pages shared with device models: %s",
                        strerror(errno));
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, rpc) < 0 ||
        socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ev) < 0 || pipe2(out, O_CLOEXEC) < 0)
        return diag_set(d, "cannot connect to a device model: %s", strerror(errno));
    char path_copy[SCENARIO_PATH_MAX * 2 + 2], args[sizeof(sd->cfg->device_model_args)];
    char *argv[DM_MAX_ARGS];
    snprintf(path_copy, sizeof(path_copy), "%s", path);
    snprintf(args, sizeof(args), "%s", sd->cfg->device_model_args);
    split_args(args, path_copy, argv);
    fflush(NULL);
    dm->pid = fork();
    if (dm->pid < 0)
        return diag_set(d, "cannot start device model %s: %s", path, strerror(errno));
    if (dm->pid == 0)
        child_exec(path_copy, argv, rpc[1], ev[1], a->fd, out[1]);
    close(rpc[1]);
    close(ev[1]);
    close(out[1]);
    dm->rpc = rpc[0];
    dm->events = ev[0];
    dm->output = out[0];
    fcntl(dm->output, F_SETFL, O_NONBLOCK);
    dm->alive = true;
    struct evdm_hello hello = {EVDM_VERSION, sd->d->domid, DM_SCRATCH_GPA,
                               (uint64_t)ARENA_PAGES * XEN_PAGE_SIZE};
    send(dm->rpc, &hello, sizeof(hello), MSG_NOSIGNAL);
    return 0;
}

/* ---- serving its requests --------------------------------------------------------------- */

/* Every round trip of a domain this device model serves that is waiting for it reaches
 * stage k now. */
static void mark_flights(struct host_dm *dm, enum rt_stage k)
{
    struct machine *m = dm->sd->m;
    uint64_t now = machine_now_cycles(m);
    for (unsigned i = 0; i < m->nr_dom; i++)
        for (unsigned j = 0; j < m->dom[i].nr_vcpus; j++) {
            struct sim_hvm_io *io = &m->dom[i].vcpu[j].hvm_io;
            const struct ioreq_server *s =
                io->waiting ? ioreq_server_get(m->dom[i].d, io->flight.server) : NULL;
            if (s && s->emulator == dm->sd->d->domid)
                rt_mark(&io->flight, k, now);
        }
}

static bool is_notify(const struct evdm_req *r)
{
    return r->nr == __HYPERVISOR_event_channel_op && r->arg[0] == EVTCHNOP_send;
}

/* The device model's hypercall, made by its domain's vcpu 0 as Xen would see it. Its own
 * handling time passes before each notification it sends: the answer to a request. */
static void do_hypercall(struct host_dm *dm)
{
    struct sim_domain *sd = dm->sd;
    struct machine *m = sd->m;
    struct evdm_req *q = &dm->req;
    struct hv_regs r = {.rax = q->nr,
                        .rdi = q->arg[0],
                        .rsi = q->arg[1],
                        .rdx = q->arg[2],
                        .r10 = q->arg[3],
                        .r8 = q->arg[4]};
    if (is_notify(q)) {
        /* Its handling, then its way into Xen: a system call of its kernel, a hypercall. */
        const struct cost_profile *c = m->cost;
        uint64_t into_xen = cost_cycles(c, COST_PV_TRAP) + cost_cycles(c, COST_HYPERCALL_DISPATCH);
        dm->sync_at = machine_now_cycles(m) + ps_to_cycles(m, dm->handle_ps);
        simk_wait_ps(dm->handle_ps);
        mark_flights(dm, RT_RESPOND);
        simk_wait_ps(cost_cycles_to_ns(c, into_xen) * 1000);
    }
    memcpy(sd->ram + DM_SCRATCH_GPA, q->blob, q->blob_len);
    machine_act_callback(m, sd->vcpu[0].pcpu->id);
    hypercall_dispatch(sd->vcpu[0].v, &r);
    dm->rep.rax = (int64_t)r.rax;
    dm->rep.blob_len = q->blob_len;
    memcpy(dm->rep.blob, sd->ram + DM_SCRATCH_GPA, q->blob_len);
}

/* The domain whose shared RAM holds page (a foreign frame mapped), or NULL. */
static const struct sim_domain *ram_domain(const struct machine *m, const uint8_t *page)
{
    for (unsigned i = 0; i < m->nr_dom; i++) {
        const struct sim_domain *sd = &m->dom[i];
        if (sd->ram_shared && page >= sd->ram && page < sd->ram + sd->ram_size)
            return sd;
    }
    return NULL;
}

/* Where the page at the request's gfn is: the arena, or a guest's RAM (whose memfd the reply
 * carries); -ENOENT when nothing is mapped there, -ENOMEM when the page is not shareable. */
static void do_where(struct host_dm *dm)
{
    dm->rep.rax = -ENOENT;
    dm->rep.blob_len = 0;
    dm->rep.where = EVDM_IN_ARENA;
    for (unsigned i = 0; i < dm->nr_map; i++) {
        if (dm->map[i].gfn != dm->req.gfn)
            continue;
        int64_t off = arena_offset(dm->sd->m, dm->map[i].page);
        const struct sim_domain *ram = off < 0 ? ram_domain(dm->sd->m, dm->map[i].page) : NULL;
        dm->rep.rax = off >= 0 ? off : ram ? (uint8_t *)dm->map[i].page - ram->ram : -ENOMEM;
        if (ram) {
            dm->rep.where = EVDM_IN_RAM;
            dm->rep_fd = ram->ram_fd;
        }
    }
}

/* The reply, with the descriptor it carries if any. */
static ssize_t send_reply(struct host_dm *dm, size_t len)
{
    struct iovec iov = {.iov_base = &dm->rep, .iov_len = len};
    union {
        struct cmsghdr h;
        char buf[CMSG_SPACE(sizeof(int))];
    } ctl;
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
    if (dm->rep_fd >= 0) {
        memset(&ctl, 0, sizeof(ctl));
        msg.msg_control = ctl.buf;
        msg.msg_controllen = sizeof(ctl.buf);
        struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &dm->rep_fd, sizeof(int));
    }
    dm->rep_fd = -1;
    return sendmsg(dm->rpc, &msg, MSG_NOSIGNAL);
}

/* Answer requests until the device model waits for events (or is gone). */
static void serve(struct host_dm *dm)
{
    while (dm->alive) {
        struct pollfd pfd = {.fd = dm->rpc, .events = POLLIN};
        int ready = poll(&pfd, 1, DM_ANSWER_TIMEOUT_MS);
        output_drain(dm);
        if (ready == 0) {
            dm_gone(dm, "no request and no wait for events in 10 s of host time");
            return;
        }
        ssize_t n = recv(dm->rpc, &dm->req, sizeof(dm->req), 0);
        if (n <= 0) {
            dm_gone(dm, NULL);
            return;
        }
        if (n < (ssize_t)offsetof(struct evdm_req, blob) ||
            dm->req.blob_len > (size_t)n - offsetof(struct evdm_req, blob)) {
            dm_gone(dm, "sent a malformed request");
            return;
        }
        if (dm->req.op == EVDM_IDLE)
            return;
        if (dm->req.op == EVDM_HYPERCALL)
            do_hypercall(dm);
        else if (dm->req.op == EVDM_WHERE)
            do_where(dm);
        else
            dm->rep = (struct evdm_rep){.rax = -ENOSYS};
        size_t len = offsetof(struct evdm_rep, blob) + dm->rep.blob_len;
        if (send_reply(dm, len) < 0) {
            dm_gone(dm, NULL);
            return;
        }
    }
}

/* What /dev/xen/evtchn does for its reader: every pending, unmasked port of the domain is
 * masked (the driver masks on delivery; xenevtchn_unmask opens it again), cleared, and handed
 * over. The domain's 2-level bitmaps are the guest's to use, as a kernel's are. */
static void deliver(struct host_dm *dm)
{
    struct shared_info *s = (struct shared_info *)dm->sd->shared_info;
    struct vcpu_info *vi = &s->vcpu_info[0];
    bool any = false;
    vi->evtchn_upcall_pending = 0;
    vi->evtchn_pending_sel = 0;
    for (unsigned w = 0; w < sizeof(s->evtchn_pending) / sizeof(s->evtchn_pending[0]); w++) {
        xen_ulong_t bits = s->evtchn_pending[w] & ~s->evtchn_mask[w];
        for (; bits; bits &= bits - 1) {
            unsigned b = (unsigned)__builtin_ctzl(bits);
            uint32_t port = w * 64 + b;
            __atomic_or_fetch(&s->evtchn_mask[w], (xen_ulong_t)1 << b, __ATOMIC_SEQ_CST);
            __atomic_and_fetch(&s->evtchn_pending[w], ~((xen_ulong_t)1 << b), __ATOMIC_SEQ_CST);
            if (send(dm->events, &port, sizeof(port), MSG_NOSIGNAL) < 0) {
                dm_gone(dm, NULL);
                return;
            }
            any = true;
        }
    }
    if (any)
        mark_flights(dm, RT_HANDLE);
}

static void dm_thread(void *arg)
{
    struct host_dm *dm = arg;
    struct machine *m = dm->sd->m;
    dm->sync_at = 0;
    serve(dm); /* its set-up, at time 0 */
    while (dm->alive && !m->finished) {
        dm->sync_at = UINT64_MAX; /* only an event wakes it, and then not at once */
        if (!dm->rung)
            simk_wait_event(dm->doorbell, SIMK_FOREVER);
        dm->rung = false;
        if (!dm->alive || m->finished)
            break;
        /* Its thread runs a wake-up after the event was sent (never within the lookahead:
         * no CPU runs that far past another's action). */
        uint64_t wake = ps_to_cycles(m, dm->wake_ps);
        dm->sync_at = dm->ring_at + (wake > m->lookahead ? wake : m->lookahead);
        simk_wait_ps(machine_delay_ps_until(m, dm->sync_at));
        deliver(dm);
        serve(dm);
    }
}

void host_dm_ring(struct sim_domain *sd, uint64_t at)
{
    struct host_dm *dm = sd->dm;
    if (!dm || !dm->alive || dm->rung)
        return;
    dm->rung = true;
    dm->ring_at = at;
    simk_event_notify(dm->doorbell, 0);
}

void host_dm_page_mapped(struct sim_domain *sd, uint64_t gfn, void *page)
{
    struct host_dm *dm = sd->dm;
    for (unsigned i = 0; i < dm->nr_map; i++)
        if (dm->map[i].gfn == gfn) {
            if (page)
                dm->map[i].page = page;
            else
                dm->map[i] = dm->map[--dm->nr_map];
            return;
        }
    if (!page)
        return;
    if (dm->nr_map == dm->cap_map) {
        unsigned cap = dm->cap_map ? 2 * dm->cap_map : 64;
        __typeof__(dm->map) grown = realloc(dm->map, cap * sizeof(*grown));
        if (!grown)
            return; /* EVDM_WHERE answers -ENOENT: the program's map fails */
        dm->map = grown;
        dm->cap_map = cap;
    }
    dm->map[dm->nr_map++] = (__typeof__(dm->map[0])){gfn, page};
}

static int dm_resolve(const struct machine *m, const char *prog, char *out, size_t len,
                      struct diag *d)
{
    if (prog[0] == '/' || !m->sc->base_dir[0])
        snprintf(out, len, "%s", prog);
    else
        snprintf(out, len, "%s/%s", m->sc->base_dir, prog);
    if (access(out, X_OK) != 0)
        return diag_set(d, "device_model = %s: %s is %s", prog, out,
                        access(out, F_OK) ? "not there (build it with evsim dm-cc)"
                                          : "not executable");
    return 0;
}

int host_dm_domain_build(struct machine *m, struct sim_domain *sd, unsigned index, struct diag *d)
{
    char path[SCENARIO_PATH_MAX * 2 + 2];
    struct diag inner;
    if (dm_resolve(m, sd->cfg->device_model, path, sizeof(path), &inner) < 0)
        return diag_set(d, "%s:%u: domain '%s': %s", m->sc->source, sd->cfg->line, sd->cfg->name,
                        inner.msg);
    struct host_dm *dm = calloc(1, sizeof(*dm));
    if (!dm)
        return diag_set(d, "out of memory for domain '%s'", sd->cfg->name);
    sd->dm = dm;
    dm->sd = sd;
    dm->rpc = dm->events = dm->output = dm->rep_fd = -1;
    dm->wake_ps = sd->cfg->dm_wake_ns * 1000;
    dm->handle_ps = sd->cfg->dm_handle_ns * 1000;
    (void)index;
    if (dm_spawn(dm, path, d) < 0)
        return -1;
    const uint64_t **grown = realloc(m->actor_sync, (m->nr_actors + 1) * sizeof(*grown));
    if (!grown)
        return diag_set(d, "out of memory for domain '%s'", sd->cfg->name);
    m->actor_sync = grown;
    m->actor_sync[m->nr_actors++] = &dm->sync_at;
    dm->sync_at = 0;
    dm->doorbell = simk_event_create("dm_doorbell");
    /* A stack as large as a CPU's: valgrind tells a switch between coroutine stacks from a big
     * frame by the distance (--max-stackframe), which small neighbouring stacks fall below. */
    simk_spawn_thread("device_model", dm_thread, dm, 8u << 20);
    return 0;
}

void host_dm_free(struct sim_domain *sd)
{
    struct host_dm *dm = sd->dm;
    if (!dm)
        return;
    if (dm->alive) {
        kill(dm->pid, SIGKILL);
        waitpid(dm->pid, NULL, 0);
    }
    int fds[] = {dm->rpc, dm->events, dm->output};
    for (unsigned i = 0; i < 3; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    free(dm->map);
    free(dm);
    sd->dm = NULL;
}
