/* Shared Cortex-M runtime: reset, faults, newlib syscalls, SysTick/DWT helpers. */
#include "cortexm.h"

#include <errno.h>
#include <sys/stat.h>

#include "tml_port.h"

extern uint32_t _sidata, _sdata, _edata, _sbss, _ebss, _sstack;
int main(void);

#define STACK_PAINT 0xC0FFEE11u

__attribute__((weak)) void tml_board_early_init(void) {}

__attribute__((noreturn)) void Reset_Handler(void)
{
#if defined(__ARM_FP)
    /* CP10/CP11 full access before any floating-point instruction. */
    SCB_CPACR |= 0xFu << 20;
    tml_cm_dsb();
    tml_cm_isb();
#endif
    volatile uint32_t *src = &_sidata;
    volatile uint32_t *dst = &_sdata;
    while (dst < &_edata) {
        *dst++ = *src++;
    }
    for (dst = &_sbss; dst < &_ebss;) {
        *dst++ = 0;
    }
    /* Paint the free stack below the current frame; tml_cm_stack_used() finds the high-water mark. */
    uint32_t sp;
    __asm volatile("mov %0, sp" : "=r"(sp));
    for (dst = &_sstack; (uint32_t)dst < sp - 64u;) {
        *dst++ = STACK_PAINT;
    }
    tml_board_early_init();
    int rc = main();
    tml_port_exit(rc);
}

uint32_t tml_cm_stack_used(void)
{
    const uint32_t *p = &_sstack;
    while (p < &_estack && *p == STACK_PAINT) {
        p++;
    }
    return (uint32_t)((const uint8_t *)&_estack - (const uint8_t *)p);
}

void tml_cm_hex32(uint32_t v, char out[9])
{
    static const char digits[] = "0123456789abcdef";
    for (int i = 7; i >= 0; i--) {
        out[i] = digits[v & 0xFu];
        v >>= 4;
    }
    out[8] = '\0';
}

__attribute__((weak)) void tml_cm_fault_puts(const char *s) { tml_port_log(s); }

static void put_reg(const char *name, uint32_t v)
{
    char hex[9];
    tml_cm_hex32(v, hex);
    tml_cm_fault_puts(name);
    tml_cm_fault_puts("=0x");
    tml_cm_fault_puts(hex);
    tml_cm_fault_puts(" ");
}

/* frame: r0 r1 r2 r3 r12 lr pc xpsr as stacked by the exception entry. */
__attribute__((used, noreturn)) void tml_cm_fault(const uint32_t *frame, uint32_t exc_return)
{
    uint32_t ipsr;
    __asm volatile("mrs %0, ipsr" : "=r"(ipsr));
    tml_cm_fault_puts("\r\n*** HARDFAULT ");
    put_reg("exc", ipsr & 0x1FFu);
    tml_cm_fault_puts("\r\n");
    put_reg("r0", frame[0]);
    put_reg("r1", frame[1]);
    put_reg("r2", frame[2]);
    put_reg("r3", frame[3]);
    tml_cm_fault_puts("\r\n");
    put_reg("r12", frame[4]);
    put_reg("lr", frame[5]);
    put_reg("pc", frame[6]);
    put_reg("xpsr", frame[7]);
    tml_cm_fault_puts("\r\n");
    put_reg("cfsr", SCB_CFSR);
    put_reg("hfsr", SCB_HFSR);
    put_reg("mmfar", SCB_MMFAR);
    put_reg("bfar", SCB_BFAR);
    put_reg("exc_return", exc_return);
    tml_cm_fault_puts("\r\n");
    tml_port_exit(TML_EXIT_HARDFAULT);
}

__attribute__((naked)) void HardFault_Handler(void)
{
    __asm volatile(
        "tst lr, #4\n"
        "ite eq\n"
        "mrseq r0, msp\n"
        "mrsne r0, psp\n"
        "mov r1, lr\n"
        "b tml_cm_fault\n");
}

__attribute__((weak)) void Default_Handler(void)
{
    uint32_t ipsr;
    char hex[9];
    __asm volatile("mrs %0, ipsr" : "=r"(ipsr));
    tml_cm_hex32(ipsr & 0x1FFu, hex);
    tml_cm_fault_puts("\r\n*** unexpected exception 0x");
    tml_cm_fault_puts(hex);
    tml_cm_fault_puts("\r\n");
    tml_port_exit(TML_EXIT_HARDFAULT);
}

