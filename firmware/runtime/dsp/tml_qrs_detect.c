/* tml_qrs_detect: twin of tinyml.dsp.qrs_detect, line for line (see its docstring for the algorithm).
 * Float32: the detection band-pass and the gain; everything after is integer, so the beats are bit-exact.
 * Sample indices are int64 (the Python block's integers), the rest int32 where the values are bounded. */
#include <math.h>

#include "tml_dsp.h"

int tml_qrs_detect_init(tml_qrs_detect_t *q, const tml_qrs_detect_config *cfg, float *band_state, int32_t *s_ring,
                        int32_t *a_ring, float *y_ring)
{
    if (cfg->mwi_n < 1 || cfg->search_n < 1 || cfg->learn_n < 1 || cfg->refractory_n < 1 ||
        cfg->ring_n <= cfg->search_n + cfg->mwi_n + 1 || cfg->n_sections < 1) {
        return -1;
    }
    q->cfg = cfg;
    tml_biquad_init(&q->band, cfg->sos, (int)cfg->n_sections, band_state);
    q->s_ring = s_ring;
    q->a_ring = a_ring;
    q->y_ring = y_ring;
    tml_qrs_detect_reset(q);
    return 0;
}

void tml_qrs_detect_reset(tml_qrs_detect_t *q)
{
    const tml_qrs_detect_config *c = q->cfg;
    tml_biquad_reset(&q->band);
    for (int32_t i = 0; i < c->mwi_n; i++) q->s_ring[i] = 0;
    for (int32_t i = 0; i < c->ring_n; i++) {
        q->a_ring[i] = 0;
        q->y_ring[i] = 0.0f;
    }
    for (int i = 0; i < 4; i++) q->v[i] = 0;
    for (int i = 0; i < 8; i++) q->rr[i] = 0;
    q->msum = 0;
    q->n = 0;
    q->ascending = q->learned = q->have = 0;
    q->lo = q->pk = 0;
    q->pk_i = 0;
    q->lmax = 0;
    q->lsum = 0;
    q->spki = q->npki = q->th1 = q->th2 = 0;
    q->spks = q->npks = q->ths = 0;
    q->lamax = 0;
    q->lasum = 0;
    q->last_p = 0;
    q->last_r = -1;
    q->last_sb = 0;
    q->last_slope = 0;
    q->sb_v = q->sb_s = 0;
    q->sb_p = q->sb_r = 0;
    q->rr_sum = 0;
    q->rr_k = q->rr_i = 0;
}

static void thresholds(tml_qrs_detect_t *q)
{
    q->th1 = q->npki + ((q->spki - q->npki) >> 2);
    q->th2 = q->th1 >> 1;
    q->ths = q->npks + ((q->spks - q->npks) >> 1);
}

static void push_rr(tml_qrs_detect_t *q, int64_t iv)
{
    q->rr_sum += iv - q->rr[q->rr_i];
    q->rr[q->rr_i] = iv;
    q->rr_i = (q->rr_i + 1) & 7;
    if (q->rr_k < 8) q->rr_k++;
}

static int64_t ring_slot(int64_t i, int32_t ring_n) { return i % ring_n; }

