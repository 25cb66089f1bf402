/* tml_beat_features: twin of tinyml.dsp.beat_features (QRS width, template correlation and update).
 * Float32, sequential sums from 0, sqrtf: bit-exact. */
#include <math.h>

#include "tml_dsp.h"

#define GAP 2
#define BASE 4

float tml_beat_qrs_width(const float *x, int n, int c, int half)
{
    int lo = c - half < 0 ? 0 : c - half;
    int hi = c + half > n - 1 ? n - 1 : c + half;
    if (hi - lo + 1 < BASE) return 0.0f;
    float acc = 0.0f;
    for (int i = lo; i < lo + BASE; i++) acc = acc + x[i];
    float base = acc / (float)BASE;
    int m = lo;
    float dmax = fabsf(x[lo] - base);
    for (int i = lo + 1; i <= hi; i++) {
        float d = fabsf(x[i] - base);
        if (d > dmax) {
            dmax = d;
            m = i;
        }
    }
    float thr = dmax * 0.3f;
    int a = m, b = m;
    for (;;) { /* extend left over samples beyond the threshold, bridging up to GAP below it */
        int k = -1;
        for (int j = a - 1; j >= lo && j >= a - 1 - GAP; j--) {
            if (fabsf(x[j] - base) >= thr) {
                k = j;
                break;
            }
        }
        if (k < 0) break;
        a = k;
    }
    for (;;) {
        int k = -1;
        for (int j = b + 1; j <= hi && j <= b + 1 + GAP; j++) {
            if (fabsf(x[j] - base) >= thr) {
                k = j;
                break;
            }
        }
        if (k < 0) break;
        b = k;
    }
    return (float)(b - a + 1);
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

float tml_beat_template_align(const float *x, const float *t, int n, int shift, int *at)
{
    float best = -2.0f;
    *at = 0;
    for (int s = 0; s <= 2 * shift; s++) {
        float c = tml_beat_template_corr(x + s, t, n);
        if (c > best) {
            best = c;
            *at = s;
        }
    }
    return best;
}

float tml_beat_template_match(const float *x, const float *t, int n, int shift)
{
    int at;
    return tml_beat_template_align(x, t, n, shift, &at);
}

void tml_beat_template_update(float *t, const float *x, int n, int k)
{
    for (int i = 0; i < n; i++) t[i] = t[i] + (x[i] - t[i]) / (float)k;
}
