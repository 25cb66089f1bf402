/* tml_port for real Cortex-M boards on a UART link: DWT cycles, 1 kHz SysTick, receive ring,
 * reset on exit (see serial_board.h). */
#include "serial_board.h"

#include "cortexm.h"
#include "tml_port.h"
#include "tml_ring.h"

static uint8_t s_rx_store[4096]; /* >= TML_LINK_WINDOW (4) full frames in flight */
static tml_ring_u8 s_rx;

void tml_board_early_init(void) { SCB_VTOR = (uint32_t)tml_vectors; }

void tml_cm_serial_board_init(uint32_t core_hz, void (*uart_init)(void))
{
    (void)tml_ring_u8_init(&s_rx, s_rx_store, sizeof s_rx_store);
    uart_init();
    tml_cm_dwt_init();
    tml_cm_systick_1khz(core_hz);
    tml_cm_irq_enable();
}

void tml_cm_rx_put(uint8_t byte) { (void)tml_ring_u8_put(&s_rx, byte); }
void tml_cm_rx_lost(void) { s_rx.dropped++; }

uint32_t tml_port_time_ms(void) { return tml_cm_millis(); }
uint64_t tml_port_instructions(void) { return tml_cm_dwt_cycles(); }
const char *tml_port_cost_unit(void) { return "cycles"; }

int tml_port_link_read(uint8_t *buf, size_t cap) { return (int)tml_ring_u8_read(&s_rx, buf, cap); }
uint32_t tml_port_link_dropped(void) { return s_rx.dropped; }

void tml_port_idle(void) { tml_cm_wfi(); }
uint32_t tml_port_stack_used(void) { return tml_cm_stack_used(); }

/* No debugger channel: fault text goes raw to the UART (the host shows bytes outside frames).
 * A byte at a time: a length loop would become a call to newlib's strlen (flash for nothing). */
void tml_cm_fault_puts(const char *s)
{
    for (; *s; s++) {
        tml_port_link_write((const uint8_t *)s, 1);
    }
}
void tml_cm_stdout_write(const char *buf, size_t len) { tml_port_link_write((const uint8_t *)buf, len); }

void tml_port_exit(int code)
{
    if (code != TML_EXIT_HARDFAULT) {
        tml_cm_dsb();
        TML_REG(0xE000ED0Cu) = 0x05FA0004u; /* AIRCR SYSRESETREQ: start again, hello and all */
    }
    for (;;) {
        tml_cm_wfi();
    }
}
