/* soil-monitoring on the device: the C twin of apps/soil-monitoring/pipeline.py, step for step.
 *
 * Every 15-minute sample [vwc, soil_temp_c, ec_ds_m, rain_mm, et0_mm] (optional ones NaN when the node has
 * no such sensor) goes into a 6-sample buffer. Every hour (samples 6, 10, 14, ...: the Python window's hour
 * blocks) the hour is summarized (tml_block_summary_steps: level, range, step, glitch, newest reading and
 * share of repeated readings of vwc; rain and ET0 sums; temperature and EC means, as steps of the chain's
 * resolution) into a HOURS-hour history of signed bytes (HOURS x NF: the node keeps no raw window, which is
 * what lets it fit 2 KB of SRAM). Once HOURS hours are in, each hour the history, as values (steps x
 * resolution), is quantized into the model input: the fault classifier scores it and the post-processor raises
 * each fault class on its rising edge, then keeps that class quiet for a while (stuck: once per episode, a
 * latch held until the reading moves, and while it holds the classes [postprocess] muted_while_stuck flags
 * raise nothing; drop: muted for a while after a spike, whose return reads as a step down; stuck and out_of_range
 * only when the readings meet their physical precondition: constant for stuck_constant_s with the stuck label's
 * evidence in view (water while frozen, or changing before it froze), out of the physical range); the forecast model (model_forecast.h, same history, its own input quantization) gives the change of
 * vwc over 24 h if no water comes, and the node raises `irrigate` when the forecast depletion of the field
 * reaches its allowed depletion while no fault is reported or latched (PostProcessor in pipeline.py).
 * Float32 in the same order as Python (built with -ffp-contract=off), integer score compares: Python and
 * the device raise the same events from the same samples, on the 8-bit AVR too.
 */
#include <math.h>
#include <string.h>

#include "app_config.h"
#include "model.h"
#include "model_forecast.h"
#include "tml_app.h"
#include "tml_app_model.h"
#include "tml_dsp.h"
#include "tml_features.h"
#include "tml_flash.h"
#include "tml_port.h"
#include "tml_postprocess.h"

#define CH 5
#define BLOCK TML_CFG_FEATURES_CHAIN_0_SIZE
#define HOURS ((TML_CFG_FEATURES_WINDOW - 2) / BLOCK)
#ifndef TML_CFG_FEATURES_CHAIN_0_LAST
#define TML_CFG_FEATURES_CHAIN_0_LAST 0 /* the chain's `last` left at its default */
#endif
#ifndef TML_CFG_FEATURES_CHAIN_0_UNCHANGED
#define TML_CFG_FEATURES_CHAIN_0_UNCHANGED 0 /* the chain's `unchanged` left at its default */
#endif
#define NF (4 + TML_CFG_FEATURES_CHAIN_0_LAST + TML_CFG_FEATURES_CHAIN_0_UNCHANGED + TML_CFG_FEATURES_CHAIN_0_SUMS_ROWS + \
            TML_CFG_FEATURES_CHAIN_0_MEANS_ROWS)
#define N_LABELS TML_CFG_N_LABELS
#define RAIN_CH 3 /* rain_mm in the sample [vwc, soil_temp_c, ec_ds_m, rain_mm, et0_mm] */
#define UNCHANGED_F (4 + TML_CFG_FEATURES_CHAIN_0_LAST) /* the share of repeated readings in an hour's summary */

typedef char five_channels[(TML_CFG_N_CHANNELS == CH) ? 1 : -1];
typedef char hop_is_a_block[(TML_CFG_FEATURES_HOP == BLOCK) ? 1 : -1];
typedef char a_mute_flag_per_label[(TML_CFG_POSTPROCESS_MUTED_WHILE_STUCK_LEN == N_LABELS) ? 1 : -1];
typedef char window_is_whole_blocks[(TML_CFG_FEATURES_WINDOW == 2 + HOURS * BLOCK) ? 1 : -1];
typedef char input_is_the_history[(TML_MODEL_INPUT_SIZE == HOURS * NF) ? 1 : -1];
typedef char stuck_evidence_reads_unchanged[TML_CFG_FEATURES_CHAIN_0_UNCHANGED ? 1 : -1];
typedef char output_matches_labels[(TML_MODEL_OUTPUT_SIZE == N_LABELS) ? 1 : -1];
typedef char forecast_reads_the_history[(TML_MODEL_FORECAST_INPUT_SIZE == HOURS * NF && TML_MODEL_FORECAST_OUTPUT_SIZE == 1) ? 1 : -1];

