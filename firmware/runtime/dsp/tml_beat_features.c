/* tml_beat_features: twin of tinyml.dsp.beat_features (QRS width, template correlation and update).
 * Float32, sequential sums from 0, sqrtf: bit-exact. */
#include <math.h>

#include "tml_dsp.h"

float tml_beat_qrs_width(const float *x, int n, int c, int half)
{
    int lo = c - half < 1 ? 1 : c - half;
    int hi = c + half > n - 1 ? n - 1 : c + half;
    if (hi < lo) return 0.0f;
    float dmax = 0.0f;
    for (int i = lo; i <= hi; i++) {
        float d = fabsf(x[i] - x[i - 1]);
        if (d > dmax) dmax = d;
    }
    float thr = dmax * 0.3f;
    int on = -1, off = -1;
    for (int i = lo; i <= hi; i++) {
        if (fabsf(x[i] - x[i - 1]) >= thr) {
            if (on < 0) on = i;
            off = i;
        }
    }
    return (float)(off - on + 1);
}

float tml_beat_template_corr(const float *x, const float *t, int n)
{
    float sx = 0.0f, st = 0.0f;
    for (int i = 0; i < n; i++) sx = sx + x[i];
    for (int i = 0; i < n; i++) st = st + t[i];
    float mx = sx / (float)n, mt = st / (float)n;
    float sab = 0.0f, saa = 0.0f, sbb = 0.0f;
    for (int i = 0; i < n; i++) {
        float a = x[i] - mx, b = t[i] - mt;
        sab = sab + a * b;
        saa = saa + a * a;
        sbb = sbb + b * b;
    }
    float den = sqrtf(saa * sbb);
    return den == 0.0f ? 0.0f : sab / den;
}

void tml_beat_template_update(float *t, const float *x, int n, int k)
{
    for (int i = 0; i < n; i++) t[i] = t[i] + (x[i] - t[i]) / (float)k;
}
