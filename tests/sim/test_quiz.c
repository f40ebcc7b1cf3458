/* `evsim quiz`: hand-written scripts whose answers are known (a table of cases, each run on
 * every ABI it names), the generator's validity and variety over many seeds, and the JSON a
 * grader reads. */
#define _POSIX_C_SOURCE 200809L /* open_memstream */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sim/quiz.h"

/* ---- hand-written scripts ---- */

#define NONE -1
#define ALL_ABIS -1

/* What one step must show: its result, and the upcall it raised (dom NONE: none). */
struct expect_step {
    unsigned step; /* 1-based */
    long rc;
    int upcall_dom;
    unsigned upcall_vcpu;
    bool woke;
};

struct script_case {
    const char *name;
    int abi; /* ALL_ABIS, or the one ABI the case is about */
    unsigned nr_domains;
    unsigned vcpus[QH_MAX_DOMAINS];
    struct quiz_op ops[12];
    unsigned nr_ops;
    struct expect_step expect[4];
    unsigned nr_expect;
    uint64_t final_pending[QH_MAX_DOMAINS];
    uint64_t final_masked[QH_MAX_DOMAINS];
};

/* dom1 offers port 1 to dom0, dom0 binds it as its port 1 (which the bind raises on dom0
 * vcpu0) and takes that event: afterwards a send on dom0 port 1 reaches dom1 port 1. */
#define CHANNEL                                                                                    \
    {.kind = QK_ALLOC_UNBOUND, .dom = 1, .remote_dom = 0},                                         \
        {.kind = QK_BIND_INTERDOMAIN, .dom = 0, .remote_dom = 1, .remote_port = 1},                \
    {                                                                                              \
        .kind = QK_HANDLE, .dom = 0                                                                \
    }
#define SEND_0_1                                                                                   \
    {                                                                                              \
        .kind = QK_SEND, .dom = 0, .port = 1                                                       \
    }
#define BAD "meant to fail"
#define P(n) (UINT64_C(1) << (n))