/* The chain's parameters, from app_config.h (nothing copied by hand); in flash on an 8-bit AVR. */
static const TML_FLASH float k_sums[][2] = TML_CFG_FEATURES_CHAIN_0_SUMS;
static const TML_FLASH float k_means[][3] = TML_CFG_FEATURES_CHAIN_0_MEANS;
static int s_sum_ch[TML_CFG_FEATURES_CHAIN_0_SUMS_ROWS], s_mean_ch[TML_CFG_FEATURES_CHAIN_0_MEANS_ROWS];
static float s_sum_scale[TML_CFG_FEATURES_CHAIN_0_SUMS_ROWS];
static float s_mean_center[TML_CFG_FEATURES_CHAIN_0_MEANS_ROWS], s_mean_scale[TML_CFG_FEATURES_CHAIN_0_MEANS_ROWS];
static tml_block_summary_cfg s_cfg;

static float s_buf[(2 + BLOCK) * CH]; /* the last 2 + BLOCK samples, oldest first */
static int8_t s_hist[HOURS * NF];     /* hourly summaries in steps of the resolution, oldest hour first */
static uint32_t s_hours;              /* hours summarized so far */
static uint32_t s_block_runs;
static uint64_t s_block_cost;

/* Post-processing (PostProcessor in pipeline.py). */
typedef char four_values[(TML_CFG_N_VALUES == 4) ? 1 : -1]; /* vwc_24h, depletion, depletion_24h, irrigation_mm */
static int32_t s_threshold_q, s_quiet_n, s_spike_quiet_n, s_irr_quiet_n;
static uint32_t s_irr_quiet_until;
static float s_root_mm;
static tml_model_cost s_forecast_cost;
static uint8_t s_above[N_LABELS];
static uint8_t s_stuck_hold; /* a stuck reading holds irrigation until the reading moves again */
static uint32_t s_drop_muted_until; /* a drop up to fault_quiet_s after a spike event is that spike's return */
/* while the stuck latch holds, no event from the classes that need the reading to change (flags by label) */
static const uint8_t k_muted_while_stuck[N_LABELS] = TML_CFG_POSTPROCESS_MUTED_WHILE_STUCK;
static uint32_t s_quiet_until[N_LABELS];
static float s_fc, s_wp; /* the field's water limits: [field] fc/wp, or (0) its soil's row of the tables */
static float s_sat;      /* the field's saturation: above it (+ sat_margin) a reading is out of range */
static uint16_t s_constant_n; /* samples of one exact reading a stuck flag needs (stuck_constant_s) */
static uint16_t s_same_n;    /* samples in a row equal to the one before, up to the newest (PhysicalLimits) */

/* [field] fc / wp / sat as given, else the value of the field's soil in the [postprocess] soil_* table. */
static float field_limit(float given, const TML_FLASH float *table)
{
    return given > 0.0f ? given : table[TML_CFG_FIELD_SOIL_INDEX];
}
static const TML_FLASH float k_soil_fc[] = TML_CFG_POSTPROCESS_SOIL_FC;
static const TML_FLASH float k_soil_wp[] = TML_CFG_POSTPROCESS_SOIL_WP;
static const TML_FLASH float k_soil_sat[] = TML_CFG_POSTPROCESS_SOIL_SAT;

