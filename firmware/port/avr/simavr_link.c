/* simavr_link: run an AVR firmware ELF under simavr with its USART0 wired to this process's stdin and
 * stdout, byte for byte: the device link, as QEMU's -serial stdio gives it for qemu-m4.
 *
 * A host tool (built with gcc against Debian's libsimavr by tinyml.device.simavr), never part of a
 * firmware image.
 *
 *   simavr_link -m atmega328p -f 16000000 [-s stack_floor] firmware.elf
 *
 * Conventions shared with the AVR ports (firmware/boards/avr-uno/port.c):
 *   GPIOR1 write          one byte of debug text, copied to stderr;
 *   GPIOR2 write, bit 7   the firmware exits with code bits 0-6;
 *   GPIOR0 bit 0          set here once stdin has closed and every byte has reached the firmware, so its
 *                         link_read reports the link closed (a real Uno never sees it set);
 *   CPU stopped           a jump to itself with interrupts off (avr-libc after main returns): exit with
 *                         the code main returned (r24).
 * Exit codes: the firmware's; 70 when the stack pointer went below `stack_floor` (the end of static data:
 * the stack has overwritten it) or the CPU crashed; 2 for a usage or load error.
 *
 * Time: cycles are the firmware's own (its Timer1 counts them); sleeping advances to the next timer event
 * at once instead of waiting in real time. simavr prints its own notices on stdout, so the link gets a
 * private copy of stdout and stdout itself is pointed at stderr.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "avr_uart.h"
#include "sim_avr.h"
#include "sim_elf.h"
#include "sim_io.h"
#include "sim_irq.h"

DEFINE_FIFO(uint16_t, uart_fifo); /* the inline accessors of the UART's input FIFO (declared in avr_uart.h) */

/* ATmega328P data-space addresses (I/O address + 0x20) of the registers used as a side channel. */
#define GPIOR0_ADDR 0x3E
#define GPIOR1_ADDR 0x4A
#define GPIOR2_ADDR 0x4B
#define UCSR0A_ADDR 0xC0
#define UCSR0B_ADDR 0xC1
#define RXC0_BIT 0x80
#define RXEN0_BIT 0x10
#define EOF_FLAG 0x01
#define EXIT_FLAG 0x80
#define EXIT_STACK 70

static int s_link_out = -1;
static uint8_t s_out[4096];
static size_t s_out_n;
static uint8_t s_in[4096];
static size_t s_in_pos, s_in_n;
static int s_stdin_open = 1;
static int s_exit = -1;

static void flush_out(void)
{
    size_t done = 0;
    while (done < s_out_n) {
        ssize_t w = write(s_link_out, s_out + done, s_out_n - done);
        if (w < 0) {
            if (errno == EINTR) {
                continue;
            }
            exit(3); /* the host end of the pipe is gone */
        }
        done += (size_t)w;
    }
    s_out_n = 0;
}

static void on_uart_out(struct avr_irq_t *irq, uint32_t value, void *param)
{
    (void)irq;
    (void)param;
    if (s_out_n == sizeof s_out) {
        flush_out();
    }
    s_out[s_out_n++] = (uint8_t)value;
}

static void on_debug(struct avr_t *avr, avr_io_addr_t addr, uint8_t v, void *param)
{
    (void)param;
    avr->data[addr] = v;
    fputc(v, stderr);
    if (v == '\n') {
        fflush(stderr);
    }
}

static void on_exit_reg(struct avr_t *avr, avr_io_addr_t addr, uint8_t v, void *param)
{
    (void)param;
    avr->data[addr] = v;
    if (v & EXIT_FLAG) {
        s_exit = v & 0x7F;
    }
}

/* Sleeping costs no wall-clock time: simavr has already moved the cycle counter to the next event. */
static void sleep_none(avr_t *avr, avr_cycle_count_t how_long)
{
    (void)avr;
    (void)how_long;
}

/* Whether the instruction at byte address pc is `out <io>, r` (OUT: 1011 1AAr rrrr AAAA). */
static int out_to(const avr_t *avr, uint32_t pc, unsigned io)
{
    if (pc + 1 > avr->flashend) {
        return 0;
    }
    uint16_t op = (uint16_t)(avr->flash[pc] | (avr->flash[pc + 1] << 8));
    return (op & 0xF800u) == 0xB800u && ((((unsigned)op >> 5) & 0x30u) | (op & 0x0Fu)) == io;
}

/* avr-gcc moves the stack pointer in two halves: out SPH; [out SREG;] out SPL (interrupts held off). Between
 * them SP reads new high byte : old low byte, a value the code never uses: SP is not checked then. */
static int spl_write_pending(const avr_t *avr)
{
    return out_to(avr, avr->pc, 0x3d) || (out_to(avr, avr->pc, 0x3f) && out_to(avr, avr->pc + 2, 0x3d));
}

static avr_uart_t *find_uart0(avr_t *avr)
{
    for (avr_io_t *io = avr->io_port; io; io = io->next) {
        if (io->kind && strcmp(io->kind, "uart") == 0 && ((avr_uart_t *)io)->name == '0') {
            return (avr_uart_t *)io;
        }
    }
    return NULL;
}

