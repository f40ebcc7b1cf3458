/* libFuzzer harness: the model's hypercall interface. The input describes three domains (word
 * size, vcpus, port limit, PV or HVM) and then a sequence of steps: hypercalls with arguments
 * built from the input (structured event-channel operations with plausible ports, gfns and
 * vcpus, and raw hypercalls with arbitrary registers and argument bytes) from any vcpu that could
 * run, guests writing their shared pages as they like, device lines and VIRQs, timers expiring,
 * preempted resets re-issued while other vcpus act (XSA-343's interleavings), and the toolstack
 * pausing, destroying and re-creating domains.
 *
 * After every step the harness checks that Xen's state agrees with itself: the port table with
 * its counters and its free-port hint, both ends of every inter-domain channel, the VIRQ and
 * PIRQ maps with the ports bound to them, the ABI's ops table with the ABI's state, polling with
 * blocking, and the hypercall counters with the calls the harness made. Each event-channel
 * operation is also checked against its result (a bind leaves the port in the bound state, a
 * successful send leaves the target pending in the ABI's shared structures where the guest can
 * see it, an unmask leaves the port unmasked, a close frees it, a status query reports the
 * table). A disagreement aborts with a message naming it. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evsim/xen_3l.h"
#include "models/event_fifo.h"
#include "models/evtchn.h"
#include "models/hypercall.h"
#include "models/pirq.h"
#include "models/pv.h"
#include "models/shared_info.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NDOM 3u
#define NVCPU 4u
#define MEM_PAGES 64u /* guest memory per domain: 256 KiB */
#define MEM_SIZE (MEM_PAGES * 4096u)
#define SHINFO_GPA 0x1000u
#define ARG_GPA 0x3000u
#define BUF_GPA 0x4000u
#define STACK_GPA 0x7000u  /* top of the stack upcalls and iret use */
#define FIRST_FREE_PAGE 8u /* pages guests may hand to Xen (control blocks, bitmaps, ...) */
#define MAX_STEPS 400u

/* ---- the input ---- */

struct input {
    const uint8_t *p;
    size_t n;
};

static uint64_t take(struct input *in, unsigned bytes)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < bytes && in->n; i++, in->n--)
        v |= (uint64_t)*in->p++ << (8 * i);
    return v;
}

static uint8_t take8(struct input *in)
{
    return (uint8_t)take(in, 1);
}

/* ---- the machine around the model ---- */

struct fuzz_vcpu {
    uint64_t timer[HV_TIMER_KINDS]; /* armed deadlines (0: stopped) */
    bool continuation;              /* a preempted hypercall waits to be re-issued */
    struct hv_regs cont_regs;
    uint64_t calls, counted_calls; /* dispatches, and those with a stats row (rax < 64) */
};

struct fuzz {
    struct hv hv;
    struct domain_config cfg[NDOM];
    uint8_t mem[NDOM][MEM_SIZE];
    struct fuzz_vcpu vcpu[NDOM][NVCPU];
    uint64_t sends_ok[NDOM]; /* EVTCHNOP_send that returned 0, by sending domain */
    uint64_t pirq_deadline[NDOM][8];
    uint64_t now;
    struct cost_profile cost;
};

static void *fz_translate(void *opaque, struct domain *d, uint64_t gpa, size_t len)
{
    struct fuzz *f = opaque;
    if (d->domid >= NDOM || gpa >= MEM_SIZE || len > MEM_SIZE - gpa || gpa < 4096)
        return NULL;
    return f->mem[d->domid] + gpa;
}

static const struct hv_mem_ops fz_mem = {.translate = fz_translate};

static struct fuzz_vcpu *fz_vcpu(struct fuzz *f, const struct vcpu *v)
{
    return &f->vcpu[v->domain->domid][v->vcpu_id];
}

static void fz_timer(void *o, struct vcpu *v, enum hv_timer_kind kind, uint64_t deadline)
{
    fz_vcpu(o, v)->timer[kind] = deadline;
}

static uint64_t fz_now(void *o, struct vcpu *v)
{
    (void)v;
    return ((struct fuzz *)o)->now;
}

static void fz_pirq_timer(void *o, struct domain *d, unsigned pirq, uint64_t deadline)
{
    if (pirq < 8)
        ((struct fuzz *)o)->pirq_deadline[d->domid][pirq] = deadline;
}

/* Ioreq servers' hooks: the wait is the model's blocked_in_xen; pages are used where they are. */
static void fz_xen_wait(void *o, struct vcpu *v, bool blocked)
{
    (void)o, (void)v, (void)blocked;
}

static void fz_ioreq_page(void *o, struct domain *d, uint64_t gfn, void *page)
{
    (void)o, (void)d, (void)gfn, (void)page;
}

static const struct hv_sink_ops fz_sink = {.timer = fz_timer,
                                           .now_ns = fz_now,
                                           .pirq_timer = fz_pirq_timer,
                                           .xen_wait = fz_xen_wait,
                                           .ioreq_page = fz_ioreq_page};

static void fail(const char *what, const struct domain *d, uint32_t port)
{
    fprintf(stderr, "fuzz_hypercall: %s (domain %u, port %u)\n", what, d ? d->domid : 0, port);
    abort();
}

