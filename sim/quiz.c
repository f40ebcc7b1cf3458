/* `evsim quiz`: the command, the quiz as text (questions with blanks, or answers with their
 * reasons) and as JSON. The answers are what running the script through the model showed
 * (quiz_gen.c); this file only puts them into words, naming the rule that applied. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "sim/diag.h"
#include "sim/quiz.h"
#include "sim/report.h"

#define EXIT_BAD_INPUT 2

/* ---- small text helpers ---- */

struct sbuf {
    char *b;
    size_t len, n;
};

__attribute__((format(printf, 2, 3))) static void sb_printf(struct sbuf *s, const char *fmt, ...)
{
    va_list ap;

    if (s->n >= s->len)
        return;
    va_start(ap, fmt);
    int k = vsnprintf(s->b + s->n, s->len - s->n, fmt, ap);
    va_end(ap);
    if (k > 0)
        s->n = s->n + (size_t)k < s->len ? s->n + (size_t)k : s->len;
}

/* "-EINVAL (-22)", from Xen's own list of errno values. */
static const struct {
    int value;
    const char *name;
} xen_errnos[] = {
#define XEN_ERRNO(name, value) {value, #name},
#include <xen/errno.h>
};

static void sb_errno(struct sbuf *s, long rc)
{
    for (size_t i = 0; i < sizeof(xen_errnos) / sizeof(xen_errnos[0]); i++)
        if (xen_errnos[i].value == -rc) {
            sb_printf(s, "-%s (%ld)", xen_errnos[i].name, rc);
            return;
        }
    sb_printf(s, "%ld", rc);
}

static void sb_ports(struct sbuf *s, uint64_t bits)
{
    bool first = true;

    for (unsigned p = 1; p < QH_MAX_PORTS; p++)
        if (bits >> p & 1) {
            sb_printf(s, "%s%u", first ? "" : ", ", p);
            first = false;
        }
    if (first)
        sb_printf(s, "none");
}

/* ---- the operations in words ---- */

/* Which question a step gets. */
enum quiz_question {
    QQ_NONE,    /* binds and the guest's own writes: the script shows what they do */
    QQ_UPCALL,  /* does an upcall happen, where, does a vcpu wake */
    QQ_BLOCK,   /* does the vcpu really block */
    QQ_HANDLER, /* which ports does the handler take */
};

struct kind_info {
    const char *name; /* the sub-op, or NULL for what is not a hypercall */
    int cmd;
    enum quiz_question question;
    void (*args)(const struct quiz *q, const struct quiz_step *s, struct sbuf *out);
};

static const char *const abi_mask_place[QH_ABIS] = {
    [QH_ABI_2L] = "its bit in shared_info.evtchn_mask",
    [QH_ABI_3L] = "its bit in the 3-level mask bitmap",
    [QH_ABI_FIFO] = "M, bit 30 of its event word",
};

static void args_alloc_unbound(const struct quiz *q, const struct quiz_step *s, struct sbuf *o)
{
    (void)q;
    sb_printf(o, "{dom=DOMID_SELF, remote_dom=%u}", s->op.remote_dom);
}

static void args_bind_interdomain(const struct quiz *q, const struct quiz_step *s, struct sbuf *o)
{
    (void)q;
    sb_printf(o, "{remote_dom=%u, remote_port=%u}", s->op.remote_dom, s->op.remote_port);
}

static void args_bind_ipi(const struct quiz *q, const struct quiz_step *s, struct sbuf *o)
{
    (void)q;
    sb_printf(o, "{vcpu=%u}", s->op.target_vcpu);
}

static void args_bind_virq(const struct quiz *q, const struct quiz_step *s, struct sbuf *o)
{
    (void)q;
    sb_printf(o, "{virq=VIRQ_TIMER (%u), vcpu=%u}", s->op.virq, s->op.target_vcpu);
}

static void args_port(const struct quiz *q, const struct quiz_step *s, struct sbuf *o)
{
    (void)q;
    sb_printf(o, "{port=%u}", s->op.port);
}

static void args_bind_vcpu(const struct quiz *q, const struct quiz_step *s, struct sbuf *o)
{
    (void)q;
    sb_printf(o, "{port=%u, vcpu=%u}", s->op.port, s->op.target_vcpu);
}

static void args_set_priority(const struct quiz *q, const struct quiz_step *s, struct sbuf *o)
{
    (void)q;
    sb_printf(o, "{port=%u, priority=%u}", s->op.port, s->op.priority);
}

