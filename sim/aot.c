#include "sim/aot.h"

#include <capstone/capstone.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Instruction classes (docs/profiles.md). An instruction pays for its memory accesses (a load,
 * a store, both for a read-modify-write) and, when it is more than a simple ALU operation, for
 * its kind too; a locked read-modify-write pays insn_locked alone. */
struct insn_class {
    enum cost_id kind; /* COST_INSN_ALU, _MUL, _DIV, _SERIALIZING, _BRANCH_* */
    bool reads, writes, locked;
    bool conditional; /* a conditional branch: taken or not is decided at run time */
};

static const unsigned x86_serializing[] = {X86_INS_RDTSC,  X86_INS_RDTSCP, X86_INS_CPUID,
                                           X86_INS_LFENCE, X86_INS_MFENCE, X86_INS_SFENCE};
static const unsigned x86_mul[] = {X86_INS_MUL, X86_INS_IMUL, X86_INS_MULX};
static const unsigned x86_div[] = {X86_INS_DIV, X86_INS_IDIV};
static const unsigned x86_stack_store[] = {X86_INS_PUSH, X86_INS_PUSHFQ, X86_INS_CALL};
static const unsigned x86_stack_load[] = {X86_INS_POP, X86_INS_POPFQ, X86_INS_RET, X86_INS_LEAVE};
static const unsigned x86_uncond_branch[] = {X86_INS_JMP, X86_INS_LJMP, X86_INS_CALL, X86_INS_LCALL,
                                             X86_INS_RET};

static bool has_group(const cs_insn *insn, unsigned group)
{
    for (unsigned i = 0; i < insn->detail->groups_count; i++)
        if (insn->detail->groups[i] == group)
            return true;
    return false;
}

static bool insn_in(unsigned id, const unsigned *set, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (set[i] == id)
            return true;
    return false;
}
#define IN(id, set) insn_in((id), (set), sizeof(set) / sizeof((set)[0]))

static void memory_operands(const cs_insn *insn, struct insn_class *k)
{
    const cs_x86 *x = &insn->detail->x86;
    for (unsigned i = 0; i < x->op_count; i++) {
        if (x->operands[i].type != X86_OP_MEM)
            continue;
        k->reads |= (x->operands[i].access & CS_AC_READ) != 0;
        k->writes |= (x->operands[i].access & CS_AC_WRITE) != 0;
    }
    /* xchg with memory is locked even without the prefix */
    k->locked = x->prefix[0] == X86_PREFIX_LOCK || (insn->id == X86_INS_XCHG && k->writes);
    k->writes |= IN(insn->id, x86_stack_store);
    k->reads |= IN(insn->id, x86_stack_load);
}

static struct insn_class classify(const cs_insn *insn)
{
    struct insn_class k = {.kind = COST_INSN_ALU};
    memory_operands(insn, &k);
    if (IN(insn->id, x86_serializing))
        k.kind = COST_INSN_SERIALIZING;
    else if (IN(insn->id, x86_div))
        k.kind = COST_INSN_DIV;
    else if (IN(insn->id, x86_mul))
        k.kind = COST_INSN_MUL;
    else if (IN(insn->id, x86_uncond_branch))
        k.kind = COST_INSN_BRANCH_TAKEN;
    else if (has_group(insn, CS_GRP_JUMP)) {
        k.kind = COST_INSN_BRANCH_NOT_TAKEN;
        k.conditional = true;
    }
    return k;
}

static uint32_t class_cycles(const struct cost_profile *p, const struct insn_class *k)
{
    if (k->locked)
        return (uint32_t)cost_cycles(p, COST_INSN_LOCKED);
    uint64_t c = 0;
    if (k->reads)
        c += cost_cycles(p, COST_INSN_LOAD);
    if (k->writes)
        c += cost_cycles(p, COST_INSN_STORE);
    if (k->kind != COST_INSN_ALU || (!k->reads && !k->writes))
        c += cost_cycles(p, k->kind);
    return (uint32_t)c;
}

