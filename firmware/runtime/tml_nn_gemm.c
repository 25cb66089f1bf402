/* CONV_2D and FULLY_CONNECTED on packed weights (layout in tml_nn.h, written by tinyml.compile.packing):
 * an int8 GEMM of output pixels x filters, 2 pixels x 2 filters per block, fused with the proven fast
 * requantization. */
#include <string.h>

#include "tml_nn.h"
#include "tml_nn_packed.h"

/* Scratch bytes between a pixel pair's packed windows and the im2col patch: the DSP loop's state. */
#define TML_GEMM_STATE 32

/* The window of output pixel `pix`: a pointer into the input when its values are contiguous there (1x1
 * filters, and 1-D windows away from the borders), else copied into `patch` (im2col). */
static const int8_t *tml_window(const tml_conv_params *p, const int8_t *in, int32_t pix, int8_t *patch) {
    const int oy = (int)(pix / p->out_w), ox = (int)(pix % p->out_w);
    const int iy0 = oy * p->stride_h - p->pad_h, ix0 = ox * p->stride_w - p->pad_w;
    if (p->k_h == 1 && iy0 >= 0 && iy0 < p->in_h && (p->k_w == 1 || p->dil_w == 1) && ix0 >= 0 &&
        ix0 + p->k_w <= p->in_w)
        return in + ((int32_t)iy0 * p->in_w + ix0) * p->in_c;
    tml_im2col(p, in, oy, ox, patch);
    return patch;
}

/* Store the block's outputs: filters o, o+1 (o+1 only if it exists) of one pixel. */
static inline void tml_store2(int8_t *y, int o, int two, int32_t ac0, int32_t ac1, const TML_FLASH tml_rq *r, int full,
                              int32_t lo, int32_t hi) {
    y[o] = tml_rq_clamp(tml_rq_value(ac0 + ac0, r[0].mult, r[0].rnd, r[0].shift), full, lo, hi);
    if (two) y[o + 1] = tml_rq_clamp(tml_rq_value(ac1 + ac1, r[1].mult, r[1].rnd, r[1].shift), full, lo, hi);
}

#if TML_NN_DSP
static inline void tml_pack4(int32_t v, int32_t *xq) {
    xq[0] = tml_sxtb16(v);
    xq[1] = tml_sxtb16_odd(v);
}

/* Bytes b.. of a group (K - k < 4 values left) as a word, zeros above. */
static inline int32_t tml_tail_word(const int8_t *x, int n) {
    uint32_t v = 0;
    for (int b = 0; b < n; b++) v |= (uint32_t)(uint8_t)x[b] << (8 * b);
    return (int32_t)v;
}

/* One window's K values as sign-extended halfword pairs {even, odd} per group of 4, into every other
 * pair of words of xq (the other pair is the second pixel's), zero-padded to k8 values. */
static void tml_pack_window(const int8_t *x, int K, int k8, int32_t *xq) {
    const int32_t *const full_end = xq + 4 * (K >> 2), *const end = xq + k8;
    for (; xq < full_end; xq += 4, x += 4) tml_pack4(tml_ld32(x), xq);
    if (K & 3) {
        tml_pack4(tml_tail_word(x, K & 3), xq);
        xq += 4;
    }
    for (; xq < end; xq += 4) xq[0] = xq[1] = 0;
}

/* The window of output pixel pix packed straight from the input rows, with no im2col copy: for filters
 * whose window rows are whole groups (k_w * in_c a multiple of 4, dilation 1 along a row). */