static void args_none(const struct quiz *q, const struct quiz_step *s, struct sbuf *o)
{
    (void)q;
    (void)s;
    (void)o;
}

static void text_mask(const struct quiz *q, const struct quiz_step *s, struct sbuf *o)
{
    sb_printf(o, "masks port %u itself (sets %s)", s->op.port, abi_mask_place[q->cfg.abi]);
}

static void text_handle(const struct quiz *q, const struct quiz_step *s, struct sbuf *o)
{
    (void)q;
    (void)s;
    sb_printf(o, "runs its upcall handler");
}

static void text_upcall_mask(const struct quiz *q, const struct quiz_step *s, struct sbuf *o)
{
    (void)q;
    (void)s;
    sb_printf(o, "disables event delivery: sets its evtchn_upcall_mask to 1");
}

static void text_upcall_unmask(const struct quiz *q, const struct quiz_step *s, struct sbuf *o)
{
    (void)q;
    (void)s;
    sb_printf(o, "enables event delivery again: clears its evtchn_upcall_mask");
}

static const struct kind_info kinds[QK_KINDS] = {
    [QK_ALLOC_UNBOUND] = {"EVTCHNOP_alloc_unbound", EVTCHNOP_alloc_unbound, QQ_NONE,
                          args_alloc_unbound},
    [QK_BIND_INTERDOMAIN] = {"EVTCHNOP_bind_interdomain", EVTCHNOP_bind_interdomain, QQ_UPCALL,
                             args_bind_interdomain},
    [QK_BIND_IPI] = {"EVTCHNOP_bind_ipi", EVTCHNOP_bind_ipi, QQ_NONE, args_bind_ipi},
    [QK_BIND_VIRQ] = {"EVTCHNOP_bind_virq", EVTCHNOP_bind_virq, QQ_NONE, args_bind_virq},
    [QK_SEND] = {"EVTCHNOP_send", EVTCHNOP_send, QQ_UPCALL, args_port},
    [QK_UNMASK] = {"EVTCHNOP_unmask", EVTCHNOP_unmask, QQ_UPCALL, args_port},
    [QK_CLOSE] = {"EVTCHNOP_close", EVTCHNOP_close, QQ_UPCALL, args_port},
    [QK_BIND_VCPU] = {"EVTCHNOP_bind_vcpu", EVTCHNOP_bind_vcpu, QQ_UPCALL, args_bind_vcpu},
    [QK_SET_PRIORITY] = {"EVTCHNOP_set_priority", EVTCHNOP_set_priority, QQ_UPCALL,
                         args_set_priority},
    [QK_MASK] = {NULL, 0, QQ_NONE, text_mask},
    [QK_HANDLE] = {NULL, 0, QQ_HANDLER, text_handle},
    [QK_BLOCK] = {"SCHEDOP_block", SCHEDOP_block, QQ_BLOCK, args_none},
    [QK_UPCALL_MASK] = {NULL, 0, QQ_NONE, text_upcall_mask},
    [QK_UPCALL_UNMASK] = {NULL, 0, QQ_UPCALL, text_upcall_unmask},
    [QK_RAISE_VIRQ] = {NULL, 0, QQ_UPCALL, args_none},
};

/* The JSON's "op" of a step that is not a hypercall: what the guest or Xen does. */
static const char *const action_names[QK_KINDS] = {
    [QK_MASK] = "guest_mask",
    [QK_HANDLE] = "guest_upcall_handler",
    [QK_UPCALL_MASK] = "guest_set_upcall_mask",
    [QK_UPCALL_UNMASK] = "guest_clear_upcall_mask",
    [QK_RAISE_VIRQ] = "xen_send_guest_vcpu_virq",
};

static bool is_bind(enum quiz_kind k)
{
    return k == QK_ALLOC_UNBOUND || k == QK_BIND_INTERDOMAIN || k == QK_BIND_IPI ||
           k == QK_BIND_VIRQ;
}

/* A step asks for the error when it was meant to fail, or failed anyway. */
static bool asks_error(const struct quiz_step *s)
{
    return s->op.invalid_why || s->out.rc < 0;
}

