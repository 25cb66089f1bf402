/* tml_select: twin of tinyml.dsp.select (a copy; bit-exact). */
#include "tml_dsp.h"

void tml_select(const float *x, int n, int ch, const int32_t *channels, int n_out, float *out)
{
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < n_out; j++) {
            out[(long)i * n_out + j] = x[(long)i * ch + channels[j]];
        }
    }
}
