/* tml_detrend: twin of tinyml.dsp.detrend. y = x - mean(x), the mean a sequential float32 sum / n
 * (tml_stats_mean). Bit-exact; y may equal x. */
#include "tml_dsp.h"

void tml_detrend(const float *x, int n, int stride, float *y)
{
    float m = tml_stats_mean(x, n, stride);
    for (int i = 0; i < n; i++) {
        y[(long)i * stride] = x[(long)i * stride] - m;
    }
}
