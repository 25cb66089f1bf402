/* tml_sqi: twin of tinyml.dsp.sqi (float32, sequential sums): bit-exact. */
#include <math.h>

#include "tml_dsp.h"

static float clip01(float v) { return v < 0.0f ? 0.0f : (v > 1.0f ? 1.0f : v); }

float tml_sqi(const float *x, int n, float ref, float *ptp_out)
{
    float lo = x[0], hi = x[0];
    for (int i = 1; i < n; i++) {
        if (x[i] < lo) lo = x[i];
        if (x[i] > hi) hi = x[i];
    }
    float ptp = hi - lo;
    *ptp_out = ptp;
    if (ptp < 0.05f || n < 3) return 0.0f;
    float r = ptp / ref;
    float a = clip01(3.0f - r);
    float acc = 0.0f;
    for (int i = 2; i < n; i++) acc = acc + fabsf((x[i] - 2.0f * x[i - 1]) + x[i - 2]);
    float h = (acc / (float)(n - 2)) / ref;
    float e = clip01((0.08f - h) / 0.05f);
    return a * e;
}
