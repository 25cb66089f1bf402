/* Window schedule and int8 input quantization: the C twins of tinyml.features (see tml_features.h). */
#include <math.h>

#include "tml_features.h"

void tml_window_schedule_reset(tml_window_schedule *s)
{
    s->seen = 0;
    s->since = 0;
}

int tml_window_due(tml_window_schedule *s, uint32_t window, uint32_t hop)
{
    if (s->seen < window) {
        s->seen++;
        return s->seen == window; /* the first window */
    }
    if (++s->since < hop) {
        return 0;
    }
    s->since = 0;
    return 1;
}

void tml_quantize_input(const float *x, int n, float scale, int32_t zero_point, int8_t *out)
{
    const float inv = 1.0f / scale;
    const float zp = (float)zero_point;
    for (int i = 0; i < n; i++) {
        /* Clamp in float, like numpy's clip, so huge inputs saturate instead of overflowing the cast. */
        float v = floorf(x[i] * inv + 0.5f) + zp;
        out[i] = (int8_t)(v < -128.0f ? -128 : v > 127.0f ? 127 : (int32_t)v);
    }
}
