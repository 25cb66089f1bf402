/* CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED (int8, per-channel), bit-exact with TFLM reference. */
#include <stddef.h>
#include <string.h>

#include "tml_nn.h"
#include "tml_nn_simd.h"

static inline int8_t tml_out8(int32_t acc, const tml_channel_q *q, int c, int32_t out_offset, int32_t lo,
                              int32_t hi) {
    acc = tml_requant(acc, q->mult[c], q->shift[c]) + out_offset;
    return (int8_t)tml_clamp(acc, lo, hi);
}

/* The im2col copy (tml_nn_packed.h). The generic convolution inlines it: on a core without the DSP extension
 * it has one call, so an 8-bit board, which gets only the generic kernels, pays no call. Offsets within the
 * input are ptrdiff_t: they fit it (one object), and it is the native int on a 16-bit-int core, where an
 * int32_t product would be a library call per row. */
static inline void tml_im2col_at(const tml_conv_params *p, const int8_t *in, int oy, int ox, int8_t *patch) {
    const int in_c = p->in_c, row = p->k_w * in_c;
    const int8_t pad = (int8_t)(-p->in_offset);
    const int iy0 = oy * p->stride_h - p->pad_h, ix0 = ox * p->stride_w - p->pad_w;
    for (int ky = 0; ky < p->k_h; ky++) {
        const int iy = iy0 + ky * p->dil_h;
        int8_t *dst = patch + ky * row;
        if (iy < 0 || iy >= p->in_h) {
            memset(dst, pad, (size_t)row);
            continue;
        }
        const int8_t *src = in + (ptrdiff_t)iy * p->in_w * in_c;
        if (p->dil_w == 1 && ix0 >= 0 && ix0 + p->k_w <= p->in_w) {
            memcpy(dst, src + (ptrdiff_t)ix0 * in_c, (size_t)row);
            continue;
        }
        for (int kx = 0; kx < p->k_w; kx++) {
            const int ix = ix0 + kx * p->dil_w;
            if (ix < 0 || ix >= p->in_w)
                memset(dst + kx * in_c, pad, (size_t)in_c);
            else
                memcpy(dst + kx * in_c, src + (ptrdiff_t)ix * in_c, (size_t)in_c);
        }
    }
}

void tml_im2col(const tml_conv_params *p, const int8_t *in, int oy, int ox, int8_t *patch) {
    tml_im2col_at(p, in, oy, ox, patch);
}

/* Valid kernel taps [*lo, *hi) along one axis for an output position starting at `origin`. */
static inline void tml_tap_range(int origin, int dil, int k, int in, int *lo, int *hi) {
    int a = 0, b = k;
    while (a < k && origin + a * dil < 0) a++;
    while (b > a && origin + (b - 1) * dil >= in) b--;
    *lo = a;
    *hi = b;
}

