/* nRF52840 vector table: 16 core exceptions + 48 interrupts; only UARTE0_UART0 (IRQ 2) is used. */
#define UARTE0_IRQN 2

void UARTE0_UART0_IRQHandler(void);

#define TML_CM_N_IRQ 48
#define TML_CM_IRQ_VECTORS [16 + UARTE0_IRQN] = UARTE0_UART0_IRQHandler,
#include "cortexm_vectors.h"
