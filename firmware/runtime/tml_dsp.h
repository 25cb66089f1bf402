/* tml_dsp: C twins of the numpy DSP blocks in shared/tinyml/dsp (same names, tml_ prefix).
 *
 * Portable C99, no malloc, no VLAs; callers pass every buffer. Build with -ffp-contract=off (no fused
 * multiply-add) and with float evaluated as float (FLT_EVAL_METHOD 0: any SSE/NEON/Cortex-M4F build):
 * the float paths then do exactly the IEEE float32 operations, in exactly the order, that the Python
 * module docstrings state.
 *
 * Parity with Python (tests/dsp/test_c_twins.py):
 *   bit-exact : tml_block_summary, tml_magnitude, tml_magnitude_int, tml_isqrt64, tml_biquad, tml_envelope,
 *               tml_band_envelope,
 *               tml_stats_*, tml_apply_window, tml_power_spectrum, tml_fft_band_power(_frames), tml_mel, tml_logf,
 *               tml_log, tml_dct, tml_mfcc, tml_decimate, tml_detrend, tml_symlog, tml_normalize,
 *               tml_kurtosis_band, tml_harmonic_energies (given the same tables; for power-of-two sizes
 *               tinyml.dsp.spectrum does tml_fft's float32 operations in tml_fft's order)
 *   <= 1 ulp  : tml_window, tml_fft_twiddles, tml_dct_matrix (double cos rounded to float; the tables are
 *               normally generated from Python instead and are then identical)
 *
 * Layout: multi-channel signals are interleaved, sample i of channel c at x[i*stride + c]; functions
 * that take `stride` read one channel (pass x + c and stride = channels).
 */
#ifndef TML_DSP_H
#define TML_DSP_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- block_summary (tinyml.dsp.block_summary): per block of `size` samples, level/range/step/glitch of
 * one channel, then sums and means of others; a block sees the two samples before it ---- */
#define TML_BLOCK_SUMMARY_MAX_FEATURES 22 /* tml_block_summary_steps' buffer; Python refuses more (same name) */
typedef struct {
    int size, level;
    float level_center, level_scale, delta_scale, missing, clip;
    float resolution; /* > 0: features on this grid, floor(f / resolution + 0.5) * resolution */
    int n_sums;
    const int *sum_ch;
    const float *sum_scale;
    int n_means;
    const int *mean_ch;
    const float *mean_center, *mean_scale;
    int last; /* 1: the block's newest sample (scaled as the level) follows the glitch */
    int unchanged; /* 1: then the share of the block's samples equal to the one before */
} tml_block_summary_cfg;
/* One block: x = 2 + size samples interleaved with `ch` channels (two of history, then the block's own);
 * writes 4 + last + unchanged + n_sums + n_means features. */
void tml_block_summary_one(const tml_block_summary_cfg *cfg, const float *x, int ch, float *out);
/* The same, as grid steps (cfg->resolution > 0; |features| <= clip, so a step count fits int8 when
 * clip / resolution <= 127): the feature is steps * resolution. */
void tml_block_summary_steps(const tml_block_summary_cfg *cfg, const float *x, int ch, int8_t *steps);
/* A window of 2 + size * n_blocks samples -> out[n_blocks][4 + last + unchanged + n_sums + n_means]. */
void tml_block_summary(const tml_block_summary_cfg *cfg, const float *x, int n_blocks, int ch, float *out);

/* ---- clip (tinyml.dsp.clip): out[i] = min(max(x[i], lo), hi); in place is fine ---- */
void tml_clip(const float *x, int n, float lo, float hi, float *out);

/* ---- select (tinyml.dsp.select): out[i][j] = x[i][channels[j]], x interleaved [n][ch], out [n][n_out] ---- */
void tml_select(const float *x, int n, int ch, const int32_t *channels, int n_out, float *out);

/* ---- decimate (tinyml.dsp.decimate): out[o][c] = (sum of x[o*factor + i][c], i < factor) / factor ---- */
void tml_decimate(const float *x, int n, int ch, int factor, float *out);

/* ---- magnitude (tinyml.dsp.magnitude) ---- */

/* out[i] = sqrtf(((x0*x0 + x1*x1) + x2*x2) + ...) over the ch channels of sample i. */
void tml_magnitude(const float *x, int n, int ch, float *out);
/* out[i] = floor(sqrt(sum of squares)) exactly; x int16 interleaved [n][ch]. */
void tml_magnitude_int(const int16_t *x, int n, int ch, int32_t *out);
/* floor(sqrt(v)), exact for every uint64. */
uint32_t tml_isqrt64(uint64_t v);

