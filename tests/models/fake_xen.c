/* Fake guest memory and recording sink for the model's unit tests. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "models/event_3l.h"
#include "models/event_fifo.h"
#include "tests/models/fake_xen.h"

static void *fx_translate(void *opaque, struct domain *d, uint64_t gpa, size_t len)
{
    struct fake_xen *fx = opaque;

    if (d->domid >= FX_MAX_DOMAINS || !fx->mem[d->domid])
        return NULL;
    if (gpa >= FX_MEM_SIZE || len > FX_MEM_SIZE - gpa)
        return NULL;
    if (fx->fail_at && fx->fail_gpa >= gpa && fx->fail_gpa < gpa + (len ? len : 1) &&
        ++fx->seen == fx->fail_at)
        return NULL;
    return fx->mem[d->domid] + gpa;
}

/* Accesses cost nothing here beyond their kind's price (no cache lines); they are counted by
 * kind, and a test's hook may interfere with them. */
static uint64_t fx_touch(void *opaque, const volatile void *addr, size_t len, enum guest_access k)
{
    struct fake_xen *fx = opaque;

    fx->touches[k]++;
    if (fx->touch_hook)
        fx->touch_hook(fx, (volatile void *)addr, len, k);
    return 0;
}

uint64_t fx_arg_gpa(struct fake_xen *fx, bool unmapped, bool copy_out_fails)
{
    if (unmapped)
        return FX_BAD_GPA;
    if (copy_out_fails) {
        fx->fail_gpa = FX_ARG_GPA; /* the copy-in passes, the copy-out does not */
        fx->fail_at = 2;
        fx->seen = 0;
    }
    return FX_ARG_GPA;
}

uint64_t fx_touch_cycles(const struct fake_xen *fx)
{
    const struct cost_profile *c = &fx->profile;
    return fx->touches[GUEST_READ] * cost_cycles(c, COST_XEN_READ) +
           fx->touches[GUEST_WRITE] * cost_cycles(c, COST_XEN_WRITE) +
           fx->touches[GUEST_LOCKED] * cost_cycles(c, COST_XEN_LOCKED);
}

static const struct hv_mem_ops fx_mem_ops = {.translate = fx_translate, .touch = fx_touch};

struct fx_vcpu_rec *fx_rec(struct fake_xen *fx, const struct vcpu *v)
{
    return &fx->rec[v->domain->domid][v->vcpu_id];
}

static void fx_kick(void *o, struct vcpu *v)
{
    fx_rec(o, v)->kicks++;
}
static void fx_wake(void *o, struct vcpu *v)
{
    fx_rec(o, v)->wakes++;
}
static void fx_up(void *o, struct vcpu *v)
{
    fx_rec(o, v)->ups++;
}
static void fx_down(void *o, struct vcpu *v)
{
    fx_rec(o, v)->downs++;
}

static void fx_update_time(void *o, struct vcpu *v)
{
    fx_rec(o, v)->time_updates++;
}

static void fx_pirq_timer(void *o, struct domain *d, unsigned pirq, uint64_t deadline)
{
    struct fake_xen *fx = o;

    fx->pirq_timer_calls++;
    if (pirq < 256)
        fx->pirq_timer[d->domid][pirq] = deadline;
}

static void fx_timer(void *o, struct vcpu *v, enum hv_timer_kind kind, uint64_t deadline)
{
    struct fx_timer *t = &fx_rec(o, v)->timer[kind];

    t->calls++;
    t->kind = kind;
    t->deadline = deadline;
}

static void fx_console(void *o, struct vcpu *v, const char *buf, size_t len)
{
    struct fake_xen *fx = o;

    (void)v;
    fx->console_calls++;
    if (len > sizeof(fx->console) - 1 - fx->console_len)
        len = sizeof(fx->console) - 1 - fx->console_len;
    memcpy(fx->console + fx->console_len, buf, len);
    fx->console_len += len;
}

static void fx_shutdown(void *o, struct domain *d, unsigned reason)
{
    ((struct fake_xen *)o)->shutdown_reason[d->domid] = (int)reason;
}

