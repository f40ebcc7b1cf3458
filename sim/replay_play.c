/* Replay's player: each vcpu's recorded steps, sorted into its main line and its upcall
 * handlers, played against the model in the new timing.
 *
 * The main line is played in order, each step after its recorded guest cycles. An upcall is not
 * replayed where the recording had it but when Xen delivers one now: the guest-side ABI code
 * (replay_guest.c) takes the events pending now, one at a time, and for each runs the recorded
 * handler work of that port's next event (its "body"). A body is run once Xen has set the port
 * pending as often as when the recorded guest took it, so a send that replays late delays only
 * the work that depended on it. A main-line step that the recording ran after some bodies waits
 * for them: a block or poll is issued as recorded (it is the wait); before any other step the
 * vcpu blocks in Xen (SCHEDOP_block, or hlt for HVM) until they have run, as a guest's wait loop
 * would. Where the new timing leaves nothing to wait for, the steps run back to back. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "models/evtchn.h"
#include "models/hvm_op.h"
#include "models/ioreq.h"
#include "models/xen_public.h"
#include "sim/evpages.h"
#include "sim/hvm_exits.h"
#include "sim/machine.h"
#include "sim/record.h"
#include "sim/replay_int.h"
#include "sim/scenario.h"
#include "sim/vcpu.h"

/* ---- sorting the recorded steps out -------------------------------------------------------- */

static bool is_return(const struct rp_step *s)
{
    return (s->kind == RP_HCALL && s->arg == __HYPERVISOR_iret) || s->kind == RP_HVM_IRET;
}

/* The sorting keeps its state in the vcpu (struct rp_seg): replay_load sorts each step out as
 * soon as it is complete (when the vcpu's next step comes), while it is still in the cache,
 * rather than in a second pass over millions of steps. */

static bool add_main(struct replay_vcpu *v, uint32_t i)
{
    struct rp_seg *g = &v->seg;
    if (!replay_grow((void **)&v->main, &g->cap_main, v->nr_main + 1, sizeof(*v->main)) ||
        !replay_grow((void **)&v->main_after, &g->cap_after, v->nr_main + 1,
                     sizeof(*v->main_after)))
        return false;
    /* the guest code an upcall interrupted goes on here (fits: replay_load checked the sum) */
    rp_set_delta(&v->step[i], rp_delta(&v->step[i]) + g->carry);
    g->carry = 0;
    v->main_after[v->nr_main] = (uint32_t)v->nr_body;
    v->main[v->nr_main++] = i;
    return true;
}

static bool add_body(struct replay_vcpu *v, const struct rp_dep *dep, uint32_t at)
{
    if (!replay_grow((void **)&v->body, &v->seg.cap_body, v->nr_body + 1, sizeof(*v->body)))
        return false;
    v->body[v->nr_body++] =
        (struct rp_body){.port = dep->port, .raised = dep->raised, .steps = {at, at}};
    v->seg.open_body = (int64_t)v->nr_body - 1;
    return true;
}

/* The range the open invocation's steps extend: its last body's, or its prologue. */
static void close_range(struct replay_vcpu *v, uint32_t end)
{
    if (v->seg.open_body >= 0)
        v->body[v->seg.open_body].steps.end = end;
    else
        v->inv[v->nr_inv - 1].prologue.end = end;
}

/* The open invocation ends before step `end`: at its return (iret) or not (-1). */
static void end_invocation(struct replay_vcpu *v, uint32_t end, int64_t iret)
{
    struct rp_invocation *inv = &v->inv[v->nr_inv - 1];
    close_range(v, end);
    inv->nr_body = (uint32_t)v->nr_body - inv->first_body;
    inv->iret = iret;
    if (iret >= 0)
        v->any_iret = iret;
    v->seg.in_inv = false;
}

/* A recorded upcall begins at its UPCALL step u: its prologue follows. */
static bool begin_invocation(struct replay_vcpu *v, uint32_t u)
{
    struct rp_seg *g = &v->seg;
    if (!replay_grow((void **)&v->inv, &g->cap_inv, v->nr_inv + 1, sizeof(*v->inv)))
        return false;
    v->inv[v->nr_inv++] =
        (struct rp_invocation){.prologue = {u + 1, u + 1}, .first_body = (uint32_t)v->nr_body};
    g->carry += rp_delta(&v->step[u]);
    g->in_inv = true;
    g->open_body = -1;
    return true;
}

/* Step i inside an upcall: a return ends it; another UPCALL ends it and begins the next; a
 * write that consumed events ends the range before it and begins a body per event. */
static bool handler_step(struct replay_vcpu *v, const struct sim_replay *rp, uint32_t i)
{
    const struct rp_step *s = &v->step[i];
    if (is_return(s)) {
        end_invocation(v, i, i);
        return true;
    }
    if (s->kind == RP_UPCALL) {
        end_invocation(v, i, -1);
        return begin_invocation(v, i);
    }
    const struct rp_write *w = rp_write_of(rp, s);
    if (!w || !w->nr_deps)
        return true;
    close_range(v, i);
    for (uint32_t k = 0; k < w->nr_deps; k++)
        if (!add_body(v, &rp->dep[w->first_dep + k], i + 1))
            return false;
    return true;
}

/* The cuts of step i's compute: [*first, return) of v->cut (read in step order). */
static size_t cuts_of_step(struct replay_vcpu *v, uint32_t i, size_t *first)
{
    struct rp_seg *g = &v->seg;
    while (g->next_cut < v->nr_cut && v->cut[g->next_cut].step < i)
        g->next_cut++;
    *first = g->next_cut;
    while (g->next_cut < v->nr_cut && v->cut[g->next_cut].step == i)
        g->next_cut++;
    return g->next_cut;
}

/* Step i's cuts, now that its compute is known: an upcall's go, as its cycles do, to the main
 * line's next step (after what is carried already); a main-line step's come after them, and it
 * takes those carried. */
static bool carry_cuts(struct replay_vcpu *v, uint32_t i, bool upcall, bool main)
{
    struct rp_seg *g = &v->seg;
    size_t first, end = cuts_of_step(v, i, &first);
    if (!upcall && !main)
        return true;
    for (size_t k = first; k < end; k++) {
        v->cut[k].at += (int64_t)g->carry;
        if (upcall && (!replay_grow((void **)&g->carried, &g->cap_carried, g->nr_carried + 1,
                                    sizeof(*g->carried))))
            return false;
        if (upcall)
            g->carried[g->nr_carried++] = (uint32_t)k;
    }
    if (main) {
        for (size_t k = 0; k < g->nr_carried; k++)
            v->cut[g->carried[k]].step = i;
        g->nr_carried = 0;
    }
    return true;
}

int replay_segment_step(struct replay_vcpu *v, const struct sim_replay *rp, uint32_t i)
{
    bool ok, upcall = v->step[i].kind == RP_UPCALL;
    if (!carry_cuts(v, i, upcall, !v->seg.in_inv && !upcall))
        return -1;
    if (v->seg.in_inv)
        ok = handler_step(v, rp, i);
    else if (v->step[i].kind == RP_UPCALL)
        ok = begin_invocation(v, i);
    else
        ok = add_main(v, i);
    v->seg.done = i + 1;
    return ok ? 0 : -1;
}

