/* The labs of the course (docs/labs/): per lab, the scenarios the checker makes from the seed
 * and a table of named checks with points and hints. The hints name the rule that was broken
 * and where Xen (xen/common/...) and Linux (drivers/xen/...) implement it.
 *
 * Every lab's guest prints "lab: key=value ..." lines that the checks read with
 * lab_console_u64; the run's JSON report (docs/report.md) gives what Xen saw. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "sim/lab.h"

#define FAIL(...) (snprintf(why, n, __VA_ARGS__), false)

/* The guest printed key=; else say which line is missing. */
static bool need(const struct lab_case *c, const char *key, uint64_t *v, char *why, size_t n)
{
    if (lab_console_u64(c, key, v))
        return true;
    /* Not this check's rule: the guest never got as far as its result (finishes says why). */
    return FAIL(LAB_NOT_JUDGED "no \"lab: ... %s=...\" line on the guest's console: the guest "
                               "did not get that far",
                key);
}

/* Shared by every lab: the student's guest powered off (did not crash or hang). */
static bool finishes(const struct lab_case *c, char *why, size_t n)
{
    return lab_student_finished(c, why, n);
}

/* =============================== lab 1: the first channel ================================= */

enum { L1_ROUNDS, L1_SKIP };

static void lab1_scenario(struct lab_case *c, const char *elf, char *ini, size_t n)
{
    char cmd[sizeof(c->note)];
    c->p[L1_ROUNDS] = lab_rand(c, 3, 12);
    c->p[L1_SKIP] = lab_rand(c, 1, 6);
    snprintf(c->note, sizeof(c->note), "rounds=%" PRIu64 " skip=%" PRIu64, c->p[L1_ROUNDS],
             c->p[L1_SKIP]);
    snprintf(cmd, sizeof(cmd), "%s", c->note);
    lab_scenario_text(c, ini, n, 20, elf, cmd, NULL);
}

static bool lab1_bound(const struct lab_case *c, char *why, size_t n)
{
    uint64_t a, b;
    if (!need(c, "a", &a, why, n) || !need(c, "b", &b, why, n))
        return false;
    if (a == 0 || b == 0 || a == b)
        return FAIL("a=%" PRIu64 " b=%" PRIu64 ": expected two different ports, neither 0", a, b);
    if (a <= c->p[L1_SKIP] || b <= c->p[L1_SKIP])
        return FAIL("a=%" PRIu64 " b=%" PRIu64 ": ports 1..%" PRIu64 " are the IPI ports bound "
                    "first",
                    a, b, c->p[L1_SKIP]);
    return true;
}

static bool lab1_sends_on_b(const struct lab_case *c, char *why, size_t n)
{
    uint64_t b;
    if (!need(c, "b", &b, why, n))
        return false;
    int64_t sends = lab_port_field(c, c->student_dom, (unsigned)b, "sends");
    if (sends != (int64_t)c->p[L1_ROUNDS])
        return FAIL("the report counts %" PRId64 " sends on b (port %" PRIu64 "), expected "
                    "rounds=%" PRIu64,
                    sends, b, c->p[L1_ROUNDS]);
    return true;
}

static bool lab1_every_send_delivered(const struct lab_case *c, char *why, size_t n)
{
    uint64_t a, received;
    if (!need(c, "a", &a, why, n) || !need(c, "received", &received, why, n))
        return false;
    int64_t delivered = lab_port_field(c, c->student_dom, (unsigned)a, "delivered");
    int64_t coalesced = lab_port_field(c, c->student_dom, (unsigned)a, "coalesced");
    if (coalesced != 0 || delivered != (int64_t)c->p[L1_ROUNDS] || received != c->p[L1_ROUNDS])
        return FAIL("port a=%" PRIu64 ": %" PRId64 " delivered, %" PRId64 " coalesced, handler "
                    "ran %" PRIu64 " times; expected rounds=%" PRIu64 " deliveries, none "
                    "coalesced",
                    a, delivered, coalesced, received, c->p[L1_ROUNDS]);
    return true;
}

static const struct lab_check lab1_checks[] = {
    {"finishes", 2, finishes,
     "the guest must power off (return 0 from main). A PANIC in EVTCHNOP_bind_interdomain "
     "with -EINVAL means remote_port is not an unbound port of remote_dom: pass the port "
     "alloc_unbound returned, not a number you guessed (xen/common/event_channel.c "
     "evtchn_bind_interdomain checks rchn->state == ECS_UNBOUND)."},
    {"two-ports-connected", 2, lab1_bound,
     "alloc_unbound returns a new port in state unbound (evtchn_alloc_unbound); "
     "bind_interdomain returns another, local_port, connected to it (evtchn_bind_interdomain). "
     "Print both."},
    {"sends-on-the-bound-end", 3, lab1_sends_on_b,
     "send on b, the port bind_interdomain gave you: EVTCHNOP_send on one end raises the other "
     "end (xen/common/event_channel.c evtchn_send: rport = lchn->u.interdomain.remote_port)."},
    {"every-send-delivered", 3, lab1_every_send_delivered,
     "a port has one pending bit: a send that finds it still set is merged (coalesced) with "
     "the one not yet handled (xen/common/event_2l.c evtchn_2l_set_pending, "
     "guest_test_and_set_bit). Wait for the handler (rt_wait) before the next send."},
};

/* ============================ lab 2: the 2-level upcall handler ============================ */

enum { L2_PORTS, L2_ROUNDS };

