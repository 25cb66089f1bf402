/* tml_clip: the C twin of tinyml.dsp.clip (comparisons only, so bit-exact). */
#include "tml_dsp.h"

void tml_clip(const float *x, int n, float lo, float hi, float *out)
{
    for (int i = 0; i < n; i++) {
        float v = x[i];
        out[i] = v < lo ? lo : v > hi ? hi : v;
    }
}
