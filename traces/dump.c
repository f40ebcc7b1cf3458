/* One line per record: time since the first record, CPU, name, decoded payload. The payload
 * decoders are chosen by a table of event ids; records without one show their words in hex. */
#include "traces/dump.h"

#include <inttypes.h>
#include <string.h>

#include "traces/summary.h"

typedef void (*decode_fn)(FILE *out, const struct xt_rec *r);

static void dv(FILE *out, uint32_t w)
{
    fprintf(out, "d%uv%u", w >> 16, w & 0xffff);
}

static void words(FILE *out, const struct xt_rec *r, uint32_t from)
{
    for (uint32_t i = from; i < r->n; i++)
        fprintf(out, " 0x%08x", r->d[i]);
}

static void decode_dom_vcpu(FILE *out, const struct xt_rec *r)
{
    if (r->n >= 2)
        fprintf(out, " d%uv%u", r->d[0], r->d[1]);
    words(out, r, 2);
}

static void decode_vmexit(FILE *out, const struct xt_rec *r)
{
    uint64_t rip =
        r->n >= 3 && (r->event & TRC_64_FLAG) ? r->d[1] | (uint64_t)r->d[2] << 32 : r->d[1];

    if (r->n < 2)
        return words(out, r, 0);
    fprintf(out, " %s [%u] rip 0x%" PRIx64, xt_exit_reason_name(r->event, r->d[0]), r->d[0], rip);
}

static void decode_io(FILE *out, const struct xt_rec *r)
{
    bool a64 = (r->event & TRC_64_FLAG) != 0;
    uint64_t addr = a64 && r->n >= 2 ? r->d[0] | (uint64_t)r->d[1] << 32 : r->d[0];
    uint32_t data_at = a64 ? 2 : 1;

    if (r->n < 1)
        return;
    fprintf(out, " 0x%" PRIx64, addr);
    if (r->n > data_at)
        fprintf(out, " data 0x%x", r->d[data_at]);
}

static void decode_vector(FILE *out, const struct xt_rec *r)
{
    if (r->n >= 1)
        fprintf(out, " vector %u", r->d[0]);
    words(out, r, 1);
}

static void decode_vmmcall(FILE *out, const struct xt_rec *r)
{
    if (r->n >= 1)
        fprintf(out, " %s [%u]", xt_hypercall_name(r->d[0]), r->d[0]);
}

/* Word 0: the number, and two bits per argument saying whether it follows (32 or 64 bits). */
static void decode_pv_hypercall(FILE *out, const struct xt_rec *r)
{
    uint32_t op, w = 1;

    if (r->n < 1)
        return;
    op = r->d[0] & ~TRC_PV_HYPERCALL_V2_ARG_MASK;
    fprintf(out, " %s [%u]", xt_hypercall_name(op), op);
    for (unsigned i = 0; i < 6 && w < r->n; i++) {
        unsigned kind = (r->d[0] >> (20 + 2 * i)) & 3;

        if (kind == 1)
            fprintf(out, " a%u=0x%x", i, r->d[w++]);
        else if (kind == 2 && w + 1 < r->n) {
            fprintf(out, " a%u=0x%" PRIx64, i, r->d[w] | (uint64_t)r->d[w + 1] << 32);
            w += 2;
        }
    }
}

static void decode_runstate(FILE *out, const struct xt_rec *r)
{
    if (r->n < 1)
        return;
    fprintf(out, " ");
    dv(out, r->d[0]);
    if ((r->event & 0xf) == 1)
        fprintf(out, " %s->%s", xt_runstate_name((r->event >> 8) & 0xf),
                xt_runstate_name((r->event >> 4) & 0xf));
}

static void decode_lost(FILE *out, const struct xt_rec *r)
{
    if (r->n < 4)
        return words(out, r, 0);
    fprintf(out, " %u records, first by d%uv%u at tsc %" PRIu64, r->d[0], r->d[1] & 0xffff,
            r->d[1] >> 16, r->d[2] | (uint64_t)r->d[3] << 32);
}

static void decode_cpu_hz(FILE *out, const struct xt_rec *r)
{
    if (r->n >= 2)
        fprintf(out, " %" PRIu64 " Hz", r->d[0] | (uint64_t)r->d[1] << 32);
}

