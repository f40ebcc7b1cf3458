/* The FIFO ABI (xen/common/event_fifo.c), Xen's side, on the guest's own pages: one 32-bit
 * event word per port (PENDING, MASKED, LINKED, BUSY and a 17-bit LINK to the next port of the
 * queue) in an event array the guest grows page by page, and per vcpu a control block with a
 * READY bitmap and the HEAD of each of 16 priority queues. Xen keeps each queue's tail.
 *
 * Every access to a guest word goes through the guest_* atomics, so the cost and coherence
 * models see Xen's locked operations where Xen makes them. The model is single-threaded: Xen's
 * queue locks are not needed, and the retry loops only run out when a test plays the part of a
 * guest rewriting a word on another CPU (through the memory touch hook). */
#include <stdlib.h>

#include "models/event_fifo.h"
#include "models/hv_sink.h"
#include "models/shared_info.h"

#define EVTCHN_FIFO_BIT(b) (UINT32_C(1) << (b))
/* The tail word's cmpxchg is retried this often after BUSY is set: a guest may only set or
 * clear MASKED, clear PENDING or unlink a LINKED word, and BUSY keeps it from clearing
 * MASKED, so an honest guest cannot make it fail more often (Xen's bound). */
#define EVTCHN_FIFO_LINK_TRIES 4u

/* ---- the event array ---- */

volatile event_word_t *evtchn_fifo_word_from_port(const struct domain *d, uint32_t port)
{
    const struct evtchn_fifo_domain *efd = d->evtchn_fifo;

    /* num_evtchns is raised only after the page is in place (acquire pairs with release). */
    if (!efd || port >= __atomic_load_n(&efd->num_evtchns, __ATOMIC_ACQUIRE))
        return NULL;
    return efd->event_array[port / EVTCHN_FIFO_WORDS_PER_PAGE] + port % EVTCHN_FIFO_WORDS_PER_PAGE;
}

unsigned evtchn_fifo_array_pages(const struct domain *d)
{
    return d->evtchn_fifo ? d->evtchn_fifo->num_evtchns / EVTCHN_FIFO_WORDS_PER_PAGE : 0;
}

const struct evtchn_fifo_stats *evtchn_fifo_stats(const struct domain *d)
{
    return d->evtchn_fifo ? &d->evtchn_fifo->stats : NULL;
}

uint64_t evtchn_fifo_lost_events(const struct domain *d)
{
    return d->evtchn_fifo ? d->evtchn_fifo->stats.lost_events : 0;
}

uint64_t evtchn_fifo_model_bytes(const struct domain *d)
{
    uint64_t bytes;

    if (!d->evtchn_fifo)
        return 0;
    bytes = sizeof(*d->evtchn_fifo);
    for (unsigned i = 0; i < d->max_vcpus; i++)
        if (d->vcpu[i] && d->vcpu[i]->evtchn_fifo)
            bytes += sizeof(*d->vcpu[i]->evtchn_fifo);
    return bytes;
}

/* ---- queues ---- */

static bool evtchn_fifo_has_control_block(const struct vcpu *v)
{
    return v->evtchn_fifo &&
           __atomic_load_n(&v->evtchn_fifo->control_block, __ATOMIC_ACQUIRE) != NULL;
}

/* The queue the port was linked on last (Xen's lastq), NULL if that vcpu has no FIFO state. */
static struct evtchn_fifo_queue *evtchn_fifo_last_queue(struct domain *d, const struct evtchn *chn)
{
    struct vcpu *old_v = domain_vcpu(d, chn->last_vcpu_id);

    if (!old_v || !old_v->evtchn_fifo)
        return NULL;
    return &old_v->evtchn_fifo->queue[chn->last_priority];
}

/* One attempt at pointing the tail word `*w` (as last read) at `link`, only while the word is
 * LINKED: 1 linked, 0 the word is no longer LINKED (the guest consumed it: the queue is empty),
 * -1 the word changed under the cmpxchg (*w is what was found). Clears BUSY with the write. */
