/* fall-detect on the device: the C twin of apps/fall-detect/pipeline.py, step for step.
 *
 * Every hop: the newest window of [ax, ay, az] (g) plus |a| (tml_magnitude), clipped (tml_clip), is
 * quantized into the model input, the compiled int8 CNN scores it, and the post-processor decides:
 *   candidate  = fall score >= threshold_q and max |a|^2 in the window >= impact_g^2 (the impact: the
 *                window's first sample of largest |a|);
 *   check      = blocks of still_s samples, the first beginning settle_s after the impact (samples already in
 *                the window count at once); a block is still when the variance of |a| is at most
 *                still_sd_g^2. The first still block decides: confirmed when its mean gravity direction has
 *                turned by at least acos(posture_change_cos) from the candidate window's first pre_s (a fall
 *                ends lying; sitting down hard does not). A block that is not still is followed by the next
 *                one while it can end by still_by_s after the impact;
 *   then no alert for refractory_s.
 * All arithmetic is float32 in the same order as the Python (built with -ffp-contract=off), and the
 * score compare is integer, so Python and the device raise the same alerts from the same samples.
 */
#include <math.h>

#include "app_config.h"
#include "model.h"
#include "tml_app.h"
#include "tml_app_model.h"
#include "tml_dsp.h"
#include "tml_features.h"
#include "tml_port.h"
#include "tml_postprocess.h"
#include "tml_ring.h"

#define WINDOW TML_CFG_FEATURES_WINDOW
#define HOP TML_CFG_FEATURES_HOP
#define CH 3
#define FEATS (CH + 1) /* ax, ay, az, |a| */

typedef char three_axes[(TML_CFG_N_CHANNELS == CH) ? 1 : -1];
typedef char input_matches_features[(TML_MODEL_INPUT_SIZE == WINDOW * FEATS) ? 1 : -1];
typedef char output_matches_labels[(TML_MODEL_OUTPUT_SIZE == TML_CFG_N_LABELS) ? 1 : -1];

static float s_store[WINDOW * CH];
static float s_win[WINDOW * CH];
static float s_mag[WINDOW];
static float s_feat[WINDOW * FEATS];
static tml_ring_f32 s_ring;
static tml_window_schedule s_schedule;

/* Post-processing constants: the same float32 expressions as PostProcessor.__init__. */
static int32_t s_threshold_q;
static float s_impact_sq, s_still_var;
static int32_t s_settle_n, s_still_n, s_still_by_n, s_pre_n, s_refractory_n;

/* Post-processing state. */
static int64_t s_next;       /* absolute index of the next sample the check takes; -1: no candidate */
static int64_t s_deadline;   /* a block must end by this absolute index (impact + still_by_s) */
static int32_t s_n;          /* samples in the current block (of s_still_n) */
static float s_s1, s_s2;     /* sums of |a| and |a|^2 over the block */
static float s_pre[CH];      /* gravity before the candidate (sum of pre_n samples) */
static float s_post[CH];     /* gravity during the block (running sum) */
static int8_t s_score_q;
static int64_t s_quiet_until; /* sample index before which no alert is raised */

void tml_app_init(void)
{
    (void)tml_ring_f32_init(&s_ring, s_store, WINDOW, CH);
    tml_window_schedule_reset(&s_schedule);
    s_threshold_q = tml_score_threshold_q(TML_CFG_POSTPROCESS_FALL_THRESHOLD, TML_MODEL_OUTPUT_SCALE,
                                          TML_MODEL_OUTPUT_ZERO_POINT);
    s_impact_sq = TML_CFG_POSTPROCESS_IMPACT_G * TML_CFG_POSTPROCESS_IMPACT_G;
    s_still_var = TML_CFG_POSTPROCESS_STILL_SD_G * TML_CFG_POSTPROCESS_STILL_SD_G;
    s_settle_n = tml_samples_of(TML_CFG_POSTPROCESS_SETTLE_S, TML_CFG_SIGNAL_RATE);
    s_still_n = tml_samples_of(TML_CFG_POSTPROCESS_STILL_S, TML_CFG_SIGNAL_RATE);
    s_still_by_n = tml_samples_of(TML_CFG_POSTPROCESS_STILL_BY_S, TML_CFG_SIGNAL_RATE);
    s_pre_n = tml_samples_of(TML_CFG_POSTPROCESS_PRE_S, TML_CFG_SIGNAL_RATE);
    s_refractory_n = tml_samples_of(TML_CFG_POSTPROCESS_REFRACTORY_S, TML_CFG_SIGNAL_RATE);
    s_next = -1;
    s_deadline = 0;
    s_n = 0;
    s_s1 = s_s2 = 0.0f;
    for (int c = 0; c < CH; c++) {
        s_pre[c] = s_post[c] = 0.0f;
    }
    s_score_q = 0;
    s_quiet_until = -1;
    tml_report_output_quant(TML_MODEL_OUTPUT_SCALE, TML_MODEL_OUTPUT_ZERO_POINT);
}

