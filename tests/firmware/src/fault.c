/* Deliberate hard fault: branch to a Thumb address with the Thumb bit clear (INVSTATE usage
 * fault, escalated to HardFault). The handler must print the stacked registers and exit non-zero. */
#include <stdint.h>
#include <stdio.h>

#include "tml_port.h"

typedef void (*fn_t)(void);

int main(void)
{
    tml_port_init();
    printf("about to fault\n");
    fflush(stdout);
    volatile uintptr_t target = (uintptr_t)&main & ~(uintptr_t)1u;
    fn_t f = (fn_t)target;
    f();
    printf("not reached\n");
    return 0;
}
