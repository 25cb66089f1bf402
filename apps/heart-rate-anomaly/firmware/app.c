/* heart-rate-anomaly on the device: the C twin of apps/heart-rate-anomaly/pipeline.py, sample by sample.
 *
 * Per sample (float32 on the FPU, integer decisions):
 *   stream stage   three biquad cascades (0.5-40 Hz band-pass, 50 and 60 Hz band-stops; tml_biquad) and the
 *                  streaming QRS detector (tml_qrs_detect), with the constants of features_tables.h; the raw
 *                  lead through the same band-stops into the muscle (EMG) band's envelope (tml_band_envelope);
 *   model input    every 4 samples the mean of [ecg, rr_s, emg] (tml_decimate) into a ring of the last 10 s;
 *   beats          a beat found is classified once its span (and the beat model's) has arrived and the next
 *                  beat is found (or wait_s passed) (PostProcessor._classify: template match, QRS width,
 *                  prematurity, the pause after it; tinyml.dsp.beat_features' twins; once a template is set,
 *                  the int8 beat model, model_beat.h, also finds V beats) and reported at once;
 *   quality        each second's signal-quality index (tml_sqi) against the wearer's usual amplitude.
 * Every hop (2 s), when a 10 s window is due: the ring, clipped and quantized, goes through the int8 CNN;
 * the window's values (tml_rr_features, mean quality) and its episodes (noise, af, ectopy, brady, tachy) are
 * decided and reported, as PostProcessor._window does. Built with -ffp-contract=off: the same float32
 * operations in the same order as the Python, so beats, values and events are identical.
 * Static memory only; the cost of the per-sample work is reported as the stage "sample".
 */
#include <math.h>

#include "app_config.h"
#include "features_tables.h"
#include "model.h"
#include "model_beat.h"
#include "tml_app.h"
#include "tml_app_model.h"
#include "tml_dsp.h"
#include "tml_features.h"
#include "tml_port.h"
#include "tml_postprocess.h"

#define WINDOW TML_CFG_FEATURES_WINDOW
#define HOP TML_CFG_FEATURES_HOP
#define DEC TML_CFG_FEATURES_CHAIN_1_FACTOR
#define WD (WINDOW / DEC)    /* model frames per window */
#define FEAT TML_FEAT_S0_SELECT_N /* [ecg, rr_s, emg] */
#define RATE TML_CFG_SIGNAL_RATE
#define HIST 1024            /* ECG history ring (>= history_s of samples, checked at init) */
#define N_SEG_Q 16           /* seconds whose quality is kept */
#define N_BEATS 64           /* classified beats kept for the window's values */
#define N_ECTOPIC 16
#define N_PENDING 16
#define MAX_TPL 256
#define STALE 6              /* pipeline.STALE */
#define BOOT 8               /* pipeline.BOOT */
#define N_REF 16             /* pipeline.N_REF */

enum { CLS_N = 0, CLS_S = 1, CLS_V = 2, CLS_Q = 3 };

typedef char mono[(TML_CFG_N_CHANNELS == 1) ? 1 : -1];
typedef char input_matches_features[(TML_MODEL_INPUT_SIZE == WD * FEAT) ? 1 : -1];
typedef char output_matches_labels[(TML_MODEL_OUTPUT_SIZE == TML_CFG_N_LABELS) ? 1 : -1];
typedef char hop_whole_groups[(HOP % DEC == 0 && WINDOW % DEC == 0) ? 1 : -1];
typedef char six_values[(TML_CFG_N_VALUES == 6) ? 1 : -1];
#define BM_CH 5              /* the beat model's channels: beat, template, R-R before, R-R after, AF */
#define BM_MAX 1024          /* the beat model's span in samples at most (checked at init) */
typedef char beat_model_fits[(TML_MODEL_BEAT_INPUT_SIZE <= BM_MAX / 2 * BM_CH) ? 1 : -1];

