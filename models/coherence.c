/* The coherence model: which physical CPUs hold each shared cache line, and what fetching it
 * costs. Lines live in one open-addressing hash table (linear probing, backward-shift deletion,
 * so no tombstones accumulate however many lines are forgotten and re-touched). A slot is a few
 * consecutive uint64_t: the key, the modified owner, and the bitmap of holders sized from
 * nr_pcpus, so that the slot the probe lands on already carries the state the access needs. */
#include <stdlib.h>
#include <string.h>

#include "models/coherence.h"

/* A slot: [SLOT_KEY] line number + 1 (0 marks an empty slot, so calloc'd tables start empty);
 * [SLOT_OWNER] pcpu + 1 of the CPU that holds the line modified, 0 if none;
 * [SLOT_HOLDERS...] one bit per pcpu. */
enum { SLOT_KEY, SLOT_OWNER, SLOT_HOLDERS };

#define EMPTY_KEY 0u
#define NOT_FOUND SIZE_MAX
/* Small enough to cost nothing for a handful of shared pages, a power of two for masking. */
#define MIN_CAPACITY 64u
/* Fibonacci hashing: consecutive lines (the common case: one page's lines) spread evenly. */
#define HASH_MULTIPLIER UINT64_C(0x9E3779B97F4A7C15)

struct coherence {
    unsigned nr_pcpus;
    unsigned cores_per_socket;
    unsigned words;         /* uint64_t words in one holder bitmap */
    unsigned stride;        /* uint64_t words in one slot */
    unsigned hash_shift;    /* 64 - log2(capacity): the hash keeps its best-mixed top bits */
    size_t capacity;        /* slots, a power of two */
    size_t live;            /* occupied slots */
    uint64_t *slots;        /* capacity * stride words */
    uint64_t *socket_masks; /* one holder bitmap per socket: the CPUs on it */
    size_t *socket_mask_at; /* per pcpu, its socket's bitmap in socket_masks: a division on
                               every access costs as much as the rest of the lookup */
    /* The slot of the line looked up last (memo_key EMPTY_KEY: none): Xen touches the same few
     * lines over and over (a busy port's pending word), so most lookups end here. Forgotten
     * whenever a slot moves (resize, deletion). */
    uint64_t memo_key;
    size_t memo_slot;
    struct coh_stats stats;
};

/* ---- slots and the hash table ---- */

static uint64_t *slot_at(const struct coherence *c, size_t i)
{
    return c->slots + i * c->stride;
}

static size_t slot_mask(const struct coherence *c)
{
    return c->capacity - 1;
}

static size_t home_slot(const struct coherence *c, uint64_t key)
{
    return (size_t)((key * HASH_MULTIPLIER) >> c->hash_shift);
}

static unsigned log2_of(size_t power_of_two)
{
    unsigned n = 0;

    while ((size_t)1 << n < power_of_two)
        n++;
    return n;
}

static size_t find_slot(const struct coherence *c, uint64_t key)
{
    for (size_t i = home_slot(c, key);; i = (i + 1) & slot_mask(c)) {
        uint64_t k = slot_at(c, i)[SLOT_KEY];

        if (k == key)
            return i;
        if (k == EMPTY_KEY) /* there is always an empty slot, so the probe ends */
            return NOT_FOUND;
    }
}

static size_t first_empty_from(const struct coherence *c, size_t i)
{
    while (slot_at(c, i)[SLOT_KEY] != EMPTY_KEY)
        i = (i + 1) & slot_mask(c);
    return i;
}

/* Rehash every line into a table of new_capacity slots; on allocation failure the old table
 * stays, still correct, only fuller (or emptier) than intended. */
