/* Helpers shared by the packed kernels (tml_nn_gemm.c, tml_nn_dwconv.c): the proven fast requantization
 * of tml_nn.h and, for the DSP build, the SXTB16 halves of a word. */
#ifndef TML_NN_PACKED_H
#define TML_NN_PACKED_H

#include <stdint.h>
#include <string.h>

#include "tml_nn.h"

/* A function inlined at each call, so a constant argument specialises it (the `full` clamp flag). */
#if defined(__GNUC__)
#define TML_ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define TML_ALWAYS_INLINE inline
#endif

#if TML_NN_DSP
#include <arm_acle.h>

static inline int32_t tml_ld32(const int8_t *p) {
    int32_t v;
    memcpy(&v, p, 4); /* one LDR (unaligned is fine on the Cortex-M4) */
    return v;
}

/* Bytes 0 and 2 of v, sign-extended into the two halfwords. */
static inline int32_t tml_sxtb16(int32_t v) { return (int32_t)__sxtb16((uint32_t)v); }

/* Bytes 1 and 3 of v, sign-extended into the two halfwords. */
static inline int32_t tml_sxtb16_odd(int32_t v) {
    int32_t r;
    __asm("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(v));
    return r;
}
#endif

/* Copy the receptive field of output pixel (oy, ox) into `patch` (k_h*k_w*in_c bytes, filter order); taps
 * outside the input get the input zero point, which contributes exactly 0 after the offset. */
void tml_im2col(const tml_conv_params *p, const int8_t *in, int oy, int ox, int8_t *patch); /* tml_nn_conv.c */

/* SMMULR(2 acc, mult) = floor((acc * mult + 2^30) / 2^31): TFLite's rounding doubling high multiply. */
static inline int32_t tml_rq_high(int32_t acc2, int32_t mult) {
#if TML_NN_DSP
    int32_t h;
    __asm("smmulr %0, %1, %2" : "=r"(h) : "r"(acc2), "r"(mult));
    return h;
#else
    return (int32_t)(((int64_t)acc2 * mult + ((int64_t)1 << 31)) >> 32);
#endif
}

/* The requantized value before the activation clamp, from the doubled accumulator (tml_nn.h). */
static inline int32_t tml_rq_value(int32_t acc2, int32_t mult, int32_t rnd, int32_t shift) {
    return (tml_rq_high(acc2, mult) - (int32_t)((uint32_t)acc2 >> 31) + rnd) >> shift;
}

/* Clamp to the int8 activation range [lo, hi]; `full` (lo = -128, hi = 127) is a constant at every call,
 * so the common case is one SSAT. */
static inline int8_t tml_rq_clamp(int32_t v, int full, int32_t lo, int32_t hi) {
#if TML_NN_DSP
    v = __ssat(v, 8);
    if (!full) v = v < lo ? lo : (v > hi ? hi : v);
    return (int8_t)v;
#else
    (void)full;
    return (int8_t)(v < lo ? lo : (v > hi ? hi : v));
#endif
}

#endif /* TML_NN_PACKED_H */