/* --- stream stage --------------------------------------------------------------------------------- */
static float s_band_state[2 * TML_STREAM_S0_BIQUAD_N_SECTIONS];
static float s_n50_state[2 * TML_STREAM_S1_BIQUAD_N_SECTIONS];
static float s_n60_state[2 * TML_STREAM_S2_BIQUAD_N_SECTIONS];
static tml_biquad_t s_band, s_n50, s_n60;
static float s_raw50_state[2 * TML_STREAM_S1_BIQUAD_N_SECTIONS]; /* the raw lead's band-stops (stream channel 0) */
static float s_raw60_state[2 * TML_STREAM_S2_BIQUAD_N_SECTIONS];
static tml_biquad_t s_raw50, s_raw60;
static float s_emg_band_state[2 * TML_STREAM_S4_BAND_ENVELOPE_BAND_N_SECTIONS];
static float s_emg_lp_state[2 * TML_STREAM_S4_BAND_ENVELOPE_LP_N_SECTIONS];
static tml_band_envelope_t s_emg;
static const tml_qrs_detect_config s_qrs_cfg = {
    tml_stream_s3_qrs_detect_sos, TML_STREAM_S3_QRS_DETECT_N_SECTIONS, TML_STREAM_S3_QRS_DETECT_GAIN,
    TML_STREAM_S3_QRS_DETECT_MWI_N, TML_STREAM_S3_QRS_DETECT_REFRACTORY_N, TML_STREAM_S3_QRS_DETECT_TWAVE_N,
    TML_STREAM_S3_QRS_DETECT_LEARN_N, TML_STREAM_S3_QRS_DETECT_SEARCH_N, TML_STREAM_S3_QRS_DETECT_RING_N,
    TML_STREAM_S3_QRS_DETECT_RR_INIT_N, TML_STREAM_S3_QRS_DETECT_LOCATE_N};
static float s_qrs_band[2 * TML_STREAM_S3_QRS_DETECT_N_SECTIONS];
static int32_t s_qrs_s[TML_STREAM_S3_QRS_DETECT_MWI_N];
static int32_t s_qrs_a[TML_STREAM_S3_QRS_DETECT_RING_N];
static float s_qrs_y[TML_STREAM_S3_QRS_DETECT_RING_N];
static tml_qrs_detect_t s_qrs;
static int64_t s_prev_r;     /* the last beat's R index (-1: none) */
static float s_rr_hold;      /* rr_s channel */
static float s_group[DEC * FEAT];
static float s_dec[WD * FEAT]; /* ring of decimated [ecg, rr_s, emg] */
static uint32_t s_dec_next;

/* --- post-processing constants (the float32 expressions of PostProcessor.__init__) ------------------- */
static int32_t s_seg_n, s_pre_n, s_post_n, s_half_n, s_shift_n, s_keep_n, s_tpl_len, s_minute_n;
static float s_v_width, s_v_corr, s_v_prem, s_v_amp, s_v_pause, s_s_prem, s_q_sqi, s_noise_sqi;
static float s_v_shape_width, s_v_af_corr, s_v_af_width, s_v_af_tall_corr, s_v_af_tall_amp, s_v_af_tall_width;
static int32_t s_wait_n;
static int32_t s_af_q, s_af_release_q, s_noise_q;
static int32_t s_bm_pre, s_bm_post, s_bm_dec, s_bm_q, s_bm_q_q; /* the beat model ([models.beat]) */
static float s_bm_x[TML_MODEL_BEAT_INPUT_SIZE];
static tml_model_cost s_beat_cost;

typedef struct {
    int32_t n_on, n_off, refractory_n, on, off, active;
    int64_t quiet_until;
} episode;
static episode s_ep_noise, s_ep_af, s_ep_ect, s_ep_brady, s_ep_tachy;

/* --- post-processing state ------------------------------------------------------------------------- */
static float s_hist[HIST];     /* ECG by sample index mod HIST */
static int64_t s_n;            /* index of the current sample */
static int64_t s_pend_found[N_PENDING], s_pend_r[N_PENDING]; /* beats found, not classified yet */
static int32_t s_pend_head, s_pend_count;
static int64_t s_beat_r[N_BEATS];
static uint8_t s_beat_c[N_BEATS];
static int32_t s_beat_head, s_beat_count;
static float s_tpl[MAX_TPL], s_boot[MAX_TPL], s_seg_long[MAX_TPL];
static int32_t s_tpl_n, s_boot_n, s_miss;
static float s_tpl_ptp, s_boot_w;
static float s_rr_hist[8];
static int32_t s_rr_head, s_rr_count;
static float s_ptp[N_REF];     /* peak to peak of the last seconds (the wearer's usual amplitude) */
static int32_t s_ptp_head, s_ptp_count;
static float s_seg_q[N_SEG_Q];
static int64_t s_seg_k[N_SEG_Q];
static int64_t s_last_seg;
static int64_t s_ectopic[N_ECTOPIC];
static int32_t s_ect_head, s_ect_count;
static int32_t s_couplet, s_in_af;
static float s_values[6];
static uint64_t s_sample_cost;
static uint32_t s_sample_count;
static tml_window_schedule s_sched;

static void episode_init(episode *e, int32_t n_on, int32_t n_off, int32_t refractory_n)
{
    e->n_on = n_on;
    e->n_off = n_off;
    e->refractory_n = refractory_n;
    e->on = e->off = e->active = 0;
    e->quiet_until = 0;
}