static bool resize_table(struct coherence *c, size_t new_capacity)
{
    uint64_t *old = c->slots;
    size_t old_capacity = c->capacity;

    if (new_capacity > SIZE_MAX / sizeof(uint64_t) / c->stride)
        return false;
    c->slots = calloc(new_capacity * c->stride, sizeof(uint64_t));
    if (!c->slots) {
        c->slots = old;
        return false;
    }
    c->capacity = new_capacity;
    c->hash_shift = 64 - log2_of(new_capacity);
    c->memo_key = EMPTY_KEY;
    for (size_t i = 0; i < old_capacity; i++) {
        const uint64_t *s = old + i * c->stride;

        if (s[SLOT_KEY] != EMPTY_KEY)
            memcpy(slot_at(c, first_empty_from(c, home_slot(c, s[SLOT_KEY]))), s,
                   c->stride * sizeof(uint64_t));
    }
    free(old);
    return true;
}

/* Grow past three quarters full: linear probing stays short below that. */
static bool table_wants_growth(const struct coherence *c)
{
    return (c->live + 1) * 4 > c->capacity * 3;
}

/* The slot of key, inserting an empty line (no holders) if absent. NOT_FOUND only when the table
 * could not grow and inserting would fill its last empty slot, which probing needs. */
static size_t find_or_insert_slot(struct coherence *c, uint64_t key)
{
    size_t i = home_slot(c, key);
    uint64_t *s;

    for (; slot_at(c, i)[SLOT_KEY] != EMPTY_KEY; i = (i + 1) & slot_mask(c))
        if (slot_at(c, i)[SLOT_KEY] == key)
            return i;
    if (table_wants_growth(c)) {
        if (resize_table(c, c->capacity * 2))
            i = first_empty_from(c, home_slot(c, key));
        else if (c->live + 2 > c->capacity)
            return NOT_FOUND;
    }
    s = slot_at(c, i);
    memset(s, 0, c->stride * sizeof(uint64_t));
    s[SLOT_KEY] = key;
    c->live++;
    return i;
}

/* Backward-shift deletion: pull each later slot of the probe run into the hole when its home
 * allows it, so every remaining line stays reachable from its home without tombstones. */
static void delete_slot(struct coherence *c, size_t hole)
{
    size_t mask = slot_mask(c);

    c->memo_key = EMPTY_KEY;
    for (size_t j = (hole + 1) & mask; slot_at(c, j)[SLOT_KEY] != EMPTY_KEY; j = (j + 1) & mask) {
        size_t home = home_slot(c, slot_at(c, j)[SLOT_KEY]);

        /* j may move back to the hole iff the hole lies on its probe path [home, j]. */
        if (((j - home) & mask) >= ((j - hole) & mask)) {
            memcpy(slot_at(c, hole), slot_at(c, j), c->stride * sizeof(uint64_t));
            hole = j;
        }
    }
    slot_at(c, hole)[SLOT_KEY] = EMPTY_KEY;
    c->live--;
}

/* ---- lines and addresses ---- */

static uint64_t line_key(uintptr_t line)
{
    return (uint64_t)line + 1; /* line <= UINTPTR_MAX / 64, so no overflow and never 0 */
}

static uintptr_t first_line(const volatile void *addr)
{
    return (uintptr_t)addr / COHERENCE_LINE;
}

/* The line of the last byte, the range clamped at the top of the address space. */
static uintptr_t last_line(const volatile void *addr, size_t len)
{
    uintptr_t a = (uintptr_t)addr;
    uintptr_t end = len - 1 > UINTPTR_MAX - a ? UINTPTR_MAX : a + (len - 1);

    return end / COHERENCE_LINE;
}

/* ---- the protocol ---- */

/* The other CPUs that hold a line, by distance. */
struct holders_seen {
    bool same_socket;  /* another CPU of its socket holds it */
    bool other_socket; /* a CPU of another socket holds it */
};

static const uint64_t *socket_mask_of(const struct coherence *c, unsigned pcpu)
{
    return c->socket_masks + c->socket_mask_at[pcpu];
}

static bool holds(const uint64_t *holders, unsigned pcpu)
{
    return (holders[pcpu / 64] >> (pcpu % 64) & 1) != 0;
}

