/* tml_port.h - what a board provides. Small on purpose; every function has a weak default
 * (firmware/port/tml_port_weak.c) so a new board only overrides what it has.
 *
 * Cost counter: tml_port_instructions() is the one figure benchmarks use.
 *   qemu-m4 : executed instructions. QEMU runs with -icount shift=0 (1 instruction = 1 ns of virtual
 *             time) and SysTick is clocked at 25 MHz, so one SysTick tick = 40 instructions; the
 *             counter is ticks * 40 (resolution 40 instructions), extended to 64 bits with an
 *             overflow count kept by the SysTick interrupt. Deterministic run to run.
 *   real MCU: CPU cycles from the DWT cycle counter (64-bit extended on every read).
 *   host    : nanoseconds of CLOCK_MONOTONIC (not deterministic).
 * tml_port_cost_unit() names the unit ("instructions", "cycles", "ns"); the device reports it in
 * its hello frame so the host never mixes them up. Read it around the work you want to measure:
 *     uint64_t t0 = tml_port_instructions(); work(); uint64_t cost = tml_port_instructions() - t0;
 */
#ifndef TML_PORT_H
#define TML_PORT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Clocks, UART, counters. Called once, first thing in main(). */
void tml_port_init(void);

/* Milliseconds since tml_port_init() (virtual time under QEMU icount). */
uint32_t tml_port_time_ms(void);

/* The cost counter described above, and its unit. */
uint64_t tml_port_instructions(void);
const char *tml_port_cost_unit(void);

/* Board name as reported to the host (e.g. "qemu-m4"). */
const char *tml_port_board_name(void);

/* Debug text (NUL-terminated) on the board's side channel: semihosting stderr under QEMU, stderr on
 * host. Never the link. Default: dropped. */
void tml_port_log(const char *msg);

/* Device link bytes. read is non-blocking: returns the number of bytes copied (0 when none are
 * waiting) or -1 when the link is closed for good (end of a host pipe). write blocks until sent. */
int tml_port_link_read(uint8_t *buf, size_t cap);
void tml_port_link_write(const uint8_t *buf, size_t len);
/* Link bytes lost so far (receive buffer or UART overrun); main.c reports each new loss as an
 * OVERRUN error frame. Default: 0 (links with back-pressure, like pipes, lose nothing). */
uint32_t tml_port_link_dropped(void);

/* Live sensor: fills one multichannel sample in the manifest's units and returns 1, or returns 0
 * when no new sample is ready. Default: no sensor (0); samples then come over the link only. */
int tml_port_sensor_read(float *sample, size_t channels);

/* Wait a little for something to happen (a link byte, a sensor sample): WFI on an MCU, poll() on
 * host. Default: returns at once. */
void tml_port_idle(void);

/* Busy/low-power sleep. Default: spins on tml_port_time_ms(). */
void tml_port_sleep_ms(uint32_t ms);

/* Non-volatile storage: one small page (a flash page on an MCU) that survives a reset, for state the
 * device learns in the field (a machine's calibration). Offsets are bytes from the page's start;
 * reads of a never-written page give 0xFF (erased flash). tml_port_nv_size() is the page size, 0 when
 * the board has none (the weak default: reads and writes then return -1, and an app keeps its state in
 * RAM only). qemu-m4: a file `tml-nv.bin` in QEMU's working directory through semihosting; host: the
 * file named by the environment variable TML_NV_FILE. Both return the number of bytes, or -1. */
uint32_t tml_port_nv_size(void);
int tml_port_nv_read(uint32_t offset, void *buf, uint32_t n);
int tml_port_nv_write(uint32_t offset, const void *buf, uint32_t n);

/* Bytes of stack touched so far (stack painting at reset), 0 when unknown. */
uint32_t tml_port_stack_used(void);

/* Leave: QEMU exits with `code` (semihosting SYS_EXIT_EXTENDED), host exit(code); a real board
 * has nowhere to go and resets. */
void tml_port_exit(int code) __attribute__((noreturn));

/* Exit code after a hard fault (registers are printed first). */
#define TML_EXIT_HARDFAULT 70

#ifdef __cplusplus
}
#endif
#endif