/* ---- biquad cascade, float32 transposed direct form II (tinyml.dsp.biquad) ---- */

typedef struct {
    const float *sos; /* [n_sections][6] = b0 b1 b2 a0(=1, ignored) a1 a2 */
    float *state;     /* [n_sections][2] = z1 z2 */
    int n_sections;
} tml_biquad_t;

/* Binds sos and state (2*n_sections floats, owned by the caller) and zeroes the state. */
void tml_biquad_init(tml_biquad_t *f, const float *sos, int n_sections, float *state);
void tml_biquad_reset(tml_biquad_t *f);
/* Filters n samples read at x[i*stride] into y[i*stride]; y may equal x (in place). */
void tml_biquad(tml_biquad_t *f, const float *x, float *y, int n, int stride);
/* Envelope (tinyml.dsp.envelope): y[i*stride] = the cascade (a lowpass) applied to fabsf(x[i*stride]). */
void tml_envelope(tml_biquad_t *f, const float *x, float *y, int n, int stride);
/* Band envelope (tinyml.dsp.band_envelope): y[i*stride] = gain * lowpass(fabsf(bandpass(x[i*stride]))), the two
 * cascades' states carried from call to call (a stream). */
typedef struct {
    tml_biquad_t band, lp;
    float gain;
} tml_band_envelope_t;
void tml_band_envelope_init(tml_band_envelope_t *e, const float *band_sos, int n_band, float *band_state,
                            const float *lp_sos, int n_lp, float *lp_state, float gain);
void tml_band_envelope(tml_band_envelope_t *e, const float *x, float *y, int n, int stride);

/* ---- windows (tinyml.dsp.window) ---- */

enum { TML_WINDOW_RECTANGULAR = 0, TML_WINDOW_HANN = 1, TML_WINDOW_HAMMING = 2 };
/* Fills w[n]; periodic unless symmetric. Returns 0, or -1 for an unknown kind or n < 1. */
int tml_window(int kind, int n, int symmetric, float *w);
/* y[i] = x[i*stride] * w[i], i < n (y contiguous). */
void tml_apply_window(const float *x, int stride, const float *w, int n, float *y);

/* ---- statistics over one channel (tinyml.dsp.stats); all return 0 for n < 1 ---- */

enum {
    TML_STAT_MEAN = 0,
    TML_STAT_STD,
    TML_STAT_MIN,
    TML_STAT_MAX,
    TML_STAT_RMS,
    TML_STAT_KURTOSIS,
    TML_STAT_CREST,
    TML_STAT_ZERO_CROSSINGS,
    TML_STAT_SKEWNESS,
    TML_STAT_PEAK,
    TML_STAT_COUNT
};
float tml_stats_mean(const float *x, int n, int stride);
float tml_stats_std(const float *x, int n, int stride);
float tml_stats_min(const float *x, int n, int stride);
float tml_stats_max(const float *x, int n, int stride);
float tml_stats_rms(const float *x, int n, int stride);
float tml_stats_kurtosis(const float *x, int n, int stride);
float tml_stats_crest(const float *x, int n, int stride);
int32_t tml_stats_zero_crossings(const float *x, int n, int stride);
float tml_stats_skewness(const float *x, int n, int stride);
float tml_stats_peak(const float *x, int n, int stride);
/* out[j] = statistic which[j] (TML_STAT_*; zero crossings as float); unknown codes give 0. */
void tml_stats(const float *x, int n, int stride, const uint8_t *which, int n_which, float *out);

/* ---- FFT, power spectrum, band power (tinyml.dsp.spectrum, tinyml.dsp.fft_band_power) ---- */

/* tw[0..n/2) = cos(2*pi*k/n), tw[n/2..n) = -sin(2*pi*k/n); n a power of two (table of n floats). */
void tml_fft_twiddles(int n, float *tw);
/* In-place forward complex FFT (radix-2, decimation in time) of re[n], im[n]. Returns -1 unless n is
 * a power of two >= 2. */
int tml_fft(float *re, float *im, int n, const float *tw);
/* power[k] = |rfft(x*w, n_fft)[k]|^2, k <= n_fft/2; frame of n <= n_fft samples at x[i*stride];
 * w = NULL means rectangular. work: TML_SPECTRUM_WORK(n_fft) floats. Returns -1 on bad sizes. */
