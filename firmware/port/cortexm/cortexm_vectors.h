/* The vector table every Cortex-M board shares (firmware/port/cortexm/cortexm_vectors.h). A board's
 * startup.c names its interrupt count and the interrupts it uses, then includes this file once:
 *
 *     #define TML_CM_N_IRQ 95
 *     #define TML_CM_IRQ_VECTORS [16 + 70] = LPUART1_IRQHandler,
 *     #include "cortexm_vectors.h"
 *
 * Entry 0 is the initial SP (_estack), 1-15 the core exceptions (weak handlers in cortexm.c),
 * every interrupt not named goes to Default_Handler. The table is `tml_vectors`, in .isr_vector,
 * which cortexm.ld places at the flash origin. */
#ifndef TML_CORTEXM_VECTORS_H
#define TML_CORTEXM_VECTORS_H

#include "cortexm.h"

#ifndef TML_CM_N_IRQ
#error "define TML_CM_N_IRQ (the chip's external interrupt count) before including cortexm_vectors.h"
#endif
#ifndef TML_CM_IRQ_VECTORS
#define TML_CM_IRQ_VECTORS
#endif

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Woverride-init"
__attribute__((section(".isr_vector"), used)) void (*const tml_vectors[16 + TML_CM_N_IRQ])(void) = {
    [0 ... 16 + TML_CM_N_IRQ - 1] = Default_Handler,
    [0] = (void (*)(void))(uintptr_t)&_estack,
    [1] = Reset_Handler,
    [2] = NMI_Handler,
    [3] = HardFault_Handler,
    [4] = MemManage_Handler,
    [5] = BusFault_Handler,
    [6] = UsageFault_Handler,
    [7 ... 10] = 0,
    [11] = SVC_Handler,
    [12] = DebugMon_Handler,
    [13] = 0,
    [14] = PendSV_Handler,
    [15] = SysTick_Handler,
    TML_CM_IRQ_VECTORS
};
#pragma GCC diagnostic pop

#endif
