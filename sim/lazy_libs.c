/* Unicorn, Capstone and the SystemC kernel, loaded when evsim first needs them rather than when
 * the program starts.
 *
 * Unicorn is one 20 MB library holding every architecture QEMU emulates; loading it and applying
 * its 125,000 relocations costs a process about 10 ms, most of it in page faults, before main
 * runs, and Capstone a few more; SystemC and the C++ runtime cost about 4 ms more, much of it
 * SystemC's static initialisers. `evsim replay`, `trace`, `quiz` and the others run no guest code
 * and decode none, `trace` and `quiz` simulate nothing either, and a replay of a small scenario
 * or a summary of a small recording spent most of its time starting. The evsim
 * program therefore links neither: it links these functions, which have the libraries' names
 * and prototypes, and the first call that needs a library opens it and forwards every call
 * from then on through a table of its functions. It is looked for where the dynamic loader
 * looks for a linked library: in LD_LIBRARY_PATH's folders, then in the folder of the one
 * evsim was built against (the run path), then beside the program (a build tree moved whole),
 * then by its soname in the system's folders. dlopen
 * alone would not do: it searches the run path of the object that calls it, and a sanitizer's
 * interceptor is that object. A call then costs what a call through the PLT costs. The test
 * programs and bench/evbench link the libraries themselves.
 *
 * Only the uc_ctl controls and uc_hook_add types evsim uses are forwarded with their extra
 * arguments (a variadic call cannot be passed on whole); any other is a programming error,
 * caught by the tests. */
#include <dlfcn.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <capstone/capstone.h>
#include <unicorn/unicorn.h>

#include "sim/kernel.h"

#ifndef EVSIM_UNICORN_SONAME
#define EVSIM_UNICORN_SONAME "libunicorn.so.2"
#endif
#ifndef EVSIM_UNICORN_LIBDIR
#define EVSIM_UNICORN_LIBDIR ""
#endif
#ifndef EVSIM_CAPSTONE_SONAME
#define EVSIM_CAPSTONE_SONAME "libcapstone.so"
#endif
#ifndef EVSIM_CAPSTONE_LIBDIR
#define EVSIM_CAPSTONE_LIBDIR ""
#endif
#ifndef EVSIM_KERNEL_SONAME
#define EVSIM_KERNEL_SONAME "libevsim-kernel.so"
#endif
#ifndef EVSIM_KERNEL_LIBDIR
#define EVSIM_KERNEL_LIBDIR ""
#endif

static void *lazy_open_in(const char *dir, size_t len, const char *soname)
{
    char path[4096];
    if (!len ||
        (size_t)snprintf(path, sizeof(path), "%.*s/%s", (int)len, dir, soname) >= sizeof(path))
        return NULL;
    return dlopen(path, RTLD_NOW | RTLD_LOCAL);
}

/* A missing or broken library is not something evsim can run without: it says so and exits,
 * as the dynamic loader would have when the program started. */
static void *lazy_open(const char *soname, const char *libdir)
{
    void *lib = NULL;
    for (const char *p = getenv("LD_LIBRARY_PATH"); p && *p && !lib;) {
        size_t len = strcspn(p, ":;");
        lib = lazy_open_in(p, len, soname);
        p += len + (p[len] != '\0');
    }
    if (!lib)
        lib = lazy_open_in(libdir, strlen(libdir), soname);
    if (!lib) {
        /* a build tree moved whole: the kernel library sits beside the program */
        char exe[4096];
        ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
        exe[n > 0 ? n : 0] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash)
            lib = lazy_open_in(exe, (size_t)(slash - exe), soname);
    }
    if (!lib)
        lib = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        fprintf(stderr, "evsim: cannot load %s: %s\n", soname, dlerror());
        exit(EXIT_FAILURE);
    }
    return lib;
}

static void *lazy_sym(void *lib, const char *soname, const char *name)
{
    void *p = dlsym(lib, name);
    if (!p) {
        fprintf(stderr, "evsim: %s lacks %s: not the library evsim was built against\n", soname,
                name);
        exit(EXIT_FAILURE);
    }
    return p;
}

