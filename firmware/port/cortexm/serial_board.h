/* The tml_port half shared by real Cortex-M boards that talk to the host over a UART
 * (firmware/port/cortexm/serial_board.c; BOARD_RUNNER = serial). It provides:
 *   - the cost counter: DWT cycles (64-bit extended), unit "cycles"; milliseconds from a 1 kHz SysTick;
 *   - link input: a 4 KB ring (room for the TML_LINK_WINDOW = 4 frames the host may have in flight)
 *     that the board's UART receive interrupt fills with tml_cm_rx_put(), losses counted;
 *   - WFI when idle, the stack high-water mark, reset on exit (halt after a hard fault);
 *   - fault text and newlib stdout raw on the link (no debugger channel: the host shows bytes
 *     found outside frames);
 *   - tml_board_early_init(): VTOR = tml_vectors (the image may sit behind a bootloader).
 * The board keeps its clock, its UART (tml_port_link_write, the receive interrupt), its vector
 * table entries and tml_port_board_name(). */
#ifndef TML_CORTEXM_SERIAL_BOARD_H
#define TML_CORTEXM_SERIAL_BOARD_H

#include <stdint.h>

/* The board's tml_port_init(): its clock first, then this: empties the receive ring, runs
 * uart_init (which may enable the receive interrupt), starts DWT and the 1 kHz SysTick at
 * core_hz and enables interrupts. */
void tml_cm_serial_board_init(uint32_t core_hz, void (*uart_init)(void));

/* From the UART receive interrupt: one received byte (dropped and counted when the ring is full),
 * and a byte lost in the UART itself (overrun, framing error). */
void tml_cm_rx_put(uint8_t byte);
void tml_cm_rx_lost(void);

#endif