static void tml_pack_rows(const tml_conv_params *p, const int8_t *in, int32_t pix, int k8, int32_t *xq) {
    const int C = p->in_c, row = p->k_w * C;
    const int oy = (int)(pix / p->out_w), ox = (int)(pix % p->out_w);
    const int iy0 = oy * p->stride_h - p->pad_h, ix0 = ox * p->stride_w - p->pad_w;
    const uint32_t zp4 = (uint32_t)(uint8_t)(-p->in_offset) * 0x01010101u;
    const int32_t *const end = xq + k8;
    const int inside = ix0 >= 0 && ix0 + p->k_w <= p->in_w;
    for (int ky = 0; ky < p->k_h; ky++) {
        const int iy = iy0 + ky * p->dil_h;
        if (iy < 0 || iy >= p->in_h) {
            for (int k = 0; k < row; k += 4, xq += 4) tml_pack4((int32_t)zp4, xq);
            continue;
        }
        const int8_t *src = in + (int32_t)iy * p->in_w * C; /* the row; the window starts at column ix0 */
        if (inside) {
            src += (int32_t)ix0 * C;
            for (int k = 0; k < row; k += 4, xq += 4) tml_pack4(tml_ld32(src + k), xq);
            continue;
        }
        /* A border: window bytes [lo_b, hi_b) are in the input, the others read the zero point. */
        const int lo_b = (ix0 < 0 ? -ix0 : 0) * C;
        const int hi_b = (ix0 + p->k_w > p->in_w ? p->in_w - ix0 : p->k_w) * C;
        for (int k = 0; k < row; k += 4, xq += 4) {
            uint32_t v = 0;
            for (int b = 0; b < 4; b++) {
                const int j = k + b;
                const uint32_t byte = j >= lo_b && j < hi_b ? (uint8_t)src[(int32_t)ix0 * C + j] : (zp4 & 0xFFu);
                v |= byte << (8 * b);
            }
            tml_pack4((int32_t)v, xq);
        }
    }
    for (; xq < end; xq += 4) xq[0] = xq[1] = 0;
}

/* Pack the window of output pixel pix into xq: from the input when contiguous there or made of whole
 * rows, else through an im2col copy in `patch`. */
static void tml_pack_pixel(const tml_conv_params *p, const int8_t *in, int32_t pix, int K, int k8, int8_t *patch,
                           int32_t *xq) {
    if (p->dil_w == 1 && (p->k_w * p->in_c) % 4 == 0 && !(p->k_h == 1 && p->k_w == 1))
        tml_pack_rows(p, in, pix, k8, xq);
    else
        tml_pack_window(tml_window(p, in, pix, patch), K, k8, xq);
}

/* One group of 4 window values: both pixels' halfword pairs (LDM) against both filters' 4 bytes (LDRD). */
#define TML_GEMM_GROUP                                                 \
    "ldmia %[px]!, {%[x0e], %[x0o], %[x1e], %[x1o]}\n\t"               \
    "ldrd %[wa], %[wb], [%[pw]], #8\n\t"                               \
    "sxtb16 %[t], %[wa]\n\t"                                           \
    "sxtb16 %[wa], %[wa], ror #8\n\t"                                  \
    "smlad %[a00], %[x0e], %[t], %[a00]\n\t"                           \
    "smlad %[a00], %[x0o], %[wa], %[a00]\n\t"                          \
    "smlad %[a10], %[x1e], %[t], %[a10]\n\t"                           \
    "smlad %[a10], %[x1o], %[wa], %[a10]\n\t"                          \
    "sxtb16 %[t], %[wb]\n\t"                                           \
    "sxtb16 %[wb], %[wb], ror #8\n\t"                                  \
    "smlad %[a01], %[x0e], %[t], %[a01]\n\t"                           \
    "smlad %[a01], %[x0o], %[wb], %[a01]\n\t"                          \
    "smlad %[a11], %[x1e], %[t], %[a11]\n\t"                           \
    "smlad %[a11], %[x1o], %[wb], %[a11]\n\t"

/* The 2 pixels x 2 filters block over k8 values (k8 / 8 turns of two groups): 30 instructions per 32
 * MACs. The registers are named because LDM fills them in ascending order. */
static inline void tml_mac_2x2(const int32_t *xq, const int8_t *w, int k8, int32_t *acc) {
    register int32_t a00 __asm("r0") = acc[0], a01 __asm("r1") = acc[1], a10 __asm("r2") = acc[2],
                     a11 __asm("r3") = acc[3];
    register int32_t x0e __asm("r4"), x0o __asm("r5"), x1e __asm("r6"), x1o __asm("r7");
    register int32_t wa __asm("r8"), wb __asm("r9"), t __asm("r10");
    register const int32_t *px __asm("r11") = xq;
    register const int8_t *pw __asm("r12") = w;
    register const int32_t *pend __asm("lr") = xq + k8;
    __asm volatile("1:\n\t" TML_GEMM_GROUP TML_GEMM_GROUP
                   "cmp %[px], %[pend]\n\t"
                   "bne 1b\n\t"
                   : [a00] "+r"(a00), [a01] "+r"(a01), [a10] "+r"(a10), [a11] "+r"(a11), [px] "+r"(px),
                     [pw] "+r"(pw), [x0e] "=&r"(x0e), [x0o] "=&r"(x0o), [x1e] "=&r"(x1e), [x1o] "=&r"(x1o),
                     [wa] "=&r"(wa), [wb] "=&r"(wb), [t] "=&r"(t)
                   : [pend] "r"(pend)
                   : "cc", "memory");
    acc[0] = a00;
    acc[1] = a01;
    acc[2] = a10;
    acc[3] = a11;
}

