/* CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED (int8, per-channel), bit-exact with TFLM reference. */
#include "tml_nn.h"
#include "tml_nn_simd.h"

static inline int8_t tml_out8(int32_t acc, const tml_channel_q *q, int c, int32_t out_offset, int32_t lo,
                              int32_t hi) {
    acc = tml_requant(acc, q->mult[c], q->shift[c]) + out_offset;
    return (int8_t)tml_clamp(acc, lo, hi);
}

/* Valid kernel taps [*lo, *hi) along one axis for an output position starting at `origin`. */
static inline void tml_tap_range(int origin, int dil, int k, int in, int *lo, int *hi) {
    int a = 0, b = k;
    while (a < k && origin + a * dil < 0) a++;
    while (b > a && origin + (b - 1) * dil >= in) b--;
    *lo = a;
    *hi = b;
}

void tml_conv2d_s8(const tml_conv_params *p, const tml_channel_q *q, const int8_t *in, const int8_t *w,
                   int8_t *out) {
    const int in_c = p->in_c, out_c = p->out_c, k_h = p->k_h, k_w = p->k_w;
    const int32_t off = p->in_offset;
    const int kernel_size = k_h * k_w * in_c;
    for (int oy = 0; oy < p->out_h; oy++) {
        const int iy0 = oy * p->stride_h - p->pad_h;
        int ky_lo, ky_hi;
        tml_tap_range(iy0, p->dil_h, k_h, p->in_h, &ky_lo, &ky_hi);
        for (int ox = 0; ox < p->out_w; ox++) {
            const int ix0 = ox * p->stride_w - p->pad_w;
            int kx_lo, kx_hi;
            tml_tap_range(ix0, p->dil_w, k_w, p->in_w, &kx_lo, &kx_hi);
            const int full = ky_lo == 0 && ky_hi == k_h && kx_lo == 0 && kx_hi == k_w;
            int8_t *o = out + (oy * p->out_w + ox) * out_c;
#if TML_NN_DSP
            if (full && k_h == 1 && k_w == 1) {
                /* 1x1 window: a dot product of the pixel with each filter row. */
                tml_dot_rows_s8(in + (iy0 * p->in_w + ix0) * in_c, w, in_c, out_c, q, p->out_offset,
                                p->act_min, p->act_max, o);
                continue;
            }
#endif
            for (int oc = 0; oc < out_c; oc++) {
                const int8_t *wk = w + oc * kernel_size;
                int32_t acc;
                if (full) {
                    acc = q->kbias[oc];
                    for (int ky = 0; ky < k_h; ky++) {
                        const int iy = iy0 + ky * p->dil_h;
                        for (int kx = 0; kx < k_w; kx++) {
                            const int ix = ix0 + kx * p->dil_w;
                            const int8_t *px = in + (iy * p->in_w + ix) * in_c;
                            const int8_t *wp = wk + (ky * k_w + kx) * in_c;
                            acc += tml_dot_s8(px, wp, in_c);
                        }
                    }
                } else {
                    acc = q->bias[oc];
                    for (int ky = ky_lo; ky < ky_hi; ky++) {
                        const int iy = iy0 + ky * p->dil_h;
                        for (int kx = kx_lo; kx < kx_hi; kx++) {
                            const int ix = ix0 + kx * p->dil_w;
                            const int8_t *px = in + (iy * p->in_w + ix) * in_c;
                            const int8_t *wp = wk + (ky * k_w + kx) * in_c;
                            for (int ic = 0; ic < in_c; ic++) acc += wp[ic] * (px[ic] + off);
                        }
                    }
                }
                o[oc] = tml_out8(acc, q, oc, p->out_offset, p->act_min, p->act_max);
            }
        }
    }
}

void tml_dwconv2d_s8(const tml_conv_params *p, const tml_channel_q *q, const int8_t *in, const int8_t *w,
                     int8_t *out) {
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
                            const int8_t *wp = w + (ky * k_w + kx) * out_c + c0;
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

void tml_fc_s8(const tml_fc_params *p, const tml_channel_q *q, const int8_t *in, const int8_t *w, int8_t *out) {
    const int n = p->in_features, m = p->out_features;
    for (int r = 0; r < p->rows; r++) {
        const int8_t *x = in + r * n;
        int8_t *o = out + r * m;
#if TML_NN_DSP
        tml_dot_rows_s8(x, w, n, m, q, p->out_offset, p->act_min, p->act_max, o);
#else
        for (int oc = 0; oc < m; oc++) {
            int32_t acc = q->kbias[oc] + tml_dot_s8(x, w + oc * n, n);
            o[oc] = tml_out8(acc, q, oc, p->out_offset, p->act_min, p->act_max);
        }
#endif
    }
}