/* Read what stdin has (without blocking unless `wait_ms` > 0). */
static void pump_stdin(int wait_ms)
{
    if (!s_stdin_open || s_in_pos < s_in_n) {
        return;
    }
    struct pollfd p = {.fd = 0, .events = POLLIN, .revents = 0};
    if (poll(&p, 1, wait_ms) <= 0) {
        return;
    }
    ssize_t n = read(0, s_in, sizeof s_in);
    if (n > 0) {
        s_in_pos = 0;
        s_in_n = (size_t)n;
    } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
        s_stdin_open = 0;
    }
}

int main(int argc, char **argv)
{
    const char *mcu = "atmega328p";
    unsigned long freq = 16000000ul;
    unsigned long stack_floor = 0;
    int opt;
    while ((opt = getopt(argc, argv, "m:f:s:")) != -1) {
        if (opt == 'm') {
            mcu = optarg;
        } else if (opt == 'f') {
            freq = strtoul(optarg, NULL, 0);
        } else if (opt == 's') {
            stack_floor = strtoul(optarg, NULL, 0);
        } else {
            fprintf(stderr, "usage: %s [-m mcu] [-f hz] [-s stack_floor] firmware.elf\n", argv[0]);
            return 2;
        }
    }
    if (optind != argc - 1) {
        fprintf(stderr, "usage: %s [-m mcu] [-f hz] [-s stack_floor] firmware.elf\n", argv[0]);
        return 2;
    }
    s_link_out = dup(1);
    if (s_link_out < 0 || dup2(2, 1) < 0) {
        perror("simavr_link: dup");
        return 2;
    }
    elf_firmware_t fw;
    memset(&fw, 0, sizeof fw);
    if (elf_read_firmware(argv[optind], &fw) != 0) {
        fprintf(stderr, "simavr_link: cannot read %s\n", argv[optind]);
        return 2;
    }
    avr_t *avr = avr_make_mcu_by_name(mcu);
    if (!avr) {
        fprintf(stderr, "simavr_link: simavr does not know the MCU %s\n", mcu);
        return 2;
    }
    avr_init(avr);
    avr->log = 1; /* errors only */
    avr->frequency = (uint32_t)freq;
    avr_load_firmware(avr, &fw);
    avr->frequency = (uint32_t)freq; /* the ELF's .mmcu section, if any, must not change it */
    avr->sleep = sleep_none;

    uint32_t flags = 0; /* no line printing, no polling sleep */
    avr_ioctl(avr, AVR_IOCTL_UART_SET_FLAGS('0'), &flags);
    avr_irq_t *uart = avr_io_getirq(avr, AVR_IOCTL_UART_GETIRQ('0'), 0);
    avr_uart_t *u0 = find_uart0(avr);
    if (!uart || !u0) {
        fprintf(stderr, "simavr_link: %s has no USART0\n", mcu);
        return 2;
    }
    avr_irq_register_notify(uart + UART_IRQ_OUTPUT, on_uart_out, NULL);
    avr_register_io_write(avr, GPIOR1_ADDR, on_debug, NULL);
    avr_register_io_write(avr, GPIOR2_ADDR, on_exit_reg, NULL);

    int code = 0;
    uint32_t last_pc = 0xFFFFFFFFu;
    for (;;) {
        /* A burst of instructions, then the link's I/O. */
        for (int i = 0; i < 512; i++) {
            int state = avr_run(avr);
            if (s_exit >= 0) {
                code = s_exit;
                goto done;
            }
            if (state == cpu_Done || state == cpu_Crashed) {
                fprintf(stderr, "simavr_link: the CPU %s\n", state == cpu_Done ? "stopped" : "crashed");
                code = state == cpu_Done ? avr->data[24] : EXIT_STACK;
                goto done;
            }
            if (avr->pc == last_pc && !avr->sreg[S_I] && state == cpu_Running) {
                code = avr->data[24]; /* halted with interrupts off: main returned (r24 = its code) */
                goto done;
            }
            last_pc = avr->pc;
            uint16_t sp = (uint16_t)(avr->data[R_SPL] | (avr->data[R_SPH] << 8));
            if (stack_floor && sp < stack_floor && !spl_write_pending(avr)) {
                fprintf(stderr, "simavr_link: stack overflow: SP 0x%04x below the end of static data 0x%04lx "
                        "(pc 0x%05x)\n", sp, stack_floor, (unsigned)avr->pc);
                code = EXIT_STACK;
                goto done;
            }
        }
        int sleeping = avr->state == cpu_Sleeping;
        if (s_out_n) {
            flush_out();
        }
        pump_stdin(sleeping && s_in_pos == s_in_n && uart_fifo_isempty(&u0->input) ? 1 : 0);
        /* Flow control by the UART's input FIFO itself (its XON signal only comes when the firmware polls
         * UCSR0A on an empty FIFO, which an interrupt-driven receiver never does). The UART drops bytes
         * that arrive before the firmware enables its receiver (UCSR0B.RXEN0). */
        int rx_on = (avr->data[UCSR0B_ADDR] & RXEN0_BIT) != 0;
        while (rx_on && s_in_pos < s_in_n && !uart_fifo_isfull(&u0->input)) {
            avr_raise_irq(uart + UART_IRQ_INPUT, s_in[s_in_pos++]);
        }
        /* The RX-complete flag (UCSR0A bit 7) clears when the firmware reads the last byte. */
        if (!s_stdin_open && s_in_pos == s_in_n && uart_fifo_isempty(&u0->input) && !(avr->data[UCSR0A_ADDR] & RXC0_BIT)) {
            avr->data[GPIOR0_ADDR] |= EOF_FLAG;
        }
    }
done:
    flush_out();
    fflush(stderr);
    return code;
}