static void step_text(const struct quiz *q, const struct quiz_step *s, struct sbuf *o)
{
    const struct kind_info *k = &kinds[s->op.kind];

    if (s->op.kind == QK_RAISE_VIRQ) {
        sb_printf(o, "Xen raises VIRQ_TIMER (%u) on dom%u vcpu%u (send_guest_vcpu_virq)",
                  s->op.virq, s->op.dom, s->op.target_vcpu);
        return;
    }
    sb_printf(o, "dom%u vcpu%u", s->op.dom, s->op.vcpu);
    if (!k->name) {
        sb_printf(o, " ");
        k->args(q, s, o);
        return;
    }
    sb_printf(o, ": %s (%d)", k->name, k->cmd);
    if (k->args != args_none)
        sb_printf(o, " ");
    k->args(q, s, o);
    if (is_bind(s->op.kind) && !asks_error(s))
        sb_printf(o, " -> port %u (notifies vcpu%u)", s->out.port, s->out.notify_vcpu);
}

/* ---- answers and their reasons ---- */

struct question {
    unsigned step; /* 1-based; 0 for the questions on the final state */
    domid_t dom;   /* final questions */
    const char *kind;
    char text[320];
    char answer[320];
    char why[768];
};

static const char *abi_fn(const struct quiz *q)
{
    return qh_abi_name(q->cfg.abi);
}

static void answer_upcalls(const struct quiz_outcome *o, struct sbuf *a)
{
    if (!o->nr_upcalls) {
        sb_printf(a, "no upcall; no vcpu wakes");
        return;
    }
    for (unsigned i = 0; i < o->nr_upcalls; i++)
        sb_printf(a, "%supcall on dom%u vcpu%u, %s", i ? "; " : "", o->upcall[i].dom,
                  o->upcall[i].vcpu,
                  o->upcall[i].woke ? "which wakes (it was blocked)" : "kicked (it was running)");
}

/* Where the event landed and what it did, for a send or a VIRQ. */
static void why_raise(const struct quiz *q, const struct quiz_outcome *o, struct sbuf *w)
{
    const char *fn = abi_fn(q);

    if (!o->has_target) {
        sb_printf(w, "the port is unbound now (its other end was closed): evtchn_send drops "
                     "the event and returns 0");
        return;
    }
    sb_printf(w, "the event goes to dom%u port %u, which notifies vcpu%u. ", o->target_dom,
              o->target_port, o->target_vcpu);
    if (o->was_pending) {
        sb_printf(w,
                  "Coalesced: the port was already pending, so evtchn_%s_set_pending "
                  "changes nothing",
                  fn);
    } else if (o->was_masked) {
        if (q->cfg.abi == QH_ABI_FIFO)
            sb_printf(w, "The port is masked: evtchn_fifo_set_pending sets P but links the word "
                         "on no queue, no upcall (unmask will)");
        else
            sb_printf(w,
                      "The port is masked: evtchn_%s_set_pending sets the pending bit but "
                      "not the selector, no upcall (unmask will)",
                      fn);
    } else if (!o->nr_upcalls && o->upcall_was_pending) {
        sb_printf(w,
                  "It goes pending, but vcpu%u's evtchn_upcall_pending was already 1 (an "
                  "earlier event not handled yet): no 0->1 edge, no new upcall",
                  o->target_vcpu);
    } else if (!o->nr_upcalls) {
        sb_printf(w, "It goes pending, but %s was already set: no new upcall",
                  q->cfg.abi == QH_ABI_FIFO ? "its queue's READY bit"
                                            : "the selector bit of its word");
    } else {
        sb_printf(w,
                  "It goes pending, unmasked: evtchn_%s_set_pending sets the %s and "
                  "evtchn_upcall_pending 0->1 on vcpu%u",
                  fn, q->cfg.abi == QH_ABI_FIFO ? "link, READY bit" : "selector", o->target_vcpu);
        if (o->nr_wakes)
            sb_printf(w, "; the vcpu was blocked (SCHEDOP_block), so vcpu_mark_events_pending "
                         "wakes it");
        else
            sb_printf(w, ", and vcpu_kick kicks it");
        if (o->upcall_was_masked)
            sb_printf(w, ". Its evtchn_upcall_mask is set: the callback runs only once the guest "
                         "clears it");
    }
}

