/* SOFTMAX and LOGISTIC, int8, with the gemmlowp-style fixed-point arithmetic TFLM's reference kernels use.
 *
 * A fixed-point number with I integer bits is an int32 holding value * 2^(31-I). Products use the
 * saturating rounding doubling high multiply; exp() on [-1/4, 0) is a 4th-order Taylor polynomial around
 * -1/8 and larger arguments go through a barrel of exact constants exp(-2^k); 1/(1+x) uses three
 * Newton-Raphson steps. All constants are the Q0.31 values of the named reals. */
#include "tml_nn.h"

#define FP_ONE INT32_MAX /* 1.0 with 0 integer bits */

static inline int32_t fp_mul(int32_t a, int32_t b) { return tml_sat_rounding_doubling_high_mul(a, b); }

/* x * 2^e: saturating for e > 0, rounding for e < 0. */
static inline int32_t fp_mul_pot(int32_t x, int e) {
    if (e > 0) {
        const int32_t threshold = (int32_t)(((uint32_t)1 << (31 - e)) - 1u);
        if (x > threshold) return INT32_MAX;
        if (x < -threshold) return INT32_MIN;
        return (int32_t)((uint32_t)x << e);
    }
    if (e < 0) return tml_rounding_divide_by_pot(x, -e);
    return x;
}

/* exp(a) for a in [-1/4, 0), Q0.31 in and out. */
static int32_t fp_exp_quarter(int32_t a) {
    const int32_t exp_minus_one_eighth = 1895147668;
    const int32_t one_third = 715827883;
    const int32_t x = a + ((int32_t)1 << 28); /* a + 1/8 */
    const int32_t x2 = fp_mul(x, x);
    const int32_t x3 = fp_mul(x2, x);
    const int32_t x4 = fp_mul(x2, x2);
    const int32_t x4_over_4 = fp_mul_pot(x4, -2);
    const int32_t poly = fp_mul_pot(fp_mul(x4_over_4 + x3, one_third) + x2, -1);
    return exp_minus_one_eighth + fp_mul(exp_minus_one_eighth, x + poly);
}

/* exp(a) for a <= 0 with `int_bits` integer bits (4 or 5); result in Q0.31. */
static int32_t fp_exp_negative(int32_t a, int int_bits) {
    static const TML_FLASH int32_t barrel[7] = {1672461947, 1302514674, 790015084, 290630308, 39332535, 720401, 242};
    const int frac = 31 - int_bits;
    const int32_t one_quarter = (int32_t)1 << (frac - 2);
    const int32_t mask = one_quarter - 1;
    const int32_t a_mod = (a & mask) - one_quarter;
    int32_t result = fp_exp_quarter(fp_mul_pot(a_mod, int_bits));
    const int32_t remainder = a_mod - a;
    for (int k = 0; k < 7; k++) {
        const int exponent = k - 2;
        if (int_bits > exponent) {
            const int shift = frac + exponent;
            if (remainder & (int32_t)((uint32_t)1 << shift)) result = fp_mul(result, barrel[k]);
        }
    }
    if (a == 0) result = FP_ONE;
    return result;
}

/* 1 / (1 + a) for a in [0, 1), Q0.31 in and out. */
static int32_t fp_one_over_one_plus_x(int32_t a) {
    const int64_t sum = (int64_t)a + FP_ONE;
    const int32_t half_den = (int32_t)((sum + (sum >= 0 ? 1 : -1)) / 2);
    const int32_t c48_17 = 1515870810;      /* 48/17, Q2.29 */
    const int32_t c_neg32_17 = -1010580540; /* -32/17, Q2.29 */
    int32_t x = c48_17 + fp_mul(half_den, c_neg32_17);
    for (int i = 0; i < 3; i++) {
        const int32_t hdx = fp_mul(half_den, x);
        const int32_t one_minus = ((int32_t)1 << 29) - hdx;
        x = x + fp_mul_pot(fp_mul(x, one_minus), 2);
    }
    return fp_mul_pot(x, 1);
}

