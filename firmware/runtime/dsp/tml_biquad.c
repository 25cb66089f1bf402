/* tml_biquad: twin of tinyml.dsp.biquad. Float32 transposed direct form II, per sample and section:
 *     y = z1 + b0*x;  z1 = (z2 + x*b1) - y*a1;  z2 = x*b2 - y*a2
 * (bit-exact with the Python block when built with -ffp-contract=off). */
#include "tml_dsp.h"

void tml_biquad_init(tml_biquad_t *f, const float *sos, int n_sections, float *state) {
    f->sos = sos;
    f->state = state;
    f->n_sections = n_sections;
    tml_biquad_reset(f);
}

void tml_biquad_reset(tml_biquad_t *f) {
    for (int i = 0; i < 2 * f->n_sections; i++) f->state[i] = 0.0f;
}

void tml_biquad(tml_biquad_t *f, const float *x, float *y, int n, int stride) {
    for (int i = 0; i < n; i++) {
        float v = x[(long)i * stride];
        for (int s = 0; s < f->n_sections; s++) {
            const float *c = f->sos + 6 * s;
            float *z = f->state + 2 * s;
            float out = z[0] + c[0] * v;
            z[0] = (z[1] + v * c[1]) - out * c[4];
            z[1] = v * c[2] - out * c[5];
            v = out;
        }
        y[(long)i * stride] = v;
    }
}
