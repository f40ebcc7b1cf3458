/* evbench: benchmarks of the simulator itself, each against a baseline run in the same process.
 *
 *   evbench hypercall [--n N]   host time per hypercall: N x EVTCHNOP_send on an IPI port
 *                               under evsim, against the same guest loop under plain Unicorn
 *                               with a hypercall hook that only returns 0.
 *   evbench ips [--n N]         guest instructions per second with all accounting on, against
 *                               plain Unicorn (no hooks) running the same guest loop.
 *
 * Prints a table and, with --json FILE, the same as JSON. Timing is host wall-clock
 * (CLOCK_MONOTONIC), the best of --repeat runs of the baseline; evsim runs once (SystemC allows
 * one simulation per process). --only evsim leaves the baselines out and prints evsim's time
 * alone: a profile of that run (perf record) then shows evsim's work only. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unicorn/unicorn.h>

#include "models/xen_public.h"
#include "sim/engine_check.h"
#include "sim/loader.h"
#include "sim/machine.h"

#ifndef EVBENCH_GUEST
#define EVBENCH_GUEST "benchloop.elf"
#endif

struct bench {
    const char *what; /* "hypercall" or "ips" */
    uint64_t n;
    unsigned repeat;
    const char *json;
    const char *guest;
    bool evsim_only; /* --only evsim: no baselines, for profiling */
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void null_hypercall(uc_engine *uc, void *opaque)
{
    uint64_t zero = 0;
    (void)opaque;
    uc_reg_write(uc, UC_X86_REG_RAX, &zero);
}

static void null_block(uc_engine *uc, uint64_t addr, uint32_t size, void *opaque)
{
    (void)uc, (void)addr, (void)size, (void)opaque;
}

/* Plain Unicorn: the guest's loop function called directly, returning to a sentinel; with
 * block_hook, an empty block hook too (what Unicorn's hook mechanism alone costs). */
static double baseline_once(const struct bench *b, uint8_t *ram, uint64_t ram_size, uint64_t fn,
                            bool block_hook)
{
    uc_engine *uc;
    uc_hook h;
    uc_open(UC_ARCH_X86, UC_MODE_64, &uc);
    uc_mem_map_ptr(uc, XEN_PAGE_SIZE, ram_size - XEN_PAGE_SIZE, UC_PROT_ALL, ram + XEN_PAGE_SIZE);
    bool send = !strcmp(b->what, "hypercall");
    if (send)
        uc_hook_add(uc, &h, UC_HOOK_INSN, null_hypercall, NULL, 1, 0, UC_X86_INS_SYSCALL);
    if (block_hook)
        uc_hook_add(uc, &h, UC_HOOK_BLOCK, null_block, NULL, 1, 0);
    uint64_t sentinel = XEN_PAGE_SIZE, rsp = ram_size - 4096 - 8;
    memcpy(ram + rsp, &sentinel, 8);
    uint64_t port = 1, rdi = send ? port : b->n, rsi = b->n;
    uc_reg_write(uc, UC_X86_REG_RSP, &rsp);
    uc_reg_write(uc, UC_X86_REG_RDI, &rdi);
    uc_reg_write(uc, UC_X86_REG_RSI, &rsi);
    double t0 = now_s();
    uc_err err = uc_emu_start(uc, fn, sentinel, 0, 0);
    double t = now_s() - t0;
    if (err != UC_ERR_OK)
        fprintf(stderr, "evbench: baseline stopped early: %s\n", uc_strerror(err));
    uc_close(uc);
    return t;
}

/* Best of b->repeat runs: [0] plain, [1] plain with an empty block hook. */
static int baseline(const struct bench *b, double best[2])
{
    struct guest_image img;
    struct diag d;
    if (guest_image_load(b->guest, &img, &d) < 0) {
        fprintf(stderr, "evbench: %s\n", d.msg);
        return -1;
    }
    const char *sym = !strcmp(b->what, "hypercall") ? "bench_send_loop" : "bench_spin_loop";
    uint64_t fn = guest_image_symbol(&img, sym), ram_size = 4u << 20;
    uint8_t *ram = aligned_alloc(XEN_PAGE_SIZE, ram_size);
    memset(ram, 0, ram_size);
    if (!fn || guest_image_place(&img, ram, ram_size, &d) < 0) {
        fprintf(stderr, "evbench: %s: no symbol %s or image does not fit\n", b->guest, sym);
        return -1;
    }
    for (unsigned k = 0; k < 2; k++) {
        best[k] = 1e30;
        for (unsigned i = 0; i < b->repeat; i++) {
            double t = baseline_once(b, ram, ram_size, fn, k == 1);
            if (t < best[k])
                best[k] = t;
        }
    }
    free(ram);
    guest_image_free(&img);
    return 0;
}

