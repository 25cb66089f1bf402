/* nucleo-l4r5zi port: 120 MHz clock, LPUART1 (ST-LINK VCP) link with interrupt RX; DWT cycles,
 * 1 kHz SysTick, receive ring and the rest in serial_board.c. Register addresses and bits from
 * RM0432 (STM32L4+ reference manual). */
#include "cortexm.h"
#include "serial_board.h"
#include "tml_port.h"

#define CORE_HZ 120000000u
#define HSI_HZ 16000000u
#define BAUD 115200u
#define LPUART1_IRQN 70u

#define RCC_BASE 0x40021000u
#define RCC_CR TML_REG(RCC_BASE + 0x00u)
#define RCC_CFGR TML_REG(RCC_BASE + 0x08u)
#define RCC_PLLCFGR TML_REG(RCC_BASE + 0x0Cu)
#define RCC_AHB2ENR TML_REG(RCC_BASE + 0x4Cu)
#define RCC_APB1ENR1 TML_REG(RCC_BASE + 0x58u)
#define RCC_APB1ENR2 TML_REG(RCC_BASE + 0x5Cu)
#define RCC_CCIPR TML_REG(RCC_BASE + 0x88u)
#define PWR_BASE 0x40007000u
#define PWR_CR2 TML_REG(PWR_BASE + 0x04u)
#define PWR_CR5 TML_REG(PWR_BASE + 0x80u)
#define FLASH_ACR TML_REG(0x40022000u)
#define GPIOG_BASE 0x48001800u
#define GPIOG_MODER TML_REG(GPIOG_BASE + 0x00u)
#define GPIOG_OSPEEDR TML_REG(GPIOG_BASE + 0x08u)
#define GPIOG_PUPDR TML_REG(GPIOG_BASE + 0x0Cu)
#define GPIOG_AFRL TML_REG(GPIOG_BASE + 0x20u)
#define GPIOG_AFRH TML_REG(GPIOG_BASE + 0x24u)
#define LPUART1_BASE 0x40008000u
#define LPUART_CR1 TML_REG(LPUART1_BASE + 0x00u)
#define LPUART_BRR TML_REG(LPUART1_BASE + 0x0Cu)
#define LPUART_ISR TML_REG(LPUART1_BASE + 0x1Cu)
#define LPUART_ICR TML_REG(LPUART1_BASE + 0x20u)
#define LPUART_RDR TML_REG(LPUART1_BASE + 0x24u)
#define LPUART_TDR TML_REG(LPUART1_BASE + 0x28u)
#define ISR_ORE (1u << 3)
#define ISR_RXNE (1u << 5)
#define ISR_TXE (1u << 7)

static void clock_120mhz(void)
{
    RCC_APB1ENR1 |= 1u << 28;       /* PWREN */
    (void)RCC_APB1ENR1;
    PWR_CR5 &= ~(1u << 8);          /* R1MODE = 0: range 1 boost, needed above 80 MHz */
    FLASH_ACR = (FLASH_ACR & ~0xFu) | 5u | (1u << 8) | (1u << 9) | (1u << 10); /* 5 WS, prefetch, I/D cache */
    while ((FLASH_ACR & 0xFu) != 5u) {
    }
    RCC_CR |= 1u << 8;              /* HSION */
    while (!(RCC_CR & (1u << 10))) { /* HSIRDY */
    }
    RCC_CR &= ~(1u << 24);          /* PLL off before configuring */
    while (RCC_CR & (1u << 25)) {
    }
    /* PLLSRC = HSI16 (2), M = 1, N = 15 (VCO 240 MHz), R = 2 -> 120 MHz, R output enabled */
    RCC_PLLCFGR = 2u | (0u << 4) | (15u << 8) | (0u << 25) | (1u << 24);
    RCC_CR |= 1u << 24;             /* PLLON */
    while (!(RCC_CR & (1u << 25))) { /* PLLRDY */
    }
    /* Above 80 MHz: switch with AHB /2 first, hold >= 1 us, then AHB /1 (RM0432 6.2.5 note). */
    RCC_CFGR = (RCC_CFGR & ~((0xFu << 4) | 3u)) | (8u << 4) | 3u;
    while (((RCC_CFGR >> 2) & 3u) != 3u) {
    }
    for (volatile uint32_t i = 0; i < 200u; i++) {
    }
    RCC_CFGR &= ~(0xFu << 4);
}

static void lpuart1_init(void)
{
    RCC_APB1ENR1 |= 1u << 28;                      /* PWREN (again: harmless) */
    PWR_CR2 |= 1u << 9;                            /* IOSV: PG[15:2] are powered from VDDIO2 */
    RCC_AHB2ENR |= 1u << 6;                        /* GPIOGEN */
    RCC_APB1ENR2 |= 1u << 0;                       /* LPUART1EN */
    RCC_CCIPR = (RCC_CCIPR & ~(3u << 10)) | (2u << 10); /* LPUART1SEL = HSI16: baud independent of SYSCLK */
    (void)RCC_APB1ENR2;
    /* PG7 = TX, PG8 = RX, alternate function 8 */
    GPIOG_MODER = (GPIOG_MODER & ~((3u << 14) | (3u << 16))) | (2u << 14) | (2u << 16);
    GPIOG_OSPEEDR |= (2u << 14) | (2u << 16);
    GPIOG_PUPDR = (GPIOG_PUPDR & ~(3u << 16)) | (1u << 16); /* RX pull-up */
    GPIOG_AFRL = (GPIOG_AFRL & ~(0xFu << 28)) | (8u << 28);
    GPIOG_AFRH = (GPIOG_AFRH & ~0xFu) | 8u;
    LPUART_CR1 = 0;
    LPUART_BRR = (uint32_t)(((uint64_t)HSI_HZ * 256u + BAUD / 2u) / BAUD);
    LPUART_CR1 = (1u << 5) | (1u << 3) | (1u << 2); /* RXNEIE, TE, RE */
    LPUART_CR1 |= 1u;                              /* UE */
    NVIC_IPR_BYTE(LPUART1_IRQN) = 0x40u;
    tml_cm_nvic_enable(LPUART1_IRQN);
}

void LPUART1_IRQHandler(void)
{
    uint32_t isr = LPUART_ISR;
    if (isr & ISR_ORE) {
        LPUART_ICR = ISR_ORE;
        tml_cm_rx_lost();
    }
    while (LPUART_ISR & ISR_RXNE) {
        tml_cm_rx_put((uint8_t)LPUART_RDR);
    }
}

void tml_port_init(void)
{
    clock_120mhz();
    tml_cm_serial_board_init(CORE_HZ, lpuart1_init);
}

const char *tml_port_board_name(void) { return "nucleo-l4r5zi"; }

static void uart_putc(uint8_t c)
{
    while (!(LPUART_ISR & ISR_TXE)) {
    }
    LPUART_TDR = c;
}

void tml_port_link_write(const uint8_t *buf, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        uart_putc(buf[i]);
    }
}