static int by_step(const void *a, const void *b)
{
    const struct rp_cut *x = a, *y = b;
    if (x->step != y->step)
        return x->step < y->step ? -1 : 1;
    return x->at < y->at ? -1 : x->at > y->at;
}

static int by_at(const void *a, const void *b)
{
    const struct rp_cut *x = a, *y = b;
    return x->at < y->at ? -1 : x->at > y->at;
}

static int by_port(const void *a, const void *b, void *ctx)
{
    const struct replay_vcpu *v = ctx;
    const struct rp_body *x = &v->body[*(const uint32_t *)a], *y = &v->body[*(const uint32_t *)b];
    if (x->port != y->port)
        return x->port < y->port ? -1 : 1;
    return *(const uint32_t *)a < *(const uint32_t *)b ? -1 : 1;
}

/* qsort has no context argument in C11: a small insertion-free merge sort with one. */
static void sort_bodies(uint32_t *a, uint32_t *tmp, size_t n, void *ctx)
{
    if (n < 2)
        return;
    size_t h = n / 2;
    sort_bodies(a, tmp, h, ctx);
    sort_bodies(a + h, tmp, n - h, ctx);
    size_t i = 0, j = h, k = 0;
    while (i < h && j < n)
        tmp[k++] = by_port(&a[i], &a[j], ctx) <= 0 ? a[i++] : a[j++];
    while (i < h)
        tmp[k++] = a[i++];
    while (j < n)
        tmp[k++] = a[j++];
    memcpy(a, tmp, n * sizeof(*a));
}

static int index_bodies(struct replay_vcpu *v)
{
    uint32_t *tmp = malloc((v->nr_body ? v->nr_body : 1) * sizeof(*tmp));
    v->order = malloc((v->nr_body ? v->nr_body : 1) * sizeof(*v->order));
    v->ports = malloc((v->nr_body ? v->nr_body : 1) * sizeof(*v->ports));
    if (!tmp || !v->order || !v->ports) {
        free(tmp);
        return -1;
    }
    for (size_t i = 0; i < v->nr_body; i++)
        v->order[i] = (uint32_t)i;
    sort_bodies(v->order, tmp, v->nr_body, v);
    free(tmp);
    for (size_t i = 0; i < v->nr_body; i++) {
        uint32_t port = v->body[v->order[i]].port;
        if (!v->nr_ports || v->ports[v->nr_ports - 1].port != port)
            v->ports[v->nr_ports++] = (struct rp_port_bodies){port, (uint32_t)i, 0, 0};
        v->ports[v->nr_ports - 1].n++;
    }
    return 0;
}

int replay_segment(struct replay_vcpu *v, const struct sim_replay *rp)
{
    for (size_t i = v->seg.done; i < v->n; i++)
        if (replay_segment_step(v, rp, (uint32_t)i) < 0)
            return -1;
    if (v->seg.in_inv) /* the recording ends inside it */
        end_invocation(v, (uint32_t)v->n, -1);
    if (v->nr_cut) /* qsort may not be given a null array: a real recording's vcpus have none */
        qsort(v->cut, v->nr_cut, sizeof(*v->cut), by_step);
    free(v->seg.carried);
    v->seg.carried = NULL;
    v->seg.nr_carried = v->seg.cap_carried = 0;
    return index_bodies(v);
}

void replay_vcpu_free(struct replay_vcpu *v)
{
    free(v->step);
    free(v->main);
    free(v->main_after);
    free(v->body);
    free(v->order);
    free(v->ports);
    free(v->inv);
    free(v->pool);
    free(v->pool_cut);
    free(v->cut);
    free(v->seg.carried);
    free(v->open_call.mem);
    free(v->open_call.bytes);
    replay_real_free(v);
    rp_guest_free(&v->guest);
    free(v);
}

/* ---- the machine's hooks --------------------------------------------------------------------- */

/* Is the replay's machine the recording's own: its scenario, written again, the recorded one? */
static bool own_config(struct sim_replay *rp, const struct scenario *sc)
{
    if (rp->own_config < 0) {
        char *text = rp->text ? scenario_write_ini(sc) : NULL;
        rp->own_config = text && strcmp(text, rp->text) == 0;
        free(text);
    }
    return rp->own_config;
}

int replay_attach(struct sim_replay *rp, struct sim_vcpu *sv)
{
    /* a vcpu the recording has no step of gets an empty list */
    struct replay_vcpu *v = replay_vcpu_of(rp, (uint32_t)sv->sd->d->domid << 16 | sv->v->vcpu_id);
    if (!v || (!v->main && !v->order && replay_segment(v, rp) < 0))
        return -1;
    if (!own_config(rp, sv->sd->m->sc))
        v->nr_cut = 0; /* where the recorded slices ended means nothing in another timing */
    sv->rp = v;
    return rp->real ? replay_real_attach(sv) : 0;
}

void replay_set_regs(struct sim_vcpu *sv, const struct hv_regs *r)
{
    sv->rp->regs = *r;
}

void replay_upcall_delivered(struct sim_vcpu *sv)
{
    sv->rp->credits++;
    sv->sd->m->replay->upcalls++;
}

/* ---- time --------------------------------------------------------------------------------------
 */

static uint64_t *clock_of(struct sim_vcpu *sv)
{
    return &sv->pcpu->local;
}

/* The cycles the slice may still run. None once Xen's work at the slice's start (an upcall's
 * delivery) has taken it to its end: the engine then stops before the guest's first block. */
static uint64_t slice_room(struct sim_vcpu *sv)
{
    uint64_t now = *clock_of(sv);
    sv->slice_ran = true;
    return sv->stop_at > now ? sv->stop_at - now : 0;
}

static void run_guest(struct sim_vcpu *sv, uint64_t cycles)
{
    *clock_of(sv) += cycles;
    sv->guest_cycles += cycles;
}

/* Guest cycles up to which a computation is taken for one basic block, which the engine runs
 * whole or not at all: not when it would end past the slice's end, unless it is the slice's
 * first (then it may cross it). A longer computation is many blocks: it is cut at the end. */
#define RP_ONE_BLOCK 256u

static uint64_t cut_pos(const struct replay_vcpu *v, size_t k)
{
    return (uint64_t)(v->todo_cut[k].at + (int64_t)v->todo_base);
}

/* The cuts up to `done` are passed (a slice ends or begins there once): whether one is at it. */
static bool compute_pass_cuts(struct replay_vcpu *v, uint64_t done)
{
    bool at = false;
    for (; v->nr_todo_cut && cut_pos(v, 0) <= done; v->todo_cut++, v->nr_todo_cut--)
        at |= cut_pos(v, 0) == done;
    return at;
}

/* The cycles from `done` to the compute's next cut (then *cut), or to its end. */
static uint64_t compute_chunk(const struct replay_vcpu *v, uint64_t done, bool *cut)
{
    for (size_t k = 0; k < v->nr_todo_cut; k++)
        if (cut_pos(v, k) > done && cut_pos(v, k) < v->todo_total) {
            *cut = true;
            return cut_pos(v, k) - done;
        }
    *cut = false;
    return v->todo_total - done;
}

/* Run the compute in progress, as far as the slice lets it. Between two recorded cuts the
 * engine ran the guest's blocks in one slice: the replay runs them whole or not at all (as
 * one block), and it ends its slice where the recording's ended (the same place, under the
 * same configuration). Without cuts (another timing moved them: a compute as one block, or
 * many) the rules above apply. */
