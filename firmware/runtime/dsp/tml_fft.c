/* tml_fft: float32 radix-2 FFT, power spectrum and band power; twins of tinyml.dsp.spectrum and
 * tinyml.dsp.fft_band_power. This file defines the arithmetic: tinyml.dsp.spectrum does the same float32
 * operations in the same order (vectorized), so tml_power_spectrum is bit-exact with it, and so is band
 * power (sequential float32 sums of c_k * P[k], times the scale; frames summed and divided by their count). */
#include <math.h>

#include "tml_dsp.h"

#define TML_PI 3.14159265358979311599796346854 /* == numpy.pi */

static int is_pow2(int n) { return n >= 2 && (n & (n - 1)) == 0; }

void tml_fft_twiddles(int n, float *tw) {
    int h = n / 2;
    for (int k = 0; k < h; k++) {
        double ang = 2.0 * TML_PI * (double)k / (double)n;
        tw[k] = (float)cos(ang);
        tw[h + k] = (float)-sin(ang);
    }
}

int tml_fft(float *re, float *im, int n, const float *tw) {
    if (!is_pow2(n)) return -1;
    /* bit-reversal permutation */
    for (int i = 1, j = 0; i < n; i++) {
        int bit = n >> 1;
        for (; j & bit; bit >>= 1) j ^= bit;
        j ^= bit;
        if (i < j) {
            float t = re[i];
            re[i] = re[j];
            re[j] = t;
            t = im[i];
            im[i] = im[j];
            im[j] = t;
        }
    }
    const float *tc = tw, *ts = tw + n / 2;
    for (int len = 2; len <= n; len <<= 1) {
        int half = len >> 1, step = n / len;
        for (int i = 0; i < n; i += len) {
            for (int j = 0; j < half; j++) {
                float wr = tc[j * step], wi = ts[j * step];
                int a = i + j, b = a + half;
                float vr = re[b] * wr - im[b] * wi;
                float vi = re[b] * wi + im[b] * wr;
                float ur = re[a], ui = im[a];
                re[a] = ur + vr;
                im[a] = ui + vi;
                re[b] = ur - vr;
                im[b] = ui - vi;
            }
        }
    }
    return 0;
}

int tml_power_spectrum(const float *x, int stride, int n, const float *w, int n_fft, const float *tw,
                       float *work, float *power) {
    if (!is_pow2(n_fft) || n < 1 || n > n_fft) return -1;
    float *re = work, *im = work + n_fft;
    for (int i = 0; i < n; i++) re[i] = w ? x[(long)i * stride] * w[i] : x[(long)i * stride];
    for (int i = n; i < n_fft; i++) re[i] = 0.0f;
    for (int i = 0; i < n_fft; i++) im[i] = 0.0f;
    tml_fft(re, im, n_fft, tw);
    for (int k = 0; k <= n_fft / 2; k++) power[k] = re[k] * re[k] + im[k] * im[k];
    return 0;
}

int tml_fft_band_power(const float *x, int stride, int n, const float *w, const float *tw, const int32_t *lo,
                       const int32_t *hi, int n_bands, float scale, float *work, float *out) {
    int nb = n / 2 + 1;
    if (!is_pow2(n)) return -1;
    for (int b = 0; b < n_bands; b++)
        if (lo[b] < 0 || hi[b] < lo[b] || hi[b] > nb) return -1;
    float *p = work; /* the power spectrum overwrites re[0..n/2] in place */
    if (tml_power_spectrum(x, stride, n, w, n, tw, work, p) != 0) return -1;
    for (int b = 0; b < n_bands; b++) {
        float acc = 0.0f;
        for (int k = lo[b]; k < hi[b]; k++) acc = acc + ((k == 0 || k == n / 2) ? p[k] : 2.0f * p[k]);
        out[b] = acc * scale;
    }
    return 0;
}

int tml_fft_band_power_frames(const float *x, int stride, int n, int length, int hop, const float *w,
                              const float *tw, const int32_t *lo, const int32_t *hi, int n_bands, float scale,
                              float *work, float *band, float *out)
{
    if (length < 1 || length > n || hop < 1) return -1;
    int frames = 0;
    for (int b = 0; b < n_bands; b++) out[b] = 0.0f;
    for (int s = 0; s + length <= n; s += hop, frames++) {
        if (tml_fft_band_power(x + (long)s * stride, stride, length, w, tw, lo, hi, n_bands, scale, work, band) != 0)
            return -1;
        for (int b = 0; b < n_bands; b++) out[b] = out[b] + band[b];
    }
    for (int b = 0; b < n_bands; b++) out[b] = out[b] / (float)frames;
    return 0;
}
