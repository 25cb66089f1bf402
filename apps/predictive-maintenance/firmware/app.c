/* predictive-maintenance on the device: the C twin of apps/predictive-maintenance/pipeline.py.
 *
 * A capture is one window (hop == window: the sensor wakes, records 0.25 s, decides, sleeps). For each:
 *  1. features: the manifest's chain, branch by branch, with the C twins of its blocks and the tables
 *     generated from it (features_tables.h): levels and impulsiveness of the detrended window; the most
 *     impulsive band (tml_kurtosis_band) with its level, kurtosis, crest and envelope spectrum peaks at the
 *     shaft and the bearing's defect orders; the shape of the spectrum (Welch band powers over their sum);
 *     shaft harmonics against the low-frequency spectrum's mean. The machine's speed and orders come from
 *     [machine] (app_config.h), derived here as resolve_deployment() derives them (rpm, geometry).
 *  2. the fault classifier (model.h) on the features: the window's scores;
 *  3. calibration and the anomaly autoencoder (model_anomaly.h): until `calibration_captures` normal
 *     captures are learned (after `calibration_patience` captures, any capture: the installer's word),
 *     anomaly = (1 - P(normal)) / (1 - calibration_min_normal); then the learned baseline is written to
 *     the non-volatile page (tml_port_nv_*) and anomaly = anomaly_score() / threshold (the autoencoder's
 *     error on the z-scores, rise-only features floored at 0, plus classifier_weight x (1 - P(normal))).
 *     The baseline settles first: the next block of learning captures, scored against it without the alarm,
 *     may reach 1 at most `settle_max_above` times, else that block replaces it (at most `settle_blocks`
 *     blocks); only a settled baseline is written to the page and raises the anomaly alarm (fault events
 *     keep their rule: anomalous, against the baseline being verified). A reset while settling starts over.
 *     A valid page found at boot (a reset, or a calibration the host loaded) is used at once.
 *  4. events: anomaly after `anomaly_hold` captures >= 1 once settled, a fault class after `fault_hold`
 *     (while anomalous, whatever the value is against), refractory.
 * Float32 in pipeline.py's order (built with -ffp-contract=off); static memory only.
 */
#include <math.h>
#include <string.h>

#include "app_config.h"
#include "features_tables.h"
#include "model.h"
#include "model_anomaly.h"
#include "tml_app.h"
#include "tml_app_model.h"
#include "tml_dsp.h"
#include "tml_features.h"
#include "tml_port.h"
#include "tml_postprocess.h"

#define N TML_CFG_FEATURES_WINDOW
#define F 36 /* features */
#define DEC 8
#define N_FFT 1024
#define BINS (N_FFT / 2 + 1)

/* The chain's tables (tinyml.dsp.ctables names: s0 = the top concat, b<k> its branch k, ...). */
#define KB_SOS tml_feat_s0_b1_0_kurtosis_band_sos
#define KB_SECTIONS TML_FEAT_S0_B1_0_KURTOSIS_BAND_N_SECTIONS
#define KB_BANDS TML_FEAT_S0_B1_0_KURTOSIS_BAND_N_BANDS
#define KB_SKIP TML_FEAT_S0_B1_0_KURTOSIS_BAND_SKIP
#define ENV_SOS tml_feat_s0_b1_1_b2_0_envelope_sos
#define ENV_SECTIONS TML_FEAT_S0_B1_1_B2_0_ENVELOPE_N_SECTIONS
#define LP_SOS tml_feat_s0_b3_1_biquad_sos
#define LP_SECTIONS TML_FEAT_S0_B3_1_BIQUAD_N_SECTIONS
#define MAX_SECTIONS 4

typedef char one_channel[(TML_CFG_N_CHANNELS == 1) ? 1 : -1];
typedef char whole_captures[(TML_CFG_FEATURES_HOP == N) ? 1 : -1];
typedef char classifier_input[(TML_MODEL_INPUT_SIZE == F) ? 1 : -1];
typedef char anomaly_shape[(TML_MODEL_ANOMALY_INPUT_SIZE == F && TML_MODEL_ANOMALY_OUTPUT_SIZE == F) ? 1 : -1];
typedef char labels_out[(TML_MODEL_OUTPUT_SIZE == TML_CFG_N_LABELS) ? 1 : -1];
typedef char envelope_bins[(TML_FEAT_S0_B1_1_B2_3_SPECTRUM_N_FFT == N_FFT && TML_FEAT_S0_B3_3_SPECTRUM_N_FFT == N_FFT) ? 1 : -1];
typedef char decimation[(TML_CFG_FEATURES_CHAIN_0_BRANCHES_1_1_BRANCHES_2_1_FACTOR == DEC &&
                         TML_CFG_FEATURES_CHAIN_0_BRANCHES_3_2_FACTOR == DEC) ? 1 : -1];