static uint32_t insn_cycles(const struct aot_image *a, const cs_insn *insn, bool *conditional)
{
    struct insn_class k = classify(insn);
    if (conditional)
        *conditional = k.conditional;
    return class_cycles(a->cost, &k);
}

/* "load", "store+branch", "cond-branch", "locked", ...: what the cycles of an instruction are
 * made of, for evsim annotate. */
static void class_name(const struct insn_class *k, char *out, size_t len)
{
    static const char *const kinds[COST_IDS] = {
        [COST_INSN_MUL] = "mul",
        [COST_INSN_DIV] = "div",
        [COST_INSN_SERIALIZING] = "serializing",
        [COST_INSN_BRANCH_TAKEN] = "branch",
        [COST_INSN_BRANCH_NOT_TAKEN] = "cond-branch",
    };
    const char *mem = k->reads && k->writes ? "load+store"
                      : k->reads            ? "load"
                      : k->writes           ? "store"
                                            : NULL;
    const char *kind = kinds[k->kind];
    if (k->locked)
        snprintf(out, len, "locked");
    else if (mem && kind)
        snprintf(out, len, "%s+%s", mem, kind);
    else
        snprintf(out, len, "%s", mem ? mem : kind ? kind : "alu");
}

/* Port I/O instructions: the plain forms first, then the string forms. */
static const unsigned x86_port_io[] = {X86_INS_IN,   X86_INS_OUT,   X86_INS_INSB,  X86_INS_INSW,
                                       X86_INS_INSD, X86_INS_OUTSB, X86_INS_OUTSW, X86_INS_OUTSD};
#define NR_PLAIN_PORT_IO 2

/* A string port I/O instruction's element size, from its bytes: capstone (4.0 and 5.0) takes
 * `66 f3 6d`, the rep insw GNU as emits, for rep insd, ignoring an operand-size prefix that
 * comes before the rep prefix. 0x6c and 0x6e move bytes; 0x6d and 0x6f words with an 0x66
 * prefix anywhere among the legacy prefixes, else doublewords. */
static uint8_t string_port_io_size(const cs_insn *insn)
{
    bool opsize = false;
    for (unsigned i = 0; i < insn->size; i++) {
        uint8_t b = insn->bytes[i];
        if (b == 0x66)
            opsize = true;
        else if (b == 0x6c || b == 0x6e)
            return 1;
        else if (b == 0x6d || b == 0x6f)
            return opsize ? 2 : 4;
    }
    return 4;
}

/* The element a port I/O instruction moves: direction, size, and where the port comes from. */
static void port_io_site(const cs_insn *insn, struct aot_site *s)
{
    const cs_x86 *x = &insn->detail->x86;
    s->kind = AOT_SITE_PORT_IO;
    s->in = insn->id == X86_INS_IN || insn->id == X86_INS_INSB || insn->id == X86_INS_INSW ||
            insn->id == X86_INS_INSD;
    s->string = !insn_in(insn->id, x86_port_io, NR_PLAIN_PORT_IO);
    s->rep = s->string && x->prefix[0] == X86_PREFIX_REP;
    if (s->string) {
        s->size = string_port_io_size(insn);
        return;
    }
    /* in: (accumulator, port); out: (port, accumulator) */
    const cs_x86_op *acc = &x->operands[s->in ? 0 : 1], *port = &x->operands[s->in ? 1 : 0];
    s->size = acc->size;
    s->imm_port = port->type == X86_OP_IMM;
    s->port = s->imm_port ? (uint8_t)port->imm : 0;
}

