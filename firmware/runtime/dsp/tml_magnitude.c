/* tml_magnitude: twin of tinyml.dsp.magnitude (float32 path and exact integer path). */
#include <math.h>

#include "tml_dsp.h"

void tml_magnitude(const float *x, int n, int ch, float *out) {
    for (int i = 0; i < n; i++) {
        const float *s = x + (long)i * ch;
        float acc = s[0] * s[0];
        for (int c = 1; c < ch; c++) acc = acc + s[c] * s[c];
        out[i] = sqrtf(acc);
    }
}

uint32_t tml_isqrt64(uint64_t v) {
    uint64_t res = 0;
    uint64_t bit = (uint64_t)1 << 62;
    while (bit > v) bit >>= 2;
    while (bit != 0) {
        if (v >= res + bit) {
            v -= res + bit;
            res = (res >> 1) + bit;
        } else {
            res >>= 1;
        }
        bit >>= 2;
    }
    return (uint32_t)res;
}

void tml_magnitude_int(const int16_t *x, int n, int ch, int32_t *out) {
    for (int i = 0; i < n; i++) {
        const int16_t *s = x + (long)i * ch;
        uint64_t acc = 0;
        for (int c = 0; c < ch; c++) {
            int32_t v = s[c];
            acc += (uint64_t)(uint32_t)(v * v); /* |v| <= 32768: v*v <= 2^30 fits int32 */
        }
        out[i] = (int32_t)tml_isqrt64(acc);
    }
}
