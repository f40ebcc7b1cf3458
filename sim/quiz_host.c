/* An engine-free host of the model for `evsim quiz` (see quiz_host.h). Guest memory is one
 * buffer per domain, laid out as a small PV guest would lay out its pages. */
#include <stdlib.h>
#include <string.h>

#include "models/domain.h"
#include "models/shared_info.h"
#include "evsim/xen_3l.h"
#include "sim/quiz_host.h"

#define QH_MEM_SIZE 0x100000u /* 1 MiB of guest memory per domain */
#define QH_SHINFO_GPA 0x1000u
#define QH_ARG_GPA 0x3000u
#define QH_FIFO_CONTROL_GPA 0x30000u /* control block of vcpu i at + i * stride */
#define QH_FIFO_CONTROL_STRIDE 128u
#define QH_FIFO_ARRAY_GPA 0x40000u /* one event-array page: ports 0 .. 1023 */
#define QH_3L_PENDING_GPA 0xc0000u /* 8 pages of pending bits */
#define QH_3L_MASK_GPA 0xc8000u    /* 8 pages of mask bits */
#define QH_3L_L2SEL_GPA 0xd0000u   /* vcpu i's second-level selector at + i * stride */
#define QH_3L_L2SEL_STRIDE 512u
#define QH_FIFO_BIT(b) (UINT32_C(1) << (b)) /* an event word's flag */

static const char *const qh_abi_names[QH_ABIS] = {"2l", "3l", "fifo"};

int qh_abi_parse(const char *name)
{
    for (int i = 0; i < (int)QH_ABIS; i++)
        if (!strcmp(name, qh_abi_names[i]))
            return i;
    return -1;
}

const char *qh_abi_name(enum qh_abi abi)
{
    return abi < QH_ABIS ? qh_abi_names[abi] : "?";
}

/* ---- memory and sink ---- */

static void *qh_translate(void *opaque, struct domain *d, uint64_t gpa, size_t len)
{
    struct quiz_host *h = opaque;

    if (d->domid >= QH_MAX_DOMAINS || !h->mem[d->domid])
        return NULL;
    if (gpa >= QH_MEM_SIZE || len > QH_MEM_SIZE - gpa)
        return NULL;
    return h->mem[d->domid] + gpa;
}

static const struct hv_mem_ops qh_mem_ops = {.translate = qh_translate};

static void qh_record(struct quiz_host *h, struct qh_event e)
{
    if (h->nr_events < QH_MAX_EVENTS)
        h->event[h->nr_events++] = e;
}

static void qh_kick(void *o, struct vcpu *v)
{
    qh_record(o, (struct qh_event){.kind = QH_KICK, .domid = v->domain->domid, .vcpu = v->vcpu_id});
}

static void qh_wake(void *o, struct vcpu *v)
{
    qh_record(o, (struct qh_event){.kind = QH_WAKE, .domid = v->domain->domid, .vcpu = v->vcpu_id});
}

static void qh_raise(void *o, struct domain *d, uint32_t port, struct vcpu *v, uint64_t before,
                     uint64_t after, bool newly_pending)
{
    (void)before;
    (void)after;
    qh_record(o, (struct qh_event){.kind = QH_RAISE,
                                   .domid = d->domid,
                                   .vcpu = v->vcpu_id,
                                   .port = port,
                                   .newly_pending = newly_pending});
}

/* Time stands still in a quiz: no timers fire, and nothing here depends on the clock. */
static uint64_t qh_now(void *o, struct vcpu *v)
{
    (void)o;
    (void)v;
    return 0;
}

static const struct hv_sink_ops qh_sink_ops = {
    .kick = qh_kick, .wake = qh_wake, .raise = qh_raise, .now_ns = qh_now};

void qh_clear_events(struct quiz_host *h)
{
    h->nr_events = 0;
}

static void *qh_gpa(struct quiz_host *h, const struct domain *d, uint64_t gpa)
{
    return h->mem[d->domid] + gpa;
}

