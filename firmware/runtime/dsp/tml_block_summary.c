/* tml_block_summary: the C twin of tinyml.dsp.block_summary (float32 in the documented order, sqrtf), so a
 * node that keeps only the current block's samples (an 8-bit one keeps 2 + size) gives the features the
 * Python chain gives for the whole window, bit for bit. */
#include <math.h>

#include "tml_dsp.h"

static float clipf(float v, float c) { return v < -c ? -c : v > c ? c : v; }

static float ssqrt(float v, float scale)
{
    float a = sqrtf(fabsf(v) / scale);
    return v < 0.0f ? -a : a;
}

void tml_block_summary_one(const tml_block_summary_cfg *cfg, const float *x, int ch, float *out)
{
    const int size = cfg->size;
    const float c = cfg->clip, d = cfg->delta_scale, inv = 1.0f / (float)size;
    const float *s = x + 2 * ch; /* s[1] is x[2*ch]: the block's own samples start after two of history */
    const float *v = x + cfg->level; /* the level channel, stride ch: v[k*ch] is window sample k */
    float acc = s[cfg->level], lo = acc, hi = acc;
    for (int i = 1; i < size; i++) {
        float y = s[i * ch + cfg->level];
        acc = acc + y;
        if (y < lo) lo = y;
        if (y > hi) hi = y;
    }
    out[0] = clipf((acc * inv - cfg->level_center) * cfg->level_scale, c);
    out[1] = clipf(ssqrt(hi - lo, d), c);
    out[2] = clipf(ssqrt(v[(size + 1) * ch] - v[ch], d), c);
    float best = 0.0f;
    for (int i = 0; i < size; i++) { /* window samples 1..size: s[0]..s[size-1] */
        float e = v[(i + 1) * ch] - (v[i * ch] + v[(i + 2) * ch]) * 0.5f;
        if (i == 0 || fabsf(e) > fabsf(best)) best = e;
    }
    out[3] = clipf(ssqrt(best, d), c);
    int k = 4;
    if (cfg->last) {
        out[k++] = clipf((s[(size - 1) * ch + cfg->level] - cfg->level_center) * cfg->level_scale, c);
    }
    if (cfg->unchanged) { /* window samples 2..size+1 against the one before (NaN never equals) */
        int same = 0;
        for (int i = 1; i <= size; i++) {
            if (v[(i + 1) * ch] == v[i * ch]) same++;
        }
        out[k++] = clipf((float)same * inv, c);
    }
    for (int j = 0; j < cfg->n_sums; j++, k++) {
        int q = cfg->sum_ch[j], miss = 0;
        float t = 0.0f;
        for (int i = 0; i < size; i++) {
            float y = s[i * ch + q];
            if (y != y) miss = 1;
            t = i ? t + y : y;
        }
        out[k] = miss ? cfg->missing : clipf(sqrtf((t > 0.0f ? t : 0.0f) / cfg->sum_scale[j]), c);
    }
    for (int j = 0; j < cfg->n_means; j++, k++) {
        int q = cfg->mean_ch[j], miss = 0;
        float t = 0.0f;
        for (int i = 0; i < size; i++) {
            float y = s[i * ch + q];
            if (y != y) miss = 1;
            t = i ? t + y : y;
        }
        out[k] = miss ? cfg->missing : clipf((t * inv - cfg->mean_center[j]) / cfg->mean_scale[j], c);
    }
}

/* features per block: level, range, step, glitch, then last, unchanged, sums and means as configured */
static int n_features(const tml_block_summary_cfg *cfg)
{
    return 4 + (cfg->last ? 1 : 0) + (cfg->unchanged ? 1 : 0) + cfg->n_sums + cfg->n_means;
}

static void on_grid(const tml_block_summary_cfg *cfg, float *f, int nf)
{
    const float inv = 1.0f / cfg->resolution;
    for (int k = 0; k < nf; k++) {
        f[k] = floorf(f[k] * inv + 0.5f) * cfg->resolution;
    }
}

void tml_block_summary_steps(const tml_block_summary_cfg *cfg, const float *x, int ch, int8_t *steps)
{
    float f[TML_BLOCK_SUMMARY_MAX_FEATURES];
    const int nf = n_features(cfg);
    const float inv = 1.0f / cfg->resolution;
    tml_block_summary_one(cfg, x, ch, f);
    for (int k = 0; k < nf && k < TML_BLOCK_SUMMARY_MAX_FEATURES; k++) {
        float q = floorf(f[k] * inv + 0.5f);
        steps[k] = (int8_t)(q < -128.0f ? -128 : q > 127.0f ? 127 : (int)q);
    }
}

void tml_block_summary(const tml_block_summary_cfg *cfg, const float *x, int n_blocks, int ch, float *out)
{
    const int nf = n_features(cfg);
    for (int b = 0; b < n_blocks; b++) {
        tml_block_summary_one(cfg, x + (long)b * cfg->size * ch, ch, out + (long)b * nf);
        if (cfg->resolution > 0.0f) {
            on_grid(cfg, out + (long)b * nf, nf);
        }
    }
}