static bool compute_run(struct sim_vcpu *sv)
{
    struct replay_vcpu *v = sv->rp;
    for (;;) {
        bool first = !sv->slice_ran;
        uint64_t room = slice_room(sv), done = v->todo_total - v->todo;
        if (compute_pass_cuts(v, done) && !first)
            return false;
        if (v->todo == 0)
            return true;
        bool cut;
        uint64_t chunk = compute_chunk(v, done, &cut), run;
        if (chunk <= room)
            run = chunk;
        else if (first && room) /* the slice's first block may cross its end */
            run = chunk <= RP_ONE_BLOCK || cut ? chunk : room;
        else
            run = chunk <= RP_ONE_BLOCK ? 0 : room;
        run_guest(sv, run);
        v->todo -= run;
        if (run < chunk)
            return false;
    }
}

/* A compute begins. One whose first cut is before its start (the block of the action before
 * read the TSC) goes back there first, as the engine took back the block's rest, if that was
 * in this slice's guest code (never before the slice or Xen's work in it). */
static void compute_begin(struct sim_vcpu *sv, uint64_t cycles, const struct rp_cut *cut,
                          size_t nr_cut)
{
    struct replay_vcpu *v = sv->rp;
    uint64_t back = nr_cut && cut[0].at < 0 ? (uint64_t)-cut[0].at : 0;
    if (back &&
        (!sv->slice_ran || back > sv->guest_cycles || back > *clock_of(sv) - sv->pcpu->xen_to)) {
        for (; nr_cut && cut[0].at < 0; cut++, nr_cut--)
            ;
        back = 0;
    }
    *clock_of(sv) -= back;
    sv->guest_cycles -= back;
    v->todo = v->todo_total = cycles + back;
    v->todo_base = back;
    v->todo_cut = cut;
    v->nr_todo_cut = nr_cut;
    v->todo_set = true;
}

bool replay_compute(struct sim_vcpu *sv, uint64_t cycles)
{
    struct replay_vcpu *v = sv->rp;
    if (!v->todo_set)
        compute_begin(sv, cycles, NULL, 0);
    return compute_run(sv);
}

/* The cuts in the compute before step i: *n of them. */
static const struct rp_cut *step_cuts(const struct replay_vcpu *v, uint32_t i, size_t *n)
{
    size_t lo = 0, hi = v->nr_cut;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (v->cut[mid].step < i)
            lo = mid + 1;
        else
            hi = mid;
    }
    size_t end = lo;
    while (end < v->nr_cut && v->cut[end].step == i)
        end++;
    *n = end - lo;
    return v->cut + lo;
}

/* The compute before step i begins, with its cuts. */
static void compute_begin_step(struct sim_vcpu *sv, uint32_t i, uint64_t cycles)
{
    size_t n;
    const struct rp_cut *c = step_cuts(sv->rp, i, &n);
    compute_begin(sv, cycles, c, n);
}

/* replay_compute for the compute before step i: its slices end where the recording's did. */
static bool replay_compute_step(struct sim_vcpu *sv, uint32_t i, uint64_t cycles)
{
    if (!sv->rp->todo_set)
        compute_begin_step(sv, i, cycles);
    return compute_run(sv);
}

static void action_done(struct replay_vcpu *v)
{
    v->todo_set = false;
    v->played++;
}

/* Nothing to play now: the vcpu spins to the slice's end, as the guest's time passes polling. */
static void spin(struct sim_vcpu *sv)
{
    uint64_t room = slice_room(sv);
    run_guest(sv, room);
    if (sv->rp->next_main < sv->rp->nr_main)
        sv->rp->wait_cycles += room;
}

/* The vcpu cannot go on now. The slice's end is not checked here but by compute(): an action
 * the recording had no guest cycles before was in the same basic block as the one before it,
 * which the engine runs whole. */
static bool must_stop(const struct sim_vcpu *sv)
{
    const struct vcpu *v = sv->v;
    return v->run_state != VCPU_RUNNABLE || v->yield_requested || v->blocked_in_xen ||
           v->domain->paused || sv->sd->status != SD_RUNNING || sv->sd->m->finished ||
           sv->stop_requested;
}

/* ---- steps ------------------------------------------------------------------------------------
 */

static void note_divergence(struct sim_vcpu *sv, uint32_t nr, uint64_t recorded, uint64_t replayed)
{
    struct sim_replay *rp = sv->sd->m->replay;
    rp->result_changed++;
    if (rp->nr_examples < RP_EXAMPLES)
        rp->example[rp->nr_examples++] = (struct rp_divergence){
            sv->sd->d->domid, sv->v->vcpu_id, nr, recorded, replayed, *clock_of(sv)};
}

/* The guest memory Xen reads for the hypercall, as it was in the recording. */
static bool all_zero(const uint8_t *p, size_t len)
{
    uint64_t w;
    for (; len >= sizeof(w); p += sizeof(w), len -= sizeof(w)) {
        memcpy(&w, p, sizeof(w));
        if (w)
            return false;
    }
    for (; len; p++, len--)
        if (*p)
            return false;
    return true;
}

static void hcall_memory(struct sim_vcpu *sv, const struct rp_hcall *h)
{
    const struct sim_replay *rp = sv->sd->m->replay;
    struct sim_domain *sd = sv->sd;
    for (uint32_t i = 0; i < h->mem_n; i++) {
        const struct rp_mem *m = &rp->mem[h->mem_first + i];
        if (m->gpa < XEN_PAGE_SIZE || m->gpa > sd->ram_size || m->len > sd->ram_size - m->gpa)
            continue;
        if (m->data == RP_ZEROS) {
            /* Mostly memory nobody wrote yet: reading it commits nothing, writing would. */
            if (!all_zero(sd->ram + m->gpa, m->len))
                memset(sd->ram + m->gpa, 0, m->len);
        } else
            memcpy(sd->ram + m->gpa, rp->bytes + m->data, m->len);
    }
}

static void no_frame(struct sim_vcpu *sv, struct hv_regs *r)
{
    (void)sv, (void)r; /* a replayed hypercall has every register it needs */
}

/* A re-execution of a hypercall the recording continued and the replay did not: skipped. */
static bool skip_reexecution(struct sim_vcpu *sv, const struct rp_hcall *h)
{
    struct replay_vcpu *v = sv->rp;
    if (!v->skipping || h->at != v->skip_at)
        return v->skipping = false;
    v->skipping = h->continued;
    sv->sd->m->replay->skipped++;
    return true;
}

static void issue(struct sim_vcpu *sv, struct hv_regs *r, uint64_t at)
{
    bool have_frame = true;
    r->rip = at + 2;
    sv->sd->m->replay->hypercalls++;
    sim_hypercall(sv, r, 2, &have_frame, no_frame);
}

/* At the guest's last hypercall site. */
void replay_issue(struct sim_vcpu *sv, struct hv_regs *r)
{
    issue(sv, r, sv->rp->regs.rip ? sv->rp->regs.rip - 2 : 0);
}