static void lab2_scenario(struct lab_case *c, const char *elf, char *ini, size_t n)
{
    char student[256], partner[256 + 64];
    c->p[L2_PORTS] = lab_rand(c, 70, 300);
    c->p[L2_ROUNDS] = lab_rand(c, 2, 4);
    snprintf(c->note, sizeof(c->note), "ports=%" PRIu64 " rounds=%" PRIu64, c->p[L2_PORTS],
             c->p[L2_ROUNDS]);
    snprintf(student, sizeof(student), "%s", c->note);
    snprintf(partner, sizeof(partner), "mode=burst %s seed=%" PRIu64, c->note, c->seed);
    lab_scenario_text(c, ini, n, 30, elf, student, partner);
}

static bool lab2_every_event(const struct lab_case *c, char *why, size_t n)
{
    unsigned ports = (unsigned)c->p[L2_PORTS];
    for (unsigned p = 1; p <= ports + 1; p++) {
        int64_t delivered = lab_port_field(c, c->student_dom, p, "delivered");
        int64_t left = lab_port_field(c, c->student_dom, p, "pending_at_end");
        if (left != 0)
            return FAIL("port %u was still pending at the end: an event never handled "
                        "(%" PRId64 " delivered)",
                        p, delivered);
        if (delivered != (int64_t)c->p[L2_ROUNDS])
            return FAIL("port %u: %" PRId64 " events consumed, expected one per round "
                        "(%" PRIu64 ")",
                        p, delivered, c->p[L2_ROUNDS]);
    }
    uint64_t handled;
    if (!need(c, "handled", &handled, why, n))
        return false;
    if (handled != ports * c->p[L2_ROUNDS])
        return FAIL("handlers ran %" PRIu64 " times, expected ports x rounds = %" PRIu64, handled,
                    ports * c->p[L2_ROUNDS]);
    return true;
}

static bool lab2_masked_untouched(const struct lab_case *c, char *why, size_t n)
{
    unsigned quiet = (unsigned)c->p[L2_PORTS] + 2;
    int64_t consumed = lab_port_field(c, c->student_dom, quiet, "delivered");
    if (consumed != 0)
        return FAIL("port %u is masked and has no handler, but its pending bit was consumed "
                    "%" PRId64 " times",
                    quiet, consumed);
    uint64_t pending;
    if (!need(c, "quiet_pending", &pending, why, n))
        return false;
    return pending == 1 ? true : FAIL("the masked port %u was not pending at the end", quiet);
}

static bool lab2_cleared_before(const struct lab_case *c, char *why, size_t n)
{
    uint64_t late;
    if (!need(c, "late", &late, why, n))
        return false;
    if (late != 0)
        return FAIL("%" PRIu64 " handler calls found their port still pending", late);
    return true;
}

static const struct lab_check lab2_checks[] = {
    {"finishes", 2, finishes,
     "the guest must power off: it waits for every port of a round, so a lost event hangs it "
     "until the run length ends; a consumer that never clears evtchn_upcall_pending is entered "
     "again and again."},
    {"every-event-handled", 4, lab2_every_event,
     "take the selector with xchg, clearing it as you read it: Xen raises upcall_pending only "
     "when a selector bit goes from 0 to 1 (xen/common/event_2l.c evtchn_2l_set_pending: "
     "guest_test_and_set_bit on evtchn_pending_sel), so a bit left set hides every later event "
     "of its word. Linux: drivers/xen/events/events_2l.c evtchn_2l_handle_events, "
     "xchg_xen_ulong(&vcpu_info->evtchn_pending_sel, 0)."},
    {"masked-port-untouched", 2, lab2_masked_untouched,
     "handle only pending & ~mask: a masked port keeps its pending bit until it is unmasked "
     "(or polled), as Linux's active_evtchns() does (drivers/xen/events/events_2l.c: "
     "sh->evtchn_pending[idx] & ~sh->evtchn_mask[idx])."},
    {"pending-cleared-before-handler", 2, lab2_cleared_before,
     "clear the port's pending bit (rt_sync_clear_bit: lock btr) before calling its handler, "
     "so that an event raised while the handler runs sets it again and is not lost; Linux "
     "clears it in the irq chip's ack before the handler (drivers/xen/events/events_base.c "
     "ack_dynirq -> event_handler_exit -> clear_evtchn)."},
};

/* ========================= lab 3: masking and the re-raise on unmask ======================= */

enum { L3_N, L3_GAP, L3_WORK };

static void lab3_scenario(struct lab_case *c, const char *elf, char *ini, size_t n)
{
    char student[256], partner[256];
    c->p[L3_N] = lab_rand(c, 5, 15);
    c->p[L3_GAP] = lab_rand(c, 20, 40) * 1000;
    c->p[L3_WORK] = c->p[L3_GAP] * 3 / 2; /* longer than the gap: sends land while masked */
    snprintf(c->note, sizeof(c->note), "n=%" PRIu64 " gap=%" PRIu64 " work=%" PRIu64, c->p[L3_N],
             c->p[L3_GAP], c->p[L3_WORK]);
    snprintf(student, sizeof(student), "work=%" PRIu64, c->p[L3_WORK]);
    snprintf(partner, sizeof(partner), "mode=paced n=%" PRIu64 " gap=%" PRIu64 " done=65",
             c->p[L3_N], c->p[L3_GAP]);
    lab_scenario_text(c, ini, n, 30, elf, student, partner);
}

static bool lab3_unmasked(const struct lab_case *c, char *why, size_t n)
{
    uint64_t masked;
    if (!need(c, "still_masked", &masked, why, n))
        return false;
    return masked == 0 ? true : FAIL("port 1 was still masked at the end");
}