static uint64_t fx_now(void *o, struct vcpu *v)
{
    (void)v;
    return ((struct fake_xen *)o)->now_ns;
}

static void fx_event_page(void *o, struct domain *d, uint64_t gpa, enum hv_event_page_kind kind,
                          unsigned index)
{
    struct fake_xen *fx = o;

    (void)d;
    if (fx->nr_event_pages < FX_MAX_EVENT_PAGES)
        fx->event_page[fx->nr_event_pages++] =
            (struct fx_event_page){.gpa = gpa, .kind = kind, .index = index};
}

static void fx_event_pages_released(void *o, struct domain *d)
{
    (void)d;
    ((struct fake_xen *)o)->event_pages_released++;
}

/* Ioreq servers: the vcpu's wait is the model's blocked_in_xen, pages are used where they are. */
static void fx_xen_wait(void *o, struct vcpu *v, bool blocked)
{
    (void)o, (void)v, (void)blocked;
}

static void fx_ioreq_page(void *o, struct domain *d, uint64_t gfn, void *page)
{
    struct fake_xen *fx = o;
    fx->page_map[fx->nr_page_maps % FX_MAX_PAGE_MAPS] =
        (struct fx_page_map){.domid = d->domid, .gfn = gfn, .page = page};
    fx->nr_page_maps++;
}

static const struct hv_sink_ops fx_sink_ops = {
    .xen_wait = fx_xen_wait,
    .ioreq_page = fx_ioreq_page,
    .kick = fx_kick,
    .wake = fx_wake,
    .timer = fx_timer,
    .vcpu_up = fx_up,
    .vcpu_down = fx_down,
    .console = fx_console,
    .shutdown = fx_shutdown,
    .now_ns = fx_now,
    .update_time = fx_update_time,
    .pirq_timer = fx_pirq_timer,
    .event_page = fx_event_page,
    .event_pages_released = fx_event_pages_released,
};

/* A profile for unit tests: distinct round numbers, so a test can tell which were charged. */
static void fx_fill_profile(struct cost_profile *p)
{
    snprintf(p->name, sizeof(p->name), "unit-test");
    snprintf(p->cpu, sizeof(p->cpu), "none: tests only");
    p->cpu_khz = 1000000; /* 1 GHz: one cycle per ns */
    for (unsigned i = 0; i < COST_IDS; i++) {
        p->c[i].cycles = 100 * (i + 1);
        p->c[i].confidence = 'E';
    }
}

void fx_init(struct fake_xen *fx)
{
    memset(fx, 0, sizeof(*fx));
    for (unsigned i = 0; i < FX_MAX_DOMAINS; i++)
        fx->shutdown_reason[i] = -1;
    fx_fill_profile(&fx->profile);
    hv_init(&fx->hv, &fx_mem_ops, fx, &fx_sink_ops, fx, &fx->profile);
}

void fx_destroy(struct fake_xen *fx)
{
    hv_destroy(&fx->hv);
    for (unsigned i = 0; i < FX_MAX_DOMAINS; i++)
        free(fx->mem[i]);
}

struct domain *fx_domain(struct fake_xen *fx, domid_t domid, bool privileged, unsigned max_vcpus,
                         unsigned word_bits, unsigned max_evtchn_port)
{
    struct domain_config cfg = {
        .domid = domid,
        .privileged = privileged,
        .max_vcpus = max_vcpus ? max_vcpus : 2,
        .guest_word_bits = word_bits,
        .max_evtchn_port = max_evtchn_port,
        .shared_info_gpa = FX_SHINFO_GPA,
    };
    struct domain *d = NULL;

    assert_true(domid < FX_MAX_DOMAINS && cfg.max_vcpus <= FX_MAX_VCPUS);
    fx->mem[domid] = aligned_alloc(4096, FX_MEM_SIZE);
    assert_non_null(fx->mem[domid]);
    memset(fx->mem[domid], 0, FX_MEM_SIZE);
    assert_int_equal(domain_create(&fx->hv, &cfg, &d), 0);
    return d;
}

void *fx_gpa(struct fake_xen *fx, struct domain *d, uint64_t gpa)
{
    return fx->mem[d->domid] + gpa;
}