static int tml_clz32(uint32_t x) {
#if defined(__GNUC__)
    /* __builtin_clz counts in an unsigned int: 16 bits on an 8-bit AVR, where long has the 32. */
    if (sizeof(unsigned int) >= sizeof(uint32_t)) return x ? __builtin_clz((unsigned int)x) : 32;
    return x ? __builtin_clzl((unsigned long)x) : 32;
#else
    int n = 0;
    if (!x) return 32;
    while (!(x & 0x80000000u)) {
        x <<= 1;
        n++;
    }
    return n;
#endif
}

void tml_softmax_s8(const TML_FLASH tml_softmax_params *p_in, const int8_t *in, int8_t *out) {
    const tml_softmax_params pl = *p_in, *p = &pl;
    const int depth = p->depth;
    for (int r = 0; r < p->rows; r++) {
        const int8_t *x = in + r * depth;
        int8_t *y = out + r * depth;
        int32_t max_in_row = -128;
        for (int c = 0; c < depth; c++)
            if (x[c] > max_in_row) max_in_row = x[c];
        int32_t sum_of_exps = 0; /* 12 integer bits */
        for (int c = 0; c < depth; c++) {
            const int32_t diff = x[c] - max_in_row;
            if (diff >= p->diff_min) {
                const int32_t scaled =
                    fp_mul((int32_t)((uint32_t)diff << p->input_left_shift), p->input_multiplier);
                sum_of_exps += tml_rounding_divide_by_pot(fp_exp_negative(scaled, 5), 12);
            }
        }
        const int headroom_plus_one = tml_clz32((uint32_t)sum_of_exps);
        const int num_bits_over_unit = 12 - headroom_plus_one;
        const int32_t shifted_sum_minus_one =
            (int32_t)(((uint32_t)sum_of_exps << headroom_plus_one) - ((uint32_t)1 << 31));
        const int32_t shifted_scale = fp_one_over_one_plus_x(shifted_sum_minus_one);
        int e = num_bits_over_unit + 31 - 8;
        if (e > 31) e = 31; /* only reachable when the exps sum to >= 512 (rows of hundreds of classes) */
        for (int c = 0; c < depth; c++) {
            const int32_t diff = x[c] - max_in_row;
            if (diff >= p->diff_min) {
                const int32_t scaled =
                    fp_mul((int32_t)((uint32_t)diff << p->input_left_shift), p->input_multiplier);
                const int32_t e0 = fp_exp_negative(scaled, 5);
                const int32_t v = tml_rounding_divide_by_pot(fp_mul(shifted_scale, e0), e) - 128;
                y[c] = (int8_t)tml_clamp(v, -128, 127);
            } else {
                y[c] = -128;
            }
        }
    }
}

void tml_logistic_s8(const TML_FLASH tml_logistic_params *p_in, const int8_t *in, int8_t *out) {
    const tml_logistic_params pl = *p_in, *p = &pl;
    for (int i = 0; i < p->size; i++) {
        const int32_t x = (int32_t)in[i] - p->in_zp;
        if (x <= -p->range_radius) {
            out[i] = -128;
        } else if (x >= p->range_radius) {
            out[i] = 127;
        } else {
            const int32_t a = tml_requant(x, p->mult, p->left_shift); /* Q4.27 */
            int32_t r;
            if (a == 0) {
                r = (int32_t)1 << 30;
            } else {
                const int32_t abs_a = a > 0 ? a : -a;
                const int32_t pos = fp_one_over_one_plus_x(fp_exp_negative(-abs_a, 4));
                r = a > 0 ? pos : FP_ONE - pos;
            }
            const int32_t v = tml_rounding_divide_by_pot(r, 23) - 128;
            out[i] = (int8_t)tml_clamp(v, -128, 127);
        }
    }
}