/* ---- hypercalls, as the guest issues them ---- */

static long qh_hypercall(struct vcpu *v, unsigned nr, uint64_t a1, uint64_t a2, uint64_t a3)
{
    return hypercall_issue(v, nr, a1, a2, a3);
}

long qh_event_channel_op(struct quiz_host *h, struct vcpu *v, unsigned cmd, void *arg, size_t size)
{
    long rc;

    memcpy(qh_gpa(h, v->domain, QH_ARG_GPA), arg, size);
    rc = qh_hypercall(v, __HYPERVISOR_event_channel_op, cmd, QH_ARG_GPA, 0);
    memcpy(arg, qh_gpa(h, v->domain, QH_ARG_GPA), size);
    return rc;
}

long qh_sched_block(struct quiz_host *h, struct vcpu *v)
{
    (void)h;
    return qh_hypercall(v, __HYPERVISOR_sched_op, SCHEDOP_block, 0, 0);
}

void qh_raise_vcpu_virq(struct quiz_host *h, struct vcpu *v, unsigned virq)
{
    (void)h;
    send_guest_vcpu_virq(v, virq);
}

/* ---- set-up ---- */

/* A secondary vcpu comes up as a PV guest brings it up: VCPUOP_initialise with a context (the
 * quiz never runs its code, so an empty one), then VCPUOP_up. */
static long qh_vcpu_up(struct quiz_host *h, struct domain *d, unsigned id)
{
    struct vcpu_guest_context ctxt;
    long rc;

    memset(&ctxt, 0, sizeof(ctxt));
    memcpy(qh_gpa(h, d, QH_ARG_GPA), &ctxt, sizeof(ctxt));
    rc = qh_hypercall(d->vcpu[0], __HYPERVISOR_vcpu_op, VCPUOP_initialise, id, QH_ARG_GPA);
    if (rc == 0)
        rc = qh_hypercall(d->vcpu[0], __HYPERVISOR_vcpu_op, VCPUOP_up, id, 0);
    return rc;
}

static long qh_setup_fifo(struct quiz_host *h, struct domain *d)
{
    long rc = 0;

    for (unsigned i = 0; i < d->max_vcpus && rc == 0; i++) {
        struct evtchn_init_control c = {.control_gfn = QH_FIFO_CONTROL_GPA / XEN_PAGE_SIZE,
                                        .offset = i * QH_FIFO_CONTROL_STRIDE,
                                        .vcpu = i};
        rc = qh_event_channel_op(h, d->vcpu[0], EVTCHNOP_init_control, &c, sizeof(c));
    }
    if (rc == 0) {
        struct evtchn_expand_array e = {.array_gfn = QH_FIFO_ARRAY_GPA / XEN_PAGE_SIZE};
        rc = qh_event_channel_op(h, d->vcpu[0], EVTCHNOP_expand_array, &e, sizeof(e));
    }
    return rc;
}

/* The guest initialises its bitmap pages first (every port masked, nothing pending), as the
 * 3-level protocol asks, then registers them and each vcpu's second-level selector. Ports the
 * quiz binds are then unmasked below, as a 2-level guest's start unmasked. */
