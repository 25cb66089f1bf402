/* keyword-spotting on the device: the C twin of apps/keyword-spotting/pipeline.py, streaming.
 *
 * Frontend, incremental: the last FRAME_LEN (30 ms) samples are kept; every FRAME_HOP (20 ms) ONE new
 * MFCC frame is computed (tml_mfcc with the generated tables of features_tables.h) and pushed into a
 * ring of the last N_FRAMES frames. Frame j of the stream starts at sample j*FRAME_HOP. A window starts at
 * w*HOP, a multiple of FRAME_HOP, so its frames are stream frames w*HOP/FRAME_HOP + 0..N_FRAMES-1, and the
 * newest of them (ending N_FRAMES-1 hops + FRAME_LEN after the window start, <= WINDOW) is complete when
 * the window is due: the ring then holds exactly the 49 frames the Python recomputes from the window.
 * Every HOP (0.2 s) the ring is quantized, in time order, into the model input, the int8 DS-CNN scores
 * the last 1 s, and tml_threshold_events (twin of tinyml.postprocess.ThresholdEvents, configured from
 * app_config.h as the Python is from the manifest) turns the scores into command events; tml_app_flush
 * finishes them at the end of the input (a lone 1 s clip, a command in the last windows).
 *
 * Why float32: the Cortex-M4F has a single-precision FPU, so a float MFCC costs little more than a
 * fixed-point one, and the frontend is bit-exact with the Python (same tables, same float32 operations
 * in the same order, -ffp-contract=off, our own tml_logf): the device builds the very int8 input that
 * training and `tinyml predict` see.
 *
 * Cost: the frame computations are measured with tml_port_instructions() and reported with
 * tml_report_stage_cost after every window (cumulative); inferences with tml_report_timing.
 * Static memory only.
 */
#include "app_config.h"
#include "features_tables.h"
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
#define FRAME_LEN TML_FEAT_S0_MFCC_LENGTH
#define FRAME_HOP TML_FEAT_S0_MFCC_HOP
#define N_FFT TML_FEAT_S0_MFCC_N_FFT
#define N_MELS TML_FEAT_S0_MFCC_N_MELS
#define N_MFCC TML_FEAT_S0_MFCC_N_MFCC
#define N_FRAMES (1 + (WINDOW - FRAME_LEN) / FRAME_HOP) /* tinyml.dsp.frame.n_frames */

typedef char mono[(TML_CFG_N_CHANNELS == 1) ? 1 : -1];
typedef char window_hop_is_whole_frames[(HOP % FRAME_HOP == 0 && WINDOW >= FRAME_LEN) ? 1 : -1];
typedef char input_matches_features[(TML_MODEL_INPUT_SIZE == N_FRAMES * N_MFCC) ? 1 : -1];
typedef char output_matches_labels[(TML_MODEL_OUTPUT_SIZE == TML_CFG_N_LABELS) ? 1 : -1];

#ifndef TML_CFG_POSTPROCESS_SMOOTH /* ThresholdEvents' defaults */
#define TML_CFG_POSTPROCESS_SMOOTH 1
#endif
#ifndef TML_CFG_POSTPROCESS_THRESHOLD
#define TML_CFG_POSTPROCESS_THRESHOLD 0.5f
#endif
#ifndef TML_CFG_POSTPROCESS_SUPPRESS_S
#define TML_CFG_POSTPROCESS_SUPPRESS_S 1.0f
#endif

static float s_store[FRAME_LEN];             /* the last FRAME_LEN samples */
static float s_frame[FRAME_LEN];             /* one frame, oldest sample first */
static float s_work[TML_MFCC_WORK(N_FFT, N_MELS)];
static float s_mfcc[N_FRAMES][N_MFCC];       /* ring of the last N_FRAMES MFCC frames */
static float s_feat[N_FRAMES * N_MFCC];      /* the window's frames in time order */
static uint32_t s_next;                      /* ring slot of the next frame (= the oldest once full) */
static tml_ring_f32 s_ring;
static tml_window_schedule s_frames, s_windows;
static tml_threshold_events s_events;
static uint64_t s_frame_cost;                /* instructions spent in frames since init */
static uint32_t s_frame_count;

void tml_app_init(void)
{
    static const uint8_t event_labels[] = TML_CFG_EVENT_LABELS;
    (void)tml_ring_f32_init(&s_ring, s_store, FRAME_LEN, 1);
    tml_window_schedule_reset(&s_frames);
    tml_window_schedule_reset(&s_windows);
    s_next = 0;
    s_frame_cost = 0;
    s_frame_count = 0;
    (void)tml_threshold_events_init(
        &s_events, event_labels, TML_CFG_EVENT_LABELS_LEN, TML_CFG_POSTPROCESS_SMOOTH,
        tml_score_threshold_q(TML_CFG_POSTPROCESS_THRESHOLD, TML_MODEL_OUTPUT_SCALE, TML_MODEL_OUTPUT_ZERO_POINT),
        tml_samples_of(TML_CFG_POSTPROCESS_SUPPRESS_S, TML_CFG_SIGNAL_RATE));
    tml_report_output_quant(TML_MODEL_OUTPUT_SCALE, TML_MODEL_OUTPUT_ZERO_POINT);
}

/* One new MFCC frame from the last FRAME_LEN samples into the ring. */
static int push_frame(void)
{
    uint64_t t0 = tml_port_instructions();
    (void)tml_ring_f32_window(&s_ring, s_frame, FRAME_LEN);
    int rc = tml_mfcc(s_frame, 1, FRAME_LEN, tml_feat_s0_mfcc_window, N_FFT, tml_feat_s0_mfcc_twiddles,
                      tml_feat_s0_mfcc_mel_start, tml_feat_s0_mfcc_mel_count, tml_feat_s0_mfcc_mel_weights, N_MELS,
                      TML_FEAT_S0_MFCC_LOG_FLOOR, tml_feat_s0_mfcc_dct, N_MFCC, s_work, s_mfcc[s_next]);
    s_next = (s_next + 1) % N_FRAMES;
    s_frame_cost += tml_port_instructions() - t0;
    s_frame_count++;
    return rc;
}

void tml_app_on_sample(const float *sample)
{
    tml_ring_f32_push(&s_ring, sample);
    if (tml_window_due(&s_frames, FRAME_LEN, FRAME_HOP) && push_frame() != 0) {
        tml_report_error(18, "mfcc rejected the frame sizes");
        return;
    }
    if (!tml_window_due(&s_windows, WINDOW, HOP)) {
        return;
    }
    uint32_t end = tml_app_samples();
    for (uint32_t j = 0; j < N_FRAMES; j++) { /* oldest first: the ring's next slot holds the oldest */
        const float *f = s_mfcc[(s_next + j) % N_FRAMES];
        for (int k = 0; k < N_MFCC; k++) {
            s_feat[j * N_MFCC + k] = f[k];
        }
    }
    tml_quantize_input(s_feat, N_FRAMES * N_MFCC, TML_MODEL_INPUT_SCALE, TML_MODEL_INPUT_ZERO_POINT, tml_model_input());
    const int8_t *scores = tml_app_score_window(end);
    if (scores == NULL) {
        return;
    }
    tml_report_stage_cost("feature_frame", FRAME_HOP, s_frame_count, s_frame_cost);
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