/* Instructions hooked one by one, and which kind of site each is. */
static bool trap_site(const cs_insn *insn, struct aot_site *s)
{
    *s = (struct aot_site){.addr = insn->address, .len = (uint8_t)insn->size};
    if (insn->id == X86_INS_RDTSC || insn->id == X86_INS_RDTSCP) {
        s->kind = insn->id == X86_INS_RDTSCP ? AOT_SITE_RDTSCP : AOT_SITE_RDTSC;
        return true;
    }
    if (insn->id == X86_INS_IRETQ) {
        s->kind = AOT_SITE_IRETQ;
        return true;
    }
    if (!insn_in(insn->id, x86_port_io, sizeof(x86_port_io) / sizeof(x86_port_io[0])))
        return false;
    port_io_site(insn, s);
    return true;
}

const struct aot_site *aot_site_at(const struct aot_image *a, uint64_t addr)
{
    for (unsigned i = 0; i < a->nr_sites; i++)
        if (a->site[i].addr == addr)
            return &a->site[i];
    return NULL;
}

/* 1 if insn is a trap site not seen before. */
static unsigned note_site(struct aot_image *a, const cs_insn *insn)
{
    struct aot_site s;
    if (!trap_site(insn, &s) || aot_site_at(a, s.addr))
        return 0;
    struct aot_site *grown = realloc(a->site, (a->nr_sites + 1) * sizeof(*a->site));
    if (!grown)
        return 0; /* unhooked: it runs as Unicorn runs it */
    a->site = grown;
    a->site[a->nr_sites++] = s;
    return 1;
}

/* Linear sweep; an undecodable byte counts as a one-byte instruction start so the sweep
 * resynchronises (padding between functions). */
static int sweep_segment(struct aot_image *a, struct aot_segment *s)
{
    s->prefix = calloc(s->size + 1, sizeof(*s->prefix));
    /* Most of it is never touched: calloc's untouched pages cost no memory. */
    s->blocks = calloc(s->size, sizeof(*s->blocks));
    if (!s->prefix || !s->blocks)
        return -1;
    cs_insn *insn = cs_malloc((csh)a->csh);
    const uint8_t *code = s->code;
    size_t left = s->size;
    uint64_t addr = s->base;
    uint32_t n = 0, cyc = 0;
    bool after_cond = false; /* the previous instruction was a conditional branch */
    while (left > 0) {
        uint64_t off = addr - s->base;
        size_t len = 1;
        uint32_t c = 0;
        bool cond = false;
        if (cs_disasm_iter((csh)a->csh, &code, &left, &addr, insn)) {
            len = insn->size;
            c = insn_cycles(a, insn, &cond);
            note_site(a, insn);
        } else {
            code++, left--, addr++;
        }
        uint32_t start = AOT_INSN_START | (after_cond ? AOT_AFTER_COND : 0);
        for (size_t k = 0; k < len && off + k < s->size; k++)
            s->prefix[off + k] = (struct aot_prefix){n | (k == 0 ? start : 0), cyc};
        n++;
        cyc += c;
        after_cond = cond;
    }
    s->prefix[s->size] = (struct aot_prefix){n | (after_cond ? AOT_AFTER_COND : 0), cyc};
    cs_free(insn, 1);
    return 0;
}

int aot_annotate(struct aot_image *a, const struct guest_image *img, const uint8_t *ram,
                 const struct cost_profile *cost, struct diag *d)
{
    memset(a, 0, sizeof(*a));
    a->cost = cost;
    csh h;
    if (cs_open(CS_ARCH_X86, CS_MODE_64, &h) != CS_ERR_OK)
        return diag_set(d, "capstone: cannot open an x86-64 disassembler");
    cs_option(h, CS_OPT_DETAIL, CS_OPT_ON); /* operands and groups classify instructions */
    a->csh = (size_t)h;
    for (unsigned i = 0; i < img->nr_seg; i++) {
        if (!img->seg[i].exec)
            continue;
        struct aot_segment *s = &a->seg[a->nr_seg++];
        s->base = img->seg[i].vaddr;
        s->size = img->seg[i].memsz;
        s->code = ram + guest_image_pa(img, s->base);
        if (sweep_segment(a, s) < 0)
            return diag_set(d, "%s: out of memory annotating code", img->path);
    }
    return 0;
}