/* The common case of a write, checked without the socket masks: this CPU holds it alone. Its
 * own word first: with up to 64 CPUs that is the only one. Always inline: a memo hit's write
 * runs it on every access to a busy port's word, and GCC would otherwise call it. */
static inline __attribute__((always_inline)) bool
holds_alone(const struct coherence *c, const uint64_t *holders, unsigned pcpu)
{
    unsigned self = pcpu / 64;

    if (holders[self] != UINT64_C(1) << (pcpu % 64))
        return false;
    if (c->words == 1) /* no other word to look at: no loop on the usual machine */
        return true;
    for (unsigned w = 0; w < c->words; w++)
        if (w != self && holders[w])
            return false;
    return true;
}

static struct holders_seen look_at_holders(const struct coherence *c, const uint64_t *holders,
                                           unsigned pcpu)
{
    const uint64_t *local = socket_mask_of(c, pcpu);
    unsigned self_word = pcpu / 64;
    uint64_t self_bit = UINT64_C(1) << (pcpu % 64);
    uint64_t near = 0, far = 0;

    for (unsigned w = 0; w < c->words; w++) {
        uint64_t others = holders[w] & ~(w == self_word ? self_bit : 0);

        near |= others & local[w];
        far |= others & ~local[w];
    }
    return (struct holders_seen){
        .same_socket = near != 0,
        .other_socket = far != 0,
    };
}

/* A read takes the line from the nearest holder; a line nobody holds, or one a core of the
 * socket holds, comes at socket cost. Afterwards the line is shared: no modified owner. */
static enum coh_source read_line(const struct coherence *c, uint64_t *slot, unsigned pcpu)
{
    struct holders_seen seen;

    if (holds(slot + SLOT_HOLDERS, pcpu))
        return COH_HIT; /* a modified owner reading its own line keeps it modified */
    seen = look_at_holders(c, slot + SLOT_HOLDERS, pcpu);
    slot[SLOT_HOLDERS + pcpu / 64] |= UINT64_C(1) << (pcpu % 64);
    slot[SLOT_OWNER] = 0;
    return seen.other_socket && !seen.same_socket ? COH_REMOTE : COH_SOCKET;
}

/* A write or locked access needs the line exclusively: it waits for the farthest holder to
 * invalidate (or supply) it. Afterwards this CPU is the only holder, and the owner. */
static enum coh_source write_line(const struct coherence *c, uint64_t *slot, unsigned pcpu)
{
    struct holders_seen seen;
    enum coh_source source;

    if (holds_alone(c, slot + SLOT_HOLDERS, pcpu)) {
        slot[SLOT_OWNER] = (uint64_t)pcpu + 1; /* exclusive clean becomes modified, silently */
        return COH_HIT;
    }
    seen = look_at_holders(c, slot + SLOT_HOLDERS, pcpu);
    source = seen.other_socket ? COH_REMOTE : COH_SOCKET;
    for (unsigned w = 0; w < c->words; w++) /* inline: usually one word, not worth a call */
        slot[SLOT_HOLDERS + w] = 0;
    slot[SLOT_HOLDERS + pcpu / 64] = UINT64_C(1) << (pcpu % 64);
    slot[SLOT_OWNER] = (uint64_t)pcpu + 1;
    return source;
}

/* The slot of the line, through the memo of the last lookup. */
static size_t line_slot(struct coherence *c, uint64_t key)
{
    size_t i;

    if (key == c->memo_key)
        return c->memo_slot;
    i = find_or_insert_slot(c, key);
    if (i != NOT_FOUND) { /* after the insertion: a resize forgets the memo */
        c->memo_key = key;
        c->memo_slot = i;
    }
    return i;
}

static enum coh_source touch_line(struct coherence *c, uintptr_t line, unsigned pcpu,
                                  enum coh_access kind)
{
    size_t i = line_slot(c, line_key(line));

    if (i == NOT_FOUND) /* out of memory: price it as a line nobody holds, track nothing */
        return COH_SOCKET;
    return kind == COH_READ ? read_line(c, slot_at(c, i), pcpu)
                            : write_line(c, slot_at(c, i), pcpu);
}