long fx_hypercall(struct vcpu *v, unsigned nr, uint64_t a1, uint64_t a2, uint64_t a3)
{
    return hypercall_issue(v, nr, a1, a2, a3);
}

long fx_evtchn_op(struct fake_xen *fx, struct vcpu *v, unsigned cmd, void *arg, size_t size)
{
    long rc;

    memcpy(fx_gpa(fx, v->domain, FX_ARG_GPA), arg, size);
    rc = fx_hypercall(v, __HYPERVISOR_event_channel_op, cmd, FX_ARG_GPA, 0);
    memcpy(arg, fx_gpa(fx, v->domain, FX_ARG_GPA), size);
    return rc;
}

uint32_t fx_alloc_unbound(struct fake_xen *fx, struct vcpu *v, domid_t dom, domid_t remote)
{
    struct evtchn_alloc_unbound a = {.dom = dom, .remote_dom = remote};

    assert_int_equal(fx_evtchn_op(fx, v, EVTCHNOP_alloc_unbound, &a, sizeof(a)), 0);
    return a.port;
}

uint32_t fx_bind_ipi(struct fake_xen *fx, struct vcpu *v, unsigned vcpu)
{
    struct evtchn_bind_ipi b = {.vcpu = vcpu};

    assert_int_equal(fx_evtchn_op(fx, v, EVTCHNOP_bind_ipi, &b, sizeof(b)), 0);
    return b.port;
}

uint32_t fx_bind_virq(struct fake_xen *fx, struct vcpu *v, unsigned virq, unsigned vcpu)
{
    struct evtchn_bind_virq b = {.virq = virq, .vcpu = vcpu};

    assert_int_equal(fx_evtchn_op(fx, v, EVTCHNOP_bind_virq, &b, sizeof(b)), 0);
    return b.port;
}

uint32_t fx_bind_interdomain(struct fake_xen *fx, struct vcpu *v, domid_t rdom, uint32_t rport)
{
    struct evtchn_bind_interdomain b = {.remote_dom = rdom, .remote_port = rport};

    assert_int_equal(fx_evtchn_op(fx, v, EVTCHNOP_bind_interdomain, &b, sizeof(b)), 0);
    return b.local_port;
}

unsigned fx_fill_table(struct fake_xen *fx, struct vcpu *v)
{
    struct evtchn_bind_ipi b = {.vcpu = 0};
    unsigned n = 0;

    while (fx_evtchn_op(fx, v, EVTCHNOP_bind_ipi, &b, sizeof(b)) == 0)
        n++;
    return n;
}

/* The guest's view, worked out here from the public headers alone (not through the model's
 * accessors, which these helpers check): the native layout, or the compat one of
 * <xen/foreign/x86_32.h> for a 32-bit guest. */
static bool fx_compat(const struct domain *d)
{
    return d->guest_word_bits == 32;
}

static volatile uint64_t *fx_bitmap(struct domain *d, bool mask)
{
    unsigned char *s = (unsigned char *)shared_info_ptr(d);

    if (fx_compat(d))
        return (volatile uint64_t *)(s +
                                     (mask ? offsetof(struct shared_info_x86_32, evtchn_mask)
                                           : offsetof(struct shared_info_x86_32, evtchn_pending)));
    return (volatile uint64_t *)(s + (mask ? offsetof(struct shared_info, evtchn_mask)
                                           : offsetof(struct shared_info, evtchn_pending)));
}

static void fx_put_bit(volatile uint64_t *map, uint32_t nr, bool on)
{
    if (on)
        guest_test_and_set_bit(NULL, nr, map);
    else
        guest_test_and_clear_bit(NULL, nr, map);
}

bool fx_pending(struct domain *d, uint32_t port)
{
    return guest_test_bit(NULL, port, fx_bitmap(d, false));
}

bool fx_masked(struct domain *d, uint32_t port)
{
    return guest_test_bit(NULL, port, fx_bitmap(d, true));
}

void fx_set_pending(struct domain *d, uint32_t port, bool on)
{
    fx_put_bit(fx_bitmap(d, false), port, on);
}