static long qh_setup_3l(struct quiz_host *h, struct domain *d)
{
    struct evtchn_register_extended r = {.cmd = EVTCHN_EXTENDED_L3_BITMAPS};
    long rc;

    r.u.bitmaps.nr_pages = EVTCHN_3L_MAX_BITMAP_PAGES;
    for (unsigned k = 0; k < EVTCHN_3L_MAX_BITMAP_PAGES; k++) {
        r.u.bitmaps.pending_gfn[k] = QH_3L_PENDING_GPA / XEN_PAGE_SIZE + k;
        r.u.bitmaps.mask_gfn[k] = QH_3L_MASK_GPA / XEN_PAGE_SIZE + k;
    }
    memset(qh_gpa(h, d, QH_3L_MASK_GPA), 0xff, EVTCHN_3L_MAX_BITMAP_PAGES * XEN_PAGE_SIZE);
    /* The quiz's ports start unmasked, as on the other ABIs. */
    memset(qh_gpa(h, d, QH_3L_MASK_GPA), 0, QH_MAX_PORTS / 8);
    rc = qh_event_channel_op(h, d->vcpu[0], EVTCHNOP_register_extended, &r, sizeof(r));
    for (unsigned i = 0; i < d->max_vcpus && rc == 0; i++) {
        struct evtchn_register_extended s = {.cmd = EVTCHN_EXTENDED_L3_L2SEL};

        s.u.l2sel.vcpu = i;
        s.u.l2sel.gfn = QH_3L_L2SEL_GPA / XEN_PAGE_SIZE;
        s.u.l2sel.offset = i * QH_3L_L2SEL_STRIDE;
        rc = qh_event_channel_op(h, d->vcpu[0], EVTCHNOP_register_extended, &s, sizeof(s));
    }
    return rc;
}

static long (*const qh_abi_setup[QH_ABIS])(struct quiz_host *, struct domain *) = {
    [QH_ABI_3L] = qh_setup_3l,
    [QH_ABI_FIFO] = qh_setup_fifo,
};

static int qh_make_domain(struct quiz_host *h, domid_t domid, unsigned vcpus, const char **why)
{
    struct domain_config cfg = {.domid = domid,
                                .privileged = domid == 0,
                                .max_vcpus = vcpus,
                                .shared_info_gpa = QH_SHINFO_GPA};
    struct domain *d = NULL;

    h->mem[domid] = calloc(1, QH_MEM_SIZE);
    if (!h->mem[domid] || domain_create(&h->hv, &cfg, &d) != 0 || domain_init_shared_info(d) != 0) {
        *why = "cannot create the domains (out of memory)";
        return -1;
    }
    for (unsigned i = 1; i < vcpus; i++)
        if (qh_vcpu_up(h, d, i) != 0) {
            *why = "VCPUOP_up failed while setting up the domains";
            return -1;
        }
    if (qh_abi_setup[h->abi] && qh_abi_setup[h->abi](h, d) != 0) {
        *why = "the ABI's set-up hypercalls failed";
        return -1;
    }
    /* The guest enables event delivery once its callback is in place. */
    for (unsigned i = 0; i < vcpus; i++)
        qh_guest_set_upcall_mask(h, d->vcpu[i], false);
    return 0;
}

int qh_init(struct quiz_host *h, enum qh_abi abi, unsigned nr_domains, const unsigned *vcpus,
            const char **why)
{
    memset(h, 0, sizeof(*h));
    h->abi = abi;
    h->nr_domains = nr_domains;
    strcpy(h->cost.name, "quiz");
    strcpy(h->cost.cpu, "none: the quiz counts no cycles");
    h->cost.cpu_khz = 1000000;
    hv_init(&h->hv, &qh_mem_ops, h, &qh_sink_ops, h, &h->cost);
    for (unsigned i = 0; i < nr_domains; i++)
        if (qh_make_domain(h, (domid_t)i, vcpus[i], why) != 0)
            return -1;
    qh_clear_events(h);
    return 0;
}

void qh_destroy(struct quiz_host *h)
{
    hv_destroy(&h->hv);
    for (unsigned i = 0; i < QH_MAX_DOMAINS; i++)
        free(h->mem[i]);
}

struct domain *qh_domain(struct quiz_host *h, domid_t domid)
{
    return domid < h->nr_domains ? h->hv.domain[domid] : NULL;
}

struct vcpu *qh_vcpu(struct quiz_host *h, domid_t domid, unsigned vcpu)
{
    struct domain *d = qh_domain(h, domid);

    return d ? domain_vcpu(d, vcpu) : NULL;
}

/* ---- the guest's view of its event memory ---- */

static struct shared_info *qh_shinfo(struct quiz_host *h, const struct domain *d)
{
    return qh_gpa(h, d, QH_SHINFO_GPA);
}

