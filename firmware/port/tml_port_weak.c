/* Weak defaults for the port API; a board overrides what it has. */
#include "tml_port.h"

__attribute__((weak)) void tml_port_init(void) {}
__attribute__((weak)) uint32_t tml_port_time_ms(void) { return 0; }
__attribute__((weak)) uint64_t tml_port_instructions(void) { return 0; }
__attribute__((weak)) const char *tml_port_cost_unit(void) { return "none"; }
__attribute__((weak)) const char *tml_port_board_name(void) { return "unknown"; }
__attribute__((weak)) void tml_port_log(const char *msg) { (void)msg; }
__attribute__((weak)) int tml_port_link_read(uint8_t *buf, size_t cap)
{
    (void)buf;
    (void)cap;
    return -1;
}
__attribute__((weak)) void tml_port_link_write(const uint8_t *buf, size_t len)
{
    (void)buf;
    (void)len;
}
__attribute__((weak)) uint32_t tml_port_link_dropped(void) { return 0; }
__attribute__((weak)) int tml_port_sensor_read(float *sample, size_t channels)
{
    (void)sample;
    (void)channels;
    return 0;
}
__attribute__((weak)) void tml_port_idle(void) {}
__attribute__((weak)) void tml_port_sleep_ms(uint32_t ms)
{
    uint32_t t0 = tml_port_time_ms();
    while ((uint32_t)(tml_port_time_ms() - t0) < ms) {
        tml_port_idle();
    }
}
__attribute__((weak)) uint32_t tml_port_stack_used(void) { return 0; }
__attribute__((weak)) uint32_t tml_port_nv_size(void) { return 0; }
__attribute__((weak)) int tml_port_nv_read(uint32_t offset, void *buf, uint32_t n)
{
    (void)offset;
    (void)buf;
    (void)n;
    return -1;
}
__attribute__((weak)) int tml_port_nv_write(uint32_t offset, const void *buf, uint32_t n)
{
    (void)offset;
    (void)buf;
    (void)n;
    return -1;
}
__attribute__((weak)) void tml_port_exit(int code)
{
    (void)code;
    for (;;) {
    }
}
