/* tml_decimate: twin of tinyml.dsp.decimate. Per channel and output sample a sequential float32 sum of
 * `factor` inputs from 0.0f, divided by (float)factor. Bit-exact. */
#include "tml_dsp.h"

void tml_decimate(const float *x, int n, int ch, int factor, float *out)
{
    int k = n / factor;
    for (int o = 0; o < k; o++) {
        for (int c = 0; c < ch; c++) {
            float acc = 0.0f;
            for (int i = 0; i < factor; i++) {
                acc = acc + x[((long)o * factor + i) * ch + c];
            }
            out[(long)o * ch + c] = acc / (float)factor;
        }
    }
}