static struct vcpu_info *qh_vcpu_info(struct quiz_host *h, const struct vcpu *v)
{
    return &qh_shinfo(h, v->domain)->vcpu_info[v->vcpu_id];
}

static volatile uint64_t *qh_pending_map(struct quiz_host *h, const struct domain *d)
{
    if (h->abi == QH_ABI_3L)
        return qh_gpa(h, d, QH_3L_PENDING_GPA);
    return (volatile uint64_t *)qh_shinfo(h, d)->evtchn_pending;
}

static volatile uint64_t *qh_mask_map(struct quiz_host *h, const struct domain *d)
{
    if (h->abi == QH_ABI_3L)
        return qh_gpa(h, d, QH_3L_MASK_GPA);
    return (volatile uint64_t *)qh_shinfo(h, d)->evtchn_mask;
}

static volatile event_word_t *qh_fifo_word(struct quiz_host *h, const struct domain *d,
                                           uint32_t port)
{
    return (volatile event_word_t *)qh_gpa(h, d, QH_FIFO_ARRAY_GPA) + port;
}

static volatile struct evtchn_fifo_control_block *qh_fifo_control(struct quiz_host *h,
                                                                  const struct vcpu *v)
{
    return qh_gpa(h, v->domain,
                  QH_FIFO_CONTROL_GPA + (uint64_t)v->vcpu_id * QH_FIFO_CONTROL_STRIDE);
}

bool qh_port_pending(struct quiz_host *h, struct domain *d, uint32_t port)
{
    if (h->abi == QH_ABI_FIFO)
        return guest_test_bit32(NULL, EVTCHN_FIFO_PENDING, qh_fifo_word(h, d, port));
    return guest_test_bit(NULL, port, qh_pending_map(h, d));
}

bool qh_port_masked(struct quiz_host *h, struct domain *d, uint32_t port)
{
    if (h->abi == QH_ABI_FIFO)
        return guest_test_bit32(NULL, EVTCHN_FIFO_MASKED, qh_fifo_word(h, d, port));
    return guest_test_bit(NULL, port, qh_mask_map(h, d));
}

bool qh_upcall_pending(struct vcpu *v)
{
    return *vcpu_info_upcall_pending(vcpu_info_ptr(v)) != 0;
}

bool qh_upcall_masked(struct vcpu *v)
{
    return *vcpu_info_upcall_mask(vcpu_info_ptr(v)) != 0;
}

void qh_guest_mask(struct quiz_host *h, struct domain *d, uint32_t port)
{
    if (h->abi == QH_ABI_FIFO)
        (void)guest_test_and_set_bit32(NULL, EVTCHN_FIFO_MASKED, qh_fifo_word(h, d, port));
    else
        (void)guest_test_and_set_bit(NULL, port, qh_mask_map(h, d));
}

void qh_guest_set_upcall_mask(struct quiz_host *h, struct vcpu *v, bool on)
{
    qh_vcpu_info(h, v)->evtchn_upcall_mask = on;
}

/* ---- the guest's upcall handler ---- */

struct qh_handled {
    uint32_t *port;
    unsigned n, max;
};

/* The guest knows which vcpu each of its ports notifies (it bound them, and moved them with
 * bind_vcpu): a handler only takes its own vcpu's ports, as Linux's cpu_evtchn mask does. */
static bool qh_notifies(const struct vcpu *v, uint32_t port)
{
    const struct evtchn *chn = evtchn_from_port(v->domain, port);

    return chn && chn->notify_vcpu_id == v->vcpu_id;
}

static void qh_take(struct qh_handled *out, uint32_t port)
{
    if (out->n < out->max)
        out->port[out->n++] = port;
}