void tml_app_init(void)
{
    for (int j = 0; j < TML_CFG_FEATURES_CHAIN_0_SUMS_ROWS; j++) {
        s_sum_ch[j] = (int)k_sums[j][0];
        s_sum_scale[j] = k_sums[j][1];
    }
    for (int j = 0; j < TML_CFG_FEATURES_CHAIN_0_MEANS_ROWS; j++) {
        s_mean_ch[j] = (int)k_means[j][0];
        s_mean_center[j] = k_means[j][1];
        s_mean_scale[j] = k_means[j][2];
    }
    s_cfg.size = BLOCK;
    s_cfg.level = TML_CFG_FEATURES_CHAIN_0_LEVEL;
    s_cfg.level_center = TML_CFG_FEATURES_CHAIN_0_LEVEL_CENTER;
    s_cfg.level_scale = TML_CFG_FEATURES_CHAIN_0_LEVEL_SCALE;
    s_cfg.delta_scale = TML_CFG_FEATURES_CHAIN_0_DELTA_SCALE;
    s_cfg.missing = TML_CFG_FEATURES_CHAIN_0_MISSING;
    s_cfg.clip = TML_CFG_FEATURES_CHAIN_0_CLIP;
    s_cfg.resolution = TML_CFG_FEATURES_CHAIN_0_RESOLUTION;
    s_cfg.n_sums = TML_CFG_FEATURES_CHAIN_0_SUMS_ROWS;
    s_cfg.sum_ch = s_sum_ch;
    s_cfg.sum_scale = s_sum_scale;
    s_cfg.n_means = TML_CFG_FEATURES_CHAIN_0_MEANS_ROWS;
    s_cfg.mean_ch = s_mean_ch;
    s_cfg.mean_center = s_mean_center;
    s_cfg.mean_scale = s_mean_scale;
    s_cfg.last = TML_CFG_FEATURES_CHAIN_0_LAST;
    s_cfg.unchanged = TML_CFG_FEATURES_CHAIN_0_UNCHANGED;
    memset(s_buf, 0, sizeof s_buf);
    memset(s_hist, 0, sizeof s_hist);
    s_hours = 0;
    s_block_runs = 0;
    s_block_cost = 0;
    s_threshold_q = tml_score_threshold_q(TML_CFG_POSTPROCESS_FAULT_LOGIT, TML_MODEL_OUTPUT_SCALE,
                                          TML_MODEL_OUTPUT_ZERO_POINT);
    s_quiet_n = tml_samples_of(TML_CFG_POSTPROCESS_FAULT_QUIET_S, TML_CFG_SIGNAL_RATE);
    s_spike_quiet_n = tml_samples_of(TML_CFG_POSTPROCESS_SPIKE_QUIET_S, TML_CFG_SIGNAL_RATE);
    s_irr_quiet_n = tml_samples_of(TML_CFG_POSTPROCESS_IRRIGATE_QUIET_S, TML_CFG_SIGNAL_RATE);
    s_irr_quiet_until = 0;
    s_root_mm = 1000.0f * TML_CFG_FIELD_ROOT_DEPTH_M;
    s_forecast_cost = (tml_model_cost){"model_forecast", BLOCK, 0, 0};
    for (int c = 0; c < N_LABELS; c++) {
        s_above[c] = 0;
        s_quiet_until[c] = 0;
    }
    s_stuck_hold = 0;
    s_drop_muted_until = 0;
    s_fc = field_limit(TML_CFG_FIELD_FC, k_soil_fc);
    s_wp = field_limit(TML_CFG_FIELD_WP, k_soil_wp);
    s_sat = field_limit(TML_CFG_FIELD_SAT, k_soil_sat);
    s_constant_n = (uint16_t)tml_samples_of(TML_CFG_POSTPROCESS_STUCK_CONSTANT_S, TML_CFG_SIGNAL_RATE);
    s_same_n = 0;
    tml_report_output_quant(TML_MODEL_OUTPUT_SCALE, TML_MODEL_OUTPUT_ZERO_POINT);
}

/* The newest hour summarized and appended to the int8 history (the oldest hour drops out). */
static void summarize_hour(void)
{
    uint64_t t0 = tml_port_instructions();
    memmove(s_hist, s_hist + NF, sizeof s_hist - NF);
    tml_block_summary_steps(&s_cfg, s_buf, CH, s_hist + sizeof s_hist - NF);
    s_block_cost += tml_port_instructions() - t0;
    s_block_runs++;
    s_hours++;
}

/* A model's input from the history: each feature's value (steps x resolution, float32) quantized with the
 * model's own input scale, as Python's quantize_input does it. */