/* pipeline.Episode.update */
static int episode_update(episode *e, int positive, int64_t end)
{
    if (positive) {
        e->on++;
        e->off = 0;
    } else {
        e->off++;
        if (!e->active) e->on = 0;
    }
    if (e->active && e->off >= e->n_off) {
        e->active = 0;
        e->on = 0;
        e->quiet_until = end + e->refractory_n;
    }
    if (!e->active && e->on >= e->n_on && end >= e->quiet_until) {
        e->active = 1;
        return 1;
    }
    return 0;
}

/* pipeline._windows_of */
static int32_t windows_of(float seconds)
{
    float hop_s = (float)HOP / RATE;
    int32_t k = (int32_t)ceilf(seconds / hop_s);
    return k < 1 ? 1 : k;
}

void tml_app_init(void)
{
    tml_biquad_init(&s_band, tml_stream_s0_biquad_sos, TML_STREAM_S0_BIQUAD_N_SECTIONS, s_band_state);
    tml_biquad_init(&s_n50, tml_stream_s1_biquad_sos, TML_STREAM_S1_BIQUAD_N_SECTIONS, s_n50_state);
    tml_biquad_init(&s_n60, tml_stream_s2_biquad_sos, TML_STREAM_S2_BIQUAD_N_SECTIONS, s_n60_state);
    tml_biquad_init(&s_raw50, tml_stream_s1_biquad_sos, TML_STREAM_S1_BIQUAD_N_SECTIONS, s_raw50_state);
    tml_biquad_init(&s_raw60, tml_stream_s2_biquad_sos, TML_STREAM_S2_BIQUAD_N_SECTIONS, s_raw60_state);
    tml_band_envelope_init(&s_emg, tml_stream_s4_band_envelope_band_sos, TML_STREAM_S4_BAND_ENVELOPE_BAND_N_SECTIONS,
                           s_emg_band_state, tml_stream_s4_band_envelope_lp_sos,
                           TML_STREAM_S4_BAND_ENVELOPE_LP_N_SECTIONS, s_emg_lp_state, TML_STREAM_S4_BAND_ENVELOPE_GAIN);
    if (tml_qrs_detect_init(&s_qrs, &s_qrs_cfg, s_qrs_band, s_qrs_s, s_qrs_a, s_qrs_y) != 0) {
        tml_report_error(18, "qrs_detect rejected its configuration");
    }
    s_prev_r = -1;
    s_rr_hold = 0.0f;
    s_dec_next = 0;
    for (int i = 0; i < WD * FEAT; i++) s_dec[i] = 0.0f;

    s_seg_n = tml_samples_of(TML_CFG_POSTPROCESS_SEG_S, RATE);
    s_pre_n = tml_samples_of(TML_CFG_POSTPROCESS_BEAT_PRE_S, RATE);
    s_post_n = tml_samples_of(TML_CFG_POSTPROCESS_BEAT_POST_S, RATE);
    s_half_n = tml_samples_of(TML_CFG_POSTPROCESS_QRS_HALF_S, RATE);
    s_shift_n = tml_samples_of(TML_CFG_POSTPROCESS_ALIGN_S, RATE);
    s_keep_n = tml_samples_of(TML_CFG_POSTPROCESS_HISTORY_S, RATE);
    s_tpl_len = s_pre_n + s_post_n + 1;
    s_minute_n = tml_samples_of(60.0f, RATE);
    if (s_keep_n > HIST || s_tpl_len + 2 * s_shift_n > MAX_TPL || s_seg_n > s_keep_n) {
        tml_report_error(19, "history_s or the beat span exceed the firmware's rings");
    }
    s_v_width = TML_CFG_POSTPROCESS_V_WIDTH_S * RATE;
    s_v_corr = TML_CFG_POSTPROCESS_V_CORR;
    s_v_prem = TML_CFG_POSTPROCESS_V_PREMATURITY;
    s_v_amp = TML_CFG_POSTPROCESS_V_AMPLITUDE;
    s_v_pause = TML_CFG_POSTPROCESS_V_PAUSE;
    s_v_shape_width = TML_CFG_POSTPROCESS_V_SHAPE_WIDTH_S * RATE;
    s_v_af_corr = TML_CFG_POSTPROCESS_V_AF_CORR;
    s_v_af_width = TML_CFG_POSTPROCESS_V_AF_WIDTH_S * RATE;
    s_v_af_tall_corr = TML_CFG_POSTPROCESS_V_AF_TALL_CORR;
    s_v_af_tall_amp = TML_CFG_POSTPROCESS_V_AF_TALL_AMPLITUDE;
    s_v_af_tall_width = TML_CFG_POSTPROCESS_V_AF_TALL_WIDTH_S * RATE;
    s_wait_n = tml_samples_of(TML_CFG_POSTPROCESS_WAIT_S, RATE);
    s_s_prem = TML_CFG_POSTPROCESS_S_PREMATURITY;
    s_q_sqi = TML_CFG_POSTPROCESS_Q_SQI;
    s_noise_sqi = TML_CFG_POSTPROCESS_NOISE_SQI;
    s_af_q = tml_score_threshold_q(TML_CFG_POSTPROCESS_AF_THRESHOLD, TML_MODEL_OUTPUT_SCALE, TML_MODEL_OUTPUT_ZERO_POINT);
    s_af_release_q = tml_score_threshold_q(TML_CFG_POSTPROCESS_AF_RELEASE, TML_MODEL_OUTPUT_SCALE,
                                           TML_MODEL_OUTPUT_ZERO_POINT);
    s_noise_q = tml_score_threshold_q(TML_CFG_POSTPROCESS_NOISE_THRESHOLD, TML_MODEL_OUTPUT_SCALE,
                                      TML_MODEL_OUTPUT_ZERO_POINT);
    s_bm_pre = tml_samples_of(TML_CFG_POSTPROCESS_BEAT_MODEL_PRE_S, RATE);
    s_bm_post = tml_samples_of(TML_CFG_POSTPROCESS_BEAT_MODEL_POST_S, RATE);
    s_bm_dec = TML_CFG_POSTPROCESS_BEAT_MODEL_DECIMATE;
    if (s_bm_dec < 1 || s_bm_pre + s_bm_post > BM_MAX ||
        (s_bm_pre + s_bm_post) / s_bm_dec * BM_CH != TML_MODEL_BEAT_INPUT_SIZE || s_bm_pre < s_pre_n ||
        s_bm_pre + s_bm_post > s_keep_n) {
        tml_report_error(21, "the beat model's span does not match its input or the ECG history");
    }
    s_bm_q = tml_score_threshold_q(TML_CFG_POSTPROCESS_BEAT_MODEL_THRESHOLD, TML_MODEL_BEAT_OUTPUT_SCALE,
                                   TML_MODEL_BEAT_OUTPUT_ZERO_POINT);
    s_bm_q_q = tml_score_threshold_q(TML_CFG_POSTPROCESS_BEAT_MODEL_Q_THRESHOLD, TML_MODEL_BEAT_OUTPUT_SCALE,
                                     TML_MODEL_BEAT_OUTPUT_ZERO_POINT);
    s_beat_cost = (tml_model_cost){"model_beat", (uint32_t)RATE, 0, 0};
    episode_init(&s_ep_noise, windows_of(TML_CFG_POSTPROCESS_NOISE_MIN_S), 1,
                 tml_samples_of(TML_CFG_POSTPROCESS_NOISE_REFRACTORY_S, RATE));
    episode_init(&s_ep_af, windows_of(TML_CFG_POSTPROCESS_AF_MIN_S), windows_of(TML_CFG_POSTPROCESS_AF_HOLD_S),
                 tml_samples_of(TML_CFG_POSTPROCESS_AF_REFRACTORY_S, RATE));
    episode_init(&s_ep_ect, 1, 1, tml_samples_of(TML_CFG_POSTPROCESS_ECTOPY_REFRACTORY_S, RATE));
    episode_init(&s_ep_brady, windows_of(TML_CFG_PATIENT_RATE_MIN_S), 1,
                 tml_samples_of(TML_CFG_POSTPROCESS_RATE_REFRACTORY_S, RATE));
    episode_init(&s_ep_tachy, windows_of(TML_CFG_PATIENT_RATE_MIN_S), 1,
                 tml_samples_of(TML_CFG_POSTPROCESS_RATE_REFRACTORY_S, RATE));

    s_n = 0;
    s_pend_head = s_pend_count = 0;
    s_beat_head = s_beat_count = 0;
    s_tpl_n = s_boot_n = s_miss = 0;
    s_tpl_ptp = 1.0f;
    s_boot_w = 0.0f;
    s_rr_head = s_rr_count = 0;
    s_ptp_head = s_ptp_count = 0;
    for (int i = 0; i < N_SEG_Q; i++) s_seg_k[i] = -1;
    s_last_seg = -1;
    s_ect_head = s_ect_count = 0;
    s_couplet = s_in_af = 0;
    for (int i = 0; i < 6; i++) s_values[i] = NAN;
    s_sample_cost = 0;
    s_sample_count = 0;
    tml_window_schedule_reset(&s_sched);
    tml_report_output_quant(TML_MODEL_OUTPUT_SCALE, TML_MODEL_OUTPUT_ZERO_POINT);
}

