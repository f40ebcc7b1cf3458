/* `evsim quiz`: predict, then reveal. A seeded script of event-channel operations on two or
 * three domains; questions on what each step does (upcalls, wakes, errors) and on what is left
 * pending; answers computed by running the script through the model (sim/quiz_host.h). */
#ifndef EVSIM_SIM_QUIZ_H
#define EVSIM_SIM_QUIZ_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <json-c/json.h>

#include "sim/quiz_host.h"

#define QUIZ_MAX_OPS 60u
#define QUIZ_MIN_OPS 4u
#define QUIZ_MAX_VCPUS QH_MAX_VCPUS

enum quiz_kind {
    QK_ALLOC_UNBOUND,
    QK_BIND_INTERDOMAIN,
    QK_BIND_IPI,
    QK_BIND_VIRQ,
    QK_SEND,
    QK_UNMASK,
    QK_CLOSE,
    QK_BIND_VCPU,
    QK_SET_PRIORITY,
    QK_MASK,          /* the guest sets the port's mask bit (FIFO: M bit) itself */
    QK_HANDLE,        /* the vcpu's upcall handler runs */
    QK_BLOCK,         /* SCHEDOP_block */
    QK_UPCALL_MASK,   /* the guest sets evtchn_upcall_mask (events disabled) */
    QK_UPCALL_UNMASK, /* ... and clears it */
    QK_RAISE_VIRQ,    /* Xen raises a per-vcpu VIRQ */
    QK_KINDS
};

/* One operation. `dom`/`vcpu` act (issue the hypercall, run the guest code); the other fields
 * are the arguments the kind uses. */
struct quiz_op {
    enum quiz_kind kind;
    domid_t dom;
    unsigned vcpu;
    uint32_t port;      /* send, unmask, close, bind_vcpu, set_priority, mask */
    domid_t remote_dom; /* alloc_unbound, bind_interdomain */
    uint32_t remote_port;
    unsigned target_vcpu; /* bind_ipi, bind_virq, bind_vcpu; raise_virq: the vcpu raised */
    unsigned virq;
    unsigned priority;
    /* Meant to fail: why (for the answer). NULL for an operation meant to succeed. */
    const char *invalid_why;
};

#define QUIZ_MAX_SEEN 8u

/* A vcpu whose evtchn_upcall_pending went 0 -> 1: kicked, or woken if it was blocked. */
struct quiz_upcall {
    domid_t dom;
    unsigned vcpu;
    bool woke;
};

/* What running the operation showed. `target` is the port the event goes to (send: the other
 * end; unmask: the port; VIRQ: its port), looked at just before the operation. */
struct quiz_outcome {
    long rc;
    uint32_t port; /* a bind's new port */
    unsigned notify_vcpu;
    bool has_target;
    domid_t target_dom;
    uint32_t target_port;
    unsigned target_vcpu; /* the target's notify vcpu */
    bool was_pending, was_masked, upcall_was_pending, upcall_was_masked, was_blocked;
    bool target_bound; /* the send reached a port (its remote end was still bound) */
    bool raised, newly_pending;
    bool now_pending;
    unsigned nr_upcalls; /* vcpus whose evtchn_upcall_pending went 0 -> 1 (kick or wake) */
    struct quiz_upcall upcall[QUIZ_MAX_SEEN];
    unsigned nr_wakes;
    bool blocked_after; /* block: the vcpu is blocked after the hypercall */
    uint32_t handled[QH_MAX_PORTS];
    unsigned nr_handled;
};

struct quiz_step {
    struct quiz_op op;
    struct quiz_outcome out;
};

struct quiz_final {
    uint64_t pending; /* bit p: port p pending (ports 1 .. 63) */
    uint64_t masked;
    uint64_t bound; /* bit p: port p in use at the end */
};

struct quiz_config {
    uint64_t seed;
    enum qh_abi abi;
    unsigned max_vcpus; /* each domain gets 1 .. max_vcpus */
    unsigned ops;
};

struct quiz {
    struct quiz_config cfg;
    unsigned nr_domains;
    unsigned vcpus[QH_MAX_DOMAINS];
    struct quiz_step step[QUIZ_MAX_OPS];
    unsigned nr_steps;
    struct quiz_final final[QH_MAX_DOMAINS];
};

/* Generate the seeded script, running each operation through the model as it is chosen (so
 * that the next one is chosen from the real state). 0, or -1 with *why. */
int quiz_generate(struct quiz *q, const struct quiz_config *cfg, const char **why);
/* Run a given script (tests): the same host and observations. 0, or -1 with *why. */
int quiz_run_script(struct quiz *q, enum qh_abi abi, unsigned nr_domains, const unsigned *vcpus,
                    const struct quiz_op *ops, unsigned nr_ops, const char **why);

/* Print the quiz, with the answers if `answers`. */
void quiz_print(const struct quiz *q, bool answers, FILE *out);
/* The quiz and its answers as JSON (for graders); the caller puts it. */
struct json_object *quiz_to_json(const struct quiz *q);

/* argv[0] is "quiz"; the exit status. */
int cmd_quiz(int argc, char **argv);

#endif
