/* nRF52840 vector table: 16 core exceptions + 48 interrupts; only UARTE0_UART0 (IRQ 2) is used. */
#include "cortexm.h"

#define N_IRQ 48
#define UARTE0_IRQN 2

void UARTE0_UART0_IRQHandler(void);

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Woverride-init"
__attribute__((section(".isr_vector"), used)) void (*const tml_vectors[16 + N_IRQ])(void) = {
    [0 ... 16 + N_IRQ - 1] = Default_Handler,
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
    [16 + UARTE0_IRQN] = UARTE0_UART0_IRQHandler,
};
#pragma GCC diagnostic pop
