/* tml_mfcc: mel filterbank, log, DCT-II and their composition; twins of tinyml.dsp.mel / log / dct / mfcc.
 * tml_mel and tml_dct are sequential float32 dot products (bit-exact given the same tables); tml_logf is our
 * own float32 log (no libm logf, whose last bit differs between C libraries), mirrored op for op in
 * tinyml.dsp.log, so the whole MFCC is bit-exact with Python. */
#include <math.h>
#include <string.h>

#include "tml_dsp.h"

#define TML_PI 3.14159265358979311599796346854 /* == numpy.pi */

void tml_mel(const float *power, const int32_t *start, const int32_t *count, const float *weights, int n_mels,
             float *out) {
    const float *w = weights;
    for (int m = 0; m < n_mels; m++) {
        const float *p = power + start[m];
        float acc = 0.0f;
        for (int k = 0; k < count[m]; k++) acc = acc + w[k] * p[k];
        w += count[m];
        out[m] = acc;
    }
}

/* log(1+f) = f - f^2/2 + s*(f^2/2 + R), s = f/(2+f), R ~ 2s^2/3 + 2s^4/5 + ... (degree-8 minimax fit,
 * the classic fdlibm coefficients); within 1 ulp for finite x > 0. */
#define TML_LG1 0.66666662693f
#define TML_LG2 0.40000972152f
#define TML_LG3 0.28498786688f
#define TML_LG4 0.24279078841f
#define TML_LN2_HI 6.9313812256e-01f
#define TML_LN2_LO 9.0580006145e-06f
#define TML_SQRT2_HALF_BITS 0x3f3504f3u

float tml_logf(float x) {
    uint32_t ix;
    int k = 0;
    if (x == 0.0f) return -INFINITY;
    memcpy(&ix, &x, sizeof ix);
    if (ix >= 0x7f800000u) return x; /* +inf, NaN (negatives too: callers pass x > 0) */
    if (ix < 0x00800000u) {          /* subnormal: scale into the normal range */
        x = x * 33554432.0f;         /* 2^25 */
        k = -25;
        memcpy(&ix, &x, sizeof ix);
    }
    /* x = 2^k * m, m in [sqrt(2)/2, sqrt(2)) */
    ix += 0x3f800000u - TML_SQRT2_HALF_BITS;
    k += (int)(ix >> 23) - 0x7f;
    ix = (ix & 0x007fffffu) + TML_SQRT2_HALF_BITS;
    float m;
    memcpy(&m, &ix, sizeof m);
    float f = m - 1.0f;
    float s = f / (2.0f + f);
    float z = s * s;
    float w = z * z;
    float t1 = w * (TML_LG2 + w * TML_LG4);
    float t2 = z * (TML_LG1 + w * TML_LG3);
    float r = t2 + t1;
    float hfsq = 0.5f * f * f;
    float dk = (float)k;
    return (((s * (hfsq + r) + dk * TML_LN2_LO) - hfsq) + f) + dk * TML_LN2_HI;
}

void tml_log(const float *x, int n, float floor, float *y) {
    for (int i = 0; i < n; i++) y[i] = tml_logf(x[i] < floor ? floor : x[i]);
}

void tml_dct_matrix(int n, int n_out, float *d) {
    for (int k = 0; k < n_out; k++) {
        double s = k == 0 ? sqrt(1.0 / (double)n) : sqrt(2.0 / (double)n);
        for (int i = 0; i < n; i++)
            d[(long)k * n + i] = (float)(cos(TML_PI * (double)k * (2.0 * (double)i + 1.0) / (2.0 * (double)n)) * s);
    }
}

void tml_dct(const float *x, int n, const float *d, int n_out, float *y) {
    for (int k = 0; k < n_out; k++) {
        const float *row = d + (long)k * n;
        float acc = 0.0f;
        for (int i = 0; i < n; i++) acc = acc + row[i] * x[i];
        y[k] = acc;
    }
}

int tml_mfcc(const float *x, int stride, int n, const float *w, int n_fft, const float *tw, const int32_t *mel_start,
             const int32_t *mel_count, const float *mel_weights, int n_mels, float log_floor, const float *dct,
             int n_mfcc, float *work, float *out) {
    float *power = work;             /* n_fft/2+1 floats, in place over the FFT's real part */
    float *mel = work + 2 * n_fft;   /* n_mels floats */
    if (n_mfcc > n_mels) return -1;
    if (tml_power_spectrum(x, stride, n, w, n_fft, tw, work, power) != 0) return -1;
    tml_mel(power, mel_start, mel_count, mel_weights, n_mels, mel);
    tml_log(mel, n_mels, log_floor, mel);
    tml_dct(mel, n_mels, dct, n_mfcc, out);
    return 0;
}
