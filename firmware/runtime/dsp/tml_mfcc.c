/* tml_mfcc: mel filterbank, log, DCT-II and their composition; twins of tinyml.dsp.mel / log / dct / mfcc.
 * tml_mel and tml_dct are sequential float32 dot products (bit-exact given the same tables). */
#include <math.h>

#include "tml_dsp.h"

#define TML_PI 3.14159265358979311599796346854 /* == numpy.pi */

void tml_mel(const float *power, const int32_t *start, const int32_t *count, const float *weights, int n_mels,
             float *out) {
    const float *w = weights;
    for (int m = 0; m < n_mels; m++) {
        const float *p = power + start[m];
        float acc = 0.0f;
        for (int k = 0; k < count[m]; k++) acc = acc + w[k] * p[k];
        w += count[m];
        out[m] = acc;
    }
}

void tml_log(const float *x, int n, float floor, float *y) {
    for (int i = 0; i < n; i++) y[i] = logf(x[i] < floor ? floor : x[i]);
}

void tml_dct_matrix(int n, int n_out, float *d) {
    for (int k = 0; k < n_out; k++) {
        double s = k == 0 ? sqrt(1.0 / (double)n) : sqrt(2.0 / (double)n);
        for (int i = 0; i < n; i++)
            d[(long)k * n + i] = (float)(cos(TML_PI * (double)k * (2.0 * (double)i + 1.0) / (2.0 * (double)n)) * s);
    }
}

void tml_dct(const float *x, int n, const float *d, int n_out, float *y) {
    for (int k = 0; k < n_out; k++) {
        const float *row = d + (long)k * n;
        float acc = 0.0f;
        for (int i = 0; i < n; i++) acc = acc + row[i] * x[i];
        y[k] = acc;
    }
}

int tml_mfcc(const float *x, int stride, int n, const float *w, int n_fft, const float *tw, const int32_t *mel_start,
             const int32_t *mel_count, const float *mel_weights, int n_mels, float log_floor, const float *dct,
             int n_mfcc, float *work, float *out) {
    float *power = work;             /* n_fft/2+1 floats, in place over the FFT's real part */
    float *mel = work + 2 * n_fft;   /* n_mels floats */
    if (n_mfcc > n_mels) return -1;
    if (tml_power_spectrum(x, stride, n, w, n_fft, tw, work, power) != 0) return -1;
    tml_mel(power, mel_start, mel_count, mel_weights, n_mels, mel);
    tml_log(mel, n_mels, log_floor, mel);
    tml_dct(mel, n_mels, dct, n_mfcc, out);
    return 0;
}