/* A piece of the recorded scenario: its part and its text, escaped. */
static void decode_scenario(FILE *out, const struct xt_rec *r)
{
    char text[25];
    unsigned n = r->n >= 1 ? r->d[0] : 0;
    if (r->n < 7 || n > 24)
        return;
    memcpy(text, &r->d[1], n);
    fprintf(out, " \"");
    for (unsigned i = 0; i < n; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c == '\n')
            fputs("\\n", out);
        else if (c == '"' || c == '\\')
            fprintf(out, "\\%c", c);
        else if (c < 0x20 || c >= 0x7f)
            fprintf(out, "\\x%02x", c);
        else
            fputc(c, out);
    }
    fputc('"', out);
}

/* evsim records whose word 0 is a vcpu and whose other words are plain numbers. */
static void decode_evsim(FILE *out, const struct xt_rec *r)
{
    if (r->n < 1)
        return;
    fprintf(out, " ");
    dv(out, r->d[0]);
    for (uint32_t i = 1; i < r->n; i++)
        fprintf(out, " %u", r->d[i]);
}

struct decoder {
    uint32_t event;
    decode_fn fn;
};

static const struct decoder decoders[] = {
    {TRC_LOST_RECORDS, decode_lost},
    {TRC_SCHED_SLEEP, decode_dom_vcpu},
    {TRC_SCHED_WAKE, decode_dom_vcpu},
    {TRC_SCHED_YIELD, decode_dom_vcpu},
    {TRC_SCHED_BLOCK, decode_dom_vcpu},
    {TRC_HVM_VMX_EXIT, decode_vmexit},
    {TRC_HVM_VMX_EXIT64, decode_vmexit},
    {TRC_HVM_SVM_EXIT, decode_vmexit},
    {TRC_HVM_SVM_EXIT64, decode_vmexit},
    {TRC_HVM_IOPORT_READ, decode_io},
    {TRC_HVM_IOPORT_WRITE, decode_io},
    {TRC_HVM_IOMEM_READ, decode_io},
    {TRC_HVM_IOMEM_WRITE, decode_io},
    {TRC_HVM_IOMEM_READ + TRC_64_FLAG, decode_io},
    {TRC_HVM_IOMEM_WRITE + TRC_64_FLAG, decode_io},
    {TRC_HVM_INJ_VIRQ, decode_vector},
    {TRC_HVM_INTR, decode_vector},
    {TRC_HVM_VMMCALL, decode_vmmcall},
    {TRC_PV_HYPERCALL_V2, decode_pv_hypercall},
    {TRC_PV_HYPERCALL_SUBCALL, decode_pv_hypercall},
    {TRC_EVSIM_CPU_HZ, decode_cpu_hz},
    {TRC_EVSIM_SCENARIO, decode_scenario},
};

static decode_fn decoder_of(uint32_t event)
{
    if ((event & 0xfffff00eu) == TRC_SCHED_MIN)
        return decode_runstate; /* RUNSTATE_CHANGE (any states) and CONTINUE_RUNNING */
    for (size_t i = 0; i < sizeof(decoders) / sizeof(decoders[0]); i++)
        if (decoders[i].event == event)
            return decoders[i].fn;
    if (xt_class_of(event) == XT_CLS_EVSIM && event != TRC_EVSIM_DOMAIN)
        return decode_evsim;
    return NULL;
}

void xt_dump_record(FILE *out, const struct xt_rec *r, uint64_t base_tsc, uint64_t cpu_hz)
{
    uint64_t dt = r->tsc > base_tsc ? r->tsc - base_tsc : 0;
    uint64_t ns = (uint64_t)((double)dt * 1e9 / (double)cpu_hz);
    const char *name = xt_event_name(r->event);
    decode_fn fn = decoder_of(r->event);

    fprintf(out, "%4" PRIu64 ".%09" PRIu64 " cpu%-2u ", ns / 1000000000u, ns % 1000000000u, r->cpu);
    if (name && (r->event & 0xfffff000u) == TRC_SCHED_CLASS)
        fprintf(out, "%s_%u", name, r->event & ((1u << TRC_SCHED_ID_SHIFT) - 1));
    else if (name)
        fprintf(out, "%s", name);
    else
        fprintf(out, "unknown(0x%07x)", r->event);
    if (fn)
        fn(out, r);
    else
        words(out, r, 0);
    fputc('\n', out);
}