void fx_set_mask(struct domain *d, uint32_t port, bool on)
{
    fx_put_bit(fx_bitmap(d, true), port, on);
}

volatile void *fx_sel_ptr(struct vcpu *v)
{
    unsigned char *vi = (unsigned char *)vcpu_info_ptr(v);

    return vi + (fx_compat(v->domain) ? offsetof(struct vcpu_info_x86_32, evtchn_pending_sel)
                                      : offsetof(struct vcpu_info, evtchn_pending_sel));
}

uint64_t fx_sel(struct vcpu *v)
{
    if (fx_compat(v->domain))
        return *(volatile uint32_t *)fx_sel_ptr(v);
    return *(volatile uint64_t *)fx_sel_ptr(v);
}

void fx_set_sel(struct vcpu *v, uint64_t sel)
{
    if (fx_compat(v->domain))
        *(volatile uint32_t *)fx_sel_ptr(v) = (uint32_t)sel;
    else
        *(volatile uint64_t *)fx_sel_ptr(v) = sel;
}

void fx_sel_set_bit(struct vcpu *v, unsigned bit)
{
    fx_set_sel(v, fx_sel(v) | UINT64_C(1) << bit);
}

uint8_t fx_upcall_pending(struct vcpu *v)
{
    return vcpu_info_ptr(v)->evtchn_upcall_pending;
}
uint8_t fx_upcall_mask(struct vcpu *v)
{
    return vcpu_info_ptr(v)->evtchn_upcall_mask;
}
void fx_set_upcall_mask(struct vcpu *v, uint8_t m)
{
    vcpu_info_ptr(v)->evtchn_upcall_mask = m;
}
void fx_set_upcall_pending(struct vcpu *v, uint8_t p)
{
    vcpu_info_ptr(v)->evtchn_upcall_pending = p;
}

/* ---- consistency of the port tables ---- */

/* The vcpu whose virq_to_evtchn records a VIRQ port: its notify vcpu for a per-vcpu VIRQ,
 * vcpu 0 for the others, wherever bind_vcpu moved their notification since. */
static unsigned fx_virq_owner(const struct evtchn *chn)
{
    return virq_type(chn->u.virq) == VIRQ_VCPU ? chn->notify_vcpu_id : 0;
}

static void fx_check_interdomain(struct fake_xen *fx, struct domain *d, const struct evtchn *chn)
{
    struct domain *rd = domain_lookup(&fx->hv, d, chn->u.interdomain.remote_domid);
    const struct evtchn *rchn;

    assert_non_null(rd);
    rchn = evtchn_from_port(rd, chn->u.interdomain.remote_port);
    assert_non_null(rchn);
    assert_int_equal(rchn->state, ECS_INTERDOMAIN);
    assert_int_equal(rchn->u.interdomain.remote_domid, d->domid);
    assert_int_equal(rchn->u.interdomain.remote_port, chn->port);
}

static void fx_check_port(struct fake_xen *fx, struct domain *d, const struct evtchn *chn,
                          unsigned limit)
{
    switch (chn->state) {
    case ECS_FREE:
        assert_false(chn->xen_consumer);
        return;
    case ECS_RESERVED:
        assert_int_equal(chn->port, 0); /* the model reserves port 0 only */
        return;
    case ECS_INTERDOMAIN:
        fx_check_interdomain(fx, d, chn);
        break;
    case ECS_VIRQ:
        assert_true(chn->u.virq < NR_VIRQS);
        assert_int_equal(d->vcpu[fx_virq_owner(chn)]->virq_to_evtchn[chn->u.virq], chn->port);
        break;
    case ECS_PIRQ:
        assert_true(chn->u.pirq < d->nr_pirqs);
        assert_int_equal(d->pirq_to_evtchn[chn->u.pirq], chn->port);
        break;
    case ECS_UNBOUND:
    case ECS_IPI:
        break;
    default:
        fail_msg("d%u port %u: state %u", d->domid, chn->port, chn->state);
    }
    assert_true(chn->notify_vcpu_id < d->max_vcpus);
    /* A port Xen attached may outlive an ABI that allowed it (a reset from FIFO to 2-level
     * keeps it); a guest port never does, as only a reset that closed them all shrinks it. */
    if (!chn->xen_consumer && chn->port >= limit)
        fail_msg("d%u port %u in use at or beyond the limit %u", d->domid, chn->port, limit);
}