int aot_share(struct aot_image *dst, const struct aot_image *src)
{
    memset(dst, 0, sizeof(*dst));
    dst->cost = src->cost;
    dst->csh = src->csh;
    dst->nr_seg = src->nr_seg;
    memcpy(dst->seg, src->seg, sizeof(dst->seg));
    dst->borrowed = true;
    if (!src->nr_sites)
        return 0;
    dst->site = malloc(src->nr_sites * sizeof(*dst->site));
    if (!dst->site)
        return -1;
    memcpy(dst->site, src->site, src->nr_sites * sizeof(*dst->site));
    dst->nr_sites = src->nr_sites;
    return 0;
}

void aot_free(struct aot_image *a)
{
    for (unsigned i = 0; i < a->nr_seg && !a->borrowed; i++) {
        free(a->seg[i].prefix);
        free(a->seg[i].blocks);
    }
    free(a->site);
    free(a->slow);
    if (a->csh && !a->borrowed) {
        csh h = (csh)a->csh;
        cs_close(&h);
    }
    memset(a, 0, sizeof(*a));
}

static size_t slow_slot(const struct aot_image *a, uint64_t addr, uint32_t size)
{
    uint64_t k = (addr ^ ((uint64_t)size << 48)) * 0x9e3779b97f4a7c15ull;
    size_t i = (size_t)(k >> 20) & (a->slow_cap - 1);
    while (a->slow[i].size && !(a->slow[i].addr == addr && a->slow[i].size == size))
        i = (i + 1) & (a->slow_cap - 1);
    return i;
}

static void slow_grow(struct aot_image *a)
{
    struct aot_block *old = a->slow;
    size_t old_cap = a->slow_cap;
    a->slow_cap = old_cap ? old_cap * 2 : 256;
    a->slow = calloc(a->slow_cap, sizeof(*a->slow));
    for (size_t i = 0; i < old_cap; i++)
        if (old[i].size)
            a->slow[slow_slot(a, old[i].addr, old[i].size)] = old[i];
    free(old);
}

unsigned aot_slow_cost(struct aot_image *a, uint64_t addr, uint32_t size, const uint8_t *code,
                       uint32_t *insns, uint32_t *cycles, bool *cond_end)
{
    unsigned new_sites = 0;
    if ((a->slow_used + 1) * 2 > a->slow_cap)
        slow_grow(a);
    struct aot_block *b = &a->slow[slow_slot(a, addr, size)];
    if (!b->size) {
        cs_insn *insn = cs_malloc((csh)a->csh);
        size_t left = size;
        uint64_t pc = addr;
        *b = (struct aot_block){.addr = addr, .size = size};
        bool cond = false;
        while (left > 0 && cs_disasm_iter((csh)a->csh, &code, &left, &pc, insn)) {
            b->insns++;
            b->cycles += insn_cycles(a, insn, &cond);
            new_sites += note_site(a, insn);
        }
        b->cond_end = cond;
        cs_free(insn, 1);
        a->slow_used++;
    }
    *insns = b->insns;
    *cycles = b->cycles;
    *cond_end = b->cond_end;
    return new_sites;
}

void aot_range_cost(struct aot_image *a, uint64_t from, uint64_t to, const uint8_t *code,
                    uint32_t *insns, uint32_t *cycles)
{
    *insns = *cycles = 0;
    if (to <= from)
        return;
    bool cond_end;
    if (aot_fast_cost(a, from, (uint32_t)(to - from), insns, cycles, &cond_end))
        return;
    cs_insn *insn = cs_malloc((csh)a->csh);
    size_t left = to - from;
    uint64_t pc = from;
    while (left > 0 && cs_disasm_iter((csh)a->csh, &code, &left, &pc, insn)) {
        (*insns)++;
        *cycles += insn_cycles(a, insn, NULL);
    }
    cs_free(insn, 1);
}