/* ECG at absolute sample index i (within the last HIST samples) */
static float hist(int64_t i) { return s_hist[(uint32_t)(i % HIST)]; }

static float seg_quality(int64_t k)
{
    int32_t slot = (int32_t)(k % N_SEG_Q);
    return s_seg_k[slot] == k ? s_seg_q[slot] : 0.0f;
}

/* PostProcessor._segment: second k ended at this sample */
static void segment_end(int64_t k)
{
    float x[256];
    int32_t n = s_seg_n > 256 ? 256 : s_seg_n;
    for (int32_t j = 0; j < n; j++) x[j] = hist(k * s_seg_n + j);
    /* the lower median of the last N_REF peak to peaks (insertion sort, oldest first as Python sorts them) */
    float ref = 1.0f;
    if (s_ptp_count > 0) {
        float sorted[N_REF];
        for (int32_t j = 0; j < s_ptp_count; j++) {
            float v = s_ptp[(s_ptp_head - s_ptp_count + j + N_REF) % N_REF];
            int32_t m = j;
            while (m > 0 && sorted[m - 1] > v) {
                sorted[m] = sorted[m - 1];
                m--;
            }
            sorted[m] = v;
        }
        ref = sorted[(s_ptp_count - 1) / 2];
    }
    float ptp;
    float q = tml_sqi(x, n, ref, &ptp);
    s_ptp[s_ptp_head] = ptp;
    s_ptp_head = (s_ptp_head + 1) % N_REF;
    if (s_ptp_count < N_REF) s_ptp_count++;
    int32_t slot = (int32_t)(k % N_SEG_Q);
    s_seg_q[slot] = q;
    s_seg_k[slot] = k;
    s_last_seg = k;
}