static void why_unmask(const struct quiz *q, const struct quiz_step *s, struct sbuf *w)
{
    const struct quiz_outcome *o = &s->out;

    if (!o->was_masked)
        sb_printf(w, "Port %u was not masked: there is nothing to re-raise", s->op.port);
    else if (!o->was_pending)
        sb_printf(w,
                  "Port %u was masked but nothing arrived meanwhile: unmask only clears the "
                  "mask",
                  s->op.port);
    else if (o->nr_upcalls)
        sb_printf(w,
                  "Unmask re-raises a pending port: port %u was pending while masked, so "
                  "evtchn_%s_unmask raises it on vcpu%u (evtchn_upcall_pending 0->1)%s",
                  s->op.port, abi_fn(q), o->target_vcpu,
                  o->nr_wakes ? ", waking it from SCHEDOP_block" : "");
    else
        sb_printf(w,
                  "Unmask re-raises pending port %u, but vcpu%u's evtchn_upcall_pending was "
                  "already 1 (or its selector already set): no new upcall",
                  s->op.port, o->target_vcpu);
}

static void why_quiet(const struct quiz *q, const struct quiz_step *s, struct sbuf *w)
{
    (void)q;
    switch (s->op.kind) {
    case QK_CLOSE:
        sb_printf(w,
                  "EVTCHNOP_close frees port %u and clears its pending bit (an interdomain "
                  "port's other end goes back to unbound); nothing is raised",
                  s->op.port);
        break;
    case QK_BIND_VCPU:
        sb_printf(w,
                  "bind_vcpu only changes which vcpu later events of port %u notify; "
                  "nothing is raised now",
                  s->op.port);
        break;
    case QK_SET_PRIORITY:
        sb_printf(w,
                  "set_priority only picks the queue later events of port %u are linked "
                  "on; nothing is raised now",
                  s->op.port);
        break;
    default:
        sb_printf(w, "clearing evtchn_upcall_mask is a write to guest memory that Xen does not "
                     "see: nothing is raised (the guest checks evtchn_upcall_pending itself "
                     "afterwards)");
    }
}

static void answer_step_upcall(const struct quiz *q, const struct quiz_step *s, struct question *qu)
{
    struct sbuf a = {qu->answer, sizeof(qu->answer), 0}, w = {qu->why, sizeof(qu->why), 0};

    snprintf(qu->text, sizeof(qu->text),
             "Upcall (a vcpu's evtchn_upcall_pending 0->1)? On which vcpu? Does a vcpu wake?");
    qu->kind = "upcall";
    answer_upcalls(&s->out, &a);
    if (s->op.kind == QK_BIND_INTERDOMAIN)
        sb_printf(&w, "bind_interdomain raises the new port at once (events sent while the "
                      "remote port was unbound may have been lost); ");
    if (s->op.kind == QK_SEND || s->op.kind == QK_RAISE_VIRQ || s->op.kind == QK_BIND_INTERDOMAIN)
        why_raise(q, &s->out, &w);
    else if (s->op.kind == QK_UNMASK)
        why_unmask(q, s, &w);
    else
        why_quiet(q, s, &w);
}

static void answer_step_error(const struct quiz *q, const struct quiz_step *s, struct question *qu)
{
    struct sbuf a = {qu->answer, sizeof(qu->answer), 0};

    (void)q;
    snprintf(qu->text, sizeof(qu->text), "What does the hypercall return?");
    qu->kind = "error";
    sb_errno(&a, s->out.rc);
    snprintf(qu->why, sizeof(qu->why), "%s",
             s->op.invalid_why ? s->op.invalid_why : "the model refused it");
}

static void answer_step_block(const struct quiz *q, const struct quiz_step *s, struct question *qu)
{
    (void)q;
    snprintf(qu->text, sizeof(qu->text), "Does dom%u vcpu%u really block?", s->op.dom, s->op.vcpu);
    qu->kind = "block";
    snprintf(qu->answer, sizeof(qu->answer), "%s", s->out.blocked_after ? "yes" : "no");
    if (s->out.blocked_after)
        snprintf(qu->why, sizeof(qu->why),
                 "SCHEDOP_block clears evtchn_upcall_mask, finds no event to deliver "
                 "(evtchn_upcall_pending is 0) and blocks the vcpu until an upcall wakes it");
    else
        snprintf(qu->why, sizeof(qu->why),
                 "SCHEDOP_block clears evtchn_upcall_mask, then finds evtchn_upcall_pending "
                 "already 1 (local_events_need_delivery): it returns at once, the vcpu runs on");
}

static void answer_step_handler(const struct quiz *q, const struct quiz_step *s,
                                struct question *qu)
{
    struct sbuf a = {qu->answer, sizeof(qu->answer), 0};
    uint64_t bits = 0;