static const struct script_case script_cases[] = {
    {"bind_interdomain raises the new port",
     ALL_ABIS,
     2,
     {1, 1},
     {{.kind = QK_ALLOC_UNBOUND, .dom = 1, .remote_dom = 0},
      {.kind = QK_BIND_INTERDOMAIN, .dom = 0, .remote_dom = 1, .remote_port = 1}},
     2,
     {{2, 0, 0, 0, false}},
     1,
     {P(1), 0},
     {0, 0}},
    {"a send raises an upcall on the notify vcpu",
     ALL_ABIS,
     2,
     {1, 1},
     {CHANNEL, SEND_0_1},
     4,
     {{4, 0, 1, 0, false}},
     1,
     {0, P(1)},
     {0, 0}},
    {"masked send, then unmask: the upcall comes at the unmask",
     ALL_ABIS,
     2,
     {1, 1},
     {CHANNEL,
      {.kind = QK_MASK, .dom = 1, .port = 1},
      SEND_0_1,
      {.kind = QK_UNMASK, .dom = 1, .port = 1}},
     6,
     {{5, 0, NONE, 0, false}, {6, 0, 1, 0, false}},
     2,
     {0, P(1)},
     {0, 0}},
    {"masked port stays pending through the handler",
     ALL_ABIS,
     2,
     {1, 1},
     {CHANNEL, {.kind = QK_MASK, .dom = 1, .port = 1}, SEND_0_1, {.kind = QK_HANDLE, .dom = 1}},
     6,
     {{5, 0, NONE, 0, false}},
     1,
     {0, P(1)},
     {0, P(1)}},
    {"a second send while pending coalesces",
     ALL_ABIS,
     2,
     {1, 1},
     {CHANNEL, SEND_0_1, SEND_0_1},
     5,
     {{4, 0, 1, 0, false}, {5, 0, NONE, 0, false}},
     2,
     {0, P(1)},
     {0, 0}},
    {"a send to a blocked vcpu wakes it",
     ALL_ABIS,
     2,
     {1, 2},
     {CHANNEL, {.kind = QK_BLOCK, .dom = 1, .vcpu = 0}, SEND_0_1},
     5,
     {{5, 0, 1, 0, true}},
     1,
     {0, P(1)},
     {0, 0}},
    {"block with an upcall pending does not block; the next send finds it pending",
     ALL_ABIS,
     2,
     {1, 1},
     {CHANNEL, SEND_0_1, {.kind = QK_BLOCK, .dom = 1}, {.kind = QK_SEND, .dom = 0, .port = 1}},
     6,
     {{4, 0, 1, 0, false}, {6, 0, NONE, 0, false}},
     2,
     {0, P(1)},
     {0, 0}},
    {"bind_vcpu moves the notification to vcpu1",
     ALL_ABIS,
     2,
     {1, 2},
     {CHANNEL, {.kind = QK_BIND_VCPU, .dom = 1, .port = 1, .target_vcpu = 1}, SEND_0_1},
     5,
     {{4, 0, NONE, 0, false}, {5, 0, 1, 1, false}},
     2,
     {0, P(1)},
     {0, 0}},
    {"upcall_mask set: Xen still sets upcall_pending and kicks",
     ALL_ABIS,
     2,
     {1, 1},
     {CHANNEL, {.kind = QK_UPCALL_MASK, .dom = 1}, SEND_0_1, {.kind = QK_UPCALL_UNMASK, .dom = 1}},
     6,
     {{5, 0, 1, 0, false}, {6, 0, NONE, 0, false}},
     2,
     {0, P(1)},
     {0, 0}},
    {"close of a pending port clears it; the sender's end is unbound",
     ALL_ABIS,
     2,
     {1, 1},
     {CHANNEL, SEND_0_1, {.kind = QK_CLOSE, .dom = 1, .port = 1}, SEND_0_1},
     6,
     {{5, 0, NONE, 0, false}, {6, 0, NONE, 0, false}},
     2,
     {0, 0},
     {0, 0}},
    {"VIRQ_TIMER raised on vcpu1",
     ALL_ABIS,
     2,
     {2, 1},
     {{.kind = QK_BIND_VIRQ, .dom = 0, .virq = VIRQ_TIMER, .target_vcpu = 1},
      {.kind = QK_RAISE_VIRQ, .dom = 0, .virq = VIRQ_TIMER, .target_vcpu = 1}},
     2,
     {{2, 0, 0, 1, false}},
     1,
     {P(1), 0},
     {0, 0}},
    {"an IPI to a blocked vcpu wakes it",
     ALL_ABIS,
     2,
     {2, 1},
     {{.kind = QK_BIND_IPI, .dom = 0, .target_vcpu = 1},
      {.kind = QK_BLOCK, .dom = 0, .vcpu = 1},
      {.kind = QK_SEND, .dom = 0, .port = 1}},
     3,
     {{3, 0, 0, 1, true}},
     1,
     {P(1), 0},
     {0, 0}},
    {"errors: send on a free port, bind_vcpu of an IPI, a VIRQ bound twice",
     ALL_ABIS,
     2,
     {2, 1},
     {{.kind = QK_SEND, .dom = 0, .port = 3, .invalid_why = BAD},
      {.kind = QK_BIND_IPI, .dom = 0, .target_vcpu = 1},
      {.kind = QK_BIND_VCPU, .dom = 0, .port = 1, .target_vcpu = 0, .invalid_why = BAD},
      {.kind = QK_BIND_VIRQ, .dom = 0, .virq = VIRQ_TIMER, .target_vcpu = 0},
      {.kind = QK_BIND_VIRQ, .dom = 0, .virq = VIRQ_TIMER, .target_vcpu = 0, .invalid_why = BAD}},
     5,
     {{1, -XEN_EINVAL, NONE, 0, false},
      {3, -XEN_EINVAL, NONE, 0, false},
      {5, -XEN_EEXIST, NONE, 0, false}},
     3,
     {0, 0},
     {0, 0}},
    {"errors: bind_vcpu to a vcpu that does not exist",
     ALL_ABIS,
     2,
     {1, 1},
     {CHANNEL, {.kind = QK_BIND_VCPU, .dom = 1, .port = 1, .target_vcpu = 1, .invalid_why = BAD}},
     4,
     {{4, -XEN_ENOENT, NONE, 0, false}},
     1,
     {0, 0},
     {0, 0}},
    {"2-level has no priorities",
     QH_ABI_2L,
     2,
     {1, 1},
     {CHANNEL, {.kind = QK_SET_PRIORITY, .dom = 1, .port = 1, .priority = 3, .invalid_why = BAD}},
     4,
     {{4, -XEN_ENOSYS, NONE, 0, false}},
     1,
     {0, 0},
     {0, 0}},
    {"FIFO priorities stop at 15",
     QH_ABI_FIFO,
     2,
     {1, 1},
     {CHANNEL, {.kind = QK_SET_PRIORITY, .dom = 1, .port = 1, .priority = 16, .invalid_why = BAD}},
     4,
     {{4, -XEN_EINVAL, NONE, 0, false}},
     1,
     {0, 0},
     {0, 0}},
    {"FIFO set_priority, then a send: one upcall",
     QH_ABI_FIFO,
     2,
     {1, 1},
     {CHANNEL, {.kind = QK_SET_PRIORITY, .dom = 1, .port = 1, .priority = 2}, SEND_0_1},
     5,
     {{4, 0, NONE, 0, false}, {5, 0, 1, 0, false}},
     2,
     {0, P(1)},
     {0, 0}},
};

