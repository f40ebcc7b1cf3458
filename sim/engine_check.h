/* The Unicorn library evsim runs on, checked for what evsim depends on (see engine_check.c). */
#ifndef EVSIM_SIM_ENGINE_CHECK_H
#define EVSIM_SIM_ENGINE_CHECK_H

#include <stdbool.h>
#include <stdio.h>

/* 2.1.1: the first Debian release whose Unicorn honours paging and keeps stores fast. */
#define ENGINE_CHECK_MIN_VERSION 0x020101u /* major << 16 | minor << 8 | patch */
#define ENGINE_CHECK_MIN_TEXT "2.1.1"
/* A store-free loop iteration costs about 1.7 ns; with a fast-path store about 2-4 ns; with a
 * slow-path store (2.0.1, 2.1.4) 45-70 ns. 6 sits far from both. */
#define ENGINE_CHECK_MAX_STORE_RATIO 6.0

struct engine_check {
    unsigned version; /* major << 16 | minor << 8 | patch */
    char version_text[16];
    char library[256]; /* the file the dynamic linker loaded */
    bool engine;       /* an x86-64 engine could be created */
    bool paging, rdtsc_hook, syscall_hook;
    double plain_ns, store_ns; /* host ns per loop iteration, best of a few runs */
    double store_ratio, store_ratio_paged;
    char failures[512]; /* empty when usable */
};

/* Runs the checks (a few milliseconds); 0 when evsim can use the library, else -1 with the
 * reasons in c->failures. */
int engine_check_run(struct engine_check *c);
/* The verdict from the fields alone (filled by engine_check_run, or by a test). */
int engine_check_judge(struct engine_check *c);
void engine_check_print(const struct engine_check *c, FILE *out);

#endif
