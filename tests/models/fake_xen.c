/* Fake guest memory and recording sink for the model's unit tests. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

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

static const struct hv_mem_ops fx_mem_ops = {.translate = fx_translate};

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

static const struct hv_sink_ops fx_sink_ops = {
    .kick = fx_kick,
    .wake = fx_wake,
    .timer = fx_timer,
    .vcpu_up = fx_up,
    .vcpu_down = fx_down,
    .console = fx_console,
    .shutdown = fx_shutdown,
    .now_ns = fx_now,
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
    struct hv_regs regs = {.rax = nr, .rdi = a1, .rsi = a2, .rdx = a3};

    hypercall_dispatch(v, &regs);
    return (long)regs.rax;
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

static struct shared_info *fx_shinfo(struct domain *d)
{
    return shared_info_ptr(d);
}

bool fx_pending(struct domain *d, uint32_t port)
{
    return guest_test_bit(NULL, port, (uint64_t *)fx_shinfo(d)->evtchn_pending);
}

bool fx_masked(struct domain *d, uint32_t port)
{
    return guest_test_bit(NULL, port, (uint64_t *)fx_shinfo(d)->evtchn_mask);
}

void fx_set_pending(struct domain *d, uint32_t port, bool on)
{
    if (on)
        guest_test_and_set_bit(NULL, port, (uint64_t *)fx_shinfo(d)->evtchn_pending);
    else
        guest_test_and_clear_bit(NULL, port, (uint64_t *)fx_shinfo(d)->evtchn_pending);
}

void fx_set_mask(struct domain *d, uint32_t port, bool on)
{
    if (on)
        guest_test_and_set_bit(NULL, port, (uint64_t *)fx_shinfo(d)->evtchn_mask);
    else
        guest_test_and_clear_bit(NULL, port, (uint64_t *)fx_shinfo(d)->evtchn_mask);
}

uint64_t fx_sel(struct vcpu *v)
{
    return vcpu_info_ptr(v)->evtchn_pending_sel;
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

int fx_teardown(void **state)
{
    fx_destroy(*state);
    test_free(*state);
    return 0;
}
