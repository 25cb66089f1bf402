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
    int32_t k, i;
    if (n_labels < 0 || n_labels > TML_TE_MAX_LABELS || smooth < 1 || smooth > TML_TE_MAX_SMOOTH) {
        return -1;
    }
    for (k = 0; k < n_labels; k++) {
        te->labels[k] = labels[k];
        te->above[k] = 0;
        for (i = 0; i < TML_TE_MAX_SMOOTH; i++) {
            te->history[k][i] = 0;
        }
    }
    te->n_labels = n_labels;
    te->smooth = smooth;
    te->threshold_q = threshold_q;
    te->suppress_n = suppress_n;
    te->filled = 0;
    te->head = 0;
    te->last_label = -1;
    te->quiet_until = -1;
    return 0;
}

/* Sum of label slot k's newest n scores (n <= filled). */
static int32_t newest_sum(const tml_threshold_events *te, int32_t k, int32_t n)
{
    int32_t sum = 0, i, slot = te->head;
    for (i = 0; i < n; i++) {
        slot = (slot == 0 ? te->smooth : slot) - 1;
        sum += te->history[k][slot];
    }
    return sum;
}

/* The rising edge of slot k, suppressed only for a repeat of the last event's label. */
static int edge(tml_threshold_events *te, int32_t k, int on, uint32_t end)
{
    int fire = on && !te->above[k] && ((int32_t)te->labels[k] != te->last_label || (int64_t)end >= te->quiet_until);
    if (fire) {
        te->last_label = (int32_t)te->labels[k];
        te->quiet_until = (int64_t)end + te->suppress_n;
    }
    te->above[k] = (uint8_t)(on != 0);
    return fire;
}

int tml_threshold_events_step(tml_threshold_events *te, uint32_t end, const int8_t *scores, uint8_t *out_labels,
                              int8_t *out_scores)
{
    int n = 0;
    int32_t k;
    if (te->filled < te->smooth) {
        te->filled++;
    }
    for (k = 0; k < te->n_labels; k++) {
        te->history[k][te->head] = scores[te->labels[k]];
    }
    te->head = (te->head + 1) % te->smooth;
    for (k = 0; k < te->n_labels; k++) {
        int on = te->filled == te->smooth && newest_sum(te, k, te->smooth) >= te->smooth * te->threshold_q;
        if (edge(te, k, on, end)) {
            out_labels[n] = te->labels[k];
            out_scores[n] = scores[te->labels[k]];
            n++;
        }
    }
    return n;
}

int tml_threshold_events_flush(tml_threshold_events *te, uint32_t end, uint8_t *out_labels, int8_t *out_scores)
{
    int n = 0;
    int32_t k, j;
    int32_t newest = (te->head == 0 ? te->smooth : te->head) - 1;
    for (k = 0; k < te->n_labels; k++) {
        for (j = 1; j < te->smooth; j++) {
            int32_t m = te->smooth - j < te->filled ? te->smooth - j : te->filled;
            if (m == 0) {
                break;
            }
            if (edge(te, k, newest_sum(te, k, m) >= m * te->threshold_q, end)) {
                out_labels[n] = te->labels[k];
                out_scores[n] = te->history[k][newest];
                n++;
                break;
            }
        }
    }
    return n;
}