/* The angle between a and b is at least acos(cos_tilt). */
static int turned(const float *a, const float *b)
{
    float dot = (a[0] * b[0] + a[1] * b[1]) + a[2] * b[2];
    float na = (a[0] * a[0] + a[1] * a[1]) + a[2] * a[2];
    float nb = (b[0] * b[0] + b[1] * b[1]) + b[2] * b[2];
    return dot <= TML_CFG_POSTPROCESS_POSTURE_CHANGE_COS * sqrtf(na * nb);
}

/* Features [ax, ay, az, |a|] per sample, clipped to the manifest's range, quantized like quantize_input(). */
static void quantize_features(int8_t *in)
{
    for (int t = 0; t < WINDOW; t++) {
        for (int c = 0; c < CH; c++) {
            s_feat[t * FEATS + c] = s_win[t * CH + c];
        }
        s_feat[t * FEATS + CH] = s_mag[t];
    }
    tml_clip(s_feat, WINDOW * FEATS, TML_CFG_FEATURES_CHAIN_1_LO, TML_CFG_FEATURES_CHAIN_1_HI, s_feat);
    tml_quantize_input(s_feat, WINDOW * FEATS, TML_MODEL_INPUT_SCALE, TML_MODEL_INPUT_ZERO_POINT, in);
}

static void new_block(void)
{
    s_n = 0;
    s_s1 = s_s2 = 0.0f;
    for (int c = 0; c < CH; c++) {
        s_post[c] = 0.0f;
    }
}

/* Take the window's samples from index s_next on, block by block (the window ends at sample `end`, one
 * past its newest); the first still block decides, a moving one is followed by the next while time is left. */
static void follow(uint32_t end)
{
    int64_t j0 = s_next - ((int64_t)end - WINDOW);
    for (int j = j0 > 0 ? (int)j0 : 0; j < WINDOW; j++) {
        s_s1 = s_s1 + s_mag[j];
        s_s2 = s_s2 + s_mag[j] * s_mag[j];
        for (int c = 0; c < CH; c++) {
            s_post[c] = s_post[c] + s_win[j * CH + c];
        }
        s_n++;
        s_next++;
        if (s_n < s_still_n) {
            continue;
        }
        float nf = (float)s_n;
        float mean = s_s1 / nf;
        if (s_s2 / nf - mean * mean <= s_still_var) { /* still: this block decides */
            s_next = -1;
            if (turned(s_pre, s_post)) {
                tml_report_event(end, TML_CFG_LABEL_FALL, s_score_q);
                s_quiet_until = (int64_t)end + s_refractory_n;
            }
            return;
        }
        if (s_next + s_still_n > s_deadline) { /* moving, and no time for another block */
            s_next = -1;
            return;
        }
        new_block();
    }
}

/* One post-processing step for the window ending at sample `end` (one past its newest sample). */
static void postprocess(uint32_t end, const int8_t *scores)
{
    if (s_next >= 0) {
        follow(end);
    }
    int8_t fall = scores[TML_CFG_LABEL_FALL];
    if (s_next < 0 && (int64_t)end > s_quiet_until && fall >= s_threshold_q) {
        float peak = 0.0f;
        int at = 0;
        for (int t = 0; t < WINDOW; t++) {
            const float *a = &s_win[t * CH];
            float sq = (a[0] * a[0] + a[1] * a[1]) + a[2] * a[2];
            if (sq > peak) {
                peak = sq;
                at = t;
            }
        }
        if (peak >= s_impact_sq) {
            int64_t impact = (int64_t)end - WINDOW + at;
            s_next = impact + s_settle_n;
            s_deadline = impact + s_still_by_n;
            new_block();
            for (int c = 0; c < CH; c++) {
                float acc = 0.0f;
                for (int t = 0; t < s_pre_n; t++) {
                    acc = acc + s_win[t * CH + c];
                }
                s_pre[c] = acc;
            }
            s_score_q = fall;
            follow(end);
        }
    }
}

void tml_app_on_sample(const float *sample)
{
    tml_ring_f32_push(&s_ring, sample);
    if (!tml_window_due(&s_schedule, WINDOW, HOP)) {
        return;
    }
    uint32_t end = tml_app_samples();
    (void)tml_ring_f32_window(&s_ring, s_win, WINDOW);
    tml_magnitude(s_win, WINDOW, CH, s_mag);
    quantize_features(tml_model_input());
    const int8_t *scores = tml_app_score_window(end);
    if (scores == NULL) {
        return;
    }
    postprocess(end, scores);
}