static bool lab3_nothing_stranded(const struct lab_case *c, char *why, size_t n)
{
    uint64_t pending, batches;
    if (!need(c, "pending", &pending, why, n) || !need(c, "batches", &batches, why, n))
        return false;
    int64_t raised = lab_port_field(c, c->student_dom, 1, "raised");
    int64_t delivered = lab_port_field(c, c->student_dom, 1, "delivered");
    if (pending != 0)
        return FAIL("port 1 was still pending at the end: of %" PRId64 " raises %" PRId64
                    " were delivered, the last one never was",
                    raised, delivered);
    if (batches != (uint64_t)delivered)
        return FAIL("%" PRIu64 " batches of work for %" PRId64 " deliveries", batches, delivered);
    return true;
}

static const struct lab_check lab3_checks[] = {
    {"finishes", 2, finishes,
     "the guest must power off: it ends when the partner's done event has come and no work is "
     "left."},
    {"port-unmasked-after-work", 3, lab3_unmasked,
     "unmask the port when the work is done, or Xen keeps setting its pending bit without ever "
     "notifying you (xen/common/event_2l.c evtchn_2l_set_pending tests evtchn_mask before it "
     "touches the selector)."},
    {"no-event-stranded", 5, lab3_nothing_stranded,
     "unmask with EVTCHNOP_unmask: Xen clears the mask bit and, if the port is pending, raises "
     "it again: sets the selector bit and upcall_pending and kicks the vcpu "
     "(xen/common/event_2l.c evtchn_2l_unmask, xen/common/event_channel.c evtchn_unmask). "
     "Clearing the mask bit yourself leaves a pending port with nobody told; Linux does the "
     "same re-raise in drivers/xen/events/events_2l.c evtchn_2l_unmask."},
};

/* ========================= lab 4: coalescing ============================================== */

enum { L4_N, L4_WORK };

static void lab4_scenario(struct lab_case *c, const char *elf, char *ini, size_t n)
{
    char student[256], partner[256];
    c->p[L4_N] = lab_rand(c, 8, 20);
    /* a fast partner, one that takes about as long as a guess would, a slow one */
    static const uint64_t lo[] = {5, 15, 40}, hi[] = {10, 30, 80};
    unsigned k = (c->index - 1) % 3;
    c->p[L4_WORK] = lab_rand(c, lo[k], hi[k]) * 1000;
    snprintf(c->note, sizeof(c->note), "n=%" PRIu64 " work=%" PRIu64, c->p[L4_N], c->p[L4_WORK]);
    snprintf(student, sizeof(student), "n=%" PRIu64, c->p[L4_N]);
    snprintf(partner, sizeof(partner), "mode=ack work=%" PRIu64 " jitter=%" PRIu64 " seed=%" PRIu64,
             c->p[L4_WORK], c->p[L4_WORK] / 4, c->seed);
    lab_scenario_text(c, ini, n, 30, elf, student, partner);
}

static bool lab4_all_seen(const struct lab_case *c, char *why, size_t n)
{
    /* the partner's port 1 is its end of the data channel */
    int64_t raised = lab_port_field(c, 0, 1, "raised");
    int64_t delivered = lab_port_field(c, 0, 1, "delivered");
    int64_t coalesced = lab_port_field(c, 0, 1, "coalesced");
    int64_t sends = lab_port_field(c, c->student_dom, 1, "sends");
    if (sends != (int64_t)c->p[L4_N])
        return FAIL("%" PRId64 " sends on port 1, expected n=%" PRIu64, sends, c->p[L4_N]);
    if (coalesced != 0 || delivered != (int64_t)c->p[L4_N] + 1)
        return FAIL("the partner's port: %" PRId64 " raised, %" PRId64 " delivered (with its "
                    "connection event), %" PRId64 " coalesced",
                    raised, delivered, coalesced);
    return true;
}

static bool lab4_every_ack(const struct lab_case *c, char *why, size_t n)
{
    uint64_t events;
    if (!need(c, "events", &events, why, n))
        return false;
    if (events != c->p[L4_N] + 1)
        return FAIL("%" PRIu64 " events on port 1 (hello + acks), expected %" PRIu64, events,
                    c->p[L4_N] + 1);
    return true;
}

static const struct lab_check lab4_checks[] = {
    {"finishes", 2, finishes, "the guest must power off."},
    {"no-send-coalesced", 6, lab4_all_seen,
     "a port has one pending bit: a send that finds it set is merged with the event not yet "
     "handled (xen/common/event_2l.c evtchn_2l_set_pending: guest_test_and_set_bit returns "
     "early; the report's coalesced column counts them). Do not guess how long the partner "
     "takes with a delay: wait for its ack before the next send."},
    {"one-ack-per-send", 2, lab4_every_ack,
     "the partner acks every event it handles; with one send in flight at a time there is one "
     "ack per send and the acks cannot coalesce either."},
};

/* ====================== lab 5: VIRQ_TIMER, blocking and set_timer_op ====================== */

enum { L5_TICKS, L5_PERIOD };
#define L5_MAX_TICKS 16

static void lab5_scenario(struct lab_case *c, const char *elf, char *ini, size_t n)
{
    char student[256];
    c->p[L5_TICKS] = lab_rand(c, 4, 10);
    c->p[L5_PERIOD] = lab_rand(c, 200, 800) * 1000;
    snprintf(c->note, sizeof(c->note), "ticks=%" PRIu64 " period=%" PRIu64, c->p[L5_TICKS],
             c->p[L5_PERIOD]);
    snprintf(student, sizeof(student), "%s", c->note);
    lab_scenario_text(c, ini, n, 20, elf, student, NULL);
}

/* The start and tick times the guest printed: how many ticks (0 after saying why). */
static unsigned lab5_ticks(const struct lab_case *c, uint64_t *start, uint64_t *at, char *why,
                           size_t n)
{
    if (!need(c, "start", start, why, n))
        return 0;
    unsigned got = lab_console_all(c, "at", at, L5_MAX_TICKS);
    if (got != c->p[L5_TICKS]) {
        snprintf(why, n, "%u tick lines, expected ticks=%" PRIu64, got, c->p[L5_TICKS]);
        return 0;
    }
    return got;
}

