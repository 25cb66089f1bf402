/* tml_band_envelope: twin of tinyml.dsp.band_envelope: y = gain * tml_envelope(bandpass(x)) (bit-exact). */
#include "tml_dsp.h"

void tml_band_envelope_init(tml_band_envelope_t *e, const float *band_sos, int n_band, float *band_state,
                            const float *lp_sos, int n_lp, float *lp_state, float gain) {
    tml_biquad_init(&e->band, band_sos, n_band, band_state);
    tml_biquad_init(&e->lp, lp_sos, n_lp, lp_state);
    e->gain = gain;
}

void tml_band_envelope(tml_band_envelope_t *e, const float *x, float *y, int n, int stride) {
    for (int i = 0; i < n; i++) {
        float b, v;
        tml_biquad(&e->band, &x[(long)i * stride], &b, 1, 1);
        tml_envelope(&e->lp, &b, &v, 1, 1); /* |b| through the low-pass */
        y[(long)i * stride] = v * e->gain;
    }
}
