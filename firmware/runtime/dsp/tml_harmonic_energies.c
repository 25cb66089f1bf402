/* tml_harmonic_energies: twin of tinyml.dsp.harmonic_energies (see its docstring for the definition).
 * Float32 in the Python's order: f = (base * order) * h, bins by ceilf/floorf of f*(1 -+ tol) / df,
 * the peak the largest bin, the local background a sequential sum over the neighbourhood outside the peak's
 * bins divided by their count, the mean reference a sequential sum over bins 1..n_bins-1 divided by
 * n_bins - 1, logs by tml_logf. Bit-exact. reference: TML_HARMONIC_ABSOLUTE / _LOCAL / _MEAN. */
#include <math.h>

#include "tml_dsp.h"

static float log_floor(float v, float lo) { return tml_logf(v > lo ? v : lo); }

void tml_harmonic_energies(const float *power, int n_bins, float rate, float base_hz, const float *orders,
                           int n_orders, int harmonics, float tolerance, int reference, float background, float floor_v,
                           float *out)
{
    float df = rate / (float)(2 * (n_bins - 1));
    int relative = reference != TML_HARMONIC_ABSOLUTE;
    float mean_ref = 0.0f;
    if (reference == TML_HARMONIC_MEAN) {
        float acc = 0.0f;
        for (int k = 1; k < n_bins; k++) acc = acc + power[k];
        mean_ref = acc / (float)(n_bins - 1);
    }
    int j = 0;
    for (int o = 0; o < n_orders; o++) {
        float fo = base_hz * orders[o];
        for (int h = 1; h <= harmonics; h++, j++) {
            float f = fo * (float)h;
            int lo = (int)ceilf((f * (1.0f - tolerance)) / df);
            int hi = (int)floorf((f * (1.0f + tolerance)) / df);
            if (lo > hi) {
                lo = hi = (int)floorf(f / df + 0.5f);
            }
            int blo = (int)floorf((f * (1.0f - background)) / df);
            int bhi = (int)ceilf((f * (1.0f + background)) / df);
            if (base_hz == 0.0f || lo < 1 || hi > n_bins - 1) {
                out[j] = relative ? 0.0f : tml_logf(floor_v);
                continue;
            }
            if (blo < 1) blo = 1;
            if (bhi > n_bins - 1) bhi = n_bins - 1;
            float peak = power[lo];
            for (int k = lo + 1; k <= hi; k++) {
                if (power[k] > peak) peak = power[k];
            }
            float v = log_floor(peak, floor_v);
            if (reference == TML_HARMONIC_MEAN) {
                v = v - log_floor(mean_ref, floor_v);
            } else if (relative) {
                float acc = 0.0f;
                int count = 0;
                for (int k = blo; k <= bhi; k++) {
                    if (k < lo || k > hi) {
                        acc = acc + power[k];
                        count++;
                    }
                }
                float bg = count ? acc / (float)count : peak;
                v = v - log_floor(bg, floor_v);
            }
            out[j] = v;
        }
    }
}
