/* tml_window: twin of tinyml.dsp.window. Coefficients in double, rounded once to float (<= 1 ulp from
 * the Python table; firmware normally uses the generated table). tml_apply_window is one float multiply. */
#include <math.h>

#include "tml_dsp.h"

#define TML_PI 3.14159265358979311599796346854 /* == numpy.pi */

int tml_window(int kind, int n, int symmetric, float *w) {
    double a;
    if (n < 1) return -1;
    if (kind == TML_WINDOW_RECTANGULAR || (n == 1 && (kind == TML_WINDOW_HANN || kind == TML_WINDOW_HAMMING))) {
        for (int i = 0; i < n; i++) w[i] = 1.0f;
        return 0;
    }
    if (kind == TML_WINDOW_HANN) {
        a = 0.5;
    } else if (kind == TML_WINDOW_HAMMING) {
        a = 0.54;
    } else {
        return -1;
    }
    double m = symmetric ? (double)(n - 1) : (double)n;
    for (int i = 0; i < n; i++) w[i] = (float)(a - (1.0 - a) * cos(2.0 * TML_PI * (double)i / m));
    return 0;
}

void tml_apply_window(const float *x, int stride, const float *w, int n, float *y) {
    for (int i = 0; i < n; i++) y[i] = x[(long)i * stride] * w[i];
}