    snprintf(qu->text, sizeof(qu->text), "Which ports does the handler handle?");
    qu->kind = "handler";
    for (unsigned i = 0; i < s->out.nr_handled; i++)
        bits |= UINT64_C(1) << s->out.handled[i];
    if (s->out.nr_handled)
        sb_printf(&a, s->out.nr_handled > 1 ? "ports " : "port ");
    sb_ports(&a, bits);
    snprintf(qu->why, sizeof(qu->why),
             "the handler takes the pending, unmasked ports that notify vcpu%u and that %s; a "
             "masked port stays pending until it is unmasked",
             s->op.vcpu,
             q->cfg.abi == QH_ABI_FIFO ? "are linked on its READY queues (a masked word is "
                                         "unlinked but keeps P)"
                                       : "its selector bits lead to");
}

typedef void (*answer_fn)(const struct quiz *, const struct quiz_step *, struct question *);

static const answer_fn answers_by_question[] = {
    [QQ_UPCALL] = answer_step_upcall,
    [QQ_BLOCK] = answer_step_block,
    [QQ_HANDLER] = answer_step_handler,
};

static const char *const abi_pending_place[QH_ABIS] = {
    [QH_ABI_2L] = "bits of shared_info.evtchn_pending and evtchn_mask",
    [QH_ABI_3L] = "bits of the 3-level pending and mask bitmaps",
    [QH_ABI_FIFO] = "P and M bits of the event words",
};

static void answer_final(const struct quiz *q, domid_t dom, struct question *qu)
{
    const struct quiz_final *f = &q->final[dom];
    struct sbuf t = {qu->text, sizeof(qu->text), 0}, a = {qu->answer, sizeof(qu->answer), 0};

    qu->kind = "final";
    qu->dom = dom;
    sb_printf(&t,
              "At the end, which ports of dom%u are pending, and which are masked? "
              "(its ports in use: ",
              dom);
    sb_ports(&t, f->bound);
    sb_printf(&t, ")");
    sb_printf(&a, "pending: ");
    sb_ports(&a, f->pending);
    sb_printf(&a, "; masked: ");
    sb_ports(&a, f->masked);
    snprintf(qu->why, sizeof(qu->why),
             "read from the %s after the last step: an event stays pending until a handler on "
             "its notify vcpu takes it, and a masked port's events wait for the unmask",
             abi_pending_place[q->cfg.abi]);
}

/* Every question of the quiz, in order: one per step that asks something, then one per
 * domain on the final state. Returns how many. */
static unsigned build_questions(const struct quiz *q, struct question *out)
{
    unsigned n = 0;

    for (unsigned i = 0; i < q->nr_steps; i++) {
        const struct quiz_step *s = &q->step[i];
        enum quiz_question kind = kinds[s->op.kind].question;
        struct question *qu = &out[n];

        memset(qu, 0, sizeof(*qu));
        qu->step = i + 1;
        if (asks_error(s))
            answer_step_error(q, s, qu);
        else if (kind != QQ_NONE)
            answers_by_question[kind](q, s, qu);
        else
            continue;
        n++;
    }
    for (domid_t d = 0; d < q->nr_domains; d++) {
        memset(&out[n], 0, sizeof(out[n]));
        answer_final(q, d, &out[n++]);
    }
    return n;
}

#define QUIZ_MAX_QUESTIONS (QUIZ_MAX_OPS + QH_MAX_DOMAINS)

/* ---- text ---- */

/* Two lines at most: a set-up line must stay readable in a terminal. */
static const char *const abi_long[QH_ABIS] = {
    [QH_ABI_2L] = "the 2-level ABI (pending and mask bitmaps in shared_info)",
    [QH_ABI_3L] = "the 3-level ABI (pending and mask bitmaps in pages registered\n"
                  "  with EVTCHNOP_register_extended)",
    [QH_ABI_FIFO] = "the FIFO ABI (event words and per-vcpu control blocks;\n"
                    "  every port at priority 7 until set_priority)",
};

/* What the guest's handler walks to find its ports (sim/quiz_host.c, qh_guest_handle). */
static const char *const handler_walk[QH_ABIS] = {
    [QH_ABI_2L] = "that its selector (evtchn_pending_sel) leads to",
    [QH_ABI_3L] = "that its two selector levels lead to",
    [QH_ABI_FIFO] = "on its READY queues, unlinking every word it walks",
};

