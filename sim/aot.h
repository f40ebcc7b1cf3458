/* Ahead-of-time annotation of guest code: every executable segment is decoded once with capstone
 * when the guest is loaded. Per byte offset we keep prefix sums of instruction counts and cycles,
 * so the cost of any block Unicorn executes, [addr, addr + size), is two subtractions at run time
 * whatever its boundaries. Code the linear sweep could not decode (a block starting inside what
 * the sweep took for another instruction) is decoded on first sight and cached. */
#ifndef EVSIM_SIM_AOT_H
#define EVSIM_SIM_AOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "models/cost.h"
#include "sim/loader.h"

/* Prefix sums at one byte offset, side by side so that a block's cost is two cache lines. */
struct aot_prefix {
    uint32_t insns;  /* instructions starting before this byte; bit 31: one starts here */
    uint32_t cycles; /* their cycles */
};
#define AOT_INSN_START 0x80000000u
#define AOT_AFTER_COND 0x40000000u /* the instruction ending here is a conditional branch */
#define AOT_INSN_COUNT 0x3fffffffu

/* What the next block needs to know of a block: where it ends and what a taken branch there
 * adds. struct sim_vcpu keeps the running block's (blk), copied from its cost entry in one
 * 16-byte move on the block hook's path. */
struct aot_block_tail {
    uint64_t end;   /* the address just past it: a block starting there is its fall-through */
    uint32_t size;  /* 0: no block kept in this entry yet */
    uint32_t taken; /* cycles a taken branch at its end adds (0: it ends with no conditional) */
};

/* A block's cost as the prefix sums give it, kept per start offset the first time a block
 * starting there runs (size 0: none yet), so that the block hook reads one entry instead of
 * two prefix sums. A block of another size at the same start is costed from the prefix sums. */
struct aot_block_cost {
    struct aot_block_tail tail;
    uint32_t insns, cycles;
};

struct aot_segment {
    uint64_t base, size;
    const uint8_t *code;           /* the bytes as loaded (guest RAM) */
    struct aot_prefix *prefix;     /* size + 1 entries */
    struct aot_block_cost *blocks; /* size entries, filled in at run time (sim/vcpu.c) */
};

struct aot_block {
    uint64_t addr;
    uint32_t size, insns, cycles;
    bool cond_end; /* ends with a conditional branch */
};

enum aot_site_kind {
    AOT_SITE_RDTSC,   /* rdtsc: the simulated TSC */
    AOT_SITE_RDTSCP,  /* rdtscp: the TSC and IA32_TSC_AUX */
    AOT_SITE_PORT_IO, /* in, out, ins, outs: an HVM guest's access an emulator may take */
    AOT_SITE_IRETQ,   /* iretq: an HVM guest's upcall handler returns */
};

struct aot_site {
    uint64_t addr;
    uint8_t len;
    uint8_t kind; /* enum aot_site_kind */
    /* AOT_SITE_PORT_IO: the access of one element */
    bool in;       /* in, ins (else out, outs) */
    bool string;   /* ins, outs: memory at rdi (ins) or rsi (outs), stepped by df */
    bool rep;      /* with a rep prefix: rcx elements */
    bool imm_port; /* the port is the immediate port (else dx) */
    uint8_t size;  /* 1, 2 or 4 bytes */
    uint8_t port;  /* when imm_port */
};

struct aot_image {
    struct aot_segment seg[GUEST_MAX_SEGMENTS];
    unsigned nr_seg;
    /* Trap sites: instructions the simulator hooks one by one (a code hook has the exact
     * address, which Unicorn's other hooks lack), found at load time or on first sight. */
    struct aot_site *site;
    unsigned nr_sites;
    /* blocks decoded on first sight (open addressing on addr ^ size) */
    struct aot_block *slow;
    size_t slow_cap, slow_used;
    const struct cost_profile *cost;
    size_t csh;    /* capstone handle */
    bool borrowed; /* seg[].prefix and csh are another image's (aot_share) */
};

/* Decode the executable segments of img as placed in ram. 0 or -1 with d set. */
int aot_annotate(struct aot_image *a, const struct guest_image *img, const uint8_t *ram,
                 const struct cost_profile *cost, struct diag *d);
/* dst annotates what src does (another domain running the same program, placed the same
 * way): src's decoded segments and disassembler are borrowed (src must outlive dst), its sites
 * copied (each domain may find more on first sight), its first-sight cache not. 0, or -1 when
 * out of memory. */
int aot_share(struct aot_image *dst, const struct aot_image *src);
void aot_free(struct aot_image *a);

/* Instructions and cycles of the block [addr, addr + size), and whether it ends with a
 * conditional branch (whose taken cost is known only when the next block starts). */
static inline bool aot_fast_cost(const struct aot_image *a, uint64_t addr, uint32_t size,
                                 uint32_t *insns, uint32_t *cycles, bool *cond_end)
{
    for (unsigned i = 0; i < a->nr_seg; i++) {
        const struct aot_segment *s = &a->seg[i];
        uint64_t off = addr - s->base;
        if (off < s->size && size <= s->size - off && (s->prefix[off].insns & AOT_INSN_START)) {
            const struct aot_prefix *from = &s->prefix[off], *to = &s->prefix[off + size];
            *insns = (to->insns & AOT_INSN_COUNT) - (from->insns & AOT_INSN_COUNT);
            *cycles = to->cycles - from->cycles;
            *cond_end = (to->insns & AOT_AFTER_COND) != 0;
            return true;
        }
    }
    return false;
}
/* Slow path for blocks outside the sweep; `code` points at the block's bytes. Returns how many
 * trap sites the block adds to a->site (they are appended; the caller hooks them). */
unsigned aot_slow_cost(struct aot_image *a, uint64_t addr, uint32_t size, const uint8_t *code,
                       uint32_t *insns, uint32_t *cycles, bool *cond_end);
/* The trap site at addr, or NULL. */
const struct aot_site *aot_site_at(const struct aot_image *a, uint64_t addr);

/* Instructions and cycles of [from, to), from instruction boundaries: from the prefix sums
 * inside a segment, else by decoding `code` (the bytes at from). */
void aot_range_cost(struct aot_image *a, uint64_t from, uint64_t to, const uint8_t *code,
                    uint32_t *insns, uint32_t *cycles);

/* evsim annotate: every static block of the executable segments with its instructions, their
 * classes and cycles, under symbols from the image. 0 or -1 (out of memory). */
int aot_print(FILE *out, const struct aot_image *a, const struct guest_image *img);

/* A port I/O instruction: in, out, or a string form (ins, outs), with or without rep. */
struct aot_port_io {
    uint64_t addr;
    uint8_t len;
    bool string, rep;
};
/* The nth (from 0) port I/O instruction in [from, to), decoded from `code` (the bytes at from).
 * Unicorn's I/O hooks do not say which instruction is running (RIP is the block's start), but
 * they run in program order, so the nth hook of a block is its nth I/O instruction. */
bool aot_port_io(const struct aot_image *a, uint64_t from, uint64_t to, const uint8_t *code,
                 unsigned nth, struct aot_port_io *out);

/* "mnemonic operands" of the instruction at addr, from bytes `code` (len available). */
void aot_disasm_one(const struct aot_image *a, uint64_t addr, const uint8_t *code, size_t len,
                    char *out, size_t outlen);

#endif
