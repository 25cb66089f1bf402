/* tml_features.h - the window schedule and the int8 model input (C twins of tinyml.features).
 *
 * tml_window_due (twin of FeatureExtractor.window_starts): called after each pushed sample, returns 1
 * when the newest sample ends a window: first at `window` samples, then every `hop`.
 * tml_quantize_input (twin of quantize_input): q = clamp(floor(x * (1 / scale) + 0.5) + zp) in float32.
 */
#ifndef TML_FEATURES_H
#define TML_FEATURES_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    uint32_t seen;  /* samples pushed, saturating at `window` */
    uint32_t since; /* samples since the last window */
} tml_window_schedule;

void tml_window_schedule_reset(tml_window_schedule *s);
int tml_window_due(tml_window_schedule *s, uint32_t window, uint32_t hop);

void tml_quantize_input(const float *x, int n, float scale, int32_t zero_point, int8_t *out);

#ifdef __cplusplus
}
#endif
#endif
