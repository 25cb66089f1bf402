/* Pooling, MEAN, ADD/MUL, CONCATENATION, PAD, QUANTIZE, DEQUANTIZE (int8), bit-exact with TFLM reference. */
#include <string.h>

#include "tml_nn.h"
#include "tml_nn_packed.h"

/* The pooling window of output position o along one axis: its first input index i0 (may be negative
 * under padding) and the filter taps [f0, f1) that fall inside the input. */
static inline void pool_span(int o, int stride, int pad, int k, int in, int *i0, int *f0, int *f1) {
    *i0 = o * stride - pad;
    *f0 = *i0 < 0 ? -*i0 : 0;
    *f1 = k < in - *i0 ? k : in - *i0;
}

static inline int8_t tml_avg_out(int32_t acc, int count, int32_t lo, int32_t hi) {
    if (count > 0) acc = acc > 0 ? (acc + count / 2) / count : (acc - count / 2) / count;
    return (int8_t)tml_clamp(acc, lo, hi);
}

void tml_avgpool_s8(const TML_FLASH tml_pool_params *p_in, const int8_t *in, int8_t *out) {
    const tml_pool_params pl = *p_in, *p = &pl;
    const int c = p->c;
    const int32_t lo = p->act_min, hi = p->act_max;
    for (int oy = 0; oy < p->out_h; oy++) {
        int iy0, fy0, fy1;
        pool_span(oy, p->stride_h, p->pad_h, p->k_h, p->in_h, &iy0, &fy0, &fy1);
        for (int ox = 0; ox < p->out_w; ox++) {
            int ix0, fx0, fx1;
            pool_span(ox, p->stride_w, p->pad_w, p->k_w, p->in_w, &ix0, &fx0, &fx1);
            const int count = (fy1 - fy0) * (fx1 - fx0);
            const int8_t *win = in + ((int32_t)(iy0 + fy0) * p->in_w + ix0 + fx0) * c;
            const int32_t row_skip = (int32_t)(p->in_w - (fx1 - fx0)) * c;
            int8_t *o = out + ((int32_t)oy * p->out_w + ox) * c;
            int ch = 0;
#if TML_NN_DSP
            /* 4 channels at a time in halfword lanes: exact while count * 128 fits 16 bits */
            if (count <= 256) {
                for (; ch + 4 <= c; ch += 4) {
                    int32_t even = 0, odd = 0;
                    const int8_t *x = win + ch;
                    for (int fy = fy0; fy < fy1; fy++, x += row_skip) {
                        for (int fx = fx0; fx < fx1; fx++, x += c) {
                            const int32_t v = tml_ld32(x);
                            even = (int32_t)__sxtab16((uint32_t)even, (uint32_t)v);
                            odd = (int32_t)__sxtab16((uint32_t)odd, ((uint32_t)v >> 8) | ((uint32_t)v << 24));
                        }
                    }
                    o[ch] = tml_avg_out((int16_t)even, count, lo, hi);
                    o[ch + 1] = tml_avg_out((int16_t)odd, count, lo, hi);
                    o[ch + 2] = tml_avg_out(even >> 16, count, lo, hi);
                    o[ch + 3] = tml_avg_out(odd >> 16, count, lo, hi);
                }
            }
#endif
            for (; ch < c; ch++) {
                int32_t acc = 0;
                const int8_t *x = win + ch;
                for (int fy = fy0; fy < fy1; fy++, x += row_skip)
                    for (int fx = fx0; fx < fx1; fx++, x += c) acc += *x;
                o[ch] = tml_avg_out(acc, count, lo, hi);
            }
        }
    }
}

void tml_maxpool_s8(const TML_FLASH tml_pool_params *p_in, const int8_t *in, int8_t *out) {
    const tml_pool_params pl = *p_in, *p = &pl;
    const int c = p->c;
    for (int oy = 0; oy < p->out_h; oy++) {
        int iy0, fy0, fy1;
        pool_span(oy, p->stride_h, p->pad_h, p->k_h, p->in_h, &iy0, &fy0, &fy1);
        for (int ox = 0; ox < p->out_w; ox++) {
            int ix0, fx0, fx1;
            pool_span(ox, p->stride_w, p->pad_w, p->k_w, p->in_w, &ix0, &fx0, &fx1);
            for (int ch = 0; ch < c; ch++) {
                int32_t m = -128;
                for (int fy = fy0; fy < fy1; fy++)
                    for (int fx = fx0; fx < fx1; fx++) {
                        const int32_t v = in[((iy0 + fy) * p->in_w + ix0 + fx) * c + ch];
                        if (v > m) m = v;
                    }
                out[(oy * p->out_w + ox) * c + ch] = (int8_t)tml_clamp(m, p->act_min, p->act_max);
            }
        }
    }
}

void tml_mean_s8(const TML_FLASH tml_mean_params *p_in, const int8_t *in, int8_t *out) {
    const tml_mean_params pl = *p_in, *p = &pl;
    const int32_t n = p->reduce, inner = p->inner;
    for (int32_t o = 0; o < p->outer; o++) {
        for (int32_t i = 0; i < inner; i++) {
            const int8_t *x = in + o * n * inner + i;
            int32_t sum = 0;
            for (int32_t r = 0; r < n; r++) sum += x[r * inner];
            const int32_t v = tml_requant(sum - p->in_zp * n, p->mult, p->shift) + p->out_zp;
            out[o * inner + i] = (int8_t)tml_clamp(v, -128, 127);
        }
    }
}

