/*
 * vmcall: an HVM guest that makes hypercalls with vmcall and vmmcall itself, as Linux has done
 * since it stopped using the hypercall page (its xen_hypercall_hvm picks the instruction by CPU
 * vendor). Arguments go in rdi, rsi, rdx, r10, r8 and the number in rax, as through the page;
 * only rax changes.
 *
 * It asks for Xen's version with vmcall, writes a console line with vmmcall, then sends itself
 * an event over an IPI port with each instruction and waits for both deliveries: the event path
 * runs from a direct hypercall to the upcall vector. Needs type = hvm.
 */
#include "rt.h"

enum insn { VMCALL, VMMCALL };

static long direct(enum insn insn, unsigned long nr, unsigned long a1, unsigned long a2,
                   unsigned long a3)
{
    long res;

    if (insn == VMCALL)
        __asm__ __volatile__("vmcall"
                             : "=a"(res), "+D"(a1), "+S"(a2), "+d"(a3)
                             : "a"(nr)
                             : "memory");
    else
        __asm__ __volatile__("vmmcall"
                             : "=a"(res), "+D"(a1), "+S"(a2), "+d"(a3)
                             : "a"(nr)
                             : "memory");
    return res;
}

static volatile unsigned delivered;
static volatile bool done;

static void on_event(evtchn_port_t port, void *arg)
{
    (void)port;
    (void)arg;
    if (++delivered == 2)
        done = true;
}

static void send(enum insn insn, evtchn_port_t port)
{
    struct evtchn_send s = {.port = port};

    rt_check(direct(insn, __HYPERVISOR_event_channel_op, EVTCHNOP_send, (unsigned long)&s, 0),
             "EVTCHNOP_send");
    while (delivered < (insn == VMCALL ? 1u : 2u))
        rt_yield();
}

int main(void)
{
    static const char line[] = "vmcall: a console line written with vmmcall\n";
    long version = direct(VMCALL, __HYPERVISOR_xen_version, XENVER_version, 0, 0);
    evtchn_port_t port;

    rt_printf("vmcall: xen_version with vmcall: %ld.%ld\n", version >> 16, version & 0xffff);
    rt_check(direct(VMMCALL, __HYPERVISOR_console_io, CONSOLEIO_write, sizeof(line) - 1,
                    (unsigned long)line),
             "console_io");
    port = rt_bind_ipi(0);
    rt_bind_handler(port, on_event, NULL);
    send(VMCALL, port);
    send(VMMCALL, port);
    rt_wait(&done);
    rt_printf("vmcall: 2 events sent with vmcall and vmmcall, %u delivered\n", delivered);
    return 0;
}
