/* Internal to the narrator (sim/explain.c, sim/explain_json.c): its state, the shadow of every
 * domain's event-channel state, and the steps and changes it keeps. */
#ifndef EVSIM_SIM_EXPLAIN_INT_H
#define EVSIM_SIM_EXPLAIN_INT_H

#include <stddef.h>

#include "models/evtchn_view.h"
#include "sim/explain.h"

#define FIFO_BIT(b) (UINT32_C(1) << (b))
#define EX_L2_WORDS 64u
#define EX_IOREQ_SERVERS 8u /* MAX_NR_IOREQ_SERVERS */
#define EX_MAX_PORTS 4096u  /* the most ports of one domain a narration shows */

/* ---- state and its shadow ---- */

struct ex_chan {
    uint8_t state;
    bool xen;
    uint8_t prio;
    uint16_t vcpu;
    uint32_t a; /* remote domain (unbound, interdomain), VIRQ or PIRQ */
    uint32_t b; /* remote port (interdomain) */
};

enum ex_run { RUN_RUNNING, RUN_RUNNABLE, RUN_BLOCKED, RUN_BLOCKED_IN_XEN, RUN_OFFLINE, RUN_NONE };

struct ex_span {
    uint64_t from, to;
    uint8_t state;
    uint16_t pcpu;
};

struct ex_vshadow {
    struct evtchn_vcpu_view v;
    uint64_t l2[EX_L2_WORDS];
    int8_t ioreq[EX_IOREQ_SERVERS]; /* its slot's state in each ioreq server (-1: none) */
    bool follow; /* a selected event is on its way to this vcpu: narrate its steps */
    struct ex_span *span;
    size_t nspan, capspan;
    uint8_t run;
};

struct ex_dshadow {
    unsigned nports;
    uint8_t *pend, *mask;
    uint32_t *word;
    struct ex_chan *chan;
    int64_t *flow;                  /* per port: the event raised and not yet consumed (-1: none) */
    uint64_t *flow_step;            /* ... the step that raised it ... */
    uint64_t *flow_t;               /* ... and when */
    int64_t bufq[EX_IOREQ_SERVERS]; /* requests waiting in each server's buffered ring (-1) */
    struct ex_vshadow *vc;
    unsigned nvc;
};

/* ---- changes and steps ---- */

enum ex_ck {
    CK_PENDING,
    CK_MASKED,
    CK_SEL,
    CK_L2,
    CK_UPCALL_PENDING,
    CK_UPCALL_MASK,
    CK_WORD,
    CK_HEAD,
    CK_READY,
    CK_CHAN,
    CK_IOREQ, /* a vcpu's ioreq slot state in server idx (vcpu: the target's) */
    CK_BUFQ,  /* requests waiting in server idx's buffered ring (vcpu -1, not a port) */
};
extern const char *const explain_change_names[]; /* by enum ex_ck, as the document names them */

struct ex_change {
    uint8_t k;
    uint16_t dom;
    int32_t vcpu;              /* -1 for port changes */
    uint32_t idx;              /* port, selector bit, queue, ioreq server */
    uint64_t from, to;         /* CK_IOREQ, CK_BUFQ: int64_t values, -1 for "no server" */
    struct ex_chan cfrom, cto; /* CK_CHAN */
};

enum ex_who { WHO_GUEST, WHO_XEN, WHO_HW };
extern const char *const explain_who_names[];
extern const char *const explain_run_names[]; /* by enum ex_run */

/* What opened the step; the kind the document shows may be refined at close (a guest write
 * becomes scan, consume, mask, ...). */
enum ex_src {
    SRC_MODEL,
    SRC_HYPERCALL,
    SRC_RETURN,
    SRC_KICK,
    SRC_WAKE,
    SRC_UPCALL,
    SRC_HVM_IRET,
    SRC_GUEST_WRITE,
    SRC_IO_EXIT,
};

struct ex_step {
    uint64_t t;     /* narration time: the acting CPU's, never before the step before's */
    uint64_t cpu_t; /* the acting CPU's own clock (CPUs run apart within a lookahead) */
    int dom, vcpu;
    int64_t port;
    uint8_t src, who;
    uint8_t hkind; /* enum hv_step_kind, for SRC_MODEL */
    uint32_t arg;
    uint64_t nr, cmd;      /* hypercall; an I/O exit's address and data */
    int64_t rax;           /* return */
    const char *kind, *fn; /* fn NULL: the name is in fnbuf (explain_step_fn) */
    char fnbuf[64];
    char text[256];
    int64_t flow;
    int64_t walk_sel, walk_l2, walk_port; /* -1: none */
    size_t ch0, nch;
    size_t q0, nq; /* changes of steps left out by the filters just before it ("quiet") */
    bool selected;
};

struct explain {
    struct machine *m;
    struct explain_options o;
    struct ex_dshadow *dom;
    unsigned ndom;
    bool started, done, open;
    struct ex_step cur;
    struct ex_step *steps;
    size_t nsteps, capsteps;
    struct ex_change *ch;
    size_t nch, capch;
    uint64_t narrated;
    int64_t next_flow;
    int64_t send_step;     /* the kept SEND step of the hypercall under way (-1: none) */
    uint64_t last_t;       /* the narration time of the last step opened */
    size_t quiet0, nquiet; /* changes of left-out steps not yet given to a kept one */
    struct json_object *initial;
    bool oom;
};

/* The function a step names (fn, or fnbuf when it was formatted). */
static inline const char *explain_step_fn(const struct ex_step *s)
{
    return s->fn ? s->fn : s->fnbuf;
}

/* The shadow (every domain's state as last seen) as the document's "initial" object. */
struct json_object *explain_state_json(const struct explain *ex);

#endif