static void print_setup(const struct quiz *q, FILE *out)
{
    fprintf(out, "Set-up\n  ");
    for (unsigned d = 0; d < q->nr_domains; d++)
        fprintf(out, "%sdom%u: %u vcpu%s", d ? ", " : "", d, q->vcpus[d],
                q->vcpus[d] > 1 ? "s" : "");
    fprintf(out, ";\n  every domain uses %s.\n", abi_long[q->cfg.abi]);
    fprintf(out,
            "  Every vcpu runs with event delivery enabled (evtchn_upcall_mask 0); no port "
            "is bound yet.\n  Hypercalls: event_channel_op (%d) and sched_op (%d), "
            "sub-op numbers in brackets.\n",
            __HYPERVISOR_event_channel_op, __HYPERVISOR_sched_op);
    fprintf(out,
            "  An upcall handler clears its vcpu's evtchn_upcall_pending, then handles each "
            "pending,\n  unmasked port of that vcpu %s.\n\n",
            handler_walk[q->cfg.abi]);
}

static void print_script(const struct quiz *q, FILE *out)
{
    char buf[512];

    fprintf(out, "Script\n");
    for (unsigned i = 0; i < q->nr_steps; i++) {
        struct sbuf s = {buf, sizeof(buf), 0};

        step_text(q, &q->step[i], &s);
        fprintf(out, "  %2u. %s\n", i + 1, buf);
    }
}

void quiz_print(const struct quiz *q, bool answers, FILE *out)
{
    struct question *qs = calloc(QUIZ_MAX_QUESTIONS, sizeof(*qs));
    unsigned n;

    if (!qs)
        return;
    n = build_questions(q, qs);

    fprintf(out, "evsim quiz, seed %" PRIu64 ": %s ABI, %u domains, %u steps\n", q->cfg.seed,
            qh_abi_name(q->cfg.abi), q->nr_domains, q->nr_steps);
    fprintf(out,
            "(evsim quiz --seed %" PRIu64 " --abi %s --vcpus %u --ops %u gives this quiz "
            "again%s)\n\n",
            q->cfg.seed, qh_abi_name(q->cfg.abi), q->cfg.max_vcpus, q->cfg.ops,
            answers ? "" : "; add --answers for the answers");
    print_setup(q, out);
    print_script(q, out);
    fprintf(out, "\n%s\n",
            answers ? "Answers (computed by running the script through the model)" : "Questions");
    for (unsigned i = 0; i < n; i++) {
        if (qs[i].step)
            fprintf(out, "  Q%u (step %u). %s\n", i + 1, qs[i].step, qs[i].text);
        else
            fprintf(out, "  Q%u. %s\n", i + 1, qs[i].text);
        if (answers)
            fprintf(out, "      answer: %s.\n      why: %s.\n", qs[i].answer, qs[i].why);
        else
            fprintf(out, "      ____________________\n");
    }
    free(qs);
}

/* ---- JSON ---- */

static struct json_object *json_step(const struct quiz *q, unsigned i)
{
    const struct quiz_step *s = &q->step[i];
    const struct kind_info *k = &kinds[s->op.kind];
    struct json_object *j = json_object_new_object();
    char buf[512];
    struct sbuf t = {buf, sizeof(buf), 0};

    step_text(q, s, &t);
    json_object_object_add(j, "step", json_object_new_int((int)i + 1));
    json_object_object_add(j, "domain", json_object_new_int(s->op.dom));
    /* A VIRQ is raised by Xen on its target vcpu: that is the vcpu the step is about. */
    unsigned vcpu = s->op.kind == QK_RAISE_VIRQ ? s->op.target_vcpu : s->op.vcpu;
    json_object_object_add(j, "vcpu", json_object_new_int((int)vcpu));
    json_object_object_add(j, "op",
                           json_object_new_string(k->name ? k->name : action_names[s->op.kind]));
    if (k->name) {
        bool sched = s->op.kind == QK_BLOCK;
        json_object_object_add(
            j, "hypercall",
            json_object_new_int(sched ? __HYPERVISOR_sched_op : __HYPERVISOR_event_channel_op));
        json_object_object_add(j, "cmd", json_object_new_int(k->cmd));
        json_object_object_add(j, "result", json_object_new_int64(s->out.rc));
    }
    if (is_bind(s->op.kind) && s->out.rc == 0)
        json_object_object_add(j, "port", json_object_new_int((int)s->out.port));
    json_object_object_add(j, "text", json_object_new_string(buf));
    return j;
}

static struct json_object *json_ports(uint64_t bits)
{
    struct json_object *a = json_object_new_array();

    for (unsigned p = 1; p < QH_MAX_PORTS; p++)
        if (bits >> p & 1)
            json_object_array_add(a, json_object_new_int((int)p));
    return a;
}

