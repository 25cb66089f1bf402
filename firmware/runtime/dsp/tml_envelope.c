/* tml_envelope: twin of tinyml.dsp.envelope: y = lowpass biquad cascade of |x| (bit-exact). */
#include <math.h>

#include "tml_dsp.h"

void tml_envelope(tml_biquad_t *f, const float *x, float *y, int n, int stride) {
    for (int i = 0; i < n; i++) {
        float a = fabsf(x[(long)i * stride]);
        tml_biquad(f, &a, &y[(long)i * stride], 1, 1);
    }
}