static int under_evsim(const struct bench *b, double *secs, uint64_t *insns)
{
    struct scenario *sc = calloc(1, sizeof(*sc));
    struct machine *m = calloc(1, sizeof(*m));
    struct diag d;
    FILE *sink = fopen("/dev/null", "w");
    int ok = -1;
    scenario_defaults(sc);
    snprintf(sc->source, sizeof(sc->source), "evbench");
    sc->run_ns = 3600ull * 1000000000ull;
    char cmdline[64];
    snprintf(cmdline, sizeof(cmdline), "mode=%s n=%" PRIu64,
             !strcmp(b->what, "hypercall") ? "send" : "spin", b->n);
    if (scenario_add_guest(sc, b->guest, cmdline, &d) < 0 ||
        machine_build(m, sc, ".", sink, &d) < 0) {
        fprintf(stderr, "evbench: %s\n", d.msg);
        goto out;
    }
    double t0 = now_s();
    machine_run(m);
    *secs = now_s() - t0;
    *insns = m->dom[0].vcpu[0].insns;
    ok = m->dom[0].status == SD_POWEROFF ? 0 : -1;
    if (ok < 0)
        fprintf(stderr, "evbench: the guest did not power off\n");
out:
    machine_free(m);
    free(m);
    free(sc);
    fclose(sink);
    return ok;
}

static void report(const struct bench *b, const double base2[2], double sim, uint64_t insns,
                   const struct engine_check *lib)
{
    bool hc = !strcmp(b->what, "hypercall");
    double base = base2[0], hooked = base2[1];
    double per_base = base / (double)b->n * 1e9, per_sim = sim / (double)b->n * 1e9;
    double per_hooked = hooked / (double)b->n * 1e9;
    char out[1024], head[128];
    snprintf(head, sizeof(head), "\"unicorn\": \"%s\", \"unicorn_usable\": %s, ", lib->version_text,
             lib->failures[0] ? "false" : "true");
    if (hc)
        snprintf(out, sizeof(out),
                 "{%s\"benchmark\": \"hypercall\", \"n\": %" PRIu64 ", "
                 "\"evsim_ns_per_hypercall\": %.1f, \"plain_unicorn_ns_per_hypercall\": %.1f, "
                 "\"plain_with_empty_block_hook_ns\": %.1f, \"ratio_evsim_over_plain\": %.3f}",
                 head, b->n, per_sim, per_base, per_hooked, per_sim / per_base);
    else
        snprintf(out, sizeof(out),
                 "{%s\"benchmark\": \"ips\", \"n\": %" PRIu64 ", \"guest_instructions\": %" PRIu64
                 ", \"evsim_mips\": %.1f, \"plain_unicorn_mips\": %.1f, "
                 "\"plain_with_empty_block_hook_mips\": %.1f, \"ratio_evsim_over_plain\": %.3f}",
                 head, b->n, insns, (double)insns / sim / 1e6, (double)insns / base / 1e6,
                 (double)insns / hooked / 1e6, base / sim);
    if (hc)
        printf("hypercall: evsim %.1f ns/hypercall, plain Unicorn %.1f ns/hypercall "
               "(ratio %.2f; plain with an empty block hook %.1f ns), n=%" PRIu64 "\n",
               per_sim, per_base, per_sim / per_base, per_hooked, b->n);
    else
        printf("ips: evsim %.1f M guest insns/s, plain Unicorn %.1f M/s (evsim at %.0f%% of "
               "plain; plain with an empty block hook %.1f M/s), %" PRIu64 " instructions\n",
               (double)insns / sim / 1e6, (double)insns / base / 1e6, 100.0 * base / sim,
               (double)insns / hooked / 1e6, insns);
    if (b->json) {
        FILE *f = fopen(b->json, "w");
        if (f) {
            fprintf(f, "%s\n", out);
            fclose(f);
        }
    }
}

static int usage(void)
{
    fprintf(stderr, "Usage: evbench hypercall|ips [--n N] [--repeat R] [--json FILE] "
                    "[--guest ELF] [--only evsim]\n");
    return 2;
}

int main(int argc, char **argv)
{
    struct bench b = {.n = 1000000, .repeat = 3, .guest = EVBENCH_GUEST};
    if (argc < 2 || (strcmp(argv[1], "hypercall") && strcmp(argv[1], "ips")))
        return usage();
    b.what = argv[1];
    if (!strcmp(b.what, "ips"))
        b.n = 50000000;
    for (int i = 2; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--n"))
            b.n = strtoull(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "--repeat"))
            b.repeat = (unsigned)strtoul(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "--json"))
            b.json = argv[i + 1];
        else if (!strcmp(argv[i], "--guest"))
            b.guest = argv[i + 1];
        else if (!strcmp(argv[i], "--only") && !strcmp(argv[i + 1], "evsim"))
            b.evsim_only = true;
        else
            return usage();
    }
    if (!b.n || !b.repeat || (argc % 2) != 0)
        return usage();
    double base[2], sim;
    uint64_t insns;
    /* Measured on any library (to compare them), but said when evsim itself would refuse it. */
    struct engine_check lib;
    if (engine_check_run(&lib) < 0)
        fprintf(stderr, "evbench: evsim would refuse Unicorn %s: %s\n", lib.version_text,
                lib.failures);
    printf("unicorn %s\n", lib.version_text);
    if (b.evsim_only) {
        if (under_evsim(&b, &sim, &insns) < 0)
            return 1;
        printf("%s: evsim alone %.1f ns per loop iteration, n=%" PRIu64 "\n", b.what,
               sim / (double)b.n * 1e9, b.n);
        return 0;
    }
    if (baseline(&b, base) < 0 || under_evsim(&b, &sim, &insns) < 0)
        return 1;
    report(&b, base, sim, insns, &lib);
    return 0;
}