#define CHECK(cond, d, port)                                                                       \
    do {                                                                                           \
        if (!(cond))                                                                               \
            fail(#cond, d, port);                                                                  \
    } while (0)

static struct domain *fz_domain(struct fuzz *f, unsigned i)
{
    return f->hv.domain[i % NDOM];
}

static int fz_create(struct fuzz *f, unsigned i)
{
    struct domain *d;
    memset(f->mem[i], 0, MEM_SIZE);
    memset(f->vcpu[i], 0, sizeof(f->vcpu[i]));
    memset(f->pirq_deadline[i], 0, sizeof(f->pirq_deadline[i]));
    f->sends_ok[i] = 0;
    if (domain_create(&f->hv, &f->cfg[i], &d) < 0)
        return -1;
    if (domain_init_shared_info(d) < 0)
        abort(); /* the page is guest memory */
    for (unsigned k = 0; k < 8; k++)
        (void)pirq_set_level(d, k, k & 1);
    return 0;
}

/* b: bit 0 a 32-bit guest, bits 1-2 vcpus - 1, bits 3-5 the port limit, bit 6 HVM. */
static void fz_configure(struct fuzz *f, unsigned i, uint8_t b)
{
    static const unsigned port_limit[8] = {0, 7, 63, 200, 1023, 4095, 70000, 262143};
    f->cfg[i] = (struct domain_config){
        .domid = (domid_t)i,
        .privileged = i == 0,
        .hvm = i && (b & 0x40),
        .max_vcpus = 1 + ((b >> 1) & 3),
        .guest_word_bits = (b & 1) ? 32 : 64,
        .max_evtchn_port = port_limit[(b >> 3) & 7],
        .shared_info_gpa = SHINFO_GPA,
    };
}

/* ---- choosing plausible arguments ---- */

static uint32_t pick_port(struct fuzz *f, struct domain *d, struct input *in)
{
    uint8_t b = take8(in);
    (void)f;
    if (b < 150 || !d)
        return b % 16;
    if (b < 230) { /* one of the ports in use */
        unsigned want = b - 150, seen = 0;
        for (uint32_t p = 1; d && p < d->valid_evtchns; p++)
            if (evtchn_from_port(d, p)->state != ECS_FREE &&
                seen++ == want % (d->active_evtchns + 1))
                return p;
        return 1;
    }
    return (uint32_t)take(in, 4);
}

static domid_t pick_domid(struct input *in)
{
    uint8_t b = take8(in);
    if (b < 200)
        return (domid_t)(b % NDOM);
    return b < 230 ? DOMID_SELF : (domid_t)take(in, 2);
}

static uint64_t pick_gfn(struct input *in)
{
    uint8_t b = take8(in);
    return b < 230 ? FIRST_FREE_PAGE + b % (MEM_PAGES - FIRST_FREE_PAGE) : take(in, 8);
}

static unsigned pick_vcpu(struct input *in)
{
    uint8_t b = take8(in);
    return b < 240 ? b % (NVCPU + 1) : (unsigned)take(in, 4);
}

/* ---- the checks ---- */

/* The checks walk every port and counter after every step: left out of the coverage feedback,
 * which is about the model's paths, they cost a fraction of what they would. */
#define CHECKER __attribute__((no_sanitize("coverage")))

CHECKER static bool chn_bound(const struct evtchn *chn)
{
    return chn->state != ECS_FREE && chn->state != ECS_RESERVED;
}

CHECKER static void check_interdomain(struct fuzz *f, struct domain *d, const struct evtchn *chn)
{
    struct domain *rd = chn->u.interdomain.remote_domid < NDOM
                            ? f->hv.domain[chn->u.interdomain.remote_domid]
                            : NULL;
    CHECK(rd != NULL, d, chn->port);
    CHECK(port_is_valid(rd, chn->u.interdomain.remote_port), d, chn->port);
    const struct evtchn *r = evtchn_from_port(rd, chn->u.interdomain.remote_port);
    CHECK(r->state == ECS_INTERDOMAIN, d, chn->port);
    CHECK(r->u.interdomain.remote_domid == d->domid, d, chn->port);
    CHECK(r->u.interdomain.remote_port == chn->port, d, chn->port);
}

/* Where a VIRQ port is recorded: on its vcpu for a per-vcpu VIRQ; on vcpu 0 for a global or
 * per-domain one, whose notify vcpu EVTCHNOP_bind_vcpu may move. */
CHECKER static unsigned virq_map_vcpu(const struct evtchn *chn)
{
    return virq_type(chn->u.virq) == VIRQ_VCPU ? chn->notify_vcpu_id : 0;
}

CHECKER static void check_port(struct fuzz *f, struct domain *d, const struct evtchn *chn)
{
    uint32_t p = chn->port;
    CHECK(chn->notify_vcpu_id < d->max_vcpus, d, p);
    CHECK(p < domain_max_evtchns(d) || chn->xen_consumer, d, p);
    if (chn->state == ECS_INTERDOMAIN)
        check_interdomain(f, d, chn);
    if (chn->state == ECS_VIRQ) {
        CHECK(chn->u.virq < NR_VIRQS, d, p);
        CHECK(d->vcpu[virq_map_vcpu(chn)]->virq_to_evtchn[chn->u.virq] == p, d, p);
    }
    if (chn->state == ECS_PIRQ) {
        CHECK(chn->u.pirq < d->nr_pirqs, d, p);
        CHECK(d->pirq_to_evtchn[chn->u.pirq] == p, d, p);
    }
    const struct port_stats *ps = p < d->stats.nr_port_stats ? &d->stats.port[p] : NULL;
    if (ps) {
        CHECK(ps->coalesced <= ps->raised, d, p);
        CHECK(ps->upcalls <= ps->raised, d, p);
    }
}

CHECKER static void check_port_table(struct fuzz *f, struct domain *d)
{
    unsigned bound = 0, xen = 0;
    CHECK(d->valid_evtchns % EVTCHNS_PER_BUCKET == 0, d, d->valid_evtchns);
    CHECK(d->valid_evtchns <= EVTCHN_MAX_PORTS, d, d->valid_evtchns);
    for (uint32_t p = 0; p < d->valid_evtchns; p++) {
        const struct evtchn *chn = evtchn_from_port(d, p);
        CHECK(chn != NULL && chn->port == p, d, p);
        CHECK((p == 0) == (chn->state == ECS_RESERVED), d, p);
        CHECK(p >= d->evtchn_free_hint || chn->state != ECS_FREE, d, p);
        if (!chn_bound(chn))
            continue;
        bound++;
        xen += chn->xen_consumer;
        check_port(f, d, chn);
    }
    CHECK(bound == d->active_evtchns, d, bound);
    CHECK(xen == d->xen_evtchns, d, xen);
    CHECK(!port_is_valid(d, d->valid_evtchns), d, d->valid_evtchns);
}

/* The maps from VIRQs and PIRQs to ports point at ports bound to them. */
CHECKER static void check_maps(struct domain *d)
{
    for (unsigned i = 0; i < d->max_vcpus; i++)
        for (unsigned virq = 0; virq < NR_VIRQS; virq++) {
            uint32_t p = d->vcpu[i]->virq_to_evtchn[virq];
            if (!p)
                continue;
            CHECK(port_is_valid(d, p), d, p);
            const struct evtchn *chn = evtchn_from_port(d, p);
            CHECK(chn->state == ECS_VIRQ && chn->u.virq == virq, d, p);
            CHECK(virq_map_vcpu(chn) == i, d, p);
        }
    for (unsigned pirq = 0; pirq < d->nr_pirqs; pirq++) {
        uint32_t p = d->pirq_to_evtchn[pirq];
        if (!p)
            continue;
        CHECK(port_is_valid(d, p), d, p);
        const struct evtchn *chn = evtchn_from_port(d, p);
        CHECK(chn->state == ECS_PIRQ && chn->u.pirq == pirq, d, p);
    }
}

/* The ops table names the ABI whose state exists, and only that ABI's state exists. */
CHECKER static void check_abi(struct domain *d)
{
    bool fifo = d->evtchn_port_ops == &evtchn_port_ops_fifo;
    bool l3 = d->evtchn_port_ops == &evtchn_port_ops_3l;
    CHECK(fifo || l3 || d->evtchn_port_ops == &evtchn_port_ops_2l, d, 0);
    CHECK(fifo == (d->evtchn_fifo != NULL), d, 0);
    CHECK(l3 == (d->evtchn_3l != NULL), d, 0);
    for (unsigned i = 0; i < d->max_vcpus; i++) {
        CHECK(fifo || !d->vcpu[i]->evtchn_fifo, d, i);
        CHECK(l3 || !d->vcpu[i]->evtchn_3l, d, i);
    }
    CHECK(domain_max_evtchns(d) <= EVTCHN_MAX_PORTS, d, 0);
}

CHECKER static void check_vcpus(struct fuzz *f, struct domain *d)
{
    uint64_t counted = 0, rows = 0;
    for (unsigned i = 0; i < d->max_vcpus; i++) {
        const struct vcpu *v = d->vcpu[i];
        const struct fuzz_vcpu *fv = &f->vcpu[d->domid][i];
        CHECK(v->vcpu_id == i && v->domain == d, d, i);
        CHECK(!v->polling || v->run_state == VCPU_BLOCKED, d, i);
        CHECK(v->nr_poll_ports <= SCHED_POLL_MAX_PORTS, d, i);
        CHECK(v->stats.hypercalls == fv->calls, d, i);
        counted += fv->counted_calls;
    }
    for (unsigned nr = 0; nr < HC_STATS_NR; nr++)
        for (unsigned sub = 0; sub < HC_STATS_SUB; sub++) {
            CHECK(d->stats.hc[nr][sub].errors <= d->stats.hc[nr][sub].calls, d, nr);
            rows += d->stats.hc[nr][sub].calls;
        }
    CHECK(rows == counted, d, 0);
}

CHECKER static void check_sends(struct fuzz *f, struct domain *d)
{
    uint64_t sends = 0;
    for (unsigned p = 0; p < d->stats.nr_port_stats; p++)
        sends += d->stats.port[p].sends;
    CHECK(sends == f->sends_ok[d->domid], d, 0);
}

CHECKER static void check_all(struct fuzz *f)
{
    for (unsigned i = 0; i < NDOM; i++) {
        struct domain *d = f->hv.domain[i];
        if (!d)
            continue;
        check_port_table(f, d);
        check_maps(d);
        check_abi(d);
        check_vcpus(f, d);
        check_sends(f, d);
        (void)evtchn_abi_model_bytes(d); /* what the report reads of each ABI */
        (void)evtchn_abi_lost_events(d);
    }
}

/* ---- hypercalls ---- */

static bool vcpu_can_run(const struct vcpu *v)
{
    return v && v->run_state == VCPU_RUNNABLE && v->domain->shutdown_reason < 0 &&
           !v->domain->is_dying;
}

static struct vcpu *pick_running_vcpu(struct fuzz *f, struct input *in)
{
    uint8_t b = take8(in);
    struct domain *d = fz_domain(f, b);
    if (!d)
        return NULL;
    struct vcpu *v = domain_vcpu(d, (b >> 2) % d->max_vcpus);
    return vcpu_can_run(v) ? v : NULL;
}

/* The guest's trap into Xen. A preempted call is kept and re-issued the next time the vcpu
 * traps (the guest re-executes the rewound SYSCALL after taking its event). */
static long issue(struct fuzz *f, struct vcpu *v, struct hv_regs *regs)
{
    struct fuzz_vcpu *fv = fz_vcpu(f, v);
    uint64_t nr = regs->rax, cmd = regs->rdi;
    regs->rsp = STACK_GPA;
    hypercall_dispatch(v, regs);
    fv->calls++;
    fv->counted_calls += nr < HC_STATS_NR;
    /* Every accepted send, whichever step made it (raw hypercalls send too). */
    f->sends_ok[v->domain->domid] += nr == __HYPERVISOR_event_channel_op && cmd == EVTCHNOP_send &&
                                     !v->hcall_continuation && regs->rax == 0;
    fv->continuation = v->hcall_continuation;
    if (fv->continuation)
        fv->cont_regs = *regs;
    return fv->continuation ? 0 : (long)regs->rax;
}

static long hypercall(struct fuzz *f, struct vcpu *v, uint64_t nr, uint64_t a1, uint64_t a2,
                      uint64_t a3)
{
    struct hv_regs r = {.rax = nr, .rdi = a1, .rsi = a2, .rdx = a3};
    return issue(f, v, &r);
}

static void put_arg(struct fuzz *f, struct vcpu *v, uint64_t gpa, const void *arg, size_t len)
{
    memcpy(f->mem[v->domain->domid] + gpa, arg, len);
}

/* One EVTCHNOP with its argument built from the input; after it, what the result promises. */
union evtchn_arg {
    struct evtchn_alloc_unbound alloc_unbound;
    struct evtchn_bind_interdomain bind_interdomain;
    struct evtchn_bind_virq bind_virq;
    struct evtchn_bind_ipi bind_ipi;
    struct evtchn_bind_pirq bind_pirq;
    struct evtchn_close close;
    struct evtchn_send send;
    struct evtchn_status status;
    struct evtchn_bind_vcpu bind_vcpu;
    struct evtchn_unmask unmask;
    struct evtchn_reset reset;
    struct evtchn_init_control init_control;
    struct evtchn_expand_array expand_array;
    struct evtchn_set_priority set_priority;
    struct evtchn_register_extended register_extended;
    uint8_t raw[256];
};

static void build_register_extended(struct input *in, struct evtchn_register_extended *r)
{
    r->cmd = take8(in) % 4;
    if (r->cmd == EVTCHN_EXTENDED_L3_BITMAPS) {
        uint8_t b = take8(in);
        r->u.bitmaps.nr_pages = b < 200 ? 1 + b % 8 : (uint32_t)take(in, 4);
        uint64_t base = pick_gfn(in);
        for (unsigned k = 0; k < EVTCHN_3L_MAX_BITMAP_PAGES; k++) {
            r->u.bitmaps.pending_gfn[k] = base + k;
            r->u.bitmaps.mask_gfn[k] = base + 8 + k;
        }
    } else if (r->cmd == EVTCHN_EXTENDED_L3_L2SEL) {
        r->u.l2sel.vcpu = pick_vcpu(in);
        r->u.l2sel.gfn = pick_gfn(in);
        r->u.l2sel.offset = (uint32_t)take(in, 2) & 0x1ff8;
    }
}

static unsigned build_evtchn_arg(struct fuzz *f, struct vcpu *v, struct input *in,
                                 union evtchn_arg *a)
{
    static const unsigned cmds[] = {EVTCHNOP_bind_interdomain,
                                    EVTCHNOP_bind_virq,
                                    EVTCHNOP_bind_pirq,
                                    EVTCHNOP_close,
                                    EVTCHNOP_send,
                                    EVTCHNOP_status,
                                    EVTCHNOP_alloc_unbound,
                                    EVTCHNOP_bind_ipi,
                                    EVTCHNOP_bind_vcpu,
                                    EVTCHNOP_unmask,
                                    EVTCHNOP_reset,
                                    EVTCHNOP_init_control,
                                    EVTCHNOP_expand_array,
                                    EVTCHNOP_set_priority,
                                    EVTCHNOP_register_extended,
                                    EVTCHNOP_send,
                                    EVTCHNOP_unmask,
                                    EVTCHNOP_bind_interdomain};
    struct domain *d = v->domain;
    unsigned cmd = cmds[take8(in) % (sizeof(cmds) / sizeof(cmds[0]))];
    memset(a, 0, sizeof(*a));
    switch (cmd) {
    case EVTCHNOP_alloc_unbound:
        a->alloc_unbound.dom = pick_domid(in);
        a->alloc_unbound.remote_dom = pick_domid(in);
        break;
    case EVTCHNOP_bind_interdomain: {
        domid_t rdom = pick_domid(in);
        a->bind_interdomain.remote_dom = rdom;
        a->bind_interdomain.remote_port =
            pick_port(f, rdom == DOMID_SELF ? d : domain_lookup(&f->hv, d, rdom), in);
        break;
    }
    case EVTCHNOP_bind_virq:
        a->bind_virq.virq = take8(in) % (NR_VIRQS + 2);
        a->bind_virq.vcpu = pick_vcpu(in);
        break;
    case EVTCHNOP_bind_ipi:
        a->bind_ipi.vcpu = pick_vcpu(in);
        break;
    case EVTCHNOP_bind_pirq:
        a->bind_pirq.pirq = take8(in) % 10;
        a->bind_pirq.flags = take8(in) & 1;
        break;
    case EVTCHNOP_status:
        a->status.dom = pick_domid(in);
        a->status.port = pick_port(f, d, in);
        break;
    case EVTCHNOP_bind_vcpu:
        a->bind_vcpu.port = pick_port(f, d, in);
        a->bind_vcpu.vcpu = pick_vcpu(in);
        break;
    case EVTCHNOP_reset:
        a->reset.dom = pick_domid(in);
        break;
    case EVTCHNOP_init_control:
        a->init_control.control_gfn = pick_gfn(in);
        a->init_control.offset = (uint32_t)take(in, 2) & 0x1fc0;
        a->init_control.vcpu = pick_vcpu(in);
        break;
    case EVTCHNOP_expand_array:
        a->expand_array.array_gfn = pick_gfn(in);
        break;
    case EVTCHNOP_set_priority:
        a->set_priority.port = pick_port(f, d, in);
        a->set_priority.priority = take8(in) % 20;
        break;
    case EVTCHNOP_register_extended:
        build_register_extended(in, &a->register_extended);
        break;
    default: /* close, send, unmask: a port */
        a->send.port = pick_port(f, d, in);
        break;
    }
    return cmd;
}

static const struct evtchn *port_of(const struct domain *d, uint32_t port)
{
    return d && port_is_valid(d, port) ? evtchn_from_port(d, port) : NULL;
}

/* What a bind returning `port` promises. */
static void check_bound(struct domain *d, uint32_t port, unsigned state, unsigned vcpu)
{
    const struct evtchn *chn = port_of(d, port);
    CHECK(chn != NULL && chn->state == state, d, port);
    CHECK(chn->notify_vcpu_id == vcpu, d, port);
}

/* A successful send on an inter-domain or IPI port leaves the target pending where the guest
 * reads it: the 2-level and 3-level bitmaps always, FIFO's event word when the event array
 * covers the port (Xen drops an event for a port without a word). */
static void check_send_landed(struct fuzz *f, struct domain *ld, uint32_t lport)
{
    const struct evtchn *lchn = port_of(ld, lport);
    struct domain *rd = ld;
    uint32_t rport = lport;
    if (!lchn || (lchn->state != ECS_INTERDOMAIN && lchn->state != ECS_IPI))
        return;
    if (lchn->state == ECS_INTERDOMAIN) {
        rd = f->hv.domain[lchn->u.interdomain.remote_domid];
        rport = lchn->u.interdomain.remote_port;
    }
    const struct evtchn *rchn = port_of(rd, rport);
    if (!rchn || rchn->xen_consumer)
        return;
    if (rd->evtchn_fifo && !evtchn_fifo_word_from_port(rd, rport))
        return;
    CHECK(evtchn_is_pending(rd, rchn), rd, rport);
}

static void check_evtchn_result(struct fuzz *f, struct vcpu *v, unsigned cmd,
                                const union evtchn_arg *a, long rc)
{
    struct domain *d = v->domain;
    const union evtchn_arg *out = (const void *)(f->mem[d->domid] + ARG_GPA);
    if (rc < 0 || fz_vcpu(f, v)->continuation)
        return;
    switch (cmd) {
    case EVTCHNOP_alloc_unbound: {
        struct domain *ad = domain_lookup(&f->hv, d, a->alloc_unbound.dom);
        check_bound(ad, out->alloc_unbound.port, ECS_UNBOUND, 0);
        break;
    }
    case EVTCHNOP_bind_interdomain:
        check_bound(d, out->bind_interdomain.local_port, ECS_INTERDOMAIN, 0);
        check_interdomain(f, d, port_of(d, out->bind_interdomain.local_port));
        break;
    case EVTCHNOP_bind_virq:
        check_bound(d, out->bind_virq.port, ECS_VIRQ, a->bind_virq.vcpu);
        break;
    case EVTCHNOP_bind_ipi:
        check_bound(d, out->bind_ipi.port, ECS_IPI, a->bind_ipi.vcpu);
        break;
    case EVTCHNOP_bind_pirq:
        check_bound(d, out->bind_pirq.port, ECS_PIRQ, 0);
        break;
    case EVTCHNOP_close: {
        const struct evtchn *chn = port_of(d, a->close.port);
        CHECK(chn && chn->state == ECS_FREE, d, a->close.port);
        break;
    }
    case EVTCHNOP_send:
        check_send_landed(f, d, a->send.port);
        break;
    case EVTCHNOP_unmask: {
        const struct evtchn *chn = port_of(d, a->unmask.port);
        bool has_word = !d->evtchn_fifo || evtchn_fifo_word_from_port(d, a->unmask.port);
        CHECK(!chn || !evtchn_usable(chn) || !has_word || !evtchn_is_masked(d, chn), d,
              a->unmask.port);
        break;
    }
    case EVTCHNOP_status: {
        const struct domain *sd = domain_lookup(&f->hv, d, a->status.dom);
        const struct evtchn *chn = port_of(sd, a->status.port);
        static const uint32_t status_of[] = {
            [ECS_FREE] = EVTCHNSTAT_closed,     [ECS_RESERVED] = EVTCHNSTAT_closed,
            [ECS_UNBOUND] = EVTCHNSTAT_unbound, [ECS_INTERDOMAIN] = EVTCHNSTAT_interdomain,
            [ECS_PIRQ] = EVTCHNSTAT_pirq,       [ECS_VIRQ] = EVTCHNSTAT_virq,
            [ECS_IPI] = EVTCHNSTAT_ipi};
        CHECK(chn && out->status.status == status_of[chn->state], d, a->status.port);
        break;
    }
    case EVTCHNOP_bind_vcpu: {
        const struct evtchn *chn = port_of(d, a->bind_vcpu.port);
        CHECK(chn && chn->notify_vcpu_id == a->bind_vcpu.vcpu, d, a->bind_vcpu.port);
        break;
    }
    default:
        break;
    }
}

static void step_evtchn_op(struct fuzz *f, struct input *in)
{
    struct vcpu *v = pick_running_vcpu(f, in);
    union evtchn_arg a;
    if (!v)
        return;
    unsigned cmd = build_evtchn_arg(f, v, in, &a);
    put_arg(f, v, ARG_GPA, &a, sizeof(a));
    long rc = hypercall(f, v, __HYPERVISOR_event_channel_op, cmd, ARG_GPA, 0);
    check_evtchn_result(f, v, cmd, &a, rc);
}

/* Any hypercall, any registers, the argument page filled from the input; some arguments point
 * into it, some anywhere. */
static void step_raw_hypercall(struct fuzz *f, struct input *in)
{
    static const uint8_t nrs[] = {__HYPERVISOR_event_channel_op, __HYPERVISOR_sched_op,
                                  __HYPERVISOR_vcpu_op,          __HYPERVISOR_callback_op,
                                  __HYPERVISOR_physdev_op,       __HYPERVISOR_console_io,
                                  __HYPERVISOR_xen_version,      __HYPERVISOR_set_timer_op,
                                  __HYPERVISOR_set_callbacks,    __HYPERVISOR_iret};
    struct vcpu *v = pick_running_vcpu(f, in);
    if (!v)
        return;
    uint8_t b = take8(in);
    struct hv_regs r = {.rax = b < 240 ? nrs[b % sizeof(nrs)] : take(in, 8)};
    r.rdi = take8(in) < 200 ? take8(in) % 20 : take(in, 8);
    uint64_t *args[] = {&r.rsi, &r.rdx, &r.r10};
    for (unsigned k = 0; k < 3; k++) {
        uint8_t how = take8(in);
        *args[k] = how < 100 ? ARG_GPA : how < 150 ? BUF_GPA : how < 200 ? how % 8 : take(in, 8);
    }
    size_t len = take8(in);
    for (size_t k = 0; k < len; k++)
        f->mem[v->domain->domid][ARG_GPA + k] = take8(in);
    (void)issue(f, v, &r);
}

/* A preempted call re-issued, as the guest re-executes the rewound trap. */
static void step_continue(struct fuzz *f, struct input *in)
{
    struct vcpu *v = pick_running_vcpu(f, in);
    if (!v || !fz_vcpu(f, v)->continuation)
        return;
    struct hv_regs r = fz_vcpu(f, v)->cont_regs;
    (void)issue(f, v, &r);
}

/* SCHEDOP_poll on ports from the input (the common case of a blocking call with an argument
 * list), or block, or yield. */
static void step_sched(struct fuzz *f, struct input *in)
{
    struct vcpu *v = pick_running_vcpu(f, in);
    if (!v)
        return;
    uint8_t kind = take8(in) % 3;
    if (kind == 0) {
        struct sched_poll poll = {.nr_ports = take8(in) % 6, .timeout = take(in, 2)};
        uint32_t ports[5];
        for (unsigned k = 0; k < 5; k++)
            ports[k] = pick_port(f, v->domain, in);
        uint64_t handle = BUF_GPA; /* a guest handle is the guest address */
        memcpy(&poll.ports, &handle, sizeof(handle));
        put_arg(f, v, BUF_GPA, ports, sizeof(ports));
        put_arg(f, v, ARG_GPA, &poll, sizeof(poll));
        (void)hypercall(f, v, __HYPERVISOR_sched_op, SCHEDOP_poll, ARG_GPA, 0);
    } else {
        (void)hypercall(f, v, __HYPERVISOR_sched_op, kind == 1 ? SCHEDOP_block : SCHEDOP_yield, 0,
                        0);
    }
}

/* Many ports at once (a reset only preempts every 64 ports): IPIs or unbound ports. */
static void step_bind_many(struct fuzz *f, struct input *in)
{
    struct vcpu *v = pick_running_vcpu(f, in);
    if (!v)
        return;
    unsigned n = take8(in) % 140, kind = take8(in) & 1;
    for (unsigned k = 0; k < n && !fz_vcpu(f, v)->continuation; k++) {
        union evtchn_arg a = {0};
        a.alloc_unbound.dom = DOMID_SELF;
        a.alloc_unbound.remote_dom = (domid_t)(k % NDOM);
        if (kind)
            a.bind_ipi.vcpu = k % v->domain->max_vcpus;
        put_arg(f, v, ARG_GPA, &a, sizeof(a));
        unsigned cmd = kind ? EVTCHNOP_bind_ipi : EVTCHNOP_alloc_unbound;
        if (hypercall(f, v, __HYPERVISOR_event_channel_op, cmd, ARG_GPA, 0) < 0)
            break;
    }
}

/* VCPUOP_* on any vcpu with a plausible argument: a context to start from, a vcpu_info page,
 * timers. */
static void step_vcpu_op(struct fuzz *f, struct input *in)
{
    struct vcpu *v = pick_running_vcpu(f, in);
    if (!v)
        return;
    unsigned cmd = take8(in) % (VCPUOP_register_vcpu_info + 2), target = pick_vcpu(in);
    uint8_t arg[sizeof(struct vcpu_guest_context)] = {0};
    if (cmd == VCPUOP_register_vcpu_info) {
        struct vcpu_register_vcpu_info info = {.mfn = pick_gfn(in),
                                               .offset = (uint32_t)take(in, 2) & 0x1fc0};
        memcpy(arg, &info, sizeof(info));
    } else if (cmd == VCPUOP_set_singleshot_timer) {
        struct vcpu_set_singleshot_timer t = {.timeout_abs_ns = f->now + take(in, 3) * 100,
                                              .flags = take8(in) & 1};
        memcpy(arg, &t, sizeof(t));
    } else if (cmd == VCPUOP_set_periodic_timer) {
        struct vcpu_set_periodic_timer t = {.period_ns = take(in, 4) * 64};
        memcpy(arg, &t, sizeof(t));
    } else { /* a context (initialise): its first bytes from the input, the rest zero */
        size_t len = take8(in);
        for (size_t k = 0; k < len && k < sizeof(arg); k++)
            arg[k] = take8(in);
    }
    put_arg(f, v, ARG_GPA, arg, sizeof(arg));
    (void)hypercall(f, v, __HYPERVISOR_vcpu_op, cmd, target, ARG_GPA);
}

/* Timers, PHYSDEVOPs of the EOI protocol and the callbacks, with plausible arguments. */
static void step_other_op(struct fuzz *f, struct input *in)
{
    static const unsigned physdev_cmds[] = {PHYSDEVOP_eoi, PHYSDEVOP_irq_status_query,
                                            PHYSDEVOP_pirq_eoi_gmfn_v1, PHYSDEVOP_pirq_eoi_gmfn_v2,
                                            PHYSDEVOP_IRQ_UNMASK_NOTIFY};
    struct vcpu *v = pick_running_vcpu(f, in);
    if (!v)
        return;
    uint8_t what = take8(in) % 3;
    if (what == 0) {
        (void)hypercall(f, v, __HYPERVISOR_set_timer_op, f->now + take(in, 3) * 100, 0, 0);
    } else if (what == 1) {
        unsigned cmd = physdev_cmds[take8(in) % 5];
        uint64_t arg[2] = {take8(in) % 10, 0};
        if (cmd == PHYSDEVOP_pirq_eoi_gmfn_v1 || cmd == PHYSDEVOP_pirq_eoi_gmfn_v2)
            arg[0] = pick_gfn(in);
        put_arg(f, v, ARG_GPA, arg, sizeof(arg));
        (void)hypercall(f, v, __HYPERVISOR_physdev_op, cmd, ARG_GPA, 0);
    } else {
        struct callback_register cb = {
            .type = take8(in) % 8, .flags = take8(in) & 3, .address = 0x100000 + take(in, 2)};
        put_arg(f, v, ARG_GPA, &cb, sizeof(cb));
        (void)hypercall(f, v, __HYPERVISOR_callback_op,
                        take8(in) & 1 ? CALLBACKOP_register : CALLBACKOP_unregister, ARG_GPA, 0);
    }
}

/* ---- what happens outside hypercalls ---- */

/* The guest writes its shared pages: shared_info (pending, mask, selectors, upcall bytes) or
 * a page it may have given Xen (FIFO words, control blocks, 3-level bitmaps, vcpu_info). */
static void step_guest_write(struct fuzz *f, struct input *in)
{
    struct domain *d = fz_domain(f, take8(in));
    if (!d)
        return;
    uint8_t b = take8(in);
    uint64_t page =
        b < 100 ? SHINFO_GPA / 4096 : FIRST_FREE_PAGE + b % (MEM_PAGES - FIRST_FREE_PAGE);
    uint64_t off = take(in, 2) & 0xfff;
    unsigned width = 1u << (take8(in) % 4);
    if (off + width > 4096)
        off = 4096 - width;
    uint64_t value = take(in, width);
    memcpy(f->mem[d->domid] + page * 4096 + off, &value, width);
}

/* The guest's handler takes what is pending: upcall delivered (a frame on its stack), then
 * the upcall byte and one port's pending state cleared where the ABI keeps it. */
static void step_guest_consume(struct fuzz *f, struct input *in)
{
    struct vcpu *v = pick_running_vcpu(f, in);
    if (!v)
        return;
    struct domain *d = v->domain;
    struct hv_regs r = {.rsp = STACK_GPA};
    if (pv_upcall_deliverable(v))
        (void)pv_inject_upcall(v, &r);
    struct vcpu_info *vi = vcpu_info_ptr(v);
    if (vi)
        *vcpu_info_upcall_pending(vi) = 0;
    uint32_t port = pick_port(f, d, in);
    if (d->evtchn_fifo) {
        volatile event_word_t *w = evtchn_fifo_word_from_port(d, port);
        if (w)
            *w &= ~(1u << EVTCHN_FIFO_PENDING);
    } else if (!d->evtchn_3l && port < evtchn_word_bits(d) * evtchn_word_bits(d)) {
        volatile uint8_t *pending = (volatile uint8_t *)shared_info_evtchn_pending(d);
        pending[port / 8] &= (uint8_t) ~(1u << (port % 8));
    }
    evtchn_account_deliveries(d);
}

/* A device line, a VIRQ from Xen, or a timer falling due. */
static void step_outside_event(struct fuzz *f, struct input *in)
{
    struct domain *d = fz_domain(f, take8(in));
    if (!d)
        return;
    uint8_t what = take8(in) % 6;
    unsigned n = take8(in);
    struct vcpu *v = d->vcpu[n % d->max_vcpus];
    struct fuzz_vcpu *fv = fz_vcpu(f, v);
    switch (what) {
    case 0:
        (void)pirq_line_raise(d, n % 10);
        break;
    case 1:
        send_guest_vcpu_virq(v, n % NR_VIRQS);
        break;
    case 2:
        send_guest_global_virq(&f->hv, n % NR_VIRQS);
        send_guest_domain_virq(d, n % NR_VIRQS);
        break;
    case 3: { /* the earliest armed timer of v */
        unsigned k = n % HV_TIMER_KINDS;
        if (fv->timer[k]) {
            f->now = fv->timer[k] > f->now ? fv->timer[k] : f->now;
            fv->timer[k] = 0;
            vcpu_timer_expired(v, (enum hv_timer_kind)k);
        }
        break;
    }
    case 4:
        if (f->pirq_deadline[d->domid][n % 8]) {
            f->pirq_deadline[d->domid][n % 8] = 0;
            pirq_eoi_timer_expired(d, n % 8);
        }
        break;
    default: /* v leaves its CPU and comes back later */
        vcpu_periodic_timer_stop(v);
        f->now += take(in, 2) * 1000;
        vcpu_periodic_timer_work(v);
        break;
    }
}

/* The toolstack: pause or unpause a domain (a foreign reset needs it paused), destroy one and
 * build it again, or attach a port to a consumer inside Xen. */
static void step_toolstack(struct fuzz *f, struct input *in)
{
    unsigned i = take8(in) % NDOM;
    struct domain *d = f->hv.domain[i];
    uint8_t what = take8(in) % 4;
    if (!d)
        return;
    if (what == 0)
        d->paused = !d->paused;
    else if (what == 1 && i != 0) {
        domain_destroy(d);
        if (fz_create(f, i) < 0)
            abort();
    } else if (what == 2) {
        (void)evtchn_alloc_unbound_xen(d, 0, (domid_t)(take8(in) % NDOM));
    }
}

typedef void (*step_fn)(struct fuzz *f, struct input *in);

static const step_fn steps[] = {
    step_evtchn_op,     step_evtchn_op,     step_evtchn_op,   step_evtchn_op, step_continue,
    step_raw_hypercall, step_sched,         step_guest_write, step_evtchn_op, step_continue,
    step_guest_consume, step_outside_event, step_toolstack,   step_evtchn_op, step_raw_hypercall,
    step_guest_consume, step_bind_many,     step_vcpu_op,     step_other_op,  step_vcpu_op,
};

static struct cost_profile cost_for_fuzzing(void)
{
    struct cost_profile p = {.name = "fuzz", .cpu_khz = 1000000};
    for (unsigned i = 0; i < COST_IDS; i++)
        p.c[i].cycles = i + 1;
    return p;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct fuzz f; /* large: guest memory of every domain */
    struct input in = {data, size};
    memset(&f.vcpu, 0, sizeof(f.vcpu));
    f.now = 1000000;
    f.cost = cost_for_fuzzing();
    hv_init(&f.hv, &fz_mem, &f, &fz_sink, &f, &f.cost);
    for (unsigned i = 0; i < NDOM; i++) {
        fz_configure(&f, i, take8(&in));
        if (fz_create(&f, i) < 0)
            abort();
    }
    check_all(&f);
    for (unsigned n = 0; n < MAX_STEPS && in.n; n++) {
        steps[take8(&in) % (sizeof(steps) / sizeof(steps[0]))](&f, &in);
        check_all(&f);
    }
    hv_destroy(&f.hv);
    return 0;
}