/* Requantize one accumulator (not doubled) with mult m, rnd rn, shift sh (the x registers, free after the
 * MACs) into h and store it at dst (full int8 range). */
#define TML_RQ_STORE(acc, dst)                                         \
    "lsl %[" acc "], %[" acc "], #1\n\t"                               \
    "smmulr %[x1o], %[" acc "], %[x0e]\n\t"                            \
    "sub %[x1o], %[x1o], %[" acc "], lsr #31\n\t"                      \
    "add %[x1o], %[x1o], %[x0o]\n\t"                                   \
    "asr %[x1o], %[x1o], %[x1e]\n\t"                                   \
    "ssat %[x1o], #8, %[x1o]\n\t"                                      \
    "strb %[x1o], " dst "\n\t"

/* What tml_gemm_pair_full keeps in memory while every register runs the MACs: it sits right after the
 * packed windows (scratch + 4*k8), where the MAC loop's window pointer ends. */
typedef struct {
    const tml_rq *rq;     /* the current filter pair's records */
    int8_t *y;            /* the current filter's output, first pixel */
    int32_t dy;           /* second pixel's outputs - first pixel's (0 for a lone pixel) */
    const int32_t *xq;    /* the packed windows */
    const tml_rq *rq_end; /* after the last full pair */
} tml_gemm_state;

/* Every full filter pair of a pixel pair, MACs and requantization (full int8 range) in one loop:
 * per 2x2 block 30 instructions per 8 window values, then 48 to start it and finish it. */
static void tml_gemm_pair_full(int32_t *xq, int k8, const int8_t *w, const tml_rq *rq, int pairs, int8_t *y0,
                               int32_t dy) {
    tml_gemm_state *st = (tml_gemm_state *)(void *)(xq + k8);
    st->rq = rq;
    st->y = y0;
    st->dy = dy;
    st->xq = xq;
    st->rq_end = rq + 2 * pairs;
    register int32_t a00 __asm("r0"), a01 __asm("r1"), a10 __asm("r2"), a11 __asm("r3");
    register int32_t x0e __asm("r4"), x0o __asm("r5"), x1e __asm("r6"), x1o __asm("r7");
    register int32_t wa __asm("r8"), wb __asm("r9"), t __asm("r10");
    register const int32_t *px __asm("r11");
    register const int8_t *pw __asm("r12") = w;
    register const int32_t *pend __asm("lr") = xq + k8;
    __asm volatile("2:\n\t"
                   "ldr %[t], [%[pend]]\n\t"
                   "ldr %[a00], [%[t]]\n\t"
                   "ldr %[a01], [%[t], #16]\n\t"
                   "mov %[a10], %[a00]\n\t"
                   "mov %[a11], %[a01]\n\t"
                   "ldr %[px], [%[pend], #12]\n\t"
                   "1:\n\t" TML_GEMM_GROUP TML_GEMM_GROUP
                   "cmp %[px], %[pend]\n\t"
                   "bne 1b\n\t"
                   "ldr %[t], [%[pend]]\n\t"
                   "ldrd %[wa], %[wb], [%[pend], #4]\n\t"
                   "ldrd %[x0e], %[x0o], [%[t], #4]\n\t"
                   "ldr %[x1e], [%[t], #12]\n\t"
                   TML_RQ_STORE("a00", "[%[wa]]") TML_RQ_STORE("a10", "[%[wa], %[wb]]")
                   "adds %[wa], #1\n\t"
                   "ldrd %[x0e], %[x0o], [%[t], #20]\n\t"
                   "ldr %[x1e], [%[t], #28]\n\t"
                   TML_RQ_STORE("a01", "[%[wa]]") TML_RQ_STORE("a11", "[%[wa], %[wb]]")
                   "adds %[wa], #1\n\t"
                   "adds %[t], #32\n\t"
                   "str %[t], [%[pend]]\n\t"
                   "str %[wa], [%[pend], #4]\n\t"
                   "ldr %[x0e], [%[pend], #16]\n\t"
                   "cmp %[t], %[x0e]\n\t"
                   "bne 2b\n\t"
                   : [a00] "=&r"(a00), [a01] "=&r"(a01), [a10] "=&r"(a10), [a11] "=&r"(a11), [px] "=&r"(px),
                     [pw] "+r"(pw), [x0e] "=&r"(x0e), [x0o] "=&r"(x0o), [x1e] "=&r"(x1e), [x1o] "=&r"(x1o),
                     [wa] "=&r"(wa), [wb] "=&r"(wb), [t] "=&r"(t)
                   : [pend] "r"(pend)
                   : "cc", "memory");
}
#endif