int tml_qrs_detect_step(tml_qrs_detect_t *q, float y, uint32_t *r_index)
{
    const tml_qrs_detect_config *c = q->cfg;
    const int64_t n = q->n;
    int beat = 0;

    /* stage 1: float32 band-pass and gain, then the integer sample */
    float z;
    tml_biquad(&q->band, &y, &z, 1, 1);
    float f = floorf(z * c->gain + 0.5f);
    int32_t v = f < -32768.0f ? -32768 : (f > 32767.0f ? 32767 : (int32_t)f);
    /* stage 2: derivative, square, moving-window integral */
    int32_t d = 2 * v + q->v[0] - q->v[2] - 2 * q->v[3];
    q->v[3] = q->v[2];
    q->v[2] = q->v[1];
    q->v[1] = q->v[0];
    q->v[0] = v;
    int32_t a = d < 0 ? -d : d;
    if (a > 46340) a = 46340;
    int32_t s = a * a;
    int32_t cap = (int32_t)(2147483647 / c->mwi_n);
    if (s > cap) s = cap;
    int32_t slot = (int32_t)(n % c->mwi_n);
    q->msum += s - q->s_ring[slot];
    q->s_ring[slot] = s;
    const int32_t mv = q->msum;
    q->a_ring[ring_slot(n, c->ring_n)] = a;
    q->y_ring[ring_slot(n, c->ring_n)] = y;

    if (!q->learned) {
        if (mv > q->lmax) q->lmax = mv;
        q->lsum += mv;
        if (a > q->lamax) q->lamax = a;
        q->lasum += a;
    }
    /* stage 3: candidate peaks */
    int confirmed = 0;
    if (q->ascending) {
        if (mv > q->pk) {
            q->pk = mv;
            q->pk_i = n;
        }
        if (2 * (int64_t)mv < q->pk || n - q->pk_i >= c->ring_n - c->search_n - 1) {
            confirmed = 1;
            q->ascending = 0;
            q->lo = mv;
        }
    } else if (mv > q->lo) {
        q->ascending = 1;
        q->pk = mv;
        q->pk_i = n;
    } else if (mv < q->lo) {
        q->lo = mv;
    }
    /* stage 4: decisions */
    if (confirmed && q->learned) {
        const int64_t p = q->pk_i;
        const int32_t pv = q->pk;
        const int64_t ring0 = n - c->ring_n + 1;
        int64_t s0 = p - c->search_n;
        if (ring0 > s0) s0 = ring0;
        if (q->last_r + 1 > s0) s0 = q->last_r + 1;
        if (s0 < 0) s0 = 0;
        int64_t ms = s0; /* the steepest sample of the QRS */
        int32_t best_a = -1;
        for (int64_t i = s0; i <= p; i++) {
            int32_t ai = q->a_ring[ring_slot(i, c->ring_n)];
            if (ai > best_a) {
                best_a = ai;
                ms = i;
            }
        }
        int64_t lo_r = ms - c->locate_n;
        if (s0 > lo_r) lo_r = s0;
        int64_t r = ms;
        float best = -1.0f;
        for (int64_t i = lo_r; i <= ms; i++) {
            float ay = fabsf(q->y_ring[ring_slot(i, c->ring_n)]);
            if (ay > best) {
                best = ay;
                r = i;
            }
        }
        int64_t b0 = p - c->mwi_n + 1;
        if (ring0 > b0) b0 = ring0;
        if (b0 < 0) b0 = 0;
        int32_t slope = 0;
        for (int64_t i = b0; i <= p; i++) {
            int32_t ai = q->a_ring[ring_slot(i, c->ring_n)];
            if (ai > slope) slope = ai;
        }
        if (q->have && p - q->last_p < c->refractory_n) {
            /* refractory: ignored */
        } else if (q->have && p - q->last_p < c->twave_n && 2 * (int64_t)slope < q->last_slope) {
            q->npki = (int32_t)(((int64_t)pv + 7 * (int64_t)q->npki) >> 3); /* a T wave */
        } else if (pv > q->th1 && slope > q->ths) {
            q->spki = (int32_t)(((int64_t)pv + 7 * (int64_t)q->spki) >> 3);
            q->spks = (int32_t)(((int64_t)slope + 7 * (int64_t)q->spks) >> 3);
            if (q->have) push_rr(q, p - q->last_p);
            q->have = 1;
            q->last_p = p;
            q->last_r = r;
            q->last_slope = slope;
            q->sb_v = 0;
            *r_index = (uint32_t)r;
            beat = 1;
        } else {
            q->npki = (int32_t)(((int64_t)pv + 7 * (int64_t)q->npki) >> 3);
            q->npks = (int32_t)(((int64_t)slope + 7 * (int64_t)q->npks) >> 3);
            if (pv > q->th2 && 2 * (int64_t)slope > q->ths && pv > q->sb_v) {
                q->sb_v = pv;
                q->sb_p = p;
                q->sb_r = r;
                q->sb_s = slope;
            }
        }
        thresholds(q);
    }
    /* search-back */
    if (q->learned) {
        int64_t avg = q->rr_k > 0 ? q->rr_sum / q->rr_k : c->rr_init_n;
        int64_t ref = q->last_sb;
        if (q->have && q->last_p > ref) ref = q->last_p;
        if (n - ref > (166 * avg) / 100) {
            if (q->sb_v > 0) {
                q->spki = (int32_t)(((int64_t)q->sb_v + 3 * (int64_t)q->spki) >> 2);
                q->spks = (int32_t)(((int64_t)q->sb_s + 3 * (int64_t)q->spks) >> 2);
                if (q->have) push_rr(q, q->sb_p - q->last_p);
                q->have = 1;
                q->last_p = q->sb_p;
                q->last_r = q->sb_r;
                q->last_slope = q->sb_s;
                q->sb_v = 0;
                *r_index = (uint32_t)q->sb_r;
                beat = 1;
            } else {
                q->spki = q->spki - (q->spki >> 2);
                if (q->spki < q->npki) q->spki = q->npki;
                q->spks = q->spks - (q->spks >> 2);
                if (q->spks < q->npks) q->spks = q->npks;
            }
            thresholds(q);
            q->last_sb = n;
        }
    } else if (n == c->learn_n - 1) {
        q->spki = q->lmax >> 1;
        q->npki = (int32_t)((q->lsum / c->learn_n) >> 1);
        q->spks = q->lamax >> 1;
        q->npks = (int32_t)((q->lasum / c->learn_n) >> 1);
        thresholds(q);
        q->learned = 1;
        q->last_sb = n;
    }
    q->n = n + 1;
    return beat;
}