bool aot_port_io(const struct aot_image *a, uint64_t from, uint64_t to, const uint8_t *code,
                 unsigned nth, struct aot_port_io *out)
{
    if (to <= from || !a->csh)
        return false;
    cs_insn *insn = cs_malloc((csh)a->csh);
    size_t left = to - from;
    uint64_t pc = from;
    bool found = false;
    while (!found && left > 0 && cs_disasm_iter((csh)a->csh, &code, &left, &pc, insn)) {
        if (!insn_in(insn->id, x86_port_io, sizeof(x86_port_io) / sizeof(x86_port_io[0])) ||
            nth-- > 0)
            continue;
        found = true;
        out->addr = insn->address;
        out->len = (uint8_t)insn->size;
        out->string = !insn_in(insn->id, x86_port_io, NR_PLAIN_PORT_IO);
        out->rep = out->string && insn->detail->x86.prefix[0] == X86_PREFIX_REP;
    }
    cs_free(insn, 1);
    return found;
}

void aot_disasm_one(const struct aot_image *a, uint64_t addr, const uint8_t *code, size_t len,
                    char *out, size_t outlen)
{
    cs_insn *insn = NULL;
    size_t n = a->csh ? cs_disasm((csh)a->csh, code, len, addr, 1, &insn) : 0;
    if (n == 1)
        snprintf(out, outlen, "%s%s%s", insn->mnemonic, insn->op_str[0] ? " " : "", insn->op_str);
    else
        snprintf(out, outlen, "(undecodable bytes)");
    if (insn)
        cs_free(insn, n);
}

/* ---- evsim annotate ------------------------------------------------------------------------- */

struct listing {
    cs_insn *insn; /* every instruction of a segment, in order */
    size_t n;
    uint8_t *leader; /* per byte: an instruction starting here begins a block */
};

static bool ends_block(const cs_insn *insn)
{
    return has_group(insn, CS_GRP_JUMP) || has_group(insn, CS_GRP_CALL) ||
           has_group(insn, CS_GRP_RET) || has_group(insn, CS_GRP_INT) ||
           has_group(insn, CS_GRP_IRET) || insn->id == X86_INS_SYSCALL;
}

/* Static blocks as a reader sees them: they start at the segment, after every control
 * transfer, and at every direct branch target inside the segment. (Unicorn may cut blocks
 * elsewhere at run time; their cost comes from the same prefix sums.) */
static void find_leaders(const struct aot_segment *s, struct listing *l)
{
    l->leader[0] = 1;
    for (size_t i = 0; i < l->n; i++) {
        const cs_insn *insn = &l->insn[i];
        uint64_t next = insn->address + insn->size - s->base;
        if (ends_block(insn) && next < s->size)
            l->leader[next] = 1;
        const cs_x86 *x = &insn->detail->x86;
        if ((has_group(insn, CS_GRP_JUMP) || has_group(insn, CS_GRP_CALL)) && x->op_count == 1 &&
            x->operands[0].type == X86_OP_IMM) {
            uint64_t target = (uint64_t)x->operands[0].imm - s->base;
            if (target < s->size)
                l->leader[target] = 1;
        }
    }
}

static void print_insn(FILE *out, const struct aot_image *a, const struct guest_image *img,
                       const cs_insn *insn)
{
    struct insn_class k = classify(insn);
    char bytes[3 * 10 + 1] = "", text[240], kind[32];
    for (unsigned b = 0; b < insn->size && b < 10; b++)
        snprintf(bytes + 3 * b, 4, "%02x ", insn->bytes[b]);
    snprintf(text, sizeof(text), "%s%s%s", insn->mnemonic, insn->op_str[0] ? " " : "",
             insn->op_str);
    /* name direct branch targets, as objdump does */
    const cs_x86 *x = &insn->detail->x86;
    const char *target = (has_group(insn, CS_GRP_JUMP) || has_group(insn, CS_GRP_CALL)) &&
                                 x->op_count == 1 && x->operands[0].type == X86_OP_IMM
                             ? guest_image_symbol_at(img, (uint64_t)x->operands[0].imm)
                             : NULL;
    if (target)
        snprintf(text + strlen(text), sizeof(text) - strlen(text), " <%s>", target);
    class_name(&k, kind, sizeof(kind));
    fprintf(out, "    0x%" PRIx64 "  %-30s %-44s %-18s %4u\n", insn->address, bytes, text, kind,
            class_cycles(a->cost, &k));
}

