/* Scenarios: what a run simulates. Read from an INI file (libinih) or built from --guest flags;
 * an embedded default runs when none is given. */
#ifndef EVSIM_SIM_SCENARIO_H
#define EVSIM_SIM_SCENARIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sim/diag.h"

#define SCENARIO_MAX_DOMAINS 32752 /* as many as Xen has domids (HV_MAX_DOMAINS) */
#define SCENARIO_MAX_PIRQS 64
#define SCENARIO_PATH_MAX 1024
#define SCENARIO_NR_PIRQS 256         /* each domain's physical IRQ lines (Xen's nr_pirqs here) */
#define SCENARIO_MAX_US 3600000000ull /* one hour: the longest time a scenario may name */
/* A host device model's defaults (docs/emulators.md): its thread's wake-up, the wake of a
 * blocked task in a Linux dom0 (about the profiles' `wake`, 3 us); its handling of one
 * request, an estimate for a register access in a user-space device model. */
#define SCENARIO_DM_WAKE_NS 3000u
#define SCENARIO_DM_HANDLE_NS 1000u

/* The event-channel ABI a domain's guest sets up at boot (the guest runtime reads abi= from its
 * command line; every domain starts on 2-level, as under Xen). */
enum scenario_abi { ABI_2L, ABI_3L, ABI_FIFO, ABI_COUNT };
extern const char *const scenario_abi_names[ABI_COUNT]; /* "2l", "3l", "fifo" */
/* The ABI named s, or -1. */
int scenario_abi_parse(const char *s);

struct scenario_domain {
    char name[64];
    char guest[SCENARIO_PATH_MAX]; /* program name (found by evsim) or a path to an ELF */
    unsigned vcpus;
    uint64_t memory_bytes;
    bool privileged;
    bool hvm;    /* type = hvm: hypercalls cost a VM exit (else PV) */
    bool paused; /* created paused: runs once a privileged domain unpauses it (domctl) */
    /* A device model on the host (sim/host_dm.c) instead of a guest: its program and
     * arguments, how long its thread takes to wake for an event and to handle a request. */
    char device_model[SCENARIO_PATH_MAX];
    char device_model_args[1024];
    uint64_t dm_wake_ns, dm_handle_ns;
    char cmdline[1024];
    int pin; /* physical CPU of vcpu 0 (others follow), -1 = automatic */
    unsigned max_evtchn_port;
    enum scenario_abi abi;
    unsigned line; /* where the section starts, for messages */
};

/* A physical IRQ line raised by the platform: at_ns, then every period_ns, count times. */
struct scenario_pirq {
    unsigned domain; /* index into domains */
    unsigned line;   /* the pirq number */
    bool level;      /* trigger = level: the guest must EOI (PHYSDEVOP_eoi); else edge */
    uint64_t at_ns, period_ns;
    unsigned count;
    unsigned src_line;
};

struct scenario {
    char source[SCENARIO_PATH_MAX]; /* file name, or "<default>" */
    char base_dir[SCENARIO_PATH_MAX];
    unsigned pcpus;
    unsigned sockets;            /* pcpus split evenly: pcpu p is on socket p / (pcpus/sockets) */
    char cpu[SCENARIO_PATH_MAX]; /* cost profile: a name, or a path to a profile file */
    unsigned cpu_line;
    uint64_t seed;
    uint64_t run_ns;
    uint64_t quantum_ns;
    uint64_t timeslice_ns;
    /* Xen's guest_loglvl (LOWER[/UPPER], models/console.c) for the guest console lines of
     * every domain but domain 0, and the most lines evsim prints per domain in one run. */
    int guest_loglvl_lower, guest_loglvl_upper;
    uint64_t console_lines;
    struct scenario_domain dom[SCENARIO_MAX_DOMAINS];
    unsigned nr_dom;
    struct scenario_pirq pirq[SCENARIO_MAX_PIRQS];
    unsigned nr_pirq;
};

extern const char scenario_default_text[];

void scenario_defaults(struct scenario *s);
/* 0, or -1 with d = "file:line: message". */
int scenario_load_file(struct scenario *s, const char *path, struct diag *d);
int scenario_load_string(struct scenario *s, const char *name, const char *text, struct diag *d);
/* Checks that flags may break after the file was read (pins and sockets against pcpus). */
int scenario_check_machine(const struct scenario *s, struct diag *d);
/* Append a domain running the ELF or program at path with cmdline (may be NULL), for --guest. */
int scenario_add_guest(struct scenario *s, const char *path, const char *cmdline, struct diag *d);

/* s as INI text that reads back as s (sim/scenario_write.c): malloc'd, NULL when out of
 * memory. */
char *scenario_write_ini(const struct scenario *s);

#endif