/* A deadline the guest computed from the time it read keeps its distance from the hypercall:
 * an absolute time t becomes t shifted by how far the replay is from the recording there. A
 * guest that steps its deadlines by a fixed period (a grid, as a periodic tick) keeps the shift
 * it had, so its grid stays one; one that sets "now + interval" is shifted anew each time.
 * 0 (no deadline) stays. */
static uint64_t rebase(struct sim_vcpu *sv, uint64_t recorded, uint64_t t)
{
    struct machine *m = sv->sd->m;
    struct replay_vcpu *v = sv->rp;
    if (!t)
        return 0;
    uint64_t then = (uint64_t)(((unsigned __int128)recorded * 1000000u) / m->replay->rec_khz);
    uint64_t now = cost_cycles_to_ns(m->cost, *clock_of(sv));
    bool grid = v->last_deadline && t > v->last_deadline && t - v->last_deadline == v->last_period;
    if (!grid)
        v->timer_shift = (int64_t)(now - then);
    v->last_period = v->last_deadline && t > v->last_deadline ? t - v->last_deadline : 0;
    v->last_deadline = t;
    m->replay->timeouts_moved += v->timer_shift != 0;
    int64_t moved = (int64_t)t + v->timer_shift;
    return moved > 0 ? (uint64_t)moved : 1;
}

static void rebase_in_memory(struct sim_vcpu *sv, uint64_t recorded, uint64_t gpa)
{
    struct sim_domain *sd = sv->sd;
    uint64_t t;
    if (gpa < XEN_PAGE_SIZE || gpa > sd->ram_size || sd->ram_size - gpa < sizeof(t))
        return;
    memcpy(&t, sd->ram + gpa, sizeof(t));
    t = rebase(sv, recorded, t);
    memcpy(sd->ram + gpa, &t, sizeof(t));
}

/* The hypercalls that take an absolute system time: set_timer_op, VCPUOP_set_singleshot_timer,
 * SCHEDOP_poll's timeout. */
static void rebase_timeouts(struct sim_vcpu *sv, uint64_t recorded, struct hv_regs *r)
{
    if (r->rax == __HYPERVISOR_set_timer_op)
        r->rdi = rebase(sv, recorded, r->rdi);
    else if (r->rax == __HYPERVISOR_vcpu_op && r->rdi == VCPUOP_set_singleshot_timer)
        rebase_in_memory(sv, recorded,
                         r->rdx + offsetof(struct vcpu_set_singleshot_timer, timeout_abs_ns));
    else if (r->rax == __HYPERVISOR_sched_op && r->rdi == SCHEDOP_poll)
        rebase_in_memory(sv, recorded, r->rsi + offsetof(struct sched_poll, timeout));
}

/* A guest whose hypercall fails where the recording's succeeded (its peer has not set up its
 * side yet, in the new timing) tries again after others ran, as a guest's set-up loop does. */
#define RP_MAX_RETRIES 10000u

static bool try_again(struct sim_vcpu *sv, const struct rp_hcall *h, uint64_t rc)
{
    struct replay_vcpu *v = sv->rp;
    if (!h->have_result || (int64_t)h->rc < 0 || (int64_t)rc >= 0 || v->retries >= RP_MAX_RETRIES)
        return false;
    v->retries++;
    sv->sd->m->replay->retries++;
    struct hv_regs y = v->regs;
    y.rax = __HYPERVISOR_sched_op;
    y.rdi = SCHEDOP_yield;
    y.rsi = 0;
    issue(sv, &y, h->at);
    return true;
}

/* A bind returned a port: under the recorded number, or another one to rename from now on. */
static void note_bound(struct sim_vcpu *sv, const struct rp_hcall *h, uint64_t nr, uint64_t cmd,
                       uint64_t arg, uint64_t rax)
{
    struct sim_domain *sd = sv->sd;
    int off = nr == __HYPERVISOR_event_channel_op ? replay_bound_port_offset(cmd) : -1;
    uint32_t port;
    if (off < 0 || (int64_t)rax < 0 || !h->have_result || (int64_t)h->rc < 0 ||
        arg < XEN_PAGE_SIZE || arg + (uint64_t)off + sizeof(port) > sd->ram_size)
        return;
    memcpy(&port, sd->ram + arg + off, sizeof(port));
    replay_port_bound(replay_domain_of(sd->m->replay, sd->d->domid, true), h->bound, port);
}

static bool play_hcall(struct sim_vcpu *sv, const struct rp_step *s)
{
    struct sim_replay *rp = sv->sd->m->replay;
    struct replay_vcpu *v = sv->rp;
    const struct rp_hcall *h = rp_hcall_of(rp, s);
    if (skip_reexecution(sv, h))
        return true;
    struct hv_regs r = v->regs;
    if (v->reissue) {
        r = v->again;
        v->reissue = false;
    } else {
        hcall_memory(sv, h);
        r.rax = s->arg;
        r.rdi = h->args[0], r.rsi = h->args[1], r.rdx = h->args[2];
        r.r10 = h->args[3], r.r8 = h->args[4], r.r9 = h->args[5];
        r.rsp = h->rsp;
        r.rflags = h->rflags;
        replay_rename_args(sv, &r);
        rebase_timeouts(sv, rp_call_cycles(rp, s), &r);
    }
    uint64_t cmd = r.rdi, arg = r.rsi;
    issue(sv, &r, h->at);
    note_bound(sv, h, s->arg, cmd, arg, r.rax);
    if (s->arg == __HYPERVISOR_event_channel_op)
        rp_abi_grow(sv);
    bool continued = r.rip == h->at;
    v->regs = r;
    if (continued && !h->continued) { /* issue it again, as the guest would */
        rp->continuations++;
        v->again = r;
        v->reissue = true;
        return false;
    }
    if (!continued && try_again(sv, h, r.rax))
        return false;
    v->retries = 0;
    v->early = !continued && h->have_result && (int64_t)h->rc < 0 && (int64_t)r.rax >= 0;
    if (!continued && h->continued) {
        rp->continuations++;
        v->skipping = true;
        v->skip_at = h->at;
    } else if (!continued && h->have_result && r.rax != h->rc) {
        note_divergence(sv, s->arg, h->rc, r.rax);
    }
    return true;
}

/* The page an access names: the domain's event page registered at that address now. */
static int page_index(struct sim_vcpu *sv, unsigned slot)
{
    struct sim_domain *sd = sv->sd;
    const struct rp_domain *d = sv->rp->dom;
    uint64_t gpa = d && slot <= XT_ACCESS_SLOTS ? d->pages.gpa[slot] : 0;
    for (unsigned i = sd->nr_evpage; i-- > 0;)
        if (sd->evpage[i].gpa == gpa && !sd->evpage[i].released && !sd->evpage[i].hole)
            return (int)i;
    return -1;
}

/* Has Xen set every port this write consumes pending as often as in the recording? */
static bool deps_met(struct sim_vcpu *sv, const struct rp_step *s)
{
    const struct sim_replay *rp = sv->sd->m->replay;
    const struct rp_write *w = rp_write_of(rp, s);
    for (uint32_t i = 0; w && i < w->nr_deps; i++) {
        const struct rp_dep *dep = &rp->dep[w->first_dep + i];
        const struct rp_domain *d = sv->rp->dom;
        const struct port_stats *ps = port_stats(sv->sd->d, replay_port_now(d, dep->port));
        if (!ps || ps->raised < dep->raised)
            return false;
    }
    return true;
}