void NMI_Handler(void) __attribute__((weak, alias("Default_Handler")));
void MemManage_Handler(void) __attribute__((weak, alias("HardFault_Handler")));
void BusFault_Handler(void) __attribute__((weak, alias("HardFault_Handler")));
void UsageFault_Handler(void) __attribute__((weak, alias("HardFault_Handler")));
void SVC_Handler(void) __attribute__((weak, alias("Default_Handler")));
void DebugMon_Handler(void) __attribute__((weak, alias("Default_Handler")));
void PendSV_Handler(void) __attribute__((weak, alias("Default_Handler")));

/* ---- 1 kHz tick and DWT (real boards; the QEMU board runs SysTick as an instruction counter) ---- */
static volatile uint32_t s_millis;
static volatile uint32_t s_dwt_hi, s_dwt_last;

void tml_cm_dwt_init(void)
{
    DEMCR |= 1u << 24; /* TRCENA */
    DWT_CYCCNT = 0;
    DWT_CTRL |= 1u; /* CYCCNTENA */
    s_dwt_hi = 0;
    s_dwt_last = 0;
}

uint64_t tml_cm_dwt_cycles(void)
{
    uint32_t primask;
    __asm volatile("mrs %0, primask" : "=r"(primask));
    tml_cm_irq_disable();
    uint32_t now = DWT_CYCCNT;
    if (now < s_dwt_last) {
        s_dwt_hi++;
    }
    s_dwt_last = now;
    uint64_t v = ((uint64_t)s_dwt_hi << 32) | now;
    if (!primask) {
        tml_cm_irq_enable();
    }
    return v;
}

void tml_cm_systick_1khz(uint32_t core_hz)
{
    SYST_RVR = core_hz / 1000u - 1u;
    SYST_CVR = 0;
    SYST_CSR = 7u; /* processor clock, interrupt, enable */
}

uint32_t tml_cm_millis(void) { return s_millis; }

__attribute__((weak)) void SysTick_Handler(void)
{
    s_millis++;
    (void)tml_cm_dwt_cycles(); /* keeps the 64-bit extension current */
}

/* ---- newlib syscalls: console on fd 1/2, stdin on fd 0 ---- */
__attribute__((weak)) void tml_cm_stdout_write(const char *buf, size_t len)
{
    (void)buf;
    (void)len;
}
__attribute__((weak)) void tml_cm_stderr_write(const char *buf, size_t len)
{
    (void)buf;
    (void)len;
}
__attribute__((weak)) int tml_cm_stdin_getc(void) { return -1; }

int _write(int fd, const char *buf, int len);
int _read(int fd, char *buf, int len);
int _close(int fd);
int _lseek(int fd, int off, int whence);
int _fstat(int fd, struct stat *st);
int _isatty(int fd);
void *_sbrk(ptrdiff_t incr);
int _getpid(void);
int _kill(int pid, int sig);
void _exit(int code);

int _write(int fd, const char *buf, int len)
{
    if (fd == 1) {
        tml_cm_stdout_write(buf, (size_t)len);
    } else if (fd == 2) {
        tml_cm_stderr_write(buf, (size_t)len);
    } else {
        errno = EBADF;
        return -1;
    }
    return len;
}

int _read(int fd, char *buf, int len)
{
    if (fd != 0) {
        errno = EBADF;
        return -1;
    }
    int n = 0;
    while (n < len) {
        int c = tml_cm_stdin_getc();
        if (c < 0) {
            break;
        }
        buf[n++] = (char)c;
        if (c == '\n') {
            break;
        }
    }
    return n;
}

int _close(int fd)
{
    (void)fd;
    return -1;
}
int _lseek(int fd, int off, int whence)
{
    (void)fd;
    (void)off;
    (void)whence;
    return 0;
}
int _fstat(int fd, struct stat *st)
{
    (void)fd;
    st->st_mode = S_IFCHR;
    return 0;
}
int _isatty(int fd) { return fd <= 2; }

/* No dynamic allocation in firmware: main.c, the link, the runtime and apps never call malloc,
 * and tinyml.device.size fails an image that links it. newlib-nano's stdio, used only by test and
 * benchmark programs that printf, allocates its std FILEs on first use, so _sbrk hands it a small
 * fixed pool (linked only when malloc is) and nothing more. */
#define TML_NEWLIB_POOL 2048u
void *_sbrk(ptrdiff_t incr)
{
    static uint8_t pool[TML_NEWLIB_POOL] __attribute__((aligned(8)));
    static size_t used;
    if (incr < 0 || (size_t)incr > TML_NEWLIB_POOL - used) {
        errno = ENOMEM;
        return (void *)-1;
    }
    void *p = &pool[used];
    used += (size_t)incr;
    return p;
}
int _getpid(void) { return 1; }
int _kill(int pid, int sig)
{
    (void)pid;
    (void)sig;
    errno = EINVAL;
    return -1;
}
void _exit(int code) { tml_port_exit(code); }