/* All filters for the pixel pair whose windows are in `scratch` (DSP: packed halfword pairs; portable:
 * the two int8 windows of k8 bytes each); y1 = y0 for a lone last pixel (both windows are then the same). */
static TML_ALWAYS_INLINE void tml_gemm_pair(int8_t *scratch, int K, int k8, int m, const TML_FLASH int8_t *w,
                                            const TML_FLASH tml_rq *rq, int full, int32_t lo, int32_t hi, int8_t *y0,
                                            int8_t *y1) {
    int o = 0;
#if TML_NN_DSP
    if (full && m >= 2) { /* every full filter pair in one assembly loop; an odd last filter below */
        tml_gemm_pair_full((int32_t *)(void *)scratch, k8, w, rq, m >> 1, y0, (int32_t)(y1 - y0));
        o = m & ~1;
        w += o * k8;
        rq += o;
    }
#endif
    for (; o < m; o += 2, w += 2 * k8, rq += 2) {
        int32_t a[4];
        a[0] = a[2] = rq[0].kbias;
        a[1] = a[3] = rq[1].kbias;
#if TML_NN_DSP
        (void)K;
        tml_mac_2x2((const int32_t *)(const void *)scratch, w, k8, a);
#else
        const int8_t *x0 = scratch, *x1 = scratch + k8;
        const TML_FLASH int8_t *wg = w;
        for (int k = 0; k < K; k += 4, wg += 8) {
            const int n = K - k < 4 ? K - k : 4;
            for (int b = 0; b < n; b++) {
                const int32_t v0 = x0[k + b], v1 = x1[k + b], w0 = wg[b], w1 = wg[4 + b];
                a[0] += v0 * w0;
                a[1] += v0 * w1;
                a[2] += v1 * w0;
                a[3] += v1 * w1;
            }
        }
#endif
        const int two = o + 1 < m;
        tml_store2(y0, o, two, a[0], a[1], rq, full, lo, hi);
        tml_store2(y1, o, two, a[2], a[3], rq, full, lo, hi);
    }
}

/* Inlined into its two callers, so `full` is a constant in each. */
static TML_ALWAYS_INLINE void tml_conv_packed(const tml_conv_params *p, const TML_FLASH tml_rq *rq, const int8_t *in,
                            const TML_FLASH int8_t *w, int8_t *scratch, int8_t *out, int full) {
    const int K = p->k_h * p->k_w * p->in_c, k8 = (K + 7) & ~7, m = p->out_c;
    const int32_t npix = (int32_t)p->out_h * p->out_w;
    const int32_t lo = p->act_min, hi = p->act_max;
    int8_t *patch = scratch + 4 * k8 + TML_GEMM_STATE; /* im2col (filters larger than 1x1) */
    for (int32_t pix = 0; pix < npix; pix += 2) {
        const int two = pix + 1 < npix;
#if TML_NN_DSP
        tml_pack_pixel(p, in, pix, K, k8, patch, (int32_t *)(void *)scratch);
        tml_pack_pixel(p, in, two ? pix + 1 : pix, K, k8, patch, (int32_t *)(void *)scratch + 2);
#else
        /* Both windows are copied before any output of the pair is written (the output may overlap the input). */
        const int8_t *x0 = tml_window(p, in, pix, scratch);
        if (x0 != scratch) memcpy(scratch, x0, (size_t)K);
        const int8_t *x1 = tml_window(p, in, two ? pix + 1 : pix, scratch + k8);
        if (x1 != scratch + k8) memcpy(scratch + k8, x1, (size_t)K);
        (void)patch;
#endif
        tml_gemm_pair(scratch, K, k8, m, w, rq, full, lo, hi, out + pix * m, out + (two ? pix + 1 : pix) * m);
    }
}