/* The recorded device model moving a buffered ring's read pointer: it drained the ring, so now
 * it drains what is queued now (the recorded pointer belongs to the recorded timing). */
static bool drains_buffered_ring(const struct sim_event_page *pg, const struct rp_step *s,
                                 uint64_t *value)
{
    bool buffered = false;
    if (pg->kind != HV_PAGE_IOREQ || !pg->target || !pg->target->d ||
        s->arg != offsetof(buffered_iopage_t, read_pointer) || s->size != 4 ||
        !ioreq_server_of_page(pg->target->d, pg->host, &buffered) || !buffered)
        return false;
    *value = ((const volatile buffered_iopage_t *)pg->host)->write_pointer;
    return true;
}

/* An access of the main line (or a handler's own, such as a mask), as recorded: a write applies
 * the bits it changed to what is there now. One that consumes events waits for them. */
static bool play_access(struct sim_vcpu *sv, const struct rp_step *s)
{
    struct sim_replay *rp = sv->sd->m->replay;
    bool write = s->kind == RP_WRITE;
    uint64_t old = 0;
    if (!deps_met(sv, s))
        return false;
    rp->accesses++;
    rp->consumptions += rp_nr_deps(rp, s);
    const struct rp_domain *d = sv->rp->dom;
    if (rp_abi_changed(sv) || (d && d->renamed)) {
        /* what it did to its ports, on the replay's ABI and numbers */
        struct rp_port_ref ops[128];
        int n = rp_abi_decode(sv, s, ops, 128);
        for (int i = 0; i < n; i++)
            rp_guest_port_op(sv, replay_port_now(d, ops[i].port), ops[i].op);
        if (n >= 0)
            return true;
    }
    if (s->slot == 0) {
        if (!write) {
            sim_shared_info_read(sv, s->arg, s->size);
            return true;
        }
        const struct rp_write *w = rp_write_of(rp, s);
        memcpy(&old, sv->sd->shared_info + s->arg, s->size);
        sim_shared_info_write(sv, s->arg, s->size, (old & ~w->clear) | w->set);
        return true;
    }
    int page = page_index(sv, s->slot);
    if (page < 0) { /* not an event page now: plain memory, no price */
        rp->unknown_pages++;
        return true;
    }
    if (!write) {
        sim_evpage_read(sv, (unsigned)page, s->arg, s->size);
        return true;
    }
    const struct rp_write *w = rp_write_of(rp, s);
    uint64_t value;
    memcpy(&old, sv->sd->evpage[page].host + s->arg, s->size);
    if (!drains_buffered_ring(&sv->sd->evpage[page], s, &value))
        value = (old & ~w->clear) | w->set;
    sim_evpage_write(sv, (unsigned)page, s->arg, s->size, value);
    return true;
}

/* Main line: where an upcall entered in the recording (a deliverable upcall is taken where Xen
 * delivers it now; this step is only the recording's). */
static bool play_upcall(struct sim_vcpu *sv, const struct rp_step *s)
{
    (void)sv, (void)s;
    return true;
}

static bool play_hvm_iret(struct sim_vcpu *sv, const struct rp_step *s)
{
    (void)s;
    sv->rp->regs.rflags |= X86_EFLAGS_IF; /* the frame's flags: the interrupt was taken */
    sim_hvm_iret(sv);
    return true;
}

static bool play_hlt(struct sim_vcpu *sv, const struct rp_step *s)
{
    struct replay_vcpu *v = sv->rp;
    if (s->arg)
        v->regs.rflags |= X86_EFLAGS_IF;
    else
        v->regs.rflags &= ~(uint64_t)X86_EFLAGS_IF;
    sim_hvm_halt(sv, s->arg != 0);
    return true;
}

/* A port or MMIO access, re-issued to Xen as the guest made it: Xen answers it, or a server's
 * device model does while the vcpu waits (then the slice stops, and the vcpu goes on once
 * answered: replay_run_slice). A read's answer is the replay's; nothing here uses it. */
static bool play_io(struct sim_vcpu *sv, const struct rp_step *s)
{
    struct sim_replay *rp = sv->sd->m->replay;
    const struct rp_io *io = &rp->io[s->ref];
    ioreq_t p = {.addr = io->addr,
                 .size = XT_IO_SIZE(io->info),
                 .count = XT_IO_COUNT(io->info),
                 .state = STATE_IOREQ_READY,
                 .dir = XT_IO_DIR(io->info),
                 .df = XT_IO_DF(io->info),
                 .data_is_ptr = XT_IO_PTR(io->info),
                 .type = XT_IO_TYPE(io->info)};
    if (p.dir == IOREQ_WRITE || p.data_is_ptr)
        p.data = io->data;
    rp->io_accesses++;
    sim_hvm_io_replayed(sv, &p, XT_IO_EMULATE(io->info) != 0, XT_IO_MORE(io->info) != 0);
    return true;
}

static bool (*const players[RP_KINDS])(struct sim_vcpu *sv, const struct rp_step *s) = {
    [RP_HCALL] = play_hcall,   [RP_READ] = play_access,       [RP_WRITE] = play_access,
    [RP_UPCALL] = play_upcall, [RP_HVM_IRET] = play_hvm_iret, [RP_HLT] = play_hlt,
    [RP_IO] = play_io,
};

/* Inside a handler, the recorded guest's own event-channel code (reading selectors, bitmaps and
 * upcall_pending, clearing PENDING, unlinking FIFO events) is replaced by replay_guest.c's on
 * what is pending now. What its port handlers did stays: setting or clearing a mask, reading
 * the time, an ioreq page's state. */
static bool vcpu_info_event_byte(uint64_t offset)
{
    uint64_t o = offset % sizeof(struct vcpu_info);
    return o == offsetof(struct vcpu_info, evtchn_upcall_pending) ||
           (o >= offsetof(struct vcpu_info, evtchn_pending_sel) &&
            o < offsetof(struct vcpu_info, evtchn_pending_sel) + sizeof(xen_ulong_t));
}

static bool shared_info_event_code(const struct rp_step *s)
{
    const uint64_t pend = offsetof(struct shared_info, evtchn_pending),
                   mask = offsetof(struct shared_info, evtchn_mask),
                   end = mask + sizeof(((struct shared_info *)0)->evtchn_mask);
    if (s->arg < sizeof(((struct shared_info *)0)->vcpu_info))
        return vcpu_info_event_byte(s->arg);
    if (s->arg >= pend && s->arg < mask)
        return true;
    return s->arg >= mask && s->arg < end && s->kind == RP_READ;
}