/* One block from instruction i: its header, then its instructions. Returns the next index. */
static size_t print_block(FILE *out, const struct aot_image *a, const struct aot_segment *s,
                          const struct guest_image *img, const struct listing *l, size_t i)
{
    size_t j = i + 1;
    while (j < l->n && !l->leader[l->insn[j].address - s->base])
        j++;
    uint64_t from = l->insn[i].address, to = l->insn[j - 1].address + l->insn[j - 1].size;
    const char *sym = guest_image_symbol_at(img, from);
    if (sym)
        fprintf(out, "\n%s:\n", sym);
    /* int3 padding (the hypercall page, alignment) is shown as one line */
    if (l->insn[i].id == X86_INS_INT3 && j - i > 1) {
        fprintf(out, "  0x%" PRIx64 "..0x%" PRIx64 "  int3 padding (%zu bytes)\n", from, to,
                (size_t)(to - from));
        return j;
    }
    uint32_t insns = 0, cycles = 0;
    bool cond = false;
    aot_fast_cost(a, from, (uint32_t)(to - from), &insns, &cycles, &cond);
    fprintf(out, "  block 0x%" PRIx64 "..0x%" PRIx64 "  %u instructions  %u cycles%s\n", from, to,
            insns, cycles, cond ? "  (+ taken branch if taken)" : "");
    for (size_t k = i; k < j; k++)
        print_insn(out, a, img, &l->insn[k]);
    return j;
}

static int print_segment(FILE *out, const struct aot_image *a, const struct aot_segment *s,
                         const struct guest_image *img)
{
    struct listing l = {0};
    l.n = cs_disasm((csh)a->csh, s->code, s->size, s->base, 0, &l.insn);
    l.leader = calloc(s->size + 1, 1);
    if (!l.leader) {
        cs_free(l.insn, l.n);
        return -1;
    }
    find_leaders(s, &l);
    /* A run of int3 is one block: drop the leaders inside it. */
    for (size_t i = 1; i < l.n; i++)
        if (l.insn[i].id == X86_INS_INT3 && l.insn[i - 1].id == X86_INS_INT3)
            l.leader[l.insn[i].address - s->base] = 0;
    fprintf(out, "\nsegment 0x%" PRIx64 "..0x%" PRIx64 " (%zu instructions)\n", s->base,
            s->base + s->size, l.n);
    for (size_t i = 0; i < l.n;)
        i = print_block(out, a, s, img, &l, i);
    cs_free(l.insn, l.n);
    free(l.leader);
    return 0;
}

int aot_print(FILE *out, const struct aot_image *a, const struct guest_image *img)
{
    const struct cost_profile *p = a->cost;
    fprintf(out, "; %s: ahead-of-time block costs under cpu profile %s (%s, %" PRIu64 " MHz)\n",
            img->path, p->name, p->cpu, p->cpu_khz / 1000);
    fprintf(out,
            "; columns: address, bytes, instruction, class, cycles. A conditional branch "
            "that is taken adds insn_branch_taken (%" PRIu64 ") at run time.\n",
            cost_cycles(p, COST_INSN_BRANCH_TAKEN));
    for (unsigned i = 0; i < a->nr_seg; i++)
        if (print_segment(out, a, &a->seg[i], img) < 0)
            return -1;
    return 0;
}