static void fx_check_ports(struct fake_xen *fx, struct domain *d)
{
    unsigned active = 0, xen = 0, limit = domain_max_evtchns(d);

    assert_true(d->valid_evtchns >= EVTCHNS_PER_BUCKET);
    assert_int_equal(d->valid_evtchns % EVTCHNS_PER_BUCKET, 0);
    assert_true(d->stats.nr_port_stats >= d->valid_evtchns);
    assert_true(d->evtchn_free_hint <= d->valid_evtchns);
    assert_true(d->reset_next_port == 0 || port_is_valid(d, d->reset_next_port));
    assert_int_equal(d->evtchn[0].state, ECS_RESERVED);
    for (uint32_t p = 0; p < d->valid_evtchns; p++) {
        const struct evtchn *chn = evtchn_from_port(d, p);

        assert_non_null(chn);
        assert_int_equal(chn->port, p);
        assert_non_null(port_stats(d, p));
        if (p < d->evtchn_free_hint)
            assert_int_not_equal(chn->state, ECS_FREE);
        fx_check_port(fx, d, chn, limit);
        active += chn->state > ECS_RESERVED;
        xen += chn->xen_consumer;
    }
    assert_int_equal(d->active_evtchns, active);
    assert_int_equal(d->xen_evtchns, xen);
}

/* The other direction: every recorded VIRQ and PIRQ names a port bound to it. */
static void fx_check_bindings(struct domain *d)
{
    for (unsigned i = 0; i < d->max_vcpus; i++)
        for (unsigned virq = 0; virq < NR_VIRQS; virq++) {
            uint32_t port = d->vcpu[i]->virq_to_evtchn[virq];
            const struct evtchn *chn = evtchn_from_port(d, port);

            if (!port)
                continue;
            assert_non_null(chn);
            assert_int_equal(chn->state, ECS_VIRQ);
            assert_int_equal(chn->u.virq, virq);
            assert_int_equal(fx_virq_owner(chn), i);
        }
    for (unsigned pirq = 0; pirq < d->nr_pirqs; pirq++) {
        const struct evtchn *chn = evtchn_from_port(d, d->pirq_to_evtchn[pirq]);

        if (!d->pirq_to_evtchn[pirq])
            continue;
        assert_non_null(chn);
        assert_int_equal(chn->state, ECS_PIRQ);
        assert_int_equal(chn->u.pirq, pirq);
    }
}

static void fx_check_fifo(struct fake_xen *fx, struct domain *d)
{
    const struct evtchn_fifo_domain *efd = d->evtchn_fifo;
    unsigned pages = efd->num_evtchns / EVTCHN_FIFO_WORDS_PER_PAGE;

    assert_int_equal(efd->num_evtchns % EVTCHN_FIFO_WORDS_PER_PAGE, 0);
    assert_true(pages <= EVTCHN_FIFO_MAX_ARRAY_PAGES);
    for (unsigned k = 0; k < pages; k++) {
        uint32_t first = k * EVTCHN_FIFO_WORDS_PER_PAGE;

        assert_true(efd->array_gpa[k] % XEN_PAGE_SIZE == 0 &&
                    efd->array_gpa[k] + XEN_PAGE_SIZE <= FX_MEM_SIZE);
        assert_ptr_equal(efd->event_array[k], fx_gpa(fx, d, efd->array_gpa[k]));
        assert_ptr_equal(evtchn_fifo_word_from_port(d, first), efd->event_array[k]);
        assert_ptr_equal(evtchn_fifo_word_from_port(d, first + EVTCHN_FIFO_WORDS_PER_PAGE - 1),
                         efd->event_array[k] + EVTCHN_FIFO_WORDS_PER_PAGE - 1);
    }
    assert_null(evtchn_fifo_word_from_port(d, efd->num_evtchns));
    for (unsigned i = 0; i < d->max_vcpus; i++) {
        const struct evtchn_fifo_vcpu *efv = d->vcpu[i]->evtchn_fifo;
        volatile struct evtchn_fifo_control_block *cb;

        assert_non_null(efv);
        cb = efv->control_block;
        for (unsigned q = 0; q < EVTCHN_FIFO_MAX_QUEUES; q++) {
            assert_int_equal(efv->queue[q].priority, q);
            if (cb)
                assert_ptr_equal(efv->queue[q].head, &cb->head[q]);
        }
        if (cb)
            assert_ptr_equal(cb, fx_gpa(fx, d, efv->control_gpa));
    }
}

