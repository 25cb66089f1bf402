/* tml_nn: int8 neural-network kernels for the ahead-of-time compiled runtime.
 *
 * Portable C99, no malloc, no VLAs. Arithmetic is bit-exact with the TFLM reference kernels:
 * requantization multipliers and shifts are computed at compile time (tinyml.compile.quant) and the
 * kernels use the same rounding (saturating rounding doubling high multiply, then a rounding right
 * shift). Building with TML_NN_DSP=1 on a core with the DSP extension (Cortex-M4/M7/M33) selects
 * SIMD inner loops behind the same functions; they must give identical results (tests check it).
 */
#ifndef TML_NN_H
#define TML_NN_H

#include <stdint.h>

#include "tml_flash.h"

#ifndef TML_NN_DSP
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
#define TML_NN_DSP 1
#else
#define TML_NN_DSP 0
#endif
#endif
/* The DSP paths are ARM assembly and ACLE intrinsics: a core without the DSP extension (Cortex-M0/M3, AVR,
 * the host) takes the portable C99 kernels, which give the same bits. */
#if TML_NN_DSP && !(defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP)
#error "TML_NN_DSP=1 needs a core with the Arm DSP extension (Cortex-M4/M7/M33); build with TML_NN_DSP=0"
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ---- fixed-point helpers (inline so every kernel shares them) ---- */

/* round(a*b / 2^31) with ties away from zero; saturates the one overflow case. TFLite writes it as
 * (ab + nudge) / 2^31 with nudge = 2^30 or 1 - 2^30 by sign and a truncating division; for ab < 0
 * truncation adds 2^31 - 1 before an arithmetic shift, so both signs reduce to (ab + 2^30) >> 31. */
static inline int32_t tml_sat_rounding_doubling_high_mul(int32_t a, int32_t b) {
    if (a == INT32_MIN && b == INT32_MIN) return INT32_MAX;
    return (int32_t)(((int64_t)a * (int64_t)b + ((int64_t)1 << 30)) >> 31);
}

/* x / 2^e rounded to nearest, ties away from zero. 0 <= e <= 31. */
static inline int32_t tml_rounding_divide_by_pot(int32_t x, int e) {
    const int32_t mask = (int32_t)(((uint32_t)1 << e) - 1u);
    const int32_t remainder = x & mask;
    const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    return (x >> e) + (remainder > threshold ? 1 : 0);
}

/* x * m * 2^shift, as TFLite's MultiplyByQuantizedMultiplier (shift > 0: left, < 0: right).
 * m is a multiplier from QuantizeMultiplier, so 0 <= m < 2^31 and the saturating case of the high
 * multiply (both operands INT32_MIN) cannot occur; it is left out here. */
static inline int32_t tml_requant(int32_t x, int32_t m, int shift) {
    const int left = shift > 0 ? shift : 0;
    const int right = left - shift;
    const int32_t xs = (int32_t)((uint32_t)x << left);
    const int32_t high = (int32_t)(((int64_t)xs * (int64_t)m + ((int64_t)1 << 30)) >> 31);
    return tml_rounding_divide_by_pot(high, right);
}

static inline int32_t tml_clamp(int32_t v, int32_t lo, int32_t hi) {
    return v < lo ? lo : (v > hi ? hi : v);
}

/* ---- kernels ----
 * Layer parameters, weights and per-channel tables are compiled constants: TML_FLASH (program memory on
 * an 8-bit AVR, plain const elsewhere). Each kernel copies its parameter struct into a local first. */

typedef struct {
    int16_t in_h, in_w, in_c, out_h, out_w, out_c, k_h, k_w;
    int16_t stride_h, stride_w, dil_h, dil_w, pad_h, pad_w;
    int16_t depth_mult; /* depthwise only */
    int16_t act_min, act_max;
    int32_t in_offset, out_offset;
} tml_conv_params;

/* Per-output-channel constants of a convolution, all precomputed at compile time:
 * bias[c]  = the layer's int32 bias (0 when it has none),
 * kbias[c] = bias[c] + in_offset * sum(weights of channel c): the accumulator start for pixels whose
 *            window lies fully inside the input, so the inner loop is a plain sum of w*x,
 * mult/shift = the requantization of channel c. */
typedef struct {
    const TML_FLASH int32_t *bias;
    const TML_FLASH int32_t *kbias;
    const TML_FLASH int32_t *mult;
    const TML_FLASH int8_t *shift;
} tml_channel_q;