static bool event_code_access(struct sim_vcpu *sv, const struct rp_step *s)
{
    static const uint64_t fifo_masked =
        1ull << EVTCHN_FIFO_MASKED | 1ull << (32 + EVTCHN_FIFO_MASKED);
    if (s->kind != RP_READ && s->kind != RP_WRITE)
        return false;
    if (s->slot == 0)
        return shared_info_event_code(s);
    const struct rp_domain *d = sv->rp->dom;
    unsigned kind = d ? d->pages.kind[s->slot] : HV_PAGE_KINDS;
    if (kind == HV_PAGE_KINDS) { /* not said: the page there now */
        int page = page_index(sv, s->slot);
        if (page < 0)
            return false;
        kind = sv->sd->evpage[page].kind;
    }
    switch (kind) {
    case HV_PAGE_SHARED_INFO:
        return shared_info_event_code(s);
    case HV_PAGE_VCPU_INFO:
        return vcpu_info_event_byte(s->arg);
    case HV_PAGE_FIFO_ARRAY:
    case HV_PAGE_3L_MASK: { /* the handler's own: masking */
        const struct rp_write *w = rp_write_of(sv->sd->m->replay, s);
        return !w || (kind == HV_PAGE_FIFO_ARRAY && ((w->clear | w->set) & fifo_masked) == 0);
    }
    case HV_PAGE_IOREQ:
        return false;
    default:
        return true;
    }
}

static bool same_memory(const struct sim_replay *rp, const struct rp_hcall *x,
                        const struct rp_hcall *y)
{
    if (x->mem_n != y->mem_n)
        return false;
    for (uint32_t i = 0; i < x->mem_n; i++) {
        const struct rp_mem *a = &rp->mem[x->mem_first + i], *b = &rp->mem[y->mem_first + i];
        if (a->gpa != b->gpa || a->len != b->len ||
            (a->data == RP_ZEROS) != (b->data == RP_ZEROS) ||
            (a->data != RP_ZEROS && memcmp(rp->bytes + a->data, rp->bytes + b->data, a->len)))
            return false;
    }
    return true;
}

/* The same hypercall made again: number, first three arguments (what the hypercalls replay
 * meets take; the other registers hold whatever the guest left there) and the memory Xen
 * read. */
static bool same_call(const struct sim_replay *rp, const struct rp_step *a, const struct rp_step *b)
{
    if (a->kind != RP_HCALL || b->kind != RP_HCALL || a->arg != b->arg)
        return false;
    const struct rp_hcall *x = rp_hcall_of(rp, a), *y = rp_hcall_of(rp, b);
    return !memcmp(x->args, y->args, 3 * sizeof(x->args[0])) && same_memory(rp, x, y);
}

/* Steps a guest's retry loop makes between two attempts: giving the CPU away, looking at the
 * pages it shares with Xen (the time, an event). */
static bool between_attempts(const struct sim_replay *rp, const struct rp_step *t)
{
    uint64_t cmd = t->kind == RP_HCALL ? rp_hcall_of(rp, t)->args[0] : 0;
    if (t->kind == RP_READ || t->kind == RP_WRITE)
        return true;
    return t->kind == RP_HCALL && t->arg == __HYPERVISOR_sched_op &&
           (cmd == SCHEDOP_yield || cmd == SCHEDOP_block || cmd == SCHEDOP_poll);
}

/* How far a retry loop's next attempt may be. */
#define RP_RETRY_WINDOW 256u

/* The hypercall succeeded where the recorded one failed: the recorded guest's loop around it
 * (its further attempts, and what it did between them) is not made, up to the attempt that
 * succeeded in the recording. The steps that follow are step[map[pos]] (the main line) or
 * step[pos] (a handler's), pos < end. */
static size_t skip_repeats(struct sim_vcpu *sv, const struct rp_step *s, const uint32_t *map,
                           size_t pos, size_t end)
{
    struct replay_vcpu *v = sv->rp;
    struct sim_replay *rp = sv->sd->m->replay;
    size_t last = SIZE_MAX;
    v->early = false;
    for (size_t j = pos; j < end && j < pos + RP_RETRY_WINDOW; j++) {
        const struct rp_step *t = &v->step[map ? map[j] : j];
        if (same_call(rp, s, t)) {
            last = j;
            if ((int64_t)rp_hcall_of(rp, t)->rc >= 0)
                break;
        } else if (!between_attempts(rp, t)) {
            break;
        }
    }
    if (last == SIZE_MAX)
        return pos;
    rp->repeats_skipped += last + 1 - pos;
    return last + 1;
}

/* ---- the handler ------------------------------------------------------------------------------
 */

/* Where body b's own steps begin and end. Before them: the rest of the write that took its event
 * (the other half of an 8-byte word, which the engine writes as two). After them: the recorded
 * scan for the next event, to the handler's end. Event-channel code between them is the port
 * handler's own (it looked at a mask, say). */
static void body_bounds(struct sim_vcpu *sv, struct rp_body *b)
{
    const struct rp_step *step = sv->rp->step;
    uint32_t h = b->steps.first, t = b->steps.end;
    const struct rp_step *took = h > 0 ? &step[h - 1] : NULL;
    while (h < t && took && step[h].kind == RP_WRITE && step[h].slot == took->slot &&
           (step[h].arg & ~7u) == (took->arg & ~7u))
        h++;
    while (t > h && event_code_access(sv, &step[t - 1]))
        t--;
    b->head = h;
    b->tail = t;
}

static bool pool_add(struct replay_vcpu *v, uint32_t step)
{
    if (v->nr_pool == v->cap_pool) {
        size_t cap = v->cap_pool ? 2 * v->cap_pool : 64;
        uint32_t *p = realloc(v->pool, cap * sizeof(*p));
        if (!p)
            return false; /* the replayed code's accesses then take no cycles of their own */
        v->pool = p;
        v->cap_pool = cap;
    }
    v->pool[v->nr_pool++] = step;
    v->pooled_cycles += rp_delta(&v->step[step]);
    v->pooled++;
    return true;
}

static void pool_range(struct sim_vcpu *sv, uint32_t first, uint32_t end)
{
    for (uint32_t i = first; i < end; i++)
        if (event_code_access(sv, &sv->rp->step[i]) && !pool_add(sv->rp, i))
            return;
}

/* The recorded upcall's event-channel code, which the replayed code stands for: the guest
 * cycles before each of its accesses, in order (the prologue's, each event's taking, the scan
 * after each body). */
static void fill_pool(struct sim_vcpu *sv, const struct rp_invocation *inv)
{
    struct replay_vcpu *v = sv->rp;
    pool_range(sv, inv->prologue.first, inv->prologue.end);
    for (uint32_t k = 0; k < inv->nr_body; k++) {
        struct rp_body *b = &v->body[inv->first_body + k];
        body_bounds(sv, b);
        if (b->steps.first > 0) /* the write that took its event, and the rest of its taking */
            pool_range(sv, b->steps.first - 1, b->head);
        pool_range(sv, b->tail, b->steps.end);
    }
}

/* Step i's part of a compute that began `at` cycles before it: its cuts there. */
static void pool_cuts(struct replay_vcpu *v, uint32_t i, uint64_t at)
{
    size_t n;
    const struct rp_cut *c = step_cuts(v, i, &n);
    if (!replay_grow((void **)&v->pool_cut, &v->cap_pool_cut, v->nr_pool_cut + n,
                     sizeof(*v->pool_cut)))
        return; /* the compute then ends its slices by the rules alone */
    for (size_t k = 0; k < n; k++)
        v->pool_cut[v->nr_pool_cut++] = (struct rp_cut){i, c[k].at + (int64_t)at};
}

/* The guest cycles before the replayed code's next n accesses (UINT32_MAX: all left), and then
 * before step `last` (-1: none), begun as one compute with their cuts. Accesses beyond the
 * recorded upcall's (the replay's scan finds more pending than the recorded one did) take the
 * recorded scans' mean so far: the guest's code would have run for them too. */