static int evtchn_fifo_try_set_link(struct hv *hv, volatile event_word_t *word, event_word_t *w,
                                    uint32_t link)
{
    event_word_t old = *w, new_value;

    if (!(old & EVTCHN_FIFO_BIT(EVTCHN_FIFO_LINKED)))
        return 0;
    new_value = (old & ~(EVTCHN_FIFO_BIT(EVTCHN_FIFO_BUSY) | EVTCHN_FIFO_LINK_MASK)) | link;
    *w = guest_cmpxchg32(hv, word, old, new_value);
    return *w == old ? 1 : -1;
}

/* Xen's evtchn_fifo_set_link: true if the tail word now links to `link` (or Xen gave up, which
 * loses the event: counted), false if the tail was no longer LINKED. After a first failed
 * cmpxchg the word is marked BUSY, which stops the guest unmasking it, and the cmpxchg is
 * retried a bounded number of times. */
static bool evtchn_fifo_set_link(struct domain *d, volatile event_word_t *word, uint32_t link)
{
    struct hv *hv = d->hv;
    event_word_t w = guest_read32(hv, word);
    int ret = evtchn_fifo_try_set_link(hv, word, &w, link);

    if (ret >= 0)
        return ret;
    d->evtchn_fifo->stats.busy_links++;
    (void)guest_test_and_set_bit32(hv, EVTCHN_FIFO_BUSY, word);
    w = guest_read32(hv, word);
    for (unsigned try = 0; try < EVTCHN_FIFO_LINK_TRIES; try++) {
        ret = evtchn_fifo_try_set_link(hv, word, &w, link);
        if (ret == 0)
            (void)guest_test_and_clear_bit32(hv, EVTCHN_FIFO_BUSY, word);
        if (ret >= 0)
            return ret;
    }
    /* Xen: "port not linked". It reports the link as made, so HEAD is not rewritten under a
     * guest that is still walking the queue: only this event is lost. */
    d->evtchn_fifo->stats.lost_events++;
    (void)guest_test_and_clear_bit32(hv, EVTCHN_FIFO_BUSY, word);
    return true;
}

/* Append `port` (already marked LINKED) to q: behind the tail if the tail is still LINKED,
 * else as the new HEAD. True if it went behind an existing event, false if it is the HEAD
 * (the caller then raises READY). */
static bool evtchn_fifo_link_at_tail(struct domain *d, struct evtchn_fifo_queue *q, uint32_t port)
{
    bool linked = false;

    if (q->tail) {
        volatile event_word_t *tail_word = evtchn_fifo_word_from_port(d, q->tail);

        linked = tail_word && evtchn_fifo_set_link(d, tail_word, port);
    }
    if (!linked)
        guest_write32(d->hv, q->head, port);
    q->tail = port;
    return linked;
}

/* Link the port on v's queue for its current priority. The queue it was linked on last may be
 * another (priority or vcpu changed since): if the port was that queue's tail, the queue is
 * empty now (the guest unlinked the port), and its tail must be forgotten so that the next
 * event there does not link behind a word that now belongs to another queue. */
static bool evtchn_fifo_link(struct domain *d, struct vcpu *v, struct evtchn *chn)
{
    struct evtchn_fifo_queue *q = &v->evtchn_fifo->queue[chn->priority];
    struct evtchn_fifo_queue *old_q = evtchn_fifo_last_queue(d, chn);

    if (old_q && old_q->tail == chn->port)
        old_q->tail = 0;
    if (old_q != q) {
        chn->last_vcpu_id = (uint16_t)v->vcpu_id;
        chn->last_priority = q->priority;
    }
    return evtchn_fifo_link_at_tail(d, q, chn->port);
}

/* ---- port operations ---- */

/* In Xen's order: PENDING first; then, if the port is unmasked and was not LINKED, link it
 * (LINKED is set before the link so the guest never sees a link to an unlinked word); a new
 * HEAD sets the priority's READY bit, and the first READY bit raises the upcall. An event for
 * a port beyond the array is saved on the port (fifo_pending) and raised when its page is
 * added. An event for a vcpu without a control block stays PENDING, unlinked: the guest must
 * not unmask before registering it (XSA-107: never touch a control block that is not there). */