static void fx_check_3l(struct fake_xen *fx, struct domain *d)
{
    const struct evtchn_3l_domain *l3 = d->evtchn_3l;
    unsigned selectors = 0;

    assert_int_equal(l3->nr_pages, evtchn_3l_bitmap_pages(d));
    for (unsigned k = 0; k < l3->nr_pages; k++) {
        assert_ptr_equal(l3->pending[k], fx_gpa(fx, d, l3->pending_gfn[k] * XEN_PAGE_SIZE));
        assert_ptr_equal(l3->mask[k], fx_gpa(fx, d, l3->mask_gfn[k] * XEN_PAGE_SIZE));
    }
    for (unsigned i = 0; i < d->max_vcpus; i++) {
        const struct evtchn_3l_vcpu *l3v = d->vcpu[i]->evtchn_3l;

        if (!l3v)
            continue;
        selectors++;
        assert_ptr_equal(l3v->sel, (volatile uint64_t *)fx_gpa(fx, d, l3v->gfn * XEN_PAGE_SIZE) +
                                       l3v->offset / 8);
    }
    assert_int_equal(l3->nr_l2sel, selectors);
}

void fx_check_abi_published(struct fake_xen *fx, struct domain *d)
{
    const struct evtchn_port_ops *ops = d->evtchn_port_ops;

    assert_true(ops == &evtchn_port_ops_2l || ops == &evtchn_port_ops_3l ||
                ops == &evtchn_port_ops_fifo);
    if (ops == &evtchn_port_ops_fifo)
        assert_non_null(d->evtchn_fifo);
    if (ops == &evtchn_port_ops_3l)
        assert_non_null(d->evtchn_3l);
    if (d->evtchn_fifo)
        fx_check_fifo(fx, d);
    if (d->evtchn_3l)
        fx_check_3l(fx, d);
    for (unsigned i = 0; i < d->max_vcpus; i++) {
        if (!d->evtchn_fifo)
            assert_null(d->vcpu[i]->evtchn_fifo);
        if (!d->evtchn_3l)
            assert_null(d->vcpu[i]->evtchn_3l);
    }
}

/* Between operations, more: the ops table names the ABI whose state exists, and only that
 * ABI's state exists. */
static void fx_check_abi(struct fake_xen *fx, struct domain *d)
{
    const struct evtchn_port_ops *ops = d->evtchn_port_ops;

    fx_check_abi_published(fx, d);
    assert_int_equal(d->evtchn_fifo != NULL, ops == &evtchn_port_ops_fifo);
    assert_int_equal(d->evtchn_3l != NULL, ops == &evtchn_port_ops_3l);
}

void fx_check_consistency(struct fake_xen *fx)
{
    for (unsigned id = 0; id < FX_MAX_DOMAINS; id++) {
        struct domain *d = fx->hv.domain[id];

        if (!d)
            continue;
        fx_check_ports(fx, d);
        fx_check_bindings(d);
        fx_check_abi(fx, d);
    }
}

long fx_reset_until_done(struct fake_xen *fx, struct vcpu *v, domid_t dom)
{
    struct evtchn_reset r = {.dom = dom};
    struct hv_regs regs = {
        .rax = __HYPERVISOR_event_channel_op, .rdi = EVTCHNOP_reset, .rsi = FX_ARG_GPA};

    memcpy(fx_gpa(fx, v->domain, FX_ARG_GPA), &r, sizeof(r));
    for (;;) {
        hypercall_dispatch(v, &regs);
        if (!v->hcall_continuation)
            return (long)regs.rax;
        fx_set_upcall_pending(v, 0); /* the guest takes the event that preempted the call */
    }
}

