/* tml_rr_features: twin of tinyml.dsp.rr_features (float32, sequential sums, lower medians). Bit-exact. */
#include <math.h>

#include "tml_dsp.h"

/* lower median of v[0..n) by insertion sort into work (n small: the beats of one window) */
static float median_low(const float *v, int n, float *work)
{
    for (int i = 0; i < n; i++) {
        float x = v[i];
        int j = i;
        while (j > 0 && work[j - 1] > x) {
            work[j] = work[j - 1];
            j--;
        }
        work[j] = x;
    }
    return work[(n - 1) / 2];
}

void tml_rr_features(const float *rr, int n, float *work, float *out)
{
    for (int i = 0; i < TML_RR_FEATURES; i++) out[i] = NAN;
    if (n < 1) return;
    float acc = 0.0f;
    for (int i = 0; i < n; i++) acc = acc + rr[i];
    float mean = acc / (float)n;
    out[0] = 60.0f / mean;
    if (n < 2) return;
    float s2 = 0.0f, d2 = 0.0f;
    int32_t big = 0;
    for (int i = 0; i < n; i++) {
        float dv = rr[i] - mean;
        s2 = s2 + dv * dv;
    }
    for (int i = 1; i < n; i++) {
        float d = rr[i] - rr[i - 1];
        d2 = d2 + d * d;
        if (fabsf(d) > 0.05f) big++;
    }
    out[1] = 1000.0f * sqrtf(s2 / (float)n);
    out[2] = 1000.0f * sqrtf(d2 / (float)(n - 1));
    out[3] = (float)big / (float)(n - 1);
    if (n < 4) return;
    float med = median_low(rr, n, work);
    float best = 0.0f;
    for (int lag = 1; lag <= 3; lag++) {
        float *diff = work + n; /* |rr[i] - rr[i - lag]|, then sorted into work */
        for (int i = lag; i < n; i++) diff[i - lag] = fabsf(rr[i] - rr[i - lag]);
        float m = median_low(diff, n - lag, work);
        if (lag == 1 || m < best) best = m;
    }
    out[4] = best / med;
}
