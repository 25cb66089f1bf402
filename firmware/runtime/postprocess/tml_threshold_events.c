/* tml_threshold_events: the C twin of tinyml.postprocess.ThresholdEvents (see tml_postprocess.h). */
#include <math.h>

#include "tml_postprocess.h"

int32_t tml_score_threshold_q(float p, float out_scale, int32_t out_zero_point)
{
    return (int32_t)ceilf(p / out_scale) + out_zero_point;
}

int32_t tml_samples_of(float seconds, float rate)
{
    return (int32_t)floorf(seconds * rate + 0.5f);
}

int tml_threshold_events_init(tml_threshold_events *te, const uint8_t *labels, int32_t n_labels, int32_t smooth,
                              int32_t threshold_q, int32_t suppress_n)
{
    if (n_labels < 0 || n_labels > TML_TE_MAX_LABELS || smooth < 1 || smooth > TML_TE_MAX_SMOOTH) {
        return -1;
    }
    for (int32_t k = 0; k < n_labels; k++) {
        te->labels[k] = labels[k];
        te->above[k] = 0;
        for (int32_t i = 0; i < TML_TE_MAX_SMOOTH; i++) {
            te->history[k][i] = 0;
        }
    }
    te->n_labels = n_labels;
    te->smooth = smooth;
    te->threshold_q = threshold_q;
    te->suppress_n = suppress_n;
    te->filled = 0;
    te->head = 0;
    te->quiet_until = -1;
    return 0;
}

int tml_threshold_events_step(tml_threshold_events *te, uint32_t end, const int8_t *scores, uint8_t *out_labels,
                              int8_t *out_scores)
{
    int n = 0;
    if (te->filled < te->smooth) {
        te->filled++;
    }
    for (int32_t k = 0; k < te->n_labels; k++) {
        int8_t s = scores[te->labels[k]];
        te->history[k][te->head] = s;
        int32_t sum = 0;
        for (int32_t i = 0; i < te->filled; i++) {
            sum += te->history[k][i];
        }
        int on = te->filled == te->smooth && sum >= te->smooth * te->threshold_q;
        if (on && !te->above[k] && (int64_t)end >= te->quiet_until) {
            out_labels[n] = te->labels[k];
            out_scores[n] = s;
            n++;
            te->quiet_until = (int64_t)end + te->suppress_n;
        }
        te->above[k] = (uint8_t)on;
    }
    te->head = (te->head + 1) % te->smooth;
    return n;
}