/* Each library's table has a field per function (LAZY_FIELD), set from the library when it is
 * loaded (LAZY_RESOLVE, with LAZY_TABLE and LAZY_SONAME naming the table and the library; an
 * object pointer becomes a function pointer the way POSIX gives). */
#define LAZY_FIELD(name, ret, params) ret(*name) params;
#define LAZY_RESOLVE(name, ret, params)                                                            \
    *(void **)&LAZY_TABLE.name = lazy_sym(lib, LAZY_SONAME, #name);

/* ---- Unicorn -------------------------------------------------------------------------------- */

/* X(name, return type, parameters): every function of Unicorn's evsim calls. */
#define UC_LAZY_FUNCS(X)                                                                           \
    X(uc_version, unsigned int, (unsigned int *major, unsigned int *minor))                        \
    X(uc_strerror, const char *, (uc_err code))                                                    \
    X(uc_open, uc_err, (uc_arch arch, uc_mode mode, uc_engine * *uc))                              \
    X(uc_close, uc_err, (uc_engine * uc))                                                          \
    X(uc_reg_read, uc_err, (uc_engine * uc, int regid, void *value))                               \
    X(uc_reg_write, uc_err, (uc_engine * uc, int regid, const void *value))                        \
    X(uc_reg_read_batch, uc_err, (uc_engine * uc, int *regs, void **vals, int count))              \
    X(uc_reg_write_batch, uc_err, (uc_engine * uc, int *regs, void *const *vals, int count))       \
    X(uc_mem_map_ptr, uc_err,                                                                      \
      (uc_engine * uc, uint64_t address, size_t size, uint32_t perms, void *ptr))                  \
    X(uc_mmio_map, uc_err,                                                                         \
      (uc_engine * uc, uint64_t address, size_t size, uc_cb_mmio_read_t read_cb,                   \
       void *user_data_read, uc_cb_mmio_write_t write_cb, void *user_data_write))                  \
    X(uc_mem_unmap, uc_err, (uc_engine * uc, uint64_t address, size_t size))                       \
    X(uc_mem_read, uc_err, (uc_engine * uc, uint64_t address, void *bytes, size_t size))           \
    X(uc_emu_start, uc_err,                                                                        \
      (uc_engine * uc, uint64_t begin, uint64_t until, uint64_t timeout, size_t count))            \
    X(uc_emu_stop, uc_err, (uc_engine * uc))                                                       \
    X(uc_hook_del, uc_err, (uc_engine * uc, uc_hook hh))                                           \
    X(uc_context_alloc, uc_err, (uc_engine * uc, uc_context * *context))                           \
    X(uc_context_save, uc_err, (uc_engine * uc, uc_context * context))                             \
    X(uc_context_restore, uc_err, (uc_engine * uc, uc_context * context))                          \
    X(uc_context_reg_write, uc_err, (uc_context * ctx, int regid, const void *value))              \
    X(uc_context_free, uc_err, (uc_context * context))

/* The variadic two, called with the extra arguments evsim passes. */
typedef uc_err (*uc_hook_add_fn)(uc_engine *uc, uc_hook *hh, int type, void *callback,
                                 void *user_data, uint64_t begin, uint64_t end, ...);
typedef uc_err (*uc_ctl_fn)(uc_engine *uc, uc_control_type control, ...);

static struct {
    UC_LAZY_FUNCS(LAZY_FIELD)
    uc_hook_add_fn uc_hook_add;
    uc_ctl_fn uc_ctl;
} uc_fn;

static pthread_once_t uc_loaded = PTHREAD_ONCE_INIT;

static void uc_lazy_load(void)
{
    void *lib = lazy_open(EVSIM_UNICORN_SONAME, EVSIM_UNICORN_LIBDIR);
#define LAZY_TABLE uc_fn
#define LAZY_SONAME EVSIM_UNICORN_SONAME
    UC_LAZY_FUNCS(LAZY_RESOLVE)
    LAZY_RESOLVE(uc_hook_add, , )
    LAZY_RESOLVE(uc_ctl, , )
#undef LAZY_TABLE
#undef LAZY_SONAME
}

static inline void uc_lazy(void)
{
    pthread_once(&uc_loaded, uc_lazy_load);
}

unsigned int uc_version(unsigned int *major, unsigned int *minor)
{
    uc_lazy();
    return uc_fn.uc_version(major, minor);
}

const char *uc_strerror(uc_err code)
{
    uc_lazy();
    return uc_fn.uc_strerror(code);
}

uc_err uc_open(uc_arch arch, uc_mode mode, uc_engine **uc)
{
    uc_lazy();
    return uc_fn.uc_open(arch, mode, uc);
}

/* Every other function takes an engine, which only uc_open makes: Unicorn is loaded by then. */
uc_err uc_close(uc_engine *uc)
{
    return uc_fn.uc_close(uc);
}

uc_err uc_reg_read(uc_engine *uc, int regid, void *value)
{
    return uc_fn.uc_reg_read(uc, regid, value);
}

uc_err uc_reg_write(uc_engine *uc, int regid, const void *value)
{
    return uc_fn.uc_reg_write(uc, regid, value);
}

uc_err uc_reg_read_batch(uc_engine *uc, int *regs, void **vals, int count)
{
    return uc_fn.uc_reg_read_batch(uc, regs, vals, count);
}

uc_err uc_reg_write_batch(uc_engine *uc, int *regs, void *const *vals, int count)
{
    return uc_fn.uc_reg_write_batch(uc, regs, vals, count);
}

uc_err uc_mem_map_ptr(uc_engine *uc, uint64_t address, size_t size, uint32_t perms, void *ptr)
{
    return uc_fn.uc_mem_map_ptr(uc, address, size, perms, ptr);
}

uc_err uc_mmio_map(uc_engine *uc, uint64_t address, size_t size, uc_cb_mmio_read_t read_cb,
                   void *user_data_read, uc_cb_mmio_write_t write_cb, void *user_data_write)
{
    return uc_fn.uc_mmio_map(uc, address, size, read_cb, user_data_read, write_cb, user_data_write);
}

uc_err uc_mem_unmap(uc_engine *uc, uint64_t address, size_t size)
{
    return uc_fn.uc_mem_unmap(uc, address, size);
}

uc_err uc_mem_read(uc_engine *uc, uint64_t address, void *bytes, size_t size)
{
    return uc_fn.uc_mem_read(uc, address, bytes, size);
}

uc_err uc_emu_start(uc_engine *uc, uint64_t begin, uint64_t until, uint64_t timeout, size_t count)
{
    return uc_fn.uc_emu_start(uc, begin, until, timeout, count);
}

uc_err uc_emu_stop(uc_engine *uc)
{
    return uc_fn.uc_emu_stop(uc);
}

uc_err uc_hook_del(uc_engine *uc, uc_hook hh)
{
    return uc_fn.uc_hook_del(uc, hh);
}

uc_err uc_context_alloc(uc_engine *uc, uc_context **context)
{
    return uc_fn.uc_context_alloc(uc, context);
}

uc_err uc_context_save(uc_engine *uc, uc_context *context)
{
    return uc_fn.uc_context_save(uc, context);
}

uc_err uc_context_restore(uc_engine *uc, uc_context *context)
{
    return uc_fn.uc_context_restore(uc, context);
}

uc_err uc_context_reg_write(uc_context *ctx, int regid, const void *value)
{
    return uc_fn.uc_context_reg_write(ctx, regid, value);
}

uc_err uc_context_free(uc_context *context)
{
    return uc_fn.uc_context_free(context);
}

static _Noreturn void uc_lazy_unsupported(const char *what, unsigned long value)
{
    fprintf(stderr, "evsim: internal error: sim/lazy_libs.c does not forward %s %#lx\n", what,
            value);
    abort();
}

/* UC_HOOK_INSN takes the instruction's id after end, UC_HOOK_TCG_OPCODE two more (evsim adds
 * none of those); the others take nothing. */
uc_err uc_hook_add(uc_engine *uc, uc_hook *hh, int type, void *callback, void *user_data,
                   uint64_t begin, uint64_t end, ...)
{
    if (type == UC_HOOK_INSN) {
        va_list ap;
        va_start(ap, end);
        int insn = va_arg(ap, int);
        va_end(ap);
        return uc_fn.uc_hook_add(uc, hh, type, callback, user_data, begin, end, insn);
    }
    if (type & UC_HOOK_TCG_OPCODE)
        uc_lazy_unsupported("uc_hook_add type", (unsigned long)type);
    return uc_fn.uc_hook_add(uc, hh, type, callback, user_data, begin, end);
}

/* The controls evsim uses: flushing translations and the TLB (no argument), and removing the
 * cached translations of a range (its two 64-bit ends). */
uc_err uc_ctl(uc_engine *uc, uc_control_type control, ...)
{
    unsigned nr = ((unsigned)control >> 26) & 0xf;
    uc_control_type type = control & 0xffff;
    if (nr == 0)
        return uc_fn.uc_ctl(uc, control);
    if (type != UC_CTL_TB_REMOVE_CACHE || nr != 2)
        uc_lazy_unsupported("uc_ctl control", (unsigned long)control);
    va_list ap;
    va_start(ap, control);
    uint64_t begin = va_arg(ap, uint64_t), end = va_arg(ap, uint64_t);
    va_end(ap);
    return uc_fn.uc_ctl(uc, control, begin, end);
}

/* ---- Capstone ------------------------------------------------------------------------------- */

/* X(name, return type, parameters): every function of Capstone's evsim calls. cs_open comes
 * first, and makes the handle every other one takes, so only it loads the library. */
#define CS_LAZY_FUNCS(X)                                                                           \
    X(cs_open, cs_err, (cs_arch arch, cs_mode mode, csh * handle))                                 \
    X(cs_close, cs_err, (csh * handle))                                                            \
    X(cs_option, cs_err, (csh handle, cs_opt_type type, size_t value))                             \
    X(cs_disasm, size_t,                                                                           \
      (csh handle, const uint8_t *code, size_t code_size, uint64_t address, size_t count,          \
       cs_insn **insn))                                                                            \
    X(cs_disasm_iter, bool,                                                                        \
      (csh handle, const uint8_t **code, size_t *size, uint64_t *address, cs_insn *insn))          \
    X(cs_malloc, cs_insn *, (csh handle))                                                          \
    X(cs_free, void, (cs_insn * insn, size_t count))

static struct {
    CS_LAZY_FUNCS(LAZY_FIELD)
} cs_fn;

static pthread_once_t cs_loaded = PTHREAD_ONCE_INIT;

static void cs_lazy_load(void)
{
    void *lib = lazy_open(EVSIM_CAPSTONE_SONAME, EVSIM_CAPSTONE_LIBDIR);
#define LAZY_TABLE cs_fn
#define LAZY_SONAME EVSIM_CAPSTONE_SONAME
    CS_LAZY_FUNCS(LAZY_RESOLVE)
#undef LAZY_TABLE
#undef LAZY_SONAME
}

cs_err cs_open(cs_arch arch, cs_mode mode, csh *handle)
{
    pthread_once(&cs_loaded, cs_lazy_load);
    return cs_fn.cs_open(arch, mode, handle);
}

cs_err cs_close(csh *handle)
{
    return cs_fn.cs_close(handle);
}

cs_err cs_option(csh handle, cs_opt_type type, size_t value)
{
    return cs_fn.cs_option(handle, type, value);
}

size_t cs_disasm(csh handle, const uint8_t *code, size_t code_size, uint64_t address, size_t count,
                 cs_insn **insn)
{
    return cs_fn.cs_disasm(handle, code, code_size, address, count, insn);
}

bool cs_disasm_iter(csh handle, const uint8_t **code, size_t *size, uint64_t *address,
                    cs_insn *insn)
{
    return cs_fn.cs_disasm_iter(handle, code, size, address, insn);
}

cs_insn *cs_malloc(csh handle)
{
    return cs_fn.cs_malloc(handle);
}

void cs_free(cs_insn *insn, size_t count)
{
    cs_fn.cs_free(insn, count);
}

/* ---- The SystemC kernel (sim/kernel.cc) ------------------------------------------------------ */

/* X(name, return type, parameters): every function of sim/kernel.h. */
#define SIMK_LAZY_FUNCS(X)                                                                         \
    X(simk_init, void, (void))                                                                     \
    X(simk_spawn_thread, void, (const char *name, simk_fn fn, void *arg, size_t stack_bytes))      \
    X(simk_event_create, struct simk_event *, (const char *name))                                  \
    X(simk_method_on, void, (const char *name, struct simk_event *ev, simk_fn fn, void *arg))      \
    X(simk_event_notify, void, (struct simk_event * ev, uint64_t delay_ps))                        \
    X(simk_event_rearm, void, (struct simk_event * ev, uint64_t delay_ps))                         \
    X(simk_event_cancel, void, (struct simk_event * ev))                                           \
    X(simk_now_ps, uint64_t, (void))                                                               \
    X(simk_next_activity_ps, uint64_t, (void))                                                     \
    X(simk_pending_activity, bool, (void))                                                         \
    X(simk_wait_ps, void, (uint64_t delay_ps))                                                     \
    X(simk_wait_event, void, (struct simk_event * ev, uint64_t timeout_ps))                        \
    X(simk_run, void, (uint64_t until_ps))                                                         \
    X(simk_stop, void, (void))

static struct {
    SIMK_LAZY_FUNCS(LAZY_FIELD)
} simk_fn_table;

static pthread_once_t simk_loaded_once = PTHREAD_ONCE_INIT;
/* Read without the once on the hottest path (simk_now_ps); SystemC runs on one host thread. */
static bool simk_loaded;

static void simk_lazy_load(void)
{
    void *lib = lazy_open(EVSIM_KERNEL_SONAME, EVSIM_KERNEL_LIBDIR);
#define LAZY_TABLE simk_fn_table
#define LAZY_SONAME EVSIM_KERNEL_SONAME
    SIMK_LAZY_FUNCS(LAZY_RESOLVE)
#undef LAZY_TABLE
#undef LAZY_SONAME
    simk_loaded = true;
}

static inline void simk_lazy(void)
{
    pthread_once(&simk_loaded_once, simk_lazy_load);
}

/* What makes a process, an event or a run loads the kernel; the calls on events and inside
 * processes come after one of those. */
void simk_init(void)
{
    simk_lazy();
    simk_fn_table.simk_init();
}

void simk_spawn_thread(const char *name, simk_fn fn, void *arg, size_t stack_bytes)
{
    simk_lazy();
    simk_fn_table.simk_spawn_thread(name, fn, arg, stack_bytes);
}

struct simk_event *simk_event_create(const char *name)
{
    simk_lazy();
    return simk_fn_table.simk_event_create(name);
}

void simk_method_on(const char *name, struct simk_event *ev, simk_fn fn, void *arg)
{
    simk_fn_table.simk_method_on(name, ev, fn, arg);
}

void simk_event_notify(struct simk_event *ev, uint64_t delay_ps)
{
    simk_fn_table.simk_event_notify(ev, delay_ps);
}

void simk_event_rearm(struct simk_event *ev, uint64_t delay_ps)
{
    simk_fn_table.simk_event_rearm(ev, delay_ps);
}

void simk_event_cancel(struct simk_event *ev)
{
    simk_fn_table.simk_event_cancel(ev);
}

/* Before the kernel exists no time has passed, which is what it would say. */
uint64_t simk_now_ps(void)
{
    return simk_loaded ? simk_fn_table.simk_now_ps() : 0;
}

uint64_t simk_next_activity_ps(void)
{
    simk_lazy();
    return simk_fn_table.simk_next_activity_ps();
}

bool simk_pending_activity(void)
{
    simk_lazy();
    return simk_fn_table.simk_pending_activity();
}

void simk_wait_ps(uint64_t delay_ps)
{
    simk_fn_table.simk_wait_ps(delay_ps);
}

void simk_wait_event(struct simk_event *ev, uint64_t timeout_ps)
{
    simk_fn_table.simk_wait_event(ev, timeout_ps);
}

void simk_run(uint64_t until_ps)
{
    simk_lazy();
    simk_fn_table.simk_run(until_ps);
}

void simk_stop(void)
{
    simk_lazy();
    simk_fn_table.simk_stop();
}
