/* Inner loops shared by the kernels: a portable version and, with TML_NN_DSP, a Cortex-M DSP version
 * (ACLE intrinsics: __sxtb16, __smlad). Both compute exact int32 sums, so they give identical results. */
#ifndef TML_NN_SIMD_H
#define TML_NN_SIMD_H

#include <stdint.h>
#include <string.h>

#include "tml_nn.h"
#include "tml_nn_packed.h"

#define TML_DW_BLOCK 32

#if TML_NN_DSP
/* Two halfword pairs from 4 int8: even bytes and odd bytes, sign-extended. */
static inline void tml_expand(int32_t v, int32_t *even, int32_t *odd) {
    *even = tml_sxtb16(v);
    *odd = tml_sxtb16_odd(v);
}
#endif

/* sum_i a[i] * b[i] */
static inline int32_t tml_dot_s8(const int8_t *a, const TML_FLASH int8_t *b, int n) {
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
static inline void tml_mac_lanes_s8(int32_t *acc, const int8_t *x, const TML_FLASH int8_t *w, int n) {
    for (int j = 0; j < n; j++) acc[j] += x[j] * w[j];
}

static inline int8_t tml_requant_out(int32_t acc, const tml_channel_q *q, int o, int32_t out_offset, int32_t lo,
                                     int32_t hi) {
    return (int8_t)tml_clamp(tml_requant(acc, q->mult[o], q->shift[o]) + out_offset, lo, hi);
}

/* Kernels copy the channel tables into a local first: int8 stores may alias anything, so reading
 * through the caller's struct would reload its pointers after every output byte (and on an AVR the
 * struct itself sits in flash). */
#define TML_LOCAL_Q(name, q) const tml_channel_q name = *(q)

#if TML_NN_DSP
/* The end of one 2-pixel x 2-filter block of the DSP GEMMs: the n % 4 tail (from i0) in plain C, then
 * requantize and store the four outputs. */
static inline void tml_finish_2x2(const int8_t *x0, const int8_t *x1, const TML_FLASH int8_t *w0, int n, int i0, int32_t a00,
                                  int32_t a01, int32_t a10, int32_t a11, const tml_channel_q *q, int o,
                                  int32_t out_offset, int32_t lo, int32_t hi, int8_t *y0, int8_t *y1) {
    const TML_FLASH int8_t *w1 = w0 + n;
    for (int i = i0; i < n; i++) {
        a00 += x0[i] * w0[i];
        a01 += x0[i] * w1[i];
        a10 += x1[i] * w0[i];
        a11 += x1[i] * w1[i];
    }
    y0[o] = tml_requant_out(a00, q, o, out_offset, lo, hi);
    y0[o + 1] = tml_requant_out(a01, q, o + 1, out_offset, lo, hi);
    y1[o] = tml_requant_out(a10, q, o, out_offset, lo, hi);
    y1[o + 1] = tml_requant_out(a11, q, o + 1, out_offset, lo, hi);
}

/* Filters o..m-1 (an odd one left over by the 2-filter blocks) for two pixels. */
static inline void tml_last_filters_2(const int8_t *x0, const int8_t *x1, const TML_FLASH int8_t *w, int n, int o, int m,
                                      const tml_channel_q *q, int32_t out_offset, int32_t lo, int32_t hi,
                                      int8_t *y0, int8_t *y1) {
    for (; o < m; o++) {
        y0[o] = tml_requant_out(q->kbias[o] + tml_dot_s8(x0, w + o * n, n), q, o, out_offset, lo, hi);
        y1[o] = tml_requant_out(q->kbias[o] + tml_dot_s8(x1, w + o * n, n), q, o, out_offset, lo, hi);
    }
}
#endif

/* A small int8 GEMM with the requantization fused:
 *   out[p * out_stride + o] = requant_o(kbias[o] + sum_i x[p * x_stride + i] * w[o * n + i])
 * for p < npix pixels (rows of x) and o < m filters (rows of w). The DSP build works on 2 pixels x 2
 * filters at a time so each expanded operand feeds two SMLADs. */
static inline void tml_gemm_s8(const int8_t *x, int x_stride, int npix, const TML_FLASH int8_t *w, int n, int m,
                               const tml_channel_q *q_in, int32_t out_offset, int32_t lo, int32_t hi, int8_t *out,
                               int out_stride) {
    TML_LOCAL_Q(ql, q_in);
    const tml_channel_q *q = &ql;
    int p = 0;
#if TML_NN_DSP
    for (; p + 2 <= npix; p += 2) {
        const int8_t *x0 = x + p * x_stride, *x1 = x0 + x_stride;
        int8_t *y0 = out + p * out_stride, *y1 = y0 + out_stride;
        int o = 0;
        for (; o + 2 <= m; o += 2) {
            const TML_FLASH int8_t *w0 = w + o * n, *w1 = w0 + n;
            int32_t a00 = q->kbias[o], a01 = q->kbias[o + 1];
            int32_t a10 = a00, a11 = a01;
            int i = 0;
            for (; i + 4 <= n; i += 4) {
                int32_t xe0, xo0, xe1, xo1, we, wo;
                tml_expand(tml_ld32(x0 + i), &xe0, &xo0);
                tml_expand(tml_ld32(x1 + i), &xe1, &xo1);
                tml_expand(tml_ld32(w0 + i), &we, &wo);
                a00 = (int32_t)__smlad((uint32_t)xe0, (uint32_t)we, (uint32_t)a00);
                a00 = (int32_t)__smlad((uint32_t)xo0, (uint32_t)wo, (uint32_t)a00);
                a10 = (int32_t)__smlad((uint32_t)xe1, (uint32_t)we, (uint32_t)a10);
                a10 = (int32_t)__smlad((uint32_t)xo1, (uint32_t)wo, (uint32_t)a10);
                tml_expand(tml_ld32(w1 + i), &we, &wo);
                a01 = (int32_t)__smlad((uint32_t)xe0, (uint32_t)we, (uint32_t)a01);
                a01 = (int32_t)__smlad((uint32_t)xo0, (uint32_t)wo, (uint32_t)a01);
                a11 = (int32_t)__smlad((uint32_t)xe1, (uint32_t)we, (uint32_t)a11);
                a11 = (int32_t)__smlad((uint32_t)xo1, (uint32_t)wo, (uint32_t)a11);
            }
            tml_finish_2x2(x0, x1, w0, n, i, a00, a01, a10, a11, q, o, out_offset, lo, hi, y0, y1);
        }
        tml_last_filters_2(x0, x1, w, n, o, m, q, out_offset, lo, hi, y0, y1);
    }
#endif
    for (; p < npix; p++) {
        const int8_t *x0 = x + p * x_stride;
        int8_t *y0 = out + p * out_stride;
        for (int o = 0; o < m; o++)
            y0[o] = tml_requant_out(q->kbias[o] + tml_dot_s8(x0, w + o * n, n), q, o, out_offset, lo, hi);
    }
}

#if TML_NN_DSP
/* Expand two pixels' values (n4 groups of 4 int8 each) into halfword pairs, interleaved per group as
 * {pixel0 even, pixel0 odd, pixel1 even, pixel1 odd}: the GEMM below then reads each group with two
 * LDRDs from one pointer instead of redoing SXTB16 for every filter. */
static inline void tml_expand_pair(const int8_t *x0, const int8_t *x1, int n4, int32_t *dst) {
    for (int j = 0; j < n4; j++, dst += 4) {
        tml_expand(tml_ld32(x0 + 4 * j), &dst[0], &dst[1]);
        tml_expand(tml_ld32(x1 + 4 * j), &dst[2], &dst[3]);
    }
}

/* tml_gemm_s8 for two pixels (x0 = x, x1 = x + x_stride) whose first 4*(n/4) values are in xq as laid
 * out by tml_expand_pair; the n % 4 tail comes from x. */
static inline void tml_gemm2_x16(const int8_t *x, int x_stride, const int32_t *xq, const TML_FLASH int8_t *w, int n, int m,
                                 const tml_channel_q *q_in, int32_t out_offset, int32_t lo, int32_t hi, int8_t *out,
                                 int out_stride) {
    TML_LOCAL_Q(ql, q_in);
    const tml_channel_q *q = &ql;
    const int n4 = n >> 2;
    const int8_t *x0 = x, *x1 = x + x_stride;
    int8_t *y0 = out, *y1 = out + out_stride;
    const int32_t *const qend = xq + 4 * n4;
    int o = 0;
    for (; o + 2 <= m; o += 2) {
        const TML_FLASH int8_t *w0 = w + o * n;
        int32_t a00 = q->kbias[o], a01 = q->kbias[o + 1];
        int32_t a10 = a00, a11 = a01;
        const int32_t *pq = xq;
        const TML_FLASH int8_t *wa = w0;
        while (pq < qend) {
            const int32_t x0e = pq[0], x0o = pq[1], x1e = pq[2], x1o = pq[3];
            int32_t we, wo;
            pq += 4;
            tml_expand(tml_ld32(wa + n), &we, &wo);
            a01 = (int32_t)__smlad((uint32_t)x0e, (uint32_t)we, (uint32_t)a01);
            a01 = (int32_t)__smlad((uint32_t)x0o, (uint32_t)wo, (uint32_t)a01);
            a11 = (int32_t)__smlad((uint32_t)x1e, (uint32_t)we, (uint32_t)a11);
            a11 = (int32_t)__smlad((uint32_t)x1o, (uint32_t)wo, (uint32_t)a11);
            tml_expand(tml_ld32(wa), &we, &wo);
            wa += 4;
            a00 = (int32_t)__smlad((uint32_t)x0e, (uint32_t)we, (uint32_t)a00);
            a00 = (int32_t)__smlad((uint32_t)x0o, (uint32_t)wo, (uint32_t)a00);
            a10 = (int32_t)__smlad((uint32_t)x1e, (uint32_t)we, (uint32_t)a10);
            a10 = (int32_t)__smlad((uint32_t)x1o, (uint32_t)wo, (uint32_t)a10);
        }
        tml_finish_2x2(x0, x1, w0, n, n4 * 4, a00, a01, a10, a11, q, o, out_offset, lo, hi, y0, y1);
    }
    tml_last_filters_2(x0, x1, w, n, o, m, q, out_offset, lo, hi, y0, y1);
}
#endif

#endif /* TML_NN_SIMD_H */