static bool lab5_every_tick(const struct lab_case *c, char *why, size_t n)
{
    uint64_t start, at[L5_MAX_TICKS];
    return lab5_ticks(c, &start, at, why, n) != 0;
}

static bool lab5_never_early(const struct lab_case *c, char *why, size_t n)
{
    uint64_t start, at[L5_MAX_TICKS];
    unsigned got = lab5_ticks(c, &start, at, why, n);
    for (unsigned k = 0; k < got; k++) {
        uint64_t due = start + (k + 1) * c->p[L5_PERIOD];
        if (at[k] < due)
            return FAIL("tick %u came at %" PRIu64 " ns, %" PRIu64 " ns before its deadline "
                        "%" PRIu64,
                        k + 1, at[k], due - at[k], due);
    }
    return got != 0;
}

static bool lab5_no_drift(const struct lab_case *c, char *why, size_t n)
{
    uint64_t start, at[L5_MAX_TICKS];
    unsigned got = lab5_ticks(c, &start, at, why, n);
    if (got == 0)
        return false;
    int64_t first = (int64_t)(at[0] - start) - (int64_t)c->p[L5_PERIOD];
    int64_t last = (int64_t)(at[got - 1] - start) - (int64_t)(got * c->p[L5_PERIOD]);
    int64_t allowed = 2 * (first > 0 ? first : 0) + 2000;
    if (last > allowed)
        return FAIL("the first tick was %" PRId64 " ns late, tick %u %" PRId64 " ns late: the "
                    "lateness adds up",
                    first, got, last);
    return true;
}

static bool lab5_blocks(const struct lab_case *c, char *why, size_t n)
{
    int64_t insns = lab_dom_field(c, c->student_dom, "guest_instructions");
    int64_t allowed = 100000 + 5000 * (int64_t)c->p[L5_TICKS]; /* spinning: millions */
    if (insns > allowed)
        return FAIL("the guest ran %" PRId64 " instructions for %" PRIu64 " ticks (at most "
                    "%" PRId64 " when it sleeps between them)",
                    insns, c->p[L5_TICKS], allowed);
    return true;
}

static const struct lab_check lab5_checks[] = {
    {"finishes", 2, finishes, "the guest must power off after its last tick."},
    {"every-tick", 2, lab5_every_tick,
     "one tick() per timer event that reaches its deadline: stop Xen's 100 Hz periodic timer "
     "first (VCPUOP_stop_periodic_timer; xen/common/domain.c), bind VIRQ_TIMER "
     "(EVTCHNOP_bind_virq) and re-arm in the handler."},
    {"never-early", 2, lab5_never_early,
     "set_timer_op takes an absolute Xen system time in ns (rt_now_ns() + period), not a "
     "duration: a deadline already past fires at once (xen/common/sched/core.c do_set_timer_op "
     "-> set_timer). Linux: arch/x86/xen/time.c xen_timerop_set_next_event."},
    {"no-drift", 2, lab5_no_drift,
     "arm each deadline from the previous deadline (deadline += period), not from the time the "
     "handler ran: the upcall's latency would add up tick after tick."},
    {"blocks-between-ticks", 2, lab5_blocks,
     "wait with the vcpu blocked (rt_wait: SCHEDOP_block, xen/common/sched/core.c "
     "vcpu_block_enable_events), not by spinning on the clock: Xen wakes a blocked vcpu when "
     "VIRQ_TIMER is raised, and the CPU is free meanwhile."},
};

/* =============================== lab 6: SCHEDOP_poll ===================================== */

enum { L6_DELAY, L6_TIMEOUT };

static void lab6_scenario(struct lab_case *c, const char *elf, char *ini, size_t n)
{
    char student[256], partner[256];
    bool fires = c->index != 2; /* case 2: nothing comes */
    c->p[L6_DELAY] = fires ? lab_rand(c, 100, 400) * 1000 : 0;
    c->p[L6_TIMEOUT] =
        fires ? c->p[L6_DELAY] + lab_rand(c, 300, 600) * 1000 : lab_rand(c, 200, 500) * 1000;
    snprintf(c->note, sizeof(c->note), "delay=%" PRIu64 " timeout=%" PRIu64 "%s", c->p[L6_DELAY],
             c->p[L6_TIMEOUT], fires ? "" : " (no send)");
    snprintf(student, sizeof(student), "timeout=%" PRIu64, c->p[L6_TIMEOUT]);
    snprintf(partner, sizeof(partner), "mode=late delay=%" PRIu64, c->p[L6_DELAY]);
    lab_scenario_text(c, ini, n, 10, elf, student, partner);
}

static bool lab6_wakes(const struct lab_case *c, char *why, size_t n)
{
    uint64_t fired, elapsed;
    if (c->p[L6_DELAY] == 0)
        return true;
    if (!need(c, "fired", &fired, why, n) || !need(c, "elapsed", &elapsed, why, n))
        return false;
    if (fired != 1 || elapsed >= c->p[L6_TIMEOUT])
        return FAIL("the partner sent after %" PRIu64 " ns; wait_port returned fired=%" PRIu64
                    " after %" PRIu64 " ns (timeout %" PRIu64 ")",
                    c->p[L6_DELAY], fired, elapsed, c->p[L6_TIMEOUT]);
    return true;
}

static bool lab6_timeout(const struct lab_case *c, char *why, size_t n)
{
    uint64_t fired, elapsed;
    if (c->p[L6_DELAY] != 0)
        return true;
    if (!need(c, "fired", &fired, why, n) || !need(c, "elapsed", &elapsed, why, n))
        return false;
    if (fired != 0 || elapsed < c->p[L6_TIMEOUT])
        return FAIL("nothing was sent; wait_port returned fired=%" PRIu64 " after %" PRIu64
                    " ns (timeout %" PRIu64 ")",
                    fired, elapsed, c->p[L6_TIMEOUT]);
    return true;
}