static void check_step(const struct script_case *c, const struct quiz *q,
                       const struct expect_step *e, enum qh_abi abi)
{
    const struct quiz_outcome *o = &q->step[e->step - 1].out;

    if (o->rc != e->rc)
        fail_msg("%s (%s), step %u: result %ld, expected %ld", c->name, qh_abi_name(abi), e->step,
                 o->rc, e->rc);
    if (e->upcall_dom == NONE) {
        if (o->nr_upcalls)
            fail_msg("%s (%s), step %u: unexpected upcall on dom%u vcpu%u", c->name,
                     qh_abi_name(abi), e->step, o->upcall[0].dom, o->upcall[0].vcpu);
        return;
    }
    if (o->nr_upcalls != 1 || o->upcall[0].dom != e->upcall_dom ||
        o->upcall[0].vcpu != e->upcall_vcpu || o->upcall[0].woke != e->woke)
        fail_msg("%s (%s), step %u: %u upcalls, expected one on dom%d vcpu%u%s", c->name,
                 qh_abi_name(abi), e->step, o->nr_upcalls, e->upcall_dom, e->upcall_vcpu,
                 e->woke ? " (waking it)" : "");
}

static void check_script_case(const struct script_case *c, enum qh_abi abi)
{
    struct quiz *q = test_calloc(1, sizeof(*q));
    const char *why = NULL;

    assert_int_equal(quiz_run_script(q, abi, c->nr_domains, c->vcpus, c->ops, c->nr_ops, &why), 0);
    for (unsigned i = 0; i < c->nr_ops; i++)
        if (!c->ops[i].invalid_why && q->step[i].out.rc != 0)
            fail_msg("%s (%s), step %u failed: %ld", c->name, qh_abi_name(abi), i + 1,
                     q->step[i].out.rc);
    for (unsigned i = 0; i < c->nr_expect; i++)
        check_step(c, q, &c->expect[i], abi);
    for (unsigned d = 0; d < c->nr_domains; d++) {
        if (q->final[d].pending != c->final_pending[d])
            fail_msg("%s (%s): dom%u pending %#llx, expected %#llx", c->name, qh_abi_name(abi), d,
                     (unsigned long long)q->final[d].pending,
                     (unsigned long long)c->final_pending[d]);
        if (q->final[d].masked != c->final_masked[d])
            fail_msg("%s (%s): dom%u masked %#llx, expected %#llx", c->name, qh_abi_name(abi), d,
                     (unsigned long long)q->final[d].masked,
                     (unsigned long long)c->final_masked[d]);
    }
    test_free(q);
}

static void hand_written_scripts(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(script_cases) / sizeof(script_cases[0]); i++)
        for (int abi = 0; abi < (int)QH_ABIS; abi++)
            if (script_cases[i].abi == ALL_ABIS || script_cases[i].abi == abi)
                check_script_case(&script_cases[i], (enum qh_abi)abi);
}

/* The handler takes only its own vcpu's ports: with port 1 moved to vcpu1, vcpu0's handler
 * leaves it pending and vcpu1's takes it. */
static void handler_takes_its_own_ports(void **state)
{
    static const struct quiz_op ops[] = {
        CHANNEL,
        {.kind = QK_BIND_VCPU, .dom = 1, .port = 1, .target_vcpu = 1},
        SEND_0_1,
        {.kind = QK_HANDLE, .dom = 1, .vcpu = 0},
        {.kind = QK_HANDLE, .dom = 1, .vcpu = 1},
    };
    static const unsigned vcpus[] = {1, 2};

    (void)state;
    for (int abi = 0; abi < (int)QH_ABIS; abi++) {
        struct quiz *q = test_calloc(1, sizeof(*q));
        const char *why;

        assert_int_equal(quiz_run_script(q, (enum qh_abi)abi, 2, vcpus, ops, 7, &why), 0);
        assert_int_equal(q->step[5].out.nr_handled, 0);
        assert_int_equal(q->step[6].out.nr_handled, 1);
        assert_int_equal(q->step[6].out.handled[0], 1);
        assert_int_equal(q->final[1].pending, 0);
        test_free(q);
    }
}