typedef char sections_fit[(KB_SECTIONS <= MAX_SECTIONS && ENV_SECTIONS <= MAX_SECTIONS && LP_SECTIONS <= MAX_SECTIONS) ? 1 : -1];

static float s_win[N];   /* the capture */
static float s_a[N];     /* scratch: the detrended capture, the impulsive band, the low-passed capture */
static float s_dec[N / DEC];
static float s_work[TML_SPECTRUM_WORK(N_FFT)];
static float s_power[BINS];
static float s_bands[TML_CFG_FEATURES_CHAIN_0_BRANCHES_2_1_BANDS_ROWS];
static float s_state[2 * MAX_SECTIONS];
static float s_feat[F];
static uint32_t s_fill;

/* the machine (resolve_deployment's twin) */
static float s_shaft_hz;
static float s_env_orders[4]; /* 1x, BPFO, BPFI, BSF */

/* post-processing constants (Params) */
static int32_t s_min_normal_q, s_fault_q;
static float s_uncal_den, s_floor_sq, s_out_scale, s_out_zp;

/* calibration (Calibration, PostProcessor._learn) */
static int32_t s_count;        /* captures seen since installation (until settled) */
static float s_mean[F], s_spread[F], s_threshold; /* the baseline scored against */
static uint32_t s_base_n;      /* the captures it was learned from */
static int s_done;             /* a baseline exists (being verified while not settled) */
static int s_settled;          /* it settled: the alarm counts, the page holds it */
static int32_t s_n;            /* captures learned into the block */
static float s_block_mean[F], s_block_m2[F];
static float s_kept[TML_CFG_POSTPROCESS_CALIBRATION_CAPTURES][F];
static float s_kept_p_normal[TML_CFG_POSTPROCESS_CALIBRATION_CAPTURES];
static int32_t s_blocks;       /* blocks learned so far */
static int32_t s_above_in_block; /* captures of the verifying block at or above 1 against the baseline */

/* events */
static float s_value;
static int32_t s_above, s_armed, s_quiet_anomaly;
static int32_t s_runs[TML_CFG_N_LABELS], s_quiet[TML_CFG_N_LABELS];
static tml_model_cost s_feature_cost, s_anomaly_cost;

#define NORMAL TML_CFG_LABEL_NORMAL
#define ANOMALY_EVENT TML_CFG_EVENT_ANOMALY

/* ---- the machine ---- */

static void resolve_machine(void)
{
    double rpm = (double)TML_CFG_MACHINE_SHAFT_RPM;
    s_shaft_hz = rpm > 0.0 ? (float)(rpm / 60.0) : (float)TML_CFG_MACHINE_SHAFT_HZ;
    float bpfo = TML_CFG_MACHINE_BPFO, bpfi = TML_CFG_MACHINE_BPFI, bsf = TML_CFG_MACHINE_BSF;
    double balls = (double)(float)TML_CFG_MACHINE_BALLS;
    if (balls > 0.0) { /* tinyml.bearing.defect_orders, in double, rounded once */
        double r = (double)TML_CFG_MACHINE_BALL_MM / (double)TML_CFG_MACHINE_PITCH_MM *
                   cos((double)TML_CFG_MACHINE_CONTACT_DEG * (3.141592653589793 / 180.0));
        bpfo = (float)(balls / 2.0 * (1.0 - r));
        bpfi = (float)(balls / 2.0 * (1.0 + r));
        bsf = (float)((double)TML_CFG_MACHINE_PITCH_MM / (2.0 * (double)TML_CFG_MACHINE_BALL_MM) * (1.0 - r * r));
    }
    s_env_orders[0] = 1.0f;
    s_env_orders[1] = bpfo;
    s_env_orders[2] = bpfi;
    s_env_orders[3] = bsf;
}