static bool evtchn_fifo_set_pending(struct vcpu *v, struct evtchn *chn)
{
    struct domain *d = v->domain;
    struct hv *hv = d->hv;
    volatile event_word_t *word = evtchn_fifo_word_from_port(d, chn->port);
    bool was_pending, linked = true;

    if (!word) {
        if (d->evtchn_fifo) {
            chn->fifo_pending = true;
            d->evtchn_fifo->stats.deferred++;
        }
        return false;
    }
    was_pending = guest_test_and_set_bit32(hv, EVTCHN_FIFO_PENDING, word);
    if (!evtchn_fifo_has_control_block(v))
        d->evtchn_fifo->stats.no_control_block++;
    else if (!guest_test_bit32(hv, EVTCHN_FIFO_MASKED, word) &&
             !guest_test_and_set_bit32(hv, EVTCHN_FIFO_LINKED, word))
        linked = evtchn_fifo_link(d, v, chn);
    if (!linked &&
        !guest_test_and_set_bit32(hv, chn->priority, &v->evtchn_fifo->control_block->ready))
        vcpu_mark_events_pending(v);
    if (!was_pending)
        domain_wake_pollers(d, chn->port);
    return was_pending;
}

/* Only PENDING: a LINKED word stays on its queue; the guest unlinks it and skips it. The
 * saved state of a port beyond the array goes too, so a re-bound port starts clean. */
static void evtchn_fifo_clear_pending(struct domain *d, struct evtchn *chn)
{
    volatile event_word_t *word = evtchn_fifo_word_from_port(d, chn->port);

    chn->fifo_pending = false;
    if (word)
        (void)guest_test_and_clear_bit32(d->hv, EVTCHN_FIFO_PENDING, word);
}

/* EVTCHNOP_unmask: clear MASKED, and link the port if an event arrived while it was masked. */
static void evtchn_fifo_unmask(struct domain *d, struct evtchn *chn)
{
    struct vcpu *v = domain_vcpu(d, chn->notify_vcpu_id);
    volatile event_word_t *word = evtchn_fifo_word_from_port(d, chn->port);

    if (!word || !v)
        return;
    (void)guest_test_and_clear_bit32(d->hv, EVTCHN_FIFO_MASKED, word);
    if (guest_test_bit32(d->hv, EVTCHN_FIFO_PENDING, word))
        (void)evtchn_fifo_set_pending(v, chn);
}

static bool evtchn_fifo_is_pending(const struct domain *d, const struct evtchn *chn)
{
    const volatile event_word_t *word = evtchn_fifo_word_from_port(d, chn->port);

    return word && guest_test_bit32(d->hv, EVTCHN_FIFO_PENDING, word);
}

/* A port the array does not reach counts as masked, as in Xen. */
static bool evtchn_fifo_is_masked(const struct domain *d, const struct evtchn *chn)
{
    const volatile event_word_t *word = evtchn_fifo_word_from_port(d, chn->port);

    return !word || guest_test_bit32(d->hv, EVTCHN_FIFO_MASKED, word);
}

/* A port still LINKED sits on a queue the guest has not walked yet: reusing it now would
 * deliver its first event on the old queue, so allocation passes it by. */
static bool evtchn_fifo_is_busy(const struct domain *d, const struct evtchn *chn)
{
    const volatile event_word_t *word = evtchn_fifo_word_from_port(d, chn->port);

    return word && guest_test_bit32(d->hv, EVTCHN_FIFO_LINKED, word);
}

/* Only future links use the new queue: an event already linked stays where it is, and the
 * next link moves the port (evtchn_fifo_link). */
static int evtchn_fifo_set_priority(struct domain *d, struct evtchn *chn, unsigned priority)
{
    (void)d;
    if (priority > EVTCHN_FIFO_PRIORITY_MIN)
        return -XEN_EINVAL;
    chn->priority = (uint8_t)priority;
    return 0;
}

/* A newly bound port starts at the default priority. Xen also warns when the word is still
 * LINKED (its first event may arrive on the old queue); allocation skips busy ports, so the
 * model only gets here with one the guest relinked itself, and it has no log to warn in. */
static void evtchn_fifo_init(struct domain *d, struct evtchn *chn)
{
    (void)d;
    chn->priority = EVTCHN_FIFO_PRIORITY_DEFAULT;
}

static unsigned evtchn_fifo_max_ports(const struct domain *d)
{
    (void)d;
    return EVTCHN_FIFO_NR_CHANNELS;
}

