/* tml_postprocess.h - generic post-processing: int8 scores -> events (C twins of tinyml.postprocess).
 *
 * tml_threshold_events (twin of ThresholdEvents): for each event label, the sum of its last `smooth`
 * int8 scores is compared with smooth * threshold_q; an event fires on the rising edge. Only a repeat of
 * the last event's label is suppressed, for `suppress_n` samples; another label fires at once. At the
 * end of the input (tml_threshold_events_flush) the average runs on over the newest smooth-1, ..., 1
 * windows that exist, so one window (a 1 s clip) or a word in the last windows can still fire (each
 * label at most once). Integer arithmetic only, so Python and C agree exactly.
 */
#ifndef TML_POSTPROCESS_H
#define TML_POSTPROCESS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TML_TE_MAX_LABELS 16
#define TML_TE_MAX_SMOOTH 16

typedef struct {
    uint8_t labels[TML_TE_MAX_LABELS]; /* event label indices, in the manifest's order */
    int32_t n_labels;
    int32_t smooth;                    /* windows averaged, 1..TML_TE_MAX_SMOOTH */
    int32_t threshold_q;               /* int8 score meaning P >= threshold */
    int32_t suppress_n;                /* samples of quiet after an event */
    int8_t history[TML_TE_MAX_LABELS][TML_TE_MAX_SMOOTH];
    int32_t filled;                    /* windows seen, capped at smooth */
    int32_t head;                      /* next history slot */
    uint8_t above[TML_TE_MAX_LABELS];
    int32_t last_label;                /* label of the last event (-1: none): only its repeats wait ... */
    int64_t quiet_until;               /* ... until this sample */
} tml_threshold_events;

/* The first int8 score whose probability is >= p: ceilf(p / scale) + zero_point (float32). */
int32_t tml_score_threshold_q(float p, float out_scale, int32_t out_zero_point);

/* Seconds to samples in float32: floor(seconds * rate + 0.5). */
int32_t tml_samples_of(float seconds, float rate);

/* Returns 0, or -1 when a size is out of range. */
int tml_threshold_events_init(tml_threshold_events *te, const uint8_t *labels, int32_t n_labels, int32_t smooth,
                              int32_t threshold_q, int32_t suppress_n);

/* One window ending at sample `end` (one past its newest sample). Writes up to n_labels events as
 * (label, score) pairs into out_labels/out_scores and returns how many. */
int tml_threshold_events_step(tml_threshold_events *te, uint32_t end, const int8_t *scores, uint8_t *out_labels,
                              int8_t *out_scores);

/* The end of the input at sample `end` (call from tml_app_flush with tml_app_samples()): up to n_labels
 * events, each with its label's newest score, as tml_threshold_events_step reports them. */
int tml_threshold_events_flush(tml_threshold_events *te, uint32_t end, uint8_t *out_labels, int8_t *out_scores);

#ifdef __cplusplus
}
#endif
#endif