static bool lab6_no_upcall(const struct lab_case *c, char *why, size_t n)
{
    uint64_t masked;
    int64_t upcalls = lab_dom_field(c, c->student_dom, "upcalls");
    if (!need(c, "masked", &masked, why, n))
        return false;
    if (upcalls != 0 || masked != 1)
        return FAIL("%" PRId64 " upcalls, port %s at the end", upcalls,
                    masked ? "masked" : "unmasked");
    return true;
}

/* A poll that waits blocks once (or twice, after an event that is not the port's): a loop that
 * polls again and again with a deadline already past, or a spin on the pending bit, makes the
 * vcpu trap into Xen all the time instead. */
static bool lab6_waits_blocked(const struct lab_case *c, char *why, size_t n)
{
    int64_t calls = lab_dom_field(c, c->student_dom, "hypercalls");
    if (calls > 14)
        return FAIL("the guest made %" PRId64 " hypercalls to wait once (at most 14 when it "
                    "blocks in SCHEDOP_poll until the event or the timeout)",
                    calls);
    return true;
}

static const struct lab_check lab6_checks[] = {
    {"finishes", 2, finishes, "the guest must power off."},
    {"waits-blocked", 2, lab6_waits_blocked,
     "wait blocked in SCHEDOP_poll, not by polling again and again or spinning on the pending "
     "bit: Xen blocks the vcpu until the port is pending or the timeout, an absolute system "
     "time (rt_now_ns() + timeout), passes; a deadline already past returns at once, every "
     "time (xen/common/sched/core.c do_poll)."},
    {"wakes-on-the-event", 2, lab6_wakes,
     "poll until the port is pending: a masked port's event wakes its poller "
     "(xen/common/event_2l.c evtchn_2l_set_pending -> evtchn_check_pollers). The timeout is an "
     "absolute system time (rt_now_ns() + timeout): one already past makes the poll return at "
     "once (xen/common/sched/core.c do_poll)."},
    {"honours-the-timeout", 2, lab6_timeout,
     "SCHEDOP_poll returns 0 both when a port fired and when the timeout passed: test the "
     "port's pending bit to tell them apart, and poll again if neither happened yet. Its "
     "timeout is an absolute system time (rt_now_ns() + timeout): a duration passed as a time "
     "ends the wait early, by the time since boot (xen/common/sched/core.c do_poll; Linux: "
     "arch/x86/xen/spinlock.c xen_qlock_wait)."},
    {"no-upcall", 2, lab6_no_upcall,
     "keep the port masked and poll it: polling needs no handler and no upcall, which is why "
     "Linux's PV spinlocks use it (arch/x86/xen/spinlock.c xen_qlock_wait -> xen_poll_irq)."},
};

/* ============================== lab 7: the lost wake-up ================================== */

enum { L7_PORTS, L7_ROUNDS, L7_GAP };

static void lab7_scenario(struct lab_case *c, const char *elf, char *ini, size_t n)
{
    char student[256], partner[256 + 64];
    c->p[L7_PORTS] = lab_rand(c, 16, 60); /* one word: a lost selector bit hides them all */
    c->p[L7_ROUNDS] = lab_rand(c, 10, 16);
    c->p[L7_GAP] = lab_rand(c, 2, 5) * 50; /* sends land while the consumer runs */
    snprintf(c->note, sizeof(c->note), "ports=%" PRIu64 " rounds=%" PRIu64 " gap=%" PRIu64,
             c->p[L7_PORTS], c->p[L7_ROUNDS], c->p[L7_GAP]);
    snprintf(student, sizeof(student), "ports=%" PRIu64 " rounds=%" PRIu64, c->p[L7_PORTS],
             c->p[L7_ROUNDS]);
    snprintf(partner, sizeof(partner), "mode=burst %s seed=%" PRIu64, c->note, c->seed);
    lab_scenario_text(c, ini, n, 30, elf, student, partner);
}

static bool lab7_every_event(const struct lab_case *c, char *why, size_t n)
{
    unsigned ports = (unsigned)c->p[L7_PORTS];
    for (unsigned p = 1; p <= ports + 1; p++) {
        int64_t left = lab_port_field(c, c->student_dom, p, "pending_at_end");
        if (left != 0)
            return FAIL("port %u was still pending at the end: Xen raised it, the guest was "
                        "never told",
                        p);
    }
    uint64_t handled;
    if (!need(c, "handled", &handled, why, n))
        return false;
    if (handled != ports * c->p[L7_ROUNDS])
        return FAIL("handlers ran %" PRIu64 " times, expected ports x rounds = %" PRIu64, handled,
                    ports * c->p[L7_ROUNDS]);
    return true;
}

static const struct lab_check lab7_checks[] = {
    {"finishes", 2, finishes,
     "the guest waits for every port of a round: a lost wake-up leaves it blocked until the run "
     "length ends."},
    {"no-lost-wakeup", 8, lab7_every_event,
     "clear evtchn_upcall_pending first, then take the selector with xchg, then scan, and "
     "repeat while upcall_pending was set again. Xen sets the selector bit and upcall_pending "
     "only when the selector bit goes from 0 to 1 (xen/common/event_2l.c "
     "evtchn_2l_set_pending): clearing either after the scan erases the notice of an event "
     "raised during it, and every later event of that word finds its selector bit set and "
     "tells nobody. Linux: drivers/xen/events/events_base.c __xen_evtchn_do_upcall clears "
     "upcall_pending before xen_evtchn_handle_events, in a do/while loop."},
};

