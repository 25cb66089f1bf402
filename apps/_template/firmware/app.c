/* Template app on the device: the C twin of apps/_template/pipeline.py.
 *
 * Every hop: the newest window of samples plus their magnitude (the manifest's chain: magnitude,
 * appended) is quantized into the model input as tinyml.features.quantize_input does it, the
 * compiled int8 model scores it, and tml_threshold_events (twin of tinyml.postprocess.ThresholdEvents)
 * turns the scores into events; tml_app_flush finishes them at the end of the input. Edit this with
 * pipeline.py when you change the features.
 */

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
#define CH TML_CFG_N_CHANNELS
#define FEATS (CH + 1) /* the channels, then their magnitude */

typedef char input_matches_features[(TML_MODEL_INPUT_SIZE == WINDOW * FEATS) ? 1 : -1];
typedef char output_matches_labels[(TML_MODEL_OUTPUT_SIZE == TML_CFG_N_LABELS) ? 1 : -1];

static float s_store[WINDOW * CH];
static float s_win[WINDOW * CH];
static float s_mag[WINDOW];
static float s_feat[WINDOW * FEATS];
static tml_ring_f32 s_ring;
static tml_window_schedule s_schedule;
static tml_threshold_events s_events;

void tml_app_init(void)
{
    static const uint8_t event_labels[] = TML_CFG_EVENT_LABELS;
    (void)tml_ring_f32_init(&s_ring, s_store, WINDOW, CH);
    tml_window_schedule_reset(&s_schedule);
    (void)tml_threshold_events_init(
        &s_events, event_labels, TML_CFG_EVENT_LABELS_LEN, TML_CFG_POSTPROCESS_SMOOTH,
        tml_score_threshold_q(TML_CFG_POSTPROCESS_THRESHOLD, TML_MODEL_OUTPUT_SCALE, TML_MODEL_OUTPUT_ZERO_POINT),
        tml_samples_of(TML_CFG_POSTPROCESS_SUPPRESS_S, TML_CFG_SIGNAL_RATE));
    tml_report_output_quant(TML_MODEL_OUTPUT_SCALE, TML_MODEL_OUTPUT_ZERO_POINT);
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
    for (int t = 0; t < WINDOW; t++) {
        for (int c = 0; c < CH; c++) {
            s_feat[t * FEATS + c] = s_win[t * CH + c];
        }
        s_feat[t * FEATS + CH] = s_mag[t];
    }
    tml_quantize_input(s_feat, WINDOW * FEATS, TML_MODEL_INPUT_SCALE, TML_MODEL_INPUT_ZERO_POINT, tml_model_input());
    const int8_t *scores = tml_app_score_window(end);
    if (scores == NULL) {
        return;
    }
    uint8_t labels[TML_TE_MAX_LABELS];
    int8_t event_scores[TML_TE_MAX_LABELS];
    int n = tml_threshold_events_step(&s_events, end, scores, labels, event_scores);
    for (int i = 0; i < n; i++) {
        tml_report_event(end, labels[i], event_scores[i]);
    }
}

/* The end of the input: the smoothing runs on over the last windows (a lone 1 s clip, or a command
 * in the last windows, still fires), as ThresholdEvents.flush does in Python. */
void tml_app_flush(void)
{
    uint8_t labels[TML_TE_MAX_LABELS];
    int8_t event_scores[TML_TE_MAX_LABELS];
    uint32_t end = tml_app_samples();
    int n = tml_threshold_events_flush(&s_events, end, labels, event_scores);
    for (int i = 0; i < n; i++) {
        tml_report_event(end, labels[i], event_scores[i]);
    }
}