/* ---- the generator ---- */

static char *quiz_text(const struct quiz *q, bool answers)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);

    assert_non_null(f);
    quiz_print(q, answers, f);
    fclose(f);
    return buf;
}

static struct quiz *generate(uint64_t seed, enum qh_abi abi, unsigned vcpus, unsigned ops)
{
    struct quiz_config cfg = {.seed = seed, .abi = abi, .max_vcpus = vcpus, .ops = ops};
    struct quiz *q = test_calloc(1, sizeof(*q));
    const char *why = NULL;

    assert_int_equal(quiz_generate(q, &cfg, &why), 0);
    return q;
}

/* What the generator's stories are for: counted over many quizzes. */
struct variety {
    unsigned masked_sends, unmask_reraises, coalesced, wakes, moves, upcall_masked, closes, errors,
        virqs, handled;
};

static void count_variety(const struct quiz *q, struct variety *v)
{
    for (unsigned i = 0; i < q->nr_steps; i++) {
        const struct quiz_step *s = &q->step[i];
        const struct quiz_outcome *o = &s->out;

        v->masked_sends +=
            s->op.kind == QK_SEND && o->has_target && o->was_masked && !o->was_pending;
        v->unmask_reraises += s->op.kind == QK_UNMASK && o->nr_upcalls;
        v->coalesced += s->op.kind == QK_SEND && o->was_pending;
        v->wakes += o->nr_wakes;
        v->moves += s->op.kind == QK_BIND_VCPU && o->rc == 0;
        v->upcall_masked += s->op.kind == QK_SEND && o->upcall_was_masked && o->nr_upcalls;
        v->closes += s->op.kind == QK_CLOSE && o->rc == 0;
        v->errors += o->rc < 0;
        v->virqs += s->op.kind == QK_RAISE_VIRQ;
        v->handled += o->nr_handled;
    }
}

/* Every operation not meant to fail succeeds, every one meant to fail fails; the script has
 * the length asked for; nothing runs on a vcpu that is blocked. */
static void check_valid(const struct quiz *q, uint64_t seed)
{
    assert_int_equal(q->nr_steps, q->cfg.ops);
    assert_true(q->nr_domains >= 2 && q->nr_domains <= 3);
    for (unsigned i = 0; i < q->nr_steps; i++) {
        const struct quiz_step *s = &q->step[i];

        if (s->op.invalid_why ? s->out.rc >= 0 : s->out.rc != 0)
            fail_msg("seed %llu (%s) step %u (kind %d): result %ld", (unsigned long long)seed,
                     qh_abi_name(q->cfg.abi), i + 1, s->op.kind, s->out.rc);
        assert_true(s->op.dom < q->nr_domains);
        assert_true(s->op.vcpu < q->vcpus[s->op.dom]);
    }
}

static void generator_valid_and_varied(void **state)
{
    (void)state;
    for (int abi = 0; abi < (int)QH_ABIS; abi++) {
        struct variety v = {0};

        for (uint64_t seed = 0; seed < 60; seed++) {
            struct quiz *q = generate(seed, (enum qh_abi)abi, 1 + seed % 4, 12 + seed % 20);

            check_valid(q, seed);
            count_variety(q, &v);
            test_free(q);
        }
        /* 60 quizzes, about 1300 steps: each case a teacher wants shows up many times. */
        assert_true(v.masked_sends >= 20);
        assert_true(v.unmask_reraises >= 10);
        assert_true(v.coalesced >= 20);
        assert_true(v.wakes >= 20);
        assert_true(v.moves >= 10);
        assert_true(v.upcall_masked >= 10);
        assert_true(v.closes >= 10);
        assert_true(v.errors >= 10);
        assert_true(v.virqs >= 10);
        assert_true(v.handled >= 20);
    }
}