/* ============================ lab 8: fairness under a storm =============================== */

enum { L8_VICTIM, L8_WORK, L8_FLOOD, L8_EVERY, L8_FLOODPORT };

static void lab8_scenario(struct lab_case *c, const char *elf, char *ini, size_t n)
{
    char student[256], partner[256];
    c->p[L8_VICTIM] = lab_rand(c, 20, 60); /* in port 1's word, with two ports above it */
    c->p[L8_WORK] = lab_rand(c, 15, 30) * 100;
    c->p[L8_FLOOD] = lab_rand(c, 10, 25) * 100;
    c->p[L8_EVERY] = lab_rand(c, 30, 60);
    /* The flooded port is below the victim, but in the last case above it (past the done
     * port): a scan that always starts at one end of the word starves the victim either way. */
    c->p[L8_FLOODPORT] = c->index == 3 ? c->p[L8_VICTIM] + 2 : 1;
    snprintf(c->note, sizeof(c->note),
             "victim=%" PRIu64 " flooded=%" PRIu64 " work=%" PRIu64 " flood=%" PRIu64
             " every=%" PRIu64,
             c->p[L8_VICTIM], c->p[L8_FLOODPORT], c->p[L8_WORK], c->p[L8_FLOOD], c->p[L8_EVERY]);
    snprintf(student, sizeof(student), "victim=%" PRIu64 " work=%" PRIu64 " floodport=%" PRIu64,
             c->p[L8_VICTIM], c->p[L8_WORK], c->p[L8_FLOODPORT]);
    snprintf(partner, sizeof(partner),
             "mode=flood flood=%" PRIu64 " victim=%" PRIu64 " every=%" PRIu64 " floodport=%" PRIu64,
             c->p[L8_FLOOD], c->p[L8_VICTIM], c->p[L8_EVERY], c->p[L8_FLOODPORT]);
    lab_scenario_text(c, ini, n, 40, elf, student, partner);
}

static bool lab8_nothing_left(const struct lab_case *c, char *why, size_t n)
{
    unsigned ports[] = {(unsigned)c->p[L8_FLOODPORT], (unsigned)c->p[L8_VICTIM],
                        (unsigned)c->p[L8_VICTIM] + 1};
    for (unsigned i = 0; i < 3; i++)
        if (lab_port_field(c, c->student_dom, ports[i], "pending_at_end") != 0)
            return FAIL("port %u was still pending at the end: its event was never handled",
                        ports[i]);
    return true;
}

static bool lab8_victim_served(const struct lab_case *c, char *why, size_t n)
{
    unsigned victim = (unsigned)c->p[L8_VICTIM];
    int64_t coalesced = lab_port_field(c, c->student_dom, victim, "coalesced");
    int64_t worst = lab_port_max_latency_ns(c, c->student_dom, victim);
    int64_t allowed = 5 * (int64_t)c->p[L8_WORK] + 5000; /* a few of port 1's handlers */
    if (worst < 0)
        return FAIL("port %u (the victim) never had an event handled", victim);
    if (coalesced != 0 || worst > allowed)
        return FAIL("port %u waited up to %" PRId64 " ns for its handler (allowed %" PRId64
                    "), and %" PRId64 " of its events merged while it waited",
                    victim, worst, allowed, coalesced);
    return true;
}

static const struct lab_check lab8_checks[] = {
    {"finishes", 2, finishes, "the guest must power off when the partner's done event comes."},
    {"nothing-left-pending", 3, lab8_nothing_left,
     "go all the way round: after the ports above the resume point come the words after it, "
     "the words before it, and last the resume word's bits below the resume point. The "
     "selector bit was taken with xchg, so nothing will bring the consumer back to ports it "
     "skipped (drivers/xen/events/events_2l.c evtchn_2l_handle_events visits the start word "
     "twice)."},
    {"victim-not-starved", 5, lab8_victim_served,
     "do not restart from the lowest port after each handler: a port that is raised faster "
     "than its handler runs keeps winning and the ports above it starve. Resume the scan just "
     "after the last port handled, as Linux keeps current_word_idx and current_bit_idx per cpu "
     "(drivers/xen/events/events_2l.c evtchn_2l_handle_events)."},
};

/* ================================ lab 9: FIFO priorities ================================== */

enum { L9_BULK, L9_WORK, L9_SENDS, L9_EVERY };

static void lab9_scenario(struct lab_case *c, const char *elf, char *ini, size_t n)
{
    char student[256], partner[256];
    c->p[L9_BULK] = lab_rand(c, 8, 16);
    c->p[L9_WORK] = lab_rand(c, 15, 30) * 100;
    c->p[L9_SENDS] = lab_rand(c, 10, 20) * 100;
    c->p[L9_EVERY] = lab_rand(c, 30, 60);
    snprintf(c->note, sizeof(c->note),
             "bulk=%" PRIu64 " work=%" PRIu64 " sends=%" PRIu64 " every=%" PRIu64, c->p[L9_BULK],
             c->p[L9_WORK], c->p[L9_SENDS], c->p[L9_EVERY]);
    snprintf(student, sizeof(student), "abi=fifo bulk=%" PRIu64 " work=%" PRIu64, c->p[L9_BULK],
             c->p[L9_WORK]);
    snprintf(partner, sizeof(partner),
             "mode=prio bulk=%" PRIu64 " sends=%" PRIu64 " every=%" PRIu64, c->p[L9_BULK],
             c->p[L9_SENDS], c->p[L9_EVERY]);
    lab_scenario_text(c, ini, n, 40, elf, student, partner);
}

