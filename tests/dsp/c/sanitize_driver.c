/* Standalone driver for the DSP C twins, built with -fsanitize=address,undefined by
 * tests/dsp/test_c_sanitize.py. Every buffer is heap-allocated at its exact size so that any overrun is
 * caught; results are checked against double-precision references. Exit status 0 and "ok" on success. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tml_dsp.h"

static int failures = 0, checks = 0;
#define CHECK(cond, ...)                                  \
    do {                                                  \
        checks++;                                         \
        if (!(cond)) {                                    \
            failures++;                                   \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
            fprintf(stderr, __VA_ARGS__);                 \
            fputc('\n', stderr);                          \
        }                                                 \
    } while (0)

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint64_t rnd64(void) { /* xorshift64* */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 2685821657736338717ull;
}
static float rndf(void) { return (float)((double)(rnd64() >> 11) / 9007199254740992.0 * 2.0 - 1.0); }

static float *fbuf(int n) { return (float *)malloc(sizeof(float) * (size_t)(n > 0 ? n : 1)); }

static void test_magnitude(void) {
    for (int ch = 1; ch <= 4; ch++) {
        int n = 37 + ch;
        float *x = fbuf(n * ch), *m = fbuf(n);
        int16_t *xi = (int16_t *)malloc(sizeof(int16_t) * (size_t)(n * ch));
        int32_t *mi = (int32_t *)malloc(sizeof(int32_t) * (size_t)n);
        for (int i = 0; i < n * ch; i++) {
            x[i] = rndf() * 100.0f;
            xi[i] = (int16_t)((int64_t)(rnd64() & 0xFFFF) - 32768);
        }
        xi[0] = -32768;
        tml_magnitude(x, n, ch, m);
        tml_magnitude_int(xi, n, ch, mi);
        for (int i = 0; i < n; i++) {
            double s = 0;
            uint64_t si = 0;
            for (int c = 0; c < ch; c++) {
                s += (double)x[i * ch + c] * x[i * ch + c];
                si += (uint64_t)((int64_t)xi[i * ch + c] * xi[i * ch + c]);
            }
            CHECK(fabs(m[i] - sqrt(s)) <= 1e-6 * sqrt(s) + 1e-30, "magnitude %d", i);
            uint64_t r = (uint64_t)mi[i];
            CHECK(r * r <= si && (r + 1) * (r + 1) > si, "magnitude_int %d", i);
        }
        free(x), free(m), free(xi), free(mi);
    }
    uint64_t vs[] = {0, 1, 2, 3, 4, 24, 25, 26, 0xFFFFFFFFull, 0x100000000ull, 0xFFFFFFFFFFFFFFFFull,
                     0xFFFFFFFE00000001ull, 0xFFFFFFFE00000000ull};
    for (size_t i = 0; i < sizeof vs / sizeof vs[0]; i++) {
        uint64_t v = vs[i], r = tml_isqrt64(v);
        CHECK(r * r <= v && (r == 0xFFFFFFFFull || (r + 1) * (r + 1) > v), "isqrt64 %llu", (unsigned long long)v);
    }
    for (int i = 0; i < 2000; i++) {
        uint64_t v = rnd64() >> (rnd64() & 63), r = tml_isqrt64(v);
        CHECK(r * r <= v && (r == 0xFFFFFFFFull || (r + 1) * (r + 1) > v), "isqrt64 rnd");
    }
}

static void test_biquad(void) {
    /* 2-section lowpass (butter(4, 0.1), rounded to float) */
    static const float sos[12] = {4.16599e-4f, 8.33198e-4f, 4.16599e-4f, 1.0f, -1.4797979f, 0.5582382f,
                                  1.0f,        2.0f,        1.0f,        1.0f, -1.7033869f, 0.7660067f};
    int n = 301, ch = 3;
    float *x = fbuf(n * ch), *y1 = fbuf(n * ch), *y2 = fbuf(n * ch), *st = fbuf(4);
    for (int i = 0; i < n * ch; i++) x[i] = rndf();
    tml_biquad_t f;
    for (int c = 0; c < ch; c++) {
        tml_biquad_init(&f, sos, 2, st);
        tml_biquad(&f, x + c, y1 + c, n, ch);
        tml_biquad_init(&f, sos, 2, st);
        tml_biquad(&f, x + c, y2 + c, 100, ch);
        tml_biquad(&f, x + c + 100 * ch, y2 + c + 100 * ch, n - 100, ch);
    }
    CHECK(memcmp(y1, y2, sizeof(float) * (size_t)(n * ch)) == 0, "biquad chunked != one-shot");
    memcpy(y2, x, sizeof(float) * (size_t)(n * ch));
    for (int c = 0; c < ch; c++) {
        tml_biquad_init(&f, sos, 2, st);
        tml_biquad(&f, y2 + c, y2 + c, n, ch); /* in place */
    }
    CHECK(memcmp(y1, y2, sizeof(float) * (size_t)(n * ch)) == 0, "biquad in place differs");
    /* envelope == biquad of |x| */
    for (int i = 0; i < n * ch; i++) y2[i] = fabsf(x[i]);
    for (int c = 0; c < ch; c++) {
        tml_biquad_init(&f, sos, 2, st);
        tml_biquad(&f, y2 + c, y1 + c, n, ch);
        tml_biquad_init(&f, sos, 2, st);
        tml_envelope(&f, x + c, y2 + c, n, ch);
    }
    CHECK(memcmp(y1, y2, sizeof(float) * (size_t)(n * ch)) == 0, "envelope != biquad(|x|)");
    free(x), free(y1), free(y2), free(st);
}

