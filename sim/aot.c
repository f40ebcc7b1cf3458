#include "sim/aot.h"

#include <capstone/capstone.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Until per-class costs exist (the timing issue), every instruction costs the profile's
 * per-instruction figure. The classification point is here, in one function. */
static uint32_t insn_cycles(const struct aot_image *a, const cs_insn *insn)
{
    (void)insn;
    return (uint32_t)cost_cycles(a->cost, COST_GUEST_INSN);
}

static bool is_tsc_read(const cs_insn *insn)
{
    return insn->id == X86_INS_RDTSC || insn->id == X86_INS_RDTSCP;
}

const struct aot_tsc_site *aot_tsc_site(const struct aot_image *a, uint64_t addr)
{
    for (unsigned i = 0; i < a->nr_tsc_sites; i++)
        if (a->tsc_site[i].addr == addr)
            return &a->tsc_site[i];
    return NULL;
}

/* 1 if the site is new. */
static unsigned note_tsc_site(struct aot_image *a, uint64_t addr, const cs_insn *insn)
{
    if (aot_tsc_site(a, addr))
        return 0;
    a->tsc_site = realloc(a->tsc_site, (a->nr_tsc_sites + 1) * sizeof(*a->tsc_site));
    a->tsc_site[a->nr_tsc_sites++] =
        (struct aot_tsc_site){addr, (uint8_t)insn->size, insn->id == X86_INS_RDTSCP};
    return 1;
}

/* Linear sweep; an undecodable byte counts as a one-byte instruction start so the sweep
 * resynchronises (padding between functions). */
static int sweep_segment(struct aot_image *a, struct aot_segment *s)
{
    s->prefix = calloc(s->size + 1, sizeof(*s->prefix));
    if (!s->prefix)
        return -1;
    cs_insn *insn = cs_malloc((csh)a->csh);
    const uint8_t *code = s->code;
    size_t left = s->size;
    uint64_t addr = s->base;
    uint32_t n = 0, cyc = 0;
    while (left > 0) {
        uint64_t off = addr - s->base, here = addr;
        size_t len = 1;
        uint32_t c = 0;
        if (cs_disasm_iter((csh)a->csh, &code, &left, &addr, insn)) {
            len = insn->size;
            c = insn_cycles(a, insn);
            if (is_tsc_read(insn))
                note_tsc_site(a, here, insn);
        } else {
            code++, left--, addr++;
        }
        for (size_t k = 0; k < len && off + k < s->size; k++)
            s->prefix[off + k] = (struct aot_prefix){n | (k == 0 ? AOT_INSN_START : 0), cyc};
        n++;
        cyc += c;
    }
    s->prefix[s->size] = (struct aot_prefix){n, cyc};
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
    cs_option(h, CS_OPT_DETAIL, CS_OPT_OFF);
    a->csh = (size_t)h;
    for (unsigned i = 0; i < img->nr_seg; i++) {
        if (!img->seg[i].exec)
            continue;
        struct aot_segment *s = &a->seg[a->nr_seg++];
        s->base = img->seg[i].vaddr;
        s->size = img->seg[i].memsz;
        s->code = ram + s->base;
        if (sweep_segment(a, s) < 0)
            return diag_set(d, "%s: out of memory annotating code", img->path);
    }
    return 0;
}

void aot_free(struct aot_image *a)
{
    for (unsigned i = 0; i < a->nr_seg; i++)
        free(a->seg[i].prefix);
    free(a->tsc_site);
    free(a->slow);
    if (a->csh) {
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
                       uint32_t *insns, uint32_t *cycles)
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
        uint64_t here = pc;
        while (left > 0 && cs_disasm_iter((csh)a->csh, &code, &left, &pc, insn)) {
            b->insns++;
            b->cycles += insn_cycles(a, insn);
            if (is_tsc_read(insn))
                new_sites += note_tsc_site(a, here, insn);
            here = pc;
        }
        cs_free(insn, 1);
        a->slow_used++;
    }
    *insns = b->insns;
    *cycles = b->cycles;
    return new_sites;
}

void aot_range_cost(struct aot_image *a, uint64_t from, uint64_t to, const uint8_t *code,
                    uint32_t *insns, uint32_t *cycles)
{
    *insns = *cycles = 0;
    if (to <= from)
        return;
    if (aot_fast_cost(a, from, (uint32_t)(to - from), insns, cycles))
        return;
    cs_insn *insn = cs_malloc((csh)a->csh);
    size_t left = to - from;
    uint64_t pc = from;
    while (left > 0 && cs_disasm_iter((csh)a->csh, &code, &left, &pc, insn)) {
        (*insns)++;
        *cycles += insn_cycles(a, insn);
    }
    cs_free(insn, 1);
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