/* The same seed gives the same quiz, byte for byte; other seeds give other quizzes. */
static void generator_deterministic(void **state)
{
    (void)state;
    for (int abi = 0; abi < (int)QH_ABIS; abi++) {
        struct quiz *a = generate(42, (enum qh_abi)abi, 2, 12);
        struct quiz *b = generate(42, (enum qh_abi)abi, 2, 12);
        struct quiz *c = generate(43, (enum qh_abi)abi, 2, 12);
        char *ta = quiz_text(a, true), *tb = quiz_text(b, true), *tc = quiz_text(c, true);

        assert_string_equal(ta, tb);
        assert_string_not_equal(ta, tc);
        free(ta);
        free(tb);
        free(tc);
        test_free(a);
        test_free(b);
        test_free(c);
    }
}

/* The questions leave blanks; the answers fill them, each with its reason. */
static void text_and_answers(void **state)
{
    static const struct quiz_op ops[] = {CHANNEL,
                                         {.kind = QK_MASK, .dom = 1, .port = 1},
                                         SEND_0_1,
                                         {.kind = QK_UNMASK, .dom = 1, .port = 1}};
    static const unsigned vcpus[] = {1, 1};
    struct quiz *q = test_calloc(1, sizeof(*q));
    const char *why;

    (void)state;
    assert_int_equal(quiz_run_script(q, QH_ABI_2L, 2, vcpus, ops, 6, &why), 0);
    char *quiz = quiz_text(q, false), *answers = quiz_text(q, true);
    assert_non_null(strstr(quiz, "dom0 vcpu0: EVTCHNOP_send (4) {port=1}"));
    assert_non_null(strstr(quiz, "____"));
    assert_null(strstr(quiz, "answer:"));
    assert_non_null(strstr(answers, "The port is masked: evtchn_2l_set_pending sets the "
                                    "pending bit but not the selector, no upcall"));
    assert_non_null(strstr(answers, "Unmask re-raises a pending port"));
    assert_non_null(strstr(answers, "answer: pending: 1; masked: none."));
    free(quiz);
    free(answers);
    test_free(q);
}

/* The JSON holds every question with its answer as data. */
static void json_for_graders(void **state)
{
    static const struct quiz_op ops[] = {
        CHANNEL, SEND_0_1, {.kind = QK_SEND, .dom = 0, .port = 9, .invalid_why = BAD}};
    static const unsigned vcpus[] = {1, 1};
    struct quiz *q = test_calloc(1, sizeof(*q));
    const char *why;
    struct json_object *j, *qs, *x;

    (void)state;
    assert_int_equal(quiz_run_script(q, QH_ABI_FIFO, 2, vcpus, ops, 5, &why), 0);
    j = quiz_to_json(q);
    assert_true(json_object_object_get_ex(j, "script", &x));
    assert_int_equal(json_object_array_length(x), 5);
    assert_string_equal(
        json_object_get_string(json_object_object_get(json_object_array_get_idx(x, 1), "op")),
        "EVTCHNOP_bind_interdomain");
    assert_int_equal(
        json_object_get_int(json_object_object_get(json_object_array_get_idx(x, 1), "port")), 1);
    assert_string_equal(
        json_object_get_string(json_object_object_get(json_object_array_get_idx(x, 2), "op")),
        "guest_upcall_handler");
    assert_true(json_object_object_get_ex(j, "questions", &qs));
    /* bind (upcall), handler, send (upcall), send (error), two final. */
    assert_int_equal(json_object_array_length(qs), 6);
    x = json_object_array_get_idx(qs, 2);
    assert_string_equal(json_object_get_string(json_object_object_get(x, "kind")), "upcall");
    x = json_object_array_get_idx(json_object_object_get(x, "upcalls"), 0);
    assert_int_equal(json_object_get_int(json_object_object_get(x, "domain")), 1);
    x = json_object_array_get_idx(qs, 3);
    assert_int_equal(json_object_get_int(json_object_object_get(x, "result")), -XEN_EINVAL);
    assert_string_equal(json_object_get_string(json_object_object_get(x, "answer")),
                        "-EINVAL (-22)");
    x = json_object_array_get_idx(qs, 5);
    assert_int_equal(
        json_object_get_int(json_object_array_get_idx(json_object_object_get(x, "pending"), 0)), 1);
    json_object_put(j);
    test_free(q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(hand_written_scripts),       cmocka_unit_test(handler_takes_its_own_ports),
        cmocka_unit_test(generator_valid_and_varied), cmocka_unit_test(generator_deterministic),
        cmocka_unit_test(text_and_answers),           cmocka_unit_test(json_for_graders),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