static void test_window_stats(void) {
    for (int n = 1; n <= 64; n += 21) {
        float *w = fbuf(n), *x = fbuf(n * 2), *y = fbuf(n);
        for (int kind = 0; kind < 3; kind++)
            for (int sym = 0; sym < 2; sym++) {
                CHECK(tml_window(kind, n, sym, w) == 0, "window");
                for (int i = 0; i < n; i++) CHECK(w[i] >= -1e-7f && w[i] <= 1.0f + 1e-7f, "window range");
            }
        CHECK(tml_window(7, n, 0, w) == -1, "bad window kind accepted");
        for (int i = 0; i < 2 * n; i++) x[i] = rndf() * 5.0f + 1.0f;
        tml_apply_window(x + 1, 2, w, n, y);
        for (int i = 0; i < n; i++) CHECK(y[i] == x[2 * i + 1] * w[i], "apply_window");
        uint8_t which[TML_STAT_COUNT + 1];
        float out[TML_STAT_COUNT + 1];
        for (int j = 0; j <= TML_STAT_COUNT; j++) which[j] = (uint8_t)j;
        tml_stats(x + 1, n, 2, which, TML_STAT_COUNT + 1, out);
        double s = 0, s2 = 0, mn = 1e30, mx = -1e30;
        for (int i = 0; i < n; i++) {
            double v = x[2 * i + 1];
            s += v, s2 += v * v, mn = v < mn ? v : mn, mx = v > mx ? v : mx;
        }
        double mean = s / n, var = s2 / n - mean * mean;
        CHECK(fabs(out[TML_STAT_MEAN] - mean) < 1e-5, "mean");
        CHECK(fabs(out[TML_STAT_STD] - sqrt(var > 0 ? var : 0)) < 1e-3, "std");
        CHECK(out[TML_STAT_MIN] == (float)mn && out[TML_STAT_MAX] == (float)mx, "min/max");
        CHECK(fabs(out[TML_STAT_RMS] - sqrt(s2 / n)) < 1e-5, "rms");
        CHECK(out[TML_STAT_COUNT] == 0.0f, "unknown stat code");
        free(w), free(x), free(y);
    }
    CHECK(tml_stats_mean(NULL, 0, 1) == 0.0f && tml_stats_kurtosis(NULL, 0, 1) == 0.0f, "empty stats");
    CHECK(tml_stats_zero_crossings(NULL, 0, 1) == 0, "empty zero crossings");
}

