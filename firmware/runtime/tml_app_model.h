/* tml_app_model.h - the step every app with a model takes once per window (include after model.h):
 * run the compiled model on its filled input, time it with tml_port_instructions(), and report its int8
 * scores and cost for the window ending at sample t. Returns the scores, or NULL once the failure is
 * reported (the app then skips its post-processing for this window).
 * Header-only because model.h is generated per app: apps without a model never include it. */
#ifndef TML_APP_MODEL_H
#define TML_APP_MODEL_H

#include <stdint.h>

#include "tml_app.h"
#include "tml_port.h"

#define TML_APP_ERR_INVOKE 17u /* TML_LINK_ERR_APP + 1: the model could not run */

static inline const int8_t *tml_app_score_window(uint32_t t)
{
    uint64_t t0 = tml_port_instructions();
    if (tml_model_invoke() != 0) {
        tml_report_error(TML_APP_ERR_INVOKE, "model invoke failed");
        return NULL;
    }
    uint64_t cost = tml_port_instructions() - t0;
    const int8_t *scores = tml_model_output();
    tml_report_scores(t, scores, TML_MODEL_OUTPUT_SIZE);
    tml_report_timing(t, cost);
    return scores;
}

#endif