static bool lab9_urgent_first(const struct lab_case *c, char *why, size_t n)
{
    unsigned urgent = (unsigned)c->p[L9_BULK] + 1;
    int64_t coalesced = lab_port_field(c, c->student_dom, urgent, "coalesced");
    int64_t worst = lab_port_max_latency_ns(c, c->student_dom, urgent);
    int64_t allowed = 2 * (int64_t)c->p[L9_WORK] + 5000; /* the bulk handler under way */
    if (worst < 0)
        return FAIL("port %u (urgent) never had an event handled", urgent);
    if (coalesced != 0 || worst > allowed)
        return FAIL("port %u (urgent) waited up to %" PRId64 " ns for its handler (allowed "
                    "%" PRId64 "), and %" PRId64 " of its events merged while it waited",
                    urgent, worst, allowed, coalesced);
    return true;
}

static bool lab9_bulk_served(const struct lab_case *c, char *why, size_t n)
{
    uint64_t bulks;
    for (unsigned p = 1; p <= c->p[L9_BULK] + 2; p++)
        if (lab_port_field(c, c->student_dom, p, "pending_at_end") != 0)
            return FAIL("port %u was still pending at the end", p);
    if (!need(c, "bulks", &bulks, why, n))
        return false;
    return bulks > 0 ? true : FAIL("no bulk event was handled");
}

static const struct lab_check lab9_checks[] = {
    {"finishes", 2, finishes,
     "the guest must power off; it panics if it is not on the FIFO ABI (abi=fifo)."},
    {"urgent-first", 6, lab9_urgent_first,
     "give the urgent port a higher priority than the bulk ports: a smaller number, 0 the "
     "highest and 15 the lowest (EVTCHNOP_set_priority; xen/common/event_fifo.c "
     "evtchn_fifo_set_priority). Each priority has its own queue, and the consumer always takes "
     "the highest ready queue first (Linux: drivers/xen/events/events_fifo.c "
     "__evtchn_fifo_handle_events takes find_first_bit of the ready word, then "
     "consume_one_event), so equal priorities leave the urgent event at the back of the bulk "
     "queue."},
    {"bulk-still-served", 2, lab9_bulk_served,
     "the bulk ports keep their events: a priority only orders the queues, nothing is dropped."},
};

/* ========================= lab 10: the port limit and the 3-level ABI ===================== */

enum { L10_WANT, L10_MAX_PORT, L10_EXPECT };

/* Case 1 on 2-level (its 4096 ports bind), case 2 on 3-level (the request binds), case 3 on
 * FIFO with a toolstack limit below the request (max_evtchn_port binds). */
static void lab10_scenario(struct lab_case *c, const char *elf, char *ini, size_t n)
{
    static const char *const abi[] = {"2l", "3l", "fifo"};
    char student[256];
    unsigned k = (c->index - 1) % 3;
    c->p[L10_WANT] = k == 2 ? 5000 : lab_rand(c, 45, 80) * 100;
    c->p[L10_MAX_PORT] = k == 2 ? lab_rand(c, 1500, 3000) : 16383;
    c->p[L10_EXPECT] = k == 0 ? 4095 : k == 1 ? c->p[L10_WANT] : c->p[L10_MAX_PORT];
    snprintf(c->note, sizeof(c->note), "abi=%s want=%" PRIu64 " max_evtchn_port=%" PRIu64, abi[k],
             c->p[L10_WANT], c->p[L10_MAX_PORT]);
    snprintf(student, sizeof(student), "abi=%s want=%" PRIu64, abi[k], c->p[L10_WANT]);
    lab_scenario_text(c, ini, n, 50, elf, student, NULL);
    size_t len = strlen(ini);
    snprintf(ini + len, n - len, "max_evtchn_port = %" PRIu64 "\n", c->p[L10_MAX_PORT]);
}

static bool lab10_limit(const struct lab_case *c, char *why, size_t n)
{
    uint64_t got;
    if (!need(c, "got", &got, why, n))
        return false;
    if (got != c->p[L10_EXPECT])
        return FAIL("got %" PRIu64 " ports, expected %" PRIu64 " (%s)", got, c->p[L10_EXPECT],
                    c->note);
    return true;
}

static bool lab10_last_port(const struct lab_case *c, char *why, size_t n)
{
    uint64_t got, reached;
    if (!need(c, "got", &got, why, n) || !need(c, "reached", &reached, why, n))
        return false;
    int64_t delivered = lab_port_field(c, c->student_dom, (unsigned)got, "delivered");
    if (reached != 1 || delivered < 1)
        return FAIL("port %" PRIu64 ": reached=%" PRIu64 ", %" PRId64 " events delivered", got,
                    reached, delivered);
    return true;
}

static const struct lab_check lab10_checks[] = {
    {"finishes", 2, finishes,
     "the guest must power off. -ENOSPC from EVTCHNOP_alloc_unbound means the domain's table is "
     "full: stop there, it is an answer, not a failure (xen/common/event_channel.c "
     "get_free_port returns -ENOSPC past the domain's limit)."},
    {"stops-at-the-limit", 5, lab10_limit,
     "ask until you have `want` ports or Xen says -ENOSPC: the limit is min(the ABI's, the "
     "toolstack's max_evtchn_port + 1), port 0 reserved. 2-level has 4096 ports for a 64-bit "
     "guest (EVTCHN_2L_NR_CHANNELS), FIFO 131072 (EVTCHN_FIFO_NR_CHANNELS), the 3-level RFC "
     "262144 (xen/common/event_channel.c get_free_port; xen/include/xen/event.h "
     "max_evtchns). Do not assume one."},
    {"last-port-works", 3, lab10_last_port,
     "the highest port you got must work like any other: the harness binds to it and sends. "
     "Allocate the ports for rt_domid (remote_dom), as the skeleton says."},
};

