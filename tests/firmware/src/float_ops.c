/* The float32 operations app code relies on, on the board's own C library: +, -, *, /, sqrtf, floorf and
 * int <-> float conversions of the operand pairs in vectors.h, printed as IEEE bit patterns (hex). The
 * test compares them with numpy's float32 (correct rounding): an 8-bit AVR's soft float must agree. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "tml_flash.h"
#include "tml_port.h"
#include "vectors.h"

static void put(const char *s)
{
    const char *e = s;
    while (*e) {
        e++;
    }
    tml_port_link_write((const uint8_t *)s, (size_t)(e - s));
}

static void put_hex(uint32_t v)
{
    char b[10];
    for (int i = 7; i >= 0; i--) {
        b[i] = "0123456789abcdef"[v & 15u];
        v >>= 4;
    }
    b[8] = ' ';
    b[9] = 0;
    put(b);
}

static uint32_t bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

int main(void)
{
    tml_port_init();
    for (int i = 0; i < N_VECTORS; i++) {
        volatile float x = VEC_A[i], y = VEC_B[i]; /* volatile: computed at run time, not folded */
        put_hex(bits(x + y));
        put_hex(bits(x - y));
        put_hex(bits(x * y));
        put_hex(bits(x / y));
        put_hex(bits(sqrtf(x < 0.0f ? -x : x)));
        put_hex(bits(floorf(x)));
        put_hex((uint32_t)(int32_t)x);
        put_hex(bits((float)(int32_t)(y * 1000.0f)));
        put("\n");
    }
    put("done\n");
    tml_port_exit(0);
}