void tml_conv2d_s8(const TML_FLASH tml_conv_params *p_in, const TML_FLASH tml_channel_q *q_in, const int8_t *in,
                   const TML_FLASH int8_t *w, int8_t *scratch, int8_t *out) {
    const tml_conv_params pl = *p_in, *p = &pl;
    TML_LOCAL_Q(ql, q_in);
    const tml_channel_q *q = &ql;
    const int in_c = p->in_c, out_c = p->out_c;
    const int k1x1 = p->k_h == 1 && p->k_w == 1;
    const int kernel_size = p->k_h * p->k_w * in_c;
    const int npix = p->out_h * p->out_w;
    /* Scratch (tinyml.compile.lower.conv_scratch_bytes): two int8 windows unless the filter is 1x1,
     * rounded up to 4 bytes, then (DSP build) two windows expanded to halfword pairs, 4*(window/4) words. */
    int8_t *patch = scratch;
#if TML_NN_DSP
    const int n4 = kernel_size >> 2;
    if (n4 > 0) {
        int32_t *xq = (int32_t *)(void *)(scratch + (k1x1 ? 0 : ((2 * kernel_size + 3) & ~3)));
        for (int pix = 0; pix < npix; pix += 2) {
            const int8_t *x0, *x1;
            if (k1x1) {
                x0 = in + ((pix / p->out_w) * p->stride_h * p->in_w + (pix % p->out_w) * p->stride_w) * in_c;
                x1 = in + (((pix + 1) / p->out_w) * p->stride_h * p->in_w + ((pix + 1) % p->out_w) * p->stride_w) *
                              in_c;
            } else {
                tml_im2col_at(p, in, pix / p->out_w, pix % p->out_w, patch);
                x0 = patch;
                x1 = patch + kernel_size;
                if (pix + 1 < npix) tml_im2col_at(p, in, (pix + 1) / p->out_w, (pix + 1) % p->out_w, patch + kernel_size);
            }
            if (pix + 1 == npix) { /* odd pixel count: the last one alone */
                tml_gemm_s8(x0, 0, 1, w, kernel_size, out_c, q, p->out_offset, p->act_min, p->act_max,
                            out + pix * out_c, out_c);
                break;
            }
            tml_expand_pair(x0, x1, n4, xq);
            tml_gemm2_x16(x0, (int)(x1 - x0), xq, w, kernel_size, out_c, q, p->out_offset, p->act_min, p->act_max,
                          out + pix * out_c, out_c);
        }
        return;
    }
#endif
    if (k1x1) {
        /* 1x1 filter: every window is one input pixel (never padded); no copy. */
        if (p->stride_h == 1 && p->stride_w == 1) {
            tml_gemm_s8(in, in_c, npix, w, in_c, out_c, q, p->out_offset, p->act_min, p->act_max, out, out_c);
            return;
        }
        for (int oy = 0; oy < p->out_h; oy++)
            tml_gemm_s8(in + oy * p->stride_h * p->in_w * in_c, p->stride_w * in_c, p->out_w, w, in_c, out_c, q,
                        p->out_offset, p->act_min, p->act_max, out + oy * p->out_w * out_c, out_c);
        return;
    }
    /* General case: copy the windows of two output pixels side by side (im2col), then one GEMM. */
    for (int pix = 0; pix < npix; pix += 2) {
        const int count = npix - pix < 2 ? npix - pix : 2;
        for (int k = 0; k < count; k++)
            tml_im2col_at(p, in, (pix + k) / p->out_w, (pix + k) % p->out_w, patch + k * kernel_size);
        tml_gemm_s8(patch, kernel_size, count, w, kernel_size, out_c, q, p->out_offset, p->act_min, p->act_max,
                    out + pix * out_c, out_c);
    }
}

#if TML_NN_DSP
/* One tap of 4 channels: a0..a3 += x[0..3] * w[0..3]. */
#define TML_DW_TAP(xptr, wptr)                                     \
    do {                                                           \
        int32_t xe_, xo_, we_, wo_;                                \
        tml_expand(tml_ld32(xptr), &xe_, &xo_);                    \
        tml_expand(tml_ld32(wptr), &we_, &wo_);                    \
        a0 = __smlabb(xe_, we_, a0);                               \
        a2 = __smlatt(xe_, we_, a2);                               \
        a1 = __smlabb(xo_, wo_, a1);                               \
        a3 = __smlatt(xo_, wo_, a3);                               \
    } while (0)

/* Depthwise, depth multiplier 1, four channels per step: SXTB16 splits 4 int8 into two halfword pairs
 * and SMLABB/SMLATT accumulate each lane. Border pixels add the input offset with SADD16 (the sum of
 * an int8 and an offset in [-127, 128] fits 16 bits); interior pixels start from kbias instead. */