/* CONV_2D, NHWC input, OHWI weights, per-channel requantization. `scratch` holds two receptive fields
 * (2 * k_h * k_w * in_c bytes, planned in the arena); NULL for 1x1 filters. */
void tml_conv2d_s8(const TML_FLASH tml_conv_params *p, const TML_FLASH tml_channel_q *q, const int8_t *in, const TML_FLASH int8_t *w,
                   int8_t *scratch, int8_t *out);

/* DEPTHWISE_CONV_2D, weights [1, kh, kw, in_c*depth_mult]. */
void tml_dwconv2d_s8(const TML_FLASH tml_conv_params *p, const TML_FLASH tml_channel_q *q, const int8_t *in, const TML_FLASH int8_t *w,
                     int8_t *out);

typedef struct {
    int32_t rows, in_features, out_features;
    int32_t in_offset, out_offset;
    int16_t act_min, act_max;
} tml_fc_params;

/* FULLY_CONNECTED: out[r][o] = requant(sum_i w[o][i] * (in[r][i] + in_offset) + bias[o]).
 * q->kbias[o] = bias[o] + in_offset * sum_i w[o][i]; q->bias is unused; mult/shift have one entry per output. */
void tml_fc_s8(const TML_FLASH tml_fc_params *p, const TML_FLASH tml_channel_q *q, const int8_t *in, const TML_FLASH int8_t *w, int8_t *out);

/* ---- packed kernels ----
 * The compiler (tinyml.compile.packing) lays the weights out in the order the inner loops read them and
 * gives one tml_rq record per output channel. It selects these kernels for a layer only after proving from
 * its weights and biases that, for every possible int8 input, |acc| < 2^30 and the sums below stay in int32;
 * then TFLite's requantization (rounding doubling high multiply, rounding right shift, + zero point) equals
 *     out = clamp(((SMMULR(2 acc, mult) - (acc < 0) + rnd) >> shift, act_min, act_max)
 * bit for bit (SMMULR(2a, m) = floor((a m + 2^30) / 2^31); a ties-away right shift by shift >= 1 is a floor
 * shift of h + 2^(shift-1) - (h < 0), and h < 0 only when acc < 0; the zero point rides in rnd). */
/* Packed weight arrays start on a word boundary: the DSP loops load them a word at a time. */
#if defined(__GNUC__)
#define TML_ALIGNED4 __attribute__((aligned(4)))
#else
#define TML_ALIGNED4
#endif

typedef struct {
    int32_t kbias; /* accumulator start: bias + in_offset * sum(weights) (doubled for depthwise) */
    int32_t mult;  /* requantization multiplier, in [2^30, 2^31) */
    int32_t rnd;   /* 2^(shift-1) + out_offset * 2^shift */
    int32_t shift; /* right shift, 1..31 */
} tml_rq;

/* CONV_2D on packed weights: filters in pairs, per pair and per group of 4 window values the 4 bytes of the
 * even filter then the 4 of the odd one; the window (k_h*k_w*in_c values) is zero-padded to a multiple of 8
 * (k8) and an odd filter count gets a zero filter. Pixels go in pairs: both windows are copied (DSP: sign-
 * extended) into `scratch` before any output of the pair is written, so the output may overlap the input as
 * far as tinyml.compile.overlap allows. scratch: 4*k8 + 32 bytes, plus 2*k8 for im2col unless the filter is 1x1. */
void tml_conv2d_packed_s8(const TML_FLASH tml_conv_params *p, const TML_FLASH tml_rq *rq, const int8_t *in,
                          const TML_FLASH int8_t *w, int8_t *scratch, int8_t *out);

/* FULLY_CONNECTED on weights packed as for tml_conv2d_packed_s8 (window = in_features); no scratch. */
void tml_fc_packed_s8(const TML_FLASH tml_fc_params *p, const TML_FLASH tml_rq *rq, const int8_t *in,
                      const TML_FLASH int8_t *w, int8_t *out);