static float seq_max(const float *x, int32_t n)
{
    float v = x[0];
    for (int32_t i = 1; i < n; i++) if (x[i] > v) v = x[i];
    return v;
}

static float seq_min(const float *x, int32_t n)
{
    float v = x[0];
    for (int32_t i = 1; i < n; i++) if (x[i] < v) v = x[i];
    return v;
}

/* PostProcessor._recenter: the template's largest deflection back toward the R mark, one sample per update */
static void recenter_template(void)
{
    int32_t k = 0;
    float best = fabsf(s_tpl[0]);
    for (int32_t j = 1; j < s_tpl_len; j++) {
        if (fabsf(s_tpl[j]) > best) {
            best = fabsf(s_tpl[j]);
            k = j;
        }
    }
    if (k < s_pre_n) {
        for (int32_t j = s_tpl_len - 1; j > 0; j--) s_tpl[j] = s_tpl[j - 1];
    } else if (k > s_pre_n) {
        for (int32_t j = 0; j < s_tpl_len - 1; j++) s_tpl[j] = s_tpl[j + 1];
    }
}

static void set_template(const float *seg)
{
    for (int32_t j = 0; j < s_tpl_len; j++) s_tpl[j] = seg[j];
    s_tpl_n = 1;
    s_tpl_ptp = seq_max(s_tpl, s_tpl_len) - seq_min(s_tpl, s_tpl_len);
    if (s_tpl_ptp <= 0.0f) s_tpl_ptp = 1.0f;
}

/* PostProcessor._due: the sample at which the oldest pending beat is ready: its span has arrived and the
 * next beat is found (or wait_n samples passed without one) */
static int64_t pending_due(void)
{
    int64_t r = s_pend_r[s_pend_head];
    int64_t ready = r + s_post_n + s_shift_n;
    if (r + s_bm_post - 1 > ready) ready = r + s_bm_post - 1; /* the beat model's span too */
    int64_t next = s_pend_count > 1 ? s_pend_found[(s_pend_head + 1) % N_PENDING] : r + s_wait_n;
    return ready > next ? ready : next;
}

static float clip3(float v) { return v < -3.0f ? -3.0f : (v > 3.0f ? 3.0f : v); } /* pipeline.BEAT_CLIP */

/* PostProcessor._beat_input and _beat_v: the beat model's verdict on the beat at r (1: V) at an int8 threshold;
 * -1 once a failed invoke is reported */