static void fill_input(int8_t *in, float scale, int32_t zero_point)
{
    float row[NF];
    for (int h = 0; h < HOURS; h++) {
        for (int k = 0; k < NF; k++) {
            row[k] = (float)s_hist[h * NF + k] * TML_CFG_FEATURES_CHAIN_0_RESOLUTION;
        }
        tml_quantize_input(row, NF, scale, zero_point, in + h * NF);
    }
}

/* The forecast: vwc change over 24 h (x FORECAST_SCALE) from the history, dequantized as Python does;
 * NAN when the model could not run (reported). */
static float forecast_change(void)
{
    fill_input(tml_model_forecast_input(), TML_MODEL_FORECAST_INPUT_SCALE, TML_MODEL_FORECAST_INPUT_ZERO_POINT);
    if (tml_app_run_model(tml_model_forecast_invoke, &s_forecast_cost) != 0) {
        return NAN;
    }
    return ((float)tml_model_forecast_output()[0] - (float)TML_MODEL_FORECAST_OUTPUT_ZERO_POINT) *
           TML_MODEL_FORECAST_OUTPUT_SCALE;
}

/* Readings of hour h of the history that changed from the one before (size minus its `unchanged` count). */
static int hour_changed(int h)
{
    return BLOCK - (int)floorf((float)s_hist[h * NF + UNCHANGED_F] * TML_CFG_FEATURES_CHAIN_0_RESOLUTION * (float)BLOCK + 0.5f);
}

/* The stuck label's own evidence, from the history (StuckEvidence in pipeline.py): gauge water while the reading
 * was frozen (each hour's rain at the top of its grid step, over the trailing frozen hours and the hour before),
 * or the readings before the freeze kept changing (one change to spare). Integers and float32 in Python's order. */
static int stuck_shown(void)
{
    int frozen = 0;
    while (frozen < HOURS && hour_changed(HOURS - 1 - frozen) == 0) {
        frozen++;
    }
    int j = 0;
    while (j < TML_CFG_FEATURES_CHAIN_0_SUMS_ROWS && s_sum_ch[j] != RAIN_CH) { /* Python refuses a chain */
        j++;                                                                  /* without the rain sum */
    }
    if (j < TML_CFG_FEATURES_CHAIN_0_SUMS_ROWS) { /* bounded all the same: no water evidence without it */
        int rain_f = UNCHANGED_F + 1 + j;
        int32_t water = 0;
        for (int h = frozen < HOURS ? HOURS - frozen - 1 : 0; h < HOURS; h++) {
            int32_t r = s_hist[h * NF + rain_f];
            if (r >= 0) {
                water += (2 * r + 1) * (2 * r + 1);
            }
        }
        float quarter = 0.25f * TML_CFG_FEATURES_CHAIN_0_RESOLUTION * TML_CFG_FEATURES_CHAIN_0_RESOLUTION * s_sum_scale[j];
        if ((float)water * quarter >= TML_CFG_POSTPROCESS_STUCK_WATER_MM) {
            return 1;
        }
    }
    int before = HOURS - 1 - frozen; /* whole hours before the one holding the freeze's start */
    int32_t moved = 0;
    for (int h = 0; h < HOURS - frozen; h++) {
        moved += hour_changed(h);
    }
    return before >= 1 && (float)(moved + 1) >= TML_CFG_POSTPROCESS_STUCK_MOVING * (float)(1 + BLOCK * before);
}