/* ============================== lab 11: an ioreq round trip =============================== */

enum { L11_PORT, L11_ROUNDS };

/* The student's guest is dom0, the device model; the partner is dom1, an HVM guest created
 * paused, which the device model unpauses once its server is ready. */
static void lab11_scenario(struct lab_case *c, const char *elf, char *ini, size_t n)
{
    c->p[L11_PORT] = 0x5000 + lab_rand(c, 0, 0x3ff) * 4;
    c->p[L11_ROUNDS] = lab_rand(c, 5, 20);
    snprintf(c->note, sizeof(c->note), "port=0x%" PRIx64 " rounds=%" PRIu64, c->p[L11_PORT],
             c->p[L11_ROUNDS]);
    snprintf(ini, n,
             "[machine]\npcpus = 2\nseed = %" PRIu64 "\nrun_ms = 20\n\n"
             "[domain student]\nguest = %s\nprivileged = yes\n"
             "cmdline = target=1 port=0x%" PRIx64 "\n\n"
             "[domain partner]\nguest = lab_partner\ntype = hvm\npaused = yes\n"
             "cmdline = mode=hvmio port=0x%" PRIx64 " rounds=%" PRIu64 " seed=%" PRIu64 "\n",
             c->seed, elf, c->p[L11_PORT], c->p[L11_PORT], c->p[L11_ROUNDS], c->seed);
    c->student_dom = 0;
}

static bool lab11_guest_alive(const struct lab_case *c, char *why, size_t n)
{
    const char *status = lab_dom_status(c, 1);
    if (!strcmp(status, "crashed"))
        return FAIL("Xen crashed the HVM guest: its device model wrote a state Xen did not "
                    "expect in its slot");
    return true;
}

static bool lab11_notifies(const struct lab_case *c, char *why, size_t n)
{
    if (lab_ports_sum(c, c->student_dom, "sends") == 0)
        return FAIL("the device model sent no event: Xen was never told a request was answered");
    return true;
}

static bool lab11_answered(const struct lab_case *c, char *why, size_t n)
{
    uint64_t rounds, ok;
    if (!lab_console_u64_of(c, 1, "rounds", &rounds) || !lab_console_u64_of(c, 1, "ok", &ok))
        return FAIL("the HVM guest never finished its %" PRIu64 " rounds: one of its accesses "
                    "was never completed",
                    c->p[L11_ROUNDS]);
    if (ok != rounds)
        return FAIL("%" PRIu64 " of %" PRIu64 " reads gave the value written plus one", ok, rounds);
    return true;
}

static const struct lab_check lab11_checks[] = {
    {"finishes", 2, finishes,
     "the device model ends when the HVM guest has shut down (VIRQ_DOM_EXC); it cannot while "
     "the guest's vcpu waits in Xen for an answer."},
    {"guest-not-crashed", 2, lab11_guest_alive,
     "only a slot in STATE_IOREQ_READY holds a request: the port's event also comes for other "
     "reasons (the event of your own bind_interdomain, a notification you already answered). "
     "Answering an empty slot puts it in a state Xen refuses, and Xen crashes the guest "
     "(xen/common/ioreq.c wait_for_io: \"Weird HVM ioreq state transition\")."},
    {"notifies-xen", 2, lab11_notifies,
     "after the answer, notify Xen on the vcpu's port (rt_send): the vcpu waits in Xen until "
     "that event, and only then does Xen read the slot (xen/common/ioreq.c wait_for_io; QEMU: "
     "hw/xen/xen-hvm-common.c cpu_handle_ioreq ends with qemu_xen_evtchn_notify)."},
    {"every-access-answered", 4, lab11_answered,
     "answer in the slot: the data for a read, then, after a release fence, the state "
     "STATE_IORESP_READY, and only then the event. Xen completes the access when it finds "
     "IORESP_READY; a slot left in STATE_IOREQ_INPROCESS keeps the vcpu waiting "
     "(xen/common/ioreq.c wait_for_io: IORESP_READY completes the access, READY and INPROCESS "
     "wait for the next event)."},
};

/* ================================== the table ============================================ */

#define CHECKS(t) t, sizeof(t) / sizeof(t[0])

const struct lab lab_table[] = {
    {1, "the first channel", "[easy] [channels]", 3, lab1_scenario, CHECKS(lab1_checks)},
    {2, "the 2-level upcall handler", "[moderate] [2-level]", 3, lab2_scenario,
     CHECKS(lab2_checks)},
    {3, "masking and the re-raise on unmask", "[easy] [2-level]", 3, lab3_scenario,
     CHECKS(lab3_checks)},
    {4, "coalescing: why sends outnumber deliveries", "[easy] [channels]", 3, lab4_scenario,
     CHECKS(lab4_checks)},
    {5, "VIRQ_TIMER, blocking and set_timer_op", "[easy] [time]", 3, lab5_scenario,
     CHECKS(lab5_checks)},
    {6, "SCHEDOP_poll", "[moderate] [time]", 3, lab6_scenario, CHECKS(lab6_checks)},
    {7, "the lost wake-up", "[hard] [races]", 5, lab7_scenario, CHECKS(lab7_checks)},
    {8, "fairness under a storm", "[hard] [races]", 3, lab8_scenario, CHECKS(lab8_checks)},
    {9, "FIFO priorities", "[moderate] [fifo]", 3, lab9_scenario, CHECKS(lab9_checks)},
    {10, "the port limit and the 3-level ABI", "[easy] [abi]", 3, lab10_scenario,
     CHECKS(lab10_checks)},
    {11, "an ioreq round trip", "[moderate] [ioreq]", 3, lab11_scenario, CHECKS(lab11_checks)},
};

const unsigned lab_count = sizeof(lab_table) / sizeof(lab_table[0]);
