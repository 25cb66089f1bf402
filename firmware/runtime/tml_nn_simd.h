/* Inner loops shared by the kernels: a portable version and, with TML_NN_DSP, a Cortex-M DSP version
 * (ACLE intrinsics: __sxtb16, __smlad). Both compute exact int32 sums, so they give identical results. */
#ifndef TML_NN_SIMD_H
#define TML_NN_SIMD_H

#include <stdint.h>
#include <string.h>

#include "tml_nn.h"

#if TML_NN_DSP
#include <arm_acle.h>
#endif

#define TML_DW_BLOCK 32

#if TML_NN_DSP
static inline int32_t tml_ld32(const int8_t *p) {
    int32_t v;
    memcpy(&v, p, 4); /* unaligned LDR on Cortex-M4 */
    return v;
}

/* Two halfword pairs from 4 int8: even bytes and odd bytes, sign-extended. */
static inline void tml_expand(int32_t v, int32_t *even, int32_t *odd) {
    *even = (int32_t)__sxtb16((uint32_t)v);
    *odd = (int32_t)__sxtb16(((uint32_t)v >> 8) | ((uint32_t)v << 24));
}
#endif

/* sum_i a[i] * b[i] */
static inline int32_t tml_dot_s8(const int8_t *a, const int8_t *b, int n) {
    int32_t acc = 0;
    int i = 0;
#if TML_NN_DSP
    for (; i + 4 <= n; i += 4) {
        int32_t ae, ao, be, bo;
        tml_expand(tml_ld32(a + i), &ae, &ao);
        tml_expand(tml_ld32(b + i), &be, &bo);
        acc = (int32_t)__smlad((uint32_t)ae, (uint32_t)be, (uint32_t)acc);
        acc = (int32_t)__smlad((uint32_t)ao, (uint32_t)bo, (uint32_t)acc);
    }
#endif
    for (; i < n; i++) acc += a[i] * b[i];
    return acc;
}

/* acc[j] += x[j] * w[j] */
static inline void tml_mac_lanes_s8(int32_t *acc, const int8_t *x, const int8_t *w, int n) {
    for (int j = 0; j < n; j++) acc[j] += x[j] * w[j];
}

#if TML_NN_DSP
/* out[o] = requant(kbias[o] + x . w[o]) for o < m, rows of w are n long. Two rows share each load of x. */
static inline void tml_dot_rows_s8(const int8_t *x, const int8_t *w, int n, int m, const tml_channel_q *q,
                                   int32_t out_offset, int32_t lo, int32_t hi, int8_t *out) {
    int o = 0;
    for (; o + 2 <= m; o += 2) {
        const int8_t *w0 = w + o * n, *w1 = w0 + n;
        int32_t a0 = q->kbias[o], a1 = q->kbias[o + 1];
        int i = 0;
        for (; i + 4 <= n; i += 4) {
            int32_t xe, xo, we, wo;
            tml_expand(tml_ld32(x + i), &xe, &xo);
            tml_expand(tml_ld32(w0 + i), &we, &wo);
            a0 = (int32_t)__smlad((uint32_t)xe, (uint32_t)we, (uint32_t)a0);
            a0 = (int32_t)__smlad((uint32_t)xo, (uint32_t)wo, (uint32_t)a0);
            tml_expand(tml_ld32(w1 + i), &we, &wo);
            a1 = (int32_t)__smlad((uint32_t)xe, (uint32_t)we, (uint32_t)a1);
            a1 = (int32_t)__smlad((uint32_t)xo, (uint32_t)wo, (uint32_t)a1);
        }
        for (; i < n; i++) {
            a0 += x[i] * w0[i];
            a1 += x[i] * w1[i];
        }
        out[o] = (int8_t)tml_clamp(tml_requant(a0, q->mult[o], q->shift[o]) + out_offset, lo, hi);
        out[o + 1] = (int8_t)tml_clamp(tml_requant(a1, q->mult[o + 1], q->shift[o + 1]) + out_offset, lo, hi);
    }
    for (; o < m; o++) {
        int32_t a = q->kbias[o] + tml_dot_s8(x, w + o * n, n);
        out[o] = (int8_t)tml_clamp(tml_requant(a, q->mult[o], q->shift[o]) + out_offset, lo, hi);
    }
}
#endif

#endif /* TML_NN_SIMD_H */