static void test_fft(void) {
    for (int n = 2; n <= 512; n *= 4) {
        float *re = fbuf(n), *im = fbuf(n), *tw = fbuf(n), *x0 = fbuf(2 * n);
        for (int i = 0; i < n; i++) re[i] = x0[i] = rndf(), im[i] = x0[n + i] = rndf();
        tml_fft_twiddles(n, tw);
        CHECK(tml_fft(re, im, n, tw) == 0, "fft rc");
        double worst = 0;
        for (int k = 0; k < n; k++) {
            double sr = 0, si = 0;
            for (int t = 0; t < n; t++) {
                double a = -2.0 * 3.14159265358979323846 * (double)k * t / n;
                sr += x0[t] * cos(a) - x0[n + t] * sin(a);
                si += x0[t] * sin(a) + x0[n + t] * cos(a);
            }
            double e = hypot(re[k] - sr, im[k] - si);
            worst = e > worst ? e : worst;
        }
        CHECK(worst < 1e-5 * n, "fft n=%d err %g", n, worst);
        free(re), free(im), free(tw), free(x0);
    }
    float dummy[12];
    CHECK(tml_fft(dummy, dummy, 6, dummy) == -1, "fft accepted n=6");
    /* power spectrum of a zero-padded frame and band power at the edges of the bin range */
    int n = 100, nf = 128;
    float *x = fbuf(n), *tw = fbuf(nf), *work = fbuf(TML_SPECTRUM_WORK(nf)), *p = fbuf(nf / 2 + 1);
    float *xb = fbuf(nf), *w = fbuf(nf), *out = fbuf(2);
    for (int i = 0; i < n; i++) x[i] = rndf();
    tml_fft_twiddles(nf, tw);
    CHECK(tml_power_spectrum(x, 1, n, NULL, nf, tw, work, p) == 0, "power spectrum rc");
    double e = 0, ep = 0;
    for (int i = 0; i < n; i++) e += (double)x[i] * x[i];
    for (int k = 0; k <= nf / 2; k++) ep += (k == 0 || k == nf / 2 ? 1.0 : 2.0) * p[k];
    CHECK(fabs(ep / nf - e) < 1e-4 * e, "parseval");
    CHECK(tml_power_spectrum(x, 1, n, NULL, 64, tw, work, p) == -1, "n > n_fft accepted");
    int32_t lo[2] = {0, 10}, hi[2] = {10, nf / 2 + 1}, bad_hi[1] = {nf / 2 + 2};
    for (int i = 0; i < nf; i++) xb[i] = rndf(), w[i] = 1.0f;
    CHECK(tml_fft_band_power(xb, 1, nf, w, tw, lo, hi, 2, 1.0f / ((float)nf * nf), work, out) == 0, "band rc");
    double eb = 0;
    for (int i = 0; i < nf; i++) eb += (double)xb[i] * xb[i];
    CHECK(fabs(out[0] + out[1] - eb / nf) < 1e-5 * eb / nf, "band power parseval");
    CHECK(tml_fft_band_power(xb, 1, nf, w, tw, lo, bad_hi, 1, 1.0f, work, out) == -1, "bad bins accepted");
    free(x), free(tw), free(work), free(p), free(xb), free(w), free(out);
}

static void test_mfcc(void) {
    enum { N = 400, NF = 512, NB = NF / 2 + 1, NM = 20, NC = 10 };
    int32_t *start = (int32_t *)malloc(sizeof(int32_t) * NM), *count = (int32_t *)malloc(sizeof(int32_t) * NM);
    int total = 0;
    for (int m = 0; m < NM; m++) start[m] = 1 + m * 12, count[m] = 24, total += 24;
    CHECK(start[NM - 1] + count[NM - 1] <= NB, "mel layout");
    float *wts = fbuf(total), *x = fbuf(N), *win = fbuf(N), *tw = fbuf(NF), *d = fbuf(NC * NM);
    float *work = fbuf(TML_MFCC_WORK(NF, NM)), *out = fbuf(NC), *p = fbuf(NB), *mel = fbuf(NM), *y = fbuf(NC);
    for (int i = 0; i < total; i++) wts[i] = (float)(1.0 - fabs((i % 24) - 11.5) / 12.0);
    for (int i = 0; i < N; i++) x[i] = (float)(0.3 * sin(0.07 * i) + 0.01 * rndf());
    tml_window(TML_WINDOW_HANN, N, 0, win);
    tml_fft_twiddles(NF, tw);
    tml_dct_matrix(NM, NC, d);
    CHECK(tml_mfcc(x, 1, N, win, NF, tw, start, count, wts, NM, 1e-10f, d, NC, work, out) == 0, "mfcc rc");
    /* the same chain by hand */
    float *work2 = fbuf(TML_SPECTRUM_WORK(NF));
    tml_power_spectrum(x, 1, N, win, NF, tw, work2, p);
    tml_mel(p, start, count, wts, NM, mel);
    tml_log(mel, NM, 1e-10f, mel);
    tml_dct(mel, NM, d, NC, y);
    CHECK(memcmp(out, y, sizeof(float) * NC) == 0, "mfcc != chain");
    /* dct against double */
    for (int k = 0; k < NC; k++) {
        double s = 0;
        for (int i = 0; i < NM; i++)
            s += mel[i] * cos(3.14159265358979323846 * k * (2 * i + 1) / (2.0 * NM)) * sqrt((k ? 2.0 : 1.0) / NM);
        CHECK(fabs(y[k] - s) < 1e-4 * (1 + fabs(s)), "dct %d", k);
    }
    CHECK(tml_mfcc(x, 1, N, win, NF, tw, start, count, wts, NM, 1e-10f, d, NM + 1, work, out) == -1,
          "n_mfcc > n_mels accepted");
    free(start), free(count), free(wts), free(x), free(win), free(tw), free(d), free(work), free(out), free(p);
    free(mel), free(y), free(work2);
}

int main(void) {
    test_magnitude();
    test_biquad();
    test_window_stats();
    test_fft();
    test_mfcc();
    if (failures) {
        fprintf(stderr, "%d of %d checks failed\n", failures, checks);
        return 1;
    }
    printf("ok %d checks\n", checks);
    return 0;
}
