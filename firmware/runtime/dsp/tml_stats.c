/* tml_stats: twin of tinyml.dsp.stats. Every sum is sequential in a float32 accumulator from 0.0f;
 * n is converted to float; see the Python module docstring for the formulas. Bit-exact. */
#include <math.h>

#include "tml_dsp.h"

#define X(i) x[(long)(i) * stride]

float tml_stats_mean(const float *x, int n, int stride) {
    if (n < 1) return 0.0f;
    float acc = 0.0f;
    for (int i = 0; i < n; i++) acc = acc + X(i);
    return acc / (float)n;
}

/* m2 = S(d*d)/n, m3 = S((d*d)*d)/n, m4 = S((d*d)*(d*d))/n with d = x - mean (each sum in its own
 * float32 accumulator, so asking for one never changes another) */
static void moments(const float *x, int n, int stride, float *m2, float *m3, float *m4) {
    float m = tml_stats_mean(x, n, stride);
    float a2 = 0.0f, a3 = 0.0f, a4 = 0.0f;
    for (int i = 0; i < n; i++) {
        float d = X(i) - m;
        float d2 = d * d;
        a2 = a2 + d2;
        a3 = a3 + d2 * d;
        a4 = a4 + d2 * d2;
    }
    *m2 = a2 / (float)n;
    *m3 = a3 / (float)n;
    *m4 = a4 / (float)n;
}

float tml_stats_std(const float *x, int n, int stride) {
    float m2, m3, m4;
    if (n < 1) return 0.0f;
    moments(x, n, stride, &m2, &m3, &m4);
    return sqrtf(m2);
}

float tml_stats_min(const float *x, int n, int stride) {
    if (n < 1) return 0.0f;
    float v = X(0);
    for (int i = 1; i < n; i++)
        if (X(i) < v) v = X(i);
    return v;
}

float tml_stats_max(const float *x, int n, int stride) {
    if (n < 1) return 0.0f;
    float v = X(0);
    for (int i = 1; i < n; i++)
        if (X(i) > v) v = X(i);
    return v;
}

float tml_stats_rms(const float *x, int n, int stride) {
    if (n < 1) return 0.0f;
    float acc = 0.0f;
    for (int i = 0; i < n; i++) acc = acc + X(i) * X(i);
    return sqrtf(acc / (float)n);
}

float tml_stats_kurtosis(const float *x, int n, int stride) {
    float m2, m3, m4;
    if (n < 1) return 0.0f;
    moments(x, n, stride, &m2, &m3, &m4);
    if (m2 == 0.0f) return 0.0f;
    return m4 / (m2 * m2) - 3.0f;
}

float tml_stats_skewness(const float *x, int n, int stride) {
    float m2, m3, m4;
    if (n < 1) return 0.0f;
    moments(x, n, stride, &m2, &m3, &m4);
    if (m2 == 0.0f) return 0.0f;
    return m3 / (m2 * sqrtf(m2));
}

float tml_stats_peak(const float *x, int n, int stride) {
    float peak = 0.0f;
    for (int i = 0; i < n; i++) {
        float a = fabsf(X(i));
        if (a > peak) peak = a;
    }
    return peak;
}

float tml_stats_crest(const float *x, int n, int stride) {
    if (n < 1) return 0.0f;
    float r = tml_stats_rms(x, n, stride);
    if (r == 0.0f) return 0.0f;
    return tml_stats_peak(x, n, stride) / r;
}

int32_t tml_stats_zero_crossings(const float *x, int n, int stride) {
    int32_t count = 0;
    for (int i = 1; i < n; i++) count += (X(i - 1) < 0.0f) != (X(i) < 0.0f);
    return count;
}

void tml_stats(const float *x, int n, int stride, const uint8_t *which, int n_which, float *out) {
    for (int j = 0; j < n_which; j++) {
        float v;
        switch (which[j]) {
        case TML_STAT_MEAN: v = tml_stats_mean(x, n, stride); break;
        case TML_STAT_STD: v = tml_stats_std(x, n, stride); break;
        case TML_STAT_MIN: v = tml_stats_min(x, n, stride); break;
        case TML_STAT_MAX: v = tml_stats_max(x, n, stride); break;
        case TML_STAT_RMS: v = tml_stats_rms(x, n, stride); break;
        case TML_STAT_KURTOSIS: v = tml_stats_kurtosis(x, n, stride); break;
        case TML_STAT_CREST: v = tml_stats_crest(x, n, stride); break;
        case TML_STAT_ZERO_CROSSINGS: v = (float)tml_stats_zero_crossings(x, n, stride); break;
        case TML_STAT_SKEWNESS: v = tml_stats_skewness(x, n, stride); break;
        case TML_STAT_PEAK: v = tml_stats_peak(x, n, stride); break;
        default: v = 0.0f; break;
        }
        out[j] = v;
    }
}