/* A hit on the line looked up last, which Xen's work on a busy port makes over and over (its
 * pending word, written again by the CPU that holds it): what touch_line would decide and do,
 * without the table, the loop or the source's lookups. False, with nothing changed, in any
 * other case. */
static bool hit_on_memo(struct coherence *c, uintptr_t line, unsigned pcpu, enum coh_access kind)
{
    uint64_t *slot;

    if (line_key(line) != c->memo_key)
        return false;
    slot = slot_at(c, c->memo_slot);
    if (kind == COH_READ)
        return holds(slot + SLOT_HOLDERS, pcpu);
    if (!holds_alone(c, slot + SLOT_HOLDERS, pcpu))
        return false;
    slot[SLOT_OWNER] = (uint64_t)pcpu + 1; /* as write_line: exclusive clean becomes modified */
    return true;
}

static uint64_t source_cost(const struct cost_profile *p, enum coh_source source)
{
    static const enum cost_id ids[COH_SOURCES] = {
        [COH_HIT] = COST_LINE_LOCAL,
        [COH_SOCKET] = COST_LINE_SOCKET,
        [COH_REMOTE] = COST_LINE_REMOTE,
    };

    return cost_cycles(p, ids[source]);
}

static void count_line(struct coherence *c, const struct cost_profile *p, enum coh_source source,
                       uint64_t cost)
{
    uint64_t local = cost_cycles(p, COST_LINE_LOCAL);

    c->stats.from[source]++;
    if (source != COH_HIT && cost > local)
        c->stats.transfer_cycles += cost - local;
}

/* ---- the interface ---- */

static bool init_socket_masks(struct coherence *c)
{
    unsigned sockets = (c->nr_pcpus + c->cores_per_socket - 1) / c->cores_per_socket;

    c->socket_masks = calloc((size_t)sockets * c->words, sizeof(uint64_t));
    c->socket_mask_at = calloc(c->nr_pcpus, sizeof(size_t));
    if (!c->socket_masks || !c->socket_mask_at)
        return false;
    for (unsigned p = 0; p < c->nr_pcpus; p++) {
        c->socket_mask_at[p] = (size_t)(p / c->cores_per_socket) * c->words;
        c->socket_masks[c->socket_mask_at[p] + p / 64] |= UINT64_C(1) << (p % 64);
    }
    return true;
}

/* Also NULL for a machine without CPUs or sockets without cores: nothing could access it. */
struct coherence *coherence_create(unsigned nr_pcpus, unsigned cores_per_socket)
{
    struct coherence *c;

    if (nr_pcpus == 0 || cores_per_socket == 0)
        return NULL;
    c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->nr_pcpus = nr_pcpus;
    c->cores_per_socket = cores_per_socket;
    c->words = (nr_pcpus + 63) / 64;
    c->stride = SLOT_HOLDERS + c->words;
    c->capacity = MIN_CAPACITY;
    c->hash_shift = 64 - log2_of(MIN_CAPACITY);
    c->slots = calloc((size_t)MIN_CAPACITY * c->stride, sizeof(uint64_t));
    if (!c->slots || !init_socket_masks(c)) {
        coherence_destroy(c);
        return NULL;
    }
    return c;
}

void coherence_destroy(struct coherence *c)
{
    if (!c)
        return;
    free(c->slots);
    free(c->socket_masks);
    free(c->socket_mask_at);
    free(c);
}

/* Every line of [first, last], as the lookup finds it. Out of line: the common case (a hit on
 * the memo) needs none of its registers. */
static __attribute__((noinline)) uint64_t access_lines(struct coherence *c,
                                                       const struct cost_profile *p, unsigned pcpu,
                                                       uintptr_t first, uintptr_t last,
                                                       enum coh_access kind)
{
    uint64_t worst = 0;