static struct json_object *json_upcalls(const struct quiz_outcome *o)
{
    struct json_object *a = json_object_new_array();

    for (unsigned i = 0; i < o->nr_upcalls; i++) {
        struct json_object *u = json_object_new_object();
        json_object_object_add(u, "domain", json_object_new_int(o->upcall[i].dom));
        json_object_object_add(u, "vcpu", json_object_new_int((int)o->upcall[i].vcpu));
        json_object_object_add(u, "woke", json_object_new_boolean(o->upcall[i].woke));
        json_object_array_add(a, u);
    }
    return a;
}

/* The answer as data as well as words, so that a grader need not parse the text. */
static void json_answer_data(const struct quiz *q, const struct question *qu, struct json_object *j)
{
    if (!qu->step) {
        json_object_object_add(j, "domain", json_object_new_int(qu->dom));
        json_object_object_add(j, "pending", json_ports(q->final[qu->dom].pending));
        json_object_object_add(j, "masked", json_ports(q->final[qu->dom].masked));
        return;
    }
    const struct quiz_outcome *o = &q->step[qu->step - 1].out;
    if (!strcmp(qu->kind, "upcall"))
        json_object_object_add(j, "upcalls", json_upcalls(o));
    else if (!strcmp(qu->kind, "error"))
        json_object_object_add(j, "result", json_object_new_int64(o->rc));
    else if (!strcmp(qu->kind, "block"))
        json_object_object_add(j, "blocks", json_object_new_boolean(o->blocked_after));
    else {
        uint64_t bits = 0;
        for (unsigned i = 0; i < o->nr_handled; i++)
            bits |= UINT64_C(1) << o->handled[i];
        json_object_object_add(j, "handled", json_ports(bits));
    }
}

struct json_object *quiz_to_json(const struct quiz *q)
{
    struct question *qs = calloc(QUIZ_MAX_QUESTIONS, sizeof(*qs));
    unsigned n = qs ? build_questions(q, qs) : 0;
    struct json_object *root = json_object_new_object(), *doms = json_object_new_array();
    struct json_object *script = json_object_new_array(), *questions = json_object_new_array();

    json_object_object_add(root, "seed", json_object_new_uint64(q->cfg.seed));
    json_object_object_add(root, "abi", json_object_new_string(qh_abi_name(q->cfg.abi)));
    json_object_object_add(root, "max_vcpus", json_object_new_int((int)q->cfg.max_vcpus));
    json_object_object_add(root, "ops", json_object_new_int((int)q->cfg.ops));
    for (unsigned d = 0; d < q->nr_domains; d++) {
        struct json_object *o = json_object_new_object();
        json_object_object_add(o, "domid", json_object_new_int((int)d));
        json_object_object_add(o, "vcpus", json_object_new_int((int)q->vcpus[d]));
        json_object_array_add(doms, o);
    }
    json_object_object_add(root, "domains", doms);
    for (unsigned i = 0; i < q->nr_steps; i++)
        json_object_array_add(script, json_step(q, i));
    json_object_object_add(root, "script", script);
    for (unsigned i = 0; i < n; i++) {
        struct json_object *j = json_object_new_object();
        json_object_object_add(j, "number", json_object_new_int((int)i + 1));
        if (qs[i].step)
            json_object_object_add(j, "step", json_object_new_int((int)qs[i].step));
        json_object_object_add(j, "kind", json_object_new_string(qs[i].kind));
        json_object_object_add(j, "question", json_object_new_string(qs[i].text));
        json_object_object_add(j, "answer", json_object_new_string(qs[i].answer));
        json_object_object_add(j, "why", json_object_new_string(qs[i].why));
        json_answer_data(q, &qs[i], j);
        json_object_array_add(questions, j);
    }
    json_object_object_add(root, "questions", questions);
    free(qs);
    return root;
}

/* ---- the command ---- */

