/* tml_kurtosis_band: twin of tinyml.dsp.kurtosis_band. Each band's biquad cascade (zero state) filters
 * the window into `out`; the first band of largest kurtosis of out[skip..n) (tml_stats_kurtosis) wins and
 * is filtered into `out` once more (the caller uses out + skip). Bit-exact. */
#include "tml_dsp.h"

int tml_kurtosis_band(const float *x, int n, int skip, const float *sos, int n_sections, int n_bands, float *state,
                      float *out)
{
    int best = -1;
    float best_k = 0.0f;
    tml_biquad_t f;
    if (n < 1 || skip < 0 || skip >= n || n_bands < 1 || n_sections < 1) {
        return -1;
    }
    for (int b = 0; b < n_bands; b++) {
        tml_biquad_init(&f, sos + (long)b * n_sections * 6, n_sections, state);
        tml_biquad(&f, x, out, n, 1);
        float k = tml_stats_kurtosis(out + skip, n - skip, 1);
        if (best < 0 || k > best_k) {
            best = b;
            best_k = k;
        }
    }
    tml_biquad_init(&f, sos + (long)best * n_sections * 6, n_sections, state);
    tml_biquad(&f, x, out, n, 1);
    return best;
}