static int beat_model_v(int64_t r, float rr, float ref, int have_next, int64_t next_r, int32_t threshold_q)
{
    int32_t n = s_bm_pre + s_bm_post, m = n / s_bm_dec, t0 = s_bm_pre - s_pre_n;
    for (int32_t k = 0; k < m; k++) {
        float acc_w = hist(r - s_bm_pre + (int64_t)k * s_bm_dec);
        int32_t j0 = k * s_bm_dec - t0;
        float acc_t = (j0 >= 0 && j0 < s_tpl_len) ? s_tpl[j0] : 0.0f;
        for (int32_t j = 1; j < s_bm_dec; j++) {
            acc_w = acc_w + hist(r - s_bm_pre + (int64_t)k * s_bm_dec + j);
            int32_t jj = j0 + j;
            acc_t = acc_t + ((jj >= 0 && jj < s_tpl_len) ? s_tpl[jj] : 0.0f);
        }
        s_bm_x[k * BM_CH + 0] = clip3(acc_w / (float)s_bm_dec / s_tpl_ptp);
        s_bm_x[k * BM_CH + 1] = clip3(acc_t / (float)s_bm_dec / s_tpl_ptp);
    }
    float before = 1.0f, after = 1.0f;
    if (ref > 0.0f) {
        before = rr / ref;
        before = before < 0.0f ? 0.0f : (before > 3.0f ? 3.0f : before);
        if (have_next) {
            after = ((float)(next_r - r) / RATE) / ref;
            after = after < 0.0f ? 0.0f : (after > 3.0f ? 3.0f : after);
        } else {
            after = 2.0f;
        }
    }
    for (int32_t k = 0; k < m; k++) {
        s_bm_x[k * BM_CH + 2] = before;
        s_bm_x[k * BM_CH + 3] = after;
        s_bm_x[k * BM_CH + 4] = s_in_af ? 1.0f : 0.0f;
    }
    tml_quantize_input(s_bm_x, m * BM_CH, TML_MODEL_BEAT_INPUT_SCALE, TML_MODEL_BEAT_INPUT_ZERO_POINT,
                       tml_model_beat_input());
    if (tml_app_run_model(tml_model_beat_invoke, &s_beat_cost) != 0) return -1;
    return tml_model_beat_output()[1] >= threshold_q;
}

/* PostProcessor._classify: the beat with R at r, at sample i; the next beat's R when have_next */
static void classify(int64_t r, int64_t i, int have_next, int64_t next_r)
{
    int64_t lo = r - s_pre_n - s_shift_n;
    int64_t k = r / s_seg_n;
    float q = seg_quality(k <= s_last_seg ? k : s_last_seg);
    int have_prev = s_beat_count > 0;
    int32_t last = (s_beat_head + N_BEATS - 1) % N_BEATS;
    int64_t prev_r = have_prev ? s_beat_r[last] : 0;
    int prev_c = have_prev ? s_beat_c[last] : -1;
    float rr = have_prev ? (float)(r - prev_r) / RATE : 0.0f;
    float ref = 0.0f;
    if (s_rr_count > 0) {
        float acc = 0.0f;
        for (int32_t j = 0; j < s_rr_count; j++) acc = acc + s_rr_hist[(s_rr_head - s_rr_count + j + 8) % 8];
        ref = acc / (float)s_rr_count;
    }
    /* the beat model sees beats with a template whose span is kept, those of a poor second too */
    int modelled = s_tpl_n > 0 && r - s_bm_pre >= i - s_keep_n + 1;
    int c;
    if (lo < i - s_keep_n + 1 || q < s_q_sqi) {
        c = CLS_Q;
        if (modelled && beat_model_v(r, rr, ref, have_next, next_r, s_bm_q_q) == 1) c = CLS_V;
    } else {
        int32_t len_long = s_tpl_len + 2 * s_shift_n;
        for (int32_t j = 0; j < len_long; j++) s_seg_long[j] = hist(lo + j);
        const float *seg = s_seg_long + s_shift_n;
        int known = have_prev && prev_c != CLS_Q && ref > 0.0f;
        int early_v = known && !s_in_af && rr < s_v_prem * ref;
        int early_s = known && !s_in_af && rr < s_s_prem * ref;
        c = CLS_N;
        float width = tml_beat_qrs_width(seg, s_tpl_len, s_pre_n, s_half_n);
        if (s_tpl_n == 0) {
            if (s_boot_n == 0 || width < s_boot_w) {
                for (int32_t j = 0; j < s_tpl_len; j++) s_boot[j] = seg[j];
                s_boot_w = width;
            }
            s_boot_n++;
            if (width >= s_v_width && early_v) {
                c = CLS_V;
            } else if (early_s) {
                c = CLS_S;
            }
            if (s_boot_n >= BOOT) set_template(s_boot);
        } else {
            int at;
            float corr = tml_beat_template_align(s_seg_long, s_tpl, s_tpl_len, s_shift_n, &at);
            float amp = (seq_max(seg, s_tpl_len) - seq_min(seg, s_tpl_len)) / s_tpl_ptp;
            if (corr < s_v_corr && !early_v) s_miss++;
            if (corr >= s_v_corr || early_v) s_miss = 0;
            int stale = s_miss >= STALE;
            if (stale) {
                s_miss = 0;
            } else if (early_v && ((corr < s_v_corr && width >= s_v_shape_width) ||
                                   (width >= s_v_width && amp >= s_v_amp &&
                                    (!have_next || (float)(next_r - r) / RATE >= s_v_pause * ref)))) {
                c = CLS_V;
            } else if (s_in_af && known && ((corr < s_v_af_corr && width >= s_v_af_width) ||
                                            (corr < s_v_af_tall_corr && amp >= s_v_af_tall_amp &&
                                             width >= s_v_af_tall_width))) {
                c = CLS_V;
            } else if (early_s) {
                c = CLS_S;
            }
            if (modelled && c != CLS_V && beat_model_v(r, rr, ref, have_next, next_r, s_bm_q) == 1) {
                c = CLS_V; /* the model finds V the rules missed (on the template before this beat) */
            }
            if (stale) {
                set_template(seg);
            } else if (c == CLS_N) {
                tml_beat_template_update(s_tpl, s_seg_long + at, s_tpl_len, 8);
                recenter_template();
                s_tpl_ptp = seq_max(s_tpl, s_tpl_len) - seq_min(s_tpl, s_tpl_len);
                if (s_tpl_ptp <= 0.0f) s_tpl_ptp = 1.0f;
            }
        }
        if (have_prev && prev_c != CLS_Q) {
            s_rr_hist[s_rr_head] = rr;
            s_rr_head = (s_rr_head + 1) % 8;
            if (s_rr_count < 8) s_rr_count++;
        }
    }
    if (c == CLS_S || c == CLS_V) {
        s_ectopic[s_ect_head] = r;
        s_ect_head = (s_ect_head + 1) % N_ECTOPIC;
        if (s_ect_count < N_ECTOPIC) s_ect_count++;
    }
    if (c == CLS_V && prev_c == CLS_V) s_couplet = 1;
    s_beat_r[s_beat_head] = r;
    s_beat_c[s_beat_head] = (uint8_t)c;
    s_beat_head = (s_beat_head + 1) % N_BEATS;
    if (s_beat_count < N_BEATS) s_beat_count++;
    tml_report_beat((uint32_t)r, (uint32_t)c);
}