static const char usage_quiz[] =
    "Usage: evsim quiz [--seed N] [--abi 2l|3l|fifo] [--vcpus N] [--ops N] [--answers]\n"
    "                  [--json FILE]\n"
    "\n"
    "Predict, then reveal: a small seeded scenario of two or three domains and a numbered\n"
    "script of event-channel operations (binds, sends, masks, unmasks, closes, bind_vcpu,\n"
    "blocked vcpus, VIRQs, FIFO priorities), followed by questions: what each step does (an\n"
    "upcall? on which vcpu? does a vcpu wake? which error?) and which ports end pending.\n"
    "The answers are computed by running the script through evsim's model of Xen.\n"
    "\n"
    "Options:\n"
    "  --seed N       which quiz (default 1); the same seed and options give the same quiz\n"
    "  --abi NAME     the event-channel ABI of every domain: 2l (default), 3l or fifo\n"
    "  --vcpus N      at most N vcpus per domain, 1 to 4 (default 2)\n"
    "  --ops N        steps in the script, 4 to 60 (default 12)\n"
    "  --answers      print the answers, each with the rule that explains it\n"
    "  --json FILE    also write the quiz and its answers as JSON (for graders)\n"
    "  -h, --help     this text\n"
    "\n"
    "Exit status: 0, or 2 for a bad option (nothing is written).\n";

struct quiz_args {
    struct quiz_config cfg;
    bool answers;
    const char *json;
};

static int bad_flag(const char *fmt, const char *arg)
{
    fprintf(stderr, "evsim: quiz: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, " (see evsim quiz --help)\n");
    return EXIT_BAD_INPUT;
}

static bool parse_uint(const char *s, unsigned long long max, unsigned long long *out)
{
    char *end;

    if (!*s || *s == '-' || *s == '+')
        return false;
    errno = 0;
    *out = strtoull(s, &end, 10);
    return !errno && !*end && *out <= max;
}

/* 0 to go on, 1 after --help, else the exit status of a bad flag. */
static int parse_quiz_args(int argc, char **argv, struct quiz_args *a)
{
    static const struct option options[] = {
        {"seed", required_argument, NULL, 's'},  {"abi", required_argument, NULL, 'a'},
        {"vcpus", required_argument, NULL, 'v'}, {"ops", required_argument, NULL, 'o'},
        {"answers", no_argument, NULL, 'A'},     {"json", required_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},        {NULL, 0, NULL, 0},
    };
    unsigned long long n;
    int c, abi;

    *a = (struct quiz_args){.cfg = {.seed = 1, .abi = QH_ABI_2L, .max_vcpus = 2, .ops = 12}};
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        switch (c) {
        case 's':
            if (!parse_uint(optarg, UINT64_MAX, &n))
                return bad_flag("--seed %s: expected a whole number from 0 to "
                                "18446744073709551615",
                                optarg);
            a->cfg.seed = n;
            break;
        case 'a':
            if ((abi = qh_abi_parse(optarg)) < 0)
                return bad_flag("--abi %s: expected 2l, 3l or fifo", optarg);
            a->cfg.abi = (enum qh_abi)abi;
            break;
        case 'v':
            if (!parse_uint(optarg, QUIZ_MAX_VCPUS, &n) || n < 1)
                return bad_flag("--vcpus %s: expected a number from 1 to 4", optarg);
            a->cfg.max_vcpus = (unsigned)n;
            break;
        case 'o':
            if (!parse_uint(optarg, QUIZ_MAX_OPS, &n) || n < QUIZ_MIN_OPS)
                return bad_flag("--ops %s: expected a number from 4 to 60", optarg);
            a->cfg.ops = (unsigned)n;
            break;
        case 'A':
            a->answers = true;
            break;
        case 'j':
            if (optarg[0] == '-' && optarg[1] == '-')
                return bad_flag("--json needs a file name, not the option %s", optarg);
            a->json = optarg;
            break;
        case 'h':
            fputs(usage_quiz, stdout);
            return 1;
        default:
            return bad_flag("unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return bad_flag("unexpected argument '%s'", argv[optind]);
    return 0;
}

int cmd_quiz(int argc, char **argv)
{
    struct quiz q;
    struct quiz_args a;
    const char *why = NULL;
    int rc = parse_quiz_args(argc, argv, &a);

    if (rc)
        return rc == 1 ? 0 : rc;
    if (quiz_generate(&q, &a.cfg, &why) != 0) {
        fprintf(stderr, "evsim: quiz: %s\n", why);
        return EXIT_BAD_INPUT;
    }
    /* The JSON first: a file that cannot be written stops the command before any output. */
    if (a.json) {
        struct json_object *j = quiz_to_json(&q);
        struct diag d;
        int jr = report_write_json(j, a.json, &d);

        json_object_put(j);
        if (jr != 0) {
            fprintf(stderr, "evsim: quiz: %s\n", d.msg);
            return EXIT_BAD_INPUT;
        }
    }
    quiz_print(&q, a.answers, stdout);
    return 0;
}