/* ---- the non-volatile page: nv_image() / nv_state() in pipeline.py ---- */

#define NV_MAGIC 0x314D4450u
#define NV_VERSION 2u /* 2: the threshold is on anomaly_score() (a version-1 page is re-learned) */
#define NV_BODY (20 + 8 * F)

static uint32_t crc32(const uint8_t *p, uint32_t n)
{
    uint32_t c = 0xFFFFFFFFu;
    for (uint32_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++) {
            c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
        }
    }
    return ~c;
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint32_t fbits(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

static float bitsf(uint32_t u)
{
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static uint8_t s_page[NV_BODY + 4];

static void nv_save(void)
{
    put32(s_page, NV_MAGIC);
    put32(s_page + 4, NV_VERSION);
    put32(s_page + 8, F);
    put32(s_page + 12, s_base_n);
    put32(s_page + 16, fbits(s_threshold));
    for (int k = 0; k < F; k++) {
        put32(s_page + 20 + 4 * k, fbits(s_mean[k]));
        put32(s_page + 20 + 4 * (F + k), fbits(s_spread[k]));
    }
    put32(s_page + NV_BODY, crc32(s_page, NV_BODY));
    if (tml_port_nv_write(0, s_page, sizeof s_page) != (int)sizeof s_page) {
        tml_report_log("calibration not stored: no non-volatile memory");
    }
}

static int nv_load(void)
{
    if (tml_port_nv_read(0, s_page, sizeof s_page) != (int)sizeof s_page) {
        return 0;
    }
    if (get32(s_page) != NV_MAGIC || get32(s_page + 4) != NV_VERSION || get32(s_page + 8) != F ||
        get32(s_page + NV_BODY) != crc32(s_page, NV_BODY)) {
        return 0;
    }
    s_base_n = get32(s_page + 12);
    s_threshold = bitsf(get32(s_page + 16));
    for (int k = 0; k < F; k++) {
        s_mean[k] = bitsf(get32(s_page + 20 + 4 * k));
        s_spread[k] = bitsf(get32(s_page + 20 + 4 * (F + k)));
    }
    return 1;
}

/* ---- init ---- */

void tml_app_init(void)
{
    s_fill = 0;
    resolve_machine();
    s_out_scale = TML_MODEL_OUTPUT_SCALE;
    s_out_zp = (float)TML_MODEL_OUTPUT_ZERO_POINT;
    s_min_normal_q = tml_score_threshold_q(TML_CFG_POSTPROCESS_CALIBRATION_MIN_NORMAL, TML_MODEL_OUTPUT_SCALE,
                                           TML_MODEL_OUTPUT_ZERO_POINT);
    s_fault_q = tml_score_threshold_q(TML_CFG_POSTPROCESS_FAULT_THRESHOLD, TML_MODEL_OUTPUT_SCALE,
                                      TML_MODEL_OUTPUT_ZERO_POINT);
    s_uncal_den = 1.0f - TML_CFG_POSTPROCESS_CALIBRATION_MIN_NORMAL;
    s_floor_sq = TML_CFG_POSTPROCESS_SPREAD_FLOOR * TML_CFG_POSTPROCESS_SPREAD_FLOOR;
    s_n = 0;
    s_count = 0;
    s_blocks = 0;
    s_above_in_block = 0;
    for (int k = 0; k < F; k++) {
        s_mean[k] = s_block_mean[k] = s_block_m2[k] = 0.0f;
        s_spread[k] = 1.0f;
    }
    s_threshold = 0.0f;
    s_base_n = 0;
    s_done = s_settled = nv_load();
    s_value = NAN;
    s_above = 0;
    s_armed = 1;
    s_quiet_anomaly = 0;
    for (int k = 0; k < TML_CFG_N_LABELS; k++) {
        s_runs[k] = s_quiet[k] = 0;
    }
    s_feature_cost = (tml_model_cost){"features", N, 0, 0};
    s_anomaly_cost = (tml_model_cost){"model_anomaly", N, 0, 0};
    tml_report_output_quant(TML_MODEL_OUTPUT_SCALE, TML_MODEL_OUTPUT_ZERO_POINT);
}

/* ---- features: the chain ---- */

static void stats_into(const float *x, int n, const uint8_t *which, int n_which, float *out)
{
    tml_stats(x, n, 1, which, n_which, out);
}

/* ln power spectrum peaks of x[n] (at `rate`) after the chain's spectrum step (window table w). */
static void peaks(const float *x, int n, const float *w, const float *tw, float rate, const float *orders, int n_orders,
                  int harmonics, float tol, int reference, float background, float floor, float *out)
{
    (void)tml_power_spectrum(x, 1, n, w, N_FFT, tw, s_work, s_power);
    tml_harmonic_energies(s_power, BINS, rate, s_shaft_hz, orders, n_orders, harmonics, tol, reference, background,
                          floor, out);
}

static void features(void)
{
    static const uint8_t which_levels[] = {TML_STAT_RMS, TML_STAT_PEAK};
    static const float raw_orders[] = TML_CFG_FEATURES_CHAIN_0_BRANCHES_3_4_ORDERS;
    const float rate_dec = TML_CFG_SIGNAL_RATE / (float)DEC;
    float *f = s_feat;
    tml_biquad_t bq;

    /* branch 0: detrend -> [stats(rms, peak) -> log], [stats(kurtosis, skewness, crest) -> symlog] */
    tml_detrend(s_win, N, 1, s_a);
    stats_into(s_a, N, tml_feat_s0_b0_1_b0_0_stats_which, TML_FEAT_S0_B0_1_B0_0_STATS_N_WHICH, f);
    tml_log(f, 2, TML_FEAT_S0_B0_1_B0_1_LOG_FLOOR, f);
    stats_into(s_a, N, tml_feat_s0_b0_1_b1_0_stats_which, TML_FEAT_S0_B0_1_B1_0_STATS_N_WHICH, f + 2);
    tml_symlog(f + 2, 3, f + 2);
    (void)which_levels;

    /* branch 2 (uses the detrended capture): fft_band_power (Welch) -> normalize -> log */
    float *bp = f + 20;
    (void)tml_fft_band_power_frames(s_a, 1, N, TML_FEAT_S0_B2_1_FFT_BAND_POWER_LENGTH, TML_FEAT_S0_B2_1_FFT_BAND_POWER_HOP,
                                    tml_feat_s0_b2_1_fft_band_power_window, tml_feat_s0_b2_1_fft_band_power_twiddles,
                                    tml_feat_s0_b2_1_fft_band_power_band_lo, tml_feat_s0_b2_1_fft_band_power_band_hi,
                                    TML_FEAT_S0_B2_1_FFT_BAND_POWER_N_BANDS, TML_FEAT_S0_B2_1_FFT_BAND_POWER_SCALE, s_work,
                                    s_bands, bp);
    tml_normalize(bp, 8, bp);
    tml_log(bp, 8, TML_FEAT_S0_B2_3_LOG_FLOOR, bp);

    /* branch 3: detrend -> low-pass -> decimate -> spectrum -> harmonic_energies (mean) */
    tml_biquad_init(&bq, LP_SOS, LP_SECTIONS, s_state);
    tml_biquad(&bq, s_a, s_a, N, 1);
    tml_decimate(s_a, N, 1, DEC, s_dec);
    peaks(s_dec, N / DEC, tml_feat_s0_b3_3_spectrum_window, tml_feat_s0_b3_3_spectrum_twiddles, rate_dec, raw_orders,
          8, 1, TML_CFG_FEATURES_CHAIN_0_BRANCHES_3_4_TOLERANCE, TML_HARMONIC_MEAN, 0.25f, 1e-12f, f + 28);

    /* branch 1: kurtosis_band -> [stats(rms) -> log], [stats(kurtosis, crest) -> symlog],
     * [envelope -> decimate -> detrend -> spectrum -> harmonic_energies (local)] */
    (void)tml_kurtosis_band(s_win, N, KB_SKIP, KB_SOS, KB_SECTIONS, KB_BANDS, s_state, s_a);
    float *band = s_a + KB_SKIP;
    const int nb = N - KB_SKIP;
    stats_into(band, nb, tml_feat_s0_b1_1_b0_0_stats_which, TML_FEAT_S0_B1_1_B0_0_STATS_N_WHICH, f + 5);
    tml_log(f + 5, 1, TML_FEAT_S0_B1_1_B0_1_LOG_FLOOR, f + 5);
    stats_into(band, nb, tml_feat_s0_b1_1_b1_0_stats_which, TML_FEAT_S0_B1_1_B1_0_STATS_N_WHICH, f + 6);
    tml_symlog(f + 6, 2, f + 6);
    tml_biquad_init(&bq, ENV_SOS, ENV_SECTIONS, s_state);
    tml_envelope(&bq, band, band, nb, 1);
    tml_decimate(band, nb, 1, DEC, s_dec);
    tml_detrend(s_dec, nb / DEC, 1, s_dec);
    peaks(s_dec, nb / DEC, tml_feat_s0_b1_1_b2_3_spectrum_window, tml_feat_s0_b1_1_b2_3_spectrum_twiddles, rate_dec,
          s_env_orders, 4, TML_CFG_FEATURES_CHAIN_0_BRANCHES_1_1_BRANCHES_2_4_HARMONICS,
          TML_CFG_FEATURES_CHAIN_0_BRANCHES_1_1_BRANCHES_2_4_TOLERANCE, TML_HARMONIC_LOCAL, 0.25f, 1e-12f, f + 8);
}

/* ---- calibration and the anomaly score ---- */

static float ae_error(const float *feat)
{
    static float z[F];
    static const int32_t rise_only[] = TML_CFG_POSTPROCESS_RISE_ONLY_FEATURES; /* [first, end) */
    const float clip = TML_CFG_POSTPROCESS_Z_CLIP;
    for (int k = 0; k < F; k++) {
        float v = (feat[k] - s_mean[k]) / s_spread[k];
        z[k] = v < -clip ? -clip : (v > clip ? clip : v);
        if (k >= rise_only[0] && k < rise_only[1] && z[k] < 0.0f) {
            z[k] = 0.0f; /* a defect adds energy at its orders: a dip is no fault */
        }
    }
    tml_quantize_input(z, F, TML_MODEL_ANOMALY_INPUT_SCALE, TML_MODEL_ANOMALY_INPUT_ZERO_POINT, tml_model_anomaly_input());
    if (tml_app_run_model(tml_model_anomaly_invoke, &s_anomaly_cost) != 0) {
        return NAN;
    }
    const int8_t *y = tml_model_anomaly_output();
    float acc = 0.0f;
    for (int k = 0; k < F; k++) {
        float yk = ((float)y[k] - (float)TML_MODEL_ANOMALY_OUTPUT_ZERO_POINT) * TML_MODEL_ANOMALY_OUTPUT_SCALE;
        float d = z[k] - yk;
        acc = acc + d * d;
    }
    return acc / (float)F;
}

/* anomaly_score() in pipeline.py: the autoencoder's error plus the classifier's fault belief */
static float anomaly_score(const float *feat, float p_normal)
{
    return ae_error(feat) + TML_CFG_POSTPROCESS_CLASSIFIER_WEIGHT * (1.0f - p_normal);
}

static void settle(void)
{
    s_settled = 1;
    nv_save();
}

/* the learned block becomes the baseline (Calibration.finish_spread and finish) */
static void adopt_block(void)
{
    for (int k = 0; k < F; k++) {
        s_mean[k] = s_block_mean[k];
        float var = s_block_m2[k] / (float)s_n;
        s_spread[k] = sqrtf(var + s_floor_sq);
    }
    float acc = 0.0f;
    for (int i = 0; i < s_n; i++) {
        acc = acc + anomaly_score(s_kept[i], s_kept_p_normal[i]);
    }
    float t = TML_CFG_POSTPROCESS_THRESHOLD_FACTOR * (acc / (float)s_n);
    s_threshold = t > TML_CFG_POSTPROCESS_MIN_THRESHOLD ? t : TML_CFG_POSTPROCESS_MIN_THRESHOLD;
    s_base_n = (uint32_t)s_n;
    s_done = 1;
    s_above_in_block = 0;
}

/* one learning capture (PostProcessor._learn): into the first baseline's block, or the block verifying it */
static void learn(const float *feat, float p_normal)
{
    if (s_done && !(s_value < 1.0f)) {
        s_above_in_block++; /* a NaN score counts against the baseline */
    }
    s_n++;
    s_kept_p_normal[s_n - 1] = p_normal;
    for (int k = 0; k < F; k++) {
        float d = feat[k] - s_block_mean[k];
        s_block_mean[k] = s_block_mean[k] + d / (float)s_n;
        s_block_m2[k] = s_block_m2[k] + d * (feat[k] - s_block_mean[k]);
        s_kept[s_n - 1][k] = feat[k];
    }
    if (s_n < TML_CFG_POSTPROCESS_CALIBRATION_CAPTURES) {
        return;
    }
    s_blocks++;
    if (s_done && s_above_in_block <= TML_CFG_POSTPROCESS_SETTLE_MAX_ABOVE) {
        settle(); /* the next block agreed with the baseline: it stays */
    } else {
        adopt_block(); /* the first block, or one replacing a baseline the machine has moved away from */
        if (s_blocks >= TML_CFG_POSTPROCESS_SETTLE_BLOCKS) {
            settle();
        }
    }
    s_n = 0;
    for (int k = 0; k < F; k++) {
        s_block_mean[k] = s_block_m2[k] = 0.0f;
    }
}

/* ---- events ---- */

/* scored: this capture's value is against the settled baseline (_events() in pipeline.py) */
static void events(uint32_t end, const int8_t *scores, int scored)
{
    int anomalous = s_value >= 1.0f;
    for (int k = 0; k < TML_CFG_N_LABELS; k++) {
        if (s_quiet[k] > 0) s_quiet[k]--;
    }
    if (s_quiet_anomaly > 0) s_quiet_anomaly--;
    if (anomalous) {
        /* only captures scored against the baseline count (not those learning it, nor the one completing it) */
        s_above = scored ? s_above + 1 : 0;
        if (s_above >= TML_CFG_POSTPROCESS_ANOMALY_HOLD && s_armed && s_quiet_anomaly == 0) {
            tml_report_event(end, ANOMALY_EVENT, 127);
            s_armed = 0;
            s_quiet_anomaly = TML_CFG_POSTPROCESS_REFRACTORY;
        }
    } else {
        s_above = 0;
        s_armed = 1;
    }
    int top = -1;
    for (int k = 0; k < TML_CFG_N_LABELS; k++) {
        if (k != NORMAL && (top < 0 || scores[k] > scores[top])) top = k;
    }
    for (int k = 0; k < TML_CFG_N_LABELS; k++) {
        if (k == NORMAL) continue;
        if (anomalous && k == top && scores[k] >= s_fault_q) {
            s_runs[k]++;
        } else {
            s_runs[k] = 0;
        }
        if (s_runs[k] >= TML_CFG_POSTPROCESS_FAULT_HOLD && s_quiet[k] == 0) {
            tml_report_event(end, (uint32_t)k, scores[k]);
            s_quiet[k] = TML_CFG_POSTPROCESS_REFRACTORY;
            s_runs[k] = 0;
        }
    }
}

/* ---- a capture ---- */

void tml_app_on_sample(const float *sample)
{
    s_win[s_fill++] = sample[0];
    if (s_fill < N) {
        return;
    }
    s_fill = 0;
    uint32_t end = tml_app_samples();
    uint64_t t0 = tml_port_instructions();
    features();
    s_feature_cost.total += tml_port_instructions() - t0;
    s_feature_cost.count++;
    tml_quantize_input(s_feat, F, TML_MODEL_INPUT_SCALE, TML_MODEL_INPUT_ZERO_POINT, tml_model_input());
    const int8_t *scores = tml_app_score_window(end);
    if (scores == NULL) {
        return;
    }
    float p_normal = ((float)scores[NORMAL] - s_out_zp) * s_out_scale;
    const int scored = s_settled;
    if (s_done) {
        s_value = anomaly_score(s_feat, p_normal) / s_threshold;
    } else {
        s_value = (1.0f - p_normal) / s_uncal_den;
    }
    if (!scored) {
        s_count++;
        /* _learns(): not a confident fault, or the patience has run out (the installer's word) */
        if (scores[NORMAL] >= s_min_normal_q || s_count > TML_CFG_POSTPROCESS_CALIBRATION_PATIENCE) {
            learn(s_feat, p_normal);
        }
    }
    tml_report_values(end, &s_value, 1);
    events(end, scores, scored);
    tml_app_report_model_cost(&s_feature_cost);
    tml_app_report_model_cost(&s_anomaly_cost);
}