static void pool_take(struct sim_vcpu *sv, unsigned n, int64_t last)
{
    struct replay_vcpu *v = sv->rp;
    uint64_t c = 0;
    bool all = n == UINT32_MAX;
    v->nr_pool_cut = 0;
    for (; n && v->next_pool < v->nr_pool; n--) {
        uint32_t i = v->pool[v->next_pool++];
        pool_cuts(v, i, c);
        c += rp_delta(&v->step[i]);
    }
    if (!all && n && v->pooled)
        c += n * (v->pooled_cycles / v->pooled);
    if (last >= 0) {
        pool_cuts(v, (uint32_t)last, c);
        c += rp_delta(&v->step[last]);
    }
    /* a step's cut before its start (the TSC read) may come before the last step's */
    if (v->nr_pool_cut)
        qsort(v->pool_cut, v->nr_pool_cut, sizeof(*v->pool_cut), by_at);
    compute_begin(sv, c, v->pool_cut, v->nr_pool_cut);
}

/* A delivery: the next recorded upcall's prologue runs, then the events pending now. */
static void begin_handler(struct sim_vcpu *sv)
{
    struct replay_vcpu *v = sv->rp;
    v->credits--;
    v->chain_port = -1;
    v->range_body = -1;
    /* Delivered at a slice's start: the main line's slice ended where it is, as the recording's
     * did there (its cut, which the main line's compute has from the upcall's). */
    if (!sv->slice_ran && v->phase == RP_MAIN) {
        if (v->todo_set)
            compute_pass_cuts(v, v->todo_total - v->todo);
        else
            v->main_cut_passed = true;
    }
    v->main_todo_saved = v->todo_set; /* an upcall comes between two instructions */
    v->main_todo = v->todo;
    v->main_total = v->todo_total;
    v->main_cut = v->todo_cut;
    v->nr_main_cut = v->nr_todo_cut;
    v->main_base = v->todo_base;
    v->todo_set = false;
    v->nr_pool = v->next_pool = 0;
    if (v->next_inv < v->nr_inv) {
        const struct rp_invocation *inv = &v->inv[v->next_inv++];
        v->range = inv->prologue;
        v->inv_iret = inv->iret >= 0 ? inv->iret : v->any_iret;
        fill_pool(sv, inv);
    } else {
        v->range = (struct rp_range){0, 0};
        v->inv_iret = v->any_iret;
    }
    v->cursor = v->range.first;
    v->phase = RP_RANGE;
}

static struct rp_port_bodies *port_bodies(struct replay_vcpu *v, uint32_t port)
{
    size_t lo = 0, hi = v->nr_ports;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (v->ports[mid].port < port)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < v->nr_ports && v->ports[lo].port == port ? &v->ports[lo] : NULL;
}

/* The next body of the port being handled that Xen's sends so far have made due, or -1. */
static int64_t next_body(struct replay_vcpu *v)
{
    struct rp_port_bodies *pb = v->chain_port >= 0 ? port_bodies(v, (uint32_t)v->chain_port) : NULL;
    if (!pb || pb->next >= pb->n)
        return -1;
    uint32_t b = v->order[pb->first + pb->next];
    if (v->body[b].raised > v->chain_raised)
        return -1;
    pb->next++;
    return b;
}

static void begin_body(struct sim_vcpu *sv, int64_t b)
{
    struct replay_vcpu *v = sv->rp;
    v->range_body = b;
    v->range = v->body[b].steps;
    body_bounds(sv, &v->body[b]);
    v->cursor = v->range.first;
    v->phase = RP_RANGE;
}

/* The handler returns: the recorded return (PV HYPERVISOR_iret with its frame, or iretq), or
 * for an upcall the recording never had, the guest re-enabling events itself. */
static void end_handler(struct sim_vcpu *sv)
{
    struct replay_vcpu *v = sv->rp;
    rp_guest_upcall_done(&v->guest);
    v->phase = RP_MAIN;
    v->chain_port = -1;
    v->todo_set = v->main_todo_saved; /* the main line's compute goes on */
    v->todo = v->main_todo;
    v->todo_total = v->main_total;
    v->todo_cut = v->main_cut;
    v->nr_todo_cut = v->nr_main_cut;
    v->todo_base = v->main_base;
    v->main_todo_saved = false;
    if (v->inv_iret >= 0) {
        players[v->step[v->inv_iret].kind](sv, &v->step[v->inv_iret]);
        return;
    }
    if (sv->sd->cfg->hvm) {
        sim_hvm_iret(sv);
        return;
    }
    struct vcpu_info *vi = vcpu_info_ptr(sv->v);
    if (vi)
        rp_guest_write(sv, &vi->evtchn_upcall_mask, 1, 0);
}

enum rp_result { RP_GO_ON, RP_STOP };

/* The guest's event-channel code: the next body of the port being handled, else its next
 * action (after the recorded cycles before it), which may take an event and run the recorded
 * work for it; when it is done, the handler returns. */
static enum rp_result scan(struct sim_vcpu *sv)
{
    struct replay_vcpu *v = sv->rp;
    int64_t b = next_body(v);
    if (b < 0) {
        if (!v->todo_set) {
            unsigned n = rp_guest_plan(sv, &v->guest);
            if (n == 0) {
                v->phase = RP_RETURN;
                return RP_GO_ON;
            }
            pool_take(sv, n, -1);
        }
        if (!replay_compute(sv, 0))
            return RP_STOP;
        v->todo_set = false;
        int64_t port = rp_guest_act(sv, &v->guest);
        if (port < 0)
            return RP_GO_ON;
        const struct port_stats *ps = port_stats(sv->sd->d, (uint32_t)port);
        const struct rp_domain *d = sv->rp->dom;
        v->chain_port = replay_port_recorded(d, (uint32_t)port); /* its bodies' number */
        v->chain_raised = ps ? ps->raised : 0;
        b = next_body(v);
        if (b < 0) {
            v->events_unrecorded++; /* taken now, but the recording has no work for it */
            return RP_GO_ON;
        }
    }
    v->body[b].run = true;
    v->bodies_run++;
    begin_body(sv, b);
    return RP_GO_ON;
}

/* The recorded handler's last cycles (with those of event-channel code it ran and the replayed
 * code did not need), then its return. */
static enum rp_result handler_return(struct sim_vcpu *sv)
{
    struct replay_vcpu *v = sv->rp;
    if (!v->todo_set)
        pool_take(sv, UINT32_MAX, v->inv_iret);
    if (!replay_compute(sv, 0))
        return RP_STOP;
    action_done(v);
    end_handler(sv);
    return RP_GO_ON;
}

