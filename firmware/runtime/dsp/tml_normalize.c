/* tml_normalize: twin of tinyml.dsp.normalize. y = x / S(x), S the sequential float32 sum; 0 when
 * S == 0. Bit-exact. */
#include "tml_dsp.h"

void tml_normalize(const float *x, int n, float *y)
{
    float acc = 0.0f;
    for (int i = 0; i < n; i++) {
        acc = acc + x[i];
    }
    for (int i = 0; i < n; i++) {
        y[i] = acc == 0.0f ? 0.0f : x[i] / acc;
    }
}
