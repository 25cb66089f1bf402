/* qemu-m4 port: CMSDK UART0 (link, polled), SysTick as an instruction counter, semihosting for
 * debug text and the exit code. */
#include "cortexm.h"
#include "semihost.h"
#include "tml_port.h"

#define UART0_BASE 0x40004000u
#define UART_DATA TML_REG(UART0_BASE + 0x00u)
#define UART_STATE TML_REG(UART0_BASE + 0x04u)
#define UART_CTRL TML_REG(UART0_BASE + 0x08u)
#define UART_BAUDDIV TML_REG(UART0_BASE + 0x10u)
#define UART_STATE_TXFULL 1u
#define UART_STATE_RXFULL 2u

/* SysTick on the 25 MHz processor clock; under -icount shift=0 one instruction is 1 ns, so one
 * tick is 40 instructions. A full 24-bit period wraps every ~0.67 s of virtual time. */
#define SYSTICK_HZ 25000000u
#define INSTR_PER_TICK 40u
#define SYSTICK_RELOAD 0x00FFFFFFu

static volatile uint32_t s_wraps;

/* Link input: QEMU's emulated UART takes one byte per main-loop turn (~20 KB/s), too slow to replay
 * audio. When the host provides a FIFO named TML_LINK_FIFO in QEMU's working directory, the link
 * input is read from it with semihosting (blocking reads, several MB/s); otherwise from UART0 RX.
 * Output always goes out on UART0 (QEMU's stdout). */
#define TML_LINK_FIFO "tml-link-in.fifo"
static int s_link_in = -1;

void SysTick_Handler(void) { s_wraps++; }

static uint64_t ticks(void)
{
    uint32_t w, v, pend;
    do {
        w = s_wraps;
        v = SYST_CVR;
        pend = SCB_ICSR & SCB_ICSR_PENDSTSET;
    } while (w != s_wraps);
    /* A wrap that happened but whose interrupt has not run yet (pending): VAL is near reload. */
    if (pend && v > SYSTICK_RELOAD / 2u) {
        w++;
    }
    return (uint64_t)w * (SYSTICK_RELOAD + 1u) + (SYSTICK_RELOAD - v);
}

void tml_port_init(void)
{
    UART_BAUDDIV = 16u;
    UART_CTRL = 3u; /* TX + RX enable */
    s_wraps = 0;
    SYST_RVR = SYSTICK_RELOAD;
    SYST_CVR = 0;
    SYST_CSR = 7u; /* processor clock, interrupt on wrap, enable */
    tml_cm_irq_enable();
    s_link_in = tml_sh_open(TML_LINK_FIFO, TML_SH_MODE_RB);
}

uint32_t tml_port_time_ms(void) { return (uint32_t)(ticks() / (SYSTICK_HZ / 1000u)); }
uint64_t tml_port_instructions(void) { return ticks() * INSTR_PER_TICK; }
const char *tml_port_cost_unit(void) { return "instructions"; }
const char *tml_port_board_name(void) { return "qemu-m4"; }

static size_t cstrlen(const char *s)
{
    size_t n = 0;
    while (s[n]) {
        n++;
    }
    return n;
}

void tml_port_log(const char *msg) { tml_sh_write_stderr(msg, cstrlen(msg)); }

int tml_port_link_read(uint8_t *buf, size_t cap)
{
    if (s_link_in >= 0) {
        int got = tml_sh_read(s_link_in, buf, cap);
        return got > 0 ? got : -1; /* 0 bytes from a blocking read: the host closed the FIFO */
    }
    size_t n = 0;
    while (n < cap && (UART_STATE & UART_STATE_RXFULL)) {
        buf[n++] = (uint8_t)UART_DATA;
    }
    return (int)n;
}

static void uart_putc(uint8_t c)
{
    while (UART_STATE & UART_STATE_TXFULL) {
    }
    UART_DATA = c;
}

void tml_port_link_write(const uint8_t *buf, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        uart_putc(buf[i]);
    }
}

uint32_t tml_port_stack_used(void) { return tml_cm_stack_used(); }

/* Non-volatile page: a RAM mirror of `tml-nv.bin` (QEMU's working directory), loaded on first use and
 * written back whole on every write, as flash keeps a page. Absent file: an erased page (0xFF). */
#define TML_NV_FILE "tml-nv.bin"
#ifndef TML_NV_SIZE
#define TML_NV_SIZE 2048u
#endif
static uint8_t s_nv[TML_NV_SIZE];
static int s_nv_loaded;

static void nv_load(void)
{
    if (s_nv_loaded) {
        return;
    }
    for (uint32_t i = 0; i < TML_NV_SIZE; i++) {
        s_nv[i] = 0xFFu;
    }
    int h = tml_sh_open(TML_NV_FILE, TML_SH_MODE_RB);
    if (h >= 0) {
        long len = tml_sh_flen(h);
        (void)tml_sh_read(h, s_nv, len > 0 && (uint32_t)len < TML_NV_SIZE ? (size_t)len : TML_NV_SIZE);
        (void)tml_sh_close(h);
    }
    s_nv_loaded = 1;
}

uint32_t tml_port_nv_size(void) { return TML_NV_SIZE; }

int tml_port_nv_read(uint32_t offset, void *buf, uint32_t n)
{
    if (offset > TML_NV_SIZE || n > TML_NV_SIZE - offset) {
        return -1;
    }
    nv_load();
    for (uint32_t i = 0; i < n; i++) {
        ((uint8_t *)buf)[i] = s_nv[offset + i];
    }
    return (int)n;
}

int tml_port_nv_write(uint32_t offset, const void *buf, uint32_t n)
{
    if (offset > TML_NV_SIZE || n > TML_NV_SIZE - offset) {
        return -1;
    }
    nv_load();
    for (uint32_t i = 0; i < n; i++) {
        s_nv[offset + i] = ((const uint8_t *)buf)[i];
    }
    int h = tml_sh_open(TML_NV_FILE, TML_SH_MODE_WB);
    if (h < 0) {
        return -1;
    }
    int done = tml_sh_write(h, s_nv, TML_NV_SIZE);
    (void)tml_sh_close(h);
    return done == (int)TML_NV_SIZE ? (int)n : -1;
}

void tml_port_exit(int code) { tml_sh_exit(code); }

/* newlib: printf -> UART (QEMU stdout), fprintf(stderr) -> semihosting (QEMU stderr),
 * getchar <- UART (QEMU stdin). */
void tml_cm_stdout_write(const char *buf, size_t len) { tml_port_link_write((const uint8_t *)buf, len); }
void tml_cm_stderr_write(const char *buf, size_t len) { tml_sh_write_stderr(buf, len); }
int tml_cm_stdin_getc(void)
{
    while (!(UART_STATE & UART_STATE_RXFULL)) {
    }
    return (int)(UART_DATA & 0xFFu);
}