static inline int8_t tml_add1(const tml_binary_params *p, int32_t a, int32_t b) {
    const int32_t x = (int32_t)((uint32_t)(a + p->in1_offset) << p->left_shift);
    const int32_t y = (int32_t)((uint32_t)(b + p->in2_offset) << p->left_shift);
    const int32_t sx = tml_requant(x, p->in1_mult, p->in1_shift);
    const int32_t sy = tml_requant(y, p->in2_mult, p->in2_shift);
    const int32_t v = tml_requant(sx + sy, p->out_mult, p->out_shift) + p->out_offset;
    return (int8_t)tml_clamp(v, p->act_min, p->act_max);
}

static inline int8_t tml_mul1(const tml_binary_params *p, int32_t a, int32_t b) {
    const int32_t prod = (a + p->in1_offset) * (b + p->in2_offset);
    const int32_t v = tml_requant(prod, p->out_mult, p->out_shift) + p->out_offset;
    return (int8_t)tml_clamp(v, p->act_min, p->act_max);
}

#define TML_BINARY_LOOP(OP)                                                                           \
    do {                                                                                              \
        if (!p->broadcast) {                                                                          \
            for (int32_t i = 0; i < p->size; i++) out[i] = OP(p, in1[i], in2[i]);                     \
            return;                                                                                   \
        }                                                                                             \
        int32_t k = 0;                                                                                \
        for (int32_t d0 = 0; d0 < p->dims[0]; d0++)                                                   \
            for (int32_t d1 = 0; d1 < p->dims[1]; d1++)                                               \
                for (int32_t d2 = 0; d2 < p->dims[2]; d2++)                                           \
                    for (int32_t d3 = 0; d3 < p->dims[3]; d3++) {                                     \
                        const int32_t b1 = d0 * p->stride1[0] + d1 * p->stride1[1] +                  \
                                           d2 * p->stride1[2] + d3 * p->stride1[3];                   \
                        const int32_t b2 = d0 * p->stride2[0] + d1 * p->stride2[1] +                  \
                                           d2 * p->stride2[2] + d3 * p->stride2[3];                   \
                        for (int32_t d4 = 0; d4 < p->dims[4]; d4++)                                   \
                            out[k++] = OP(p, in1[b1 + d4 * p->stride1[4]], in2[b2 + d4 * p->stride2[4]]); \
                    }                                                                                 \
    } while (0)

void tml_add_s8(const TML_FLASH tml_binary_params *p_in, const int8_t *in1, const int8_t *in2, int8_t *out) {
    const tml_binary_params pl = *p_in, *p = &pl;
    TML_BINARY_LOOP(tml_add1);
}

void tml_mul_s8(const TML_FLASH tml_binary_params *p_in, const int8_t *in1, const int8_t *in2, int8_t *out) {
    const tml_binary_params pl = *p_in, *p = &pl;
    TML_BINARY_LOOP(tml_mul1);
}

void tml_concat_s8(int32_t outer, int32_t n, const int8_t *const *ins, const TML_FLASH int32_t *chunk, int8_t *out) {
    for (int32_t o = 0; o < outer; o++) {
        for (int32_t k = 0; k < n; k++) {
            memcpy(out, ins[k] + o * chunk[k], (size_t)chunk[k]);
            out += chunk[k];
        }
    }
}

void tml_pad_s8(const TML_FLASH tml_pad_params *p_in, const int8_t *in, int8_t *out) {
    const tml_pad_params pl = *p_in, *p = &pl;
    int32_t out_size = 1;
    for (int d = 0; d < TML_MAX_DIMS; d++) out_size *= p->out_dims[d];
    memset(out, (int8_t)p->pad_value, (size_t)out_size);
    const int32_t *id = p->in_dims, *od = p->out_dims, *b = p->before;
    const int32_t row = id[4];
    for (int32_t d0 = 0; d0 < id[0]; d0++)
        for (int32_t d1 = 0; d1 < id[1]; d1++)
            for (int32_t d2 = 0; d2 < id[2]; d2++)
                for (int32_t d3 = 0; d3 < id[3]; d3++) {
                    const int32_t src = (((d0 * id[1] + d1) * id[2] + d2) * id[3] + d3) * row;
                    const int32_t dst =
                        ((((d0 + b[0]) * od[1] + d1 + b[1]) * od[2] + d2 + b[2]) * od[3] + d3 + b[3]) * od[4] +
                        b[4];
                    memcpy(out + dst, in + src, (size_t)row);
                }
}

void tml_quantize_s8(const TML_FLASH tml_requant_params *p_in, const int8_t *in, int8_t *out) {
    const tml_requant_params pl = *p_in, *p = &pl;
    for (int32_t i = 0; i < p->size; i++) {
        const int32_t v = tml_requant((int32_t)in[i] - p->in_zp, p->mult, p->shift) + p->out_zp;
        out[i] = (int8_t)tml_clamp(v, p->act_min, p->act_max);
    }
}

void tml_dequantize_s8(int32_t size, double scale, int32_t zp, const int8_t *in, float *out) {
    for (int32_t i = 0; i < size; i++) out[i] = (float)(scale * (double)((int32_t)in[i] - zp));
}