static void tml_dw4(const tml_conv_params *p, const tml_channel_q *q, const int8_t *in, const int8_t *w,
                    int8_t *out) {
    const int32_t out_offset = p->out_offset, lo = p->act_min, hi = p->act_max;
    const int in_c = p->in_c, k_w = p->k_w;
    const uint32_t off2 = ((uint32_t)(uint16_t)(int16_t)p->in_offset << 16) | (uint16_t)(int16_t)p->in_offset;
    const int xstep = p->dil_w * in_c;
    for (int oy = 0; oy < p->out_h; oy++) {
        const int iy0 = oy * p->stride_h - p->pad_h;
        int ky_lo, ky_hi;
        tml_tap_range(iy0, p->dil_h, p->k_h, p->in_h, &ky_lo, &ky_hi);
        for (int ox = 0; ox < p->out_w; ox++) {
            const int ix0 = ox * p->stride_w - p->pad_w;
            int kx_lo, kx_hi;
            tml_tap_range(ix0, p->dil_w, k_w, p->in_w, &kx_lo, &kx_hi);
            const int full = ky_lo == 0 && ky_hi == p->k_h && kx_lo == 0 && kx_hi == k_w;
            int8_t *o = out + (oy * p->out_w + ox) * in_c;
            if (full && k_w == 3 && p->k_h == 3 && p->dil_w == 1) {
                /* Interior 3x3 window: taps at fixed strides, unrolled by row. */
                const int32_t rs = p->dil_h * p->in_w * in_c, cs = in_c, cs2 = 2 * in_c;
                const int8_t *xb = in + (iy0 * p->in_w + ix0) * in_c;
                for (int c = 0; c < in_c; c += 4) {
                    int32_t a0 = q->kbias[c], a1 = q->kbias[c + 1], a2 = q->kbias[c + 2], a3 = q->kbias[c + 3];
                    const int8_t *xp = xb + c, *wp = w + c;
                    for (int r = 0; r < 3; r++, xp += rs, wp += 3 * cs) {
                        TML_DW_TAP(xp, wp);
                        TML_DW_TAP(xp + cs, wp + cs);
                        TML_DW_TAP(xp + cs2, wp + cs2);
                    }
                    o[c] = tml_requant_out(a0, q, c, out_offset, lo, hi);
                    o[c + 1] = tml_requant_out(a1, q, c + 1, out_offset, lo, hi);
                    o[c + 2] = tml_requant_out(a2, q, c + 2, out_offset, lo, hi);
                    o[c + 3] = tml_requant_out(a3, q, c + 3, out_offset, lo, hi);
                }
                continue;
            }
            for (int c = 0; c < in_c; c += 4) {
                const int32_t *b = full ? q->kbias : q->bias;
                int32_t a0 = b[c], a1 = b[c + 1], a2 = b[c + 2], a3 = b[c + 3];
                for (int ky = ky_lo; ky < ky_hi; ky++) {
                    const int8_t *xp = in + ((iy0 + ky * p->dil_h) * p->in_w + ix0 + kx_lo * p->dil_w) * in_c + c;
                    const int8_t *wp = w + (ky * k_w + kx_lo) * in_c + c;
                    const int8_t *wend = wp + (kx_hi - kx_lo) * in_c;
                    if (full) {
                        for (; wp < wend; wp += in_c, xp += xstep) {
                            int32_t xe, xo, we, wo;
                            tml_expand(tml_ld32(xp), &xe, &xo);
                            tml_expand(tml_ld32(wp), &we, &wo);
                            a0 = __smlabb(xe, we, a0);
                            a2 = __smlatt(xe, we, a2);
                            a1 = __smlabb(xo, wo, a1);
                            a3 = __smlatt(xo, wo, a3);
                        }
                    } else {
                        for (; wp < wend; wp += in_c, xp += xstep) {
                            int32_t xe, xo, we, wo;
                            tml_expand(tml_ld32(xp), &xe, &xo);
                            tml_expand(tml_ld32(wp), &we, &wo);
                            xe = (int32_t)__sadd16((uint32_t)xe, off2);
                            xo = (int32_t)__sadd16((uint32_t)xo, off2);
                            a0 = __smlabb(xe, we, a0);
                            a2 = __smlatt(xe, we, a2);
                            a1 = __smlabb(xo, wo, a1);
                            a3 = __smlatt(xo, wo, a3);
                        }
                    }
                }
                o[c] = tml_requant_out(a0, q, c, out_offset, lo, hi);
                o[c + 1] = tml_requant_out(a1, q, c + 1, out_offset, lo, hi);
                o[c + 2] = tml_requant_out(a2, q, c + 2, out_offset, lo, hi);
                o[c + 3] = tml_requant_out(a3, q, c + 3, out_offset, lo, hi);
            }
        }
    }
}
#endif

