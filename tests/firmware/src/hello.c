/* Smoke firmware: printf to the serial port, text on the debug channel, the instruction counter
 * around a loop of known length, floats (FPU enabled), then exit with a chosen code. */
#include <stdio.h>
#include <string.h>

#include "tml_port.h"

#ifndef HELLO_EXIT
#define HELLO_EXIT 0
#endif

static volatile float g_acc;

__attribute__((noinline)) static void spin(unsigned n)
{
    /* A fixed number of instructions per iteration (7 at -Os); the test checks ratios, not this. */
    for (volatile unsigned i = 0; i < n; i++) {
    }
}

int main(void)
{
    tml_port_init();
    printf("hello from %s\n", tml_port_board_name());
    float x = 1.5f;
    for (int i = 0; i < 10; i++) {
        x = x * 1.25f + 0.5f;
    }
    g_acc = x;
    printf("float %d\n", (int)(g_acc * 1000.0f));
    uint64_t t0 = tml_port_instructions();
    spin(100000);
    uint64_t t1 = tml_port_instructions();
    spin(200000);
    uint64_t t2 = tml_port_instructions();
    printf("cost %s %lu %lu\n", tml_port_cost_unit(), (unsigned long)(t1 - t0), (unsigned long)(t2 - t1));
#ifdef HELLO_LONG
    /* Longer than one 24-bit SysTick period (~671M instructions): exercises the wrap count. */
    uint64_t t3 = tml_port_instructions();
    spin(HELLO_LONG);
    uint64_t t4 = tml_port_instructions();
    printf("long %lu\n", (unsigned long)(t4 - t3));
#endif
    printf("stack %lu\n", (unsigned long)tml_port_stack_used());
    tml_port_log("debug channel ok\n");
    return HELLO_EXIT;
}