static enum rp_result play_range_step(struct sim_vcpu *sv)
{
    struct replay_vcpu *v = sv->rp;
    if (v->cursor >= v->range.end) {
        v->phase = RP_SCAN;
        return RP_GO_ON;
    }
    const struct rp_step *s = &v->step[v->cursor];
    bool code = event_code_access(sv, s);
    /* the prologue's and the trailing scan's: the replayed code's, their cycles in the pool */
    const struct rp_body *b = v->range_body >= 0 ? &v->body[v->range_body] : NULL;
    if (s->kind == RP_UPCALL || (code && (!b || v->cursor < b->head || v->cursor >= b->tail))) {
        v->cursor++;
        return RP_GO_ON;
    }
    if (!replay_compute_step(sv, v->cursor, rp_delta(s)))
        return RP_STOP;
    /* the handler's own look at the bitmaps is made; its own writes to them are not (the
     * replayed code keeps them consistent) */
    if (!(code && s->kind == RP_WRITE) && !players[s->kind](sv, s)) {
        if (v->retries || v->reissue)
            return must_stop(sv) ? RP_STOP : RP_GO_ON;
        spin(sv);
        return RP_STOP;
    }
    action_done(v);
    v->cursor++;
    if (v->early)
        v->cursor = (uint32_t)skip_repeats(sv, s, NULL, v->cursor, v->range.end);
    return RP_GO_ON;
}

/* ---- the main line ----------------------------------------------------------------------------
 */

/* A step where the guest waits for events: SCHEDOP_block or SCHEDOP_poll, an HVM hlt. */
static bool is_wait(const struct sim_replay *rp, const struct rp_step *s, bool *poll)
{
    *poll = false;
    if (s->kind == RP_HLT)
        return s->arg != 0;
    if (s->kind != RP_HCALL || s->arg != __HYPERVISOR_sched_op)
        return false;
    uint64_t cmd = rp_hcall_of(rp, s)->args[0];
    *poll = cmd == SCHEDOP_poll;
    return cmd == SCHEDOP_block || cmd == SCHEDOP_poll;
}

/* Would SCHEDOP_block (or hlt) block sv now: no event for it to take? */
static bool would_block(struct sim_vcpu *sv)
{
    if (sv->sd->cfg->hvm)
        return hvm_upcall_vector(sv->v) == 0;
    const struct vcpu_info *vi = vcpu_info_ptr(sv->v);
    return !vi || !vi->evtchn_upcall_pending;
}

/* A recorded wait the new timing does not need: what it waited for has happened already (the
 * events came earlier and were handled), and it would block with nothing left to come for it.
 * The guest's loop would have found its condition true and not called it. Not the last step:
 * a guest that ends blocked stays so. */
static bool wait_not_needed(struct sim_vcpu *sv, const struct rp_step *s)
{
    const struct replay_vcpu *v = sv->rp;
    bool poll;
    size_t j = v->next_main;
    return is_wait(sv->sd->m->replay, s, &poll) && !poll && j + 1 < v->nr_main &&
           v->bodies_run >= v->main_after[j + 1] && would_block(sv);
}

/* The bodies the recording ran before this step have not all run: the guest waits for events
 * in Xen, as its loop around SCHEDOP_block (or hlt) would. */
static void wait_in_xen(struct sim_vcpu *sv)
{
    replay_wait_for_events(sv);
}

void replay_wait_for_events(struct sim_vcpu *sv)
{
    if (sv->sd->cfg->hvm) {
        sim_hvm_halt(sv, true);
        sim_vcpu_request_stop(sv);
        return;
    }
    replay_block(sv);
}

void replay_block(struct sim_vcpu *sv)
{
    struct hv_regs r = sv->rp->regs;
    r.rax = __HYPERVISOR_sched_op;
    r.rdi = SCHEDOP_block;
    r.rsi = 0;
    replay_issue(sv, &r);
}

/* The recorded steps are all played. A guest whose last step was a wait waits on (in Xen: the
 * recording ended with it blocked); one that was computing computes on. */
static enum rp_result steps_done(struct sim_vcpu *sv)
{
    struct replay_vcpu *v = sv->rp;
    bool poll;
    if (v->nr_main && is_wait(sv->sd->m->replay, &v->step[v->main[v->nr_main - 1]], &poll)) {
        wait_in_xen(sv);
        return RP_STOP;
    }
    spin(sv);
    return RP_STOP;
}

static enum rp_result play_main_step(struct sim_vcpu *sv)
{
    struct replay_vcpu *v = sv->rp;
    struct sim_replay *rp = sv->sd->m->replay;
    if (v->next_main >= v->nr_main)
        return steps_done(sv);
    const struct rp_step *s = &v->step[v->main[v->next_main]];
    if (!v->todo_set) {
        compute_begin_step(sv, v->main[v->next_main], rp_delta(s));
        /* the slice that an upcall began at was the recording's cut there */
        if (v->main_cut_passed)
            compute_pass_cuts(v, 0);
        v->main_cut_passed = false;
    }
    if (!compute_run(sv))
        return RP_STOP;
    rp_abi_setup(sv);
    if (rp_abi_setup_call(sv, s)) { /* the replay's ABI is set up its own way */
        action_done(v);
        v->next_main++;
        sv->sd->m->replay->abi_calls_skipped++;
        return RP_GO_ON;
    }
    bool poll;
    if (wait_not_needed(sv, s)) {
        v->waits_skipped++;
        action_done(v);
        v->next_main++;
        return RP_GO_ON;
    }
    if (v->bodies_run < v->main_after[v->next_main] && !is_wait(rp, s, &poll)) {
        v->waits += !v->waiting;
        v->waiting = true;
        v->blocks_inserted++;
        wait_in_xen(sv);
        return must_stop(sv) ? RP_STOP : RP_GO_ON;
    }
    if (!players[s->kind](sv, s)) {
        if (v->retries || v->reissue) /* it yielded, or goes on with a continuation */
            return must_stop(sv) ? RP_STOP : RP_GO_ON;
        v->waits += !v->waiting;
        v->waiting = true;
        spin(sv);
        return RP_STOP;
    }
    v->waiting = false;
    action_done(v);
    v->next_main++;
    if (v->early)
        v->next_main = skip_repeats(sv, s, v->main, v->next_main, v->nr_main);
    return RP_GO_ON;
}

void replay_run_slice(struct sim_vcpu *sv)
{
    struct replay_vcpu *v = sv->rp;
    struct sim_replay *rp = sv->sd->m->replay;
    if (sv->sd->status != SD_RUNNING || sv->v->domain->paused)
        return;
    /* Back from waiting for a device model: Xen completes the access first, as in a run. */
    if (sv->sd->cfg->hvm && !sim_hvm_io_resume(sv))
        return;
    if (sv->xen_entry)
        sim_deliver_upcall(sv, &v->regs);
    sv->xen_entry = false;
    record_resume(sv);
    sv->pcpu->xen_to = *clock_of(sv);
    sv->stop_requested = false;
    sv->slice_ran = false;
    static enum rp_result (*const phases[RP_PHASES])(struct sim_vcpu * sv) = {
        [RP_MAIN] = play_main_step,
        [RP_RANGE] = play_range_step,
        [RP_SCAN] = scan,
        [RP_RETURN] = handler_return,
    };
    if (rp->real) { /* a real host's recording: its inferred steps (replay_real.c) */
        uint64_t before = v->played;
        while (sv->sd->status == SD_RUNNING && replay_real_step(sv) && !must_stop(sv))
            ;
        rp->steps += v->played - before;
        return;
    }
    while (sv->sd->status == SD_RUNNING) {
        if (v->phase == RP_MAIN && v->credits)
            begin_handler(sv);
        uint64_t before = v->played;
        enum rp_result r = phases[v->phase](sv);
        rp->steps += v->played - before;
        if (r == RP_STOP || must_stop(sv))
            break;
    }
}
