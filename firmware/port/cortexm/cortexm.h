/* Cortex-M core registers and the pieces every Cortex-M board shares (firmware/port/cortexm/):
 * reset handler (copy .data, zero .bss, FPU on, stack painting), fault reporting, newlib syscalls
 * without a heap, DWT and SysTick helpers; the vector table layout (cortexm_vectors.h) and, for
 * real boards on a UART link, the rest of tml_port (serial_board.h). Boards add their interrupt
 * count and handlers, clock, UART and linker MEMORY block (which INCLUDEs cortexm.ld). */
#ifndef TML_CORTEXM_H
#define TML_CORTEXM_H

#include <stddef.h>
#include <stdint.h>

#define TML_REG(addr) (*(volatile uint32_t *)(addr))

#define SCB_ICSR TML_REG(0xE000ED04u)
#define SCB_VTOR TML_REG(0xE000ED08u)
#define SCB_SHCSR TML_REG(0xE000ED24u)
#define SCB_CFSR TML_REG(0xE000ED28u)
#define SCB_HFSR TML_REG(0xE000ED2Cu)
#define SCB_MMFAR TML_REG(0xE000ED34u)
#define SCB_BFAR TML_REG(0xE000ED38u)
#define SCB_CPACR TML_REG(0xE000ED88u)
#define SCB_ICSR_PENDSTSET (1u << 26)

#define SYST_CSR TML_REG(0xE000E010u)
#define SYST_RVR TML_REG(0xE000E014u)
#define SYST_CVR TML_REG(0xE000E018u)

#define DEMCR TML_REG(0xE000EDFCu)
#define DWT_CTRL TML_REG(0xE0001000u)
#define DWT_CYCCNT TML_REG(0xE0001004u)

#define NVIC_ISER(n) TML_REG(0xE000E100u + 4u * ((uint32_t)(n) >> 5))
#define NVIC_IPR_BYTE(n) (*(volatile uint8_t *)(0xE000E400u + (uint32_t)(n)))

static inline void tml_cm_dsb(void) { __asm volatile("dsb" ::: "memory"); }
static inline void tml_cm_isb(void) { __asm volatile("isb" ::: "memory"); }
static inline void tml_cm_wfi(void) { __asm volatile("wfi"); }
static inline void tml_cm_irq_enable(void) { __asm volatile("cpsie i" ::: "memory"); }
static inline void tml_cm_irq_disable(void) { __asm volatile("cpsid i" ::: "memory"); }
static inline void tml_cm_nvic_enable(unsigned irq) { NVIC_ISER(irq) = 1u << (irq & 31u); }

/* Handlers the board vector tables point at. */
void Reset_Handler(void);
void Default_Handler(void);
void HardFault_Handler(void);
void NMI_Handler(void);
void MemManage_Handler(void);
void BusFault_Handler(void);
void UsageFault_Handler(void);
void SVC_Handler(void);
void DebugMon_Handler(void);
void PendSV_Handler(void);
void SysTick_Handler(void);

/* Linker symbols (cortexm.ld). */
extern uint32_t _estack;

/* The vector table (cortexm_vectors.h, included by the board's startup.c). */
extern void (*const tml_vectors[])(void);

/* Called from Reset_Handler after .data/.bss are ready and before main(); weak no-op. */
void tml_board_early_init(void);

/* Text out of the fault handler and unexpected interrupts; default tml_port_log. A board
 * without a debug channel sends it raw to its UART (the host shows out-of-frame bytes). */
void tml_cm_fault_puts(const char *s);
/* Bytes for newlib's stdout (fd 1) and stderr (fd 2); defaults drop them. */
void tml_cm_stdout_write(const char *buf, size_t len);
void tml_cm_stderr_write(const char *buf, size_t len);
/* Blocking byte read for newlib's stdin (fd 0); default: end of file. */
int tml_cm_stdin_getc(void);

/* Stack high-water mark from painting at reset. */
uint32_t tml_cm_stack_used(void);

/* 1 kHz SysTick with a millisecond counter (real boards), and the DWT cycle counter extended
 * to 64 bits (read it at least once per 2^32 cycles; the 1 kHz tick does). */
void tml_cm_systick_1khz(uint32_t core_hz);
uint32_t tml_cm_millis(void);
void tml_cm_dwt_init(void);
uint64_t tml_cm_dwt_cycles(void);

/* Hex formatting for fault text without printf: writes 8 digits and a NUL into out[9]. */
void tml_cm_hex32(uint32_t v, char out[9]);

#endif