/* PostProcessor._window, for the window ending at `end` */
static void window(uint32_t end, const int8_t *scores)
{
    int64_t start = (int64_t)end - WINDOW;
    float rr_all[N_BEATS], rr_nn[N_BEATS], work[2 * N_BEATS], fa[TML_RR_FEATURES], fn[TML_RR_FEATURES];
    int n_all = 0, n_nn = 0, have = 0;
    int64_t r0 = 0;
    int c0 = 0;
    for (int32_t j = 0; j < s_beat_count; j++) {
        int32_t slot = (s_beat_head - s_beat_count + j + N_BEATS) % N_BEATS;
        int64_t r = s_beat_r[slot];
        int c = s_beat_c[slot];
        if (r < start || r >= (int64_t)end) continue;
        if (have) {
            float v = (float)(r - r0) / RATE;
            rr_all[n_all++] = v;
            if (c0 == CLS_N && c == CLS_N) rr_nn[n_nn++] = v;
        }
        have = 1;
        r0 = r;
        c0 = c;
    }
    tml_rr_features(rr_all, n_all, work, fa);
    tml_rr_features(rr_nn, n_nn, work, fn);
    float acc = 0.0f;
    int32_t n = 0;
    for (int64_t k = start / s_seg_n; k < (int64_t)end / s_seg_n; k++) {
        acc = acc + seg_quality(k);
        n++;
    }
    float q = acc / (float)n;
    float hr = fa[0];
    s_values[0] = hr;
    s_values[1] = fn[1];
    s_values[2] = fn[2];
    s_values[3] = fn[3];
    s_values[4] = fa[4];
    s_values[5] = q;
    tml_report_values(end, s_values, 6);

    int32_t s_af = scores[TML_CFG_LABEL_AF], s_noise = scores[TML_CFG_LABEL_NOISE];
    int noisy = s_noise >= s_noise_q || q < s_noise_sqi;
    if (episode_update(&s_ep_noise, noisy, end)) {
        tml_report_event(end, TML_CFG_LABEL_NOISE, (int8_t)(s_noise >= s_noise_q ? s_noise : 127));
    }
    int af = !noisy && s_af >= (s_ep_af.active ? s_af_release_q : s_af_q) && fa[4] >= TML_CFG_POSTPROCESS_AF_IRREGULARITY;
    if (episode_update(&s_ep_af, af, end)) tml_report_event(end, TML_CFG_LABEL_AF, (int8_t)s_af);
    s_in_af = s_ep_af.active;
    int32_t n_ect = 0;
    for (int32_t j = 0; j < s_ect_count; j++) {
        if (s_ectopic[j] >= (int64_t)end - s_minute_n) n_ect++;
    }
    int ect = n_ect >= TML_CFG_PATIENT_ECTOPY_PER_MIN || s_couplet;
    s_couplet = 0;
    if (episode_update(&s_ep_ect, ect, end)) tml_report_event(end, TML_CFG_LABEL_ECTOPY, 127);
    int ok = !noisy && !isnan(hr);
    if (episode_update(&s_ep_brady, ok && hr < TML_CFG_PATIENT_BRADY_BPM, end)) {
        tml_report_event(end, TML_CFG_EVENT_BRADY, 127);
    }
    if (episode_update(&s_ep_tachy, ok && hr > TML_CFG_PATIENT_TACHY_BPM, end)) {
        tml_report_event(end, TML_CFG_EVENT_TACHY, 127);
    }
}