void tml_conv2d_packed_s8(const TML_FLASH tml_conv_params *p_in, const TML_FLASH tml_rq *rq, const int8_t *in,
                          const TML_FLASH int8_t *w, int8_t *scratch, int8_t *out) {
    const tml_conv_params pl = *p_in;
    /* Two copies of the loop: the usual full int8 range clamps with one SSAT. */
    if (pl.act_min == -128 && pl.act_max == 127)
        tml_conv_packed(&pl, rq, in, w, scratch, out, 1);
    else
        tml_conv_packed(&pl, rq, in, w, scratch, out, 0);
}

#if TML_NN_DSP
/* One row against a filter pair, straight from the int8 input: 24 instructions per 16 MACs. */
#define TML_FC_GROUP                                         \
    "ldr %[xw], [%[px]], #4\n\t"                             \
    "sxtb16 %[xe], %[xw]\n\t"                                \
    "sxtb16 %[xw], %[xw], ror #8\n\t"                        \
    "ldrd %[wa], %[wb], [%[pw]], #8\n\t"                     \
    "sxtb16 %[t], %[wa]\n\t"                                 \
    "sxtb16 %[wa], %[wa], ror #8\n\t"                        \
    "smlad %[ac0], %[xe], %[t], %[ac0]\n\t"                    \
    "smlad %[ac0], %[xw], %[wa], %[ac0]\n\t"                   \
    "sxtb16 %[t], %[wb]\n\t"                                 \
    "sxtb16 %[wb], %[wb], ror #8\n\t"                        \
    "smlad %[ac1], %[xe], %[t], %[ac1]\n\t"                    \
    "smlad %[ac1], %[xw], %[wb], %[ac1]\n\t"

static inline void tml_mac_1x2(const int8_t *x, const int8_t *w, int n8, int32_t *ac0, int32_t *ac1) {
    const int8_t *px = x, *const pend = x + 8 * n8;
    const int8_t *pw = w;
    int32_t xw, xe, wa, wb, t, r0 = *ac0, r1 = *ac1;
    __asm volatile("1:\n\t" TML_FC_GROUP TML_FC_GROUP
                   "cmp %[px], %[pend]\n\t"
                   "bne 1b\n\t"
                   : [ac0] "+r"(r0), [ac1] "+r"(r1), [px] "+r"(px), [pw] "+r"(pw), [xw] "=&r"(xw), [xe] "=&r"(xe),
                     [wa] "=&r"(wa), [wb] "=&r"(wb), [t] "=&r"(t)
                   : [pend] "r"(pend)
                   : "cc", "memory");
    *ac0 = r0;
    *ac1 = r1;
}
#endif

static TML_ALWAYS_INLINE void tml_fc_packed(const tml_fc_params *p, const TML_FLASH tml_rq *rq, const int8_t *in,
                          const TML_FLASH int8_t *w, int8_t *out, int full) {
    const int K = (int)p->in_features, k8 = (K + 7) & ~7, m = (int)p->out_features;
    const int32_t lo = p->act_min, hi = p->act_max;
    for (int32_t r = 0; r < p->rows; r++) {
        const int8_t *x = in + r * K;
        int8_t *y = out + r * m;
        const TML_FLASH int8_t *wj = w;
        for (int o = 0; o < m; o += 2, wj += 2 * k8) {
            int32_t ac0 = rq[o].kbias, ac1 = rq[o + 1].kbias;
            int k = 0;
#if TML_NN_DSP
            if (K >= 8) tml_mac_1x2(x, wj, K >> 3, &ac0, &ac1);
            k = K & ~7;
#endif
            for (; k < K; k++) { /* the portable loop, and the DSP tail */
                const TML_FLASH int8_t *wk = wj + ((k >> 2) << 3) + (k & 3);
                ac0 += (int32_t)x[k] * wk[0];
                ac1 += (int32_t)x[k] * wk[4];
            }
            tml_store2(y, o, o + 1 < m, ac0, ac1, rq + o, full, lo, hi);
        }
    }
}

void tml_fc_packed_s8(const TML_FLASH tml_fc_params *p_in, const TML_FLASH tml_rq *rq, const int8_t *in,
                      const TML_FLASH int8_t *w, int8_t *out) {
    const tml_fc_params pl = *p_in;
    if (pl.act_min == -128 && pl.act_max == 127)
        tml_fc_packed(&pl, rq, in, w, out, 1);
    else
        tml_fc_packed(&pl, rq, in, w, out, 0);
}