void tml_dwconv2d_s8(const TML_FLASH tml_conv_params *p_in, const TML_FLASH tml_channel_q *q_in, const int8_t *in,
                     const TML_FLASH int8_t *w, int8_t *out) {
    const tml_conv_params pl = *p_in, *p = &pl;
    TML_LOCAL_Q(ql, q_in);
    const tml_channel_q *q = &ql;
#if TML_NN_DSP
    if (p->depth_mult == 1 && p->in_c % 4 == 0) {
        tml_dw4(p, q, in, w, out);
        return;
    }
#endif
    const int in_c = p->in_c, out_c = p->out_c, k_w = p->k_w, mult = p->depth_mult;
    const int32_t off = p->in_offset;
    for (int oy = 0; oy < p->out_h; oy++) {
        const int iy0 = oy * p->stride_h - p->pad_h;
        int ky_lo, ky_hi;
        tml_tap_range(iy0, p->dil_h, p->k_h, p->in_h, &ky_lo, &ky_hi);
        for (int ox = 0; ox < p->out_w; ox++) {
            const int ix0 = ox * p->stride_w - p->pad_w;
            int kx_lo, kx_hi;
            tml_tap_range(ix0, p->dil_w, k_w, p->in_w, &kx_lo, &kx_hi);
            const int full = ky_lo == 0 && ky_hi == p->k_h && kx_lo == 0 && kx_hi == k_w;
            int8_t *o = out + (oy * p->out_w + ox) * out_c;
            if (mult == 1) {
                /* Channel-vectorised: accumulate all channels of this pixel tap by tap. */
                int32_t acc[TML_DW_BLOCK];
                for (int c0 = 0; c0 < in_c; c0 += TML_DW_BLOCK) {
                    const int nc = in_c - c0 < TML_DW_BLOCK ? in_c - c0 : TML_DW_BLOCK;
                    for (int j = 0; j < nc; j++) acc[j] = full ? q->kbias[c0 + j] : q->bias[c0 + j];
                    for (int ky = ky_lo; ky < ky_hi; ky++) {
                        const int iy = iy0 + ky * p->dil_h;
                        for (int kx = kx_lo; kx < kx_hi; kx++) {
                            const int ix = ix0 + kx * p->dil_w;
                            const int8_t *px = in + (iy * p->in_w + ix) * in_c + c0;
                            const TML_FLASH int8_t *wp = w + (ky * k_w + kx) * out_c + c0;
                            if (full) {
                                tml_mac_lanes_s8(acc, px, wp, nc);
                            } else {
                                for (int j = 0; j < nc; j++) acc[j] += wp[j] * (px[j] + off);
                            }
                        }
                    }
                    for (int j = 0; j < nc; j++)
                        o[c0 + j] = tml_out8(acc[j], q, c0 + j, p->out_offset, p->act_min, p->act_max);
                }
                continue;
            }
            for (int ic = 0; ic < in_c; ic++) {
                for (int m = 0; m < mult; m++) {
                    const int oc = ic * mult + m;
                    int32_t acc = q->bias[oc];
                    for (int ky = ky_lo; ky < ky_hi; ky++) {
                        const int iy = iy0 + ky * p->dil_h;
                        for (int kx = kx_lo; kx < kx_hi; kx++) {
                            const int ix = ix0 + kx * p->dil_w;
                            acc += w[(ky * k_w + kx) * out_c + oc] * (in[(iy * p->in_w + ix) * in_c + ic] + off);
                        }
                    }
                    o[oc] = tml_out8(acc, q, oc, p->out_offset, p->act_min, p->act_max);
                }
            }
        }
    }
}

void tml_fc_s8(const TML_FLASH tml_fc_params *p_in, const TML_FLASH tml_channel_q *q_in, const int8_t *in,
               const TML_FLASH int8_t *w, int8_t *out) {
    const tml_fc_params p = *p_in;
    TML_LOCAL_Q(q, q_in);
    tml_gemm_s8(in, p.in_features, p.rows, w, p.in_features, p.out_features, &q, p.out_offset, p.act_min, p.act_max,
                out, p.out_features);
}