#define TML_SPECTRUM_WORK(n_fft) (2 * (n_fft))
int tml_power_spectrum(const float *x, int stride, int n, const float *w, int n_fft, const float *tw,
                       float *work, float *power);
/* out[b] = scale * sum_{k=lo[b]}^{hi[b]-1} c_k * P[k], c_k = 1 at DC and Nyquist, else 2; P is the
 * power spectrum of the n-point frame (n a power of two); scale = 1/(n*sum(w^2)) (band_scale in Python).
 * work: TML_SPECTRUM_WORK(n) floats. Returns -1 on bad sizes or bins. */
int tml_fft_band_power(const float *x, int stride, int n, const float *w, const float *tw, const int32_t *lo,
                       const int32_t *hi, int n_bands, float scale, float *work, float *out);

/* The mean over frames of `length` samples every `hop` of tml_fft_band_power (Welch); band: n_bands floats
 * of scratch. Returns -1 on bad sizes. */
int tml_fft_band_power_frames(const float *x, int stride, int n, int length, int hop, const float *w,
                              const float *tw, const int32_t *lo, const int32_t *hi, int n_bands, float scale,
                              float *work, float *band, float *out);

/* ---- detrend, symlog (tinyml.dsp.detrend / symlog) ---- */

/* y[i*stride] = x[i*stride] - tml_stats_mean(x, n, stride); y may equal x. */
void tml_detrend(const float *x, int n, int stride, float *y);
/* y[i] = copysignf(tml_logf(1 + |x[i]|), x[i]); y may equal x. */
void tml_symlog(const float *x, int n, float *y);

/* ---- vibration: kurtosis band, harmonic energies (tinyml.dsp.kurtosis_band / harmonic_energies) ---- */

/* The window x[n] (contiguous) band-passed in the band of highest kurtosis (measured over out[skip..n))
 * into out[n]: the block's output is out + skip. sos: n_bands cascades of n_sections [b0 b1 b2 1 a1 a2]
 * rows; state: 2*n_sections floats of scratch. Returns the chosen band, or -1 on bad sizes. */
int tml_kurtosis_band(const float *x, int n, int skip, const float *sos, int n_sections, int n_bands, float *state,
                      float *out);
/* ln peak power at (base_hz * orders[o]) * h, h = 1..harmonics, in a power spectrum of n_bins bins of a
 * signal at `rate` Hz, minus ln of the reference (none, the neighbourhood's mean, the spectrum's mean);
 * out[n_orders * harmonics]. */
enum { TML_HARMONIC_ABSOLUTE = 0, TML_HARMONIC_LOCAL = 1, TML_HARMONIC_MEAN = 2 };
void tml_harmonic_energies(const float *power, int n_bins, float rate, float base_hz, const float *orders,
                           int n_orders, int harmonics, float tolerance, int reference, float background, float floor_v,
                           float *out);

/* y[i] = x[i] / (sequential float32 sum of x[0..n)) (tinyml.dsp.normalize); y may equal x. A zero sum
 * leaves zeros. */
void tml_normalize(const float *x, int n, float *y);

/* ---- mel, log, dct, mfcc (tinyml.dsp.mel / log / dct / mfcc) ---- */

/* Sparse filterbank (tinyml.dsp.mel.mel_sparse): filter m covers bins start[m] .. start[m]+count[m]-1 with
 * weights taken in order from `weights`. out[m] = sequential float32 sum of weight*power. */
void tml_mel(const float *power, const int32_t *start, const int32_t *count, const float *weights, int n_mels,
             float *out);
/* Our own float32 natural log (no libm): within 1 ulp, bit-exact with tinyml.dsp.log.logf. */
float tml_logf(float x);
/* y[i] = tml_logf(max(x[i], floor)); y may equal x. */
void tml_log(const float *x, int n, float floor, float *y);
/* D[k][i] = s_k cos(pi*k*(2i+1)/(2n)) rounded to float (n_out rows of n). */
void tml_dct_matrix(int n, int n_out, float *d);
/* y[k] = sequential float32 sum over i of d[k*n + i] * x[i], k < n_out. */
void tml_dct(const float *x, int n, const float *d, int n_out, float *y);
/* MFCC of one frame: dct(log(mel(power_spectrum(x*w)))); tables as above. Returns -1 on bad sizes. */
#define TML_MFCC_WORK(n_fft, n_mels) (2 * (n_fft) + (n_mels))
int tml_mfcc(const float *x, int stride, int n, const float *w, int n_fft, const float *tw, const int32_t *mel_start,
             const int32_t *mel_count, const float *mel_weights, int n_mels, float log_floor, const float *dct,
             int n_mfcc, float *work, float *out);