const struct evtchn_port_ops evtchn_port_ops_fifo = {
    .name = "fifo",
    .init = evtchn_fifo_init,
    .set_pending = evtchn_fifo_set_pending,
    .clear_pending = evtchn_fifo_clear_pending,
    .unmask = evtchn_fifo_unmask,
    .is_pending = evtchn_fifo_is_pending,
    .is_masked = evtchn_fifo_is_masked,
    .is_busy = evtchn_fifo_is_busy,
    .set_priority = evtchn_fifo_set_priority,
    .max_ports = evtchn_fifo_max_ports,
};

/* ---- set-up: control blocks and the event array ---- */

/* Xen's map_guest_page: the whole page must be guest RAM. NULL (-EINVAL) otherwise. */
static void *evtchn_fifo_map_guest_page(struct domain *d, uint64_t gfn, uint64_t *gpa)
{
    return guest_frame_ptr(d, gfn, gpa);
}

/* Queue state for every vcpu, before anything can link on it; heads come with the control
 * block. */
static int evtchn_fifo_setup_vcpus(struct domain *d)
{
    for (unsigned i = 0; i < d->max_vcpus; i++) {
        struct evtchn_fifo_vcpu *efv = calloc(1, sizeof(*efv));

        if (!efv)
            return -XEN_ENOMEM;
        for (unsigned p = 0; p < EVTCHN_FIFO_MAX_QUEUES; p++)
            efv->queue[p].priority = (uint8_t)p;
        d->vcpu[i]->evtchn_fifo = efv;
    }
    return 0;
}

/* Map v's control block. Every queue's head points into it before the block is published
 * (XSA-358): set_pending uses the queues as soon as it sees control_block. */
static int evtchn_fifo_map_control_block(struct vcpu *v, uint64_t gfn, uint32_t offset)
{
    struct evtchn_fifo_vcpu *efv = v->evtchn_fifo;
    struct evtchn_fifo_control_block *cb;
    uint64_t gpa;
    unsigned char *page;

    if (efv->control_block)
        return -XEN_EINVAL;
    page = evtchn_fifo_map_guest_page(v->domain, gfn, &gpa);
    if (!page)
        return -XEN_EINVAL;
    cb = (struct evtchn_fifo_control_block *)(page + offset);
    for (unsigned p = 0; p < EVTCHN_FIFO_MAX_QUEUES; p++)
        efv->queue[p].head = &cb->head[p];
    efv->control_gpa = gpa + offset;
    __atomic_store_n(&efv->control_block, cb, __ATOMIC_RELEASE);
    sink_event_page(v->domain, gpa, HV_PAGE_FIFO_CONTROL, 0);
    return 0;
}

/* Xen's setup_ports: the 2-level pending bits of the ports that existed under 2-level become
 * saved FIFO state (the array is still empty; each is raised when its page is added), and
 * every such port goes to the default priority. */
static void evtchn_fifo_setup_ports(struct domain *d, unsigned prev_evtchns)
{
    const volatile uint64_t *pending2 = shared_info_evtchn_pending(d);

    for (uint32_t port = 1; port < prev_evtchns && port_is_valid(d, port); port++) {
        struct evtchn *chn = evtchn_from_port(d, port);

        if (pending2 && guest_test_bit(d->hv, port, pending2))
            chn->fifo_pending = true;
        chn->priority = EVTCHN_FIFO_PRIORITY_DEFAULT;
    }
}

/* The first init_control: queue state for every vcpu, an empty event array, v's control
 * block, and only then the switch of ABI. Any failure frees all of it and leaves the domain
 * on 2-level, with no pointer left behind, so a retry starts from scratch (XSA-188). */
static int evtchn_fifo_switch_domain(struct domain *d, struct vcpu *v, uint64_t gfn,
                                     uint32_t offset)
{
    unsigned prev_evtchns = domain_max_evtchns(d); /* latched before the ABI changes */
    int rc = evtchn_fifo_setup_vcpus(d);

    if (!rc) {
        d->evtchn_fifo = calloc(1, sizeof(*d->evtchn_fifo));
        rc = d->evtchn_fifo ? 0 : -XEN_ENOMEM;
    }
    if (!rc)
        rc = evtchn_fifo_map_control_block(v, gfn, offset);
    if (rc) {
        evtchn_fifo_destroy(d);
        return rc;
    }
    d->evtchn_port_ops = &evtchn_port_ops_fifo;
    evtchn_fifo_setup_ports(d, prev_evtchns);
    return 0;
}