/* DEPTHWISE_CONV_2D, depth multiplier 1, on packed weights: int16 holding 2*w, per group of 4 channels,
 * tap by tap (ky, kx), the channels in the order c0, c2, c1, c3 (the halves SXTB16 splits a word into);
 * channels padded to a multiple of 4 with zero weights. rq[c].kbias is doubled too. Input rows go through
 * a ring of (k_h-1)*dil_h+1 rows in `scratch` (int16, same channel order, padding columns and rows at the
 * input zero point) before any output row that needs them is written: the output may overlap the input
 * (in place for stride 1, 'same' padding). scratch: rows * ring_w * ceil(in_c/4) * 8 bytes, ring_w =
 * (out_w-1)*stride_w + (k_w-1)*dil_w + 1. */
void tml_dwconv2d_packed_s8(const TML_FLASH tml_conv_params *p, const TML_FLASH tml_rq *rq, const int8_t *in,
                            const TML_FLASH int16_t *w, int8_t *scratch, int8_t *out);

typedef struct {
    int16_t in_h, in_w, c, out_h, out_w, k_h, k_w, stride_h, stride_w, pad_h, pad_w;
    int16_t act_min, act_max;
} tml_pool_params;

void tml_avgpool_s8(const TML_FLASH tml_pool_params *p, const int8_t *in, int8_t *out);
void tml_maxpool_s8(const TML_FLASH tml_pool_params *p, const int8_t *in, int8_t *out);

typedef struct {
    int32_t outer, reduce, inner; /* input viewed as [outer, reduce, inner], reduced over the middle */
    int32_t in_zp, out_zp, mult;
    int16_t shift;
} tml_mean_params;

void tml_mean_s8(const TML_FLASH tml_mean_params *p, const int8_t *in, int8_t *out);

typedef struct {
    int32_t rows, depth;
    int32_t input_multiplier;
    int32_t input_left_shift;
    int32_t diff_min;
} tml_softmax_params;

/* SOFTMAX with int8 output of scale 1/256, zero point -128 (what the converter emits). */
void tml_softmax_s8(const TML_FLASH tml_softmax_params *p, const int8_t *in, int8_t *out);

typedef struct {
    int32_t size, in_zp, range_radius, mult;
    int32_t left_shift;
} tml_logistic_params;

void tml_logistic_s8(const TML_FLASH tml_logistic_params *p, const int8_t *in, int8_t *out);

#define TML_MAX_DIMS 5

typedef struct {
    int32_t dims[TML_MAX_DIMS];    /* output shape, padded on the left with 1 */
    int32_t stride1[TML_MAX_DIMS]; /* element strides of input 1 (0 where broadcast) */
    int32_t stride2[TML_MAX_DIMS];
    int32_t size;                  /* output elements */
    int32_t broadcast;             /* 0: same shapes, flat loop */
    int32_t in1_offset, in2_offset, out_offset;
    int32_t in1_mult, in2_mult, out_mult;
    int16_t in1_shift, in2_shift, out_shift, left_shift;
    int16_t act_min, act_max;
} tml_binary_params;

void tml_add_s8(const TML_FLASH tml_binary_params *p, const int8_t *in1, const int8_t *in2, int8_t *out);
void tml_mul_s8(const TML_FLASH tml_binary_params *p, const int8_t *in1, const int8_t *in2, int8_t *out);

/* CONCATENATION: input k contributes chunk[k] bytes to each of `outer` output rows. */
void tml_concat_s8(int32_t outer, int32_t n, const int8_t *const *ins, const TML_FLASH int32_t *chunk, int8_t *out);

typedef struct {
    int32_t in_dims[TML_MAX_DIMS];  /* padded on the left with 1 */
    int32_t out_dims[TML_MAX_DIMS];
    int32_t before[TML_MAX_DIMS];   /* padding before each dimension */
    int32_t pad_value;
} tml_pad_params;

void tml_pad_s8(const TML_FLASH tml_pad_params *p, const int8_t *in, int8_t *out);

typedef struct {
    int32_t size, in_zp, out_zp, mult;
    int32_t shift;
    int32_t act_min, act_max;
} tml_requant_params;

/* out = clamp(requant(in - in_zp) + out_zp, act_min, act_max): QUANTIZE int8 -> int8, and the
 * standalone RELU / RELU6 ops (RELU6 is a plain clamp: identity multiplier). */
void tml_quantize_s8(const TML_FLASH tml_requant_params *p, const int8_t *in, int8_t *out);

/* DEQUANTIZE int8 -> float32: out = scale * (in - zp). */
void tml_dequantize_s8(int32_t size, double scale, int32_t zp, const int8_t *in, float *out);

#ifdef __cplusplus
}
#endif

#endif /* TML_NN_H */