static void postprocess(uint32_t end, const int8_t *scores)
{
    int fault_on = 0;
    uint8_t raised[N_LABELS];
    /* stuck latch: set when stuck is reported, released when the reading moves. While it holds, the fault
     * episode is the same one: stuck is not raised again (one event per episode) and the valve stays shut */
    for (int i = 2; i < 2 + BLOCK; i++) {
        if (s_buf[i * CH] != s_buf[(i - 1) * CH]) {
            s_stuck_hold = 0;
        }
    }
    /* the physical preconditions (PhysicalLimits in pipeline.py): stuck only once the last s_constant_n readings
     * are one exact value and the history shows the stuck label's evidence, out_of_range only while the newest reading is out of the physical range */
    float x = s_buf[(2 + BLOCK - 1) * CH];
    int stuck_possible = (int32_t)s_same_n + 1 >= s_constant_n && stuck_shown();
    int out_possible = x < TML_CFG_POSTPROCESS_VWC_MIN || x > TML_CFG_POSTPROCESS_VWC_MAX ||
                       x > s_sat + TML_CFG_POSTPROCESS_SAT_MARGIN;
    for (int c = 1; c < N_LABELS; c++) {
        fault_on |= scores[c] >= s_threshold_q; /* any fault score holds the valve */
        int on = scores[c] >= s_threshold_q && (c != TML_CFG_LABEL_STUCK || stuck_possible) &&
                 (c != TML_CFG_LABEL_OUT_OF_RANGE || out_possible);
        raised[c] = (uint8_t)(on && !s_above[c] && end >= s_quiet_until[c] &&
                              !(c == TML_CFG_LABEL_STUCK && s_stuck_hold) &&
                              !(c == TML_CFG_LABEL_DROP && end <= s_drop_muted_until) &&
                              !(k_muted_while_stuck[c] && s_stuck_hold));
        if (raised[c]) {
            s_quiet_until[c] = end + (uint32_t)(c == TML_CFG_LABEL_SPIKE ? s_spike_quiet_n : s_quiet_n);
            if (c == TML_CFG_LABEL_SPIKE) { /* a spike's return to the baseline reads as a step down: its episode */
                s_drop_muted_until = end + (uint32_t)s_quiet_n;
            }
        }
        s_above[c] = (uint8_t)on;
    }
    if (scores[TML_CFG_LABEL_STUCK] >= s_threshold_q && stuck_possible) {
        s_stuck_hold = 1;
    }
    fault_on |= s_stuck_hold;
    /* the newest hour's mean vwc: a sequential float32 sum of its samples x 0.25, as Python */
    const float *v = s_buf + 2 * CH;
    float acc = v[0];
    for (int i = 1; i < BLOCK; i++) {
        acc = acc + v[i * CH];
    }
    float vwc = acc * 0.25f;
    float span = s_fc - s_wp;
    float change = forecast_change();
    float vwc24 = vwc + change / 10.0f; /* FORECAST_SCALE in pipeline.py */
    float dep24 = (s_fc - vwc24) / span;
    float values[4] = {vwc24, (s_fc - vwc) / span, dep24, 0.0f};
    int irrigate = !fault_on && dep24 >= TML_CFG_FIELD_MAD && end >= s_irr_quiet_until; /* NAN compares false */
    if (irrigate) {
        s_irr_quiet_until = end + (uint32_t)s_irr_quiet_n;
        values[3] = (s_fc - vwc24) * s_root_mm;
    }
    tml_report_values(end, values, 4);
    for (int c = 1; c < N_LABELS; c++) {
        if (raised[c]) {
            tml_report_event(end, (uint32_t)c, scores[c]);
        }
    }
    if (irrigate) {
        tml_report_event(end, TML_CFG_EVENT_IRRIGATE, 127);
    }
}

void tml_app_on_sample(const float *sample)
{
    uint32_t n = tml_app_samples();
    memmove(s_buf, s_buf + CH, sizeof s_buf - CH * sizeof(float));
    memcpy(s_buf + (2 + BLOCK - 1) * CH, sample, CH * sizeof(float));
    if (n >= 2 && s_buf[(2 + BLOCK - 1) * CH] == s_buf[(2 + BLOCK - 2) * CH]) { /* NaN never equals */
        s_same_n = (uint16_t)(s_same_n < 0xFFFFu ? s_same_n + 1u : s_same_n);
    } else {
        s_same_n = 0;
    }
    if (n < 2 + BLOCK || (n - 2) % BLOCK != 0) {
        return; /* hours end at samples 6, 10, 14, ... as the Python window's blocks do */
    }
    summarize_hour();
    if (s_hours < HOURS) {
        return;
    }
    fill_input(tml_model_input(), TML_MODEL_INPUT_SCALE, TML_MODEL_INPUT_ZERO_POINT);
    const int8_t *scores = tml_app_score_window(n);
    tml_report_stage_cost("block_summary", BLOCK, s_block_runs, s_block_cost);
    tml_app_report_model_cost(&s_forecast_cost);
    if (scores != NULL) {
        postprocess(n, scores);
    }
}