/* The block must be 8-byte aligned and must not cross the page. */
static bool evtchn_fifo_control_offset_ok(uint32_t offset)
{
    return offset <= XEN_PAGE_SIZE - sizeof(struct evtchn_fifo_control_block) && (offset & 7) == 0;
}

long evtchn_fifo_init_control(struct vcpu *caller, void *arg)
{
    struct evtchn_init_control *ic = arg;
    struct domain *d = caller->domain;
    struct vcpu *v;

    ic->link_bits = EVTCHN_FIFO_LINK_BITS;
    v = domain_vcpu(d, ic->vcpu);
    if (!v)
        return -XEN_ENOENT;
    if (!evtchn_fifo_control_offset_ok(ic->offset))
        return -XEN_EINVAL;
    /* The model's own rule (no Xen had both): one extended ABI at a time. */
    if (d->evtchn_3l)
        return -XEN_EBUSY;
    if (!d->evtchn_fifo)
        return evtchn_fifo_switch_domain(d, v, ic->control_gfn, ic->offset);
    return evtchn_fifo_map_control_block(v, ic->control_gfn, ic->offset);
}

/* Events that arrived for the ports of a page before it was added. */
static void evtchn_fifo_raise_saved(struct domain *d, uint32_t first, uint32_t end)
{
    for (uint32_t port = first; port < end && port_is_valid(d, port); port++) {
        struct evtchn *chn = evtchn_from_port(d, port);
        struct vcpu *v = domain_vcpu(d, chn->notify_vcpu_id);

        if (!chn->fifo_pending || !v)
            continue;
        chn->fifo_pending = false;
        (void)evtchn_fifo_set_pending(v, chn);
    }
}

/* The next page of the array. The page is in place before num_evtchns covers it, so a port
 * is never found with its word missing. */
static long evtchn_fifo_add_page(struct domain *d, uint64_t gfn)
{
    struct evtchn_fifo_domain *efd = d->evtchn_fifo;
    uint32_t first = efd->num_evtchns;
    unsigned slot = first / EVTCHN_FIFO_WORDS_PER_PAGE;
    uint64_t gpa;
    void *page;

    if (slot >= EVTCHN_FIFO_MAX_ARRAY_PAGES) {
        d->stats.limits.pages_full++;
        return -XEN_ENOSPC;
    }
    page = evtchn_fifo_map_guest_page(d, gfn, &gpa);
    if (!page)
        return -XEN_EINVAL;
    efd->event_array[slot] = page;
    efd->array_gpa[slot] = gpa;
    __atomic_store_n(&efd->num_evtchns, first + EVTCHN_FIFO_WORDS_PER_PAGE, __ATOMIC_RELEASE);
    sink_event_page(d, gpa, HV_PAGE_FIFO_ARRAY, slot);
    evtchn_fifo_raise_saved(d, first, first + EVTCHN_FIFO_WORDS_PER_PAGE);
    return 0;
}

/* The FIFO state is looked at here, in the same step that uses it: a reset cannot free it in
 * between (XSA-505: Xen read it outside the event lock). */
long evtchn_fifo_expand_array(struct vcpu *caller, void *arg)
{
    const struct evtchn_expand_array *ea = arg;
    struct domain *d = caller->domain;

    if (!d->evtchn_fifo)
        return -XEN_EOPNOTSUPP;
    return evtchn_fifo_add_page(d, ea->array_gfn);
}

/* Pages are the guest's: dropping Xen's pointers is all the unmapping there is. */
void evtchn_fifo_destroy(struct domain *d)
{
    for (unsigned i = 0; i < d->max_vcpus; i++) {
        struct vcpu *v = d->vcpu[i];

        if (!v)
            continue;
        free(v->evtchn_fifo);
        v->evtchn_fifo = NULL;
    }
    free(d->evtchn_fifo);
    d->evtchn_fifo = NULL;
}
