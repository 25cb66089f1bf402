/* avr-uno port: ATmega328P at 16 MHz.
 *
 * Link: USART0 (the Uno's USB serial) at TML_BOARD_BAUD 8N1 with U2X; received bytes go from the RX
 *       interrupt into a 32-byte ring (the host keeps one frame in flight and the main loop drains the
 *       ring into the frame parser as bytes come), sent bytes are written polled.
 * Cost: CPU cycles. Timer1 runs at clk/1 and its overflow interrupt counts the high bits, so a reading
 *       is exact to the cycle (on the chip and under simavr alike).
 * Idle: the CPU sleeps (idle mode) until the next interrupt: a link byte or a Timer1 overflow.
 * Stack: painted in tml_port_init from the end of static data up; tml_port_stack_used() finds the
 *       high-water mark.
 * Simulator conventions (firmware/port/avr/simavr_link.c): writes to GPIOR1 are debug text, a write to
 *       GPIOR2 with bit 7 set ends the run with exit code bits 0-6, and GPIOR0 bit 0 is set by the
 *       simulator once the host has closed the link and every byte has been received. (When main returns,
 *       avr-libc stops the CPU with interrupts off; the simulator ends the run there.) On a real Uno these
 *       general-purpose registers are otherwise unused: the debug text goes nowhere and exit resets.
 */
#include <avr/interrupt.h>
#include <avr/io.h>
#include <avr/sleep.h>
#include <avr/wdt.h>

#include "tml_port.h"
#include "tml_ring.h"

#ifndef TML_BOARD_BAUD
#define TML_BOARD_BAUD 250000UL
#endif
#define RX_RING 32u /* one link frame at a time (window 1): the main loop drains it into the parser as bytes come */
#define STACK_PAINT 0xC5u
#define SIM_EXIT_FLAG 0x80u
#define SIM_EOF_FLAG 0x01u

static uint8_t s_rx_store[RX_RING];
static tml_ring_u8 s_rx;
static volatile uint32_t s_t1_wraps; /* Timer1 overflows since init */

extern uint8_t __heap_start; /* end of .data/.bss/.noinit: the lowest byte the stack may reach */
extern uint8_t __stack;      /* RAMEND, where the stack starts */

/* Paint the free RAM from the end of static data to just below the caller's frame (tml_port_init runs
 * first thing in main, so only main's own frame lies above). */
static void paint_stack(void)
{
    uint8_t *p = &__heap_start;
    uint8_t *top = (uint8_t *)SP - 16;
    while (p < top) {
        *p++ = STACK_PAINT;
    }
}

ISR(USART_RX_vect)
{
    uint8_t status = UCSR0A;
    uint8_t byte = UDR0;
    if (status & (uint8_t)(_BV(DOR0) | _BV(FE0))) {
        s_rx.dropped++; /* the hardware lost or garbled a byte before this one */
    }
    (void)tml_ring_u8_put(&s_rx, byte);
}

ISR(TIMER1_OVF_vect) { s_t1_wraps++; }

void tml_port_init(void)
{
    MCUSR = 0;
    wdt_disable(); /* a reset by tml_port_exit leaves the watchdog on */
    paint_stack();
    (void)tml_ring_u8_init(&s_rx, s_rx_store, sizeof s_rx_store);
    s_t1_wraps = 0;
    TCCR1A = 0;
    TCCR1B = _BV(CS10); /* clk/1, normal mode: counts cycles */
    TCNT1 = 0;
    TIFR1 = _BV(TOV1);
    TIMSK1 = _BV(TOIE1);
    UBRR0 = (uint16_t)(F_CPU / 8UL / TML_BOARD_BAUD - 1UL);
    UCSR0A = _BV(U2X0);
    UCSR0C = (uint8_t)(_BV(UCSZ01) | _BV(UCSZ00)); /* 8N1 */
    UCSR0B = (uint8_t)(_BV(RXEN0) | _BV(TXEN0) | _BV(RXCIE0));
    set_sleep_mode(SLEEP_MODE_IDLE);
    sei();
}

uint64_t tml_port_instructions(void)
{
    uint32_t wraps;
    uint16_t t;
    uint8_t sreg = SREG;
    cli();
    t = TCNT1;
    wraps = s_t1_wraps;
    if ((TIFR1 & _BV(TOV1)) && t < 0x8000u) {
        wraps++; /* overflowed after interrupts went off: its interrupt has not run yet */
    }
    SREG = sreg;
    return ((uint64_t)wraps << 16) | t;
}

uint32_t tml_port_time_ms(void) { return (uint32_t)(tml_port_instructions() / (F_CPU / 1000UL)); }
const char *tml_port_cost_unit(void) { return "cycles"; }
const char *tml_port_board_name(void) { return "avr-uno"; }

void tml_port_log(const char *msg)
{
    while (*msg) {
        GPIOR1 = (uint8_t)*msg++;
    }
}

int tml_port_link_read(uint8_t *buf, size_t cap)
{
    uint8_t eof = GPIOR0 & SIM_EOF_FLAG; /* before the read: set only once every byte is in the ring */
    size_t n = tml_ring_u8_read(&s_rx, buf, cap);
    return (n == 0 && eof) ? -1 : (int)n;
}

uint32_t tml_port_link_dropped(void) { return s_rx.dropped; }

void tml_port_link_write(const uint8_t *buf, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        while (!(UCSR0A & _BV(UDRE0))) {
        }
        UDR0 = buf[i];
    }
}

void tml_port_idle(void)
{
    cli();
    if (tml_ring_u8_count(&s_rx) == 0u) {
        sleep_enable();
        sei(); /* the instruction after SEI runs before any interrupt: no wake-up is missed */
        sleep_cpu();
        sleep_disable();
    }
    sei();
}

uint32_t tml_port_stack_used(void)
{
    const uint8_t *p = &__heap_start;
    while (p <= &__stack && *p == STACK_PAINT) {
        p++;
    }
    return (uint32_t)(&__stack - p + 1);
}

void tml_port_exit(int code)
{
    GPIOR2 = (uint8_t)(SIM_EXIT_FLAG | ((unsigned)code & 0x7Fu));
    /* A real board has nowhere to go: wait for the transmitter to drain, then reset by watchdog, so it
     * starts again with a hello like the other boards. */
    while (!(UCSR0A & _BV(UDRE0))) {
    }
    wdt_enable(WDTO_15MS);
    for (;;) {
    }
}