/* the model input: the ring of decimated [ecg, rr_s, emg], oldest first, clipped and quantized */
static void model_input(int8_t *in)
{
    float chunk[FEAT * 64];
    for (uint32_t j = 0; j < WD; j += 64) {
        uint32_t m = WD - j < 64 ? WD - j : 64;
        for (uint32_t t = 0; t < m; t++) {
            uint32_t slot = (s_dec_next + j + t) % WD;
            for (int c = 0; c < FEAT; c++) chunk[t * FEAT + c] = s_dec[slot * FEAT + c];
        }
        tml_clip(chunk, (int)(m * FEAT), TML_CFG_FEATURES_CHAIN_2_LO, TML_CFG_FEATURES_CHAIN_2_HI, chunk);
        tml_quantize_input(chunk, (int)(m * FEAT), TML_MODEL_INPUT_SCALE, TML_MODEL_INPUT_ZERO_POINT, in + j * FEAT);
    }
}

void tml_app_on_sample(const float *sample)
{
    uint64_t t0 = tml_port_instructions(), beat_model0 = s_beat_cost.total;
    const int64_t n = s_n;
    /* stream stage: filters and the QRS detector; the raw lead's band-stops and its EMG envelope */
    float y = sample[0];
    tml_biquad(&s_band, &y, &y, 1, 1);
    tml_biquad(&s_n50, &y, &y, 1, 1);
    tml_biquad(&s_n60, &y, &y, 1, 1);
    float raw = sample[0], emg;
    tml_biquad(&s_raw50, &raw, &raw, 1, 1);
    tml_biquad(&s_raw60, &raw, &raw, 1, 1);
    tml_band_envelope(&s_emg, &raw, &emg, 1, 1);
    uint32_t r_u = 0;
    int beat = tml_qrs_detect_step(&s_qrs, y, &r_u);
    int64_t r = (int64_t)r_u;
    if (beat) {
        if (s_prev_r >= 0) s_rr_hold = (float)(r - s_prev_r) / RATE;
        s_prev_r = r;
    }
    s_hist[(uint32_t)(n % HIST)] = y;
    /* model input: mean of each DEC samples of [ecg, rr_s, emg] */
    int32_t g = (int32_t)(n % DEC);
    s_group[g * FEAT + 0] = y;
    s_group[g * FEAT + 1] = s_rr_hold;
    s_group[g * FEAT + 2] = emg;
    if (g == DEC - 1) {
        tml_decimate(s_group, DEC, FEAT, DEC, &s_dec[s_dec_next * FEAT]);
        s_dec_next = (s_dec_next + 1) % WD;
    }
    /* post-processing at this sample: a beat found (0), a second ends (1), beats due (2) */
    if (beat) {
        if (s_pend_count < N_PENDING) {
            int32_t slot = (s_pend_head + s_pend_count) % N_PENDING;
            s_pend_found[slot] = n;
            s_pend_r[slot] = r;
            s_pend_count++;
        } else {
            tml_report_error(20, "too many beats pending");
        }
    }
    if ((n + 1) % s_seg_n == 0) segment_end((n + 1) / s_seg_n - 1);
    while (s_pend_count > 0 && pending_due() <= n) { /* PostProcessor._advance */
        int64_t rr_front = s_pend_r[s_pend_head];
        s_pend_head = (s_pend_head + 1) % N_PENDING;
        s_pend_count--;
        classify(rr_front, n, s_pend_count > 0, s_pend_count > 0 ? s_pend_r[s_pend_head] : 0);
    }
    s_n = n + 1;
    s_sample_cost += tml_port_instructions() - t0 - (s_beat_cost.total - beat_model0); /* the beat model: its own */
    s_sample_count++;

    if (!tml_window_due(&s_sched, WINDOW, HOP)) return;
    uint32_t end = tml_app_samples();
    model_input(tml_model_input());
    const int8_t *scores = tml_app_score_window(end);
    if (scores == NULL) return;
    tml_report_stage_cost("sample", 1, s_sample_count, s_sample_cost);
    tml_app_report_model_cost(&s_beat_cost);
    window(end, scores);
}
