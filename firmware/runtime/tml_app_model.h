/* tml_app_model.h - the step every app with a model takes once per window (include after model.h):
 * run the compiled model on its filled input, time it with tml_port_instructions(), and report its int8
 * scores and cost for the window ending at sample t. Returns the scores, or NULL once the failure is
 * reported (the app then skips its post-processing for this window).
 *
 * Further models ([models.<name>] in the manifest; model_<name>.h, functions tml_model_<name>_input(),
 * _invoke(), _output(), constants TML_MODEL_<NAME>_INPUT_SCALE, ...) share one static arena with the
 * primary model: each model's input and output keep their values until that model runs again. The app
 * fills tml_model_<name>_input(), runs tml_app_run_model(tml_model_<name>_invoke, &cost) and reads
 * tml_model_<name>_output(); tml_app_report_model_cost(&cost) now and then reports the model's cost as a
 * recurring stage (the model card's device line gives its mean per run).
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

/* A further model's cost, reported as the recurring stage `stage` (e.g. "model_recon"). */
typedef struct {
    const char *stage;
    uint32_t every; /* samples between runs (e.g. the hop), for its share of real time */
    uint32_t count;
    uint64_t total;
} tml_model_cost;

/* Run a further model and add its instructions to *cost: 0, or -1 once the failure is reported. */
static inline int tml_app_run_model(int (*invoke)(void), tml_model_cost *cost)
{
    uint64_t t0 = tml_port_instructions();
    if (invoke() != 0) {
        tml_report_error(TML_APP_ERR_INVOKE, "model invoke failed");
        return -1;
    }
    cost->total += tml_port_instructions() - t0;
    cost->count++;
    return 0;
}

static inline void tml_app_report_model_cost(const tml_model_cost *cost)
{
    tml_report_stage_cost(cost->stage, cost->every, cost->count, cost->total);
}

#endif