/* ---- R-R features over a window (tinyml.dsp.rr_features): out = [hr_bpm, sdnn_ms, rmssd_ms, pnn50,
 * irregularity], NaN where too few intervals; work: TML_RR_WORK(n) floats ---- */
#define TML_RR_FEATURES 5
#define TML_RR_WORK(n) (2 * (n))
void tml_rr_features(const float *rr, int n, float *work, float *out);

/* ---- beat features (tinyml.dsp.beat_features) ---- */
/* Width of the steep part of the QRS around x[c], in samples (float), within c +- half: the run of steep
 * samples around the steepest one, bridging gaps of up to 2 (see tinyml.dsp.beat_features). */
float tml_beat_qrs_width(const float *x, int n, int c, int half);
/* Pearson correlation of x[n] and t[n] (0 when either is flat). */
float tml_beat_template_corr(const float *x, const float *t, int n);
/* Best tml_beat_template_corr of t[n] against x[s .. s+n), s = 0 .. 2*shift (x holds n + 2*shift). */
float tml_beat_template_match(const float *x, const float *t, int n, int shift);
/* tml_beat_template_match's value, and in *at the first s that gives it (where the beat lines up). */
float tml_beat_template_align(const float *x, const float *t, int n, int shift, int *at);
/* t += (x - t) / k */
void tml_beat_template_update(float *t, const float *x, int n, int k);

/* ---- signal-quality index of one ECG segment (tinyml.dsp.sqi): 0..1; *ptp_out = its peak to peak ---- */
float tml_sqi(const float *x, int n, float ref, float *ptp_out);

/* ---- streaming QRS detector, Pan-Tompkins family (tinyml.dsp.qrs_detect) ----
 * Float32 (FPU): the detection band-pass (tml_biquad) and the gain into the integer stage. Integer: the
 * derivative, squaring, moving-window integration, peak tracking, adaptive thresholds, T-wave check and
 * search-back. Beats (R-peak index, decision index) are bit-exact with the Python block. The constants
 * come from the manifest through generated tables (tinyml.dsp.qrs_detect.QrsConfig.tables). */
typedef struct {
    const float *sos; /* detection band-pass, [n_sections][6] */
    int32_t n_sections;
    float gain;       /* counts per mV into the integer stage */
    int32_t mwi_n, refractory_n, twave_n, learn_n, search_n, ring_n, rr_init_n, locate_n;
} tml_qrs_detect_config;

typedef struct {
    const tml_qrs_detect_config *cfg;
    tml_biquad_t band;
    int32_t *s_ring;  /* [mwi_n] squared slopes in the integration window */
    int32_t *a_ring;  /* [ring_n] |derivative| of the last ring_n samples */
    float *y_ring;    /* [ring_n] the input of the last ring_n samples */
    int32_t v[4];     /* the last four integer samples, newest first */
    int32_t msum;
    int64_t n;        /* index of the next sample */
    int32_t ascending, learned, have;
    int32_t lo, pk;
    int64_t pk_i;
    int32_t lmax;
    int64_t lsum;
    int32_t spki, npki, th1, th2;
    int64_t last_p, last_r, last_sb;
    int32_t last_slope;
    int32_t sb_v, sb_s;
    int64_t sb_p, sb_r;
    int64_t rr[8];    /* the last QRS peak intervals */
    int64_t rr_sum;
    int32_t rr_k, rr_i;
    int32_t spks, npks, ths; /* the slope levels (QRS, noise) and the slope threshold */
    int32_t lamax;
    int64_t lasum;
} tml_qrs_detect_t;

/* Binds the configuration and the caller's buffers (band_state: 2*n_sections floats, s_ring: mwi_n,
 * a_ring and y_ring: ring_n) and resets. Returns -1 on an inconsistent configuration. */
int tml_qrs_detect_init(tml_qrs_detect_t *q, const tml_qrs_detect_config *cfg, float *band_state, int32_t *s_ring,
                        int32_t *a_ring, float *y_ring);
void tml_qrs_detect_reset(tml_qrs_detect_t *q);
/* Feeds one sample y (band-passed ECG, mV). Returns 1 when a beat is decided at this sample, with its R-peak
 * sample index (counted from the first sample after reset) in *r_index; else 0. */
int tml_qrs_detect_step(tml_qrs_detect_t *q, float y, uint32_t *r_index);

#ifdef __cplusplus
}
#endif

#endif /* TML_DSP_H */