long fx_fifo_init_control(struct fake_xen *fx, struct vcpu *v, unsigned vcpu, uint64_t gfn,
                          uint32_t offset)
{
    struct evtchn_init_control c = {.control_gfn = gfn, .offset = offset, .vcpu = vcpu};
    long rc = fx_evtchn_op(fx, v, EVTCHNOP_init_control, &c, sizeof(c));

    if (rc == 0)
        assert_int_equal(c.link_bits, EVTCHN_FIFO_LINK_BITS);
    return rc;
}

long fx_fifo_expand(struct fake_xen *fx, struct vcpu *v, unsigned page)
{
    struct evtchn_expand_array e = {.array_gfn = FX_FIFO_ARRAY_GPA / XEN_PAGE_SIZE + page};

    return fx_evtchn_op(fx, v, EVTCHNOP_expand_array, &e, sizeof(e));
}

void fx_fifo_init(struct fake_xen *fx, struct domain *d, unsigned pages)
{
    for (unsigned i = 0; i < d->max_vcpus; i++)
        assert_int_equal(fx_fifo_init_control(fx, d->vcpu[0], i,
                                              FX_FIFO_CONTROL_GPA / XEN_PAGE_SIZE,
                                              i * FX_FIFO_CONTROL_STRIDE),
                         0);
    for (unsigned p = 0; p < pages; p++)
        assert_int_equal(fx_fifo_expand(fx, d->vcpu[0], p), 0);
}

volatile uint32_t *fx_fifo_word(struct fake_xen *fx, struct domain *d, uint32_t port)
{
    return (volatile uint32_t *)fx_gpa(fx, d, FX_FIFO_ARRAY_GPA + 4 * (uint64_t)port);
}

volatile struct evtchn_fifo_control_block *fx_fifo_control(struct fake_xen *fx,
                                                           const struct vcpu *v)
{
    return fx_gpa(fx, v->domain,
                  FX_FIFO_CONTROL_GPA + v->vcpu_id * (uint64_t)FX_FIFO_CONTROL_STRIDE);
}

int fx_teardown(void **state)
{
    fx_destroy(*state);
    test_free(*state);
    return 0;
}

/* ---- 3-level ABI, guest side ---- */

static void fx_3l_bits(volatile uint64_t *map, uint32_t port, bool on)
{
    if (on)
        guest_test_and_set_bit(NULL, port, map);
    else
        guest_test_and_clear_bit(NULL, port, map);
}

long fx_3l_register_bitmaps(struct fake_xen *fx, struct vcpu *v, unsigned nr_pages)
{
    struct evtchn_register_extended r = {.cmd = EVTCHN_EXTENDED_L3_BITMAPS};

    r.u.bitmaps.nr_pages = nr_pages;
    for (unsigned k = 0; k < nr_pages && k < EVTCHN_3L_MAX_BITMAP_PAGES; k++) {
        r.u.bitmaps.pending_gfn[k] = FX_3L_PENDING_GPA / XEN_PAGE_SIZE + k;
        r.u.bitmaps.mask_gfn[k] = FX_3L_MASK_GPA / XEN_PAGE_SIZE + k;
        memset(fx_gpa(fx, v->domain, FX_3L_PENDING_GPA + k * XEN_PAGE_SIZE), 0, XEN_PAGE_SIZE);
        memset(fx_gpa(fx, v->domain, FX_3L_MASK_GPA + k * XEN_PAGE_SIZE), 0xff, XEN_PAGE_SIZE);
    }
    return fx_evtchn_op(fx, v, EVTCHNOP_register_extended, &r, sizeof(r));
}

