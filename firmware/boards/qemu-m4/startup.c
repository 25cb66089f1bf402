/* qemu-m4 vector table: 16 core exceptions + 32 MPS2 AN386 interrupts (all unused: the port polls). */
#define TML_CM_N_IRQ 32
#include "cortexm_vectors.h"