/* One bitmap word: clear and take each unmasked pending port that notifies v. */
static void qh_handle_word(struct quiz_host *h, struct vcpu *v, unsigned w, struct qh_handled *out)
{
    volatile uint64_t *pending = qh_pending_map(h, v->domain);
    uint64_t bits = pending[w] & ~qh_mask_map(h, v->domain)[w];

    for (unsigned b = 0; b < 64; b++) {
        uint32_t port = w * 64 + b;

        if ((bits >> b & 1) && qh_notifies(v, port) &&
            guest_test_and_clear_bit(NULL, port, pending))
            qh_take(out, port);
    }
}

static void qh_handle_2l(struct quiz_host *h, struct vcpu *v, struct qh_handled *out)
{
    uint64_t sel =
        __atomic_exchange_n(&qh_vcpu_info(h, v)->evtchn_pending_sel, 0, __ATOMIC_SEQ_CST);

    for (unsigned w = 0; w < 64; w++)
        if (sel >> w & 1)
            qh_handle_word(h, v, w, out);
}

/* First-level bit s selects second-level word s; its bit b selects pending word s * 64 + b. */
static void qh_handle_3l(struct quiz_host *h, struct vcpu *v, struct qh_handled *out)
{
    volatile uint64_t *l2 =
        qh_gpa(h, v->domain, QH_3L_L2SEL_GPA + (uint64_t)v->vcpu_id * QH_3L_L2SEL_STRIDE);
    uint64_t l1 = __atomic_exchange_n(&qh_vcpu_info(h, v)->evtchn_pending_sel, 0, __ATOMIC_SEQ_CST);

    for (unsigned s = 0; s < 64; s++) {
        if (!(l1 >> s & 1))
            continue;
        uint64_t sel = __atomic_exchange_n(&l2[s], 0, __ATOMIC_SEQ_CST);
        for (unsigned b = 0; b < 64; b++)
            if (sel >> b & 1)
                qh_handle_word(h, v, s * 64 + b, out);
    }
}

/* Each READY queue is walked from its HEAD, as Linux's consume_one_event does: every word is
 * unlinked; one pending and unmasked is handled (PENDING cleared), a masked one stays PENDING
 * for unmask to link again. */
static void qh_handle_fifo(struct quiz_host *h, struct vcpu *v, struct qh_handled *out)
{
    volatile struct evtchn_fifo_control_block *cb = qh_fifo_control(h, v);
    uint32_t ready = __atomic_exchange_n(&cb->ready, 0, __ATOMIC_SEQ_CST);

    for (unsigned q = 0; q < EVTCHN_FIFO_MAX_QUEUES; q++) {
        if (!(ready >> q & 1))
            continue;
        for (uint32_t port = cb->head[q]; port;) {
            volatile event_word_t *word = qh_fifo_word(h, v->domain, port);
            event_word_t w = *word;
            uint32_t next = w & EVTCHN_FIFO_LINK_MASK;

            *word = w & ~(QH_FIFO_BIT(EVTCHN_FIFO_LINKED) | EVTCHN_FIFO_LINK_MASK);
            if ((w & QH_FIFO_BIT(EVTCHN_FIFO_PENDING)) && !(w & QH_FIFO_BIT(EVTCHN_FIFO_MASKED)) &&
                guest_test_and_clear_bit32(NULL, EVTCHN_FIFO_PENDING, word))
                qh_take(out, port);
            port = next;
        }
    }
}

static void (*const qh_handlers[QH_ABIS])(struct quiz_host *, struct vcpu *,
                                          struct qh_handled *) = {
    [QH_ABI_2L] = qh_handle_2l,
    [QH_ABI_3L] = qh_handle_3l,
    [QH_ABI_FIFO] = qh_handle_fifo,
};

/* evtchn_upcall_pending is cleared first, before the selectors are read: an event raised
 * meanwhile then sets it again and is not lost (the rule of the vcpu_info comment in xen.h). */
unsigned qh_guest_handle(struct quiz_host *h, struct vcpu *v, uint32_t *handled, unsigned max)
{
    struct qh_handled out = {.port = handled, .max = max};

    qh_vcpu_info(h, v)->evtchn_upcall_pending = 0;
    qh_handlers[h->abi](h, v, &out);
    return out.n;
}