long fx_3l_register_l2sel(struct fake_xen *fx, struct vcpu *v, unsigned vcpu)
{
    struct evtchn_register_extended r = {.cmd = EVTCHN_EXTENDED_L3_L2SEL};

    r.u.l2sel.vcpu = vcpu;
    r.u.l2sel.gfn = FX_3L_L2SEL_GPA / XEN_PAGE_SIZE;
    r.u.l2sel.offset = vcpu * FX_3L_L2SEL_STRIDE;
    if (vcpu < FX_MAX_VCPUS)
        memset(fx_gpa(fx, v->domain, FX_3L_L2SEL_GPA + vcpu * FX_3L_L2SEL_STRIDE), 0,
               FX_3L_L2SEL_STRIDE);
    return fx_evtchn_op(fx, v, EVTCHNOP_register_extended, &r, sizeof(r));
}

void fx_3l_init(struct fake_xen *fx, struct domain *d)
{
    unsigned pages = d->guest_word_bits == 32 ? 1 : EVTCHN_3L_MAX_BITMAP_PAGES;

    assert_int_equal(fx_3l_register_bitmaps(fx, d->vcpu[0], pages), 0);
    for (unsigned i = 0; i < d->max_vcpus; i++)
        assert_int_equal(fx_3l_register_l2sel(fx, d->vcpu[0], i), 0);
}

volatile uint64_t *fx_3l_pending_map(struct fake_xen *fx, struct domain *d)
{
    return fx_gpa(fx, d, FX_3L_PENDING_GPA);
}

volatile uint64_t *fx_3l_mask_map(struct fake_xen *fx, struct domain *d)
{
    return fx_gpa(fx, d, FX_3L_MASK_GPA);
}

volatile uint64_t *fx_3l_l2sel(struct fake_xen *fx, const struct vcpu *v)
{
    return fx_gpa(fx, v->domain, FX_3L_L2SEL_GPA + v->vcpu_id * (uint64_t)FX_3L_L2SEL_STRIDE);
}

bool fx_3l_pending(struct fake_xen *fx, struct domain *d, uint32_t port)
{
    return guest_test_bit(NULL, port, fx_3l_pending_map(fx, d));
}

bool fx_3l_masked(struct fake_xen *fx, struct domain *d, uint32_t port)
{
    return guest_test_bit(NULL, port, fx_3l_mask_map(fx, d));
}

void fx_3l_set_pending(struct fake_xen *fx, struct domain *d, uint32_t port, bool on)
{
    fx_3l_bits(fx_3l_pending_map(fx, d), port, on);
}

void fx_3l_set_mask(struct fake_xen *fx, struct domain *d, uint32_t port, bool on)
{
    fx_3l_bits(fx_3l_mask_map(fx, d), port, on);
}

void fx_3l_claim_ipi(struct domain *d, uint32_t port, unsigned vcpu)
{
    assert_int_equal(evtchn_allocate_port(d, port), 0);
    evtchn_claim(d, evtchn_from_port(d, port), ECS_IPI, vcpu);
}

/* ---- ioreq servers ---- */

struct domain *fx_hvm_domain(struct fake_xen *fx, domid_t domid, bool privileged,
                             unsigned max_vcpus)
{
    struct domain *d = fx_domain(fx, domid, privileged, max_vcpus, 0, 0);

    d->hvm = true;
    return d;
}

long fx_dm_op(struct fake_xen *fx, struct vcpu *v, domid_t dom, struct xen_dm_op *op, size_t size)
{
    struct xen_dm_op_buf buf = {.size = size};
    long rc;

    buf.h.p = (void *)(uintptr_t)FX_ARG_GPA;
    memcpy(fx_gpa(fx, v->domain, FX_ARG_GPA), op, size);
    memcpy(fx_gpa(fx, v->domain, FX_BUF_GPA), &buf, sizeof(buf));
    rc = fx_hypercall(v, __HYPERVISOR_dm_op, dom, 1, FX_BUF_GPA);
    memcpy(op, fx_gpa(fx, v->domain, FX_ARG_GPA), size);
    return rc;
}

ioservid_t fx_ioreq_create(struct fake_xen *fx, struct vcpu *v, domid_t dom, uint8_t bufioreq)
{
    struct xen_dm_op op = {.op = XEN_DMOP_create_ioreq_server};

    op.u.create_ioreq_server.handle_bufioreq = bufioreq;
    assert_int_equal(fx_dm_op(fx, v, dom, &op, sizeof(op)), 0);
    return op.u.create_ioreq_server.id;
}