    for (uintptr_t line = first;; line++) {
        enum coh_source source = touch_line(c, line, pcpu, kind);
        uint64_t cost = source_cost(p, source);

        count_line(c, p, source, cost);
        if (cost > worst) /* the lines are fetched in parallel: the slowest one decides */
            worst = cost;
        if (line == last)
            break;
    }
    return worst;
}

/* An access of no bytes touches no line and costs nothing. A pcpu outside the machine is a
 * caller's bug that must not corrupt the table: it is ignored, uncounted. */
uint64_t coherence_access(struct coherence *c, const struct cost_profile *p, unsigned pcpu,
                          const volatile void *addr, size_t len, enum coh_access kind)
{
    uintptr_t line, last;

    if (pcpu >= c->nr_pcpus || (unsigned)kind > COH_LOCKED)
        return 0;
    c->stats.accesses[kind]++;
    if (len == 0)
        return 0;
    last = last_line(addr, len);
    line = first_line(addr);
    if (line == last && hit_on_memo(c, line, pcpu, kind)) {
        c->stats.from[COH_HIT]++; /* as count_line: a hit transfers nothing */
        return cost_cycles(p, COST_LINE_LOCAL);
    }
    return access_lines(c, p, pcpu, line, last, kind);
}

/* Delete every line whose key lies in [lo, hi] by one pass over the table. A backward shift
 * fills the current slot from a later one (so the slot is examined again), and fills the
 * holes that follow only from slots further on, which are either not yet visited or, once the
 * probe run wraps past the end, were visited and kept: no line in range is skipped. */
static void forget_by_scan(struct coherence *c, uint64_t lo, uint64_t hi)
{
    for (size_t i = 0; i < c->capacity; i++) {
        uint64_t key;

        while ((key = slot_at(c, i)[SLOT_KEY]) != EMPTY_KEY && key >= lo && key <= hi)
            delete_slot(c, i);
    }
}

static void forget_line_by_line(struct coherence *c, uintptr_t first, uintptr_t last)
{
    for (uintptr_t line = first;; line++) {
        size_t i = find_slot(c, line_key(line));

        if (i != NOT_FOUND)
            delete_slot(c, i);
        if (line == last)
            break;
    }
}

/* Give memory back once the table is mostly empty (a freed domain's pages), down to half full;
 * the gap to the growth threshold keeps access/forget cycles from resizing every time. */
static void shrink_if_sparse(struct coherence *c)
{
    size_t target = c->capacity;

    if (c->live * 8 >= c->capacity)
        return;
    while (target / 2 >= MIN_CAPACITY && (c->live + 1) * 2 <= target / 2)
        target /= 2;
    if (target < c->capacity)
        resize_table(c, target);
}

void coherence_forget(struct coherence *c, const volatile void *addr, size_t len)
{
    uintptr_t first, last;

    if (len == 0 || c->live == 0)
        return;
    first = first_line(addr);
    last = last_line(addr, len);
    /* A range wider than the lines tracked is cheaper to sweep than to look up line by line. */
    if (last - first >= c->live)
        forget_by_scan(c, line_key(first), line_key(last));
    else
        forget_line_by_line(c, first, last);
    shrink_if_sparse(c);
}

const struct coh_stats *coherence_stats(const struct coherence *c)
{
    return &c->stats;
}

size_t coherence_lines(const struct coherence *c)
{
    return c->live;
}

unsigned coherence_socket(const struct coherence *c, unsigned pcpu)
{
    return pcpu / c->cores_per_socket;
}

bool coherence_holds(const struct coherence *c, unsigned pcpu, const volatile void *addr)
{
    size_t i;

    if (pcpu >= c->nr_pcpus)
        return false;
    i = find_slot(c, line_key(first_line(addr)));
    return i != NOT_FOUND && holds(slot_at(c, i) + SLOT_HOLDERS, pcpu);
}

int coherence_owner(const struct coherence *c, const volatile void *addr)
{
    size_t i = find_slot(c, line_key(first_line(addr)));

    return i == NOT_FOUND ? -1 : (int)slot_at(c, i)[SLOT_OWNER] - 1;
}
