/* tml_symlog: twin of tinyml.dsp.symlog. y = copysignf(tml_logf(1.0f + fabsf(x)), x). Bit-exact. */
#include <math.h>

#include "tml_dsp.h"

void tml_symlog(const float *x, int n, float *y)
{
    for (int i = 0; i < n; i++) {
        y[i] = copysignf(tml_logf(1.0f + fabsf(x[i])), x[i]);
    }
}
