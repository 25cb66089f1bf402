/* nano33ble port (nRF52840): HFXO, UARTE0 link (EasyDMA; RX one byte at a time into two
 * alternating buffers, ENDRX->STARTRX shortcut, bytes moved to the serial_board.c ring in the
 * interrupt); DWT cycles, 1 kHz SysTick and the rest in serial_board.c. Register offsets from the
 * nRF52840 Product Specification v1.7. */
#include "cortexm.h"
#include "serial_board.h"
#include "tml_port.h"

#define CORE_HZ 64000000u
#define UARTE0_IRQN 2u
#define TX_PIN ((1u << 5) | 3u)  /* P1.03: D1/TX */
#define RX_PIN ((1u << 5) | 10u) /* P1.10: D0/RX */

#define CLOCK_BASE 0x40000000u
#define CLOCK_TASKS_HFCLKSTART TML_REG(CLOCK_BASE + 0x000u)
#define CLOCK_EVENTS_HFCLKSTARTED TML_REG(CLOCK_BASE + 0x100u)

#define P1_BASE 0x50000300u
#define P1_OUTSET TML_REG(P1_BASE + 0x508u)
#define P1_DIRSET TML_REG(P1_BASE + 0x518u)
#define P1_PIN_CNF(n) TML_REG(P1_BASE + 0x700u + 4u * (n))

#define U_BASE 0x40002000u
#define U_TASKS_STARTRX TML_REG(U_BASE + 0x000u)
#define U_TASKS_STARTTX TML_REG(U_BASE + 0x008u)
#define U_EVENTS_ENDRX TML_REG(U_BASE + 0x110u)
#define U_EVENTS_ENDTX TML_REG(U_BASE + 0x120u)
#define U_EVENTS_ERROR TML_REG(U_BASE + 0x124u)
#define U_EVENTS_RXSTARTED TML_REG(U_BASE + 0x14Cu)
#define U_SHORTS TML_REG(U_BASE + 0x200u)
#define U_INTENSET TML_REG(U_BASE + 0x304u)
#define U_ERRORSRC TML_REG(U_BASE + 0x480u)
#define U_ENABLE TML_REG(U_BASE + 0x500u)
#define U_PSEL_RTS TML_REG(U_BASE + 0x508u)
#define U_PSEL_TXD TML_REG(U_BASE + 0x50Cu)
#define U_PSEL_CTS TML_REG(U_BASE + 0x510u)
#define U_PSEL_RXD TML_REG(U_BASE + 0x514u)
#define U_BAUDRATE TML_REG(U_BASE + 0x524u)
#define U_RXD_PTR TML_REG(U_BASE + 0x534u)
#define U_RXD_MAXCNT TML_REG(U_BASE + 0x538u)
#define U_RXD_AMOUNT TML_REG(U_BASE + 0x53Cu)
#define U_TXD_PTR TML_REG(U_BASE + 0x544u)
#define U_TXD_MAXCNT TML_REG(U_BASE + 0x548u)
#define U_CONFIG TML_REG(U_BASE + 0x56Cu)
#define BAUD_115200 0x01D7E000u
#define PSEL_DISCONNECTED 0xFFFFFFFFu

static volatile uint8_t s_dma_rx[2];
static volatile uint32_t s_filling;
static uint8_t s_dma_tx[64]; /* EasyDMA reads RAM only: flash data is copied here first */

void UARTE0_UART0_IRQHandler(void)
{
    if (U_EVENTS_ERROR) {
        U_EVENTS_ERROR = 0;
        U_ERRORSRC = U_ERRORSRC; /* write 1s to clear */
        tml_cm_rx_lost();
    }
    if (U_EVENTS_ENDRX) {
        U_EVENTS_ENDRX = 0;
        uint32_t done = s_filling;
        s_filling ^= 1u;
        if (U_RXD_AMOUNT) {
            tml_cm_rx_put(s_dma_rx[done]);
        }
    }
    if (U_EVENTS_RXSTARTED) {
        U_EVENTS_RXSTARTED = 0;
        U_RXD_PTR = (uint32_t)&s_dma_rx[s_filling ^ 1u]; /* buffer for the next STARTRX (shortcut) */
    }
}

static void uarte_init(void)
{
    P1_OUTSET = 1u << (TX_PIN & 31u);
    P1_DIRSET = 1u << (TX_PIN & 31u);
    P1_PIN_CNF(RX_PIN & 31u) = 0u | (3u << 2); /* input, buffer connected, pull-up */
    U_ENABLE = 0;
    U_PSEL_TXD = TX_PIN;
    U_PSEL_RXD = RX_PIN;
    U_PSEL_RTS = PSEL_DISCONNECTED;
    U_PSEL_CTS = PSEL_DISCONNECTED;
    U_BAUDRATE = BAUD_115200;
    U_CONFIG = 0; /* 8N1, no flow control */
    U_ENABLE = 8u;
    s_filling = 0;
    U_RXD_PTR = (uint32_t)&s_dma_rx[0];
    U_RXD_MAXCNT = 1;
    U_SHORTS = 1u << 5;                              /* ENDRX -> STARTRX */
    U_INTENSET = (1u << 4) | (1u << 9) | (1u << 19); /* ENDRX, ERROR, RXSTARTED */
    NVIC_IPR_BYTE(UARTE0_IRQN) = 0x40u;
    tml_cm_nvic_enable(UARTE0_IRQN);
    U_TASKS_STARTRX = 1;
}

void tml_port_init(void)
{
    CLOCK_EVENTS_HFCLKSTARTED = 0;
    CLOCK_TASKS_HFCLKSTART = 1;
    while (!CLOCK_EVENTS_HFCLKSTARTED) {
    }
    tml_cm_serial_board_init(CORE_HZ, uarte_init);
}

const char *tml_port_board_name(void) { return "nano33ble"; }

void tml_port_link_write(const uint8_t *buf, size_t len)
{
    while (len) {
        size_t n = len < sizeof s_dma_tx ? len : sizeof s_dma_tx;
        for (size_t i = 0; i < n; i++) {
            s_dma_tx[i] = buf[i];
        }
        U_EVENTS_ENDTX = 0;
        U_TXD_PTR = (uint32_t)s_dma_tx;
        U_TXD_MAXCNT = n;
        U_TASKS_STARTTX = 1;
        while (!U_EVENTS_ENDTX) {
        }
        buf += n;
        len -= n;
    }
}
