/* STM32L4R5 vector table: 16 core exceptions + 95 interrupts; only LPUART1 (IRQ 70) is used. */
#define LPUART1_IRQN 70

void LPUART1_IRQHandler(void);

#define TML_CM_N_IRQ 95
#define TML_CM_IRQ_VECTORS [16 + LPUART1_IRQN] = LPUART1_IRQHandler,
#include "cortexm_vectors.h"
